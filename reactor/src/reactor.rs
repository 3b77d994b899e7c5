//! The event loop.
//!
//! A [`Reactor`] owns everything that can become ready: a `mio::Poll`, one
//! table of registered sources (listeners, connections, datagram sockets,
//! child processes and their pipes, the cross-thread waker, the signal
//! pipe), a timing wheel, and a queue of calls to run soon. It is
//! single-threaded and not `Send`; several reactors may live in one process,
//! on one thread after another or on different threads at once, because
//! nothing in here is global.
//!
//! This file holds the loop and little else. Around it:
//!
//! | file | what |
//! |------|------|
//! | `source.rs` | the source table: slots, generations, look-ups |
//! | `notice.rs` | what a protocol hears once its callback has returned |
//! | `transport.rs` | a connection: its events, reads, writes, closes, `Ctx` |
//! | `listener.rs`, `connector.rs`, `udp.rs` | accepting, connecting, datagrams |
//! | `timer/` | the wheel, [`DelayedCall`](crate::DelayedCall), the reactor's timer tasks, ticks |
//! | `memory.rs` | the in-memory stream that tests drive instead of a socket |
//! | `threads.rs`, `signals.rs`, `process.rs`, `defer/` | the other sources and tasks |
//! | `config.rs` | [`Config`]: limits and timings |
//!
//! # One iteration
//!
//! [`Reactor::iterate`] runs one iteration; [`Reactor::run`] runs them until
//! [`Reactor::stop`]. An iteration (`run_once`) does, in order:
//!
//! 1. **Settle** what earlier code queued: flush dirty write buffers and
//!    deliver pending notices (see below). O(dirty + notices), at most
//!    1,024 notices per settle; the rest wait for the next one.
//! 2. **Poke in-memory connections**: each one whose test peer acted since
//!    the last iteration gets a read turn in step 6 and a flush, as a socket
//!    that became ready would (see `memory.rs`). O(in-memory
//!    connections): nothing in production, where there are none.
//! 3. **Choose the poll timeout**: zero if work is already waiting (calls
//!    queued with `call_soon`, sources with readiness left over, notices,
//!    dirty buffers, local tasks, due timers); otherwise until the next
//!    timer is due, capped by the caller's timeout; forever if there is
//!    neither. A manual clock never sleeps for timers. O(1): the wheel finds
//!    its next expiration in at most six bitmap look-ups.
//! 4. **Poll** for readiness: one system call (`epoll_wait`), at most
//!    [`Config::events_capacity`] events. An `EINTR` counts as no events.
//! 5. **Dispatch I/O**: each event goes to its source by token, O(1) per
//!    event (a slab index and a generation check, so an event for a source
//!    that closed earlier in this batch is dropped). Listeners accept until
//!    `WouldBlock`; connections flush on WRITABLE and read on READABLE; the
//!    waker runs what other threads queued; the signal pipe stops the loop;
//!    a child's pidfd reports its exit, its pipes their data.
//! 6. **Backlog**: sources that still had data when their read or accept
//!    budget ran out in an earlier iteration get another turn. O(sources
//!    queued before this step); what they queue waits. This keeps one busy
//!    peer from starving the others.
//! 7. **Timers**: the wheel is advanced to the clock's time and every due
//!    call runs, earliest first; calls due at the same tick run in the order
//!    they were scheduled. A call scheduled while timers run waits for the
//!    next iteration. Amortized O(1) per timer in the wheel (see
//!    [`crate::timer::wheel`]), plus the calls.
//! 8. **Soon calls**: the calls queued before this step run, in order; calls
//!    they queue wait for the next iteration. O(calls queued).
//! 9. **Local tasks**: closures queued by a [`LocalHandle`](crate::LocalHandle)
//!    run, then every async task woken since its last poll (see
//!    [`Reactor::spawn_local`]); both are bounded per iteration.
//!
//! After every single dispatch (one protocol event, one timer, one call) the
//! reactor *settles*: it writes the buffers that dispatch dirtied straight to
//! their sockets and delivers the notices it caused (pause/resume producing,
//! half-close, connection lost). Notices are how the reactor keeps its
//! promise that a protocol's callbacks never nest: a protocol that aborts its
//! own connection hears `connection_lost` right after its callback returns.
//!
//! Each dispatch is timed. One that keeps the loop busy longer than the
//! slow-callback threshold (100 ms by default) is logged as a warning naming
//! what ran, because a blocked loop blocks every connection.
//!
//! # Stopping
//!
//! [`Reactor::stop`] lets the current iteration finish. Then `run` runs the
//! shutdown triggers, stops the thread pool (jobs not started fail, running
//! ones are waited for and delivered), closes every listener, asks every connection to close
//! cleanly (flushing what it has buffered), iterates until they are closed or
//! the shutdown grace period ends (then aborts the rest), and returns.
//! Shutdown visits every source, O(sources), once at the start and once at
//! the end.

use std::collections::VecDeque;
use std::io;
use std::panic::Location;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::{Events, Poll};

use crate::buffer::WritePool;
use crate::clock::{Clock, TimeSource};
use crate::counters::Counters;
use crate::id::{ConnectionId, DatagramId, Key, ListenerId};
use crate::memory::MemoryPipes;
use crate::notice::Notice;
use crate::process::ProcessId;
use crate::source::{Source, Sources};
use crate::threads::Inbox;
use crate::timer::{ticks_floor, TimerTask, Wheel};
use crate::transport::Phase;

pub use crate::config::Config;
pub use crate::protocol::ProtocolAccessError;

/// Where the reactor is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RunState {
    /// Not inside `run` (tests may still `iterate`).
    Idle,
    /// Inside `run`.
    Running,
    /// `stop` was called: finishing the iteration, then shutting down.
    Stopping,
}

/// A call queued by `call_soon` (or from another thread).
pub(crate) struct Soon {
    pub(crate) f: Box<dyn FnOnce(&mut Reactor)>,
    pub(crate) site: &'static Location<'static>,
}

/// The event loop. See the [module documentation](self) for how one
/// iteration runs.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::Reactor;
///
/// let mut reactor = Reactor::new()?;
/// reactor.call_later(Duration::from_millis(10), |r| r.stop());
/// reactor.run()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Reactor {
    pub(crate) poll: Poll,
    events: Option<Events>,
    pub(crate) sources: Sources,
    pub(crate) timers: Wheel<TimerTask>,
    soon: VecDeque<Soon>,
    pub(crate) notices: VecDeque<Notice>,
    pub(crate) dirty: Vec<ConnectionId>,
    /// Sources with readiness left over from an earlier iteration.
    backlog: VecDeque<Key>,
    /// In-memory connections, checked each iteration for what tests fed them.
    pub(crate) memory: MemoryPipes,
    pub(crate) read_buf: Vec<u8>,
    /// Drained write buffers, lent to connections while they have bytes
    /// the socket has not taken (see `buffer.rs`).
    pub(crate) write_pool: WritePool,
    clock: TimeSource,
    state: RunState,
    /// Depth of user code running now (run/iterate may not be re-entered).
    pub(crate) depth: u32,
    when_running: Vec<Soon>,
    shutdown_triggers: Vec<Soon>,
    pub(crate) config: Config,
    pub(crate) counters: Counters,
    pub(crate) inbox: Option<Inbox>,
    /// Deferreds and async tasks: the chain trampoline, the local executor
    /// and the calls queued by `LocalHandle`s (see `defer`).
    pub(crate) defer: crate::defer::Runtime,
    /// The thread pool behind `defer_to_thread`, started on first use.
    pub(crate) pool: crate::threadpool::PoolSlot,
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("state", &self.state)
            .field("now", &self.now())
            .field("sources", &self.sources)
            .field("timers", &self.timers)
            .field("soon", &self.soon.len())
            .field("backlog", &self.backlog.len())
            .finish_non_exhaustive()
    }
}

impl Reactor {
    /// A reactor reading the monotonic clock, with the default [`Config`].
    pub fn new() -> io::Result<Self> {
        Self::build(TimeSource::monotonic(), Config::default())
    }

    /// A reactor reading a manual [`Clock`] (for tests: time only moves when
    /// the clock is advanced).
    pub fn with_clock(clock: Clock) -> io::Result<Self> {
        Self::build(TimeSource::Manual(clock), Config::default())
    }

    /// A reactor with the given time source and configuration.
    pub fn build(clock: TimeSource, config: Config) -> io::Result<Self> {
        Ok(Reactor {
            poll: Poll::new()?,
            events: Some(Events::with_capacity(config.events_capacity.max(1))),
            sources: Sources::default(),
            timers: Wheel::new(),
            soon: VecDeque::new(),
            notices: VecDeque::new(),
            dirty: Vec::new(),
            backlog: VecDeque::new(),
            memory: MemoryPipes::default(),
            read_buf: Vec::new(),
            write_pool: WritePool::default(),
            clock,
            state: RunState::Idle,
            depth: 0,
            when_running: Vec::new(),
            shutdown_triggers: Vec::new(),
            config,
            counters: Counters::default(),
            inbox: None,
            defer: crate::defer::Runtime::default(),
            pool: crate::threadpool::PoolSlot::default(),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Changes the slow-callback threshold.
    pub fn set_slow_callback_threshold(&mut self, threshold: Duration) {
        self.config.slow_callback_threshold = threshold;
    }

    /// The reactor's current time: the time since its clock's origin.
    pub fn now(&self) -> Duration {
        self.clock.now()
    }

    /// [`now`](Reactor::now) in seconds, as Twisted's `reactor.seconds()`.
    pub fn seconds(&self) -> f64 {
        self.now().as_secs_f64()
    }

    /// A snapshot of what the loop has done so far.
    pub fn counters(&self) -> Counters {
        Counters {
            timers_pending: self.timers.len() as u64,
            ..self.counters
        }
    }

    /// Whether [`run`](Reactor::run) is in progress (and not stopping).
    pub fn is_running(&self) -> bool {
        self.state == RunState::Running
    }

    /// Runs the loop until [`stop`](Reactor::stop), then shuts down (see the
    /// module docs) and returns. Fails if the loop is already running or if
    /// polling fails.
    pub fn run(&mut self) -> io::Result<()> {
        if self.state != RunState::Idle || self.depth > 0 {
            return Err(io::Error::other("the reactor is already running"));
        }
        self.state = RunState::Running;
        for call in self.when_running.drain(..).rev() {
            self.soon.push_front(call);
        }
        let mut result = Ok(());
        while self.state == RunState::Running {
            if let Err(e) = self.run_once(None) {
                result = Err(e);
                break;
            }
        }
        self.state = RunState::Stopping;
        self.shutdown();
        self.state = RunState::Idle;
        result
    }

    /// Asks a running loop to stop once the current iteration ends. Does
    /// nothing if the loop is not running (or already stopping).
    pub fn stop(&mut self) {
        if self.state == RunState::Running {
            log::debug!("reactor stopping");
            self.state = RunState::Stopping;
        }
    }

    /// Runs one iteration, waiting at most `timeout` for readiness (`None`:
    /// until something happens). For tests and for embedding the loop.
    pub fn iterate(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if self.state != RunState::Idle || self.depth > 0 {
            return Err(io::Error::other("the reactor is already running"));
        }
        self.run_once(timeout)
    }

    /// Runs `f` on the next iteration.
    #[track_caller]
    pub fn call_soon(&mut self, f: impl FnOnce(&mut Reactor) + 'static) {
        self.soon.push_back(Soon {
            f: Box::new(f),
            site: Location::caller(),
        });
    }

    /// Runs `f` once the loop is running: at the start of [`run`](Reactor::run),
    /// or on the next iteration if it already runs.
    #[track_caller]
    pub fn call_when_running(&mut self, f: impl FnOnce(&mut Reactor) + 'static) {
        let call = Soon {
            f: Box::new(f),
            site: Location::caller(),
        };
        if self.state == RunState::Running {
            self.soon.push_back(call);
        } else {
            self.when_running.push(call);
        }
    }

    /// Runs `f` when the loop stops, before connections are closed ("before
    /// shutdown" in Twisted's terms). Triggers run in the order they were added.
    #[track_caller]
    pub fn add_shutdown_trigger(&mut self, f: impl FnOnce(&mut Reactor) + 'static) {
        self.shutdown_triggers.push(Soon {
            f: Box::new(f),
            site: Location::caller(),
        });
    }

    /// Asks the backlog step to read from `id` (data may be waiting with no
    /// new edge to announce it).
    pub(crate) fn schedule_read(&mut self, id: ConnectionId) {
        self.backlog.push_back(id.0);
    }

    pub(crate) fn schedule_accept(&mut self, id: ListenerId) {
        self.backlog.push_back(id.0);
    }

    /// Gives any source another turn in the backlog step.
    pub(crate) fn schedule_source(&mut self, key: Key) {
        self.backlog.push_back(key);
    }

    /// Logs a dispatch that ran too long.
    pub(crate) fn check_slow(&mut self, started: Instant, what: impl FnOnce() -> String) {
        let took = started.elapsed();
        if took >= self.config.slow_callback_threshold {
            self.counters.slow_callbacks += 1;
            log::warn!(
                "slow callback: {} kept the loop busy for {} ms (threshold {} ms)",
                what(),
                took.as_millis(),
                self.config.slow_callback_threshold.as_millis()
            );
        }
    }

    /// Runs a plain callback (timer, soon call), timed, then settles.
    pub(crate) fn run_call(&mut self, f: Box<dyn FnOnce(&mut Reactor)>, what: impl FnOnce() -> String) {
        self.counters.events += 1;
        let started = Instant::now();
        self.depth += 1;
        f(self);
        self.depth -= 1;
        self.check_slow(started, what);
        self.settle();
    }

    // ----- the iteration -------------------------------------------------

    /// One iteration: the numbered steps of the [module documentation](self).
    fn run_once(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        // 1. Settle.
        self.settle();
        // 2. Poke in-memory connections.
        self.poke_memory();
        // 3. Choose the poll timeout.
        let timeout = self.poll_timeout(timeout);
        // 4. Poll.
        let mut events = self.events.take().unwrap_or_else(|| Events::with_capacity(1024));
        let polled = match self.poll.poll(&mut events, timeout) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                events.clear();
                Ok(())
            }
            Err(e) => Err(e),
        };
        self.counters.iterations += 1;
        // 5. Dispatch I/O.
        if polled.is_ok() {
            for event in events.iter() {
                self.counters.events += 1;
                self.dispatch_event(event);
            }
        }
        self.events = Some(events);
        polled?;
        // 6. Backlog.
        self.run_backlog();
        // 7. Timers.
        self.run_timers();
        // 8. Soon calls.
        self.run_soon();
        // 9. Local tasks: calls queued by LocalHandles, then woken async tasks.
        self.run_local();
        Ok(())
    }

    /// Whether an iteration run now would have something to do without
    /// waiting for I/O (used by the test kit to run until quiet).
    pub(crate) fn has_work_now(&self) -> bool {
        self.memory_poked() || self.poll_timeout(Some(Duration::from_secs(1))) == Some(Duration::ZERO)
    }

    /// Step 3: how long the poll may wait. O(1).
    fn poll_timeout(&self, requested: Option<Duration>) -> Option<Duration> {
        // A stop requested by step 1 (a notice delivered while settling)
        // must not be followed by an endless wait: poll without blocking so
        // `run` sees the stop at the end of this iteration.
        let requested = match requested {
            None if self.state == RunState::Stopping => Some(Duration::ZERO),
            other => other,
        };
        let busy = !self.soon.is_empty()
            || !self.backlog.is_empty()
            || !self.notices.is_empty()
            || !self.dirty.is_empty()
            || self.defer.has_work();
        if busy {
            return Some(Duration::ZERO);
        }
        let timer = self.timers.next_expiration().and_then(|tick| {
            let due = Duration::from_millis(tick);
            let now = self.now();
            if due <= now {
                Some(Duration::ZERO)
            } else if self.clock.is_manual() {
                // Manual time only moves when a test advances it: never sleep for it.
                None
            } else {
                Some(due - now)
            }
        });
        match (timer, requested) {
            (Some(t), Some(r)) => Some(t.min(r)),
            (t, r) => t.or(r),
        }
    }

    /// Step 5 for one event: a direct match on the source its token names.
    fn dispatch_event(&mut self, event: &Event) {
        let key = Key::from_token(event.token());
        match self.sources.get(key) {
            Some(Source::Connection(_)) => self.connection_event(ConnectionId(key), event),
            Some(Source::Listener(_)) => self.accept_ready(ListenerId(key)),
            Some(Source::Datagram(_)) => self.datagram_event(DatagramId(key), event),
            Some(Source::Waker) => self.run_inbox(),
            Some(Source::Signals(_)) => self.signal_event(key),
            Some(Source::Process(_)) => self.process_exit_ready(ProcessId(key)),
            Some(Source::Pipe(_)) => {
                let closed = event.is_read_closed() || event.is_write_closed() || event.is_error();
                self.pipe_ready(key, event.is_readable() || closed, event.is_writable() || closed);
            }
            None => {} // stale: the source closed earlier in this batch
        }
    }

    /// Step 6: one more turn for each source queued before this step.
    fn run_backlog(&mut self) {
        for _ in 0..self.backlog.len() {
            let Some(key) = self.backlog.pop_front() else {
                break;
            };
            match self.sources.get(key) {
                // No event comes with a backlog turn, so no read-closed hint
                // either: the peer's FIN may have raised its edge earlier,
                // while reading was paused or the budget spent. A short read
                // then proves nothing; read on to WouldBlock or the EOF.
                Some(Source::Connection(_)) => self.read_ready(ConnectionId(key), true),
                Some(Source::Listener(_)) => self.accept_ready(ListenerId(key)),
                Some(Source::Pipe(_)) => self.pipe_ready(key, true, false),
                _ => {}
            }
        }
    }

    /// Step 7: advances the wheel to now and runs what came due.
    fn run_timers(&mut self) {
        self.timers.advance(ticks_floor(self.now()));
        while let Some((_, task)) = self.timers.pop_ready() {
            self.run_timer(task);
        }
    }

    /// Step 8: the calls queued before this step.
    fn run_soon(&mut self) {
        for _ in 0..self.soon.len() {
            let Some(call) = self.soon.pop_front() else {
                break;
            };
            let site = call.site;
            self.run_call(call.f, || format!("call_soon from {site}"));
        }
    }

    /// Step 1, and after every dispatch: flushes dirty connections and
    /// delivers notices until none are left, or 1,024 notices were delivered
    /// (the rest wait for the next settle). O(dirty + notices): one `writev`
    /// per dirty connection, one dispatch per notice.
    pub(crate) fn settle(&mut self) {
        const BUDGET: usize = 1024;
        for _ in 0..BUDGET {
            while let Some(id) = self.dirty.pop() {
                self.flush(id);
            }
            match self.notices.pop_front() {
                Some(notice) => self.deliver(notice),
                None => return,
            }
        }
    }

    // ----- shutdown --------------------------------------------------------

    /// What `run` does after the loop stopped (see the module docs). Visits
    /// every source, O(sources), at the start and at the end, and every
    /// pass of the grace period asks `has_connections`, O(sources) too.
    fn shutdown(&mut self) {
        log::debug!("running {} shutdown trigger(s)", self.shutdown_triggers.len());
        let triggers = std::mem::take(&mut self.shutdown_triggers);
        for trigger in triggers {
            let site = trigger.site;
            self.run_call(trigger.f, || format!("shutdown trigger added at {site}"));
        }
        // The thread pool stops while connections are still open, so the
        // results of jobs already running can still be written somewhere.
        self.stop_thread_pool();
        for key in self.sources.keys() {
            match self.sources.get(key) {
                Some(Source::Listener(_)) => {
                    self.stop_listening(ListenerId(key));
                }
                Some(Source::Datagram(_)) => {
                    self.stop_datagram(DatagramId(key));
                }
                // A lingering close is left to finish: its peer may still be
                // reading what we sent (see `finish_close`).
                Some(Source::Connection(c)) => match c.phase {
                    Phase::Lingering => {}
                    _ => self.transport(ConnectionId(key)).lose_connection(),
                },
                _ => {}
            }
        }
        self.terminate_processes();
        self.settle();
        let deadline = Instant::now() + self.config.shutdown_grace;
        while self.has_connections() || self.has_processes() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if let Err(e) = self.run_once(Some(left.min(Duration::from_millis(50)))) {
                log::warn!("poll failed during shutdown: {e}");
                break;
            }
        }
        for key in self.sources.keys() {
            if let Some(Source::Connection(_)) = self.sources.get(key) {
                let id = ConnectionId(key);
                log::debug!("{id}: still open after the shutdown grace period; aborting");
                self.transport(id).abort_connection();
                self.remove_connection(id);
            }
        }
        self.kill_processes();
        self.settle();
        // Anything queued by connection_lost callbacks gets one last chance.
        self.run_soon();
    }

    /// Whether any connection is open, lingering closes included (each
    /// ends when its peer closes, or after `Config::linger`). O(sources),
    /// and one allocation: shutdown only.
    fn has_connections(&self) -> bool {
        self.sources
            .keys()
            .into_iter()
            .any(|key| matches!(self.sources.get(key), Some(Source::Connection(_))))
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        if let Some(inbox) = &self.inbox {
            inbox.close();
        }
        // Worker threads must not outlive the reactor that owns their pool.
        self.pool.stop_and_join(self.config.shutdown_grace);
        // Nor may children linger as zombies.
        self.kill_processes();
    }
}
