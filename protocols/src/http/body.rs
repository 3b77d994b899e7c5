//! Message bodies: how one is framed ([`BodyKind`]) and a sans-I/O
//! decoder that hands its bytes out as they arrive ([`BodyDecoder`]).

use super::chunked::{ChunkStep, ChunkedDecoder};
use super::{Headers, HttpError};

/// How a body is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// Exactly this many bytes (`Content-Length`; 0 for no body).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the connection closes (responses only).
    UntilClose,
}

/// Reads the framing headers (RFC 9112 §6.3): chunked if
/// Transfer-Encoding says so, else Content-Length, else until close.
pub(crate) fn framing(headers: &Headers) -> Result<BodyKind, HttpError> {
    if headers.contains("transfer-encoding") {
        let codings: Vec<&str> = headers
            .get_all("transfer-encoding")
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        return match codings.as_slice() {
            [only] if only.eq_ignore_ascii_case("chunked") => Ok(BodyKind::Chunked),
            _ => Err(HttpError::UnsupportedTransferEncoding(codings.join(", "))),
        };
    }
    let mut length = None;
    for value in headers.get_all("content-length").flat_map(|v| v.split(',')) {
        let value = value.trim();
        if value.is_empty() || value.len() > 19 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HttpError::BadContentLength);
        }
        let n: u64 = value.parse().map_err(|_| HttpError::BadContentLength)?;
        if length.is_some_and(|l| l != n) {
            return Err(HttpError::BadContentLength);
        }
        length = Some(n);
    }
    Ok(length.map_or(BodyKind::UntilClose, BodyKind::Length))
}

/// What [`BodyDecoder::decode`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// Body bytes (a slice of the input); drop `consumed` input bytes.
    Data {
        /// Payload bytes, framing removed.
        data: &'a [u8],
        /// Input bytes used (framing included).
        consumed: usize,
    },
    /// The body ended; drop `consumed` input bytes (the final framing).
    /// What follows belongs to the next message.
    End {
        /// Input bytes used.
        consumed: usize,
    },
    /// Nothing to hand out yet: call again with the same bytes and more.
    Incomplete,
    /// The framing is broken.
    Error(HttpError),
}

#[derive(Clone, Debug)]
enum State {
    Length { remaining: u64 },
    Chunked(ChunkedDecoder),
    UntilClose,
    Done,
}

/// Decodes one body, handing its bytes out as they arrive: the streaming
/// half of a server or client. Payload bytes are never copied: each
/// [`Body::Data`] is a slice of the input.
///
/// # Examples
///
/// ```
/// use torsion_protocols::http::{Body, BodyDecoder, BodyKind};
///
/// let mut body = BodyDecoder::new(BodyKind::Chunked);
/// let input = b"5\r\nhello\r\n0\r\n\r\nGET";
/// let Body::Data { data, consumed } = body.decode(input) else { panic!() };
/// assert_eq!(data, b"hello");
/// let rest = &input[consumed..];
/// assert_eq!(body.decode(rest), Body::End { consumed: rest.len() - 3 });
/// ```
#[derive(Clone, Debug)]
pub struct BodyDecoder {
    state: State,
    received: u64,
}

impl BodyDecoder {
    /// A decoder for a body framed as `kind`.
    pub fn new(kind: BodyKind) -> Self {
        let state = match kind {
            BodyKind::Length(0) => State::Length { remaining: 0 },
            BodyKind::Length(n) => State::Length { remaining: n },
            BodyKind::Chunked => State::Chunked(ChunkedDecoder::default()),
            BodyKind::UntilClose => State::UntilClose,
        };
        BodyDecoder { state, received: 0 }
    }

    /// Payload bytes handed out so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Whether the body has ended.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Looks at the bytes not consumed yet. A body of length 0 ends at
    /// once, even on empty input.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Body<'a> {
        let step = match &mut self.state {
            State::Done => return Body::End { consumed: 0 },
            State::Length { remaining: 0 } => {
                self.state = State::Done;
                return Body::End { consumed: 0 };
            }
            State::Length { remaining } => {
                if input.is_empty() {
                    return Body::Incomplete;
                }
                let n = (*remaining).min(input.len() as u64) as usize;
                *remaining -= n as u64;
                ChunkStep::Data {
                    start: 0,
                    len: n,
                    consumed: n,
                }
            }
            State::UntilClose => {
                if input.is_empty() {
                    return Body::Incomplete;
                }
                ChunkStep::Data {
                    start: 0,
                    len: input.len(),
                    consumed: input.len(),
                }
            }
            State::Chunked(chunked) => chunked.step(input),
        };
        match step {
            ChunkStep::Data { start, len, consumed } => {
                self.received += len as u64;
                Body::Data {
                    data: &input[start..start + len],
                    consumed,
                }
            }
            ChunkStep::End { consumed } => {
                self.state = State::Done;
                Body::End { consumed }
            }
            ChunkStep::Incomplete => Body::Incomplete,
            ChunkStep::Error(e) => Body::Error(e),
        }
    }

    /// The stream ended: fine for a body that runs until close (it ends
    /// now), [`HttpError::Truncated`] for one still missing bytes.
    pub fn finish(&mut self) -> Result<(), HttpError> {
        match self.state {
            State::UntilClose | State::Done | State::Length { remaining: 0 } => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(HttpError::Truncated),
        }
    }
}
