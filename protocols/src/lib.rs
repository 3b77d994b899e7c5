//! Sans-I/O codecs and receivers for Torsion.
//!
//! A [`Protocol`](torsion::Protocol)'s `data_received` gets bytes in chunks
//! of any size: a message may be split across calls, and one call may hold
//! many. This crate turns chunks into messages, in two layers:
//!
//! - [`codec`]: sans-I/O framings (lines, netstrings, length prefixes) that
//!   take `&[u8]` and answer `Complete(frame, consumed) | Incomplete |
//!   Error` (a [`Parsed`]), testable without any reactor.
//! - Receivers: protocols that own a [`ReadBuffer`] (a cursor, compacted,
//!   never copied per message) and call a handler with whole messages:
//!   [`LineReceiver`] (lines and a raw mode, Twisted's `LineReceiver`),
//!   [`LineOnlyReceiver`], [`NetstringReceiver`], [`Int8Receiver`],
//!   [`Int16Receiver`] and [`Int32Receiver`] (all [`FramedReceiver`]s).
//! - [`Parsed`] and [`Decoder`]: the one parse outcome and decoder trait
//!   every codec here shares (the framings, [`kv`]'s requests and replies,
//!   [`amp`]'s boxes, [`http`]'s heads and bodies).
//! - [`policies`]: wrappers for any protocol or factory: an idle timeout,
//!   connection limits, traffic logging.
//! - [`memcache`]: memcached's protocols, sans-I/O.
//! - [`kv`]: the key-value store's line protocol and AMP commands, sans-I/O.
//! - [`amp`]: AMP, Twisted's Asynchronous Messaging Protocol: boxes,
//!   typed arguments, commands, and a connection that calls and answers.
//! - [`http`]: HTTP/1.1 heads and bodies on `httparse`, sans-I/O.
//!
//! See `docs/protocols.md` for the why and how, and how to test a protocol
//! byte by byte with [`StringTransport`](torsion::testing::StringTransport).
#![deny(missing_docs)]

pub mod amp;
mod buffer;
pub mod codec;
mod delivery;
mod framed;
pub mod http;
pub mod kv;
mod line;
mod line_only;
pub mod memcache;
mod netstring;
mod parse;
pub mod policies;
mod prefixed;

pub use buffer::ReadBuffer;
pub use framed::{FrameCtx, FrameHandler, FramedReceiver};
pub use line::{LineCtx, LineHandler, LineReceiver, Mode};
pub use line_only::LineOnlyReceiver;
pub use netstring::NetstringReceiver;
pub use parse::{Decoder, Parsed};
pub use prefixed::{Int16Receiver, Int32Receiver, Int8Receiver};
