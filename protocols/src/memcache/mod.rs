//! The memcache protocols, sans-I/O, both ways: each dialect parses and
//! composes its requests and its replies, so the server's composers and the
//! client's parsers are tested against each other.
//!
//! - [`text`]: the classic text protocol (`get`, `set`, `incr`, `stats`, ...).
//! - [`meta`]: the meta commands (`mg`, `ms`, `md`, `ma`, `me`, `mn`), which
//!   share the text protocol's connection.
//! - [`ascii`]: that connection's decoder: one line at a time, meta or classic.
//! - [`binary`]: the binary protocol, chosen by a connection's first byte (0x80).
//! - [`line`](mod@line): the text connection's framing (with its scan position), shared
//!   by the classic and meta commands.
//! - [`body`]: what follows a request's head (a value to wait for or to skip).
//! - [`number`]: decimal numbers parsed and printed exactly as memcached does,
//!   shared by every memcache codec.
//! - [`base64`]: memcached's base64, for meta's binary keys.
//! - [`udp`]: the UDP frame header and the cutting of replies into datagrams.
//!
//! Every decoder here is a [`Decoder`](crate::Decoder) answering the shared
//! [`Parsed`](crate::Parsed): request decoders ([`ascii::RequestDecoder`]
//! for a text connection's classic and meta commands,
//! [`text::RequestDecoder`] for the classic ones alone,
//! [`binary::RequestDecoder`]) for a server, response decoders
//! ([`text::ResponseDecoder`], [`meta::ResponseDecoder`],
//! [`binary::ResponseDecoder`]) for a client.
//!
//! Execution against a store lives in `torsion-servers` (`memcached::exec`,
//! `memcached::meta_exec`, `memcached::binary_exec`), so that these codecs stay
//! free of any storage or I/O.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::text::{Request, RequestDecoder};
//! use torsion_protocols::{Decoder, Parsed};
//!
//! match RequestDecoder::default().decode(b"delete session:42 noreply\r\n") {
//!     Parsed::Complete(Request::Delete { key, noreply }, consumed) => {
//!         assert_eq!((key, noreply, consumed), (&b"session:42"[..], true, 27));
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```

pub mod ascii;
pub mod base64;
pub mod binary;
pub mod body;
pub mod line;
pub mod meta;
pub mod number;
pub mod text;
pub mod udp;
