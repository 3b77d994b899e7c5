//! [`FramedReceiver`]: whole frames of any [`Codec`](crate::codec::Codec)
//! for a [`FrameHandler`]. [`LineOnlyReceiver`](crate::LineOnlyReceiver),
//! [`NetstringReceiver`](crate::NetstringReceiver) and the `IntN` receivers
//! are this with a codec chosen.

mod ctx;
mod handler;
mod receiver;

pub use ctx::FrameCtx;
pub use handler::FrameHandler;
pub use receiver::FramedReceiver;
