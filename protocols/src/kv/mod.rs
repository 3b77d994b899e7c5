//! The key-value store's protocols, sans-I/O: the seeds' line protocol and
//! the AMP commands that expose the same store.
//!
//! # The line protocol
//!
//! The seeds' training slides specify it; every line is sent ending with
//! `\r\n` (Twisted's `LineReceiver` delimiter, which the seeds' server and
//! client both use), and read ending at `\n`, a `\r` before it dropped: a
//! bare `\n` ends a line too, as memcached and the other Torsion servers
//! accept (`printf 'set x y\nget x\n' | nc -N 127.0.0.1 11212`).
//!
//! | request | replies |
//! | --- | --- |
//! | `get <key>` | `VALUE <key> <value>` or `GET_NOT_FOUND <key>` |
//! | `set <key> <value>` | `STORED` |
//! | `delete <key>` | `DELETED <key>` or `DEL_NOT_FOUND <key>` |
//! | anything malformed | `ERROR <reason>` |
//!
//! The seeds split the line on whitespace, so the command and the key are
//! words separated by runs of whitespace (Python's `bytes.split()`: space,
//! tab, `\n`, `\r`, vertical tab, form feed). The value is the rest of the
//! line after the key and the one whitespace byte that follows it, so it may
//! hold spaces (the seeds kept only the first word). Where the seeds' server
//! raises an exception and drops the connection (no command, a missing key
//! or value, an unknown command), this one answers `ERROR <reason>` and
//! reads the next line; so does a line longer than the bound, whose bytes
//! are skipped up to its line break without being buffered.
//!
//! **A value can never hold a line break**: `\n` ends the request, so
//! `set x a\nb` is `set x a`, then a line `b`. Clients refuse such a value
//! before sending it; one stored over AMP, where values are any bytes, is
//! refused by the line protocol's `get` with an `ERROR` rather than sent
//! broken. A `\r` alone is an ordinary byte of a value.
//!
//! - [`LineFramer`]: lines with a bound, skipping overlong lines.
//! - [`RequestDecoder`] and [`Request`]: what a server reads.
//! - [`ReplyDecoder`] and [`Reply`]: what a client reads.
//! - [`LineError`]: why a decoder handed out no message, and how many bytes
//!   to drop before going on (every error here is recoverable).
//!
//! All three are [`Decoder`](crate::Decoder)s: they answer
//! [`Parsed`](crate::Parsed), and remember how far they looked for the
//! `\r\n`, so a line arriving a byte at a time is scanned once.
//! - [`Limits`]: the key, value and line bounds both sides share.
//!
//! # AMP
//!
//! [`commands`] declares `Get`, `Set` and `Delete` as a Twisted program
//! would, for [`crate::amp`].
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::kv::{Limits, Request, RequestDecoder, Reply};
//! use torsion_protocols::{Decoder, Parsed};
//!
//! let mut decoder = RequestDecoder::new(Limits::default());
//! let input = b"set greeting hello world\r\nget greeting\r\n";
//! let Parsed::Complete(request, consumed) = decoder.decode(input) else {
//!     panic!("a whole line is there")
//! };
//! assert_eq!(request, Request::Set { key: b"greeting", value: b"hello world" });
//! assert_eq!(consumed, 26);
//!
//! let mut out = Vec::new();
//! Reply::Value { key: b"greeting", value: b"hello world" }.encode(&mut out);
//! assert_eq!(out, b"VALUE greeting hello world\r\n");
//! ```

pub mod commands;
mod error;
mod framer;
mod limits;
mod reply;
mod request;
mod words;

pub use error::{LineError, LineTooLong};
pub use framer::{LineFramer, DELIMITER};
pub use limits::{Limits, DEFAULT_MAX_KEY_LENGTH, DEFAULT_MAX_VALUE_LENGTH};
pub use reply::{Reply, ReplyDecoder, ReplyError};
pub use request::{Request, RequestDecoder, RequestError};
pub use words::is_whitespace;
