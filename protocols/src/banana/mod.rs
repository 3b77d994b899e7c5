//! Banana, the s-expression encoding under Twisted's Perspective Broker
//! (`twisted.spread.banana`), sans-I/O.
//!
//! # The wire
//!
//! An element is a header, then a type byte, then (for strings and floats)
//! a body. The header is a number written in base 128, least significant
//! digit first, one digit a byte, every digit below `0x80`; the type byte
//! is the first byte with its high bit set:
//!
//! | type byte | element | the header is | body |
//! | --- | --- | --- | --- |
//! | `0x80` LIST | a list | its number of elements, which follow | |
//! | `0x81` INT | an integer, 0 to 2^31 - 1 | the integer | |
//! | `0x82` STRING | a byte string | its length | the bytes |
//! | `0x83` NEG | an integer, -2^31 to -1 | minus the integer | |
//! | `0x84` FLOAT | a float | (none) | 8 bytes, IEEE 754, big-endian |
//! | `0x85` LONGINT | an integer from 2^31 | the integer | |
//! | `0x86` LONGNEG | an integer below -2^31 | minus the integer | |
//! | `0x87` VOCAB | a word of the PB vocabulary | its number ([`vocab`]) | |
//!
//! So 300 is `2c 02 81` (44 + 2 × 128), `b"hello"` is `05 82 68 65 6c 6c 6f`,
//! and the list `[1, [2, b"a"]]` is `02 80 01 81 02 80 02 81 01 82 61`.
//! An empty header means 0. Twisted refuses a header of more than 64
//! digits ([`PREFIX_LIMIT`]) and a list or string longer than 640 KiB
//! ([`SIZE_LIMIT`]); so does [`BananaDecoder`], and [`encode`] refuses to
//! write either.
//!
//! # Dialects
//!
//! A connection starts with a negotiation ([`dialect`]): the server sends
//! the list of dialects it knows (`["pb", "none"]`), the client answers
//! with the one it picks, as a plain string, and from then on both speak
//! it. In the `pb` dialect, a string that is a word of the PB vocabulary
//! (`"list"`, `"message"`, `"answer"`...) is sent as its number with the
//! VOCAB type byte: `["version", 6]` is `02 80 13 87 06 81`.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::banana::{encode, BananaDecoder, Dialect, Item};
//! use torsion_protocols::{Decoder, Parsed};
//!
//! let version = Item::list(vec![Item::string("version"), Item::Int(6)]);
//! let mut wire = Vec::new();
//! encode(&version, Dialect::Pb, &mut wire).unwrap();
//! assert_eq!(wire, b"\x02\x80\x13\x87\x06\x81");
//!
//! let mut decoder = BananaDecoder::new(Dialect::Pb);
//! assert_eq!(decoder.decode(&wire[..3]), Parsed::Incomplete);
//! assert_eq!(decoder.decode(&wire), Parsed::Complete(version, 6));
//! ```

mod decoder;
pub mod dialect;
mod encoder;
mod item;
pub mod vocab;

pub use decoder::{BananaDecoder, BananaError, DEFAULT_MAX_DEPTH, DEFAULT_MAX_MESSAGE};
pub use dialect::{Dialect, NegotiationError};
pub use encoder::{encode, encoded, EncodeError};
pub use item::Item;

/// LIST: a list; the header is its number of elements.
pub const LIST: u8 = 0x80;
/// INT: an integer from 0 to 2^31 - 1.
pub const INT: u8 = 0x81;
/// STRING: a byte string; the header is its length.
pub const STRING: u8 = 0x82;
/// NEG: an integer from -2^31 to -1; the header is its magnitude.
pub const NEG: u8 = 0x83;
/// FLOAT: eight big-endian bytes of an IEEE 754 double follow.
pub const FLOAT: u8 = 0x84;
/// LONGINT: an integer from 2^31.
pub const LONGINT: u8 = 0x85;
/// LONGNEG: an integer below -2^31; the header is its magnitude.
pub const LONGNEG: u8 = 0x86;
/// VOCAB: a word of the PB vocabulary, by number (`pb` dialect only).
pub const VOCAB: u8 = 0x87;

/// The longest list or string, in elements or bytes (Twisted's
/// `SIZE_LIMIT`: "640k is all you'll ever need").
pub const SIZE_LIMIT: usize = 640 * 1024;

/// The most header digits (Twisted's prefix limit): integers of up to
/// 448 bits.
pub const PREFIX_LIMIT: usize = 64;
