//! `mg`: get an item, with the flags saying what to return and what to do
//! on the way (touch, vivify on a miss, win the recache token).
//!
//! ```text
//! mg <key> <flags>*\r\n
//! VA <len> <flags>*\r\n<data>\r\n | HD <flags>*\r\n | EN\r\n
//! ```

use super::flags::{check_opaque, preparse};
use super::key::Key;
use super::{check_line, refuse, Command, Error, ErrorKind, Request};

/// `process_mget_command`'s checks: the line, then every flag.
pub(super) fn parse<'a>(mut key: Key<'a>, rest: &[&'a [u8]]) -> Result<Request<'a>, Error> {
    check_line(&key, 2, rest, ErrorKind::OptionsAreTooLong)?;
    let flags = preparse(&mut key, rest).map_err(refuse)?;
    check_opaque(&flags).map_err(refuse)?;
    Ok(Request {
        command: Command::Get,
        key,
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{complete, err, tokens};
    use super::super::{MAX_KEY_LEN, MAX_TOKENS};
    use super::*;

    #[test]
    fn get_flags() {
        let (r, c) = complete(b"mg foo s v t c f l h k Oabc q u N30 R-5 T0\r\n");
        assert_eq!(c, 44);
        assert_eq!(r.key.bytes(), b"foo");
        let f = r.flags;
        assert!(f.value && f.quiet && f.no_bump && !f.invalidate);
        assert_eq!((f.vivify, f.recache, f.ttl), (Some(30), Some(-5), Some(0)));
        assert_eq!(tokens(&r)[8], b"Oabc");
        assert!(f.has(b'h') && !f.has(b'x'));
        assert_eq!(f.vivify_exptime(), Some(0)); // T after N wins
        let (r, _) = complete(b"mg foo T5 N30\r\n");
        assert_eq!(r.flags.vivify_exptime(), Some(30));
        let (r, _) = complete(b"mg foo\r\n");
        assert_eq!((r.flags.tokens().count(), r.flags.vivify_exptime()), (0, None));
    }

    #[test]
    fn keys_and_tokens() {
        let key = "k".repeat(MAX_KEY_LEN);
        let line = format!("mg {key} v\r\n");
        assert_eq!(complete(line.as_bytes()).0.key.bytes().len(), MAX_KEY_LEN);
        let long = format!("mg {key}k v\r\n");
        assert_eq!(err(long.as_bytes()).kind, ErrorKind::BadFormat);
        assert_eq!(err(b"mg\r\n").kind, ErrorKind::UnknownCommand);
        // 19 tokens in all are fine, 20 are not, whatever the flags are.
        let nineteen = "mg k s t c f h l v q u k O1 N1 T1 R1 F1 C1 J1\r\n";
        assert_eq!(
            complete(nineteen.as_bytes()).0.flags.tokens().count(),
            MAX_TOKENS - 2
        );
        let twenty = "mg k s t c f h l v q u k O1 N1 T1 R1 F1 C1 J1 D1\r\n";
        assert_eq!(err(twenty.as_bytes()).kind, ErrorKind::OptionsAreTooLong);
        let dup = "mg k v v v v v v v v v v v v v v v v v v v v\r\n";
        assert_eq!(err(dup.as_bytes()).kind, ErrorKind::OptionsAreTooLong);
    }

    #[test]
    fn base64_keys() {
        let (r, _) = complete(b"mg 44OG44K544OI b v k\r\n");
        assert!(r.key.is_binary());
        assert_eq!(r.key.bytes(), "テスト".as_bytes());
        assert_eq!(r.key.token(), b"44OG44K544OI");
        let max = "A".repeat(248);
        let line = format!("mg {max} b\r\n");
        assert_eq!(complete(line.as_bytes()).0.key.bytes().len(), 186);
        assert_eq!(err(b"mg foo b\r\n").kind, ErrorKind::KeyDecode);
    }
}
