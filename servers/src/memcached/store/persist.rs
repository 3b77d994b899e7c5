//! What a warm restart needs of the store: reading every live item out in
//! LRU order, and putting a saved item back exactly as it was.
//!
//! The snapshot file itself (its format, its checks) is
//! [`restart`](crate::memcached::restart)'s; this file only bridges it to the
//! store, through the store's own allocation path ([`Store::write`]), so
//! that pages, per-class figures, `bytes` and `curr_items` after a restore
//! are what storing the same items afresh gives.
//!
//! # Implementation notes
//!
//! - Items are visited class by class, least recently used first: the
//!   cold list from its tail, then warm, hot and temp. A restore stores the
//!   item afresh (to the head of hot, or temp for a short TTL), so a class
//!   comes back with its old order in its hot list, the oldest at the tail,
//!   and the LRU maintainer moves them down to warm and cold as it does
//!   any new items; the order *between* classes does not exist in the store
//!   (each class has its own lists).
//! - Visiting walks the LRU lists through each record's `prev` link, the
//!   same walk `class_items` does the other way.

use super::super::item::{Item, ItemBits, NEVER};
use super::super::lru::NIL;
use super::super::restart::{SavedItem, Skipped};
use std::hash::BuildHasher;

use super::{blob_key, Segment, Slot, Store};

impl Store {
    /// Calls `f` with every live, visible item (neither expired nor flushed
    /// at `now`), class by class, least recently used first within a class.
    /// Stops at the first error `f` returns and hands it back.
    pub fn for_each_oldest_first<E>(
        &self,
        now: u32,
        mut f: impl FnMut(Item<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        // Cold, the oldest, first, then warm, hot, and the short-lived.
        const OLDEST_FIRST: [Segment; 4] = [Segment::Cold, Segment::Warm, Segment::Hot, Segment::Temp];
        for lists in &self.lrus {
            for segment in OLDEST_FIRST {
                let mut i = lists[segment.index()].back().unwrap_or(NIL);
                while i != NIL {
                    let slot = &self.slots[i as usize];
                    if slot.is_live() && self.gone(i, now).is_none() {
                        f(self.item(i))?;
                    }
                    i = slot.prev;
                }
            }
        }
        Ok(())
    }

    /// Makes room in the index for `items` more items up front (a restore
    /// knows how many are coming; growing the table step by step would
    /// rehash it about 10 times for a million items). At most as many as
    /// the memory limit could hold in the smallest chunks are reserved, so
    /// a wrong count cannot take much more memory than `-m`'s items would.
    pub fn reserve_items(&mut self, items: u64) {
        let smallest = self.slabs.table().chunk_size(1).max(1);
        let most = self.config.max_bytes / smallest;
        let items = usize::try_from(items).unwrap_or(usize::MAX).min(most);
        let (arena, hasher) = (&self.arena, &self.hasher);
        self.index.reserve(items, &mut self.slots, |slot: &Slot| {
            hasher.hash_one(blob_key(arena.bytes(slot.loc)))
        });
        self.slots.reserve(items);
    }

    /// The CAS unique the next stored item will get.
    pub fn next_cas(&self) -> u64 {
        self.next_cas
    }

    /// The unix second a delayed `flush_all` takes effect, if one is pending.
    pub fn pending_flush(&self) -> Option<u32> {
        self.pending_flush
    }

    /// Puts a saved item back at the head of its class's LRU with its CAS
    /// unique, expiry, last access and bits, charged as a fresh store of it
    /// would be. Counts nothing in the store's `stats` but what allocation
    /// itself counts (the caller starts the counters afresh after a load).
    /// An item already expired at `now` is not restored.
    pub fn restore(&mut self, item: SavedItem, now: u32) -> Result<(), Skipped> {
        if item.expires != NEVER && item.expires <= now {
            return Err(Skipped::Expired);
        }
        let key_len = item.key_len;
        if key_len == 0 || key_len > super::MAX_KEY_LEN || key_len > item.data.len() {
            return Err(Skipped::Invalid);
        }
        let value_len = item.data.len() - key_len;
        if self
            .slabs
            .table()
            .layout(key_len, item.flags, value_len)
            .is_none()
        {
            return Err(Skipped::Invalid);
        }
        let key = &item.data[..key_len];
        let old = self.find(key);
        // `write` takes a CAS unique for the new item; the saved one replaces
        // it, so the counter is left where it was.
        let next_cas = self.next_cas;
        let value = &item.data[key_len..];
        self.write(old, false, key, &[value], item.flags, item.expires, now)
            .map_err(|()| Skipped::NoRoom)?;
        let Some(i) = self.find(key) else {
            return Err(Skipped::NoRoom);
        };
        let mut meta = self.meta(i);
        meta.cas = item.cas;
        meta.atime = item.last_access;
        // Keep the internal bits `write` set (the item's place in the LRU).
        meta.bits = meta
            .bits
            .without(ItemBits::PUBLIC)
            .union(item.bits.intersection(ItemBits::PUBLIC));
        // A CAS past 2^32 may need a wider header: set_meta moves the blob.
        self.set_meta(i, meta).ok_or(Skipped::NoRoom)?;
        self.next_cas = next_cas.max(item.cas.saturating_add(1));
        Ok(())
    }
}
