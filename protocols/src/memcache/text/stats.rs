//! `stats`: a group's name, answered by `STAT <name> <value>` lines and `END`.
//!
//! ```text
//! stats [group]\r\n
//! STAT <name> <value>\r\n ... END\r\n     (RESET\r\n for stats reset)
//! ```

use super::tokens::{Tokens, Words};
use super::Request;

/// `stats` takes any arguments; what they name is the server's business.
pub(super) fn parse<'a>(t: &Tokens<'a>) -> Request<'a> {
    Request::Stats {
        args: Words::new(t.after(0)),
    }
}

/// Appends `stats[ <args>]\r\n`.
pub fn write_stats<'w>(out: &mut Vec<u8>, args: impl IntoIterator<Item = &'w [u8]>) {
    out.extend_from_slice(b"stats");
    for arg in args {
        out.push(b' ');
        out.extend_from_slice(arg);
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends one `STAT <name> <value>\r\n` line.
pub fn write_stat(out: &mut Vec<u8>, name: &str, value: impl std::fmt::Display) {
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "STAT {name} {value}\r\n");
}

/// A statistics line as a client reads it: `STAT ` (optional: `stats
/// cachedump` answers `ITEM` lines), then a name and a value split at the
/// first space. `None` when the name is empty.
pub(super) fn stat_line(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let text = line.strip_prefix(b"STAT ").unwrap_or(line);
    let (name, value) = match memchr::memchr(b' ', text) {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, &b""[..]),
    };
    (!name.is_empty()).then_some((name, value))
}

#[cfg(test)]
mod tests {
    use super::super::tests::complete;
    use super::*;

    #[test]
    fn any_arguments() {
        let Request::Stats { args } = complete(b"stats  items\r\n").0 else {
            panic!()
        };
        assert_eq!(args.first(), Some(&b"items"[..]));
        assert!(matches!(complete(b"stats\r\n").0, Request::Stats { args } if args.is_empty()));
    }

    #[test]
    fn composed_and_read_back() {
        let mut out = Vec::new();
        write_stats(&mut out, []);
        write_stats(&mut out, [&b"detail"[..], b"dump"]);
        write_stat(&mut out, "pid", 12);
        assert_eq!(out, b"stats\r\nstats detail dump\r\nSTAT pid 12\r\n");
        assert_eq!(stat_line(b"STAT pid 12"), Some((&b"pid"[..], &b"12"[..])));
        assert_eq!(stat_line(b"STAT empty"), Some((&b"empty"[..], &b""[..])));
        assert_eq!(
            stat_line(b"ITEM k [5 b; 0 s]"),
            Some((&b"ITEM"[..], &b"k [5 b; 0 s]"[..]))
        );
        assert_eq!(stat_line(b"STAT  x"), None);
    }
}
