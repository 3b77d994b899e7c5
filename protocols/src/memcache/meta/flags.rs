//! A meta request's flags: each a token whose first byte names it and whose
//! rest is its argument (`T30`, `Oabc`), checked as memcached's
//! `_meta_flag_preparse` checks them, and kept in request order, since
//! replies echo return flags in that order.

use super::key::Key;
use super::{ErrorKind, MAX_OPAQUE_LEN, MAX_TOKENS};
use crate::memcache::number::{safe_strtol, safe_strtoul, safe_strtoull};

/// The flags of a meta request: the tokens in order (replies echo return flags
/// in that order) and what they ask for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Flags<'a> {
    tokens: [&'a [u8]; MAX_TOKENS],
    count: u8,
    /// `v`: return the value.
    pub value: bool,
    /// `q`: quiet, suppress the nominal replies (see each command).
    pub quiet: bool,
    /// `u`: do not bump the item in the LRU.
    pub no_bump: bool,
    /// `I`: invalidate (`md`: mark stale; `ms`: allow a stale compare-and-swap).
    pub invalidate: bool,
    /// `N(ttl)`: vivify on a miss with this expiration time.
    pub vivify: Option<i32>,
    /// `T(ttl)`: update the expiration time.
    pub ttl: Option<i32>,
    /// `R(ttl)`: win the recache token if less than this is left to live.
    pub recache: Option<i32>,
    /// `F(flags)`: client flags to store.
    pub client_flags: Option<u32>,
    /// `C(cas)`: compare this CAS unique.
    pub compare_cas: Option<u64>,
    /// `J(n)`: `ma`'s initial value when vivifying.
    pub initial: Option<u64>,
    /// `D(n)`: `ma`'s delta.
    pub delta: Option<u64>,
    mode: Option<u8>,
}

impl<'a> Flags<'a> {
    pub(super) fn new() -> Self {
        Flags {
            tokens: [&[]; MAX_TOKENS],
            count: 0,
            value: false,
            quiet: false,
            no_bump: false,
            invalidate: false,
            vivify: None,
            ttl: None,
            recache: None,
            client_flags: None,
            compare_cas: None,
            initial: None,
            delta: None,
            mode: None,
        }
    }

    /// The flag tokens, in request order (`b'O'` tokens include their `O`).
    pub fn tokens(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.tokens[..usize::from(self.count)].iter().copied()
    }

    /// Whether a flag named `flag` was given.
    pub fn has(&self, flag: u8) -> bool {
        self.tokens().any(|t| t.first() == Some(&flag))
    }

    /// For `N` with `T` on a created item: the expiration time that ends up
    /// on it. memcached applies both in token order, so the later one wins.
    pub fn vivify_exptime(&self) -> Option<i32> {
        let vivify = self.vivify?;
        let mut exptime = vivify;
        for token in self.tokens() {
            match token.first() {
                Some(b'N') => exptime = vivify,
                Some(b'T') => exptime = self.ttl.unwrap_or(exptime),
                _ => {}
            }
        }
        Some(exptime)
    }
}

impl Flags<'_> {
    /// The `M` flag's mode byte, if given (`ms` and `ma` read it).
    pub(super) fn mode(&self) -> Option<u8> {
        self.mode
    }
}

impl std::fmt::Debug for Flags<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.tokens().map(|t| t.escape_ascii().to_string()))
            .finish()
    }
}

pub(super) fn check_opaque(flags: &Flags<'_>) -> Result<(), ErrorKind> {
    if flags
        .tokens()
        .any(|t| t.first() == Some(&b'O') && t.len() > MAX_OPAQUE_LEN)
    {
        return Err(ErrorKind::OpaqueTooLong);
    }
    Ok(())
}

/// memcached's `_meta_flag_preparse`: every flag in order. A duplicate or
/// unknown flag stops at once; a bad number (or an `M` token not two bytes
/// long) is remembered, the last message winning, and checking goes on.
pub(super) fn preparse<'a>(key: &mut Key<'a>, words: &[&'a [u8]]) -> Result<Flags<'a>, ErrorKind> {
    let mut flags = Flags::new();
    for &token in words {
        flags.tokens[usize::from(flags.count)] = token;
        flags.count += 1;
    }
    let mut seen = [false; 128];
    let mut error: Option<ErrorKind> = None;
    let mut failed = false;
    for i in 0..usize::from(flags.count) {
        let token = flags.tokens[i];
        let name = token[0]; // tokens are never empty
        if name >= 127 || seen[usize::from(name)] {
            return Err(ErrorKind::DuplicateFlag);
        }
        seen[usize::from(name)] = true;
        let arg = &token[1..];
        let mut bad = |kind: Option<ErrorKind>| {
            failed = true;
            if kind.is_some() {
                error = kind;
            }
        };
        match name {
            b'b' => {
                if !key.decode() {
                    bad(Some(ErrorKind::KeyDecode));
                }
            }
            b'N' => match safe_strtol(arg) {
                Some(n) => flags.vivify = Some(n),
                None => bad(Some(ErrorKind::BadToken)),
            },
            b'T' => match safe_strtol(arg) {
                Some(n) => flags.ttl = Some(n),
                None => bad(Some(ErrorKind::BadToken)),
            },
            b'R' => match safe_strtol(arg) {
                Some(n) => flags.recache = Some(n),
                None => bad(Some(ErrorKind::BadToken)),
            },
            b'F' => match safe_strtoul(arg) {
                Some(n) => flags.client_flags = Some(n),
                None => bad(None),
            },
            b'C' => match safe_strtoull(arg) {
                Some(n) => flags.compare_cas = Some(n),
                None => bad(Some(ErrorKind::BadToken)),
            },
            b'J' => match safe_strtoull(arg) {
                Some(n) => flags.initial = Some(n),
                None => bad(Some(ErrorKind::InvalidInitial)),
            },
            b'D' => match safe_strtoull(arg) {
                Some(n) => flags.delta = Some(n),
                None => bad(Some(ErrorKind::InvalidDelta)),
            },
            b'M' => match arg {
                [mode] => flags.mode = Some(*mode),
                _ => bad(Some(ErrorKind::ModeLength)),
            },
            b'v' => flags.value = true,
            b'q' => flags.quiet = true,
            b'u' => flags.no_bump = true,
            b'I' => flags.invalidate = true,
            // Known flags with no parse-time effect (P and L are the proxy's).
            b'k' | b's' | b't' | b'c' | b'f' | b'h' | b'l' | b'O' | b'P' | b'L' => {}
            _ => return Err(ErrorKind::InvalidFlag),
        }
    }
    if failed {
        return Err(error.unwrap_or(ErrorKind::BadFormat));
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{complete, err};
    use super::*;

    #[test]
    fn flag_errors() {
        for (line, kind) in [
            (&b"mg foo v v\r\n"[..], ErrorKind::DuplicateFlag),
            (b"mg foo \xff\r\n", ErrorKind::DuplicateFlag),
            (b"mg foo m o o o\r\n", ErrorKind::InvalidFlag),
            (b"mg foo E5\r\n", ErrorKind::InvalidFlag),
            (b"mg foo x\r\n", ErrorKind::InvalidFlag),
            (b"mg foo Tx\r\n", ErrorKind::BadToken),
            (b"mg foo N\r\n", ErrorKind::BadToken),
            (b"mg foo R1.5\r\n", ErrorKind::BadToken),
            (b"mg foo C-1\r\n", ErrorKind::BadToken),
            (b"mg foo Fx\r\n", ErrorKind::BadFormat),
            (b"mg foo Jx\r\n", ErrorKind::InvalidInitial),
            (b"mg foo Dx\r\n", ErrorKind::InvalidDelta),
            (b"mg foo M\r\n", ErrorKind::ModeLength),
            (b"mg foo MEX\r\n", ErrorKind::ModeLength),
            // A bad number is remembered, but an invalid flag stops at once.
            (b"mg foo Tx Dy\r\n", ErrorKind::InvalidDelta),
            (b"mg foo Fx Tx\r\n", ErrorKind::BadToken),
            (b"mg foo Tx Fx\r\n", ErrorKind::BadToken),
            (b"mg foo Tx z\r\n", ErrorKind::InvalidFlag),
            (b"mg foo Tx v v\r\n", ErrorKind::DuplicateFlag),
        ] {
            let e = err(line);
            assert_eq!((e.kind, e.swallow), (kind, None), "{}", line.escape_ascii());
            assert!(kind.reply().starts_with(b"CLIENT_ERROR "));
        }
    }

    #[test]
    fn opaque_tokens() {
        let opaque = format!("mg k O{}\r\n", "x".repeat(MAX_OPAQUE_LEN - 1));
        assert!(complete(opaque.as_bytes()).0.flags.has(b'O'));
        let opaque = format!("mg k O{}\r\n", "x".repeat(MAX_OPAQUE_LEN));
        assert_eq!(err(opaque.as_bytes()).kind, ErrorKind::OpaqueTooLong);
        assert_eq!(
            format!("{:?}", complete(b"mg k v Oz\r\n").0.flags),
            "[\"v\", \"Oz\"]"
        );
    }
}
