//! The text connection's requests: classic commands ([`super::text`]) and
//! meta commands ([`super::meta`]) mixed on one connection, as memcached's
//! `proto_text.c` takes them.
//!
//! [`RequestDecoder`] frames a line once ([`super::line`](mod@super::line), with its scan
//! position), then offers it to the meta commands, whose first word is one
//! of `mg ms md ma me mn`, and hands any other line to the classic ones.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::ascii::{Request, RequestDecoder};
//! use torsion_protocols::{Decoder, Parsed};
//!
//! let input = b"mg k v\r\nget k\r\n";
//! let mut decoder = RequestDecoder::default();
//! let Parsed::Complete(Request::Meta(mg), used) = decoder.decode(input) else { panic!() };
//! assert_eq!((mg.key.bytes(), used), (&b"k"[..], 8));
//! let Parsed::Complete(Request::Text(get), _) = decoder.decode(&input[used..]) else { panic!() };
//! assert!(matches!(get, torsion_protocols::memcache::text::Request::Get { .. }));
//! ```

use super::body::{Body, Head, Refusal};
use super::line::{LineDecoder, LineError, LineParser, LineTooLong};
use super::{meta, text};

/// A request of either kind.
///
/// A meta [`Request`](meta::Request) is a few hundred bytes (up to
/// [`meta::MAX_TOKENS`] borrowed tokens and room for a decoded key); it lives
/// on the stack for one command, which is cheaper than boxing it, hence the
/// allowed size difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Request<'a> {
    /// A classic command.
    Text(text::Request<'a>),
    /// A meta command.
    Meta(meta::Request<'a>),
}

impl Head for Request<'_> {
    /// What follows the line (a data block after `set` or `ms`).
    fn body(&self) -> Body {
        match self {
            Request::Text(request) => request.body(),
            Request::Meta(request) => request.body(),
        }
    }
}

/// Why a line was refused, in the words of the commands it named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// A classic command's error (or a line too long: close the connection).
    Text(text::RequestError),
    /// A meta command's error.
    Meta(meta::Error),
}

impl From<LineTooLong> for Refused {
    fn from(too_long: LineTooLong) -> Self {
        Refused::Text(too_long.into())
    }
}

impl Refusal for LineError<Refused> {
    /// The line (0 for a line too long: the connection closes).
    fn consumed(&self) -> usize {
        self.consumed
    }

    /// A data block to skip after the line (an `ms` refused once its length
    /// was known).
    fn swallow(&self) -> usize {
        match self.error {
            Refused::Meta(error) => error.swallow.unwrap_or(0),
            Refused::Text(_) => 0,
        }
    }
}

/// Requests of a text connection, one line at a time (see the module docs).
pub type RequestDecoder = LineDecoder<Commands>;

/// The classic and the meta commands, as a [`LineParser`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Commands;

impl LineParser for Commands {
    type Request<'a> = Request<'a>;
    type Error = Refused;

    fn parse(line: &[u8]) -> Result<Request<'_>, Refused> {
        match meta::parse_line(line) {
            Some(parsed) => parsed.map(Request::Meta).map_err(Refused::Meta),
            None => text::parse_line(line).map(Request::Text).map_err(Refused::Text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decoder, Parsed};

    fn decode(input: &[u8]) -> Parsed<Request<'_>, LineError<Refused>> {
        RequestDecoder::default().decode(input)
    }

    #[test]
    fn meta_lines_go_to_the_meta_commands_and_the_rest_to_the_classic_ones() {
        for line in [&b"mg k v\r\n"[..], b"  ms k 1\r\n", b"mn\r\n", b"me k\r\n"] {
            assert!(
                matches!(decode(line), Parsed::Complete(Request::Meta(_), _)),
                "{}",
                line.escape_ascii()
            );
        }
        for line in "get k|set k 0 0 1|mget k|m|".split('|') {
            let line = format!("{line}\r\n");
            let line = line.as_bytes();
            let got = decode(line);
            let classic = matches!(got, Parsed::Complete(Request::Text(_), _))
                || matches!(
                    got,
                    Parsed::Error(LineError {
                        error: Refused::Text(_),
                        ..
                    })
                );
            assert!(classic, "{}: {got:?}", line.escape_ascii());
        }
        let Parsed::Error(refused) = decode(b"ms k 3 v v\r\nabc\r\n") else {
            panic!()
        };
        assert_eq!((refused.consumed(), refused.swallow()), (12, 5));
        let Parsed::Error(refused) = decode(b"mx k\r\n") else {
            panic!()
        };
        assert!(matches!(refused.error, Refused::Text(e) if e.kind == text::ErrorKind::UnknownCommand));
    }

    #[test]
    fn long_lines_close_whatever_the_command() {
        for start in [&b"mg "[..], b"set ", b"x"] {
            let mut line = start.to_vec();
            line.resize(text::MAX_LINE_LEN + 1, b'k');
            let Parsed::Error(refused) = decode(&line) else {
                panic!()
            };
            assert_eq!(refused.consumed, 0);
            assert!(matches!(refused.error, Refused::Text(e) if e.kind.closes_connection()));
        }
    }

    #[test]
    fn a_long_get_line_arriving_a_byte_at_a_time_is_scanned_once() {
        let mut wire = b"get".to_vec();
        while wire.len() < 200_000 {
            wire.extend_from_slice(b" some:key");
        }
        wire.extend_from_slice(b"\r\n");
        let mut decoder = RequestDecoder::default();
        for n in 0..wire.len() {
            assert_eq!(decoder.decode(&wire[..n]), Parsed::Incomplete);
        }
        let Parsed::Complete(Request::Text(text::Request::Get { keys, .. }), used) = decoder.decode(&wire)
        else {
            panic!()
        };
        assert_eq!((keys.iter().count(), used), ((wire.len() - 5) / 9, wire.len()));
        assert!(
            decoder.examined() <= wire.len(),
            "{} bytes examined",
            decoder.examined()
        );
    }
}
