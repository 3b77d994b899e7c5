//! Testing a protocol without sockets: [`StringTransport`] and a manual [`Clock`].
//!
//! A `StringTransport` is a real reactor (with a manual clock) and one
//! in-memory connection. The test plays the peer: it feeds bytes in, in
//! whatever chunks it likes (one byte at a time is the most honest test of a
//! parser), and reads what the protocol wrote. Because the in-memory stream
//! goes through the same transport code as a socket, everything a protocol
//! relies on behaves as in production: coalesced writes, backpressure
//! (shrink the peer's window with [`StringTransport::set_window`]), close and
//! abort, half-close, timers.
//!
//! # Examples
//!
//! ```
//! use torsion::testing::StringTransport;
//! use torsion::{Ctx, Protocol};
//!
//! struct Upper;
//! impl Protocol for Upper {
//!     fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
//!         ctx.write(b"hi\n");
//!     }
//!     fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
//!         ctx.write(&data.to_ascii_uppercase());
//!         ctx.lose_connection();
//!     }
//! }
//!
//! let mut t = StringTransport::new(Upper);
//! assert_eq!(t.value(), b"hi\n");
//! t.clear();
//! t.receive(b"twisted");
//! assert_eq!(t.value(), b"TWISTED");
//! assert!(t.disconnected());
//! ```

use std::cell::{Ref, RefCell};
use std::io;
use std::rc::Rc;
use std::time::Duration;

use crate::address::Address;
pub use crate::clock::Clock;
use crate::id::ConnectionId;
use crate::memory::MemoryPipe;
use crate::protocol::{CloseReason, Factory, Protocol};
use crate::reactor::Reactor;
use crate::stream::Stream;
use crate::transport::{Connection, Ctx, Phase, Role};

/// The peer's end of an in-memory connection (see [`Reactor::connect_memory`]).
///
/// What it sends reaches the protocol on the reactor's next iteration.
#[derive(Clone, Debug)]
pub struct MemoryPeer {
    pipe: Rc<RefCell<MemoryPipe>>,
}

impl MemoryPeer {
    /// Sends `data` to the protocol.
    pub fn send(&self, data: &[u8]) {
        let mut pipe = self.pipe.borrow_mut();
        pipe.inbox.extend_from_slice(data);
        pipe.poked = true;
    }

    /// Closes the peer's writing side: the protocol reads end-of-file.
    pub fn send_eof(&self) {
        let mut pipe = self.pipe.borrow_mut();
        pipe.inbox_eof = true;
        pipe.poked = true;
    }

    /// Resets the connection from the peer's side (the protocol sees
    /// [`CloseReason::Lost`]).
    pub fn reset(&self) {
        let mut pipe = self.pipe.borrow_mut();
        pipe.inbox_error = Some(io::ErrorKind::ConnectionReset);
        pipe.poked = true;
    }

    /// Everything the protocol wrote that the peer has not cleared.
    pub fn value(&self) -> Ref<'_, [u8]> {
        Ref::map(self.pipe.borrow(), |p| p.written.as_slice())
    }

    /// Forgets what was written so far.
    pub fn clear(&self) {
        self.pipe.borrow_mut().written.clear();
    }

    /// Returns and forgets what was written so far.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.pipe.borrow_mut().written)
    }

    /// Limits how many more bytes the peer accepts before the protocol's
    /// writes block (`None`: no limit). Opening the window lets buffered
    /// bytes flow on the next iteration.
    pub fn set_window(&self, bytes: Option<usize>) {
        let mut pipe = self.pipe.borrow_mut();
        pipe.window = bytes;
        pipe.poked = true;
    }

    /// Whether the protocol's side shut down writing or closed.
    pub fn write_closed(&self) -> bool {
        let pipe = self.pipe.borrow();
        pipe.write_shut || pipe.closed.is_some()
    }

    /// How the connection closed, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.pipe.borrow().closed.clone()
    }

    /// Whether the protocol's side aborted the connection.
    pub fn aborted(&self) -> bool {
        self.pipe.borrow().aborted
    }
}

impl Reactor {
    /// Attaches `protocol` to a new in-memory connection and returns its id
    /// and the peer's end. `connection_made` runs before this returns.
    pub fn connect_memory(&mut self, protocol: impl Protocol) -> (ConnectionId, MemoryPeer) {
        self.connect_memory_boxed(Box::new(protocol))
    }

    /// [`connect_memory`](Reactor::connect_memory) for a boxed protocol (as
    /// a [`Factory`] builds them).
    pub fn connect_memory_boxed(&mut self, protocol: Box<dyn Protocol>) -> (ConnectionId, MemoryPeer) {
        let pipe = Rc::new(RefCell::new(MemoryPipe::default()));
        let conn = Connection::new(Stream::Memory(pipe.clone()), Role::Attached, Phase::Open);
        let id = self.open_connection(conn, protocol);
        self.memory.add(id, pipe.clone());
        (id, MemoryPeer { pipe })
    }
}

/// A protocol on an in-memory connection, with the reactor and manual clock
/// that drive it. See the [module documentation](self).
pub struct StringTransport {
    reactor: Reactor,
    clock: Clock,
    id: ConnectionId,
    peer: MemoryPeer,
}

impl std::fmt::Debug for StringTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StringTransport")
            .field("id", &self.id)
            .field("now", &self.reactor.now())
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl StringTransport {
    /// Connects `protocol` (its `connection_made` runs now).
    ///
    /// # Panics
    ///
    /// If the operating system refuses to create a poll instance (out of
    /// descriptors): this is test tooling.
    pub fn new(protocol: impl Protocol) -> Self {
        Self::new_boxed(Box::new(protocol))
    }

    /// Connects a protocol built by `factory` for a peer at [`Address::Memory`].
    ///
    /// # Panics
    ///
    /// If the factory refuses the connection, or as [`StringTransport::new`].
    pub fn from_factory(factory: &mut dyn Factory) -> Self {
        let clock = Clock::new();
        let mut reactor = Reactor::with_clock(clock.clone()).expect("create a poll instance");
        let protocol = factory
            .build_protocol(&mut reactor, &Address::Memory)
            .expect("the factory refused the connection");
        Self::with_reactor(reactor, clock, protocol)
    }

    /// [`StringTransport::new`] for a boxed protocol.
    pub fn new_boxed(protocol: Box<dyn Protocol>) -> Self {
        let clock = Clock::new();
        let reactor = Reactor::with_clock(clock.clone()).expect("create a poll instance");
        Self::with_reactor(reactor, clock, protocol)
    }

    fn with_reactor(mut reactor: Reactor, clock: Clock, protocol: Box<dyn Protocol>) -> Self {
        let (id, peer) = reactor.connect_memory_boxed(protocol);
        StringTransport {
            reactor,
            clock,
            id,
            peer,
        }
    }

    /// Delivers `data` from the peer, then runs the reactor until nothing is
    /// left to do at the current time.
    pub fn receive(&mut self, data: &[u8]) {
        self.peer.send(data);
        self.pump();
    }

    /// Delivers `data` one byte per `data_received` call.
    pub fn receive_bytewise(&mut self, data: &[u8]) {
        for byte in data {
            self.receive(std::slice::from_ref(byte));
        }
    }

    /// The peer closes its writing side (the protocol's `read_connection_lost`).
    pub fn receive_eof(&mut self) {
        self.peer.send_eof();
        self.pump();
    }

    /// The peer resets the connection.
    pub fn receive_reset(&mut self) {
        self.peer.reset();
        self.pump();
    }

    /// What the protocol wrote since the last [`clear`](StringTransport::clear).
    pub fn value(&self) -> Vec<u8> {
        self.peer.value().to_vec()
    }

    /// [`value`](StringTransport::value) as text (lossy UTF-8), handy in asserts.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.peer.value()).into_owned()
    }

    /// Forgets what was written.
    pub fn clear(&mut self) {
        self.peer.clear();
    }

    /// Returns and forgets what was written.
    pub fn take(&mut self) -> Vec<u8> {
        self.peer.take()
    }

    /// Whether the protocol asked to close (or half-close) the connection.
    pub fn disconnecting(&self) -> bool {
        self.disconnected()
            || self
                .reactor
                .conn(self.id)
                .is_some_and(|c| c.writing != crate::transport::Writing::Open || c.phase != Phase::Open)
    }

    /// Whether the connection has closed.
    pub fn disconnected(&self) -> bool {
        self.peer.close_reason().is_some()
    }

    /// Whether the protocol aborted the connection.
    pub fn aborted(&self) -> bool {
        self.peer.aborted()
    }

    /// How the connection closed.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.peer.close_reason()
    }

    /// Whether the protocol paused reading.
    pub fn reading_paused(&self) -> bool {
        self.reactor
            .conn(self.id)
            .is_some_and(|c| c.reading == crate::transport::Reading::Paused)
    }

    /// Bytes the protocol wrote that the peer has not accepted yet.
    pub fn buffered(&self) -> usize {
        self.reactor.conn(self.id).map_or(0, |c| c.buffered())
    }

    /// Limits the peer's receive window (see [`MemoryPeer::set_window`]).
    pub fn set_window(&mut self, bytes: Option<usize>) {
        self.peer.set_window(bytes);
        self.pump();
    }

    /// Moves the clock forward and runs whatever became due.
    pub fn advance(&mut self, by: Duration) {
        self.clock.advance(by);
        self.pump();
    }

    /// Runs the reactor until no work is left at the current time.
    pub fn pump(&mut self) {
        for _ in 0..10_000 {
            if let Err(e) = self.reactor.iterate(Some(Duration::ZERO)) {
                panic!("iterate failed: {e}");
            }
            if !self.reactor.has_work_now() {
                return;
            }
        }
    }

    /// Calls `f` with the protocol (as its concrete type) and its context.
    ///
    /// # Panics
    ///
    /// If the connection is closed or the protocol is not a `P`.
    pub fn with_protocol<P: Protocol, R>(&mut self, f: impl FnOnce(&mut P, &mut Ctx<'_>) -> R) -> R {
        let result = self
            .reactor
            .with_protocol(self.id, f)
            .unwrap_or_else(|e| panic!("with_protocol: {e}"));
        self.pump();
        result
    }

    /// The manual clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The reactor.
    pub fn reactor(&mut self) -> &mut Reactor {
        &mut self.reactor
    }

    /// The connection's id.
    pub fn id(&self) -> ConnectionId {
        self.id
    }

    /// The peer's end of the connection.
    pub fn peer(&self) -> &MemoryPeer {
        &self.peer
    }
}
