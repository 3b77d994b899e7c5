//! A client that reads its responses slowly, or not at all: the server
//! stops answering pipelined requests and stops reading once its write
//! buffer is above the high-water mark, tells the request being answered
//! (`Request::is_paused`, its `Producer`), and goes on once the client
//! catches up; a client that reads nothing for a whole idle period is
//! aborted.

#[path = "web/util.rs"]
mod util;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use torsion::testing::StringTransport;
use torsion::{CloseReason, Reactor, DEFAULT_HIGH_WATER};
use torsion_servers::web::{Node, Producer, Render, Request, Resource, Site};
use util::{connect, replies};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn pipelined_requests_wait_while_the_client_is_not_reading() {
    let (mut t, _site) = connect();
    t.set_window(Some(0));
    // 2,000 pipelined requests (54 KB) in one read.
    t.receive(&REQUEST.repeat(2000));
    let held = t.buffered();
    assert!(held > DEFAULT_HIGH_WATER, "{held}");
    assert!(
        held < DEFAULT_HIGH_WATER + 1024,
        "answered past the high-water mark: {held} bytes held"
    );
    assert!(t.reading_paused());
    // More requests are not read meanwhile.
    t.receive(&REQUEST.repeat(10));
    assert!(t.buffered() < DEFAULT_HIGH_WATER + 1024);
    // The client reads: every request is answered, in order.
    t.set_window(None);
    let wire = t.take();
    let all = replies(&wire, &["GET"; 2010]);
    assert!(all.iter().all(|r| r.status == 200 && r.text() == "hello"));
    assert!(!t.reading_paused());
    assert!(!t.disconnected());
}

#[test]
fn a_client_that_reads_nothing_for_a_whole_period_is_aborted() {
    let (mut t, _site) = connect();
    t.set_window(Some(0));
    t.receive(&REQUEST.repeat(2000));
    t.advance(Duration::from_secs(4));
    assert!(!t.disconnected());
    t.advance(Duration::from_secs(1));
    assert!(t.disconnected());
    assert!(
        matches!(t.close_reason(), Some(CloseReason::TimedOut)),
        "{:?}",
        t.close_reason()
    );
}

#[test]
fn a_client_reading_slowly_is_not_cut_off() {
    let (mut t, _site) = connect();
    t.set_window(Some(0));
    t.receive(&REQUEST.repeat(2000));
    let mut wire = Vec::new();
    // 32 KiB every 2 s: the buffer drains below its low-water mark every
    // 4 s, within the 5 s period, and each drain counts as progress.
    let answered = |wire: &[u8]| wire.windows(15).filter(|w| w == b"HTTP/1.1 200 OK").count();
    for _ in 0..100 {
        t.advance(Duration::from_secs(2));
        assert!(!t.disconnected(), "cut off after {} replies", answered(&wire));
        t.set_window(Some(32 * 1024));
        wire.extend(t.take());
        if answered(&wire) == 2000 {
            break;
        }
    }
    assert_eq!(replies(&wire, &["GET"; 2000]).len(), 2000);
    assert!(!t.disconnected());
}

/// Streams `total` bytes in 4 KiB pieces, as fast as the client reads,
/// through a [`Producer`]; records what it was told.
struct Stream {
    total: usize,
    events: Rc<RefCell<Vec<&'static str>>>,
}

struct Pump {
    request: Request,
    left: Rc<RefCell<usize>>,
    events: Rc<RefCell<Vec<&'static str>>>,
}

impl Pump {
    fn run(request: &Request, left: &RefCell<usize>, r: &mut Reactor) {
        while !request.is_paused(r) && *left.borrow() > 0 {
            let n = (*left.borrow()).min(4096);
            request.write(r, &vec![b'x'; n]);
            *left.borrow_mut() -= n;
        }
        if *left.borrow() == 0 {
            request.finish(r);
        }
    }
}

impl Producer for Pump {
    fn pause_producing(&mut self, _r: &mut Reactor) {
        self.events.borrow_mut().push("pause");
    }

    fn resume_producing(&mut self, r: &mut Reactor) {
        self.events.borrow_mut().push("resume");
        Pump::run(&self.request, &self.left, r);
    }
}

impl Resource for Stream {
    fn render_get(&self, r: &mut Reactor, request: &Request) -> Render {
        let left = Rc::new(RefCell::new(self.total));
        Pump::run(request, &left, r);
        request.register_producer(
            r,
            Pump {
                request: request.clone(),
                left,
                events: self.events.clone(),
            },
        );
        Render::NotDoneYet
    }
}

#[test]
fn a_registered_producer_is_paused_and_resumed_and_the_buffer_stays_bounded() {
    let events = Rc::new(RefCell::new(Vec::new()));
    let mut root = Node::new();
    root.put_child(
        "stream",
        Stream {
            total: 4 << 20,
            events: events.clone(),
        },
    );
    let mut site = Site::new(root);
    let mut t = StringTransport::from_factory(&mut site);
    t.set_window(Some(0));
    t.receive(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(*events.borrow(), ["pause"]);
    let mut most = t.buffered();
    let mut body = 0;
    let mut wire = Vec::new();
    for _ in 0..10_000 {
        t.set_window(Some(32 * 1024));
        most = most.max(t.buffered());
        wire.extend(t.take());
        if t.buffered() == 0 && wire.ends_with(b"0\r\n\r\n") {
            break;
        }
    }
    t.set_window(None);
    wire.extend(t.take());
    for r in replies(&wire, &["GET"]) {
        body += r.body.len();
    }
    assert_eq!(body, 4 << 20);
    assert!(most < DEFAULT_HIGH_WATER + 8192, "{most} bytes buffered at most");
    let ev = events.borrow();
    assert!(ev.len() > 20, "{ev:?}");
    assert!(
        ev.chunks(2)
            .all(|p| p[0] == "pause" && p.get(1).is_none_or(|e| *e == "resume")),
        "{ev:?}"
    );
    assert!(!t.disconnected());
}

#[test]
fn a_producer_registered_while_the_client_is_behind_is_paused_at_once() {
    struct Late(Rc<RefCell<Vec<&'static str>>>);
    struct Note(Rc<RefCell<Vec<&'static str>>>);
    impl Producer for Note {
        fn pause_producing(&mut self, _r: &mut Reactor) {
            self.0.borrow_mut().push("pause");
        }
        fn resume_producing(&mut self, _r: &mut Reactor) {
            self.0.borrow_mut().push("resume");
        }
    }
    impl Resource for Late {
        fn render_get(&self, r: &mut Reactor, request: &Request) -> Render {
            request.write(r, &vec![b'x'; 100_000]);
            let (req, events) = (request.clone(), self.0.clone());
            r.call_later(Duration::from_secs(1), move |r| {
                assert!(req.is_paused(r));
                req.register_producer(r, Note(events));
            });
            Render::NotDoneYet
        }
    }
    let events = Rc::new(RefCell::new(Vec::new()));
    let mut root = Node::new();
    root.put_child("late", Late(events.clone()));
    let mut site = Site::new(root);
    let mut t = StringTransport::from_factory(&mut site);
    t.set_window(Some(0));
    t.receive(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n");
    t.advance(Duration::from_secs(1));
    assert_eq!(*events.borrow(), ["pause"]);
    t.set_window(None);
    assert_eq!(*events.borrow(), ["pause", "resume"]);
}
