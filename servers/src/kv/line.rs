//! The line protocol's server: the seeds' `KeyValueStoreProtocol`, with
//! `ERROR <reason>` where the seeds' version crashes.

use std::time::Duration;

use torsion::{Address, CloseReason, Ctx, Factory, Protocol, Reactor, DEFAULT_HIGH_WATER};
use torsion_protocols::kv::{LineError, Reply, Request, RequestDecoder};
use torsion_protocols::policies::IdleTimer;
use torsion_protocols::ReadBuffer;
use torsion_protocols::{Decoder, Parsed};

use super::store::KvStore;

/// One client of the line protocol (see [`torsion_protocols::kv`] for the
/// protocol).
///
/// Requests are read from a [`ReadBuffer`] with a [`RequestDecoder`] and
/// answered in order; the replies to one read leave in one write. A
/// malformed line, or one longer than the store's bounds allow, is
/// answered `ERROR <reason>` and the next line is read.
///
/// While the write buffer is above its high-water mark (a client that
/// pipelines `get`s without reading the values), requests stay buffered
/// and reading pauses; they are answered once the buffer drains.
///
/// With an idle timeout ([`with_idle_timeout`](LineServer::with_idle_timeout)),
/// a connection on which no whole line arrives for that long is closed:
/// bytes that never make a line (a slowloris) do not keep it open, and
/// neither does a peer that stopped reading its replies.
pub struct LineServer {
    store: KvStore,
    decoder: RequestDecoder,
    buffer: ReadBuffer,
    /// Replies composed during one pass, written at its end.
    replies: Vec<u8>,
    /// The peer sent end-of-file: close once the buffered requests are
    /// answered.
    eof: bool,
    /// Closes the connection after a while without a whole line.
    idle: Option<IdleTimer>,
}

impl LineServer {
    /// A client of `store`, bounded by the store's limits.
    pub fn new(store: KvStore) -> Self {
        let limits = store.config().limits;
        LineServer {
            store,
            decoder: RequestDecoder::new(limits),
            buffer: ReadBuffer::new(),
            replies: Vec::new(),
            eof: false,
            idle: None,
        }
    }

    /// Closes the connection once `period` passes without a whole line
    /// (`None`: never).
    pub fn with_idle_timeout(mut self, period: Option<Duration>) -> Self {
        self.idle = period.map(IdleTimer::new);
        self
    }

    /// A whole line arrived, or the peer read replies: the countdown
    /// starts over.
    fn progress(&mut self, reactor: &mut Reactor) {
        if let Some(idle) = &mut self.idle {
            idle.reset(reactor);
        }
    }

    /// Answers the buffered requests until none is whole, the connection
    /// closes, or the output passes the high-water mark.
    fn process(&mut self, ctx: &mut Ctx<'_>) {
        let mut whole = true;
        let mut lines = 0;
        while !ctx.is_closing() && ctx.buffered() + self.replies.len() < DEFAULT_HIGH_WATER {
            if self.buffer.unread().first() == Some(&0) {
                // No request starts with a NUL byte, and every AMP box does
                // (its first key is shorter than 256 bytes): an AMP client,
                // which would wait for a line ending that never comes.
                log::info!("{}: binary data (an AMP client?); closing", ctx.id());
                Reply::Error { reason: NOT_LINES }.encode(&mut self.replies);
                ctx.write(&self.replies);
                self.replies.clear();
                ctx.lose_connection();
                return;
            }
            let consumed = match self.decoder.decode(self.buffer.unread()) {
                Parsed::Complete(message, consumed) => {
                    execute(&self.store, ctx, message, &mut self.replies);
                    lines += 1;
                    consumed
                }
                Parsed::Error(LineError::Invalid { error, consumed }) => {
                    log::debug!("{}: bad request: {error}", ctx.id());
                    let reason = error.to_string();
                    Reply::Error {
                        reason: reason.as_bytes(),
                    }
                    .encode(&mut self.replies);
                    lines += 1;
                    consumed
                }
                Parsed::Error(LineError::Skipped { consumed }) => consumed,
                Parsed::Incomplete => {
                    whole = false;
                    break;
                }
            };
            self.buffer.consume(consumed);
        }
        if lines > 0 {
            self.progress(ctx);
        }
        if !self.replies.is_empty() {
            ctx.write(&self.replies);
            self.replies.clear();
            if self.replies.capacity() > DEFAULT_HIGH_WATER * 2 {
                self.replies = Vec::new();
            }
        }
        // A last line without its `\r\n` is not a request, as in Twisted.
        if self.eof && !whole {
            ctx.lose_connection();
        }
    }
}

/// The answer to bytes that cannot be this protocol: the start of an AMP box.
const NOT_LINES: &[u8] = b"binary data: this port speaks the line protocol (AMP is torsion-kv's --amp-port)";

/// The answer to a `get` of a value set over AMP with a line break in it,
/// which a line cannot carry.
const LINE_BREAK: &[u8] =
    b"the value holds a line break, which the line protocol cannot carry: get it over AMP";

/// Runs one request against the store and composes its reply.
fn execute(store: &KvStore, reactor: &mut Reactor, request: Request<'_>, out: &mut Vec<u8>) {
    match request {
        Request::Get { key } => match store.get(key) {
            Some(value) if value.contains(&b'\n') => Reply::Error { reason: LINE_BREAK }.encode(out),
            Some(value) => Reply::Value { key, value: &value }.encode(out),
            None => Reply::GetNotFound { key }.encode(out),
        },
        Request::Set { key, value } => match store.set(reactor, key, value) {
            Ok(()) => Reply::Stored.encode(out),
            Err(e) => {
                let reason = e.to_string();
                Reply::Error {
                    reason: reason.as_bytes(),
                }
                .encode(out)
            }
        },
        Request::Delete { key } => {
            if store.delete(reactor, key) {
                Reply::Deleted { key }.encode(out)
            } else {
                Reply::DelNotFound { key }.encode(out)
            }
        }
    }
}

impl Protocol for LineServer {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(idle) = &mut self.idle {
            idle.start(ctx);
        }
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        self.buffer.extend(data);
        self.process(ctx);
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        self.eof = true;
        self.process(ctx);
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.progress(ctx);
        ctx.resume_reading();
        self.process(ctx);
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, _reason: CloseReason) {
        if let Some(idle) = &mut self.idle {
            idle.cancel(ctx);
        }
    }
}

/// Builds a [`LineServer`] per client, all sharing one store (the seeds'
/// `factory.store`).
#[derive(Clone, Debug)]
pub struct LineFactory {
    store: KvStore,
    idle_timeout: Option<Duration>,
}

impl LineFactory {
    /// Clients of `store`, never timed out.
    pub fn new(store: KvStore) -> Self {
        LineFactory {
            store,
            idle_timeout: None,
        }
    }

    /// Closes each connection after `period` without a whole line (`None`:
    /// never); see [`LineServer::with_idle_timeout`].
    pub fn with_idle_timeout(mut self, period: Option<Duration>) -> Self {
        self.idle_timeout = period;
        self
    }
}

impl Factory for LineFactory {
    fn build_protocol(&mut self, _reactor: &mut Reactor, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(
            LineServer::new(self.store.clone()).with_idle_timeout(self.idle_timeout),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::StoreConfig;
    use torsion::testing::StringTransport;

    fn connect() -> StringTransport {
        StringTransport::new(LineServer::new(KvStore::new(StoreConfig::default())))
    }

    #[test]
    fn every_reply_byte_by_byte() {
        let mut t = connect();
        t.receive_bytewise(b"get k\r\nset k a b\r\nget k\r\ndelete k\r\ndelete k\r\nbogus\r\n");
        assert_eq!(
            t.text(),
            "GET_NOT_FOUND k\r\nSTORED\r\nVALUE k a b\r\nDELETED k\r\nDEL_NOT_FOUND k\r\nERROR unknown command\r\n"
        );
        assert!(!t.disconnected());
    }

    #[test]
    fn a_bare_newline_ends_a_line_and_never_joins_a_value() {
        let mut t = connect();
        t.receive(b"set x y\nget x\n");
        assert_eq!(t.take(), b"STORED\r\nVALUE x y\r\n");
        t.receive(b"set x z\nget x\r\n");
        assert_eq!(t.take(), b"STORED\r\nVALUE x z\r\n");
        assert!(!t.disconnected());
    }

    #[test]
    fn a_value_with_a_line_break_is_refused_not_sent_broken() {
        let store = KvStore::new(StoreConfig::default());
        let mut t = StringTransport::new(LineServer::new(store.clone()));
        // As AMP may store it.
        store.set(t.reactor(), b"k", b"two\nlines").unwrap();
        t.receive(b"get k\r\nget k2\r\n");
        let text = t.text();
        assert!(text.starts_with("ERROR the value holds a line break"), "{text}");
        assert!(text.ends_with("\r\nGET_NOT_FOUND k2\r\n"), "{text}");
    }

    #[test]
    fn an_amp_client_is_told_at_once_and_closed() {
        let mut t = connect();
        // What `torsion-kvc --amp get x` sends: no line break in it.
        t.receive(b"\x00\x04_ask\x00\x011\x00\x08_command\x00\x03Get\x00\x03key\x00\x01x\x00\x00");
        let text = t.text();
        assert!(
            text.starts_with("ERROR binary data: this port speaks the line protocol"),
            "{text}"
        );
        assert!(text.ends_with("\r\n") && text.lines().count() == 1, "{text}");
        assert!(t.disconnected());
    }

    #[test]
    fn a_peer_that_does_not_read_is_answered_in_batches() {
        let mut t = connect();
        t.receive(format!("set big {}\r\n", "v".repeat(60_000)).as_bytes());
        t.clear();
        t.set_window(Some(0));
        t.receive(&b"get big\r\n".repeat(2000));
        assert!(t.reading_paused());
        assert!(
            t.buffered() < 2 * DEFAULT_HIGH_WATER,
            "{} bytes held",
            t.buffered()
        );
        t.set_window(None);
        let one = b"VALUE big ".len() + 60_000 + 2;
        assert_eq!(t.take().len(), 2000 * one);
    }

    #[test]
    fn a_connection_without_a_whole_line_times_out() {
        let store = KvStore::new(StoreConfig::default());
        let server = LineServer::new(store).with_idle_timeout(Some(Duration::from_secs(10)));
        let mut t = StringTransport::new(server);
        t.receive(b"get k\r\n");
        t.advance(Duration::from_secs(9));
        // A slowloris: a byte now and then, never a whole line.
        for byte in b"get slow" {
            t.receive(&[*byte]);
            t.advance(Duration::from_millis(100));
        }
        assert!(!t.disconnected());
        t.advance(Duration::from_secs(1));
        assert!(matches!(t.close_reason(), Some(CloseReason::TimedOut)));
    }

    #[test]
    fn whole_lines_keep_a_connection_open() {
        let store = KvStore::new(StoreConfig::default());
        let server = LineServer::new(store).with_idle_timeout(Some(Duration::from_secs(10)));
        let mut t = StringTransport::new(server);
        for _ in 0..5 {
            t.advance(Duration::from_secs(9));
            t.receive(b"get k\r\n");
        }
        assert!(!t.disconnected());
    }

    #[test]
    fn end_of_file_closes_after_the_answers() {
        let mut t = connect();
        t.receive(b"set k v\r\nget k\r\nget");
        t.receive_eof();
        assert_eq!(t.text(), "STORED\r\nVALUE k v\r\n");
        assert!(t.disconnected());
    }
}
