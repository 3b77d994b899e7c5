//! Netstrings: `len:payload,` (D. J. Bernstein's format).

use super::{Codec, Decode, FrameError, Header, DEFAULT_MAX_LENGTH};

/// Frames netstrings: the payload's length in decimal, `:`, the payload,
/// `,`. `5:hello,` carries `hello`; `0:,` the empty payload.
///
/// The length is `0` or a number without leading zeros. It is checked digit
/// by digit, so a header announcing more than
/// [`max_length`](Codec::max_length) is refused before its colon arrives,
/// and a stream of digits can never grow a buffer.
///
/// # Examples
///
/// ```
/// use torsion_protocols::codec::{Codec, Decode, FrameError, NetstringCodec};
///
/// let mut codec = NetstringCodec::new();
/// assert_eq!(codec.decode(b"3:abc,"), Decode::Complete { frame: b"abc", consumed: 6 });
/// assert_eq!(codec.decode(b"3:abc;"), Decode::Error(FrameError::MissingComma));
/// assert_eq!(codec.decode(b"03:abc,"), Decode::Error(FrameError::BadLength));
///
/// let mut out = Vec::new();
/// codec.encode(b"hello", &mut out).unwrap();
/// assert_eq!(out, b"5:hello,");
/// ```
#[derive(Clone, Debug)]
pub struct NetstringCodec {
    max_length: usize,
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
        }
    }

    /// Reads the length header: `Ok(Some((length, header_len)))` once the
    /// colon is there, `Ok(None)` while digits may still come.
    fn length(&self, input: &[u8]) -> Result<Option<(usize, usize)>, FrameError> {
        let mut length: u64 = 0;
        for (i, &byte) in input.iter().enumerate() {
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
        Ok(None)
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

impl Codec for NetstringCodec {
    fn decode<'a>(&mut self, input: &'a [u8]) -> Decode<'a> {
        let (length, start) = match self.length(input) {
            Ok(Some(found)) => found,
            Ok(None) => return Decode::Incomplete,
            Err(e) => return Decode::Error(e),
        };
        let end = start.saturating_add(length);
        match input.get(end) {
            None => Decode::Incomplete,
            Some(b',') => Decode::Complete {
                frame: &input[start..end],
                consumed: end + 1,
            },
            Some(_) => Decode::Error(FrameError::MissingComma),
        }
    }

    fn max_length(&self) -> usize {
        self.max_length
    }

    fn set_max_length(&mut self, max: usize) {
        self.max_length = max;
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

    #[test]
    fn decodes_and_waits() {
        let mut codec = NetstringCodec::new();
        assert_eq!(codec.decode(b""), Decode::Incomplete);
        assert_eq!(codec.decode(b"12"), Decode::Incomplete);
        assert_eq!(codec.decode(b"0:"), Decode::Incomplete);
        assert_eq!(
            codec.decode(b"0:,"),
            Decode::Complete {
                frame: b"",
                consumed: 3
            }
        );
        assert_eq!(codec.decode(b"2:a"), Decode::Incomplete);
        assert_eq!(codec.decode(b"2:ab"), Decode::Incomplete);
    }

    #[test]
    fn refuses_bad_headers() {
        let mut codec = NetstringCodec::new();
        for bad in [&b":"[..], b"x", b"1x", b"00:", b"-1:", b" 1:"] {
            assert_eq!(codec.decode(bad), Decode::Error(FrameError::BadLength), "{bad:?}");
        }
    }

    #[test]
    fn refuses_a_length_over_the_limit_before_the_colon() {
        let mut codec = NetstringCodec::new();
        codec.set_max_length(99);
        assert_eq!(codec.decode(b"99"), Decode::Incomplete);
        assert_eq!(
            codec.decode(b"100"),
            Decode::Error(FrameError::TooLong {
                length: 100,
                limit: 99
            })
        );
        codec.set_max_length(usize::MAX);
        assert_eq!(codec.decode(b"18446744073709551615:x"), Decode::Incomplete);
        let endless = vec![b'9'; 100];
        assert!(matches!(
            codec.decode(&endless),
            Decode::Error(FrameError::TooLong { .. })
        ));
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
