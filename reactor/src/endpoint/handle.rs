//! [`ProtocolHandle`]: a typed name for a connected protocol.

use std::fmt;
use std::marker::PhantomData;

use crate::{ConnectionId, Ctx, Protocol, ProtocolAccessError, Reactor};

/// The handle of a connection whose protocol is a `P`, as client endpoints
/// hand it back. It is `Copy`, like [`ConnectionId`]; the reactor owns the
/// protocol, and [`with`](ProtocolHandle::with) lends it out.
///
/// # Examples
///
/// ```no_run
/// use torsion::endpoint::{ClientEndpoint, ProtocolHandle};
/// use torsion::{Ctx, Protocol, Reactor};
///
/// struct Client { sent: usize }
/// impl Protocol for Client {
///     fn data_received(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) {}
/// }
/// impl Client {
///     fn send(&mut self, ctx: &mut Ctx<'_>, line: &str) {
///         ctx.write(line.as_bytes());
///         self.sent += 1;
///     }
/// }
///
/// let mut reactor = Reactor::new()?;
/// let endpoint: ClientEndpoint = "tcp:host=127.0.0.1:port=8000".parse().expect("valid");
/// endpoint
///     .connect_protocol(&mut reactor, Client { sent: 0 })
///     .add_callback(&mut reactor, |r, client: ProtocolHandle<Client>| {
///         client.with(r, |c, ctx| c.send(ctx, "hello\r\n"))?;
///         Ok(client)
///     });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ProtocolHandle<P> {
    id: ConnectionId,
    _protocol: PhantomData<fn() -> P>,
}

impl<P> Clone for ProtocolHandle<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for ProtocolHandle<P> {}

impl<P> PartialEq for ProtocolHandle<P> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl<P> Eq for ProtocolHandle<P> {}

impl<P> fmt::Debug for ProtocolHandle<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProtocolHandle<{}>({})", std::any::type_name::<P>(), self.id)
    }
}

impl<P: Protocol> ProtocolHandle<P> {
    /// A handle for connection `id`, whose protocol the caller says is a `P`
    /// (if not, [`with`](ProtocolHandle::with) fails with `WrongType`).
    pub fn new(id: ConnectionId) -> Self {
        ProtocolHandle {
            id,
            _protocol: PhantomData,
        }
    }

    /// The connection's id.
    pub fn id(&self) -> ConnectionId {
        self.id
    }

    /// Lends the protocol and its transport to `f` (see
    /// [`Reactor::with_protocol`]).
    pub fn with<R>(
        &self,
        reactor: &mut Reactor,
        f: impl FnOnce(&mut P, &mut Ctx<'_>) -> R,
    ) -> Result<R, ProtocolAccessError> {
        reactor.with_protocol(self.id, f)
    }

    /// Whether the connection is still open.
    pub fn is_connected(&self, reactor: &mut Reactor) -> bool {
        reactor.transport(self.id).is_open()
    }

    /// Closes the connection cleanly (see [`Ctx::lose_connection`]).
    pub fn lose_connection(&self, reactor: &mut Reactor) {
        reactor.transport(self.id).lose_connection();
    }
}
