//! Torsion: a single-threaded reactor on mio, in the spirit of Twisted.
//!
//! The pieces, each in its own module:
//!
//! - [`Reactor`]: the event loop. It owns a `mio::Poll`, every registered
//!   source, a timing wheel and a queue of calls; see [`reactor`] for how one
//!   iteration runs.
//! - [`Protocol`], [`Factory`], [`ClientFactory`]: what a user implements.
//!   Protocol callbacks receive a [`Ctx`]: the connection's transport, with
//!   the reactor behind it (there is no global reactor).
//! - Transports: TCP and Unix streams ([`Reactor::listen_tcp`],
//!   [`Reactor::connect_tcp`], ...) with buffered, coalesced writes,
//!   backpressure, close, abort and half-close; UDP ([`Reactor::listen_udp`]).
//! - [`timer`]: `call_later` returns a [`DelayedCall`]; [`LoopingCall`]
//!   repeats; both sit on a hierarchical timing wheel.
//! - Signals ([`Reactor::stop_on_signals`], [`Reactor::on_signals`]), other threads
//!   ([`ReactorHandle`]), counters ([`Counters`]) and the slow-callback warning.
//! - [`testing`]: drive a protocol byte by byte without sockets.
//! - [`list`]: the slab-indexed linked list under the timer wheel (and
//!   the servers' LRU and expiry orders).
//! - [`defer`]: [`Deferred`]s (results that arrive later, Twisted's
//!   callback chains), [`DeferredList`], and async tasks on the loop
//!   ([`Reactor::spawn_local`], [`LocalHandle`]); see `docs/deferreds.md`.
//! - [`defer_to_thread`]: blocking work on a bounded thread pool.
//! - [`endpoint`]: `"tcp:8000"`-style descriptions; listen and connect
//!   returning Deferreds. [`reconnect`]: a client that stays connected.
//!
//! # A first server
//!
//! The seeds' uppercase server, listening on a port the OS picks:
//!
//! ```no_run
//! use torsion::{factory_fn, Ctx, Protocol, Reactor};
//!
//! struct Upper;
//!
//! impl Protocol for Upper {
//!     fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
//!         ctx.write(b"Hi! Send me text to convert to uppercase\n");
//!     }
//!     fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
//!         ctx.write(&data.to_ascii_uppercase());
//!         ctx.lose_connection();
//!     }
//! }
//!
//! let mut reactor = Reactor::new()?;
//! let listener = reactor.listen_tcp(
//!     "127.0.0.1:0".parse().unwrap(),
//!     factory_fn(|_, _| Some(Box::new(Upper) as Box<dyn Protocol>)),
//! )?;
//! println!("listening on {}", reactor.local_addr(listener).unwrap());
//! reactor.stop_on_signals()?;
//! reactor.run()?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

mod address;
mod buffer;
mod clock;
mod config;
mod connector;
mod counters;
pub mod defer;
pub mod endpoint;
mod id;
pub mod list;
mod listener;
mod memory;
mod notice;
pub mod process;
mod protocol;
pub mod reactor;
pub mod reconnect;
mod signals;
mod source;
mod stream;
pub mod testing;
mod threadpool;
mod threads;
pub mod timer;
mod transport;
mod udp;

pub use address::Address;
pub use clock::TimeSource;
pub use connector::ConnectOptions;
pub use counters::Counters;
pub use defer::{Deferred, DeferredList, Failure, LocalHandle};
pub use id::{ConnectionId, DatagramId, ListenerId};
pub use listener::{ListenOptions, ACCEPT_RETRY};
pub use protocol::{
    factory_fn, ClientFactory, CloseReason, ConnectError, Discard, Factory, FactoryFn, OneShot, Protocol,
};
pub use reactor::{Config, ProtocolAccessError, Reactor};
pub use threadpool::{defer_to_thread, Panicked, ThreadPoolConfig, ThreadPoolError, ThreadPoolStats};
pub use threads::{ReactorGone, ReactorHandle};
pub use timer::{DelayedCall, LoopingCall};
pub use transport::{Ctx, WriteTap, DEFAULT_HIGH_WATER, DEFAULT_LOW_WATER};
pub use udp::{DatagramCtx, DatagramProtocol, MAX_QUEUED_DATAGRAMS};
