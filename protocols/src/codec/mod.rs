//! Sans-I/O framing: turn a byte stream into frames and frames into bytes.
//!
//! A [`Codec`] never sees a socket (design rule 3). Its
//! [`decode`](Codec::decode) looks at the bytes received so far and answers
//! [`Decode::Complete`] (one frame, and how many input bytes it used),
//! [`Decode::Incomplete`] (wait for more bytes) or [`Decode::Error`] (the
//! stream broke a rule, such as a length bound). Encoding produces a small
//! [`Header`] and a trailer to write around the payload, so a sender can
//! queue all three in one vectored write without copying the payload.
//!
//! The codecs here:
//!
//! | codec | frame on the wire | default bound |
//! | --- | --- | --- |
//! | [`LineCodec`] | `payload` `\r\n` (any delimiter) | 16 KiB per line |
//! | [`NetstringCodec`] | `len` `:` `payload` `,` | 99,999 bytes |
//! | [`Int8Codec`], [`Int16Codec`], [`Int32Codec`] | big-endian length, `payload` | 255, 65,535, 99,999 bytes |
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::codec::{Codec, Decode, NetstringCodec};
//!
//! let mut codec = NetstringCodec::new();
//! let mut input: &[u8] = b"5:hello,3:ab";
//! let Decode::Complete { frame, consumed } = codec.decode(input) else { panic!() };
//! assert_eq!(frame, b"hello");
//! input = &input[consumed..];
//! assert_eq!(codec.decode(input), Decode::Incomplete);
//! ```

mod error;
mod header;
mod line;
mod netstring;
mod prefixed;

pub use error::FrameError;
pub use header::Header;
pub use line::{LineCodec, DEFAULT_DELIMITER, DEFAULT_MAX_LINE_LENGTH};
pub use netstring::NetstringCodec;
pub use prefixed::{Int16Codec, Int32Codec, Int8Codec, Prefixed};

/// The bound of length-announcing codecs (netstrings, length prefixes)
/// unless set otherwise: Twisted's `MAX_LENGTH`.
pub const DEFAULT_MAX_LENGTH: usize = 99_999;

/// What [`Codec::decode`] found at the start of its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decode<'a> {
    /// One whole frame: `frame` is its payload (a slice of the input) and
    /// `consumed` the number of input bytes it used, framing included.
    Complete {
        /// The payload, without its framing.
        frame: &'a [u8],
        /// Input bytes used by this frame (header, payload, trailer).
        consumed: usize,
    },
    /// No whole frame yet: call again with the same bytes and more.
    Incomplete,
    /// The input breaks the framing rules or a bound. The stream cannot be
    /// trusted from here; [`Codec::reset`] before decoding anything else.
    Error(FrameError),
}

/// A framing: how payloads are delimited on a byte stream.
///
/// # The decoding contract
///
/// `decode` is given the input not yet consumed, starting at a frame
/// boundary. After [`Decode::Complete`] the caller drops `consumed` bytes;
/// after [`Decode::Incomplete`] it calls again with the same bytes followed
/// by more. A codec may remember how far it has looked (the line codec
/// does, so a long line arriving a byte at a time is scanned once, not once
/// per byte). [`reset`](Codec::reset) forgets that, for when the input was
/// changed in another way.
///
/// Whatever the input, a codec never panics, and it never answers
/// `Incomplete` for more than [`max_buffered`](Codec::max_buffered) bytes:
/// past that it answers `Complete` or `Error`. That is what keeps a
/// receiver's buffer bounded (design rule 6).
pub trait Codec {
    /// Looks for one frame at the start of `input`.
    fn decode<'a>(&mut self, input: &'a [u8]) -> Decode<'a>;

    /// Forgets any progress remembered between calls.
    fn reset(&mut self) {}

    /// The largest payload accepted, in bytes.
    fn max_length(&self) -> usize;

    /// Sets the largest payload accepted. Codecs whose header cannot
    /// express more clamp it.
    fn set_max_length(&mut self, max: usize);

    /// The most input bytes `decode` may leave undecided (answering
    /// `Incomplete`).
    fn max_buffered(&self) -> usize;

    /// The bytes to send before a payload of `length` bytes, or an error
    /// if this framing cannot carry it.
    fn header(&self, length: usize) -> Result<Header, FrameError>;

    /// The bytes to send after each payload.
    fn trailer(&self) -> &[u8] {
        &[]
    }

    /// Appends the whole frame for `payload` to `out`.
    fn encode(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
        let header = self.header(payload.len())?;
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(self.trailer());
        Ok(())
    }
}
