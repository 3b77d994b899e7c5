//! The thread pool behind [`defer_to_thread`]: blocking work off the loop.
//!
//! The loop must never block (a blocked loop blocks every connection), but
//! some work only exists in blocking form: name resolution, a database
//! driver, a big file read. `defer_to_thread` runs such a closure on a
//! worker thread and fires a [`Deferred`] *on the loop thread* with the
//! result, through the reactor's [`ReactorHandle`](crate::ReactorHandle)
//! (a `mio::Waker` wakes the poll).
//!
//! Everything is bounded (design rule 6): at most `max_threads` workers,
//! started on demand, and at most `max_queue` jobs waiting; past that,
//! `defer_to_thread` fails at once with [`ThreadPoolError::QueueFull`]. A
//! panic in a job reaches the Deferred as a [`Panicked`] failure; it never
//! takes the loop down. A job cancelled before a worker picked it up never
//! runs.
//!
//! When the reactor shuts down (see [`reactor`](crate::reactor)), the pool
//! stops: jobs not started fail with [`ThreadPoolError::Stopped`], running
//! ones are waited for (up to the shutdown grace period; a worker still
//! busy then is left to finish on its own, with a warning), their results
//! are delivered, and the workers are joined. Dropping the reactor does the
//! same, minus the delivery.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::defer::{Deferred, Failure};
use crate::reactor::Reactor;

/// The limits of a reactor's thread pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadPoolConfig {
    /// Worker threads at most (started when work arrives; Twisted's default is 10).
    pub max_threads: usize,
    /// Jobs waiting for a worker at most; past it `defer_to_thread` fails.
    pub max_queue: usize,
}

impl Default for ThreadPoolConfig {
    fn default() -> Self {
        ThreadPoolConfig {
            max_threads: 10,
            max_queue: 1024,
        }
    }
}

/// Why `defer_to_thread` could not run a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThreadPoolError {
    /// `max_queue` jobs are already waiting.
    QueueFull {
        /// The limit.
        limit: usize,
    },
    /// The reactor shut down before a worker got to the job.
    Stopped,
    /// No worker thread could be started.
    Spawn(String),
}

impl fmt::Display for ThreadPoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThreadPoolError::QueueFull { limit } => {
                write!(f, "the thread pool's queue is full ({limit} jobs waiting)")
            }
            ThreadPoolError::Stopped => f.write_str("the thread pool stopped before the job ran"),
            ThreadPoolError::Spawn(e) => write!(f, "could not start a worker thread: {e}"),
        }
    }
}

impl std::error::Error for ThreadPoolError {}

/// A job run by `defer_to_thread` panicked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Panicked {
    /// The panic's message, if it had one.
    pub message: String,
}

impl fmt::Display for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the job panicked: {}", self.message)
    }
}

impl std::error::Error for Panicked {}

// Where a job is; the loop (cancel) and a worker (start) race for it.
const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const CANCELLED: u8 = 2;

struct Job {
    run: Box<dyn FnOnce() + Send>,
    ticket: Arc<AtomicU8>,
}

struct PoolState {
    jobs: VecDeque<Job>,
    open: bool,
    /// Workers alive.
    live: usize,
    /// Workers waiting for a job.
    idle: usize,
}

struct Shared {
    state: Mutex<PoolState>,
    /// Signalled when a job is queued or the pool closes.
    work: Condvar,
    /// Signalled when a worker exits.
    exited: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // Jobs run outside the lock, so a poisoned lock means a bug in the
        // pool itself; the state is still consistent enough to shut down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

type FailWaiter = Box<dyn FnOnce(&mut Reactor, Failure)>;

/// A Deferred waiting on the loop for its job's result.
struct Waiting {
    /// The `Deferred<T>`, to downcast when the typed result arrives.
    deferred: Box<dyn Any>,
    /// Fails it without knowing `T` (at shutdown).
    fail: FailWaiter,
}

/// The reactor's pool: configuration, the pool once started, and the
/// Deferreds waiting for results.
#[derive(Default)]
pub(crate) struct PoolSlot {
    config: ThreadPoolConfig,
    pool: Option<Pool>,
    waiting: HashMap<u64, Waiting>,
    next_key: u64,
}

impl PoolSlot {
    fn submit(
        &mut self,
        run: Box<dyn FnOnce() + Send>,
        ticket: Arc<AtomicU8>,
    ) -> Result<(), ThreadPoolError> {
        let config = self.config;
        let pool = self.pool.get_or_insert_with(|| Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(PoolState {
                    jobs: VecDeque::new(),
                    open: true,
                    live: 0,
                    idle: 0,
                }),
                work: Condvar::new(),
                exited: Condvar::new(),
            }),
            workers: Vec::new(),
        });
        let mut state = pool.shared.lock();
        if state.jobs.len() >= config.max_queue {
            return Err(ThreadPoolError::QueueFull {
                limit: config.max_queue,
            });
        }
        let need_worker = state.jobs.len() >= state.idle && state.live < config.max_threads.max(1);
        if need_worker {
            let shared = pool.shared.clone();
            let name = format!("torsion-pool-{}", state.live);
            match thread::Builder::new().name(name).spawn(move || worker(shared)) {
                Ok(handle) => {
                    state.live += 1;
                    pool.workers.push(handle);
                }
                Err(e) if state.live == 0 => return Err(ThreadPoolError::Spawn(e.to_string())),
                Err(e) => log::warn!("could not start another pool worker: {e}"),
            }
        }
        state.jobs.push_back(Job { run, ticket });
        drop(state);
        pool.shared.work.notify_one();
        Ok(())
    }

    /// Takes a cancelled job out of the queue, freeing its place.
    fn forget(&mut self, ticket: &Arc<AtomicU8>) {
        if let Some(pool) = &self.pool {
            pool.shared
                .lock()
                .jobs
                .retain(|job| !Arc::ptr_eq(&job.ticket, ticket));
        }
    }

    /// Closes the pool: queued jobs are dropped, running ones waited for up
    /// to `grace`, finished workers joined. Returns whether all finished.
    pub(crate) fn stop_and_join(&mut self, grace: Duration) -> bool {
        let Some(mut pool) = self.pool.take() else {
            return true;
        };
        let deadline = Instant::now() + grace;
        let mut state = pool.shared.lock();
        state.open = false;
        for job in state.jobs.drain(..) {
            job.ticket.store(CANCELLED, Ordering::Release);
        }
        pool.shared.work.notify_all();
        while state.live > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = match pool.shared.exited.wait_timeout(state, left) {
                Ok((guard, _)) => guard,
                Err(e) => e.into_inner().0,
            };
        }
        let stuck = state.live;
        drop(state);
        if stuck > 0 {
            log::warn!("{stuck} thread pool worker(s) still busy after {grace:?}; leaving them to finish on their own");
            return false;
        }
        for handle in pool.workers.drain(..) {
            let _ = handle.join();
        }
        true
    }

    fn stats(&self) -> ThreadPoolStats {
        match &self.pool {
            Some(pool) => {
                let state = pool.shared.lock();
                ThreadPoolStats {
                    threads: state.live,
                    idle: state.idle,
                    queued: state.jobs.len(),
                    waiting: self.waiting.len(),
                }
            }
            None => ThreadPoolStats {
                waiting: self.waiting.len(),
                ..ThreadPoolStats::default()
            },
        }
    }
}

/// A snapshot of a reactor's thread pool ([`Reactor::thread_pool_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadPoolStats {
    /// Worker threads alive.
    pub threads: usize,
    /// Workers waiting for a job.
    pub idle: usize,
    /// Jobs waiting for a worker.
    pub queued: usize,
    /// Deferreds waiting for a result (queued, running, or delivered soon).
    pub waiting: usize,
}

fn worker(shared: Arc<Shared>) {
    loop {
        let job = {
            let mut state = shared.lock();
            loop {
                if let Some(job) = state.jobs.pop_front() {
                    break Some(job);
                }
                if !state.open {
                    break None;
                }
                state.idle += 1;
                state = shared.work.wait(state).unwrap_or_else(|e| e.into_inner());
                state.idle -= 1;
            }
        };
        let Some(job) = job else {
            break;
        };
        if job
            .ticket
            .compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            (job.run)();
        }
    }
    shared.lock().live -= 1;
    shared.exited.notify_all();
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

/// Runs the blocking `f` on the reactor's thread pool and returns a
/// Deferred that fires on the loop thread with its result (Twisted's
/// `deferToThread`). A panic in `f` becomes a [`Panicked`] failure; a full
/// queue fails the Deferred at once with [`ThreadPoolError::QueueFull`];
/// cancelling it before a worker started `f` means `f` never runs.
///
/// # Examples
///
/// ```
/// use torsion::{defer_to_thread, Reactor};
///
/// let mut reactor = Reactor::new()?;
/// let d = defer_to_thread(&mut reactor, || (1..=100u64).sum::<u64>());
/// let sum = reactor.run_until_complete(d)?;
/// assert_eq!(sum.unwrap(), 5050);
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn defer_to_thread<T: Send + 'static>(
    reactor: &mut Reactor,
    f: impl FnOnce() -> T + Send + 'static,
) -> Deferred<T> {
    let site = Location::caller();
    let handle = match reactor.handle() {
        Ok(handle) => handle,
        Err(e) => return Deferred::failed_at(site, Failure::new(e)),
    };
    let key = reactor.pool.next_key;
    reactor.pool.next_key += 1;
    let ticket = Arc::new(AtomicU8::new(QUEUED));
    let job = Box::new(move || {
        let result = panic::catch_unwind(AssertUnwindSafe(f)).map_err(panic_message);
        // If the reactor is gone, nobody waits for the result.
        let _ = handle.call_from_thread(move |r| r.finish_thread_job::<T>(key, result));
    });
    if let Err(e) = reactor.pool.submit(job, ticket.clone()) {
        return Deferred::failed_at(site, Failure::new(e));
    }
    let d = Deferred::pending_at(site);
    let for_failure = d.clone();
    reactor.pool.waiting.insert(
        key,
        Waiting {
            deferred: Box::new(d.clone()),
            fail: Box::new(move |r, failure| {
                let _ = for_failure.fire(r, Err(failure));
            }),
        },
    );
    d.set_canceller(move |r, _| {
        if ticket
            .compare_exchange(QUEUED, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            r.pool.forget(&ticket);
        }
        r.pool.waiting.remove(&key);
    });
    d
}

impl Reactor {
    /// Changes the thread pool's limits. A smaller `max_threads` takes
    /// effect as workers are started; a smaller `max_queue` at once.
    pub fn set_thread_pool(&mut self, config: ThreadPoolConfig) {
        self.pool.config = config;
    }

    /// The thread pool's limits.
    pub fn thread_pool_config(&self) -> ThreadPoolConfig {
        self.pool.config
    }

    /// What the thread pool is doing now.
    pub fn thread_pool_stats(&self) -> ThreadPoolStats {
        self.pool.stats()
    }

    /// A job's result arrived (this runs on the loop, from the inbox).
    fn finish_thread_job<T: 'static>(&mut self, key: u64, result: Result<T, String>) {
        let Some(waiting) = self.pool.waiting.remove(&key) else {
            return; // cancelled while it ran
        };
        let Ok(d) = waiting.deferred.downcast::<Deferred<T>>() else {
            return;
        };
        let result = result.map_err(|message| Failure::new(Panicked { message }));
        let _ = d.fire(self, result);
    }

    /// Shutdown step: stop the pool, deliver what finished, fail the rest.
    pub(crate) fn stop_thread_pool(&mut self) {
        let grace = self.config.shutdown_grace;
        if self.pool.pool.is_none() && self.pool.waiting.is_empty() {
            return;
        }
        self.pool.stop_and_join(grace);
        self.run_inbox();
        let left: Vec<Waiting> = self.pool.waiting.drain().map(|(_, w)| w).collect();
        for waiting in left {
            (waiting.fail)(self, Failure::new(ThreadPoolError::Stopped));
        }
        self.settle();
    }
}
