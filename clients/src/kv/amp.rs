//! The AMP client: `Get`, `Set` and `Delete` on torsion-kv's AMP port, or
//! on any AMP peer that declares them (the seeds' `RemoteKeyValue`).

use std::rc::Rc;

use torsion::endpoint::ClientEndpoint;
use torsion::{Deferred, Failure, Reactor};
use torsion_protocols::amp::{self, Remote, RemoteError, Responders};
use torsion_protocols::kv::commands::{Delete, Get, Key, KeyValue as SetArguments, Set, KEY_NOT_FOUND};

use super::error::KeyNotFound;
use super::KeyValue;

/// Calls the key-value commands over one AMP connection. Cheap to clone.
///
/// Calls are in flight together and matched by their `_ask` tags. A
/// `KEY_NOT_FOUND` error becomes [`KeyNotFound`]; other error answers stay
/// [`RemoteError`]s, and local failures are
/// [`CallError`](torsion_protocols::amp::CallError)s.
#[derive(Clone, Debug)]
pub struct AmpKvClient {
    remote: Remote,
}

impl AmpKvClient {
    /// A client calling through `remote`.
    pub fn new(remote: Remote) -> Self {
        AmpKvClient { remote }
    }

    /// The AMP connection.
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// `Get(key)`: the value, or [`KeyNotFound`].
    #[track_caller]
    pub fn get(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<Vec<u8>> {
        let arguments = Key { key: key.to_vec() };
        let key = key.to_vec();
        self.remote
            .call::<Get>(reactor, &arguments)
            .then_both(reactor, move |_, result| match result {
                Ok(response) => Ok(response.value),
                Err(failure) => Err(not_found(failure, key)),
            })
    }

    /// `Set(key, value)`.
    #[track_caller]
    pub fn set(&self, reactor: &mut Reactor, key: &[u8], value: &[u8]) -> Deferred<()> {
        let arguments = SetArguments {
            key: key.to_vec(),
            value: value.to_vec(),
        };
        self.remote.call::<Set>(reactor, &arguments)
    }

    /// `Delete(key)`: done, or [`KeyNotFound`].
    #[track_caller]
    pub fn delete(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<()> {
        let arguments = Key { key: key.to_vec() };
        let key = key.to_vec();
        self.remote
            .call::<Delete>(reactor, &arguments)
            .then_both(reactor, move |_, result| {
                result.map_err(|failure| not_found(failure, key))
            })
    }
}

/// `KEY_NOT_FOUND` becomes [`KeyNotFound`]; other failures pass.
fn not_found(failure: Failure, key: Vec<u8>) -> Failure {
    match failure.find::<RemoteError>() {
        Some(e) if e.is(KEY_NOT_FOUND) => Failure::new(KeyNotFound { key }),
        _ => failure,
    }
}

impl KeyValue for AmpKvClient {
    fn get(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<Vec<u8>> {
        AmpKvClient::get(self, reactor, key)
    }

    fn set(&self, reactor: &mut Reactor, key: &[u8], value: &[u8]) -> Deferred<()> {
        AmpKvClient::set(self, reactor, key, value)
    }

    fn delete(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<()> {
        AmpKvClient::delete(self, reactor, key)
    }
}

/// Connects to an AMP peer at `endpoint` (torsion-kv's `--amp-port`);
/// fires with the client.
#[track_caller]
pub fn connect(reactor: &mut Reactor, endpoint: &ClientEndpoint) -> Deferred<AmpKvClient> {
    amp::connect(reactor, endpoint, Rc::new(Responders::new()))
        .then(reactor, |_, remote| Ok(AmpKvClient::new(remote)))
}
