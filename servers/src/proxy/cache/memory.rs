//! [`MemoryCache`]: pages in the proxy's memory, least recently used first
//! out, bounded in bytes, each kept at most a TTL.
//!
//! The entries live in a slab and are threaded on a
//! [`SlabList`](torsion::list::SlabList) by slab index (most recently used
//! at the front), so a hit, an insert and an eviction are O(1); a map from
//! URL to slab index finds them. Time is an input (design rule 4): every call takes `now`,
//! the reactor's clock, so tests move time by hand.
//!
//! An expired entry is dropped when it is asked for; one nobody asks for
//! again ages towards the tail and is evicted like any other, so expired
//! entries never hold more than the size bound.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use slab::Slab;
use torsion::list::{Linked, Links, SlabList};

/// Bytes counted for each entry on top of its key and body: the map's
/// slot, the slab's slot, the shared key's count. An estimate, so that a
/// cache of many tiny pages is bounded too.
pub const ENTRY_OVERHEAD: usize = 96;

struct Entry {
    key: Rc<str>,
    body: Bytes,
    expires: Duration,
    /// Its place in the recency order.
    links: Links,
}

impl Linked for Entry {
    fn links(&self) -> Links {
        self.links
    }

    fn set_links(&mut self, links: Links) {
        self.links = links;
    }
}

/// An LRU map from URL to body, bounded in bytes, with a TTL.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use torsion_servers::proxy::cache::{MemoryCache, ENTRY_OVERHEAD};
///
/// let page = |n: usize| Bytes::from(vec![b'x'; n]);
/// let entry = 8 + 100 + ENTRY_OVERHEAD; // key, body, bookkeeping
/// let mut cache = MemoryCache::new(2 * entry, Duration::from_secs(60));
/// let now = Duration::ZERO;
/// cache.insert("http://a", page(100), now);
/// cache.insert("http://b", page(100), now);
/// assert!(cache.get("http://a", now).is_some()); // a is now the most recent
/// cache.insert("http://c", page(100), now);       // evicts b, the least recent
/// assert!(cache.get("http://b", now).is_none());
/// assert!(cache.get("http://a", now).is_some());
/// assert!(cache.get("http://a", Duration::from_secs(61)).is_none()); // expired
/// ```
pub struct MemoryCache {
    map: HashMap<Rc<str>, u32>,
    entries: Slab<Entry>,
    /// Most recently used first.
    recency: SlabList,
    bytes: usize,
    max_bytes: usize,
    ttl: Duration,
}

impl MemoryCache {
    /// An empty cache of at most `max_bytes`, keeping pages `ttl`.
    pub fn new(max_bytes: usize, ttl: Duration) -> Self {
        MemoryCache {
            map: HashMap::new(),
            entries: Slab::new(),
            recency: SlabList::new(),
            bytes: 0,
            max_bytes,
            ttl,
        }
    }

    /// What an entry costs against the bound.
    pub fn cost(key: &str, body: &[u8]) -> usize {
        key.len() + body.len() + ENTRY_OVERHEAD
    }

    /// The body cached for `key`, unless absent or expired at `now`; a hit
    /// makes it the most recently used.
    pub fn get(&mut self, key: &str, now: Duration) -> Option<Bytes> {
        let index = *self.map.get(key)?;
        if self.entries[index as usize].expires <= now {
            self.remove_at(index);
            return None;
        }
        self.recency.move_to_front(&mut self.entries, index);
        Some(self.entries[index as usize].body.clone())
    }

    /// Caches `body` for `key` (replacing what was there), evicting the
    /// least recently used entries to make room. False, and nothing is
    /// cached, when the entry alone is larger than the whole cache.
    pub fn insert(&mut self, key: &str, body: Bytes, now: Duration) -> bool {
        self.remove(key);
        let cost = Self::cost(key, &body);
        if cost > self.max_bytes {
            return false;
        }
        while self.bytes + cost > self.max_bytes {
            match self.recency.back() {
                Some(tail) => self.remove_at(tail),
                None => break,
            }
        }
        let key: Rc<str> = Rc::from(key);
        let index = self.entries.insert(Entry {
            key: key.clone(),
            body,
            expires: now.saturating_add(self.ttl),
            links: Links::UNLINKED,
        });
        // A list names its nodes by u32: a 2^32nd page is not kept.
        let Ok(index) = u32::try_from(index) else {
            self.entries.remove(index);
            return false;
        };
        self.recency.push_front(&mut self.entries, index);
        self.map.insert(key, index);
        self.bytes += cost;
        true
    }

    /// Drops `key`'s entry, if any.
    pub fn remove(&mut self, key: &str) {
        if let Some(&index) = self.map.get(key) {
            self.remove_at(index);
        }
    }

    /// Entries held (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes held, as counted against the bound.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The bound, in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    fn remove_at(&mut self, index: u32) {
        self.recency.unlink(&mut self.entries, index);
        let entry = self.entries.remove(index as usize);
        self.map.remove(&entry.key);
        self.bytes -= Self::cost(&entry.key, &entry.body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn page(n: usize) -> Bytes {
        Bytes::from(vec![b'p'; n])
    }

    fn order(cache: &MemoryCache) -> Vec<String> {
        cache
            .recency
            .iter(&cache.entries)
            .map(|i| cache.entries[i as usize].key.to_string())
            .collect()
    }

    #[test]
    fn evicts_the_least_recently_used_first() {
        let cost = MemoryCache::cost("k0", &page(10));
        let mut cache = MemoryCache::new(3 * cost, 60 * SEC);
        for k in ["k0", "k1", "k2"] {
            assert!(cache.insert(k, page(10), Duration::ZERO));
        }
        assert_eq!(order(&cache), ["k2", "k1", "k0"]);
        cache.get("k0", Duration::ZERO).unwrap();
        assert_eq!(order(&cache), ["k0", "k2", "k1"]);
        cache.insert("k3", page(10), Duration::ZERO);
        assert_eq!(order(&cache), ["k3", "k0", "k2"]);
        assert_eq!(cache.bytes(), 3 * cost);
        // A bigger page evicts as many as it needs.
        cache.insert("k4", page(10 + cost), Duration::ZERO);
        assert_eq!(order(&cache), ["k4", "k3"]);
        assert!(cache.bytes() <= cache.max_bytes());
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let mut cache = MemoryCache::new(1 << 20, 10 * SEC);
        cache.insert("a", page(1), Duration::ZERO);
        cache.insert("b", page(1), 5 * SEC);
        assert!(cache.get("a", 9 * SEC).is_some());
        assert!(cache.get("a", 10 * SEC).is_none());
        assert_eq!(cache.len(), 1);
        assert!(cache.get("b", 14 * SEC).is_some());
        assert_eq!(cache.bytes(), MemoryCache::cost("b", &page(1)));
    }

    #[test]
    fn a_page_larger_than_the_cache_is_not_kept() {
        let mut cache = MemoryCache::new(1000, SEC);
        cache.insert("small", page(10), Duration::ZERO);
        assert!(!cache.insert("big", page(1000), Duration::ZERO));
        assert!(cache.get("big", Duration::ZERO).is_none());
        assert!(
            cache.get("small", Duration::ZERO).is_some(),
            "nothing evicted for nothing"
        );
    }

    #[test]
    fn replacing_a_key_counts_it_once() {
        let mut cache = MemoryCache::new(1 << 20, SEC);
        cache.insert("a", page(100), Duration::ZERO);
        cache.insert("a", page(50), Duration::ZERO);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.bytes(), MemoryCache::cost("a", &page(50)));
        assert_eq!(cache.get("a", Duration::ZERO).unwrap().len(), 50);
        cache.remove("a");
        assert!(cache.is_empty());
        assert_eq!(cache.bytes(), 0);
    }

    #[test]
    fn many_entries_stay_within_the_bound() {
        let mut cache = MemoryCache::new(64 * 1024, 60 * SEC);
        for i in 0..10_000 {
            cache.insert(&format!("http://x/{i}"), page(i % 700), Duration::ZERO);
            assert!(cache.bytes() <= cache.max_bytes());
        }
        assert_eq!(cache.len(), cache.map.len());
        assert_eq!(order(&cache).len(), cache.len());
    }
}
