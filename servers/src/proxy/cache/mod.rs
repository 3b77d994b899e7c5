//! Where pages are kept between requests: nowhere, in memory, or in
//! memcached. [`Cache`] gives all three one shape, Deferreds in and out,
//! so `get_cached_page` does not care which it has (the seeds' point:
//! "client code doesn't care how storing is done").

mod memcached;
mod memory;

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use torsion::defer::succeed;
use torsion::{Deferred, Reactor};

pub use memcached::{cache_key, MemcachedCache, ITEM_OVERHEAD};
pub use memory::{MemoryCache, ENTRY_OVERHEAD};

use super::config::{CacheSpec, ProxyConfig};

/// A page cache, whichever its kind. Cheap to clone (clones share it).
#[derive(Clone)]
pub enum Cache {
    /// Nothing is cached.
    None,
    /// In the proxy's memory.
    Memory(Rc<RefCell<MemoryCache>>),
    /// In memcached.
    Memcached(MemcachedCache),
}

impl Cache {
    /// The cache `config` asks for (a memcached pool starts connecting now).
    pub fn new(reactor: &mut Reactor, config: &ProxyConfig) -> Cache {
        match &config.cache {
            CacheSpec::None => Cache::None,
            CacheSpec::Memory => Cache::Memory(Rc::new(RefCell::new(MemoryCache::new(
                config.cache_size,
                config.cache_ttl,
            )))),
            CacheSpec::Memcached(servers) => Cache::Memcached(MemcachedCache::new(
                reactor,
                servers.clone(),
                config.cache_ttl,
                config.max_item,
                config.cache_timeout,
                config.cache_retry,
            )),
        }
    }

    /// The page cached for `url`, or `None`. Never fails: a cache that
    /// cannot answer is a miss.
    pub fn lookup(&self, reactor: &mut Reactor, url: &str) -> Deferred<Option<Bytes>> {
        match self {
            Cache::None => succeed(None),
            Cache::Memory(memory) => {
                let now = reactor.now();
                succeed(memory.borrow_mut().get(url, now))
            }
            Cache::Memcached(memcached) => memcached.lookup(reactor, url),
        }
    }

    /// Keeps `body` for `url`; fires when it is stored (or not). Never fails.
    pub fn store(&self, reactor: &mut Reactor, url: &str, body: Bytes) -> Deferred<()> {
        match self {
            Cache::None => {}
            Cache::Memory(memory) => {
                let now = reactor.now();
                let size = body.len();
                if !memory.borrow_mut().insert(url, body, now) {
                    log::debug!("not caching {url}: {size} bytes is more than the whole memory cache holds");
                }
            }
            Cache::Memcached(memcached) => return memcached.store(reactor, url, body),
        }
        succeed(())
    }
}
