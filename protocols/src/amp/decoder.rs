//! [`BoxDecoder`]: boxes from a byte stream, and [`BoxRef`], a received box.

use std::fmt;

use super::ampbox::AmpBox;
use super::argument::{Argument, ArgumentError};
use super::wire::{DEFAULT_MAX_BOX_SIZE, MAX_KEY_LENGTH};
use crate::{Decoder, Parsed};

/// Why the stream is not AMP. The stream cannot be trusted after this;
/// Twisted closes the connection, and so does [`Amp`](super::Amp).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A box ended before its first key (two zero bytes where a box should
    /// start). Twisted raises `NoEmptyBoxes`.
    EmptyBox,
    /// A key length over [`MAX_KEY_LENGTH`]. Twisted closes with `TooLong`.
    KeyTooLong {
        /// The announced length.
        length: usize,
    },
    /// The box grows past the decoder's bound.
    BoxTooLong {
        /// The bound, framing included.
        limit: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::EmptyBox => f.write_str("an empty AMP box"),
            DecodeError::KeyTooLong { length } => {
                write!(f, "an AMP key of {length} bytes (at most {MAX_KEY_LENGTH})")
            }
            DecodeError::BoxTooLong { limit } => write!(f, "an AMP box longer than {limit} bytes"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Frames boxes: pairs of 16-bit big-endian length-prefixed strings, ended
/// by an empty key.
///
/// Bounds: every key is 1 to 255 bytes (Twisted's rule), and a whole box at
/// most [`max_box_size`](BoxDecoder::max_box_size) bytes; a box that would
/// pass it is an error as soon as a length prefix says so, before its bytes
/// are buffered.
///
/// # Implementation notes
///
/// After [`Parsed::Incomplete`] the decoder remembers where the first pair
/// not wholly received starts, so a box arriving a byte at a time is walked
/// once in all: each call reads the two length prefixes of that pair and
/// compares the input's length with its end. The caller must then pass the
/// same input, grown.
///
/// # Examples
///
/// ```
/// use torsion_protocols::amp::BoxDecoder;
/// use torsion_protocols::{Decoder, Parsed};
///
/// let mut decoder = BoxDecoder::new();
/// let wire = b"\x00\x03key\x00\x05value\x00\x00";
/// assert_eq!(decoder.decode(&wire[..9]), Parsed::Incomplete);
/// let Parsed::Complete(frame, consumed) = decoder.decode(wire) else { panic!() };
/// assert_eq!(frame.get(b"key"), Some(&b"value"[..]));
/// assert_eq!(consumed, wire.len());
/// ```
#[derive(Clone, Debug)]
pub struct BoxDecoder {
    max_box_size: usize,
    /// The offset of the next pair not yet walked (0 between boxes).
    walked: usize,
}

impl Default for BoxDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl BoxDecoder {
    /// Boxes of at most [`DEFAULT_MAX_BOX_SIZE`] bytes.
    pub fn new() -> Self {
        Self::with_max_box_size(DEFAULT_MAX_BOX_SIZE)
    }

    /// Boxes of at most `max` bytes, framing included.
    pub fn with_max_box_size(max: usize) -> Self {
        BoxDecoder {
            max_box_size: max,
            walked: 0,
        }
    }

    /// The bound on a box, framing included.
    pub fn max_box_size(&self) -> usize {
        self.max_box_size
    }

    /// The most input bytes `decode` leaves undecided.
    pub fn max_buffered(&self) -> usize {
        self.max_box_size.saturating_sub(1)
    }

    fn incomplete<'a>(&mut self, at: usize) -> Parsed<BoxRef<'a>, DecodeError> {
        self.walked = at;
        Parsed::Incomplete
    }

    fn too_long<'a>(&mut self) -> Parsed<BoxRef<'a>, DecodeError> {
        self.walked = 0;
        Parsed::Error(DecodeError::BoxTooLong {
            limit: self.max_box_size,
        })
    }
}

impl Decoder for BoxDecoder {
    type Message<'a> = BoxRef<'a>;
    type Error = DecodeError;

    /// Looks for one box at the start of `input`.
    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<BoxRef<'a>, DecodeError> {
        let mut at = self.walked.min(input.len());
        loop {
            let Some(key_length) = length_at(input, at) else {
                return self.incomplete(at);
            };
            if key_length == 0 {
                self.walked = 0;
                if at == 0 {
                    return Parsed::Error(DecodeError::EmptyBox);
                }
                let consumed = at + 2;
                let frame = BoxRef {
                    bytes: &input[..consumed],
                };
                return Parsed::Complete(frame, consumed);
            }
            if key_length > MAX_KEY_LENGTH {
                self.walked = 0;
                return Parsed::Error(DecodeError::KeyTooLong { length: key_length });
            }
            let value_at = at + 2 + key_length;
            // A box needs at least the pair's lengths and its end marker.
            if value_at + 2 + 2 > self.max_box_size {
                return self.too_long();
            }
            let Some(value_length) = length_at(input, value_at) else {
                return self.incomplete(at);
            };
            let next = value_at + 2 + value_length;
            if next + 2 > self.max_box_size {
                return self.too_long();
            }
            if input.len() < next {
                return self.incomplete(at);
            }
            at = next;
        }
    }

    /// Forgets the progress remembered between calls.
    fn reset(&mut self) {
        self.walked = 0;
    }
}

/// The 16-bit big-endian length at `at`, if both bytes are there.
fn length_at(input: &[u8], at: usize) -> Option<usize> {
    let bytes = input.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_be_bytes([bytes[0], bytes[1]])))
}

/// A received box: its wire bytes, checked by the [`BoxDecoder`], read in
/// place without copying.
///
/// A key sent twice reads as its last value, as Twisted's dict does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BoxRef<'a> {
    bytes: &'a [u8],
}

impl<'a> BoxRef<'a> {
    /// The box's wire bytes, end marker included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The pairs, in the order they were sent.
    pub fn iter(&self) -> Pairs<'a> {
        Pairs { rest: self.bytes }
    }

    /// The value of `key` (its last one, if sent twice).
    pub fn get(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.iter().filter(|(k, _)| *k == key).map(|(_, v)| v).last()
    }

    /// Whether `key` is in the box.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.iter().any(|(k, _)| k == key)
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the box has no pair (a decoded box always has one).
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The value of argument `name` read as its AMP type.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion_protocols::amp::{AmpBox, BoxDecoder};
    /// use torsion_protocols::{Decoder, Parsed};
    ///
    /// let mut b = AmpBox::new();
    /// b.put("total", &94i64);
    /// let wire = b.to_bytes().unwrap();
    /// let Parsed::Complete(frame, _) = BoxDecoder::new().decode(&wire) else { panic!() };
    /// assert_eq!(frame.arg::<i64>("total").unwrap(), 94);
    /// assert!(frame.arg::<i64>("missing").is_err());
    /// assert_eq!(frame.optional::<i64>("missing").unwrap(), None);
    /// ```
    pub fn arg<A: Argument>(&self, name: &str) -> Result<A, ArgumentError> {
        match self.get(name.as_bytes()) {
            Some(bytes) => A::read(bytes).map_err(|reason| ArgumentError::invalid::<A>(name, reason)),
            None => Err(ArgumentError::missing(name)),
        }
    }

    /// The value of optional argument `name`: `None` if absent.
    pub fn optional<A: Argument>(&self, name: &str) -> Result<Option<A>, ArgumentError> {
        match self.get(name.as_bytes()) {
            Some(_) => self.arg(name).map(Some),
            None => Ok(None),
        }
    }

    /// An owned copy.
    pub fn to_owned_box(&self) -> AmpBox {
        self.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
    }
}

impl fmt::Debug for BoxRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

/// The pairs of a [`BoxRef`], in the order they were sent.
#[derive(Clone, Debug)]
pub struct Pairs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let key_length = length_at(self.rest, 0).filter(|&n| n > 0)?;
        let key = self.rest.get(2..2 + key_length)?;
        let value_at = 2 + key_length;
        let value_length = length_at(self.rest, value_at)?;
        let value = self.rest.get(value_at + 2..value_at + 2 + value_length)?;
        self.rest = &self.rest[value_at + 2 + value_length..];
        Some((key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(pairs: &[(&str, &str)]) -> Vec<u8> {
        pairs.iter().copied().collect::<AmpBox>().to_bytes().unwrap()
    }

    #[test]
    fn boxes_follow_one_another() {
        let mut input = wire(&[("a", "1")]);
        input.extend(wire(&[("b", ""), ("c", "3")]));
        let mut decoder = BoxDecoder::new();
        let Parsed::Complete(frame, consumed) = decoder.decode(&input) else {
            panic!()
        };
        assert_eq!(frame.iter().collect::<Vec<_>>(), [(&b"a"[..], &b"1"[..])]);
        let Parsed::Complete(frame, rest) = decoder.decode(&input[consumed..]) else {
            panic!()
        };
        assert_eq!(frame.get(b"b"), Some(&b""[..]));
        assert_eq!(frame.len(), 2);
        assert_eq!(consumed + rest, input.len());
    }

    #[test]
    fn every_prefix_is_incomplete() {
        let input = wire(&[("_command", "Get"), ("_ask", "1"), ("key", "k")]);
        for end in 0..input.len() {
            let mut decoder = BoxDecoder::new();
            assert_eq!(decoder.decode(&input[..end]), Parsed::Incomplete, "{end}");
        }
    }

    #[test]
    fn walking_resumes_where_it_stopped() {
        let input = wire(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let mut decoder = BoxDecoder::new();
        for end in 0..input.len() {
            assert_eq!(decoder.decode(&input[..end]), Parsed::Incomplete);
        }
        assert!(matches!(decoder.decode(&input), Parsed::Complete(..)));
    }

    #[test]
    fn a_box_fed_a_byte_at_a_time_is_walked_once() {
        let input = wire(&[("_command", "Get"), ("_ask", "1"), ("key", "a longer value")]);
        // Where each pair starts, and where the end marker does.
        let Parsed::Complete(whole, _) = BoxDecoder::new().decode(&input) else {
            panic!()
        };
        let starts: Vec<usize> = std::iter::once(0)
            .chain(whole.iter().scan(0, |at, (k, v)| {
                *at += 2 + k.len() + 2 + v.len();
                Some(*at)
            }))
            .collect();
        assert_eq!(starts.last().map(|end| end + 2), Some(input.len()));
        let mut decoder = BoxDecoder::new();
        let (outcome, at) = crate::parse::byte_at_a_time(&mut decoder, &input, |decoder, n| {
            // Every pair wholly there was walked once and is not again.
            let pending = starts.iter().rev().find(|&&start| start <= n).unwrap();
            assert_eq!(decoder.walked, *pending, "after {n} bytes");
        });
        let Parsed::Complete(frame, consumed) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            (frame.get(b"key"), consumed, at),
            (Some(&b"a longer value"[..]), input.len(), input.len())
        );
        assert_eq!(decoder.walked, 0);
    }

    #[test]
    fn an_empty_box_and_a_long_key_are_errors() {
        assert_eq!(
            BoxDecoder::new().decode(b"\x00\x00"),
            Parsed::Error(DecodeError::EmptyBox)
        );
        assert_eq!(
            BoxDecoder::new().decode(b"\x01\x00"),
            Parsed::Error(DecodeError::KeyTooLong { length: 256 })
        );
    }

    #[test]
    fn a_box_past_the_bound_is_refused_from_its_lengths() {
        let mut decoder = BoxDecoder::with_max_box_size(16);
        // key "k", value announced 100 bytes: refused before they come.
        assert_eq!(
            decoder.decode(b"\x00\x01k\x00\x64"),
            Parsed::Error(DecodeError::BoxTooLong { limit: 16 })
        );
        // Exactly 16 bytes: 2 + 1 + 2 + 9 + 2.
        let input = b"\x00\x01k\x00\x09123456789\x00\x00";
        assert!(matches!(decoder.decode(input), Parsed::Complete(_, 16)));
    }

    #[test]
    fn the_last_value_of_a_repeated_key_wins() {
        let input = b"\x00\x01k\x00\x011\x00\x01k\x00\x012\x00\x00";
        let Parsed::Complete(frame, _) = BoxDecoder::new().decode(input) else {
            panic!()
        };
        assert_eq!(frame.get(b"k"), Some(&b"2"[..]));
        assert_eq!(frame.to_owned_box().get(b"k"), Some(&b"2"[..]));
    }
}
