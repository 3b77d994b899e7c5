//! Message bodies: how one is framed ([`BodyKind`]) and a sans-I/O
//! decoder that hands its bytes out as they arrive ([`BodyDecoder`]).

use super::chunked::ChunkedDecoder;
use super::{Headers, HttpError};
use crate::{Decoder, Parsed};

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

/// A piece of a body, as [`BodyDecoder`] hands it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// Payload bytes, framing removed: a slice of the input, empty when
    /// only framing was consumed.
    Data(&'a [u8]),
    /// The body ended (its final framing, if any, consumed). What follows
    /// belongs to the next message.
    End,
}

#[derive(Clone, Debug)]
enum State {
    Length { remaining: u64 },
    Chunked(ChunkedDecoder),
    UntilClose,
    Done,
}

/// Decodes one body, handing its bytes out as they arrive: the streaming
/// half of a server or client. It is a [`Decoder`] whose messages are
/// [`Body`] pieces: [`Parsed::Complete`] with [`Body::Data`] (a slice of the
/// input: payload bytes are never copied) or [`Body::End`], and how many
/// input bytes the piece used, framing included.
///
/// # Implementation notes
///
/// A chunked body's size and trailer lines are searched for their `\n`
/// from where the last search stopped, so a line arriving a byte at a time
/// is scanned once; [`reset`](Decoder::reset) forgets that position (and
/// nothing else).
///
/// # Examples
///
/// ```
/// use torsion_protocols::http::{Body, BodyDecoder, BodyKind};
/// use torsion_protocols::{Decoder, Parsed};
///
/// let mut body = BodyDecoder::new(BodyKind::Chunked);
/// let input = b"5\r\nhello\r\n0\r\n\r\nGET";
/// let Parsed::Complete(Body::Data(data), consumed) = body.decode(input) else { panic!() };
/// assert_eq!(data, b"hello");
/// let rest = &input[consumed..];
/// assert_eq!(body.decode(rest), Parsed::Complete(Body::End, rest.len() - 3));
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

impl Decoder for BodyDecoder {
    type Message<'a> = Body<'a>;
    type Error = HttpError;

    /// Looks at the bytes not consumed yet. A body of length 0 ends at
    /// once, even on empty input.
    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<Body<'a>, HttpError> {
        let outcome = match &mut self.state {
            State::Done => return Parsed::Complete(Body::End, 0),
            State::Length { remaining: 0 } => {
                self.state = State::Done;
                return Parsed::Complete(Body::End, 0);
            }
            State::Length { remaining } => {
                if input.is_empty() {
                    return Parsed::Incomplete;
                }
                let n = (*remaining).min(input.len() as u64) as usize;
                *remaining -= n as u64;
                Parsed::Complete(Body::Data(&input[..n]), n)
            }
            State::UntilClose => {
                if input.is_empty() {
                    return Parsed::Incomplete;
                }
                Parsed::Complete(Body::Data(input), input.len())
            }
            State::Chunked(chunked) => chunked.decode(input),
        };
        match outcome {
            Parsed::Complete(Body::Data(data), _) => self.received += data.len() as u64,
            Parsed::Complete(Body::End, _) => self.state = State::Done,
            Parsed::Incomplete | Parsed::Error(_) => {}
        }
        outcome
    }

    /// Forgets how far into a chunk-size or trailer line it looked.
    fn reset(&mut self) {
        if let State::Chunked(chunked) = &mut self.state {
            chunked.reset();
        }
    }
}
