//! Pausing delivery and holding back end-of-file: what every receiver shares.

use torsion::Ctx;

/// Whether a receiver hands messages to its handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Messages are delivered as they are framed.
    Delivering,
    /// The handler paused delivery; bytes wait in the buffer and reading is
    /// paused so that the buffer grows by at most one read.
    Paused,
}

/// Where the peer's end-of-file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Eof {
    /// The peer may still send.
    Open,
    /// The peer closed while delivery was paused: the handler hears of it
    /// once the buffered messages are delivered.
    Pending,
    /// The handler was told.
    Delivered,
}

/// The delivery state of one receiver.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub(crate) flow: Flow,
    pub(crate) eof: Eof,
    /// The transport asked us to stop producing (the write buffer is high):
    /// resuming delivery must not resume reading then.
    pub(crate) write_blocked: bool,
}

impl Delivery {
    pub(crate) fn new() -> Self {
        Delivery {
            flow: Flow::Delivering,
            eof: Eof::Open,
            write_blocked: false,
        }
    }

    pub(crate) fn pause(&mut self, ctx: &mut Ctx<'_>) {
        self.flow = Flow::Paused;
        ctx.pause_reading();
    }

    pub(crate) fn resume(&mut self, ctx: &mut Ctx<'_>) {
        self.flow = Flow::Delivering;
        if !self.write_blocked && self.eof == Eof::Open {
            ctx.resume_reading();
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.flow == Flow::Paused
    }

    /// Whether to hand out the next message now.
    pub(crate) fn may_deliver(&self, ctx: &Ctx<'_>) -> bool {
        self.flow == Flow::Delivering && !ctx.is_closing()
    }
}
