//! [`AmpBox`]: a box to send, and how it is written on the wire.

use std::collections::BTreeMap;
use std::fmt;

use super::argument::Argument;
use super::wire::{MAX_KEY_LENGTH, MAX_VALUE_LENGTH};

/// A box that cannot be written: a key or value is too long, a key is
/// empty, or the box has no key at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// An empty key would end the box early.
    EmptyKey,
    /// A key longer than [`MAX_KEY_LENGTH`].
    KeyTooLong {
        /// The key's length.
        length: usize,
    },
    /// A value longer than [`MAX_VALUE_LENGTH`].
    ValueTooLong {
        /// The key the value belongs to (lossily decoded).
        key: String,
        /// The value's length.
        length: usize,
    },
    /// A box with no key: on the wire it would read as the end of a box.
    EmptyBox,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::EmptyKey => f.write_str("an AMP key cannot be empty"),
            EncodeError::KeyTooLong { length } => {
                write!(f, "an AMP key of {length} bytes is longer than {MAX_KEY_LENGTH}")
            }
            EncodeError::ValueTooLong { key, length } => write!(
                f,
                "the AMP value of {key:?} ({length} bytes) is longer than {MAX_VALUE_LENGTH}"
            ),
            EncodeError::EmptyBox => f.write_str("an AMP box needs at least one key"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// A box to send: keys and values, both bytes. Twisted's `AmpBox`.
///
/// Keys are kept sorted, and a box is written in key order, as Twisted
/// writes it, so the same box gives the same bytes on either side.
/// Inserting a key again replaces its value.
///
/// # Examples
///
/// ```
/// use torsion_protocols::amp::AmpBox;
///
/// let mut b = AmpBox::new();
/// b.insert("_command", "Sum");
/// b.put("a", &13i64);
/// let mut wire = Vec::new();
/// b.encode(&mut wire).unwrap();
/// assert_eq!(wire, b"\x00\x08_command\x00\x03Sum\x00\x01a\x00\x0213\x00\x00");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AmpBox {
    pairs: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl AmpBox {
    /// An empty box.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`; returns the value it replaces.
    pub fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Option<Vec<u8>> {
        self.pairs.insert(key.into(), value.into())
    }

    /// Sets `key` to `value` written as its AMP type (see [`Argument`]).
    pub fn put<A: Argument>(&mut self, key: impl Into<Vec<u8>>, value: &A) {
        let mut bytes = Vec::new();
        value.write(&mut bytes);
        self.pairs.insert(key.into(), bytes);
    }

    /// Sets `key` as [`put`](AmpBox::put) does if `value` is `Some`; an
    /// optional argument that is `None` is left out, as in Twisted.
    pub fn put_optional<A: Argument>(&mut self, key: impl Into<Vec<u8>>, value: Option<&A>) {
        if let Some(value) = value {
            self.put(key, value);
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.pairs.get(key).map(Vec::as_slice)
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        self.pairs.remove(key)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether the box has no key.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// The bytes [`encode`](AmpBox::encode) appends.
    pub fn encoded_len(&self) -> usize {
        self.pairs
            .iter()
            .map(|(k, v)| 4 + k.len() + v.len())
            .sum::<usize>()
            + 2
    }

    /// Checks every bound without writing anything.
    pub fn check(&self) -> Result<(), EncodeError> {
        if self.pairs.is_empty() {
            return Err(EncodeError::EmptyBox);
        }
        for (key, value) in &self.pairs {
            if key.is_empty() {
                return Err(EncodeError::EmptyKey);
            }
            if key.len() > MAX_KEY_LENGTH {
                return Err(EncodeError::KeyTooLong { length: key.len() });
            }
            if value.len() > MAX_VALUE_LENGTH {
                return Err(EncodeError::ValueTooLong {
                    key: String::from_utf8_lossy(key).into_owned(),
                    length: value.len(),
                });
            }
        }
        Ok(())
    }

    /// Appends the box to `out`: for each pair a 16-bit big-endian key
    /// length, the key, a 16-bit value length, the value; then two zero
    /// bytes. On error nothing is appended.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.check()?;
        out.reserve(self.encoded_len());
        for (key, value) in &self.pairs {
            for part in [key, value] {
                // check() bounded both lengths to 16 bits.
                let length = u16::try_from(part.len()).unwrap_or(u16::MAX);
                out.extend_from_slice(&length.to_be_bytes());
                out.extend_from_slice(part);
            }
        }
        out.extend_from_slice(&[0, 0]);
        Ok(())
    }

    /// The box's wire bytes (see [`encode`](AmpBox::encode)).
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

impl<K: Into<Vec<u8>>, V: Into<Vec<u8>>> FromIterator<(K, V)> for AmpBox {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        AmpBox {
            pairs: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_in_key_order_with_big_endian_lengths() {
        let b: AmpBox = [("b", "2"), ("a", "1")].into_iter().collect();
        assert_eq!(
            b.to_bytes().unwrap(),
            b"\x00\x01a\x00\x011\x00\x01b\x00\x012\x00\x00"
        );
        assert_eq!(b.encoded_len(), b.to_bytes().unwrap().len());
    }

    #[test]
    fn bounds_are_checked_before_writing() {
        let mut out = Vec::new();
        assert_eq!(AmpBox::new().encode(&mut out), Err(EncodeError::EmptyBox));
        let b: AmpBox = [("", "x")].into_iter().collect();
        assert_eq!(b.encode(&mut out), Err(EncodeError::EmptyKey));
        let b: AmpBox = [(vec![b'k'; 256], b"x".to_vec())].into_iter().collect();
        assert_eq!(b.encode(&mut out), Err(EncodeError::KeyTooLong { length: 256 }));
        let b: AmpBox = [(b"k".to_vec(), vec![0; 65_536])].into_iter().collect();
        assert!(matches!(
            b.encode(&mut out),
            Err(EncodeError::ValueTooLong { .. })
        ));
        assert!(out.is_empty());
        // The largest key and value are fine.
        let b: AmpBox = [(vec![b'k'; 255], vec![0; 65_535])].into_iter().collect();
        assert_eq!(b.to_bytes().unwrap().len(), 2 + 255 + 2 + 65_535 + 2);
    }
}
