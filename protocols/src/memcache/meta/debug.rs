//! `me`, memcached's debug line about an item, and `mn`, the no-op that
//! ends a quiet pipeline.
//!
//! ```text
//! me <key> [b]\r\n      ME <key> exp=<s> la=<s> cas=<n> fetch=<yes|no> cls=<n> size=<n>\r\n | EN
//! mn\r\n                MN\r\n
//! ```

use super::flags::Flags;
use super::key::Key;
use super::{refuse, Command, Error, ErrorKind, Request, MAX_KEY_LEN};

/// `process_meta_command`: only a third token of exactly `b` decodes the key.
pub(super) fn parse<'a>(mut key: Key<'a>, third: Option<&[u8]>) -> Result<Request<'a>, Error> {
    if key.token().len() > MAX_KEY_LEN {
        return Err(refuse(ErrorKind::BadFormat));
    }
    if third == Some(b"b") && !key.decode() {
        return Err(refuse(ErrorKind::BadFormat));
    }
    Ok(Request {
        command: Command::Debug,
        key,
        flags: Flags::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{complete, err};
    use super::*;

    #[test]
    fn debug_keys() {
        let (r, _) = complete(b"me 44OG44K544OI b\r\n");
        assert_eq!((r.command, r.key.bytes()), (Command::Debug, "テスト".as_bytes()));
        let (r, _) = complete(b"me Zm9v bb\r\n");
        assert_eq!(r.key.bytes(), b"Zm9v");
        assert_eq!(err(b"me Zm9 b\r\n").kind, ErrorKind::BadFormat);
        assert_eq!(err(b"me\r\n").kind, ErrorKind::BadFormat);
        let long = format!("me {} v\r\n", "k".repeat(251));
        assert_eq!(err(long.as_bytes()).kind, ErrorKind::BadFormat);
    }

    #[test]
    fn noop_takes_anything() {
        let (r, c) = complete(b"mn\nmg k\r\n");
        assert_eq!((r.command, c), (Command::Noop, 3));
        assert_eq!(complete(b"mn junk here\r\n").0.command, Command::Noop);
    }
}
