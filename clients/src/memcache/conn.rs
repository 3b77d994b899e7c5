//! The machinery behind a [`MemcacheClient`](super::MemcacheClient): one
//! connection at a time, the queue of requests matched to replies in order,
//! the timeout timer, and reconnection with backoff.
//!
//! # Life of a request
//!
//! ```text
//! submit ──▶ fresh ──flush (next loop turn)──▶ pending ──reply──▶ completion(Ok)
//!                                    │            │
//!               written at once if connected;     ├─ timeout: completion(Err(Timeout)), connection dropped
//!               else queued for the next connect  ├─ connection lost: completion(Err(ConnectionLost))
//!                                                 └─ connect failed: completion(Err(ConnectFailed))
//! ```
//!
//! `submit` needs no reactor: it queues the request and asks the loop,
//! through a [`LocalHandle`], to flush once. Everything a request made
//! during one callback therefore leaves in one write. While connected,
//! every pending request is on the wire and the head is the one the next
//! reply answers; while not, every pending request waits for the next
//! connection attempt, and fails if that attempt fails.
//!
//! # Implementation notes
//!
//! The shared state is an `Rc<RefCell<Core>>`. Completions run user
//! callbacks, which may submit again, so no borrow is ever held while one
//! runs: each operation borrows, changes the state, collects what must be
//! done into [`Effects`], drops the borrow, then runs them.
//!
//! One timer covers every deadline: requests are flushed in order with the
//! same timeout, so deadlines grow along the queue. The timer is armed for
//! the head's deadline; when it fires it fails what has expired and re-arms
//! for the new head. Replies cost no timer operation at all.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::rc::{Rc, Weak};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use torsion::defer::{fail, succeed};
use torsion::endpoint::ClientEndpoint;
use torsion::{
    CloseReason, ConnectionId, Ctx, Deferred, DelayedCall, Failure, LocalHandle, Protocol, Reactor,
};

use super::config::ClientConfig;
use super::error::MemcacheError;
use super::reply::{Expect, Reply, ReplyParser};
use super::request::Request;

/// What runs when a request is answered, or fails.
pub type Completion = Box<dyn FnOnce(&mut Reactor, Result<Reply, MemcacheError>)>;

/// Writes of at least this size are queued by reference instead of copied.
const LARGE_WRITE: usize = 16 * 1024;

/// Where a [`MemcacheClient`](super::MemcacheClient)'s connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// A connection attempt is in progress; requests wait for it.
    Connecting,
    /// Connected; requests are written at once.
    Connected,
    /// Waiting (backoff) before the next attempt; requests wait for it.
    Waiting,
    /// Closed by [`close`](super::MemcacheClient::close), by the reactor's
    /// shutdown, or given up (`max_retries`): requests fail at once.
    Closed,
}

/// A request made since the last flush.
struct Fresh {
    request: Request,
    complete: Completion,
}

/// A flushed request: on the wire while connected, else waiting.
struct Pending {
    /// The bytes, until they are written.
    bytes: Option<Bytes>,
    expect: Expect,
    deadline: Option<Duration>,
    complete: Completion,
}

enum Link {
    Connecting {
        generation: u64,
        attempt: Option<Deferred<()>>,
    },
    Connected {
        generation: u64,
        id: ConnectionId,
        replied: bool,
    },
    Waiting {
        timer: DelayedCall,
    },
    Closed,
    /// `max_retries` attempts failed in a row; the last failure.
    GaveUp(Failure),
}

pub(crate) struct Core {
    endpoint: ClientEndpoint,
    config: ClientConfig,
    handle: LocalHandle,
    link: Link,
    fresh: Vec<Fresh>,
    pending: VecDeque<Pending>,
    flush_queued: bool,
    timer: Option<DelayedCall>,
    /// Consecutive failures: attempts that failed, connections lost before
    /// any reply.
    failures: u32,
    /// Numbers connection attempts, so events of an old connection are ignored.
    generation: u64,
    waiters: Vec<Deferred<()>>,
    /// `close()` was called: no new requests; the connection closes once
    /// the requests already made have their replies.
    closing: bool,
    /// The reactor is shutting down: no more attempts.
    stopping: bool,
    rng: u64,
}

pub(crate) type Shared = Rc<RefCell<Core>>;

/// What an operation leaves to do once the state is no longer borrowed.
#[derive(Default)]
#[must_use]
struct Effects {
    connect: bool,
    failed: Vec<(Completion, MemcacheError)>,
    connected: Vec<Deferred<()>>,
    not_connected: Vec<(Deferred<()>, MemcacheError)>,
}

impl Effects {
    fn run(self, shared: &Shared, reactor: &mut Reactor) {
        // Connect first: requests that failure callbacks make go to the new attempt.
        if self.connect {
            Core::connect(shared, reactor);
        }
        for (complete, error) in self.failed {
            complete(reactor, Err(error));
        }
        for waiter in self.connected {
            let _ = waiter.callback(reactor, ());
        }
        for (waiter, error) in self.not_connected {
            let _ = waiter.errback(reactor, error);
        }
    }
}

/// What the connection's protocol should do with the bytes it has.
pub(crate) enum Head {
    /// The next reply answers a request that expects this.
    Expect(Expect),
    /// Nothing is pending: any byte now is unsolicited.
    Idle,
    /// This connection is no longer the client's.
    Stale,
}

impl Core {
    /// A client for `endpoint`, connecting now.
    pub(crate) fn start(reactor: &mut Reactor, endpoint: ClientEndpoint, config: ClientConfig) -> Shared {
        let shared = Rc::new(RefCell::new(Core {
            endpoint,
            config,
            handle: reactor.local_handle(),
            link: Link::Closed,
            fresh: Vec::new(),
            pending: VecDeque::new(),
            flush_queued: false,
            timer: None,
            failures: 0,
            generation: 0,
            waiters: Vec::new(),
            closing: false,
            stopping: false,
            rng: RandomState::new().build_hasher().finish() | 1,
        }));
        let weak = Rc::downgrade(&shared);
        reactor.add_shutdown_trigger(move |_| {
            if let Some(shared) = weak.upgrade() {
                shared.borrow_mut().stopping = true;
            }
        });
        Core::connect(&shared, reactor);
        shared
    }

    pub(crate) fn state(&self) -> ConnectionState {
        match self.link {
            Link::Connecting { .. } => ConnectionState::Connecting,
            Link::Connected { .. } => ConnectionState::Connected,
            Link::Waiting { .. } => ConnectionState::Waiting,
            Link::Closed | Link::GaveUp(_) => ConnectionState::Closed,
        }
    }

    pub(crate) fn endpoint(&self) -> &ClientEndpoint {
        &self.endpoint
    }

    /// Keys per `get` line of a multi-get.
    pub(crate) fn config_keys_per_get(&self) -> usize {
        self.config.keys_per_get.max(1)
    }

    /// Requests made and not yet answered.
    pub(crate) fn outstanding(&self) -> usize {
        self.fresh.len() + self.pending.len()
    }

    /// Queues `request`; `complete` runs with its reply or failure. Fails
    /// at once (and `complete` is dropped) if the request cannot be made.
    pub(crate) fn submit(
        shared: &Shared,
        request: Request,
        complete: Completion,
    ) -> Result<(), MemcacheError> {
        let mut core = shared.borrow_mut();
        if core.closing || !core.handle.is_alive() {
            return Err(MemcacheError::Closed);
        }
        match &core.link {
            Link::Closed => return Err(MemcacheError::Closed),
            Link::GaveUp(last) => return Err(MemcacheError::ConnectFailed(last.clone())),
            _ => {}
        }
        let outstanding = core.outstanding();
        if outstanding >= core.config.max_pending {
            return Err(MemcacheError::TooManyPending(outstanding));
        }
        core.fresh.push(Fresh { request, complete });
        if !core.flush_queued {
            core.flush_queued = true;
            let shared = shared.clone();
            core.handle
                .call(move |r| {
                    Core::flush(&shared, r);
                    Ok(())
                })
                .mark_handled();
        }
        Ok(())
    }

    /// Moves the fresh requests to the pending queue: written now if
    /// connected, else kept for the next connection. Arms the timer.
    fn flush(shared: &Shared, reactor: &mut Reactor) {
        let mut effects = Effects::default();
        {
            let mut core = shared.borrow_mut();
            core.flush_queued = false;
            let fresh = std::mem::take(&mut core.fresh);
            let refuse = match &core.link {
                Link::Closed => Some(MemcacheError::Closed),
                Link::GaveUp(last) => Some(MemcacheError::ConnectFailed(last.clone())),
                _ => None,
            };
            if let Some(error) = refuse {
                effects.failed = fresh.into_iter().map(|f| (f.complete, error.clone())).collect();
            } else {
                let deadline = core.config.timeout.map(|t| reactor.now().saturating_add(t));
                let connection = match core.link {
                    Link::Connected { id, .. } => Some(id),
                    _ => None,
                };
                for Fresh { request, complete } in fresh {
                    let bytes = match connection {
                        Some(id) => {
                            write(&mut reactor.transport(id), request.bytes);
                            None
                        }
                        None => Some(request.bytes),
                    };
                    core.pending.push_back(Pending {
                        bytes,
                        expect: request.expect,
                        deadline,
                        complete,
                    });
                }
                core.arm_timer(shared, reactor);
            }
        }
        effects.run(shared, reactor);
    }

    /// Arms the timer for the head's deadline, if it is not armed.
    fn arm_timer(&mut self, shared: &Shared, reactor: &mut Reactor) {
        if self.timer.is_some() {
            return;
        }
        let Some(deadline) = self.pending.front().and_then(|p| p.deadline) else {
            return;
        };
        let weak = Rc::downgrade(shared);
        let delay = deadline.saturating_sub(reactor.now());
        self.timer = Some(reactor.call_later(delay, move |r| {
            if let Some(shared) = weak.upgrade() {
                Core::timer_fired(&shared, r);
            }
        }));
    }

    /// Fails what has expired: while connected, the head (and the
    /// connection with it); while not, each expired request.
    fn timer_fired(shared: &Shared, reactor: &mut Reactor) {
        let mut effects = Effects::default();
        {
            let mut core = shared.borrow_mut();
            core.timer = None;
            let now = reactor.now();
            let timeout = core.config.timeout.unwrap_or_default();
            while core
                .pending
                .front()
                .is_some_and(|p| p.deadline.is_some_and(|d| d <= now))
            {
                if matches!(core.link, Link::Connected { .. }) {
                    core.drop_connection(shared, reactor, MemcacheError::Timeout(timeout), &mut effects);
                    break;
                }
                if let Some(p) = core.pending.pop_front() {
                    effects.failed.push((p.complete, MemcacheError::Timeout(timeout)));
                }
            }
            core.arm_timer(shared, reactor);
        }
        effects.run(shared, reactor);
    }

    /// Starts a connection attempt.
    fn connect(shared: &Shared, reactor: &mut Reactor) {
        let (endpoint, protocol, generation) = {
            let mut core = shared.borrow_mut();
            if core.stopping || core.closing {
                core.link = Link::Closed;
                return;
            }
            core.generation += 1;
            let generation = core.generation;
            core.link = Link::Connecting {
                generation,
                attempt: None,
            };
            let protocol = ClientProtocol {
                core: Rc::downgrade(shared),
                generation,
                buf: BytesMut::new(),
                parser: ReplyParser::new(core.config.max_reply),
            };
            (core.endpoint.clone(), protocol, generation)
        };
        let weak = Rc::downgrade(shared);
        let attempt = endpoint
            .connect_protocol(reactor, protocol)
            .then_both(reactor, move |r, result| {
                if let (Err(failure), Some(shared)) = (result, weak.upgrade()) {
                    Core::connect_failed(&shared, r, generation, failure);
                }
                Ok(())
            });
        attempt.mark_handled();
        // The attempt may have failed already (the callback ran at once).
        if let Link::Connecting {
            generation: g,
            attempt: slot,
        } = &mut shared.borrow_mut().link
        {
            if *g == generation {
                *slot = Some(attempt);
            }
        }
    }

    /// The connection of attempt `generation` is open: write what waited.
    fn connected(shared: &Shared, ctx: &mut Ctx<'_>, generation: u64) {
        let mut effects = Effects::default();
        {
            let mut core = shared.borrow_mut();
            if !matches!(core.link, Link::Connecting { generation: g, .. } if g == generation) {
                drop(core);
                ctx.lose_connection();
                return;
            }
            core.link = Link::Connected {
                generation,
                id: ctx.id(),
                replied: false,
            };
            for pending in core.pending.iter_mut() {
                if let Some(bytes) = pending.bytes.take() {
                    write(ctx, bytes);
                }
            }
            effects.connected = std::mem::take(&mut core.waiters);
        }
        log::debug!("memcache client connected to {}", shared.borrow().endpoint);
        effects.run(shared, ctx);
    }

    /// Attempt `generation` failed: what waited for it fails too.
    fn connect_failed(shared: &Shared, reactor: &mut Reactor, generation: u64, failure: Failure) {
        let effects = {
            let mut core = shared.borrow_mut();
            if !matches!(core.link, Link::Connecting { generation: g, .. } if g == generation) {
                return;
            }
            log::debug!("memcache client: {failure}");
            let error = MemcacheError::ConnectFailed(failure.clone());
            let mut effects = Effects {
                failed: core
                    .pending
                    .drain(..)
                    .map(|p| (p.complete, error.clone()))
                    .collect(),
                ..Effects::default()
            };
            core.failures += 1;
            core.retry_later(shared, reactor, failure, &mut effects);
            effects
        };
        effects.run(shared, reactor);
    }

    /// After a lost connection: reconnect at once if it had served replies,
    /// else count a failure and wait.
    fn reconnect(&mut self, shared: &Shared, reactor: &mut Reactor, replied: bool, effects: &mut Effects) {
        if self.stopping || self.closing {
            self.link = Link::Closed;
            effects
                .not_connected
                .extend(self.waiters.drain(..).map(|w| (w, MemcacheError::Closed)));
        } else if replied {
            self.failures = 0;
            self.link = Link::Closed; // connect() sets Connecting
            effects.connect = true;
        } else {
            self.failures += 1;
            let failure =
                Failure::new(MemcacheError::ConnectionLost).context("the connection served no reply");
            self.retry_later(shared, reactor, failure, effects);
        }
    }

    /// Waits before the next attempt, or gives up after `max_retries`.
    fn retry_later(&mut self, shared: &Shared, reactor: &mut Reactor, last: Failure, effects: &mut Effects) {
        if self.stopping || self.closing {
            self.link = Link::Closed;
            effects
                .not_connected
                .extend(self.waiters.drain(..).map(|w| (w, MemcacheError::Closed)));
            return;
        }
        let backoff = self.config.backoff;
        if backoff.max_retries.is_some_and(|max| self.failures > max) {
            log::warn!(
                "memcache client gave up on {} after {} attempts: {last}",
                self.endpoint,
                self.failures
            );
            let error = MemcacheError::ConnectFailed(last.clone());
            effects
                .not_connected
                .extend(self.waiters.drain(..).map(|w| (w, error.clone())));
            self.link = Link::GaveUp(last);
            return;
        }
        // xorshift64 for the jitter, as ReconnectingService does.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let unit = (self.rng >> 11) as f64 / (1u64 << 53) as f64;
        let delay = backoff.delay(self.failures.saturating_sub(1), unit);
        log::debug!("memcache client: reconnecting to {} in {delay:?}", self.endpoint);
        let weak = Rc::downgrade(shared);
        let timer = reactor.call_later(delay, move |r| {
            if let Some(shared) = weak.upgrade() {
                let waiting = matches!(shared.borrow().link, Link::Waiting { .. });
                if waiting {
                    Core::connect(&shared, r);
                }
            }
        });
        self.link = Link::Waiting { timer };
    }

    /// Drops the connection (a timeout, a broken reply): the head fails
    /// with `first`, the other requests in flight with `ConnectionLost`.
    fn drop_connection(
        &mut self,
        shared: &Shared,
        reactor: &mut Reactor,
        first: MemcacheError,
        effects: &mut Effects,
    ) {
        let Link::Connected { id, replied, .. } = std::mem::replace(&mut self.link, Link::Closed) else {
            return;
        };
        log::warn!(
            "memcache client: dropping the connection to {}: {first}",
            self.endpoint
        );
        reactor.transport(id).abort_connection();
        let mut pending = self.pending.drain(..);
        if let Some(head) = pending.next() {
            effects.failed.push((head.complete, first));
        }
        effects
            .failed
            .extend(pending.map(|p| (p.complete, MemcacheError::ConnectionLost)));
        self.reconnect(shared, reactor, replied, effects);
    }

    /// Where the reply to come belongs, for connection `generation`.
    pub(crate) fn head(&self, generation: u64) -> Head {
        match self.link {
            Link::Connected { generation: g, .. } if g == generation => match self.pending.front() {
                Some(p) => Head::Expect(p.expect),
                None => Head::Idle,
            },
            _ => Head::Stale,
        }
    }

    /// A reply arrived on connection `generation`: complete the head.
    fn replied(shared: &Shared, ctx: &mut Ctx<'_>, generation: u64, reply: Reply) {
        let (complete, close) = {
            let mut guard = shared.borrow_mut();
            let core = &mut *guard;
            match &mut core.link {
                Link::Connected {
                    generation: g,
                    replied,
                    ..
                } if *g == generation => *replied = true,
                _ => return,
            }
            core.failures = 0;
            let Some(head) = core.pending.pop_front() else {
                return;
            };
            (head.complete, core.closing && core.outstanding() == 0)
        };
        complete(ctx, Ok(reply));
        if close {
            ctx.lose_connection();
        }
    }

    /// The server broke the protocol on connection `generation`.
    fn broken(shared: &Shared, reactor: &mut Reactor, generation: u64, error: MemcacheError) {
        let effects = {
            let mut core = shared.borrow_mut();
            if !matches!(core.link, Link::Connected { generation: g, .. } if g == generation) {
                return;
            }
            let mut effects = Effects::default();
            core.drop_connection(shared, reactor, error, &mut effects);
            effects
        };
        effects.run(shared, reactor);
    }

    /// Connection `generation` closed: what was in flight is lost.
    fn lost(shared: &Shared, reactor: &mut Reactor, generation: u64, reason: &CloseReason) {
        let effects = {
            let mut core = shared.borrow_mut();
            let Link::Connected {
                generation: g,
                replied,
                ..
            } = core.link
            else {
                return;
            };
            if g != generation {
                return;
            }
            log::debug!(
                "memcache client: the connection to {} closed: {reason}",
                core.endpoint
            );
            core.link = Link::Closed;
            let mut effects = Effects {
                failed: core
                    .pending
                    .drain(..)
                    .map(|p| (p.complete, MemcacheError::ConnectionLost))
                    .collect(),
                ..Effects::default()
            };
            core.reconnect(shared, reactor, replied, &mut effects);
            effects
        };
        effects.run(shared, reactor);
    }

    /// Closes: no new requests; those made already are sent and answered,
    /// then the connection closes. Requests waiting for a connection fail.
    pub(crate) fn close(shared: &Shared) {
        let mut core = shared.borrow_mut();
        if core.closing {
            return;
        }
        core.closing = true;
        let shared = shared.clone();
        core.handle
            .call(move |r| {
                Core::finish_close(&shared, r);
                Ok(())
            })
            .mark_handled();
    }

    fn finish_close(shared: &Shared, reactor: &mut Reactor) {
        let mut effects = Effects::default();
        {
            let mut core = shared.borrow_mut();
            match std::mem::replace(&mut core.link, Link::Closed) {
                Link::Connected {
                    generation,
                    id,
                    replied,
                } => {
                    if core.outstanding() == 0 {
                        reactor.transport(id).lose_connection();
                    } else {
                        core.link = Link::Connected {
                            generation,
                            id,
                            replied,
                        };
                    }
                }
                Link::Connecting { attempt, .. } => {
                    if let Some(attempt) = attempt {
                        attempt.cancel(reactor);
                    }
                    core.fail_waiting(&mut effects);
                }
                Link::Waiting { timer } => {
                    let _ = timer.cancel(reactor);
                    core.fail_waiting(&mut effects);
                }
                other @ (Link::Closed | Link::GaveUp(_)) => core.link = other,
            }
        }
        effects.run(shared, reactor);
    }

    /// Not connected and closing: everything waiting fails with `Closed`.
    fn fail_waiting(&mut self, effects: &mut Effects) {
        effects.failed.extend(
            self.pending
                .drain(..)
                .map(|p| (p.complete, MemcacheError::Closed)),
        );
        effects
            .not_connected
            .extend(self.waiters.drain(..).map(|w| (w, MemcacheError::Closed)));
    }

    /// Waiting before the next attempt: try now instead (a pool puts a
    /// server back on its ring).
    pub(crate) fn retry_now(shared: &Shared, reactor: &mut Reactor) {
        let timer = {
            let mut core = shared.borrow_mut();
            if !matches!(core.link, Link::Waiting { .. }) {
                return;
            }
            match std::mem::replace(&mut core.link, Link::Closed) {
                Link::Waiting { timer } => timer,
                _ => return,
            }
        };
        let _ = timer.cancel(reactor);
        Core::connect(shared, reactor);
    }

    /// A Deferred that fires once connected (at once if connected now).
    pub(crate) fn when_connected(shared: &Shared) -> Deferred<()> {
        let mut core = shared.borrow_mut();
        match &core.link {
            Link::Connected { .. } => succeed(()),
            Link::Closed if core.closing || core.stopping => fail(MemcacheError::Closed),
            Link::GaveUp(last) => fail(MemcacheError::ConnectFailed(last.clone())),
            _ if core.closing => fail(MemcacheError::Closed),
            _ => {
                let d = Deferred::new();
                core.waiters.push(d.clone());
                d
            }
        }
    }
}

/// When the last handle goes, the connection closes and whatever waits
/// fails with `Closed` (on the loop: there is no reactor here).
impl Drop for Core {
    fn drop(&mut self) {
        let link = std::mem::replace(&mut self.link, Link::Closed);
        let mut failed: Vec<Completion> = self.fresh.drain(..).map(|f| f.complete).collect();
        failed.extend(self.pending.drain(..).map(|p| p.complete));
        let waiters = std::mem::take(&mut self.waiters);
        let timer = self.timer.take();
        if matches!(link, Link::Closed | Link::GaveUp(_))
            && failed.is_empty()
            && waiters.is_empty()
            && timer.is_none()
        {
            return;
        }
        self.handle
            .call(move |r| {
                match link {
                    Link::Connected { id, .. } => r.transport(id).abort_connection(),
                    Link::Connecting {
                        attempt: Some(attempt),
                        ..
                    } => attempt.cancel(r),
                    Link::Waiting { timer } => {
                        let _ = timer.cancel(r);
                    }
                    Link::Connecting { attempt: None, .. } | Link::Closed | Link::GaveUp(_) => {}
                }
                if let Some(timer) = timer {
                    let _ = timer.cancel(r);
                }
                for complete in failed {
                    complete(r, Err(MemcacheError::Closed));
                }
                for waiter in waiters {
                    let _ = waiter.errback(r, MemcacheError::Closed);
                }
                Ok(())
            })
            .mark_handled();
    }
}

/// Queues `bytes` on a connection, by reference when large.
fn write(ctx: &mut Ctx<'_>, bytes: Bytes) {
    if bytes.len() >= LARGE_WRITE {
        ctx.write_bytes(bytes);
    } else {
        ctx.write(&bytes);
    }
}

/// One connection's protocol: frames replies and hands them to the core.
pub(crate) struct ClientProtocol {
    core: Weak<RefCell<Core>>,
    generation: u64,
    buf: BytesMut,
    parser: ReplyParser,
}

impl Protocol for ClientProtocol {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        match self.core.upgrade() {
            Some(shared) => Core::connected(&shared, ctx, self.generation),
            None => ctx.lose_connection(),
        }
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        let Some(shared) = self.core.upgrade() else {
            ctx.abort_connection();
            return;
        };
        self.buf.extend_from_slice(data);
        while !ctx.is_closing() && !self.buf.is_empty() {
            let head = shared.borrow().head(self.generation);
            let expect = match head {
                Head::Expect(expect) => expect,
                Head::Idle => {
                    let error =
                        MemcacheError::Protocol("bytes from the server with no request pending".into());
                    Core::broken(&shared, ctx, self.generation, error);
                    return;
                }
                Head::Stale => {
                    ctx.abort_connection();
                    return;
                }
            };
            match self.parser.parse(&mut self.buf, expect) {
                Ok(Some(reply)) => Core::replied(&shared, ctx, self.generation, reply),
                Ok(None) => return,
                Err(e) => {
                    Core::broken(&shared, ctx, self.generation, e.into());
                    return;
                }
            }
        }
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        if let Some(shared) = self.core.upgrade() {
            Core::lost(&shared, ctx, self.generation, &reason);
        }
    }

    /// Our requests are not being read fast enough: keep reading replies
    /// all the same (pausing would stall the server, which then stops
    /// reading too). `max_pending` bounds what we queue.
    fn pause_producing(&mut self, _ctx: &mut Ctx<'_>) {}

    fn resume_producing(&mut self, _ctx: &mut Ctx<'_>) {}

    fn name(&self) -> &'static str {
        "memcache client"
    }
}
