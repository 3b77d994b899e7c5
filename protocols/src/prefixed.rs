//! [`Int8Receiver`], [`Int16Receiver`], [`Int32Receiver`]: length-prefixed payloads.

use crate::codec::Prefixed;
#[cfg(doc)]
use crate::codec::DEFAULT_MAX_LENGTH;
use crate::{FrameHandler, FramedReceiver};

/// Payloads behind a one-byte length (at most 255 bytes): Twisted's
/// `Int8StringReceiver`. The handler implements
/// [`FrameHandler<Int8Codec>`](crate::codec::Int8Codec).
pub type Int8Receiver<H> = FramedReceiver<Prefixed<1>, H>;

/// Payloads behind a two-byte big-endian length (at most 65,535 bytes):
/// Twisted's `Int16StringReceiver`.
pub type Int16Receiver<H> = FramedReceiver<Prefixed<2>, H>;

/// Payloads behind a four-byte big-endian length, at most
/// [`DEFAULT_MAX_LENGTH`] bytes unless
/// [`with_max_length`](FramedReceiver::with_max_length) says otherwise:
/// Twisted's `Int32StringReceiver`. See [`FramedReceiver`] for an example.
pub type Int32Receiver<H> = FramedReceiver<Prefixed<4>, H>;

impl<const N: usize, H: FrameHandler<Prefixed<N>>> FramedReceiver<Prefixed<N>, H> {
    /// Length-prefixed payloads for `handler`, bounded by
    /// [`DEFAULT_MAX_LENGTH`] or what the prefix can express.
    pub fn new(handler: H) -> Self {
        Self::with_codec(Prefixed::new(), handler)
    }
}
