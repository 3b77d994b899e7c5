//! A meta request's key: the token as sent, or the bytes it decodes to when
//! the `b` flag says it is base64 (memcached's binary keys).

use super::MAX_DECODED_KEY_LEN;
use crate::memcache::base64;

/// A key as sent, or decoded from base64 when the `b` flag was given.
#[derive(Clone, Copy)]
pub struct Key<'a> {
    token: &'a [u8],
    decoded: [u8; MAX_DECODED_KEY_LEN],
    decoded_len: u8,
    binary: bool,
}

impl<'a> Key<'a> {
    pub(super) fn raw(token: &'a [u8]) -> Self {
        Key {
            token,
            decoded: [0; MAX_DECODED_KEY_LEN],
            decoded_len: 0,
            binary: false,
        }
    }

    /// Decodes the token as base64; `false` if it is not valid base64.
    pub(super) fn decode(&mut self) -> bool {
        match base64::decode(self.token, &mut self.decoded) {
            Some(n) => {
                self.decoded_len = n as u8; // n <= MAX_DECODED_KEY_LEN < 256
                self.binary = true;
                true
            }
            None => false,
        }
    }

    /// The key to look up: the token, or its decoded bytes.
    pub fn bytes(&self) -> &[u8] {
        if self.binary {
            &self.decoded[..usize::from(self.decoded_len)]
        } else {
            self.token
        }
    }

    /// The key token as sent.
    pub fn token(&self) -> &'a [u8] {
        self.token
    }

    /// Whether the key was base64-decoded (`b` flag).
    pub fn is_binary(&self) -> bool {
        self.binary
    }
}

impl std::fmt::Debug for Key<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({:?}", self.bytes().escape_ascii().to_string())?;
        if self.binary {
            write!(f, ", b")?;
        }
        write!(f, ")")
    }
}

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes() && self.binary == other.binary
    }
}

impl Eq for Key<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_decoded_keys() {
        let raw = Key::raw(b"Zm9v");
        assert_eq!(
            (raw.bytes(), raw.token(), raw.is_binary()),
            (&b"Zm9v"[..], &b"Zm9v"[..], false)
        );
        let mut binary = raw;
        assert!(binary.decode());
        assert_eq!(
            (binary.bytes(), binary.token(), binary.is_binary()),
            (&b"foo"[..], &b"Zm9v"[..], true)
        );
        assert_ne!(raw, binary);
        assert_eq!(format!("{binary:?}"), "Key(\"foo\", b)");
        assert!(!Key::raw(b"Zm9").decode());
    }
}
