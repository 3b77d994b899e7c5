//! Answers that come later (NOT_DONE_YET): chunked streaming, finishing
//! from a timer, pipelined requests waiting their turn, and the client
//! going away.

#[path = "web/util.rs"]
mod util;

use std::time::Duration;

use util::{connect, replies, reply};

#[test]
fn long_streams_a_b_c_as_chunks_then_ends() {
    let (mut t, _site) = connect();
    t.receive(b"GET /long HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = t.text();
    assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head}");
    assert!(head.ends_with("\r\n\r\n1\r\nA\r\n"), "{head}");
    let mut wire = t.take();
    t.advance(Duration::from_millis(100));
    assert_eq!(t.text(), "1\r\nB\r\n");
    wire.extend(t.take());
    t.advance(Duration::from_millis(100));
    assert_eq!(t.text(), "1\r\nC\r\n");
    wire.extend(t.take());
    t.advance(Duration::from_millis(100));
    assert_eq!(t.text(), "0\r\n\r\n");
    wire.extend(t.take());
    assert_eq!(reply(&wire).text(), "ABC");
    assert!(!t.disconnecting());
}

#[test]
fn a_pipelined_request_waits_for_the_one_before() {
    let (mut t, site) = connect();
    t.receive(b"GET /later HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(t.value(), b"", "nothing until the first is answered");
    let first = site.later.pending.borrow()[0].clone();
    first.set_header("Content-Type", "text/plain");
    util::on_loop(&mut t, |r| {
        first.write(r, b"one");
        first.finish(r);
    });
    let rs = replies(&t.take(), &["GET", "GET"]);
    assert_eq!((rs[0].text().as_str(), rs[1].text().as_str()), ("one", "hello"));
    assert_eq!(*site.later.outcomes.borrow(), ["finished"]);
}

#[test]
fn finishing_without_writing_sends_an_empty_body() {
    let (mut t, site) = connect();
    t.receive(b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
    let req = site.later.pending.borrow()[0].clone();
    req.set_status(204);
    util::on_loop(&mut t, |r| req.finish(r));
    let r = reply(&t.take());
    assert_eq!(r.status, 204);
    assert!(r.headers.get("content-length").is_none());
}

#[test]
fn a_client_that_leaves_is_noticed_and_later_writes_are_dropped() {
    let (mut t, site) = connect();
    t.receive(b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
    t.receive_reset();
    assert_eq!(*site.later.outcomes.borrow(), ["gone"]);
    let req = site.later.pending.borrow()[0].clone();
    assert!(req.is_abandoned());
    util::on_loop(&mut t, |r| {
        req.write(r, b"late");
        req.finish(r);
    });
    assert!(!req.is_finished());
}

#[test]
fn end_of_file_during_a_later_answer_abandons_it() {
    let (mut t, site) = connect();
    t.receive(b"GET /long HTTP/1.1\r\nHost: x\r\n\r\n");
    t.receive_eof();
    assert!(t.disconnected());
    // The resource cancelled its timers: nothing fires later.
    t.advance(Duration::from_secs(1));
    assert!(site.log.borrow().is_empty(), "{:?}", site.log.borrow());
}

#[test]
fn http_1_0_streams_without_chunks_and_closes() {
    let (mut t, _site) = connect();
    t.receive(b"GET /long HTTP/1.0\r\n\r\n");
    t.advance(Duration::from_millis(300));
    let text = t.text();
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    assert!(!text.contains("chunked"), "{text}");
    assert!(text.ends_with("\r\n\r\nABC"), "{text}");
    assert!(t.disconnected());
}

/// A site wrapped in policies (their protocol wraps ours) still moves on
/// to pipelined requests when an answer finishes later.
#[test]
fn wrapped_in_policies_the_pipeline_still_moves_on() {
    use torsion_protocols::policies::{ConnectionLimits, LogTrafficFactory};
    let site = util::test_site();
    let later = site.later.clone();
    let mut factory = ConnectionLimits::new(LogTrafficFactory::new(site.site)).max_connections(10);
    let mut t = torsion::testing::StringTransport::from_factory(&mut factory);
    t.receive(b"GET /later HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let first = later.pending.borrow()[0].clone();
    util::on_loop(&mut t, |r| first.finish(r));
    let rs = replies(&t.take(), &["GET", "GET"]);
    assert_eq!((rs[0].status, rs[1].text().as_str()), (200, "hello"));
}

/// Requests sent far ahead of a slow answer stop being read past the
/// pipelining bound, and are all answered once it finishes.
#[test]
fn pipelining_far_ahead_pauses_reading_until_the_answer_is_done() {
    let (mut t, site) = connect();
    t.receive(b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
    let one = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let many = one.repeat(3000); // about 84 KiB
    t.receive(&many);
    assert!(t.reading_paused(), "reading paused past the bound");
    let first = site.later.pending.borrow()[0].clone();
    util::on_loop(&mut t, |r| first.finish(r));
    let methods = vec!["GET"; 3001];
    let rs = replies(&t.take(), &methods);
    assert!(rs[1..].iter().all(|r| r.text() == "hello"));
    assert!(!t.reading_paused());
}
