//! The store's memory, as memcached's slab allocator would hand it out: an
//! item's chunks are taken class by class, evicting from that class's own
//! LRU tail when its pages are full ([`classes`](super::super::classes) does
//! the accounting); pages move between classes (`slabs reassign`, the
//! automover); items an `mg` reply still holds are marked; and the per-class
//! figures are read here.

use std::hash::BuildHasher;

use super::super::classes::{Layout, Slabs};
use super::super::item::{blob_bits, blob_key, set_blob_bits, ItemBits, Meta, Slot, NEVER};
use super::super::lru::NIL;
use super::super::slab_admin::Automove;
use super::super::stats::ClassStats;
use super::segments::{Pull, Segment};
use super::{Store, MAX_SLOTS};

/// Times an allocation evicts and retries before giving up (memcached's
/// `do_item_alloc_pull` loop).
const ALLOC_TRIES: usize = 10;

/// A class with more free chunks than this many pages' worth gives a page
/// back (memcached's automover, `MIN_PAGES_FOR_RECLAIM`).
pub const RECLAIM_PAGES: f64 = 2.5;

impl Store {
    /// memcached's background page mover, one step: with `slab_reassign` and
    /// automove on, each class holding more than [`RECLAIM_PAGES`] pages of
    /// free chunks gives one free page to the global pool, and pool pages
    /// beyond the memory limit are released. O(classes); the server runs it
    /// with the crawler. Returns how many pages moved.
    pub fn rebalance(&mut self) -> usize {
        if !self.config.slab_reassign || self.automove.level == 0 {
            return 0;
        }
        let mut moved = 0;
        for class in 1..=self.slabs.table().largest() {
            let per_page = f64::from(self.slabs.table().per_page(class));
            let c = self.slabs.class(class);
            if c.pages > 1 && c.free as f64 > per_page * RECLAIM_PAGES && self.slabs.move_page(class, 0) {
                moved += 1;
            }
        }
        self.stats.slabs_moved += moved as u64;
        self.slabs.release();
        moved
    }

    /// The page accounting and its class table.
    pub fn slabs(&self) -> &Slabs {
        &self.slabs
    }

    /// One class's figures (class ids start at 1; a class that does not
    /// exist has all zeros).
    pub fn class_stats(&self, class: u8) -> ClassStats {
        self.classes.get(usize::from(class)).cloned().unwrap_or_default()
    }

    /// Seconds since the least recently used item of `class`'s COLD list
    /// (its only list without segments) was last accessed (`items:N:age`),
    /// `None` when that list is empty.
    pub fn class_age(&self, class: u8, now: u32) -> Option<u32> {
        self.tail_age(class, Segment::Cold, now)
    }

    /// Seconds since the tail item of `class`'s `segment` list was last
    /// accessed (`items:N:age_hot`, `age_warm`), `None` when it is empty.
    pub fn segment_age(&self, class: u8, segment: Segment, now: u32) -> Option<u32> {
        self.tail_age(class, segment, now)
    }

    /// Turns the `stats sizes` histogram on (counting items stored from now
    /// on, as memcached does) or off.
    pub fn set_sizes_enabled(&mut self, on: bool) {
        self.sizes_from = match (on, self.sizes_from) {
            (true, Some(from)) => Some(from),
            (true, None) => Some(self.next_cas),
            (false, _) => None,
        };
    }

    /// The `stats sizes` histogram: item counts by memcached size rounded up
    /// to 32 bytes, smallest first; `None` when disabled. A scan of every
    /// record (O(n)): a debugging command, as in memcached.
    pub fn sizes(&self) -> Option<Vec<(usize, u64)>> {
        let from = self.sizes_from?;
        let mut buckets = std::collections::BTreeMap::new();
        for (i, _) in self.slots.iter().enumerate().filter(|(_, s)| s.is_live()) {
            let item = self.item(i as u32);
            if item.cas() >= from {
                *buckets.entry(item.size().div_ceil(32) * 32).or_insert(0u64) += 1;
            }
        }
        Some(buckets.into_iter().collect())
    }

    /// The `slabs automove` settings (`stats settings` reports them).
    pub fn automove(&self) -> Automove {
        self.automove
    }

    /// Changes the `slabs automove` settings.
    pub fn set_automove(&mut self, automove: Automove) {
        self.automove = automove;
    }

    /// Moves a page from class `src` to class `dst` (0: the global page pool),
    /// as memcached's slab mover does: items of `src` are evicted from its LRU
    /// tails (COLD's first, then HOT's, WARM's and TEMP's) until a page's
    /// worth of its chunks is free. Returns whether a page moved (the caller
    /// checks the classes first).
    pub fn reassign_page(&mut self, src: u8, dst: u8, now: u32) -> bool {
        let per_page = u64::from(self.slabs.table().per_page(src));
        let order = [Segment::Cold, Segment::Hot, Segment::Warm, Segment::Temp];
        while self.slabs.class(src).free < per_page {
            let Some(tail) = order.iter().find_map(|&seg| self.tail_of(src, seg)) else {
                break;
            };
            if self.gone(tail, now).is_none() {
                self.stats.slab_reassign_evictions += 1;
            }
            self.unlink(tail);
        }
        let moved = self.slabs.move_page(src, dst);
        self.stats.slabs_moved += u64::from(moved);
        moved
    }

    /// Up to `limit` items of `class` (0: all), most recently used first
    /// in each list, HOT, WARM, COLD then TEMP, for `stats cachedump`: key,
    /// value length, absolute expiry (0: never).
    pub fn class_items(&self, class: u8, limit: usize) -> Vec<(&[u8], usize, u32)> {
        let mut out = Vec::new();
        for segment in Segment::ALL {
            let mut i = self.head_of(class, segment).unwrap_or(NIL);
            while i != NIL && (limit == 0 || out.len() < limit) {
                let item = self.item(i);
                if !item.key_binary() {
                    out.push((item.key(), item.value().len(), item.expires_at().unwrap_or(NEVER)));
                }
                i = self.slots[i as usize].next;
            }
        }
        out
    }

    /// Marks the live item under `key` as held by a reply not yet written
    /// (memcached's `mg` keeps a reference to its item until the batch's
    /// replies are written, and `incr`/`decr`/`ma` then replace the item instead
    /// of rewriting it in place: no space padding; its text `get` does not).
    /// [`release`](Store::release) ends it.
    pub fn hold(&mut self, key: &[u8], now: u32) {
        if let Some(i) = self.find(key).filter(|&i| self.gone(i, now).is_none()) {
            let blob = self.blob_mut(i);
            let bits = blob_bits(blob);
            if !bits.contains(ItemBits::HELD) {
                set_blob_bits(blob, bits.union(ItemBits::HELD));
                self.held.push(i);
            }
        }
    }

    /// The replies of the batch were written: nothing is held any more. The
    /// connection layer calls it after each batch it answers.
    pub fn release(&mut self) {
        let held = std::mem::take(&mut self.held);
        for &i in &held {
            if self.slots.get(i as usize).is_some_and(Slot::is_live) {
                let blob = self.blob_mut(i);
                set_blob_bits(blob, blob_bits(blob).without(ItemBits::HELD));
            }
        }
        self.held = held;
        self.held.clear();
    }

    /// Replaces `old` (if any) with a new item of `key` and a value that is
    /// the concatenation of `value`'s parts. As in memcached, the new item's
    /// chunks are found first (evicting from their classes' LRU tails, `old`
    /// too unless `pin`); only then is `old` unlinked. Fails without
    /// changing anything but the evictions when there is no room.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn write(
        &mut self,
        old: Option<u32>,
        pin: bool,
        key: &[u8],
        value: &[&[u8]],
        flags: u32,
        expires: u32,
        now: u32,
    ) -> Result<u64, ()> {
        let value_len = value.iter().map(|part| part.len()).sum();
        let layout = self.slabs.table().layout(key.len(), flags, value_len);
        let slots_full = self.free == NIL && self.slots.len() >= MAX_SLOTS;
        let Some(layout) = layout.filter(|_| !slots_full) else {
            self.stats.outofmemory += 1;
            return Err(());
        };
        self.pinned = old.filter(|_| pin).unwrap_or(NIL);
        let tail = self.allocate(layout, now);
        self.pinned = NIL;
        // Evicted meanwhile? (allocating only frees slots, never reuses one.)
        let old = old.filter(|&i| self.slots[i as usize].is_live());
        let Some(tail) = tail else {
            self.stats.outofmemory += 1;
            self.classes[usize::from(layout.class)].outofmemory += 1;
            return Err(());
        };
        let cas = self.next_cas;
        let meta = Meta::new(key.len(), value_len, flags, expires, cas, now, layout.class, tail);
        let Some(loc) = self.arena.alloc(meta.blob_len()) else {
            self.free_chunks(layout, tail);
            self.stats.outofmemory += 1;
            self.classes[usize::from(layout.class)].outofmemory += 1;
            return Err(());
        };
        self.next_cas += 1;
        let blob = self.arena.bytes_mut(loc);
        meta.write(blob);
        let mut at = meta.header_len();
        for part in std::iter::once(&key).chain(value) {
            blob[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        if let Some(i) = old {
            self.unlink(i);
        }
        self.link(loc, &meta);
        Ok(cas)
    }

    /// Gives back the chunks an item of `layout` took (`tail`: its last
    /// chunk's class, 0 if none).
    fn free_chunks(&mut self, layout: Layout, tail: u8) {
        if layout.chunked() {
            let largest = self.slabs.table().largest();
            self.slabs.free(layout.header);
            self.slabs.free_n(largest, layout.full);
            if tail != 0 {
                self.slabs.free(tail);
            }
        } else {
            self.slabs.free(layout.class);
        }
    }

    /// Takes the chunks of `layout` (memcached's `do_item_alloc` and
    /// `do_item_alloc_chunk`): the first chunk, full chunks, then the last
    /// one, which falls back to a largest-class chunk when its own class has
    /// no room. Returns the last chunk's class (0: none), or `None` with
    /// everything taken given back.
    fn allocate(&mut self, layout: Layout, now: u32) -> Option<u8> {
        let largest = self.slabs.table().largest();
        if !self.pull(layout.header, now) {
            return None;
        }
        for taken in 0..layout.full {
            if !self.pull(largest, now) {
                self.slabs.free(layout.header);
                self.slabs.free_n(largest, taken);
                return None;
            }
        }
        let give_back = |slabs: &mut Slabs| {
            slabs.free(layout.header);
            slabs.free_n(largest, layout.full);
        };
        match layout.tail {
            0 => Some(0),
            tail if self.pull(tail, now) => Some(tail),
            tail if tail != largest && self.pull(largest, now) => Some(largest),
            _ => {
                give_back(&mut self.slabs);
                None
            }
        }
    }

    /// Takes one chunk of `class`, evicting from the class's COLD tail while
    /// there is no room, and pushing HOT's tail to COLD when COLD is empty
    /// (memcached's `do_item_alloc_pull`).
    fn pull(&mut self, class: u8, now: u32) -> bool {
        for tries in 0..ALLOC_TRIES {
            if !self.config.lru_segmented {
                self.pull_tail(class, now, false);
            }
            if self.slabs.alloc(class) {
                self.classes[usize::from(class)].direct_reclaims += tries as u64;
                return true;
            }
            if self.pull_tail(class, now, true) == 0
                && !(self.config.lru_segmented
                    && self.pull_segment(class, Segment::Hot, now, Pull::Evict) > 0)
            {
                self.classes[usize::from(class)].direct_reclaims += tries as u64 + 1;
                return false;
            }
        }
        false
    }

    /// Looks at the COLD tail of `class` (the class's only list without
    /// segments): frees expired or flushed items, and stops at the first
    /// live one, evicting it if `evict` and the store evicts (memcached's
    /// `lru_pull_tail` on COLD). Returns how many items were freed or moved.
    pub(super) fn pull_tail(&mut self, class: u8, now: u32, evict: bool) -> usize {
        let pull = if evict { Pull::Evict } else { Pull::Reclaim };
        self.pull_segment(class, Segment::Cold, now, pull)
    }

    /// Makes the blob at `loc`, with the fields of `meta`, a live item: a
    /// slot, an entry in the index, the head of its class's LRU, and the
    /// counts.
    fn link(&mut self, loc: super::Loc, meta: &Meta) {
        let i = if self.free != NIL {
            let i = self.free;
            self.free = self.slots[i as usize].next;
            i
        } else {
            self.slots.push(Slot::empty(NIL));
            (self.slots.len() - 1) as u32
        };
        self.slots[i as usize] = Slot {
            loc,
            ..Slot::empty(NIL)
        };
        let (arena, hasher) = (&self.arena, &self.hasher);
        let hash = hasher.hash_one(blob_key(arena.bytes(loc)));
        self.index.insert(hash, i, &mut self.slots, |slot: &Slot| {
            hasher.hash_one(blob_key(arena.bytes(slot.loc)))
        });
        let segment = self.first_segment(meta.expires, meta.atime);
        self.push(i, segment);
        let size = meta.size();
        let st = &mut self.classes[usize::from(meta.class())];
        st.number += 1;
        st.mem_requested += size as u64;
        self.bytes += size;
        self.curr_items += 1;
        self.stats.total_items += 1;
        debug_assert_eq!(self.index.len(), self.curr_items);
    }

    pub(super) fn unlink(&mut self, i: u32) {
        let loc = self.slots[i as usize].loc;
        let meta = Meta::read(self.arena.bytes(loc));
        let hash = self.hash(blob_key(self.arena.bytes(loc)));
        self.index.remove(hash, i, &mut self.slots);
        let size = meta.size();
        // Only a chunked item needs its layout worked out again.
        let layout = (size > self.slabs.table().chunk_max())
            .then(|| {
                self.slabs
                    .table()
                    .layout(usize::from(meta.key_len), meta.flags, meta.value_len as usize)
            })
            .flatten();
        self.drop_from_list(i);
        match layout {
            Some(l) if l.chunked() => self.free_chunks(l, meta.tail),
            _ => self.slabs.free(meta.class()),
        }
        let st = &mut self.classes[usize::from(meta.class())];
        st.number -= 1;
        st.mem_requested -= size as u64;
        self.arena.free(loc, meta.blob_len());
        self.slots[i as usize] = Slot::empty(self.free);
        self.free = i;
        self.bytes -= size;
        self.curr_items -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::classes::item_total;
    use super::super::{DeleteOutcome, StoreConfig, StoreError, StoreMode, StoreOutcome};
    use super::*;

    use super::super::tests::{big, pages, set, value, MB, NOW};

    #[test]
    fn lru_eviction_order() {
        // Two pages of class 38: four items, in one list per class
        // (`-o no_modern`; segments.rs tests the segmented order).
        let mut s = Store::new(StoreConfig {
            lru_segmented: false,
            ..pages(2, true).config().clone()
        });
        set(&mut s, b"k1", &big(1), 0, NOW);
        set(&mut s, b"k2", &big(2), 0, NOW);
        set(&mut s, b"k3", &big(3), 0, NOW);
        set(&mut s, b"k4", &big(4), 0, NOW);
        assert!(s.get(b"k1", NOW + 1).is_some()); // k2 is now the least recently used
        set(&mut s, b"k5", &big(5), 0, NOW + 2);
        assert!(s.peek(b"k2", NOW).is_none());
        assert_eq!(s.stats().evictions, 1);
        assert_eq!(s.stats().evicted_unfetched, 1);
        assert_eq!(s.stats().evicted_time, 2);
        set(&mut s, b"k6", &big(6), 0, NOW + 3);
        assert!(s.peek(b"k3", NOW).is_none());
        for k in [b"k1", b"k4", b"k5", b"k6"] {
            assert!(s.peek(k, NOW).is_some());
        }
        assert_eq!(s.bytes(), 4 * item_total(2, 0, 350_000));
        assert_eq!(s.stats().evictions, 2);
        assert_eq!(s.slabs().malloced(), 2 * MB as u64);
        set(&mut s, b"k7", &big(7), 0, NOW + 4);
        set(&mut s, b"k8", &big(8), 0, NOW + 4);
        // k1 was fetched before: its eviction is not "unfetched".
        assert!(s.peek(b"k1", NOW).is_none());
        assert_eq!(s.stats().evicted_unfetched, 3);
        assert_eq!(s.oldest_age(NOW + 10), Some(8));
        let c = s.class_stats(38);
        assert_eq!((c.number, c.evicted, c.evicted_unfetched), (4, 4, 3));
    }

    #[test]
    fn eviction_is_per_class() {
        // One page each: class 38 is full, small items still have their own page.
        let mut s = pages(1, true);
        set(&mut s, b"a", &big(1), 0, NOW);
        set(&mut s, b"b", &big(2), 0, NOW);
        for i in 0..1000u32 {
            set(&mut s, format!("small{i}").as_bytes(), b"v", 0, NOW);
        }
        // Over the limit by one page (every class gets its first page), and
        // nothing evicted: each class fits in its page.
        assert_eq!(s.slabs().malloced(), 2 * MB as u64);
        assert_eq!(s.stats().evictions, 0);
        // A third big item evicts the oldest big one, not a small one.
        set(&mut s, b"c", &big(3), 0, NOW);
        assert!(s.peek(b"a", NOW).is_none());
        assert!(s.peek(b"small0", NOW).is_some());
        assert_eq!(s.class_stats(38).evicted, 1);
        assert_eq!(s.class_stats(1).evicted, 0);
    }

    #[test]
    fn free_pages_go_back_when_the_limit_drops() {
        // dyn-maxbytes.t: fill 16 MB of class 31, lower the limit to 8 MB,
        // delete everything; the page mover gives pages back.
        let mut s = pages(16, true);
        let value = vec![b'B'; 66560];
        for i in 0..150 {
            set(&mut s, format!("key{i}").as_bytes(), &value, 0, NOW);
        }
        assert_eq!(s.slabs().malloced(), 13 * MB as u64); // 12 a page
        s.set_max_bytes(8 * MB);
        assert_eq!(s.rebalance(), 0); // nothing free yet
        for i in 0..150 {
            let _ = s.delete(format!("key{i}").as_bytes(), None, NOW);
        }
        let mut moved = 0;
        while let n @ 1.. = s.rebalance() {
            moved += n;
        }
        // Class 31 keeps what 2.5 pages of free chunks allow: 2 pages.
        assert_eq!(s.slabs().class(31).pages, 2);
        assert_eq!(moved, 11);
        assert_eq!(s.slabs().malloced(), 8 * MB as u64);
        assert_eq!(s.slabs().class(0).pages, 6);
        // The pool's pages serve any class first.
        set(&mut s, b"a", b"1", 0, NOW);
        assert_eq!(s.slabs().class(0).pages, 5);
        // No automove: nothing moves.
        let mut a = s.automove();
        a.level = 0;
        s.set_automove(a);
        assert_eq!(s.rebalance(), 0);
    }

    #[test]
    fn chunked_items_take_pages_of_several_classes() {
        let mut s = pages(64, true);
        let value = vec![b'x'; 600_000];
        set(&mut s, b"big", &value, 0, NOW);
        // Header in class 2 (120 bytes), a full 512 KiB chunk (class 39) and
        // the rest in class 31.
        for class in [2, 31, 39] {
            assert_eq!(s.slabs().class(class).pages, 1, "class {class}");
        }
        assert_eq!(s.class_stats(39).number, 1);
        assert_eq!(value_of(&mut s, b"big"), value);
        assert_eq!(s.delete(b"big", None, NOW), DeleteOutcome::Deleted);
        for class in [2, 31, 39] {
            let c = s.slabs().class(class);
            assert_eq!(
                u64::from(s.slabs().table().per_page(class)),
                c.free,
                "class {class}"
            );
        }
    }

    fn value_of(s: &mut Store, key: &[u8]) -> Vec<u8> {
        value(s, key, NOW).unwrap()
    }

    #[test]
    fn expired_tail_items_are_reclaimed_before_evicting() {
        let mut s = pages(1, true);
        set(&mut s, b"k1", &big(1), 5, NOW);
        set(&mut s, b"k2", &big(2), 0, NOW);
        set(&mut s, b"k3", &big(3), 0, NOW + 10);
        let st = s.stats();
        assert_eq!((st.reclaimed, st.expired_unfetched, st.evictions), (1, 1, 0));
        assert_eq!(s.class_stats(38).reclaimed, 1);
    }

    #[test]
    fn out_of_memory_without_eviction() {
        let mut s = pages(1, false);
        set(&mut s, b"k1", &big(1), 0, NOW);
        set(&mut s, b"k2", &big(2), 0, NOW);
        assert_eq!(
            s.store(StoreMode::Set, b"k3", 0, 0, &big(3), None, NOW),
            Err(StoreError::OutOfMemory)
        );
        // As in memcached, the new item is allocated before the old one goes:
        // even a same-size replace fails, and a failed set drops the old value.
        assert_eq!(
            s.store(StoreMode::Set, b"k1", 0, 0, &big(4), None, NOW),
            Err(StoreError::OutOfMemory)
        );
        assert!(s.peek(b"k1", NOW).is_none());
        // Now there is room.
        set(&mut s, b"k1", &big(5), 0, NOW);
        // A failed append keeps the old value.
        assert_eq!(
            s.store(StoreMode::Append, b"k2", 0, 0, b"more", None, NOW),
            Ok(StoreOutcome::NotStored)
        );
        assert!(s.peek(b"k2", NOW).is_some());
        assert_eq!(s.stats().store_no_memory, 3);
        assert_eq!(s.stats().evictions, 0);
        assert_eq!(s.class_stats(38).outofmemory, 3);
        // memcached counts a set once its item is allocated: the two refused
        // sets are not counted, the refused append is.
        assert_eq!(s.stats().cmd_set, 4);
        assert_eq!(s.class_stats(38).cmd_set, 3);
    }
}
