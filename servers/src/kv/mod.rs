//! torsion-kv: the seeds' key-value store, served over their line
//! protocol, over Perspective Broker and over AMP, one store for all, in
//! one process (the seeds' multi-server example, `keyvalue_server2.py`).
//!
//! - [`KvStore`]: keys that live a fixed time after their last `set`
//!   (15 s by default), bounded in number and in size.
//! - [`LineServer`] / [`LineFactory`]: the line protocol
//!   (`get`/`set`/`delete`, see [`torsion_protocols::kv`]).
//! - [`amp::responders`] / [`amp::factory`]: `Get`, `Set`, `Delete` over
//!   AMP (see [`torsion_protocols::kv::commands`]).
//! - [`pb::root`] / [`pb::factory`]: the seeds' `KeyValuePB`, `get`, `set`
//!   and `delete` on a PB root object (see [`torsion_protocols::pb`]).
//! - [`serve`]: the three listeners on one store, as the binary runs them.
//!
//! See `docs/keyvalue.md`.

pub mod amp;
mod line;
pub mod pb;
mod store;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use torsion::{ListenerId, Reactor};
use torsion_protocols::policies::ConnectionLimits;

use crate::cli::ListenError;

pub use line::{LineFactory, LineServer};
pub use store::{KvStore, StoreConfig, StoreError, StoreStats, ValueKind, DEFAULT_MAX_KEYS, DEFAULT_TTL};

/// The line protocol's port unless told otherwise (the seeds use 11211,
/// memcached's; this one stays out of its way).
pub const DEFAULT_LINE_PORT: u16 = 11212;

/// The Perspective Broker port unless told otherwise: the seeds' 8789
/// (`keyvalue_pb.py`).
pub const DEFAULT_PB_PORT: u16 = torsion_protocols::pb::SEED_PORT;

/// The AMP port unless told otherwise: 8790, next to PB's (AMP had 8789
/// until PB took the seeds' port).
pub const DEFAULT_AMP_PORT: u16 = 8790;

/// How many connections each listener serves at once unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// How long a connection may go without a whole request (a line, a box)
/// unless told otherwise: long enough for any client that holds a
/// connection between bursts of requests, short enough that connections
/// left open (or a slowloris trickling bytes) do not pile up.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Where and how to serve.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The line protocol's address.
    pub line: SocketAddr,
    /// The AMP address.
    pub amp: SocketAddr,
    /// The Perspective Broker address.
    pub pb: SocketAddr,
    /// The store's bounds.
    pub store: StoreConfig,
    /// Connections each listener serves at once; more are closed at once.
    pub max_connections: usize,
    /// Close a connection on which no whole request (a line, an AMP box, a
    /// PB message) arrived for this long; `None`: never.
    pub idle_timeout: Option<Duration>,
}

impl Settings {
    /// Every listener on 127.0.0.1 on a port the system chooses, a default
    /// store, the default connection bound and no idle timeout: how tests
    /// and examples serve.
    pub fn ephemeral() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Settings {
            line: any,
            amp: any,
            pb: any,
            store: StoreConfig::default(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: None,
        }
    }
}

/// The three listeners [`serve`] opened, and the store behind them.
#[derive(Clone, Debug)]
pub struct Serving {
    /// The line protocol's listener.
    pub line: ListenerId,
    /// The AMP listener.
    pub amp: ListenerId,
    /// The Perspective Broker listener.
    pub pb: ListenerId,
    /// The store all three serve.
    pub store: KvStore,
}

/// Listens on the three addresses, serving one new store. A failure names
/// the port ([`ListenError`]).
pub fn serve(reactor: &mut Reactor, settings: &Settings) -> io::Result<Serving> {
    let store = KvStore::new(settings.store);
    let line = LineFactory::new(store.clone()).with_idle_timeout(settings.idle_timeout);
    let line = ConnectionLimits::new(line).max_connections(settings.max_connections);
    let line = reactor
        .listen_tcp(settings.line, line)
        .map_err(|e| ListenError::new(settings.line, e).which("the line protocol's port, -p"))?;
    let amp = amp::factory(store.clone()).with_idle_timeout(settings.idle_timeout);
    let amp = ConnectionLimits::new(amp).max_connections(settings.max_connections);
    let amp = match reactor.listen_tcp(settings.amp, amp) {
        Ok(amp) => amp,
        Err(e) => {
            reactor.stop_listening(line);
            return Err(ListenError::new(settings.amp, e)
                .which("the AMP port, --amp-port")
                .into());
        }
    };
    let pb = pb::factory(store.clone()).with_idle_timeout(settings.idle_timeout);
    let pb = ConnectionLimits::new(pb).max_connections(settings.max_connections);
    let pb = match reactor.listen_tcp(settings.pb, pb) {
        Ok(pb) => pb,
        Err(e) => {
            reactor.stop_listening(line);
            reactor.stop_listening(amp);
            return Err(ListenError::new(settings.pb, e)
                .which("the PB port, --pb-port")
                .into());
        }
    };
    Ok(Serving { line, amp, pb, store })
}
