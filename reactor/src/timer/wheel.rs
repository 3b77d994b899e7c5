//! The hierarchical timing wheel (placeholder, see issue 2).

/// Names one timer in a [`Wheel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerKey {
    index: u32,
    generation: u32,
}

/// A hierarchical timing wheel.
#[derive(Debug, Default)]
pub struct Wheel<T> {
    _entries: Vec<T>,
    _key: Option<TimerKey>,
}
