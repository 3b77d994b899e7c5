//! [`LineReceiver`]: lines, with a raw mode for binary payloads.
//!
//! The protocol Twisted's `basic.LineReceiver` implements, which the seeds'
//! memcached server uses: commands arrive as lines, and a `set` command's
//! value arrives as raw bytes that may contain anything, after which the
//! handler returns to lines. See [`LineHandler`] for the callbacks and
//! [`LineCtx`] for what they can do.

mod ctx;
mod handler;
mod receiver;

pub use ctx::{LineCtx, Mode};
pub use handler::LineHandler;
pub use receiver::LineReceiver;
