//! The commands about the server rather than a key: `flush_all`, `version`,
//! `verbosity`, `cache_memlimit`, `quit`, `shutdown` and `debugtime`.
//!
//! ```text
//! flush_all [delay] [noreply]\r\n       OK | CLIENT_ERROR flush_all not allowed
//! version\r\n                           VERSION <version>
//! verbosity <level> [noreply]\r\n       OK
//! cache_memlimit <megabytes> [noreply]\r\n   OK | MEMLIMIT_TOO_SMALL ... | MEMLIMIT_ADJUST_FAILED ...
//! quit\r\n                              (the connection closes)
//! shutdown [graceful]\r\n               (the server stops) | ERROR: shutdown not enabled
//!                                      | CLIENT_ERROR invalid shutdown mode
//! debugtime <seconds>|p|r\r\n           OK | ERROR   (a testing aid, off by default)
//! ```
//!
//! Whether `shutdown`, `flush_all` and `debugtime` are allowed is the
//! server's setting, so the parser accepts them and the server decides.

use super::tokens::Tokens;
use super::{end_line, error, ErrorKind, Request, RequestError, WatchKinds};
use crate::memcache::number::{push_i64, push_u64, safe_strtol, safe_strtoul};

/// What `shutdown` asked for (memcached acts on it only when started with `-A`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    /// `shutdown`: stop now.
    Now,
    /// `shutdown graceful`: stop as on SIGUSR1.
    Graceful,
    /// Any other argument: `CLIENT_ERROR invalid shutdown mode`.
    Invalid,
}

/// A `slabs` subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlabsCommand<'a> {
    /// `slabs reassign <src> <dst>`: move a page between size classes
    /// (`None`: the argument is not a number).
    Reassign {
        /// The class giving a page.
        src: Option<i32>,
        /// The class receiving it.
        dst: Option<i32>,
    },
    /// `slabs automove <level>` (0, 1 or 2).
    Automove(u32),
    /// `slabs automove ratio <ratio>` (a decimal number, as sent).
    AutomoveRatio(&'a [u8]),
}

/// What `debugtime` asked for: memcached's debug builds let a test move the
/// server's clock instead of sleeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugTime {
    /// `debugtime <seconds>`: move the clock forward (or back) that much.
    Advance(i64),
    /// `debugtime p`: stop the clock.
    Pause,
    /// `debugtime r`: let it run again.
    Resume,
}

/// `flush_all`, `version`, `verbosity`, `cache_memlimit`, `quit`, `shutdown`;
/// `None` for any other command.
pub(super) fn parse<'a>(t: &Tokens<'a>, command: &[u8]) -> Option<Result<Request<'a>, RequestError>> {
    let n = t.ntokens();
    let unknown = error(ErrorKind::UnknownCommand, false);
    Some(match command {
        b"flush_all" => {
            if !(2..=4).contains(&n) {
                return Some(Err(unknown));
            }
            let noreply = t.noreply();
            let mut delay = 0;
            if n != if noreply { 3 } else { 2 } {
                match safe_strtol(t.get(1)) {
                    Some(d) => delay = d,
                    None => return Some(Err(error(ErrorKind::InvalidFlushDelay, noreply))),
                }
            }
            Ok(Request::FlushAll { delay, noreply })
        }
        b"version" => Ok(Request::Version),
        b"watch" => {
            let mut kinds = WatchKinds::default();
            for i in 1..n.saturating_sub(1) {
                match WatchKinds::from_word(t.get(i)) {
                    Some(kind) => kinds = kinds.with(kind),
                    None => return Some(Err(unknown)),
                }
            }
            Ok(Request::Watch { kinds })
        }
        b"quit" => Ok(Request::Quit),
        b"verbosity" | b"cache_memlimit" => {
            if n != 3 && n != 4 {
                return Some(Err(unknown));
            }
            let noreply = t.noreply();
            let number = safe_strtoul(t.get(1));
            if command == b"verbosity" {
                number
                    .map(|level| Request::Verbosity { level, noreply })
                    .ok_or(error(ErrorKind::BadFormat, noreply))
            } else {
                // process_memlimit_command: a bad number is `ERROR`.
                number
                    .map(|megabytes| Request::CacheMemlimit { megabytes, noreply })
                    .ok_or(error(ErrorKind::UnknownCommand, noreply))
            }
        }
        b"shutdown" => Ok(Request::Shutdown {
            mode: match n {
                2 => ShutdownMode::Now,
                3 if t.get(1) == b"graceful" => ShutdownMode::Graceful,
                _ => ShutdownMode::Invalid,
            },
        }),
        b"slabs" => parse_slabs(t),
        b"debugtime" => match (n, t.get(1.min(n - 2))) {
            (3.., b"p") => Ok(Request::DebugTime(DebugTime::Pause)),
            (3.., b"r") => Ok(Request::DebugTime(DebugTime::Resume)),
            (3.., word) => std::str::from_utf8(word)
                .ok()
                .and_then(|w| w.parse::<i64>().ok())
                .map(|seconds| Request::DebugTime(DebugTime::Advance(seconds)))
                .ok_or(unknown),
            _ => Err(unknown),
        },
        _ => return None,
    })
}

/// `slabs reassign <src> <dst>` | `slabs automove <0|1|2>` | `slabs
/// automove ratio <f>`, checked in memcached's order; whether reassignment
/// is enabled is the server's to say, so bad class numbers travel as `None`.
fn parse_slabs<'a>(t: &Tokens<'a>) -> Result<Request<'a>, RequestError> {
    let n = t.ntokens();
    let noreply = t.noreply();
    match t.get(1.min(n - 2)) {
        b"reassign" if n == 5 => Ok(Request::Slabs {
            command: SlabsCommand::Reassign {
                src: safe_strtol(t.get(2)),
                dst: safe_strtol(t.get(3)),
            },
            noreply,
        }),
        b"automove" if n >= 4 => {
            let command = if t.get(2) == b"ratio" {
                let ratio = (n >= 5)
                    .then(|| t.get(3))
                    .filter(|r| std::str::from_utf8(r).is_ok_and(|r| r.parse::<f64>().is_ok()));
                SlabsCommand::AutomoveRatio(ratio.ok_or(error(ErrorKind::UnknownCommand, noreply))?)
            } else {
                match safe_strtoul(t.get(2)) {
                    None => return Err(error(ErrorKind::BadFormat, noreply)),
                    Some(level @ 0..=2) => SlabsCommand::Automove(level),
                    Some(_) => return Err(error(ErrorKind::UnknownCommand, noreply)),
                }
            };
            Ok(Request::Slabs { command, noreply })
        }
        _ => Err(error(ErrorKind::UnknownCommand, false)),
    }
}

/// Appends `slabs ...\r\n`.
pub fn write_slabs(out: &mut Vec<u8>, command: SlabsCommand<'_>, noreply: bool) {
    out.extend_from_slice(b"slabs ");
    match command {
        SlabsCommand::Reassign { src, dst } => {
            out.extend_from_slice(b"reassign ");
            push_i64(out, src.unwrap_or(0).into());
            out.push(b' ');
            push_i64(out, dst.unwrap_or(0).into());
        }
        SlabsCommand::Automove(level) => {
            out.extend_from_slice(b"automove ");
            push_u64(out, level.into());
        }
        SlabsCommand::AutomoveRatio(ratio) => {
            out.extend_from_slice(b"automove ratio ");
            out.extend_from_slice(ratio);
        }
    }
    end_line(out, noreply);
}

/// Appends `flush_all[ <delay>][ noreply]\r\n` (no delay when it is 0).
pub fn write_flush_all(out: &mut Vec<u8>, delay: i64, noreply: bool) {
    out.extend_from_slice(b"flush_all");
    if delay != 0 {
        out.push(b' ');
        push_i64(out, delay);
    }
    end_line(out, noreply);
}

/// Appends `verbosity <level>[ noreply]\r\n`.
pub fn write_verbosity(out: &mut Vec<u8>, level: u32, noreply: bool) {
    out.extend_from_slice(b"verbosity ");
    push_u64(out, level.into());
    end_line(out, noreply);
}

/// Appends `cache_memlimit <megabytes>[ noreply]\r\n`.
pub fn write_cache_memlimit(out: &mut Vec<u8>, megabytes: u32, noreply: bool) {
    out.extend_from_slice(b"cache_memlimit ");
    push_u64(out, megabytes.into());
    end_line(out, noreply);
}

/// Appends `shutdown[ graceful]\r\n` (an invalid mode is written as
/// `shutdown invalid`).
pub fn write_shutdown(out: &mut Vec<u8>, mode: ShutdownMode) {
    out.extend_from_slice(match mode {
        ShutdownMode::Now => b"shutdown\r\n",
        ShutdownMode::Graceful => b"shutdown graceful\r\n",
        ShutdownMode::Invalid => b"shutdown invalid\r\n",
    });
}

/// Appends `debugtime <seconds>|p|r\r\n`.
pub fn write_debugtime(out: &mut Vec<u8>, time: DebugTime) {
    out.extend_from_slice(b"debugtime ");
    match time {
        DebugTime::Advance(seconds) => push_i64(out, seconds),
        DebugTime::Pause => out.push(b'p'),
        DebugTime::Resume => out.push(b'r'),
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends `VERSION <version>\r\n`.
pub fn write_version(out: &mut Vec<u8>, version: &str) {
    out.extend_from_slice(b"VERSION ");
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::super::tests::{complete, err};
    use super::*;

    #[test]
    fn flush_all() {
        for (line, delay, noreply) in [
            (&b"flush_all\r\n"[..], 0, false),
            (b"flush_all noreply\r\n", 0, true),
            (b"flush_all 10 noreply\r\n", 10, true),
            (b"flush_all -5\r\n", -5, false),
        ] {
            assert_eq!(complete(line).0, Request::FlushAll { delay, noreply });
        }
        assert_eq!(err(b"flush_all x\r\n").kind, ErrorKind::InvalidFlushDelay);
        assert_eq!(
            ErrorKind::InvalidFlushDelay.reply(),
            Some(super::super::Reply::InvalidExptime)
        );
        assert_eq!(err(b"flush_all 1 2 3\r\n").kind, ErrorKind::UnknownCommand);
    }

    #[test]
    fn version_quit_verbosity_memlimit_shutdown() {
        assert_eq!(complete(b"version\r\n").0, Request::Version);
        let kinds = WatchKinds::FETCHERS.with(WatchKinds::EVICTIONS);
        assert_eq!(
            complete(b"watch fetchers evictions\r\n").0,
            Request::Watch { kinds }
        );
        let bare = WatchKinds::default();
        assert_eq!(complete(b"watch\r\n").0, Request::Watch { kinds: bare });
        assert_eq!(complete(b"version extra\r\n").0, Request::Version);
        let many = format!("version{}\r\n", " x".repeat(30));
        assert_eq!(complete(many.as_bytes()).0, Request::Version);
        assert_eq!(complete(b"quit\n").0, Request::Quit);
        let verbosity = Request::Verbosity {
            level: 1,
            noreply: false,
        };
        assert_eq!(complete(b"verbosity 1\r\n").0, verbosity);
        assert_eq!(err(b"verbosity\r\n").kind, ErrorKind::UnknownCommand);
        let refused = RequestError {
            kind: ErrorKind::BadFormat,
            noreply: true,
        };
        assert_eq!(err(b"verbosity x noreply\r\n"), refused);
        let memlimit = Request::CacheMemlimit {
            megabytes: 64,
            noreply: true,
        };
        assert_eq!(complete(b"cache_memlimit 64 noreply\r\n").0, memlimit);
        assert_eq!(err(b"cache_memlimit x\r\n").kind, ErrorKind::UnknownCommand);
        let shutdown = |line: &[u8]| match complete(line).0 {
            Request::Shutdown { mode } => mode,
            other => panic!("{other:?}"),
        };
        assert_eq!(shutdown(b"shutdown\r\n"), ShutdownMode::Now);
        assert_eq!(shutdown(b"shutdown  graceful\r\n"), ShutdownMode::Graceful);
        assert_eq!(shutdown(b"shutdown foo\r\n"), ShutdownMode::Invalid);
        assert_eq!(shutdown(b"shutdown graceful x\r\n"), ShutdownMode::Invalid);
        assert_eq!(shutdown(b"shutdown noreply\r\n"), ShutdownMode::Invalid);
    }

    #[test]
    fn slabs() {
        fn slabs(line: &'static [u8]) -> (SlabsCommand<'static>, bool) {
            match complete(line).0 {
                Request::Slabs { command, noreply } => (command, noreply),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            slabs(b"slabs reassign 1 x\r\n"),
            (
                SlabsCommand::Reassign {
                    src: Some(1),
                    dst: None
                },
                false
            )
        );
        assert_eq!(
            slabs(b"slabs automove 2 noreply\r\n"),
            (SlabsCommand::Automove(2), true)
        );
        assert_eq!(
            slabs(b"slabs automove ratio 0.5 x\r\n").0,
            SlabsCommand::AutomoveRatio(b"0.5")
        );
        assert_eq!(err(b"slabs automove invalid\r\n").kind, ErrorKind::BadFormat);
        assert_eq!(err(b"slabs automove 3\r\n").kind, ErrorKind::UnknownCommand);
        assert_eq!(
            err(b"slabs automove ratio x y\r\n").kind,
            ErrorKind::UnknownCommand
        );
        assert_eq!(err(b"slabs automove\r\n").kind, ErrorKind::UnknownCommand);
        assert_eq!(err(b"slabs reassign 1\r\n").kind, ErrorKind::UnknownCommand);
        assert_eq!(err(b"slabs\r\n").kind, ErrorKind::UnknownCommand);
        let mut out = Vec::new();
        write_slabs(&mut out, SlabsCommand::Automove(1), true);
        write_slabs(
            &mut out,
            SlabsCommand::Reassign {
                src: Some(2),
                dst: Some(3),
            },
            false,
        );
        assert_eq!(out, b"slabs automove 1 noreply\r\nslabs reassign 2 3\r\n");
    }

    #[test]
    fn debugtime() {
        assert_eq!(
            complete(b"debugtime 3\r\n").0,
            Request::DebugTime(DebugTime::Advance(3))
        );
        assert_eq!(
            complete(b"debugtime -2\r\n").0,
            Request::DebugTime(DebugTime::Advance(-2))
        );
        assert_eq!(
            complete(b"debugtime p\r\n").0,
            Request::DebugTime(DebugTime::Pause)
        );
        assert_eq!(
            complete(b"debugtime r\r\n").0,
            Request::DebugTime(DebugTime::Resume)
        );
        assert_eq!(err(b"debugtime\r\n").kind, ErrorKind::UnknownCommand);
        assert_eq!(err(b"debugtime x\r\n").kind, ErrorKind::UnknownCommand);
    }

    #[test]
    fn http_request_lines_close() {
        for line in [
            &b"GET / HTTP/1.0\r\n"[..],
            b"PUT /asdf/asd/fasdfasdf/sadf HTTP/1.1\r\n",
            b"DELETE HTTP/1.1\r\n",
            b"HTTP/1.1\r\n",
            b"xy HTTP/1.0\r\n",
        ] {
            let e = err(line);
            assert_eq!(e.kind, ErrorKind::HttpRequest, "{}", line.escape_ascii());
            assert!(e.kind.closes_connection());
        }
        // Not the last word, a one-letter command, or a letter memcached
        // groups (its own ERROR): ERROR, as memcached answers.
        for line in [
            &b"GET / HTTP/1.0 noreply\r\n"[..],
            b"x HTTP/1.0\r\n",
            b"gxx HTTP/1.0\r\n",
            b"delet HTTP/1.0\r\n",
            b"HTTP/1.1 a\r\n",
        ] {
            assert_eq!(
                err(line).kind,
                ErrorKind::UnknownCommand,
                "{}",
                line.escape_ascii()
            );
        }
    }

    #[test]
    fn composed() {
        let mut out = Vec::new();
        write_flush_all(&mut out, 0, false);
        write_flush_all(&mut out, 30, true);
        write_verbosity(&mut out, 2, false);
        write_cache_memlimit(&mut out, 64, true);
        write_version(&mut out, "1.6.38-torsion");
        write_shutdown(&mut out, ShutdownMode::Graceful);
        write_debugtime(&mut out, DebugTime::Advance(-5));
        assert_eq!(
            out,
            &b"flush_all\r\nflush_all 30 noreply\r\nverbosity 2\r\ncache_memlimit 64 noreply\r\nVERSION 1.6.38-torsion\r\nshutdown graceful\r\ndebugtime -5\r\n"[..]
        );
    }
}
