//! Length-prefixed payloads: a big-endian length of 1, 2 or 4 bytes.

use super::{Codec, FrameError, Header, DEFAULT_MAX_LENGTH};
use crate::{Decoder, Parsed};

/// Frames payloads behind an `N`-byte big-endian (network order) length,
/// as Twisted's `IntNStringReceiver`. Use the aliases [`Int8Codec`],
/// [`Int16Codec`] and [`Int32Codec`].
///
/// The bound is [`DEFAULT_MAX_LENGTH`] or what the prefix can express,
/// whichever is smaller. A prefix announcing more is refused at once,
/// before any of the payload is buffered.
///
/// # Implementation notes
///
/// There is no scan position to keep: each call reads the `N` prefix bytes
/// and looks at the input's length, so a frame arriving a byte at a time
/// costs `N` byte reads per call, whatever the payload's length.
///
/// # Examples
///
/// ```
/// use torsion_protocols::codec::{Codec, FrameError, Int16Codec};
/// use torsion_protocols::{Decoder, Parsed};
///
/// let mut codec = Int16Codec::new();
/// assert_eq!(codec.decode(b"\x00\x02hi"), Parsed::Complete(&b"hi"[..], 4));
/// assert_eq!(codec.decode(b"\x00\x02h"), Parsed::Incomplete);
///
/// let mut out = Vec::new();
/// codec.encode(b"hi", &mut out).unwrap();
/// assert_eq!(out, b"\x00\x02hi");
/// assert!(matches!(
///     codec.encode(&vec![0; 70_000], &mut out),
///     Err(FrameError::Unencodable { length: 70_000, max: 65_535 })
/// ));
/// ```
#[derive(Clone, Debug)]
pub struct Prefixed<const N: usize> {
    max_length: usize,
}

/// A one-byte length prefix (payloads up to 255 bytes).
pub type Int8Codec = Prefixed<1>;
/// A two-byte length prefix (payloads up to 65,535 bytes).
pub type Int16Codec = Prefixed<2>;
/// A four-byte length prefix (payloads up to [`DEFAULT_MAX_LENGTH`] by default).
pub type Int32Codec = Prefixed<4>;

impl<const N: usize> Default for Prefixed<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Prefixed<N> {
    /// Refuses prefix widths that make no sense, at compile time.
    const VALID_WIDTH: () = assert!(N >= 1 && N <= 8, "a length prefix is 1 to 8 bytes wide");

    /// The largest length the prefix can express.
    pub const PREFIX_MAX: u64 = if N >= 8 { u64::MAX } else { (1u64 << (8 * N)) - 1 };

    /// A codec bounded by [`DEFAULT_MAX_LENGTH`] or the prefix's range.
    pub fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID_WIDTH;
        let mut codec = Prefixed { max_length: 0 };
        codec.set_max_length(DEFAULT_MAX_LENGTH);
        codec
    }
}

impl<const N: usize> Decoder for Prefixed<N> {
    type Message<'a> = &'a [u8];
    type Error = FrameError;

    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<&'a [u8], FrameError> {
        let Some(prefix) = input.get(..N) else {
            return Parsed::Incomplete;
        };
        let length = prefix.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b));
        if length > self.max_length as u64 {
            return Parsed::Error(FrameError::TooLong {
                length,
                limit: self.max_length,
            });
        }
        // At most `max_length`, a usize; only the sum may overflow.
        let end = N.saturating_add(length as usize);
        match input.get(N..end) {
            Some(frame) => Parsed::Complete(frame, end),
            None => Parsed::Incomplete,
        }
    }
}

impl<const N: usize> Codec for Prefixed<N> {
    fn max_length(&self) -> usize {
        self.max_length
    }

    /// Sets the bound, clamped to what the prefix can express.
    fn set_max_length(&mut self, max: usize) {
        self.max_length = usize::try_from(Self::PREFIX_MAX).map_or(max, |prefix_max| max.min(prefix_max));
    }

    fn max_buffered(&self) -> usize {
        self.max_length.saturating_add(N)
    }

    fn header(&self, length: usize) -> Result<Header, FrameError> {
        let unencodable = FrameError::Unencodable {
            length,
            max: Self::PREFIX_MAX,
        };
        let value = u64::try_from(length).map_err(|_| unencodable.clone())?;
        if value > Self::PREFIX_MAX {
            return Err(unencodable);
        }
        let bytes = value.to_be_bytes();
        Header::from_slice(&bytes[8 - N..]).ok_or(unencodable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_clamped_to_the_prefix() {
        assert_eq!(Int8Codec::new().max_length(), 255);
        assert_eq!(Int16Codec::new().max_length(), 65_535);
        assert_eq!(Int32Codec::new().max_length(), DEFAULT_MAX_LENGTH);
        let mut codec = Int8Codec::new();
        codec.set_max_length(1000);
        assert_eq!(codec.max_length(), 255);
    }

    #[test]
    fn refuses_a_long_prefix_before_the_payload() {
        let mut codec = Int32Codec::new();
        assert_eq!(
            codec.decode(&[0, 1, 0x86, 0xa0]),
            Parsed::Error(FrameError::TooLong {
                length: 100_000,
                limit: DEFAULT_MAX_LENGTH
            })
        );
        assert_eq!(codec.decode(&[0, 1, 0x86]), Parsed::Incomplete);
    }

    #[test]
    fn a_huge_bound_does_not_overflow() {
        let mut codec = Prefixed::<8>::new();
        codec.set_max_length(usize::MAX);
        assert_eq!(codec.decode(&[0xff; 9]), Parsed::Incomplete);
    }

    #[test]
    fn a_frame_fed_a_byte_at_a_time_is_found() {
        let mut codec = Int16Codec::new();
        let wire = b"\x00\x05hello";
        let (outcome, at) = crate::parse::byte_at_a_time(&mut codec, wire, |_, _| {});
        assert_eq!((outcome, at), (Parsed::Complete(&b"hello"[..], 7), 7));
    }

    #[test]
    fn empty_payloads_and_headers() {
        let mut codec = Int32Codec::new();
        assert_eq!(codec.decode(&[0, 0, 0, 0, 9]), Parsed::Complete(&b""[..], 4));
        assert_eq!(codec.header(258).unwrap().as_bytes(), [0, 0, 1, 2]);
        assert_eq!(Int8Codec::new().header(255).unwrap().as_bytes(), [255]);
        assert!(Int8Codec::new().header(256).is_err());
    }
}
