//! `ms`: store an item, its data block after the line, in one of five modes.
//!
//! ```text
//! ms <key> <datalen> <flags>*\r\n<data>\r\n
//! HD <flags>*\r\n | NS | EX | NF
//! ```
//!
//! Everything refused before the data length is read swallows nothing (the
//! block is read as the next command line); a refusal while the flags are
//! checked swallows the block ([`Error::swallow`]).

use super::flags::{check_opaque, preparse};
use super::key::Key;
use super::{check_line, refuse, Command, Error, ErrorKind, Request, SetMode};
use crate::memcache::number::safe_strtol;

/// `process_mset_command`'s checks, in its order.
pub(super) fn parse<'a>(mut key: Key<'a>, rest: &[&'a [u8]]) -> Result<Request<'a>, Error> {
    let Some((len_token, flag_words)) = rest.split_first() else {
        return Err(refuse(ErrorKind::BadFormat));
    };
    check_line(&key, 3, flag_words, ErrorKind::OptionsTooLong)?;
    let data_len = safe_strtol(len_token)
        .filter(|&n| (0..=i32::MAX - 2).contains(&n))
        .ok_or(refuse(ErrorKind::BadFormat))? as u32;
    let swallow = |kind| Error {
        kind,
        swallow: Some(data_len as usize + 2),
    };
    let flags = preparse(&mut key, flag_words).map_err(swallow)?;
    let mode = match flags.mode() {
        None | Some(b'S') => SetMode::Set,
        Some(b'E') => SetMode::Add,
        Some(b'A') => SetMode::Append,
        Some(b'P') => SetMode::Prepend,
        Some(b'R') => SetMode::Replace,
        Some(_) => return Err(swallow(ErrorKind::InvalidSetMode)),
    };
    check_opaque(&flags).map_err(swallow)?;
    Ok(Request {
        command: Command::Set { mode, data_len },
        key,
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{complete, err};
    use super::*;
    use crate::memcache::body::{Body, Head};

    #[test]
    fn set_lines() {
        let (r, c) = complete(b"ms k 5 T30 F7 c q I C99 MR\r\nhello\r\n");
        assert_eq!(c, 28);
        let command = Command::Set {
            mode: SetMode::Replace,
            data_len: 5,
        };
        assert_eq!(r.command, command);
        let Body::Value(block) = r.body() else { panic!() };
        assert_eq!((block.key_len, block.total()), (1, 7));
        let f = r.flags;
        assert_eq!(
            (f.ttl, f.client_flags, f.compare_cas),
            (Some(30), Some(7), Some(99))
        );
        assert!(f.quiet && f.invalidate);
        for (m, mode) in [
            ("", SetMode::Set),
            (" MS", SetMode::Set),
            (" ME", SetMode::Add),
            (" MA", SetMode::Append),
            (" MP", SetMode::Prepend),
            (" MR", SetMode::Replace),
        ] {
            let line = format!("ms k 0{m}\r\n");
            let got = complete(line.as_bytes()).0.command;
            assert!(matches!(got, Command::Set { mode: m, .. } if m == mode), "{line}");
        }
        let (r, _) = complete(b"ms k 2147483645\r\n");
        assert!(matches!(
            r.command,
            Command::Set {
                data_len: 2147483645,
                ..
            }
        ));
        let ms = "ms k 1 s t c f h l v q u k O1 N1 T1 R1 F1 C1\r\n";
        assert_eq!(complete(ms.as_bytes()).0.flags.tokens().count(), 16);
    }

    #[test]
    fn refused_before_the_length_swallows_nothing() {
        let long = format!("ms {} 3\r\n", "k".repeat(251));
        for line in [
            &b"ms k\r\n"[..],
            b"ms k x\r\n",
            b"ms k -1\r\n",
            b"ms k 2147483646\r\n",
            long.as_bytes(),
        ] {
            assert_eq!(err(line), refuse(ErrorKind::BadFormat), "{}", line.escape_ascii());
        }
        // Too many tokens is found before the data length too.
        let ms = "ms k 1 s t c f h l v q u k O1 N1 T1 R1 F1 C1 J1\r\n";
        assert_eq!(err(ms.as_bytes()), refuse(ErrorKind::OptionsTooLong));
        assert_eq!(err(b"ms\r\n").kind, ErrorKind::UnknownCommand);
    }

    #[test]
    fn refused_while_checking_flags_swallows_the_block() {
        for (line, kind) in [
            (&b"ms k 3 MZ\r\n"[..], ErrorKind::InvalidSetMode),
            (b"ms k 3 M\r\n", ErrorKind::ModeLength),
            (b"ms k 3 MEX\r\n", ErrorKind::ModeLength),
            (b"ms k 3 v v\r\n", ErrorKind::DuplicateFlag),
            (b"ms k 3 Fx\r\n", ErrorKind::BadFormat),
            (b"ms k 3 E1\r\n", ErrorKind::InvalidFlag),
            (b"ms k 3 x\r\n", ErrorKind::InvalidFlag),
        ] {
            let swallowed = Error {
                kind,
                swallow: Some(5),
            };
            assert_eq!(err(line), swallowed, "{}", line.escape_ascii());
        }
    }
}
