//! Test support: a sans-I/O conversation with a text or binary session.

use super::binary_session::BinarySession;
use super::exec::ServerStats;
use super::session::{Feed, TextSession};
use super::store::{Store, StoreConfig};

/// The unix time the tests run at.
pub(crate) const NOW: u32 = 1_700_000_000;

/// What the conversation needs of a session.
pub(crate) trait Feeds: Default {
    fn feed(
        &mut self,
        input: &[u8],
        store: &mut Store,
        server: &mut ServerStats,
        now: u32,
        out: &mut Vec<u8>,
    ) -> Feed;
}

impl Feeds for TextSession {
    fn feed(
        &mut self,
        input: &[u8],
        store: &mut Store,
        server: &mut ServerStats,
        now: u32,
        out: &mut Vec<u8>,
    ) -> Feed {
        TextSession::feed(self, input, store, server, now, out)
    }
}

impl Feeds for BinarySession {
    fn feed(
        &mut self,
        input: &[u8],
        store: &mut Store,
        server: &mut ServerStats,
        now: u32,
        out: &mut Vec<u8>,
    ) -> Feed {
        BinarySession::feed(self, input, store, server, now, out)
    }
}

/// A client talking to one session, sans-I/O: it buffers what it sends the
/// way a connection would and returns the replies. The server started 100 s
/// before [`NOW`].
pub(crate) struct Conversation<S> {
    pub(crate) store: Store,
    pub(crate) server: ServerStats,
    pub(crate) session: S,
    buffer: Vec<u8>,
    pub(crate) now: u32,
    pub(crate) closed: bool,
}

impl<S: Feeds> Conversation<S> {
    pub(crate) fn new() -> Self {
        Self::with(StoreConfig::default())
    }

    pub(crate) fn with(config: StoreConfig) -> Self {
        Conversation {
            store: Store::new(config),
            server: ServerStats::new(NOW - 100),
            session: S::default(),
            buffer: Vec::new(),
            now: NOW,
            closed: false,
        }
    }

    /// Sends `bytes` and returns every reply they produced.
    pub(crate) fn send(&mut self, bytes: &[u8]) -> Vec<u8> {
        assert!(!self.closed, "connection closed");
        self.buffer.extend_from_slice(bytes);
        let mut out = Vec::new();
        let fed = self.session.feed(
            &self.buffer,
            &mut self.store,
            &mut self.server,
            self.now,
            &mut out,
        );
        self.buffer.drain(..fed.consumed);
        self.closed = fed.close;
        out
    }

    /// What was sent but not consumed yet.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buffer
    }

    /// Sends and asserts the exact reply.
    pub(crate) fn expect(&mut self, request: &[u8], reply: &[u8]) {
        let got = self.send(request);
        assert_eq!(
            got.escape_ascii().to_string(),
            reply.escape_ascii().to_string(),
            "request {}",
            request.escape_ascii()
        );
    }
}

impl Conversation<TextSession> {
    /// The value of one `stats` field, as text.
    pub(crate) fn stat(&mut self, name: &str) -> String {
        let out = String::from_utf8(self.send(b"stats\r\n")).unwrap();
        let prefix = format!("STAT {name} ");
        out.lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
            .unwrap_or_else(|| panic!("no stat {name}"))
    }
}
