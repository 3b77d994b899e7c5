//! torsion-memcached over real sockets: commands, bad input, limits,
//! backpressure, expiry, signals. Each bad input is followed by a command
//! proving the connection and the store are still right.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use torsion_tests::memcache::{expect, rss_kib, stat};
use torsion_tests::{read_all, send, Server, TIMEOUT};

fn start(args: &[&str]) -> Server {
    let mut all = vec!["-p", "0"];
    all.extend_from_slice(args);
    Server::start("torsion-memcached", &all)
}

#[test]
fn every_command_over_a_socket() {
    let server = start(&[]);
    let mut c = server.connect();
    expect(&mut c, b"set a 5 0 3\r\nabc\r\n", b"STORED\r\n");
    expect(&mut c, b"get a\r\n", b"VALUE a 5 3\r\nabc\r\nEND\r\n");
    expect(&mut c, b"gets a\r\n", b"VALUE a 5 3 1\r\nabc\r\nEND\r\n");
    expect(&mut c, b"add a 0 0 1\r\nx\r\n", b"NOT_STORED\r\n");
    expect(&mut c, b"replace a 0 0 1\r\nx\r\n", b"STORED\r\n");
    expect(&mut c, b"append a 0 0 1\r\ny\r\n", b"STORED\r\n");
    expect(&mut c, b"prepend a 0 0 1\r\nw\r\n", b"STORED\r\n");
    expect(&mut c, b"get a\r\n", b"VALUE a 0 3\r\nwxy\r\nEND\r\n");
    expect(&mut c, b"cas a 0 0 1 1\r\nz\r\n", b"EXISTS\r\n");
    expect(&mut c, b"set n 0 0 1\r\n9\r\n", b"STORED\r\n");
    expect(&mut c, b"incr n 1\r\n", b"10\r\n");
    expect(&mut c, b"decr n 20\r\n", b"0\r\n");
    expect(&mut c, b"touch n 100\r\n", b"TOUCHED\r\n");
    expect(&mut c, b"gat 100 a\r\n", b"VALUE a 0 3\r\nwxy\r\nEND\r\n");
    expect(&mut c, b"delete a\r\n", b"DELETED\r\n");
    expect(&mut c, b"delete a\r\n", b"NOT_FOUND\r\n");
    expect(&mut c, b"verbosity 1\r\n", b"OK\r\n");
    expect(&mut c, b"flush_all\r\n", b"OK\r\n");
    expect(&mut c, b"get n\r\n", b"END\r\n");
    send(&mut c, b"version\r\n");
    let mut line = [0; 8];
    c.read_exact(&mut line).unwrap();
    assert_eq!(&line, b"VERSION ");
    let mut rest = Vec::new();
    let mut byte = [0];
    while byte[0] != b'\n' {
        c.read_exact(&mut byte).unwrap();
        rest.push(byte[0]);
    }
    assert!(rest.starts_with(b"1.6."));
    send(&mut c, b"quit\r\n");
    assert_eq!(read_all(&mut c), b"");
}

#[test]
fn bad_input_gets_an_error_and_the_connection_goes_on() {
    let server = start(&["-I", "2k"]);
    let mut c = server.connect();
    expect(&mut c, b"set keep 0 0 4\r\nsafe\r\n", b"STORED\r\n");
    // A value over the item limit: refused, its data swallowed.
    let big = vec![b'x'; 4000];
    let mut request = b"set big 0 0 4000\r\n".to_vec();
    request.extend_from_slice(&big);
    request.extend_from_slice(b"\r\n");
    expect(&mut c, &request, b"SERVER_ERROR object too large for cache\r\n");
    expect(&mut c, b"get big keep\r\n", b"VALUE keep 0 4\r\nsafe\r\nEND\r\n");
    // A data block not ended by \r\n.
    expect(
        &mut c,
        b"set k 0 0 2\r\nabcd\r\n",
        b"CLIENT_ERROR bad data chunk\r\nERROR\r\n",
    );
    expect(&mut c, b"get keep\r\n", b"VALUE keep 0 4\r\nsafe\r\nEND\r\n");
    // Bad numbers.
    expect(
        &mut c,
        b"set k 0 0 x\r\n",
        b"CLIENT_ERROR bad command line format\r\n",
    );
    expect(
        &mut c,
        b"incr keep 1\r\n",
        b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
    );
    expect(
        &mut c,
        b"incr keep -1\r\n",
        b"CLIENT_ERROR invalid numeric delta argument\r\n",
    );
    expect(
        &mut c,
        b"touch keep x\r\n",
        b"CLIENT_ERROR invalid exptime argument\r\n",
    );
    // A key too long.
    let mut long_key = b"get ".to_vec();
    long_key.extend(vec![b'k'; 251]);
    long_key.extend_from_slice(b"\r\n");
    expect(&mut c, &long_key, b"CLIENT_ERROR bad command line format\r\n");
    // Garbage.
    expect(&mut c, b"\x01\x02 nonsense\r\n", b"ERROR\r\n");
    expect(&mut c, b"\r\n", b"ERROR\r\n");
    expect(&mut c, b"get keep\r\n", b"VALUE keep 0 4\r\nsafe\r\nEND\r\n");
}

#[test]
fn a_3_kib_line_without_newline_closes_the_connection_but_not_the_server() {
    let server = start(&[]);
    let mut c = server.connect();
    expect(&mut c, b"set keep 0 0 1\r\nk\r\n", b"STORED\r\n");
    send(&mut c, &vec![b'a'; 3 * 1024]);
    let rest = read_all(&mut c);
    assert!(rest.is_empty() || rest.starts_with(b"CLIENT_ERROR"), "{rest:?}");
    let mut other = server.connect();
    expect(&mut other, b"get keep\r\n", b"VALUE keep 0 1\r\nk\r\nEND\r\n");
    // A long multi-key get is not such a line.
    let keys: Vec<String> = (0..400).map(|i| format!("key{i:05}")).collect();
    let line = format!("get {}\r\n", keys.join(" "));
    assert!(line.len() > 3000);
    expect(&mut other, line.as_bytes(), b"END\r\n");
}

#[test]
fn pipelined_mixed_commands_are_answered_in_order() {
    let server = start(&[]);
    let mut c = server.connect();
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for i in 0..200 {
        batch.extend_from_slice(format!("set k{i} {i} 0 {}\r\nv{i}\r\n", format!("v{i}").len()).as_bytes());
        expected.extend_from_slice(b"STORED\r\n");
        batch.extend_from_slice(format!("get k{i} missing\r\n").as_bytes());
        expected.extend_from_slice(
            format!("VALUE k{i} {i} {}\r\nv{i}\r\nEND\r\n", format!("v{i}").len()).as_bytes(),
        );
        batch.extend_from_slice(format!("incr k{i} 1\r\ndelete k{i} noreply\r\nbogus\r\n").as_bytes());
        expected
            .extend_from_slice(b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\nERROR\r\n");
    }
    expect(&mut c, &batch, &expected);
    expect(&mut c, b"get k0 k199\r\n", b"END\r\n");
}

#[test]
fn the_memory_limit_holds_and_evicts_oldest_first() {
    // 8 MB of items; store 3x that in 10 KB values.
    let server = start(&["-m", "8"]);
    let mut c = server.connect();
    let value = vec![b'v'; 10_000];
    let baseline = rss_kib(server.pid());
    let count = 3 * 8 * 1024 * 1024 / value.len();
    let mut batch = Vec::new();
    for i in 0..count {
        batch.extend_from_slice(format!("set key{i} 0 0 {} noreply\r\n", value.len()).as_bytes());
        batch.extend_from_slice(&value);
        batch.extend_from_slice(b"\r\n");
        if batch.len() > 1 << 20 {
            send(&mut c, &batch);
            batch.clear();
        }
    }
    send(&mut c, &batch);
    assert!(stat(&mut c, "evictions") > 0);
    // The oldest keys are gone, the newest are there.
    expect(&mut c, b"get key0 key1\r\n", b"END\r\n");
    let last = format!("get key{}\r\n", count - 1);
    send(&mut c, last.as_bytes());
    let mut head = vec![0; format!("VALUE key{} 0 10000\r\n", count - 1).len()];
    c.read_exact(&mut head).unwrap();
    assert!(head.starts_with(b"VALUE"));
    let mut rest = vec![0; 10_000 + 2 + 5];
    c.read_exact(&mut rest).unwrap();
    assert!(stat(&mut c, "bytes") <= 8 * 1024 * 1024);
    // RSS near the limit: the items' 8 MB plus allocator slack, not 24 MB.
    let grown = rss_kib(server.pid()).saturating_sub(baseline);
    assert!(grown < 16 * 1024, "RSS grew by {grown} KiB for an 8 MiB limit");
}

#[test]
fn over_the_connection_limit_clients_are_told_and_counted() {
    let server = start(&["-c", "2"]);
    let mut a = server.connect();
    let mut b = server.connect();
    expect(&mut a, b"set x 0 0 1\r\n1\r\n", b"STORED\r\n");
    expect(&mut b, b"get x\r\n", b"VALUE x 0 1\r\n1\r\nEND\r\n");
    let mut third = server.connect();
    assert_eq!(read_all(&mut third), b"ERROR Too many open connections\r\n");
    assert_eq!(stat(&mut a, "rejected_connections"), 1);
    drop(b);
    // Once one leaves, a new client is served.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut fresh = server.connect();
        send(&mut fresh, b"get x\r\n");
        let mut reply = vec![0; 5];
        fresh.read_exact(&mut reply).unwrap();
        if reply.starts_with(b"VALUE") {
            break;
        }
        assert!(Instant::now() < deadline, "never served again");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_client_that_never_reads_is_paused_and_memory_stays_bounded() {
    let server = start(&[]);
    let mut c = server.connect();
    let value = vec![b'v'; 100_000];
    let mut set = b"set big 0 0 100000\r\n".to_vec();
    set.extend_from_slice(&value);
    set.extend_from_slice(b"\r\n");
    expect(&mut c, &set, b"STORED\r\n");
    let baseline = rss_kib(server.pid());
    // 100 MB of replies requested, none read.
    let mut greedy = server.connect();
    greedy
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let request = b"get big\r\n".repeat(1000);
    let mut sent = 0;
    for _ in 0..1000 {
        match greedy.write(&request) {
            Ok(n) => sent += n,
            Err(_) => break, // our send buffer is full: the server stopped reading
        }
    }
    assert!(sent > 0);
    thread::sleep(Duration::from_millis(300));
    let grown = rss_kib(server.pid()).saturating_sub(baseline);
    assert!(
        grown < 20 * 1024,
        "RSS grew by {grown} KiB for a client that never reads"
    );
    // Others are still served.
    expect(&mut c, b"get nothing\r\n", b"END\r\n");
}

#[test]
fn expired_items_are_reclaimed_without_an_access() {
    let server = start(&[]);
    let mut c = server.connect();
    for i in 0..100 {
        expect(
            &mut c,
            format!("set t{i} 0 1 1\r\nx\r\n").as_bytes(),
            b"STORED\r\n",
        );
    }
    expect(&mut c, b"set forever 0 0 1\r\nx\r\n", b"STORED\r\n");
    assert_eq!(stat(&mut c, "curr_items"), 101);
    // Expiry has one-second granularity; the crawler runs every 100 ms.
    let deadline = Instant::now() + Duration::from_secs(10);
    while stat(&mut c, "curr_items") > 1 {
        assert!(Instant::now() < deadline, "expired items were not reclaimed");
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(stat(&mut c, "expired_unfetched"), 100);
}

#[test]
fn unix_socket_and_sigterm() {
    let path = std::env::temp_dir().join(format!("torsion-mc-{}.sock", std::process::id()));
    let mut server = Server::start("torsion-memcached", &["-s", path.to_str().unwrap()]);
    assert_eq!(server.addr(), format!("unix:{}", path.display()));
    let mut c = std::os::unix::net::UnixStream::connect(&path).unwrap();
    c.set_read_timeout(Some(TIMEOUT)).unwrap();
    c.write_all(b"set u 0 0 1\r\n1\r\nget u\r\n").unwrap();
    let mut reply = vec![0; b"STORED\r\nVALUE u 0 1\r\n1\r\nEND\r\n".len()];
    c.read_exact(&mut reply).unwrap();
    assert_eq!(reply, b"STORED\r\nVALUE u 0 1\r\n1\r\nEND\r\n");
    server.signal(libc::SIGTERM);
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    assert_eq!(server.wait().code(), Some(0));
    assert!(!path.exists(), "the socket file was left behind");
}

#[test]
fn bad_command_lines_are_refused_with_a_message() {
    for (args, message) in [
        (&["-I", "2m", "-m", "2"][..], "half the memory limit"),
        (&["-I", "12q"][..], "invalid size"),
    ] {
        let mut all = vec!["-p", "0"];
        all.extend_from_slice(args);
        let output = std::process::Command::new(torsion_tests::binary("torsion-memcached"))
            .args(&all)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// Reads one `stats <group>` reply whole.
fn stats_text(stream: &mut TcpStream, group: &str) -> String {
    send(
        stream,
        format!("stats {group}\r\n").trim_end_matches(' ').as_bytes(),
    );
    let mut text = String::new();
    while !text.ends_with("END\r\n") {
        let mut buf = [0; 4096];
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed during stats");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    text
}

#[test]
fn dash_f_refuses_flush_all() {
    let server = start(&["-F"]);
    let mut c = server.connect();
    expect(&mut c, b"set k 0 0 1\r\nv\r\n", b"STORED\r\n");
    expect(
        &mut c,
        b"flush_all\r\n",
        b"CLIENT_ERROR flush_all not allowed\r\n",
    );
    expect(
        &mut c,
        b"flush_all x\r\n",
        b"CLIENT_ERROR flush_all not allowed\r\n",
    );
    expect(&mut c, b"get k\r\n", b"VALUE k 0 1\r\nv\r\nEND\r\n");
    assert!(stats_text(&mut c, "settings").contains("STAT flush_enabled no\r\n"));
}

#[test]
fn shutdown_needs_dash_a_and_then_stops_the_server() {
    let server = start(&[]);
    let mut c = server.connect();
    expect(&mut c, b"shutdown\r\n", b"ERROR: shutdown not enabled\r\n");
    expect(&mut c, b"version\r\n", b"VERSION 1.6.38-torsion\r\n");

    let mut server = start(&["-A"]);
    let mut c = server.connect();
    expect(
        &mut c,
        b"shutdown foo\r\n",
        b"CLIENT_ERROR invalid shutdown mode\r\n",
    );
    send(&mut c, b"shutdown graceful\r\n");
    assert!(read_all(&mut c).is_empty());
    assert_eq!(server.wait().code(), Some(0));
}

#[test]
fn dash_c_reports_no_cas_and_cas_ids_read_zero() {
    let server = start(&["-C"]);
    let mut c = server.connect();
    expect(&mut c, b"set k 0 0 1\r\nv\r\n", b"STORED\r\n");
    expect(&mut c, b"gets k\r\n", b"VALUE k 0 1 0\r\nv\r\nEND\r\n");
    assert!(stats_text(&mut c, "settings").contains("STAT cas_enabled no\r\n"));
}

#[test]
fn a_binary_only_server_closes_on_text_and_answers_binary() {
    let server = start(&["-B", "binary"]);
    let mut c = server.connect();
    // Closed once a whole (24-byte) header with a bad magic is in.
    send(&mut c, b"version\r\nversion\r\nversion\r\n");
    assert!(read_all(&mut c).is_empty(), "text gets no reply");
    let mut c = server.connect();
    // A binary noop, opaque 7.
    let mut noop = vec![0x80, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
    noop.extend([0; 8]);
    send(&mut c, &noop);
    let reply = torsion_tests::read_exact(&mut c, 24);
    assert_eq!((reply[0], reply[1], reply[15]), (0x81, 0x0a, 7));
}

#[test]
fn the_port_file_names_the_port_the_os_chose() {
    let scratch = torsion_tests::Scratch::new("memcached-ports");
    let path = scratch.path("ports");
    let mut command = std::process::Command::new(torsion_tests::binary("torsion-memcached"));
    command
        .args(["-p", "-1", "-b", "64"])
        .env("MEMCACHED_PORT_FILENAME", &path);
    let server = Server::spawn(command);
    let port = server.socket_addr().port();
    // The file is in place before the server announces itself.
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("TCP INET: {port}\n")
    );
    assert!(!scratch.path("ports.lck").exists());
    let mut c = server.connect();
    let settings = stats_text(&mut c, "settings");
    assert!(
        settings.contains(&format!("STAT tcpport {port}\r\n")),
        "{settings}"
    );
    assert!(settings.contains("STAT tcp_backlog 64\r\n"), "{settings}");
}

#[test]
fn an_http_request_line_closes_without_a_byte() {
    let server = start(&[]);
    for line in [
        &b"GET / HTTP/1.0\r\n"[..],
        b"PUT /asdf HTTP/1.1\r\n",
        b"DELETE HTTP/1.1\r\n",
    ] {
        let mut c = server.connect();
        send(&mut c, line);
        assert!(read_all(&mut c).is_empty(), "{}", line.escape_ascii());
    }
    let mut c = server.connect();
    expect(&mut c, b"get a HTTP/1.1\r\n", b"END\r\n");
}

#[test]
fn dash_r_yields_between_pipelined_requests() {
    let server = start(&["-R", "1"]);
    let mut c = server.connect();
    // 50 requests in one write: however the kernel splits them into reads,
    // a connection serving one request per event yields many times.
    let batch = b"set k 0 0 1\r\nv\r\n".repeat(50);
    let replies = b"STORED\r\n".repeat(50);
    expect(&mut c, &batch, &replies);
    assert!(stat(&mut c, "conn_yields") >= 5);
}

#[test]
fn stats_conns_lists_the_listener_and_each_client() {
    let server = start(&[]);
    let mut waiting = server.connect();
    send(&mut waiting, b"set k 0 0 10\r\nabc");
    let mut c = server.connect();
    // The half-sent value reaches the server before the stats request does
    // (one connection's bytes are read before the next accept's).
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let conns = stats_text(&mut c, "conns");
        let listen = format!("addr tcp:{}\r\n", server.addr());
        assert!(conns.contains(&listen), "{conns}");
        assert!(conns.contains(":state conn_listening\r\n"), "{conns}");
        assert!(conns.contains(":state conn_parse_cmd\r\n"), "{conns}");
        if conns.contains(":state conn_nread\r\n") {
            assert_eq!(
                conns
                    .matches(&format!("listen_addr tcp:{}", server.addr()))
                    .count(),
                2
            );
            break;
        }
        assert!(Instant::now() < deadline, "{conns}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_unix_socket_gets_the_dash_a_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = torsion_tests::Scratch::new("memcached-mask");
    let path = scratch.path("sock");
    let server = Server::start("torsion-memcached", &["-s", path.to_str().unwrap(), "-a", "600"]);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", server.addr());
}
