//! The storage commands, `set`, `add`, `replace`, `append`, `prepend` and
//! `cas`: a line, then a data block, answered by one word.
//!
//! ```text
//! <command> <key> <flags> <exptime> <bytes> [noreply]\r\n<data>\r\n
//! cas <key> <flags> <exptime> <bytes> <cas unique> [noreply]\r\n<data>\r\n
//! STORED | NOT_STORED | EXISTS | NOT_FOUND
//! ```
//!
//! The decoder yields the line ([`StorageHeader`]); [`StorageHeader::body`]
//! says how long the block is, so the connection can wait for it, or skip a
//! block too large to store without buffering it. The checks follow
//! memcached's `process_update_command`, in its order.

use super::tokens::Tokens;
use super::{error, key_ok, ErrorKind, Request, RequestError};
use crate::memcache::body::{Block, Body, Head};
use crate::memcache::number::{push_i64, push_u64, safe_strtol, safe_strtoul, safe_strtoull};

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

impl StorageCommand {
    /// The command's name on the wire.
    pub fn name(self) -> &'static [u8] {
        match self {
            StorageCommand::Set => b"set",
            StorageCommand::Add => b"add",
            StorageCommand::Replace => b"replace",
            StorageCommand::Append => b"append",
            StorageCommand::Prepend => b"prepend",
            StorageCommand::Cas => b"cas",
        }
    }

    fn named(name: &[u8]) -> Option<Self> {
        Some(match name {
            b"set" => StorageCommand::Set,
            b"add" => StorageCommand::Add,
            b"replace" => StorageCommand::Replace,
            b"append" => StorageCommand::Append,
            b"prepend" => StorageCommand::Prepend,
            b"cas" => StorageCommand::Cas,
            _ => return None,
        })
    }
}

/// The command line of a storage command; `bytes` of data and `\r\n` follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageHeader<'a> {
    /// Which command.
    pub command: StorageCommand,
    /// The key (at most [`MAX_KEY_LEN`](super::MAX_KEY_LEN) bytes; any byte
    /// but space, `\r`, `\n`).
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

impl Head for StorageHeader<'_> {
    /// The data block that follows the line.
    fn body(&self) -> Body {
        Body::Value(Block {
            key_len: self.key.len(),
            len: self.bytes as usize,
            trailer: b"\r\n",
        })
    }
}

impl StorageHeader<'_> {
    /// Appends the line (not the block).
    pub fn write(&self, out: &mut Vec<u8>) {
        let cas = (self.command == StorageCommand::Cas).then_some(self.cas_unique);
        let exptime = i64::from(self.exptime);
        write_line(
            out,
            self.command,
            self.key,
            self.flags,
            exptime,
            self.bytes.into(),
            cas,
        );
        if self.noreply {
            // ` noreply` goes before the line's `\r\n`.
            out.truncate(out.len() - 2);
            out.extend_from_slice(b" noreply\r\n");
        }
    }
}

/// A storage command's line (`command` names one of the six), or `None`
/// when `command` is not a storage command.
pub(super) fn parse<'a>(t: &Tokens<'a>, command: &[u8]) -> Option<Result<Request<'a>, RequestError>> {
    let command = StorageCommand::named(command)?;
    let base = if command == StorageCommand::Cas { 7 } else { 6 };
    let n = t.ntokens();
    if n != base && n != base + 1 {
        return Some(Err(error(ErrorKind::UnknownCommand, false)));
    }
    Some(header(t, command).map(Request::Storage))
}

/// `process_update_command`: the checks, in memcached's order.
fn header<'a>(t: &Tokens<'a>, command: StorageCommand) -> Result<StorageHeader<'a>, RequestError> {
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

/// Appends `<command> <key> <flags> <exptime> <bytes>[ <cas>]\r\n`; `cas` is
/// written when given (a `cas` command needs it).
pub fn write_line(
    out: &mut Vec<u8>,
    command: StorageCommand,
    key: &[u8],
    flags: u32,
    exptime: i64,
    bytes: u64,
    cas: Option<u64>,
) {
    out.reserve(key.len() + 64);
    out.extend_from_slice(command.name());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b' ');
    push_u64(out, u64::from(flags));
    out.push(b' ');
    push_i64(out, exptime);
    out.push(b' ');
    push_u64(out, bytes);
    if let Some(cas) = cas {
        out.push(b' ');
        push_u64(out, cas);
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a data block: `data` and `\r\n`.
pub fn write_block(out: &mut Vec<u8>, data: &[u8]) {
    out.reserve(data.len() + 2);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::super::tests::{complete, err};
    use super::*;
    use crate::memcache::body::BadChunk;
    use crate::Parsed;

    #[test]
    fn storage_headers() {
        let (r, c) = complete(b"set k 5 -1 3\r\nabc\r\n");
        let header = StorageHeader {
            command: StorageCommand::Set,
            key: b"k",
            flags: 5,
            exptime: -1,
            bytes: 3,
            cas_unique: 0,
            noreply: false,
        };
        assert_eq!((r, c), (Request::Storage(header), 14));
        let Request::Storage(h) = complete(b"cas k 0 0 1 99 noreply\r\n").0 else {
            panic!()
        };
        assert_eq!(
            (h.command, h.cas_unique, h.noreply),
            (StorageCommand::Cas, 99, true)
        );
        // A sixth token other than noreply is ignored, as in memcached.
        let (r, _) = complete(b"append k 0 0 1 whatever\r\n");
        assert!(matches!(r, Request::Storage(h) if !h.noreply && h.command == StorageCommand::Append));
        let (r, _) = complete(b"set k 4294967296 0 2147483645\r\n");
        assert!(matches!(r, Request::Storage(h) if h.flags == 0 && h.bytes == 2147483645));
    }

    #[test]
    fn refused_headers() {
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
        let long = format!("set {} 0 0 1 noreply\r\n", "k".repeat(251));
        assert_eq!(
            err(long.as_bytes()),
            RequestError {
                kind: ErrorKind::BadFormat,
                noreply: true
            }
        );
    }

    #[test]
    fn the_block_follows_the_line() {
        let (Request::Storage(h), line) = complete(b"set k 0 0 3\r\nabc\r\nx") else {
            panic!()
        };
        let Body::Value(block) = h.body() else { panic!() };
        let rest = b"abc\r\nx";
        assert_eq!((block.key_len, block.total()), (1, 5));
        assert_eq!(block.take(rest), Parsed::Complete(&b"abc"[..], 5));
        assert_eq!(block.take(b"abcd\r\n"), Parsed::Error(BadChunk { consumed: 5 }));
        assert_eq!(line, 13);
    }

    #[test]
    fn composed_lines() {
        let mut out = Vec::new();
        write_line(&mut out, StorageCommand::Set, b"k", 5, 100, 4, None);
        write_block(&mut out, b"v\r\nw");
        write_line(&mut out, StorageCommand::Cas, b"k", 0, 0, 0, Some(u64::MAX));
        assert_eq!(
            out,
            b"set k 5 100 4\r\nv\r\nw\r\ncas k 0 0 0 18446744073709551615\r\n"
        );
        out.clear();
        let header = StorageHeader {
            command: StorageCommand::Prepend,
            key: b"k",
            flags: 1,
            exptime: -1,
            bytes: 2,
            cas_unique: 0,
            noreply: true,
        };
        header.write(&mut out);
        assert_eq!(out, b"prepend k 1 -1 2 noreply\r\n");
    }
}
