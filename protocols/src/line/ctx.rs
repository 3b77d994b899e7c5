//! [`LineCtx`]: what a line handler's callbacks can do.

use std::ops::{Deref, DerefMut, Range};

use torsion::Ctx;

use crate::codec::{Codec, LineCodec};
use crate::delivery::Delivery;
use crate::Decoder;

/// How a [`LineReceiver`](super::LineReceiver) hands out bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Complete lines go to [`line_received`](super::LineHandler::line_received).
    Line,
    /// Every byte goes to [`raw_data_received`](super::LineHandler::raw_data_received).
    Raw,
}

/// Bytes to put back in front of the input after a callback (from
/// [`LineCtx::set_line_mode`]).
#[derive(Debug)]
pub(crate) enum Extra {
    None,
    /// The last `n` bytes handed to `raw_data_received`: they are still in
    /// the buffer, so the cursor moves back instead of copying.
    Rewind(usize),
    /// Bytes from elsewhere, copied.
    Insert(Vec<u8>),
}

/// The state a [`LineCtx`] changes: the receiver's mode and settings.
#[derive(Debug)]
pub(crate) struct LineState {
    pub(crate) codec: LineCodec,
    pub(crate) mode: Mode,
    pub(crate) delivery: Delivery,
    pub(crate) extra: Extra,
    /// The addresses of the slice handed to `raw_data_received` during
    /// that call, to recognize an `extra` that is its suffix.
    pub(crate) raw_window: Option<Range<usize>>,
}

impl LineState {
    pub(crate) fn new(codec: LineCodec) -> Self {
        LineState {
            codec,
            mode: Mode::Line,
            delivery: Delivery::new(),
            extra: Extra::None,
            raw_window: None,
        }
    }
}

/// The context of a [`LineHandler`](super::LineHandler) callback.
///
/// It derefs to the connection's [`Ctx`], so `ctx.write`,
/// `ctx.lose_connection()` and the reactor's `ctx.call_later` all work, and
/// adds what a line protocol needs: [`send_line`](LineCtx::send_line), mode
/// switches and pausing delivery.
pub struct LineCtx<'a, 'r> {
    ctx: &'a mut Ctx<'r>,
    state: &'a mut LineState,
}

impl<'a, 'r> LineCtx<'a, 'r> {
    pub(crate) fn new(ctx: &'a mut Ctx<'r>, state: &'a mut LineState) -> Self {
        LineCtx { ctx, state }
    }

    /// Sends `line` followed by the delimiter, in one write.
    pub fn send_line(&mut self, line: &[u8]) {
        self.ctx.write_sequence(&[line, self.state.codec.delimiter()]);
    }

    /// From the next byte on, hands bytes to
    /// [`raw_data_received`](super::LineHandler::raw_data_received) instead
    /// of framing lines. Called from `line_received`, the bytes right after
    /// this line's delimiter are the first raw bytes, even if more lines
    /// were already buffered.
    pub fn set_raw_mode(&mut self) {
        self.state.mode = Mode::Raw;
    }

    /// Returns to line mode; `extra` (bytes raw mode did not use) is parsed
    /// first, before anything still buffered or received later.
    ///
    /// When `extra` is the tail of the `data` given to this very
    /// `raw_data_received` call (as in `ctx.set_line_mode(&data[used..])`),
    /// nothing is copied: the receiver moves its cursor back. Other bytes are
    /// copied. A second call in the same callback replaces the first one's
    /// `extra`.
    pub fn set_line_mode(&mut self, extra: &[u8]) {
        self.state.mode = Mode::Line;
        self.state.codec.reset();
        let span = extra.as_ptr_range();
        let (start, end) = (span.start.addr(), span.end.addr());
        self.state.extra = match &self.state.raw_window {
            _ if extra.is_empty() => Extra::None,
            Some(window) if end == window.end && start >= window.start => Extra::Rewind(extra.len()),
            _ => Extra::Insert(extra.to_vec()),
        };
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.state.mode
    }

    /// Stops handing out lines and raw data (they stay buffered) and pauses
    /// reading, until [`resume_delivery`](LineCtx::resume_delivery) here or
    /// [`LineReceiver::resume_delivery`](super::LineReceiver::resume_delivery)
    /// from outside a callback (a timer, another connection).
    pub fn pause_delivery(&mut self) {
        self.state.delivery.pause(self.ctx);
    }

    /// Resumes delivery: buffered lines are handed out as soon as this
    /// callback returns, and reading resumes.
    pub fn resume_delivery(&mut self) {
        self.state.delivery.resume(self.ctx);
    }

    /// Whether delivery is paused.
    pub fn is_delivery_paused(&self) -> bool {
        self.state.delivery.is_paused()
    }

    /// The maximum line length, delimiter excluded.
    pub fn max_line_length(&self) -> usize {
        self.state.codec.max_length()
    }

    /// Sets the maximum line length, delimiter excluded.
    pub fn set_max_line_length(&mut self, max: usize) {
        self.state.codec.set_max_length(max);
    }

    /// The line delimiter.
    pub fn delimiter(&self) -> &[u8] {
        self.state.codec.delimiter()
    }
}

impl<'r> Deref for LineCtx<'_, 'r> {
    type Target = Ctx<'r>;

    fn deref(&self) -> &Ctx<'r> {
        self.ctx
    }
}

impl<'r> DerefMut for LineCtx<'_, 'r> {
    fn deref_mut(&mut self) -> &mut Ctx<'r> {
        self.ctx
    }
}
