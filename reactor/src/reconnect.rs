//! A client that stays connected: reconnects with exponential backoff and
//! jitter, and hands out "when connected" Deferreds (Twisted's
//! `ClientService`).

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::panic::Location;
use std::rc::{Rc, Weak};
use std::time::Duration;

use crate::defer::{Deferred, Failure};
use crate::endpoint::{ClientEndpoint, ProtocolHandle};
use crate::{Address, ClientFactory, CloseReason, ConnectionId, DelayedCall, Protocol, Reactor};

/// How long to wait before each reconnection attempt.
///
/// After `n` consecutive failures the wait is `initial * factor^n`, capped
/// at `max`, then shortened by a random fraction up to `jitter` (so many
/// clients of one server do not all come back at the same instant).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The wait after a lost connection or a first failure.
    pub initial: Duration,
    /// How much each consecutive failure multiplies the wait.
    pub factor: f64,
    /// The longest wait.
    pub max: Duration,
    /// The largest fraction taken off a wait at random (0: none, 1: up to all).
    pub jitter: f64,
    /// Give up after this many consecutive failed attempts (`None`: never).
    pub max_retries: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            factor: 1.5,
            max: Duration::from_secs(60),
            jitter: 0.2,
            max_retries: None,
        }
    }
}

impl Backoff {
    /// The wait after `failures` consecutive failures, for a random `unit`
    /// in `[0, 1)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use torsion::reconnect::Backoff;
    ///
    /// let b = Backoff { initial: Duration::from_secs(1), factor: 2.0, max: Duration::from_secs(5), jitter: 0.0, max_retries: None };
    /// let waits: Vec<u64> = (0..5).map(|n| b.delay(n, 0.5).as_secs()).collect();
    /// assert_eq!(waits, [1, 2, 4, 5, 5]);
    /// ```
    pub fn delay(&self, failures: u32, unit: f64) -> Duration {
        let exponent = failures.min(1024) as i32;
        let raw = self.initial.as_secs_f64() * self.factor.max(1.0).powi(exponent);
        let capped = raw.min(self.max.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        Duration::try_from_secs_f64(capped * (1.0 - jitter)).unwrap_or(self.max)
    }
}

/// Where a [`ReconnectingService`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceState {
    /// An attempt is in progress.
    Connecting,
    /// Connected on this connection.
    Connected(ConnectionId),
    /// Waiting before the next attempt.
    Waiting,
    /// Gave up after too many failures.
    GaveUp,
    /// Stopped by [`ReconnectingService::stop`].
    Stopped,
}

/// Why a "when connected" Deferred failed.
#[derive(Clone, Debug)]
pub enum ReconnectError {
    /// `max_retries` consecutive attempts failed; the last failure is kept.
    GaveUp {
        /// Attempts made in a row.
        attempts: u32,
        /// How the last one failed.
        last: Failure,
    },
    /// The attempts a [`when_connected_or_fail_after`] Deferred was
    /// willing to wait for failed; the service goes on trying.
    ///
    /// [`when_connected_or_fail_after`]: ReconnectingService::when_connected_or_fail_after
    Failed {
        /// Attempts that failed while this Deferred waited.
        attempts: u32,
        /// How the last one failed.
        last: Failure,
    },
    /// The service was stopped.
    Stopped,
}

impl fmt::Display for ReconnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReconnectError::GaveUp { attempts, last } => {
                write!(f, "gave up after {attempts} attempts; last: {last}")
            }
            ReconnectError::Failed { attempts, last } => {
                write!(f, "{attempts} connection attempts failed; last: {last}")
            }
            ReconnectError::Stopped => f.write_str("the reconnecting service was stopped"),
        }
    }
}

impl std::error::Error for ReconnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReconnectError::GaveUp { last, .. } | ReconnectError::Failed { last, .. } => Some(last.error()),
            ReconnectError::Stopped => None,
        }
    }
}

type MakeProtocol<P> = Box<dyn FnMut(&mut Reactor) -> P>;

/// A "when connected" Deferred, and how many more failed attempts it waits
/// through (`None`: as many as it takes).
struct Waiter<P: Protocol> {
    done: Deferred<ProtocolHandle<P>>,
    failures_left: Option<u32>,
    failed: u32,
}

struct Inner<P: Protocol> {
    endpoint: ClientEndpoint,
    make: Option<MakeProtocol<P>>,
    policy: Backoff,
    state: ServiceState,
    /// Consecutive failed attempts.
    failures: u32,
    /// Attempts made in all.
    attempts: u64,
    waiters: Vec<Waiter<P>>,
    timer: Option<DelayedCall>,
    attempt: Option<Deferred<()>>,
    rng: u64,
    site: &'static Location<'static>,
}

/// A client connection kept open: connects through `endpoint`, and when the
/// connection fails or is lost, tries again after a [`Backoff`] wait.
///
/// It is a handle (clones share the service). The protocol of each
/// connection is built by the closure given to
/// [`start`](ReconnectingService::start); callbacks reach it through
/// [`when_connected`](ReconnectingService::when_connected).
///
/// # Examples
///
/// ```no_run
/// use torsion::endpoint::ClientEndpoint;
/// use torsion::reconnect::{Backoff, ReconnectingService};
/// use torsion::{Discard, Reactor};
///
/// let mut reactor = Reactor::new()?;
/// let service = ReconnectingService::start(
///     &mut reactor,
///     ClientEndpoint::tcp("127.0.0.1", 11211),
///     Backoff::default(),
///     |_| Discard,
/// );
/// service.when_connected(&mut reactor).add_callback(&mut reactor, |r, conn| {
///     r.transport(conn.id()).write(b"version\r\n");
///     Ok(conn)
/// });
/// reactor.run()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ReconnectingService<P: Protocol> {
    inner: Rc<RefCell<Inner<P>>>,
}

impl<P: Protocol> fmt::Debug for ReconnectingService<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.try_borrow();
        f.debug_struct("ReconnectingService")
            .field("state", &inner.as_ref().ok().map(|inner| inner.state))
            .finish_non_exhaustive()
    }
}

impl<P: Protocol> Clone for ReconnectingService<P> {
    fn clone(&self) -> Self {
        ReconnectingService {
            inner: self.inner.clone(),
        }
    }
}

impl<P: Protocol> ReconnectingService<P> {
    /// Starts connecting now.
    #[track_caller]
    pub fn start(
        reactor: &mut Reactor,
        endpoint: ClientEndpoint,
        policy: Backoff,
        make: impl FnMut(&mut Reactor) -> P + 'static,
    ) -> Self {
        let seed = RandomState::new().build_hasher().finish() | 1;
        let service = ReconnectingService {
            inner: Rc::new(RefCell::new(Inner {
                endpoint,
                make: Some(Box::new(make)),
                policy,
                state: ServiceState::Connecting,
                failures: 0,
                attempts: 0,
                waiters: Vec::new(),
                timer: None,
                attempt: None,
                rng: seed,
                site: Location::caller(),
            })),
        };
        service.connect(reactor);
        service
    }

    /// A Deferred of the connected protocol: fired at once if connected
    /// now, else on the next successful connection. Fails with
    /// [`ReconnectError`] if the service gives up or is stopped.
    #[track_caller]
    pub fn when_connected(&self, reactor: &mut Reactor) -> Deferred<ProtocolHandle<P>> {
        self.wait_connected(reactor, None)
    }

    /// Like [`when_connected`](ReconnectingService::when_connected), but
    /// fails with [`ReconnectError::Failed`] once `failures` connection
    /// attempts have failed while it waits (Twisted's
    /// `whenConnected(failAfterFailures=n)`). With 1, it waits for the
    /// attempt in progress, or the next one, and no longer: what a caller
    /// that would rather report "unreachable" than wait uses. The service
    /// goes on trying either way; `failures` of 0 counts as 1.
    #[track_caller]
    pub fn when_connected_or_fail_after(
        &self,
        reactor: &mut Reactor,
        failures: u32,
    ) -> Deferred<ProtocolHandle<P>> {
        self.wait_connected(reactor, Some(failures.max(1)))
    }

    #[track_caller]
    fn wait_connected(
        &self,
        reactor: &mut Reactor,
        failures_left: Option<u32>,
    ) -> Deferred<ProtocolHandle<P>> {
        let d = Deferred::new();
        let state = self.inner.borrow().state;
        match state {
            ServiceState::Connected(id) => {
                let _ = d.callback(reactor, ProtocolHandle::new(id));
            }
            ServiceState::Stopped => {
                let _ = d.errback(reactor, ReconnectError::Stopped);
            }
            ServiceState::GaveUp => {
                let _ = d.errback(reactor, Failure::msg("the reconnecting service gave up"));
            }
            ServiceState::Connecting | ServiceState::Waiting => {
                self.inner.borrow_mut().waiters.push(Waiter {
                    done: d.clone(),
                    failures_left,
                    failed: 0,
                })
            }
        }
        d
    }

    /// Where the service is.
    pub fn state(&self) -> ServiceState {
        self.inner.borrow().state
    }

    /// Connection attempts made so far.
    pub fn attempts(&self) -> u64 {
        self.inner.borrow().attempts
    }

    /// Stops: no more attempts, the connection (if any) is closed, and
    /// pending `when_connected` Deferreds fail with [`ReconnectError::Stopped`].
    pub fn stop(&self, reactor: &mut Reactor) {
        let (timer, attempt, state, waiters) = {
            let mut inner = self.inner.borrow_mut();
            let state = std::mem::replace(&mut inner.state, ServiceState::Stopped);
            (
                inner.timer.take(),
                inner.attempt.take(),
                state,
                std::mem::take(&mut inner.waiters),
            )
        };
        if let Some(timer) = timer {
            let _ = timer.cancel(reactor);
        }
        if let Some(attempt) = attempt {
            attempt.cancel(reactor);
        }
        if let ServiceState::Connected(id) = state {
            reactor.transport(id).lose_connection();
        }
        for waiter in waiters {
            let _ = waiter.done.errback(reactor, ReconnectError::Stopped);
        }
    }

    fn connect(&self, reactor: &mut Reactor) {
        let (endpoint, site) = {
            let mut inner = self.inner.borrow_mut();
            if inner.state == ServiceState::Stopped {
                return;
            }
            inner.state = ServiceState::Connecting;
            inner.attempts += 1;
            inner.timer = None;
            (inner.endpoint.clone(), inner.site)
        };
        let factory: Rc<RefCell<dyn ClientFactory>> = Rc::new(RefCell::new(ServiceFactory {
            service: Rc::downgrade(&self.inner),
        }));
        let service = self.clone();
        let attempt = endpoint
            .connect_shared(reactor, factory, site)
            .then_both(reactor, move |r, result| {
                service.attempt_done(r, result);
                Ok(())
            });
        self.inner.borrow_mut().attempt = Some(attempt);
    }

    fn attempt_done(&self, reactor: &mut Reactor, result: Result<ConnectionId, Failure>) {
        if self.inner.borrow().state != ServiceState::Connecting {
            return; // stopped meanwhile
        }
        match result {
            Ok(id) => {
                let waiters = {
                    let mut inner = self.inner.borrow_mut();
                    inner.attempt = None;
                    inner.failures = 0;
                    inner.state = ServiceState::Connected(id);
                    std::mem::take(&mut inner.waiters)
                };
                for waiter in waiters {
                    let _ = waiter.done.callback(reactor, ProtocolHandle::new(id));
                }
            }
            Err(failure) => {
                let give_up = {
                    let mut inner = self.inner.borrow_mut();
                    inner.attempt = None;
                    inner.failures += 1;
                    inner.policy.max_retries.is_some_and(|max| inner.failures > max)
                };
                log::debug!("reconnecting service: attempt failed: {failure}");
                if give_up {
                    let (attempts, waiters) = {
                        let mut inner = self.inner.borrow_mut();
                        inner.state = ServiceState::GaveUp;
                        (inner.failures, std::mem::take(&mut inner.waiters))
                    };
                    log::warn!("reconnecting service gave up after {attempts} attempts: {failure}");
                    for waiter in waiters {
                        let error = ReconnectError::GaveUp {
                            attempts,
                            last: failure.clone(),
                        };
                        let _ = waiter.done.errback(reactor, error);
                    }
                } else {
                    self.fail_impatient_waiters(reactor, &failure);
                    self.retry_later(reactor);
                }
            }
        }
    }

    /// One more attempt failed: fail the waiters that waited long enough,
    /// and forget those that were cancelled meanwhile (a timeout).
    fn fail_impatient_waiters(&self, reactor: &mut Reactor, failure: &Failure) {
        let done = {
            let mut inner = self.inner.borrow_mut();
            let mut done = Vec::new();
            inner.waiters.retain_mut(|waiter| {
                if waiter.done.called() {
                    return false;
                }
                waiter.failed += 1;
                match &mut waiter.failures_left {
                    Some(1) => {
                        done.push((waiter.done.clone(), waiter.failed));
                        false
                    }
                    Some(n) => {
                        *n -= 1;
                        true
                    }
                    None => true,
                }
            });
            done
        };
        for (waiter, attempts) in done {
            let error = ReconnectError::Failed {
                attempts,
                last: failure.clone(),
            };
            let _ = waiter.errback(reactor, error);
        }
    }

    fn connection_lost(&self, reactor: &mut Reactor) {
        let connected = matches!(self.inner.borrow().state, ServiceState::Connected(_));
        if connected {
            self.inner.borrow_mut().failures = 0;
            self.retry_later(reactor);
        }
    }

    fn retry_later(&self, reactor: &mut Reactor) {
        let delay = {
            let mut inner = self.inner.borrow_mut();
            inner.state = ServiceState::Waiting;
            // xorshift64: enough randomness for jitter, no dependency.
            inner.rng ^= inner.rng << 13;
            inner.rng ^= inner.rng >> 7;
            inner.rng ^= inner.rng << 17;
            let unit = (inner.rng >> 11) as f64 / (1u64 << 53) as f64;
            inner.policy.delay(inner.failures, unit)
        };
        log::debug!("reconnecting in {delay:?}");
        let service = self.clone();
        let timer = reactor.call_later(delay, move |r| service.connect(r));
        self.inner.borrow_mut().timer = Some(timer);
    }
}

/// Builds each connection's protocol and reports lost connections.
struct ServiceFactory<P: Protocol> {
    service: Weak<RefCell<Inner<P>>>,
}

impl<P: Protocol> ClientFactory for ServiceFactory<P> {
    fn build_protocol(&mut self, reactor: &mut Reactor, _peer: &Address) -> Box<dyn Protocol> {
        let Some(inner) = self.service.upgrade() else {
            return Box::new(crate::Discard);
        };
        // The closure is taken out while it runs, so it may use the service.
        let make = inner.borrow_mut().make.take();
        match make {
            Some(mut make) => {
                let protocol = make(reactor);
                inner.borrow_mut().make = Some(make);
                Box::new(protocol)
            }
            None => Box::new(crate::Discard),
        }
    }

    fn client_connection_lost(&mut self, reactor: &mut Reactor, _reason: CloseReason) {
        if let Some(inner) = self.service.upgrade() {
            ReconnectingService { inner }.connection_lost(reactor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_only_shortens_and_stays_in_bounds() {
        let b = Backoff {
            initial: Duration::from_secs(2),
            factor: 3.0,
            max: Duration::from_secs(30),
            jitter: 0.5,
            max_retries: None,
        };
        for n in 0..10 {
            let full = b.delay(n, 0.0);
            for unit in [0.0, 0.25, 0.5, 0.999] {
                let d = b.delay(n, unit);
                assert!(d <= full && d >= full / 2, "{n} {unit}: {d:?} vs {full:?}");
            }
        }
        assert_eq!(b.delay(100, 0.0), Duration::from_secs(30));
        assert_eq!(b.delay(u32::MAX, 0.0), Duration::from_secs(30));
    }
}
