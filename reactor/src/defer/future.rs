//! Awaiting a Deferred: `impl Future for Deferred<T>`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::deferred::State;
use super::error::ResultTaken;
use super::{Deferred, Failure};

/// A Deferred is a future of its result. Awaiting it waits until it has
/// fired *and* its callbacks have run, then takes the result: like `then`,
/// this hands the result on, so callbacks added afterwards never run.
///
/// Awaiting happens in a task run by the reactor's local executor
/// ([`Reactor::spawn_local`](crate::Reactor::spawn_local),
/// [`Reactor::run_until_complete`](crate::Reactor::run_until_complete)).
///
/// # Examples
///
/// ```
/// use torsion::{defer::succeed, Reactor};
///
/// let mut reactor = Reactor::new()?;
/// let n = reactor.run_until_complete(async {
///     let n: u32 = succeed(41).await.expect("it succeeded");
///     n + 1
/// })?;
/// assert_eq!(n, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
impl<T: 'static> Future for Deferred<T> {
    type Output = Result<T, Failure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = self.inner.borrow_mut();
        match &inner.state {
            State::HandedOn => return Poll::Ready(Err(Failure::new(ResultTaken))),
            State::Ready(_) if inner.chain_idle() => {
                if let State::Ready(result) = std::mem::replace(&mut inner.state, State::HandedOn) {
                    inner.waker = None;
                    return Poll::Ready(result);
                }
            }
            _ => {}
        }
        match &inner.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => inner.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}
