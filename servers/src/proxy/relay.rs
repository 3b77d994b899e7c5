//! [`Relay`]: a forwarded response on its way from the origin to the
//! client, head then body, as it arrives: the [`BodySink`] of the forward
//! proxy's fetch.
//!
//! The head is rewritten for the client: hop-by-hop fields are dropped,
//! `Via` is added, and the body is framed again for this connection (the
//! origin's Content-Length kept; chunked for an HTTP/1.1 client otherwise;
//! until the close for an HTTP/1.0 one). While the client's write buffer is
//! above its high-water mark the origin's connection is paused
//! ([`BodySource`]), so a large body reaches a slow client in bounded
//! memory.

use std::cell::RefCell;
use std::rc::Rc;

use torsion::{ConnectionId, Reactor};
use torsion_clients::http::{BodySink, BodySource, Response};
use torsion_protocols::http::{chunk_header, write_response_head, Headers, Version, LAST_CHUNK};

/// What the proxy adds to `Via`.
pub const VIA: &str = "1.1 torsion-proxy";

/// Header fields that concern one connection only (RFC 9110 §7.6.1),
/// never forwarded.
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// `headers` without the hop-by-hop fields (those listed above, and those
/// `Connection` names), nor the ones in `also`.
pub fn end_to_end(headers: &Headers, also: &[&str]) -> Headers {
    let named: Vec<String> = headers
        .get_all("connection")
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    let mut out = Headers::new();
    for (name, value) in headers.iter() {
        let lower = name.to_ascii_lowercase();
        let skip =
            HOP_BY_HOP.contains(&lower.as_str()) || also.contains(&lower.as_str()) || named.contains(&lower);
        if !skip {
            let _ = out.append(name, value);
        }
    }
    out
}

/// `Via` with this proxy added to what came before.
pub fn via(headers: &Headers) -> String {
    let before: Vec<&str> = headers.get_all("via").collect();
    if before.is_empty() {
        VIA.to_string()
    } else {
        format!("{}, {VIA}", before.join(", "))
    }
}

/// How the body goes out to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// No body (HEAD, 1xx, 204, 304).
    Empty,
    /// As many bytes as the origin's Content-Length said.
    Length,
    /// Chunks, then the last chunk.
    Chunked,
    /// Until the connection closes.
    UntilClose,
}

/// The state of one relayed response, shared by the sink and the client's
/// connection.
pub struct RelayState {
    client: ConnectionId,
    version: Version,
    method: String,
    keep_alive: bool,
    framing: Option<Framing>,
    source: Option<BodySource>,
    /// The client's buffer is full: the source stays paused.
    paused: bool,
    /// Body bytes relayed.
    pub relayed: u64,
}

/// A relay, shared.
pub type Relay = Rc<RefCell<RelayState>>;

/// A relay of the response to `method`, for `client`, which spoke `version`
/// and wants the connection kept (`keep_alive`) or not.
pub fn new_relay(client: ConnectionId, version: Version, method: &str, keep_alive: bool) -> Relay {
    Rc::new(RefCell::new(RelayState {
        client,
        version,
        method: method.to_string(),
        keep_alive,
        framing: None,
        source: None,
        paused: false,
        relayed: 0,
    }))
}

impl RelayState {
    /// Whether the head went out (after it, an error can only cut the
    /// connection).
    pub fn head_sent(&self) -> bool {
        self.framing.is_some()
    }

    /// The version the client spoke.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Whether the client's connection may carry another request after this.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive && self.framing != Some(Framing::UntilClose)
    }

    /// The client cannot take more for now: pause the origin.
    pub fn pause(&mut self, reactor: &mut Reactor) {
        self.paused = true;
        if let Some(source) = self.source {
            source.pause(reactor);
        }
    }

    /// The client caught up: read the origin again.
    pub fn resume(&mut self, reactor: &mut Reactor) {
        self.paused = false;
        if let Some(source) = self.source {
            source.resume(reactor);
        }
    }

    /// The body ended: the last chunk, if chunked.
    pub fn finish(&mut self, reactor: &mut Reactor) {
        if self.framing == Some(Framing::Chunked) {
            reactor.transport(self.client).write(LAST_CHUNK);
        }
    }
}

/// The sink handed to the client's `request_streaming`.
pub struct RelaySink(pub Relay);

impl BodySink for RelaySink {
    fn source(&mut self, reactor: &mut Reactor, source: BodySource) {
        let mut relay = self.0.borrow_mut();
        relay.source = Some(source);
        if relay.paused {
            source.pause(reactor);
        }
    }

    fn head(&mut self, reactor: &mut Reactor, response: &Response) {
        let mut relay = self.0.borrow_mut();
        let mut headers = end_to_end(&response.headers, &["content-length"]);
        let _ = headers.set("Via", &via(&response.headers));
        let no_body = relay.method == "HEAD"
            || (100..200).contains(&response.status)
            || response.status == 204
            || response.status == 304;
        let length = response.header("content-length").map(str::to_string);
        let framing = if no_body {
            // A HEAD answer keeps the length the GET's body would have.
            if let Some(length) = &length {
                let _ = headers.set("Content-Length", length);
            }
            Framing::Empty
        } else if let Some(length) = &length {
            let _ = headers.set("Content-Length", length);
            Framing::Length
        } else if relay.version == Version::Http11 {
            let _ = headers.set("Transfer-Encoding", "chunked");
            Framing::Chunked
        } else {
            Framing::UntilClose
        };
        relay.framing = Some(framing);
        match (relay.keep_alive(), relay.version) {
            (false, _) => {
                let _ = headers.set("Connection", "close");
            }
            (true, Version::Http10) => {
                let _ = headers.set("Connection", "keep-alive");
            }
            (true, Version::Http11) => {}
        }
        let mut out = Vec::with_capacity(512);
        write_response_head(relay.version, response.status, &headers, &mut out);
        reactor.transport(relay.client).write(&out);
    }

    fn data(&mut self, reactor: &mut Reactor, chunk: &[u8]) {
        let mut relay = self.0.borrow_mut();
        relay.relayed += chunk.len() as u64;
        let mut t = reactor.transport(relay.client);
        match relay.framing {
            Some(Framing::Chunked) => {
                t.write_sequence(&[chunk_header(chunk.len()).as_bytes(), chunk, b"\r\n"]);
            }
            Some(Framing::Empty) | None => {}
            Some(Framing::Length | Framing::UntilClose) => t.write(chunk),
        }
    }
}
