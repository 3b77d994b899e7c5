//! [`Backend`]: what the pages need of the store (its three calls, and
//! whether it can be reached); [`Unavailable`]; [`InProcess`], a store in
//! the same process.

use std::fmt;

use torsion::defer::{fail, succeed};
use torsion::{Deferred, Reactor};
use torsion_clients::kv::{AmpKvClient, KeyNotFound, KeyValue, KvClient, PbKvClient};

use crate::kv::KvStore;

/// Whether the store can be reached now, for the index page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Connected: calls go out at once.
    Connected,
    /// A connection attempt is in progress: calls wait for it.
    Connecting,
    /// Not connected, and no attempt in progress: calls fail at once with
    /// [`Unavailable`] until a reconnection succeeds.
    Unreachable,
}

/// The store behind the pages: the seeds' `kv` object (a
/// `KeyValueClientProtocol`, or the `RemoteKeyValue` over Perspective
/// Broker), plus a name and a health for people to read.
///
/// Anything that implements [`KeyValue`] can be one: the line client
/// ([`KvClient`]), the PB client ([`PbKvClient`]), the AMP client
/// ([`AmpKvClient`]), a store in the same
/// process ([`InProcess`]), or [`Upstream`](super::Upstream), which keeps
/// a connection to torsion-kv open and is what `torsion-kvweb` uses.
pub trait Backend: KeyValue {
    /// What the store is, for messages: `torsion-kv at 127.0.0.1:11212`.
    fn name(&self) -> String;

    /// Whether it can be reached now.
    fn health(&self) -> Health {
        Health::Connected
    }
}

impl Backend for KvClient {
    fn name(&self) -> String {
        "torsion-kv (line protocol)".into()
    }
}

impl Backend for AmpKvClient {
    fn name(&self) -> String {
        "torsion-kv (AMP)".into()
    }
}

impl Backend for PbKvClient {
    fn name(&self) -> String {
        "torsion-kv (Perspective Broker)".into()
    }
}

/// The store cannot be reached: not connected, or the connection attempt
/// a call waited for failed. Pages answer it with 503.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable {
    /// The store, as [`Backend::name`] gives it.
    pub store: String,
    /// Why, when known (`connection refused`).
    pub reason: Option<String>,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is unreachable", self.store)?;
        if let Some(reason) = &self.reason {
            write!(f, " ({reason})")?;
        }
        f.write_str("; kvweb reconnects as soon as it is back")
    }
}

impl std::error::Error for Unavailable {}

/// A [`KvStore`] in this very process as a [`Backend`]: the pages without
/// a network hop (the seeds' all-in-one-process variant), and what the
/// byte-by-byte tests use. Calls fire at once.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use torsion_servers::kv::{KvStore, StoreConfig};
/// use torsion_servers::kvweb::{self, InProcess};
/// use torsion_servers::web::Site;
///
/// let store = KvStore::new(StoreConfig::default());
/// let site = Site::new(kvweb::site_root(Rc::new(InProcess::new(store))));
/// # let _ = site;
/// ```
#[derive(Clone, Debug)]
pub struct InProcess {
    store: KvStore,
}

impl InProcess {
    /// Pages over `store`.
    pub fn new(store: KvStore) -> Self {
        InProcess { store }
    }

    /// The store.
    pub fn store(&self) -> &KvStore {
        &self.store
    }
}

impl KeyValue for InProcess {
    fn get(&self, _reactor: &mut Reactor, key: &[u8]) -> Deferred<Vec<u8>> {
        match self.store.get(key) {
            Some(value) => succeed(value.to_vec()),
            None => fail(KeyNotFound { key: key.to_vec() }),
        }
    }

    fn set(&self, reactor: &mut Reactor, key: &[u8], value: &[u8]) -> Deferred<()> {
        match self.store.set(reactor, key, value) {
            Ok(()) => succeed(()),
            Err(e) => fail(e),
        }
    }

    fn delete(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<()> {
        if self.store.delete(reactor, key) {
            succeed(())
        } else {
            fail(KeyNotFound { key: key.to_vec() })
        }
    }
}

impl Backend for InProcess {
    fn name(&self) -> String {
        "the store in this process".into()
    }
}
