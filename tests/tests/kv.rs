//! torsion-kv and torsion-kvc as shipped: the real binaries over real
//! sockets on 127.0.0.1. Every reply of the line protocol and of AMP, bad
//! input included, expiry on the real clock, one store behind both ports,
//! and a clean exit on SIGTERM.

use std::io::Read;
use std::net::TcpStream;
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use torsion_protocols::amp::{AmpBox, BoxDecoder};
use torsion_protocols::{Decoder, Parsed};
use torsion_tests::{binary, read_all, read_line, send, Server, TIMEOUT};

fn torsion_kv(extra: &[&str]) -> Server {
    let mut args = vec!["-p", "0", "--amp-port", "0", "--pb-port", "0"];
    args.extend_from_slice(extra);
    Server::start("torsion-kv", &args)
}

/// The AMP address, from the second announcement line.
fn amp_addr(server: &Server) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let out = String::from_utf8_lossy(&server.stdout()).into_owned();
        if let Some(addr) = out
            .lines()
            .find_map(|l| l.strip_prefix("torsion-kv amp listening on "))
        {
            return addr.trim().to_string();
        }
        assert!(Instant::now() < deadline, "no AMP announcement in {out:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// Sends a line and reads the one-line reply.
fn ask(stream: &mut TcpStream, line: &str) -> String {
    send(stream, line.as_bytes());
    read_line(stream)
}

/// Sends one AMP box and reads the box that answers it.
fn call(stream: &mut TcpStream, pairs: &[(&str, &[u8])]) -> AmpBox {
    let request: AmpBox = pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.to_vec()))
        .collect();
    send(stream, &request.to_bytes().unwrap());
    let mut decoder = BoxDecoder::new();
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Parsed::Complete(frame, _) = decoder.decode(&buffer) {
            return frame.to_owned_box();
        }
        let n = stream.read(&mut chunk).expect("read an AMP answer");
        assert!(n > 0, "the server closed instead of answering");
        buffer.extend_from_slice(&chunk[..n]);
    }
}

fn kvc(args: &[&str]) -> Output {
    Command::new(binary("torsion-kvc"))
        .args(args)
        .output()
        .expect("run torsion-kvc")
}

#[test]
fn the_line_protocol_answers_every_request_over_tcp() {
    let server = torsion_kv(&[]);
    let mut s = server.connect();
    assert_eq!(ask(&mut s, "get k\r\n"), "GET_NOT_FOUND k\r\n");
    assert_eq!(ask(&mut s, "set k hello world\r\n"), "STORED\r\n");
    assert_eq!(ask(&mut s, "get k\r\n"), "VALUE k hello world\r\n");
    assert_eq!(ask(&mut s, "delete k\r\n"), "DELETED k\r\n");
    assert_eq!(ask(&mut s, "delete k\r\n"), "DEL_NOT_FOUND k\r\n");
    assert_eq!(ask(&mut s, "\r\n"), "ERROR no command\r\n");
    assert_eq!(ask(&mut s, "fetch k\r\n"), "ERROR unknown command\r\n");
    assert_eq!(ask(&mut s, "get\r\n"), "ERROR missing key\r\n");
    assert_eq!(ask(&mut s, "set k\r\n"), "ERROR missing value\r\n");
    assert_eq!(ask(&mut s, "get a b\r\n"), "ERROR too many arguments\r\n");
    let long = format!("set k {}\r\n", "v".repeat(200_000));
    assert_eq!(ask(&mut s, &long), "ERROR line longer than 65792 bytes\r\n");
    // Still the same connection, still serving.
    assert_eq!(ask(&mut s, "set k again\r\n"), "STORED\r\n");
    assert_eq!(ask(&mut s, "get k\r\n"), "VALUE k again\r\n");
}

#[test]
fn requests_piped_with_end_of_file_are_all_answered() {
    let server = torsion_kv(&[]);
    let mut s = server.connect();
    send(&mut s, b"set a 1\r\nget a\r\nget b\r\nbad\r\n");
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(
        String::from_utf8(read_all(&mut s)).unwrap(),
        "STORED\r\nVALUE a 1\r\nGET_NOT_FOUND b\r\nERROR unknown command\r\n"
    );
}

#[test]
fn amp_answers_get_set_delete_over_tcp() {
    let server = torsion_kv(&[]);
    let mut s = connect(&amp_addr(&server));
    let answer = call(
        &mut s,
        &[
            ("_command", b"Set"),
            ("_ask", b"1"),
            ("key", b"k"),
            ("value", b"v"),
        ],
    );
    assert_eq!(answer, [("_answer", "1")].into_iter().collect());
    let answer = call(&mut s, &[("_command", b"Get"), ("_ask", b"2"), ("key", b"k")]);
    assert_eq!(answer, [("_answer", "2"), ("value", "v")].into_iter().collect());
    let answer = call(&mut s, &[("_command", b"Delete"), ("_ask", b"3"), ("key", b"k")]);
    assert_eq!(answer, [("_answer", "3")].into_iter().collect());
    let answer = call(&mut s, &[("_command", b"Get"), ("_ask", b"4"), ("key", b"k")]);
    assert_eq!(answer.get(b"_error"), Some(&b"4"[..]));
    assert_eq!(answer.get(b"_error_code"), Some(&b"KEY_NOT_FOUND"[..]));
    let answer = call(&mut s, &[("_command", b"Delete"), ("_ask", b"5"), ("key", b"k")]);
    assert_eq!(answer.get(b"_error_code"), Some(&b"KEY_NOT_FOUND"[..]));
    let answer = call(&mut s, &[("_command", b"Flush"), ("_ask", b"6")]);
    assert_eq!(answer.get(b"_error_code"), Some(&b"UNHANDLED"[..]));
    let answer = call(&mut s, &[("_command", b"Get"), ("_ask", b"7")]);
    assert_eq!(answer.get(b"_error_code"), Some(&b"UNKNOWN"[..]));
}

#[test]
fn a_broken_amp_stream_is_closed() {
    let server = torsion_kv(&[]);
    let mut s = connect(&amp_addr(&server));
    send(&mut s, b"\x00\x00");
    assert!(read_all(&mut s).is_empty());
}

#[test]
fn one_store_behind_both_ports() {
    let server = torsion_kv(&[]);
    let mut line = server.connect();
    let mut amp = connect(&amp_addr(&server));
    assert_eq!(ask(&mut line, "set shared from the line\r\n"), "STORED\r\n");
    let answer = call(
        &mut amp,
        &[("_command", b"Get"), ("_ask", b"1"), ("key", b"shared")],
    );
    assert_eq!(answer.get(b"value"), Some(&b"from the line"[..]));
    call(
        &mut amp,
        &[
            ("_command", b"Set"),
            ("_ask", b"2"),
            ("key", b"shared"),
            ("value", b"from AMP"),
        ],
    );
    assert_eq!(ask(&mut line, "get shared\r\n"), "VALUE shared from AMP\r\n");
}

#[test]
fn keys_expire_on_the_real_clock() {
    let server = torsion_kv(&["--ttl", "1"]);
    let mut s = server.connect();
    let set_at = Instant::now();
    assert_eq!(ask(&mut s, "set k v\r\n"), "STORED\r\n");
    assert_eq!(ask(&mut s, "get k\r\n"), "VALUE k v\r\n");
    thread::sleep(Duration::from_millis(1300).saturating_sub(set_at.elapsed()));
    assert_eq!(ask(&mut s, "get k\r\n"), "GET_NOT_FOUND k\r\n");
}

#[test]
fn max_keys_evicts_the_least_recently_set() {
    let server = torsion_kv(&["--max-keys", "2"]);
    let mut s = server.connect();
    for line in ["set a 1\r\n", "set b 2\r\n", "set a 3\r\n", "set c 4\r\n"] {
        assert_eq!(ask(&mut s, line), "STORED\r\n");
    }
    assert_eq!(ask(&mut s, "get b\r\n"), "GET_NOT_FOUND b\r\n");
    assert_eq!(ask(&mut s, "get a\r\n"), "VALUE a 3\r\n");
}

#[test]
fn sigterm_exits_zero_with_clients_connected() {
    let mut server = torsion_kv(&[]);
    let mut line = server.connect();
    let _amp = connect(&amp_addr(&server));
    assert_eq!(ask(&mut line, "set k v\r\n"), "STORED\r\n");
    server.signal(libc::SIGTERM);
    assert!(server.wait().success(), "{}", server.stderr());
    assert!(read_all(&mut line).is_empty());
}

#[test]
fn bad_flags_are_refused() {
    let output = Command::new(binary("torsion-kv"))
        .args([
            "-p",
            "0",
            "--amp-port",
            "0",
            "--pb-port",
            "0",
            "--max-value-length",
            "70000",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("at most 65535"));
}

#[test]
fn torsion_kvc_over_the_line_protocol_and_over_amp() {
    let server = torsion_kv(&[]);
    let line = server.addr().to_string();
    let amp = amp_addr(&server);
    let out = kvc(&["--server", &line, "set", "greeting", "hello", "world"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"STORED\n");
    let out = kvc(&["--server", &line, "get", "greeting"]);
    assert_eq!(
        (out.status.code(), out.stdout),
        (Some(0), b"hello world\n".to_vec())
    );
    let out = kvc(&["--amp", "--server", &amp, "get", "greeting"]);
    assert_eq!(
        (out.status.code(), out.stdout),
        (Some(0), b"hello world\n".to_vec())
    );
    let out = kvc(&["--amp", "--server", &amp, "delete", "greeting"]);
    assert_eq!((out.status.code(), out.stdout), (Some(0), b"DELETED\n".to_vec()));
    for protocol in [
        &["--server", line.as_str()][..],
        &["--amp", "--server", amp.as_str()],
    ] {
        let mut args = protocol.to_vec();
        args.extend(["get", "greeting"]);
        let out = kvc(&args);
        assert_eq!(out.status.code(), Some(1), "{protocol:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("key not found: greeting"));
        let mut args = protocol.to_vec();
        args.extend(["delete", "greeting"]);
        assert_eq!(kvc(&args).status.code(), Some(1));
    }
}

#[test]
fn torsion_kvc_errors_exit_two_with_the_reason() {
    let server = torsion_kv(&[]);
    let out = kvc(&["--server", server.addr(), "get", "two words"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid key"));
    let port = torsion_tests::free_port().to_string();
    let out = kvc(&["--server", &format!("127.0.0.1:{port}"), "get", "k"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused"));
}

#[test]
fn a_bare_newline_ends_a_line_as_nc_sends_it() {
    let server = torsion_kv(&[]);
    // `printf 'set x y\nget x\n' | nc -N 127.0.0.1 PORT`
    let mut s = server.connect();
    send(&mut s, b"set x y\nget x\n");
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(read_all(&mut s), b"STORED\r\nVALUE x y\r\n");
    // A bare newline inside a line is its end, never part of the value.
    let mut s = server.connect();
    send(&mut s, b"set x z\nget x\r\n");
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(read_all(&mut s), b"STORED\r\nVALUE x z\r\n");
}

#[test]
fn torsion_kvc_amp_on_the_line_port_fails_at_once() {
    let server = torsion_kv(&[]);
    // A timeout far longer than the test may take: failing must not wait for it.
    let started = Instant::now();
    let out = kvc(&["--amp", "--timeout", "120", "--server", server.addr(), "get", "k"]);
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the answer is not AMP"), "{stderr}");
    assert!(!stderr.contains("timed out"), "{stderr}");
    assert!(took < Duration::from_secs(60), "{took:?}");
    // The line port told it why before closing.
    let mut s = server.connect();
    send(&mut s, b"\x00\x04_ask\x00\x011\x00\x00");
    let reply = String::from_utf8(read_all(&mut s)).unwrap();
    assert!(
        reply.starts_with("ERROR binary data: this port speaks the line protocol"),
        "{reply}"
    );
}
