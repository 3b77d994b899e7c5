//! What follows a request's head on the wire, in every memcache dialect.
//!
//! A request decoder hands out a request as soon as its head is in: the
//! command line of the text and meta protocols, the header, extras and key of
//! a binary packet. Some requests carry more: the data block of `set` or `ms`,
//! the value of a binary `set`, the body of a binary command that is answered
//! and then skipped. [`Body`] says which, so that a conversation can decide
//! before any of it arrives whether to wait for it or to skip ("swallow") it
//! as it comes, without buffering it, as memcached does. A request says so
//! through [`Head`], a refused one through [`Refusal`].
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::body::{BadChunk, Block};
//! use torsion_protocols::Parsed;
//!
//! let block = Block { key_len: 1, len: 3, trailer: b"\r\n" };
//! assert_eq!(block.total(), 5);
//! assert_eq!(block.take(b"abc\r"), Parsed::Incomplete);
//! assert_eq!(block.take(b"abc\r\nget"), Parsed::Complete(&b"abc"[..], 5));
//! assert_eq!(block.take(b"abcd\r\n"), Parsed::Error(BadChunk { consumed: 5 }));
//! ```

use crate::Parsed;

/// A request head: it says what follows it.
pub trait Head {
    /// What follows this head on the wire.
    fn body(&self) -> Body;
}

/// A refused request: it says how much input it takes.
pub trait Refusal {
    /// Bytes of the refused request itself; 0 when the connection must close.
    fn consumed(&self) -> usize;

    /// Bytes after it to skip as they arrive (a value refused with its head).
    fn swallow(&self) -> usize {
        0
    }
}

/// What follows a request's head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Nothing: the request is whole.
    None,
    /// A value to store: wait for it whole, or refuse it and skip it when
    /// the item would be too large.
    Value(Block),
    /// This many bytes belong to the request but are skipped after it is
    /// answered (a binary command memcached does not dispatch).
    Discard(usize),
}

/// A value of `len` bytes followed by `trailer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// Length of the key the value is stored under (the item's size counts it).
    pub key_len: usize,
    /// Length of the value.
    pub len: usize,
    /// What must follow the value: `\r\n` in the text protocols, nothing in
    /// the binary one.
    pub trailer: &'static [u8],
}

/// `len + trailer` bytes arrived but the trailer is wrong: answer `CLIENT_ERROR
/// bad data chunk`, skip `consumed` bytes and read what follows as the next
/// request (memcached's `complete_nread_ascii`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadChunk {
    /// The block's bytes, trailer included.
    pub consumed: usize,
}

impl Block {
    /// Bytes on the wire: the value and its trailer.
    pub fn total(&self) -> usize {
        self.len.saturating_add(self.trailer.len())
    }

    /// Takes the value off the start of `input` once all of it and its
    /// trailer are there.
    pub fn take<'a>(&self, input: &'a [u8]) -> Parsed<&'a [u8], BadChunk> {
        let total = self.total();
        let Some(block) = input.get(..total) else {
            return Parsed::Incomplete;
        };
        let (value, trailer) = block.split_at(self.len);
        if trailer == self.trailer {
            Parsed::Complete(value, total)
        } else {
            Parsed::Error(BadChunk { consumed: total })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: Block = Block {
        key_len: 1,
        len: 3,
        trailer: b"\r\n",
    };

    #[test]
    fn text_blocks() {
        assert_eq!(TEXT.take(b"ab"), Parsed::Incomplete);
        assert_eq!(TEXT.take(b"abc\r"), Parsed::Incomplete);
        assert_eq!(TEXT.take(b"abc\r\nx"), Parsed::Complete(&b"abc"[..], 5));
        assert_eq!(TEXT.take(b"abcd\r\n"), Parsed::Error(BadChunk { consumed: 5 }));
        assert_eq!(TEXT.take(b"abc\n"), Parsed::Incomplete);
        assert_eq!(TEXT.take(b"abc\nx"), Parsed::Error(BadChunk { consumed: 5 }));
        let empty = Block { len: 0, ..TEXT };
        assert_eq!(empty.take(b"\r\n"), Parsed::Complete(&b""[..], 2));
    }

    #[test]
    fn binary_values_have_no_trailer() {
        let value = Block {
            key_len: 1,
            len: 2,
            trailer: b"",
        };
        assert_eq!(value.take(b"x"), Parsed::Incomplete);
        assert_eq!(value.take(b"xyz"), Parsed::Complete(&b"xy"[..], 2));
        let huge = Block {
            len: usize::MAX,
            ..TEXT
        };
        assert_eq!(huge.total(), usize::MAX);
        assert_eq!(huge.take(b"abc"), Parsed::Incomplete);
    }
}
