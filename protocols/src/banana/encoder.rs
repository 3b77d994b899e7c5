//! [`encode`]: an [`Item`] as Banana bytes.

use std::fmt;

use num_bigint::Sign;

use super::{
    vocab, Dialect, Item, DEFAULT_MAX_DEPTH, FLOAT, INT, LIST, LONGINT, LONGNEG, NEG, PREFIX_LIMIT,
    SIZE_LIMIT, STRING, VOCAB,
};

/// Why an item cannot be sent: Twisted would refuse to read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// A list or string longer than [`SIZE_LIMIT`].
    TooLong {
        /// `"list"` or `"string"`.
        what: &'static str,
        /// Its length.
        length: usize,
    },
    /// An integer of more than 448 bits (64 header digits).
    IntegerTooLarge,
    /// Lists nested deeper than [`DEFAULT_MAX_DEPTH`].
    TooDeep,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLong { what, length } => {
                write!(
                    f,
                    "a {what} of {length} is too long for Banana (at most {SIZE_LIMIT})"
                )
            }
            EncodeError::IntegerTooLarge => f.write_str("an integer too large for Banana (over 448 bits)"),
            EncodeError::TooDeep => {
                write!(f, "lists nested more than {DEFAULT_MAX_DEPTH} deep")
            }
        }
    }
}

impl std::error::Error for EncodeError {}

/// Appends `item` to `out` as Banana, in `dialect`: in [`Dialect::Pb`] a
/// string that is a vocabulary word goes as its number, as Twisted sends
/// it. Integers take the type byte Twisted gives them (INT up to
/// 2^31 - 1, LONGINT past it, NEG down to -2^31, LONGNEG below).
///
/// On error nothing is appended.
///
/// # Examples
///
/// ```
/// use torsion_protocols::banana::{encode, Dialect, Item};
///
/// let mut out = Vec::new();
/// encode(&Item::Int(300), Dialect::Pb, &mut out).unwrap();
/// encode(&Item::string("list"), Dialect::Pb, &mut out).unwrap();
/// encode(&Item::string("list"), Dialect::Plain, &mut out).unwrap();
/// assert_eq!(out, b"\x2c\x02\x81\x08\x87\x04\x82list");
/// ```
pub fn encode(item: &Item<'_>, dialect: Dialect, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    let written = write(item, dialect, out, 0);
    if written.is_err() {
        out.truncate(start);
    }
    written
}

/// `item` as Banana bytes (see [`encode`]).
pub fn encoded(item: &Item<'_>, dialect: Dialect) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode(item, dialect, &mut out)?;
    Ok(out)
}

fn write(item: &Item<'_>, dialect: Dialect, out: &mut Vec<u8>, depth: usize) -> Result<(), EncodeError> {
    match item {
        Item::List(items) => {
            if depth >= DEFAULT_MAX_DEPTH {
                return Err(EncodeError::TooDeep);
            }
            if items.len() > SIZE_LIMIT {
                return Err(EncodeError::TooLong {
                    what: "list",
                    length: items.len(),
                });
            }
            header(out, items.len() as u64);
            out.push(LIST);
            for item in items {
                write(item, dialect, out, depth + 1)?;
            }
        }
        Item::Int(n) => {
            let type_byte = match *n {
                0..=0x7fff_ffff => INT,
                0x8000_0000.. => LONGINT,
                -0x8000_0000..=-1 => NEG,
                _ => LONGNEG,
            };
            header(out, n.unsigned_abs());
            out.push(type_byte);
        }
        Item::Long(n) => {
            // Only integers outside an i64 get here: always the LONG forms.
            let digits = n.magnitude().to_radix_le(128);
            if digits.len() > PREFIX_LIMIT {
                return Err(EncodeError::IntegerTooLarge);
            }
            out.extend_from_slice(&digits);
            out.push(if n.sign() == Sign::Minus { LONGNEG } else { LONGINT });
        }
        Item::Float(x) => {
            out.push(FLOAT);
            out.extend_from_slice(&x.to_be_bytes());
        }
        Item::String(bytes) => match vocab::number(bytes).filter(|_| dialect == Dialect::Pb) {
            Some(number) => {
                header(out, u64::from(number));
                out.push(VOCAB);
            }
            None => {
                if bytes.len() > SIZE_LIMIT {
                    return Err(EncodeError::TooLong {
                        what: "string",
                        length: bytes.len(),
                    });
                }
                header(out, bytes.len() as u64);
                out.push(STRING);
                out.extend_from_slice(bytes);
            }
        },
    }
    Ok(())
}

/// `n` in base 128, least significant digit first; 0 is one zero digit.
fn header(out: &mut Vec<u8>, mut n: u64) {
    loop {
        out.push((n & 0x7f) as u8);
        n >>= 7;
        if n == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use num_bigint::BigInt;

    use super::*;
    use crate::banana::BananaDecoder;
    use crate::{Decoder, Parsed};

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn plain(item: &Item<'_>) -> String {
        hex(&encoded(item, Dialect::Plain).unwrap())
    }

    /// Byte for byte what Twisted's `banana.encode` writes (Twisted 26.1).
    #[test]
    fn writes_integers_as_twisted_does() {
        let cases: &[(i64, &str)] = &[
            (0, "0081"),
            (1, "0181"),
            (127, "7f81"),
            (128, "000181"),
            (300, "2c0281"),
            (2_147_483_647, "7f7f7f7f0781"),
            (2_147_483_648, "000000000885"),
            (-1, "0183"),
            (-128, "000183"),
            (-2_147_483_648, "000000000883"),
            (-2_147_483_649, "010000000886"),
            (i64::MIN, "0000000000000000000186"),
        ];
        for (n, wire) in cases {
            assert_eq!(plain(&Item::Int(*n)), *wire, "{n}");
        }
        let two_64 = BigInt::from(1u8) << 64u32;
        assert_eq!(plain(&Item::Long(two_64.clone() + 5u8)), "0500000000000000000285");
        assert_eq!(plain(&Item::Long(-two_64.clone())), "0000000000000000000286");
        assert_eq!(
            plain(&Item::Long((BigInt::from(1u8) << 448u32) - 1)),
            format!("{}85", "7f".repeat(64))
        );
        assert_eq!(
            encoded(&Item::Long(BigInt::from(1u8) << 448u32), Dialect::Plain),
            Err(EncodeError::IntegerTooLarge)
        );
    }

    #[test]
    fn writes_floats_strings_and_lists_as_twisted_does() {
        assert_eq!(plain(&Item::Float(1.5)), "843ff8000000000000");
        assert_eq!(plain(&Item::Float(-0.0)), "848000000000000000");
        assert_eq!(plain(&Item::bytes(b"")), "0082");
        assert_eq!(plain(&Item::bytes(b"hello")), "058268656c6c6f");
        assert_eq!(
            plain(&Item::owned(vec![b'x'; 200])),
            format!("480182{}", "78".repeat(200))
        );
        assert_eq!(plain(&Item::list(vec![])), "0080");
        let nested = Item::list(vec![
            Item::Int(1),
            Item::list(vec![Item::Int(2), Item::bytes(b"a")]),
        ]);
        assert_eq!(plain(&nested), "0280018102800281018261");
    }

    #[test]
    fn the_pb_dialect_sends_vocabulary_words_by_number() {
        let pb = |item: &Item<'_>| hex(&encoded(item, Dialect::Pb).unwrap());
        assert_eq!(pb(&Item::string("None")), "0187");
        assert_eq!(pb(&Item::string("list")), "0887");
        assert_eq!(plain(&Item::string("None")), "04824e6f6e65");
        // Twisted's client picking its dialect, then its version message.
        assert_eq!(plain(&Item::string("pb")), "02827062");
        let version = Item::list(vec![Item::string("version"), Item::Int(6)]);
        assert_eq!(pb(&version), "028013870681");
        // Words that are not in the vocabulary go as strings.
        assert_eq!(pb(&Item::string("unicode")), "0782756e69636f6465");
    }

    #[test]
    fn bounds_are_refused_and_nothing_is_written() {
        let mut out = vec![1, 2, 3];
        let long = Item::list(vec![Item::owned(vec![0; SIZE_LIMIT + 1])]);
        assert_eq!(
            encode(&long, Dialect::Pb, &mut out),
            Err(EncodeError::TooLong {
                what: "string",
                length: SIZE_LIMIT + 1
            })
        );
        assert_eq!(out, [1, 2, 3]);
        let mut deep = Item::list(vec![]);
        for _ in 0..DEFAULT_MAX_DEPTH {
            deep = Item::list(vec![deep]);
        }
        assert_eq!(encoded(&deep, Dialect::Pb), Err(EncodeError::TooDeep));
    }

    #[test]
    fn what_is_written_reads_back() {
        let item = Item::list(vec![
            Item::string("message"),
            Item::Int(-7),
            Item::Long(-(BigInt::from(1u8) << 100u32)),
            Item::Float(f64::MAX),
            Item::list(vec![Item::string("tuple"), Item::bytes(b"\x80\xff")]),
        ]);
        for dialect in [Dialect::Pb, Dialect::Plain] {
            let wire = encoded(&item, dialect).unwrap();
            let mut decoder = BananaDecoder::new(dialect);
            assert_eq!(decoder.decode(&wire), Parsed::Complete(item.clone(), wire.len()));
        }
    }
}
