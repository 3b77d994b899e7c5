//! LineReceiver: framing, raw mode, pausing, bounds, linearity.

mod util;

use std::time::{Duration, Instant};

use torsion::testing::StringTransport;
use torsion_protocols::{LineCtx, LineHandler, LineReceiver, Mode};
use util::{feed, Event, Events, Recorder};

fn lines(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Line(l) => Some(String::from_utf8_lossy(l).into_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn lines_bytewise_and_at_once_agree() {
    let stream = b"one\r\ntwo\r\n\r\nthree\rfour\r\nrest";
    let (whole, _) = feed(|e| LineReceiver::new(Recorder::new(e)), stream, &[], |_| {});
    let (bytewise, _) = feed(|e| LineReceiver::new(Recorder::new(e)), stream, &[1], |_| {});
    assert_eq!(whole, bytewise);
    assert_eq!(lines(&whole), ["one", "two", "", "three\rfour"]);
    assert_eq!(whole[4..], [Event::Eof(b"rest".to_vec()), Event::Lost]);
}

#[test]
fn raw_mode_gets_exactly_the_bytes_after_the_switching_line() {
    // Everything in one chunk: the switch happens with lines still buffered.
    let stream = b"a\r\nraw 7\r\nb\r\nc\r\n\r\nd\r\ne\r\n";
    for copy in [false, true] {
        let (events, _) = feed(
            |e| {
                LineReceiver::new(Recorder {
                    copy,
                    ..Recorder::new(e)
                })
            },
            stream,
            &[],
            |_| {},
        );
        assert_eq!(
            events,
            [
                Event::Line(b"a".to_vec()),
                Event::Raw(b"b\r\nc\r\n\r".to_vec()),
                Event::Line(b"\nd".to_vec()),
                Event::Line(b"e".to_vec()),
                Event::Eof(Vec::new()),
                Event::Lost,
            ],
            "copy: {copy}"
        );
    }
}

#[test]
fn raw_mode_across_many_small_reads() {
    let stream = b"raw 10\r\n0123456789raw 1\r\nXend\r\n";
    let (whole, _) = feed(|e| LineReceiver::new(Recorder::new(e)), stream, &[], |_| {});
    for sizes in [&[1][..], &[2, 3], &[7, 1, 30]] {
        let (chunked, _) = feed(|e| LineReceiver::new(Recorder::new(e)), stream, sizes, |_| {});
        assert_eq!(whole, chunked, "sizes {sizes:?}");
    }
    assert_eq!(
        whole[..3],
        [
            Event::Raw(b"0123456789".to_vec()),
            Event::Raw(b"X".to_vec()),
            Event::Line(b"end".to_vec())
        ]
    );
}

/// Switches to raw mode and back from `connection_made`, with `extra`.
struct Greeter {
    events: Events,
}

impl LineHandler for Greeter {
    fn connection_made(&mut self, ctx: &mut LineCtx<'_, '_>) {
        ctx.set_line_mode(b"from extra\r\npartial ");
    }

    fn line_received(&mut self, ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
        self.events.borrow_mut().push(Event::Line(line.to_vec()));
        assert_eq!(ctx.mode(), Mode::Line);
    }
}

#[test]
fn set_line_mode_parses_extra_first() {
    let events = Events::default();
    let mut t = StringTransport::new(LineReceiver::new(Greeter {
        events: events.clone(),
    }));
    assert_eq!(*events.borrow(), [Event::Line(b"from extra".to_vec())]);
    t.receive(b"line\r\n");
    assert_eq!(events.borrow()[1], Event::Line(b"partial line".to_vec()));
}

#[test]
fn a_long_line_closes_by_default() {
    struct Quiet;
    impl LineHandler for Quiet {
        fn line_received(&mut self, ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
            ctx.send_line(line);
        }
    }
    let mut t = StringTransport::new(LineReceiver::new(Quiet).with_max_line_length(4));
    t.receive(b"four\r\n");
    assert_eq!(t.value(), b"four\r\n");
    t.receive(b"fiver");
    assert!(!t.disconnected());
    t.receive(b"\r");
    assert!(
        t.disconnected(),
        "5 bytes and a partial delimiter can no longer be a 4-byte line"
    );
}

#[test]
fn the_buffer_is_bounded() {
    let max = 64;
    let stream = vec![b'x'; 10_000];
    let (events, _) = feed(
        |e| {
            let tolerant = Recorder {
                tolerant: true,
                ..Recorder::new(e)
            };
            LineReceiver::new(tolerant).with_max_line_length(max)
        },
        &stream,
        &[1, 5, 13],
        |t| {
            if t.disconnected() {
                return;
            }
            let buffered = t.with_protocol(|p: &mut LineReceiver<Recorder>, _| p.buffered());
            assert!(buffered <= max + 1, "{buffered} bytes buffered");
        },
    );
    assert!(events.iter().filter(|e| **e == Event::TooLong).count() > 100);
}

#[test]
fn delivery_stops_once_closing() {
    struct OneShot {
        events: Events,
    }
    impl LineHandler for OneShot {
        fn line_received(&mut self, ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
            self.events.borrow_mut().push(Event::Line(line.to_vec()));
            ctx.lose_connection();
        }
    }
    let events = Events::default();
    let mut t = StringTransport::new(LineReceiver::new(OneShot {
        events: events.clone(),
    }));
    t.receive(b"first\r\nsecond\r\nthird\r\n");
    assert_eq!(*events.borrow(), [Event::Line(b"first".to_vec())]);
    assert!(t.disconnected());
}

#[test]
fn lines_keep_coming_after_a_half_close() {
    struct Client {
        events: Events,
    }
    impl LineHandler for Client {
        fn connection_made(&mut self, ctx: &mut LineCtx<'_, '_>) {
            ctx.send_line(b"request");
            ctx.lose_write_connection();
        }
        fn line_received(&mut self, _ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
            self.events.borrow_mut().push(Event::Line(line.to_vec()));
        }
    }
    let events = Events::default();
    let mut t = StringTransport::new(LineReceiver::new(Client {
        events: events.clone(),
    }));
    t.receive(b"reply 1\r\nreply 2\r\n");
    assert_eq!(lines(&events.borrow()), ["reply 1", "reply 2"]);
}

/// Pauses after each line; the test resumes it from outside.
struct Slow {
    events: Events,
}

impl LineHandler for Slow {
    fn line_received(&mut self, ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
        self.events.borrow_mut().push(Event::Line(line.to_vec()));
        ctx.pause_delivery();
    }

    fn read_connection_lost(&mut self, ctx: &mut LineCtx<'_, '_>, rest: &[u8]) {
        self.events.borrow_mut().push(Event::Eof(rest.to_vec()));
        ctx.lose_connection();
    }
}

#[test]
fn pause_and_resume_delivery_hold_lines_and_end_of_file() {
    let events = Events::default();
    let mut t = StringTransport::new(LineReceiver::new(Slow {
        events: events.clone(),
    }));
    t.receive(b"a\r\nb\r\nc");
    assert_eq!(lines(&events.borrow()), ["a"]);
    assert!(t.reading_paused());
    t.receive_eof();
    assert_eq!(
        events.borrow().len(),
        1,
        "end-of-file waits for the buffered lines"
    );
    t.with_protocol(|p: &mut LineReceiver<Slow>, ctx| p.resume_delivery(ctx));
    assert_eq!(lines(&events.borrow()), ["a", "b"]);
    t.with_protocol(|p: &mut LineReceiver<Slow>, ctx| p.resume_delivery(ctx));
    assert_eq!(events.borrow().last(), Some(&Event::Eof(b"c".to_vec())));
    assert!(t.disconnected());
}

#[test]
fn a_multi_megabyte_chunk_of_short_lines_is_linear() {
    struct Count(usize);
    impl LineHandler for Count {
        fn line_received(&mut self, _ctx: &mut LineCtx<'_, '_>, _line: &[u8]) {
            self.0 += 1;
        }
    }
    let lines = 1_000_000;
    let chunk = b"abc\r\n".repeat(lines);
    let mut t = StringTransport::new(LineReceiver::new(Count(0)));
    let started = Instant::now();
    t.receive(&chunk);
    let elapsed = started.elapsed();
    let count = t.with_protocol(|p: &mut LineReceiver<Count>, _| p.handler().0);
    assert_eq!(count, lines);
    // Linear work is milliseconds here; a copy of the rest per line (as in
    // Twisted) would be 10^6 copies of megabytes: hours.
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}

#[test]
fn a_long_line_bytewise_is_scanned_once() {
    struct Count(usize);
    impl LineHandler for Count {
        fn line_received(&mut self, _ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
            self.0 += line.len();
        }
    }
    let max = 1 << 20;
    let mut t = StringTransport::new(LineReceiver::new(Count(0)).with_max_line_length(max));
    let started = Instant::now();
    let line = vec![b'y'; max];
    for piece in line.chunks(16) {
        t.receive(piece);
    }
    t.receive(b"\r\n");
    assert_eq!(
        t.with_protocol(|p: &mut LineReceiver<Count>, _| p.handler().0),
        max
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}
