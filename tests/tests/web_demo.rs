//! torsion-web-demo over real sockets: the seeds' pages, keep-alive,
//! streaming, the thread pool against the blocked loop, bad requests,
//! and SIGTERM.

mod http_util;

use std::io::Read;
use std::thread;
use std::time::{Duration, Instant};

use http_util::Conn;
use torsion_tests::Server;

fn demo() -> Server {
    Server::start("torsion-web-demo", &["-p", "0", "--idle-timeout", "1"])
}

#[test]
fn the_seeds_pages_over_one_keep_alive_connection() {
    let server = demo();
    let mut c = Conn::new(server.connect());
    let index = c.get("/");
    assert_eq!(index.status, 200);
    assert!(index.text().contains("<title>Torsion web demo</title>"));
    for link in [
        "/page",
        "/long",
        "/fetch?url=",
        "/fib?num=",
        "/fib-blocking?num=",
        "/form",
    ] {
        assert!(index.text().contains(&format!("href=\"{link}")), "{link}");
    }
    assert!(c.get("/page").text().contains("A PAGE"));
    assert_eq!(c.get("/fib?num=90").status, 200);
    assert!(c.get("/fib?num=90").text().contains("2880067194370816120"));
    assert!(c.get("/fib-blocking?num=10").text().contains(">55<"));
    assert_eq!(c.get("/fib?num=-1").status, 400);
    assert_eq!(c.get("/fib?num=%3Cscript%3E").status, 400);
    assert!(!c.get("/fib?num=%3Cscript%3E").text().contains("<script>"));
    assert_eq!(c.get("/nowhere").status, 404);
}

#[test]
fn long_writes_a_b_c_a_second_apart() {
    let server = demo();
    let mut stream = server.connect();
    let started = Instant::now();
    torsion_tests::send(
        &mut stream,
        b"GET /long HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let mut seen = Vec::new();
    let mut when = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).expect("read");
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&chunk[..n]);
        when.push((
            String::from_utf8_lossy(&chunk[..n]).into_owned(),
            started.elapsed(),
        ));
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains("Transfer-Encoding: chunked"), "{text}");
    assert!(
        text.ends_with("\r\n\r\n1\r\nA\r\n1\r\nB\r\n1\r\nC\r\n0\r\n\r\n"),
        "{text}"
    );
    let first_a = when.iter().find(|(t, _)| t.contains("1\r\nA\r\n")).expect("A").1;
    let c = when.iter().find(|(t, _)| t.contains("1\r\nC\r\n")).expect("C").1;
    // C is written two seconds after A (timers never fire early). A came
    // long before C, so it was streamed, not held to the end: gaps, not
    // absolute times, so that a loaded machine's late start does not count.
    assert!(
        c >= Duration::from_millis(1900),
        "C came two seconds later: {when:?}"
    );
    assert!(
        c - first_a >= Duration::from_secs(1),
        "A came at once, long before C: {when:?}"
    );
}

/// fib on the thread pool leaves the loop free: a page asked for after
/// it is answered before it.
#[test]
fn fib_on_the_pool_does_not_block_other_clients() {
    let server = demo();
    let mut fib = Conn::new(server.connect());
    // Long enough to take a second or more, debug or release.
    let num = if cfg!(debug_assertions) { 60_000 } else { 250_000 };
    fib.send(format!("GET /fib?num={num} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    thread::sleep(Duration::from_millis(100));
    let mut other = Conn::new(server.connect());
    assert_eq!(other.get("/page").status, 200);
    fib.stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let pending = matches!(fib.stream.read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    assert!(pending, "the page was answered while fib was still computing");
    fib.stream.set_nonblocking(false).unwrap();
    let answer = fib.response("GET");
    assert_eq!(answer.status, 200);
    assert!(answer.text().contains("on the thread pool"));
}

/// fib on the loop blocks it: a page asked for meanwhile waits until fib
/// is answered, and the reactor warns about the slow callback.
#[test]
fn fib_blocking_stalls_the_loop_and_is_reported() {
    let mut server = demo();
    let mut fib = Conn::new(server.connect());
    fib.send(b"GET /fib-blocking?num=40000 HTTP/1.1\r\nHost: t\r\n\r\n");
    thread::sleep(Duration::from_millis(100));
    let mut other = Conn::new(server.connect());
    assert_eq!(other.get("/page").status, 200);
    // By the time the page came, fib's whole answer had been sent.
    fib.stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let answer = fib.response("GET");
    assert!(answer.text().contains("blocking it"));
    server.signal(libc::SIGTERM);
    assert!(server.wait().success());
    let log = server.stderr();
    assert!(
        log.contains("slow callback: data_received of torsion_servers::web::channel::Channel"),
        "{log}"
    );
}

#[test]
fn bad_requests_get_their_status_and_the_server_goes_on() {
    let server = demo();
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"GARBAGE\r\n\r\n".to_vec(), 400),
        (
            [
                b"GET / HTTP/1.1\r\nHost: t\r\nX: ".to_vec(),
                vec![b'a'; 40_000],
                b"\r\n\r\n".to_vec(),
            ]
            .concat(),
            431,
        ),
        (
            b"POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n".to_vec(),
            413,
        ),
        (
            b"POST /form HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n".to_vec(),
            501,
        ),
    ];
    for (request, status) in cases {
        let mut c = Conn::new(server.connect());
        c.send(&request);
        assert_eq!(c.response("GET").status, status);
        assert!(c.closed());
        assert_eq!(
            Conn::new(server.connect()).get("/page").status,
            200,
            "the server goes on"
        );
    }
    // A body longer than declared: the rest is a bad next request.
    let mut c = Conn::new(server.connect());
    c.send(b"POST /form HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=1 and more\r\n\r\n");
    assert_eq!(c.response("POST").status, 200);
    assert_eq!(c.response("GET").status, 400);
    // A client that stops mid-request: 408 after the idle timeout (1 s here).
    let mut c = Conn::new(server.connect());
    c.send(b"GET /page HTTP/1.1\r\nHost: t\r\n");
    assert_eq!(c.response("GET").status, 408);
    assert!(c.closed());
    // One that leaves mid-request: nothing to answer, and nothing breaks.
    let mut c = Conn::new(server.connect());
    c.send(b"POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npartial");
    drop(c);
    assert_eq!(Conn::new(server.connect()).get("/").status, 200);
}

#[test]
fn a_client_that_leaves_a_long_page_is_noticed() {
    let mut server = demo();
    let mut c = Conn::new(server.connect());
    c.send(b"GET /long HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut first = [0u8; 64];
    let _ = c.stream.read(&mut first).unwrap();
    drop(c);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(Conn::new(server.connect()).get("/page").status, 200);
    server.signal(libc::SIGTERM);
    assert!(server.wait().success());
    let log = server.stderr();
    assert!(log.contains("client went away before \"GET /long\""), "{log}");
    assert!(log.contains("cancelling its timers"), "{log}");
}

#[test]
fn fetch_streams_another_page_back() {
    let server = demo();
    let mut c = Conn::new(server.connect());
    let fetched = c.get(&format!("/fetch?url=http://{}/page", server.addr()));
    assert_eq!(fetched.status, 200);
    assert!(fetched.text().contains("A PAGE"));
    assert_eq!(fetched.headers.get("transfer-encoding"), Some("chunked"));
    let failed = c.get("/fetch?url=http://127.0.0.1:1/");
    assert_eq!(failed.status, 502);
    assert!(failed.text().contains("connection refused"));
    assert_eq!(c.get("/fetch").status, 400);
}

#[test]
fn a_fetch_of_no_url_is_the_clients_mistake_400_as_the_forward_proxy_says() {
    let server = demo();
    let mut c = Conn::new(server.connect());
    for url in ["notaurl", "gopher://x/", "http://"] {
        let refused = c.get(&format!("/fetch?url={url}"));
        assert_eq!(refused.status, 400, "{url}");
        assert!(
            refused.text().contains("Not an http(s) URL"),
            "{url}: {}",
            refused.text()
        );
    }
    // The same connection goes on.
    assert_eq!(c.get("/page").status, 200);
}

#[test]
fn a_version_it_does_not_speak_is_505() {
    let server = demo();
    for version in ["HTTP/9.9", "HTTP/2.0", "HTTP/3"] {
        let mut c = Conn::new(server.connect());
        c.send(format!("GET / {version}\r\nHost: t\r\n\r\n").as_bytes());
        let response = c.response("GET");
        assert_eq!(response.status, 505, "{version}");
        assert!(
            response.text().contains("unsupported HTTP version"),
            "{}",
            response.text()
        );
        assert!(c.closed());
    }
    // HTTP/1.0 still is.
    let mut c = Conn::new(server.connect());
    c.send(b"GET /page HTTP/1.0\r\n\r\n");
    assert_eq!(c.response("GET").status, 200);
}

#[test]
fn sigterm_exits_zero_while_a_response_is_streaming() {
    let mut server = demo();
    let mut c = Conn::new(server.connect());
    c.send(b"GET /long HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut first = [0u8; 64];
    let _ = c.stream.read(&mut first).unwrap();
    server.signal(libc::SIGTERM);
    assert!(server.wait().success());
}
