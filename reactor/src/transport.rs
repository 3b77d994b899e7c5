//! Stream transports: what a protocol writes to, and how bytes move.
//!
//! A [`Ctx`] is one connection's transport with the reactor behind it. Its
//! operations never call back into a protocol; they change the connection's
//! state and queue work that the reactor performs as soon as the current
//! callback returns:
//!
//! - **write** appends to the connection's write buffer and marks it dirty.
//!   When the callback returns the reactor writes the buffer straight to the
//!   socket, so every reply produced while handling one read leaves in one
//!   `writev`. Only what the socket refuses stays buffered, and only then is
//!   the socket registered for WRITABLE (design rule 5).
//! - **backpressure**: when the buffer rises above the high-water mark the
//!   protocol's `pause_producing` is called; when a flush brings it under the
//!   low-water mark, `resume_producing`.
//! - **lose_connection** stops reading, flushes, then closes; **abort** drops
//!   the buffer and resets the connection at once.
//!
//! The reactor hands a connection's readiness events here
//! (`connection_event`, by phase: a connect in progress is finished, an
//! open connection flushes on WRITABLE and reads on READABLE, a lingering
//! one drains), and the closing notices too (`deliver_lost`).

use std::io;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::event::Event;
use mio::Interest;

use crate::address::Address;
use crate::buffer::WriteBuffer;
#[cfg(doc)]
use crate::buffer::WritePool;
use crate::id::ConnectionId;
use crate::notice::Notice;
use crate::protocol::{ClientFactory, CloseReason, Protocol, ProtocolAccessError};
use crate::reactor::Reactor;
use crate::source::Source;
use crate::stream::Stream;
use crate::timer::{TimerKey, TimerTask};
use crate::ListenerId;

/// Default high-water mark of a write buffer: above it the protocol is paused.
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;
/// Default low-water mark of a write buffer: below it the protocol is resumed.
pub const DEFAULT_LOW_WATER: usize = 16 * 1024;

/// The life of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// A client connect is in progress.
    Connecting,
    /// Connected; the protocol is live.
    Open,
    /// Our side is closed and the protocol told; the socket stays open a
    /// little to drain what the peer still sends, so the kernel answers the
    /// peer with FIN rather than RST (which could destroy our last bytes).
    Lingering,
    /// The socket is closed; a final notice is pending.
    Closed,
}

/// The reading side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reading {
    Active,
    /// Paused by the protocol (or by backpressure); events are ignored and a
    /// read is attempted on resume.
    Paused,
    /// Stopped for good: the connection is closing.
    Stopped,
    /// The peer sent end-of-file.
    Eof,
}

/// The writing side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Writing {
    Open,
    /// Flush, then close the connection.
    Closing,
    /// Flush, then shut down our writing side (half-close).
    HalfClosing,
    /// Our writing side is shut down.
    HalfClosed,
}

/// Whether the protocol is producing or asked to pause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Producer {
    Streaming,
    Paused,
}

/// Who made the connection.
pub(crate) enum Role {
    /// Accepted by this listener.
    Server(ListenerId),
    /// Made by `connect_*`; the factory hears how it ends. Boxed: most
    /// connections of a server are accepted ones, and pay nothing for it.
    Client(Box<ClientRole>),
    /// Attached by hand (the in-memory test transport).
    Attached,
}

/// What a connection made by `connect_*` keeps about its making.
pub(crate) struct ClientRole {
    /// Hears how the connection ends (lent out while it is called).
    pub(crate) factory: Option<Box<dyn ClientFactory>>,
    /// The connect timeout, while the connect is in progress.
    pub(crate) timeout: Option<TimerKey>,
}

/// One stream connection, in its slot of the source table.
///
/// # Cost
///
/// Every open connection holds one, inline in its slot of the source
/// table (no allocation of its own), so it is kept small
/// ([`CONNECTION_BYTES`], asserted below):
///
/// | field | bytes | |
/// |-------|------:|-|
/// | `stream` | 16 | a descriptor, or the test pipe's `Rc` (24 in a debug build: [`MIO_DEBUG_BYTES`]) |
/// | `protocol` | 16 | a `Box<dyn Protocol>` |
/// | `role` | 16 | a listener id; a client's factory and timer are boxed |
/// | `wbuf` | 8 | `None` while nothing is buffered: a drained buffer goes back to the reactor's [`WritePool`] |
/// | `tuning` | 8 | `None` unless watermarks or a write tap were set |
/// | states and flags | 6 | `phase`, `reading`, `writing`, `producer`, `write_interest`, `dirty` |
/// | padding | 2 | |
pub(crate) struct Connection {
    pub(crate) stream: Stream,
    /// `None` while a callback of the protocol is running (it is lent out),
    /// and before/after the protocol exists.
    pub(crate) protocol: Option<Box<dyn Protocol>>,
    pub(crate) role: Role,
    pub(crate) phase: Phase,
    pub(crate) reading: Reading,
    pub(crate) writing: Writing,
    pub(crate) producer: Producer,
    /// The bytes waiting for the socket; `None` when there are none (most
    /// of the time: a reply is written at once). See [`WritePool`].
    pub(crate) wbuf: Option<Box<WriteBuffer>>,
    /// Whether WRITABLE is part of the registration now.
    pub(crate) write_interest: bool,
    /// Whether the connection is on the reactor's dirty list.
    pub(crate) dirty: bool,
    /// Watermarks other than the defaults, and the write tap.
    tuning: Option<Box<Tuning>>,
}

/// What few connections set: watermarks of their own, a write tap.
struct Tuning {
    low_water: u32,
    high_water: u32,
    /// Sees every write accepted for this connection (see [`Ctx::set_write_tap`]).
    write_tap: Option<WriteTap>,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            low_water: DEFAULT_LOW_WATER as u32,
            high_water: DEFAULT_HIGH_WATER as u32,
            write_tap: None,
        }
    }
}

/// The most bytes a [`Connection`] may take (see its cost table).
pub(crate) const CONNECTION_BYTES: usize = 72 + MIO_DEBUG_BYTES;

/// What a debug build of mio adds to each socket (the id of the selector it
/// is registered with, checked on every registration): 8 bytes with debug
/// assertions, none in a release build.
pub(crate) const MIO_DEBUG_BYTES: usize = if cfg!(debug_assertions) { 8 } else { 0 };

const _: () = assert!(std::mem::size_of::<Connection>() <= CONNECTION_BYTES);

impl Connection {
    pub(crate) fn new(stream: Stream, role: Role, phase: Phase) -> Self {
        Connection {
            stream,
            protocol: None,
            role,
            phase,
            reading: Reading::Active,
            writing: Writing::Open,
            producer: Producer::Streaming,
            wbuf: None,
            write_interest: false,
            dirty: false,
            tuning: None,
        }
    }

    /// Above this many buffered bytes the protocol is paused.
    fn high_water(&self) -> usize {
        self.tuning
            .as_ref()
            .map_or(DEFAULT_HIGH_WATER, |t| t.high_water as usize)
    }

    /// At or below this many buffered bytes a paused protocol is resumed.
    fn low_water(&self) -> usize {
        self.tuning
            .as_ref()
            .map_or(DEFAULT_LOW_WATER, |t| t.low_water as usize)
    }

    /// Bytes written but not yet accepted by the socket.
    pub(crate) fn buffered(&self) -> usize {
        self.wbuf.as_ref().map_or(0, |b| b.len())
    }

    /// Whether the protocol may still write.
    fn accepts_writes(&self) -> bool {
        self.phase == Phase::Open && self.writing == Writing::Open
    }

    fn interest(&self) -> Interest {
        if self.phase == Phase::Connecting || self.write_interest {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        }
    }
}

/// An observer of the bytes queued on a connection; see [`Ctx::set_write_tap`].
pub type WriteTap = Box<dyn FnMut(&[u8])>;

/// One connection's transport, with the reactor behind it.
///
/// Protocol callbacks receive a `Ctx`; code outside a callback gets one from
/// [`Reactor::transport`]. Through `Deref` it is also the [`Reactor`], so a
/// protocol can schedule timers or open connections. Every transport
/// operation on a connection that has closed does nothing.
pub struct Ctx<'r> {
    reactor: &'r mut Reactor,
    id: ConnectionId,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<'r> Ctx<'r> {
    pub(crate) fn new(reactor: &'r mut Reactor, id: ConnectionId) -> Self {
        Ctx { reactor, id }
    }

    /// This connection's handle.
    pub fn id(&self) -> ConnectionId {
        self.id
    }

    /// Queues `data` for the peer. It is written to the socket as soon as the
    /// current callback returns, together with everything else written
    /// meanwhile.
    pub fn write(&mut self, data: &[u8]) {
        self.reactor
            .conn_write(self.id, &[data], |buf| buf.push_slice(data));
    }

    /// Queues `data` without copying it (worth it for large buffers).
    pub fn write_bytes(&mut self, data: Bytes) {
        let view = data.clone();
        self.reactor
            .conn_write(self.id, &[&view], move |buf| buf.push_bytes(data));
    }

    /// Queues several pieces, in order; they leave in one vectored write.
    pub fn write_sequence(&mut self, parts: &[&[u8]]) {
        self.reactor.conn_write(self.id, parts, |buf| {
            for part in parts {
                buf.push_slice(part);
            }
        });
    }

    /// Closes cleanly: stops reading, delivers everything written so far,
    /// then closes. `connection_lost` follows with [`CloseReason::Done`].
    pub fn lose_connection(&mut self) {
        self.reactor.conn_lose(self.id, Writing::Closing);
    }

    /// Half-closes: delivers everything written so far, then shuts down our
    /// writing side (the peer reads end-of-file). Reading goes on.
    pub fn lose_write_connection(&mut self) {
        self.reactor.conn_lose(self.id, Writing::HalfClosing);
    }

    /// Closes at once: drops buffered bytes and resets the connection (RST).
    /// `connection_lost` follows with [`CloseReason::Aborted`].
    pub fn abort_connection(&mut self) {
        self.reactor.conn_abort(self.id, CloseReason::Aborted);
    }

    /// Closes at once like [`abort_connection`](Ctx::abort_connection), but
    /// reports `reason` (an idle timeout reports [`CloseReason::TimedOut`]).
    pub fn abort_with(&mut self, reason: CloseReason) {
        self.reactor.conn_abort(self.id, reason);
    }

    /// Stops delivering data until [`resume_reading`](Ctx::resume_reading).
    /// The peer is slowed by TCP flow control meanwhile.
    pub fn pause_reading(&mut self) {
        if let Some(conn) = self.reactor.conn_mut(self.id) {
            if conn.reading == Reading::Active {
                conn.reading = Reading::Paused;
            }
        }
    }

    /// Delivers data again after [`pause_reading`](Ctx::pause_reading).
    pub fn resume_reading(&mut self) {
        let id = self.id;
        if let Some(conn) = self.reactor.conn_mut(id) {
            if conn.reading == Reading::Paused {
                conn.reading = Reading::Active;
                // Edge-triggered: data that arrived while paused raised no new
                // event, so look for it explicitly.
                self.reactor.schedule_read(id);
            }
        }
    }

    /// Whether reading is paused.
    pub fn is_reading_paused(&self) -> bool {
        self.reactor
            .conn(self.id)
            .is_some_and(|c| c.reading == Reading::Paused)
    }

    /// Whether the connection is open and accepts writes (no close requested).
    pub fn is_open(&self) -> bool {
        self.reactor.conn(self.id).is_some_and(|c| c.accepts_writes())
    }

    /// Whether the connection is closed or a close was requested
    /// ([`lose_connection`](Ctx::lose_connection), an abort): no more data
    /// will be delivered. A half-close
    /// ([`lose_write_connection`](Ctx::lose_write_connection)) does not
    /// count, since reading goes on. Receivers use this to stop handing out
    /// buffered messages, as Twisted's `LineReceiver` checks `disconnecting`.
    pub fn is_closing(&self) -> bool {
        self.reactor
            .conn(self.id)
            .is_none_or(|c| c.phase != Phase::Open || c.writing == Writing::Closing)
    }

    /// Installs `tap` (or removes it with `None`): from now on it sees every
    /// write accepted for this connection, in order, whoever makes it (this
    /// protocol, a timer, another connection). Writes refused because the
    /// connection is closing are not shown. A connection has one tap; a new
    /// one replaces the old. Traffic logging uses this.
    pub fn set_write_tap(&mut self, tap: Option<WriteTap>) {
        if let Some(conn) = self.reactor.conn_mut(self.id) {
            conn.tuning.get_or_insert_with(Box::default).write_tap = tap;
        }
    }

    /// Bytes written but not yet accepted by the socket.
    pub fn buffered(&self) -> usize {
        self.reactor.conn(self.id).map_or(0, Connection::buffered)
    }

    /// The address of the other end.
    pub fn peer(&self) -> Option<Address> {
        self.reactor.conn(self.id).and_then(|c| c.stream.peer())
    }

    /// The address of our end.
    pub fn host(&self) -> Option<Address> {
        self.reactor.conn(self.id).and_then(|c| c.stream.host())
    }

    /// Turns Nagle's algorithm off (`true`) or on. Torsion turns it off on
    /// every TCP connection by default, as memcached does.
    pub fn set_nodelay(&mut self, on: bool) -> io::Result<()> {
        match self.reactor.conn(self.id) {
            Some(c) => c.stream.set_nodelay(on),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Enables TCP keepalive probes after `idle` of silence, or disables them.
    pub fn set_keepalive(&mut self, idle: Option<Duration>) -> io::Result<()> {
        match self.reactor.conn(self.id) {
            Some(c) => c.stream.set_keepalive(idle),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Sets the write buffer's watermarks (see the module docs). `low` is
    /// clamped to at most `high`.
    pub fn set_write_watermarks(&mut self, low: usize, high: usize) {
        if let Some(conn) = self.reactor.conn_mut(self.id) {
            let high = high.min(u32::MAX as usize) as u32;
            let tuning = conn.tuning.get_or_insert_with(Box::default);
            tuning.high_water = high;
            tuning.low_water = (low.min(u32::MAX as usize) as u32).min(high);
        }
    }
}

impl Deref for Ctx<'_> {
    type Target = Reactor;

    fn deref(&self) -> &Reactor {
        self.reactor
    }
}

impl DerefMut for Ctx<'_> {
    fn deref_mut(&mut self) -> &mut Reactor {
        self.reactor
    }
}

/// The transport operations, on the reactor so that they work from anywhere
/// (a protocol's own callback, a timer, another connection).
impl Reactor {
    /// The transport of connection `id`, for code outside its protocol's
    /// callbacks (a timer, another connection, a Deferred callback).
    pub fn transport(&mut self, id: ConnectionId) -> Ctx<'_> {
        Ctx::new(self, id)
    }

    /// Queues `parts` (pushed by `push`) on connection `id`.
    fn conn_write(&mut self, id: ConnectionId, parts: &[&[u8]], push: impl FnOnce(&mut WriteBuffer)) {
        let len = parts.iter().map(|p| p.len()).sum::<usize>();
        let limit = self.config.max_write_buffer;
        let Some(conn) = self.sources.connection_mut(id) else {
            return;
        };
        if !conn.accepts_writes() || len == 0 {
            return;
        }
        if conn.buffered().saturating_add(len) > limit {
            log::warn!(
                "{id}: write buffer would exceed its limit of {limit} bytes (the protocol ignored pause_producing); aborting"
            );
            let error = io::Error::new(io::ErrorKind::OutOfMemory, "write buffer limit exceeded");
            self.conn_abort(id, CloseReason::Io(Arc::new(error)));
            return;
        }
        if let Some(tap) = conn.tuning.as_mut().and_then(|t| t.write_tap.as_mut()) {
            for part in parts {
                tap(part);
            }
        }
        let wbuf = conn.wbuf.get_or_insert_with(|| self.write_pool.take());
        push(wbuf);
        let over_high = conn.producer == Producer::Streaming && wbuf.len() > conn.high_water();
        if over_high {
            conn.producer = Producer::Paused;
        }
        self.mark_dirty(id);
        if over_high {
            self.notices.push_back(Notice::Pause(id));
        }
    }

    pub(crate) fn mark_dirty(&mut self, id: ConnectionId) {
        if let Some(conn) = self.conn_mut(id) {
            if !conn.dirty {
                conn.dirty = true;
                self.dirty.push(id);
            }
        }
    }

    fn conn_lose(&mut self, id: ConnectionId, how: Writing) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        match conn.phase {
            Phase::Connecting => self.cancel_connect(id),
            Phase::Open => {
                match (conn.writing, how) {
                    (Writing::Open, _) | (Writing::HalfClosing, Writing::Closing) => conn.writing = how,
                    (Writing::HalfClosed, Writing::Closing) => {
                        // Nothing left to flush: close as soon as we settle.
                        conn.writing = Writing::Closing;
                    }
                    _ => return,
                }
                if how == Writing::Closing && conn.reading != Reading::Eof {
                    conn.reading = Reading::Stopped;
                }
                self.mark_dirty(id);
            }
            Phase::Lingering | Phase::Closed => {}
        }
    }

    pub(crate) fn conn_abort(&mut self, id: ConnectionId, reason: CloseReason) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        match conn.phase {
            Phase::Connecting => self.cancel_connect(id),
            Phase::Open => {
                conn.stream.set_abortive();
                self.close_now(id, reason);
            }
            Phase::Lingering => self.remove_connection(id),
            Phase::Closed => {}
        }
    }

    /// Writes what the socket takes, updates interest and watermarks, and
    /// finishes a requested close once the buffer is empty.
    pub(crate) fn flush(&mut self, id: ConnectionId) {
        let Some(conn) = self.sources.connection_mut(id) else {
            return;
        };
        conn.dirty = false;
        if conn.phase != Phase::Open {
            return;
        }
        let mut written = 0;
        if let Some(wbuf) = conn.wbuf.as_mut() {
            match wbuf.flush_to(&mut conn.stream) {
                Ok(n) => written = n,
                Err(e) => {
                    self.close_now(id, CloseReason::from_io(e));
                    return;
                }
            }
            if wbuf.is_empty() {
                // Drained: the buffer goes back to the pool, so a connection
                // with nothing to send holds none.
                self.write_pool.give(conn.wbuf.take(), self.config.write_pool);
            }
        }
        let want_write = conn.wbuf.is_some();
        let resume = conn.producer == Producer::Paused && conn.buffered() <= conn.low_water();
        if resume {
            conn.producer = Producer::Streaming;
        }
        let writing = conn.writing;
        let reading = conn.reading;
        let interest_changed = want_write != conn.write_interest;
        conn.write_interest = want_write;
        self.counters.bytes_written += written as u64;
        if interest_changed {
            self.update_interest(id);
        }
        if resume {
            self.notices.push_back(Notice::Resume(id));
        }
        if want_write {
            return;
        }
        match writing {
            Writing::Closing => self.finish_close(id),
            Writing::HalfClosing => {
                let Some(conn) = self.conn_mut(id) else {
                    return;
                };
                conn.writing = Writing::HalfClosed;
                if let Err(e) = conn.stream.shutdown_write() {
                    self.close_now(id, CloseReason::from_io(e));
                } else if reading == Reading::Eof {
                    self.close_now(id, CloseReason::Done);
                }
            }
            Writing::Open | Writing::HalfClosed => {}
        }
    }

    fn update_interest(&mut self, id: ConnectionId) {
        let registry = self.poll.registry();
        let Some(conn) = self.sources.connection_mut(id) else {
            return;
        };
        let interest = conn.interest();
        if let Err(e) = conn.stream.reregister(registry, id.0.token(), interest) {
            log::warn!("{id}: reregister failed: {e}");
        }
    }

    /// Everything is flushed and a close was requested: send FIN, tell the
    /// protocol, and linger until the peer closes too. Shutting down
    /// lingers as well: closing at once with the peer's unread requests in
    /// our receive buffer would send RST, and a RST destroys the replies
    /// the peer has not read yet.
    fn finish_close(&mut self, id: ConnectionId) {
        let lingering = self.config.linger;
        let Some(conn) = self.sources.connection_mut(id) else {
            return;
        };
        let peer_done = conn.reading == Reading::Eof;
        if peer_done || !conn.stream.lingers() || lingering.is_zero() {
            self.close_now(id, CloseReason::Done);
            return;
        }
        if let Err(e) = conn.stream.shutdown_write() {
            self.close_now(id, CloseReason::from_io(e));
            return;
        }
        conn.phase = Phase::Lingering;
        conn.reading = Reading::Stopped;
        conn.write_interest = false;
        self.write_pool.give(conn.wbuf.take(), self.config.write_pool);
        self.update_interest(id);
        self.schedule_linger(id, lingering);
        self.notices.push_back(Notice::Lost(id, CloseReason::Done));
    }

    /// Closes the descriptor now and queues the protocol's `connection_lost`.
    pub(crate) fn close_now(&mut self, id: ConnectionId, reason: CloseReason) {
        let registry = self.poll.registry();
        let Some(conn) = self.sources.connection_mut(id) else {
            return;
        };
        if conn.phase == Phase::Closed {
            return;
        }
        conn.stream.close(registry, &reason);
        conn.phase = Phase::Closed;
        self.write_pool.give(conn.wbuf.take(), self.config.write_pool);
        self.notices.push_back(Notice::Lost(id, reason));
    }

    /// Reads until the socket is drained, the read budget is spent, or the
    /// protocol stops reading; hands each chunk to `data_received`.
    ///
    /// `peer_closed` says the event reported the peer's end-of-file: then a
    /// short read does not prove the socket drained, and we read on until the
    /// zero-length read.
    pub(crate) fn read_ready(&mut self, id: ConnectionId, peer_closed: bool) {
        let mut budget = self.config.read_budget;
        loop {
            let Some(conn) = self.sources.connection_mut(id) else {
                return;
            };
            match conn.phase {
                Phase::Open => {}
                Phase::Lingering => return self.drain_lingering(id),
                Phase::Connecting | Phase::Closed => return,
            }
            if conn.reading != Reading::Active {
                return;
            }
            // A stream that raises no edges (a test's pipe) gives no reason
            // to trust a short read either: read it until WouldBlock.
            let peer_closed = peer_closed || !conn.stream.short_read_drains();
            let mut buf = std::mem::take(&mut self.read_buf);
            if buf.len() < self.config.read_chunk {
                buf.resize(self.config.read_chunk, 0);
            }
            let result = io::Read::read(&mut conn.stream, &mut buf);
            match result {
                Ok(0) => {
                    self.read_buf = buf;
                    return self.on_eof(id);
                }
                Ok(n) => {
                    self.counters.bytes_read += n as u64;
                    self.dispatch(id, "data_received", |p, ctx| p.data_received(ctx, &buf[..n]));
                    let drained = n < buf.len() && !peer_closed;
                    self.read_buf = buf;
                    self.settle();
                    if drained {
                        return;
                    }
                    budget = budget.saturating_sub(n);
                    if budget == 0 {
                        // Fairness: let other sources run, come back next iteration.
                        return self.schedule_read(id);
                    }
                }
                Err(e) => {
                    self.read_buf = buf;
                    match e.kind() {
                        io::ErrorKind::WouldBlock => return,
                        io::ErrorKind::Interrupted => continue,
                        _ => {
                            self.close_now(id, CloseReason::from_io(e));
                            return self.settle();
                        }
                    }
                }
            }
        }
    }

    fn on_eof(&mut self, id: ConnectionId) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        conn.reading = Reading::Eof;
        self.notices.push_back(Notice::ReadClosed(id));
        self.settle();
    }

    /// Reads and discards what a lingering peer still sends; removes the
    /// connection at its end-of-file or error.
    fn drain_lingering(&mut self, id: ConnectionId) {
        let mut buf = std::mem::take(&mut self.read_buf);
        if buf.len() < self.config.read_chunk {
            buf.resize(self.config.read_chunk, 0);
        }
        let mut done = false;
        if let Some(conn) = self.sources.connection_mut(id) {
            for _ in 0..16 {
                match io::Read::read(&mut conn.stream, &mut buf) {
                    Ok(0) => {
                        done = true;
                        break;
                    }
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        done = true;
                        break;
                    }
                }
            }
        }
        self.read_buf = buf;
        if done {
            self.remove_connection(id);
        }
    }

    /// The number of stream connections open now.
    pub fn connection_count(&self) -> usize {
        self.counters.connections_open as usize
    }

    pub(crate) fn conn(&self, id: ConnectionId) -> Option<&Connection> {
        self.sources.connection(id)
    }

    pub(crate) fn conn_mut(&mut self, id: ConnectionId) -> Option<&mut Connection> {
        self.sources.connection_mut(id)
    }

    /// Lends the protocol of connection `id`, as its concrete type `P`, to `f`.
    ///
    /// This is how code outside the protocol's callbacks (a timer, another
    /// connection, a Deferred callback) calls methods of a protocol the
    /// reactor owns. Fails if the connection is gone, its protocol is not a
    /// `P`, or the protocol is busy (this is called from inside one of its
    /// own callbacks: use `self` there instead).
    pub fn with_protocol<P: Protocol, R>(
        &mut self,
        id: ConnectionId,
        f: impl FnOnce(&mut P, &mut Ctx<'_>) -> R,
    ) -> Result<R, ProtocolAccessError> {
        let conn = self.conn_mut(id).ok_or(ProtocolAccessError::Gone)?;
        if conn.phase == Phase::Closed && conn.protocol.is_none() {
            return Err(ProtocolAccessError::Gone);
        }
        let mut protocol = conn.protocol.take().ok_or(ProtocolAccessError::Busy)?;
        let any: &mut dyn std::any::Any = &mut *protocol;
        let result = match any.downcast_mut::<P>() {
            Some(p) => Ok(f(p, &mut Ctx::new(self, id))),
            None => Err(ProtocolAccessError::WrongType),
        };
        if let Some(conn) = self.conn_mut(id) {
            conn.protocol = Some(protocol);
        }
        result
    }

    /// A readiness event for connection `id` (step 5 of an iteration).
    pub(crate) fn connection_event(&mut self, id: ConnectionId, event: &Event) {
        let Some(conn) = self.conn(id) else {
            return;
        };
        match conn.phase {
            Phase::Connecting => {
                self.finish_connect(id);
                if event.is_readable() {
                    self.read_ready(id, event.is_read_closed());
                }
            }
            Phase::Open => {
                if event.is_writable() || event.is_error() {
                    self.flush(id);
                    self.settle();
                }
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.read_ready(id, event.is_read_closed() || event.is_error());
                }
            }
            Phase::Lingering => self.read_ready(id, true),
            Phase::Closed => {}
        }
    }

    /// Tells the protocol its connection closed, then frees the slot (unless
    /// the socket still lingers) and tells the factory or listener.
    pub(crate) fn deliver_lost(&mut self, id: ConnectionId, reason: CloseReason) {
        let listener = match self.conn(id).map(|c| &c.role) {
            Some(Role::Server(listener)) => Some(*listener),
            Some(_) => None,
            None => return,
        };
        self.counters.connections_open = self.counters.connections_open.saturating_sub(1);
        self.dispatch(id, "connection_lost", |p, ctx| {
            p.connection_lost(ctx, reason.clone())
        });
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        conn.protocol = None;
        let factory = match &mut conn.role {
            Role::Client(client) => client.factory.take(),
            _ => None,
        };
        if conn.phase != Phase::Lingering {
            self.remove_connection(id);
        }
        if let Some(mut factory) = factory {
            let started = Instant::now();
            factory.client_connection_lost(self, reason);
            self.check_slow(started, || format!("client_connection_lost for {id}"));
        }
        if let Some(listener) = listener {
            self.connection_left(listener);
        }
    }

    /// Frees the slot of a connection whose protocol has been told it closed.
    pub(crate) fn remove_connection(&mut self, id: ConnectionId) {
        let registry = self.poll.registry();
        if let Some(conn) = self.sources.connection_mut(id) {
            conn.stream.deregister(registry);
        }
        if let Some(Source::Connection(conn)) = self.sources.remove(id.0) {
            if let Role::Client(client) = conn.role {
                if let Some(key) = client.timeout {
                    let _ = self.timers.remove(key);
                }
            }
        }
    }

    pub(crate) fn schedule_linger(&mut self, id: ConnectionId, after: Duration) {
        self.schedule_task(after, TimerTask::Linger(id));
    }

    pub(crate) fn linger_expired(&mut self, id: ConnectionId) {
        if self.conn(id).is_some_and(|c| c.phase == Phase::Lingering) {
            self.remove_connection(id);
        }
    }

    /// Lends the protocol of `id` to `f` with a context, times the call for
    /// the slow-callback warning, and takes the protocol back.
    pub(crate) fn dispatch(
        &mut self,
        id: ConnectionId,
        event: &'static str,
        f: impl FnOnce(&mut dyn Protocol, &mut Ctx<'_>),
    ) {
        let Some(mut protocol) = self.conn_mut(id).and_then(|c| c.protocol.take()) else {
            return;
        };
        let started = Instant::now();
        self.depth += 1;
        f(&mut *protocol, &mut Ctx::new(self, id));
        self.depth -= 1;
        self.check_slow(started, || format!("{event} of {} on {id}", protocol.name()));
        // A connection is never removed while its protocol is lent out.
        if let Some(conn) = self.conn_mut(id) {
            conn.protocol = Some(protocol);
        }
    }
}
