//! Requests on the wire: checking keys and arguments, and composing the
//! bytes of each text command with `torsion_protocols::memcache::text`'s
//! composers.

use bytes::Bytes;
use torsion_protocols::memcache::text::{self, Expect, StorageCommand};

use super::error::MemcacheError;

pub use torsion_protocols::memcache::text::MAX_KEY_LEN;

/// The largest value memcached's text protocol can carry (its length is
/// read into a C `int`, minus the `\r\n`).
pub const MAX_VALUE_LEN: usize = i32::MAX as usize - 2;

/// One request, composed: its bytes and what it expects back.
#[derive(Clone, Debug)]
pub struct Request {
    pub(crate) bytes: Bytes,
    pub(crate) expect: Expect,
}

/// The six storage commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Store {
    Set,
    Add,
    Replace,
    Append,
    Prepend,
    Cas(u64),
}

/// Checks a key as memcached's protocol.txt asks: 1 to 250 bytes, no
/// control character and no space (memcached itself splits on spaces only,
/// but a key with `\t` or a NUL does not survive every server and proxy).
///
/// # Examples
///
/// ```
/// use torsion_clients::memcache::check_key;
///
/// assert!(check_key(b"user:42").is_ok());
/// assert!(check_key("clé".as_bytes()).is_ok()); // bytes above 0x7f are fine
/// assert!(check_key(b"two words").is_err());
/// assert!(check_key(b"").is_err());
/// assert!(check_key(&[b'k'; 251]).is_err());
/// ```
pub fn check_key(key: &[u8]) -> Result<(), MemcacheError> {
    if key.is_empty() {
        return Err(MemcacheError::InvalidRequest("an empty key".into()));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(MemcacheError::InvalidRequest(format!(
            "a key of {} bytes (at most {MAX_KEY_LEN})",
            key.len()
        )));
    }
    if let Some(b) = key.iter().find(|&&b| b <= b' ' || b == 0x7f) {
        return Err(MemcacheError::InvalidRequest(format!(
            "a key with byte {b:#04x} (no spaces or control characters)"
        )));
    }
    Ok(())
}

impl Request {
    /// A request composed by `write` into a buffer of about `capacity` bytes.
    fn composed(capacity: usize, expect: Expect, write: impl FnOnce(&mut Vec<u8>)) -> Request {
        let mut bytes = Vec::with_capacity(capacity);
        write(&mut bytes);
        Request {
            bytes: Bytes::from(bytes),
            expect,
        }
    }

    /// `get`, `gets` (with `cas`), or with `exptime` `gat`, `gats`, for keys
    /// already checked.
    pub(crate) fn retrieval(keys: &[&[u8]], cas: bool, exptime: Option<u32>) -> Request {
        let capacity = keys.iter().map(|k| k.len() + 1).sum::<usize>() + 20;
        let expect = Expect::Values { keys: keys.len() };
        Request::composed(capacity, expect, |out| {
            text::write_get(out, keys.iter().copied(), cas, exptime.map(i64::from));
        })
    }

    /// A storage command for a checked key.
    pub(crate) fn storage(
        store: Store,
        key: &[u8],
        data: &[u8],
        flags: u32,
        exptime: u32,
    ) -> Result<Request, MemcacheError> {
        if data.len() > MAX_VALUE_LEN {
            return Err(MemcacheError::InvalidRequest(format!(
                "a value of {} bytes (at most {MAX_VALUE_LEN})",
                data.len()
            )));
        }
        let (command, cas) = match store {
            Store::Set => (StorageCommand::Set, None),
            Store::Add => (StorageCommand::Add, None),
            Store::Replace => (StorageCommand::Replace, None),
            Store::Append => (StorageCommand::Append, None),
            Store::Prepend => (StorageCommand::Prepend, None),
            Store::Cas(unique) => (StorageCommand::Cas, Some(unique)),
        };
        let capacity = key.len() + data.len() + 72;
        Ok(Request::composed(capacity, Expect::Stored, |out| {
            let bytes = data.len() as u64;
            text::write_line(out, command, key, flags, exptime.into(), bytes, cas);
            text::write_block(out, data);
        }))
    }

    /// `delete <key>`.
    pub(crate) fn delete(key: &[u8]) -> Request {
        Request::composed(key.len() + 10, Expect::Deleted, |out| {
            text::write_delete(out, key, false)
        })
    }

    /// `incr` or `decr`.
    pub(crate) fn arith(incr: bool, key: &[u8], delta: u64) -> Request {
        let op = if incr {
            text::ArithOp::Incr
        } else {
            text::ArithOp::Decr
        };
        Request::composed(key.len() + 28, Expect::Number, |out| {
            text::write_arith(out, op, key, delta, false)
        })
    }

    /// `touch <key> <exptime>`.
    pub(crate) fn touch(key: &[u8], exptime: u32) -> Request {
        Request::composed(key.len() + 20, Expect::Touched, |out| {
            text::write_touch(out, key, exptime.into(), false)
        })
    }

    /// `flush_all`, or `flush_all <delay>` when the delay is not 0.
    pub(crate) fn flush_all(delay: u32) -> Request {
        Request::composed(24, Expect::Ok, |out| {
            text::write_flush_all(out, delay.into(), false)
        })
    }

    /// `stats` or `stats <group>`: the group is printable words.
    pub(crate) fn stats(group: Option<&str>) -> Result<Request, MemcacheError> {
        if let Some(group) = group {
            let fine = !group.is_empty()
                && group.len() <= MAX_KEY_LEN
                && group.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
            if !fine {
                return Err(MemcacheError::InvalidRequest(format!("a stats group {group:?}")));
            }
        }
        let capacity = group.map_or(0, str::len) + 8;
        Ok(Request::composed(capacity, Expect::Stats, |out| {
            text::write_stats(out, group.map(str::as_bytes))
        }))
    }

    /// `version`.
    pub(crate) fn version() -> Request {
        Request::composed(9, Expect::Version, |out| out.extend_from_slice(b"version\r\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(r: &Request) -> String {
        String::from_utf8_lossy(&r.bytes).into_owned()
    }

    #[test]
    fn every_command_composes_as_memcached_expects() {
        let keys: [&[u8]; 2] = [b"a", b"b"];
        assert_eq!(wire(&Request::retrieval(&keys, false, None)), "get a b\r\n");
        assert_eq!(wire(&Request::retrieval(&keys[..1], true, None)), "gets a\r\n");
        assert_eq!(
            wire(&Request::retrieval(&keys, false, Some(60))),
            "gat 60 a b\r\n"
        );
        assert_eq!(
            wire(&Request::retrieval(&keys[..1], true, Some(0))),
            "gats 0 a\r\n"
        );
        assert_eq!(
            Request::retrieval(&keys, false, None).expect,
            Expect::Values { keys: 2 }
        );
        let set = Request::storage(Store::Set, b"k", b"v\r\nw", 5, 100).unwrap();
        assert_eq!(wire(&set), "set k 5 100 4\r\nv\r\nw\r\n");
        let cas = Request::storage(Store::Cas(u64::MAX), b"k", b"", 0, 0).unwrap();
        assert_eq!(wire(&cas), "cas k 0 0 0 18446744073709551615\r\n\r\n");
        for (store, name) in [
            (Store::Add, "add"),
            (Store::Replace, "replace"),
            (Store::Append, "append"),
            (Store::Prepend, "prepend"),
        ] {
            let r = Request::storage(store, b"k", b"x", 0, 0).unwrap();
            assert_eq!(wire(&r), format!("{name} k 0 0 1\r\nx\r\n"));
            assert_eq!(r.expect, Expect::Stored);
        }
        assert_eq!(wire(&Request::delete(b"k")), "delete k\r\n");
        assert_eq!(wire(&Request::arith(true, b"n", 7)), "incr n 7\r\n");
        assert_eq!(
            wire(&Request::arith(false, b"n", u64::MAX)),
            "decr n 18446744073709551615\r\n"
        );
        assert_eq!(wire(&Request::touch(b"k", 10)), "touch k 10\r\n");
        assert_eq!(wire(&Request::flush_all(0)), "flush_all\r\n");
        assert_eq!(wire(&Request::flush_all(30)), "flush_all 30\r\n");
        assert_eq!(wire(&Request::stats(None).unwrap()), "stats\r\n");
        assert_eq!(
            wire(&Request::stats(Some("detail dump")).unwrap()),
            "stats detail dump\r\n"
        );
        assert_eq!(wire(&Request::version()), "version\r\n");
    }

    #[test]
    fn bad_arguments_are_refused_before_sending() {
        for key in [&b""[..], b"a b", b"a\r\nget b", b"nul\0", b"tab\t", b"del\x7f"] {
            assert!(
                matches!(check_key(key), Err(MemcacheError::InvalidRequest(_))),
                "{key:?}"
            );
        }
        assert!(check_key(&[b'k'; MAX_KEY_LEN]).is_ok());
        assert!(check_key(&[b'k'; MAX_KEY_LEN + 1]).is_err());
        assert!(Request::stats(Some("items\r\nflush_all")).is_err());
        assert!(Request::stats(Some("")).is_err());
    }
}
