//! A memcached client: one server over one pipelined connection
//! ([`MemcacheClient`]), or many by consistent hashing ([`MemcachePool`],
//! placing keys on a [`ketama`] ring exactly as libmemcached and twemproxy
//! do).
//!
//! This is the finished version of the client the seeds write step by step
//! (one protocol per command, then one connection, then chained Deferreds);
//! `docs/clients.md` walks from theirs to this one, and says why.
//!
//! - [`Commands`]: every text command on keys (`get`, `gets`, `get_multi`,
//!   `set`, `add`, `replace`, `append`, `prepend`, `cas`, `delete`, `incr`,
//!   `decr`, `touch`, `gat`, `gats`), each returning a [`Deferred`](torsion::Deferred)
//!   you can also `.await`. `flush_all`, `stats` and `version` are methods
//!   of the client and the pool.
//! - [`MemcacheError`]: the typed failures (`NotFound`, `NotStored`,
//!   `Exists`, `ClientError`, `ServerError`, `ConnectionLost`, `Timeout`...).
//! - [`ClientConfig`], [`PoolConfig`]: timeouts, backoff, bounds, ejection.
//!
//! The wire is `torsion_protocols::memcache::text`'s: its composers write
//! the requests and its `ResponseDecoder` reads the replies, the same
//! codec the server's replies are tested against.
//!
//! # Examples
//!
//! ```no_run
//! use torsion::Reactor;
//! use torsion_clients::memcache::{Commands, MemcachePool, PoolConfig, ServerSpec};
//!
//! let mut reactor = Reactor::new()?;
//! let servers = ["127.0.0.1:11211", "127.0.0.1:11212"].map(|s| s.parse::<ServerSpec>().unwrap());
//! let pool = MemcachePool::new(&mut reactor, servers.to_vec(), PoolConfig::default());
//! let hits = reactor.run_until_complete(async move {
//!     pool.set("a", "1", 0, 0).await?;
//!     pool.set("b", "2", 0, 0).await?;
//!     pool.get_multi(["a", "b", "c"]).await
//! })?;
//! assert_eq!(hits.expect("no failure").len(), 2);
//! # Ok::<(), std::io::Error>(())
//! ```

mod client;
mod commands;
mod config;
mod conn;
mod error;
pub mod ketama;
mod multi;
mod pool;
mod request;
mod server;
mod value;

pub use client::MemcacheClient;
pub use commands::Commands;
pub use config::ClientConfig;
pub use conn::ConnectionState;
pub use error::MemcacheError;
pub use pool::{MemcachePool, PoolConfig, ServerResult};
pub use request::{check_key, MAX_KEY_LEN, MAX_VALUE_LEN};
pub use server::{BadServer, ServerSpec, DEFAULT_PORT};
pub use value::{Stats, Value};
