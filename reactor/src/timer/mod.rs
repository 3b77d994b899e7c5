//! Timers: a hierarchical timing wheel and the calls scheduled on it.
//!
//! [`Reactor::call_later`](crate::Reactor::call_later) schedules a closure and
//! returns a [`DelayedCall`] that can cancel, reset or delay it;
//! [`LoopingCall`] runs one repeatedly. Both sit on the [`Wheel`], whose
//! insert and cancel cost O(1) whatever the number of timers pending.

mod delayed;
mod level;
mod looping;
mod task;
pub mod wheel;

pub use delayed::{CallState, DelayedCall, TimerError};
pub use looping::LoopingCall;
pub(crate) use task::{ticks_floor, TimerTask};
pub use wheel::{TimerKey, Wheel};
