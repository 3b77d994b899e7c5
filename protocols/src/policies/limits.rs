//! Connection limits, per factory and per peer address.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;

use torsion::{Address, CloseReason, Ctx, Factory, Protocol, Reactor};

/// Who a connection counts against for the per-peer limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum PeerKey {
    /// A TCP peer: its IP address (every port of one host counts together).
    Ip(IpAddr),
    /// Unix-socket and in-memory peers, which have no host: one peer.
    Local,
}

impl PeerKey {
    fn of(peer: &Address) -> Self {
        match peer.as_socket_addr() {
            Some(addr) => PeerKey::Ip(addr.ip()),
            None => PeerKey::Local,
        }
    }
}

/// Open connections: the total and per peer (a peer with none has no entry,
/// so the map is never larger than the number of open connections).
#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_peer: HashMap<PeerKey, usize>,
}

impl Counts {
    fn add(&mut self, key: PeerKey) {
        self.total += 1;
        *self.per_peer.entry(key).or_insert(0) += 1;
    }

    fn remove(&mut self, key: PeerKey) {
        self.total = self.total.saturating_sub(1);
        if let Some(n) = self.per_peer.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_peer.remove(&key);
            }
        }
    }

    fn from(&self, key: PeerKey) -> usize {
        self.per_peer.get(&key).copied().unwrap_or(0)
    }
}

/// A read-only view of a [`ConnectionLimits`]' counts, which stays valid
/// after the factory moved into a listener.
#[derive(Clone, Debug)]
pub struct ConnectionCount {
    counts: Rc<RefCell<Counts>>,
}

impl ConnectionCount {
    /// Connections open now.
    pub fn total(&self) -> usize {
        self.counts.borrow().total
    }

    /// Connections open now from `peer`'s host (all Unix-socket and
    /// in-memory peers count as one).
    pub fn from(&self, peer: &Address) -> usize {
        self.counts.borrow().from(PeerKey::of(peer))
    }
}

/// A factory that refuses connections past a limit: at most
/// [`max_connections`](ConnectionLimits::max_connections) open at once, and
/// at most [`max_per_peer`](ConnectionLimits::max_per_peer) from one host
/// (Twisted's `LimitTotalConnectionsFactory` and `LimitConnectionsByPeer`).
///
/// A refused connection is closed at once, before any protocol exists
/// ([`Factory::build_protocol`] returns `None`). A connection counts from
/// the moment its protocol is built until its `connection_lost` (or until
/// the protocol is dropped, should that come first).
///
/// TCP peers are told apart by IP address; Unix-socket and in-memory peers
/// all count as one peer.
///
/// # Examples
///
/// ```
/// use torsion::{factory_fn, testing::Clock, Address, Discard, Factory, Protocol, Reactor};
/// use torsion_protocols::policies::ConnectionLimits;
///
/// let mut limits = ConnectionLimits::new(factory_fn(|_, _| Some(Box::new(Discard) as Box<dyn Protocol>)))
///     .max_per_peer(1);
/// let count = limits.count();
/// let mut reactor = Reactor::with_clock(Clock::new())?;
/// let peer: Address = "10.0.0.1:5000".parse::<std::net::SocketAddr>().unwrap().into();
/// let first = limits.build_protocol(&mut reactor, &peer);
/// assert!(first.is_some());
/// assert!(limits.build_protocol(&mut reactor, &peer).is_none());
/// assert_eq!(count.from(&peer), 1);
/// drop(first);
/// assert_eq!(count.total(), 0);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ConnectionLimits<F> {
    inner: F,
    max_connections: Option<usize>,
    max_per_peer: Option<usize>,
    counts: Rc<RefCell<Counts>>,
}

impl<F: Factory> ConnectionLimits<F> {
    /// Wraps `inner`, with no limit yet.
    pub fn new(inner: F) -> Self {
        ConnectionLimits {
            inner,
            max_connections: None,
            max_per_peer: None,
            counts: Rc::default(),
        }
    }

    /// Refuses connections while `max` are open.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = Some(max);
        self
    }

    /// Refuses connections from a host while `max` from it are open.
    pub fn max_per_peer(mut self, max: usize) -> Self {
        self.max_per_peer = Some(max);
        self
    }

    /// A view of the counts, to keep after the factory is handed to a
    /// listener.
    pub fn count(&self) -> ConnectionCount {
        ConnectionCount {
            counts: self.counts.clone(),
        }
    }

    /// Why a connection from `key` must be refused, if it must.
    fn refusal(&self, key: PeerKey) -> Option<String> {
        let counts = self.counts.borrow();
        if let Some(max) = self.max_connections.filter(|max| counts.total >= *max) {
            return Some(format!("{max} connections open"));
        }
        if let Some(max) = self.max_per_peer.filter(|max| counts.from(key) >= *max) {
            return Some(format!("{max} connections open from this peer"));
        }
        None
    }
}

impl<F: Factory> Factory for ConnectionLimits<F> {
    fn build_protocol(&mut self, reactor: &mut Reactor, peer: &Address) -> Option<Box<dyn Protocol>> {
        let key = PeerKey::of(peer);
        if let Some(why) = self.refusal(key) {
            log::debug!("refusing a connection from {peer}: {why}");
            return None;
        }
        let inner = self.inner.build_protocol(reactor, peer)?;
        self.counts.borrow_mut().add(key);
        Some(Box::new(Counted {
            inner,
            slot: Slot {
                counts: self.counts.clone(),
                key,
                held: true,
            },
        }))
    }

    fn start(&mut self, reactor: &mut Reactor) {
        self.inner.start(reactor);
    }

    fn stop(&mut self, reactor: &mut Reactor) {
        self.inner.stop(reactor);
    }
}

/// One counted connection; released once, when it closes or is dropped.
struct Slot {
    counts: Rc<RefCell<Counts>>,
    key: PeerKey,
    held: bool,
}

impl Slot {
    fn release(&mut self) {
        if std::mem::take(&mut self.held) {
            self.counts.borrow_mut().remove(self.key);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.release();
    }
}

/// A protocol built under the limits: forwards every event and releases
/// its slot when the connection is lost.
struct Counted {
    inner: Box<dyn Protocol>,
    slot: Slot,
}

impl Protocol for Counted {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        self.inner.connection_made(ctx);
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        self.inner.data_received(ctx, data);
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        self.inner.read_connection_lost(ctx);
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        self.slot.release();
        self.inner.connection_lost(ctx, reason);
    }

    fn pause_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.inner.pause_producing(ctx);
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.inner.resume_producing(ctx);
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }
}
