//! [`FrameCtx`]: what a frame handler's callbacks can do.

use std::ops::{Deref, DerefMut};

use torsion::Ctx;

use crate::codec::{Codec, FrameError, LineCodec, NetstringCodec};
use crate::delivery::Delivery;

/// The state a [`FrameCtx`] changes.
#[derive(Debug)]
pub(crate) struct FrameState<C> {
    pub(crate) codec: C,
    pub(crate) delivery: Delivery,
}

/// The context of a [`FrameHandler`](super::FrameHandler) callback.
///
/// It derefs to the connection's [`Ctx`] (and through it to the reactor),
/// and adds [`send`](FrameCtx::send) in the receiver's framing and pausing
/// delivery.
pub struct FrameCtx<'a, 'r, C> {
    ctx: &'a mut Ctx<'r>,
    state: &'a mut FrameState<C>,
}

impl<'a, 'r, C: Codec> FrameCtx<'a, 'r, C> {
    pub(crate) fn new(ctx: &'a mut Ctx<'r>, state: &'a mut FrameState<C>) -> Self {
        FrameCtx { ctx, state }
    }

    /// Sends `payload` framed by the codec, in one write without copying it
    /// first. Fails (and sends nothing) if the framing cannot carry it, as
    /// a 300-byte payload behind a one-byte length.
    pub fn send(&mut self, payload: &[u8]) -> Result<(), FrameError> {
        let header = self.state.codec.header(payload.len())?;
        self.ctx
            .write_sequence(&[header.as_bytes(), payload, self.state.codec.trailer()]);
        Ok(())
    }

    /// The largest payload accepted.
    pub fn max_length(&self) -> usize {
        self.state.codec.max_length()
    }

    /// Sets the largest payload accepted (clamped by codecs whose header
    /// cannot express more).
    pub fn set_max_length(&mut self, max: usize) {
        self.state.codec.set_max_length(max);
    }
}

impl<C> FrameCtx<'_, '_, C> {
    /// Stops handing out frames (they stay buffered) and pauses reading,
    /// until [`resume_delivery`](FrameCtx::resume_delivery) here or
    /// [`FramedReceiver::resume_delivery`](super::FramedReceiver::resume_delivery).
    pub fn pause_delivery(&mut self) {
        self.state.delivery.pause(self.ctx);
    }

    /// Resumes delivery: buffered frames are handed out as soon as this
    /// callback returns, and reading resumes.
    pub fn resume_delivery(&mut self) {
        self.state.delivery.resume(self.ctx);
    }

    /// Whether delivery is paused.
    pub fn is_delivery_paused(&self) -> bool {
        self.state.delivery.is_paused()
    }

    /// The codec.
    pub fn codec(&self) -> &C {
        &self.state.codec
    }
}

impl FrameCtx<'_, '_, LineCodec> {
    /// Sends `line` and the delimiter (lines cannot fail to frame).
    pub fn send_line(&mut self, line: &[u8]) {
        self.ctx.write_sequence(&[line, self.state.codec.delimiter()]);
    }
}

impl FrameCtx<'_, '_, NetstringCodec> {
    /// Sends `payload` as a netstring (netstrings cannot fail to frame).
    pub fn send_string(&mut self, payload: &[u8]) {
        if let Err(e) = self.send(payload) {
            log::error!("{}: cannot frame a netstring: {e}", self.ctx.id());
        }
    }
}

impl<'r, C> Deref for FrameCtx<'_, 'r, C> {
    type Target = Ctx<'r>;

    fn deref(&self) -> &Ctx<'r> {
        self.ctx
    }
}

impl<'r, C> DerefMut for FrameCtx<'_, 'r, C> {
    fn deref_mut(&mut self) -> &mut Ctx<'r> {
        self.ctx
    }
}
