//! What a client sends: `get`, `set`, `delete`, and how a server reads it.

use std::fmt;

use super::framer::{LineFramer, DELIMITER};
use super::words::{after_separator, is_whitespace, skip_whitespace, split_word};
use super::{Limits, LineError, LineTooLong};
use crate::{Decoder, Parsed};

/// One request of the line protocol. Keys and values borrow from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// `get <key>`: answered `VALUE <key> <value>` or `GET_NOT_FOUND <key>`.
    Get {
        /// The key.
        key: &'a [u8],
    },
    /// `set <key> <value>`: answered `STORED`.
    Set {
        /// The key.
        key: &'a [u8],
        /// The rest of the line after the key and one whitespace byte (may
        /// hold spaces, may be empty).
        value: &'a [u8],
    },
    /// `delete <key>`: answered `DELETED <key>` or `DEL_NOT_FOUND <key>`.
    Delete {
        /// The key.
        key: &'a [u8],
    },
}

/// Why a line is not a valid request. Its `Display` is the reason a server
/// sends in `ERROR <reason>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// An empty line, or only whitespace.
    NoCommand,
    /// A first word other than `get`, `set` or `delete` (case matters, as
    /// in the seeds).
    UnknownCommand,
    /// A command without its key.
    MissingKey,
    /// `set <key>` without a value.
    MissingValue,
    /// `get` or `delete` with more than a key.
    TooManyArguments,
    /// A key longer than the bound.
    KeyTooLong {
        /// The longest key accepted.
        limit: usize,
    },
    /// A value longer than the bound.
    ValueTooLong {
        /// The longest value accepted.
        limit: usize,
    },
    /// A line longer than the bound (its bytes are skipped).
    LineTooLong {
        /// The longest line accepted, delimiter excluded.
        limit: usize,
    },
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::NoCommand => f.write_str("no command"),
            RequestError::UnknownCommand => f.write_str("unknown command"),
            RequestError::MissingKey => f.write_str("missing key"),
            RequestError::MissingValue => f.write_str("missing value"),
            RequestError::TooManyArguments => f.write_str("too many arguments"),
            RequestError::KeyTooLong { limit } => write!(f, "key longer than {limit} bytes"),
            RequestError::ValueTooLong { limit } => write!(f, "value longer than {limit} bytes"),
            RequestError::LineTooLong { limit } => write!(f, "line longer than {limit} bytes"),
        }
    }
}

impl std::error::Error for RequestError {}

impl From<LineTooLong> for RequestError {
    fn from(LineTooLong { limit }: LineTooLong) -> Self {
        RequestError::LineTooLong { limit }
    }
}

impl<'a> Request<'a> {
    /// Parses one line (without its `\r\n`).
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion_protocols::kv::{Limits, Request, RequestError};
    ///
    /// let limits = Limits::default();
    /// assert_eq!(Request::parse(b"get  k ", &limits), Ok(Request::Get { key: b"k" }));
    /// assert_eq!(
    ///     Request::parse(b"set k  two words", &limits),
    ///     Ok(Request::Set { key: b"k", value: b" two words" })
    /// );
    /// assert_eq!(Request::parse(b"set k", &limits), Err(RequestError::MissingValue));
    /// assert_eq!(Request::parse(b"GET k", &limits), Err(RequestError::UnknownCommand));
    /// ```
    pub fn parse(line: &'a [u8], limits: &Limits) -> Result<Self, RequestError> {
        let line = skip_whitespace(line);
        if line.is_empty() {
            return Err(RequestError::NoCommand);
        }
        let (command, rest) = split_word(line);
        let rest = skip_whitespace(rest);
        let (key, rest) = split_word(rest);
        let known = matches!(command, b"get" | b"set" | b"delete");
        if !known {
            return Err(RequestError::UnknownCommand);
        }
        if key.is_empty() {
            return Err(RequestError::MissingKey);
        }
        if key.len() > limits.max_key_length {
            return Err(RequestError::KeyTooLong {
                limit: limits.max_key_length,
            });
        }
        match command {
            b"set" => {
                let value = after_separator(rest).ok_or(RequestError::MissingValue)?;
                if value.len() > limits.max_value_length {
                    return Err(RequestError::ValueTooLong {
                        limit: limits.max_value_length,
                    });
                }
                Ok(Request::Set { key, value })
            }
            _ if !rest.iter().all(|&b| is_whitespace(b)) => Err(RequestError::TooManyArguments),
            b"get" => Ok(Request::Get { key }),
            _ => Ok(Request::Delete { key }),
        }
    }

    /// The key the request names.
    pub fn key(&self) -> &'a [u8] {
        match *self {
            Request::Get { key } | Request::Set { key, .. } | Request::Delete { key } => key,
        }
    }

    /// Appends the request line, `\r\n` included, to `out`. The caller
    /// checks that the key is one word and the value holds no `\n` (a
    /// client does, see `torsion-clients`).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Request::Get { key } => join(out, &[b"get ", key]),
            Request::Set { key, value } => join(out, &[b"set ", key, b" ", value]),
            Request::Delete { key } => join(out, &[b"delete ", key]),
        }
    }
}

/// Appends `parts` and the delimiter.
pub(crate) fn join(out: &mut Vec<u8>, parts: &[&[u8]]) {
    for part in parts {
        out.extend_from_slice(part);
    }
    out.extend_from_slice(DELIMITER);
}

/// Reads requests from a byte stream: lines framed by a [`LineFramer`]
/// whose bound is [`Limits::max_line_length`], each parsed with
/// [`Request::parse`]. Its errors are [`LineError`]s: each says how many
/// bytes to drop, and all but [`LineError::Skipped`] deserve an answer.
///
/// # Examples
///
/// ```
/// use torsion_protocols::kv::{LineError, Limits, Request, RequestDecoder, RequestError};
/// use torsion_protocols::{Decoder, Parsed};
///
/// let mut decoder = RequestDecoder::new(Limits::default());
/// assert_eq!(decoder.decode(b"get"), Parsed::Incomplete);
/// assert_eq!(decoder.decode(b"get k\r\n"), Parsed::Complete(Request::Get { key: b"k" }, 7));
/// assert_eq!(
///     decoder.decode(b"\r\n"),
///     Parsed::Error(LineError::Invalid { error: RequestError::NoCommand, consumed: 2 })
/// );
/// ```
#[derive(Clone, Debug)]
pub struct RequestDecoder {
    pub(super) framer: LineFramer,
    limits: Limits,
}

impl RequestDecoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestDecoder {
            framer: LineFramer::new(limits.max_line_length()),
            limits,
        }
    }

    /// The bounds in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The most input bytes `decode` leaves undecided.
    pub fn max_buffered(&self) -> usize {
        self.framer.max_buffered()
    }
}

impl Decoder for RequestDecoder {
    type Message<'a> = Request<'a>;
    type Error = LineError<RequestError>;

    /// Looks for one request at the start of `input`.
    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<Request<'a>, LineError<RequestError>> {
        let limits = &self.limits;
        self.framer
            .decode_with(input, |line| Request::parse(line, limits))
    }

    fn reset(&mut self) {
        self.framer.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[u8]) -> Result<Request<'_>, RequestError> {
        Request::parse(
            line,
            &Limits {
                max_key_length: 4,
                max_value_length: 6,
            },
        )
    }

    #[test]
    fn the_three_commands() {
        assert_eq!(parse(b"get k"), Ok(Request::Get { key: b"k" }));
        assert_eq!(parse(b"delete k"), Ok(Request::Delete { key: b"k" }));
        assert_eq!(
            parse(b"set k v"),
            Ok(Request::Set {
                key: b"k",
                value: b"v"
            })
        );
    }

    #[test]
    fn words_are_separated_by_any_python_whitespace() {
        assert_eq!(parse(b" \tget\t\tk\x0c"), Ok(Request::Get { key: b"k" }));
        assert_eq!(
            parse(b"set\tk\tv w"),
            Ok(Request::Set {
                key: b"k",
                value: b"v w"
            })
        );
    }

    #[test]
    fn the_value_is_the_rest_of_the_line() {
        assert_eq!(
            parse(b"set k a b "),
            Ok(Request::Set {
                key: b"k",
                value: b"a b "
            })
        );
        assert_eq!(
            parse(b"set k "),
            Ok(Request::Set {
                key: b"k",
                value: b""
            })
        );
        assert_eq!(
            parse(b"set k  x"),
            Ok(Request::Set {
                key: b"k",
                value: b" x"
            })
        );
    }

    #[test]
    fn malformed_lines() {
        assert_eq!(parse(b""), Err(RequestError::NoCommand));
        assert_eq!(parse(b" \t "), Err(RequestError::NoCommand));
        assert_eq!(parse(b"get"), Err(RequestError::MissingKey));
        assert_eq!(parse(b"delete   "), Err(RequestError::MissingKey));
        assert_eq!(parse(b"set"), Err(RequestError::MissingKey));
        assert_eq!(parse(b"set k"), Err(RequestError::MissingValue));
        assert_eq!(parse(b"get k extra"), Err(RequestError::TooManyArguments));
        assert_eq!(parse(b"Get k"), Err(RequestError::UnknownCommand));
        assert_eq!(parse(b"flush_all"), Err(RequestError::UnknownCommand));
        assert_eq!(parse(b"get kkkkk"), Err(RequestError::KeyTooLong { limit: 4 }));
        assert_eq!(
            parse(b"set k 1234567"),
            Err(RequestError::ValueTooLong { limit: 6 })
        );
    }

    #[test]
    fn bounds_are_inclusive() {
        assert_eq!(parse(b"get kkkk"), Ok(Request::Get { key: b"kkkk" }));
        assert_eq!(
            parse(b"set k 123456"),
            Ok(Request::Set {
                key: b"k",
                value: b"123456"
            })
        );
    }

    #[test]
    fn reasons_read_well() {
        assert_eq!(
            RequestError::LineTooLong { limit: 9 }.to_string(),
            "line longer than 9 bytes"
        );
        assert_eq!(RequestError::UnknownCommand.to_string(), "unknown command");
    }

    #[test]
    fn encoding_round_trips() {
        for request in [
            Request::Get { key: b"k" },
            Request::Set {
                key: b"k",
                value: b"a b",
            },
            Request::Delete { key: b"kk" },
        ] {
            let mut out = Vec::new();
            request.encode(&mut out);
            let line = out.strip_suffix(b"\r\n").unwrap();
            assert_eq!(parse(line), Ok(request));
        }
    }
}
