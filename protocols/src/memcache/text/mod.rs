//! memcached's classic text protocol, both ways: requests parsed and
//! composed, replies composed and parsed.
//!
//! Everything here is sans-I/O. [`RequestDecoder`] is a [`Decoder`](crate::Decoder): it finds
//! a command line in the bytes received so far (remembering how far it
//! looked, see [`super::line`](mod@super::line)) and answers [`Parsed::Complete`](crate::Parsed::Complete) with the
//! [`Request`] and the bytes the line used, [`Parsed::Incomplete`](crate::Parsed::Incomplete), or
//! [`Parsed::Error`](crate::Parsed::Error) with a [`LineError`]; keys and arguments borrow from the
//! input, so a request costs no allocation. A storage command (`set`, `add`,
//! `replace`, `append`, `prepend`, `cas`) yields only its line
//! ([`StorageHeader`]); [`Request::body`] says how long its data block is,
//! which lets the connection wait for it, skip ("swallow") a block too large
//! to store without buffering it, and detect a block not followed by `\r\n`.
//!
//! The other direction: [`Request::write`] and the `write_*` functions
//! compose requests (the client sends them), [`Reply`] and `write_value`,
//! `write_number`, `write_stat`, `write_version` compose replies (the server
//! sends them), and a [`ResponseDecoder`] reads replies back as
//! [`Response`]s. Round-trip property tests hold each composer to its parser.
//!
//! One file per command family, each with its parser, its composers and its
//! tests: `get` (`get`, `gets`, `gat`, `gats`), `store` (`set` and
//! the other storage commands), `arith` (`incr`, `decr`), `delete`, `touch`,
//! `stats`, `admin` (`flush_all`, `version`, `verbosity`, `cache_memlimit`,
//! `quit`), and `response` (whole replies, as a client reads them).
//!
//! # Compatibility
//!
//! The behaviour follows memcached 1.6 (`proto_text.c`, `util.c`, `doc/protocol.txt`),
//! including its quirks, because real clients see them:
//!
//! - Framing (a line ends at `\n`, a `\r` before it and anything after a NUL
//!   are dropped, long lines close the connection but for a long `get`) is
//!   [`super::line`](mod@super::line)'s, shared with the meta commands.
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
//! - Keys longer than [`MAX_KEY_LEN`] answer `CLIENT_ERROR bad command line format`
//!   and, as in memcached, the data block of a refused storage command is *not*
//!   swallowed (it is read as the next command line).
//! - Keys may hold any byte but space, `\r` and `\n`, as in memcached, whose
//!   tokenizer splits on spaces only. protocol.txt asks clients not to use
//!   control characters, but memcached does not check, and real clients rely
//!   on it: libmemcached's `memcaslap` starts every key with bytes 0x10.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::body::{Body, Head};
//! use torsion_protocols::memcache::text::{self, Reply, Request, RequestDecoder};
//! use torsion_protocols::{Decoder, Parsed};
//!
//! let input = b"set greeting 0 0 5\r\nhello\r\nget greeting\r\n";
//! let mut decoder = RequestDecoder::default();
//! let Parsed::Complete(request, line) = decoder.decode(input) else { panic!() };
//! let Request::Storage(header) = request else { panic!("expected a storage command") };
//! assert_eq!(header.key, b"greeting");
//! let Body::Value(block) = request.body() else { panic!("a data block follows") };
//! let Parsed::Complete(data, used) = block.take(&input[line..]) else { panic!() };
//! assert_eq!(data, b"hello");
//!
//! let rest = &input[line + used..];
//! let Parsed::Complete(Request::Get { keys, cas: false }, _) = decoder.decode(rest)
//! else { panic!("expected get") };
//! assert_eq!(keys.iter().collect::<Vec<_>>(), vec![&b"greeting"[..]]);
//!
//! let mut out = Vec::new();
//! text::write_value(&mut out, b"greeting", 0, b"hello", None);
//! Reply::End.write(&mut out);
//! assert_eq!(out, b"VALUE greeting 0 5\r\nhello\r\nEND\r\n");
//! ```

mod admin;
mod arith;
pub mod auth;
mod crawler;
mod delete;
mod get;
pub(super) mod response;
mod stats;
mod store;
mod tokens;
mod touch;
mod watch;

pub use admin::{
    write_cache_memlimit, write_debugtime, write_flush_all, write_shutdown, write_slabs, write_verbosity,
    write_version, DebugTime, ShutdownMode, SlabsCommand,
};
pub use arith::{write_arith, write_number, ArithOp};
pub use crawler::{write_lru_crawler, LruCrawlerCommand};
pub use delete::write_delete;
pub use get::{write_get, write_value};
pub use response::{
    Expect, Response, ResponseDecoder, ResponseError, Stats, Value, ValueSpan, Values, MAX_LINE,
};
pub use stats::{write_stat, write_stats};
pub use store::{write_block, write_line, StorageCommand, StorageHeader};
pub use tokens::Words;
pub use touch::write_touch;
pub use watch::WatchKinds;

pub use super::line::{LineError, MAX_GET_LINE, MAX_LINE_LEN};

use super::body::{Body, Head};
use super::line::{LineDecoder, LineParser, LineTooLong};
use tokens::Tokens;

/// Longest key memcached accepts (`KEY_MAX_LENGTH`).
pub const MAX_KEY_LEN: usize = 250;

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
    /// A storage command's line; its data block follows ([`Request::body`]).
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
    /// `cache_memlimit <megabytes> [noreply]`: change the memory limit.
    CacheMemlimit {
        /// The new limit in megabytes (memcached refuses less than 8).
        megabytes: u32,
        /// Whether to suppress the reply.
        noreply: bool,
    },
    /// `shutdown [graceful]`: stop the server, if it was started with `-A`.
    Shutdown {
        /// What the argument asked for.
        mode: ShutdownMode,
    },
    /// `slabs reassign|automove ...`: the slab mover's controls.
    Slabs {
        /// The subcommand.
        command: SlabsCommand<'a>,
        /// Whether to suppress the reply.
        noreply: bool,
    },
    /// `debugtime <seconds>|p|r`: move the server's clock (a testing aid,
    /// refused unless the server enables it).
    DebugTime(DebugTime),
    /// `lru_crawler ...`: the LRU crawler's controls and dumps.
    LruCrawler(LruCrawlerCommand<'a>),
    /// `watch [fetchers|mutations|evictions|connevents|deletions ...]`:
    /// turn the connection into a log stream.
    Watch {
        /// The streams asked for (empty: a bare `watch`).
        kinds: WatchKinds,
    },
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
    /// `CLIENT_ERROR invalid exptime argument` (`touch`, `gat`).
    InvalidExptime,
    /// `flush_all` with a delay that is not a number: `CLIENT_ERROR invalid
    /// exptime argument`, unless the server refuses every `flush_all` (`-F`).
    InvalidFlushDelay,
    /// `CLIENT_ERROR invalid numeric delta argument` (`incr`, `decr`).
    InvalidDelta,
    /// `shutdown`, which memcached refuses unless started with `-A`.
    ShutdownNotEnabled,
    /// An unknown command whose last word starts with `HTTP/` (an HTTP
    /// request line sent to the cache): no reply, close the connection.
    HttpRequest,
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
            ErrorKind::InvalidExptime | ErrorKind::InvalidFlushDelay => Reply::InvalidExptime,
            ErrorKind::InvalidDelta => Reply::InvalidDelta,
            ErrorKind::ShutdownNotEnabled => Reply::ShutdownNotEnabled,
            ErrorKind::LineTooLong | ErrorKind::HttpRequest => return None,
        })
    }

    /// Whether the connection must be closed.
    pub fn closes_connection(self) -> bool {
        matches!(self, ErrorKind::LineTooLong | ErrorKind::HttpRequest)
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

impl From<LineTooLong> for RequestError {
    fn from(_: LineTooLong) -> Self {
        error(ErrorKind::LineTooLong, false)
    }
}

/// The requests of a classic text connection, one line at a time (the meta
/// commands that may share the connection are [`super::ascii`]'s business).
///
/// # Examples
///
/// ```
/// use torsion_protocols::memcache::text::{ErrorKind, Request, RequestDecoder};
/// use torsion_protocols::{Decoder, Parsed};
///
/// let mut decoder = RequestDecoder::default();
/// assert_eq!(decoder.decode(b"delete session:4"), Parsed::Incomplete);
/// let Parsed::Complete(Request::Delete { key, noreply }, used) = decoder.decode(b"delete session:42 noreply\r\n")
/// else { panic!() };
/// assert_eq!((key, noreply, used), (&b"session:42"[..], true, 27));
/// let Parsed::Error(refused) = decoder.decode(b"bogus\r\n") else { panic!() };
/// assert_eq!((refused.error.kind, refused.consumed), (ErrorKind::UnknownCommand, 7));
/// ```
pub type RequestDecoder = LineDecoder<Commands>;

/// The classic commands, as a [`LineParser`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Commands;

impl LineParser for Commands {
    type Request<'a> = Request<'a>;
    type Error = RequestError;

    fn parse(line: &[u8]) -> Result<Request<'_>, RequestError> {
        parse_line(line)
    }
}

/// Parses one command line, already framed (see [`super::line`](mod@super::line)).
pub fn parse_line(line: &[u8]) -> Result<Request<'_>, RequestError> {
    let t = Tokens::new(line);
    let unknown = error(ErrorKind::UnknownCommand, false);
    if t.ntokens() < 2 || t.get(0).len() < 2 {
        return Err(unknown);
    }
    let command = t.get(0);
    match command {
        b"get" | b"gets" | b"bget" | b"gat" | b"gats" => get::parse(&t, command),
        b"incr" => arith::parse(&t, ArithOp::Incr),
        b"decr" => arith::parse(&t, ArithOp::Decr),
        b"delete" => delete::parse(&t),
        b"touch" => touch::parse(&t),
        b"stats" => Ok(stats::parse(&t)),
        b"lru_crawler" => crawler::parse(&t),
        _ => store::parse(&t, command)
            .or_else(|| admin::parse(&t, command))
            .unwrap_or_else(|| Err(unknown_command(&t))),
    }
}

/// An unknown command: `ERROR`, unless the line looks like an HTTP request
/// (its last word starts with `HTTP/`), which closes the connection without
/// a byte, as memcached does. memcached makes that check only for commands
/// outside its per-letter groups, so an unknown word starting with one of
/// `g s a c i d t` still gets `ERROR`.
fn unknown_command(t: &Tokens<'_>) -> RequestError {
    let grouped = matches!(
        t.get(0).first(),
        Some(b'g' | b's' | b'a' | b'c' | b'i' | b'd' | b't')
    );
    let last = t.get(t.ntokens() - 2);
    let kind = if !grouped && last.starts_with(b"HTTP/") {
        ErrorKind::HttpRequest
    } else {
        ErrorKind::UnknownCommand
    };
    error(kind, false)
}

impl Head for Request<'_> {
    /// What follows the line: a storage command's data block, else nothing.
    fn body(&self) -> Body {
        match self {
            Request::Storage(header) => header.body(),
            _ => Body::None,
        }
    }
}

impl Request<'_> {
    /// Appends the command line (for a storage command, its data block
    /// follows: [`write_block`]).
    pub fn write(&self, out: &mut Vec<u8>) {
        match *self {
            Request::Get { keys, cas } => write_get(out, keys.iter(), cas, None),
            Request::GetAndTouch { exptime, keys, cas } => {
                write_get(out, keys.iter(), cas, Some(exptime.into()))
            }
            Request::Storage(header) => header.write(out),
            Request::Delete { key, noreply } => write_delete(out, key, noreply),
            Request::Arith {
                op,
                key,
                delta,
                noreply,
            } => write_arith(out, op, key, delta, noreply),
            Request::Touch {
                key,
                exptime,
                noreply,
            } => write_touch(out, key, exptime.into(), noreply),
            Request::FlushAll { delay, noreply } => write_flush_all(out, delay.into(), noreply),
            Request::Stats { args } => write_stats(out, args.iter()),
            Request::Version => out.extend_from_slice(b"version\r\n"),
            Request::Verbosity { level, noreply } => write_verbosity(out, level, noreply),
            Request::Quit => out.extend_from_slice(b"quit\r\n"),
            Request::Watch { kinds } => {
                out.extend_from_slice(b"watch");
                kinds.write(out);
                out.extend_from_slice(b"\r\n");
            }
            Request::CacheMemlimit { megabytes, noreply } => write_cache_memlimit(out, megabytes, noreply),
            Request::Shutdown { mode } => write_shutdown(out, mode),
            Request::DebugTime(time) => write_debugtime(out, time),
            Request::Slabs { command, noreply } => write_slabs(out, command, noreply),
            Request::LruCrawler(command) => write_lru_crawler(out, command),
        }
    }
}

/// Ends a request line: ` noreply` if asked, then `\r\n`.
fn end_line(out: &mut Vec<u8>, noreply: bool) {
    if noreply {
        out.extend_from_slice(b" noreply");
    }
    out.extend_from_slice(b"\r\n");
}

fn error(kind: ErrorKind, noreply: bool) -> RequestError {
    RequestError { kind, noreply }
}

/// The checks of `<command> <key> <argument> [noreply]` (`incr`, `decr`,
/// `touch`), in memcached's order: the token count, `noreply`, the key.
/// Returns the key, the argument and whether `noreply` was given.
fn key_and_argument<'a>(t: &Tokens<'a>) -> Result<(&'a [u8], &'a [u8], bool), RequestError> {
    let n = t.ntokens();
    if n != 4 && n != 5 {
        return Err(error(ErrorKind::UnknownCommand, false));
    }
    let noreply = t.noreply();
    let key = t.get(1);
    if !key_ok(key) {
        return Err(error(ErrorKind::BadFormat, noreply));
    }
    Ok((key, t.get(2), noreply))
}

/// A key memcached would take: at most [`MAX_KEY_LEN`] bytes. The tokenizer
/// already split on spaces and the line ended at `\n`; like memcached we take
/// control bytes (memcaslap sends them), so only length is checked.
fn key_ok(key: &[u8]) -> bool {
    key.len() <= MAX_KEY_LEN
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
    /// `CLIENT_ERROR invalid shutdown mode`
    InvalidShutdownMode,
    /// `CLIENT_ERROR flush_all not allowed` (a server started with `-F`)
    FlushNotAllowed,
    /// `MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m`
    MemlimitTooSmall,
    /// `MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes`
    MemlimitNotMegabytes,
}

impl Reply {
    /// The reply line, including `\r\n`.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Reply::MemlimitTooSmall => b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n",
            Reply::MemlimitNotMegabytes => b"MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n",
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
            Reply::InvalidShutdownMode => b"CLIENT_ERROR invalid shutdown mode\r\n",
            Reply::FlushNotAllowed => b"CLIENT_ERROR flush_all not allowed\r\n",
        }
    }

    /// Appends the reply line to `out`.
    pub fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.bytes());
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::memcache::body::BadChunk;
    use crate::{Decoder, Parsed};
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// The request at the start of `input`, which must be whole and valid.
    pub(in crate::memcache) fn complete(input: &[u8]) -> (Request<'_>, usize) {
        match RequestDecoder::default().decode(input) {
            Parsed::Complete(request, consumed) => (request, consumed),
            other => panic!("expected a request in {}, got {other:?}", input.escape_ascii()),
        }
    }

    /// Why the line at the start of `input` is refused.
    pub(in crate::memcache) fn err(input: &[u8]) -> RequestError {
        match RequestDecoder::default().decode(input) {
            Parsed::Error(LineError { error, consumed }) => {
                assert!(error.kind == ErrorKind::LineTooLong || consumed > 0);
                error
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_and_empty_lines() {
        for line in [&b"\r\n"[..], b"\n", b"x\r\n", b"mg foo v\r\n", b"GET a\r\n"] {
            assert_eq!(
                err(line).kind,
                ErrorKind::UnknownCommand,
                "{}",
                line.escape_ascii()
            );
        }
        // A NUL ends the command, as strlen does in memcached.
        let (r, c) = complete(b"get a\0 b\r\n");
        assert_eq!(c, 10);
        assert!(matches!(r, Request::Get { keys, .. } if keys.iter().count() == 1));
    }

    #[test]
    fn long_lines() {
        let junk = vec![b'x'; MAX_LINE_LEN + 1];
        assert_eq!(err(&junk).kind, ErrorKind::LineTooLong);
        assert_eq!(ErrorKind::LineTooLong.reply(), None);
        // A long multi-get keeps reading and then succeeds.
        let mut line = b"get".to_vec();
        for i in 0..1000 {
            line.extend_from_slice(format!(" key:{i}").as_bytes());
        }
        assert!(line.len() > MAX_LINE_LEN);
        assert_eq!(RequestDecoder::default().decode(&line), Parsed::Incomplete);
        line.extend_from_slice(b"\r\n");
        let (r, c) = complete(&line);
        assert_eq!(c, line.len());
        assert!(matches!(r, Request::Get { keys, .. } if keys.iter().count() == 1000));
    }

    #[test]
    fn error_replies() {
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
            let expected = RequestDecoder::default().decode(whole);
            assert_ne!(expected, Parsed::Incomplete);
            let mut decoder = RequestDecoder::default();
            for cut in 0..whole.len() {
                let got = decoder.decode(&whole[..cut]);
                assert_eq!(got, Parsed::Incomplete, "{} cut at {cut}", whole.escape_ascii());
            }
            assert_eq!(decoder.decode(whole), expected);
            // Trailing bytes after the line never change the result.
            let mut more = whole.to_vec();
            more.extend_from_slice(b"get x\r\n");
            assert_eq!(RequestDecoder::default().decode(&more), expected);
        }
    }

    /// Drives the decoder over a stream delivered in chunks, the way a
    /// connection does, and records what it saw (data blocks included).
    fn run_stream(stream: &[u8], chunks: &[usize]) -> Vec<String> {
        let mut seen = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut fed = 0;
        let mut chunk_iter = chunks.iter().copied().chain(std::iter::repeat(usize::MAX));
        let mut decoder = RequestDecoder::default();
        let mut pending: Option<crate::memcache::body::Block> = None;
        loop {
            loop {
                if let Some(block) = pending {
                    match block.take(&buf) {
                        Parsed::Incomplete => break,
                        Parsed::Complete(data, consumed) => {
                            seen.push(format!("data {data:?}"));
                            buf.drain(..consumed);
                        }
                        Parsed::Error(BadChunk { consumed }) => {
                            seen.push("bad chunk".into());
                            buf.drain(..consumed);
                        }
                    }
                    pending = None;
                    continue;
                }
                match decoder.decode(&buf) {
                    Parsed::Incomplete => break,
                    Parsed::Complete(request, consumed) => {
                        seen.push(format!("{request:?}"));
                        if let Body::Value(block) = request.body() {
                            pending = Some(crate::memcache::body::Block {
                                len: block.len.min(1 << 16),
                                ..block
                            });
                        }
                        buf.drain(..consumed);
                    }
                    Parsed::Error(LineError { error, consumed }) => {
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

    /// A key a client may send: printable or high bytes, no space.
    fn key() -> impl Strategy<Value = Vec<u8>> {
        vec(prop_oneof![0x21u8..=0x7e, 0x80u8..=0xff], 1..=MAX_KEY_LEN)
    }

    fn storage_command() -> impl Strategy<Value = StorageCommand> {
        prop_oneof![
            Just(StorageCommand::Set),
            Just(StorageCommand::Add),
            Just(StorageCommand::Replace),
            Just(StorageCommand::Append),
            Just(StorageCommand::Prepend),
            Just(StorageCommand::Cas),
        ]
    }

    /// An owned request, from which a [`Request`] borrows.
    #[derive(Debug, Clone)]
    enum Spec {
        Get(Vec<u8>, bool, Option<i32>),
        Storage(StorageCommand, Vec<u8>, u32, i32, u32, u64, bool),
        Delete(Vec<u8>, bool),
        Arith(bool, Vec<u8>, u64, bool),
        Touch(Vec<u8>, i32, bool),
        FlushAll(i32, bool),
        Stats(Vec<u8>),
        Version,
        Verbosity(u32, bool),
        Quit,
        CacheMemlimit(u32, bool),
    }

    fn spec() -> impl Strategy<Value = Spec> {
        let words = |min| vec(key(), min..5).prop_map(|keys| keys.join(&b' '));
        prop_oneof![
            (words(1), any::<bool>()).prop_map(|(k, cas)| Spec::Get(k, cas, None)),
            (words(0), any::<bool>(), any::<i32>()).prop_map(|(k, cas, e)| Spec::Get(k, cas, Some(e))),
            (
                storage_command(),
                key(),
                any::<u32>(),
                any::<i32>(),
                0..=i32::MAX as u32 - 2,
                any::<u64>(),
                any::<bool>()
            )
                .prop_map(|(c, k, f, e, b, cas, n)| Spec::Storage(c, k, f, e, b, cas, n)),
            (key(), any::<bool>()).prop_map(|(k, n)| Spec::Delete(k, n)),
            (any::<bool>(), key(), any::<u64>(), any::<bool>())
                .prop_map(|(i, k, d, n)| Spec::Arith(i, k, d, n)),
            (key(), any::<i32>(), any::<bool>()).prop_map(|(k, e, n)| Spec::Touch(k, e, n)),
            (any::<i32>(), any::<bool>()).prop_map(|(d, n)| Spec::FlushAll(d, n)),
            words(0).prop_map(Spec::Stats),
            Just(Spec::Version),
            (any::<u32>(), any::<bool>()).prop_map(|(l, n)| Spec::Verbosity(l, n)),
            Just(Spec::Quit),
            (any::<u32>(), any::<bool>()).prop_map(|(m, n)| Spec::CacheMemlimit(m, n)),
        ]
    }

    fn request(spec: &Spec) -> Request<'_> {
        match spec {
            Spec::Get(keys, cas, None) => Request::Get {
                keys: Words::new(keys),
                cas: *cas,
            },
            Spec::Get(keys, cas, Some(exptime)) => Request::GetAndTouch {
                exptime: *exptime,
                keys: Words::new(keys),
                cas: *cas,
            },
            Spec::Storage(command, key, flags, exptime, bytes, cas, noreply) => {
                Request::Storage(StorageHeader {
                    command: *command,
                    key,
                    flags: *flags,
                    exptime: *exptime,
                    bytes: *bytes,
                    cas_unique: if *command == StorageCommand::Cas { *cas } else { 0 },
                    noreply: *noreply,
                })
            }
            Spec::Delete(key, noreply) => Request::Delete {
                key,
                noreply: *noreply,
            },
            Spec::Arith(incr, key, delta, noreply) => Request::Arith {
                op: if *incr { ArithOp::Incr } else { ArithOp::Decr },
                key,
                delta: *delta,
                noreply: *noreply,
            },
            Spec::Touch(key, exptime, noreply) => Request::Touch {
                key,
                exptime: *exptime,
                noreply: *noreply,
            },
            Spec::FlushAll(delay, noreply) => Request::FlushAll {
                delay: *delay,
                noreply: *noreply,
            },
            Spec::Stats(args) => Request::Stats {
                args: Words::new(args),
            },
            Spec::Version => Request::Version,
            Spec::Verbosity(level, noreply) => Request::Verbosity {
                level: *level,
                noreply: *noreply,
            },
            Spec::Quit => Request::Quit,
            Spec::CacheMemlimit(megabytes, noreply) => Request::CacheMemlimit {
                megabytes: *megabytes,
                noreply: *noreply,
            },
        }
    }

    proptest! {
        #[test]
        fn every_request_composed_parses_back(spec in spec()) {
            let request = request(&spec);
            let mut wire = Vec::new();
            request.write(&mut wire);
            let (parsed, consumed) = complete(&wire);
            prop_assert_eq!(parsed, request);
            prop_assert_eq!(consumed, wire.len());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..3000)) {
            if let Parsed::Complete(request, consumed) = RequestDecoder::default().decode(&bytes) {
                prop_assert!(consumed <= bytes.len());
                let _ = request.body();
            }
        }

        #[test]
        fn arbitrary_lines_never_panic(line in "[a-z_ 0-9\\-]{0,80}\r?\n") {
            let _ = RequestDecoder::default().decode(line.as_bytes());
        }

        #[test]
        fn chunking_never_changes_results(
            picks in vec(0..REQUESTS.len(), 1..12),
            chunks in vec(1usize..40, 0..60),
            junk in vec(any::<u8>(), 0..64),
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
