//! What a server answers, and how a client reads it.

use std::fmt;

use super::framer::LineFramer;
use super::request::join;
use super::words::{after_separator, is_whitespace, split_word};
use super::{Limits, LineError, LineTooLong};
use crate::{Decoder, Parsed};

/// One reply of the line protocol. Keys and values borrow from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply<'a> {
    /// `VALUE <key> <value>`: the answer to a `get` that found the key.
    Value {
        /// The key, as asked.
        key: &'a [u8],
        /// The value (the rest of the line after the key and one space).
        value: &'a [u8],
    },
    /// `GET_NOT_FOUND <key>`.
    GetNotFound {
        /// The key, as asked.
        key: &'a [u8],
    },
    /// `STORED`: the answer to every valid `set`.
    Stored,
    /// `DELETED <key>`.
    Deleted {
        /// The key, as asked.
        key: &'a [u8],
    },
    /// `DEL_NOT_FOUND <key>`.
    DelNotFound {
        /// The key, as asked.
        key: &'a [u8],
    },
    /// `ERROR <reason>`: the request was malformed; the connection goes on.
    Error {
        /// Why, in words (e.g. `missing key`).
        reason: &'a [u8],
    },
}

/// A line that is no reply of the protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// The line does not start with a known reply word, or lacks its key.
    Unknown {
        /// The start of the line (at most 64 bytes), for the error message.
        start: Vec<u8>,
    },
    /// A line longer than the bound.
    LineTooLong {
        /// The longest line accepted, delimiter excluded.
        limit: usize,
    },
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Unknown { start } => {
                write!(f, "not a key-value reply: {:?}", String::from_utf8_lossy(start))
            }
            ReplyError::LineTooLong { limit } => write!(f, "reply line longer than {limit} bytes"),
        }
    }
}

impl std::error::Error for ReplyError {}

impl From<LineTooLong> for ReplyError {
    fn from(LineTooLong { limit }: LineTooLong) -> Self {
        ReplyError::LineTooLong { limit }
    }
}

impl<'a> Reply<'a> {
    /// Parses one line (without its `\r\n`).
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion_protocols::kv::Reply;
    ///
    /// assert_eq!(Reply::parse(b"VALUE k a b"), Ok(Reply::Value { key: b"k", value: b"a b" }));
    /// assert_eq!(Reply::parse(b"STORED"), Ok(Reply::Stored));
    /// assert_eq!(Reply::parse(b"ERROR missing key"), Ok(Reply::Error { reason: b"missing key" }));
    /// assert!(Reply::parse(b"END").is_err());
    /// ```
    pub fn parse(line: &'a [u8]) -> Result<Self, ReplyError> {
        let unknown = || ReplyError::Unknown {
            start: line[..line.len().min(64)].to_vec(),
        };
        let (word, rest) = split_word(line);
        match word {
            b"STORED" if rest.iter().all(|&b| is_whitespace(b)) => return Ok(Reply::Stored),
            b"ERROR" => {
                return Ok(Reply::Error {
                    reason: after_separator(rest).unwrap_or_default(),
                })
            }
            _ => {}
        }
        let (key, rest) = split_word(after_separator(rest).unwrap_or_default());
        if key.is_empty() {
            return Err(unknown());
        }
        match word {
            b"VALUE" => Ok(Reply::Value {
                key,
                value: after_separator(rest).unwrap_or_default(),
            }),
            b"GET_NOT_FOUND" => Ok(Reply::GetNotFound { key }),
            b"DELETED" => Ok(Reply::Deleted { key }),
            b"DEL_NOT_FOUND" => Ok(Reply::DelNotFound { key }),
            _ => Err(unknown()),
        }
    }

    /// Appends the reply line, `\r\n` included, to `out`.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion_protocols::kv::Reply;
    ///
    /// let mut out = Vec::new();
    /// Reply::GetNotFound { key: b"k" }.encode(&mut out);
    /// Reply::Stored.encode(&mut out);
    /// assert_eq!(out, b"GET_NOT_FOUND k\r\nSTORED\r\n");
    /// ```
    pub fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Reply::Value { key, value } => join(out, &[b"VALUE ", key, b" ", value]),
            Reply::GetNotFound { key } => join(out, &[b"GET_NOT_FOUND ", key]),
            Reply::Stored => join(out, &[b"STORED"]),
            Reply::Deleted { key } => join(out, &[b"DELETED ", key]),
            Reply::DelNotFound { key } => join(out, &[b"DEL_NOT_FOUND ", key]),
            Reply::Error { reason } => join(out, &[b"ERROR ", reason]),
        }
    }
}

/// Reads replies from a byte stream: lines of at most
/// [`Limits::max_line_length`] bytes, each parsed with [`Reply::parse`].
///
/// # Examples
///
/// ```
/// use torsion_protocols::kv::{Limits, Reply, ReplyDecoder};
/// use torsion_protocols::{Decoder, Parsed};
///
/// let mut decoder = ReplyDecoder::new(Limits::default());
/// assert_eq!(decoder.decode(b"STORED\r\nVAL"), Parsed::Complete(Reply::Stored, 8));
/// assert!(matches!(decoder.decode(b"END\r\n"), Parsed::Error(e) if e.consumed() == 5));
/// ```
#[derive(Clone, Debug)]
pub struct ReplyDecoder {
    pub(super) framer: LineFramer,
}

impl ReplyDecoder {
    /// A decoder for replies within `limits` (a client's limits must be at
    /// least the server's).
    pub fn new(limits: Limits) -> Self {
        ReplyDecoder {
            framer: LineFramer::new(limits.max_line_length()),
        }
    }

    /// The most input bytes `decode` leaves undecided.
    pub fn max_buffered(&self) -> usize {
        self.framer.max_buffered()
    }
}

impl Decoder for ReplyDecoder {
    type Message<'a> = Reply<'a>;
    type Error = LineError<ReplyError>;

    /// Looks for one reply at the start of `input`.
    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<Reply<'a>, LineError<ReplyError>> {
        self.framer.decode_with(input, Reply::parse)
    }

    fn reset(&mut self) {
        self.framer.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reply_round_trips() {
        for reply in [
            Reply::Value {
                key: b"k",
                value: b"v w",
            },
            Reply::Value {
                key: b"k",
                value: b"",
            },
            Reply::GetNotFound { key: b"k" },
            Reply::Stored,
            Reply::Deleted { key: b"k" },
            Reply::DelNotFound { key: b"k" },
            Reply::Error {
                reason: b"missing key",
            },
        ] {
            let mut out = Vec::new();
            reply.encode(&mut out);
            let line = out.strip_suffix(b"\r\n").unwrap();
            assert_eq!(Reply::parse(line), Ok(reply));
        }
    }

    #[test]
    fn a_value_keeps_its_spaces() {
        assert_eq!(
            Reply::parse(b"VALUE k  a  b "),
            Ok(Reply::Value {
                key: b"k",
                value: b" a  b "
            })
        );
        assert_eq!(
            Reply::parse(b"VALUE k"),
            Ok(Reply::Value {
                key: b"k",
                value: b""
            })
        );
    }

    #[test]
    fn unknown_lines() {
        for line in [&b""[..], b"END", b"VALUE", b"DELETED ", b"STORED k", b"stored"] {
            assert!(
                matches!(Reply::parse(line), Err(ReplyError::Unknown { .. })),
                "{line:?}"
            );
        }
        assert_eq!(Reply::parse(b"ERROR"), Ok(Reply::Error { reason: b"" }));
    }
}
