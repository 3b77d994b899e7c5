//! Whole replies of the text protocol, as a client reads them: a
//! [`ResponseDecoder`] takes bytes from a server and hands out one
//! [`Response`] at a time; [`Response::write`] composes one with the server's
//! own composers, so the two are tested against each other.
//!
//! A memcached reply does not name its request: `NOT_FOUND` answers a
//! `delete`, an `incr` or a `touch` alike, and only the order of requests
//! matches replies to them. So the decoder is told what the request it
//! answers expects ([`ResponseDecoder::expect`]).
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
//! Anything else is a [`ResponseError`]: the stream can no longer be
//! trusted, and a client drops the connection.
//!
//! # Bounds and cost
//!
//! A line may hold at most [`MAX_LINE`] bytes; a whole reply (a multi-get
//! with all its values) at most the `max_reply` given to
//! [`ResponseDecoder::new`], checked from the `VALUE` line, before the data
//! is buffered. A `get` may return at most one value per key asked. Decoding
//! is incremental: a multi-get arriving in many reads is scanned once, not
//! once per read, and values are handed out as slices of the input (or, with
//! [`Values::spans`], as positions in it), never copied.
//!
//! # Examples
//!
//! Feeding a reply one byte at a time gives the same reply as feeding it
//! whole:
//!
//! ```
//! use torsion_protocols::memcache::text::{Expect, Response, ResponseDecoder};
//! use torsion_protocols::{Decoder, Parsed};
//!
//! let wire = b"VALUE greeting 7 5\r\nhello\r\nEND\r\n";
//! let mut decoder = ResponseDecoder::new(1 << 20);
//! decoder.expect(Expect::Values { keys: 1 });
//! for n in 0..wire.len() {
//!     assert_eq!(decoder.decode(&wire[..n]), Parsed::Incomplete);
//! }
//! let Parsed::Complete(Response::Values(values), used) = decoder.decode(wire) else { panic!() };
//! assert_eq!(used, wire.len());
//! let value = values.iter().next().unwrap();
//! assert_eq!((value.key, value.flags, value.data), (&b"greeting"[..], 7, &b"hello"[..]));
//! ```

use std::fmt;
use std::ops::Range;

use super::arith::write_number;
use super::get::ValueLine;
use super::stats::stat_line;
use super::Reply;
use crate::memcache::number::parse_plain_u64;
use crate::{Decoder, Parsed};

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

/// One whole reply; values, statistics and texts borrow from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response<'a> {
    /// One of the fixed lines that answer a command: [`Reply::Stored`],
    /// [`Reply::NotStored`], [`Reply::Exists`], [`Reply::NotFound`],
    /// [`Reply::Deleted`], [`Reply::Touched`] or [`Reply::Ok`] (the error
    /// lines are [`Response::Error`], [`Response::ClientError`] and
    /// [`Response::ServerError`], with their texts).
    Line(Reply),
    /// The value after `incr` or `decr`.
    Number(u64),
    /// The values of a retrieval, in the server's order.
    Values(Values<'a>),
    /// The statistics.
    Stats(Stats<'a>),
    /// The text after `VERSION `.
    Version(&'a [u8]),
    /// `ERROR`, and the text after it, if any.
    Error(&'a [u8]),
    /// `CLIENT_ERROR` and its text.
    ClientError(&'a [u8]),
    /// `SERVER_ERROR` and its text.
    ServerError(&'a [u8]),
}

/// The `VALUE` blocks of a retrieval's reply, checked, read on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Values<'a> {
    /// The blocks, from the start of the reply up to its `END`.
    blocks: &'a [u8],
    count: usize,
}

/// One value of a retrieval's reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value<'a> {
    /// The key.
    pub key: &'a [u8],
    /// The client flags stored with it.
    pub flags: u32,
    /// The data.
    pub data: &'a [u8],
    /// The CAS unique (`gets`, `gats`); `None` for `get` and `gat`.
    pub cas: Option<u64>,
}

/// Where one value lies in the reply (offsets from the reply's first byte).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueSpan {
    /// The key's bytes.
    pub key: Range<usize>,
    /// The data's bytes.
    pub data: Range<usize>,
    /// The client flags.
    pub flags: u32,
    /// The CAS unique, if sent.
    pub cas: Option<u64>,
}

impl<'a> Values<'a> {
    /// How many values there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none (every key missed).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Where each value lies, in order: for a client that keeps the reply's
    /// bytes and hands out parts of them without copying.
    pub fn spans(&self) -> impl Iterator<Item = ValueSpan> + 'a {
        let blocks = self.blocks;
        let mut at = 0;
        std::iter::from_fn(move || {
            let rest = blocks.get(at..).filter(|r| !r.is_empty())?;
            // The decoder checked every block: a line, the data and `\r\n`.
            let newline = memchr::memchr(b'\n', rest)?;
            let line = ValueLine::parse(rest.get(6..newline - 1)?)?;
            let key = at + 6..at + 6 + line.key.len();
            let data = at + newline + 1..at + newline + 1 + line.bytes as usize;
            at = data.end + 2;
            Some(ValueSpan {
                key,
                data,
                flags: line.flags,
                cas: line.cas,
            })
        })
    }

    /// The values, in order.
    pub fn iter(&self) -> impl Iterator<Item = Value<'a>> + 'a {
        let blocks = self.blocks;
        self.spans().map(move |span| Value {
            key: &blocks[span.key],
            flags: span.flags,
            data: &blocks[span.data],
            cas: span.cas,
        })
    }
}

/// The `STAT` lines of a `stats` reply, read on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats<'a> {
    /// The lines, each ended by `\r\n`, up to the `END`.
    lines: &'a [u8],
}

impl<'a> Stats<'a> {
    /// The `(name, value)` pairs, in the server's order. Lines of other
    /// shapes (`stats cachedump` answers `ITEM ...` lines) are split at
    /// their first space too.
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        self.lines
            .split(|&b| b == b'\n')
            .filter_map(|line| stat_line(line.strip_suffix(b"\r")?))
    }
}

/// The server's bytes are not a valid reply to the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseError {
    /// A line longer than [`MAX_LINE`].
    LineTooLong,
    /// A line ended with `\n` alone.
    BareNewline,
    /// The reply would exceed the decoder's `max_reply` bytes.
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

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::LineTooLong => write!(f, "a reply line longer than {MAX_LINE} bytes"),
            ResponseError::BareNewline => f.write_str("a reply line ended without \\r"),
            ResponseError::TooLarge { max } => write!(f, "a reply larger than {max} bytes"),
            ResponseError::Unexpected(line) => write!(f, "unexpected reply {line:?}"),
            ResponseError::BadValueLine(line) => write!(f, "bad VALUE line {line:?}"),
            ResponseError::BadDataEnd => f.write_str("a value's data is not followed by \\r\\n"),
            ResponseError::TooManyValues => f.write_str("more values than keys asked for"),
        }
    }
}

impl std::error::Error for ResponseError {}

/// Decodes replies incrementally; see the module docs.
///
/// One decoder serves one connection: it remembers how far into the current
/// reply it got, so each call must get the reply's bytes from its start
/// (the [`Decoder`] contract). After an error the decoder and the stream are
/// unusable: drop the connection.
#[derive(Debug, Clone)]
pub struct ResponseDecoder {
    max_reply: usize,
    expect: Expect,
    /// Bytes at the front of the input already checked: whole values or
    /// statistics lines of the current reply.
    done: usize,
    /// Bytes after `done` already searched for a `\n`, in vain.
    searched: usize,
    /// Values or statistics lines in `done`.
    items: usize,
}

impl ResponseDecoder {
    /// A decoder that refuses replies longer than `max_reply` bytes,
    /// expecting a storage command's reply until told otherwise.
    pub fn new(max_reply: usize) -> Self {
        ResponseDecoder {
            max_reply,
            expect: Expect::Stored,
            done: 0,
            searched: 0,
            items: 0,
        }
    }

    /// Says what the request the next reply answers expects. Call it before
    /// each reply; it must not change while a reply is half decoded.
    pub fn expect(&mut self, expect: Expect) {
        self.expect = expect;
    }

    fn finish<'a>(&mut self, response: Response<'a>, consumed: usize) -> Parsed<Response<'a>, ResponseError> {
        self.done = 0;
        self.searched = 0;
        self.items = 0;
        Parsed::Complete(response, consumed)
    }
}

impl Decoder for ResponseDecoder {
    type Message<'a> = Response<'a>;
    type Error = ResponseError;

    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<Response<'a>, ResponseError> {
        loop {
            let start = self.done;
            let from = (start + self.searched).min(input.len());
            let Some(newline) = memchr::memchr(b'\n', &input[from..]).map(|i| from + i) else {
                let unfinished = input.len().saturating_sub(start);
                if unfinished > MAX_LINE + 1 {
                    return Parsed::Error(ResponseError::LineTooLong);
                }
                self.searched = unfinished;
                return Parsed::Incomplete;
            };
            self.searched = 0;
            if newline == start || input[newline - 1] != b'\r' {
                return Parsed::Error(ResponseError::BareNewline);
            }
            let end = newline - 1;
            if end - start > MAX_LINE {
                return Parsed::Error(ResponseError::LineTooLong);
            }
            let next = newline + 1;
            let line = &input[start..end];
            if let Some(error) = error_line(line) {
                return self.finish(error, next);
            }
            match self.expect {
                Expect::Values { keys } => {
                    if line == b"END" {
                        let values = Values {
                            blocks: &input[..start],
                            count: self.items,
                        };
                        return self.finish(Response::Values(values), next);
                    }
                    let Some(header) = line.strip_prefix(b"VALUE ") else {
                        return Parsed::Error(unexpected(line));
                    };
                    let Some(value) = ValueLine::parse(header) else {
                        return Parsed::Error(ResponseError::BadValueLine(lossy(line)));
                    };
                    if self.items >= keys {
                        return Parsed::Error(ResponseError::TooManyValues);
                    }
                    let Some(data_end) = usize::try_from(value.bytes)
                        .ok()
                        .and_then(|n| next.checked_add(n))
                        .filter(|&e| e.saturating_add(2) <= self.max_reply)
                    else {
                        return Parsed::Error(ResponseError::TooLarge { max: self.max_reply });
                    };
                    if input.len() < data_end + 2 {
                        return Parsed::Incomplete;
                    }
                    if &input[data_end..data_end + 2] != b"\r\n" {
                        return Parsed::Error(ResponseError::BadDataEnd);
                    }
                    self.items += 1;
                    self.done = data_end + 2;
                }
                Expect::Stats => {
                    if line == b"END" || (self.items == 0 && (line == b"RESET" || line == b"OK")) {
                        let stats = Stats {
                            lines: &input[..start],
                        };
                        return self.finish(Response::Stats(stats), next);
                    }
                    if stat_line(line).is_none() {
                        return Parsed::Error(unexpected(line));
                    }
                    self.items += 1;
                    self.done = next;
                    if self.done > self.max_reply {
                        return Parsed::Error(ResponseError::TooLarge { max: self.max_reply });
                    }
                }
                expect => {
                    return match one_line(line, expect) {
                        Some(response) => self.finish(response, next),
                        None => Parsed::Error(unexpected(line)),
                    };
                }
            }
        }
    }

    fn reset(&mut self) {
        self.done = 0;
        self.searched = 0;
        self.items = 0;
    }
}

/// `ERROR`, `CLIENT_ERROR ...`, `SERVER_ERROR ...`.
fn error_line(line: &[u8]) -> Option<Response<'_>> {
    let (word, text) = split_word(line);
    match word {
        b"ERROR" => Some(Response::Error(text)),
        b"CLIENT_ERROR" => Some(Response::ClientError(text)),
        b"SERVER_ERROR" => Some(Response::ServerError(text)),
        _ => None,
    }
}

/// A reply line's first word and the text after its space (shared with
/// the meta replies).
pub(in crate::memcache) fn split_word(line: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b' ', line) {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &b""[..]),
    }
}

/// Appends a line of a word and, if any, a space and a text (shared with
/// the meta replies): the way `split_word` reads it back.
pub(in crate::memcache) fn write_word(out: &mut Vec<u8>, word: &[u8], text: &[u8]) {
    out.extend_from_slice(word);
    if !text.is_empty() {
        out.push(b' ');
        out.extend_from_slice(text);
    }
    out.extend_from_slice(b"\r\n");
}

/// The one-line replies.
fn one_line(line: &[u8], expect: Expect) -> Option<Response<'_>> {
    let response = match (expect, line) {
        (Expect::Stored, b"STORED") => Response::Line(Reply::Stored),
        (Expect::Stored, b"NOT_STORED") => Response::Line(Reply::NotStored),
        (Expect::Stored, b"EXISTS") => Response::Line(Reply::Exists),
        (Expect::Stored | Expect::Deleted | Expect::Number | Expect::Touched, b"NOT_FOUND") => {
            Response::Line(Reply::NotFound)
        }
        (Expect::Deleted, b"DELETED") => Response::Line(Reply::Deleted),
        (Expect::Touched, b"TOUCHED") => Response::Line(Reply::Touched),
        (Expect::Ok, b"OK") => Response::Line(Reply::Ok),
        (Expect::Number, digits) => Response::Number(parse_plain_u64(trim_spaces(digits))?),
        (Expect::Version, line) => Response::Version(line.strip_prefix(b"VERSION ")?),
        _ => return None,
    };
    Some(response)
}

/// memcached pads an `incr` result written over a longer value with spaces.
fn trim_spaces(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' '] = s {
        s = rest;
    }
    s
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn unexpected(line: &[u8]) -> ResponseError {
    ResponseError::Unexpected(lossy(&line[..line.len().min(120)]))
}

impl Response<'_> {
    /// Appends the reply, written as the server writes it.
    pub fn write(&self, out: &mut Vec<u8>) {
        match *self {
            Response::Line(reply) => reply.write(out),
            Response::Number(n) => write_number(out, n),
            Response::Values(values) => {
                out.extend_from_slice(values.blocks);
                Reply::End.write(out);
            }
            Response::Stats(stats) => {
                out.extend_from_slice(stats.lines);
                Reply::End.write(out);
            }
            Response::Version(text) => {
                out.extend_from_slice(b"VERSION ");
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            Response::Error(text) => write_word(out, b"ERROR", text),
            Response::ClientError(text) => write_word(out, b"CLIENT_ERROR", text),
            Response::ServerError(text) => write_word(out, b"SERVER_ERROR", text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{write_stat, write_value, write_version};
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// A value, owned: key, flags, data, CAS.
    type OwnedValue = (Vec<u8>, u32, Vec<u8>, Option<u64>);

    /// A reply, owned, to compare with what a decoder hands out.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Owned {
        Word(&'static str),
        Number(u64),
        Values(Vec<OwnedValue>),
        Stats(Vec<(Vec<u8>, Vec<u8>)>),
        Version(Vec<u8>),
        Error(&'static str, Vec<u8>),
    }

    fn owned(r: &Response<'_>) -> Owned {
        match *r {
            Response::Line(reply) => {
                let word = std::str::from_utf8(reply.bytes()).unwrap();
                Owned::Word(word.strip_suffix("\r\n").unwrap())
            }
            Response::Number(n) => Owned::Number(n),
            Response::Values(values) => Owned::Values(
                values
                    .iter()
                    .map(|v| (v.key.to_vec(), v.flags, v.data.to_vec(), v.cas))
                    .collect(),
            ),
            Response::Stats(stats) => {
                Owned::Stats(stats.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect())
            }
            Response::Version(v) => Owned::Version(v.to_vec()),
            Response::Error(t) => Owned::Error("ERROR", t.to_vec()),
            Response::ClientError(t) => Owned::Error("CLIENT_ERROR", t.to_vec()),
            Response::ServerError(t) => Owned::Error("SERVER_ERROR", t.to_vec()),
        }
    }

    /// Everything decoding gave: the replies, then the error or the bytes left.
    #[derive(Debug, PartialEq)]
    struct Outcome {
        replies: Vec<Owned>,
        error: Option<ResponseError>,
        left: usize,
    }

    /// Feeds `wire` in reads of `sizes` (cycled; empty: all at once) to a
    /// decoder answering `expects` in turn, the way a client's connection
    /// does; checks after every read that no more is held than the bounds allow.
    fn decode(wire: &[u8], expects: &[Expect], sizes: &[usize], max_reply: usize) -> Outcome {
        let mut decoder = ResponseDecoder::new(max_reply);
        let mut buf: Vec<u8> = Vec::new();
        let mut out = Outcome {
            replies: Vec::new(),
            error: None,
            left: 0,
        };
        let mut expects = expects.iter().copied();
        let mut expect = expects.next();
        let mut rest = wire;
        let mut i = 0;
        while !rest.is_empty() {
            let n = match sizes {
                [] => rest.len(),
                s => s[i % s.len()].max(1).min(rest.len()),
            };
            i += 1;
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            while let Some(e) = expect {
                decoder.expect(e);
                match decoder.decode(&buf) {
                    Parsed::Complete(reply, used) => {
                        out.replies.push(owned(&reply));
                        buf.drain(..used);
                        expect = expects.next();
                    }
                    Parsed::Incomplete => break,
                    Parsed::Error(error) => {
                        out.error = Some(error);
                        return out;
                    }
                }
            }
            // One reply in progress (at most max_reply, or a line) plus the last read.
            assert!(
                buf.len() <= max_reply.max(MAX_LINE + 2) + n,
                "{} bytes held",
                buf.len()
            );
        }
        out.left = buf.len();
        out
    }

    /// The replies whole, byte by byte and in a few read sizes must agree.
    fn decode_all(wire: &[u8], expects: &[Expect]) -> Vec<Owned> {
        let whole = decode(wire, expects, &[], 1 << 20);
        assert_eq!((&whole.error, whole.left), (&None, 0), "{whole:?}");
        for size in [1, 2, 3, 7, 64] {
            assert_eq!(decode(wire, expects, &[size], 1 << 20), whole, "read size {size}");
        }
        whole.replies
    }

    fn error(wire: &[u8], expect: Expect) -> ResponseError {
        let whole = decode(wire, &[expect], &[], 1 << 20);
        let bytewise = decode(wire, &[expect], &[1], 1 << 20);
        assert_eq!(whole, bytewise);
        whole.error.expect("invalid")
    }

    fn value(key: &[u8], flags: u32, data: &[u8], cas: Option<u64>) -> OwnedValue {
        (key.to_vec(), flags, data.to_vec(), cas)
    }

    #[test]
    fn one_line_replies() {
        let wire = b"STORED\r\nNOT_STORED\r\nEXISTS\r\nNOT_FOUND\r\nDELETED\r\nNOT_FOUND\r\n\
                     TOUCHED\r\n42\r\n18446744073709551615\r\nNOT_FOUND\r\nOK\r\nVERSION 1.6.18\r\n3   \r\n";
        use Expect::*;
        let expects = [
            Stored, Stored, Stored, Stored, Deleted, Deleted, Touched, Number, Number, Number, Ok, Version,
            Number,
        ];
        let words = [
            "STORED",
            "NOT_STORED",
            "EXISTS",
            "NOT_FOUND",
            "DELETED",
            "NOT_FOUND",
            "TOUCHED",
        ];
        let mut expected: Vec<Owned> = words.into_iter().map(Owned::Word).collect();
        expected.extend([
            Owned::Number(42),
            Owned::Number(u64::MAX),
            Owned::Word("NOT_FOUND"),
            Owned::Word("OK"),
            Owned::Version(b"1.6.18".to_vec()),
            Owned::Number(3),
        ]);
        assert_eq!(decode_all(wire, &expects), expected);
    }

    #[test]
    fn values_with_and_without_cas_and_data_holding_crlf() {
        let wire = b"VALUE a 0 3\r\nabc\r\nVALUE b 4294967295 4 99\r\n\r\n\r\n\r\nEND\r\nVALUE k 1 0\r\n\r\nEND\r\nEND\r\n";
        let expects = [
            Expect::Values { keys: 2 },
            Expect::Values { keys: 1 },
            Expect::Values { keys: 1 },
        ];
        let expected = vec![
            Owned::Values(vec![
                value(b"a", 0, b"abc", None),
                value(b"b", u32::MAX, b"\r\n\r\n", Some(99)),
            ]),
            Owned::Values(vec![value(b"k", 1, b"", None)]),
            Owned::Values(vec![]),
        ];
        assert_eq!(decode_all(wire, &expects), expected);
    }

    #[test]
    fn spans_locate_values_in_the_reply() {
        let wire = b"VALUE ab 0 3\r\nabc\r\nVALUE c 1 2 9\r\nxy\r\nEND\r\n";
        let mut decoder = ResponseDecoder::new(1 << 20);
        decoder.expect(Expect::Values { keys: 2 });
        let Parsed::Complete(Response::Values(values), _) = decoder.decode(wire) else {
            panic!()
        };
        let spans: Vec<ValueSpan> = values.spans().collect();
        assert_eq!((values.len(), values.is_empty()), (2, false));
        assert_eq!(
            (&wire[spans[0].key.clone()], &wire[spans[0].data.clone()]),
            (&b"ab"[..], &b"abc"[..])
        );
        assert_eq!(
            (&wire[spans[1].key.clone()], &wire[spans[1].data.clone()]),
            (&b"c"[..], &b"xy"[..])
        );
        assert_eq!((spans[1].flags, spans[1].cas), (1, Some(9)));
    }

    #[test]
    fn errors_answer_any_request_even_mid_multiget() {
        let wire = b"ERROR\r\nERROR Too many open connections\r\nCLIENT_ERROR bad data chunk\r\n\
                     SERVER_ERROR out of memory storing object\r\nVALUE a 0 1\r\nx\r\nSERVER_ERROR out of memory writing get response\r\n";
        let expects = [
            Expect::Stored,
            Expect::Ok,
            Expect::Stored,
            Expect::Stored,
            Expect::Values { keys: 2 },
        ];
        let expected = vec![
            Owned::Error("ERROR", vec![]),
            Owned::Error("ERROR", b"Too many open connections".to_vec()),
            Owned::Error("CLIENT_ERROR", b"bad data chunk".to_vec()),
            Owned::Error("SERVER_ERROR", b"out of memory storing object".to_vec()),
            Owned::Error("SERVER_ERROR", b"out of memory writing get response".to_vec()),
        ];
        assert_eq!(decode_all(wire, &expects), expected);
    }

    #[test]
    fn stats_lines_until_end() {
        let wire =
            b"STAT pid 42\r\nSTAT version 1.6.18\r\nSTAT libevent 2.1.12-stable\r\nSTAT empty\r\nEND\r\n\
                     RESET\r\nITEM k [5 b; 0 s]\r\nEND\r\n";
        let pairs = |v: &[(&str, &str)]| {
            Owned::Stats(
                v.iter()
                    .map(|(a, b)| (a.as_bytes().to_vec(), b.as_bytes().to_vec()))
                    .collect(),
            )
        };
        let expected = vec![
            pairs(&[
                ("pid", "42"),
                ("version", "1.6.18"),
                ("libevent", "2.1.12-stable"),
                ("empty", ""),
            ]),
            pairs(&[]),
            pairs(&[("ITEM", "k [5 b; 0 s]")]),
        ];
        assert_eq!(decode_all(wire, &[Expect::Stats; 3]), expected);
    }

    #[test]
    fn nothing_is_taken_until_a_reply_is_whole() {
        let mut decoder = ResponseDecoder::new(1 << 20);
        decoder.expect(Expect::Values { keys: 1 });
        let mut buf = b"VALUE a 0 5\r\nhel".to_vec();
        assert_eq!(decoder.decode(&buf), Parsed::Incomplete);
        buf.extend_from_slice(b"lo\r\nEN");
        assert_eq!(decoder.decode(&buf), Parsed::Incomplete);
        buf.extend_from_slice(b"D\r\nSTORED\r\n");
        assert!(matches!(
            decoder.decode(&buf),
            Parsed::Complete(Response::Values(_), 25)
        ));
        decoder.expect(Expect::Stored);
        assert_eq!(
            decoder.decode(&buf[25..]),
            Parsed::Complete(Response::Line(Reply::Stored), 8)
        );
    }

    #[test]
    fn malformed_replies_are_errors() {
        let values = Expect::Values { keys: 1 };
        assert_eq!(error(b"STORED\n", Expect::Stored), ResponseError::BareNewline);
        assert_eq!(error(b"\n", Expect::Stored), ResponseError::BareNewline);
        for (wire, expect) in [
            (&b"DELETED\r\n"[..], Expect::Stored),
            (b"STORED\r\n", Expect::Deleted),
            (b"-1\r\n", Expect::Number),
            (b"18446744073709551616\r\n", Expect::Number),
            (b"STORED\r\n", values),
            (b"VERSION\r\n", Expect::Version),
            (b"STAT  x\r\n", Expect::Stats),
        ] {
            assert!(
                matches!(error(wire, expect), ResponseError::Unexpected(_)),
                "{}",
                wire.escape_ascii()
            );
        }
        for bad in "a 0| 0 1|a x 1|a 0 1 2 3|a 4294967296 1|a 0 -1|a 0 1 ".split('|') {
            let line = format!("VALUE {bad}\r\n");
            let got = error(line.as_bytes(), values);
            assert!(matches!(got, ResponseError::BadValueLine(_)), "{line:?}: {got:?}");
        }
        assert_eq!(error(b"VALUE a 0 1\r\nxyz", values), ResponseError::BadDataEnd);
        assert_eq!(
            error(b"VALUE a 0 1\r\nx\r\nVALUE b 0 1\r\n", values),
            ResponseError::TooManyValues
        );
        assert_eq!(
            ResponseError::TooManyValues.to_string(),
            "more values than keys asked for"
        );
    }

    #[test]
    fn bounds_hold_before_anything_is_buffered() {
        let values = Expect::Values { keys: 1 };
        let mut decoder = ResponseDecoder::new(100);
        decoder.expect(values);
        assert_eq!(
            decoder.decode(b"VALUE a 0 200\r\n"),
            Parsed::Error(ResponseError::TooLarge { max: 100 })
        );
        let mut decoder = ResponseDecoder::new(100);
        decoder.expect(values);
        assert!(matches!(
            decoder.decode(b"VALUE a 0 99999999999999999999\r\n"),
            Parsed::Error(_)
        ));
        // A line with no end is refused once it passes MAX_LINE.
        let mut decoder = ResponseDecoder::new(1 << 20);
        let mut buf = Vec::new();
        let mut result = Parsed::Incomplete;
        for _ in 0..=MAX_LINE + 1 {
            buf.push(b'x');
            result = decoder.decode(&buf);
            if result != Parsed::Incomplete {
                break;
            }
        }
        assert_eq!(result, Parsed::Error(ResponseError::LineTooLong));
        assert_eq!(buf.len(), MAX_LINE + 2);
        // Stats lines cannot add up past the bound either.
        let outcome = decode(
            &b"STAT some_name some_value\r\n".repeat(10),
            &[Expect::Stats],
            &[27],
            64,
        );
        assert_eq!(outcome.error, Some(ResponseError::TooLarge { max: 64 }));
    }

    #[test]
    fn a_long_multiget_arriving_in_small_reads_is_scanned_once() {
        // 2,000 values in 7-byte reads: the decoder must resume where it
        // stopped, so the work is linear (this would take seconds otherwise).
        let mut wire = Vec::new();
        for i in 0..2000 {
            write_value(&mut wire, format!("key{i}").as_bytes(), 0, b"0123456789", None);
        }
        Reply::End.write(&mut wire);
        let outcome = decode(&wire, &[Expect::Values { keys: 2000 }], &[7], 1 << 20);
        assert_eq!(outcome.left, 0);
        let [Owned::Values(values)] = &outcome.replies[..] else {
            panic!("one reply")
        };
        assert_eq!((values.len(), &values[1999].0[..]), (2000, &b"key1999"[..]));
    }

    #[test]
    fn the_servers_fixed_replies_read_back() {
        for (reply, expect, expected) in [
            (Reply::Stored, Expect::Stored, Owned::Word("STORED")),
            (Reply::NotFound, Expect::Touched, Owned::Word("NOT_FOUND")),
            (Reply::Error, Expect::Ok, Owned::Error("ERROR", vec![])),
            (
                Reply::BadDataChunk,
                Expect::Stored,
                Owned::Error("CLIENT_ERROR", b"bad data chunk".to_vec()),
            ),
            (
                Reply::TooLarge,
                Expect::Stored,
                Owned::Error("SERVER_ERROR", b"object too large for cache".to_vec()),
            ),
            (
                Reply::NonNumeric,
                Expect::Number,
                Owned::Error(
                    "CLIENT_ERROR",
                    b"cannot increment or decrement non-numeric value".to_vec(),
                ),
            ),
            (Reply::Reset, Expect::Stats, Owned::Stats(vec![])),
        ] {
            assert_eq!(decode_all(reply.bytes(), &[expect]), [expected]);
        }
    }

    fn key() -> impl Strategy<Value = Vec<u8>> {
        vec(prop_oneof![0x21u8..=0x7e, 0x80u8..=0xff], 1..20)
    }

    fn text() -> impl Strategy<Value = String> {
        "[ -~]{0,30}"
    }

    /// A reply, the request it answers, and its bytes on the wire, written
    /// with the server's composers.
    fn reply() -> impl Strategy<Value = (Expect, Owned, Vec<u8>)> {
        let fixed = prop_oneof![
            Just((Expect::Stored, Reply::Stored, "STORED")),
            Just((Expect::Stored, Reply::NotStored, "NOT_STORED")),
            Just((Expect::Stored, Reply::Exists, "EXISTS")),
            Just((Expect::Stored, Reply::NotFound, "NOT_FOUND")),
            Just((Expect::Deleted, Reply::Deleted, "DELETED")),
            Just((Expect::Touched, Reply::Touched, "TOUCHED")),
            Just((Expect::Number, Reply::NotFound, "NOT_FOUND")),
            Just((Expect::Ok, Reply::Ok, "OK")),
        ]
        .prop_map(|(e, r, w)| (e, Owned::Word(w), r.bytes().to_vec()));
        let number = any::<u64>().prop_map(|n| {
            let mut wire = Vec::new();
            write_number(&mut wire, n);
            (Expect::Number, Owned::Number(n), wire)
        });
        let version = "[ -~]{0,30}".prop_map(|v| {
            let mut wire = Vec::new();
            write_version(&mut wire, &v);
            (Expect::Version, Owned::Version(v.into_bytes()), wire)
        });
        let values = (
            vec(
                (key(), any::<u32>(), vec(any::<u8>(), 0..60), any::<Option<u64>>()),
                0..5,
            ),
            0usize..3,
        )
            .prop_map(|(items, extra_keys)| {
                let mut wire = Vec::new();
                for (key, flags, data, cas) in &items {
                    write_value(&mut wire, key, *flags, data, *cas);
                }
                Reply::End.write(&mut wire);
                let keys = items.len() + extra_keys;
                (Expect::Values { keys }, Owned::Values(items), wire)
            });
        let stats = vec(("[!-~]{1,12}", text()), 0..6).prop_map(|pairs| {
            let mut wire = Vec::new();
            for (name, value) in &pairs {
                write_stat(&mut wire, name, value);
            }
            Reply::End.write(&mut wire);
            let pairs = pairs
                .into_iter()
                .map(|(n, v)| (n.into_bytes(), v.into_bytes()))
                .collect();
            (Expect::Stats, Owned::Stats(pairs), wire)
        });
        let error = (0..3usize, text(), 0..8usize).prop_map(|(kind, text, expect)| {
            let expect = [
                Expect::Stored,
                Expect::Values { keys: 1 },
                Expect::Deleted,
                Expect::Number,
                Expect::Touched,
                Expect::Ok,
                Expect::Stats,
                Expect::Version,
            ][expect];
            let word = ["ERROR", "CLIENT_ERROR", "SERVER_ERROR"][kind];
            let wire = match text.is_empty() {
                true => format!("{word}\r\n"),
                false => format!("{word} {text}\r\n"),
            };
            (expect, Owned::Error(word, text.into_bytes()), wire.into_bytes())
        });
        prop_oneof![fixed, number, version, values, stats, error]
    }

    /// Read sizes, cycled; empty means the whole stream at once.
    fn sizes() -> impl Strategy<Value = Vec<usize>> {
        prop_oneof![Just(vec![]), Just(vec![1]), vec(1usize..50, 1..6)]
    }

    proptest! {
        #[test]
        fn what_the_server_composes_decodes_back_whatever_the_reads(replies in vec(reply(), 1..12), sizes in sizes()) {
            let expects: Vec<Expect> = replies.iter().map(|(e, _, _)| *e).collect();
            let wire: Vec<u8> = replies.iter().flat_map(|(_, _, w)| w.clone()).collect();
            let outcome = decode(&wire, &expects, &sizes, 4096);
            prop_assert_eq!(outcome.error, None);
            prop_assert_eq!(outcome.left, 0);
            let want: Vec<Owned> = replies.into_iter().map(|(_, r, _)| r).collect();
            prop_assert_eq!(outcome.replies, want);
        }

        #[test]
        fn every_reply_decoded_composes_back(replies in vec(reply(), 1..6)) {
            for (expect, _, wire) in replies {
                let mut decoder = ResponseDecoder::new(4096);
                decoder.expect(expect);
                let Parsed::Complete(response, used) = decoder.decode(&wire) else { panic!() };
                prop_assert_eq!(used, wire.len());
                let mut again = Vec::new();
                response.write(&mut again);
                let mut decoder = ResponseDecoder::new(4096);
                decoder.expect(expect);
                prop_assert_eq!(decoder.decode(&again), Parsed::Complete(response, again.len()));
            }
        }

        #[test]
        fn any_bytes_give_the_same_outcome_whole_and_split(
            wire in vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b' '), b'0'..=b'9', any::<u8>()], 0..400),
            prefix in vec(reply(), 0..3),
            sizes in sizes(),
            expect in 0..8usize,
        ) {
            // Valid replies first, then noise, so the noise meets every state.
            let mut stream: Vec<u8> = prefix.iter().flat_map(|(_, _, w)| w.clone()).collect();
            stream.extend_from_slice(&wire);
            let noise = [
                Expect::Stored, Expect::Values { keys: 3 }, Expect::Deleted, Expect::Number,
                Expect::Touched, Expect::Ok, Expect::Stats, Expect::Version,
            ][expect];
            let mut expects: Vec<Expect> = prefix.iter().map(|(e, _, _)| *e).collect();
            expects.extend(std::iter::repeat_n(noise, 50));
            let whole = decode(&stream, &expects, &[], 4096);
            let split = decode(&stream, &expects, &sizes, 4096);
            prop_assert_eq!(whole, split);
        }
    }
}
