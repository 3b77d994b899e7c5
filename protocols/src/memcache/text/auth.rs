//! The first request of a connection to a server that requires text
//! authentication (memcached's `-Y`): a `set` whose data block carries
//! `user password`.
//!
//! Until a connection authenticates, every line is read as an attempt: a
//! line of at least five words, the first `set` and the fifth a length,
//! announces a token block of that length (the key, flags and exptime are
//! ignored); any other line is refused ([`AuthRefused::Unauthenticated`]),
//! and so are the bytes of a binary request, read as text. The block's
//! words are split by [`credentials`].
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::text::auth::{AuthDecoder, AuthRefused, credentials};
//! use torsion_protocols::memcache::body::{Body, Head};
//! use torsion_protocols::{Decoder, Parsed};
//!
//! let mut decoder = AuthDecoder::default();
//! let Parsed::Complete(head, consumed) = decoder.decode(b"set any 0 0 7\r\nfoo bar\r\n") else {
//!     panic!()
//! };
//! assert_eq!(consumed, 15);
//! assert!(matches!(head.body(), Body::Value(block) if block.len == 7));
//! assert_eq!(credentials(b"foo  bar baz"), Some((&b"foo"[..], &b"bar"[..])));
//! let refused = decoder.decode(b"get foo\r\n");
//! assert!(matches!(refused, Parsed::Error(e) if e.error == AuthRefused::Unauthenticated));
//! ```

use super::super::body::{Block, Body, Head};
use super::super::line::{LineDecoder, LineError, LineParser, LineTooLong};

/// The words a token line needs: `set <key> <flags> <exptime> <bytes>`.
const TOKEN_LINE_WORDS: usize = 5;

/// What ends a token block.
const TRAILER: &[u8] = b"\r\n";

/// A token line: a block of `len` bytes (and `\r\n`) follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthHead {
    /// Bytes of the token block.
    pub len: usize,
}

impl Head for AuthHead {
    fn body(&self) -> Body {
        Body::Value(Block {
            key_len: 0,
            len: self.len,
            trailer: TRAILER,
        })
    }
}

/// Why a line is not a token line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthRefused {
    /// Not `set` with a length: memcached answers `CLIENT_ERROR
    /// unauthenticated`.
    Unauthenticated,
    /// No newline within [`MAX_LINE_LEN`](super::MAX_LINE_LEN) bytes: the
    /// connection closes.
    TooLong,
}

impl From<LineTooLong> for AuthRefused {
    fn from(_: LineTooLong) -> Self {
        AuthRefused::TooLong
    }
}

impl super::super::body::Refusal for LineError<AuthRefused> {
    fn consumed(&self) -> usize {
        self.consumed
    }
}

/// Parses one line of an unauthenticated connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthLine;

impl LineParser for AuthLine {
    type Request<'a> = AuthHead;
    type Error = AuthRefused;

    fn parse(line: &[u8]) -> Result<AuthHead, AuthRefused> {
        let mut words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
        let head: Vec<&[u8]> = words.by_ref().take(TOKEN_LINE_WORDS).collect();
        if head.len() < TOKEN_LINE_WORDS || head[0] != b"set" {
            return Err(AuthRefused::Unauthenticated);
        }
        let len = head[4];
        if len.is_empty() || !len.iter().all(u8::is_ascii_digit) {
            return Err(AuthRefused::Unauthenticated);
        }
        // Lengths past usize are refused like any too large block.
        let len = std::str::from_utf8(len)
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(usize::MAX);
        Ok(AuthHead { len })
    }
}

/// The decoder of an unauthenticated connection's lines.
pub type AuthDecoder = LineDecoder<AuthLine>;

/// The user and password of a token block: its first two words, split on
/// spaces (runs of spaces count as one, words after the second are
/// ignored); `None` with fewer than two words.
pub fn credentials(block: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut words = block.split(|&b| b == b' ').filter(|w| !w.is_empty());
    Some((words.next()?, words.next()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decoder, Parsed};

    fn decode(input: &[u8]) -> Parsed<AuthHead, LineError<AuthRefused>> {
        AuthDecoder::default().decode(input)
    }

    #[test]
    fn token_lines() {
        assert_eq!(
            decode(b"set k 0 0 7\r\n"),
            Parsed::Complete(AuthHead { len: 7 }, 13)
        );
        assert_eq!(
            decode(b"set k 0 0 7\n"),
            Parsed::Complete(AuthHead { len: 7 }, 12)
        );
        assert_eq!(
            decode(b"set  k 0 0 7 noreply extra\r\n"),
            Parsed::Complete(AuthHead { len: 7 }, 28)
        );
        assert_eq!(decode(b"set k 0 0"), Parsed::Incomplete);
        let huge = decode(b"set k 0 0 99999999999999999999999\r\n");
        assert!(matches!(huge, Parsed::Complete(AuthHead { len: usize::MAX }, _)));
    }

    #[test]
    fn everything_else_is_unauthenticated() {
        for line in [
            &b"get foo\r\n"[..],
            b"set k 0 0\r\n",
            b"set k 0 0 x\r\n",
            b"set k 0 0 -1\r\n",
            b"sets k 0 0 7\r\n",
            b"add k 0 0 7\r\n",
            b"quit\r\n",
            b"\r\n",
            b"\x80\n",
        ] {
            assert_eq!(
                decode(line),
                Parsed::Error(LineError {
                    error: AuthRefused::Unauthenticated,
                    consumed: line.len()
                }),
                "{}",
                line.escape_ascii()
            );
        }
        let long = vec![b'x'; 3000];
        assert!(matches!(decode(&long), Parsed::Error(e) if e.error == AuthRefused::TooLong));
    }

    #[test]
    fn credentials_are_the_first_two_words() {
        assert_eq!(credentials(b"foo bar"), Some((&b"foo"[..], &b"bar"[..])));
        assert_eq!(credentials(b" foo  bar "), Some((&b"foo"[..], &b"bar"[..])));
        assert_eq!(credentials(b"foo bar\r\n"), Some((&b"foo"[..], &b"bar\r\n"[..])));
        assert_eq!(credentials(b"foo"), None);
        assert_eq!(credentials(b"foo\tbar"), None);
        assert_eq!(credentials(b""), None);
    }
}
