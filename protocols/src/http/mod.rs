//! HTTP/1.1, sans-I/O, on [`httparse`](https://docs.rs/httparse).
//!
//! The pieces a server and a client share, none of which touches a socket
//! (design rule 3):
//!
//! - [`RequestParser`] and [`ResponseParser`] are
//!   [`Decoder`](crate::Decoder)s: they find one head at the start of the
//!   bytes received and answer [`Parsed::Complete`](crate::Parsed::Complete)
//!   (the head and how many bytes it used),
//!   [`Parsed::Incomplete`](crate::Parsed::Incomplete) or
//!   [`Parsed::Error`](crate::Parsed::Error) with an [`HttpError`], within
//!   [`Limits`] (head size, header count). They remember how far they
//!   looked for the empty line, so a head arriving a byte at a time is
//!   scanned once.
//! - [`BodyDecoder`], a [`Decoder`](crate::Decoder) too, hands a body's
//!   bytes out as they arrive ([`Body::Data`], slices of the input), whether
//!   framed by Content-Length, the chunked coding, or the connection's
//!   close ([`BodyKind`]; [`RequestHead::body_kind`],
//!   [`ResponseHead::body_kind`]).
//! - Composers: [`write_request_head`], [`write_response_head`],
//!   [`encode_chunk`] / [`LAST_CHUNK`].
//! - Helpers: [`Headers`] (checked fields: no CR/LF injection),
//!   [`reason_phrase`], [`http_date`] and [`log_date`], [`parse_form`],
//!   [`percent_decode`], [`percent_encode`].
//!
//! The web server (`torsion_servers::web`) and the client
//! (`torsion_clients::http`) are built on these; `docs/http.md` tells how.
//!
//! # Examples
//!
//! A request with a chunked body, fed a byte at a time:
//!
//! ```
//! use torsion_protocols::http::{Body, BodyDecoder, RequestParser};
//! use torsion_protocols::{Decoder, Parsed};
//!
//! let wire = b"POST /form HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\na=1\r\n0\r\n\r\n";
//! let mut parser = RequestParser::default();
//! let mut buf = Vec::new();
//! let mut bytes = wire.iter();
//! let (head, used) = loop {
//!     buf.push(*bytes.next().unwrap());
//!     if let Parsed::Complete(head, consumed) = parser.decode(&buf) {
//!         break (head, consumed);
//!     }
//! };
//! buf.drain(..used);
//! buf.extend(bytes);
//! let mut body = BodyDecoder::new(head.body_kind()?);
//! let mut payload = Vec::new();
//! loop {
//!     match body.decode(&buf) {
//!         Parsed::Complete(Body::Data(data), consumed) => {
//!             payload.extend_from_slice(data);
//!             buf.drain(..consumed);
//!         }
//!         Parsed::Complete(Body::End, _) => break,
//!         other => panic!("{other:?}"),
//!     }
//! }
//! assert_eq!(payload, b"a=1");
//! # Ok::<(), torsion_protocols::http::HttpError>(())
//! ```

mod body;
mod chunked;
mod compose;
mod date;
mod error;
mod form;
mod head;
mod headers;
mod status;

pub use body::{Body, BodyDecoder, BodyKind};
pub use chunked::{chunk_header, encode_chunk, LAST_CHUNK, MAX_CHUNK_LINE, MAX_TRAILERS};
pub use compose::{write_request_head, write_response_head};
pub use date::{http_date, log_date};
pub use error::HttpError;
pub use form::{parse_form, percent_decode, percent_encode};
pub use head::{
    Limits, RequestHead, RequestParser, ResponseHead, ResponseParser, Version, DEFAULT_MAX_HEAD,
    DEFAULT_MAX_HEADERS,
};
pub use headers::{is_field_value, is_token, Headers};
pub use status::reason_phrase;
