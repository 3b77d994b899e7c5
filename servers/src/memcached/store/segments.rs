//! memcached's segmented LRU: each size class keeps four lists (HOT, WARM,
//! COLD, TEMP) instead of one, and a background maintainer moves items
//! between them.
//!
//! # The rules (memcached 1.6's defaults, `-o modern`)
//!
//! - A new item goes to the head of HOT, or of TEMP when its time to live is
//!   at most `temporary_ttl` (only with `-o temporary_ttl=N`). TEMP items are
//!   never evicted nor moved: they leave when they expire.
//! - A read marks an item FETCHED the first time and ACTIVE the second time
//!   (and from then on only refreshes its last access). The items do not
//!   move on a read, except an ACTIVE item in COLD, which goes to WARM's head
//!   at once (memcached queues that move for its maintainer thread; here the
//!   store is single-threaded, so the move is done in place).
//! - The maintainer ([`Store::maintain`]) looks at each class's tails: HOT's
//!   tail goes to COLD when HOT holds more than `hot_lru_pct` percent of the
//!   class's bytes or is older than `hot_max_factor` times COLD's tail age
//!   (to WARM instead if it is ACTIVE); WARM's tail goes to COLD under the
//!   same rule with `warm_lru_pct` and `warm_max_factor` (an ACTIVE one goes
//!   back to WARM's head); an ACTIVE COLD tail goes to WARM. Expired and
//!   flushed items met at any tail are reclaimed.
//! - Room is made from COLD's tail; when COLD is empty, HOT's tail is pushed
//!   to COLD first. WARM and TEMP are never evicted from directly.
//!
//! With `-o no_modern` (or `no_lru_maintainer`) the store keeps memcached's
//! older behaviour: every item lives in its class's COLD list, a read moves
//! it to the head, and the maintainer has nothing to do.
//!
//! Everything here is expressed with four list operations ([`Store::push`],
//! [`Store::drop_from_list`], [`Store::move_to`], [`Store::tail_of`]) and the
//! item's [`segment`](super::super::item::Meta::segment), so the storage under them
//! can change without touching the policy.

use super::super::item::{
    blob_atime, blob_bits, blob_key, set_blob_atime, set_blob_bits, set_blob_place, ItemBits, Meta, NEVER,
};
use super::super::lru::{Lru, NIL};
use super::Store;

/// Items a maintainer pass moves per class at most (memcached's juggle
/// loop runs 500 rounds per class).
pub const JUGGLE_ROUNDS: usize = 500;

/// Items one look at a list's tail examines (memcached's `lru_pull_tail`
/// `tries`).
pub(super) const TAIL_SEARCH: usize = 5;

/// One of a class's four sub-LRUs. The discriminant is the list's index in
/// a class's lists and in the per-list figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// New items.
    Hot = 0,
    /// Items hit while in HOT or COLD.
    Warm = 1,
    /// Items that aged out of HOT or WARM; evictions take from here.
    Cold = 2,
    /// Items with a short time to live (`-o temporary_ttl`).
    Temp = 3,
}

impl Segment {
    /// All four, in the order `stats cachedump` walks them.
    pub const ALL: [Segment; 4] = [Segment::Hot, Segment::Warm, Segment::Cold, Segment::Temp];

    /// The list's index (0 to 3).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The two bits stored in a record.
    pub(crate) fn bits(self) -> u8 {
        self as u8
    }

    /// The segment named by two stored bits.
    pub(crate) fn from_bits(bits: u8) -> Segment {
        match bits & 3 {
            0 => Segment::Hot,
            1 => Segment::Warm,
            2 => Segment::Cold,
            _ => Segment::Temp,
        }
    }
}

/// The segmented LRU's settings (`-o hot_lru_pct`, `warm_lru_pct`,
/// `hot_max_factor`, `warm_max_factor`, `temporary_ttl`).
#[derive(Debug, Clone, PartialEq)]
pub struct LruPolicy {
    /// HOT's share of a class's bytes, in percent (default 20).
    pub hot_pct: u32,
    /// WARM's share of a class's bytes, in percent (default 40).
    pub warm_pct: u32,
    /// HOT's tail moves on once older than this times COLD's tail age.
    pub hot_max_factor: f64,
    /// WARM's tail moves on once older than this times COLD's tail age.
    pub warm_max_factor: f64,
    /// Items whose time to live is at most this go to TEMP (`None`: no TEMP
    /// list, memcached without `temporary_ttl`).
    pub temporary_ttl: Option<u32>,
}

impl Default for LruPolicy {
    fn default() -> Self {
        LruPolicy {
            hot_pct: 20,
            warm_pct: 40,
            hot_max_factor: 0.2,
            warm_max_factor: 2.0,
            temporary_ttl: None,
        }
    }
}

/// What a look at a list's tail may do besides reclaiming expired items.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Pull {
    /// Reclaim only; an ACTIVE COLD tail still goes to WARM.
    Reclaim,
    /// Evict COLD's tail to make room.
    Evict,
    /// Move HOT or WARM's tail on when its list holds more than `limit`
    /// bytes or its tail is older than `max_age` seconds.
    Juggle {
        /// The class's bytes in HOT, WARM and COLD (the list's share is a
        /// percentage of it).
        total_bytes: u64,
        /// Age beyond which the tail moves on.
        max_age: u32,
    },
}

/// The lists of one class, indexed by [`Segment::index`].
pub(super) type ClassLists = [Lru; 4];

impl Store {
    // ----- list operations ---------------------------------------------------

    /// Links item `i` at the head of `segment` of its class.
    pub(super) fn push(&mut self, i: u32, segment: Segment) {
        let meta = self.meta(i);
        let class = meta.class();
        set_blob_place(self.blob_mut(i), class, segment);
        let size = meta.size() as u64;
        let c = usize::from(class);
        self.lrus[c][segment.index()].push_front(&mut self.slots, i);
        let st = &mut self.classes[c];
        st.lru_items[segment.index()] += 1;
        st.lru_bytes[segment.index()] += size;
    }

    /// Unlinks item `i` from the list that holds it.
    pub(super) fn drop_from_list(&mut self, i: u32) {
        let meta = self.meta(i);
        let (c, s, size) = (
            usize::from(meta.class()),
            meta.segment().index(),
            meta.size() as u64,
        );
        self.lrus[c][s].unlink(&mut self.slots, i);
        let st = &mut self.classes[c];
        st.lru_items[s] -= 1;
        st.lru_bytes[s] -= size;
    }

    /// Moves item `i` to the head of `segment` (its own list included).
    pub(super) fn move_to(&mut self, i: u32, segment: Segment) {
        self.drop_from_list(i);
        self.push(i, segment);
    }

    /// The least recently used item of `segment` of `class`.
    pub(super) fn tail_of(&self, class: u8, segment: Segment) -> Option<u32> {
        self.lrus.get(usize::from(class))?[segment.index()].back()
    }

    /// The most recently used item of `segment` of `class`.
    pub(super) fn head_of(&self, class: u8, segment: Segment) -> Option<u32> {
        self.lrus.get(usize::from(class))?[segment.index()].front()
    }

    /// Seconds since `segment`'s tail item of `class` was last accessed.
    pub(crate) fn tail_age(&self, class: u8, segment: Segment, now: u32) -> Option<u32> {
        self.tail_of(class, segment)
            .map(|t| now.saturating_sub(self.meta(t).atime))
    }

    // ----- policy -----------------------------------------------------------

    /// The list a new item expiring at `expires` starts in.
    pub(super) fn first_segment(&self, expires: u32, now: u32) -> Segment {
        let temp = self
            .config
            .lru
            .temporary_ttl
            .is_some_and(|ttl| expires != NEVER && expires >= now && expires - now <= ttl);
        if temp {
            Segment::Temp
        } else if self.config.lru_segmented {
            Segment::Hot
        } else {
            Segment::Cold
        }
    }

    /// A read or touch hit item `i`, whose fields are `meta` (memcached's
    /// `do_item_bump`): see the module documentation. `meta` is kept as the
    /// item's header now is (last access and bits). Without segments the
    /// item goes to its list's head, as before.
    pub(super) fn bump(&mut self, i: u32, now: u32, meta: &mut Meta) {
        if !self.config.lru_segmented {
            meta.atime = now;
            meta.bits = meta.bits.union(ItemBits::FETCHED);
            let blob = self.blob_mut(i);
            set_blob_atime(blob, now);
            set_blob_bits(blob, meta.bits);
            self.move_to(i, meta.segment());
            return;
        }
        if meta.bits.contains(ItemBits::ACTIVE) {
            return;
        }
        if !meta.bits.contains(ItemBits::FETCHED) {
            meta.bits = meta.bits.union(ItemBits::FETCHED);
            set_blob_bits(self.blob_mut(i), meta.bits);
            return;
        }
        set_blob_bits(self.blob_mut(i), meta.bits.union(ItemBits::ACTIVE));
        self.refresh(i, now);
        // The refresh set the last access and may have cleared ACTIVE.
        let blob = self.blob(i);
        (meta.atime, meta.bits) = (blob_atime(blob), blob_bits(blob));
    }

    /// memcached's `do_item_update`: refreshes the last access, and an
    /// ACTIVE COLD item goes to WARM. Without segments the item goes to its
    /// list's head.
    pub(super) fn refresh(&mut self, i: u32, now: u32) {
        let segmented = self.config.lru_segmented;
        let blob = self.blob_mut(i);
        set_blob_atime(blob, now);
        let meta = Meta::read(blob);
        let segment = meta.segment();
        if !segmented {
            self.move_to(i, segment);
        } else if segment == Segment::Cold && meta.bits.contains(ItemBits::ACTIVE) {
            set_blob_bits(blob, meta.bits.without(ItemBits::ACTIVE));
            self.classes[usize::from(meta.class())].moves_to_warm += 1;
            self.move_to(i, Segment::Warm);
        }
    }

    /// Looks at up to [`TAIL_SEARCH`] items from the tail of `segment` of
    /// `class` (memcached's `lru_pull_tail`): expired or flushed items are
    /// freed and the look goes on; the first live one is moved, evicted or
    /// left as `pull` and the rules say, and the look stops. Returns how
    /// many items were freed or moved.
    pub(super) fn pull_segment(&mut self, class: u8, segment: Segment, now: u32, pull: Pull) -> usize {
        let c = usize::from(class);
        let mut done = 0;
        let mut cur = self.tail_of(class, segment).unwrap_or(NIL);
        for _ in 0..TAIL_SEARCH {
            if cur == NIL {
                break;
            }
            let i = cur;
            cur = self.slots[i as usize].prev;
            if i == self.pinned {
                continue;
            }
            let meta = self.meta(i);
            if self.gone_meta(&meta, now).is_some() {
                self.reclaim_tail(i);
                done += 1;
                continue;
            }
            let active = meta.bits.contains(ItemBits::ACTIVE);
            match segment {
                Segment::Hot | Segment::Warm => {
                    let (total_bytes, max_age) = match pull {
                        Pull::Juggle { total_bytes, max_age } => (total_bytes, max_age),
                        // Making room: HOT's tail goes on whatever its age.
                        Pull::Evict | Pull::Reclaim => (0, 0),
                    };
                    let pct = match segment {
                        Segment::Hot => self.config.lru.hot_pct,
                        _ => self.config.lru.warm_pct,
                    };
                    let limit = total_bytes * u64::from(pct) / 100;
                    let age = now.saturating_sub(meta.atime);
                    if active {
                        set_blob_bits(self.blob_mut(i), meta.bits.without(ItemBits::ACTIVE));
                        done += 1;
                        if segment == Segment::Warm {
                            self.classes[c].moves_within_lru += 1;
                            self.move_to(i, Segment::Warm);
                            continue;
                        }
                        self.classes[c].moves_to_warm += 1;
                        self.move_to(i, Segment::Warm);
                    } else if self.classes[c].lru_bytes[segment.index()] > limit || age > max_age {
                        self.classes[c].moves_to_cold += 1;
                        self.move_to(i, Segment::Cold);
                        done += 1;
                    }
                }
                Segment::Cold => {
                    if pull == Pull::Evict {
                        if self.config.evict {
                            self.evict(i, now);
                            done += 1;
                        }
                    } else if active && self.config.lru_segmented {
                        set_blob_bits(self.blob_mut(i), meta.bits.without(ItemBits::ACTIVE));
                        self.classes[c].moves_to_warm += 1;
                        self.move_to(i, Segment::Warm);
                        done += 1;
                    }
                }
                Segment::Temp => {}
            }
            break;
        }
        done
    }

    /// One maintainer pass over `class` (memcached's `lru_maintainer_juggle`):
    /// reclaims TEMP's expired tail, then moves items between HOT, WARM and
    /// COLD, at most [`JUGGLE_ROUNDS`] rounds. Returns how many rounds did
    /// something.
    pub(super) fn juggle(&mut self, class: u8, now: u32) -> usize {
        let mut did = 0;
        if self.config.lru.temporary_ttl.is_some() {
            for _ in 0..JUGGLE_ROUNDS {
                if self.pull_segment(class, Segment::Temp, now, Pull::Reclaim) == 0 {
                    break;
                }
                did += 1;
            }
        }
        if !self.config.lru_segmented {
            return did;
        }
        let cold_age = self.tail_age(class, Segment::Cold, now).unwrap_or(0);
        let hot_age = (f64::from(cold_age) * self.config.lru.hot_max_factor) as u32;
        let warm_age = (f64::from(cold_age) * self.config.lru.warm_max_factor) as u32;
        let bytes = &self.classes[usize::from(class)].lru_bytes;
        let total_bytes =
            bytes[Segment::Hot.index()] + bytes[Segment::Warm.index()] + bytes[Segment::Cold.index()];
        for _ in 0..JUGGLE_ROUNDS {
            let hot = Pull::Juggle {
                total_bytes,
                max_age: hot_age,
            };
            let warm = Pull::Juggle {
                total_bytes,
                max_age: warm_age,
            };
            let mut more = usize::from(
                self.pull_segment(class, Segment::Hot, now, hot) > 0
                    || self.pull_segment(class, Segment::Warm, now, warm) > 0,
            );
            more += self.pull_segment(class, Segment::Cold, now, Pull::Reclaim);
            if more == 0 {
                break;
            }
            did += 1;
        }
        did
    }

    /// One run of memcached's LRU maintainer: a juggle (memcached's word)
    /// of every class holding items. Each class's work is bounded
    /// ([`JUGGLE_ROUNDS`]), so one call is too. The server calls it from a
    /// timer, sooner again when it returned work done. Returns the rounds
    /// that did something.
    pub fn maintain(&mut self, now: u32) -> usize {
        self.resolve_flush(now);
        self.stats.lru_maintainer_juggles += 1;
        let mut did = 0;
        for class in 1..self.lrus.len() {
            if self.classes[class].number > 0 {
                did += self.juggle(class as u8, now);
            }
        }
        did
    }

    /// Frees an expired or flushed item met at a list's tail, counting it
    /// as `reclaimed`.
    fn reclaim_tail(&mut self, i: u32) {
        let meta = self.meta(i);
        let c = usize::from(meta.class());
        let fetched = meta.bits.contains(ItemBits::FETCHED);
        self.stats.reclaimed += 1;
        self.classes[c].reclaimed += 1;
        if !fetched {
            self.stats.expired_unfetched += 1;
            self.classes[c].expired_unfetched += 1;
        }
        self.unlink(i);
    }

    /// Evicts a live item to make room, counting it.
    fn evict(&mut self, i: u32, now: u32) {
        let meta = self.meta(i);
        let class = meta.class();
        let c = usize::from(class);
        let (atime, expires) = (meta.atime, meta.expires);
        let fetched = meta.bits.contains(ItemBits::FETCHED);
        let active = meta.bits.contains(ItemBits::ACTIVE);
        let age = u64::from(now.saturating_sub(atime));
        let st = &mut self.classes[c];
        st.evicted += 1;
        st.evicted_time = age;
        if expires != NEVER {
            st.evicted_nonzero += 1;
        }
        if active {
            st.evicted_active += 1;
        }
        if !fetched {
            st.evicted_unfetched += 1;
            self.stats.evicted_unfetched += 1;
        }
        self.stats.evictions += 1;
        self.stats.evicted_time = age;
        if self.evicted_log.is_some() {
            let key = blob_key(self.blob(i)).to_vec();
            let log = self.evicted_log.get_or_insert_with(Vec::new);
            log.push(super::Evicted {
                key,
                fetched,
                ttl: if expires == NEVER {
                    -1
                } else {
                    i64::from(expires) - i64::from(now)
                },
                last_access: now.saturating_sub(atime),
                class,
            });
        }
        self.unlink(i);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{big, pages, set, value, NOW};
    use super::super::{StoreConfig, StoreMode};
    use super::*;

    /// The items of class `class` in HOT, WARM, COLD and TEMP.
    fn counts(s: &Store, class: u8) -> [u64; 4] {
        s.class_stats(class).lru_items
    }

    fn segment_of(s: &mut Store, key: &[u8]) -> Segment {
        let i = s.find(key).expect("stored");
        s.meta(i).segment()
    }

    fn with_temp(ttl: u32) -> Store {
        Store::new(StoreConfig {
            lru: LruPolicy {
                temporary_ttl: Some(ttl),
                ..LruPolicy::default()
            },
            ..StoreConfig::default()
        })
    }

    #[test]
    fn new_items_go_hot_and_short_lived_ones_temp() {
        let mut s = with_temp(61);
        set(&mut s, b"forever", b"v", 0, NOW);
        set(&mut s, b"short", b"v", 30, NOW);
        set(&mut s, b"edge", b"v", 61, NOW);
        set(&mut s, b"long", b"v", 62, NOW);
        assert_eq!(segment_of(&mut s, b"forever"), Segment::Hot);
        assert_eq!(segment_of(&mut s, b"short"), Segment::Temp);
        assert_eq!(segment_of(&mut s, b"edge"), Segment::Temp);
        assert_eq!(segment_of(&mut s, b"long"), Segment::Hot);
        assert_eq!(counts(&s, 1), [2, 0, 0, 2]);
        // Without temporary_ttl there is no TEMP list.
        let mut plain = Store::new(StoreConfig::default());
        set(&mut plain, b"short", b"v", 30, NOW);
        assert_eq!(segment_of(&mut plain, b"short"), Segment::Hot);
    }

    #[test]
    fn maintainer_moves_hot_tail_to_cold_down_to_its_share() {
        let mut s = Store::new(StoreConfig::default());
        for i in 0..10 {
            set(&mut s, format!("k{i}").as_bytes(), b"v", 0, NOW);
        }
        assert_eq!(counts(&s, 1), [10, 0, 0, 0]);
        assert!(s.maintain(NOW) > 0);
        // 20% of ten equal items: two stay, the oldest eight went to COLD.
        assert_eq!(counts(&s, 1), [2, 0, 8, 0]);
        assert_eq!(s.class_stats(1).moves_to_cold, 8);
        assert_eq!(segment_of(&mut s, b"k0"), Segment::Cold);
        assert_eq!(segment_of(&mut s, b"k9"), Segment::Hot);
        assert_eq!(s.stats().lru_maintainer_juggles, 1);
        // Nothing more to do, but the pass is counted.
        assert_eq!(s.maintain(NOW), 0);
        assert_eq!(s.stats().lru_maintainer_juggles, 2);
    }

    #[test]
    fn hits_mark_fetched_then_active_and_a_cold_item_moves_to_warm() {
        let mut s = Store::new(StoreConfig::default());
        for i in 0..10 {
            set(&mut s, format!("k{i}").as_bytes(), b"v", 0, NOW);
        }
        let _ = s.maintain(NOW);
        assert_eq!(value(&mut s, b"k0", NOW + 1), Some(b"v".to_vec()));
        // One hit: fetched, still in COLD, last access unchanged.
        assert_eq!(segment_of(&mut s, b"k0"), Segment::Cold);
        assert_eq!(s.peek(b"k0", NOW).unwrap().last_access(), NOW);
        assert!(value(&mut s, b"k0", NOW + 2).is_some());
        // Two hits: active, so off to WARM's head, refreshed.
        assert_eq!(segment_of(&mut s, b"k0"), Segment::Warm);
        assert_eq!(s.peek(b"k0", NOW).unwrap().last_access(), NOW + 2);
        let c = s.class_stats(1);
        assert_eq!((c.moves_to_warm, c.lru_hits), (1, [0, 0, 2, 0]));
        assert_eq!(counts(&s, 1), [2, 1, 7, 0]);
        // Two hits on a HOT item: active, it stays in HOT until the
        // maintainer finds it at the tail, then goes to WARM.
        assert!(value(&mut s, b"k8", NOW + 3).is_some());
        assert!(value(&mut s, b"k8", NOW + 3).is_some());
        assert_eq!(segment_of(&mut s, b"k8"), Segment::Hot);
        let _ = s.maintain(NOW + 3);
        assert_eq!(segment_of(&mut s, b"k8"), Segment::Warm);
        assert_eq!(s.class_stats(1).moves_to_warm, 2);
    }

    #[test]
    fn warm_tail_ages_out_to_cold() {
        let mut s = Store::new(StoreConfig::default());
        for i in 0..10 {
            set(&mut s, format!("k{i}").as_bytes(), b"v", 0, NOW);
        }
        let _ = s.maintain(NOW);
        assert!(value(&mut s, b"k0", NOW).is_some());
        assert!(value(&mut s, b"k0", NOW).is_some());
        assert_eq!(segment_of(&mut s, b"k0"), Segment::Warm);
        // COLD's tail is 10 s old, so WARM keeps items up to 20 s old.
        let _ = s.maintain(NOW + 10);
        assert_eq!(segment_of(&mut s, b"k0"), Segment::Warm);
        // Refresh COLD (its items are read twice, so they go to WARM too,
        // and the WARM list grows over its share): k0 is WARM's tail and
        // goes back to COLD.
        for i in 1..8 {
            let key = format!("k{i}");
            assert!(value(&mut s, key.as_bytes(), NOW + 30).is_some());
            assert!(value(&mut s, key.as_bytes(), NOW + 30).is_some());
        }
        let _ = s.maintain(NOW + 30);
        assert_eq!(segment_of(&mut s, b"k0"), Segment::Cold);
    }

    #[test]
    fn expired_items_at_the_tails_are_reclaimed() {
        let mut s = with_temp(61);
        for i in 0..10 {
            set(&mut s, format!("k{i}").as_bytes(), b"v", 1, NOW);
        }
        set(&mut s, b"t", b"v", 5, NOW);
        let _ = s.maintain(NOW);
        assert_eq!(s.curr_items(), 11);
        let _ = s.maintain(NOW + 2);
        // The TEMP item has not expired yet; the ten others went.
        assert_eq!(s.curr_items(), 1);
        assert_eq!((s.stats().reclaimed, s.class_stats(1).reclaimed), (10, 10));
        let _ = s.maintain(NOW + 5);
        assert_eq!(s.curr_items(), 0);
        assert_eq!(s.stats().reclaimed, 11);
        assert_eq!(counts(&s, 1), [0, 0, 0, 0]);
        assert_eq!(s.class_stats(1).lru_bytes, [0, 0, 0, 0]);
    }

    #[test]
    fn eviction_takes_cold_then_hot_and_spares_warm_and_temp() {
        // Two pages of class 38: four items.
        let mut s = Store::new(StoreConfig {
            lru: LruPolicy {
                temporary_ttl: Some(61),
                ..LruPolicy::default()
            },
            ..pages(2, true).config().clone()
        });
        set(&mut s, b"temp", &big(0), 30, NOW);
        set(&mut s, b"k1", &big(1), 0, NOW);
        set(&mut s, b"k2", &big(2), 0, NOW);
        set(&mut s, b"k3", &big(3), 0, NOW);
        assert_eq!(counts(&s, 38), [3, 0, 0, 1]);
        // COLD is empty: HOT's tail (k1) is pushed there, then evicted.
        set(&mut s, b"k4", &big(4), 0, NOW + 1);
        assert!(s.peek(b"k1", NOW).is_none());
        assert_eq!(s.class_stats(38).moves_to_cold, 1);
        // k2, made active in HOT, is rescued to WARM instead of evicted.
        assert!(value(&mut s, b"k2", NOW + 1).is_some());
        assert!(value(&mut s, b"k2", NOW + 1).is_some());
        set(&mut s, b"k5", &big(5), 0, NOW + 2);
        assert!(s.peek(b"k2", NOW).is_some());
        assert!(s.peek(b"k3", NOW).is_none());
        assert!(s.peek(b"temp", NOW).is_some());
        assert_eq!(segment_of(&mut s, b"k2"), Segment::Warm);
        assert_eq!(counts(&s, 38), [2, 1, 0, 1]);
        assert_eq!(s.stats().evictions, 2);
        // Only WARM and TEMP are left besides HOT's newest: a store still
        // finds room by pushing HOT down.
        set(&mut s, b"k6", &big(6), 0, NOW + 3);
        assert_eq!(s.stats().evictions, 3);
        assert!(s.peek(b"temp", NOW).is_some() && s.peek(b"k2", NOW).is_some());
    }

    #[test]
    fn add_on_a_present_item_refreshes_it() {
        let mut s = Store::new(StoreConfig::default());
        set(&mut s, b"k", b"v", 0, NOW);
        let _ = s.store(StoreMode::Add, b"k", 0, 0, b"x", None, NOW + 4);
        assert_eq!(s.peek(b"k", NOW).unwrap().last_access(), NOW + 4);
        assert_eq!(segment_of(&mut s, b"k"), Segment::Hot);
    }

    #[test]
    fn without_segments_everything_is_one_cold_list() {
        let mut s = Store::new(StoreConfig {
            lru_segmented: false,
            ..StoreConfig::default()
        });
        set(&mut s, b"a", b"v", 0, NOW);
        set(&mut s, b"b", b"v", 0, NOW);
        assert_eq!(counts(&s, 1), [0, 0, 2, 0]);
        assert!(value(&mut s, b"a", NOW + 1).is_some());
        // A single hit moves the item to the head and refreshes it.
        assert_eq!(s.peek(b"a", NOW).unwrap().last_access(), NOW + 1);
        assert_eq!(s.class_items(1, 0)[0].0, b"a");
        assert_eq!(s.maintain(NOW + 100), 0);
        assert_eq!(counts(&s, 1), [0, 0, 2, 0]);
    }

    #[test]
    fn flushed_and_moved_pages_leave_the_lists_consistent() {
        let mut s = Store::new(StoreConfig::default());
        for i in 0..10 {
            set(&mut s, format!("k{i}").as_bytes(), b"v", 0, NOW);
        }
        let _ = s.maintain(NOW);
        assert!(value(&mut s, b"k0", NOW).is_some());
        assert!(value(&mut s, b"k0", NOW).is_some());
        s.flush_all(0, NOW + 1);
        // The maintainer reclaims flushed items from every tail it visits.
        let _ = s.maintain(NOW + 1);
        assert_eq!(s.curr_items(), 0);
        assert_eq!(counts(&s, 1), [0, 0, 0, 0]);
        // A page mover empties a page whichever lists hold its items.
        for i in 0..10 {
            set(&mut s, format!("n{i}").as_bytes(), b"v", 0, NOW + 2);
        }
        let _ = s.maintain(NOW + 2);
        assert!(value(&mut s, b"n0", NOW + 2).is_some());
        assert!(value(&mut s, b"n0", NOW + 2).is_some());
        let _ = s.reassign_page(1, 0, NOW + 2);
        assert_eq!(counts(&s, 1), [0, 0, 0, 0]);
        assert_eq!(s.class_stats(1).number, 0);
    }
}
