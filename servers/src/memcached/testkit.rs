//! Test support: a sans-I/O conversation with a session, in any dialect.

use super::dialect::{Ascii, Dialect, ExecCtx};
use super::exec::ServerStats;
use super::session::{Next, Session};
use super::store::{Store, StoreConfig};

/// The unix time the tests run at.
pub(crate) const NOW: u32 = 1_700_000_000;

/// A client talking to one session, sans-I/O: it buffers what it sends the
/// way a connection would and returns the replies. The server started 100 s
/// before [`NOW`].
pub(crate) struct Conversation<D: Dialect> {
    pub(crate) store: Store,
    pub(crate) server: ServerStats,
    pub(crate) session: Session<D>,
    buffer: Vec<u8>,
    pub(crate) now: u32,
    pub(crate) closed: bool,
}

impl<D: Dialect> Conversation<D> {
    pub(crate) fn new() -> Self {
        Self::with(StoreConfig::default())
    }

    pub(crate) fn with(config: StoreConfig) -> Self {
        Conversation {
            store: Store::new(config),
            server: ServerStats::new(NOW - 100),
            session: Session::new(),
            buffer: Vec::new(),
            now: NOW,
            closed: false,
        }
    }

    /// Sends `bytes` and returns every reply they produced (a peer that
    /// reads everything: the session is fed again after a yield).
    pub(crate) fn send(&mut self, bytes: &[u8]) -> Vec<u8> {
        assert!(!self.closed, "connection closed");
        self.buffer.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            let mut cx = ExecCtx {
                store: &mut self.store,
                server: &mut self.server,
                now: self.now,
                out: &mut out,
            };
            let fed = self.session.feed(&self.buffer, &mut cx);
            self.buffer.drain(..fed.consumed);
            match fed.next {
                Next::Close => self.closed = true,
                Next::Yield => continue,
                Next::Wait { .. } => {}
            }
            return out;
        }
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

impl Conversation<Ascii> {
    /// The value of one `stats` field, as text.
    pub(crate) fn stat(&mut self, name: &str) -> String {
        let out = String::from_utf8(self.send(b"stats\r\n")).unwrap();
        let prefix = format!("STAT {name} ");
        out.lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
            .unwrap_or_else(|| panic!("no stat {name}"))
    }
}
