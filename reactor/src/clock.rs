//! The time a reactor reads (design rule 4: time is an input).
//!
//! A reactor never asks the operating system for the time directly: it asks
//! its [`TimeSource`], which is either a monotonic clock (the default) or a
//! [`Clock`] that only moves when a test says so. Wall-clock time never drives
//! a timer, so a system clock that jumps cannot make timers fire early or late.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Where a reactor reads the current time, as a [`Duration`] since the
/// reactor's origin.
#[derive(Clone, Debug)]
pub enum TimeSource {
    /// The operating system's monotonic clock, measured from `origin`.
    Monotonic {
        /// The instant the reactor calls time zero.
        origin: Instant,
    },
    /// A manual clock that tests advance explicitly.
    Manual(Clock),
}

impl TimeSource {
    /// A monotonic time source starting now.
    pub fn monotonic() -> Self {
        TimeSource::Monotonic {
            origin: Instant::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> Duration {
        match self {
            TimeSource::Monotonic { origin } => origin.elapsed(),
            TimeSource::Manual(clock) => clock.now(),
        }
    }

    /// Whether this is a manual clock (a reactor then never sleeps waiting
    /// for a timer: time only moves when the test advances it).
    pub fn is_manual(&self) -> bool {
        matches!(self, TimeSource::Manual(_))
    }
}

/// A manual clock, Twisted's `task.Clock`: time stands still until
/// [`Clock::advance`] moves it.
///
/// Clones share the same time, so a test keeps one handle and gives another
/// to the reactor:
///
/// ```
/// use std::time::Duration;
/// use torsion::{Reactor, testing::Clock};
///
/// let clock = Clock::new();
/// let mut reactor = Reactor::with_clock(clock.clone()).unwrap();
/// let fired = std::rc::Rc::new(std::cell::Cell::new(false));
/// let flag = fired.clone();
/// reactor.call_later(Duration::from_secs(5), move |_| flag.set(true));
///
/// clock.advance(Duration::from_secs(4));
/// reactor.iterate(Some(Duration::ZERO)).unwrap();
/// assert!(!fired.get());
///
/// clock.advance(Duration::from_secs(1));
/// reactor.iterate(Some(Duration::ZERO)).unwrap();
/// assert!(fired.get());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Clock {
    now: Rc<Cell<Duration>>,
}

impl Clock {
    /// A clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current time.
    pub fn now(&self) -> Duration {
        self.now.get()
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.now.set(self.now.get().saturating_add(by));
    }

    /// Moves time forward by `secs` seconds (negative or NaN values are ignored).
    pub fn advance_secs(&self, secs: f64) {
        if let Ok(by) = Duration::try_from_secs_f64(secs) {
            self.advance(by);
        }
    }
}

impl From<Clock> for TimeSource {
    fn from(clock: Clock) -> Self {
        TimeSource::Manual(clock)
    }
}
