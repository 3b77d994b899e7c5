//! The reactor's side of Deferreds: the trampoline that runs callback
//! chains one after another instead of inside each other.
//!
//! # Implementation notes
//!
//! Firing a Deferred runs its callbacks; a callback may fire another
//! Deferred (a `then` child, an outer Deferred waiting on this one, a
//! Deferred in a list); that one's callbacks may fire a third, and so on.
//! Run naively, each link of such a cascade is a nested call, and 100,000
//! of them overflow the stack. Instead, every chain run goes through
//! [`Reactor::run_chain`]: the outermost call runs its chain, and any chain
//! started meanwhile (at whatever depth, whatever its type) is queued and run
//! by that same outermost call afterwards, in the order it was started. The
//! stack depth stays constant, and every chain still finishes before the
//! outermost `callback()` returns, as in Twisted.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};

use super::executor::Tasks;
use super::local::LocalQueue;
use crate::reactor::Reactor;

type Job = Box<dyn FnOnce(&mut Reactor)>;

/// Deferred and async-task state owned by a reactor.
pub(crate) struct Runtime {
    /// Chain runs waiting for the outermost one to finish.
    trampoline: VecDeque<Job>,
    /// Whether a chain run is in progress (the trampoline is being drained).
    draining: bool,
    /// Async tasks spawned with `spawn_local`.
    pub(crate) tasks: Tasks,
    /// Calls queued by `LocalHandle`s.
    pub(crate) local: std::rc::Rc<LocalQueue>,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime {
            trampoline: VecDeque::new(),
            draining: false,
            tasks: Tasks::new(),
            local: std::rc::Rc::new(LocalQueue::default()),
        }
    }
}

impl Runtime {
    /// Whether the loop has local work to do without waiting for I/O.
    pub(crate) fn has_work(&self) -> bool {
        self.tasks.has_ready() || self.local.has_calls()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Handles that outlive the reactor must see that it is gone.
        self.local.close();
    }
}

impl Reactor {
    /// Runs `job` (one chain run) now, or after the chain run in progress.
    pub(crate) fn run_chain(&mut self, job: impl FnOnce(&mut Reactor) + 'static) {
        if self.defer.draining {
            self.defer.trampoline.push_back(Box::new(job));
            return;
        }
        self.defer.draining = true;
        // A panicking callback must not leave the trampoline marked busy
        // (every later chain would wait forever): reset, then let it unwind.
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            job(self);
            while let Some(next) = self.defer.trampoline.pop_front() {
                next(self);
            }
        }));
        self.defer.draining = false;
        if let Err(payload) = outcome {
            self.defer.trampoline.clear();
            panic::resume_unwind(payload);
        }
    }
}
