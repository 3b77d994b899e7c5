//! One client connection: bytes from the reactor in, replies out.
//!
//! The connection owns only what must survive between reads: the session
//! state and the bytes of an incomplete request. A read that holds whole
//! requests is parsed straight from the reactor's buffer, without copying;
//! only a partial request at its end is kept. Every reply produced by one
//! read is composed into the shared scratch buffer and written once, so a
//! pipelined batch costs one `write` (see docs/reactor.md).
//!
//! Which protocol a connection speaks is decided by its first byte, as in
//! memcached: 0x80 (the binary request magic) selects the binary protocol,
//! anything else the text protocol (classic and meta commands). With `-B
//! binary` every connection speaks binary (text is closed at its first
//! byte, a bad magic); with `-B ascii` every connection speaks text.
//!
//! A connection serves at most `-R` requests (default 20) per read before
//! letting the others run: it yields ([`Next::Yield`]), counts it in
//! `conn_yields`, and picks up where it stopped on the reactor's next turn
//! (or, when its peer is not reading, once the peer catches up).
//!
//! The connection keeps its row of `stats conns` up to date (state, time of
//! the last command), and after a `shutdown` (allowed by `-A`) stops the
//! reactor.
//!
//! With an idle timeout (memcached's `-o idle_timeout`), a connection that
//! completes no request for that long is closed, as memcached measures it
//! from the last command: bytes that never make a request (a slowloris
//! sending one byte now and then, a refused block trickling in) do not
//! count, and neither does a peer that stopped reading its replies.
//!
//! # Memory per connection
//!
//! A server may hold tens of thousands of idle connections, so what one
//! costs is budgeted, and each part is held by a `size_of` assertion. An
//! idle connection costs 184 bytes of heap (`bench/memory.sh` measures 185
//! bytes of RSS; memcached 1.6.18: 585):
//!
//! | where | bytes |
//! |-------|------:|
//! | the reactor's slot: its `Connection` inline (socket, boxed protocol, role, states) | 80 |
//! | this [`MemcacheConnection`] ([`CONNECTION_BYTES`]), plus malloc's 8-byte header, rounded to 16 | 80 |
//! | its `stats conns` row ([`ROW_BYTES`](super::conn_table::ROW_BYTES)) | 24 |
//!
//! Nothing else is held between requests. Reads land in the reactor's one
//! shared buffer, and the requests they hold are parsed there; only an
//! incomplete request's bytes are copied into a buffer of the connection's
//! own, freed as soon as they are consumed (counted in `stats` as
//! `read_buf_count` and `read_buf_bytes`). Replies go into the server's one
//! scratch buffer, and the reactor lends the connection a write buffer only
//! while the socket has not taken them. An idle timer (`-o idle_timeout`)
//! or a metadump under way costs a connection one more allocation.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use torsion::{CloseReason, Ctx, Protocol};
use torsion_protocols::memcache::text::{ShutdownMode, WatchKinds};
use torsion_protocols::policies::IdleTimer;

use super::auth::AuthText;
use super::conn_table::ConnState;
use super::crawler::Dump;
use super::dialect::{Ascii, Binary, ExecCtx};
use super::server::Shared;
use super::session::{Feed, Next, Session};
use super::settings::BindingProtocol;
use super::watch::Event;

/// Bytes of a metadump composed per slice: a slow reader holds about this
/// much (plus the transport's buffer) while a dump waits for it.
const DUMP_CHUNK: usize = 64 * 1024;

/// The first byte of every binary-protocol request.
const BINARY_MAGIC: u8 = 0x80;

/// Which conversation the connection holds.
enum Conversation {
    /// No byte received yet.
    Undecided,
    Text(Session<Ascii>),
    Binary(Session<Binary>),
    /// With `-Y`, until the connection authenticates.
    Auth(Session<AuthText>),
    /// After `watch`: a log stream; what the peer sends is ignored.
    Watching,
}

/// A memcached client connection (see the module docs).
pub struct MemcacheConnection {
    shared: Rc<RefCell<Shared>>,
    session: Conversation,
    /// The unconsumed bytes of an incomplete request, or of requests left
    /// by a yield; `None` (no memory) whenever nothing is left over.
    input: Option<Box<Input>>,
    /// What only some connections have: an idle timer, a dump under way.
    rare: Option<Box<Rare>>,
    /// Its row in `stats conns` ([`NO_ROW`] before `connection_made` and
    /// after `connection_lost`).
    row: u32,
    /// Whether the transport asked it to stop producing (its peer is not
    /// reading); `resume_producing` clears it.
    paused: bool,
    /// How it closes, for the `connevents` watchers.
    ending: Ending,
}

/// Bytes of a [`MemcacheConnection`], the protocol half of a connection's
/// cost (the reactor's half is its slot in the source table): 8 for the
/// shared state, 40 for the conversation (a session: its parser's scan
/// position, its state, its output budget; and the dialect), 8 each for the
/// two pointers to what only some connections have (a partial request;
/// an idle timer or a metadump), and 8 for the row, the flags and padding.
/// The allocator adds 8 and rounds to 16: 80 bytes of heap.
pub const CONNECTION_BYTES: usize = 72;

const _: () = assert!(std::mem::size_of::<MemcacheConnection>() <= CONNECTION_BYTES);

/// What a connection has only with `-o idle_timeout`, or while it streams
/// a metadump: kept apart so that the others do not pay for it.
#[derive(Default)]
struct Rare {
    /// Closes the connection after a while without a complete request.
    idle: Option<IdleTimer>,
    /// An `lru_crawler metadump` being streamed; requests wait until it ends.
    dump: Option<Dump>,
}

/// `row` before the connection has one.
const NO_ROW: u32 = 0;

/// The bytes a connection keeps between reads. A read that holds whole
/// requests leaves none, and the connection then holds no buffer at all;
/// one that ends in an incomplete request (or a yield) copies the rest
/// here, and the buffer is freed as soon as it is consumed.
struct Input {
    bytes: Vec<u8>,
    /// Where the unconsumed bytes start: a yield every `-R` requests
    /// consumes a little at a time, so the consumed prefix is dropped only
    /// once it is half the buffer (amortized O(1) a byte).
    start: usize,
}

/// Why a connection closes, as `conn_close` lines say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The peer left or said `quit`.
    Normal,
    /// The server closed it for a protocol error.
    Error,
}

impl MemcacheConnection {
    /// A connection sharing `shared`.
    pub fn new(shared: Rc<RefCell<Shared>>) -> Self {
        MemcacheConnection {
            shared,
            session: Conversation::Undecided,
            input: None,
            rare: None,
            row: NO_ROW,
            paused: false,
            ending: Ending::Normal,
        }
    }

    /// Closes the connection once `period` passes without a complete
    /// request (`None`: never).
    pub fn with_idle_timeout(mut self, period: Option<Duration>) -> Self {
        if let Some(period) = period {
            self.rare.get_or_insert_with(Box::default).idle = Some(IdleTimer::new(period));
        }
        self
    }

    /// Whether the session is discarding a refused block (bytes that
    /// arrive then are not a request).
    fn is_swallowing(&self) -> bool {
        match &self.session {
            Conversation::Text(session) => session.is_swallowing(),
            Conversation::Binary(session) => session.is_swallowing(),
            Conversation::Auth(session) => session.is_swallowing(),
            Conversation::Undecided | Conversation::Watching => false,
        }
    }

    /// Runs the session over `input`; writes the replies. Returns the bytes
    /// consumed and what to do next.
    fn feed(&mut self, ctx: &mut Ctx<'_>, input: &[u8]) -> Feed {
        let mut guard = self.shared.borrow_mut();
        let shared = &mut *guard;
        let now = shared.now(ctx);
        shared.refresh_counters(&ctx.counters());
        shared.stats.bytes_read += input.len() as u64;
        if self.row != NO_ROW {
            shared.stats.conns.update(self.row, ConnState::ParseCmd, None);
        }
        let now_us = shared.now_micros(ctx);
        shared.stats.watch.set_clock(now_us);
        shared.stats.watch.cfd = u64::from(self.row);
        let mut out = std::mem::take(&mut shared.scratch);
        let mut cx = ExecCtx {
            store: &mut shared.store,
            server: &mut shared.stats,
            now,
            out: &mut out,
        };
        let fed = match &mut self.session {
            Conversation::Text(session) => session.feed(input, &mut cx),
            Conversation::Binary(session) => session.feed(input, &mut cx),
            Conversation::Auth(session) => session.feed(input, &mut cx),
            // A watcher reads nothing more.
            Conversation::Watching => Feed {
                consumed: input.len(),
                next: Next::Wait { needed: None },
            },
            // data_received decides before the first feed.
            Conversation::Undecided => Feed {
                consumed: 0,
                next: Next::Wait { needed: None },
            },
        };
        if let Some(dump) = shared.stats.crawler.take_dump() {
            self.rare.get_or_insert_with(Box::default).dump = Some(dump);
        }
        shared.stats.bytes_written += out.len() as u64;
        if !out.is_empty() {
            ctx.write(&out);
        }
        // The batch's replies are written: they hold no item any more.
        shared.store.release();
        out.clear();
        shared.scratch = out;
        if self.row != NO_ROW {
            let state = match fed.next {
                Next::Wait { needed: Some(_) } => ConnState::NRead,
                _ if self.is_swallowing() => ConnState::Swallow,
                _ => ConnState::Read,
            };
            let command_at = (fed.consumed > 0).then_some(now);
            shared.stats.conns.update(self.row, state, command_at);
        }
        if fed.next == Next::Yield {
            shared.stats.conn_yields += 1;
        }
        if fed.next == Next::Close {
            let done = input[..fed.consumed.min(input.len())].trim_ascii_end();
            if !done.ends_with(b"quit") {
                self.ending = Ending::Error;
            }
        }
        if let Some(kinds) = shared.stats.watch.requested.take() {
            self.session = Conversation::Watching;
            shared.stats.watch.add(ctx.id(), kinds);
        }
        if let Some(mode) = shared.stats.shutdown.take() {
            log::info!(
                "shutdown{} requested by a client",
                if mode == ShutdownMode::Graceful {
                    " graceful"
                } else {
                    ""
                }
            );
            ctx.stop();
        }
        drop(guard);
        schedule_watch_flush(&self.shared, ctx);
        fed
    }

    /// Writes the lines waiting for this watcher, unless its peer is not
    /// reading (then `resume_producing` will).
    fn flush_watch(&mut self, ctx: &mut Ctx<'_>) {
        if self.paused || !ctx.is_open() || ctx.is_closing() {
            return;
        }
        let lines = self.shared.borrow_mut().stats.watch.take(ctx.id());
        if !lines.is_empty() {
            ctx.write(&lines);
        }
    }

    /// Goes on with the requests left after a yield, unless the peer is not
    /// reading (then `resume_producing` will).
    fn continue_after_yield(&mut self, ctx: &mut Ctx<'_>) {
        if !self.dumping() && !self.paused && self.has_pending() && ctx.is_open() && !ctx.is_closing() {
            self.process(ctx, &[]);
        }
    }
}

/// Queues one drain of the watchers' buffers on the reactor's next turn
/// (at most one queued at a time).
fn schedule_watch_flush(shared: &Rc<RefCell<Shared>>, ctx: &mut Ctx<'_>) {
    {
        let mut guard = shared.borrow_mut();
        let watch = &mut guard.stats.watch;
        if watch.flush_queued || !watch.has_pending() {
            return;
        }
        watch.flush_queued = true;
    }
    let shared = shared.clone();
    ctx.call_soon(move |reactor| {
        let ids = {
            let mut guard = shared.borrow_mut();
            guard.stats.watch.flush_queued = false;
            guard.stats.watch.pending()
        };
        for id in ids {
            let flushed = reactor.with_protocol::<MemcacheConnection, _>(id, |c, ctx| c.flush_watch(ctx));
            if flushed.is_err() {
                shared.borrow_mut().stats.watch.remove(id);
            }
        }
    });
}

impl MemcacheConnection {
    /// Whether bytes of an unfinished request (or requests left by a
    /// yield) are buffered.
    fn has_pending(&self) -> bool {
        self.input.is_some()
    }

    /// Whether a metadump is being streamed.
    fn dumping(&self) -> bool {
        self.rare.as_ref().is_some_and(|r| r.dump.is_some())
    }

    /// The idle timer, with `-o idle_timeout`.
    fn idle(&mut self) -> Option<&mut IdleTimer> {
        self.rare.as_mut().and_then(|r| r.idle.as_mut())
    }

    /// Writes the next slice of the dump under way; then goes on at the
    /// reactor's next turn, or once the peer reads (`resume_producing`)
    /// when it is not reading. After the dump, the requests left run.
    fn pump_dump(&mut self, ctx: &mut Ctx<'_>) {
        if self.paused || !ctx.is_open() || ctx.is_closing() {
            return;
        }
        let Some(dump) = self.rare.as_mut().and_then(|r| r.dump.as_mut()) else {
            return;
        };
        let over = {
            let mut guard = self.shared.borrow_mut();
            let shared = &mut *guard;
            let now = shared.now(ctx);
            let mut out = std::mem::take(&mut shared.scratch);
            let over = dump.fill(&shared.store, now, &mut out, DUMP_CHUNK);
            shared.stats.bytes_written += out.len() as u64;
            if !out.is_empty() {
                ctx.write(&out);
            }
            out.clear();
            shared.scratch = out;
            over
        };
        if over {
            if let Some(rare) = &mut self.rare {
                rare.dump = None;
            }
        }
        let id = ctx.id();
        ctx.call_soon(move |reactor| {
            let _ = reactor.with_protocol::<MemcacheConnection, _>(id, |c, ctx| {
                if c.dumping() {
                    c.pump_dump(ctx);
                } else {
                    c.continue_after_yield(ctx);
                }
            });
        });
    }

    /// The capacity of the input buffer, if it holds one.
    fn input_held(&self) -> Option<usize> {
        self.input.as_ref().map(|i| i.bytes.capacity())
    }

    /// Handles `data` after whatever was pending, and counts the input
    /// buffer's change in `stats` (`read_buf_count`, `read_buf_bytes`).
    fn process(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        let before = self.input_held();
        self.process_data(ctx, data);
        let after = self.input_held();
        if before != after {
            let mut shared = self.shared.borrow_mut();
            shared.stats.read_buffers.changed(before, after);
        }
    }

    /// [`process`](Self::process), without the accounting.
    fn process_data(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        if self.dumping() {
            // A dump is streaming: the requests wait for its end.
            if !data.is_empty() {
                let input = self.input.get_or_insert_with(|| {
                    Box::new(Input {
                        bytes: Vec::new(),
                        start: 0,
                    })
                });
                input.bytes.extend_from_slice(data);
            }
            return;
        }
        let fed = match self.input.take() {
            None => {
                // The common case: parse straight from the reactor's read
                // buffer, and keep only an incomplete request's bytes.
                let fed = self.feed(ctx, data);
                let rest = &data[fed.consumed.min(data.len())..];
                if !rest.is_empty() {
                    self.input = Some(Box::new(Input {
                        bytes: rest.to_vec(),
                        start: 0,
                    }));
                }
                fed
            }
            Some(mut input) => {
                if input.start >= input.bytes.len() / 2 {
                    input.bytes.drain(..input.start);
                    input.start = 0;
                }
                input.bytes.extend_from_slice(data);
                let fed = self.feed(ctx, &input.bytes[input.start..]);
                input.start = (input.start + fed.consumed).min(input.bytes.len());
                if input.start < input.bytes.len() {
                    self.input = Some(input);
                }
                fed
            }
        };
        // Progress: at least one request was answered (bytes consumed that
        // were not a refused block being skipped).
        if fed.consumed > 0 && !self.is_swallowing() {
            if let Some(idle) = self.idle() {
                idle.reset(ctx);
            }
        }
        match fed.next {
            Next::Close => {
                self.input = None;
                ctx.lose_connection();
            }
            // The request budget (-R) or the output budget is spent: let the
            // other connections run, then go on. When the replies are over
            // the write buffer's high-water mark, pause_producing comes
            // first, and resume_producing picks up the requests left.
            Next::Yield if self.dumping() => self.pump_dump(ctx),
            Next::Yield => {
                let id = ctx.id();
                ctx.call_soon(move |reactor| {
                    let _ = reactor
                        .with_protocol::<MemcacheConnection, _>(id, |c, ctx| c.continue_after_yield(ctx));
                });
            }
            // Authenticated: the rest is a text connection's.
            Next::Upgrade => {
                self.session = Conversation::Text(Session::new());
                if self.has_pending() && ctx.is_open() && !ctx.is_closing() {
                    self.process_data(ctx, &[]);
                }
            }
            // A large value is on its way: make room for it once.
            Next::Wait { needed: Some(needed) } => {
                if let Some(input) = &mut self.input {
                    input.bytes.reserve(needed);
                }
            }
            Next::Wait { needed: None } => {}
        }
    }
}

impl Protocol for MemcacheConnection {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(idle) = self.idle() {
            idle.start(ctx);
        }
        let mut shared = self.shared.borrow_mut();
        let now = shared.now(ctx);
        let row = shared.stats.conns.add_client(ctx.peer().as_ref(), now);
        self.row = row;
        if shared.stats.watch.wants(WatchKinds::CONNEVENTS) {
            let now_us = shared.now_micros(ctx);
            let watch = &mut shared.stats.watch;
            watch.set_clock(now_us);
            watch.cfd = u64::from(row);
            let (ip, port) = peer_parts(ctx);
            watch.log(Event::ConnNew {
                peer: (&ip, port),
                cfd: u64::from(row),
            });
        }
        drop(shared);
        schedule_watch_flush(&self.shared, ctx);
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        if let Conversation::Undecided = self.session {
            let (binding, auth) = {
                let shared = self.shared.borrow();
                let options = &shared.stats.options;
                (options.binding_protocol, options.auth.is_some())
            };
            self.session = match (data.first(), binding) {
                // With -Y every connection authenticates in text first,
                // whatever its first byte (memcached reads a binary
                // header as a text line, and refuses it).
                _ if auth => Conversation::Auth(Session::new()),
                // A binary-only server reads every connection as binary,
                // so a text one is closed at its first header's bad magic.
                (Some(&BINARY_MAGIC), BindingProtocol::Auto) | (_, BindingProtocol::Binary) => {
                    Conversation::Binary(Session::new())
                }
                _ => Conversation::Text(Session::new()),
            };
        }
        self.process(ctx, data);
    }

    fn pause_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.paused = true;
        ctx.pause_reading();
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.paused = false;
        // The peer is reading its replies: that is progress too.
        if let Some(idle) = self.idle() {
            idle.reset(ctx);
        }
        ctx.resume_reading();
        if let Conversation::Watching = self.session {
            self.flush_watch(ctx);
        }
        if self.dumping() {
            self.pump_dump(ctx);
        } else if self.has_pending() {
            self.process(ctx, &[]);
        }
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        if let Some(idle) = self.idle() {
            idle.cancel(ctx);
        }
        if !reason.is_clean() {
            log::debug!("client connection ended: {reason}");
        }
        let mut shared = self.shared.borrow_mut();
        let held = self.input_held();
        self.input = None;
        shared.stats.read_buffers.changed(held, None);
        shared.stats.watch.remove(ctx.id());
        let row = std::mem::replace(&mut self.row, NO_ROW);
        if row != NO_ROW {
            shared.stats.conns.remove(row);
            if shared.stats.watch.wants(WatchKinds::CONNEVENTS) {
                let now_us = shared.now_micros(ctx);
                let watch = &mut shared.stats.watch;
                watch.set_clock(now_us);
                watch.cfd = u64::from(row);
                let (ip, port) = peer_parts(ctx);
                watch.log(Event::ConnClose {
                    peer: (&ip, port),
                    error: self.ending == Ending::Error,
                    cfd: u64::from(row),
                });
            }
        }
        if let (CloseReason::TimedOut, Some(kicks)) = (&reason, &mut shared.stats.idle_kicks) {
            *kicks += 1;
        }
        shared.connection_closed();
        drop(shared);
        schedule_watch_flush(&self.shared, ctx);
    }
}

/// The peer's address and port, as `conn_new` lines print them.
fn peer_parts(ctx: &Ctx<'_>) -> (String, u16) {
    match ctx.peer() {
        Some(torsion::Address::Tcp(addr)) => (addr.ip().to_string(), addr.port()),
        _ => ("unknown".to_string(), 0),
    }
}

#[cfg(test)]
mod tests {
    use crate::memcached::server::{MemcacheFactory, Settings};
    use torsion::testing::StringTransport;

    fn connect() -> StringTransport {
        let reactor = torsion::Reactor::new().unwrap();
        let mut factory = MemcacheFactory::new(&reactor, Settings::default());
        StringTransport::from_factory(&mut factory)
    }

    #[test]
    fn requests_split_byte_by_byte_get_the_same_replies() {
        let mut t = connect();
        t.receive_bytewise(b"set k 1 0 5\r\nhello\r\nget k\r\n");
        assert_eq!(t.text(), "STORED\r\nVALUE k 1 5\r\nhello\r\nEND\r\n");
    }

    #[test]
    fn a_peer_that_does_not_read_gets_its_replies_in_budgeted_batches() {
        let mut t = connect();
        let mut set = b"set big 0 0 100000\r\n".to_vec();
        set.extend(vec![b'v'; 100_000]);
        set.extend_from_slice(b"\r\n");
        t.receive(&set);
        t.clear();
        // The peer stops reading, then asks for 100 MB in one chunk.
        t.set_window(Some(0));
        t.receive(&b"get big\r\n".repeat(1000));
        assert!(t.reading_paused());
        let held = t.buffered();
        assert!(
            held < 2 * crate::memcached::session::OUTPUT_BUDGET,
            "{held} bytes buffered for a peer that reads nothing"
        );
        // Reading again, the peer gets every reply, in order.
        t.set_window(None);
        let replies = t.take();
        let one = b"VALUE big 0 100000\r\n".len() + 100_000 + 2 + 5;
        assert_eq!(replies.len(), 1000 * one);
        assert!(!t.reading_paused());
    }

    #[test]
    fn one_get_larger_than_the_budget_waits_for_the_peer_between_keys() {
        use crate::memcached::session::OUTPUT_BUDGET;
        let mut t = connect();
        let value = vec![b'v'; 100_000];
        t.receive(&[&b"set big 0 0 100000\r\n"[..], &value, b"\r\n"].concat());
        t.clear();
        // One request asks for 4 MB; the peer reads nothing yet.
        t.set_window(Some(0));
        t.receive(format!("get{}\r\nversion\r\n", " big".repeat(40)).as_bytes());
        assert!(t.reading_paused());
        let bound = 2 * OUTPUT_BUDGET + value.len();
        assert!(t.buffered() < bound, "{} bytes composed ahead", t.buffered());
        // Then it reads a byte, then 50 KB, and so on: the get resumes
        // where it stopped each time the buffer drains.
        let mut replies = Vec::new();
        for round in 0.. {
            assert!(round < 1000, "the reply never ended");
            t.set_window(Some(if round % 2 == 0 { 1 } else { 50_000 }));
            replies.extend(t.take());
            assert!(t.buffered() < bound, "{} bytes composed ahead", t.buffered());
            if replies.ends_with(b"VERSION 1.6.38-torsion\r\n") {
                break;
            }
        }
        let one = [&b"VALUE big 0 100000\r\n"[..], &value, b"\r\n"].concat();
        let expected = [one.repeat(40), b"END\r\nVERSION 1.6.38-torsion\r\n".to_vec()].concat();
        assert!(
            replies == expected,
            "{} bytes, expected {}",
            replies.len(),
            expected.len()
        );
        assert!(!t.disconnected());
    }

    #[test]
    fn a_first_byte_of_0x80_selects_the_binary_protocol() {
        let mut t = connect();
        // A binary noop: magic, opcode 0x0a, then zeros; opaque 0xdeadbeef.
        let mut noop = vec![0x80, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef];
        noop.extend([0; 8]);
        t.receive_bytewise(&noop);
        let reply = t.take();
        assert_eq!(reply.len(), 24);
        assert_eq!((reply[0], reply[1]), (0x81, 0x0a));
        assert_eq!(&reply[12..16], &[0xde, 0xad, 0xbe, 0xef]);
    }

    #[test]
    fn with_an_idle_timeout_only_whole_requests_keep_a_connection_open() {
        use std::time::Duration;
        use torsion::CloseReason;
        let reactor = torsion::Reactor::new().unwrap();
        let settings = Settings {
            idle_timeout: Some(Duration::from_secs(10)),
            ..Settings::default()
        };
        let mut factory = MemcacheFactory::new(&reactor, settings);
        let shared = factory.shared();
        assert_eq!(shared.borrow().stats.idle_kicks, Some(0));
        let mut t = StringTransport::from_factory(&mut factory);
        for _ in 0..3 {
            t.advance(Duration::from_secs(9));
            t.receive(b"set k 0 0 1 noreply\r\nx\r\n");
        }
        assert!(!t.disconnected());
        // A refused block trickling in, then a command line a byte at a time.
        t.receive(b"set big 0 0 2000000\r\n");
        for _ in 0..5 {
            t.advance(Duration::from_secs(1));
            t.receive(&[b'v'; 100]);
        }
        for byte in b"get " {
            t.advance(Duration::from_secs(1));
            t.receive(&[*byte]);
        }
        assert!(!t.disconnected());
        t.advance(Duration::from_secs(2));
        assert!(matches!(t.close_reason(), Some(CloseReason::TimedOut)));
        assert_eq!(shared.borrow().stats.idle_kicks, Some(1), "counted in idle_kicks");
    }

    #[test]
    fn without_an_idle_timeout_a_silent_connection_stays() {
        let mut t = connect();
        t.advance(std::time::Duration::from_secs(24 * 3600));
        assert!(!t.disconnected());
    }

    #[test]
    fn past_the_requests_per_event_it_yields_and_goes_on_later() {
        use crate::memcached::settings::Options;
        let reactor = torsion::Reactor::new().unwrap();
        let settings = Settings {
            options: Options {
                reqs_per_event: 2,
                ..Options::default()
            },
            ..Settings::default()
        };
        let mut factory = MemcacheFactory::new(&reactor, settings);
        let shared = factory.shared();
        let mut t = StringTransport::from_factory(&mut factory);
        // receive() runs the reactor until idle: the yields' continuations too.
        t.receive(&b"set k 0 0 1\r\nv\r\n".repeat(5));
        assert_eq!(t.text(), "STORED\r\n".repeat(5));
        assert_eq!(shared.borrow().stats.conn_yields, 2, "after 2 and after 4");
    }

    #[test]
    fn a_binary_only_server_reads_text_as_a_bad_header() {
        use crate::memcached::settings::{BindingProtocol, Options};
        let reactor = torsion::Reactor::new().unwrap();
        let settings = Settings {
            options: Options {
                binding_protocol: BindingProtocol::Binary,
                ..Options::default()
            },
            ..Settings::default()
        };
        let mut t = StringTransport::from_factory(&mut MemcacheFactory::new(&reactor, settings));
        t.receive(b"version\r\n");
        assert!(t.disconnected(), "closed at the bad magic");
        assert_eq!(t.text(), "");
    }

    #[test]
    fn a_partial_request_holds_a_counted_buffer_until_it_completes() {
        let reactor = torsion::Reactor::new().unwrap();
        let mut factory = MemcacheFactory::new(&reactor, Settings::default());
        let shared = factory.shared();
        let mut t = StringTransport::from_factory(&mut factory);
        let counts = || {
            let r = shared.borrow().stats.read_buffers;
            (r.count, r.bytes > 0)
        };
        t.receive(b"version\r\n");
        assert_eq!(counts(), (0, false), "whole requests leave no buffer");
        t.receive(b"set k 0 0 5\r\nhel");
        assert_eq!(counts(), (1, true));
        t.receive(b"lo\r\n");
        assert_eq!(counts(), (0, false), "freed once consumed");
        t.receive(b"get k");
        assert_eq!(counts(), (1, true));
        t.receive_reset();
        assert_eq!(counts(), (0, false), "and when the connection closes");
    }

    #[test]
    fn quit_closes_after_the_replies() {
        let mut t = connect();
        t.receive(b"set a 0 0 1\r\nx\r\nquit\r\nget a\r\n");
        assert_eq!(t.text(), "STORED\r\n");
        assert!(t.disconnected());
    }
}
