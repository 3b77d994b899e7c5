//! The retrieval commands, `get`, `gets`, `gat` and `gats`: their line, and
//! the `VALUE` blocks that answer them.
//!
//! ```text
//! get <key>*\r\n                 gets <key>*\r\n
//! gat <exptime> <key>*\r\n       gats <exptime> <key>*\r\n
//! VALUE <key> <flags> <bytes>[ <cas unique>]\r\n<data>\r\n ... END\r\n
//! ```
//!
//! The keys are unbounded in number (memcached reads a long `get` line into
//! a growing buffer); each is at most [`MAX_KEY_LEN`](super::MAX_KEY_LEN) bytes. `bget`, an old
//! alias, is still a `get`.

use super::tokens::{Tokens, Words};
use super::{error, key_ok, ErrorKind, Request, RequestError};
use crate::memcache::number::{parse_plain_u64, push_i64, push_u64, safe_strtol};

/// `get`, `gets`, `bget`, `gat`, `gats` (`command` is the first token).
pub(super) fn parse<'a>(t: &Tokens<'a>, command: &[u8]) -> Result<Request<'a>, RequestError> {
    if t.ntokens() < 3 {
        return Err(error(ErrorKind::UnknownCommand, false));
    }
    let cas = matches!(command, b"gets" | b"gats");
    if matches!(command, b"gat" | b"gats") {
        let exptime = safe_strtol(t.get(1)).ok_or(error(ErrorKind::InvalidExptime, false))?;
        let keys = checked(Words::new(t.after(1)))?;
        return Ok(Request::GetAndTouch { exptime, keys, cas });
    }
    let keys = checked(Words::new(t.after(0)))?;
    Ok(Request::Get { keys, cas })
}

fn checked(keys: Words<'_>) -> Result<Words<'_>, RequestError> {
    if keys.iter().all(key_ok) {
        Ok(keys)
    } else {
        Err(error(ErrorKind::BadFormat, false))
    }
}

/// Appends `get`, `gets` (with `cas`), or with an `exptime` `gat`, `gats`,
/// and the keys.
pub fn write_get<'k>(
    out: &mut Vec<u8>,
    keys: impl IntoIterator<Item = &'k [u8]>,
    cas: bool,
    exptime: Option<i64>,
) {
    out.extend_from_slice(match (exptime.is_some(), cas) {
        (false, false) => b"get",
        (false, true) => b"gets",
        (true, false) => b"gat",
        (true, true) => b"gats",
    });
    if let Some(exptime) = exptime {
        out.push(b' ');
        push_i64(out, exptime);
    }
    for key in keys {
        out.push(b' ');
        out.extend_from_slice(key);
    }
    out.extend_from_slice(b"\r\n");
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

/// The fields of a `VALUE` line, after `VALUE `: `<key> <flags> <bytes>[ <cas>]`
/// with single spaces and plain decimal numbers, as a client reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ValueLine<'a> {
    pub(super) key: &'a [u8],
    pub(super) flags: u32,
    pub(super) bytes: u64,
    pub(super) cas: Option<u64>,
}

impl<'a> ValueLine<'a> {
    pub(super) fn parse(header: &'a [u8]) -> Option<Self> {
        let mut words = header.split(|&b| b == b' ');
        let key = words.next().filter(|k| !k.is_empty())?;
        let flags = u32::try_from(parse_plain_u64(words.next()?)?).ok()?;
        let bytes = parse_plain_u64(words.next()?)?;
        let cas = match words.next() {
            Some(word) => Some(parse_plain_u64(word)?),
            None => None,
        };
        if words.next().is_some() {
            return None;
        }
        Some(ValueLine {
            key,
            flags,
            bytes,
            cas,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{complete, err};
    use super::super::MAX_KEY_LEN;
    use super::*;

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
        assert!(matches!(complete(b"gets a\n").0, Request::Get { cas: true, .. }));
        assert!(matches!(
            complete(b"bget a\r\n").0,
            Request::Get { cas: false, .. }
        ));
        for line in [&b"get\r\n"[..], b"get \r\n", b"GET a\r\n"] {
            assert_eq!(err(line).kind, ErrorKind::UnknownCommand);
        }
    }

    #[test]
    fn key_length_limit() {
        complete(format!("get {}\r\n", "k".repeat(MAX_KEY_LEN)).as_bytes());
        let long = format!("get a {}\r\n", "k".repeat(MAX_KEY_LEN + 1));
        assert_eq!(err(long.as_bytes()).kind, ErrorKind::BadFormat);
    }

    #[test]
    fn control_bytes_in_keys_are_taken_as_memcached_takes_them() {
        // memcaslap's keys start with bytes 0x10; a tab is part of a key too,
        // since memcached splits tokens on spaces only.
        let (r, _) = complete(b"get \x10\x10key a\tb\r\n");
        let Request::Get { keys: k, .. } = r else {
            panic!("{r:?}")
        };
        assert_eq!(keys(k), [&b"\x10\x10key"[..], b"a\tb"]);
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
    fn composed_lines() {
        let mut out = Vec::new();
        write_get(&mut out, [&b"a"[..], b"b"], false, None);
        write_get(&mut out, [&b"a"[..]], true, None);
        write_get(&mut out, [&b"a"[..]], false, Some(60));
        write_get(&mut out, [&b"a"[..]], true, Some(-1));
        assert_eq!(out, b"get a b\r\ngets a\r\ngat 60 a\r\ngats -1 a\r\n");
        out.clear();
        write_value(&mut out, b"k", u32::MAX, b"v\r\n", Some(7));
        assert_eq!(out, b"VALUE k 4294967295 3 7\r\nv\r\n\r\n");
    }

    #[test]
    fn value_lines_as_a_client_reads_them() {
        let line = ValueLine::parse(b"k 5 3 9").unwrap();
        assert_eq!(
            (line.key, line.flags, line.bytes, line.cas),
            (&b"k"[..], 5, 3, Some(9))
        );
        assert_eq!(ValueLine::parse(b"k 0 1").unwrap().cas, None);
        let bad = "k 0| 0 1|k x 1|k 0 1 2 3|k 4294967296 1|k 0 -1|k 0 1 |k 0 99999999999999999999";
        for bad in bad.split('|') {
            assert_eq!(ValueLine::parse(bad.as_bytes()), None, "{bad:?}");
        }
    }
}
