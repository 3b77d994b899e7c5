//! The loop itself: queued calls, run/stop, re-entrancy, slow callbacks,
//! counters, other threads.

mod util;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use torsion::testing::{Clock, StringTransport};
use torsion::{CloseReason, Ctx, Protocol, Reactor};
use util::*;

#[test]
fn call_soon_runs_next_iteration_in_order_and_later_calls_wait() {
    let mut reactor = Reactor::new().unwrap();
    let log: Rc<RefCell<Vec<u32>>> = Default::default();
    for i in 0..3 {
        let log = log.clone();
        reactor.call_soon(move |r| {
            log.borrow_mut().push(i);
            let log = log.clone();
            r.call_soon(move |_| log.borrow_mut().push(10 + i));
        });
    }
    assert!(log.borrow().is_empty());
    reactor.iterate(Some(Duration::ZERO)).unwrap();
    assert_eq!(*log.borrow(), [0, 1, 2]);
    reactor.iterate(Some(Duration::ZERO)).unwrap();
    assert_eq!(*log.borrow(), [0, 1, 2, 10, 11, 12]);
}

#[test]
fn call_when_running_runs_at_start_and_run_can_be_repeated() {
    let mut reactor = Reactor::new().unwrap();
    let log: Rc<RefCell<Vec<&str>>> = Default::default();
    let l = log.clone();
    reactor.call_when_running(move |r| {
        l.borrow_mut().push("running");
        r.stop();
    });
    assert!(log.borrow().is_empty());
    reactor.run().unwrap();
    assert_eq!(*log.borrow(), ["running"]);
    // The same reactor runs again.
    reactor.call_later(Duration::from_millis(1), |r| r.stop());
    reactor.run().unwrap();
}

#[test]
fn run_and_iterate_refuse_to_nest() {
    let mut reactor = Reactor::new().unwrap();
    let errors: Rc<RefCell<Vec<String>>> = Default::default();
    let e = errors.clone();
    reactor.call_soon(move |r| {
        e.borrow_mut().push(r.run().unwrap_err().to_string());
        e.borrow_mut().push(r.iterate(None).unwrap_err().to_string());
    });
    reactor.iterate(Some(Duration::ZERO)).unwrap();
    assert_eq!(
        *errors.borrow(),
        ["the reactor is already running", "the reactor is already running"]
    );
}

#[test]
fn stop_before_run_has_no_effect() {
    let mut reactor = Reactor::new().unwrap();
    reactor.stop();
    assert!(!reactor.is_running());
    let ran = Rc::new(RefCell::new(false));
    let r2 = ran.clone();
    reactor.call_later(Duration::from_millis(5), move |r| {
        *r2.borrow_mut() = true;
        r.stop();
    });
    reactor.run().unwrap();
    assert!(*ran.borrow());
}

/// A protocol that blocks the loop on purpose.
struct Sleepy;

impl Protocol for Sleepy {
    fn data_received(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) {
        std::thread::sleep(Duration::from_millis(30));
    }
}

#[test]
fn a_slow_callback_is_counted_and_named() {
    let mut t = StringTransport::new(Sleepy);
    t.reactor().set_slow_callback_threshold(Duration::from_millis(20));
    t.receive(b"x");
    assert_eq!(t.reactor().counters().slow_callbacks, 1);
    let mut reactor = Reactor::new().unwrap();
    reactor.set_slow_callback_threshold(Duration::from_millis(20));
    reactor.call_soon(|_| std::thread::sleep(Duration::from_millis(30)));
    reactor.call_soon(|_| {});
    reactor.iterate(Some(Duration::ZERO)).unwrap();
    assert_eq!(reactor.counters().slow_callbacks, 1);
}

#[test]
fn counters_follow_connections_and_bytes() {
    let mut reactor = Reactor::new().unwrap();
    let addr = listen_echo(&mut reactor);
    let client = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(&[1; 1000]).unwrap();
        let mut buf = [0; 1000];
        s.read_exact(&mut buf).unwrap();
    });
    run_until(&mut reactor, |_| client.is_finished());
    run_until(&mut reactor, |r| r.connection_count() == 0);
    let c = reactor.counters();
    assert_eq!(c.connections_total, 1);
    assert_eq!(c.bytes_read, 1000);
    assert_eq!(c.bytes_written, 1000);
    assert!(c.iterations > 0 && c.events > 0);
}

#[test]
fn calls_from_other_threads_run_on_the_loop() {
    let mut reactor = Reactor::new().unwrap();
    let handle = reactor.handle().unwrap();
    let total = Rc::new(RefCell::new(0u64));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let handle = handle.clone();
            std::thread::spawn(move || {
                for i in 0..250u64 {
                    handle
                        .call_from_thread(move |r| {
                            // The reactor is reachable from the queued call.
                            let _ = r.now();
                            let _ = (t, i);
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    let counted = total.clone();
    let before = reactor.counters().events;
    for t in threads {
        t.join().unwrap();
    }
    run_until(&mut reactor, |r| r.counters().events >= before + 1000);
    *counted.borrow_mut() += 1;
    drop(reactor);
    assert_eq!(handle.call_from_thread(|_| {}), Err(torsion::ReactorGone));
}

/// Records every event it receives.
struct Recorder {
    log: Rc<RefCell<Vec<String>>>,
}

impl Protocol for Recorder {
    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        self.log
            .borrow_mut()
            .push(format!("data {}", String::from_utf8_lossy(data)));
        if data == b"abort" {
            ctx.abort_connection();
            // Nothing reaches the protocol until this callback returns.
            self.log.borrow_mut().push("still in data_received".into());
        }
    }
    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        self.log.borrow_mut().push("eof".into());
        ctx.lose_connection();
    }
    fn pause_producing(&mut self, _ctx: &mut Ctx<'_>) {
        self.log.borrow_mut().push("pause".into());
    }
    fn resume_producing(&mut self, _ctx: &mut Ctx<'_>) {
        self.log.borrow_mut().push("resume".into());
    }
    fn connection_lost(&mut self, _ctx: &mut Ctx<'_>, reason: CloseReason) {
        self.log.borrow_mut().push(format!("lost {reason}"));
    }
}

#[test]
fn callbacks_never_nest_notices_follow_in_order() {
    let log: Rc<RefCell<Vec<String>>> = Default::default();
    let mut t = StringTransport::new(Recorder { log: log.clone() });
    t.receive(b"abort");
    assert_eq!(
        *log.borrow(),
        ["data abort", "still in data_received", "lost connection aborted"]
    );
    assert!(t.aborted());
}

#[test]
fn backpressure_pauses_and_resumes_the_producer() {
    let log: Rc<RefCell<Vec<String>>> = Default::default();
    let mut t = StringTransport::new(Recorder { log: log.clone() });
    t.set_window(Some(10));
    t.with_protocol(|_: &mut Recorder, ctx| ctx.write(&vec![0; torsion::DEFAULT_HIGH_WATER + 1]));
    assert_eq!(*log.borrow(), ["pause"]);
    assert_eq!(t.value().len(), 10);
    t.set_window(None);
    assert_eq!(*log.borrow(), ["pause", "resume"]);
    assert_eq!(t.buffered(), 0);
    t.receive_eof();
    assert_eq!(log.borrow().last().unwrap(), "lost connection closed cleanly");
}

#[test]
fn the_default_pause_stops_reading_until_resumed() {
    struct Chatty;
    impl Protocol for Chatty {
        fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
            ctx.write(&data.repeat(1000));
        }
    }
    let mut t = StringTransport::new(Chatty);
    t.set_window(Some(0));
    t.receive(&[b'x'; 100]); // 100 KB of replies: over the high-water mark
    assert!(t.reading_paused());
    t.receive(b"more");
    assert_eq!(t.buffered(), 100_000, "a paused protocol must not be fed");
    t.set_window(None);
    assert!(!t.reading_paused());
    assert_eq!(t.value().len(), 104_000);
}

#[test]
fn manual_clock_drives_timers_through_string_transport() {
    struct Idle;
    impl Protocol for Idle {
        fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
            let id = ctx.id();
            ctx.call_later(Duration::from_secs(5), move |r| {
                r.transport(id).abort_with(CloseReason::TimedOut);
            });
        }
        fn data_received(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) {}
    }
    let mut t = StringTransport::new(Idle);
    t.advance(Duration::from_secs(4));
    assert!(!t.disconnected());
    t.advance(Duration::from_secs(1));
    assert!(matches!(t.close_reason(), Some(CloseReason::TimedOut)));
    let _ = Clock::new();
}

#[test]
fn data_and_end_of_file_fed_together_both_arrive() {
    let log: Rc<RefCell<Vec<String>>> = Default::default();
    let mut t = StringTransport::new(Recorder { log: log.clone() });
    t.peer().send(b"last words");
    t.peer().send_eof();
    t.pump();
    assert_eq!(
        *log.borrow(),
        ["data last words", "eof", "lost connection closed cleanly"]
    );
}
