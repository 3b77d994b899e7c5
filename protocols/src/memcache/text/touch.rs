//! `touch`: a new expiration time for a key, answered by `TOUCHED` or
//! `NOT_FOUND`.
//!
//! ```text
//! touch <key> <exptime> [noreply]\r\n
//! ```

use super::tokens::Tokens;
use super::{end_line, error, key_and_argument, ErrorKind, Request, RequestError};
use crate::memcache::number::{push_i64, safe_strtol};

/// `process_touch_command`'s checks, in its order.
pub(super) fn parse<'a>(t: &Tokens<'a>) -> Result<Request<'a>, RequestError> {
    let (key, exptime, noreply) = key_and_argument(t)?;
    let exptime = safe_strtol(exptime).ok_or(error(ErrorKind::InvalidExptime, noreply))?;
    Ok(Request::Touch {
        key,
        exptime,
        noreply,
    })
}

/// Appends `touch <key> <exptime>[ noreply]\r\n`.
pub fn write_touch(out: &mut Vec<u8>, key: &[u8], exptime: i64, noreply: bool) {
    out.extend_from_slice(b"touch ");
    out.extend_from_slice(key);
    out.push(b' ');
    push_i64(out, exptime);
    end_line(out, noreply);
}

#[cfg(test)]
mod tests {
    use super::super::tests::{complete, err};
    use super::*;

    #[test]
    fn lines() {
        let touch = Request::Touch {
            key: b"k",
            exptime: 10,
            noreply: false,
        };
        assert_eq!(complete(b"touch k 10\r\n").0, touch);
        assert_eq!(err(b"touch k x\r\n").kind, ErrorKind::InvalidExptime);
        assert_eq!(err(b"touch k\r\n").kind, ErrorKind::UnknownCommand);
        let mut out = Vec::new();
        write_touch(&mut out, b"k", 10, false);
        write_touch(&mut out, b"k", -1, true);
        assert_eq!(out, b"touch k 10\r\ntouch k -1 noreply\r\n");
    }
}
