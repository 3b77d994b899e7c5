//! Endpoints: where to listen or connect, named by a string as in Twisted,
//! with Deferreds for the outcome.
//!
//! - [`ServerEndpoint`] parses `tcp:8000:interface=127.0.0.1:backlog=50`,
//!   `tcp6:...`, `unix:/tmp/s.sock`; [`ServerEndpoint::listen`] returns a
//!   `Deferred<ListeningPort>`.
//! - [`ClientEndpoint`] parses `tcp:host=example.com:port=80:timeout=30`,
//!   `unix:/tmp/s.sock`; [`ClientEndpoint::connect`] returns a
//!   `Deferred<ConnectionId>` and [`ClientEndpoint::connect_protocol`] a
//!   `Deferred<ProtocolHandle<P>>`. Names resolve on the thread pool, never
//!   on the loop. Failures are distinct errors: [`ConnectError`](crate::ConnectError)
//!   (`Refused`, `TimedOut`, ...) and [`ResolveError`]; find them with
//!   [`Failure::find`](crate::Failure::find).
//!
//! Code that takes an endpoint instead of a host and port works over TCP and
//! Unix sockets alike, as the seeds' memcache client does.

mod client;
mod handle;
mod parse;
mod server;

pub use client::{ClientEndpoint, Family, ResolveError, DEFAULT_CONNECT_TIMEOUT};
pub use handle::ProtocolHandle;
pub use parse::EndpointParseError;
pub use server::{ListenError, ListeningPort, ServerEndpoint};
