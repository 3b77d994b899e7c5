//! torsion-memcached's operator features over real sockets: text-protocol
//! authentication (`-Y`) and connection memory limits (`-o
//! read_buf_mem_limit`).

use std::io::Read;
use std::net::TcpStream;

use torsion_tests::memcache::expect;
use torsion_tests::{read_all, run, send, Scratch, Server};

/// A server requiring the users of `users` (`user:password` lines).
fn start_with_users(scratch: &Scratch, users: &str) -> Server {
    let file = scratch.path("authfile");
    std::fs::write(&file, users).unwrap();
    Server::start(
        "torsion-memcached",
        &["-p", "0", "-U", "0", "-Y", file.to_str().unwrap()],
    )
}

/// `stats` (or `stats GROUP`) as text.
fn stats(stream: &mut TcpStream, request: &[u8]) -> String {
    send(stream, request);
    let mut text = Vec::new();
    while !text.ends_with(b"END\r\n") {
        let mut buf = [0; 4096];
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed during stats");
        text.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(text).unwrap()
}

#[test]
fn dash_y_refuses_everything_until_a_user_authenticates() {
    let scratch = Scratch::new("auth-refuses");
    let server = start_with_users(&scratch, "foo:bar\nbaaaz:quux\n");
    let mut c = server.connect();
    expect(
        &mut c,
        b"set foo 0 0 2\r\nhi\r\n",
        b"CLIENT_ERROR bad authentication token format\r\n",
    );
    expect(
        &mut c,
        b"get foo\r\nstats\r\nquit\r\n",
        &b"CLIENT_ERROR unauthenticated\r\n".repeat(3),
    );
    expect(
        &mut c,
        b"set foo 0 0 7\r\nfoo bab\r\n",
        b"CLIENT_ERROR authentication failure\r\n",
    );
    // The token and the request after it in one write.
    expect(
        &mut c,
        b"set x 0 0 7\r\nfoo bar\r\nget x\r\n",
        b"STORED\r\nEND\r\n",
    );
    expect(&mut c, b"set toast 0 0 2\r\nhi\r\n", b"STORED\r\n");
    let text = stats(&mut c, b"stats\r\n");
    assert!(text.contains("STAT auth_cmds 2\r\n"), "{text}");
    assert!(text.contains("STAT auth_errors 1\r\n"), "{text}");
    let settings = stats(&mut c, b"stats settings\r\n");
    assert!(settings.contains("STAT binding_protocol ascii\r\n"), "{settings}");
    let path = scratch.path("authfile");
    let line = format!("STAT auth_enabled_ascii {}\r\n", path.display());
    assert!(settings.contains(&line), "{settings}");

    // A second connection, another user; a binary request is read as text.
    let mut c2 = server.connect();
    let mut noop = vec![0x80, 0x0a];
    noop.extend_from_slice(&[0; 22]);
    expect(&mut c2, &noop[..2], b"CLIENT_ERROR unauthenticated\r\n");
    expect(
        &mut c2,
        &[&noop[2..], b"\r\n"].concat(),
        b"CLIENT_ERROR unauthenticated\r\n",
    );
    expect(&mut c2, b"set k 0 0 10\r\nbaaaz quux\r\n", b"STORED\r\n");
    expect(&mut c2, b"get toast\r\n", b"VALUE toast 0 2\r\nhi\r\nEND\r\n");
    send(&mut c2, b"quit\r\n");
    assert!(read_all(&mut c2).is_empty());
}

#[test]
fn dash_y_refuses_binary_and_udp_and_a_missing_file() {
    let scratch = Scratch::new("auth-args");
    let file = scratch.path("authfile");
    std::fs::write(&file, "foo:bar\n").unwrap();
    let file = file.to_str().unwrap();
    let ran = run("torsion-memcached", &["-p", "0", "-Y", file, "-B", "binary"]);
    assert_ne!(ran.code, Some(0));
    assert!(ran.stderr.contains("BINARY protocol"), "{}", ran.stderr);
    let ran = run("torsion-memcached", &["-p", "0", "-Y", file, "-U", "11311"]);
    assert_ne!(ran.code, Some(0));
    assert!(ran.stderr.contains("Cannot use UDP"), "{}", ran.stderr);
    let missing = scratch.path("missing");
    let ran = run("torsion-memcached", &["-p", "0", "-Y", missing.to_str().unwrap()]);
    assert_ne!(ran.code, Some(0));
    assert!(ran.stderr.contains("Could not open authfile"), "{}", ran.stderr);
}

/// The value of one `stats` field.
fn stat(stream: &mut TcpStream, name: &str) -> u64 {
    let text = stats(stream, b"stats\r\n");
    let prefix = format!("STAT {name} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no stat {name} in {text}"))
        .parse()
        .unwrap()
}

#[test]
fn a_starved_server_refuses_a_huge_multiget_and_closes_a_huge_pipeline() {
    // 1 MiB shared by 32 workers: 13 reply parts per read, as memcached.
    let server = Server::start(
        "torsion-memcached",
        &["-p", "0", "-o", "read_buf_mem_limit=1", "-t", "32", "-R", "500"],
    );
    let mut c = server.connect();
    let line = format!("get{}\r\n", " foo".repeat(500));
    expect(
        &mut c,
        line.as_bytes(),
        b"SERVER_ERROR out of memory writing get response\r\n",
    );
    assert_eq!(stat(&mut c, "response_obj_oom"), 1);
    // Within the share, the same get is answered.
    let line = format!("get{}\r\n", " foo".repeat(13));
    expect(&mut c, line.as_bytes(), b"END\r\n");
    let line = format!("get{}\r\n", " foo".repeat(14));
    expect(
        &mut c,
        line.as_bytes(),
        b"SERVER_ERROR out of memory writing get response\r\n",
    );

    let mut c2 = server.connect();
    send(&mut c2, &b"mg foo v\r\n".repeat(500));
    // Closed without a reply (a reset, if the server closed with some of
    // the pipeline unread, is a close too).
    let mut got = Vec::new();
    let _ = c2.read_to_end(&mut got);
    assert!(got.is_empty(), "{}", got.escape_ascii());
    assert!(stat(&mut c, "response_obj_oom") >= 3);
    expect(&mut c, b"version\r\n", b"VERSION ");
}
