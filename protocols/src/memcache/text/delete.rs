//! `delete`: a key's line, answered by `DELETED` or `NOT_FOUND`.
//!
//! ```text
//! delete <key> [0] [noreply]\r\n
//! ```
//!
//! The `0` is what is left of an old hold time: memcached still takes it, and
//! refuses any other value with a longer usage message.

use super::tokens::Tokens;
use super::{end_line, error, key_ok, ErrorKind, Request, RequestError};

/// `process_delete_command`'s checks, in its order.
pub(super) fn parse<'a>(t: &Tokens<'a>) -> Result<Request<'a>, RequestError> {
    let n = t.ntokens();
    if !(3..=5).contains(&n) {
        return Err(error(ErrorKind::UnknownCommand, false));
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

/// Appends `delete <key>[ noreply]\r\n`.
pub fn write_delete(out: &mut Vec<u8>, key: &[u8], noreply: bool) {
    out.extend_from_slice(b"delete ");
    out.extend_from_slice(key);
    end_line(out, noreply);
}

#[cfg(test)]
mod tests {
    use super::super::tests::{complete, err};
    use super::*;

    #[test]
    fn hold_times_and_noreply() {
        for (line, noreply) in [
            (&b"delete k\r\n"[..], false),
            (b"delete k 0\r\n", false),
            (b"delete k noreply\r\n", true),
            (b"delete k 0 noreply\r\n", true),
        ] {
            let expected = Request::Delete { key: b"k", noreply };
            assert_eq!(complete(line).0, expected, "{}", line.escape_ascii());
        }
        assert_eq!(err(b"delete k 5\r\n").kind, ErrorKind::BadDeleteFormat);
        let refused = RequestError {
            kind: ErrorKind::BadDeleteFormat,
            noreply: true,
        };
        assert_eq!(err(b"delete k 5 noreply\r\n"), refused);
        assert_eq!(err(b"delete k 0 0 0\r\n").kind, ErrorKind::UnknownCommand);
        let (r, _) = complete(b"delete a\x01\r\n");
        assert!(matches!(r, Request::Delete { key: b"a\x01", .. }));
    }

    #[test]
    fn composed() {
        let mut out = Vec::new();
        write_delete(&mut out, b"k", false);
        write_delete(&mut out, b"k", true);
        assert_eq!(out, b"delete k\r\ndelete k noreply\r\n");
    }
}
