//! The commands about the server rather than a key: `flush_all`, `version`,
//! `verbosity`, `cache_memlimit`, `quit` (and `shutdown`, refused).
//!
//! ```text
//! flush_all [delay] [noreply]\r\n       OK
//! version\r\n                           VERSION <version>
//! verbosity <level> [noreply]\r\n       OK
//! cache_memlimit <megabytes> [noreply]\r\n   OK | MEMLIMIT_TOO_SMALL ... | MEMLIMIT_ADJUST_FAILED ...
//! quit\r\n                              (the connection closes)
//! ```

use super::tokens::Tokens;
use super::{end_line, error, ErrorKind, Request, RequestError};
use crate::memcache::number::{push_i64, push_u64, safe_strtol, safe_strtoul};

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
                    None => return Some(Err(error(ErrorKind::InvalidExptime, noreply))),
                }
            }
            Ok(Request::FlushAll { delay, noreply })
        }
        b"version" => Ok(Request::Version),
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
        b"shutdown" => Err(error(ErrorKind::ShutdownNotEnabled, false)),
        b"slabs" => Ok(Request::Slabs {
            args: super::tokens::Words::new(t.after(0)),
        }),
        _ => return None,
    })
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
        assert_eq!(err(b"flush_all x\r\n").kind, ErrorKind::InvalidExptime);
        assert_eq!(err(b"flush_all 1 2 3\r\n").kind, ErrorKind::UnknownCommand);
    }

    #[test]
    fn version_quit_verbosity_memlimit_shutdown() {
        assert_eq!(complete(b"version\r\n").0, Request::Version);
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
        assert_eq!(err(b"shutdown\r\n").kind, ErrorKind::ShutdownNotEnabled);
    }

    #[test]
    fn composed() {
        let mut out = Vec::new();
        write_flush_all(&mut out, 0, false);
        write_flush_all(&mut out, 30, true);
        write_verbosity(&mut out, 2, false);
        write_cache_memlimit(&mut out, 64, true);
        write_version(&mut out, "1.6.38-torsion");
        assert_eq!(
            out,
            b"flush_all\r\nflush_all 30 noreply\r\nverbosity 2\r\ncache_memlimit 64 noreply\r\nVERSION 1.6.38-torsion\r\n"
        );
    }
}
