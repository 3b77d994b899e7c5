//! torsion-memcached's core, sans-I/O: the item store and the execution of
//! text, meta and binary protocol requests against it.
//!
//! - [`store`]: items, expiry, CAS, LRU eviction, `flush_all`, the crawler.
//! - [`item`]: one item's record and view, and the expiration-time rules.
//! - [`stats`]: the store's counters, overall and per size class.
//! - [`classes`]: memcached's size classes and page accounting.
//! - [`class_report`]: `stats items`, `stats slabs`, `stats sizes`, `stats cachedump`.
//! - [`crawler`]: `lru_crawler ...`: crawls and dumps in bounded slices.
//! - [`slab_admin`]: `slabs reassign` and `slabs automove`.
//! - [`session`]: one conversation, bytes in, replies out, in any dialect:
//!   the output budget, waiting for a value, skipping a refused one, closing.
//! - [`dialect`]: what a session needs of a protocol (a parser, an executor,
//!   a composer), and the two dialects: [`Ascii`](dialect::Ascii), the text
//!   connection (classic and meta commands), and [`Binary`](dialect::Binary)
//!   (a connection whose first byte is 0x80).
//! - [`exec`]: executes a parsed classic text request against the store and
//!   writes memcached's exact reply.
//! - [`meta_exec`]: executes a parsed meta request (`mg`, `ms`, `md`, `ma`,
//!   `me`, `mn`); meta commands share the text connection.
//! - [`binary_exec`]: executes a parsed binary-protocol request.
//! - [`admin`]: the commands about the server (`flush_all`, `shutdown`,
//!   `verbosity`, `debugtime`, `stats` and its groups).
//! - [`auth`]: text-protocol authentication (`-Y`), the dialect of a
//!   connection that has not authenticated yet.
//! - [`limits`]: connection memory limits (`-o read_buf_mem_limit`).
//! - [`settings`]: the command line's settings and `stats settings`' keys.
//! - [`stats_report`]: what `stats` and `stats settings` print, in
//!   memcached's order.
//! - [`detail`]: `stats detail`'s per-prefix counters.
//! - [`conn_table`]: `stats conns`' table of listeners and connections.
//! - [`watch`]: the log watchers (`watch`), their bounded buffers.
//! - [`port_file`]: the file `MEMCACHED_PORT_FILENAME` names, with the ports.
//!
//! Nothing above reads a clock or touches a socket: `now` (unix seconds) is an
//! argument everywhere, and replies are appended to a `Vec<u8>`. On top of
//! them, the reactor-facing layer:
//!
//! - [`server`]: shared state, the factory, the connection limit, the crawler.
//! - [`conn`]: one client connection.
//! - [`udp`]: the UDP socket (`-U`): each datagram a conversation.
//!
//! # Examples
//!
//! ```
//! use torsion_servers::memcached::dialect::{Ascii, ExecCtx};
//! use torsion_servers::memcached::exec::ServerStats;
//! use torsion_servers::memcached::session::Session;
//! use torsion_servers::memcached::store::{Store, StoreConfig};
//!
//! let now = 1_700_000_000;
//! let mut store = Store::new(StoreConfig::default());
//! let mut server = ServerStats::new(now);
//! let mut out = Vec::new();
//! let mut cx = ExecCtx { store: &mut store, server: &mut server, now, out: &mut out };
//! let mut session = Session::<Ascii>::new();
//! let fed = session.feed(b"set k 0 0 2\r\nhi\r\nget k\r\n", &mut cx);
//! assert_eq!(fed.consumed, 24);
//! assert!(!fed.closes());
//! assert_eq!(out, b"STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n");
//! ```

pub mod admin;
pub mod auth;
pub mod binary_exec;
pub mod class_report;
pub mod classes;
pub mod conn;
pub mod conn_table;
pub mod crawler;
pub mod detail;
pub mod dialect;
pub mod exec;
pub mod item;
pub mod limits;
mod lru;
pub mod maintainer;
pub mod meta_exec;
pub mod port_file;
pub mod server;
pub mod session;
pub mod settings;
pub mod slab_admin;
pub mod stats;
pub mod stats_report;
pub mod store;
#[cfg(test)]
mod testkit;
pub mod udp;
pub mod watch;

pub use store::Store;
