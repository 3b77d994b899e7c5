//! memcached's meta protocol (`mg`, `ms`, `md`, `ma`, `me`, `mn`): parse a
//! command line and compose the pieces of its reply.
//!
//! Meta commands travel on the text connection, mixed with the classic
//! commands: [`parse`] answers [`Parsed::NotMeta`] for any other line, so a
//! session can try it first and fall back to [`super::text::parse`]. Like the
//! text codec it is sans-I/O and zero-copy: the key and every flag token borrow
//! from the input (a base64 key decoded by the `b` flag is the one copy, at
//! most 186 bytes, held inside the [`Key`]). `ms` yields only its line; its data
//! block is read with [`super::text::parse_data_block`], exactly like `set`'s.
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
//! `\n` within [`MAX_LINE_LEN`] bytes closes the connection) is the text
//! codec's, since both share the connection.
//!
//! One deliberate difference: an `O` token longer than [`MAX_OPAQUE_LEN`] is
//! refused before the command runs; memcached notices it while writing the
//! reply, after an `N` or an earlier `T` took effect.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::meta::{self, Command, Parsed};
//!
//! let Parsed::Complete { request, consumed } = meta::parse(b"mg user:1 v t Oq7\r\nmn\r\n")
//! else { panic!("expected a complete mg") };
//! assert_eq!(consumed, 19);
//! assert_eq!(request.command, Command::Get);
//! assert_eq!(request.key.bytes(), b"user:1");
//! assert!(request.flags.value && !request.flags.quiet);
//! let tokens: Vec<&[u8]> = request.flags.tokens().collect();
//! assert_eq!(tokens, [&b"v"[..], b"t", b"Oq7"]);
//!
//! assert_eq!(meta::parse(b"get k\r\n"), Parsed::NotMeta);
//! let mut out = Vec::new();
//! meta::write_code(&mut out, meta::Code::Hd);
//! meta::write_opaque(&mut out, b"Oq7");
//! meta::end_line(&mut out);
//! assert_eq!(out, b"HD Oq7\r\n");
//! ```

use super::base64;
use super::number::{push_u64, safe_strtol, safe_strtoul, safe_strtoull};
use super::text::{MAX_KEY_LEN, MAX_LINE_LEN};

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

/// A key as sent, or decoded from base64 when the `b` flag was given.
#[derive(Clone, Copy)]
pub struct Key<'a> {
    token: &'a [u8],
    decoded: [u8; MAX_DECODED_KEY_LEN],
    decoded_len: u8,
    binary: bool,
}

impl<'a> Key<'a> {
    fn raw(token: &'a [u8]) -> Self {
        Key {
            token,
            decoded: [0; MAX_DECODED_KEY_LEN],
            decoded_len: 0,
            binary: false,
        }
    }

    /// Decodes the token as base64; `false` if it is not valid base64.
    fn decode(&mut self) -> bool {
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
    fn new() -> Self {
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

impl std::fmt::Debug for Flags<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.tokens().map(|t| t.escape_ascii().to_string()))
            .finish()
    }
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
    /// No `\n` within [`MAX_LINE_LEN`] bytes: no reply, close the connection.
    LineTooLong,
}

impl ErrorKind {
    /// The reply line, or `None` when the connection must close instead.
    pub fn reply(self) -> Option<&'static [u8]> {
        Some(match self {
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
            ErrorKind::LineTooLong => return None,
        })
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

/// The result of [`parse`].
///
/// A [`Request`] is a few hundred bytes (up to [`MAX_TOKENS`] borrowed tokens
/// and room for a decoded key); it lives on the stack for one command, which
/// is cheaper than boxing it, hence the allowed size difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
#[allow(clippy::large_enum_variant)]
pub enum Parsed<'a> {
    /// The line is not a meta command: hand it to the text codec.
    NotMeta,
    /// No full line yet.
    Incomplete,
    /// A meta request; `consumed` bytes (its line) belong to it. For `ms`
    /// the data block comes next.
    Complete {
        /// The request.
        request: Request<'a>,
        /// Bytes of input used by the line.
        consumed: usize,
    },
    /// The line was refused: answer [`ErrorKind::reply`], skip `consumed`
    /// bytes, then swallow [`Error::swallow`] more.
    Error {
        /// What to answer.
        error: Error,
        /// Bytes of input used by the line (0 for [`ErrorKind::LineTooLong`]).
        consumed: usize,
    },
}

/// Which meta command a first token names.
fn command_letter(token: &[u8]) -> Option<u8> {
    match token {
        [b'm', c @ (b'g' | b's' | b'd' | b'a' | b'e' | b'n')] => Some(*c),
        _ => None,
    }
}

/// Whether `input` (a line so far, maybe incomplete) may still be a meta
/// command: its first token is, or could grow into, one of the six.
fn may_be_meta(input: &[u8]) -> bool {
    let start = input.iter().take_while(|&&b| b == b' ').count();
    let rest = &input[start..];
    let end = rest
        .iter()
        .position(|&b| matches!(b, b' ' | b'\r' | b'\n' | 0))
        .unwrap_or(rest.len());
    match (&rest[..end], end < rest.len()) {
        ([], _) => rest.is_empty(),
        (token, true) => command_letter(token).is_some(),
        ([b'm'], false) => true,
        (token, false) => command_letter(token).is_some(),
    }
}

/// Parses one meta command line from the start of `input`.
pub fn parse(input: &[u8]) -> Parsed<'_> {
    let Some(newline) = input.iter().position(|&b| b == b'\n') else {
        if !may_be_meta(input) {
            return Parsed::NotMeta;
        }
        if input.len() > MAX_LINE_LEN {
            let error = Error {
                kind: ErrorKind::LineTooLong,
                swallow: None,
            };
            return Parsed::Error { error, consumed: 0 };
        }
        return Parsed::Incomplete;
    };
    let consumed = newline + 1;
    let mut line = &input[..newline];
    if newline > 1 && line[newline - 1] == b'\r' {
        line = &line[..newline - 1];
    }
    if let Some(nul) = line.iter().position(|&b| b == 0) {
        line = &line[..nul];
    }
    let mut words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let Some(letter) = words.next().and_then(command_letter) else {
        return Parsed::NotMeta;
    };
    match parse_line(letter, words) {
        Ok(request) => Parsed::Complete { request, consumed },
        Err(error) => Parsed::Error { error, consumed },
    }
}

fn refuse(kind: ErrorKind) -> Error {
    Error { kind, swallow: None }
}

/// The checks every meta command (but `me` and `mn`) makes before its flags,
/// in memcached's order: a key (`WANT_TOKENS_MIN`, else `ERROR`), its length,
/// then the token count. `fixed` is the number of tokens before the flags (2,
/// or 3 for `ms`).
fn check_line(key: &[u8], fixed: usize, words: &[&[u8]], too_long: ErrorKind) -> Result<(), ErrorKind> {
    if key.len() > MAX_KEY_LEN {
        return Err(ErrorKind::BadFormat);
    }
    if fixed + words.len() > MAX_TOKENS {
        return Err(too_long);
    }
    Ok(())
}

fn parse_line<'a>(letter: u8, mut words: impl Iterator<Item = &'a [u8]>) -> Result<Request<'a>, Error> {
    if letter == b'n' {
        // `mn` takes nothing: "out_string(c, "MN")" whatever follows.
        return Ok(Request {
            command: Command::Noop,
            key: Key::raw(b""),
            flags: Flags::new(),
        });
    }
    let Some(key_token) = words.next() else {
        // me checks its own token count; the others use WANT_TOKENS_MIN.
        let kind = if letter == b'e' {
            ErrorKind::BadFormat
        } else {
            ErrorKind::UnknownCommand
        };
        return Err(refuse(kind));
    };
    let mut key = Key::raw(key_token);
    if letter == b'e' {
        // process_meta_command: only a third token of exactly "b" counts.
        if key_token.len() > MAX_KEY_LEN {
            return Err(refuse(ErrorKind::BadFormat));
        }
        if words.next() == Some(b"b") && !key.decode() {
            return Err(refuse(ErrorKind::BadFormat));
        }
        return Ok(Request {
            command: Command::Debug,
            key,
            flags: Flags::new(),
        });
    }
    // The words after the key, up to one more than a line may hold.
    let mut rest: [&[u8]; MAX_TOKENS] = [&[]; MAX_TOKENS];
    let mut count = 0;
    for word in words.take(MAX_TOKENS) {
        rest[count] = word;
        count += 1;
    }
    let rest = &rest[..count];
    match letter {
        b's' => {
            // process_mset_command: everything refused before the data length
            // is read swallows nothing (the block is read as the next line).
            let Some((len_token, flag_words)) = rest.split_first() else {
                return Err(refuse(ErrorKind::BadFormat));
            };
            check_line(key_token, 3, flag_words, ErrorKind::OptionsTooLong).map_err(refuse)?;
            let data_len = safe_strtol(len_token)
                .filter(|&n| (0..=i32::MAX - 2).contains(&n))
                .ok_or(refuse(ErrorKind::BadFormat))? as u32;
            let swallow = |kind| Error {
                kind,
                swallow: Some(data_len as usize + 2),
            };
            let flags = preparse(&mut key, flag_words).map_err(swallow)?;
            let mode = match flags.mode {
                None | Some(b'S') => SetMode::Set,
                Some(b'E') => SetMode::Add,
                Some(b'A') => SetMode::Append,
                Some(b'P') => SetMode::Prepend,
                Some(b'R') => SetMode::Replace,
                Some(_) => return Err(swallow(ErrorKind::InvalidSetMode)),
            };
            check_opaque(&flags).map_err(swallow)?;
            Ok(Request {
                command: Command::Set { mode, data_len },
                key,
                flags,
            })
        }
        b'a' => {
            // process_marithmetic_command replaces every preparse message.
            check_line(key_token, 2, rest, ErrorKind::OptionsTooLong).map_err(refuse)?;
            let flags = preparse(&mut key, rest).map_err(|_| refuse(ErrorKind::InvalidOrDuplicateFlag))?;
            let mode = match flags.mode {
                None | Some(b'I' | b'+') => ArithMode::Incr,
                Some(b'D' | b'-') => ArithMode::Decr,
                Some(_) => return Err(refuse(ErrorKind::InvalidArithMode)),
            };
            check_opaque(&flags).map_err(refuse)?;
            Ok(Request {
                command: Command::Arithmetic { mode },
                key,
                flags,
            })
        }
        b'd' => {
            // process_mdelete_command: "FIXME: not using the preparse errstr?"
            check_line(key_token, 2, rest, ErrorKind::OptionsTooLong).map_err(refuse)?;
            let flags = preparse(&mut key, rest).map_err(|_| refuse(ErrorKind::InvalidOrDuplicateFlag))?;
            check_opaque(&flags).map_err(refuse)?;
            Ok(Request {
                command: Command::Delete,
                key,
                flags,
            })
        }
        _ => {
            // process_mget_command.
            check_line(key_token, 2, rest, ErrorKind::OptionsAreTooLong).map_err(refuse)?;
            let flags = preparse(&mut key, rest).map_err(refuse)?;
            check_opaque(&flags).map_err(refuse)?;
            Ok(Request {
                command: Command::Get,
                key,
                flags,
            })
        }
    }
}

fn check_opaque(flags: &Flags<'_>) -> Result<(), ErrorKind> {
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
fn preparse<'a>(key: &mut Key<'a>, words: &[&'a [u8]]) -> Result<Flags<'a>, ErrorKind> {
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

/// The two-letter status that starts a meta reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// `HD`: success, no value follows.
    Hd,
    /// `EN`: miss (`mg`, `me`).
    En,
    /// `NF`: not found.
    Nf,
    /// `NS`: not stored.
    Ns,
    /// `EX`: exists (CAS mismatch).
    Ex,
    /// `MN`: the no-op's answer.
    Mn,
}

impl Code {
    /// The two letters.
    pub fn bytes(self) -> &'static [u8; 2] {
        match self {
            Code::Hd => b"HD",
            Code::En => b"EN",
            Code::Nf => b"NF",
            Code::Ns => b"NS",
            Code::Ex => b"EX",
            Code::Mn => b"MN",
        }
    }
}

/// Appends a status code (flags follow, then [`end_line`]).
pub fn write_code(out: &mut Vec<u8>, code: Code) {
    out.extend_from_slice(code.bytes());
}

/// Appends `VA <len>`, the start of a reply carrying a value.
pub fn write_value_header(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(b"VA ");
    push_u64(out, len as u64);
}

/// Appends ` <flag><n>` (`s`, `c`, `f`, `l`, `h`...).
pub fn write_flag_number(out: &mut Vec<u8>, flag: u8, n: u64) {
    out.push(b' ');
    out.push(flag);
    push_u64(out, n);
}

/// Appends ` t<seconds>`, or ` t-1` for an item that never expires.
pub fn write_ttl(out: &mut Vec<u8>, ttl: Option<u32>) {
    match ttl {
        Some(t) => write_flag_number(out, b't', u64::from(t)),
        None => out.extend_from_slice(b" t-1"),
    }
}

/// Appends ` <flag>` (`W`, `X`, `Z`).
pub fn write_flag(out: &mut Vec<u8>, flag: u8) {
    out.push(b' ');
    out.push(flag);
}

/// Appends the opaque token as sent (` Oabc`).
pub fn write_opaque(out: &mut Vec<u8>, token: &[u8]) {
    out.push(b' ');
    out.extend_from_slice(token);
}

/// Appends ` k<key>`, or ` k<base64 key> b` for a binary key (`META_KEY`).
pub fn write_key(out: &mut Vec<u8>, key: &[u8], binary: bool) {
    out.extend_from_slice(b" k");
    if binary {
        base64::encode(key, out);
        out.extend_from_slice(b" b");
    } else {
        out.extend_from_slice(key);
    }
}

/// Ends a reply line with `\r\n`.
pub fn end_line(out: &mut Vec<u8>) {
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn complete(input: &[u8]) -> (Request<'_>, usize) {
        match parse(input) {
            Parsed::Complete { request, consumed } => (request, consumed),
            other => panic!("{}: {other:?}", input.escape_ascii()),
        }
    }

    fn err(input: &[u8]) -> Error {
        match parse(input) {
            Parsed::Error { error, .. } => error,
            other => panic!("{}: {other:?}", input.escape_ascii()),
        }
    }

    fn tokens<'a>(r: &Request<'a>) -> Vec<&'a [u8]> {
        r.flags.tokens().collect()
    }

    #[test]
    fn routing() {
        for line in [
            &b"get k\r\n"[..],
            b"set k 0 0 1\r\n",
            b"mx k\r\n",
            b"mget k\r\n",
            b"m\r\n",
            b"\r\n",
            b"misbehave\r\n",
        ] {
            assert_eq!(parse(line), Parsed::NotMeta, "{}", line.escape_ascii());
        }
        for partial in [&b""[..], b"m", b"mg", b"mg ", b"  m", b"ms k 1", b"mn"] {
            assert_eq!(parse(partial), Parsed::Incomplete, "{}", partial.escape_ascii());
        }
        for partial in [&b"g"[..], b"mgx", b"x", b"set"] {
            assert_eq!(parse(partial), Parsed::NotMeta, "{}", partial.escape_ascii());
        }
        let (r, c) = complete(b"  mg k\r\n");
        assert_eq!((r.command, c), (Command::Get, 8));
        let (r, c) = complete(b"mn\nmg k\r\n");
        assert_eq!((r.command, c), (Command::Noop, 3));
        assert_eq!(complete(b"mn junk here\r\n").0.command, Command::Noop);
        // A NUL ends the line, as strlen does.
        let (r, _) = complete(b"mg k\0 v\r\n");
        assert!(!r.flags.value);
    }

    #[test]
    fn long_lines_close() {
        let mut line = b"mg ".to_vec();
        line.resize(MAX_LINE_LEN, b'k');
        assert_eq!(parse(&line), Parsed::Incomplete);
        line.push(b'k');
        assert_eq!(err(&line).kind, ErrorKind::LineTooLong);
        assert_eq!(ErrorKind::LineTooLong.reply(), None);
    }

    #[test]
    fn get_flags() {
        let (r, c) = complete(b"mg foo s v t c f l h k Oabc q u N30 R-5 T0\r\n");
        assert_eq!(c, 44);
        assert_eq!(r.key.bytes(), b"foo");
        let f = r.flags;
        assert!(f.value && f.quiet && f.no_bump && !f.invalidate);
        assert_eq!((f.vivify, f.recache, f.ttl), (Some(30), Some(-5), Some(0)));
        assert_eq!(tokens(&r)[8], b"Oabc");
        assert!(f.has(b'h') && !f.has(b'x'));
        assert_eq!(f.vivify_exptime(), Some(0)); // T after N wins
        let (r, _) = complete(b"mg foo T5 N30\r\n");
        assert_eq!(r.flags.vivify_exptime(), Some(30));
        let (r, _) = complete(b"mg foo\r\n");
        assert_eq!((r.flags.tokens().count(), r.flags.vivify_exptime()), (0, None));
    }

    #[test]
    fn flag_errors() {
        for (line, kind) in [
            (&b"mg\r\n"[..], ErrorKind::UnknownCommand),
            (b"md\r\n", ErrorKind::UnknownCommand),
            (b"ma\r\n", ErrorKind::UnknownCommand),
            (b"ms\r\n", ErrorKind::UnknownCommand),
            (b"me\r\n", ErrorKind::BadFormat),
            (b"mg foo v v\r\n", ErrorKind::DuplicateFlag),
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
            (b"mg foo b\r\n", ErrorKind::KeyDecode),
            (b"mg foo M\r\n", ErrorKind::ModeLength),
            (b"mg foo MEX\r\n", ErrorKind::ModeLength),
            // A bad number is remembered, but an invalid flag stops at once.
            (b"mg foo Tx Dy\r\n", ErrorKind::InvalidDelta),
            (b"mg foo Fx Tx\r\n", ErrorKind::BadToken),
            (b"mg foo Tx Fx\r\n", ErrorKind::BadToken),
            (b"mg foo Tx z\r\n", ErrorKind::InvalidFlag),
            (b"mg foo Tx v v\r\n", ErrorKind::DuplicateFlag),
            // md and ma override every flag message.
            (b"md foo x\r\n", ErrorKind::InvalidOrDuplicateFlag),
            (b"md foo C-1\r\n", ErrorKind::InvalidOrDuplicateFlag),
            (b"md foo M\r\n", ErrorKind::InvalidOrDuplicateFlag),
            (b"ma foo v v\r\n", ErrorKind::InvalidOrDuplicateFlag),
            (b"ma foo Dx\r\n", ErrorKind::InvalidOrDuplicateFlag),
            (b"ma foo M\r\n", ErrorKind::InvalidOrDuplicateFlag),
            (b"ma foo MX\r\n", ErrorKind::InvalidArithMode),
        ] {
            let e = err(line);
            assert_eq!((e.kind, e.swallow), (kind, None), "{}", line.escape_ascii());
            assert!(kind
                .reply()
                .is_some_and(|r| r.starts_with(b"CLIENT_ERROR ") || r == b"ERROR\r\n"));
        }
        let key = "k".repeat(251);
        for cmd in ["mg", "md", "ma", "me"] {
            let line = format!("{cmd} {key} v\r\n");
            assert_eq!(err(line.as_bytes()).kind, ErrorKind::BadFormat, "{cmd}");
        }
        let ok = "k".repeat(250);
        assert_eq!(
            complete(format!("mg {ok} v\r\n").as_bytes()).0.key.bytes().len(),
            250
        );
        let opaque = format!("mg k O{}\r\n", "x".repeat(31));
        assert!(complete(opaque.as_bytes()).0.flags.has(b'O'));
        let opaque = format!("mg k O{}\r\n", "x".repeat(32));
        assert_eq!(err(opaque.as_bytes()).kind, ErrorKind::OpaqueTooLong);
    }

    #[test]
    fn token_limit() {
        // 19 tokens in all are fine, 20 are not, whatever the flags are.
        let nineteen = "mg k s t c f h l v q u k O1 N1 T1 R1 F1 C1 J1\r\n";
        assert_eq!(complete(nineteen.as_bytes()).0.flags.tokens().count(), 17);
        let twenty = "mg k s t c f h l v q u k O1 N1 T1 R1 F1 C1 J1 D1\r\n";
        assert_eq!(err(twenty.as_bytes()).kind, ErrorKind::OptionsAreTooLong);
        let dup = "mg k v v v v v v v v v v v v v v v v v v v v\r\n";
        assert_eq!(err(dup.as_bytes()).kind, ErrorKind::OptionsAreTooLong);
        for cmd in ["md", "ma"] {
            let line = format!("{cmd} k s t c f h l v q u k O1 N1 T1 R1 F1 C1 J1 D1\r\n");
            assert_eq!(err(line.as_bytes()).kind, ErrorKind::OptionsTooLong);
        }
        let ms = "ms k 1 s t c f h l v q u k O1 N1 T1 R1 F1 C1\r\n";
        assert_eq!(complete(ms.as_bytes()).0.flags.tokens().count(), 16);
        // Too many tokens is found before the data length: nothing swallowed.
        let ms = "ms k 1 s t c f h l v q u k O1 N1 T1 R1 F1 C1 J1\r\n";
        assert_eq!(
            err(ms.as_bytes()),
            Error {
                kind: ErrorKind::OptionsTooLong,
                swallow: None
            }
        );
    }

    #[test]
    fn set_lines() {
        let (r, c) = complete(b"ms k 5 T30 F7 c q I C99 MR\r\nhello\r\n");
        assert_eq!(c, 28);
        assert_eq!(
            r.command,
            Command::Set {
                mode: SetMode::Replace,
                data_len: 5
            }
        );
        let f = r.flags;
        assert_eq!(
            (f.ttl, f.client_flags, f.compare_cas),
            (Some(30), Some(7), Some(99))
        );
        assert!(f.quiet && f.invalidate);
        for (m, mode) in [
            ("", SetMode::Set),
            (" MS", SetMode::Set),
            (" ME", SetMode::Add),
            (" MA", SetMode::Append),
            (" MP", SetMode::Prepend),
            (" MR", SetMode::Replace),
        ] {
            let line = format!("ms k 0{m}\r\n");
            assert!(
                matches!(complete(line.as_bytes()).0.command, Command::Set { mode: got, .. } if got == mode),
                "{line}"
            );
        }
        // Refused before the length is known: nothing to swallow.
        let long = format!("ms {} 3\r\n", "k".repeat(251));
        for line in [
            &b"ms k\r\n"[..],
            b"ms k x\r\n",
            b"ms k -1\r\n",
            b"ms k 2147483646\r\n",
            long.as_bytes(),
        ] {
            assert_eq!(
                err(line),
                Error {
                    kind: ErrorKind::BadFormat,
                    swallow: None
                },
                "{}",
                line.escape_ascii()
            );
        }
        // Refused while checking the flags: the data block is swallowed.
        for (line, kind) in [
            (&b"ms k 3 MZ\r\n"[..], ErrorKind::InvalidSetMode),
            (b"ms k 3 M\r\n", ErrorKind::ModeLength),
            (b"ms k 3 MEX\r\n", ErrorKind::ModeLength),
            (b"ms k 3 v v\r\n", ErrorKind::DuplicateFlag),
            (b"ms k 3 Fx\r\n", ErrorKind::BadFormat),
            (b"ms k 3 E1\r\n", ErrorKind::InvalidFlag),
            (b"ms k 3 x\r\n", ErrorKind::InvalidFlag),
        ] {
            assert_eq!(
                err(line),
                Error {
                    kind,
                    swallow: Some(5)
                },
                "{}",
                line.escape_ascii()
            );
        }
        let (r, _) = complete(b"ms k 2147483645\r\n");
        assert!(matches!(
            r.command,
            Command::Set {
                data_len: 2147483645,
                ..
            }
        ));
    }

    #[test]
    fn arithmetic_lines() {
        let (r, _) = complete(b"ma n\r\n");
        assert_eq!(
            r.command,
            Command::Arithmetic {
                mode: ArithMode::Incr
            }
        );
        for (m, mode) in [
            ("MI", ArithMode::Incr),
            ("M+", ArithMode::Incr),
            ("MD", ArithMode::Decr),
            ("M-", ArithMode::Decr),
        ] {
            let line = format!("ma n {m} D5 J9 N0\r\n");
            let (r, _) = complete(line.as_bytes());
            assert_eq!(r.command, Command::Arithmetic { mode });
            assert_eq!((r.flags.delta, r.flags.initial), (Some(5), Some(9)));
        }
    }

    #[test]
    fn binary_keys() {
        let (r, _) = complete(b"mg 44OG44K544OI b v k\r\n");
        assert!(r.key.is_binary());
        assert_eq!(r.key.bytes(), "テスト".as_bytes());
        assert_eq!(r.key.token(), b"44OG44K544OI");
        // me decodes only when the third token is exactly "b".
        let (r, _) = complete(b"me 44OG44K544OI b\r\n");
        assert_eq!((r.command, r.key.bytes()), (Command::Debug, "テスト".as_bytes()));
        let (r, _) = complete(b"me Zm9v bb\r\n");
        assert_eq!(r.key.bytes(), b"Zm9v");
        assert_eq!(err(b"me Zm9 b\r\n").kind, ErrorKind::BadFormat);
        let max = "A".repeat(248);
        let line = format!("mg {max} b\r\n");
        assert_eq!(complete(line.as_bytes()).0.key.bytes().len(), 186);
    }

    #[test]
    fn composers() {
        let mut out = Vec::new();
        write_value_header(&mut out, 2);
        write_flag_number(&mut out, b's', 2);
        write_ttl(&mut out, None);
        write_ttl(&mut out, Some(7));
        write_key(&mut out, "テ".as_bytes(), true);
        write_key(&mut out, b"k", false);
        write_flag(&mut out, b'W');
        end_line(&mut out);
        for code in [Code::Hd, Code::En, Code::Nf, Code::Ns, Code::Ex, Code::Mn] {
            write_code(&mut out, code);
        }
        assert_eq!(out, b"VA 2 s2 t-1 t7 k44OG b kk W\r\nHDENNFNSEXMN");
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
            let expected = parse(whole);
            assert!(!matches!(expected, Parsed::Incomplete));
            for cut in 0..whole.len() {
                let got = parse(&whole[..cut]);
                assert!(
                    got == Parsed::Incomplete || (got == Parsed::NotMeta && expected == Parsed::NotMeta),
                    "{} cut at {cut}: {got:?}",
                    whole.escape_ascii()
                );
            }
            let mut more = whole.to_vec();
            more.extend_from_slice(b"mg x v\r\n");
            assert_eq!(parse(&more), expected);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn arbitrary_meta_lines_never_panic(line in "m[gsdaen]( [a-zA-Z0-9+/=\\-]{0,12}){0,24}\r?\n") {
            let _ = parse(line.as_bytes());
        }
    }
}
