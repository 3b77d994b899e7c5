//! LoopingCall: a function run at a fixed interval.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::timer::DelayedCall;
use crate::Reactor;

/// Runs a function every `interval`, Twisted's `task.LoopingCall`.
///
/// Ticks are aligned to the start time (`start + k * interval`), so the
/// function's own run time does not make the schedule drift. If the loop was
/// too busy and one or more ticks were missed, they are skipped, not run in a
/// burst: the next run happens at the next tick still in the future.
///
/// The function may stop its own loop.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::{testing::Clock, timer::LoopingCall, Reactor};
///
/// let clock = Clock::new();
/// let mut reactor = Reactor::with_clock(clock.clone()).unwrap();
/// let ticks = std::rc::Rc::new(std::cell::Cell::new(0));
/// let seen = ticks.clone();
/// let looping = LoopingCall::new(move |_| seen.set(seen.get() + 1));
/// looping.start(&mut reactor, Duration::from_secs(1), true);
/// assert_eq!(ticks.get(), 1); // `now = true` runs it at once
/// for _ in 0..3 {
///     clock.advance(Duration::from_secs(1));
///     reactor.iterate(Some(Duration::ZERO)).unwrap();
/// }
/// assert_eq!(ticks.get(), 4);
/// looping.stop(&mut reactor);
/// ```
#[derive(Clone)]
pub struct LoopingCall {
    inner: Rc<RefCell<Inner>>,
}

impl std::fmt::Debug for LoopingCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopingCall")
            .field("running", &self.running())
            .field("missed", &self.missed())
            .finish_non_exhaustive()
    }
}

type Tick = Box<dyn FnMut(&mut Reactor)>;

struct Inner {
    /// `None` while the function is running.
    f: Option<Tick>,
    state: LoopState,
}

enum LoopState {
    Stopped,
    Running {
        interval: Duration,
        start: Duration,
        /// The next scheduled run, if one is scheduled.
        next: Option<DelayedCall>,
        /// Index of the last tick run or skipped (tick `k` is due at `start + k * interval`).
        index: u64,
        /// Ticks skipped because the loop ran late.
        missed: u64,
    },
}

impl LoopingCall {
    /// A looping call of `f`, not started.
    pub fn new(f: impl FnMut(&mut Reactor) + 'static) -> Self {
        LoopingCall {
            inner: Rc::new(RefCell::new(Inner {
                f: Some(Box::new(f)),
                state: LoopState::Stopped,
            })),
        }
    }

    /// Starts calling every `interval` (a zero interval is treated as 1 ms).
    /// With `now`, the first call happens immediately; otherwise after one
    /// interval. Restarting a running loop restarts its schedule.
    pub fn start(&self, reactor: &mut Reactor, interval: Duration, now: bool) {
        self.stop(reactor);
        let interval = interval.max(Duration::from_millis(1));
        self.inner.borrow_mut().state = LoopState::Running {
            interval,
            start: reactor.now(),
            next: None,
            index: 0,
            missed: 0,
        };
        if now {
            self.tick(reactor);
        } else {
            self.schedule(reactor);
        }
    }

    /// Stops the loop; the function is not called again until restarted.
    pub fn stop(&self, reactor: &mut Reactor) {
        let state = std::mem::replace(&mut self.inner.borrow_mut().state, LoopState::Stopped);
        if let LoopState::Running { next: Some(call), .. } = state {
            let _ = call.cancel(reactor);
        }
    }

    /// Whether the loop is running.
    pub fn running(&self) -> bool {
        matches!(self.inner.borrow().state, LoopState::Running { .. })
    }

    /// How many ticks were skipped because the loop was late.
    pub fn missed(&self) -> u64 {
        match self.inner.borrow().state {
            LoopState::Running { missed, .. } => missed,
            LoopState::Stopped => 0,
        }
    }

    fn tick(&self, reactor: &mut Reactor) {
        let f = self.inner.borrow_mut().f.take();
        if let Some(mut f) = f {
            f(reactor);
            self.inner.borrow_mut().f = Some(f);
        }
        self.schedule(reactor);
    }

    /// Schedules the next tick still in the future, if running.
    fn schedule(&self, reactor: &mut Reactor) {
        let now = reactor.now();
        let delay = {
            let mut inner = self.inner.borrow_mut();
            let LoopState::Running {
                interval,
                start,
                index,
                missed,
                ..
            } = &mut inner.state
            else {
                return;
            };
            let step = interval.as_nanos();
            let elapsed = now.saturating_sub(*start).as_nanos();
            let passed = u64::try_from(elapsed / step).unwrap_or(u64::MAX);
            // The first tick strictly after now; the ones in between are skipped.
            let next = passed.saturating_add(1).max(index.saturating_add(1));
            *missed += next - index.saturating_add(1);
            *index = next;
            let due_nanos = u64::try_from((next as u128).saturating_mul(step)).unwrap_or(u64::MAX);
            let due = start.saturating_add(Duration::from_nanos(due_nanos));
            due.saturating_sub(now)
        };
        let this = self.clone();
        let call = reactor.call_later(delay, move |r| this.tick(r));
        if let LoopState::Running { next, .. } = &mut self.inner.borrow_mut().state {
            *next = Some(call);
        }
    }
}
