//! The memcache protocols, sans-I/O.
//!
//! - [`text`]: the classic text protocol (`get`, `set`, `incr`, `stats`, ...).
//! - [`number`]: decimal numbers parsed and printed exactly as memcached does,
//!   shared by every memcache codec.
//!
//! The meta (`mg`/`ms`/...) and binary protocols will sit beside `text` and share
//! [`number`]. Execution against a store lives in `torsion-servers`
//! (`memcached::exec`), so that these codecs stay free of any storage or I/O.
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

pub mod number;
pub mod text;
