//! What a [`FramedReceiver`](super::FramedReceiver) calls.

use torsion::CloseReason;

use super::FrameCtx;
use crate::codec::FrameError;

/// The callbacks of a framed protocol over codec `C`, run by a
/// [`FramedReceiver`](super::FramedReceiver).
///
/// Only [`frame_received`](FrameHandler::frame_received) must be written
/// (Twisted's `lineReceived` for line-only receivers, `stringReceived` for
/// netstrings and length prefixes).
///
/// # Examples
///
/// ```
/// use torsion::testing::StringTransport;
/// use torsion_protocols::codec::NetstringCodec;
/// use torsion_protocols::{FrameCtx, FrameHandler, NetstringReceiver};
///
/// struct Reverse;
///
/// impl FrameHandler<NetstringCodec> for Reverse {
///     fn frame_received(&mut self, ctx: &mut FrameCtx<'_, '_, NetstringCodec>, frame: &[u8]) {
///         let reversed: Vec<u8> = frame.iter().rev().copied().collect();
///         ctx.send_string(&reversed);
///     }
/// }
///
/// let mut t = StringTransport::new(NetstringReceiver::new(Reverse));
/// t.receive_bytewise(b"3:abc,0:,");
/// assert_eq!(t.value(), b"3:cba,0:,");
/// ```
pub trait FrameHandler<C>: 'static {
    /// The connection is open.
    fn connection_made(&mut self, ctx: &mut FrameCtx<'_, '_, C>) {
        let _ = ctx;
    }

    /// A whole frame arrived; `frame` is its payload.
    fn frame_received(&mut self, ctx: &mut FrameCtx<'_, '_, C>, frame: &[u8]);

    /// The stream broke the framing or its bound (a line too long, a
    /// netstring without its comma, a length over the limit). The receiver
    /// drops everything buffered after this call; the stream can rarely be
    /// trusted again.
    ///
    /// The default closes the connection.
    fn frame_error(&mut self, ctx: &mut FrameCtx<'_, '_, C>, error: FrameError) {
        log::debug!("{}: {error}; closing", ctx.id());
        ctx.lose_connection();
    }

    /// The peer will send nothing more. `rest` holds the bytes of an
    /// unfinished frame, usually empty. If delivery is paused, this waits
    /// until it resumes and the buffered frames are delivered.
    ///
    /// The default closes our side too once everything written is sent.
    fn read_connection_lost(&mut self, ctx: &mut FrameCtx<'_, '_, C>, rest: &[u8]) {
        let _ = rest;
        ctx.lose_connection();
    }

    /// The connection closed; `reason` says how. The last call.
    fn connection_lost(&mut self, ctx: &mut FrameCtx<'_, '_, C>, reason: CloseReason) {
        let _ = (ctx, reason);
    }

    /// The write buffer is above its high-water mark; the default stops
    /// reading (see [`torsion::Protocol::pause_producing`]).
    fn pause_producing(&mut self, ctx: &mut FrameCtx<'_, '_, C>) {
        ctx.pause_reading();
    }

    /// The write buffer drained below its low-water mark; the default
    /// reads again unless delivery is paused.
    fn resume_producing(&mut self, ctx: &mut FrameCtx<'_, '_, C>) {
        if !ctx.is_delivery_paused() {
            ctx.resume_reading();
        }
    }
}
