//! The replies of the meta commands, both ways: the server composes them a
//! piece at a time (a code, then return flags in request order, then the end
//! of the line), a client reads them whole with a [`ResponseDecoder`].
//!
//! ```text
//! HD|EN|NF|NS|EX|MN <flags>*\r\n          a status, and the return flags asked for
//! VA <len> <flags>*\r\n<data>\r\n         a value
//! ME <key> <debug info>\r\n               me's answer
//! ERROR | CLIENT_ERROR <text> | SERVER_ERROR <text>
//! ```
//!
//! Return flags are kept as sent (` t30 c7 Oabc`): which ones a reply holds
//! depends on the request, so [`ReturnFlags`] iterates over the tokens and a
//! caller reads those it asked for.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::meta::{self, Code, Response, ResponseDecoder};
//! use torsion_protocols::{Decoder, Parsed};
//!
//! let mut wire = Vec::new();
//! meta::write_value_header(&mut wire, 2);
//! meta::write_flag_number(&mut wire, b'c', 7);
//! meta::end_line(&mut wire);
//! wire.extend_from_slice(b"hi\r\n");
//! let mut decoder = ResponseDecoder::new(1 << 20);
//! assert_eq!(decoder.decode(&wire[..9]), Parsed::Incomplete);
//! let Parsed::Complete(Response::Value { flags, data }, used) = decoder.decode(&wire) else { panic!() };
//! assert_eq!((data, used), (&b"hi"[..], wire.len()));
//! assert_eq!(flags.iter().collect::<Vec<_>>(), [&b"c7"[..]]);
//! ```

use super::MAX_KEY_LEN;
use crate::memcache::base64;
use crate::memcache::number::{parse_plain_u64, push_u64};
use crate::memcache::text::response::{split_word, write_word};
use crate::memcache::text::{ResponseError, MAX_LINE};
use crate::{Decoder, Parsed};

/// The two-letter status that starts a meta reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// `HD`: success, no value follows.
    Hd,
    /// `EN`: miss (`mg`, `me`).
    En,
    /// `NF`: not found.
    Nf,
    /// `NS`: not stored.
    Ns,
    /// `EX`: exists (CAS mismatch).
    Ex,
    /// `MN`: the no-op's answer.
    Mn,
}

impl Code {
    /// The two letters.
    pub fn bytes(self) -> &'static [u8; 2] {
        match self {
            Code::Hd => b"HD",
            Code::En => b"EN",
            Code::Nf => b"NF",
            Code::Ns => b"NS",
            Code::Ex => b"EX",
            Code::Mn => b"MN",
        }
    }
}

/// Appends a status code (flags follow, then [`end_line`]).
pub fn write_code(out: &mut Vec<u8>, code: Code) {
    out.extend_from_slice(code.bytes());
}

/// Appends `VA <len>`, the start of a reply carrying a value.
pub fn write_value_header(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(b"VA ");
    push_u64(out, len as u64);
}

/// Appends ` <flag><n>` (`s`, `c`, `f`, `l`, `h`...).
pub fn write_flag_number(out: &mut Vec<u8>, flag: u8, n: u64) {
    out.push(b' ');
    out.push(flag);
    push_u64(out, n);
}

/// Appends ` t<seconds>`, or ` t-1` for an item that never expires.
pub fn write_ttl(out: &mut Vec<u8>, ttl: Option<u32>) {
    match ttl {
        Some(t) => write_flag_number(out, b't', u64::from(t)),
        None => out.extend_from_slice(b" t-1"),
    }
}

/// Appends ` <flag>` (`W`, `X`, `Z`).
pub fn write_flag(out: &mut Vec<u8>, flag: u8) {
    out.push(b' ');
    out.push(flag);
}

/// Appends the opaque token as sent (` Oabc`).
pub fn write_opaque(out: &mut Vec<u8>, token: &[u8]) {
    out.push(b' ');
    out.extend_from_slice(token);
}

/// Appends ` k<key>`, or ` k<base64 key> b` for a binary key (`META_KEY`).
pub fn write_key(out: &mut Vec<u8>, key: &[u8], binary: bool) {
    out.extend_from_slice(b" k");
    if binary {
        base64::encode(key, out);
        out.extend_from_slice(b" b");
    } else {
        out.extend_from_slice(key);
    }
}

/// Ends a reply line with `\r\n`.
pub fn end_line(out: &mut Vec<u8>) {
    out.extend_from_slice(b"\r\n");
}

impl Code {
    fn named(word: &[u8]) -> Option<Code> {
        Some(match word {
            b"HD" => Code::Hd,
            b"EN" => Code::En,
            b"NF" => Code::Nf,
            b"NS" => Code::Ns,
            b"EX" => Code::Ex,
            b"MN" => Code::Mn,
            _ => return None,
        })
    }
}

/// The return flags of a reply, as sent: each token preceded by a space.
/// Two are equal when they hold the same tokens.
#[derive(Clone, Copy)]
pub struct ReturnFlags<'a> {
    raw: &'a [u8],
}

impl<'a> ReturnFlags<'a> {
    /// The flags as they follow the code on the wire (` t30 c7`).
    pub fn new(raw: &'a [u8]) -> Self {
        ReturnFlags { raw }
    }

    /// The tokens, in order (`t30`, `c7`, `Oabc`...).
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.raw.split(|&b| b == b' ').filter(|t| !t.is_empty())
    }

    /// The argument of the first flag named `flag` (`Some(b"")` for a flag
    /// without one, like `W`).
    pub fn get(&self, flag: u8) -> Option<&'a [u8]> {
        self.iter().find(|t| t[0] == flag).map(|t| &t[1..])
    }
}

impl PartialEq for ReturnFlags<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for ReturnFlags<'_> {}

impl std::fmt::Debug for ReturnFlags<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|t| t.escape_ascii().to_string()))
            .finish()
    }
}

/// One whole meta reply; flags, data and texts borrow from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response<'a> {
    /// A status and its return flags.
    Status {
        /// The code.
        code: Code,
        /// The return flags.
        flags: ReturnFlags<'a>,
    },
    /// `VA`: a value and its return flags.
    Value {
        /// The return flags.
        flags: ReturnFlags<'a>,
        /// The data.
        data: &'a [u8],
    },
    /// `ME`: `me`'s debug line.
    Debug {
        /// The key, as the server shows it (base64 for a binary key).
        key: &'a [u8],
        /// The rest: `exp=... la=... cas=... fetch=... cls=... size=...`.
        info: &'a [u8],
    },
    /// `ERROR`, and the text after it, if any.
    Error(&'a [u8]),
    /// `CLIENT_ERROR` and its text.
    ClientError(&'a [u8]),
    /// `SERVER_ERROR` and its text.
    ServerError(&'a [u8]),
}

impl Response<'_> {
    /// Appends the reply, written as the server writes it.
    pub fn write(&self, out: &mut Vec<u8>) {
        match *self {
            Response::Status { code, flags } => {
                write_code(out, code);
                write_flags(out, flags);
                end_line(out);
            }
            Response::Value { flags, data } => {
                write_value_header(out, data.len());
                write_flags(out, flags);
                end_line(out);
                out.extend_from_slice(data);
                end_line(out);
            }
            Response::Debug { key, info } => {
                out.extend_from_slice(b"ME ");
                write_word(out, key, info);
            }
            Response::Error(text) => write_word(out, b"ERROR", text),
            Response::ClientError(text) => write_word(out, b"CLIENT_ERROR", text),
            Response::ServerError(text) => write_word(out, b"SERVER_ERROR", text),
        }
    }
}

fn write_flags(out: &mut Vec<u8>, flags: ReturnFlags<'_>) {
    for token in flags.iter() {
        write_opaque(out, token);
    }
}

/// Decodes meta replies, one at a time, remembering how far it looked for
/// the end of a line (see [`Decoder`]). After an error the stream cannot be
/// trusted: drop the connection.
#[derive(Debug, Clone)]
pub struct ResponseDecoder {
    max_value: usize,
    /// Bytes at the start of the input already searched for a `\n`, in vain
    /// (or, for a value, up to its line's `\n`).
    scanned: usize,
}

impl ResponseDecoder {
    /// A decoder that refuses values longer than `max_value` bytes.
    pub fn new(max_value: usize) -> Self {
        ResponseDecoder {
            max_value,
            scanned: 0,
        }
    }
}

impl Decoder for ResponseDecoder {
    type Message<'a> = Response<'a>;
    type Error = ResponseError;

    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<Response<'a>, ResponseError> {
        let from = self.scanned.min(input.len());
        let Some(newline) = memchr::memchr(b'\n', &input[from..]).map(|i| from + i) else {
            if input.len() > MAX_LINE + 1 {
                return Parsed::Error(ResponseError::LineTooLong);
            }
            self.scanned = input.len();
            return Parsed::Incomplete;
        };
        if newline == 0 || input[newline - 1] != b'\r' {
            return Parsed::Error(ResponseError::BareNewline);
        }
        if newline - 1 > MAX_LINE {
            return Parsed::Error(ResponseError::LineTooLong);
        }
        let line = &input[..newline - 1];
        let next = newline + 1;
        let (word, text) = split_word(line);
        // The return flags as sent, each after its space.
        let flags = &line[word.len()..];
        let response = match word {
            b"ERROR" => Response::Error(text),
            b"CLIENT_ERROR" => Response::ClientError(text),
            b"SERVER_ERROR" => Response::ServerError(text),
            b"VA" => {
                let (len, _) = split_word(text);
                let flags = &text[len.len()..];
                let Some(len) = parse_plain_u64(len).and_then(|n| usize::try_from(n).ok()) else {
                    return Parsed::Error(unexpected(line));
                };
                if len > self.max_value {
                    return Parsed::Error(ResponseError::TooLarge { max: self.max_value });
                }
                let data_end = next + len;
                if input.len() < data_end + 2 {
                    self.scanned = newline;
                    return Parsed::Incomplete;
                }
                if &input[data_end..data_end + 2] != b"\r\n" {
                    return Parsed::Error(ResponseError::BadDataEnd);
                }
                self.scanned = 0;
                let value = Response::Value {
                    flags: ReturnFlags::new(flags),
                    data: &input[next..data_end],
                };
                return Parsed::Complete(value, data_end + 2);
            }
            b"ME" => {
                let (key, info) = split_word(text);
                if key.is_empty() || key.len() > MAX_KEY_LEN {
                    return Parsed::Error(unexpected(line));
                }
                Response::Debug { key, info }
            }
            code => match Code::named(code) {
                Some(code) => Response::Status {
                    code,
                    flags: ReturnFlags::new(flags),
                },
                None => return Parsed::Error(unexpected(line)),
            },
        };
        self.scanned = 0;
        Parsed::Complete(response, next)
    }

    fn reset(&mut self) {
        self.scanned = 0;
    }
}

fn unexpected(line: &[u8]) -> ResponseError {
    ResponseError::Unexpected(String::from_utf8_lossy(&line[..line.len().min(120)]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn decode_all(wire: &[u8]) -> Parsed<Response<'_>, ResponseError> {
        let mut decoder = ResponseDecoder::new(1 << 20);
        for n in 0..wire.len() {
            match decoder.decode(&wire[..n]) {
                Parsed::Incomplete => {}
                early => return early,
            }
        }
        decoder.decode(wire)
    }

    #[test]
    fn composers() {
        let mut out = Vec::new();
        write_value_header(&mut out, 2);
        write_flag_number(&mut out, b's', 2);
        write_ttl(&mut out, None);
        write_ttl(&mut out, Some(7));
        write_key(&mut out, "テ".as_bytes(), true);
        write_key(&mut out, b"k", false);
        write_flag(&mut out, b'W');
        end_line(&mut out);
        for code in [Code::Hd, Code::En, Code::Nf, Code::Ns, Code::Ex, Code::Mn] {
            write_code(&mut out, code);
        }
        assert_eq!(out, b"VA 2 s2 t-1 t7 k44OG b kk W\r\nHDENNFNSEXMN");
    }

    #[test]
    fn what_the_server_writes_a_client_reads() {
        let mut wire = Vec::new();
        write_code(&mut wire, Code::Hd);
        write_flag_number(&mut wire, b'c', 7);
        write_ttl(&mut wire, None);
        write_opaque(&mut wire, b"Oabc");
        write_key(&mut wire, b"k", false);
        write_flag(&mut wire, b'W');
        end_line(&mut wire);
        let Parsed::Complete(Response::Status { code, flags }, used) = decode_all(&wire) else {
            panic!()
        };
        assert_eq!((code, used), (Code::Hd, wire.len()));
        assert_eq!(flags.get(b'c'), Some(&b"7"[..]));
        assert_eq!(flags.get(b't'), Some(&b"-1"[..]));
        assert_eq!(flags.get(b'O'), Some(&b"abc"[..]));
        assert_eq!(flags.get(b'W'), Some(&b""[..]));
        assert_eq!(flags.get(b'X'), None);
        let me = b"ME k exp=-1 la=0 cas=1 fetch=no cls=1 size=61\r\n";
        let Parsed::Complete(Response::Debug { key, info }, _) = decode_all(me) else {
            panic!()
        };
        assert_eq!(
            (key, info),
            (&b"k"[..], &b"exp=-1 la=0 cas=1 fetch=no cls=1 size=61"[..])
        );
        for (wire, expected) in [
            (
                &b"MN\r\n"[..],
                Response::Status {
                    code: Code::Mn,
                    flags: ReturnFlags::new(b""),
                },
            ),
            (b"ERROR\r\n", Response::Error(b"")),
            (
                b"CLIENT_ERROR bad data chunk\r\n",
                Response::ClientError(b"bad data chunk"),
            ),
            (
                b"SERVER_ERROR out of memory\r\n",
                Response::ServerError(b"out of memory"),
            ),
            (
                b"VA 0\r\n\r\n",
                Response::Value {
                    flags: ReturnFlags::new(b""),
                    data: b"",
                },
            ),
        ] {
            assert_eq!(decode_all(wire), Parsed::Complete(expected, wire.len()));
        }
    }

    #[test]
    fn malformed_replies() {
        let error = |wire: &[u8]| match decode_all(wire) {
            Parsed::Error(error) => error,
            other => panic!("{}: {other:?}", wire.escape_ascii()),
        };
        assert_eq!(error(b"HD\n"), ResponseError::BareNewline);
        assert!(matches!(error(b"XX\r\n"), ResponseError::Unexpected(_)));
        assert!(matches!(error(b"VA x\r\n"), ResponseError::Unexpected(_)));
        assert!(matches!(error(b"ME\r\n"), ResponseError::Unexpected(_)));
        assert_eq!(error(b"VA 1\r\nxyz"), ResponseError::BadDataEnd);
        let mut small = ResponseDecoder::new(10);
        assert_eq!(
            small.decode(b"VA 11\r\n"),
            Parsed::Error(ResponseError::TooLarge { max: 10 })
        );
        let long = vec![b'x'; MAX_LINE + 2];
        assert_eq!(error(&long), ResponseError::LineTooLong);
    }

    fn flags() -> impl Strategy<Value = Vec<u8>> {
        vec("[a-zA-Z][a-zA-Z0-9=+/-]{0,12}", 0..6).prop_map(|tokens| {
            tokens
                .iter()
                .flat_map(|t| [" ", t.as_str()])
                .collect::<String>()
                .into_bytes()
        })
    }

    /// An owned reply, from which a [`Response`] borrows.
    #[derive(Debug, Clone)]
    enum Spec {
        Status(Code, Vec<u8>),
        Value(Vec<u8>, Vec<u8>),
        Debug(Vec<u8>, Vec<u8>),
        Error(u8, Vec<u8>),
    }

    fn spec() -> impl Strategy<Value = Spec> {
        let code = prop_oneof![
            Just(Code::Hd),
            Just(Code::En),
            Just(Code::Nf),
            Just(Code::Ns),
            Just(Code::Ex),
            Just(Code::Mn),
        ];
        prop_oneof![
            (code, flags()).prop_map(|(c, f)| Spec::Status(c, f)),
            (flags(), vec(any::<u8>(), 0..100)).prop_map(|(f, d)| Spec::Value(f, d)),
            ("[!-~]{1,40}", "[ -~]{0,60}").prop_map(|(k, i)| Spec::Debug(k.into_bytes(), i.into_bytes())),
            (0..3u8, "[!-~]([ -~]{0,40}[!-~])?").prop_map(|(k, t)| Spec::Error(k, t.into_bytes())),
        ]
    }

    fn response(spec: &Spec) -> Response<'_> {
        match spec {
            Spec::Status(code, flags) => Response::Status {
                code: *code,
                flags: ReturnFlags::new(flags),
            },
            Spec::Value(flags, data) => Response::Value {
                flags: ReturnFlags::new(flags),
                data,
            },
            Spec::Debug(key, info) => Response::Debug { key, info },
            Spec::Error(0, text) => Response::Error(text),
            Spec::Error(1, text) => Response::ClientError(text),
            Spec::Error(_, text) => Response::ServerError(text),
        }
    }

    proptest! {
        #[test]
        fn every_reply_composed_decodes_back(specs in vec(spec(), 1..6), chunk in 1usize..20) {
            let mut wire = Vec::new();
            for spec in &specs {
                response(spec).write(&mut wire);
            }
            let mut decoder = ResponseDecoder::new(1 << 20);
            let (mut start, mut end, mut got) = (0, 0, 0);
            while got < specs.len() {
                end = (end + chunk).min(wire.len());
                match decoder.decode(&wire[start..end]) {
                    Parsed::Complete(decoded, used) => {
                        prop_assert_eq!(decoded, response(&specs[got]));
                        start += used;
                        got += 1;
                        end = start;
                    }
                    Parsed::Incomplete => prop_assert!(end < wire.len()),
                    Parsed::Error(e) => prop_assert!(false, "{e}"),
                }
            }
            prop_assert_eq!(start, wire.len());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
            let _ = ResponseDecoder::new(256).decode(&bytes);
        }
    }
}
