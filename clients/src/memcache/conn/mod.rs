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
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use torsion::endpoint::ClientEndpoint;
use torsion::{Deferred, DelayedCall, LocalHandle, Reactor};

mod close;
mod link;
mod protocol;

use link::Link;
use protocol::write;

use super::config::ClientConfig;
use super::error::MemcacheError;
use super::request::Request;
use super::value::Reply;
use torsion_protocols::memcache::text::Expect;

/// What runs when a request is answered, or fails.
pub type Completion = Box<dyn FnOnce(&mut Reactor, Result<Reply, MemcacheError>)>;

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
}
