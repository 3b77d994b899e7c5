//! The chunked transfer coding (RFC 9112 §7.1): decoding, step by step,
//! and encoding.

use super::{Body, HttpError};
use crate::{Decoder, Parsed};

/// The longest chunk-size line accepted (size, extensions, CRLF).
pub const MAX_CHUNK_LINE: usize = 4096;
/// The most trailer bytes accepted after the last chunk.
pub const MAX_TRAILERS: usize = 16 * 1024;

/// The terminating chunk with no trailers.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[derive(Clone, Debug, Default)]
enum Phase {
    /// Before a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk's data.
    Data(u64),
    /// After a chunk's data: its CRLF.
    DataEnd,
    /// After the last chunk: trailer lines, up to an empty line.
    Trailers,
}

/// The chunked decoder's state between calls.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChunkedDecoder {
    phase: Phase,
    trailer_bytes: usize,
    /// How many bytes of an unfinished size or trailer line, at the start
    /// of the input, hold no `\n` (valid after an answer that left the
    /// line unfinished, for the input that answer did not consume, grown).
    scanned: usize,
}

impl Decoder for ChunkedDecoder {
    type Message<'a> = Body<'a>;
    type Error = HttpError;

    /// Consumes framing and returns the first data found, the end, or
    /// `Incomplete` (having consumed nothing it would need again: a
    /// partial size line waits whole, though it is scanned once).
    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<Body<'a>, HttpError> {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            match self.phase {
                Phase::Size => {
                    let Some(line) = self.line_at(rest, MAX_CHUNK_LINE) else {
                        return incomplete_or(pos, rest.len() > MAX_CHUNK_LINE, "chunk-size line too long");
                    };
                    let line = match line {
                        Ok(line) => line,
                        Err(e) => return Parsed::Error(e),
                    };
                    let size = match parse_size(&rest[..line.content]) {
                        Ok(size) => size,
                        Err(e) => return Parsed::Error(e),
                    };
                    pos += line.total;
                    self.phase = if size == 0 {
                        Phase::Trailers
                    } else {
                        Phase::Data(size)
                    };
                }
                Phase::Data(remaining) => {
                    if rest.is_empty() {
                        return partial(pos);
                    }
                    let n = remaining.min(rest.len() as u64) as usize;
                    self.phase = if n as u64 == remaining {
                        Phase::DataEnd
                    } else {
                        Phase::Data(remaining - n as u64)
                    };
                    return Parsed::Complete(Body::Data(&rest[..n]), pos + n);
                }
                Phase::DataEnd => match rest {
                    [b'\r', b'\n', ..] => {
                        pos += 2;
                        self.phase = Phase::Size;
                    }
                    [b'\n', ..] => {
                        pos += 1;
                        self.phase = Phase::Size;
                    }
                    [] | [b'\r'] => return partial(pos),
                    _ => return Parsed::Error(HttpError::BadChunk("no CRLF after chunk data".into())),
                },
                Phase::Trailers => {
                    let Some(line) = self.line_at(rest, MAX_TRAILERS) else {
                        let over = self.trailer_bytes + rest.len() > MAX_TRAILERS;
                        return incomplete_or(pos, over, "trailers too large");
                    };
                    let line = match line {
                        Ok(line) => line,
                        Err(e) => return Parsed::Error(e),
                    };
                    pos += line.total;
                    if line.content == 0 {
                        *self = ChunkedDecoder::default();
                        return Parsed::Complete(Body::End, pos);
                    }
                    self.trailer_bytes += line.total;
                    if self.trailer_bytes > MAX_TRAILERS {
                        return Parsed::Error(HttpError::BadChunk("trailers too large".into()));
                    }
                }
            }
        }
    }

    /// Forgets how far into an unfinished line it looked.
    fn reset(&mut self) {
        self.scanned = 0;
    }
}

impl ChunkedDecoder {
    /// The line at the start of `input`, if its `\n` is there within
    /// `max`; the search resumes where the last one for this line stopped.
    fn line_at(&mut self, input: &[u8], max: usize) -> Option<Result<Line, HttpError>> {
        let window = &input[..input.len().min(max)];
        let from = self.scanned.min(window.len());
        let Some(i) = memchr::memchr(b'\n', &window[from..]) else {
            self.scanned = window.len();
            return None;
        };
        self.scanned = 0;
        let nl = from + i;
        let content = if nl > 0 && input[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        if input[..content].contains(&b'\r') {
            return Some(Err(HttpError::BadChunk("stray CR".into())));
        }
        Some(Ok(Line {
            content,
            total: nl + 1,
        }))
    }
}

/// Nothing to hand out: report the framing consumed so far, if any, as
/// empty data so the caller drops it.
fn partial<'a>(pos: usize) -> Parsed<Body<'a>, HttpError> {
    if pos == 0 {
        Parsed::Incomplete
    } else {
        Parsed::Complete(Body::Data(&[]), pos)
    }
}

fn incomplete_or<'a>(pos: usize, over: bool, why: &str) -> Parsed<Body<'a>, HttpError> {
    if over {
        Parsed::Error(HttpError::BadChunk(why.into()))
    } else {
        partial(pos)
    }
}

struct Line {
    /// Bytes before the line ending.
    content: usize,
    /// Bytes including the line ending.
    total: usize,
}

/// `1a;ext=1` to 26: hex digits, then optional extensions (ignored).
fn parse_size(line: &[u8]) -> Result<u64, HttpError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(HttpError::BadChunk("no chunk size".into()));
    }
    let rest = &line[digits..];
    let rest_ok = rest.is_empty()
        || matches!(
            rest.iter().find(|b| !matches!(b, b' ' | b'\t')),
            None | Some(b';')
        );
    if !rest_ok {
        return Err(HttpError::BadChunk("junk after the chunk size".into()));
    }
    let hex = &line[..digits];
    let significant = &hex[hex.iter().take_while(|&&b| b == b'0').count()..];
    if significant.len() > 15 {
        return Err(HttpError::BadChunk("chunk size too large".into()));
    }
    Ok(significant.iter().fold(0u64, |n, &b| {
        n * 16 + (b as char).to_digit(16).unwrap_or(0) as u64
    }))
}

/// Appends `data` as one chunk (nothing for empty data, which would end
/// the body).
///
/// ```
/// let mut out = Vec::new();
/// torsion_protocols::http::encode_chunk(b"hello", &mut out);
/// assert_eq!(out, b"5\r\nhello\r\n");
/// ```
pub fn encode_chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The line that announces a chunk of `len` bytes, for writing the data
/// after it without copying (`{len:x}\r\n`); the data must be followed by `\r\n`.
pub fn chunk_header(len: usize) -> String {
    format!("{len:x}\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::byte_at_a_time;

    /// Feeds `wire` a byte at a time, checking that the unfinished line was
    /// scanned once, and returns the first answer that is not `Incomplete`.
    fn feed<'w>(decoder: &mut ChunkedDecoder, wire: &'w [u8]) -> Parsed<Body<'w>, HttpError> {
        let (outcome, at) = byte_at_a_time(decoder, wire, |decoder, n| {
            assert_eq!(decoder.scanned, n, "after {n} bytes");
        });
        assert_eq!(at, wire.len());
        outcome
    }

    #[test]
    fn lines_fed_a_byte_at_a_time_are_scanned_once() {
        let mut decoder = ChunkedDecoder::default();
        let size = b"5;name=a-long-chunk-extension\r\n";
        assert_eq!(
            feed(&mut decoder, size),
            Parsed::Complete(Body::Data(&[]), size.len())
        );
        assert_eq!(decoder.scanned, 0);
        assert_eq!(
            decoder.decode(b"hello\r\n0\r\n"),
            Parsed::Complete(Body::Data(b"hello"), 5)
        );
        assert_eq!(decoder.decode(b"\r\n0\r\n"), Parsed::Complete(Body::Data(&[]), 5));
        let trailer = b"X-Checksum: 1234\r\n";
        assert_eq!(
            feed(&mut decoder, trailer),
            Parsed::Complete(Body::Data(&[]), trailer.len())
        );
        assert_eq!(feed(&mut decoder, b"\r\n"), Parsed::Complete(Body::End, 2));
    }
}
