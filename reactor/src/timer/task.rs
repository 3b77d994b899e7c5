//! What the reactor keeps on its wheel, and how reactor time becomes ticks.
//!
//! The reactor's wheel is a `Wheel<TimerTask>`: a user's `call_later`, or
//! one of the reactor's own deadlines (a connect timeout, the end of a
//! lingering close, a listener's accept retry, a child's exit poll). The
//! loop's timer step pops the due ones and [runs](Reactor::run_timer) them.
//!
//! # Ticks
//!
//! The wheel counts whole milliseconds; reactor time is a [`Duration`]. A
//! deadline is rounded *up* ([`ticks_ceil`]) and the current time *down*
//! ([`ticks_floor`]), so a timer never fires before its deadline: at worst
//! it fires up to a millisecond late.
//!
//! ```text
//! deadline 1.5 ms -> tick 2      now 1.999 ms -> tick 1: not due
//!                                now 2.0 ms   -> tick 2: due
//! ```

use std::cell::Cell;
use std::panic::Location;
use std::rc::Rc;
use std::time::Duration;

use crate::id::{ConnectionId, ListenerId};
use crate::process::ProcessId;
use crate::reactor::Reactor;
use crate::timer::{CallState, TimerKey};

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
    ProcessPoll(ProcessId),
}

impl Reactor {
    /// Schedules an internal timer `delay` from now. O(1).
    pub(crate) fn schedule_task(&mut self, delay: Duration, task: TimerTask) -> TimerKey {
        let deadline = self.now().saturating_add(delay);
        self.timers.insert(ticks_ceil(deadline), task)
    }

    /// Runs one timer that came due, then settles.
    pub(crate) fn run_timer(&mut self, task: TimerTask) {
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
