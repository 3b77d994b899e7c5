//! Closing (by `close()`, by dropping the last handle) and waiting for
//! the connection (`when_connected`).

use torsion::defer::{fail, succeed};
use torsion::{Deferred, Reactor};

use super::link::Link;
use super::{Completion, Core, Effects, Shared};
use crate::memcache::error::MemcacheError;

impl Core {
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

    /// The part of `close` that needs the reactor, on the next loop turn.
    pub(super) fn finish_close(shared: &Shared, reactor: &mut Reactor) {
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
    pub(super) fn fail_waiting(&mut self, effects: &mut Effects) {
        effects.failed.extend(
            self.pending
                .drain(..)
                .map(|p| (p.complete, MemcacheError::Closed)),
        );
        effects
            .not_connected
            .extend(self.waiters.drain(..).map(|w| (w, MemcacheError::Closed)));
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
