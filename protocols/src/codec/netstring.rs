//! Netstrings: `len:payload,` (D. J. Bernstein's format).

use super::{Codec, FrameError, Header, DEFAULT_MAX_LENGTH};
use crate::{Decoder, Parsed};

/// Frames netstrings: the payload's length in decimal, `:`, the payload,
/// `,`. `5:hello,` carries `hello`; `0:,` the empty payload.
///
/// The length is `0` or a number without leading zeros. It is checked digit
/// by digit, so a header announcing more than
/// [`max_length`](Codec::max_length) is refused before its colon arrives,
/// and a stream of digits can never grow a buffer.
///
/// # Implementation notes
///
/// After an `Incomplete` answer the codec remembers the digits it read, or
/// once the colon came, the length and where the payload starts; so a
/// frame arriving a byte at a time is read once in all, and waiting for a
/// long payload costs one look at the byte where its comma belongs.
///
/// # Examples
///
/// ```
/// use torsion_protocols::codec::{Codec, FrameError, NetstringCodec};
/// use torsion_protocols::{Decoder, Parsed};
///
/// let mut codec = NetstringCodec::new();
/// assert_eq!(codec.decode(b"3:abc,"), Parsed::Complete(&b"abc"[..], 6));
/// assert_eq!(codec.decode(b"3:abc;"), Parsed::Error(FrameError::MissingComma));
/// assert_eq!(codec.decode(b"03:abc,"), Parsed::Error(FrameError::BadLength));
///
/// let mut out = Vec::new();
/// codec.encode(b"hello", &mut out).unwrap();
/// assert_eq!(out, b"5:hello,");
/// ```
#[derive(Clone, Debug)]
pub struct NetstringCodec {
    max_length: usize,
    /// How far into the frame at the start of the input the codec has
    /// read (valid after `Incomplete`, for the same input grown).
    progress: Progress,
}

/// How much of a netstring has been read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Progress {
    /// In the length: `read` bytes so far, all digits, worth `length`.
    Length {
        /// Header bytes read.
        read: usize,
        /// Their value.
        length: u64,
    },
    /// The header is read: `length` payload bytes start at `start`.
    Payload {
        /// The payload's length.
        length: usize,
        /// Where it starts: just after the colon.
        start: usize,
    },
}

impl Progress {
    /// Nothing read yet.
    const START: Progress = Progress::Length { read: 0, length: 0 };
}

impl Default for NetstringCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl NetstringCodec {
    /// Netstrings of at most [`DEFAULT_MAX_LENGTH`] bytes.
    pub fn new() -> Self {
        NetstringCodec {
            max_length: DEFAULT_MAX_LENGTH,
            progress: Progress::START,
        }
    }

    /// Reads on in the length header, from the `read` bytes worth `length`
    /// already read: `Ok(Some((length, header_len)))` once the colon is
    /// there, `Ok(None)` while digits may still come (remembering them).
    fn length(
        &mut self,
        input: &[u8],
        read: usize,
        mut length: u64,
    ) -> Result<Option<(usize, usize)>, FrameError> {
        for (i, &byte) in input.iter().enumerate().skip(read) {
            match byte {
                b':' if i > 0 => return Ok(Some((length as usize, i + 1))),
                b'0'..=b'9' if i > 0 && length == 0 => return Err(FrameError::BadLength),
                b'0'..=b'9' => {
                    let next = length
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(u64::from(byte - b'0')))
                        .filter(|n| *n <= self.max_length as u64);
                    length = next.ok_or(FrameError::TooLong {
                        length: length.saturating_mul(10).saturating_add(u64::from(byte - b'0')),
                        limit: self.max_length,
                    })?;
                }
                _ => return Err(FrameError::BadLength),
            }
        }
        self.progress = Progress::Length {
            read: input.len(),
            length,
        };
        Ok(None)
    }

    /// Ends the frame at the start of the input with `outcome`: the next
    /// call starts a new frame.
    fn done<'a>(&mut self, outcome: Parsed<&'a [u8], FrameError>) -> Parsed<&'a [u8], FrameError> {
        self.progress = Progress::START;
        outcome
    }
}

/// Decimal digits of `n`.
fn digits(mut n: usize) -> usize {
    let mut count = 1;
    while n >= 10 {
        n /= 10;
        count += 1;
    }
    count
}

impl Decoder for NetstringCodec {
    type Message<'a> = &'a [u8];
    type Error = FrameError;

    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<&'a [u8], FrameError> {
        let (length, start) = match self.progress {
            Progress::Payload { length, start } => (length, start),
            Progress::Length { read, length } => match self.length(input, read, length) {
                Ok(Some(found)) => found,
                Ok(None) => return Parsed::Incomplete,
                Err(e) => return self.done(Parsed::Error(e)),
            },
        };
        let end = start.saturating_add(length);
        match input.get(end) {
            None => {
                self.progress = Progress::Payload { length, start };
                Parsed::Incomplete
            }
            Some(b',') => self.done(Parsed::Complete(&input[start..end], end + 1)),
            Some(_) => self.done(Parsed::Error(FrameError::MissingComma)),
        }
    }

    fn reset(&mut self) {
        self.progress = Progress::START;
    }
}

impl Codec for NetstringCodec {
    fn max_length(&self) -> usize {
        self.max_length
    }

    /// Sets the bound; a header partly read is read again against it.
    fn set_max_length(&mut self, max: usize) {
        self.max_length = max;
        self.progress = Progress::START;
    }

    /// The longest header, a payload of `max_length` bytes, no comma yet.
    fn max_buffered(&self) -> usize {
        digits(self.max_length)
            .saturating_add(1)
            .saturating_add(self.max_length)
    }

    fn header(&self, length: usize) -> Result<Header, FrameError> {
        let mut text = [0u8; 20];
        let mut at = text.len();
        let mut n = length;
        loop {
            at -= 1;
            text[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut header = [0u8; 21];
        let digits = &text[at..];
        header[..digits.len()].copy_from_slice(digits);
        header[digits.len()] = b':';
        Header::from_slice(&header[..=digits.len()]).ok_or(FrameError::Unencodable {
            length,
            max: u64::MAX,
        })
    }

    fn trailer(&self) -> &[u8] {
        b","
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` with a fresh codec bounded by `max`.
    fn decode(max: usize, input: &[u8]) -> Parsed<&[u8], FrameError> {
        let mut codec = NetstringCodec::new();
        codec.set_max_length(max);
        codec.decode(input)
    }

    #[test]
    fn decodes_and_waits() {
        let max = DEFAULT_MAX_LENGTH;
        assert_eq!(decode(max, b""), Parsed::Incomplete);
        assert_eq!(decode(max, b"12"), Parsed::Incomplete);
        assert_eq!(decode(max, b"0:"), Parsed::Incomplete);
        assert_eq!(decode(max, b"0:,"), Parsed::Complete(&b""[..], 3));
        assert_eq!(decode(max, b"2:a"), Parsed::Incomplete);
        assert_eq!(decode(max, b"2:ab"), Parsed::Incomplete);
    }

    #[test]
    fn refuses_bad_headers() {
        for bad in [&b":"[..], b"x", b"1x", b"00:", b"-1:", b" 1:"] {
            assert_eq!(
                decode(DEFAULT_MAX_LENGTH, bad),
                Parsed::Error(FrameError::BadLength),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn refuses_a_length_over_the_limit_before_the_colon() {
        assert_eq!(decode(99, b"99"), Parsed::Incomplete);
        assert_eq!(
            decode(99, b"100"),
            Parsed::Error(FrameError::TooLong {
                length: 100,
                limit: 99
            })
        );
        assert_eq!(decode(usize::MAX, b"18446744073709551615:x"), Parsed::Incomplete);
        let endless = vec![b'9'; 100];
        assert!(matches!(
            decode(usize::MAX, &endless),
            Parsed::Error(FrameError::TooLong { .. })
        ));
    }

    #[test]
    fn a_frame_fed_a_byte_at_a_time_is_read_once() {
        let mut codec = NetstringCodec::new();
        let wire = b"12:hello, world,";
        let (outcome, at) = crate::parse::byte_at_a_time(&mut codec, wire, |codec, n| {
            let expected = match n {
                0..=2 => Progress::Length {
                    read: n,
                    length: [0, 1, 12][n],
                },
                _ => Progress::Payload { length: 12, start: 3 },
            };
            assert_eq!(codec.progress, expected, "after {n} bytes");
        });
        assert_eq!((outcome, at), (Parsed::Complete(&wire[3..15], 16), 16));
        assert_eq!(codec.progress, Progress::START);
    }

    #[test]
    fn a_new_bound_applies_to_a_header_partly_read() {
        let mut codec = NetstringCodec::new();
        assert_eq!(codec.decode(b"10"), Parsed::Incomplete);
        codec.set_max_length(9);
        assert_eq!(
            codec.decode(b"10:"),
            Parsed::Error(FrameError::TooLong { length: 10, limit: 9 })
        );
    }

    #[test]
    fn headers_round_trip() {
        let codec = NetstringCodec::new();
        for n in [0, 1, 9, 10, 99_999, usize::MAX] {
            let header = codec.header(n).unwrap();
            assert_eq!(header.as_bytes(), format!("{n}:").as_bytes());
        }
        assert_eq!(digits(0), 1);
        assert_eq!(digits(99_999), 5);
        assert_eq!(codec.max_buffered(), 5 + 1 + 99_999);
    }
}
