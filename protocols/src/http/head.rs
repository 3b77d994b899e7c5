//! Request and response heads, and their sans-I/O parsers on `httparse`.

use super::body::{framing, BodyKind};
use super::headers::latin1;
use super::{Headers, HttpError};
use crate::{Decoder, Parsed};

/// The largest head (start line and headers) accepted by default: 16 KiB.
pub const DEFAULT_MAX_HEAD: usize = 16 * 1024;
/// The most header fields accepted by default.
pub const DEFAULT_MAX_HEADERS: usize = 100;

/// Bounds on a head (design rule 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest head in bytes, the empty line included.
    pub max_head: usize,
    /// The most header fields.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: DEFAULT_MAX_HEAD,
            max_headers: DEFAULT_MAX_HEADERS,
        }
    }
}

/// The protocol version of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    /// HTTP/1.0: one request per connection unless `Connection: keep-alive`.
    Http10,
    /// HTTP/1.1: persistent connections, chunked bodies.
    Http11,
}

impl Version {
    fn from_minor(minor: u8) -> Self {
        if minor == 0 {
            Version::Http10
        } else {
            Version::Http11
        }
    }

    /// `HTTP/1.0` or `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// A request's head: `GET /path?q HTTP/1.1` and the header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The method, as sent (methods are case-sensitive).
    pub method: String,
    /// The request target: usually `/path?query`.
    pub target: String,
    /// The version.
    pub version: Version,
    /// The header fields.
    pub headers: Headers,
}

impl RequestHead {
    /// Whether the connection may carry another request after this one.
    pub fn keep_alive(&self) -> bool {
        keep_alive(self.version, &self.headers)
    }

    /// How the body is framed. A request with both Content-Length and
    /// Transfer-Encoding is refused (a smuggling vector, RFC 9112 §6.1).
    pub fn body_kind(&self) -> Result<BodyKind, HttpError> {
        if self.headers.contains("transfer-encoding") && self.headers.contains("content-length") {
            return Err(HttpError::BadContentLength);
        }
        Ok(match framing(&self.headers)? {
            BodyKind::UntilClose => BodyKind::Length(0),
            kind => kind,
        })
    }

    /// The path part of the target (before `?`).
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    /// The query part of the target (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// Whether the client waits for `100 Continue` before sending the body.
    pub fn expects_continue(&self) -> bool {
        self.version == Version::Http11 && self.headers.has_token("expect", "100-continue")
    }
}

/// A response's head: `HTTP/1.1 200 OK` and the header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// The version.
    pub version: Version,
    /// The status code.
    pub status: u16,
    /// The reason phrase, as sent.
    pub reason: String,
    /// The header fields.
    pub headers: Headers,
}

impl ResponseHead {
    /// Whether the connection may carry another request after this response.
    pub fn keep_alive(&self) -> bool {
        keep_alive(self.version, &self.headers)
    }

    /// How the body of this response to a `method` request is framed
    /// (RFC 9112 §6.3): none for HEAD, 1xx, 204 and 304; else chunked,
    /// Content-Length, or until the connection closes.
    pub fn body_kind(&self, method: &str) -> Result<BodyKind, HttpError> {
        if method == "HEAD" || (100..200).contains(&self.status) || self.status == 204 || self.status == 304 {
            return Ok(BodyKind::Length(0));
        }
        framing(&self.headers)
    }
}

fn keep_alive(version: Version, headers: &Headers) -> bool {
    match version {
        Version::Http11 => !headers.has_token("connection", "close"),
        Version::Http10 => headers.has_token("connection", "keep-alive"),
    }
}

/// Finds where a head ends without parsing it, remembering how far it
/// looked, so a head arriving a byte at a time is scanned once in all.
#[derive(Clone, Debug, Default)]
struct HeadEnd {
    scanned: usize,
    /// How much of the input an unfinished head was last checked at.
    checked: usize,
}

/// An unfinished head is checked for errors again once it grew this much
/// (or finished a line), so garbage is refused before its empty line,
/// and a head arriving byte by byte is not reparsed per byte.
const RECHECK: usize = 64;

impl HeadEnd {
    /// Whether `input` may hold a whole head: an empty line after some text.
    fn next_candidate(&mut self, input: &[u8]) -> Option<usize> {
        while let Some(i) = memchr::memchr(b'\n', &input[self.scanned.min(input.len())..]) {
            let nl = self.scanned + i;
            self.scanned = nl + 1;
            let blank = (nl >= 1 && input[nl - 1] == b'\n')
                || (nl >= 2 && input[nl - 1] == b'\r' && input[nl - 2] == b'\n');
            if blank {
                return Some(nl + 1);
            }
        }
        None
    }
}

/// Parses request heads: a [`Decoder`] whose messages are [`RequestHead`]s
/// and whose errors are [`HttpError`]s, within [`Limits`].
///
/// # Examples
///
/// ```
/// use torsion_protocols::http::RequestParser;
/// use torsion_protocols::{Decoder, Parsed};
///
/// let mut parser = RequestParser::default();
/// assert_eq!(parser.decode(b"GET /page HTTP/1.1\r\nHost: a\r\n"), Parsed::Incomplete);
/// let Parsed::Complete(message, consumed) = parser.decode(b"GET /page HTTP/1.1\r\nHost: a\r\n\r\nnext")
/// else { panic!() };
/// assert_eq!((message.method.as_str(), message.target.as_str(), consumed), ("GET", "/page", 31));
/// assert_eq!(message.headers.get("host"), Some("a"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct RequestParser {
    limits: Limits,
    end: HeadEnd,
}

impl RequestParser {
    /// A parser with these bounds.
    pub fn new(limits: Limits) -> Self {
        RequestParser {
            limits,
            end: HeadEnd::default(),
        }
    }

    /// Its bounds.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}

impl Decoder for RequestParser {
    type Message<'a> = RequestHead;
    type Error = HttpError;

    /// Looks for one request head at the start of `input` (the bytes not
    /// consumed yet; call again with the same bytes and more after
    /// `Incomplete`).
    fn decode(&mut self, input: &[u8]) -> Parsed<RequestHead, HttpError> {
        self.end.parse(self.limits, input, |headers, bytes| {
            let mut req = httparse::Request::new(headers);
            let status = req.parse(bytes)?;
            Ok(match status {
                httparse::Status::Partial => httparse::Status::Partial,
                httparse::Status::Complete(consumed) => httparse::Status::Complete((
                    RequestHead {
                        method: req.method.unwrap_or_default().to_string(),
                        target: req.path.unwrap_or_default().to_string(),
                        version: Version::from_minor(req.version.unwrap_or(1)),
                        headers: collect(req.headers),
                    },
                    consumed,
                )),
            })
        })
    }

    /// Forgets how far it looked (after the input changed otherwise).
    fn reset(&mut self) {
        self.end = HeadEnd::default();
    }
}

/// Parses response heads, as [`RequestParser`] parses requests.
///
/// # Examples
///
/// ```
/// use torsion_protocols::http::ResponseParser;
/// use torsion_protocols::{Decoder, Parsed};
///
/// let mut parser = ResponseParser::default();
/// let Parsed::Complete(message, _) = parser.decode(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
/// else { panic!() };
/// assert_eq!((message.status, message.reason.as_str()), (404, "Not Found"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ResponseParser {
    limits: Limits,
    end: HeadEnd,
}

impl ResponseParser {
    /// A parser with these bounds.
    pub fn new(limits: Limits) -> Self {
        ResponseParser {
            limits,
            end: HeadEnd::default(),
        }
    }
}

impl Decoder for ResponseParser {
    type Message<'a> = ResponseHead;
    type Error = HttpError;

    /// Looks for one response head at the start of `input`.
    fn decode(&mut self, input: &[u8]) -> Parsed<ResponseHead, HttpError> {
        self.end.parse(self.limits, input, |headers, bytes| {
            let mut res = httparse::Response::new(headers);
            let status = res.parse(bytes)?;
            Ok(match status {
                httparse::Status::Partial => httparse::Status::Partial,
                httparse::Status::Complete(consumed) => httparse::Status::Complete((
                    ResponseHead {
                        version: Version::from_minor(res.version.unwrap_or(1)),
                        status: res.code.unwrap_or_default(),
                        reason: res.reason.unwrap_or_default().to_string(),
                        headers: collect(res.headers),
                    },
                    consumed,
                )),
            })
        })
    }

    /// Forgets how far it looked.
    fn reset(&mut self) {
        self.end = HeadEnd::default();
    }
}

/// What `httparse` made of some bytes: a head and the bytes it used, or not
/// enough bytes, or an error.
type Run<T> = Result<httparse::Status<(T, usize)>, httparse::Error>;

impl HeadEnd {
    /// The part both parsers share: find the end, bound the size, run
    /// httparse; and start over after any answer but `Incomplete`.
    fn parse<T>(
        &mut self,
        limits: Limits,
        input: &[u8],
        run: impl for<'b> Fn(&mut [httparse::Header<'b>], &'b [u8]) -> Run<T>,
    ) -> Parsed<T, HttpError> {
        let too_large = || {
            Parsed::Error(HttpError::HeadTooLarge {
                limit: limits.max_head,
            })
        };
        let outcome = loop {
            let lines_before = self.scanned;
            let Some(candidate) = self.next_candidate(input) else {
                if input.len() > limits.max_head {
                    break too_large();
                }
                // Refuse garbage before its empty line, checking now and then.
                let new_line = input[lines_before.min(input.len())..].contains(&b'\n');
                if new_line || self.checked == 0 || input.len() >= self.checked + RECHECK {
                    self.checked = input.len();
                    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
                    if let Err(e) = run(&mut headers, input) {
                        break Parsed::Error(parse_error(e, limits));
                    }
                }
                break Parsed::Incomplete;
            };
            if candidate > limits.max_head {
                break too_large();
            }
            let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
            match run(&mut headers, &input[..candidate]) {
                Ok(httparse::Status::Complete((message, consumed))) => {
                    break Parsed::Complete(message, consumed)
                }
                // Blank lines before the start line: look for the next empty line.
                Ok(httparse::Status::Partial) => continue,
                Err(e) => break Parsed::Error(parse_error(e, limits)),
            }
        };
        if !matches!(outcome, Parsed::Incomplete) {
            *self = HeadEnd::default();
        }
        outcome
    }
}

fn parse_error(e: httparse::Error, limits: Limits) -> HttpError {
    match e {
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders {
            limit: limits.max_headers,
        },
        // httparse reads HTTP/1.0 and HTTP/1.1 only: a request line it
        // cannot take for a version is one this server does not speak.
        httparse::Error::Version => HttpError::UnsupportedVersion,
        e => HttpError::BadSyntax(e.to_string()),
    }
}

fn collect(headers: &[httparse::Header<'_>]) -> Headers {
    let mut out = Headers::new();
    for h in headers.iter().take_while(|h| !h.name.is_empty()) {
        out.push_unchecked(h.name.to_string(), latin1(h.value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the line after the last `\n` in `bytes` starts.
    fn after_last_line(bytes: &[u8]) -> usize {
        bytes.iter().rposition(|&b| b == b'\n').map_or(0, |nl| nl + 1)
    }

    #[test]
    fn a_head_fed_a_byte_at_a_time_is_scanned_once() {
        let wire = b"GET /page HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
        let mut parser = RequestParser::default();
        let mut checks = 0;
        let (outcome, at) = crate::parse::byte_at_a_time(&mut parser, wire, |parser, n| {
            // The search for the empty line resumes after the last `\n`.
            assert_eq!(parser.end.scanned, after_last_line(&wire[..n]), "after {n} bytes");
            assert!(n - parser.end.checked < RECHECK);
            checks += usize::from(parser.end.checked == n);
        });
        // The unfinished head is parsed for errors at 0 and 1 bytes, then
        // once per line, not once per byte.
        assert_eq!(checks, 2 + 3);
        let Parsed::Complete(head, consumed) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            (head.headers.get("accept"), consumed, at),
            (Some("*/*"), wire.len(), wire.len())
        );
        assert_eq!(parser.end.scanned, 0);

        let wire = b"HTTP/1.1 204 No Content\r\n\r\n";
        let mut parser = ResponseParser::default();
        let (outcome, _) = crate::parse::byte_at_a_time(&mut parser, wire, |parser, n| {
            assert_eq!(parser.end.scanned, after_last_line(&wire[..n]), "after {n} bytes");
        });
        assert!(matches!(
            outcome,
            Parsed::Complete(ResponseHead { status: 204, .. }, 27)
        ));
    }
}
