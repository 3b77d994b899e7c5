//! The store's counters, named as memcached's `stats` names them.

/// Counters kept by the [`Store`](super::Store). All of them are cumulative and
/// go back to zero on `stats reset`; the gauges (`curr_items`, `bytes`) are read
/// from the store itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Keys looked up by get-like reads (hits + misses).
    pub cmd_get: u64,
    /// Storage requests that reached the store (every mode, with or without success).
    pub cmd_set: u64,
    /// `flush_all` requests.
    pub cmd_flush: u64,
    /// Touch requests (`touch`, `gat`, `gats`).
    pub cmd_touch: u64,
    /// Reads that found a live item.
    pub get_hits: u64,
    /// Reads that found nothing live.
    pub get_misses: u64,
    /// Lookups that found an item whose time had passed (it was reclaimed then).
    pub get_expired: u64,
    /// Lookups that found an item invalidated by `flush_all`.
    pub get_flushed: u64,
    /// Deletes of a live item.
    pub delete_hits: u64,
    /// Deletes of a missing key.
    pub delete_misses: u64,
    /// `incr` on a live counter.
    pub incr_hits: u64,
    /// `incr` on a missing key.
    pub incr_misses: u64,
    /// `decr` on a live counter.
    pub decr_hits: u64,
    /// `decr` on a missing key.
    pub decr_misses: u64,
    /// CAS stores whose unique matched.
    pub cas_hits: u64,
    /// CAS stores on a missing key.
    pub cas_misses: u64,
    /// CAS stores whose unique did not match.
    pub cas_badval: u64,
    /// Touches of a live item.
    pub touch_hits: u64,
    /// Touches of a missing key.
    pub touch_misses: u64,
    /// Stores refused as larger than the item size limit.
    pub store_too_large: u64,
    /// Stores refused for lack of memory.
    pub store_no_memory: u64,
    /// Items ever linked (stored, replaced, appended, created by incr).
    pub total_items: u64,
    /// Live items removed to make room.
    pub evictions: u64,
    /// Expired or flushed items freed from the LRU tail to make room
    /// (memcached's `reclaimed`).
    pub reclaimed: u64,
    /// Expired or flushed items freed by [`Store::crawl`](super::Store::crawl).
    pub crawler_reclaimed: u64,
    /// Items the crawler looked at.
    pub crawler_items_checked: u64,
    /// Items that expired (or were flushed) and were reclaimed by the crawler or
    /// the LRU tail without ever having been read.
    pub expired_unfetched: u64,
    /// Items evicted without ever having been read.
    pub evicted_unfetched: u64,
    /// Seconds between the last access and the eviction of the last evicted item
    /// (memcached's `items:N:evicted_time`).
    pub evicted_time: u64,
    /// Times a store found no room at all (memcached's `items:N:outofmemory`).
    pub outofmemory: u64,
    /// Live items evicted to move their page to another class (`slabs reassign`).
    pub slab_reassign_evictions: u64,
    /// Pages moved between classes or to the global pool (memcached's
    /// `slabs_moved`).
    pub slabs_moved: u64,
    /// Passes of the LRU maintainer over the classes
    /// ([`Store::maintain`](super::Store::maintain)).
    pub lru_maintainer_juggles: u64,
}

/// One size class's figures: memcached's `stats items` (`items:N:...`) and
/// `stats slabs` (`N:get_hits` ...) counters. The gauges (`number`,
/// `mem_requested`) survive `stats reset`; the counters go back to zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassStats {
    /// Items in the class.
    pub number: u64,
    /// Sum of the items' memcached sizes (`mem_requested`).
    pub mem_requested: u64,
    /// Live items evicted to make room.
    pub evicted: u64,
    /// Evicted items that had an expiry.
    pub evicted_nonzero: u64,
    /// Seconds since the last access of the last evicted item.
    pub evicted_time: u64,
    /// Times an item of this class could not be allocated.
    pub outofmemory: u64,
    /// Expired or flushed items freed from the LRU tail.
    pub reclaimed: u64,
    /// Expired items reclaimed without ever having been read.
    pub expired_unfetched: u64,
    /// Evicted items never read.
    pub evicted_unfetched: u64,
    /// Expired or flushed items freed by the crawler.
    pub crawler_reclaimed: u64,
    /// Items the crawler looked at.
    pub crawler_items_checked: u64,
    /// Allocation retries after evicting (`direct_reclaims`).
    pub direct_reclaims: u64,
    /// Reads that hit an item of this class.
    pub get_hits: u64,
    /// Stores of an item of this class.
    pub cmd_set: u64,
    /// Deletes of an item of this class.
    pub delete_hits: u64,
    /// `incr` hits.
    pub incr_hits: u64,
    /// `decr` hits.
    pub decr_hits: u64,
    /// CAS stores whose unique matched.
    pub cas_hits: u64,
    /// CAS stores whose unique did not match.
    pub cas_badval: u64,
    /// Touch hits.
    pub touch_hits: u64,
    /// Items in each sub-LRU, indexed by [`Segment`](super::store::Segment) (HOT,
    /// WARM, COLD, TEMP): `number_hot` ... `number_temp`. A gauge.
    pub lru_items: [u64; 4],
    /// Bytes (memcached sizes) in each sub-LRU; the maintainer sizes HOT and
    /// WARM by them. A gauge.
    pub lru_bytes: [u64; 4],
    /// Hits on items of each sub-LRU (`hits_to_hot` ... `hits_to_temp`).
    pub lru_hits: [u64; 4],
    /// Items moved from HOT or WARM to COLD.
    pub moves_to_cold: u64,
    /// Items moved to WARM (active ones from HOT or COLD).
    pub moves_to_warm: u64,
    /// Active WARM items moved back to WARM's head.
    pub moves_within_lru: u64,
    /// Evicted items that were active.
    pub evicted_active: u64,
}

impl ClassStats {
    /// Zeroes the counters, keeping the gauges (`stats reset`).
    pub fn reset(&mut self) {
        *self = ClassStats {
            number: self.number,
            mem_requested: self.mem_requested,
            lru_items: self.lru_items,
            lru_bytes: self.lru_bytes,
            ..ClassStats::default()
        };
    }
}
