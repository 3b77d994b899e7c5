//! Timers: a hierarchical timing wheel and the calls scheduled on it.

mod level;
pub mod wheel;

pub use wheel::{TimerKey, Wheel};
