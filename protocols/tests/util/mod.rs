//! Handlers that record what they receive, shared by the tests.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use torsion::testing::StringTransport;
use torsion::{CloseReason, Protocol};
use torsion_protocols::codec::{Codec, FrameError};
use torsion_protocols::{FrameCtx, FrameHandler, LineCtx, LineHandler};

/// Something a handler was told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Line(Vec<u8>),
    Raw(Vec<u8>),
    TooLong,
    Error(FrameError),
    Eof(Vec<u8>),
    Lost,
}

/// The events of one connection, shared with the test.
pub type Events = Rc<RefCell<Vec<Event>>>;

/// Records lines; lines of the form `raw N` switch to raw mode for `N`
/// bytes (recorded as one `Raw` event), then back to lines with the rest,
/// by rewinding (`copy: false`) or by handing over a copy (`copy: true`).
#[derive(Default)]
pub struct Recorder {
    pub events: Events,
    pub copy: bool,
    /// Keep the connection open after a line too long.
    pub tolerant: bool,
    pub want: usize,
    pub raw: Vec<u8>,
}

impl Recorder {
    pub fn new(events: &Events) -> Self {
        Recorder {
            events: events.clone(),
            ..Recorder::default()
        }
    }

    fn push(&self, event: Event) {
        self.events.borrow_mut().push(event);
    }
}

impl LineHandler for Recorder {
    fn line_received(&mut self, ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
        let want = line
            .strip_prefix(b"raw ")
            .and_then(|n| std::str::from_utf8(n).ok())
            .and_then(|n| n.parse::<usize>().ok());
        match want {
            Some(n) if n > 0 => {
                self.want = n;
                ctx.set_raw_mode();
            }
            _ => self.push(Event::Line(line.to_vec())),
        }
    }

    fn raw_data_received(&mut self, ctx: &mut LineCtx<'_, '_>, data: &[u8]) {
        let used = data.len().min(self.want);
        self.raw.extend_from_slice(&data[..used]);
        self.want -= used;
        if self.want == 0 {
            let raw = std::mem::take(&mut self.raw);
            self.push(Event::Raw(raw));
            if self.copy {
                let rest = data[used..].to_vec();
                ctx.set_line_mode(&rest);
            } else {
                ctx.set_line_mode(&data[used..]);
            }
        }
    }

    fn line_length_exceeded(&mut self, ctx: &mut LineCtx<'_, '_>, _buffered: &[u8]) {
        self.push(Event::TooLong);
        if !self.tolerant {
            ctx.lose_connection();
        }
    }

    fn read_connection_lost(&mut self, ctx: &mut LineCtx<'_, '_>, rest: &[u8]) {
        self.push(Event::Eof(rest.to_vec()));
        ctx.lose_connection();
    }

    fn connection_lost(&mut self, _ctx: &mut LineCtx<'_, '_>, _reason: CloseReason) {
        self.push(Event::Lost);
    }
}

/// Records frames of any codec.
pub struct FrameRecorder {
    pub events: Events,
}

impl<C: Codec + 'static> FrameHandler<C> for FrameRecorder {
    fn frame_received(&mut self, _ctx: &mut FrameCtx<'_, '_, C>, frame: &[u8]) {
        self.events.borrow_mut().push(Event::Line(frame.to_vec()));
    }

    fn frame_error(&mut self, ctx: &mut FrameCtx<'_, '_, C>, error: FrameError) {
        self.events.borrow_mut().push(Event::Error(error));
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

/// Feeds `stream` to a fresh protocol from `make` in chunks of the sizes in
/// `sizes` (cycled; all of it at once if empty), then end-of-file; returns
/// the events and what the protocol wrote. `check` runs after each chunk.
pub fn feed<P: Protocol>(
    make: impl FnOnce(&Events) -> P,
    stream: &[u8],
    sizes: &[usize],
    mut check: impl FnMut(&mut StringTransport),
) -> (Vec<Event>, Vec<u8>) {
    let events = Events::default();
    let mut t = StringTransport::new(make(&events));
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let size = sizes.get(i % sizes.len().max(1)).copied().unwrap_or(rest.len());
        let (chunk, tail) = rest.split_at(size.clamp(1, rest.len()));
        t.receive(chunk);
        check(&mut t);
        rest = tail;
        i += 1;
    }
    t.receive_eof();
    let written = t.take();
    let events = events.borrow().clone();
    (events, written)
}
