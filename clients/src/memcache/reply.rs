//! The reply parser: bytes from a memcached server in, whole replies out.
//!
//! It is sans-I/O (design rule 3): [`ReplyParser::parse`] looks at the
//! bytes received so far, in a [`BytesMut`], and either takes one whole
//! reply off its front or says it needs more. The caller says what it asked
//! for ([`Expect`]), because a memcached reply does not name its request:
//! `NOT_FOUND` answers a `delete`, an `incr` or a `touch` alike, and only
//! the order of requests matches replies to them.
//!
//! # What is accepted
//!
//! | request | replies |
//! | --- | --- |
//! | `set` `add` `replace` `append` `prepend` `cas` | `STORED`, `NOT_STORED`, `EXISTS`, `NOT_FOUND` |
//! | `get` `gets` `gat` `gats` | `VALUE <key> <flags> <bytes>[ <cas>]` + data, any number of times, then `END` |
//! | `delete` | `DELETED`, `NOT_FOUND` |
//! | `incr` `decr` | the new value, `NOT_FOUND` |
//! | `touch` | `TOUCHED`, `NOT_FOUND` |
//! | `flush_all` | `OK` |
//! | `stats` | `STAT <name> <value>` lines, then `END` (a lone `RESET` or `OK` for `stats reset` and the like) |
//! | `version` | `VERSION <text>` |
//! | any | `ERROR[ <text>]`, `CLIENT_ERROR <text>`, `SERVER_ERROR <text>` (also after some `VALUE`s) |
//!
//! Anything else is a [`ReplyError`]: the stream can no longer be trusted,
//! and the client drops the connection.
//!
//! # Bounds and cost
//!
//! A line may hold at most [`MAX_LINE`] bytes; a whole reply (a multi-get
//! with all its values) at most the `max_reply` given to
//! [`ReplyParser::new`], checked from the `VALUE` line, before the data is
//! buffered. A `get` may return at most one value per key asked. Parsing
//! is incremental: a multi-get arriving in many reads is scanned once, not
//! once per read, and value data is handed out as slices of the buffer
//! (`Bytes`), never copied.
//!
//! # Examples
//!
//! Feeding a reply one byte at a time gives the same reply as feeding it
//! whole:
//!
//! ```
//! use bytes::BytesMut;
//! use torsion_clients::memcache::reply::{Expect, Reply, ReplyParser};
//!
//! let wire = b"VALUE greeting 7 5\r\nhello\r\nEND\r\n";
//! let mut parser = ReplyParser::new(1 << 20);
//! let mut buf = BytesMut::new();
//! let mut replies = Vec::new();
//! for byte in wire {
//!     buf.extend_from_slice(&[*byte]);
//!     if let Some(reply) = parser.parse(&mut buf, Expect::Values { keys: 1 }).unwrap() {
//!         replies.push(reply);
//!     }
//! }
//! let [Reply::Values(values)] = &replies[..] else { panic!("{replies:?}") };
//! assert_eq!(&values[0].0[..], b"greeting");
//! assert_eq!((&values[0].1.data[..], values[0].1.flags), (&b"hello"[..], 7));
//! assert!(buf.is_empty());
//! ```

use std::fmt;
use std::ops::Range;

use bytes::{Bytes, BytesMut};

use super::error::MemcacheError;
use super::value::{Stats, Value};

/// The longest reply line accepted, without its `\r\n`. memcached's lines
/// are far shorter: a `VALUE` line with a 250-byte key is under 300 bytes.
pub const MAX_LINE: usize = 8192;

/// What a request expects back (see the module's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A storage command: `STORED`, `NOT_STORED`, `EXISTS` or `NOT_FOUND`.
    Stored,
    /// A retrieval command for `keys` keys: up to that many values, then `END`.
    Values {
        /// How many keys were asked for (duplicates included).
        keys: usize,
    },
    /// `delete`: `DELETED` or `NOT_FOUND`.
    Deleted,
    /// `incr`, `decr`: a number or `NOT_FOUND`.
    Number,
    /// `touch`: `TOUCHED` or `NOT_FOUND`.
    Touched,
    /// `flush_all`: `OK`.
    Ok,
    /// `stats`: `STAT` lines, then `END`.
    Stats,
    /// `version`: `VERSION <text>`.
    Version,
}

/// One whole reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `STORED`.
    Stored,
    /// `NOT_STORED`.
    NotStored,
    /// `EXISTS`.
    Exists,
    /// `NOT_FOUND`.
    NotFound,
    /// `DELETED`.
    Deleted,
    /// `TOUCHED`.
    Touched,
    /// `OK`.
    Ok,
    /// The value after `incr` or `decr`.
    Number(u64),
    /// The values of a retrieval, with their keys, in the server's order.
    Values(Vec<(Bytes, Value)>),
    /// The statistics.
    Stats(Stats),
    /// The text after `VERSION`.
    Version(String),
    /// `ERROR`, `CLIENT_ERROR` or `SERVER_ERROR`, as a [`MemcacheError`].
    Error(MemcacheError),
}

/// The server's bytes are not a valid reply to the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// A line longer than [`MAX_LINE`].
    LineTooLong,
    /// A line ended with `\n` alone.
    BareNewline,
    /// The reply would exceed the parser's `max_reply` bytes.
    TooLarge {
        /// The bound.
        max: usize,
    },
    /// A line that is no valid reply to the request (shown lossily).
    Unexpected(String),
    /// A `VALUE` line that does not parse.
    BadValueLine(String),
    /// A value's data block not followed by `\r\n`.
    BadDataEnd,
    /// More values than keys asked for.
    TooManyValues,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::LineTooLong => write!(f, "a reply line longer than {MAX_LINE} bytes"),
            ReplyError::BareNewline => f.write_str("a reply line ended without \\r"),
            ReplyError::TooLarge { max } => write!(f, "a reply larger than {max} bytes"),
            ReplyError::Unexpected(line) => write!(f, "unexpected reply {line:?}"),
            ReplyError::BadValueLine(line) => write!(f, "bad VALUE line {line:?}"),
            ReplyError::BadDataEnd => f.write_str("a value's data is not followed by \\r\\n"),
            ReplyError::TooManyValues => f.write_str("more values than keys asked for"),
        }
    }
}

impl std::error::Error for ReplyError {}

impl From<ReplyError> for MemcacheError {
    fn from(e: ReplyError) -> Self {
        MemcacheError::Protocol(e.to_string())
    }
}

/// Where a value of the current reply lies in the buffer.
#[derive(Clone, Debug)]
struct ValueAt {
    key: Range<usize>,
    data: Range<usize>,
    flags: u32,
    cas: Option<u64>,
}

/// Parses replies incrementally; see the module docs.
///
/// One parser serves one connection: it remembers how far into the current
/// reply it got, so the buffer must keep the reply's bytes from its start
/// (append to it; never drop bytes from its front yourself).
#[derive(Debug)]
pub struct ReplyParser {
    max_reply: usize,
    /// Bytes at the front of the buffer already parsed (whole values or
    /// stats lines of the current reply).
    done: usize,
    /// Bytes after `done` already searched for a `\n`, in vain.
    searched: usize,
    values: Vec<ValueAt>,
    stats: Vec<(String, String)>,
}

impl ReplyParser {
    /// A parser that refuses replies longer than `max_reply` bytes.
    pub fn new(max_reply: usize) -> Self {
        ReplyParser {
            max_reply,
            done: 0,
            searched: 0,
            values: Vec::new(),
            stats: Vec::new(),
        }
    }

    /// Takes the reply to a request that expects `expect` off the front of
    /// `buf`, if it is all there (`Ok(None)`: wait for more bytes).
    ///
    /// After an error the parser and the stream are unusable: drop the
    /// connection.
    pub fn parse(&mut self, buf: &mut BytesMut, expect: Expect) -> Result<Option<Reply>, ReplyError> {
        loop {
            let start = self.done;
            let from = start + self.searched;
            let Some(newline) = memchr::memchr(b'\n', &buf[from..]).map(|i| from + i) else {
                let unfinished = buf.len() - start;
                if unfinished > MAX_LINE + 1 {
                    return Err(ReplyError::LineTooLong);
                }
                self.searched = unfinished;
                return Ok(None);
            };
            self.searched = 0;
            if newline == start || buf[newline - 1] != b'\r' {
                return Err(ReplyError::BareNewline);
            }
            let end = newline - 1;
            if end - start > MAX_LINE {
                return Err(ReplyError::LineTooLong);
            }
            let next = newline + 1;
            let line = &buf[start..end];
            if let Some(error) = error_line(line) {
                return Ok(Some(self.finish(buf, next, Reply::Error(error))));
            }
            match expect {
                Expect::Values { keys } => {
                    if line == b"END" {
                        return Ok(Some(self.finish(buf, next, Reply::Values(Vec::new()))));
                    }
                    let Some(header) = line.strip_prefix(b"VALUE ") else {
                        return Err(unexpected(line));
                    };
                    let (key, flags, bytes, cas) =
                        value_header(header).ok_or_else(|| ReplyError::BadValueLine(lossy(line)))?;
                    if self.values.len() >= keys {
                        return Err(ReplyError::TooManyValues);
                    }
                    let data_end = usize::try_from(bytes)
                        .ok()
                        .and_then(|n| next.checked_add(n))
                        .filter(|&e| e.saturating_add(2) <= self.max_reply)
                        .ok_or(ReplyError::TooLarge { max: self.max_reply })?;
                    if buf.len() < data_end + 2 {
                        return Ok(None);
                    }
                    if &buf[data_end..data_end + 2] != b"\r\n" {
                        return Err(ReplyError::BadDataEnd);
                    }
                    let key = start + 6 + key.start..start + 6 + key.end;
                    self.values.push(ValueAt {
                        key,
                        data: next..data_end,
                        flags,
                        cas,
                    });
                    self.done = data_end + 2;
                }
                Expect::Stats => {
                    if line == b"END" {
                        return Ok(Some(self.finish(buf, next, Reply::Stats(Stats::default()))));
                    }
                    if self.stats.is_empty() && (line == b"RESET" || line == b"OK") {
                        return Ok(Some(self.finish(buf, next, Reply::Stats(Stats::default()))));
                    }
                    let text = line.strip_prefix(b"STAT ").unwrap_or(line);
                    let (name, value) = match memchr::memchr(b' ', text) {
                        Some(i) => (&text[..i], &text[i + 1..]),
                        None => (text, &b""[..]),
                    };
                    if name.is_empty() {
                        return Err(unexpected(line));
                    }
                    self.stats.push((lossy(name), lossy(value)));
                    self.done = next;
                    if self.done > self.max_reply {
                        return Err(ReplyError::TooLarge { max: self.max_reply });
                    }
                }
                _ => {
                    let reply = one_line(line, expect).ok_or_else(|| unexpected(line))?;
                    return Ok(Some(self.finish(buf, next, reply)));
                }
            }
        }
    }

    /// Takes the reply's `len` bytes off `buf` and builds the reply: the
    /// values and stats gathered so far go into `reply` if it is a list.
    fn finish(&mut self, buf: &mut BytesMut, len: usize, reply: Reply) -> Reply {
        let frame = buf.split_to(len).freeze();
        self.done = 0;
        self.searched = 0;
        let values = std::mem::take(&mut self.values);
        let stats = std::mem::take(&mut self.stats);
        match reply {
            Reply::Values(_) => Reply::Values(
                values
                    .into_iter()
                    .map(|v| {
                        let value = Value {
                            data: frame.slice(v.data),
                            flags: v.flags,
                            cas: v.cas,
                        };
                        (frame.slice(v.key), value)
                    })
                    .collect(),
            ),
            Reply::Stats(_) => Reply::Stats(Stats(stats)),
            other => other,
        }
    }
}

/// `ERROR`, `CLIENT_ERROR ...`, `SERVER_ERROR ...` as an error.
fn error_line(line: &[u8]) -> Option<MemcacheError> {
    let (word, text) = match memchr::memchr(b' ', line) {
        Some(i) => (&line[..i], lossy(&line[i + 1..])),
        None => (line, String::new()),
    };
    match word {
        b"ERROR" => Some(MemcacheError::Error(text)),
        b"CLIENT_ERROR" => Some(MemcacheError::ClientError(text)),
        b"SERVER_ERROR" => Some(MemcacheError::ServerError(text)),
        _ => None,
    }
}

/// The one-line replies.
fn one_line(line: &[u8], expect: Expect) -> Option<Reply> {
    let reply = match (expect, line) {
        (Expect::Stored, b"STORED") => Reply::Stored,
        (Expect::Stored, b"NOT_STORED") => Reply::NotStored,
        (Expect::Stored, b"EXISTS") => Reply::Exists,
        (Expect::Stored | Expect::Deleted | Expect::Number | Expect::Touched, b"NOT_FOUND") => {
            Reply::NotFound
        }
        (Expect::Deleted, b"DELETED") => Reply::Deleted,
        (Expect::Touched, b"TOUCHED") => Reply::Touched,
        (Expect::Ok, b"OK") => Reply::Ok,
        (Expect::Number, digits) => Reply::Number(number(trim_spaces(digits))?),
        (Expect::Version, line) => Reply::Version(lossy(line.strip_prefix(b"VERSION ")?)),
        _ => return None,
    };
    Some(reply)
}

/// `<key> <flags> <bytes>[ <cas>]`, the key as a range of `header`.
fn value_header(header: &[u8]) -> Option<(Range<usize>, u32, u64, Option<u64>)> {
    let mut words = header.split(|&b| b == b' ');
    let key = words.next().filter(|k| !k.is_empty())?;
    let flags = u32::try_from(number(words.next()?)?).ok()?;
    let bytes = number(words.next()?)?;
    let cas = match words.next() {
        Some(word) => Some(number(word)?),
        None => None,
    };
    if words.next().is_some() {
        return None;
    }
    Some((0..key.len(), flags, bytes, cas))
}

/// A decimal number: digits only, no sign, no overflow.
fn number(word: &[u8]) -> Option<u64> {
    if word.is_empty() || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    word.iter()
        .try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
}

fn trim_spaces(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' '] = s {
        s = rest;
    }
    s
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn unexpected(line: &[u8]) -> ReplyError {
    let shown = &line[..line.len().min(120)];
    ReplyError::Unexpected(lossy(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `wire` as replies to `expects`, in chunks of `chunk` bytes;
    /// returns the replies and how many bytes were left.
    fn parse_in_chunks(
        wire: &[u8],
        expects: &[Expect],
        chunk: usize,
    ) -> Result<(Vec<Reply>, usize), ReplyError> {
        let mut parser = ReplyParser::new(1 << 20);
        let mut buf = BytesMut::new();
        let mut replies = Vec::new();
        let mut expects = expects.iter();
        let mut expect = expects.next().copied();
        for piece in wire.chunks(chunk.max(1)) {
            buf.extend_from_slice(piece);
            while let Some(e) = expect {
                match parser.parse(&mut buf, e)? {
                    Some(reply) => {
                        replies.push(reply);
                        expect = expects.next().copied();
                    }
                    None => break,
                }
            }
        }
        Ok((replies, buf.len()))
    }

    /// The replies whole, byte by byte, and in a few chunk sizes must agree.
    fn parse_all(wire: &[u8], expects: &[Expect]) -> Vec<Reply> {
        let (whole, left) = parse_in_chunks(wire, expects, wire.len()).expect("valid");
        assert_eq!(left, 0, "bytes left over");
        for chunk in [1, 2, 3, 7, 64] {
            let (pieces, left) = parse_in_chunks(wire, expects, chunk).expect("valid in chunks");
            assert_eq!(pieces, whole, "chunk size {chunk}");
            assert_eq!(left, 0);
        }
        whole
    }

    fn parse_error(wire: &[u8], expect: Expect) -> ReplyError {
        let whole = parse_in_chunks(wire, &[expect], wire.len()).expect_err("invalid");
        let bytewise = parse_in_chunks(wire, &[expect], 1).expect_err("invalid bytewise");
        assert_eq!(whole, bytewise);
        whole
    }

    fn value(data: &[u8], flags: u32, cas: Option<u64>) -> Value {
        Value {
            data: Bytes::copy_from_slice(data),
            flags,
            cas,
        }
    }

    #[test]
    fn one_line_replies() {
        let wire = b"STORED\r\nNOT_STORED\r\nEXISTS\r\nNOT_FOUND\r\nDELETED\r\nNOT_FOUND\r\n\
                     TOUCHED\r\n42\r\n18446744073709551615\r\nNOT_FOUND\r\nOK\r\nVERSION 1.6.18\r\n";
        let expects = [
            Expect::Stored,
            Expect::Stored,
            Expect::Stored,
            Expect::Stored,
            Expect::Deleted,
            Expect::Deleted,
            Expect::Touched,
            Expect::Number,
            Expect::Number,
            Expect::Number,
            Expect::Ok,
            Expect::Version,
        ];
        assert_eq!(
            parse_all(wire, &expects),
            vec![
                Reply::Stored,
                Reply::NotStored,
                Reply::Exists,
                Reply::NotFound,
                Reply::Deleted,
                Reply::NotFound,
                Reply::Touched,
                Reply::Number(42),
                Reply::Number(u64::MAX),
                Reply::NotFound,
                Reply::Ok,
                Reply::Version("1.6.18".into()),
            ]
        );
    }

    #[test]
    fn values_with_and_without_cas_and_data_holding_crlf() {
        let wire = b"VALUE a 0 3\r\nabc\r\nVALUE b 4294967295 4 99\r\n\r\n\r\n\r\nEND\r\nEND\r\n";
        let replies = parse_all(wire, &[Expect::Values { keys: 2 }, Expect::Values { keys: 1 }]);
        assert_eq!(
            replies,
            vec![
                Reply::Values(vec![
                    (Bytes::from_static(b"a"), value(b"abc", 0, None)),
                    (Bytes::from_static(b"b"), value(b"\r\n\r\n", u32::MAX, Some(99))),
                ]),
                Reply::Values(vec![]),
            ]
        );
    }

    #[test]
    fn an_empty_value() {
        let replies = parse_all(b"VALUE k 1 0\r\n\r\nEND\r\n", &[Expect::Values { keys: 1 }]);
        assert_eq!(
            replies,
            vec![Reply::Values(vec![(
                Bytes::from_static(b"k"),
                value(b"", 1, None)
            )])]
        );
    }

    #[test]
    fn errors_answer_any_request_even_mid_multiget() {
        let wire = b"ERROR\r\nERROR Too many open connections\r\nCLIENT_ERROR bad data chunk\r\n\
                     SERVER_ERROR out of memory storing object\r\nVALUE a 0 1\r\nx\r\nSERVER_ERROR out of memory writing get response\r\n";
        let replies = parse_all(
            wire,
            &[
                Expect::Stored,
                Expect::Ok,
                Expect::Stored,
                Expect::Stored,
                Expect::Values { keys: 2 },
            ],
        );
        assert_eq!(
            replies,
            vec![
                Reply::Error(MemcacheError::Error(String::new())),
                Reply::Error(MemcacheError::Error("Too many open connections".into())),
                Reply::Error(MemcacheError::ClientError("bad data chunk".into())),
                Reply::Error(MemcacheError::ServerError("out of memory storing object".into())),
                Reply::Error(MemcacheError::ServerError(
                    "out of memory writing get response".into()
                )),
            ]
        );
    }

    #[test]
    fn stats_lines_until_end() {
        let wire =
            b"STAT pid 42\r\nSTAT version 1.6.18\r\nSTAT libevent 2.1.12-stable\r\nSTAT empty\r\nEND\r\n\
                     RESET\r\nITEM k [5 b; 0 s]\r\nEND\r\n";
        let replies = parse_all(wire, &[Expect::Stats, Expect::Stats, Expect::Stats]);
        let pairs = |v: &[(&str, &str)]| {
            Reply::Stats(Stats(
                v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
            ))
        };
        assert_eq!(
            replies,
            vec![
                pairs(&[
                    ("pid", "42"),
                    ("version", "1.6.18"),
                    ("libevent", "2.1.12-stable"),
                    ("empty", "")
                ]),
                pairs(&[]),
                pairs(&[("ITEM", "k [5 b; 0 s]")]),
            ]
        );
    }

    #[test]
    fn nothing_is_taken_until_a_reply_is_whole() {
        let mut parser = ReplyParser::new(1 << 20);
        let mut buf = BytesMut::from(&b"VALUE a 0 5\r\nhel"[..]);
        assert_eq!(parser.parse(&mut buf, Expect::Values { keys: 1 }), Ok(None));
        buf.extend_from_slice(b"lo\r\nEN");
        assert_eq!(parser.parse(&mut buf, Expect::Values { keys: 1 }), Ok(None));
        assert_eq!(buf.len(), 22, "the buffer keeps the whole reply until END");
        buf.extend_from_slice(b"D\r\nSTORED\r\n");
        assert!(matches!(
            parser.parse(&mut buf, Expect::Values { keys: 1 }),
            Ok(Some(Reply::Values(_)))
        ));
        assert_eq!(&buf[..], b"STORED\r\n", "the next reply stays");
        assert_eq!(parser.parse(&mut buf, Expect::Stored), Ok(Some(Reply::Stored)));
        assert!(buf.is_empty());
    }

    #[test]
    fn malformed_replies_are_errors() {
        let values = Expect::Values { keys: 1 };
        assert_eq!(parse_error(b"STORED\n", Expect::Stored), ReplyError::BareNewline);
        assert_eq!(parse_error(b"\n", Expect::Stored), ReplyError::BareNewline);
        assert!(matches!(
            parse_error(b"DELETED\r\n", Expect::Stored),
            ReplyError::Unexpected(_)
        ));
        assert!(matches!(
            parse_error(b"STORED\r\n", Expect::Deleted),
            ReplyError::Unexpected(_)
        ));
        assert!(matches!(
            parse_error(b"-1\r\n", Expect::Number),
            ReplyError::Unexpected(_)
        ));
        assert!(matches!(
            parse_error(b"18446744073709551616\r\n", Expect::Number),
            ReplyError::Unexpected(_)
        ));
        assert!(matches!(
            parse_error(b"STORED\r\n", values),
            ReplyError::Unexpected(_)
        ));
        for bad in [
            &b"VALUE a 0\r\n"[..],
            b"VALUE  0 1\r\n",
            b"VALUE a x 1\r\n",
            b"VALUE a 0 1 2 3\r\n",
            b"VALUE a 4294967296 1\r\n",
            b"VALUE a 0 -1\r\n",
            b"VALUE a 0 1 \r\n",
        ] {
            assert!(
                matches!(parse_error(bad, values), ReplyError::BadValueLine(_)),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(parse_error(b"VALUE a 0 1\r\nxyz", values), ReplyError::BadDataEnd);
        assert_eq!(
            parse_error(b"VALUE a 0 1\r\nx\r\nVALUE b 0 1\r\n", values),
            ReplyError::TooManyValues
        );
        assert!(matches!(
            parse_error(b"VERSION\r\n", Expect::Version),
            ReplyError::Unexpected(_)
        ));
    }

    #[test]
    fn bounds_hold_before_anything_is_buffered() {
        let values = Expect::Values { keys: 1 };
        // A value too large is refused from its VALUE line alone.
        let mut parser = ReplyParser::new(100);
        let mut buf = BytesMut::from(&b"VALUE a 0 200\r\n"[..]);
        assert_eq!(
            parser.parse(&mut buf, values),
            Err(ReplyError::TooLarge { max: 100 })
        );
        let mut parser = ReplyParser::new(100);
        let mut buf = BytesMut::from(&b"VALUE a 0 99999999999999999999\r\n"[..]);
        assert!(parser.parse(&mut buf, values).is_err());
        // A line with no end is refused once it passes MAX_LINE.
        let mut parser = ReplyParser::new(1 << 20);
        let mut buf = BytesMut::new();
        let mut result = Ok(None);
        for _ in 0..=MAX_LINE + 1 {
            buf.extend_from_slice(b"x");
            result = parser.parse(&mut buf, Expect::Stored);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(ReplyError::LineTooLong));
        assert_eq!(buf.len(), MAX_LINE + 2);
        // Stats lines cannot add up past the bound either.
        let mut parser = ReplyParser::new(64);
        let mut buf = BytesMut::new();
        let mut result = Ok(None);
        for _ in 0..10 {
            buf.extend_from_slice(b"STAT some_name some_value\r\n");
            result = parser.parse(&mut buf, Expect::Stats);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(ReplyError::TooLarge { max: 64 }));
    }

    #[test]
    fn a_long_multiget_arriving_in_small_reads_is_scanned_once() {
        // 2,000 values in 7-byte reads: the parser must resume where it
        // stopped, so the work is linear (this would take seconds otherwise).
        let mut wire = Vec::new();
        for i in 0..2000 {
            wire.extend_from_slice(format!("VALUE key{i} 0 10\r\n0123456789\r\n").as_bytes());
        }
        wire.extend_from_slice(b"END\r\n");
        let (replies, left) = parse_in_chunks(&wire, &[Expect::Values { keys: 2000 }], 7).unwrap();
        assert_eq!(left, 0);
        let [Reply::Values(values)] = &replies[..] else {
            panic!("one reply")
        };
        assert_eq!(values.len(), 2000);
        assert_eq!(&values[1999].0[..], b"key1999");
    }
}
