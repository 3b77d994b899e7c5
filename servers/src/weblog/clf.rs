//! The access-log line parser: NCSA Common Log Format, and the Combined
//! format that adds the referrer and the user agent. Sans-I/O: bytes in, a
//! [`Hit`] borrowing from them (or a [`ParseError`]) out.
//!
//! ```text
//! host ident user [time] "request" status bytes                       common
//! host ident user [time] "request" status bytes "referrer" "agent"    combined
//! 127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326
//! ```
//!
//! The rules, as Apache (`LogFormat "%h %l %u %t \"%r\" %>s %b ..."`) and
//! nginx write them:
//!
//! - `host`, `ident`, `user`: tokens without spaces (`-` when unknown);
//! - `time`: `[dd/Mon/yyyy:hh:mm:ss ±zzzz]`, checked field by field;
//! - `request`, `referrer`, `agent`: in double quotes; inside, `\"` and
//!   `\\` are escapes (Apache escapes quotes, backslashes and control
//!   bytes), kept raw in the [`Hit`] and undone by [`unescape`];
//! - `status`: three digits; `bytes`: digits, or `-` for none;
//! - fields are separated by single spaces; after the agent, more fields
//!   may follow (a virtual host, a response time) and are ignored, as is
//!   trailing whitespace.
//!
//! Anything else is a [`ParseError`], and the caller skips the line.

use std::borrow::Cow;
use std::fmt;

/// One parsed log line. The quoted fields are raw: still escaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit<'a> {
    /// The client's address or name.
    pub host: &'a [u8],
    /// RFC 1413 identity, almost always `-`.
    pub ident: &'a [u8],
    /// The authenticated user, or `-`.
    pub user: &'a [u8],
    /// When the request was received, e.g. `10/Oct/2000:13:55:36 -0700`.
    pub time: &'a [u8],
    /// The request line, e.g. `GET /apache_pb.gif HTTP/1.0` (raw).
    pub request: &'a [u8],
    /// The response status.
    pub status: u16,
    /// The size of the response body, `None` for `-`.
    pub bytes: Option<u64>,
    /// The `Referer` header (combined format only; raw).
    pub referrer: Option<&'a [u8]>,
    /// The `User-Agent` header (combined format only; raw).
    pub agent: Option<&'a [u8]>,
}

/// Why a line is not a log record: the first field that is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The line is empty (or only whitespace).
    Empty,
    /// A field is missing or malformed; the name says which.
    Field(&'static str),
    /// Something follows the common fields that is not the combined ones.
    Trailing,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("empty line"),
            ParseError::Field(name) => write!(f, "bad or missing {name}"),
            ParseError::Trailing => f.write_str("unexpected text after the byte count"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses one line (without its line ending).
///
/// # Examples
///
/// ```
/// use torsion_servers::weblog::clf::parse;
///
/// let hit = parse(br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326"#).unwrap();
/// assert_eq!(hit.request, b"GET /a.gif HTTP/1.0");
/// assert_eq!((hit.status, hit.bytes, hit.agent), (200, Some(2326), None));
/// ```
pub fn parse(line: &[u8]) -> Result<Hit<'_>, ParseError> {
    let line = line.trim_ascii_end();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut c = Cursor { rest: line };
    let host = c.token().ok_or(ParseError::Field("host"))?;
    c.space("ident")?;
    let ident = c.token().ok_or(ParseError::Field("ident"))?;
    c.space("user")?;
    let user = c.token().ok_or(ParseError::Field("user"))?;
    c.space("time")?;
    let time = c
        .bracketed()
        .filter(|t| valid_time(t))
        .ok_or(ParseError::Field("time"))?;
    c.space("request")?;
    let request = c.quoted().ok_or(ParseError::Field("request"))?;
    c.space("status")?;
    let status = c.token().and_then(status).ok_or(ParseError::Field("status"))?;
    c.space("bytes")?;
    let bytes = match c.token() {
        Some(b"-") => None,
        Some(digits) => Some(number(digits).ok_or(ParseError::Field("bytes"))?),
        None => return Err(ParseError::Field("bytes")),
    };
    let (referrer, agent) = if c.rest.is_empty() {
        (None, None)
    } else {
        c.space("referrer").map_err(|_| ParseError::Trailing)?;
        let referrer = c.quoted().ok_or(ParseError::Trailing)?;
        c.space("agent")?;
        let agent = c.quoted().ok_or(ParseError::Field("agent"))?;
        // Fields after the agent (%v, %D...) are allowed and ignored.
        if !c.rest.is_empty() && c.rest[0] != b' ' {
            return Err(ParseError::Field("agent"));
        }
        (Some(referrer), Some(agent))
    };
    Ok(Hit {
        host,
        ident,
        user,
        time,
        request,
        status,
        bytes,
        referrer,
        agent,
    })
}

/// Undoes the escapes of a quoted field: `\"` is `"` and `\\` is `\`;
/// other escapes (`\n`, `\x0b`) stay as written, readable as they are.
pub fn unescape(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.contains(&b'\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter().copied();
    while let Some(b) = bytes.next() {
        if b == b'\\' {
            match bytes.next() {
                Some(next @ (b'"' | b'\\')) => out.push(next),
                Some(other) => out.extend_from_slice(&[b'\\', other]),
                None => out.push(b'\\'),
            }
        } else {
            out.push(b);
        }
    }
    Cow::Owned(out)
}

/// The unparsed rest of a line.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// Exactly one space, before the field `next`.
    fn space(&mut self, next: &'static str) -> Result<(), ParseError> {
        match self.rest.split_first() {
            Some((b' ', rest)) => {
                self.rest = rest;
                Ok(())
            }
            _ => Err(ParseError::Field(next)),
        }
    }

    /// A non-empty run of bytes up to the next space or the end.
    fn token(&mut self) -> Option<&'a [u8]> {
        let end = self
            .rest
            .iter()
            .position(|&b| b == b' ')
            .unwrap_or(self.rest.len());
        let (token, rest) = self.rest.split_at(end);
        if token.is_empty() || token.iter().any(|&b| b == b'"' || b == b'[') {
            return None;
        }
        self.rest = rest;
        Some(token)
    }

    /// `[...]`, returning what is inside.
    fn bracketed(&mut self) -> Option<&'a [u8]> {
        let inner = self.rest.strip_prefix(b"[")?;
        let end = inner.iter().position(|&b| b == b']')?;
        self.rest = &inner[end + 1..];
        Some(&inner[..end])
    }

    /// `"..."` with backslash escapes, returning what is inside (raw).
    fn quoted(&mut self) -> Option<&'a [u8]> {
        let inner = self.rest.strip_prefix(b"\"")?;
        let mut i = 0;
        while i < inner.len() {
            match inner[i] {
                b'\\' => i += 2,
                b'"' => {
                    self.rest = &inner[i + 1..];
                    return Some(&inner[..i]);
                }
                _ => i += 1,
            }
        }
        None
    }
}

fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn status(digits: &[u8]) -> Option<u16> {
    match digits {
        [a, b, c] if digits.iter().all(u8::is_ascii_digit) => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// `dd/Mon/yyyy:hh:mm:ss ±zzzz`.
fn valid_time(t: &[u8]) -> bool {
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
    ];
    let digits = |range: std::ops::Range<usize>| t[range].iter().all(u8::is_ascii_digit);
    t.len() == 26
        && digits(0..2)
        && t[2] == b'/'
        && MONTHS.contains(&&t[3..6])
        && t[6] == b'/'
        && digits(7..11)
        && t[11] == b':'
        && digits(12..14)
        && t[14] == b':'
        && digits(15..17)
        && t[17] == b':'
        && digits(18..20)
        && t[20] == b' '
        && (t[21] == b'+' || t[21] == b'-')
        && digits(22..26)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMON: &[u8] =
        br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#;
    const COMBINED: &[u8] = br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;

    #[test]
    fn parses_the_common_format() {
        assert_eq!(
            parse(COMMON),
            Ok(Hit {
                host: b"127.0.0.1",
                ident: b"-",
                user: b"frank",
                time: b"10/Oct/2000:13:55:36 -0700",
                request: b"GET /apache_pb.gif HTTP/1.0",
                status: 200,
                bytes: Some(2326),
                referrer: None,
                agent: None,
            })
        );
    }

    #[test]
    fn parses_the_combined_format() {
        let hit = parse(COMBINED).unwrap();
        assert_eq!(hit.referrer, Some(&b"http://www.example.com/start.html"[..]));
        assert_eq!(hit.agent, Some(&b"Mozilla/4.08 [en] (Win98; I ;Nav)"[..]));
    }

    #[test]
    fn accepts_what_servers_really_write() {
        // nginx: no byte count ("-"), an empty referrer, IPv6, extra fields.
        let line = br#"::1 - - [01/Jan/2024:00:00:00 +0000] "HEAD / HTTP/1.1" 304 - "" "curl/8.5.0" example.org 0.002"#;
        let hit = parse(line).unwrap();
        assert_eq!(
            (hit.host, hit.bytes, hit.referrer),
            (&b"::1"[..], None, Some(&b""[..]))
        );
        // Escaped quotes inside the request and the agent.
        let line = br#"10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "GET /\"x\" HTTP/1.1" 400 0 "-" "a \"quoted\" agent\\""#;
        let hit = parse(line).unwrap();
        assert_eq!(hit.request, br#"GET /\"x\" HTTP/1.1"#);
        assert_eq!(&*unescape(hit.request), br#"GET /"x" HTTP/1.1"#);
        assert_eq!(&*unescape(hit.agent.unwrap()), br#"a "quoted" agent\"#);
        // A request line that is garbage is still a record (status 400).
        let line = br#"10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "\x16\x03\x01" 400 157"#;
        assert_eq!(parse(line).unwrap().status, 400);
        // Trailing whitespace and a CR are ignored.
        let mut line = COMMON.to_vec();
        line.extend_from_slice(b" \r");
        assert_eq!(parse(&line), parse(COMMON));
    }

    #[test]
    fn refuses_malformed_lines() {
        let cases: &[(&[u8], ParseError)] = &[
            (b"", ParseError::Empty),
            (b"   ", ParseError::Empty),
            (b"hello", ParseError::Field("ident")),
            (b"a b c", ParseError::Field("time")),
            (
                br#"a b c [10/Oct/2000:13:55:36] "GET /" 200 1"#,
                ParseError::Field("time"),
            ),
            (
                br#"a b c [10/Foo/2000:13:55:36 -0700] "GET /" 200 1"#,
                ParseError::Field("time"),
            ),
            (
                br#"a b c [10/Oct/2000:13:55:36 -0700 "GET /" 200 1"#,
                ParseError::Field("time"),
            ),
            (
                br#"a b c [10/Oct/2000:13:55:36 -0700] GET / 200 1"#,
                ParseError::Field("request"),
            ),
            (
                br#"a b c [10/Oct/2000:13:55:36 -0700] "GET / 200 1"#,
                ParseError::Field("request"),
            ),
            (
                br#"a b c [10/Oct/2000:13:55:36 -0700] "GET /" 2000 1"#,
                ParseError::Field("status"),
            ),
            (
                br#"a b c [10/Oct/2000:13:55:36 -0700] "GET /" OK 1"#,
                ParseError::Field("status"),
            ),
            (
                br#"a b c [10/Oct/2000:13:55:36 -0700] "GET /" 200"#,
                ParseError::Field("bytes"),
            ),
            (
                br#"a b c [10/Oct/2000:13:55:36 -0700] "GET /" 200 12k"#,
                ParseError::Field("bytes"),
            ),
            (
                br#"a b c [10/Oct/2000:13:55:36 -0700] "GET /" 200 99999999999999999999"#,
                ParseError::Field("bytes"),
            ),
            (
                br#"a b c [10/Oct/2000:13:55:36 -0700] "GET /" 200 1 x"#,
                ParseError::Trailing,
            ),
            (
                br#"a b c [10/Oct/2000:13:55:36 -0700] "GET /" 200 1 "r""#,
                ParseError::Field("agent"),
            ),
            (
                br#"a b c [10/Oct/2000:13:55:36 -0700] "GET /" 200 1 "r" "a"x"#,
                ParseError::Field("agent"),
            ),
            (
                br#"a  b c [10/Oct/2000:13:55:36 -0700] "GET /" 200 1"#,
                ParseError::Field("ident"),
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(parse(line), Err(*expected), "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn never_panics_on_prefixes_or_odd_bytes() {
        for end in 0..=COMBINED.len() {
            let _ = parse(&COMBINED[..end]);
        }
        let mut line = COMBINED.to_vec();
        for i in 0..line.len() {
            let saved = line[i];
            for b in [b'"', b'\\', b'[', b']', b' ', 0, 0xff] {
                line[i] = b;
                let _ = parse(&line);
            }
            line[i] = saved;
        }
        assert_eq!(&*unescape(b"ends with \\"), b"ends with \\");
    }
}
