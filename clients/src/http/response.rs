//! [`Response`] and [`BodySink`].

use bytes::Bytes;
use torsion::{ConnectionId, Reactor};
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

/// The connection a streamed body arrives on, handed to
/// [`BodySink::source`]: a sink that cannot keep up (it relays the body to
/// a slow peer) pauses it, and resumes it once it can take more. While it
/// is paused nothing is read from the server, and TCP flow control slows
/// the server down: backpressure, end to end.
///
/// Pausing a source that has finished or closed does nothing; a kept
/// connection goes back to its client's pool reading again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodySource {
    id: ConnectionId,
}

impl BodySource {
    pub(crate) fn new(id: ConnectionId) -> Self {
        BodySource { id }
    }

    /// Stops reading the body until [`resume`](BodySource::resume).
    pub fn pause(self, reactor: &mut Reactor) {
        reactor.transport(self.id).pause_reading();
    }

    /// Reads the body again after [`pause`](BodySource::pause).
    pub fn resume(self, reactor: &mut Reactor) {
        reactor.transport(self.id).resume_reading();
    }

    /// The connection to the server.
    pub fn connection(self) -> ConnectionId {
        self.id
    }
}

/// Where a streamed body goes, piece by piece, as it arrives.
///
/// A closure `FnMut(&mut Reactor, &[u8])` is a sink that ignores the head.
pub trait BodySink: 'static {
    /// The final response's body will arrive on `source` (called just
    /// before [`head`](BodySink::head)). A sink that relays the body to a
    /// peer slower than the server keeps it, to pause and resume it.
    fn source(&mut self, reactor: &mut Reactor, source: BodySource) {
        let _ = (reactor, source);
    }

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
