//! [`LineReceiver`]: the protocol that frames lines for a [`LineHandler`].

use torsion::{CloseReason, Ctx, Protocol};

use super::ctx::{Extra, LineState};
use super::{LineCtx, LineHandler, Mode};
use crate::buffer::ReadBuffer;
use crate::codec::{Codec, LineCodec};
use crate::delivery::Eof;
use crate::{Decoder, Parsed};

/// A [`Protocol`] that frames lines (and raw bytes, in raw mode) for a
/// [`LineHandler`]: Twisted's `basic.LineReceiver`.
///
/// Lines end with `\r\n` unless [`with_delimiter`](LineReceiver::with_delimiter)
/// says otherwise and are at most 16 KiB long (see
/// [`with_max_line_length`](LineReceiver::with_max_line_length)); a longer
/// one calls [`LineHandler::line_length_exceeded`], which closes the
/// connection by default.
///
/// # Guarantees
///
/// - Any split of the same stream into reads, down to one byte each, gives
///   the same calls with the same bytes.
/// - A mode switch inside a callback takes effect at the very next byte:
///   switched to raw in `line_received`, the bytes after that line (even
///   lines already buffered) go to `raw_data_received`; back to lines with
///   `set_line_mode(extra)`, `extra` is framed first. No byte is lost or
///   repeated.
/// - Delivery stops once the connection is closing (after
///   `lose_connection` or an abort), as Twisted's does.
/// - Work is linear in the bytes received: consuming a line moves a cursor,
///   and the buffer is compacted only when its live part is no larger than
///   its consumed part (see [`ReadBuffer`]). Buffered bytes never exceed
///   the maximum line length plus the delimiter, plus one read while
///   delivery is paused.
///
/// # Examples
///
/// The seeds' memcached `set`: a command line, then a raw value.
///
/// ```
/// use torsion::testing::StringTransport;
/// use torsion_protocols::{LineCtx, LineHandler, LineReceiver};
///
/// #[derive(Default)]
/// struct Store {
///     /// Bytes of the value still expected (with its `\r\n`).
///     expecting: usize,
///     value: Vec<u8>,
/// }
///
/// impl LineHandler for Store {
///     fn line_received(&mut self, ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
///         // "set <key> <length>"
///         let length = line.rsplit(|b| *b == b' ').next().and_then(|n| std::str::from_utf8(n).ok());
///         match length.and_then(|n| n.parse::<usize>().ok()) {
///             Some(n) => {
///                 self.expecting = n + 2;
///                 self.value.clear();
///                 ctx.set_raw_mode();
///             }
///             None => ctx.send_line(b"ERROR"),
///         }
///     }
///
///     fn raw_data_received(&mut self, ctx: &mut LineCtx<'_, '_>, data: &[u8]) {
///         let used = data.len().min(self.expecting);
///         self.value.extend_from_slice(&data[..used]);
///         self.expecting -= used;
///         if self.expecting == 0 {
///             ctx.send_line(b"STORED");
///             // The rest is the next command: back to lines, no copy.
///             ctx.set_line_mode(&data[used..]);
///         }
///     }
/// }
///
/// let mut t = StringTransport::new(LineReceiver::new(Store::default()));
/// t.receive(b"set k 5\r\nab\r\nc\r\nset k 1\r\nx\r\n");
/// assert_eq!(t.text(), "STORED\r\nSTORED\r\n");
/// ```
pub struct LineReceiver<H> {
    handler: H,
    input: ReadBuffer,
    state: LineState,
}

impl<H: LineHandler> LineReceiver<H> {
    /// Frames `\r\n`-delimited lines of at most 16 KiB for `handler`.
    pub fn new(handler: H) -> Self {
        LineReceiver {
            handler,
            input: ReadBuffer::new(),
            state: LineState::new(LineCodec::new()),
        }
    }

    /// Uses `delimiter` to end lines (sent and received).
    ///
    /// # Panics
    ///
    /// If `delimiter` is empty or longer than 255 bytes.
    pub fn with_delimiter(mut self, delimiter: &[u8]) -> Self {
        let max = self.state.codec.max_length();
        self.state.codec = LineCodec::with_delimiter(delimiter);
        self.state.codec.set_max_length(max);
        self
    }

    /// Sets the maximum line length, delimiter excluded.
    pub fn with_max_line_length(mut self, max: usize) -> Self {
        self.state.codec.set_max_length(max);
        self
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The handler, mutably.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// Bytes received and not yet handed out.
    pub fn buffered(&self) -> usize {
        self.input.len()
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.state.mode
    }

    /// Calls `f` with the handler and a [`LineCtx`], from outside the
    /// receiver's callbacks (a timer, a Deferred, another connection, via
    /// [`Reactor::with_protocol`](torsion::Reactor::with_protocol)); then
    /// delivers whatever `f` made deliverable.
    pub fn with_handler<R>(
        &mut self,
        ctx: &mut Ctx<'_>,
        f: impl FnOnce(&mut H, &mut LineCtx<'_, '_>) -> R,
    ) -> R {
        let result = f(&mut self.handler, &mut LineCtx::new(ctx, &mut self.state));
        self.settle(ctx);
        result
    }

    /// Pauses delivery from outside a callback (see [`LineCtx::pause_delivery`]).
    pub fn pause_delivery(&mut self, ctx: &mut Ctx<'_>) {
        self.state.delivery.pause(ctx);
    }

    /// Resumes delivery from outside a callback, and delivers the buffered
    /// lines now.
    pub fn resume_delivery(&mut self, ctx: &mut Ctx<'_>) {
        self.state.delivery.resume(ctx);
        self.settle(ctx);
    }

    /// After any callback: applies a pending `set_line_mode(extra)`, hands
    /// out what can be handed out, and the held-back end-of-file.
    fn settle(&mut self, ctx: &mut Ctx<'_>) {
        self.apply_extra();
        self.deliver(ctx);
        if self.state.delivery.eof == Eof::Pending && self.state.delivery.may_deliver(ctx) {
            self.deliver_eof(ctx);
            self.apply_extra();
            self.deliver(ctx);
        }
    }

    fn apply_extra(&mut self) {
        match std::mem::replace(&mut self.state.extra, Extra::None) {
            Extra::None => {}
            Extra::Rewind(n) => self.input.unconsume(n),
            Extra::Insert(bytes) => self.input.push_front(&bytes),
        }
    }

    fn deliver(&mut self, ctx: &mut Ctx<'_>) {
        while self.state.delivery.may_deliver(ctx) {
            let progressed = match self.state.mode {
                Mode::Line => self.next_line(ctx),
                Mode::Raw => self.next_raw(ctx),
            };
            self.apply_extra();
            if !progressed {
                break;
            }
        }
    }

    /// Hands out one line, or reports a line too long. Returns whether
    /// anything happened.
    fn next_line(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let LineReceiver {
            handler,
            input,
            state,
        } = self;
        match state.codec.decode(input.unread()) {
            Parsed::Complete(frame, consumed) => {
                handler.line_received(&mut LineCtx::new(ctx, state), frame);
                input.consume(consumed);
                true
            }
            Parsed::Incomplete => false,
            Parsed::Error(error) => {
                log::trace!("{}: {error}", ctx.id());
                handler.line_length_exceeded(&mut LineCtx::new(ctx, state), input.unread());
                input.clear();
                state.codec.reset();
                true
            }
        }
    }

    /// Hands every buffered byte to raw mode. Returns whether there were any.
    fn next_raw(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let LineReceiver {
            handler,
            input,
            state,
        } = self;
        let data = input.unread();
        if data.is_empty() {
            return false;
        }
        let span = data.as_ptr_range();
        state.raw_window = Some(span.start.addr()..span.end.addr());
        handler.raw_data_received(&mut LineCtx::new(ctx, state), data);
        state.raw_window = None;
        let n = data.len();
        input.consume(n);
        true
    }

    fn deliver_eof(&mut self, ctx: &mut Ctx<'_>) {
        self.state.delivery.eof = Eof::Delivered;
        let LineReceiver {
            handler,
            input,
            state,
        } = self;
        handler.read_connection_lost(&mut LineCtx::new(ctx, state), input.unread());
        input.clear();
    }
}

impl<H: LineHandler> Protocol for LineReceiver<H> {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        self.handler
            .connection_made(&mut LineCtx::new(ctx, &mut self.state));
        self.settle(ctx);
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        self.input.extend(data);
        self.settle(ctx);
        if self.state.delivery.is_paused() {
            // Keep the buffer bounded while nothing is handed out.
            ctx.pause_reading();
        }
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        self.state.delivery.eof = Eof::Pending;
        self.settle(ctx);
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        self.handler
            .connection_lost(&mut LineCtx::new(ctx, &mut self.state), reason);
        self.input.clear();
    }

    fn pause_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.state.delivery.write_blocked = true;
        self.handler
            .pause_producing(&mut LineCtx::new(ctx, &mut self.state));
        self.settle(ctx);
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.state.delivery.write_blocked = false;
        self.handler
            .resume_producing(&mut LineCtx::new(ctx, &mut self.state));
        self.settle(ctx);
    }

    fn name(&self) -> &'static str {
        std::any::type_name::<H>()
    }
}
