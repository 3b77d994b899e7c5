//! [`Step`] and [`IntoStep`]: what a callback may return.

use super::{Deferred, Failure};

/// What a callback hands to the next one: a result now, or a Deferred to
/// wait for.
///
/// Callbacks rarely name it: they return `Ok(value)`, `Err(failure)` (or use
/// `?`), or a `Deferred`, and [`IntoStep`] turns each into a `Step`. Name it
/// when one callback returns a value on one branch and a Deferred on another,
/// as the seeds' `getCachedPage` does.
///
/// # Examples
///
/// ```
/// use torsion::defer::{Deferred, Step};
///
/// fn cached_or_fetch(cached: Option<String>, fetch: Deferred<String>) -> Step<String> {
///     match cached {
///         Some(page) => Step::Done(Ok(page)),
///         None => Step::Wait(fetch),
///     }
/// }
/// # let _ = cached_or_fetch;
/// ```
#[derive(Debug)]
pub enum Step<T: 'static> {
    /// The result, now.
    Done(Result<T, super::Failure>),
    /// Wait for this Deferred and go on with its result.
    Wait(Deferred<T>),
}

/// Anything a callback may return: `Result<T, Failure>`, `Deferred<T>`, or
/// a [`Step<T>`].
pub trait IntoStep<T: 'static> {
    /// Converts into a [`Step`].
    fn into_step(self) -> Step<T>;
}

impl<T: 'static> IntoStep<T> for Result<T, Failure> {
    fn into_step(self) -> Step<T> {
        Step::Done(self)
    }
}

impl<T: 'static> IntoStep<T> for Deferred<T> {
    fn into_step(self) -> Step<T> {
        Step::Wait(self)
    }
}

impl<T: 'static> IntoStep<T> for Step<T> {
    fn into_step(self) -> Step<T> {
        self
    }
}
