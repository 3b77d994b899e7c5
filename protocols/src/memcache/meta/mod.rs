//! memcached's meta protocol (`mg`, `ms`, `md`, `ma`, `me`, `mn`), both
//! ways: request lines parsed and composed, replies composed and parsed.
//!
//! Meta commands travel on the text connection, mixed with the classic
//! commands: [`parse_line`] answers `None` for any other line, so the
//! connection's decoder ([`super::ascii::RequestDecoder`]) frames a line
//! once, offers it here, and hands it to [`super::text`] otherwise. Like the
//! text codec it is sans-I/O and
//! zero-copy: the key and every flag token borrow from the input (a base64 key
//! decoded by the `b` flag is the one copy, at most 186 bytes, held inside the
//! [`Key`]). `ms` yields only its line; [`Request::body`] describes its data
//! block, framed exactly like `set`'s.
//!
//! One file per command: `get` (`mg`), `set` (`ms`), `delete` (`md`),
//! `arith` (`ma`), `debug` (`me`, and `mn`), beside `key` and `flags`, which
//! they share, and `response` (the replies, both ways).
//!
//! # Compatibility
//!
//! The rules are those of memcached 1.6.18 (Debian 12's memcached, the one
//! Torsion's interop suite and benchmark run against): `_meta_flag_preparse`
//! and the `process_m*_command` functions of its `proto_text.c`, and
//! `doc/protocol.txt`. Every reply below was checked byte for byte against
//! that server.
//!
//! - a flag is a token whose first byte names it; the rest of the token is its
//!   argument (`T30`, `Oabc`); replies echo return flags in request order;
//! - a command without a key is `ERROR` (`WANT_TOKENS_MIN`; `me` answers
//!   `CLIENT_ERROR bad command line format`); a key over 250 bytes is
//!   `CLIENT_ERROR bad command line format`;
//! - at most [`MAX_TOKENS`] tokens per line (command and key included), else
//!   `CLIENT_ERROR options flags are too long` (`mg`) or `CLIENT_ERROR options
//!   flags too long` (`ms`, `md`, `ma`);
//! - a repeated flag is `CLIENT_ERROR duplicate flag`, an unknown one
//!   `CLIENT_ERROR invalid flag`, and both stop the check at once; a bad
//!   `N`/`T`/`R`/`C` is `CLIENT_ERROR bad token in command line format`, a
//!   bad `J`/`D` and an `M` not two bytes long have their own messages, a bad
//!   `F` the generic `CLIENT_ERROR bad command line format` (memcached sets no
//!   message for it); these go on checking and the last message wins;
//! - every flag error of `md` and `ma` is `CLIENT_ERROR invalid or duplicate
//!   flag`, as `process_mdelete_command` and `process_marithmetic_command`
//!   override the message;
//! - an `ms` refused while its flags are checked swallows its data block
//!   ([`Error::swallow`]); one refused before (no data length, a bad one, a
//!   key too long, too many tokens) does not: the block is then read as the
//!   next command line;
//! - errors are never silenced by `q`.
//!
//! Newer memcached versions added flags 1.6.18 does not know: `E` (set the
//! CAS unique), `x` (`md` leaving a tombstone), `s` on `ms` (the final size)
//! and `N` on an appending `ms` (vivify). As in 1.6.18, `E` and `x` are
//! refused as unknown flags, `s` on `ms` is ignored and `N` does not make an
//! append vivify. `E` would also defeat the store's O(1) `flush_all`, which
//! compares CAS uniques.
//!
//! Framing (a line ends at `\n`, a `\r` before it and anything after a NUL are
//! dropped, tokens are split on single spaces, leading spaces are skipped, no
//! `\n` within [`MAX_LINE_LEN`] bytes closes the connection) is
//! [`super::line`](mod@super::line)'s, shared with the classic commands.
//!
//! One deliberate difference: an `O` token longer than [`MAX_OPAQUE_LEN`] is
//! refused before the command runs; memcached notices it while writing the
//! reply, after an `N` or an earlier `T` took effect.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::ascii::{Request, RequestDecoder};
//! use torsion_protocols::memcache::meta::{self, Command};
//! use torsion_protocols::{Decoder, Parsed};
//!
//! let Parsed::Complete(Request::Meta(request), consumed) =
//!     RequestDecoder::default().decode(b"mg user:1 v t Oq7\r\nmn\r\n")
//! else { panic!("expected a complete mg") };
//! assert_eq!(consumed, 19);
//! assert_eq!(request.command, Command::Get);
//! assert_eq!(request.key.bytes(), b"user:1");
//! assert!(request.flags.value && !request.flags.quiet);
//! let tokens: Vec<&[u8]> = request.flags.tokens().collect();
//! assert_eq!(tokens, [&b"v"[..], b"t", b"Oq7"]);
//!
//! assert!(meta::parse_line(b"get k").is_none());
//! let mut out = Vec::new();
//! meta::write_code(&mut out, meta::Code::Hd);
//! meta::write_opaque(&mut out, b"Oq7");
//! meta::end_line(&mut out);
//! assert_eq!(out, b"HD Oq7\r\n");
//! ```

mod arith;
mod debug;
mod delete;
mod flags;
mod get;
mod key;
mod response;
mod set;

pub use flags::Flags;
pub use key::Key;
pub use response::{
    end_line, write_code, write_flag, write_flag_number, write_key, write_opaque, write_ttl,
    write_value_header, Code, Response, ResponseDecoder, ReturnFlags,
};

use super::body::{Block, Body, Head};
use super::number::push_u64;
use super::text::MAX_KEY_LEN;

pub use super::line::MAX_LINE_LEN;

/// Most tokens a meta line may have, command and key included (memcached's
/// `MFLAG_MAX_OPT_LENGTH`, 20, counts the tokenizer's terminal token too).
pub const MAX_TOKENS: usize = 19;

/// Longest `O` (opaque) token, the `O` included (`MFLAG_MAX_OPAQUE_LENGTH`).
pub const MAX_OPAQUE_LEN: usize = 32;

/// Longest key a base64 key of at most [`MAX_KEY_LEN`] characters decodes to.
pub const MAX_DECODED_KEY_LEN: usize = MAX_KEY_LEN / 4 * 3;

/// How `ms` stores (its `M` flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetMode {
    /// `MS` or no `M`: store unconditionally (a compare-and-swap with `C`).
    Set,
    /// `ME`: store only if absent (`add`).
    Add,
    /// `MA`: append to the existing value.
    Append,
    /// `MP`: prepend to the existing value.
    Prepend,
    /// `MR`: store only if present (`replace`; with `C`, a compare-and-swap).
    Replace,
}

/// Which way `ma` counts (its `M` flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithMode {
    /// `MI`, `M+` or no `M`: increment, wrapping at 2^64.
    Incr,
    /// `MD` or `M-`: decrement, stopping at 0.
    Decr,
}

/// A meta command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `mg <key> <flags>*`: get.
    Get,
    /// `ms <key> <datalen> <flags>*` and a data block: set.
    Set {
        /// How to store.
        mode: SetMode,
        /// Length of the data block, without its `\r\n`.
        data_len: u32,
    },
    /// `md <key> <flags>*`: delete (or, with `I`, invalidate).
    Delete,
    /// `ma <key> <flags>*`: arithmetic.
    Arithmetic {
        /// Incr or decr.
        mode: ArithMode,
    },
    /// `me <key> [b]`: debug information about an item.
    Debug,
    /// `mn`: no-op; answers `MN`, marking the end of a quiet pipeline.
    Noop,
}

/// One parsed meta request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The command (and for `ms`/`ma`, its mode).
    pub command: Command,
    /// The key (empty for `mn`).
    pub key: Key<'a>,
    /// The flags (none for `me` and `mn`).
    pub flags: Flags<'a>,
}

/// Why a meta line was refused; [`ErrorKind::reply`] is memcached's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `CLIENT_ERROR bad command line format`
    BadFormat,
    /// `CLIENT_ERROR bad token in command line format`
    BadToken,
    /// `ERROR`: a meta command without a key (memcached's `WANT_TOKENS_MIN`).
    UnknownCommand,
    /// `CLIENT_ERROR options flags are too long` (`mg` over [`MAX_TOKENS`]).
    OptionsAreTooLong,
    /// `CLIENT_ERROR options flags too long` (`ms`, `md`, `ma` over [`MAX_TOKENS`]).
    OptionsTooLong,
    /// `CLIENT_ERROR incorrect length for M token` (an `M` not two bytes long).
    ModeLength,
    /// `CLIENT_ERROR duplicate flag`
    DuplicateFlag,
    /// `CLIENT_ERROR invalid flag`
    InvalidFlag,
    /// `CLIENT_ERROR error decoding key`
    KeyDecode,
    /// `CLIENT_ERROR invalid numeric initial value`
    InvalidInitial,
    /// `CLIENT_ERROR invalid numeric delta value`
    InvalidDelta,
    /// `CLIENT_ERROR invalid mode for ms M token`
    InvalidSetMode,
    /// `CLIENT_ERROR invalid mode for ma M token`
    InvalidArithMode,
    /// `CLIENT_ERROR invalid or duplicate flag` (any flag error of `ma`)
    InvalidOrDuplicateFlag,
    /// `CLIENT_ERROR opaque token too long`
    OpaqueTooLong,
}

impl ErrorKind {
    /// The reply line.
    pub fn reply(self) -> &'static [u8] {
        match self {
            ErrorKind::BadFormat => b"CLIENT_ERROR bad command line format\r\n",
            ErrorKind::BadToken => b"CLIENT_ERROR bad token in command line format\r\n",
            ErrorKind::UnknownCommand => b"ERROR\r\n",
            ErrorKind::OptionsAreTooLong => b"CLIENT_ERROR options flags are too long\r\n",
            ErrorKind::OptionsTooLong => b"CLIENT_ERROR options flags too long\r\n",
            ErrorKind::ModeLength => b"CLIENT_ERROR incorrect length for M token\r\n",
            ErrorKind::DuplicateFlag => b"CLIENT_ERROR duplicate flag\r\n",
            ErrorKind::InvalidFlag => b"CLIENT_ERROR invalid flag\r\n",
            ErrorKind::KeyDecode => b"CLIENT_ERROR error decoding key\r\n",
            ErrorKind::InvalidInitial => b"CLIENT_ERROR invalid numeric initial value\r\n",
            ErrorKind::InvalidDelta => b"CLIENT_ERROR invalid numeric delta value\r\n",
            ErrorKind::InvalidSetMode => b"CLIENT_ERROR invalid mode for ms M token\r\n",
            ErrorKind::InvalidArithMode => b"CLIENT_ERROR invalid mode for ma M token\r\n",
            ErrorKind::InvalidOrDuplicateFlag => b"CLIENT_ERROR invalid or duplicate flag\r\n",
            ErrorKind::OpaqueTooLong => b"CLIENT_ERROR opaque token too long\r\n",
        }
    }
}

/// A refused meta line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    /// What was wrong.
    pub kind: ErrorKind,
    /// For an `ms` refused after its data length was read: how many bytes
    /// (data and `\r\n`) to discard after the line, as memcached's
    /// `conn_swallow` does.
    pub swallow: Option<usize>,
}

/// Which meta command a first token names.
fn command_letter(token: &[u8]) -> Option<u8> {
    match token {
        [b'm', c @ (b'g' | b's' | b'd' | b'a' | b'e' | b'n')] => Some(*c),
        _ => None,
    }
}

/// Parses one command line, already framed (see [`super::line`](mod@super::line)): `None`
/// when it is not a meta command.
pub fn parse_line(line: &[u8]) -> Option<Result<Request<'_>, Error>> {
    let mut words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let letter = command_letter(words.next()?)?;
    if letter == b'n' {
        // `mn` takes nothing: "out_string(c, "MN")" whatever follows.
        return Some(Ok(Request {
            command: Command::Noop,
            key: Key::raw(b""),
            flags: Flags::new(),
        }));
    }
    let Some(key_token) = words.next() else {
        // me checks its own token count; the others use WANT_TOKENS_MIN.
        let kind = if letter == b'e' {
            ErrorKind::BadFormat
        } else {
            ErrorKind::UnknownCommand
        };
        return Some(Err(refuse(kind)));
    };
    let key = Key::raw(key_token);
    if letter == b'e' {
        return Some(debug::parse(key, words.next()));
    }
    // The words after the key, up to one more than a line may hold.
    let mut rest: [&[u8]; MAX_TOKENS] = [&[]; MAX_TOKENS];
    let mut count = 0;
    for word in words.take(MAX_TOKENS) {
        rest[count] = word;
        count += 1;
    }
    let rest = &rest[..count];
    Some(match letter {
        b's' => set::parse(key, rest),
        b'a' => arith::parse(key, rest),
        b'd' => delete::parse(key, rest),
        _ => get::parse(key, rest),
    })
}

fn refuse(kind: ErrorKind) -> Error {
    Error { kind, swallow: None }
}

/// The checks every meta command (but `me` and `mn`) makes before its flags,
/// in memcached's order: a key (`WANT_TOKENS_MIN`, else `ERROR`), its length,
/// then the token count. `fixed` is the number of tokens before the flags (2,
/// or 3 for `ms`).
fn check_line(key: &Key<'_>, fixed: usize, words: &[&[u8]], too_long: ErrorKind) -> Result<(), Error> {
    if key.token().len() > MAX_KEY_LEN {
        return Err(refuse(ErrorKind::BadFormat));
    }
    if fixed + words.len() > MAX_TOKENS {
        return Err(refuse(too_long));
    }
    Ok(())
}

impl Head for Request<'_> {
    /// What follows the line: `ms`'s data block, else nothing.
    fn body(&self) -> Body {
        match self.command {
            Command::Set { data_len, .. } => Body::Value(Block {
                key_len: self.key.bytes().len(),
                len: data_len as usize,
                trailer: b"\r\n",
            }),
            _ => Body::None,
        }
    }
}

impl Request<'_> {
    /// Appends the command line: the command, the key as sent, `ms`'s data
    /// length, and the flag tokens in order (for `ms`, the data block follows:
    /// [`super::text::write_block`]).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match self.command {
            Command::Get => b"mg",
            Command::Set { .. } => b"ms",
            Command::Delete => b"md",
            Command::Arithmetic { .. } => b"ma",
            Command::Debug => b"me",
            Command::Noop => b"mn",
        });
        if self.command != Command::Noop {
            out.push(b' ');
            out.extend_from_slice(self.key.token());
        }
        if let Command::Set { data_len, .. } = self.command {
            out.push(b' ');
            push_u64(out, data_len.into());
        }
        if self.command == Command::Debug && self.key.is_binary() {
            out.extend_from_slice(b" b");
        }
        for token in self.flags.tokens() {
            out.push(b' ');
            out.extend_from_slice(token);
        }
        end_line(out);
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::memcache::ascii::{self, Refused, RequestDecoder};
    use crate::memcache::line::LineError;
    use crate::{Decoder, Parsed};
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// The meta request at the start of `input`, which must be whole and valid.
    pub(super) fn complete(input: &[u8]) -> (Request<'_>, usize) {
        match RequestDecoder::default().decode(input) {
            Parsed::Complete(ascii::Request::Meta(request), consumed) => (request, consumed),
            other => panic!("{}: {other:?}", input.escape_ascii()),
        }
    }

    /// Why the meta line at the start of `input` is refused.
    pub(super) fn err(input: &[u8]) -> Error {
        match RequestDecoder::default().decode(input) {
            Parsed::Error(LineError {
                error: Refused::Meta(error),
                ..
            }) => error,
            other => panic!("{}: {other:?}", input.escape_ascii()),
        }
    }

    pub(super) fn tokens<'a>(r: &Request<'a>) -> Vec<&'a [u8]> {
        r.flags.tokens().collect()
    }

    #[test]
    fn routing() {
        for line in "get k|set k 0 0 1|mx k|mget k|m||misbehave".split('|') {
            assert!(parse_line(line.as_bytes()).is_none(), "{line:?}");
        }
        let (r, c) = complete(b"  mg k\r\n");
        assert_eq!((r.command, c), (Command::Get, 8));
        // A NUL ends the line, as strlen does.
        let (r, _) = complete(b"mg k\0 v\r\n");
        assert!(!r.flags.value);
        assert_eq!(RequestDecoder::default().decode(b"mg k v"), Parsed::Incomplete);
    }

    #[test]
    fn keyless_commands() {
        for (line, kind) in [
            (&b"mg\r\n"[..], ErrorKind::UnknownCommand),
            (b"md\r\n", ErrorKind::UnknownCommand),
            (b"ma\r\n", ErrorKind::UnknownCommand),
            (b"ms\r\n", ErrorKind::UnknownCommand),
            (b"me\r\n", ErrorKind::BadFormat),
        ] {
            assert_eq!(err(line), refuse(kind), "{}", line.escape_ascii());
        }
    }

    /// Lines used by the split tests: every command, good and bad.
    const LINES: &[&[u8]] = &[
        b"mg k s v t c f l h k Oabc q u\r\n",
        b"mg k N30 R10 T5\n",
        b"ms k 5 T30 F7 c q I C99 MA N1\r\n",
        b"ms k 3 MZ\r\n",
        b"ms k x\r\n",
        b"md k q I T30 C5 Oa k\r\n",
        b"ma k MD D3 J1 N0 v c t\r\n",
        b"ma k v v\r\n",
        b"me k\r\n",
        b"mn\r\n",
        b"mg\r\n",
        b"get k\r\n",
    ];

    #[test]
    fn every_split_gives_the_same_result() {
        for whole in LINES {
            let expected = RequestDecoder::default().decode(whole);
            assert_ne!(expected, Parsed::Incomplete);
            let mut decoder = RequestDecoder::default();
            for cut in 0..whole.len() {
                assert_eq!(decoder.decode(&whole[..cut]), Parsed::Incomplete);
            }
            assert_eq!(decoder.decode(whole), expected);
            let mut more = whole.to_vec();
            more.extend_from_slice(b"mg x v\r\n");
            assert_eq!(RequestDecoder::default().decode(&more), expected);
        }
    }

    /// A meta line of valid flag tokens, for the round trip.
    fn meta_line() -> impl Strategy<Value = Vec<u8>> {
        let flag = prop_oneof![
            "[bkvqustcfhlIPL]",
            "O[a-z0-9]{0,30}",
            "[NTR]-?[0-9]{1,9}",
            "[CFJD][0-9]{1,9}",
        ];
        let key = prop_oneof!["[a-z0-9:_]{1,250}", Just("Zm9v".to_string())];
        (0..6usize, key, vec(flag, 0..12), 0u32..1000, "M[SEAPRID+-]?").prop_map(
            |(cmd, key, flags, len, mode)| {
                let mut line = format!("{} {key}", ["mg", "ms", "md", "ma", "me", "mn"][cmd]);
                if cmd == 1 {
                    line.push_str(&format!(" {len}"));
                }
                for flag in &flags {
                    line.push(' ');
                    line.push_str(flag);
                }
                if mode.len() == 2 {
                    line.push(' ');
                    line.push_str(&mode);
                }
                line.push_str("\r\n");
                line.into_bytes()
            },
        )
    }

    proptest! {
        #[test]
        fn every_request_composed_parses_back(line in meta_line()) {
            if let Parsed::Complete(ascii::Request::Meta(request), _) = RequestDecoder::default().decode(&line) {
                let mut wire = Vec::new();
                request.write(&mut wire);
                let (again, consumed) = complete(&wire);
                prop_assert_eq!(again, request);
                prop_assert_eq!(tokens(&again), tokens(&request));
                prop_assert_eq!(consumed, wire.len());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..3000)) {
            let _ = RequestDecoder::default().decode(&bytes);
        }

        #[test]
        fn arbitrary_meta_lines_never_panic(line in "m[gsdaen]( [a-zA-Z0-9+/=\\-]{0,12}){0,24}\r?\n") {
            if let Parsed::Complete(request, _) = RequestDecoder::default().decode(line.as_bytes()) {
                let _ = request.body();
            }
        }
    }
}
