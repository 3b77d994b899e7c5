//! Making Deferreds from values, errors, functions and time.

use std::panic::Location;
use std::time::Duration;

use super::deferred::State;
use super::step::{IntoStep, Step};
use super::{Deferred, Failure};
use crate::reactor::Reactor;

/// A Deferred that already holds `value` (Twisted's `defer.succeed`): its
/// callbacks run as soon as they are added.
///
/// # Examples
///
/// The seeds' caching proxy answers from its cache with a "primed" Deferred,
/// so callers add callbacks without caring where the page came from:
///
/// ```
/// use std::collections::HashMap;
/// use torsion::{defer::succeed, Deferred, Reactor};
///
/// fn get_cached_page(cache: &HashMap<String, String>, url: &str) -> Deferred<String> {
///     match cache.get(url) {
///         Some(page) => succeed(page.clone()),
///         None => Deferred::new(), // a real fetch would go here
///     }
/// }
///
/// let mut reactor = Reactor::new()?;
/// let cache = HashMap::from([("http://a".to_string(), "A".to_string())]);
/// get_cached_page(&cache, "http://a").add_callback(&mut reactor, |_, page| {
///     assert_eq!(page, "A");
///     Ok(page)
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn succeed<T: 'static>(value: T) -> Deferred<T> {
    Deferred::with_state(State::Ready(Ok(value)), Location::caller())
}

/// A Deferred that already holds `failure` (Twisted's `defer.fail`). Add an
/// errback: if it is dropped without one, or a chain ends on it, the
/// failure is logged.
#[track_caller]
pub fn fail<T: 'static>(failure: impl Into<Failure>) -> Deferred<T> {
    Deferred::with_state(State::Ready(Err(failure.into())), Location::caller())
}

/// Calls `f` and makes a Deferred of whatever it returns: a value or a
/// failure becomes an already-fired Deferred, a Deferred is returned as it
/// is (Twisted's `maybeDeferred`), so callers treat synchronous and
/// asynchronous results alike.
///
/// # Examples
///
/// ```
/// use torsion::{defer::maybe_deferred, Failure, Reactor};
///
/// let mut reactor = Reactor::new()?;
/// let d = maybe_deferred(&mut reactor, |_| "42".parse::<u32>().map_err(Failure::from));
/// d.add_callback(&mut reactor, |_, n| {
///     assert_eq!(n, 42);
///     Ok(n)
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn maybe_deferred<T: 'static, R: IntoStep<T>>(
    reactor: &mut Reactor,
    f: impl FnOnce(&mut Reactor) -> R,
) -> Deferred<T> {
    let site = Location::caller();
    match f(reactor).into_step() {
        Step::Done(result) => Deferred::with_state(State::Ready(result), site),
        Step::Wait(d) => d,
    }
}

/// A Deferred that fires with `()` after `delay` (Twisted's `deferLater`
/// without a function). Cancelling it cancels the timer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::{defer::sleep, testing::Clock, Reactor};
///
/// let clock = Clock::new();
/// let mut reactor = Reactor::with_clock(clock.clone())?;
/// let d = sleep(&mut reactor, Duration::from_secs(3));
/// clock.advance(Duration::from_secs(3));
/// reactor.iterate(Some(Duration::ZERO))?;
/// assert!(d.called());
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn sleep(reactor: &mut Reactor, delay: Duration) -> Deferred<()> {
    defer_later(reactor, delay, |_| Ok(()))
}

/// Runs `f` after `delay` and fires the returned Deferred with its result
/// (Twisted's `deferLater`). Cancelling the Deferred before then cancels
/// the call.
#[track_caller]
pub fn defer_later<T: 'static, R: IntoStep<T>>(
    reactor: &mut Reactor,
    delay: Duration,
    f: impl FnOnce(&mut Reactor) -> R + 'static,
) -> Deferred<T> {
    let site = Location::caller();
    let d = Deferred::with_state(State::Pending, site);
    let target = d.clone();
    let call = reactor.call_later(delay, move |r| match f(r).into_step() {
        Step::Done(result) => {
            let _ = target.fire(r, result);
        }
        Step::Wait(inner) => target.follow_from_pending(r, inner),
    });
    d.set_canceller(move |r, _| {
        let _ = call.cancel(r);
    });
    d
}
