//! [`NetstringReceiver`]: netstrings, `len:payload,`.

use crate::codec::NetstringCodec;
use crate::{FrameHandler, FramedReceiver};

/// Netstrings (`5:hello,`): Twisted's `basic.NetstringReceiver`. The
/// handler implements [`FrameHandler<NetstringCodec>`] and answers with
/// [`FrameCtx::send_string`](crate::FrameCtx::send_string). Payloads are
/// bounded by [`DEFAULT_MAX_LENGTH`](crate::codec::DEFAULT_MAX_LENGTH)
/// (99,999 bytes) unless [`with_max_length`](FramedReceiver::with_max_length)
/// says otherwise; a bad header, a missing comma or a length over the bound
/// is a [`FrameError`](crate::codec::FrameError).
///
/// See [`FrameHandler`] for an example.
pub type NetstringReceiver<H> = FramedReceiver<NetstringCodec, H>;

impl<H: FrameHandler<NetstringCodec>> FramedReceiver<NetstringCodec, H> {
    /// Netstrings of at most 99,999 bytes for `handler`.
    pub fn new(handler: H) -> Self {
        Self::with_codec(NetstringCodec::new(), handler)
    }
}
