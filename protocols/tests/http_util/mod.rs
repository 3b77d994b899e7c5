//! Feeding HTTP streams to the sans-I/O codec in chosen read sizes.
#![allow(dead_code)]

use torsion_protocols::http::{Body, BodyDecoder, Limits, RequestParser, MAX_CHUNK_LINE, MAX_TRAILERS};
use torsion_protocols::{Decoder, Parsed};

/// What the decoder found, merged so that any split gives the same list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    /// A head: method, target, headers.
    Head(String, String, Vec<(String, String)>),
    /// A whole body.
    Body(Vec<u8>),
    /// The stream broke a rule (which one may depend on when it was seen).
    Error,
}

/// Feeds `stream` in reads of `sizes` (cycled; empty: all at once) and
/// checks after every read that no more than the bounds stay buffered.
pub fn decode_requests(stream: &[u8], sizes: &[usize], limits: Limits) -> Vec<Ev> {
    let mut parser = RequestParser::new(limits);
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    let mut body: Option<(BodyDecoder, Vec<u8>)> = None;
    let mut pos = 0;
    let mut turn = 0;
    while pos < stream.len() {
        let n = if sizes.is_empty() {
            stream.len()
        } else {
            sizes[turn % sizes.len()].max(1)
        };
        turn += 1;
        let end = (pos + n).min(stream.len());
        buf.extend_from_slice(&stream[pos..end]);
        pos = end;
        loop {
            match &mut body {
                None => match parser.decode(&buf) {
                    Parsed::Incomplete => {
                        assert!(
                            buf.len() <= limits.max_head,
                            "a head of {} bytes left undecided",
                            buf.len()
                        );
                        break;
                    }
                    Parsed::Error(_) => {
                        out.push(Ev::Error);
                        return out;
                    }
                    Parsed::Complete(message, consumed) => {
                        buf.drain(..consumed);
                        let kind = match message.body_kind() {
                            Ok(kind) => kind,
                            Err(_) => {
                                out.push(Ev::Error);
                                return out;
                            }
                        };
                        let headers = message
                            .headers
                            .iter()
                            .map(|(n, v)| (n.to_string(), v.to_string()))
                            .collect();
                        out.push(Ev::Head(message.method, message.target, headers));
                        body = Some((BodyDecoder::new(kind), Vec::new()));
                    }
                },
                Some((decoder, data)) => match decoder.decode(&buf) {
                    Parsed::Complete(Body::Data(piece), consumed) => {
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
                            "{} body bytes left undecided",
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
