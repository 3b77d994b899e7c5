//! [`MemcacheError`]: every way a memcache request can fail.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use torsion::Failure;

/// Why a memcache request failed. Requests fail their Deferred with a
/// [`Failure`] carrying one of these; an errback matches on it with
/// [`MemcacheError::of`] (or `failure.find::<MemcacheError>()`).
///
/// The first six variants are the server's own answers; the connection
/// stays usable after them. The others come from the client: the request
/// never got an answer ([`ConnectionLost`](MemcacheError::ConnectionLost),
/// [`ConnectFailed`](MemcacheError::ConnectFailed),
/// [`Timeout`](MemcacheError::Timeout),
/// [`Protocol`](MemcacheError::Protocol)) or was refused before it was sent.
///
/// # Examples
///
/// ```
/// use torsion::Failure;
/// use torsion_clients::memcache::MemcacheError;
///
/// let failure = Failure::new(MemcacheError::Exists);
/// match MemcacheError::of(&failure) {
///     Some(MemcacheError::Exists) => { /* someone else changed it: read it again */ }
///     other => panic!("unexpected {other:?}"),
/// }
/// assert_eq!(failure.to_string(), "EXISTS: the item was changed since it was read (CAS conflict)");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum MemcacheError {
    /// `NOT_FOUND`: no such key (delete, incr, decr, touch, cas).
    NotFound,
    /// `NOT_STORED`: the condition of add, replace, append or prepend failed.
    NotStored,
    /// `EXISTS`: a cas lost the race, the item changed since it was read.
    Exists,
    /// `ERROR`: the server did not know the command. The text is whatever
    /// followed the word (memcached says `ERROR Too many open connections`
    /// before it closes a connection over its limit).
    Error(String),
    /// `CLIENT_ERROR <text>`: the server found the request malformed (a
    /// non-numeric value to incr, a bad number...).
    ClientError(String),
    /// `SERVER_ERROR <text>`: the server could not do it (out of memory,
    /// object too large for cache...).
    ServerError(String),
    /// The connection closed with the request in flight: the request may or
    /// may not have been carried out.
    ConnectionLost,
    /// The request waited for a connection, and the attempt to connect
    /// failed. The failure says why and where: look for a
    /// [`ConnectError`](torsion::ConnectError) (`Refused`, `TimedOut`...) or a
    /// [`ResolveError`](torsion::endpoint::ResolveError) in it with
    /// [`Failure::find`].
    ConnectFailed(Failure),
    /// No reply within the client's timeout. The connection was dropped,
    /// since the replies that follow could no longer be matched.
    Timeout(Duration),
    /// The request was refused before it was sent: a bad key or argument.
    InvalidRequest(String),
    /// This many requests were waiting already (the client's
    /// `max_pending`); the request was not sent.
    TooManyPending(usize),
    /// The server's reply broke the protocol (or a bound); the connection
    /// was dropped.
    Protocol(String),
    /// The client was closed (or dropped) before the request completed.
    Closed,
    /// Every server of the pool is ejected.
    NoServers,
}

impl MemcacheError {
    /// The `MemcacheError` in `failure`, if it carries one (anywhere in its
    /// cause chain).
    pub fn of(failure: &Failure) -> Option<&MemcacheError> {
        failure.find::<MemcacheError>()
    }

    /// Whether this failure says something about the server's health (it
    /// did not answer) rather than about the request: these count towards
    /// ejecting a server from a pool.
    pub fn is_server_failure(&self) -> bool {
        matches!(
            self,
            MemcacheError::ConnectionLost
                | MemcacheError::ConnectFailed(_)
                | MemcacheError::Timeout(_)
                | MemcacheError::Protocol(_)
        )
    }
}

impl fmt::Display for MemcacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemcacheError::NotFound => f.write_str("NOT_FOUND: no such key"),
            MemcacheError::NotStored => f.write_str("NOT_STORED: the condition for storing was not met"),
            MemcacheError::Exists => {
                f.write_str("EXISTS: the item was changed since it was read (CAS conflict)")
            }
            MemcacheError::Error(text) if text.is_empty() => {
                f.write_str("ERROR: the server does not know the command")
            }
            MemcacheError::Error(text) => write!(f, "ERROR {text}"),
            MemcacheError::ClientError(text) => write!(f, "CLIENT_ERROR {text}"),
            MemcacheError::ServerError(text) => write!(f, "SERVER_ERROR {text}"),
            MemcacheError::ConnectionLost => f.write_str("the connection was lost before the reply came"),
            MemcacheError::ConnectFailed(failure) => write!(f, "could not connect: {failure}"),
            MemcacheError::Timeout(after) => write!(f, "no reply within {after:?}"),
            MemcacheError::InvalidRequest(why) => write!(f, "invalid request: {why}"),
            MemcacheError::TooManyPending(n) => write!(f, "{n} requests are pending already"),
            MemcacheError::Protocol(why) => write!(f, "the server broke the protocol: {why}"),
            MemcacheError::Closed => f.write_str("the client was closed"),
            MemcacheError::NoServers => f.write_str("every server of the pool is ejected"),
        }
    }
}

/// Equal when of the same kind with the same text; two `ConnectFailed`
/// compare their failures' reports (a [`Failure`] has no equality of its own).
impl PartialEq for MemcacheError {
    fn eq(&self, other: &Self) -> bool {
        use MemcacheError::*;
        match (self, other) {
            (NotFound, NotFound) | (NotStored, NotStored) | (Exists, Exists) => true,
            (ConnectionLost, ConnectionLost) | (Closed, Closed) | (NoServers, NoServers) => true,
            (Error(a), Error(b)) | (ClientError(a), ClientError(b)) | (ServerError(a), ServerError(b)) => {
                a == b
            }
            (InvalidRequest(a), InvalidRequest(b)) | (Protocol(a), Protocol(b)) => a == b,
            (ConnectFailed(a), ConnectFailed(b)) => a.report() == b.report(),
            (Timeout(a), Timeout(b)) => a == b,
            (TooManyPending(a), TooManyPending(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for MemcacheError {}

/// The failure inside `ConnectFailed` is shown by `Display` (with its
/// context, which names the address), so it is not a `source` too.
impl Error for MemcacheError {}

impl From<torsion_protocols::memcache::text::ResponseError> for MemcacheError {
    fn from(e: torsion_protocols::memcache::text::ResponseError) -> Self {
        MemcacheError::Protocol(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use torsion::ConnectError;

    #[test]
    fn a_connect_failure_keeps_its_cause() {
        let cause = Failure::new(ConnectError::Refused).context("connecting to 127.0.0.1:1");
        let failure = Failure::new(MemcacheError::ConnectFailed(cause));
        let Some(MemcacheError::ConnectFailed(cause)) = MemcacheError::of(&failure) else {
            panic!("{failure:?}")
        };
        assert!(matches!(
            cause.find::<ConnectError>(),
            Some(ConnectError::Refused)
        ));
        assert!(MemcacheError::of(&failure).is_some_and(MemcacheError::is_server_failure));
        assert_eq!(
            failure.report(),
            "could not connect: connecting to 127.0.0.1:1: connection refused"
        );
    }

    #[test]
    fn replies_are_not_server_failures() {
        for e in [
            MemcacheError::NotFound,
            MemcacheError::NotStored,
            MemcacheError::Exists,
            MemcacheError::ServerError("out of memory".into()),
        ] {
            assert!(!e.is_server_failure(), "{e}");
        }
        assert!(MemcacheError::Timeout(Duration::from_secs(1)).is_server_failure());
    }
}
