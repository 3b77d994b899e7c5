//! The connection's life: connecting, connected, lost or dropped, and the
//! backoff between attempts.

use std::rc::Rc;

use torsion::{CloseReason, ConnectionId, Ctx, Deferred, DelayedCall, Failure, Reactor};

use super::protocol::{write, ClientProtocol, Head};
use super::{Core, Effects, Shared};
use crate::memcache::error::MemcacheError;
use crate::memcache::value::Reply;

/// Where the connection is (a finer [`ConnectionState`](super::ConnectionState)).
pub(super) enum Link {
    /// Attempt number `generation` is in progress (the Deferred cancels it).
    Connecting {
        generation: u64,
        attempt: Option<Deferred<()>>,
    },
    /// Connected on `id`; `replied` once a reply came on it.
    Connected {
        generation: u64,
        id: ConnectionId,
        replied: bool,
    },
    /// Waiting for `timer`, which starts the next attempt.
    Waiting { timer: DelayedCall },
    /// Closed, or between a lost connection and the attempt that follows.
    Closed,
    /// `max_retries` attempts failed in a row; the last failure.
    GaveUp(Failure),
}

impl Core {
    /// Starts a connection attempt.
    pub(super) fn connect(shared: &Shared, reactor: &mut Reactor) {
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
            let protocol = ClientProtocol::new(Rc::downgrade(shared), generation, core.config.max_reply);
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
    pub(super) fn connected(shared: &Shared, ctx: &mut Ctx<'_>, generation: u64) {
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
    pub(super) fn connect_failed(shared: &Shared, reactor: &mut Reactor, generation: u64, failure: Failure) {
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
    pub(super) fn reconnect(
        &mut self,
        shared: &Shared,
        reactor: &mut Reactor,
        replied: bool,
        effects: &mut Effects,
    ) {
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
    pub(super) fn retry_later(
        &mut self,
        shared: &Shared,
        reactor: &mut Reactor,
        last: Failure,
        effects: &mut Effects,
    ) {
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
    pub(super) fn drop_connection(
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
    pub(super) fn head(&self, generation: u64) -> Head {
        match self.link {
            Link::Connected { generation: g, .. } if g == generation => match self.pending.front() {
                Some(p) => Head::Expect(p.expect),
                None => Head::Idle,
            },
            _ => Head::Stale,
        }
    }

    /// A reply arrived on connection `generation`: complete the head.
    pub(super) fn replied(shared: &Shared, ctx: &mut Ctx<'_>, generation: u64, reply: Reply) {
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
    pub(super) fn broken(shared: &Shared, reactor: &mut Reactor, generation: u64, error: MemcacheError) {
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
    pub(super) fn lost(shared: &Shared, reactor: &mut Reactor, generation: u64, reason: &CloseReason) {
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
}
