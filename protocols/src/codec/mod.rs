//! Sans-I/O framing: turn a byte stream into frames and frames into bytes.
//!
//! A [`Codec`] never sees a socket (design rule 3). It is a [`Decoder`]
//! whose messages are payloads: its [`decode`](Decoder::decode) looks at
//! the bytes received so far and answers
//! [`Parsed::Complete`](crate::Parsed::Complete) (one payload, a slice of
//! the input, and how many input bytes its frame used),
//! [`Parsed::Incomplete`](crate::Parsed::Incomplete) (wait for more bytes)
//! or [`Parsed::Error`](crate::Parsed::Error) with a [`FrameError`] (the
//! stream broke a rule, such as a length bound; it cannot be trusted from
//! there, so [`reset`](Decoder::reset) the codec before decoding anything
//! else). Encoding produces a small
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
//! use torsion_protocols::codec::NetstringCodec;
//! use torsion_protocols::{Decoder, Parsed};
//!
//! let mut codec = NetstringCodec::new();
//! let mut input: &[u8] = b"5:hello,3:ab";
//! let Parsed::Complete(frame, consumed) = codec.decode(input) else { panic!() };
//! assert_eq!(frame, b"hello");
//! input = &input[consumed..];
//! assert_eq!(codec.decode(input), Parsed::Incomplete);
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

use crate::Decoder;

/// The bound of length-announcing codecs (netstrings, length prefixes)
/// unless set otherwise: Twisted's `MAX_LENGTH`.
pub const DEFAULT_MAX_LENGTH: usize = 99_999;

/// A framing: how payloads are delimited on a byte stream.
///
/// # The decoding contract
///
/// Decoding is the [`Decoder`] contract, with the payload (a slice of the
/// input, framing removed) as the message and a [`FrameError`] as the
/// error. Each codec remembers how far it has read into an unfinished
/// frame, so a frame arriving a byte at a time is read once, not once per
/// byte.
///
/// Whatever the input, a codec never panics, and it never answers
/// `Incomplete` for more than [`max_buffered`](Codec::max_buffered) bytes:
/// past that it answers `Complete` or `Error`. That is what keeps a
/// receiver's buffer bounded (design rule 6).
///
/// A codec owns its state (it is `'static`), so the payloads it hands out
/// borrow from the input only.
pub trait Codec: 'static + for<'a> Decoder<Message<'a> = &'a [u8], Error = FrameError> {
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
