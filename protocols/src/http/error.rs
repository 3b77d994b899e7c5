//! Why bytes could not be read as HTTP/1.1.

use std::fmt;

/// The peer's bytes broke HTTP/1.1's syntax or one of our bounds.
///
/// Each variant maps to the status a server answers with
/// ([`HttpError::status`]); a client reports them as a malformed response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// The request or status line, or a header, is not valid HTTP/1.x.
    BadSyntax(String),
    /// The head (request line and headers) grew past `limit` bytes.
    HeadTooLarge {
        /// The bound, in bytes.
        limit: usize,
    },
    /// More than `limit` header fields.
    TooManyHeaders {
        /// The bound.
        limit: usize,
    },
    /// A Content-Length that is not one decimal number, or several that differ.
    BadContentLength,
    /// A Transfer-Encoding other than `chunked` (or chunked not last).
    UnsupportedTransferEncoding(String),
    /// A chunk size line or trailer that breaks the chunked encoding.
    BadChunk(String),
    /// A body longer than `limit` bytes.
    BodyTooLarge {
        /// The bound, in bytes.
        limit: u64,
    },
    /// The stream ended before the message did.
    Truncated,
    /// A header name or value that may not be sent (a control byte, a newline).
    InvalidHeader(String),
    /// The start line names a protocol version other than HTTP/1.0 and
    /// HTTP/1.1 (`HTTP/9.9`, `HTTP/2.0`), or none that parses as one.
    UnsupportedVersion,
}

impl HttpError {
    /// The status a server answers this error with: 400, 413, 431, 501 or
    /// 505.
    pub fn status(&self) -> u16 {
        match self {
            HttpError::HeadTooLarge { .. } | HttpError::TooManyHeaders { .. } => 431,
            HttpError::BodyTooLarge { .. } => 413,
            HttpError::UnsupportedTransferEncoding(_) => 501,
            HttpError::UnsupportedVersion => 505,
            _ => 400,
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::BadSyntax(what) => write!(f, "bad HTTP syntax: {what}"),
            HttpError::HeadTooLarge { limit } => write!(f, "head larger than {limit} bytes"),
            HttpError::TooManyHeaders { limit } => write!(f, "more than {limit} header fields"),
            HttpError::BadContentLength => f.write_str("invalid Content-Length"),
            HttpError::UnsupportedTransferEncoding(te) => write!(f, "unsupported Transfer-Encoding {te:?}"),
            HttpError::BadChunk(what) => write!(f, "bad chunked encoding: {what}"),
            HttpError::BodyTooLarge { limit } => write!(f, "body larger than {limit} bytes"),
            HttpError::Truncated => f.write_str("the stream ended inside a message"),
            HttpError::InvalidHeader(name) => write!(f, "invalid header {name:?}"),
            HttpError::UnsupportedVersion => {
                f.write_str("unsupported HTTP version (HTTP/1.0 and HTTP/1.1 are)")
            }
        }
    }
}

impl std::error::Error for HttpError {}
