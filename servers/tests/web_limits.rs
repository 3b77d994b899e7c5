//! Broken and hostile requests get the right status (or a close), and
//! the bounds hold.

#[path = "web/util.rs"]
mod util;

use std::time::Duration;

use util::{connect, reply};

fn refused(request: &[u8]) -> (u16, bool) {
    let (mut t, _site) = connect();
    t.receive(request);
    let r = reply(&t.take());
    assert_eq!(r.headers.get("connection"), Some("close"));
    (r.status, t.disconnected())
}

#[test]
fn garbage_is_400_at_once() {
    assert_eq!(
        refused(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
        (400, true)
    );
    assert_eq!(
        refused(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"),
        (400, true)
    );
    assert_eq!(refused(b"GET / HTTP/1.1\r\n\r\n"), (400, true), "no Host");
    assert_eq!(refused(b"GET * HTTP/1.1\r\nHost: x\r\n\r\n"), (400, true));
}

#[test]
fn huge_heads_are_431() {
    let mut big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 20 * 1024));
    assert_eq!(refused(&big).0, 431, "refused before the end of the head");
    let mut many = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..150 {
        many.extend(format!("X-{i}: y\r\n").as_bytes());
    }
    many.extend(b"\r\n");
    assert_eq!(refused(&many).0, 431);
}

#[test]
fn large_bodies_are_413() {
    assert_eq!(
        refused(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n").0,
        413,
        "refused on the declared length"
    );
    let mut chunked = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..20 {
        chunked.extend(b"64\r\n");
        chunked.extend([b'x'; 100]);
        chunked.extend(b"\r\n");
    }
    assert_eq!(refused(&chunked).0, 413);
}

#[test]
fn bad_framing_is_400_or_501() {
    assert_eq!(
        refused(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\nab").0,
        400
    );
    assert_eq!(
        refused(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n").0,
        400
    );
    assert_eq!(
        refused(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
            .0,
        400
    );
    assert_eq!(
        refused(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n").0,
        501
    );
    assert_eq!(
        refused(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").0,
        400
    );
}

#[test]
fn a_body_longer_than_declared_is_a_bad_next_request() {
    let (mut t, _site) = connect();
    t.receive(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nabEXTRA BYTES\r\n\r\n");
    let wire = t.take();
    let text = String::from_utf8_lossy(&wire);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("body 2\n"), "{text}");
    assert!(text.contains("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert!(t.disconnected());
}

#[test]
fn a_client_that_stops_mid_request_gets_408_then_a_close() {
    let (mut t, _site) = connect();
    t.advance(Duration::from_secs(4));
    t.receive(b"GET / HTTP/1.1\r\nHost: x\r\n"); // a request starts: a whole period from here
    t.advance(Duration::from_secs(4));
    assert_eq!(t.value(), b"");
    t.advance(Duration::from_secs(1));
    assert_eq!(reply(&t.take()).status, 408);
    assert!(t.disconnected());
}

#[test]
fn a_slowloris_trickling_its_head_gets_408_one_period_after_its_first_byte() {
    // Bytes trickling in do not restart the wait: the whole request must
    // arrive within one idle period (5 s here) of its first byte.
    let (mut t, _site) = connect();
    let head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for (i, byte) in head.iter().take(49).enumerate() {
        t.receive(&[*byte]);
        t.advance(Duration::from_millis(100));
        assert!(!t.disconnected(), "closed after {i} bytes");
    }
    t.advance(Duration::from_millis(100));
    assert_eq!(reply(&t.take()).status, 408);
    assert!(t.disconnected());
}

#[test]
fn a_slow_body_gets_408_one_period_after_the_request_started() {
    let (mut t, _site) = connect();
    t.receive(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
    for _ in 0..49 {
        t.receive(b"x");
        t.advance(Duration::from_millis(100));
    }
    assert!(!t.disconnected());
    t.advance(Duration::from_millis(100));
    assert_eq!(reply(&t.take()).status, 408);
}

#[test]
fn each_request_of_a_keep_alive_connection_gets_its_own_period() {
    let (mut t, _site) = connect();
    for _ in 0..4 {
        t.advance(Duration::from_secs(3));
        t.receive(b"GET / HTTP/1.1\r\nHost: x\r\n");
        t.advance(Duration::from_secs(3));
        t.receive(b"\r\n");
        assert_eq!(reply(&t.take()).status, 200);
    }
    assert!(!t.disconnected());
}

#[test]
fn a_client_that_stops_mid_body_gets_408() {
    let (mut t, _site) = connect();
    t.receive(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    t.advance(Duration::from_secs(5));
    assert_eq!(reply(&t.take()).status, 408);
}

#[test]
fn a_client_that_connects_and_sends_nothing_is_closed_quietly() {
    let (mut t, _site) = connect();
    t.advance(Duration::from_secs(4));
    assert!(!t.disconnected());
    t.advance(Duration::from_secs(1));
    assert_eq!(t.value(), b"");
    assert!(t.disconnected());
}

#[test]
fn an_idle_keep_alive_connection_is_closed_quietly() {
    let (mut t, _site) = connect();
    t.receive(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    t.clear();
    t.advance(Duration::from_secs(5));
    assert_eq!(t.value(), b"", "no 408 for a client that asked nothing");
    assert!(t.disconnected());
}

#[test]
fn end_of_file_mid_request_closes() {
    let (mut t, _site) = connect();
    t.receive(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    t.receive_eof();
    assert_eq!(t.value(), b"");
    assert!(t.disconnected());
}

#[test]
fn response_headers_cannot_be_injected() {
    use torsion::Reactor;
    use torsion_servers::web::{Node, Render, Request, Resource, Site};
    struct Inject;
    impl Resource for Inject {
        fn render_get(&self, _r: &mut Reactor, request: &Request) -> Render {
            request.set_header("X-Ok", "fine");
            request.set_header("X-Bad", "a\r\nSet-Cookie: evil=1");
            request.set_header("Bad\nName", "x");
            "body".into()
        }
    }
    let mut root = Node::new();
    root.put_child("", Inject);
    let mut site = Site::new(root);
    let mut t = torsion::testing::StringTransport::from_factory(&mut site);
    t.receive(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = reply(&t.take());
    assert_eq!(r.headers.get("x-ok"), Some("fine"));
    assert!(r.headers.get("set-cookie").is_none());
    assert!(r.headers.get("x-bad").is_none());
}
