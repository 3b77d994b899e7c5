//! One parse outcome and one decoder trait for every codec in this crate.
//!
//! A decoder is handed the bytes received and not yet consumed, starting at
//! a message boundary, and answers one of three things:
//!
//! - [`Parsed::Complete`]: one message, and how many input bytes it used.
//!   The caller drops that many bytes and calls again.
//! - [`Parsed::Incomplete`]: no whole message yet. The caller calls again
//!   with the same bytes followed by more. The decoder may remember how far
//!   it has looked, so a message arriving a byte at a time is scanned once,
//!   not once per byte.
//! - [`Parsed::Error`]: the input breaks the protocol's rules. What the
//!   caller does next (skip the bad message, answer an error, close) is the
//!   protocol's business, so the error type says how much input, if any, a
//!   recoverable error used.
//!
//! # Examples
//!
//! A decoder of `\n`-terminated lines that keeps its scan position:
//!
//! ```
//! use torsion_protocols::{Decoder, Parsed};
//!
//! #[derive(Default)]
//! struct Lines {
//!     scanned: usize,
//! }
//!
//! impl Decoder for Lines {
//!     type Message<'a> = &'a [u8];
//!     type Error = std::convert::Infallible;
//!
//!     fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<&'a [u8], Self::Error> {
//!         match input[self.scanned..].iter().position(|&b| b == b'\n') {
//!             Some(at) => {
//!                 let end = self.scanned + at;
//!                 self.scanned = 0;
//!                 Parsed::Complete(&input[..end], end + 1)
//!             }
//!             None => {
//!                 self.scanned = input.len();
//!                 Parsed::Incomplete
//!             }
//!         }
//!     }
//!
//!     fn reset(&mut self) {
//!         self.scanned = 0;
//!     }
//! }
//!
//! let mut lines = Lines::default();
//! assert_eq!(lines.decode(b"hel"), Parsed::Incomplete);
//! assert_eq!(lines.decode(b"hello\nw"), Parsed::Complete(&b"hello"[..], 6));
//! ```

/// What a [`Decoder`] found at the start of its input.
#[must_use = "a parse outcome says how many bytes to drop"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed<M, E> {
    /// One whole message and the number of input bytes it used.
    Complete(M, usize),
    /// No whole message yet: call again with the same bytes and more.
    Incomplete,
    /// The input breaks the protocol's rules.
    Error(E),
}

impl<M, E> Parsed<M, E> {
    /// Maps the message of a [`Parsed::Complete`], keeping the byte count.
    pub fn map<N>(self, f: impl FnOnce(M) -> N) -> Parsed<N, E> {
        match self {
            Parsed::Complete(message, consumed) => Parsed::Complete(f(message), consumed),
            Parsed::Incomplete => Parsed::Incomplete,
            Parsed::Error(error) => Parsed::Error(error),
        }
    }

    /// Maps the error of a [`Parsed::Error`].
    pub fn map_err<F>(self, f: impl FnOnce(E) -> F) -> Parsed<M, F> {
        match self {
            Parsed::Complete(message, consumed) => Parsed::Complete(message, consumed),
            Parsed::Incomplete => Parsed::Incomplete,
            Parsed::Error(error) => Parsed::Error(f(error)),
        }
    }
}

/// A sans-I/O decoder: bytes in, one [`Parsed`] outcome out.
///
/// # The contract
///
/// `decode` gets the input not yet consumed, starting at a message
/// boundary. After `Complete(_, n)` the caller drops `n` bytes; after
/// `Incomplete` it calls again with the same bytes and more; after `Error`
/// it does what the error says. [`reset`](Decoder::reset) forgets any
/// remembered scan position, for when the input changed some other way.
/// Whatever the input, a decoder never panics.
pub trait Decoder {
    /// The message type, which may borrow from the input.
    type Message<'a>
    where
        Self: 'a;
    /// What a broken input is reported as.
    type Error;

    /// Looks for one message at the start of `input`.
    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<Self::Message<'a>, Self::Error>;

    /// Forgets any progress remembered between calls.
    fn reset(&mut self) {}
}

/// Feeds `wire` to `decoder` as one-byte reads would: the first byte, then
/// the first two, and so on, as long as the answer is `Incomplete`.
/// Returns the first other answer and the input length it came at.
///
/// After each `Incomplete` on `n` bytes, `kept(decoder, n)` checks that the
/// decoder remembered how far it read, which is what makes a message
/// arriving a byte at a time cost linear, not quadratic, work.
#[cfg(test)]
pub(crate) fn byte_at_a_time<'w, D: Decoder + 'w>(
    decoder: &mut D,
    wire: &'w [u8],
    mut kept: impl FnMut(&D, usize),
) -> (Parsed<D::Message<'w>, D::Error>, usize) {
    for end in 0..=wire.len() {
        match decoder.decode(&wire[..end]) {
            Parsed::Incomplete => kept(decoder, end),
            outcome => return (outcome, end),
        }
    }
    (Parsed::Incomplete, wire.len())
}
