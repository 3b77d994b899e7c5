//! An HTTP/1.1 client on the Torsion reactor: Twisted's `getPage`.
//!
//! - [`get_page`] fetches a URL and fires a [`Deferred`](torsion::Deferred)
//!   with the whole [`Response`]; [`get_page_streaming`] hands the body to
//!   a [`BodySink`] piece by piece as it arrives, and the sink may pause
//!   and resume the server's connection ([`BodySource`]) to pace it.
//! - [`HttpClient`] holds the settings: timeouts (connect, and the whole
//!   fetch), the largest body, redirects, the User-Agent, and a CA file
//!   for `https://` (the system's roots otherwise), and its pool of kept
//!   connections (keep-alive, reused for the next request to an origin).
//! - Every failure is a [`FetchError`] inside the errback's `Failure`:
//!   bad URL, resolve failure, refused, timeouts, TLS, malformed
//!   response, closed early, too many redirects, body too large.
//!
//! Names are resolved on the reactor's thread pool (through
//! [`ClientEndpoint`](torsion::endpoint::ClientEndpoint)); the loop never
//! blocks. TLS is rustls, driven sans-I/O from `data_received`. The codec
//! is `torsion_protocols::http`. See `docs/http.md`.

mod client;
mod connection;
mod error;
mod exchange;
mod pool;
mod response;
mod tls;
mod url;

pub use client::{
    get_page, get_page_streaming, HttpClient, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY,
    DEFAULT_MAX_REDIRECTS, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT,
};
pub use error::FetchError;
pub use pool::{IDLE_TIMEOUT, MAX_IDLE, MAX_IDLE_PER_ORIGIN};
pub use response::{BodySink, BodySource, Response};
pub use url::{Scheme, Url};
