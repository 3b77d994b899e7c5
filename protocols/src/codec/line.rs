//! Lines: payloads ended by a delimiter.

use super::{Codec, FrameError, Header};
use crate::{Decoder, Parsed};

/// The delimiter of [`LineCodec::new`]: `\r\n`, as in Twisted.
pub const DEFAULT_DELIMITER: &[u8] = b"\r\n";

/// The maximum line length of [`LineCodec::new`]: 16 KiB.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 16 * 1024;

/// Frames lines: each payload is followed by a delimiter (`\r\n` by default).
///
/// A line of up to [`max_length`](Codec::max_length) bytes (not counting
/// the delimiter) is accepted. A longer one is an error as soon as it is
/// certain: when a delimiter is found too far in, or when the input grows
/// to `max_length + delimiter length` bytes with no delimiter, whichever
/// comes first. So the outcome depends only on the stream, never on how it
/// was split into reads.
///
/// # Implementation notes
///
/// The search for the delimiter uses `memchr` on its first byte. After an
/// `Incomplete` answer the codec remembers how far it looked, so a long
/// line that arrives a byte at a time is scanned once in all (linear), not
/// once per byte (quadratic).
///
/// # Examples
///
/// ```
/// use torsion_protocols::codec::LineCodec;
/// use torsion_protocols::{Decoder, Parsed};
///
/// let mut codec = LineCodec::new();
/// assert_eq!(codec.decode(b"get key"), Parsed::Incomplete);
/// assert_eq!(codec.decode(b"get key\r\nget"), Parsed::Complete(&b"get key"[..], 9));
/// ```
#[derive(Clone, Debug)]
pub struct LineCodec {
    delimiter: Box<[u8]>,
    max_length: usize,
    /// Input positions before this hold no delimiter start (valid after an
    /// `Incomplete` answer, for the same input grown).
    scanned: usize,
}

impl Default for LineCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl LineCodec {
    /// Lines ended by `\r\n`, at most 16 KiB long.
    pub fn new() -> Self {
        Self::with_delimiter(DEFAULT_DELIMITER)
    }

    /// Lines ended by `delimiter`, at most 16 KiB long.
    ///
    /// # Panics
    ///
    /// If `delimiter` is empty (it would never end a line), or longer than
    /// 255 bytes.
    pub fn with_delimiter(delimiter: &[u8]) -> Self {
        assert!(
            !delimiter.is_empty() && delimiter.len() <= 255,
            "a line delimiter is 1 to 255 bytes long"
        );
        LineCodec {
            delimiter: delimiter.into(),
            max_length: DEFAULT_MAX_LINE_LENGTH,
            scanned: 0,
        }
    }

    /// The delimiter.
    pub fn delimiter(&self) -> &[u8] {
        &self.delimiter
    }

    /// Where the delimiter first starts in `input`, looking from `from`.
    fn find(&self, input: &[u8], from: usize) -> Option<usize> {
        let (first, rest) = self.delimiter.split_first()?;
        let mut at = from;
        while let Some(i) = memchr::memchr(*first, input.get(at..)?) {
            let start = at + i;
            let end = start + self.delimiter.len();
            match input.get(start + 1..end) {
                Some(tail) if tail == rest => return Some(start),
                Some(_) => at = start + 1,
                // The delimiter may still complete with more input.
                None => return None,
            }
        }
        None
    }
}

impl Decoder for LineCodec {
    type Message<'a> = &'a [u8];
    type Error = FrameError;

    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<&'a [u8], FrameError> {
        let from = self.scanned.min(input.len());
        match self.find(input, from) {
            Some(end) => {
                self.scanned = 0;
                if end > self.max_length {
                    return Parsed::Error(FrameError::LineTooLong {
                        limit: self.max_length,
                    });
                }
                Parsed::Complete(&input[..end], end + self.delimiter.len())
            }
            None if input.len() >= self.max_buffered().saturating_add(1) => {
                self.scanned = 0;
                Parsed::Error(FrameError::LineTooLong {
                    limit: self.max_length,
                })
            }
            None => {
                // A delimiter split across reads may start in the last
                // `len - 1` bytes: look there again next time.
                self.scanned = input.len().saturating_sub(self.delimiter.len() - 1);
                Parsed::Incomplete
            }
        }
    }

    fn reset(&mut self) {
        self.scanned = 0;
    }
}

impl Codec for LineCodec {
    fn max_length(&self) -> usize {
        self.max_length
    }

    fn set_max_length(&mut self, max: usize) {
        self.max_length = max;
    }

    /// A line of `max_length` bytes and all but the last byte of its
    /// delimiter.
    fn max_buffered(&self) -> usize {
        self.max_length.saturating_add(self.delimiter.len() - 1)
    }

    fn header(&self, _length: usize) -> Result<Header, FrameError> {
        Ok(Header::empty())
    }

    fn trailer(&self) -> &[u8] {
        &self.delimiter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(codec: &mut LineCodec, mut input: &[u8]) -> (Vec<Vec<u8>>, Option<FrameError>) {
        let mut out = Vec::new();
        loop {
            match codec.decode(input) {
                Parsed::Complete(frame, consumed) => {
                    out.push(frame.to_vec());
                    input = &input[consumed..];
                }
                Parsed::Incomplete => return (out, None),
                Parsed::Error(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn splits_on_the_delimiter() {
        let (got, err) = lines(&mut LineCodec::new(), b"a\r\n\r\nb\rc\r\nrest\r");
        assert_eq!(got, [b"a".to_vec(), b"".to_vec(), b"b\rc".to_vec()]);
        assert_eq!(err, None);
    }

    #[test]
    fn a_delimiter_split_across_reads_is_found() {
        let mut codec = LineCodec::with_delimiter(b"END");
        assert_eq!(codec.decode(b"abcE"), Parsed::Incomplete);
        assert_eq!(codec.decode(b"abcEN"), Parsed::Incomplete);
        assert_eq!(codec.decode(b"abcENDx"), Parsed::Complete(&b"abc"[..], 6));
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_accepted() {
        let mut codec = LineCodec::new();
        codec.set_max_length(3);
        assert_eq!(codec.decode(b"abc\r"), Parsed::Incomplete);
        assert_eq!(codec.decode(b"abc\r\n"), Parsed::Complete(&b"abc"[..], 5));
    }

    #[test]
    fn a_longer_line_is_an_error_as_soon_as_it_is_certain() {
        let mut codec = LineCodec::new();
        codec.set_max_length(3);
        assert_eq!(codec.decode(b"abcd"), Parsed::Incomplete);
        assert_eq!(
            codec.decode(b"abcde"),
            Parsed::Error(FrameError::LineTooLong { limit: 3 })
        );
        codec.reset();
        assert_eq!(
            codec.decode(b"abcd\r\n"),
            Parsed::Error(FrameError::LineTooLong { limit: 3 })
        );
    }

    #[test]
    fn a_line_fed_a_byte_at_a_time_is_scanned_once() {
        let mut codec = LineCodec::with_delimiter(b"END");
        let wire = b"a line of some length, with E and EN insideEND";
        let (outcome, at) = crate::parse::byte_at_a_time(&mut codec, wire, |codec, n| {
            // Only the last two bytes may be looked at again.
            assert_eq!(codec.scanned, n.saturating_sub(2));
        });
        assert_eq!(outcome, Parsed::Complete(&wire[..wire.len() - 3], wire.len()));
        assert_eq!(at, wire.len());
        assert_eq!(codec.scanned, 0);
    }

    #[test]
    fn encodes_with_the_delimiter() {
        let mut out = Vec::new();
        LineCodec::with_delimiter(b"\n").encode(b"hi", &mut out).unwrap();
        assert_eq!(out, b"hi\n");
    }
}
