//! The event loop.
//!
//! A [`Reactor`] owns everything that can become ready: a `mio::Poll`, one
//! table (a slab) of registered sources (listeners, connections, datagram
//! sockets, the cross-thread waker, the signal pipe), a timing wheel, and a
//! queue of calls to run soon. It is single-threaded and not `Send`; several
//! reactors may live in one process, on one thread after another or on
//! different threads at once, because nothing in here is global.
//!
//! # One iteration
//!
//! [`Reactor::iterate`] runs one iteration; [`Reactor::run`] runs them until
//! [`Reactor::stop`]. An iteration does, in order:
//!
//! 1. **Settle** what earlier code queued: flush dirty write buffers and
//!    deliver pending notices (see below).
//! 2. **Choose the poll timeout**: zero if work is already waiting (calls
//!    queued with `call_soon`, sources with readiness left over, due timers);
//!    otherwise until the next timer is due, capped by the caller's timeout;
//!    forever if there is neither. A manual clock never sleeps for timers.
//! 3. **Poll** for readiness (an `EINTR` counts as no events).
//! 4. **Dispatch I/O**: each event goes to its source by token (the token
//!    holds slot and generation, so an event for a source that closed earlier
//!    in this batch is dropped). Listeners accept until `WouldBlock`;
//!    connections flush on WRITABLE and read on READABLE.
//! 5. **Backlog**: sources that still had data when their read or accept
//!    budget ran out in an earlier iteration get another turn. This keeps one
//!    busy peer from starving the others.
//! 6. **Timers**: the wheel is advanced to the clock's time and every due
//!    call runs, earliest first; calls due at the same tick run in the order
//!    they were scheduled. A call scheduled while timers run waits for the
//!    next iteration.
//! 7. **Soon calls**: the calls queued before this step run, in order; calls
//!    they queue wait for the next iteration.
//! 8. **Local tasks**: closures queued by a [`LocalHandle`](crate::LocalHandle)
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

use std::cell::Cell;
use std::collections::VecDeque;
use std::io;
use std::panic::Location;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::{Events, Poll};
use slab::Slab;

use crate::clock::{Clock, TimeSource};
use crate::counters::Counters;
use crate::id::{ConnectionId, DatagramId, Key, ListenerId};
use crate::listener::Listener;
use crate::protocol::{CloseReason, ConnectError, Protocol};
use crate::signals::SignalSource;
use crate::threads::Inbox;
use crate::timer::{CallState, DelayedCall, TimerKey, Wheel};
use crate::transport::{Connection, Ctx, Phase, Role, Writing};
use crate::udp::Datagram;

/// Tunable limits and timings of a reactor. Every field has a sensible default.
#[derive(Clone, Debug)]
pub struct Config {
    /// A dispatch that runs longer than this is logged as a slow callback.
    pub slow_callback_threshold: Duration,
    /// How long [`Reactor::run`] waits, after a stop, for connections to close
    /// cleanly before aborting them.
    pub shutdown_grace: Duration,
    /// How long a cleanly closed connection keeps draining what the peer still
    /// sends (so the kernel does not answer it with RST). Zero closes at once.
    pub linger: Duration,
    /// Bytes read from a socket per `read` call (one buffer shared by all
    /// connections: idle connections cost no read buffer).
    pub read_chunk: usize,
    /// Bytes read from one connection per readiness event before other
    /// sources get a turn.
    pub read_budget: usize,
    /// A connection whose write buffer would grow past this is aborted: its
    /// protocol ignored `pause_producing`.
    pub max_write_buffer: usize,
    /// Readiness events fetched per poll.
    pub events_capacity: usize,
    /// Notice child exits through pidfds (Linux 5.3 and later); when false or
    /// unavailable, children are polled every [`crate::process::EXIT_POLL`].
    pub pidfd: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            slow_callback_threshold: Duration::from_millis(100),
            shutdown_grace: Duration::from_secs(5),
            linger: Duration::from_secs(2),
            read_chunk: 64 * 1024,
            read_budget: 1024 * 1024,
            max_write_buffer: 64 * 1024 * 1024,
            events_capacity: 1024,
            pidfd: true,
        }
    }
}

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

/// Something the reactor must tell a protocol or factory once the current
/// dispatch has returned.
pub(crate) enum Notice {
    Pause(ConnectionId),
    Resume(ConnectionId),
    /// The peer sent end-of-file.
    ReadClosed(ConnectionId),
    /// The connection closed: `connection_lost`, then the slot is freed.
    Lost(ConnectionId, CloseReason),
    /// A connect failed before any protocol existed.
    ConnectFailed(ConnectionId, ConnectError),
    /// A listener closed: its factory's `stop` hook.
    ListenerStopped(Box<dyn crate::protocol::Factory>),
    /// Run a closure once the current dispatch has returned (an endpoint
    /// fires its connect Deferred this way, right after `connection_made`).
    Call(Soon),
}

/// What a timer does when it fires.
pub(crate) enum TimerTask {
    /// A user's `call_later`.
    Call {
        f: Box<dyn FnOnce(&mut Reactor)>,
        state: Rc<Cell<CallState>>,
        deadline: Duration,
        site: &'static Location<'static>,
    },
    ConnectTimeout(ConnectionId),
    /// A lingering connection has waited long enough for the peer's FIN.
    Linger(ConnectionId),
    ResumeAccepting(ListenerId),
    /// Look whether a child exited (where pidfds are not available).
    ProcessPoll(crate::process::ProcessId),
}

/// A call queued by `call_soon` (or from another thread).
pub(crate) struct Soon {
    pub(crate) f: Box<dyn FnOnce(&mut Reactor)>,
    pub(crate) site: &'static Location<'static>,
}

/// One registered source.
pub(crate) enum Source {
    Listener(Box<Listener>),
    Connection(Box<Connection>),
    Datagram(Box<Datagram>),
    Waker,
    Signals(Box<SignalSource>),
    /// A child process (registered with its pidfd, readable at exit).
    Process(Box<crate::process::Process>),
    /// One pipe of a child process.
    Pipe(Box<crate::process::Pipe>),
}

pub(crate) struct Slot {
    generation: u32,
    pub(crate) source: Source,
}

/// The table of registered sources; a handle's generation must match its slot's.
#[derive(Default)]
pub(crate) struct Sources {
    slots: Slab<Slot>,
    next_generation: u32,
}

impl Sources {
    pub(crate) fn insert(&mut self, source: Source) -> Key {
        self.next_generation = self.next_generation.wrapping_add(1);
        let generation = self.next_generation;
        let index = self.slots.insert(Slot { generation, source });
        Key {
            index: index as u32,
            generation,
        }
    }

    /// The key the next `insert` will return (to register before inserting).
    pub(crate) fn next_key(&self) -> Key {
        Key {
            index: self.slots.vacant_key() as u32,
            generation: self.next_generation.wrapping_add(1),
        }
    }

    pub(crate) fn get(&self, key: Key) -> Option<&Source> {
        match self.slots.get(key.index as usize) {
            Some(slot) if slot.generation == key.generation => Some(&slot.source),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut Source> {
        match self.slots.get_mut(key.index as usize) {
            Some(slot) if slot.generation == key.generation => Some(&mut slot.source),
            _ => None,
        }
    }

    pub(crate) fn remove(&mut self, key: Key) -> Option<Source> {
        self.get(key)?;
        Some(self.slots.remove(key.index as usize).source)
    }

    pub(crate) fn connection(&self, id: ConnectionId) -> Option<&Connection> {
        match self.get(id.0) {
            Some(Source::Connection(c)) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn connection_mut(&mut self, id: ConnectionId) -> Option<&mut Connection> {
        match self.get_mut(id.0) {
            Some(Source::Connection(c)) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn listener_mut(&mut self, id: ListenerId) -> Option<&mut Listener> {
        match self.get_mut(id.0) {
            Some(Source::Listener(l)) => Some(l),
            _ => None,
        }
    }

    pub(crate) fn datagram_mut(&mut self, id: DatagramId) -> Option<&mut Datagram> {
        match self.get_mut(id.0) {
            Some(Source::Datagram(d)) => Some(d),
            _ => None,
        }
    }

    /// Keys of every source, so shutdown can visit them while changing the table.
    pub(crate) fn keys(&self) -> Vec<Key> {
        self.slots
            .iter()
            .map(|(index, slot)| Key {
                index: index as u32,
                generation: slot.generation,
            })
            .collect()
    }
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
    pub(crate) memory: Vec<ConnectionId>,
    pub(crate) read_buf: Vec<u8>,
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
            memory: Vec::new(),
            read_buf: Vec::new(),
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

    /// Runs `f` after `delay`. The returned [`DelayedCall`] can cancel,
    /// reset or delay it.
    #[track_caller]
    pub fn call_later(&mut self, delay: Duration, f: impl FnOnce(&mut Reactor) + 'static) -> DelayedCall {
        let deadline = self.now().saturating_add(delay);
        let state = Rc::new(Cell::new(CallState::Pending));
        let task = TimerTask::Call {
            f: Box::new(f),
            state: state.clone(),
            deadline,
            site: Location::caller(),
        };
        let key = self.timers.insert(ticks_ceil(deadline), task);
        DelayedCall::new(key, state)
    }

    /// Schedules an internal timer `delay` from now.
    pub(crate) fn schedule_task(&mut self, delay: Duration, task: TimerTask) -> TimerKey {
        let deadline = self.now().saturating_add(delay);
        self.timers.insert(ticks_ceil(deadline), task)
    }

    /// Lends the protocol of connection `id`, as its concrete type `P`, to `f`.
    ///
    /// This is how code outside the protocol's callbacks (a timer, another
    /// connection, a Deferred callback) calls methods of a protocol the
    /// reactor owns. Fails if the connection is gone, its protocol is not a
    /// `P`, or the protocol is busy (this is called from inside one of its
    /// own callbacks: use `self` there instead).
    pub fn with_protocol<P: Protocol, R>(
        &mut self,
        id: ConnectionId,
        f: impl FnOnce(&mut P, &mut Ctx<'_>) -> R,
    ) -> Result<R, ProtocolAccessError> {
        let conn = self.conn_mut(id).ok_or(ProtocolAccessError::Gone)?;
        if conn.phase == Phase::Closed && conn.protocol.is_none() {
            return Err(ProtocolAccessError::Gone);
        }
        let mut protocol = conn.protocol.take().ok_or(ProtocolAccessError::Busy)?;
        let any: &mut dyn std::any::Any = &mut *protocol;
        let result = match any.downcast_mut::<P>() {
            Some(p) => Ok(f(p, &mut Ctx::new(self, id))),
            None => Err(ProtocolAccessError::WrongType),
        };
        if let Some(conn) = self.conn_mut(id) {
            conn.protocol = Some(protocol);
        }
        result
    }

    /// The number of stream connections open now.
    pub fn connection_count(&self) -> usize {
        self.counters.connections_open as usize
    }

    pub(crate) fn conn(&self, id: ConnectionId) -> Option<&Connection> {
        self.sources.connection(id)
    }

    pub(crate) fn conn_mut(&mut self, id: ConnectionId) -> Option<&mut Connection> {
        self.sources.connection_mut(id)
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

    fn run_once(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.settle();
        self.poke_memory();
        let timeout = self.poll_timeout(timeout);
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
        if polled.is_ok() {
            for event in events.iter() {
                self.counters.events += 1;
                self.dispatch_event(event);
            }
        }
        self.events = Some(events);
        polled?;
        self.run_backlog();
        self.run_timers();
        self.run_soon();
        // 8. Async tasks that were woken and calls queued by LocalHandles.
        self.run_local();
        Ok(())
    }

    /// Whether an iteration run now would have something to do without
    /// waiting for I/O (used by the test kit to run until quiet).
    pub(crate) fn has_work_now(&self) -> bool {
        let memory_poked = self.memory.iter().any(|id| {
            matches!(self.sources.connection(*id).map(|c| &c.stream),
                Some(crate::stream::Stream::Memory(pipe)) if pipe.borrow().poked)
        });
        memory_poked || self.poll_timeout(Some(Duration::from_secs(1))) == Some(Duration::ZERO)
    }

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

    fn dispatch_event(&mut self, event: &Event) {
        let key = Key::from_token(event.token());
        let kind = match self.sources.get(key) {
            Some(Source::Connection(_)) => 0,
            Some(Source::Listener(_)) => 1,
            Some(Source::Datagram(_)) => 2,
            Some(Source::Waker) => 3,
            Some(Source::Signals(_)) => 4,
            Some(Source::Process(_)) => 5,
            Some(Source::Pipe(_)) => 6,
            None => return, // stale: the source closed earlier in this batch
        };
        match kind {
            0 => self.connection_event(ConnectionId(key), event),
            1 => self.accept_ready(ListenerId(key)),
            2 => self.datagram_event(DatagramId(key), event),
            3 => self.run_inbox(),
            4 => self.signal_event(key),
            5 => self.process_exit_ready(crate::process::ProcessId(key)),
            _ => {
                let closed = event.is_read_closed() || event.is_write_closed() || event.is_error();
                self.pipe_ready(key, event.is_readable() || closed, event.is_writable() || closed);
            }
        }
    }

    fn connection_event(&mut self, id: ConnectionId, event: &Event) {
        let Some(conn) = self.conn(id) else {
            return;
        };
        match conn.phase {
            Phase::Connecting => {
                self.finish_connect(id);
                if event.is_readable() {
                    self.read_ready(id, event.is_read_closed());
                }
            }
            Phase::Open => {
                if event.is_writable() || event.is_error() {
                    self.flush(id);
                    self.settle();
                }
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.read_ready(id, event.is_read_closed() || event.is_error());
                }
            }
            Phase::Lingering => self.read_ready(id, true),
            Phase::Closed => {}
        }
    }

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

    fn run_timers(&mut self) {
        self.timers.advance(ticks_floor(self.now()));
        while let Some((_, task)) = self.timers.pop_ready() {
            match task {
                TimerTask::Call { f, state, site, .. } => {
                    state.set(CallState::Called);
                    self.run_call(f, || format!("timer scheduled at {site}"));
                }
                TimerTask::ConnectTimeout(id) => {
                    self.connect_timed_out(id);
                    self.settle();
                }
                TimerTask::Linger(id) => self.linger_expired(id),
                TimerTask::ResumeAccepting(id) => self.resume_accepting(id),
                TimerTask::ProcessPoll(id) => self.process_exit_ready(id),
            }
        }
    }

    fn run_soon(&mut self) {
        for _ in 0..self.soon.len() {
            let Some(call) = self.soon.pop_front() else {
                break;
            };
            let site = call.site;
            self.run_call(call.f, || format!("call_soon from {site}"));
        }
    }

    /// Flushes dirty connections and delivers notices until none are left
    /// (or a budget runs out; the rest waits for the next iteration).
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

    fn deliver(&mut self, notice: Notice) {
        match notice {
            Notice::Pause(id) => self.dispatch(id, "pause_producing", |p, ctx| p.pause_producing(ctx)),
            Notice::Resume(id) => self.dispatch(id, "resume_producing", |p, ctx| p.resume_producing(ctx)),
            Notice::ReadClosed(id) => {
                self.dispatch(id, "read_connection_lost", |p, ctx| p.read_connection_lost(ctx));
                // Both directions are now shut: nothing more can happen.
                if self
                    .conn(id)
                    .is_some_and(|c| c.phase == Phase::Open && c.writing == Writing::HalfClosed)
                {
                    self.close_now(id, CloseReason::Done);
                }
            }
            Notice::Lost(id, reason) => self.deliver_lost(id, reason),
            Notice::ConnectFailed(id, error) => self.deliver_connect_failed(id, error),
            Notice::ListenerStopped(mut factory) => {
                let started = Instant::now();
                factory.stop(self);
                self.check_slow(started, || "a factory's stop hook".to_string());
            }
            Notice::Call(call) => {
                let site = call.site;
                self.run_call(call.f, || format!("notice queued at {site}"));
            }
        }
    }

    fn deliver_lost(&mut self, id: ConnectionId, reason: CloseReason) {
        let listener = match self.conn(id).map(|c| &c.role) {
            Some(Role::Server(listener)) => Some(*listener),
            Some(_) => None,
            None => return,
        };
        self.counters.connections_open = self.counters.connections_open.saturating_sub(1);
        self.dispatch(id, "connection_lost", |p, ctx| {
            p.connection_lost(ctx, reason.clone())
        });
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        conn.protocol = None;
        let factory = match &mut conn.role {
            Role::Client { factory, .. } => factory.take(),
            _ => None,
        };
        if conn.phase != Phase::Lingering {
            self.remove_connection(id);
        }
        if let Some(mut factory) = factory {
            let started = Instant::now();
            factory.client_connection_lost(self, reason);
            self.check_slow(started, || format!("client_connection_lost for {id}"));
        }
        if let Some(listener) = listener {
            self.connection_left(listener);
        }
    }

    /// Frees the slot of a connection whose protocol has been told it closed.
    pub(crate) fn remove_connection(&mut self, id: ConnectionId) {
        let registry = self.poll.registry();
        if let Some(conn) = self.sources.connection_mut(id) {
            conn.stream.deregister(registry);
        }
        if let Some(Source::Connection(conn)) = self.sources.remove(id.0) {
            if conn.stream.is_memory() {
                self.memory.retain(|m| *m != id);
            }
            if let Role::Client {
                timeout: Some(key), ..
            } = conn.role
            {
                let _ = self.timers.remove(key);
            }
        }
    }

    pub(crate) fn schedule_linger(&mut self, id: ConnectionId, after: Duration) {
        self.schedule_task(after, TimerTask::Linger(id));
    }

    fn linger_expired(&mut self, id: ConnectionId) {
        if self.conn(id).is_some_and(|c| c.phase == Phase::Lingering) {
            self.remove_connection(id);
        }
    }

    // ----- shutdown --------------------------------------------------------

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
    /// ends when its peer closes, or after `Config::linger`).
    fn has_connections(&self) -> bool {
        self.sources
            .keys()
            .into_iter()
            .any(|key| matches!(self.sources.get(key), Some(Source::Connection(_))))
    }

    // ----- the in-memory transport ------------------------------------------

    /// Gives in-memory connections that the test fed a turn, as if their
    /// socket had become ready.
    fn poke_memory(&mut self) {
        for i in 0..self.memory.len() {
            let id = self.memory[i];
            let Some(conn) = self.sources.connection(id) else {
                continue;
            };
            let crate::stream::Stream::Memory(pipe) = &conn.stream else {
                continue;
            };
            let mut pipe = pipe.borrow_mut();
            if std::mem::take(&mut pipe.poked) {
                drop(pipe);
                self.backlog.push_back(id.0);
                self.mark_dirty(id);
            }
        }
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

/// Why [`Reactor::with_protocol`] could not lend a protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolAccessError {
    /// The connection is closed (or the handle is stale).
    Gone,
    /// The protocol is running one of its own callbacks right now.
    Busy,
    /// The protocol is not of the requested type.
    WrongType,
}

impl std::fmt::Display for ProtocolAccessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProtocolAccessError::Gone => "the connection is closed",
            ProtocolAccessError::Busy => "the protocol is inside one of its own callbacks",
            ProtocolAccessError::WrongType => "the protocol is of another type",
        })
    }
}

impl std::error::Error for ProtocolAccessError {}

/// Milliseconds, rounded up: a timer never fires before its deadline.
pub(crate) fn ticks_ceil(t: Duration) -> u64 {
    let ms = t.as_millis();
    let ms = if t.subsec_nanos() % 1_000_000 == 0 {
        ms
    } else {
        ms + 1
    };
    ms.min(u64::MAX as u128) as u64
}

/// Milliseconds, rounded down: the last whole tick that has passed.
pub(crate) fn ticks_floor(t: Duration) -> u64 {
    t.as_millis().min(u64::MAX as u128) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_the_right_way() {
        assert_eq!(ticks_ceil(Duration::from_micros(1500)), 2);
        assert_eq!(ticks_ceil(Duration::from_millis(3)), 3);
        assert_eq!(ticks_floor(Duration::from_micros(1999)), 1);
        assert_eq!(ticks_ceil(Duration::MAX), u64::MAX);
    }
}
