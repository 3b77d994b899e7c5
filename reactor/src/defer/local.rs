//! [`LocalHandle`]: how async code (and anything else without `&mut Reactor`)
//! reaches the loop on the loop's own thread.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::Location;
use std::rc::Rc;
use std::time::Duration;

use super::deferred::State;
use super::step::{IntoStep, Step};
use super::{Deferred, Failure};
use crate::reactor::{Reactor, Soon};
use crate::threads::ReactorGone;

/// The calls `LocalHandle`s queued for the loop.
#[derive(Default)]
pub(crate) struct LocalQueue {
    calls: RefCell<VecDeque<Soon>>,
    closed: Cell<bool>,
}

impl LocalQueue {
    pub(crate) fn has_calls(&self) -> bool {
        !self.calls.borrow().is_empty()
    }

    pub(crate) fn take_calls(&self) -> VecDeque<Soon> {
        std::mem::take(&mut *self.calls.borrow_mut())
    }

    pub(crate) fn close(&self) {
        self.closed.set(true);
        self.calls.borrow_mut().clear();
    }
}

/// A cloneable, single-threaded handle that queues work for the reactor it
/// came from ([`Reactor::local_handle`]).
///
/// Async code cannot borrow the reactor across an `await`, so it asks the
/// loop to run a closure with `&mut Reactor` and awaits the Deferred of the
/// closure's result: [`call`](LocalHandle::call) is the bridge from async
/// code to everything that takes a reactor (writing to a connection,
/// connecting, scheduling timers, adding callbacks). Queued closures run in
/// step 8 of the loop's iteration, in order.
///
/// It is neither `Send` nor `Sync` (it shares the loop's queue); other
/// threads use a [`ReactorHandle`](crate::ReactorHandle).
///
/// # Examples
///
/// ```
/// use torsion::Reactor;
///
/// let mut reactor = Reactor::new()?;
/// let handle = reactor.local_handle();
/// let greeting = reactor.run_until_complete(async move {
///     // The closure runs on the loop with the reactor.
///     let now = handle.call(|r| Ok(r.now())).await.expect("ran");
///     format!("it is {now:?}")
/// })?;
/// assert!(greeting.starts_with("it is"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct LocalHandle {
    queue: Rc<LocalQueue>,
}

impl std::fmt::Debug for LocalHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalHandle")
            .field("reactor_gone", &self.queue.closed.get())
            .finish_non_exhaustive()
    }
}

impl LocalHandle {
    /// Runs `f` on the loop, soon, and returns a Deferred of what it
    /// returns (a value, a failure, or a Deferred to wait for). Cancelling
    /// the Deferred before `f` ran keeps `f` from running. If the reactor is
    /// gone, the Deferred fails with [`ReactorGone`].
    #[track_caller]
    pub fn call<T: 'static, R: IntoStep<T>>(
        &self,
        f: impl FnOnce(&mut Reactor) -> R + 'static,
    ) -> Deferred<T> {
        let site = Location::caller();
        if self.queue.closed.get() {
            return Deferred::with_state(State::Ready(Err(Failure::new(ReactorGone))), site);
        }
        let d = Deferred::with_state(State::Pending, site);
        let cancelled = Rc::new(Cell::new(false));
        let flag = cancelled.clone();
        d.set_canceller(move |_, _| flag.set(true));
        let target = d.clone();
        self.queue.calls.borrow_mut().push_back(Soon {
            f: Box::new(move |r| {
                if cancelled.get() {
                    return;
                }
                match f(r).into_step() {
                    Step::Done(result) => {
                        let _ = target.fire(r, result);
                    }
                    Step::Wait(inner) => target.follow_from_pending(r, inner),
                }
            }),
            site,
        });
        d
    }

    /// A Deferred that fires `delay` from when the loop gets to it (see
    /// [`sleep`](crate::defer::sleep)).
    #[track_caller]
    pub fn sleep(&self, delay: Duration) -> Deferred<()> {
        self.call(move |r| super::sleep(r, delay))
    }

    /// Asks the loop to stop (see [`Reactor::stop`]).
    pub fn stop(&self) {
        self.call(|r| {
            r.stop();
            Ok(())
        })
        .mark_handled();
    }

    /// Whether the reactor still exists.
    pub fn is_alive(&self) -> bool {
        !self.queue.closed.get()
    }
}

impl Reactor {
    /// A [`LocalHandle`] for async code on this loop's thread.
    pub fn local_handle(&self) -> LocalHandle {
        LocalHandle {
            queue: self.defer.local.clone(),
        }
    }
}
