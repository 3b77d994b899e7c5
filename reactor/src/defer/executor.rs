//! The reactor's local executor: async tasks on the loop thread.
//!
//! # Implementation notes
//!
//! Tasks live in a slab and are named by index plus generation, like every
//! other source of the reactor. Each task owns one waker. `std` requires
//! wakers to be `Send + Sync`, so a waker is an `Arc` that pushes its task's
//! id onto a mutex-guarded ready list; the loop polls the tasks on that
//! list in step 8 of an iteration (see [`reactor`](crate::reactor)). A wake
//! from the loop thread costs a lock and a push: the loop sees the list
//! before it decides how long to sleep. A wake from any other thread also
//! wakes the loop through the `mio::Waker` of the reactor's
//! [`ReactorHandle`]. A task woken many times before it runs is queued once.

use std::future::Future;
use std::io;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};
use std::time::Instant;

use slab::Slab;

use super::deferred::State;
use super::{Deferred, Failure};
use crate::reactor::Reactor;
use crate::threads::ReactorHandle;

/// What a finished task does with its output, given the reactor.
type Completion = Box<dyn FnOnce(&mut Reactor)>;
type TaskFuture = Pin<Box<dyn Future<Output = Completion>>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskId {
    index: usize,
    generation: u64,
}

struct Task {
    generation: u64,
    /// `None` while the task is being polled.
    future: Option<TaskFuture>,
    wake: Arc<TaskWaker>,
    waker: Waker,
    site: &'static Location<'static>,
}

struct WakeQueue {
    ready: Mutex<Vec<TaskId>>,
    /// Whether `ready` may be non-empty (read without locking).
    any: AtomicBool,
    loop_thread: ThreadId,
    /// Wakes the loop from other threads (set when the first task spawns).
    remote: Mutex<Option<ReactorHandle>>,
}

struct TaskWaker {
    id: TaskId,
    /// Already on the ready list.
    scheduled: AtomicBool,
    queue: Arc<WakeQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Ok(mut ready) = self.queue.ready.lock() {
            ready.push(self.id);
        }
        self.queue.any.store(true, Ordering::Release);
        if thread::current().id() != self.queue.loop_thread {
            let remote = self.queue.remote.lock().ok().and_then(|r| r.clone());
            if let Some(handle) = remote {
                // An empty call: its only job is to wake the poll.
                let _ = handle.call_from_thread(|_| {});
            }
        }
    }
}

/// The tasks of one reactor.
pub(crate) struct Tasks {
    slots: Slab<Task>,
    next_generation: u64,
    queue: Arc<WakeQueue>,
}

impl Tasks {
    pub(crate) fn new() -> Self {
        Tasks {
            slots: Slab::new(),
            next_generation: 0,
            queue: Arc::new(WakeQueue {
                ready: Mutex::new(Vec::new()),
                any: AtomicBool::new(false),
                loop_thread: thread::current().id(),
                remote: Mutex::new(None),
            }),
        }
    }

    pub(crate) fn has_ready(&self) -> bool {
        self.queue.any.load(Ordering::Acquire)
    }

    /// The number of tasks not finished.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    fn insert(&mut self, future: TaskFuture, site: &'static Location<'static>) -> TaskId {
        self.next_generation += 1;
        let id = TaskId {
            index: self.slots.vacant_key(),
            generation: self.next_generation,
        };
        let wake = Arc::new(TaskWaker {
            id,
            scheduled: AtomicBool::new(false),
            queue: self.queue.clone(),
        });
        let waker = Waker::from(wake.clone());
        self.slots.insert(Task {
            generation: id.generation,
            future: Some(future),
            wake,
            waker,
            site,
        });
        id
    }

    fn get_mut(&mut self, id: TaskId) -> Option<&mut Task> {
        self.slots
            .get_mut(id.index)
            .filter(|t| t.generation == id.generation)
    }

    /// Drops a task (its future is dropped now).
    pub(crate) fn remove(&mut self, id: TaskId) {
        if self.get_mut(id).is_some() {
            self.slots.remove(id.index);
        }
    }

    fn take_ready(&mut self) -> Vec<TaskId> {
        self.queue.any.store(false, Ordering::Release);
        match self.queue.ready.lock() {
            Ok(mut ready) => std::mem::take(&mut *ready),
            Err(_) => Vec::new(),
        }
    }
}

impl Reactor {
    /// Runs `future` as a task on this loop and returns a Deferred of its
    /// output. The task is first polled on the next iteration; cancelling
    /// the Deferred drops the task.
    ///
    /// Async code cannot hold `&mut Reactor` across an `await` (there is no
    /// global reactor, design rule 1): it reaches the loop through a
    /// [`LocalHandle`](crate::LocalHandle) (see [`Reactor::local_handle`]),
    /// and it awaits Deferreds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use torsion::Reactor;
    ///
    /// let mut reactor = Reactor::new()?;
    /// let handle = reactor.local_handle();
    /// let done = reactor.spawn_local(async move {
    ///     handle.sleep(Duration::from_millis(5)).await.expect("slept");
    ///     handle.stop();
    ///     "woke up"
    /// });
    /// reactor.run()?;
    /// assert!(done.called());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> Deferred<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn_task(Location::caller(), future, |d, r, value| {
            let _ = d.callback(r, value);
        })
    }

    /// Runs `future` on this loop until it completes and returns its output.
    /// Fails if the loop is already running (call it from outside the
    /// loop, like [`run`](Reactor::run)), if polling fails, or if the task
    /// was cancelled.
    ///
    /// Unlike `run`, it does not shut the reactor down afterwards.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::Reactor;
    ///
    /// let mut reactor = Reactor::new()?;
    /// let handle = reactor.local_handle();
    /// let answer = reactor.run_until_complete(async move {
    ///     let n: u32 = handle.call(|_| Ok(6)).await.expect("ran");
    ///     n * 7
    /// })?;
    /// assert_eq!(answer, 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn run_until_complete<F>(&mut self, future: F) -> io::Result<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let d = self.spawn_local(future);
        let slot = std::rc::Rc::new(std::cell::RefCell::new(None));
        let out = slot.clone();
        d.then_both(self, move |_, result| {
            *out.borrow_mut() = Some(result);
            Ok(())
        })
        .mark_handled();
        loop {
            if let Some(result) = slot.borrow_mut().take() {
                return result.map_err(|failure| io::Error::other(failure.report()));
            }
            self.iterate(None)?;
        }
    }

    /// Spawns a task whose output fires a new Deferred through `complete`.
    pub(crate) fn spawn_task<F, T>(
        &mut self,
        site: &'static Location<'static>,
        future: F,
        complete: impl FnOnce(&Deferred<T>, &mut Reactor, F::Output) + 'static,
    ) -> Deferred<T>
    where
        F: Future + 'static,
        T: 'static,
    {
        self.enable_remote_wakes();
        let d = Deferred::with_state(State::Pending, site);
        let target = d.clone();
        let task: TaskFuture = Box::pin(async move {
            let output = future.await;
            Box::new(move |r: &mut Reactor| complete(&target, r, output)) as Completion
        });
        let id = self.defer.tasks.insert(task, site);
        d.set_canceller(move |r, _| r.defer.tasks.remove(id));
        if let Some(task) = self.defer.tasks.get_mut(id) {
            task.waker.wake_by_ref();
        }
        d
    }

    fn enable_remote_wakes(&mut self) {
        let missing = self
            .defer
            .tasks
            .queue
            .remote
            .lock()
            .map(|r| r.is_none())
            .unwrap_or(false);
        if missing {
            match self.handle() {
                Ok(handle) => {
                    if let Ok(mut remote) = self.defer.tasks.queue.remote.lock() {
                        *remote = Some(handle);
                    }
                }
                Err(e) => log::warn!("no cross-thread wakeups for async tasks: {e}"),
            }
        }
    }

    /// Step 8 of an iteration: calls queued by `LocalHandle`s, then woken
    /// tasks, a bounded number of rounds (what they queue in the last round
    /// waits for the next iteration).
    pub(crate) fn run_local(&mut self) {
        const ROUNDS: usize = 64;
        for _ in 0..ROUNDS {
            let calls = self.defer.local.take_calls();
            let ready = self.defer.tasks.take_ready();
            if calls.is_empty() && ready.is_empty() {
                return;
            }
            for call in calls {
                let site = call.site;
                self.run_call(call.f, || format!("LocalHandle call from {site}"));
            }
            for id in ready {
                self.poll_task(id);
            }
        }
    }

    fn poll_task(&mut self, id: TaskId) {
        let Some(task) = self.defer.tasks.get_mut(id) else {
            return; // finished or cancelled since it was woken
        };
        let Some(mut future) = task.future.take() else {
            return;
        };
        task.wake.scheduled.store(false, Ordering::Release);
        let waker = task.waker.clone();
        let site = task.site;
        self.counters.events += 1;
        let started = Instant::now();
        let poll = future.as_mut().poll(&mut Context::from_waker(&waker));
        self.check_slow(started, || format!("async task spawned at {site}"));
        match poll {
            Poll::Ready(complete) => {
                self.defer.tasks.remove(id);
                complete(self);
                self.settle();
            }
            Poll::Pending => {
                if let Some(task) = self.defer.tasks.get_mut(id) {
                    task.future = Some(future);
                }
            }
        }
    }
}

impl<T: 'static> Deferred<T> {
    /// Runs a fallible async computation as a task on the loop and returns
    /// a Deferred of its result: `Ok` fires the callbacks, `Err` the
    /// errbacks (Twisted's `ensureDeferred`).
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::{Deferred, Failure, Reactor};
    ///
    /// let mut reactor = Reactor::new()?;
    /// let d = Deferred::from_future(&mut reactor, async { Err::<u32, _>(Failure::msg("nope")) });
    /// d.add_errback(&mut reactor, |_, failure| {
    ///     assert_eq!(failure.to_string(), "nope");
    ///     Ok(0)
    /// });
    /// reactor.iterate(Some(std::time::Duration::ZERO))?;
    /// assert!(d.called());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn from_future<F>(reactor: &mut Reactor, future: F) -> Deferred<T>
    where
        F: Future<Output = Result<T, Failure>> + 'static,
    {
        reactor.spawn_task(Location::caller(), future, |d, r, result| {
            let _ = d.fire(r, result);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_task_woken_many_times_is_polled_once_per_wake_batch() {
        let mut reactor = Reactor::new().unwrap();
        let polls = std::rc::Rc::new(std::cell::Cell::new(0));
        let seen = polls.clone();
        let d = reactor.spawn_local(std::future::poll_fn(move |cx| {
            seen.set(seen.get() + 1);
            if seen.get() < 3 {
                for _ in 0..10 {
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            } else {
                Poll::Ready(7)
            }
        }));
        for _ in 0..3 {
            reactor.iterate(Some(Duration::ZERO)).unwrap();
        }
        assert_eq!(polls.get(), 3);
        assert!(d.called());
        assert_eq!(reactor.defer.tasks.len(), 0);
    }
}
