//! memcached's classic text protocol: parse a command line, parse the data block
//! that follows a storage command, and compose replies.
//!
//! Everything here is sans-I/O. [`parse`] looks at the bytes received so far and
//! answers [`Parsed::Complete`] (with the number of bytes the line used),
//! [`Parsed::Incomplete`] or [`Parsed::Error`]; keys and arguments borrow from the
//! input, so a request costs no allocation. A storage command (`set`, `add`,
//! `replace`, `append`, `prepend`, `cas`) yields only its header
//! ([`StorageHeader`]); its data block is read with [`parse_data_block`], which lets
//! the connection layer wait for `bytes + 2` bytes, skip ("swallow") a block too
//! large to store without buffering it, and detect a block not followed by `\r\n`.
//!
//! # Compatibility
//!
//! The behaviour follows memcached 1.6 (`proto_text.c`, `util.c`, `doc/protocol.txt`),
//! including its quirks, because real clients see them:
//!
//! - A line ends at `\n`; a `\r` before it is dropped (`try_read_command_ascii`).
//!   A NUL byte ends the command early, as `strlen` does in memcached's tokenizer.
//! - Tokens are separated by single spaces only (`tokenize_command`); at most 23
//!   tokens are looked at, except for the keys of `get`/`gets`/`gat`/`gats`, which
//!   are unbounded.
//! - A wrong number of tokens or an unknown command answers `ERROR`; this error is
//!   never silenced by `noreply`, because memcached checks the token count before
//!   it looks for `noreply` (`WANT_TOKENS*` before `set_noreply_maybe`).
//! - `noreply` is recognised only as the last token (`set_noreply_maybe`); once
//!   seen, every reply to that command is suppressed, errors included
//!   (`out_string` skips the response when `c->noreply` is set).
//! - Numbers follow [`super::number`] (C `strtol`/`strtoul`/`strtoull` quirks).
//! - With no `\n` in the first 2048 bytes the connection must close, unless the
//!   line starts (after at most 100 spaces) with `get ` or `gets `: memcached then
//!   switches to a growable buffer and keeps reading ("This _has_ to be a large
//!   multiget"). We do the same, bounded by [`MAX_GET_LINE`].
//! - Keys longer than [`MAX_KEY_LEN`] answer `CLIENT_ERROR bad command line format`
//!   and, as in memcached, the data block of a refused storage command is *not*
//!   swallowed (it is read as the next command line). Keys containing control
//!   characters are refused the same way (protocol.txt forbids them; memcached
//!   itself does not check).
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::text::{self, DataBlock, Parsed, Request};
//!
//! let input = b"set greeting 0 0 5\r\nhello\r\nget greeting\r\n";
//! let Parsed::Complete { request: Request::Storage(header), consumed } = text::parse(input)
//! else { panic!("expected a storage command") };
//! assert_eq!(header.key, b"greeting");
//! let DataBlock::Complete { data, consumed: used } =
//!     text::parse_data_block(&input[consumed..], header.bytes)
//! else { panic!("the block is all there") };
//! assert_eq!(data, b"hello");
//!
//! let rest = &input[consumed + used..];
//! let Parsed::Complete { request: Request::Get { keys, cas: false }, .. } = text::parse(rest)
//! else { panic!("expected get") };
//! assert_eq!(keys.iter().collect::<Vec<_>>(), vec![&b"greeting"[..]]);
//!
//! let mut out = Vec::new();
//! text::write_value(&mut out, b"greeting", 0, b"hello", None);
//! text::Reply::End.write(&mut out);
//! assert_eq!(out, b"VALUE greeting 0 5\r\nhello\r\nEND\r\n");
//! ```

use super::number::{push_u64, safe_strtol, safe_strtoul, safe_strtoull};

/// Longest key memcached accepts (`KEY_MAX_LENGTH`).
pub const MAX_KEY_LEN: usize = 250;

/// Without a `\n` in this many bytes, a line that is not a `get`/`gets` closes the
/// connection (memcached's `try_read_command_ascii`).
pub const MAX_LINE_LEN: usize = 2048;

/// Our bound on a multi-key `get`/`gets` line (design rule 6). memcached grows its
/// buffer without a limit; 4 MiB holds over 16,000 keys of 250 bytes.
pub const MAX_GET_LINE: usize = 4 << 20;

/// memcached's `MAX_TOKENS` minus the terminal token: tokens looked at per line.
const MAX_TOKENS: usize = 23;

/// The six commands followed by a data block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageCommand {
    /// `set`: store unconditionally.
    Set,
    /// `add`: store only if the key is absent.
    Add,
    /// `replace`: store only if the key is present.
    Replace,
    /// `append`: add the data after the existing value.
    Append,
    /// `prepend`: add the data before the existing value.
    Prepend,
    /// `cas`: store only if the item's CAS unique still equals `cas_unique`.
    Cas,
}

/// `incr` or `decr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `incr`: add, wrapping at 2^64.
    Incr,
    /// `decr`: subtract, stopping at 0.
    Decr,
}

/// The command line of a storage command; `bytes` of data and `\r\n` follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageHeader<'a> {
    /// Which command.
    pub command: StorageCommand,
    /// The key (at most [`MAX_KEY_LEN`] bytes, no control characters).
    pub key: &'a [u8],
    /// Opaque client flags.
    pub flags: u32,
    /// Expiration time as sent (0, relative seconds, absolute unix time, or negative).
    pub exptime: i32,
    /// Length of the data block, without its trailing `\r\n`.
    pub bytes: u32,
    /// For `cas`, the unique the client read with `gets`; 0 for the others.
    pub cas_unique: u64,
    /// Whether the line ended with `noreply`.
    pub noreply: bool,
}

/// Space-separated words borrowed from a command line (the keys of a `get`, the
/// arguments of `stats`). Iterating skips repeated spaces, as memcached does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words<'a> {
    rest: &'a [u8],
}

impl<'a> Words<'a> {
    /// Words found in `rest`.
    pub fn new(rest: &'a [u8]) -> Self {
        Words { rest }
    }

    /// Iterates over the words, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.rest.split(|&b| b == b' ').filter(|w| !w.is_empty())
    }

    /// The first word, if any.
    pub fn first(&self) -> Option<&'a [u8]> {
        self.iter().next()
    }

    /// Whether there is no word at all.
    pub fn is_empty(&self) -> bool {
        self.first().is_none()
    }
}

/// One parsed text-protocol request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// `get <key>*` (`cas: false`) or `gets <key>*` (`cas: true`); also the
    /// undocumented `bget`, which memcached still treats as `get`.
    Get {
        /// The keys, already checked.
        keys: Words<'a>,
        /// Whether to return CAS uniques (`gets`).
        cas: bool,
    },
    /// `gat <exptime> <key>*` or `gats <exptime> <key>*`: get and touch.
    GetAndTouch {
        /// The new expiration time.
        exptime: i32,
        /// The keys, already checked; may be empty (memcached then answers `END`).
        keys: Words<'a>,
        /// Whether to return CAS uniques (`gats`).
        cas: bool,
    },
    /// A storage command's line; read its data block with [`parse_data_block`].
    Storage(StorageHeader<'a>),
    /// `delete <key> [0] [noreply]`.
    Delete {
        /// The key.
        key: &'a [u8],
        /// Whether to suppress the reply.
        noreply: bool,
    },
    /// `incr|decr <key> <delta> [noreply]`.
    Arith {
        /// `incr` or `decr`.
        op: ArithOp,
        /// The key.
        key: &'a [u8],
        /// The amount.
        delta: u64,
        /// Whether to suppress the reply.
        noreply: bool,
    },
    /// `touch <key> <exptime> [noreply]`.
    Touch {
        /// The key.
        key: &'a [u8],
        /// The new expiration time.
        exptime: i32,
        /// Whether to suppress the reply.
        noreply: bool,
    },
    /// `flush_all [delay] [noreply]`.
    FlushAll {
        /// Delay in seconds (or absolute time); 0 or negative means now.
        delay: i32,
        /// Whether to suppress the reply.
        noreply: bool,
    },
    /// `stats [args]`.
    Stats {
        /// The arguments (`reset`, `settings`, `items`, `slabs`, ...).
        args: Words<'a>,
    },
    /// `version`.
    Version,
    /// `verbosity <level> [noreply]`.
    Verbosity {
        /// The requested level.
        level: u32,
        /// Whether to suppress the reply.
        noreply: bool,
    },
    /// `quit`: close the connection after the replies already queued.
    Quit,
}

/// Why a command line was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Unknown command or wrong number of tokens: `ERROR`.
    UnknownCommand,
    /// `CLIENT_ERROR bad command line format`.
    BadFormat,
    /// `delete` with extra arguments: memcached's longer usage message.
    BadDeleteFormat,
    /// `CLIENT_ERROR invalid exptime argument` (`touch`, `gat`, `flush_all`).
    InvalidExptime,
    /// `CLIENT_ERROR invalid numeric delta argument` (`incr`, `decr`).
    InvalidDelta,
    /// `shutdown`, which memcached refuses unless started with `-A`.
    ShutdownNotEnabled,
    /// No `\n` within [`MAX_LINE_LEN`] bytes (or [`MAX_GET_LINE`] for a `get`):
    /// no reply, close the connection.
    LineTooLong,
}

impl ErrorKind {
    /// The reply line to send, or `None` when the connection must close instead.
    pub fn reply(self) -> Option<Reply> {
        Some(match self {
            ErrorKind::UnknownCommand => Reply::Error,
            ErrorKind::BadFormat => Reply::BadFormat,
            ErrorKind::BadDeleteFormat => Reply::BadDeleteFormat,
            ErrorKind::InvalidExptime => Reply::InvalidExptime,
            ErrorKind::InvalidDelta => Reply::InvalidDelta,
            ErrorKind::ShutdownNotEnabled => Reply::ShutdownNotEnabled,
            ErrorKind::LineTooLong => return None,
        })
    }

    /// Whether the connection must be closed.
    pub fn closes_connection(self) -> bool {
        self == ErrorKind::LineTooLong
    }
}

/// A refused command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestError {
    /// What was wrong.
    pub kind: ErrorKind,
    /// Whether the line ended with `noreply`, which silences even this error.
    pub noreply: bool,
}

/// The result of [`parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Parsed<'a> {
    /// A whole command line was read; `consumed` bytes (including its newline)
    /// belong to it. For a storage command the data block comes next.
    Complete {
        /// The request.
        request: Request<'a>,
        /// Bytes of input used by the line.
        consumed: usize,
    },
    /// No full line yet: call again with more bytes.
    Incomplete,
    /// The line was refused; skip `consumed` bytes and answer `error`.
    Error {
        /// What to answer (or whether to close).
        error: RequestError,
        /// Bytes of input used by the line (0 for [`ErrorKind::LineTooLong`]).
        consumed: usize,
    },
}

/// The result of [`parse_data_block`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum DataBlock<'a> {
    /// The value and its `\r\n` are all there.
    Complete {
        /// The value, without the `\r\n`.
        data: &'a [u8],
        /// `bytes + 2`.
        consumed: usize,
    },
    /// Wait for `needed` more bytes.
    Incomplete {
        /// How many bytes are still missing.
        needed: usize,
    },
    /// `bytes + 2` bytes arrived but the last two are not `\r\n`: answer
    /// `CLIENT_ERROR bad data chunk`, skip `consumed` bytes and go on with the
    /// bytes after them as the next command line (memcached's `complete_nread_ascii`).
    BadChunk {
        /// `bytes + 2`.
        consumed: usize,
    },
}

/// Parses one command line from the start of `input`.
pub fn parse(input: &[u8]) -> Parsed<'_> {
    let Some(newline) = input.iter().position(|&b| b == b'\n') else {
        return incomplete_line(input);
    };
    let consumed = newline + 1;
    let mut line = &input[..newline];
    if newline > 1 && line[newline - 1] == b'\r' {
        line = &line[..newline - 1];
    }
    if let Some(nul) = line.iter().position(|&b| b == 0) {
        line = &line[..nul];
    }
    match parse_line(line) {
        Ok(request) => Parsed::Complete { request, consumed },
        Err(error) => Parsed::Error { error, consumed },
    }
}

/// What to do with a buffer that holds no `\n` yet.
fn incomplete_line(input: &[u8]) -> Parsed<'_> {
    if input.len() <= MAX_LINE_LEN {
        return Parsed::Incomplete;
    }
    let spaces = input.iter().take_while(|&&b| b == b' ').count();
    let rest = &input[spaces..];
    let is_get = rest.starts_with(b"get ") || rest.starts_with(b"gets ");
    if spaces > 100 || !is_get || input.len() > MAX_GET_LINE {
        return Parsed::Error {
            error: RequestError {
                kind: ErrorKind::LineTooLong,
                noreply: false,
            },
            consumed: 0,
        };
    }
    Parsed::Incomplete
}

/// Reads the data block of a storage command whose header said `bytes`.
pub fn parse_data_block(input: &[u8], bytes: u32) -> DataBlock<'_> {
    let bytes = bytes as usize;
    let total = bytes + 2;
    if input.len() < total {
        return DataBlock::Incomplete {
            needed: total - input.len(),
        };
    }
    if &input[bytes..total] == b"\r\n" {
        DataBlock::Complete {
            data: &input[..bytes],
            consumed: total,
        }
    } else {
        DataBlock::BadChunk { consumed: total }
    }
}

/// The tokens of one line, split on single spaces like `tokenize_command`.
struct Tokens<'a> {
    line: &'a [u8],
    spans: [(usize, usize); MAX_TOKENS],
    count: usize,
}

impl<'a> Tokens<'a> {
    fn new(line: &'a [u8]) -> Self {
        let mut spans = [(0, 0); MAX_TOKENS];
        let mut count = 0;
        let mut start = None;
        for (i, &b) in line.iter().enumerate() {
            if b == b' ' {
                if let Some(s) = start.take() {
                    spans[count] = (s, i);
                    count += 1;
                    if count == MAX_TOKENS {
                        return Tokens { line, spans, count };
                    }
                }
            } else if start.is_none() {
                start = Some(i);
            }
        }
        if let Some(s) = start {
            spans[count] = (s, line.len());
            count += 1;
        }
        Tokens { line, spans, count }
    }

    /// memcached's `ntokens`, which counts a terminal token.
    fn ntokens(&self) -> usize {
        self.count + 1
    }

    fn get(&self, i: usize) -> &'a [u8] {
        let (s, e) = self.spans[i];
        &self.line[s..e]
    }

    /// The line after token `i`, unsplit (for unbounded key lists).
    fn after(&self, i: usize) -> &'a [u8] {
        &self.line[self.spans[i].1..]
    }

    /// `set_noreply_maybe`: is the last token `noreply`?
    fn noreply(&self) -> bool {
        self.count > 0 && self.get(self.count - 1) == b"noreply"
    }
}

fn error(kind: ErrorKind, noreply: bool) -> RequestError {
    RequestError { kind, noreply }
}

/// A key memcached would take: short enough, and (our addition) no control bytes.
fn key_ok(key: &[u8]) -> bool {
    key.len() <= MAX_KEY_LEN && !key.iter().any(|&b| b < 0x20 || b == 0x7f)
}

fn parse_line(line: &[u8]) -> Result<Request<'_>, RequestError> {
    let t = Tokens::new(line);
    let n = t.ntokens();
    let unknown = error(ErrorKind::UnknownCommand, false);
    if n < 2 || t.get(0).len() < 2 {
        return Err(unknown);
    }
    let command = t.get(0);
    match command {
        b"get" | b"gets" | b"bget" => {
            if n < 3 {
                return Err(unknown);
            }
            let keys = Words::new(t.after(0));
            check_keys(keys)?;
            Ok(Request::Get {
                keys,
                cas: command == b"gets",
            })
        }
        b"gat" | b"gats" => {
            if n < 3 {
                return Err(unknown);
            }
            let exptime = safe_strtol(t.get(1)).ok_or(error(ErrorKind::InvalidExptime, false))?;
            let keys = Words::new(t.after(1));
            check_keys(keys)?;
            Ok(Request::GetAndTouch {
                exptime,
                keys,
                cas: command == b"gats",
            })
        }
        b"set" | b"add" | b"replace" | b"append" | b"prepend" | b"cas" => {
            let (command, base) = match command {
                b"set" => (StorageCommand::Set, 6),
                b"add" => (StorageCommand::Add, 6),
                b"replace" => (StorageCommand::Replace, 6),
                b"append" => (StorageCommand::Append, 6),
                b"prepend" => (StorageCommand::Prepend, 6),
                _ => (StorageCommand::Cas, 7),
            };
            if n != base && n != base + 1 {
                return Err(unknown);
            }
            parse_storage(&t, command).map(Request::Storage)
        }
        b"incr" | b"decr" => {
            if n != 4 && n != 5 {
                return Err(unknown);
            }
            let noreply = t.noreply();
            let key = t.get(1);
            if !key_ok(key) {
                return Err(error(ErrorKind::BadFormat, noreply));
            }
            let delta = safe_strtoull(t.get(2)).ok_or(error(ErrorKind::InvalidDelta, noreply))?;
            let op = if command == b"incr" {
                ArithOp::Incr
            } else {
                ArithOp::Decr
            };
            Ok(Request::Arith {
                op,
                key,
                delta,
                noreply,
            })
        }
        b"delete" => {
            if !(3..=5).contains(&n) {
                return Err(unknown);
            }
            let mut noreply = false;
            if n > 3 {
                let hold_is_zero = t.get(2) == b"0";
                noreply = t.noreply();
                let valid = (n == 4 && (hold_is_zero || noreply)) || (n == 5 && hold_is_zero && noreply);
                if !valid {
                    return Err(error(ErrorKind::BadDeleteFormat, noreply));
                }
            }
            let key = t.get(1);
            if !key_ok(key) {
                return Err(error(ErrorKind::BadFormat, noreply));
            }
            Ok(Request::Delete { key, noreply })
        }
        b"touch" => {
            if n != 4 && n != 5 {
                return Err(unknown);
            }
            let noreply = t.noreply();
            let key = t.get(1);
            if !key_ok(key) {
                return Err(error(ErrorKind::BadFormat, noreply));
            }
            let exptime = safe_strtol(t.get(2)).ok_or(error(ErrorKind::InvalidExptime, noreply))?;
            Ok(Request::Touch {
                key,
                exptime,
                noreply,
            })
        }
        b"flush_all" => {
            if !(2..=4).contains(&n) {
                return Err(unknown);
            }
            let noreply = t.noreply();
            let mut delay = 0;
            if n != if noreply { 3 } else { 2 } {
                delay = safe_strtol(t.get(1)).ok_or(error(ErrorKind::InvalidExptime, noreply))?;
            }
            Ok(Request::FlushAll { delay, noreply })
        }
        b"stats" => Ok(Request::Stats {
            args: Words::new(t.after(0)),
        }),
        b"version" => Ok(Request::Version),
        b"quit" => Ok(Request::Quit),
        b"verbosity" => {
            if n != 3 && n != 4 {
                return Err(unknown);
            }
            let noreply = t.noreply();
            let level = safe_strtoul(t.get(1)).ok_or(error(ErrorKind::BadFormat, noreply))?;
            Ok(Request::Verbosity { level, noreply })
        }
        b"shutdown" => Err(error(ErrorKind::ShutdownNotEnabled, false)),
        _ => Err(unknown),
    }
}

fn check_keys(keys: Words<'_>) -> Result<(), RequestError> {
    if keys.iter().all(key_ok) {
        Ok(())
    } else {
        Err(error(ErrorKind::BadFormat, false))
    }
}

/// `process_update_command`: the checks, in memcached's order.
fn parse_storage<'a>(t: &Tokens<'a>, command: StorageCommand) -> Result<StorageHeader<'a>, RequestError> {
    let noreply = t.noreply();
    let bad = error(ErrorKind::BadFormat, noreply);
    let key = t.get(1);
    if !key_ok(key) {
        return Err(bad);
    }
    let flags = safe_strtoul(t.get(2)).ok_or(bad)?;
    let exptime = safe_strtol(t.get(3)).ok_or(bad)?;
    let bytes = safe_strtol(t.get(4)).ok_or(bad)?;
    let cas_unique = if command == StorageCommand::Cas {
        safe_strtoull(t.get(5)).ok_or(bad)?
    } else {
        0
    };
    if !(0..=i32::MAX - 2).contains(&bytes) {
        return Err(bad);
    }
    Ok(StorageHeader {
        command,
        key,
        flags,
        exptime,
        bytes: bytes as u32,
        cas_unique,
        noreply,
    })
}

/// Every fixed reply line of the text protocol, with memcached's exact wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// `STORED`
    Stored,
    /// `NOT_STORED`
    NotStored,
    /// `EXISTS`
    Exists,
    /// `NOT_FOUND`
    NotFound,
    /// `DELETED`
    Deleted,
    /// `TOUCHED`
    Touched,
    /// `OK` (`flush_all`, `verbosity`)
    Ok,
    /// `END` (after values or stats)
    End,
    /// `RESET` (`stats reset`)
    Reset,
    /// `ERROR`
    Error,
    /// `CLIENT_ERROR bad command line format`
    BadFormat,
    /// The usage message memcached gives for `delete` with bad extra arguments.
    BadDeleteFormat,
    /// `CLIENT_ERROR bad data chunk`
    BadDataChunk,
    /// `CLIENT_ERROR invalid exptime argument`
    InvalidExptime,
    /// `CLIENT_ERROR invalid numeric delta argument`
    InvalidDelta,
    /// `CLIENT_ERROR cannot increment or decrement non-numeric value`
    NonNumeric,
    /// `SERVER_ERROR object too large for cache`
    TooLarge,
    /// `SERVER_ERROR out of memory storing object`
    OutOfMemoryStoring,
    /// `SERVER_ERROR out of memory` (`incr`/`decr` could not grow the value)
    OutOfMemory,
    /// `ERROR: shutdown not enabled`
    ShutdownNotEnabled,
}

impl Reply {
    /// The reply line, including `\r\n`.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Reply::Stored => b"STORED\r\n",
            Reply::NotStored => b"NOT_STORED\r\n",
            Reply::Exists => b"EXISTS\r\n",
            Reply::NotFound => b"NOT_FOUND\r\n",
            Reply::Deleted => b"DELETED\r\n",
            Reply::Touched => b"TOUCHED\r\n",
            Reply::Ok => b"OK\r\n",
            Reply::End => b"END\r\n",
            Reply::Reset => b"RESET\r\n",
            Reply::Error => b"ERROR\r\n",
            Reply::BadFormat => b"CLIENT_ERROR bad command line format\r\n",
            Reply::BadDeleteFormat => {
                b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
            }
            Reply::BadDataChunk => b"CLIENT_ERROR bad data chunk\r\n",
            Reply::InvalidExptime => b"CLIENT_ERROR invalid exptime argument\r\n",
            Reply::InvalidDelta => b"CLIENT_ERROR invalid numeric delta argument\r\n",
            Reply::NonNumeric => b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
            Reply::TooLarge => b"SERVER_ERROR object too large for cache\r\n",
            Reply::OutOfMemoryStoring => b"SERVER_ERROR out of memory storing object\r\n",
            Reply::OutOfMemory => b"SERVER_ERROR out of memory\r\n",
            Reply::ShutdownNotEnabled => b"ERROR: shutdown not enabled\r\n",
        }
    }

    /// Appends the reply line to `out`.
    pub fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.bytes());
    }
}

/// Appends `VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n`.
pub fn write_value(out: &mut Vec<u8>, key: &[u8], flags: u32, data: &[u8], cas: Option<u64>) {
    out.reserve(key.len() + data.len() + 48);
    out.extend_from_slice(b"VALUE ");
    out.extend_from_slice(key);
    out.push(b' ');
    push_u64(out, u64::from(flags));
    out.push(b' ');
    push_u64(out, data.len() as u64);
    if let Some(cas) = cas {
        out.push(b' ');
        push_u64(out, cas);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends the reply to a successful `incr`/`decr`: the new value and `\r\n`.
pub fn write_number(out: &mut Vec<u8>, value: u64) {
    push_u64(out, value);
    out.extend_from_slice(b"\r\n");
}

/// Appends `VERSION <version>\r\n`.
pub fn write_version(out: &mut Vec<u8>, version: &str) {
    out.extend_from_slice(b"VERSION ");
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends one `STAT <name> <value>\r\n` line.
pub fn write_stat(out: &mut Vec<u8>, name: &str, value: impl std::fmt::Display) {
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "STAT {name} {value}\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn complete(input: &[u8]) -> (Request<'_>, usize) {
        match parse(input) {
            Parsed::Complete { request, consumed } => (request, consumed),
            other => panic!(
                "expected Complete for {:?}, got {other:?}",
                input.escape_ascii().to_string()
            ),
        }
    }

    fn err(input: &[u8]) -> RequestError {
        match parse(input) {
            Parsed::Error { error, consumed } => {
                assert!(error.kind == ErrorKind::LineTooLong || consumed > 0);
                error
            }
            other => panic!("expected Error, got {other:?}"),
        }
    }

    fn keys(w: Words<'_>) -> Vec<&[u8]> {
        w.iter().collect()
    }

    #[test]
    fn get_and_gets() {
        let (r, c) = complete(b"get a bb  ccc\r\nrest");
        assert_eq!(c, 15);
        let Request::Get { keys: k, cas: false } = r else {
            panic!()
        };
        assert_eq!(keys(k), vec![&b"a"[..], b"bb", b"ccc"]);
        let (r, _) = complete(b"gets a\n");
        assert!(matches!(r, Request::Get { cas: true, .. }));
        let (r, _) = complete(b"bget a\r\n");
        assert!(matches!(r, Request::Get { cas: false, .. }));
        assert_eq!(err(b"get\r\n").kind, ErrorKind::UnknownCommand);
        assert_eq!(err(b"get \r\n").kind, ErrorKind::UnknownCommand);
        assert_eq!(err(b"GET a\r\n").kind, ErrorKind::UnknownCommand);
    }

    #[test]
    fn key_length_limit() {
        let ok = format!("get {}\r\n", "k".repeat(250));
        complete(ok.as_bytes());
        let long = format!("get a {}\r\n", "k".repeat(251));
        assert_eq!(err(long.as_bytes()).kind, ErrorKind::BadFormat);
        let set = format!("set {} 0 0 1 noreply\r\n", "k".repeat(251));
        let e = err(set.as_bytes());
        assert_eq!(
            e,
            RequestError {
                kind: ErrorKind::BadFormat,
                noreply: true
            }
        );
        assert_eq!(err(b"get a\tb\r\n").kind, ErrorKind::BadFormat);
        assert_eq!(err(b"delete a\x01\r\n").kind, ErrorKind::BadFormat);
    }

    #[test]
    fn gat() {
        let (r, _) = complete(b"gats 100 a b\r\n");
        let Request::GetAndTouch {
            exptime: 100,
            keys: k,
            cas: true,
        } = r
        else {
            panic!()
        };
        assert_eq!(keys(k), vec![&b"a"[..], b"b"]);
        // memcached answers END to a gat with no key.
        let (r, _) = complete(b"gat 100\r\n");
        assert!(matches!(r, Request::GetAndTouch { keys, .. } if keys.is_empty()));
        assert_eq!(err(b"gat x a\r\n").kind, ErrorKind::InvalidExptime);
    }

    #[test]
    fn storage_headers() {
        let (r, c) = complete(b"set k 5 -1 3\r\nabc\r\n");
        assert_eq!(c, 14);
        assert_eq!(
            r,
            Request::Storage(StorageHeader {
                command: StorageCommand::Set,
                key: b"k",
                flags: 5,
                exptime: -1,
                bytes: 3,
                cas_unique: 0,
                noreply: false
            })
        );
        let (r, _) = complete(b"cas k 0 0 1 99 noreply\r\n");
        let Request::Storage(h) = r else { panic!() };
        assert_eq!(
            (h.command, h.cas_unique, h.noreply),
            (StorageCommand::Cas, 99, true)
        );
        // A sixth token other than noreply is ignored, as in memcached.
        let (r, _) = complete(b"append k 0 0 1 whatever\r\n");
        assert!(matches!(r, Request::Storage(h) if !h.noreply && h.command == StorageCommand::Append));
        for (line, kind) in [
            (&b"set k 0 0\r\n"[..], ErrorKind::UnknownCommand),
            (b"set k 0 0 1 noreply x\r\n", ErrorKind::UnknownCommand),
            (b"cas k 0 0 1\r\n", ErrorKind::UnknownCommand),
            (b"set k x 0 1\r\n", ErrorKind::BadFormat),
            (b"set k 0 x 1\r\n", ErrorKind::BadFormat),
            (b"set k 0 0 -1\r\n", ErrorKind::BadFormat),
            (b"set k 0 0 2147483646\r\n", ErrorKind::BadFormat),
            (b"cas k 0 0 1 x\r\n", ErrorKind::BadFormat),
            (b"cas k 0 0 1 -1\r\n", ErrorKind::BadFormat),
        ] {
            assert_eq!(err(line).kind, kind, "{}", line.escape_ascii());
        }
        let (r, _) = complete(b"set k 4294967296 0 2147483645\r\n");
        assert!(matches!(r, Request::Storage(h) if h.flags == 0 && h.bytes == 2147483645));
    }

    #[test]
    fn arith_delete_touch_flush_verbosity() {
        assert_eq!(
            complete(b"incr n 18446744073709551615\r\n").0,
            Request::Arith {
                op: ArithOp::Incr,
                key: b"n",
                delta: u64::MAX,
                noreply: false
            }
        );
        assert_eq!(
            err(b"decr n -1 noreply\r\n"),
            RequestError {
                kind: ErrorKind::InvalidDelta,
                noreply: true
            }
        );
        assert_eq!(err(b"incr n\r\n").kind, ErrorKind::UnknownCommand);
        assert_eq!(
            complete(b"delete k\r\n").0,
            Request::Delete {
                key: b"k",
                noreply: false
            }
        );
        assert_eq!(
            complete(b"delete k 0\r\n").0,
            Request::Delete {
                key: b"k",
                noreply: false
            }
        );
        assert_eq!(
            complete(b"delete k noreply\r\n").0,
            Request::Delete {
                key: b"k",
                noreply: true
            }
        );
        assert_eq!(
            complete(b"delete k 0 noreply\r\n").0,
            Request::Delete {
                key: b"k",
                noreply: true
            }
        );
        assert_eq!(err(b"delete k 5\r\n").kind, ErrorKind::BadDeleteFormat);
        assert_eq!(
            err(b"delete k 5 noreply\r\n"),
            RequestError {
                kind: ErrorKind::BadDeleteFormat,
                noreply: true
            }
        );
        assert_eq!(err(b"delete k 0 0 0\r\n").kind, ErrorKind::UnknownCommand);
        assert_eq!(
            complete(b"touch k 10\r\n").0,
            Request::Touch {
                key: b"k",
                exptime: 10,
                noreply: false
            }
        );
        assert_eq!(err(b"touch k x\r\n").kind, ErrorKind::InvalidExptime);
        assert_eq!(
            complete(b"flush_all\r\n").0,
            Request::FlushAll {
                delay: 0,
                noreply: false
            }
        );
        assert_eq!(
            complete(b"flush_all noreply\r\n").0,
            Request::FlushAll {
                delay: 0,
                noreply: true
            }
        );
        assert_eq!(
            complete(b"flush_all 10 noreply\r\n").0,
            Request::FlushAll {
                delay: 10,
                noreply: true
            }
        );
        assert_eq!(
            complete(b"flush_all -5\r\n").0,
            Request::FlushAll {
                delay: -5,
                noreply: false
            }
        );
        assert_eq!(err(b"flush_all x\r\n").kind, ErrorKind::InvalidExptime);
        assert_eq!(err(b"flush_all 1 2 3\r\n").kind, ErrorKind::UnknownCommand);
        assert_eq!(
            complete(b"verbosity 1\r\n").0,
            Request::Verbosity {
                level: 1,
                noreply: false
            }
        );
        assert_eq!(err(b"verbosity\r\n").kind, ErrorKind::UnknownCommand);
        assert_eq!(
            err(b"verbosity x noreply\r\n"),
            RequestError {
                kind: ErrorKind::BadFormat,
                noreply: true
            }
        );
    }

    #[test]
    fn misc_commands() {
        assert_eq!(complete(b"version\r\n").0, Request::Version);
        assert_eq!(complete(b"version extra\r\n").0, Request::Version);
        assert_eq!(complete(b"quit\n").0, Request::Quit);
        let (r, _) = complete(b"stats  items\r\n");
        let Request::Stats { args } = r else { panic!() };
        assert_eq!(args.first(), Some(&b"items"[..]));
        assert!(matches!(complete(b"stats\r\n").0, Request::Stats { args } if args.is_empty()));
        assert_eq!(err(b"shutdown\r\n").kind, ErrorKind::ShutdownNotEnabled);
        assert_eq!(err(b"\r\n").kind, ErrorKind::UnknownCommand);
        assert_eq!(err(b"\n").kind, ErrorKind::UnknownCommand);
        assert_eq!(err(b"x\r\n").kind, ErrorKind::UnknownCommand);
        assert_eq!(err(b"mg foo v\r\n").kind, ErrorKind::UnknownCommand);
        // A NUL ends the command, as strlen does in memcached.
        let (r, c) = complete(b"get a\0 b\r\n");
        assert_eq!(c, 10);
        assert!(matches!(r, Request::Get { keys, .. } if keys.iter().count() == 1));
    }

    #[test]
    fn long_lines() {
        let junk = vec![b'x'; MAX_LINE_LEN];
        assert_eq!(parse(&junk), Parsed::Incomplete);
        let junk = vec![b'x'; MAX_LINE_LEN + 1];
        assert_eq!(err(&junk).kind, ErrorKind::LineTooLong);
        assert_eq!(ErrorKind::LineTooLong.reply(), None);
        // A long multi-get keeps reading and then succeeds.
        let mut line = b"get".to_vec();
        for i in 0..1000 {
            line.extend_from_slice(format!(" key:{i}").as_bytes());
        }
        assert!(line.len() > MAX_LINE_LEN);
        assert_eq!(parse(&line), Parsed::Incomplete);
        line.extend_from_slice(b"\r\n");
        let (r, c) = complete(&line);
        assert_eq!(c, line.len());
        assert!(matches!(r, Request::Get { keys, .. } if keys.iter().count() == 1000));
        let mut gets = vec![b' '; 50];
        gets.extend_from_slice(b"gets ");
        gets.resize(MAX_LINE_LEN + 10, b'k');
        assert_eq!(parse(&gets), Parsed::Incomplete);
        let mut spaced = vec![b' '; 101];
        spaced.extend_from_slice(b"get ");
        spaced.resize(MAX_LINE_LEN + 10, b'k');
        assert_eq!(err(&spaced).kind, ErrorKind::LineTooLong);
        // A long non-get line that arrives whole is still parsed (memcached too).
        let mut set = b"set k 0 0 1".to_vec();
        set.resize(3000, b' ');
        set.extend_from_slice(b"\r\n");
        assert!(matches!(complete(&set).0, Request::Storage(_)));
    }

    #[test]
    fn many_tokens() {
        // More than 23 tokens: memcached's ntokens saturates, so set/incr fail with ERROR.
        let line = format!("incr k 1{}\r\n", " x".repeat(30));
        assert_eq!(err(line.as_bytes()).kind, ErrorKind::UnknownCommand);
        let line = format!("version{}\r\n", " x".repeat(30));
        assert_eq!(complete(line.as_bytes()).0, Request::Version);
    }

    #[test]
    fn data_blocks() {
        assert_eq!(parse_data_block(b"ab", 3), DataBlock::Incomplete { needed: 3 });
        assert_eq!(parse_data_block(b"abc\r", 3), DataBlock::Incomplete { needed: 1 });
        assert_eq!(
            parse_data_block(b"abc\r\nx", 3),
            DataBlock::Complete {
                data: b"abc",
                consumed: 5
            }
        );
        assert_eq!(
            parse_data_block(b"abcd\r\n", 3),
            DataBlock::BadChunk { consumed: 5 }
        );
        assert_eq!(parse_data_block(b"abc\n", 3), DataBlock::Incomplete { needed: 1 });
        assert_eq!(
            parse_data_block(b"abc\nx", 3),
            DataBlock::BadChunk { consumed: 5 }
        );
        assert_eq!(
            parse_data_block(b"\r\n", 0),
            DataBlock::Complete {
                data: b"",
                consumed: 2
            }
        );
    }

    #[test]
    fn composers() {
        let mut out = Vec::new();
        write_value(&mut out, b"k", 4294967295, b"v", Some(7));
        write_number(&mut out, 42);
        write_version(&mut out, "1.6.38-torsion");
        write_stat(&mut out, "pid", 12);
        Reply::End.write(&mut out);
        assert_eq!(
            out,
            b"VALUE k 4294967295 1 7\r\nv\r\n42\r\nVERSION 1.6.38-torsion\r\nSTAT pid 12\r\nEND\r\n"
        );
        for kind in [
            ErrorKind::UnknownCommand,
            ErrorKind::BadFormat,
            ErrorKind::BadDeleteFormat,
            ErrorKind::InvalidExptime,
            ErrorKind::InvalidDelta,
            ErrorKind::ShutdownNotEnabled,
        ] {
            assert!(kind.reply().is_some_and(|r| r.bytes().ends_with(b"\r\n")));
            assert!(!kind.closes_connection());
        }
    }

    /// Requests used by the split tests: every command, with and without `\r`.
    const REQUESTS: &[&[u8]] = &[
        b"get a b c\r\n",
        b"gets a\n",
        b"gat 10 a b\r\n",
        b"gats -1 a\r\n",
        b"set k 1 2 3\r\n",
        b"add k 1 2 3 noreply\r\n",
        b"replace k 0 0 0\r\n",
        b"append k 0 0 10\r\n",
        b"prepend k 0 0 10\r\n",
        b"cas k 0 0 1 12345\r\n",
        b"delete k\r\n",
        b"delete k 0 noreply\r\n",
        b"incr k 5\r\n",
        b"decr k 5 noreply\r\n",
        b"touch k 0\r\n",
        b"flush_all 5\r\n",
        b"stats slabs\r\n",
        b"version\r\n",
        b"verbosity 2 noreply\r\n",
        b"quit\r\n",
        b"bogus\r\n",
        b"set k x 0 1\r\n",
        b"delete k 1\r\n",
        b"\r\n",
    ];

    #[test]
    fn every_split_gives_the_same_result() {
        for whole in REQUESTS {
            let expected = parse(whole);
            assert_ne!(expected, Parsed::Incomplete);
            for cut in 0..whole.len() {
                assert_eq!(
                    parse(&whole[..cut]),
                    Parsed::Incomplete,
                    "{} cut at {cut}",
                    whole.escape_ascii()
                );
            }
            // Trailing bytes after the line never change the result.
            let mut more = whole.to_vec();
            more.extend_from_slice(b"get x\r\n");
            assert_eq!(parse(&more), expected);
        }
    }

    /// Drives the parser over a stream delivered in chunks, the way a connection
    /// does, and records what it saw (data blocks included).
    fn run_stream(stream: &[u8], chunks: &[usize]) -> Vec<String> {
        let mut seen = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut fed = 0;
        let mut chunk_iter = chunks.iter().copied().chain(std::iter::repeat(usize::MAX));
        let mut pending: Option<u32> = None;
        loop {
            // Process what is buffered.
            loop {
                if let Some(bytes) = pending {
                    match parse_data_block(&buf, bytes) {
                        DataBlock::Incomplete { .. } => break,
                        DataBlock::Complete { data, consumed } => {
                            seen.push(format!("data {:?}", data));
                            buf.drain(..consumed);
                        }
                        DataBlock::BadChunk { consumed } => {
                            seen.push("bad chunk".into());
                            buf.drain(..consumed);
                        }
                    }
                    pending = None;
                    continue;
                }
                match parse(&buf) {
                    Parsed::Incomplete => break,
                    Parsed::Complete { request, consumed } => {
                        seen.push(format!("{request:?}"));
                        if let Request::Storage(h) = request {
                            pending = Some(h.bytes.min(1 << 16));
                        }
                        buf.drain(..consumed);
                    }
                    Parsed::Error { error, consumed } => {
                        seen.push(format!("{error:?}"));
                        if error.kind.closes_connection() {
                            return seen;
                        }
                        buf.drain(..consumed);
                    }
                }
            }
            if fed == stream.len() {
                return seen;
            }
            let n = chunk_iter.next().unwrap_or(1).clamp(1, stream.len() - fed);
            buf.extend_from_slice(&stream[fed..fed + n]);
            fed += n;
        }
    }

    #[test]
    fn byte_by_byte_conversation() {
        let stream: &[u8] = b"set a 0 0 3\r\nabc\r\nget a b\r\nset b 0 0 2\r\nxyz\r\nincr n 1\r\nbogus\r\n";
        let whole = run_stream(stream, &[usize::MAX]);
        assert_eq!(whole.len(), 8);
        assert_eq!(run_stream(stream, &[1; 200]), whole);
        for cut in 1..stream.len() {
            assert_eq!(run_stream(stream, &[cut]), whole, "cut at {cut}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let _ = parse(&bytes);
            let _ = parse_data_block(&bytes, 10);
        }

        #[test]
        fn arbitrary_lines_never_panic(line in "[a-z_ 0-9\\-]{0,80}\r?\n") {
            let _ = parse(line.as_bytes());
        }

        #[test]
        fn chunking_never_changes_results(
            picks in proptest::collection::vec(0..REQUESTS.len(), 1..12),
            chunks in proptest::collection::vec(1usize..40, 0..60),
            junk in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut stream = Vec::new();
            for i in &picks {
                stream.extend_from_slice(REQUESTS[*i]);
                stream.extend_from_slice(b"0123456789\r\n");
            }
            stream.extend_from_slice(&junk);
            let whole = run_stream(&stream, &[usize::MAX]);
            prop_assert_eq!(run_stream(&stream, &chunks), whole);
        }
    }
}
