//! Tunnels: two connections whose bytes are relayed both ways, as a
//! `CONNECT` asks. The client's side is the forward proxy's connection
//! (it calls the [`Tunnel`] functions); the target's side is a
//! [`TunnelEnd`] protocol.
//!
//! # Backpressure
//!
//! Each side writes what it reads to the other. When the other's write
//! buffer rises above its high-water mark (its peer reads slower than
//! this side sends), the other hears `pause_producing` and pauses
//! *reading this side*; at the low-water mark, `resume_producing` resumes
//! it. TCP flow control then slows the fast sender down, so a tunnel holds
//! at most about a high-water mark plus one read per direction, however
//! large the transfer and however slow the reader.
//!
//! # Closing
//!
//! An end-of-file from one side half-closes the other (`shutdown(SHUT_WR)`
//! once what was relayed is delivered), and reading goes on the other way:
//! protocols that half-close (a request, then the answer) work through the
//! tunnel. Once both sides have sent their end-of-file, both close. A side
//! that closes for good (reset, error) closes the other after its buffer
//! is delivered.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use torsion::{CloseReason, ConnectionId, Ctx, Protocol, Reactor};

/// Which side of a tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The client that asked for the tunnel.
    Client,
    /// The target it was opened to.
    Target,
}

/// What both sides of one tunnel share.
pub struct Tunnel {
    client: ConnectionId,
    target: Cell<Option<ConnectionId>>,
    client_eof: Cell<bool>,
    target_eof: Cell<bool>,
    /// Bytes relayed client to target, and target to client.
    relayed: Cell<(u64, u64)>,
    /// When a byte last went through, either way (the reactor's clock).
    last_activity: Cell<Duration>,
}

/// A tunnel, shared by its two sides.
pub type SharedTunnel = Rc<Tunnel>;

impl Tunnel {
    /// A tunnel for `client`, its target not connected yet.
    pub fn new(client: ConnectionId) -> SharedTunnel {
        Rc::new(Tunnel {
            client,
            target: Cell::new(None),
            client_eof: Cell::new(false),
            target_eof: Cell::new(false),
            relayed: Cell::new((0, 0)),
            last_activity: Cell::new(Duration::ZERO),
        })
    }

    /// The connection of `side`'s peer, if it exists.
    fn peer_of(&self, side: Side) -> Option<ConnectionId> {
        match side {
            Side::Client => self.target.get(),
            Side::Target => Some(self.client),
        }
    }

    /// Bytes relayed so far: client to target, target to client.
    pub fn relayed(&self) -> (u64, u64) {
        self.relayed.get()
    }

    /// `side` read `data`: write it to the other side.
    pub fn relay(&self, reactor: &mut Reactor, side: Side, data: &[u8]) {
        if let Some(peer) = self.peer_of(side) {
            let (up, down) = self.relayed.get();
            let n = data.len() as u64;
            self.relayed.set(match side {
                Side::Client => (up + n, down),
                Side::Target => (up, down + n),
            });
            self.last_activity.set(reactor.now());
            reactor.transport(peer).write(data);
        }
    }

    /// `side`'s write buffer is full: stop reading its peer.
    pub fn pause(&self, reactor: &mut Reactor, side: Side) {
        if let Some(peer) = self.peer_of(side) {
            reactor.transport(peer).pause_reading();
        }
    }

    /// `side`'s write buffer drained: read its peer again.
    pub fn resume(&self, reactor: &mut Reactor, side: Side) {
        if let Some(peer) = self.peer_of(side) {
            reactor.transport(peer).resume_reading();
        }
    }

    /// `side` sent its end-of-file (`ctx` is its connection): half-close
    /// the peer; once both did, close this side too (the peer closes by
    /// itself, its own end-of-file already read).
    pub fn end_of_file(&self, ctx: &mut Ctx<'_>, side: Side) {
        let (mine, theirs) = match side {
            Side::Client => (&self.client_eof, &self.target_eof),
            Side::Target => (&self.target_eof, &self.client_eof),
        };
        mine.set(true);
        log::debug!(
            "tunnel: {side:?} sent its end-of-file; peer {:?}, theirs {}",
            self.peer_of(side),
            theirs.get()
        );
        match self.peer_of(side) {
            Some(peer) => ctx.transport(peer).lose_write_connection(),
            None => ctx.lose_connection(),
        }
        if theirs.get() {
            ctx.lose_connection();
        }
    }

    /// `side` closed: close the peer once its buffer is delivered.
    pub fn closed(&self, reactor: &mut Reactor, side: Side) {
        log::debug!("the {side:?} side of the tunnel of {} closed", self.client);
        if let Some(peer) = self.peer_of(side) {
            reactor.transport(peer).lose_connection();
        }
    }
}

/// Closes both sides of `tunnel` once no byte went through it, either
/// way, for `period` (one timer per tunnel, rescheduled for what is left
/// of the period, not reset on every read). Ends by itself once the tunnel
/// is gone.
pub fn watch_idle(reactor: &mut Reactor, tunnel: &SharedTunnel, period: Duration) {
    tunnel.last_activity.set(reactor.now());
    schedule_idle_check(reactor, Rc::downgrade(tunnel), period, period);
}

fn schedule_idle_check(
    reactor: &mut Reactor,
    tunnel: std::rc::Weak<Tunnel>,
    period: Duration,
    after: Duration,
) {
    let _ = reactor.call_later(after, move |r| {
        let Some(t) = tunnel.upgrade() else { return };
        let quiet = r.now().saturating_sub(t.last_activity.get());
        if quiet < period {
            return schedule_idle_check(r, tunnel, period, period - quiet);
        }
        let (up, down) = t.relayed();
        log::info!(
            "tunnel of {}: nothing either way for {period:?}; closing ({up} bytes up, {down} bytes down)",
            t.client
        );
        r.transport(t.client).lose_connection();
        if let Some(target) = t.target.get() {
            r.transport(target).lose_connection();
        }
    });
}

/// The target's side of a tunnel: relays what the target sends to the
/// client, and runs `on_open` once connected (the forward proxy answers
/// `200 Connection established` there, before any byte of the target's
/// can be relayed).
pub struct TunnelEnd {
    tunnel: SharedTunnel,
    on_open: RefCell<Option<OnOpen>>,
}

type OnOpen = Box<dyn FnOnce(&mut Ctx<'_>)>;

impl TunnelEnd {
    /// The target's side of `tunnel`.
    pub fn new(tunnel: SharedTunnel, on_open: impl FnOnce(&mut Ctx<'_>) + 'static) -> Self {
        TunnelEnd {
            tunnel,
            on_open: RefCell::new(Some(Box::new(on_open))),
        }
    }
}

impl Protocol for TunnelEnd {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        self.tunnel.target.set(Some(ctx.id()));
        if let Some(on_open) = self.on_open.borrow_mut().take() {
            on_open(ctx);
        }
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        self.tunnel.relay(ctx, Side::Target, data);
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        self.tunnel.end_of_file(ctx, Side::Target);
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, _reason: CloseReason) {
        self.tunnel.closed(ctx, Side::Target);
    }

    fn pause_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.tunnel.pause(ctx, Side::Target);
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.tunnel.resume(ctx, Side::Target);
    }
}
