//! torsion-kv: the seeds' key-value store, served over their line
//! protocol and over AMP, one store for both, in one process (the seeds'
//! multi-server example, `keyvalue_server2.py`).
//!
//! - [`KvStore`]: keys that live a fixed time after their last `set`
//!   (15 s by default), bounded in number and in size.
//! - [`LineServer`] / [`LineFactory`]: the line protocol
//!   (`get`/`set`/`delete`, see [`torsion_protocols::kv`]).
//! - [`amp::responders`] / [`amp::factory`]: `Get`, `Set`, `Delete` over
//!   AMP (see [`torsion_protocols::kv::commands`]).
//! - [`serve`]: both listeners on one store, as the binary runs them.
//!
//! See `docs/keyvalue.md`.

pub mod amp;
mod line;
mod store;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use torsion::{ListenerId, Reactor};
use torsion_protocols::policies::ConnectionLimits;

use crate::cli::ListenError;

pub use line::{LineFactory, LineServer};
pub use store::{KvStore, StoreConfig, StoreError, StoreStats, DEFAULT_MAX_KEYS, DEFAULT_TTL};

/// The line protocol's port unless told otherwise (the seeds use 11211,
/// memcached's; this one stays out of its way).
pub const DEFAULT_LINE_PORT: u16 = 11212;

/// The AMP port unless told otherwise (the seeds' Perspective Broker port).
pub const DEFAULT_AMP_PORT: u16 = 8789;

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
    /// The store's bounds.
    pub store: StoreConfig,
    /// Connections each listener serves at once; more are closed at once.
    pub max_connections: usize,
    /// Close a connection on which no whole request (a line, an AMP box)
    /// arrived for this long; `None`: never.
    pub idle_timeout: Option<Duration>,
}

/// The two listeners [`serve`] opened, and the store behind them.
#[derive(Clone, Debug)]
pub struct Serving {
    /// The line protocol's listener.
    pub line: ListenerId,
    /// The AMP listener.
    pub amp: ListenerId,
    /// The store both serve.
    pub store: KvStore,
}

/// Listens on both addresses, serving one new store. A failure names the
/// port ([`ListenError`]).
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
    Ok(Serving { line, amp, store })
}
