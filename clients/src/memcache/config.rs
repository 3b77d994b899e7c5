//! [`ClientConfig`]: timeouts, reconnection and bounds of a client.

use std::time::Duration;

use torsion::reconnect::Backoff;

/// How a [`MemcacheClient`](super::MemcacheClient) behaves. Every field has
/// a sensible default; change the ones you need:
///
/// ```
/// use std::time::Duration;
/// use torsion_clients::memcache::ClientConfig;
///
/// let config = ClientConfig {
///     timeout: Some(Duration::from_millis(250)),
///     ..ClientConfig::default()
/// };
/// assert_eq!(config.max_pending, 10_000);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    /// How long a request may wait for its reply, from the moment it is
    /// written (or queued, while the client is connecting). When it
    /// expires the request fails with
    /// [`Timeout`](super::MemcacheError::Timeout) and the connection is
    /// dropped: the replies still coming could no longer be matched to
    /// their requests. `None` waits forever. Default: 5 s (libmemcached's
    /// poll timeout).
    pub timeout: Option<Duration>,
    /// How long to wait before reconnecting after a failed attempt or a
    /// connection lost before any reply; `max_retries` gives up for good.
    /// A connection lost after it served replies is reconnected at once.
    /// Default: 100 ms, doubling, at most 10 s, 20% jitter, no limit.
    pub backoff: Backoff,
    /// Requests queued or in flight at most (design rule 6); past it a
    /// request fails at once with
    /// [`TooManyPending`](super::MemcacheError::TooManyPending).
    /// Default: 10,000.
    pub max_pending: usize,
    /// The largest reply accepted, in bytes: a value, or all the values of
    /// a multi-get. A larger one is a protocol error that drops the
    /// connection. Default: 64 MiB (memcached's own item limit is 1 MiB
    /// unless `-I` raises it).
    pub max_reply: usize,
    /// Keys per `get` line: a longer multi-get is split into several
    /// requests, pipelined. Default: 100.
    pub keys_per_get: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout: Some(Duration::from_secs(5)),
            backoff: Backoff {
                initial: Duration::from_millis(100),
                factor: 2.0,
                max: Duration::from_secs(10),
                jitter: 0.2,
                max_retries: None,
            },
            max_pending: 10_000,
            max_reply: 64 << 20,
            keys_per_get: 100,
        }
    }
}
