//! The checks the fuzz targets run, so that each target is three lines.
//!
//! An input is read as: one byte choosing the read sizes, one byte for the
//! length bound, then the stream. Each check feeds the stream to a receiver
//! on a `StringTransport` twice, at once and in small reads, and asserts
//! that both give the same events, that no frame exceeds the bound and that
//! the buffer never holds more than the codec allows. A panic anywhere (in
//! the receiver or in an assertion) is a crash for the fuzzer.

use std::cell::RefCell;
use std::rc::Rc;

use torsion::testing::StringTransport;
use torsion::{CloseReason, Protocol};
use torsion_protocols::codec::{Codec, FrameError};
use torsion_protocols::{FrameCtx, FrameHandler, FramedReceiver, LineCtx, LineHandler, LineReceiver};

/// What a handler was told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A line or frame.
    Frame(Vec<u8>),
    /// A block of raw bytes.
    Raw(Vec<u8>),
    /// A framing error.
    Error(Option<FrameError>),
    /// End-of-file, with the unframed rest.
    Eof(Vec<u8>),
    /// The connection closed.
    Lost,
}

type Events = Rc<RefCell<Vec<Event>>>;

/// Lines; `raw N` switches to raw mode for N bytes, then back to lines
/// (alternately by rewinding and by copying the rest).
pub struct Switcher {
    events: Events,
    want: usize,
    raw: Vec<u8>,
    /// Whether the next switch back to lines hands over a copy.
    copy: bool,
}

impl LineHandler for Switcher {
    fn line_received(&mut self, ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
        let want = line
            .strip_prefix(b"raw ")
            .and_then(|n| std::str::from_utf8(n).ok())
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n > 0 && *n < 1 << 20);
        match want {
            Some(n) => {
                self.want = n;
                ctx.set_raw_mode();
            }
            None => self.events.borrow_mut().push(Event::Frame(line.to_vec())),
        }
    }

    fn raw_data_received(&mut self, ctx: &mut LineCtx<'_, '_>, data: &[u8]) {
        let used = data.len().min(self.want);
        self.raw.extend_from_slice(&data[..used]);
        self.want -= used;
        if self.want == 0 {
            self.events
                .borrow_mut()
                .push(Event::Raw(std::mem::take(&mut self.raw)));
            self.copy = !self.copy;
            if self.copy {
                let rest = data[used..].to_vec();
                ctx.set_line_mode(&rest);
            } else {
                ctx.set_line_mode(&data[used..]);
            }
        }
    }

    fn line_length_exceeded(&mut self, ctx: &mut LineCtx<'_, '_>, _buffered: &[u8]) {
        self.events.borrow_mut().push(Event::Error(None));
        ctx.lose_connection();
    }

    fn read_connection_lost(&mut self, ctx: &mut LineCtx<'_, '_>, rest: &[u8]) {
        self.events.borrow_mut().push(Event::Eof(rest.to_vec()));
        ctx.lose_connection();
    }

    fn connection_lost(&mut self, _ctx: &mut LineCtx<'_, '_>, _reason: CloseReason) {
        self.events.borrow_mut().push(Event::Lost);
    }
}

/// Records frames of any codec.
pub struct Frames {
    events: Events,
}

impl<C: Codec + 'static> FrameHandler<C> for Frames {
    fn frame_received(&mut self, _ctx: &mut FrameCtx<'_, '_, C>, frame: &[u8]) {
        self.events.borrow_mut().push(Event::Frame(frame.to_vec()));
    }

    fn frame_error(&mut self, ctx: &mut FrameCtx<'_, '_, C>, error: FrameError) {
        self.events.borrow_mut().push(Event::Error(Some(error)));
        ctx.lose_connection();
    }

    fn read_connection_lost(&mut self, ctx: &mut FrameCtx<'_, '_, C>, rest: &[u8]) {
        self.events.borrow_mut().push(Event::Eof(rest.to_vec()));
        ctx.lose_connection();
    }

    fn connection_lost(&mut self, _ctx: &mut FrameCtx<'_, '_, C>, _reason: CloseReason) {
        self.events.borrow_mut().push(Event::Lost);
    }
}

/// Splits a fuzz input into (read-size seed, bound byte, stream).
fn parts(data: &[u8]) -> Option<(u8, u8, &[u8])> {
    match data {
        [seed, bound, stream @ ..] => Some((*seed, *bound, stream)),
        _ => None,
    }
}

/// Feeds `stream` whole (`seed` None) or in reads of 1 to 16 bytes drawn
/// from `seed`; `buffered` reads the receiver's buffer after each read.
fn feed<P: Protocol>(
    protocol: P,
    events: &Events,
    stream: &[u8],
    seed: Option<u8>,
    mut after_read: impl FnMut(&mut StringTransport),
) -> Vec<Event> {
    let mut t = StringTransport::new(protocol);
    match seed {
        None => t.receive(stream),
        Some(seed) => {
            let mut state = u32::from(seed) | 1;
            let mut rest = stream;
            while !rest.is_empty() {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let size = 1 + (state % 16) as usize;
                let (chunk, tail) = rest.split_at(size.min(rest.len()));
                t.receive(chunk);
                after_read(&mut t);
                rest = tail;
            }
        }
    }
    t.receive_eof();
    let out = events.borrow().clone();
    out
}

/// Checks a [`LineReceiver`] with raw-mode switches on `data`.
pub fn check_line_receiver(data: &[u8]) {
    let Some((seed, bound, stream)) = parts(data) else {
        return;
    };
    let max = usize::from(bound);
    let run = |seed: Option<u8>| {
        let events = Events::default();
        let handler = Switcher {
            events: events.clone(),
            want: 0,
            raw: Vec::new(),
            copy: false,
        };
        let receiver = LineReceiver::new(handler).with_max_line_length(max);
        feed(receiver, &events, stream, seed, |t| {
            if !t.disconnected() {
                let (buffered, raw) = t.with_protocol(|p: &mut LineReceiver<Switcher>, _| {
                    (p.buffered(), p.mode() == torsion_protocols::Mode::Raw)
                });
                assert!(
                    raw || buffered <= max + 1,
                    "{buffered} bytes buffered, bound {max}"
                );
            }
        })
    };
    let whole = run(None);
    let split = run(Some(seed));
    assert_eq!(whole, split);
    for event in &whole {
        if let Event::Frame(line) = event {
            assert!(line.len() <= max);
        }
    }
}

/// Checks a [`FramedReceiver`] with `codec` (its bound set from the input)
/// on `data`.
pub fn check_framed<C: Codec + Clone + 'static>(mut codec: C, data: &[u8]) {
    let Some((seed, bound, stream)) = parts(data) else {
        return;
    };
    codec.set_max_length(usize::from(bound) * 4);
    let max = codec.max_length();
    let max_buffered = codec.max_buffered();
    let run = |seed: Option<u8>| {
        let events = Events::default();
        let receiver = FramedReceiver::with_codec(
            codec.clone(),
            Frames {
                events: events.clone(),
            },
        );
        feed(receiver, &events, stream, seed, |t| {
            if !t.disconnected() {
                let buffered = t.with_protocol(|p: &mut FramedReceiver<C, Frames>, _| p.buffered());
                assert!(
                    buffered <= max_buffered,
                    "{buffered} bytes buffered, bound {max_buffered}"
                );
            }
        })
    };
    let whole = run(None);
    let split = run(Some(seed));
    assert_eq!(whole, split);
    for event in &whole {
        if let Event::Frame(frame) = event {
            assert!(frame.len() <= max);
        }
    }
}

mod http;

pub use http::{check_http_requests, check_http_responses};
