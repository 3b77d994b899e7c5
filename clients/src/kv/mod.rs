//! Clients of torsion-kv: over the seeds' line protocol ([`KvClient`], the
//! seeds' `KeyValueClientProtocol`), over Perspective Broker
//! ([`PbKvClient`], the seeds' `RemoteKeyValue`) and over AMP
//! ([`AmpKvClient`]). All offer the same three calls, through the
//! [`KeyValue`] trait, so code written for one (a web front end) works
//! with the others.
//!
//! - `get` fires with the value, or fails with [`KeyNotFound`] (the seeds'
//!   `KeyError`).
//! - `set` fires with `()`.
//! - `delete` fires with `()`, or fails with [`KeyNotFound`].
//!
//! Anything else fails with a [`KvError`] (or the server's own failure:
//! over AMP a [`RemoteError`](torsion_protocols::amp::RemoteError), over
//! PB a [`RemoteFailure`](torsion_protocols::jelly::RemoteFailure)).
//!
//! # Examples
//!
//! ```no_run
//! use torsion::{endpoint::ClientEndpoint, Reactor};
//! use torsion_clients::kv::{self, KeyNotFound};
//!
//! let mut reactor = Reactor::new()?;
//! let endpoint = ClientEndpoint::tcp("127.0.0.1", 11212);
//! let value = kv::line::connect(&mut reactor, &endpoint).then(&mut reactor, |r, client| {
//!     let _ = client.set(r, b"greeting", b"hello world");
//!     client.get(r, b"greeting") // pipelined behind the set
//! });
//! match reactor.run_until_complete(value)? {
//!     Ok(value) => println!("{}", String::from_utf8_lossy(&value)),
//!     Err(failure) if failure.is::<KeyNotFound>() => println!("gone already"),
//!     Err(failure) => eprintln!("{failure}"),
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod amp;
mod error;
pub mod line;
pub mod pb;

use torsion::{Deferred, Reactor};

pub use amp::AmpKvClient;
pub use error::{KeyNotFound, KvError};
pub use line::KvClient;
pub use pb::{PbKvClient, Strings};

/// The store's three calls, whichever protocol carries them.
pub trait KeyValue {
    /// The value of `key`; fails with [`KeyNotFound`] if it is not there.
    fn get(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<Vec<u8>>;

    /// Sets `key` to `value`.
    fn set(&self, reactor: &mut Reactor, key: &[u8], value: &[u8]) -> Deferred<()>;

    /// Removes `key`; fails with [`KeyNotFound`] if it is not there.
    fn delete(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<()>;
}
