//! `incr` and `decr`: a counter's line, and the number that answers it.
//!
//! ```text
//! incr <key> <delta> [noreply]\r\n        decr <key> <delta> [noreply]\r\n
//! <new value>\r\n | NOT_FOUND | CLIENT_ERROR cannot increment or decrement non-numeric value
//! ```

use super::tokens::Tokens;
use super::{end_line, error, key_and_argument, ErrorKind, Request, RequestError};
use crate::memcache::number::{push_u64, safe_strtoull};

/// `incr` or `decr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `incr`: add, wrapping at 2^64.
    Incr,
    /// `decr`: subtract, stopping at 0.
    Decr,
}

/// `incr` or `decr` (`op`), as `process_arithmetic_command` checks them.
pub(super) fn parse<'a>(t: &Tokens<'a>, op: ArithOp) -> Result<Request<'a>, RequestError> {
    let (key, delta, noreply) = key_and_argument(t)?;
    let delta = safe_strtoull(delta).ok_or(error(ErrorKind::InvalidDelta, noreply))?;
    Ok(Request::Arith {
        op,
        key,
        delta,
        noreply,
    })
}

/// Appends `incr|decr <key> <delta>[ noreply]\r\n`.
pub fn write_arith(out: &mut Vec<u8>, op: ArithOp, key: &[u8], delta: u64, noreply: bool) {
    out.extend_from_slice(match op {
        ArithOp::Incr => b"incr ",
        ArithOp::Decr => b"decr ",
    });
    out.extend_from_slice(key);
    out.push(b' ');
    push_u64(out, delta);
    end_line(out, noreply);
}

/// Appends the reply to a successful `incr`/`decr`: the new value and `\r\n`.
pub fn write_number(out: &mut Vec<u8>, value: u64) {
    push_u64(out, value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::super::tests::{complete, err};
    use super::*;

    #[test]
    fn lines() {
        let incr = Request::Arith {
            op: ArithOp::Incr,
            key: b"n",
            delta: u64::MAX,
            noreply: false,
        };
        assert_eq!(complete(b"incr n 18446744073709551615\r\n").0, incr);
        let refused = RequestError {
            kind: ErrorKind::InvalidDelta,
            noreply: true,
        };
        assert_eq!(err(b"decr n -1 noreply\r\n"), refused);
        assert_eq!(err(b"incr n\r\n").kind, ErrorKind::UnknownCommand);
        let long = format!("incr {} 1\r\n", "k".repeat(251));
        assert_eq!(err(long.as_bytes()).kind, ErrorKind::BadFormat);
        // More than 23 tokens: memcached's ntokens saturates, so this is ERROR.
        let many = format!("incr k 1{}\r\n", " x".repeat(30));
        assert_eq!(err(many.as_bytes()).kind, ErrorKind::UnknownCommand);
    }

    #[test]
    fn composed() {
        let mut out = Vec::new();
        write_arith(&mut out, ArithOp::Incr, b"n", 7, false);
        write_arith(&mut out, ArithOp::Decr, b"n", u64::MAX, true);
        write_number(&mut out, 42);
        assert_eq!(out, b"incr n 7\r\ndecr n 18446744073709551615 noreply\r\n42\r\n");
    }
}
