//! [`Item`]: one Banana element, an atom or a list of elements.

use std::borrow::Cow;
use std::fmt;

use num_bigint::BigInt;

/// One Banana element: what [`BananaDecoder`](super::BananaDecoder) reads
/// and [`encode`](super::encode) writes.
///
/// Strings borrow from the input when decoded (a vocabulary word borrows
/// from the vocabulary) and may own their bytes when built. Integers that
/// fit an `i64` are [`Item::Int`]; only larger ones are [`Item::Long`], so
/// one value has one form (build them with [`Item::integer`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Item<'a> {
    /// A list of elements.
    List(Vec<Item<'a>>),
    /// An integer that fits an `i64` (INT, NEG, or a small LONGINT/LONGNEG).
    Int(i64),
    /// An integer that does not fit an `i64` (LONGINT or LONGNEG).
    Long(BigInt),
    /// A float (FLOAT).
    Float(f64),
    /// A byte string (STRING, or a VOCAB word).
    String(Cow<'a, [u8]>),
}

impl<'a> Item<'a> {
    /// A string borrowing `bytes`.
    pub fn bytes(bytes: &'a [u8]) -> Self {
        Item::String(Cow::Borrowed(bytes))
    }

    /// A string borrowing the bytes of `text`.
    pub fn string(text: &'a str) -> Self {
        Item::bytes(text.as_bytes())
    }

    /// A string owning `bytes`.
    pub fn owned(bytes: Vec<u8>) -> Self {
        Item::String(Cow::Owned(bytes))
    }

    /// A list.
    pub fn list(items: Vec<Item<'a>>) -> Self {
        Item::List(items)
    }

    /// An integer, as [`Item::Int`] when it fits an `i64`.
    pub fn integer(value: BigInt) -> Self {
        match i64::try_from(&value) {
            Ok(small) => Item::Int(small),
            Err(_) => Item::Long(value),
        }
    }

    /// The elements, if this is a list.
    pub fn as_list(&self) -> Option<&[Item<'a>]> {
        match self {
            Item::List(items) => Some(items),
            _ => None,
        }
    }

    /// The bytes, if this is a string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Item::String(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The integer, if this is one that fits an `i64`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Item::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The same element, owning all its strings.
    pub fn into_owned(self) -> Item<'static> {
        match self {
            Item::List(items) => Item::List(items.into_iter().map(Item::into_owned).collect()),
            Item::Int(n) => Item::Int(n),
            Item::Long(n) => Item::Long(n),
            Item::Float(x) => Item::Float(x),
            Item::String(bytes) => Item::String(Cow::Owned(bytes.into_owned())),
        }
    }

    /// What kind of element this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Item::List(_) => "a list",
            Item::Int(_) | Item::Long(_) => "an integer",
            Item::Float(_) => "a float",
            Item::String(_) => "a string",
        }
    }
}

/// Lisp-like, strings as Python writes bytes: `(version 6)`,
/// `("message" 1 "root")` for strings that are not plain words.
impl fmt::Display for Item<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::List(items) => {
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
            Item::Int(n) => write!(f, "{n}"),
            Item::Long(n) => write!(f, "{n}"),
            Item::Float(x) => write!(f, "{x:?}"),
            Item::String(bytes) => {
                let word = !bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
                if word {
                    f.write_str(&String::from_utf8_lossy(bytes))
                } else {
                    write!(f, "{:?}", bytes.escape_ascii().to_string())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_take_the_small_form_when_they_fit() {
        assert_eq!(Item::integer(BigInt::from(-5i8)), Item::Int(-5));
        assert_eq!(Item::integer(BigInt::from(i64::MIN)), Item::Int(i64::MIN));
        let big = BigInt::from(i64::MAX) + 1u8;
        assert_eq!(Item::integer(big.clone()), Item::Long(big));
    }

    #[test]
    fn display_reads_like_an_s_expression() {
        let item = Item::list(vec![
            Item::string("message"),
            Item::Int(1),
            Item::bytes(b"a b"),
            Item::list(vec![]),
            Item::Float(1.5),
        ]);
        assert_eq!(item.to_string(), "(message 1 \"a b\" () 1.5)");
    }

    #[test]
    fn into_owned_keeps_everything() {
        let owned = {
            let data = b"abc".to_vec();
            Item::list(vec![Item::bytes(&data), Item::Long(BigInt::from(1u8) << 70u32)]).into_owned()
        };
        assert_eq!(owned.as_list().map(<[_]>::len), Some(2));
        assert_eq!(owned.as_list().unwrap()[0].as_bytes(), Some(&b"abc"[..]));
    }
}
