//! [`PbServerFactory`] serves a root object; [`connect`] fetches one.

use std::rc::Rc;
use std::time::Duration;

use torsion::endpoint::ClientEndpoint;
use torsion::{Address, Deferred, Factory, Protocol, Reactor};

use super::broker::Broker;
use super::reference::RemoteReference;
use super::referenceable::Referenceable;

/// Builds a [`Broker`] per client, every one publishing the same root
/// object: Twisted's `PBServerFactory(root)`.
pub struct PbServerFactory {
    root: Rc<Referenceable>,
    max_message: Option<usize>,
    idle_timeout: Option<Duration>,
}

impl PbServerFactory {
    /// Connections publishing `root` as `root`.
    pub fn new(root: Rc<Referenceable>) -> Self {
        PbServerFactory {
            root,
            max_message: None,
            idle_timeout: None,
        }
    }

    /// Bounds received expressions to `max` bytes (see
    /// [`Broker::with_max_message`]).
    pub fn with_max_message(mut self, max: usize) -> Self {
        self.max_message = Some(max);
        self
    }

    /// Closes each connection after `period` without a whole expression
    /// (`None`: never).
    pub fn with_idle_timeout(mut self, period: Option<Duration>) -> Self {
        self.idle_timeout = period;
        self
    }
}

impl Factory for PbServerFactory {
    fn build_protocol(&mut self, _reactor: &mut Reactor, _peer: &Address) -> Option<Box<dyn Protocol>> {
        let mut broker = Broker::server(self.root.clone()).with_idle_timeout(self.idle_timeout);
        if let Some(max) = self.max_message {
            broker = broker.with_max_message(max);
        }
        Some(Box::new(broker))
    }
}

/// Connects to a PB server at `endpoint`; fires with its root object once
/// the dialect and versions are agreed: Twisted's
/// `PBClientFactory.getRootObject()`. Fails if the connection fails or
/// closes first.
#[track_caller]
pub fn connect(reactor: &mut Reactor, endpoint: &ClientEndpoint) -> Deferred<RemoteReference> {
    let broker = Broker::client();
    let root = broker.root();
    let ready = broker.when_ready();
    endpoint
        .connect_protocol(reactor, broker)
        .then(reactor, move |_, _handle| ready)
        .then(reactor, move |_, ()| Ok(root))
}
