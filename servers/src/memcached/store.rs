//! The item store: items named by stable `u32` ids, their bytes in an arena,
//! a chained hash index and intrusive LRU lists, with memcached's semantics
//! and no clock of its own.
//!
//! Every operation takes `now`, the current unix time in seconds, which the
//! caller computes (from a monotonic clock plus the start time, as memcached's
//! `current_time` is). The store is protocol-agnostic: the text, meta and binary
//! execution layers all drive the same methods; the protocol-specific hooks (CAS
//! checks on every mutation, counters created by `incr`, per-item bits, remaining
//! TTL, last access) are already here.
//!
//! # Implementation notes
//!
//! - An item's id indexes `slots: Vec<Slot>` (16 bytes: LRU links, hash
//!   chain link, blob location; see [`item`](super::item)); free slots form
//!   a singly linked free list through `next`. An id never changes while
//!   its item lives, so the LRU lists, the index, the `held` list and the
//!   crawler's cursor name items by id.
//! - The item's header, key and value are one *blob* in the arena
//!   (`store/arena.rs`): 64 KiB pages cut into chunks of fine size bins,
//!   and a heap allocation of its own for a blob over 16 KiB. The header is
//!   16 bytes for an item with no expiry, no flags and a CAS below 2^32;
//!   a change that needs more room moves the blob and repoints the slot.
//! - The index (`store/index.rs`) is an array of `u32` bucket heads chained
//!   through the slots, hashed with a seeded foldhash of the key, doubling
//!   at 1.5 items per bucket; lookups compare keys in the arena, only for
//!   the items whose 3-bit hash tag (beside the chain link) matches.
//! - `lrus` thread `torsion::list::SlabList`s through the slots, most recently
//!   used first: four per size class (HOT, WARM, COLD, TEMP: memcached's
//!   segmented LRU, see the `segments` submodule), or only COLD without
//!   segments. All of insert, lookup, delete, touch and eviction are O(1)
//!   (growing the index is O(n), once per doubling).
//! - `flush_all` is O(1): it records a CAS threshold (every item whose CAS is
//!   below it is invisible), resolved lazily for a delayed flush; the flushed
//!   items are reclaimed on access, from the LRU tail, or by [`Store::crawl`].
//! - Memory is accounted as memcached's slab allocator would hand it out
//!   ([`classes`](super::classes)): an item takes a chunk of its size class
//!   (or a header and data chunks when larger than `slab_chunk_max`), classes
//!   take 1 MiB pages up to `-m`, and when a class can take no page the item
//!   evicts from that class's own COLD list, as in memcached. `bytes` is the sum of
//!   memcached's item sizes ([`item_total`](super::classes::item_total)).
//!   The arena is only where the bytes physically live: it never decides
//!   what is evicted.
//! - Each class has its own LRU list; the item's `class` names it.
//!   The allocation, eviction, page-moving and per-class reading code is in
//!   the `memory` submodule (`store/memory.rs`).

use hashbrown::DefaultHashBuilder;
use std::hash::BuildHasher;

use torsion_protocols::memcache::number::{push_u64, safe_strtoull};

use super::classes::{ClassTable, Slabs};
use super::item::{blob_key, expires_at, Item, ItemBits, Meta, Slot, MAX_KEY_LEN, NEVER};
use super::lru::{Lru, NIL};
use super::slab_admin::Automove;
use super::stats::{ClassStats, StoreStats};
use segments::ClassLists;

mod arena;
mod index;
mod memory;
mod persist;
mod segments;

use arena::Arena;
pub(crate) use arena::Loc;
use index::{Chained, Index};
pub use memory::RECLAIM_PAGES;
pub use segments::{LruPolicy, Segment, JUGGLE_ROUNDS};

/// Bits of a slot's `hnext` that hold an id; the bits above hold the
/// item's hash tag.
const ID_BITS: u32 = u32::BITS - index::TAG_BITS;

/// `hnext`'s id bits all set: the end of a chain.
const ID_NIL: u32 = (1 << ID_BITS) - 1;

/// Most item slots (ids) a store holds: an id must fit in `hnext` beside
/// the hash tag (and the arena's large blobs, one per item at most plus one
/// being replaced, then always have an index).
pub const MAX_SLOTS: usize = ID_NIL as usize - 1;

/// The crawler leaves an item alone until it has been expired this many
/// seconds, so that the LRU tail (memcached's maintainer) reclaims it first.
pub const CRAWL_GRACE: u32 = 5;

/// Sizes and policies of a store (memcached's `-m`, `-I`, `-M`, `-n`, `-f`,
/// `-o slab_chunk_max`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// Memory limit in bytes for items (`-m`, in MB there; default 64 MB).
    pub max_bytes: usize,
    /// Largest item, memcached's size of it: header, key, value and CAS
    /// (`-I`; default 1 MiB).
    pub item_size_max: usize,
    /// Evict least recently used items when full (`true`), or refuse new items
    /// (`false`, memcached's `-M`).
    pub evict: bool,
    /// Minimum space for key, value and flags in the smallest class (`-n`,
    /// default 48): class 1's chunk is this plus the 48-byte item header.
    pub chunk_size: usize,
    /// Each class's chunk is this many times the previous one (`-f`, default 1.25).
    pub growth_factor: f64,
    /// The largest chunk; larger items are chunked (`-o slab_chunk_max`,
    /// default 512 KiB; `-o no_modern` makes it 1 MiB).
    pub slab_chunk_max: usize,
    /// Pages may move between classes (memcached's `slab_reassign`, on unless
    /// `-o no_modern`). Off with whole-page chunks, a page is exactly its chunks.
    pub slab_reassign: bool,
    /// memcached's segmented LRU (`-o no_modern` turns it off): HOT, WARM,
    /// COLD (and TEMP) lists per class; see the `segments` module.
    pub lru_segmented: bool,
    /// The segmented LRU's shares, ages and `temporary_ttl`.
    pub lru: LruPolicy,
    /// Bytes counted as already allocated at start (memcached's test hook,
    /// the `T_MEMD_INITIAL_MALLOC` environment variable).
    pub initial_malloced: u64,
    /// CAS uniques are kept (memcached without `-C`). Without them, as in
    /// memcached, `flush_all` cuts by the second: an item last stored or
    /// touched in the flush's second or before it is flushed, even one stored
    /// just after the flush in that same second.
    pub cas_enabled: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_bytes: 64 * 1024 * 1024,
            item_size_max: 1024 * 1024,
            evict: true,
            chunk_size: 48,
            growth_factor: 1.25,
            slab_chunk_max: 512 * 1024,
            slab_reassign: true,
            lru_segmented: true,
            lru: LruPolicy::default(),
            initial_malloced: 0,
            cas_enabled: true,
        }
    }
}

impl StoreConfig {
    /// The size classes this configuration makes.
    pub fn class_table(&self) -> ClassTable {
        ClassTable::new(
            self.chunk_size,
            self.growth_factor,
            self.slab_chunk_max,
            self.item_size_max,
        )
    }
}

/// How a store request treats an existing item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// Store unconditionally.
    Set,
    /// Store only if absent (an existing item is only moved to the LRU head).
    Add,
    /// Store only if present.
    Replace,
    /// Add the data after the existing value; flags and expiry stay.
    Append,
    /// Add the data before the existing value; flags and expiry stay.
    Prepend,
}

/// The result of [`Store::store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum StoreOutcome {
    /// Stored; the item's new CAS unique.
    Stored {
        /// The new CAS unique.
        cas: u64,
    },
    /// The mode's condition failed (add on present, replace/append/prepend on
    /// absent), or an append would exceed the item size limit.
    NotStored,
    /// The CAS unique did not match.
    Exists,
    /// A CAS store on a missing key.
    NotFound,
}

/// Why [`Store::store`] refused an item outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// Larger than the item size limit: `SERVER_ERROR object too large for cache`.
    TooLarge,
    /// No room even after evicting: `SERVER_ERROR out of memory storing object`.
    OutOfMemory,
    /// A key longer than 250 bytes (protocol layers refuse those first).
    KeyTooLong,
}

/// The result of [`Store::delete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum DeleteOutcome {
    /// The item was removed.
    Deleted,
    /// No live item.
    NotFound,
    /// The CAS unique did not match; nothing removed.
    Exists,
}

/// The result of [`Store::touch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum TouchOutcome {
    /// The expiry was changed; the item's CAS unique (unchanged by a touch).
    Touched {
        /// The item's CAS unique.
        cas: u64,
    },
    /// No live item.
    NotFound,
    /// The CAS unique did not match; nothing changed.
    Exists,
}

/// `incr` or `decr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaOp {
    /// Add, wrapping at 2^64.
    Incr,
    /// Subtract, stopping at 0.
    Decr,
}

/// A counter to create when [`Store::incr_decr`] finds no item (binary
/// protocol's initial value, meta's `N`/`J` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Initial {
    /// The value to store (the delta is not applied to it, as in memcached).
    pub value: u64,
    /// Its expiration time, with the usual rules.
    pub exptime: i64,
}

/// An `incr`/`decr` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    /// Which way.
    pub op: DeltaOp,
    /// By how much.
    pub amount: u64,
    /// Create the counter if missing.
    pub initial: Option<Initial>,
    /// Only if the item's CAS unique equals this.
    pub cas: Option<u64>,
}

/// The result of [`Store::incr_decr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum DeltaOutcome {
    /// The counter now holds `value`.
    Updated {
        /// The new value.
        value: u64,
        /// The new CAS unique.
        cas: u64,
    },
    /// The counter was missing and was created with the initial value.
    Created {
        /// The initial value.
        value: u64,
        /// The new CAS unique.
        cas: u64,
    },
    /// No live item and no initial value.
    NotFound,
    /// The CAS unique did not match.
    Exists,
}

/// Why [`Store::incr_decr`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaError {
    /// The value is not a decimal unsigned 64-bit number.
    NonNumeric,
    /// The longer value did not fit: `SERVER_ERROR out of memory`.
    OutOfMemory,
}

/// How [`Store::read`] treats the item it looks up. `get` and `gat` are two
/// settings of it; the meta protocol's `mg` uses the others (`u`, `T`, `N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Bump the item as memcached does on a hit: with the segmented LRU, mark
    /// it fetched, or on a later hit active (refreshing its last access; an
    /// active COLD item moves to WARM); without segments, mark it fetched,
    /// refresh it and move it to its LRU's head (`false` is meta's `u` flag:
    /// memcached's `DONT_UPDATE`).
    pub bump: bool,
    /// Set this expiration time on a hit (`gat`, meta's `T`). The read then
    /// counts as a touch (`cmd_touch`, `touch_hits`/`touch_misses`) instead of
    /// a get, as memcached counts it.
    pub touch: Option<i64>,
    /// On a miss, create an empty item (flags 0) expiring at this expiration
    /// time (meta's `N`). As in memcached's `process_mget_command`, a created
    /// item counts as a hit.
    pub vivify: Option<i64>,
}

impl ReadOptions {
    /// A plain `get`: bump, no touch, no vivify.
    pub const GET: ReadOptions = ReadOptions {
        bump: true,
        touch: None,
        vivify: None,
    };
}

/// What [`Store::read`] found, with the state the item had before this read
/// (meta's `h`, `l` and `t` flags report that state).
#[derive(Debug, Clone, Copy)]
pub struct Read<'a> {
    /// The item, after the read (touched and bumped as asked).
    pub item: Item<'a>,
    /// Whether the item was created by `vivify`.
    pub created: bool,
    /// Whether the item had been fetched before this read.
    pub was_fetched: bool,
    /// Its last access before this read (`now` for a created item).
    pub last_access: u32,
    /// Its expiry before this read (`None`: never, which is also what a created
    /// item has before its vivify time is applied).
    pub expires_before: Option<u32>,
}

/// Changes [`Store::adjust`] makes to a live item in place. Unlike every other
/// write it neither moves the item in the LRU nor counts anything: memcached's
/// meta commands change these fields directly on the item they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Adjust {
    /// Bits to set (stale, token sent, binary key).
    pub set: ItemBits,
    /// Bits to clear, after setting.
    pub clear: ItemBits,
    /// A new expiration time (meta's `T`).
    pub exptime: Option<i64>,
    /// Give the item a new CAS unique (meta's `md ... I` invalidation).
    pub new_cas: bool,
}

/// A slot's hash chain link is the low [`ID_BITS`] of its `hnext` field
/// ([`ID_NIL`] for the end), and its hash tag the bits above.
impl Chained for Slot {
    #[inline]
    fn hnext(&self) -> u32 {
        match self.hnext & ID_NIL {
            ID_NIL => NIL,
            id => id,
        }
    }

    #[inline]
    fn set_hnext(&mut self, next: u32) {
        self.hnext = (self.hnext & !ID_NIL) | (next & ID_NIL);
    }

    #[inline]
    fn tag(&self) -> u8 {
        (self.hnext >> ID_BITS) as u8
    }

    #[inline]
    fn set_tag(&mut self, tag: u8) {
        self.hnext = (self.hnext & ID_NIL) | (u32::from(tag) << ID_BITS);
    }
}

/// Why an item is invisible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gone {
    Expired,
    Flushed,
}

/// The memcached item store. See the module documentation.
///
/// # Examples
///
/// ```
/// use torsion_servers::memcached::store::{Store, StoreConfig, StoreMode, StoreOutcome};
///
/// let now = 1_700_000_000;
/// let mut store = Store::new(StoreConfig::default());
/// let outcome = store.store(StoreMode::Set, b"k", 7, 10, b"hello", None, now).unwrap();
/// assert!(matches!(outcome, StoreOutcome::Stored { .. }));
/// assert_eq!(store.get(b"k", now).map(|i| (i.flags(), i.value().to_vec())), Some((7, b"hello".to_vec())));
/// assert!(store.get(b"k", now + 10).is_none()); // expired after 10 s
/// ```
pub struct Store {
    config: StoreConfig,
    /// Every item's slot, indexed by its id.
    slots: Vec<Slot>,
    /// The first free slot (`NIL`: none); free slots chain through `next`.
    free: u32,
    /// Key hash to item id.
    index: Index,
    /// Where the items' blobs live.
    arena: Arena,
    hasher: DefaultHashBuilder,
    /// The sub-LRUs of each size class, indexed by class id then
    /// [`Segment::index`] (one list, COLD, without segments).
    lrus: Vec<ClassLists>,
    /// Page accounting per class.
    slabs: Slabs,
    /// Per-class figures, indexed by class id.
    classes: Vec<ClassStats>,
    bytes: usize,
    curr_items: usize,
    next_cas: u64,
    /// Items with a CAS unique below this were flushed (0: no flush yet).
    flush_cas: u64,
    /// A delayed `flush_all` that takes effect at this unix second.
    pending_flush: Option<u32>,
    /// The second of the last flush that took effect (memcached's
    /// `oldest_live`), which decides what is flushed without CAS uniques.
    flush_time: Option<u32>,
    crawl_cursor: usize,
    /// An item allocation must not evict (the one it replaces), or `NIL`.
    pinned: u32,
    automove: Automove,
    /// Records whose value a reply of the current batch holds (`HELD`).
    held: Vec<u32>,
    /// `stats sizes_enable`: items with a CAS unique from this one on are
    /// counted by `stats sizes`.
    sizes_from: Option<u64>,
    stats: StoreStats,
    /// Items evicted since the last [`Store::take_evictions`], while a log
    /// watcher wants them (`None`: not recorded).
    evicted_log: Option<Vec<Evicted>>,
}

/// An item the store evicted, as `watch evictions` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evicted {
    /// Its key.
    pub key: Vec<u8>,
    /// Whether it was ever read.
    pub fetched: bool,
    /// Seconds it had left to live (-1: no expiry).
    pub ttl: i64,
    /// Seconds since it was last accessed.
    pub last_access: u32,
    /// Its size class.
    pub class: u8,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("config", &self.config)
            .field("curr_items", &self.curr_items)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Starts (`true`) or stops recording evicted items for the log
    /// watchers.
    pub fn record_evictions(&mut self, on: bool) {
        if on != self.evicted_log.is_some() {
            self.evicted_log = on.then(Vec::new);
        }
    }

    /// The items evicted since the last call (while recording).
    pub fn take_evictions(&mut self) -> Vec<Evicted> {
        self.evicted_log.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// An empty store.
    pub fn new(config: StoreConfig) -> Self {
        let table = config.class_table();
        let n = usize::from(table.largest()) + 1;
        let slabs = Slabs::new(
            table,
            config.max_bytes,
            config.initial_malloced,
            config.slab_reassign,
        );
        Store {
            config,
            slots: Vec::new(),
            free: NIL,
            index: Index::new(),
            arena: Arena::new(),
            hasher: DefaultHashBuilder::default(),
            lrus: (0..n).map(|_| std::array::from_fn(|_| Lru::new())).collect(),
            slabs,
            classes: vec![ClassStats::default(); n],
            bytes: 0,
            curr_items: 0,
            next_cas: 1,
            flush_cas: 0,
            pending_flush: None,
            flush_time: None,
            crawl_cursor: 0,
            pinned: NIL,
            automove: Automove::default(),
            sizes_from: None,
            evicted_log: None,
            held: Vec::new(),
            stats: StoreStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Makes the next CAS unique at least `next` (after a restore, the
    /// counter continues above every restored item's; tests use it to
    /// cross 2^32).
    pub fn resume_cas(&mut self, next: u64) {
        self.next_cas = self.next_cas.max(next);
    }

    /// Changes the memory limit (memcached's `cache_memlimit`). Items beyond the
    /// new limit are evicted as room is next needed.
    pub fn set_max_bytes(&mut self, max_bytes: usize) {
        self.config.max_bytes = max_bytes;
        self.slabs.set_limit(max_bytes);
        if self.config.slab_reassign {
            self.slabs.release();
        }
    }

    /// The counters.
    pub fn stats(&self) -> &StoreStats {
        &self.stats
    }

    /// Zeroes the counters (`stats reset`); items and bytes are untouched.
    pub fn reset_stats(&mut self) {
        self.stats = StoreStats::default();
        for c in &mut self.classes {
            c.reset();
        }
    }

    /// Items held, including expired or flushed ones not yet reclaimed
    /// (memcached's `curr_items` counts those too).
    pub fn curr_items(&self) -> usize {
        self.curr_items
    }

    /// Bytes charged for the items held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Item slots allocated (live + free).
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// Buckets in the hash table.
    pub fn hash_capacity(&self) -> usize {
        self.index.buckets()
    }

    /// Heap bytes of the hash table.
    pub fn hash_bytes(&self) -> usize {
        self.index.heap_bytes()
    }

    /// Heap bytes the items take where they physically live: the slots,
    /// the hash table and the arena's pages and large blobs (free space
    /// included).
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.index.heap_bytes()
            + self.arena.heap_bytes()
    }

    /// Seconds since the least recently used item was last accessed (memcached's
    /// `items:N:age`), or `None` when empty.
    pub fn oldest_age(&self, now: u32) -> Option<u32> {
        (0..self.lrus.len() as u8)
            .filter_map(|c| self.class_age(c, now))
            .max()
    }

    /// Whether an item with a key and value of these lengths (and zero flags)
    /// is within the item size limit, counted as memcached counts it
    /// ([`item_total`](super::classes::item_total)). The text protocol asks this before reading a data block.
    pub fn fits(&self, key_len: usize, value_len: usize) -> bool {
        self.fits_item(key_len, 0, value_len)
    }

    /// Whether an item with this key length, flags and value length is within
    /// the item size limit (non-zero flags take 4 bytes).
    pub fn fits_item(&self, key_len: usize, flags: u32, value_len: usize) -> bool {
        self.slabs.table().layout(key_len, flags, value_len).is_some()
    }

    /// Records that a store of an item too large to keep was refused, without
    /// its data (the text protocol swallows the block unread). As memcached does,
    /// a refused `set` also removes the key's old item, so that no stale value
    /// survives a failed overwrite.
    pub fn refuse_too_large(&mut self, mode: StoreMode, key: &[u8], now: u32) {
        self.refuse_too_large_cas(mode, key, None, now);
    }

    /// [`refuse_too_large`](Store::refuse_too_large) for a request that may
    /// carry a CAS unique: memcached drops the old item only for a plain
    /// `set`, never for a `cas` (whatever its unique).
    pub fn refuse_too_large_cas(&mut self, mode: StoreMode, key: &[u8], cas: Option<u64>, now: u32) {
        self.resolve_flush(now);
        self.stats.store_too_large += 1;
        if mode == StoreMode::Set && cas.is_none() {
            if let Some(i) = self.find(key) {
                self.unlink(i);
            }
        }
    }

    // ----- reads -------------------------------------------------------------

    /// Reads an item as `get` does: counts a hit or miss, marks it fetched and
    /// moves it to the LRU head.
    pub fn get(&mut self, key: &[u8], now: u32) -> Option<Item<'_>> {
        self.read(key, ReadOptions::GET, now).map(|r| r.item)
    }

    /// Reads an item and sets its expiry, as `gat`/`gats` do (counted as touches,
    /// like memcached).
    pub fn get_and_touch(&mut self, key: &[u8], exptime: i64, now: u32) -> Option<Item<'_>> {
        let options = ReadOptions {
            touch: Some(exptime),
            ..ReadOptions::GET
        };
        self.read(key, options, now).map(|r| r.item)
    }

    /// Reads an item the way `options` says (see [`ReadOptions`]); `get`,
    /// `gat` and meta's `mg` are all this. Counts `cmd_get` and a hit or miss,
    /// or, with `touch`, `cmd_touch` and a touch hit or miss.
    pub fn read(&mut self, key: &[u8], options: ReadOptions, now: u32) -> Option<Read<'_>> {
        self.resolve_flush(now);
        let found = self.lookup_meta(key, now, true);
        let (i, before, created) = match (found, options.vivify) {
            (Some((i, meta)), _) => (i, meta, false),
            (None, Some(vivify)) if key.len() <= MAX_KEY_LEN => {
                match self.write(None, false, key, &[], 0, expires_at(vivify, now), now) {
                    Ok(_) => match self.find(key) {
                        Some(i) => (i, self.meta(i), true),
                        None => return self.count_read(options, false),
                    },
                    Err(()) => return self.count_read(options, false),
                }
            }
            (None, _) => return self.count_read(options, false),
        };
        let _ = self.count_read(options, true);
        let class = &mut self.classes[usize::from(before.class())];
        if options.touch.is_some() {
            class.touch_hits += 1;
        } else {
            class.get_hits += 1;
            class.lru_hits[before.segment().index()] += 1;
        }
        let (was_fetched, last_access, expires_before) = if created {
            (false, now, None)
        } else {
            let expires = (before.expires != NEVER).then_some(before.expires);
            (before.bits.contains(ItemBits::FETCHED), before.atime, expires)
        };
        let mut after = before;
        if let (Some(exptime), false) = (options.touch, created) {
            let meta = Meta {
                expires: expires_at(exptime, now),
                ..before
            };
            after = self.set_meta(i, meta)?;
        }
        if options.bump {
            self.bump(i, now, &mut after);
        }
        Some(Read {
            item: Item::with_meta(after, self.blob(i)),
            created,
            was_fetched,
            last_access,
            expires_before,
        })
    }

    /// Counts one read in the stats; always `None`, for the miss paths' sake.
    fn count_read(&mut self, options: ReadOptions, hit: bool) -> Option<Read<'_>> {
        let s = &mut self.stats;
        match (options.touch.is_some(), hit) {
            (true, true) => s.touch_hits += 1,
            (true, false) => s.touch_misses += 1,
            (false, true) => s.get_hits += 1,
            (false, false) => s.get_misses += 1,
        }
        if options.touch.is_some() {
            s.cmd_touch += 1;
        } else {
            s.cmd_get += 1;
        }
        None
    }

    /// Looks at an item without counting, marking or moving it (for meta's
    /// `me`, or to read the previous last-access time and bits before a `get`).
    pub fn peek(&mut self, key: &[u8], now: u32) -> Option<Item<'_>> {
        self.resolve_flush(now);
        let i = self.lookup(key, now, false)?;
        Some(self.item(i))
    }

    /// Sets then clears per-item bits (stale, token sent, fetched); returns the
    /// bits now set, or `None` if there is no live item.
    pub fn update_bits(&mut self, key: &[u8], set: ItemBits, clear: ItemBits, now: u32) -> Option<ItemBits> {
        let adjust = Adjust {
            set,
            clear,
            ..Adjust::default()
        };
        self.adjust(key, adjust, now).map(|item| item.bits())
    }

    /// Changes a live item in place as `adjust` says (bits, expiry, a new CAS
    /// unique), without counting anything or moving it in the LRU. Returns the
    /// item afterwards, or `None` if there is no live item.
    pub fn adjust(&mut self, key: &[u8], adjust: Adjust, now: u32) -> Option<Item<'_>> {
        self.resolve_flush(now);
        let i = self.lookup(key, now, false)?;
        let cas = if adjust.new_cas {
            Some(self.take_cas())
        } else {
            None
        };
        let mut meta = self.meta(i);
        meta.bits = meta
            .bits
            .union(adjust.set.intersection(ItemBits::PUBLIC))
            .without(adjust.clear.intersection(ItemBits::PUBLIC));
        if let Some(exptime) = adjust.exptime {
            meta.expires = expires_at(exptime, now);
        }
        if let Some(cas) = cas {
            meta.cas = cas;
        }
        self.set_meta(i, meta)?;
        Some(self.item(i))
    }

    // ----- writes ------------------------------------------------------------

    /// Stores `value` under `key` as `mode` says. With `cas: Some(unique)` the
    /// store happens only if the live item's CAS unique equals `unique`: a
    /// missing key answers [`StoreOutcome::NotFound`] (for `Set`/`Replace`; a
    /// missing key for `Append`/`Prepend` is `NotStored` first), a different
    /// unique [`StoreOutcome::Exists`]. `Add` ignores `cas`.
    ///
    /// `exptime` follows memcached's rules (see [`expires_at`]). `Append` and
    /// `Prepend` keep the old item's flags and expiry.
    #[allow(clippy::too_many_arguments)]
    pub fn store(
        &mut self,
        mode: StoreMode,
        key: &[u8],
        flags: u32,
        exptime: i64,
        value: &[u8],
        cas: Option<u64>,
        now: u32,
    ) -> Result<StoreOutcome, StoreError> {
        self.resolve_flush(now);
        if key.len() > MAX_KEY_LEN {
            return Err(StoreError::KeyTooLong);
        }
        let Some(layout) = self.slabs.table().layout(key.len(), flags, value.len()) else {
            self.refuse_too_large_cas(mode, key, cas, now);
            return Err(StoreError::TooLarge);
        };
        self.stats.cmd_set += 1;
        self.classes[usize::from(layout.class)].cmd_set += 1;
        // memcached allocates the new item before it looks up the old one:
        // expired items at the tail of the new item's class go first.
        self.pull_tail(layout.class, now, false);
        let old = self.lookup(key, now, true);
        match (mode, old) {
            (StoreMode::Add, Some(i)) => {
                // "add only adds a nonexistent item, but promote to head of LRU"
                self.refresh(i, now);
                return Ok(StoreOutcome::NotStored);
            }
            (StoreMode::Replace | StoreMode::Append | StoreMode::Prepend, None) => {
                return Ok(StoreOutcome::NotStored);
            }
            _ => {}
        }
        let checks_cas = matches!(mode, StoreMode::Set | StoreMode::Replace);
        if let (Some(expected), false) = (cas, mode == StoreMode::Add) {
            match old {
                None => {
                    self.stats.cas_misses += 1;
                    return Ok(StoreOutcome::NotFound);
                }
                Some(i) if self.item(i).cas() != expected => {
                    if checks_cas {
                        self.stats.cas_badval += 1;
                        self.classes[usize::from(layout.class)].cas_badval += 1;
                    }
                    return Ok(StoreOutcome::Exists);
                }
                Some(_) if checks_cas => {
                    self.stats.cas_hits += 1;
                    self.classes[usize::from(layout.class)].cas_hits += 1;
                }
                Some(_) => {}
            }
        }
        // The old value, copied out of the arena for an append or prepend.
        let mut old_value = Vec::new();
        let (flags, expires) = match (mode, old) {
            (StoreMode::Append | StoreMode::Prepend, Some(i)) => {
                let item = self.item(i);
                if !self.fits_item(key.len(), item.flags(), item.value().len() + value.len()) {
                    // memcached: the combined item cannot be allocated.
                    return Ok(StoreOutcome::NotStored);
                }
                old_value.extend_from_slice(item.value());
                (item.flags(), item.expires_at().unwrap_or(NEVER))
            }
            _ => (flags, expires_at(exptime, now)),
        };
        let parts: [&[u8]; 2] = match mode {
            StoreMode::Append => [&old_value, value],
            _ => [value, &old_value],
        };
        // memcached holds the old item while it appends (so it is not evicted
        // to make room), but not while it allocates a replacement.
        let pin = matches!(mode, StoreMode::Append | StoreMode::Prepend);
        match self.write(old, pin, key, &parts, flags, expires, now) {
            Ok(cas) => Ok(StoreOutcome::Stored { cas }),
            Err(()) => {
                self.stats.store_no_memory += 1;
                match mode {
                    StoreMode::Append | StoreMode::Prepend => Ok(StoreOutcome::NotStored),
                    _ => {
                        // memcached counts a set only once its item is allocated.
                        self.stats.cmd_set -= 1;
                        self.classes[usize::from(layout.class)].cmd_set -= 1;
                        let old = old.filter(|&i| self.slots[i as usize].is_live());
                        if let (StoreMode::Set, Some(i)) = (mode, old) {
                            self.unlink(i); // as memcached: no stale value after a failed set
                        }
                        Err(StoreError::OutOfMemory)
                    }
                }
            }
        }
    }

    /// Deletes a live item; with `cas: Some(unique)` only if its CAS unique matches.
    pub fn delete(&mut self, key: &[u8], cas: Option<u64>, now: u32) -> DeleteOutcome {
        self.resolve_flush(now);
        let Some(i) = self.lookup(key, now, true) else {
            self.stats.delete_misses += 1;
            return DeleteOutcome::NotFound;
        };
        let meta = self.meta(i);
        if cas.is_some_and(|c| c != meta.cas) {
            return DeleteOutcome::Exists;
        }
        self.stats.delete_hits += 1;
        self.classes[usize::from(meta.class())].delete_hits += 1;
        self.unlink(i);
        DeleteOutcome::Deleted
    }

    /// Sets a live item's expiry (`touch`); with `cas: Some(unique)` only if its
    /// CAS unique matches. A negative `exptime` leaves it immediately invisible.
    pub fn touch(&mut self, key: &[u8], exptime: i64, cas: Option<u64>, now: u32) -> TouchOutcome {
        self.resolve_flush(now);
        self.stats.cmd_touch += 1;
        let Some(i) = self.lookup(key, now, true) else {
            self.stats.touch_misses += 1;
            return TouchOutcome::NotFound;
        };
        let meta = self.meta(i);
        if cas.is_some_and(|c| c != meta.cas) {
            return TouchOutcome::Exists;
        }
        self.stats.touch_hits += 1;
        self.classes[usize::from(meta.class())].touch_hits += 1;
        let touched = Meta {
            expires: expires_at(exptime, now),
            ..meta
        };
        let Some(mut touched) = self.set_meta(i, touched) else {
            return TouchOutcome::NotFound;
        };
        self.bump(i, now, &mut touched);
        TouchOutcome::Touched { cas: meta.cas }
    }

    /// Increments or decrements a decimal counter (`incr`/`decr`).
    ///
    /// The value must be a decimal unsigned 64-bit number as memcached reads it
    /// (`strtoull`: leading spaces and trailing white space allowed). `incr` wraps
    /// at 2^64, `decr` stops at 0. As in memcached, when the new number is not
    /// longer than the old value it is written in place and padded with spaces
    /// (decrementing `"10"` leaves `"9 "`: protocol.txt warns clients of exactly
    /// this); a longer number makes a new item with the same flags and expiry.
    pub fn incr_decr(&mut self, key: &[u8], delta: Delta, now: u32) -> Result<DeltaOutcome, DeltaError> {
        self.resolve_flush(now);
        let Some(i) = self.lookup(key, now, true) else {
            if let (Some(initial), true) = (delta.initial, key.len() <= MAX_KEY_LEN) {
                let mut digits = Vec::with_capacity(20);
                push_u64(&mut digits, initial.value);
                let expires = expires_at(initial.exptime, now);
                let cas = self
                    .write(None, false, key, &[&digits], 0, expires, now)
                    .map_err(|()| DeltaError::OutOfMemory)?;
                return Ok(DeltaOutcome::Created {
                    value: initial.value,
                    cas,
                });
            }
            match delta.op {
                DeltaOp::Incr => self.stats.incr_misses += 1,
                DeltaOp::Decr => self.stats.decr_misses += 1,
            }
            return Ok(DeltaOutcome::NotFound);
        };
        let item = self.item(i);
        let meta = *item.meta();
        let old_value = item.value();
        // memcached's order: an empty or chunked value is not a number
        // before any CAS is compared; a CAS of 0 compares nothing; then the
        // digits are read.
        if old_value.is_empty() || meta.tail != 0 {
            return Err(DeltaError::NonNumeric);
        }
        if delta.cas.is_some_and(|c| c != 0 && c != meta.cas) {
            return Ok(DeltaOutcome::Exists);
        }
        let current = safe_strtoull(old_value).ok_or(DeltaError::NonNumeric)?;
        let old_len = old_value.len();
        let class = &mut self.classes[usize::from(meta.class())];
        let value = match delta.op {
            DeltaOp::Incr => {
                self.stats.incr_hits += 1;
                class.incr_hits += 1;
                current.wrapping_add(delta.amount)
            }
            DeltaOp::Decr => {
                self.stats.decr_hits += 1;
                class.decr_hits += 1;
                current.saturating_sub(delta.amount)
            }
        };
        let held = meta.bits.contains(ItemBits::HELD);
        let mut digits = Vec::with_capacity(20);
        push_u64(&mut digits, value);
        if digits.len() <= old_len && !held {
            let cas = self.take_cas();
            // memcached reads the counter without bumping it (not fetched).
            let updated = Meta {
                cas,
                atime: now,
                ..meta
            };
            let Some(stored) = self.set_meta(i, updated) else {
                return Err(DeltaError::OutOfMemory);
            };
            let at = stored.header_len() + usize::from(meta.key_len);
            let slot = &mut self.blob_mut(i)[at..at + old_len];
            slot[..digits.len()].copy_from_slice(&digits);
            slot[digits.len()..].fill(b' ');
            return Ok(DeltaOutcome::Updated { value, cas });
        }
        let (flags, expires) = (meta.flags, meta.expires);
        let cas = self
            .write(Some(i), true, key, &[&digits], flags, expires, now)
            .map_err(|()| DeltaError::OutOfMemory)?;
        Ok(DeltaOutcome::Updated { value, cas })
    }

    /// `flush_all [delay]`: every item stored before the flush time becomes
    /// invisible. `delay <= 0` flushes now; otherwise the flush time follows the
    /// exptime rules (relative up to 30 days, else absolute). Items that exist when
    /// that time comes are invalidated; items stored after it are not. A later
    /// `flush_all` replaces a pending one. O(1): nothing is freed here.
    pub fn flush_all(&mut self, delay: i64, now: u32) {
        self.resolve_flush(now);
        self.stats.cmd_flush += 1;
        let at = if delay > 0 { expires_at(delay, now) } else { now };
        if at <= now {
            // memcached takes a CAS id for an immediate flush
            // (`settings.oldest_cas = get_cas_id()`), so the next item's CAS
            // skips one; clients comparing CAS values see the same numbers.
            self.flush_cas = self.next_cas;
            self.next_cas += 1;
            self.pending_flush = None;
            self.flush_time = Some(now);
        } else {
            self.pending_flush = Some(at);
        }
    }

    /// Reclaims expired and flushed items without waiting for an access: looks
    /// at up to `budget` slab slots, continuing where the previous call stopped
    /// and wrapping around, and frees the invisible items found there (an
    /// expired one only [`CRAWL_GRACE`] seconds after its expiry, so that the
    /// LRU tail reclaims it first, as memcached's LRU maintainer does). Returns how
    /// many were reclaimed (at most `budget`). The server calls it from a periodic
    /// timer; `budget` bounds the time each call takes (a full pass over N slots
    /// takes N / budget calls). Each call also runs one [`rebalance`](Store::rebalance)
    /// step.
    pub fn crawl(&mut self, now: u32, budget: usize) -> usize {
        self.resolve_flush(now);
        self.rebalance();
        let len = self.slots.len();
        let mut reclaimed = 0;
        for _ in 0..budget.min(len) {
            if self.crawl_cursor >= len {
                self.crawl_cursor = 0;
            }
            let i = self.crawl_cursor as u32;
            self.crawl_cursor += 1;
            if !self.slots[i as usize].is_live() {
                continue;
            }
            let meta = self.meta(i);
            let c = usize::from(meta.class());
            self.classes[c].crawler_items_checked += 1;
            self.stats.crawler_items_checked += 1;
            let ripe = match self.gone_meta(&meta, now) {
                Some(Gone::Flushed) => true,
                Some(Gone::Expired) => meta.expires.saturating_add(CRAWL_GRACE) <= now,
                None => false,
            };
            if ripe {
                if !meta.bits.contains(ItemBits::FETCHED) {
                    self.stats.expired_unfetched += 1;
                    self.classes[c].expired_unfetched += 1;
                }
                self.stats.crawler_reclaimed += 1;
                self.classes[c].crawler_reclaimed += 1;
                self.unlink(i);
                reclaimed += 1;
            }
        }
        reclaimed
    }

    /// One slice of an `lru_crawler crawl`: looks at the slots from `cursor`
    /// on, at most `budget` of them, and frees the expired or flushed items
    /// of the classes in `classes` (bit N for class N) at once, without the
    /// background crawl's grace. Returns where the next slice starts (`None`:
    /// the pass is over) and how many items were reclaimed.
    pub fn crawl_classes(
        &mut self,
        now: u32,
        classes: u64,
        cursor: usize,
        budget: usize,
    ) -> (Option<usize>, usize) {
        self.resolve_flush(now);
        let len = self.slots.len();
        let end = cursor.saturating_add(budget).min(len);
        let mut reclaimed = 0;
        for i in cursor.min(end)..end {
            if !self.slots[i].is_live() {
                continue;
            }
            let meta = self.meta(i as u32);
            if meta.class() >= 64 || classes & (1 << meta.class()) == 0 {
                continue;
            }
            let c = usize::from(meta.class());
            let fetched = meta.bits.contains(ItemBits::FETCHED);
            self.classes[c].crawler_items_checked += 1;
            self.stats.crawler_items_checked += 1;
            if self.gone_meta(&meta, now).is_some() {
                if !fetched {
                    self.stats.expired_unfetched += 1;
                    self.classes[c].expired_unfetched += 1;
                }
                self.stats.crawler_reclaimed += 1;
                self.classes[c].crawler_reclaimed += 1;
                self.unlink(i as u32);
                reclaimed += 1;
            }
        }
        ((end < len).then_some(end), reclaimed)
    }

    /// One slice of a dump: calls `f` with each live, visible item in the
    /// slots from `cursor` on (at most `budget` slots), stopping after the
    /// item for which `f` returns false. Returns where the next slice
    /// starts, `None` once every slot was seen.
    pub(crate) fn dump_slice(
        &self,
        cursor: usize,
        budget: usize,
        now: u32,
        mut f: impl FnMut(Item<'_>) -> bool,
    ) -> Option<usize> {
        let len = self.slots.len();
        let end = cursor.saturating_add(budget).min(len);
        for i in cursor.min(end)..end {
            if !self.slots[i].is_live() {
                continue;
            }
            let item = self.item(i as u32);
            if self.gone_meta(item.meta(), now).is_none() && !f(item) {
                return Some(i + 1);
            }
        }
        (end < len).then_some(end)
    }

    // ----- internals ---------------------------------------------------------

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn find(&self, key: &[u8]) -> Option<u32> {
        let hash = self.hash(key);
        let (slots, arena) = (&self.slots, &self.arena);
        self.index.find(hash, slots, |i| {
            blob_key(arena.bytes(slots[i as usize].loc)) == key
        })
    }

    /// The blob of the live item `i`, from its header to the end of its page.
    #[inline]
    fn blob(&self, i: u32) -> &[u8] {
        self.arena.bytes(self.slots[i as usize].loc)
    }

    /// [`blob`](Store::blob), writable.
    #[inline]
    fn blob_mut(&mut self, i: u32) -> &mut [u8] {
        self.arena.bytes_mut(self.slots[i as usize].loc)
    }

    /// The fields of the live item `i`.
    fn meta(&self, i: u32) -> Meta {
        Meta::read(self.blob(i))
    }

    /// A view of the live item `i`.
    fn item(&self, i: u32) -> Item<'_> {
        Item::new(self.blob(i))
    }

    /// Gives the live item `i` the fields of `meta` (same key and value):
    /// in place when its blob has room for them, else in a new blob with
    /// room (its id, and so its place in the LRU and the index, stays).
    /// Returns the fields as stored (with the blob's shape), or `None` in
    /// the one case the arena has no location left, after removing the
    /// item.
    #[must_use]
    fn set_meta(&mut self, i: u32, meta: Meta) -> Option<Meta> {
        if meta.fits() {
            meta.write(self.blob_mut(i));
            return Some(meta);
        }
        let old_loc = self.slots[i as usize].loc;
        let old = Meta::read(self.arena.bytes(old_loc));
        let grown = meta.reshaped();
        let Some(loc) = self.arena.alloc(grown.blob_len()) else {
            self.stats.outofmemory += 1;
            self.unlink(i);
            return None;
        };
        let data_len = usize::from(old.key_len) + old.value_len as usize;
        let at = old.header_len();
        let data = self.arena.bytes(old_loc)[at..at + data_len].to_vec();
        let blob = self.arena.bytes_mut(loc);
        grown.write(blob);
        let at = grown.header_len();
        blob[at..at + data_len].copy_from_slice(&data);
        self.arena.free(old_loc, old.blob_len());
        self.slots[i as usize].loc = loc;
        Some(grown)
    }

    /// Applies a delayed flush whose time has come: every item existing now
    /// (CAS below the next one) becomes invisible.
    fn resolve_flush(&mut self, now: u32) {
        if let Some(at) = self.pending_flush.filter(|&at| now >= at) {
            self.flush_cas = self.next_cas;
            self.pending_flush = None;
            self.flush_time = Some(at);
        }
    }

    fn gone(&self, i: u32, now: u32) -> Option<Gone> {
        self.gone_meta(self.item(i).meta(), now)
    }

    /// Why an item with these fields is invisible, if it is.
    fn gone_meta(&self, meta: &Meta, now: u32) -> Option<Gone> {
        let flushed = if self.config.cas_enabled {
            meta.cas < self.flush_cas
        } else {
            self.flush_time.is_some_and(|at| at <= now && meta.atime <= at)
        };
        if flushed {
            Some(Gone::Flushed)
        } else if meta.is_expired(now) {
            Some(Gone::Expired)
        } else {
            None
        }
    }

    /// Finds a live item; an expired or flushed one is unlinked on the way (and
    /// counted in `get_expired`/`get_flushed` when `count`), like `do_item_get`.
    fn lookup(&mut self, key: &[u8], now: u32, count: bool) -> Option<u32> {
        self.lookup_meta(key, now, count).map(|(i, _)| i)
    }

    /// [`lookup`](Store::lookup), with the item's fields.
    fn lookup_meta(&mut self, key: &[u8], now: u32, count: bool) -> Option<(u32, Meta)> {
        let i = self.find(key)?;
        let meta = self.meta(i);
        match self.gone_meta(&meta, now) {
            None => Some((i, meta)),
            Some(gone) => {
                if count {
                    match gone {
                        Gone::Expired => self.stats.get_expired += 1,
                        Gone::Flushed => self.stats.get_flushed += 1,
                    }
                }
                self.unlink(i);
                None
            }
        }
    }

    fn take_cas(&mut self) -> u64 {
        let cas = self.next_cas;
        self.next_cas += 1;
        cas
    }
}

#[cfg(test)]
mod tests;
