//! DelayedCall: the handle of one `call_later`.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use std::panic::Location;

use super::task::{ticks_ceil, TimerTask};
use crate::reactor::Reactor;
use crate::timer::TimerKey;

/// Where a delayed call is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallState {
    /// Scheduled, not yet run.
    Pending,
    /// It ran (or is running now).
    Called,
    /// It was cancelled.
    Cancelled,
}

/// Why a [`DelayedCall`] could not be changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerError {
    /// The call already ran.
    AlreadyCalled,
    /// The call was cancelled earlier.
    AlreadyCancelled,
}

impl fmt::Display for TimerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimerError::AlreadyCalled => "the call already ran",
            TimerError::AlreadyCancelled => "the call was already cancelled",
        })
    }
}

impl std::error::Error for TimerError {}

/// The handle of a call scheduled with [`Reactor::call_later`], Twisted's
/// `IDelayedCall`.
///
/// The wheel entry is named by a `Copy` key; the handle also shares a small
/// state cell with that entry, so that after the call ran or was cancelled
/// the handle can still say which (the key alone could not: its slot may
/// already hold another timer).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::{testing::Clock, timer::TimerError, Reactor};
///
/// let clock = Clock::new();
/// let mut reactor = Reactor::with_clock(clock.clone()).unwrap();
/// let call = reactor.call_later(Duration::from_secs(5), |_| println!("HI"));
/// assert!(call.active());
/// call.cancel(&mut reactor).unwrap();
/// assert_eq!(call.cancel(&mut reactor), Err(TimerError::AlreadyCancelled));
/// ```
#[derive(Clone, Debug)]
pub struct DelayedCall {
    key: TimerKey,
    state: Rc<Cell<CallState>>,
}

impl DelayedCall {
    pub(crate) fn new(key: TimerKey, state: Rc<Cell<CallState>>) -> Self {
        DelayedCall { key, state }
    }

    /// Whether the call is still scheduled.
    pub fn active(&self) -> bool {
        self.state.get() == CallState::Pending
    }

    /// Where the call is in its life.
    pub fn state(&self) -> CallState {
        self.state.get()
    }

    fn check(&self) -> Result<(), TimerError> {
        match self.state.get() {
            CallState::Pending => Ok(()),
            CallState::Called => Err(TimerError::AlreadyCalled),
            CallState::Cancelled => Err(TimerError::AlreadyCancelled),
        }
    }

    /// Cancels the call. O(1).
    pub fn cancel(&self, reactor: &mut Reactor) -> Result<(), TimerError> {
        self.check()?;
        let _ = reactor.timers.remove(self.key);
        self.state.set(CallState::Cancelled);
        Ok(())
    }

    /// Reschedules the call to run `delay` from now.
    pub fn reset(&self, reactor: &mut Reactor, delay: Duration) -> Result<(), TimerError> {
        self.check()?;
        let deadline = reactor.now().saturating_add(delay);
        self.move_to(reactor, deadline);
        Ok(())
    }

    /// Postpones the call by `by`.
    pub fn delay(&self, reactor: &mut Reactor, by: Duration) -> Result<(), TimerError> {
        self.check()?;
        let deadline = self.time(reactor).unwrap_or_default().saturating_add(by);
        self.move_to(reactor, deadline);
        Ok(())
    }

    /// When the call is due, in reactor time (see [`Reactor::now`]); `None`
    /// once it ran or was cancelled.
    pub fn time(&self, reactor: &Reactor) -> Option<Duration> {
        match reactor.timers.get(self.key) {
            Some(TimerTask::Call { deadline, .. }) if self.active() => Some(*deadline),
            _ => None,
        }
    }

    fn move_to(&self, reactor: &mut Reactor, new_deadline: Duration) {
        if let Some(TimerTask::Call { deadline, .. }) = reactor.timers.get_mut(self.key) {
            *deadline = new_deadline;
        }
        reactor.timers.reschedule(self.key, ticks_ceil(new_deadline));
    }
}

impl Reactor {
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
}
