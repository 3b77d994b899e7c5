//! Why a stream could not be framed.

use std::fmt;

/// A framing rule or bound was broken, by the peer's bytes or by a payload
/// too long to send.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// A line grew past `limit` bytes without a delimiter.
    LineTooLong {
        /// The maximum line length.
        limit: usize,
    },
    /// A header announced a payload of `length` bytes, more than `limit`.
    /// (For a netstring, `length` is the value read so far when it passed
    /// the limit.)
    TooLong {
        /// The announced length.
        length: u64,
        /// The maximum payload length.
        limit: usize,
    },
    /// A netstring does not start with a decimal length and a colon
    /// (`0` or a number without leading zeros, then `:`).
    BadLength,
    /// A netstring's payload is not followed by a comma.
    MissingComma,
    /// A payload of `length` bytes cannot be sent: the header can express
    /// at most `max`.
    Unencodable {
        /// The payload's length.
        length: usize,
        /// The largest length the header can express.
        max: u64,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::LineTooLong { limit } => write!(f, "line longer than {limit} bytes"),
            FrameError::TooLong { length, limit } => {
                write!(f, "frame of {length} bytes exceeds the limit of {limit}")
            }
            FrameError::BadLength => f.write_str("netstring length is not a decimal number followed by ':'"),
            FrameError::MissingComma => f.write_str("netstring payload is not followed by ','"),
            FrameError::Unencodable { length, max } => {
                write!(f, "a payload of {length} bytes cannot be framed (at most {max})")
            }
        }
    }
}

impl std::error::Error for FrameError {}
