//! `md`: delete an item, or with `I` mark it stale.
//!
//! ```text
//! md <key> <flags>*\r\n
//! HD <flags>*\r\n | NF | EX
//! ```

use super::flags::{check_opaque, preparse};
use super::key::Key;
use super::{check_line, refuse, Command, Error, ErrorKind, Request};

/// `process_mdelete_command`: "FIXME: not using the preparse errstr?", so
/// every flag error is one message.
pub(super) fn parse<'a>(mut key: Key<'a>, rest: &[&'a [u8]]) -> Result<Request<'a>, Error> {
    check_line(&key, 2, rest, ErrorKind::OptionsTooLong)?;
    let flags = preparse(&mut key, rest).map_err(|_| refuse(ErrorKind::InvalidOrDuplicateFlag))?;
    check_opaque(&flags).map_err(refuse)?;
    Ok(Request {
        command: Command::Delete,
        key,
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{complete, err};
    use super::*;

    #[test]
    fn one_message_for_every_flag_error() {
        let (r, _) = complete(b"md k q I T30 C5 Oa k\r\n");
        assert_eq!(r.command, Command::Delete);
        assert!(r.flags.quiet && r.flags.invalidate);
        assert_eq!((r.flags.ttl, r.flags.compare_cas), (Some(30), Some(5)));
        for line in [&b"md foo x\r\n"[..], b"md foo C-1\r\n", b"md foo M\r\n"] {
            assert_eq!(err(line).kind, ErrorKind::InvalidOrDuplicateFlag);
        }
        assert_eq!(err(b"md\r\n").kind, ErrorKind::UnknownCommand);
        let line = "md k s t c f h l v q u k O1 N1 T1 R1 F1 C1 J1 D1\r\n";
        assert_eq!(err(line.as_bytes()).kind, ErrorKind::OptionsTooLong);
    }
}
