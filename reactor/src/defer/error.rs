//! The errors Deferreds themselves produce.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use super::Failure;

/// A Deferred was fired a second time ([`Deferred::callback`](crate::Deferred::callback)
/// or [`errback`](crate::Deferred::errback) after it already had a result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlreadyCalled;

impl fmt::Display for AlreadyCalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the Deferred was already fired")
    }
}

impl Error for AlreadyCalled {}

/// The Deferred was cancelled (Twisted's `CancelledError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the Deferred was cancelled")
    }
}

impl Error for Cancelled {}

/// [`Deferred::add_timeout`](crate::Deferred::add_timeout) cancelled the
/// Deferred because it did not fire in time (Twisted's `TimeoutError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedOut {
    /// The timeout that expired.
    pub after: Duration,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timed out after {:?}", self.after)
    }
}

impl Error for TimedOut {}

/// One Deferred of a [`DeferredList`](crate::DeferredList) (with
/// `fire_on_one_errback`) or of [`gather_results`](crate::defer::gather_results)
/// failed: which one, and how.
#[derive(Clone, Debug)]
pub struct FirstError {
    /// The position of the failed Deferred in the list.
    pub index: usize,
    /// Its failure.
    pub failure: Failure,
}

impl fmt::Display for FirstError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Deferred #{} of the list failed", self.index)
    }
}

impl Error for FirstError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.failure.error())
    }
}

/// Every Deferred given to [`race`](crate::defer::race) failed.
#[derive(Clone, Debug)]
pub struct FailureGroup {
    /// The failures, in the order the Deferreds were given.
    pub failures: Vec<Failure>,
}

impl fmt::Display for FailureGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "all {} Deferreds failed", self.failures.len())?;
        for (i, failure) in self.failures.iter().enumerate() {
            write!(f, "; #{i}: {failure}")?;
        }
        Ok(())
    }
}

impl Error for FailureGroup {}

/// A callback returned the very Deferred it was added to: it would wait on
/// itself forever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainedToItself;

impl fmt::Display for ChainedToItself {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a callback returned the Deferred it belongs to")
    }
}

impl Error for ChainedToItself {}

/// The result of a Deferred was asked for after it had been handed on (to
/// another Deferred, a list, or an `await` that already took it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResultTaken;

impl fmt::Display for ResultTaken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the Deferred's result was already handed on")
    }
}

impl Error for ResultTaken {}
