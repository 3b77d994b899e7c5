//! Traffic logging: every byte in and out, at trace level.

use torsion::{Address, CloseReason, Ctx, Factory, Protocol, Reactor};

use super::boxed::Boxed;

/// The log target of traffic lines: enable them with
/// `RUST_LOG=torsion::traffic=trace`.
pub const TRAFFIC_TARGET: &str = "torsion::traffic";

/// Wraps a protocol and logs its traffic at trace level under
/// [`TRAFFIC_TARGET`]: Twisted's `TrafficLoggingProtocol`.
///
/// What is logged, one line each, bytes escaped as in Rust byte strings:
///
/// - `<<<`: every chunk received, as `data_received` got it;
/// - `>>>`: every write accepted for the connection, as the protocol made
///   it (before coalescing), whoever made it: the protocol's callbacks, a
///   timer, another connection. It is observed with
///   [`Ctx::set_write_tap`], installed in `connection_made` (a protocol
///   that installs its own tap replaces this one). Writes refused because
///   the connection is closing are not logged; bytes dropped by an abort
///   are logged, since they were accepted;
/// - the end-of-file from the peer, and the close with its reason.
///
/// Formatting happens only when the trace level is enabled for the target.
///
/// # Examples
///
/// ```
/// use torsion::testing::StringTransport;
/// use torsion::{Ctx, Protocol};
/// use torsion_protocols::policies::LogTraffic;
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
///         ctx.write(data);
///     }
/// }
///
/// // With RUST_LOG=torsion::traffic=trace, logs "<<< ping" and ">>> ping".
/// let mut t = StringTransport::new(LogTraffic::new(Echo));
/// t.receive(b"ping");
/// assert_eq!(t.value(), b"ping");
/// ```
pub struct LogTraffic<P> {
    inner: P,
}

impl<P: Protocol> LogTraffic<P> {
    /// Logs the traffic of `inner`.
    pub fn new(inner: P) -> Self {
        LogTraffic { inner }
    }

    /// The wrapped protocol.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The wrapped protocol, mutably.
    pub fn inner_mut(&mut self) -> &mut P {
        &mut self.inner
    }
}

impl<P: Protocol> Protocol for LogTraffic<P> {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        let id = ctx.id();
        log::trace!(target: TRAFFIC_TARGET, "{id} connected to {}", ctx.peer().map_or("?".into(), |p| p.to_string()));
        ctx.set_write_tap(Some(Box::new(move |bytes| {
            log::trace!(target: TRAFFIC_TARGET, "{id} >>> {}", bytes.escape_ascii());
        })));
        self.inner.connection_made(ctx);
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        log::trace!(target: TRAFFIC_TARGET, "{} <<< {}", ctx.id(), data.escape_ascii());
        self.inner.data_received(ctx, data);
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        log::trace!(target: TRAFFIC_TARGET, "{} <<< end of file", ctx.id());
        self.inner.read_connection_lost(ctx);
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        log::trace!(target: TRAFFIC_TARGET, "{} closed: {reason}", ctx.id());
        self.inner.connection_lost(ctx, reason);
    }

    fn pause_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.inner.pause_producing(ctx);
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.inner.resume_producing(ctx);
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }
}

/// Wraps every protocol a factory builds in [`LogTraffic`]: Twisted's
/// `TrafficLoggingFactory`.
pub struct LogTrafficFactory<F> {
    inner: F,
}

impl<F: Factory> LogTrafficFactory<F> {
    /// Logs the traffic of every connection of `inner`.
    pub fn new(inner: F) -> Self {
        LogTrafficFactory { inner }
    }
}

impl<F: Factory> Factory for LogTrafficFactory<F> {
    fn build_protocol(&mut self, reactor: &mut Reactor, peer: &Address) -> Option<Box<dyn Protocol>> {
        let protocol = self.inner.build_protocol(reactor, peer)?;
        Some(Box::new(LogTraffic::new(Boxed(protocol))))
    }

    fn start(&mut self, reactor: &mut Reactor) {
        self.inner.start(reactor);
    }

    fn stop(&mut self, reactor: &mut Reactor) {
        self.inner.stop(reactor);
    }
}
