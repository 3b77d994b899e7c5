//! The interfaces a user implements: [`Protocol`], [`Factory`], [`ClientFactory`].
//!
//! A protocol object handles exactly one connection, for as long as it lives.
//! The reactor owns it and calls it with a [`Ctx`]: the connection's transport
//! (write, close, pause...) with the whole [`Reactor`] behind it through
//! `Deref`, so a protocol can also schedule timers or open connections. There
//! is no global reactor (design rule 1).
//!
//! Calls into one protocol never nest: whatever a callback triggers on its own
//! connection (the write buffer crossing a watermark, the connection closing)
//! is delivered after the callback returns, in the order it happened.

use std::any::Any;
use std::fmt;
use std::io;
use std::sync::Arc;

use crate::address::Address;
use crate::transport::Ctx;
use crate::Reactor;

/// Why a connection ended, given to [`Protocol::connection_lost`].
#[derive(Clone, Debug)]
pub enum CloseReason {
    /// Closed cleanly: by [`Ctx::lose_connection`], or by the peer's orderly
    /// close after every byte was delivered.
    Done,
    /// The peer reset the connection or it broke (ECONNRESET, EPIPE).
    Lost,
    /// Closed at once by [`Ctx::abort_connection`]; buffered bytes were dropped.
    Aborted,
    /// Closed because a timeout expired (an idle timeout, a connect timeout).
    TimedOut,
    /// Any other I/O error.
    Io(Arc<io::Error>),
}

impl CloseReason {
    /// Whether the connection ended cleanly.
    pub fn is_clean(&self) -> bool {
        matches!(self, CloseReason::Done)
    }

    /// Classifies an error from a socket operation.
    pub(crate) fn from_io(error: io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionAborted => {
                CloseReason::Lost
            }
            io::ErrorKind::TimedOut => CloseReason::TimedOut,
            _ => CloseReason::Io(Arc::new(error)),
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Done => f.write_str("connection closed cleanly"),
            CloseReason::Lost => f.write_str("connection lost"),
            CloseReason::Aborted => f.write_str("connection aborted"),
            CloseReason::TimedOut => f.write_str("connection timed out"),
            CloseReason::Io(e) => write!(f, "connection failed: {e}"),
        }
    }
}

/// Why an outgoing connection never opened, given to
/// [`ClientFactory::client_connection_failed`].
#[derive(Clone, Debug)]
pub enum ConnectError {
    /// Nothing listens there (ECONNREFUSED, or a Unix socket path with no listener).
    Refused,
    /// The connect timeout expired first.
    TimedOut,
    /// The attempt was cancelled (aborted, or the reactor stopped).
    Cancelled,
    /// No route to the host or network.
    Unreachable,
    /// Any other I/O error.
    Io(Arc<io::Error>),
}

impl ConnectError {
    pub(crate) fn from_io(error: io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound => ConnectError::Refused,
            io::ErrorKind::TimedOut => ConnectError::TimedOut,
            io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => ConnectError::Unreachable,
            _ => ConnectError::Io(Arc::new(error)),
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Refused => f.write_str("connection refused"),
            ConnectError::TimedOut => f.write_str("connect timed out"),
            ConnectError::Cancelled => f.write_str("connect cancelled"),
            ConnectError::Unreachable => f.write_str("host unreachable"),
            ConnectError::Io(e) => write!(f, "connect failed: {e}"),
        }
    }
}

impl std::error::Error for ConnectError {}
impl std::error::Error for CloseReason {}

/// Handles the events of one stream connection.
///
/// Only [`data_received`](Protocol::data_received) must be written; every
/// other event has a sensible default.
///
/// # Examples
///
/// The seeds' uppercase server, minus the greeting:
///
/// ```
/// use torsion::{Ctx, Protocol};
///
/// struct Upper;
///
/// impl Protocol for Upper {
///     fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
///         ctx.write(&data.to_ascii_uppercase());
///     }
/// }
/// ```
pub trait Protocol: Any {
    /// The connection is open and ready for writing.
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        let _ = ctx;
    }

    /// Bytes arrived. `data` is a chunk of any size, from one byte up: a
    /// message may arrive split across calls, and one call may hold several
    /// messages. Buffer and frame it (see the receivers in `torsion-protocols`).
    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]);

    /// The peer closed its side for writing (it sent FIN): no more data will
    /// arrive, but the connection may still be written to.
    ///
    /// The default closes our side too, after everything already written is
    /// delivered, which is what a request/response server wants. A protocol
    /// that wants half-close keeps the connection open and calls
    /// [`Ctx::lose_connection`] when it is done.
    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        ctx.lose_connection();
    }

    /// The connection is closed; `reason` says how. This is the last call the
    /// protocol receives. Transport operations on `ctx` do nothing now, but the
    /// reactor behind it is fully usable.
    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        let _ = (ctx, reason);
    }

    /// The write buffer rose above its high-water mark: the peer is not
    /// keeping up. Stop producing data until
    /// [`resume_producing`](Protocol::resume_producing).
    ///
    /// The default stops reading from the peer, so a client that sends
    /// requests without reading the replies stops being served instead of
    /// growing our buffers.
    fn pause_producing(&mut self, ctx: &mut Ctx<'_>) {
        ctx.pause_reading();
    }

    /// The write buffer fell below its low-water mark: produce again.
    /// The default resumes reading.
    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        ctx.resume_reading();
    }

    /// A name for log lines (the slow-callback warning names what ran).
    fn name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

/// Builds a protocol for each connection a listener accepts.
///
/// State shared by every connection (a store, a cache, a counter) lives in
/// the factory and is handed to each protocol it builds, as the seeds
/// recommend. See [`factory_fn`] for a factory made from a closure.
pub trait Factory: 'static {
    /// Builds the protocol for a new connection from `peer`, or refuses the
    /// connection by returning `None` (it is closed at once).
    fn build_protocol(&mut self, reactor: &mut Reactor, peer: &Address) -> Option<Box<dyn Protocol>>;

    /// The factory starts serving (its listener is open).
    fn start(&mut self, reactor: &mut Reactor) {
        let _ = reactor;
    }

    /// The factory stops serving (its listener closed).
    fn stop(&mut self, reactor: &mut Reactor) {
        let _ = reactor;
    }
}

/// A [`Factory`] made from a closure; see [`factory_fn`].
pub struct FactoryFn<F>(F);

impl<F> fmt::Debug for FactoryFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FactoryFn").finish_non_exhaustive()
    }
}

/// Makes a [`Factory`] from a closure that builds each connection's protocol.
///
/// ```
/// use torsion::{factory_fn, Ctx, Protocol};
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
///         ctx.write(data);
///     }
/// }
///
/// let factory = factory_fn(|_reactor, _peer| Some(Box::new(Echo) as Box<dyn Protocol>));
/// # let _ = factory;
/// ```
pub fn factory_fn<F>(build: F) -> FactoryFn<F>
where
    F: FnMut(&mut Reactor, &Address) -> Option<Box<dyn Protocol>> + 'static,
{
    FactoryFn(build)
}

impl<F> Factory for FactoryFn<F>
where
    F: FnMut(&mut Reactor, &Address) -> Option<Box<dyn Protocol>> + 'static,
{
    fn build_protocol(&mut self, reactor: &mut Reactor, peer: &Address) -> Option<Box<dyn Protocol>> {
        (self.0)(reactor, peer)
    }
}

/// Builds the protocol of an outgoing connection and hears how it ends.
pub trait ClientFactory: 'static {
    /// The connection to `peer` is open: build its protocol.
    fn build_protocol(&mut self, reactor: &mut Reactor, peer: &Address) -> Box<dyn Protocol>;

    /// The connection could not be made.
    fn client_connection_failed(&mut self, reactor: &mut Reactor, error: ConnectError) {
        let _ = (reactor, error);
    }

    /// The connection was made and has now closed (after the protocol's
    /// `connection_lost`).
    fn client_connection_lost(&mut self, reactor: &mut Reactor, reason: CloseReason) {
        let _ = (reactor, reason);
    }
}

type FailureHook = Box<dyn FnOnce(&mut Reactor, ConnectError)>;

/// A [`ClientFactory`] for one connection whose protocol is already built.
///
/// Failures are passed to the closure given with
/// [`OneShot::on_failure`]; by default they are logged.
pub struct OneShot {
    protocol: Option<Box<dyn Protocol>>,
    on_failure: Option<FailureHook>,
}

impl fmt::Debug for OneShot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneShot")
            .field("protocol", &self.protocol.as_ref().map(|p| p.name()))
            .finish_non_exhaustive()
    }
}

impl OneShot {
    /// A factory that hands out `protocol` to its one connection.
    pub fn new(protocol: impl Protocol) -> Self {
        OneShot {
            protocol: Some(Box::new(protocol)),
            on_failure: None,
        }
    }

    /// Calls `f` if the connection cannot be made.
    pub fn on_failure(mut self, f: impl FnOnce(&mut Reactor, ConnectError) + 'static) -> Self {
        self.on_failure = Some(Box::new(f));
        self
    }
}

impl ClientFactory for OneShot {
    fn build_protocol(&mut self, _reactor: &mut Reactor, _peer: &Address) -> Box<dyn Protocol> {
        self.protocol.take().unwrap_or_else(|| Box::new(Discard))
    }

    fn client_connection_failed(&mut self, reactor: &mut Reactor, error: ConnectError) {
        match self.on_failure.take() {
            Some(f) => f(reactor, error),
            None => log::warn!("connection failed: {error}"),
        }
    }
}

/// A protocol that ignores everything it receives.
#[derive(Debug)]
pub struct Discard;

impl Protocol for Discard {
    fn data_received(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) {}
}

/// Why [`Reactor::with_protocol`](crate::Reactor::with_protocol) could not lend a protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolAccessError {
    /// The connection is closed (or the handle is stale).
    Gone,
    /// The protocol is running one of its own callbacks right now.
    Busy,
    /// The protocol is not of the requested type.
    WrongType,
}

impl std::fmt::Display for ProtocolAccessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProtocolAccessError::Gone => "the connection is closed",
            ProtocolAccessError::Busy => "the protocol is inside one of its own callbacks",
            ProtocolAccessError::WrongType => "the protocol is of another type",
        })
    }
}

impl std::error::Error for ProtocolAccessError {}
