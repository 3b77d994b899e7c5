//! `ma`: increment or decrement a counter, creating it with `N` and `J`.
//!
//! ```text
//! ma <key> <flags>*\r\n
//! HD <flags>*\r\n | VA <len> <flags>*\r\n<number>\r\n | NF | EX
//! ```

use super::flags::{check_opaque, preparse};
use super::key::Key;
use super::{check_line, refuse, ArithMode, Command, Error, ErrorKind, Request};

/// `process_marithmetic_command`, which replaces every preparse message.
pub(super) fn parse<'a>(mut key: Key<'a>, rest: &[&'a [u8]]) -> Result<Request<'a>, Error> {
    check_line(&key, 2, rest, ErrorKind::OptionsTooLong)?;
    let flags = preparse(&mut key, rest).map_err(|_| refuse(ErrorKind::InvalidOrDuplicateFlag))?;
    let mode = match flags.mode() {
        None | Some(b'I' | b'+') => ArithMode::Incr,
        Some(b'D' | b'-') => ArithMode::Decr,
        Some(_) => return Err(refuse(ErrorKind::InvalidArithMode)),
    };
    check_opaque(&flags).map_err(refuse)?;
    Ok(Request {
        command: Command::Arithmetic { mode },
        key,
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{complete, err};
    use super::*;

    #[test]
    fn modes_and_numbers() {
        let incr = Command::Arithmetic {
            mode: ArithMode::Incr,
        };
        assert_eq!(complete(b"ma n\r\n").0.command, incr);
        for (m, mode) in [
            ("MI", ArithMode::Incr),
            ("M+", ArithMode::Incr),
            ("MD", ArithMode::Decr),
            ("M-", ArithMode::Decr),
        ] {
            let line = format!("ma n {m} D5 J9 N0\r\n");
            let (r, _) = complete(line.as_bytes());
            assert_eq!(r.command, Command::Arithmetic { mode });
            assert_eq!((r.flags.delta, r.flags.initial), (Some(5), Some(9)));
        }
        for line in [&b"ma foo v v\r\n"[..], b"ma foo Dx\r\n", b"ma foo M\r\n"] {
            assert_eq!(err(line).kind, ErrorKind::InvalidOrDuplicateFlag);
        }
        assert_eq!(err(b"ma foo MX\r\n").kind, ErrorKind::InvalidArithMode);
        assert_eq!(err(b"ma\r\n").kind, ErrorKind::UnknownCommand);
    }
}
