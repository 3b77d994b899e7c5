//! torsion-memcached's core, sans-I/O: the item store and the execution of
//! text, meta and binary protocol requests against it.
//!
//! - [`store`]: items, expiry, CAS, LRU eviction, `flush_all`, the crawler.
//! - [`item`]: one item's record and view, and the expiration-time rules.
//! - [`stats`]: the store's counters.
//! - [`exec`]: executes a parsed text request against the store and writes
//!   memcached's exact reply.
//! - [`binary_exec`]: executes a parsed binary-protocol request.
//! - [`binary_session`]: one binary-protocol conversation (a connection whose
//!   first byte is 0x80), with the same `feed` as the text session.
//! - [`meta_exec`]: executes a parsed meta request (`mg`, `ms`, `md`, `ma`,
//!   `me`, `mn`); meta commands share the text connection.
//! - [`session`]: one text-protocol conversation (classic and meta commands):
//!   bytes in, replies out.
//!
//! Nothing above reads a clock or touches a socket: `now` (unix seconds) is an
//! argument everywhere, and replies are appended to a `Vec<u8>`. On top of
//! them, the reactor-facing layer:
//!
//! - [`server`]: shared state, the factory, the connection limit, the crawler.
//! - [`conn`]: one client connection.
//!
//! # Examples
//!
//! ```
//! use torsion_servers::memcached::session::TextSession;
//! use torsion_servers::memcached::store::{Store, StoreConfig};
//! use torsion_servers::memcached::exec::ServerStats;
//!
//! let now = 1_700_000_000;
//! let mut store = Store::new(StoreConfig::default());
//! let mut server = ServerStats::new(now);
//! let mut session = TextSession::new();
//! let mut out = Vec::new();
//! let fed = session.feed(b"set k 0 0 2\r\nhi\r\nget k\r\n", &mut store, &mut server, now, &mut out);
//! assert_eq!(fed.consumed, 24);
//! assert!(!fed.close);
//! assert_eq!(out, b"STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n");
//! ```

pub mod binary_exec;
pub mod binary_session;
pub mod conn;
pub mod exec;
pub mod item;
mod lru;
pub mod meta_exec;
pub mod server;
pub mod session;
pub mod stats;
pub mod store;
#[cfg(test)]
mod testkit;

pub use store::Store;
