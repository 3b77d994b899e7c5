//! The memcache protocols, sans-I/O.
//!
//! - [`text`]: the classic text protocol (`get`, `set`, `incr`, `stats`, ...).
//! - [`meta`]: the meta commands (`mg`, `ms`, `md`, `ma`, `me`, `mn`), which
//!   share the text protocol's connection.
//! - [`binary`]: the binary protocol, chosen by a connection's first byte (0x80).
//! - [`number`]: decimal numbers parsed and printed exactly as memcached does,
//!   shared by every memcache codec.
//! - [`base64`]: memcached's base64, for meta's binary keys.
//!
//! Execution against a store lives in `torsion-servers` (`memcached::exec`,
//! `memcached::meta_exec`, `memcached::binary_exec`), so that these codecs stay
//! free of any storage or I/O.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::text::{parse, Parsed, Request};
//!
//! match parse(b"delete session:42 noreply\r\n") {
//!     Parsed::Complete { request: Request::Delete { key, noreply }, consumed } => {
//!         assert_eq!((key, noreply, consumed), (&b"session:42"[..], true, 27));
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```

pub mod base64;
pub mod binary;
pub mod meta;
pub mod number;
pub mod text;
