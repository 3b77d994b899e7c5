//! [`Response`] and [`BodySink`].

use bytes::Bytes;
use torsion::Reactor;
use torsion_protocols::http::{Headers, Version};

use super::Url;

/// A response: status, headers, body, and the URL it finally came from
/// (after redirects).
#[derive(Clone, Debug)]
pub struct Response {
    /// The URL that answered (the last one, after redirects).
    pub url: Url,
    /// The version the server spoke.
    pub version: Version,
    /// The status code.
    pub status: u16,
    /// The reason phrase, as sent.
    pub reason: String,
    /// The header fields.
    pub headers: Headers,
    /// The body, whole (empty from the streaming variant, whose body went
    /// to its [`BodySink`]).
    pub body: Bytes,
}

impl Response {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

/// Where a streamed body goes, piece by piece, as it arrives.
///
/// A closure `FnMut(&mut Reactor, &[u8])` is a sink that ignores the head.
pub trait BodySink: 'static {
    /// The final response's head arrived (redirects are not shown); its
    /// `body` is empty.
    fn head(&mut self, reactor: &mut Reactor, response: &Response) {
        let _ = (reactor, response);
    }

    /// The next piece of the body.
    fn data(&mut self, reactor: &mut Reactor, chunk: &[u8]);
}

impl<F: FnMut(&mut Reactor, &[u8]) + 'static> BodySink for F {
    fn data(&mut self, reactor: &mut Reactor, chunk: &[u8]) {
        self(reactor, chunk)
    }
}

/// The sink of `get_page`: keeps the whole body.
#[derive(Default)]
pub(crate) struct Collect {
    pub(crate) body: Vec<u8>,
}

impl BodySink for Collect {
    fn data(&mut self, _reactor: &mut Reactor, chunk: &[u8]) {
        self.body.extend_from_slice(chunk);
    }
}
