//! [`FetchError`]: every way a fetch can fail, one variant each, for
//! typed errbacks.

use std::fmt;
use std::time::Duration;

/// Why a fetch failed. Every client failure reaches the errback as a
/// [`Failure`](torsion::Failure) carrying one of these; find it with
/// `failure.find::<FetchError>()`.
///
/// # Examples
///
/// ```
/// use torsion::Reactor;
/// use torsion_clients::http::{get_page, FetchError};
///
/// let mut reactor = Reactor::new()?;
/// get_page(&mut reactor, "ftp://example.com/").add_errback(&mut reactor, |_, failure| {
///     match failure.find::<FetchError>() {
///         Some(FetchError::BadUrl { .. }) => println!("not an http(s) URL"),
///         Some(FetchError::Timeout { .. }) => println!("too slow"),
///         _ => println!("{failure}"),
///     }
///     Err(failure)
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL (or a redirect's Location) is not an `http://` or `https://` URL.
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The host name could not be resolved.
    Resolve {
        /// The name.
        host: String,
        /// Why.
        reason: String,
    },
    /// Nothing listens at the address (connection refused).
    Refused {
        /// `host:port`.
        addr: String,
    },
    /// The connection could not be made for another reason (unreachable...).
    Connect {
        /// `host:port`.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The connection was not made within the connect timeout.
    ConnectTimeout {
        /// The timeout.
        after: Duration,
    },
    /// The whole fetch (redirects included) took longer than its timeout.
    Timeout {
        /// The timeout.
        after: Duration,
    },
    /// The TLS handshake or session failed (an untrusted certificate, a
    /// name mismatch, a protocol error), or the TLS setup (a CA file) did.
    Tls {
        /// Why.
        reason: String,
    },
    /// The response is not valid HTTP/1.1, or breaks a bound (head size).
    Malformed {
        /// Why.
        reason: String,
    },
    /// The connection closed before the response was complete.
    Closed {
        /// How it ended.
        reason: String,
    },
    /// More redirects than allowed.
    TooManyRedirects {
        /// The limit.
        limit: usize,
        /// The URL the last redirect pointed to.
        url: String,
    },
    /// The body is larger than allowed.
    BodyTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::BadUrl { url, reason } => write!(f, "bad URL {url:?}: {reason}"),
            FetchError::Resolve { host, reason } => write!(f, "cannot resolve {host:?}: {reason}"),
            FetchError::Refused { addr } => write!(f, "connection refused by {addr}"),
            FetchError::Connect { addr, reason } => write!(f, "cannot connect to {addr}: {reason}"),
            FetchError::ConnectTimeout { after } => write!(f, "connect timed out after {after:?}"),
            FetchError::Timeout { after } => write!(f, "no complete response within {after:?}"),
            FetchError::Tls { reason } => write!(f, "TLS error: {reason}"),
            FetchError::Malformed { reason } => write!(f, "malformed response: {reason}"),
            FetchError::Closed { reason } => {
                write!(f, "connection closed before the response was complete ({reason})")
            }
            FetchError::TooManyRedirects { limit, url } => {
                write!(f, "more than {limit} redirects (last to {url})")
            }
            FetchError::BodyTooLarge { limit } => write!(f, "response body larger than {limit} bytes"),
        }
    }
}

impl std::error::Error for FetchError {}
