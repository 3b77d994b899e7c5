//! The HTTP checks: the codec decodes a stream the same whole and in
//! small reads, never panics, and never leaves more undecided than its
//! bounds. An input is read as: one byte choosing the read sizes, then
//! the stream.

use torsion_protocols::http::{
    Body, BodyDecoder, Limits, RequestParser, ResponseParser, MAX_CHUNK_LINE, MAX_TRAILERS,
};
use torsion_protocols::{Decoder, Parsed};

/// What the decoder found, merged so that any split gives the same list.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    Head(String),
    Body(Vec<u8>),
    Error,
}

const LIMITS: Limits = Limits {
    max_head: 1024,
    max_headers: 16,
};

fn decode(stream: &[u8], step: usize, responses: bool) -> Vec<Ev> {
    let mut requests = RequestParser::new(LIMITS);
    let mut replies = ResponseParser::new(LIMITS);
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    let mut body: Option<(BodyDecoder, Vec<u8>)> = None;
    for piece in stream.chunks(step.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match &mut body {
                None => {
                    let parsed = if responses {
                        replies.decode(&buf).map(|message| {
                            let kind = message.body_kind("GET");
                            (format!("{} {:?}", message.status, message.headers), kind)
                        })
                    } else {
                        requests.decode(&buf).map(|message| {
                            let kind = message.body_kind();
                            let text = format!("{} {} {:?}", message.method, message.target, message.headers);
                            (text, kind)
                        })
                    };
                    match parsed {
                        Parsed::Incomplete => {
                            assert!(buf.len() <= LIMITS.max_head, "{} head bytes undecided", buf.len());
                            break;
                        }
                        Parsed::Error(_) => {
                            out.push(Ev::Error);
                            return out;
                        }
                        Parsed::Complete((text, kind), consumed) => {
                            buf.drain(..consumed);
                            let Ok(kind) = kind else {
                                out.push(Ev::Error);
                                return out;
                            };
                            out.push(Ev::Head(text));
                            body = Some((BodyDecoder::new(kind), Vec::new()));
                        }
                    }
                }
                Some((decoder, data)) => match decoder.decode(&buf) {
                    Parsed::Complete(Body::Data(piece), consumed) => {
                        assert!(consumed <= buf.len() && !(piece.is_empty() && consumed == 0));
                        data.extend_from_slice(piece);
                        buf.drain(..consumed);
                    }
                    Parsed::Complete(Body::End, consumed) => {
                        buf.drain(..consumed);
                        out.push(Ev::Body(std::mem::take(data)));
                        body = None;
                    }
                    Parsed::Incomplete => {
                        assert!(
                            buf.len() <= MAX_CHUNK_LINE.max(MAX_TRAILERS),
                            "{} body bytes undecided",
                            buf.len()
                        );
                        break;
                    }
                    Parsed::Error(_) => {
                        out.push(Ev::Error);
                        return out;
                    }
                },
            }
        }
    }
    out
}

fn check(data: &[u8], responses: bool) {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let step = usize::from(seed % 16) + 1;
    let whole = decode(stream, stream.len().max(1), responses);
    let split = decode(stream, step, responses);
    // Garbage in an unfinished head is looked for every few bytes, so at
    // the very end one split may already report the error the other
    // would report with the next bytes.
    let agree = whole == split
        || (whole.last() == Some(&Ev::Error) && whole[..whole.len() - 1] == split[..])
        || (split.last() == Some(&Ev::Error) && split[..split.len() - 1] == whole[..]);
    assert!(agree, "whole {whole:?}\nsplit by {step} {split:?}");
}

/// Requests, as a server reads them.
pub fn check_http_requests(data: &[u8]) {
    check(data, false);
}

/// Responses to GET, as a client reads them.
pub fn check_http_responses(data: &[u8]) {
    check(data, true);
}
