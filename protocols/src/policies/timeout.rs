//! Idle timeouts: close a connection on which nothing happened for a while.

use std::time::Duration;

use torsion::{Address, CloseReason, Ctx, DelayedCall, Factory, Protocol, Reactor};

use super::boxed::Boxed;

/// One connection's idle timer: Twisted's `TimeoutMixin`, as a value a
/// protocol embeds.
///
/// [`start`](IdleTimer::start) it in `connection_made`,
/// [`reset`](IdleTimer::reset) it on traffic, [`cancel`](IdleTimer::cancel)
/// it in `connection_lost`. If it expires, the connection is aborted with
/// [`CloseReason::TimedOut`], which the protocol sees in `connection_lost`
/// (abort drops unsent bytes: a protocol that wants to say goodbye first
/// sets a timer of its own). Each reset reschedules one timer on the wheel,
/// O(1).
///
/// [`IdleTimeout`] wraps any protocol with one.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::testing::StringTransport;
/// use torsion::{CloseReason, Ctx, Protocol};
/// use torsion_protocols::policies::IdleTimer;
///
/// struct Chat {
///     idle: IdleTimer,
/// }
///
/// impl Protocol for Chat {
///     fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
///         self.idle.start(ctx);
///     }
///     fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
///         self.idle.reset(ctx);
///         ctx.write(data);
///     }
///     fn connection_lost(&mut self, ctx: &mut Ctx<'_>, _reason: CloseReason) {
///         self.idle.cancel(ctx);
///     }
/// }
///
/// let mut t = StringTransport::new(Chat { idle: IdleTimer::new(Duration::from_secs(30)) });
/// t.advance(Duration::from_secs(20));
/// t.receive(b"still here");
/// t.advance(Duration::from_secs(20));
/// assert!(!t.disconnected());
/// t.advance(Duration::from_secs(10));
/// assert!(matches!(t.close_reason(), Some(CloseReason::TimedOut)));
/// ```
#[derive(Debug)]
pub struct IdleTimer {
    period: Option<Duration>,
    call: Option<DelayedCall>,
}

impl IdleTimer {
    /// A timer that expires after `period` without traffic (not started).
    pub fn new(period: Duration) -> Self {
        IdleTimer {
            period: Some(period),
            call: None,
        }
    }

    /// The period, or `None` if the timeout is off.
    pub fn period(&self) -> Option<Duration> {
        self.period
    }

    /// Whether the timer is running.
    pub fn is_running(&self) -> bool {
        self.call.as_ref().is_some_and(DelayedCall::active)
    }

    /// Starts (or restarts) the countdown for `ctx`'s connection.
    pub fn start(&mut self, ctx: &mut Ctx<'_>) {
        let Some(period) = self.period else {
            return;
        };
        if let Some(call) = self.call.as_ref().filter(|c| c.active()) {
            let _ = call.reset(ctx, period);
            return;
        }
        let id = ctx.id();
        self.call = Some(ctx.call_later(period, move |reactor: &mut Reactor| {
            log::debug!("{id}: idle for {period:?}; closing");
            reactor.transport(id).abort_with(CloseReason::TimedOut);
        }));
    }

    /// Traffic: the countdown starts over, if it is running.
    pub fn reset(&mut self, reactor: &mut Reactor) {
        if let (Some(call), Some(period)) = (&self.call, self.period) {
            if call.active() {
                let _ = call.reset(reactor, period);
            }
        }
    }

    /// Changes the period (`None` turns the timeout off) and returns the
    /// old one, as Twisted's `setTimeout`. A running countdown starts over
    /// with the new period.
    pub fn set_period(&mut self, ctx: &mut Ctx<'_>, period: Option<Duration>) -> Option<Duration> {
        let old = std::mem::replace(&mut self.period, period);
        if self.is_running() {
            match period {
                Some(_) => self.start(ctx),
                None => self.cancel(ctx),
            }
        }
        old
    }

    /// Stops the countdown.
    pub fn cancel(&mut self, reactor: &mut Reactor) {
        if let Some(call) = self.call.take() {
            let _ = call.cancel(reactor);
        }
    }
}

/// Wraps a protocol with an [`IdleTimer`]: the connection is aborted with
/// [`CloseReason::TimedOut`] after `period` without traffic.
///
/// Traffic is bytes received, and the write buffer draining below its
/// low-water mark (the peer is reading a long reply). Writes alone do not
/// count: a peer that sends nothing while we talk to it is idle as far as
/// this policy knows.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::testing::StringTransport;
/// use torsion::{CloseReason, Discard};
/// use torsion_protocols::policies::IdleTimeout;
///
/// let mut t = StringTransport::new(IdleTimeout::new(Discard, Duration::from_secs(5)));
/// t.advance(Duration::from_secs(4));
/// t.receive(b"x");
/// t.advance(Duration::from_secs(4));
/// assert!(!t.disconnected());
/// t.advance(Duration::from_secs(1));
/// assert!(matches!(t.close_reason(), Some(CloseReason::TimedOut)));
/// ```
pub struct IdleTimeout<P> {
    inner: P,
    timer: IdleTimer,
}

impl<P: Protocol> IdleTimeout<P> {
    /// Wraps `inner`; the countdown starts when the connection is made.
    pub fn new(inner: P, period: Duration) -> Self {
        IdleTimeout {
            inner,
            timer: IdleTimer::new(period),
        }
    }

    /// The wrapped protocol.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The wrapped protocol, mutably.
    pub fn inner_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// The timer (to change its period, say).
    pub fn timer_mut(&mut self) -> &mut IdleTimer {
        &mut self.timer
    }
}

impl<P: Protocol> Protocol for IdleTimeout<P> {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        self.timer.start(ctx);
        self.inner.connection_made(ctx);
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        self.timer.reset(ctx);
        self.inner.data_received(ctx, data);
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        self.inner.read_connection_lost(ctx);
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        self.timer.cancel(ctx);
        self.inner.connection_lost(ctx, reason);
    }

    fn pause_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.inner.pause_producing(ctx);
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.timer.reset(ctx);
        self.inner.resume_producing(ctx);
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }
}

/// Wraps every protocol a factory builds in an [`IdleTimeout`]: Twisted's
/// `TimeoutFactory`.
pub struct IdleTimeoutFactory<F> {
    inner: F,
    period: Duration,
}

impl<F: Factory> IdleTimeoutFactory<F> {
    /// Times out the connections of `inner` after `period` without traffic.
    pub fn new(inner: F, period: Duration) -> Self {
        IdleTimeoutFactory { inner, period }
    }
}

impl<F: Factory> Factory for IdleTimeoutFactory<F> {
    fn build_protocol(&mut self, reactor: &mut Reactor, peer: &Address) -> Option<Box<dyn Protocol>> {
        let protocol = self.inner.build_protocol(reactor, peer)?;
        Some(Box::new(IdleTimeout::new(Boxed(protocol), self.period)))
    }

    fn start(&mut self, reactor: &mut Reactor) {
        self.inner.start(reactor);
    }

    fn stop(&mut self, reactor: &mut Reactor) {
        self.inner.stop(reactor);
    }
}
