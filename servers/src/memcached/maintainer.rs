//! memcached's LRU maintainer thread, as a timer on the reactor: each run
//! is one [`Store::maintain`](super::store::Store::maintain) pass (bounded
//! per class), and the next run comes sooner when there was work and later
//! when there was none.
//!
//! memcached sleeps its maintainer between 1 ms and 1 s the same way. The
//! idle bound here is shorter ([`MAINTAINER_IDLE_MAX`]) so that
//! `lru_maintainer_juggles` keeps counting on an idle server, which is how
//! memcached's tests wait for the maintainer; a run over classes with
//! nothing to move costs a few comparisons per class.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use torsion::{DelayedCall, Reactor};

use super::server::Shared;

/// The delay after a run that moved or freed items.
pub const MAINTAINER_BUSY: Duration = Duration::from_millis(1);

/// The longest delay between runs on an idle server.
pub const MAINTAINER_IDLE_MAX: Duration = Duration::from_millis(100);

/// The scheduled maintainer; [`Maintainer::stop`] ends it.
#[derive(Debug, Default)]
pub struct Maintainer {
    next: Rc<RefCell<Option<DelayedCall>>>,
    stopped: Rc<Cell<bool>>,
}

impl Maintainer {
    /// Starts running the maintainer over `shared`'s store.
    pub fn start(reactor: &mut Reactor, shared: Rc<RefCell<Shared>>) -> Maintainer {
        let maintainer = Maintainer::default();
        schedule(
            reactor,
            shared,
            maintainer.next.clone(),
            maintainer.stopped.clone(),
            MAINTAINER_BUSY,
        );
        maintainer
    }

    /// Stops it: the pending run is cancelled.
    pub fn stop(&self, reactor: &mut Reactor) {
        self.stopped.set(true);
        if let Some(call) = self.next.borrow_mut().take() {
            let _ = call.cancel(reactor);
        }
    }
}

/// The delay after a run that took `delay` before it and did `work` rounds.
fn next_delay(delay: Duration, work: usize) -> Duration {
    if work > 0 {
        MAINTAINER_BUSY
    } else {
        (delay * 2).min(MAINTAINER_IDLE_MAX)
    }
}

fn schedule(
    reactor: &mut Reactor,
    shared: Rc<RefCell<Shared>>,
    next: Rc<RefCell<Option<DelayedCall>>>,
    stopped: Rc<Cell<bool>>,
    delay: Duration,
) {
    let slot = next.clone();
    let call = reactor.call_later(delay, move |r| {
        if stopped.get() {
            return;
        }
        let work = {
            let mut shared = shared.borrow_mut();
            let now = shared.now(r);
            shared.store.maintain(now)
        };
        if work > 0 {
            log::trace!("LRU maintainer: {work} rounds moved or freed items");
        }
        schedule(r, shared, next, stopped, next_delay(delay, work));
    });
    *slot.borrow_mut() = Some(call);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_when_idle_and_hurries_when_busy() {
        let mut d = MAINTAINER_BUSY;
        for _ in 0..20 {
            d = next_delay(d, 0);
        }
        assert_eq!(d, MAINTAINER_IDLE_MAX);
        assert_eq!(next_delay(d, 3), MAINTAINER_BUSY);
        assert_eq!(next_delay(MAINTAINER_BUSY, 0), MAINTAINER_BUSY * 2);
    }
}
