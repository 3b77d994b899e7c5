//! [`MemcachedCache`]: pages in memcached, through the ketama
//! [`MemcachePool`], so that every proxy naming the same servers shares
//! them (the seeds' `getMemcachedPage`).
//!
//! memcached is a cache, not a dependency: when it cannot be reached the
//! proxy serves every page uncached, and says so once (a warning when the
//! first request fails, an info line when one succeeds again), not once
//! per request. A page too large for one memcached item is not sent at all
//! (said at debug level).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use md5::{Digest, Md5};
use torsion::defer::succeed;
use torsion::{Deferred, Failure, Reactor};
use torsion_clients::memcache::{
    check_key, ClientConfig, Commands, MemcacheError, MemcachePool, PoolConfig, ServerSpec,
};

/// Bytes of a memcached item besides its key and value: the item header,
/// the CAS unique, the `\r\n` and the flags' suffix (about 60 in memcached
/// 1.6; rounded up).
pub const ITEM_OVERHEAD: usize = 128;

/// memcached reads an exptime above 30 days as a Unix time: a longer TTL
/// is clamped to it.
const MAX_RELATIVE_EXPTIME: u64 = 30 * 24 * 3600;

/// The memcached key of a page: the URL itself when it is a valid key (at
/// most 250 bytes, no spaces or control characters), else
/// `torsion-proxy:md5:<hex>` of it. Every proxy computes the same key, so
/// proxies sharing servers share pages.
///
/// ```
/// use torsion_servers::proxy::cache::cache_key;
///
/// assert_eq!(cache_key("http://example.com/"), "http://example.com/");
/// let long = format!("http://example.com/{}", "a".repeat(300));
/// assert_eq!(cache_key(&long).len(), "torsion-proxy:md5:".len() + 32);
/// ```
pub fn cache_key(url: &str) -> String {
    if check_key(url.as_bytes()).is_ok() {
        return url.to_string();
    }
    let digest = Md5::digest(url.as_bytes());
    let mut key = String::from("torsion-proxy:md5:");
    for byte in digest {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

/// Whether memcached answers, to log changes once.
#[derive(Default)]
struct Health {
    down: Cell<bool>,
    outages: Cell<u64>,
}

impl Health {
    fn answered(&self) {
        if self.down.replace(false) {
            log::info!("memcached answers again: caching pages again");
        }
    }

    fn failed(&self, failure: &Failure) {
        if !self.down.replace(true) {
            self.outages.set(self.outages.get() + 1);
            log::warn!(
                "memcached is unreachable ({failure}): serving pages without the cache until it answers"
            );
        }
    }
}

/// Whether a failure says the servers cannot be reached (rather than that
/// one request was refused, such as a value memcached would not store).
fn unreachable(failure: &Failure) -> bool {
    !matches!(
        MemcacheError::of(failure),
        Some(
            MemcacheError::NotFound
                | MemcacheError::NotStored
                | MemcacheError::Exists
                | MemcacheError::Error(_)
                | MemcacheError::ClientError(_)
                | MemcacheError::ServerError(_)
                | MemcacheError::InvalidRequest(_)
        )
    )
}

/// A page cache in memcached servers.
#[derive(Clone)]
pub struct MemcachedCache {
    pool: MemcachePool,
    exptime: u32,
    max_item: usize,
    health: Rc<Health>,
}

impl MemcachedCache {
    /// A cache on `servers`: pages kept `ttl`, items of at most `max_item`
    /// bytes, each request given `timeout` (and each connect too), a
    /// server that stopped answering tried again after `retry`.
    pub fn new(
        reactor: &mut Reactor,
        servers: Vec<ServerSpec>,
        ttl: Duration,
        max_item: usize,
        timeout: Duration,
        retry: Duration,
    ) -> Self {
        let config = PoolConfig {
            client: ClientConfig {
                timeout: Some(timeout),
                ..ClientConfig::default()
            },
            connect_timeout: timeout,
            retry_after: retry,
            ..PoolConfig::default()
        };
        MemcachedCache {
            pool: MemcachePool::new(reactor, servers, config),
            exptime: ttl.as_secs().clamp(1, MAX_RELATIVE_EXPTIME) as u32,
            max_item,
            health: Rc::default(),
        }
    }

    /// The pool.
    pub fn pool(&self) -> &MemcachePool {
        &self.pool
    }

    /// How many times memcached was found unreachable (each outage counts
    /// once, however many requests it failed).
    pub fn outages(&self) -> u64 {
        self.health.outages.get()
    }

    /// The page cached for `url`; `None` on a miss, and when memcached
    /// cannot be reached.
    pub fn lookup(&self, reactor: &mut Reactor, url: &str) -> Deferred<Option<Bytes>> {
        let health = self.health.clone();
        self.pool
            .get(cache_key(url))
            .then_both(reactor, move |_, result| match result {
                Ok(value) => {
                    health.answered();
                    Ok(value.map(|v| v.data))
                }
                Err(failure) => {
                    if unreachable(&failure) {
                        health.failed(&failure);
                    } else {
                        log::debug!("memcached get failed: {failure}");
                    }
                    Ok(None)
                }
            })
    }

    /// Stores `body` for `url`; fires once memcached answered (or could
    /// not), never failing: a page not cached is still served.
    pub fn store(&self, reactor: &mut Reactor, url: &str, body: Bytes) -> Deferred<()> {
        let key = cache_key(url);
        if key.len() + body.len() + ITEM_OVERHEAD > self.max_item {
            log::debug!(
                "not caching {url}: {} bytes is more than one memcached item holds ({} bytes)",
                body.len(),
                self.max_item
            );
            return succeed(());
        }
        let health = self.health.clone();
        let url = url.to_string();
        self.pool
            .set(&key, &body, 0, self.exptime)
            .then_both(reactor, move |_, result| {
                match result {
                    Ok(()) => health.answered(),
                    Err(failure) if unreachable(&failure) => health.failed(&failure),
                    Err(failure) => log::debug!("memcached did not store {url}: {failure}"),
                }
                Ok::<(), Failure>(())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_counted_once_until_memcached_answers_again() {
        let health = Health::default();
        let down = Failure::new(MemcacheError::NoServers);
        for _ in 0..3 {
            health.failed(&down);
        }
        assert_eq!((health.down.get(), health.outages.get()), (true, 1));
        health.answered();
        health.answered();
        assert!(!health.down.get());
        health.failed(&down);
        assert_eq!(health.outages.get(), 2);
    }

    #[test]
    fn refusals_are_not_outages() {
        assert!(unreachable(&Failure::new(MemcacheError::ConnectionLost)));
        assert!(unreachable(&Failure::new(MemcacheError::Timeout(
            Duration::from_secs(1)
        ))));
        assert!(unreachable(&Failure::msg("anything else")));
        assert!(!unreachable(&Failure::new(MemcacheError::ServerError(
            "object too large for cache".into()
        ))));
        assert!(!unreachable(&Failure::new(MemcacheError::NotStored)));
    }
}
