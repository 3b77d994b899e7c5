//! [`FramedReceiver`]: a protocol that frames a stream with a codec.

use torsion::{CloseReason, Ctx, Protocol};

use super::ctx::FrameState;
use super::{FrameCtx, FrameHandler};
use crate::buffer::ReadBuffer;
use crate::codec::Codec;
use crate::delivery::{Delivery, Eof};
use crate::Parsed;

/// A [`Protocol`] that frames the stream with codec `C` and hands each
/// payload to a [`FrameHandler`].
///
/// The aliases name the usual ones: [`LineOnlyReceiver`](crate::LineOnlyReceiver),
/// [`NetstringReceiver`](crate::NetstringReceiver),
/// [`Int8Receiver`](crate::Int8Receiver), [`Int16Receiver`](crate::Int16Receiver),
/// [`Int32Receiver`](crate::Int32Receiver). Each has a `new(handler)`.
///
/// # Guarantees
///
/// - Any split of the same stream into reads gives the same frames, in the
///   same order, and the same error at the same point.
/// - No frame longer than the codec's bound is handed out, and no more than
///   [`Codec::max_buffered`] bytes stay buffered (plus one read while
///   delivery is paused): past the bound, [`FrameHandler::frame_error`] is
///   called and the buffer dropped.
/// - Delivery stops once the connection is closing.
/// - Work is linear in the bytes received (see [`ReadBuffer`]).
///
/// # Examples
///
/// A server that counts the bytes of each length-prefixed message:
///
/// ```
/// use torsion::testing::StringTransport;
/// use torsion_protocols::codec::Int32Codec;
/// use torsion_protocols::{FrameCtx, FrameHandler, Int32Receiver};
///
/// struct Count;
///
/// impl FrameHandler<Int32Codec> for Count {
///     fn frame_received(&mut self, ctx: &mut FrameCtx<'_, '_, Int32Codec>, frame: &[u8]) {
///         let reply = frame.len().to_string();
///         ctx.send(reply.as_bytes()).expect("a short reply always fits");
///     }
/// }
///
/// let mut t = StringTransport::new(Int32Receiver::new(Count));
/// t.receive(b"\0\0\0\x05hello\0\0\0");
/// assert_eq!(t.value(), b"\0\0\0\x015");
/// ```
pub struct FramedReceiver<C, H> {
    handler: H,
    input: ReadBuffer,
    state: FrameState<C>,
}

impl<C: Codec + 'static, H: FrameHandler<C>> FramedReceiver<C, H> {
    /// Frames with `codec` for `handler`.
    pub fn with_codec(codec: C, handler: H) -> Self {
        FramedReceiver {
            handler,
            input: ReadBuffer::new(),
            state: FrameState {
                codec,
                delivery: Delivery::new(),
            },
        }
    }

    /// Sets the largest payload accepted (clamped by codecs whose header
    /// cannot express more).
    pub fn with_max_length(mut self, max: usize) -> Self {
        self.state.codec.set_max_length(max);
        self
    }

    /// Replaces the codec (before any byte arrives).
    pub(crate) fn replace_codec(mut self, codec: C) -> Self {
        self.state.codec = codec;
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

    /// The codec.
    pub fn codec(&self) -> &C {
        &self.state.codec
    }

    /// Bytes received and not yet handed out.
    pub fn buffered(&self) -> usize {
        self.input.len()
    }

    /// Calls `f` with the handler and a [`FrameCtx`] from outside the
    /// receiver's callbacks (a timer, another connection, via
    /// [`Reactor::with_protocol`](torsion::Reactor::with_protocol)); then
    /// delivers whatever `f` made deliverable.
    pub fn with_handler<R>(
        &mut self,
        ctx: &mut Ctx<'_>,
        f: impl FnOnce(&mut H, &mut FrameCtx<'_, '_, C>) -> R,
    ) -> R {
        let result = f(&mut self.handler, &mut FrameCtx::new(ctx, &mut self.state));
        self.settle(ctx);
        result
    }

    /// Pauses delivery from outside a callback.
    pub fn pause_delivery(&mut self, ctx: &mut Ctx<'_>) {
        self.state.delivery.pause(ctx);
    }

    /// Resumes delivery from outside a callback, delivering buffered frames now.
    pub fn resume_delivery(&mut self, ctx: &mut Ctx<'_>) {
        self.state.delivery.resume(ctx);
        self.settle(ctx);
    }

    fn settle(&mut self, ctx: &mut Ctx<'_>) {
        while self.state.delivery.may_deliver(ctx) && self.next_frame(ctx) {}
        if self.state.delivery.eof == Eof::Pending && self.state.delivery.may_deliver(ctx) {
            self.state.delivery.eof = Eof::Delivered;
            let FramedReceiver {
                handler,
                input,
                state,
            } = self;
            handler.read_connection_lost(&mut FrameCtx::new(ctx, state), input.unread());
            input.clear();
        }
    }

    /// Hands out one frame, or reports an error. Returns whether anything
    /// happened.
    fn next_frame(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let FramedReceiver {
            handler,
            input,
            state,
        } = self;
        match state.codec.decode(input.unread()) {
            Parsed::Complete(frame, consumed) => {
                handler.frame_received(&mut FrameCtx::new(ctx, state), frame);
                input.consume(consumed);
                true
            }
            Parsed::Incomplete => false,
            Parsed::Error(error) => {
                input.clear();
                state.codec.reset();
                handler.frame_error(&mut FrameCtx::new(ctx, state), error);
                true
            }
        }
    }
}

impl<C: Codec + 'static, H: FrameHandler<C>> Protocol for FramedReceiver<C, H> {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        self.handler
            .connection_made(&mut FrameCtx::new(ctx, &mut self.state));
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
            .connection_lost(&mut FrameCtx::new(ctx, &mut self.state), reason);
        self.input.clear();
    }

    fn pause_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.state.delivery.write_blocked = true;
        self.handler
            .pause_producing(&mut FrameCtx::new(ctx, &mut self.state));
        self.settle(ctx);
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.state.delivery.write_blocked = false;
        self.handler
            .resume_producing(&mut FrameCtx::new(ctx, &mut self.state));
        self.settle(ctx);
    }

    fn name(&self) -> &'static str {
        std::any::type_name::<H>()
    }
}
