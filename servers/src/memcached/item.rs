//! One cached item: the fixed-size record the store keeps for it, the view
//! handed to callers, and memcached's expiration-time rules.
//!
//! # Layout and memory cost
//!
//! Every item is one `Record` in the store's slab (a `Vec<Record>` indexed by
//! `u32`) plus exactly one heap allocation holding the key followed by the value.
//! The hash table stores only the record's `u32` index. The real heap cost of an
//! item is [`ITEM_OVERHEAD`] bytes on top of key + value (what the store charges
//! against `-m` is memcached's chunk for the item instead: see
//! [`classes`](super::classes)):
//!
//! | part | bytes | why |
//! |---|---|---|
//! | `Record` | 48 | `Box<[u8]>` 16, CAS 8, LRU links 2 x 4, expiry 4, last access 4, flags 4, key length 1, bits 1, size class 1, last chunk's class 1 |
//! | hash table slot | 8 | a `u32` index + 1 control byte in hashbrown, at a load factor between 7/16 and 7/8 (about 5/0.66 on average) |
//! | allocator | 16 | glibc malloc's 8-byte chunk header plus, on average, 8 bytes of rounding up to 16 |
//! | **total** | **72** | |
//!
//! Measured with `cargo run --release -p torsion-servers --example store_rss`:
//! 1,000,000 items with 14-byte keys and 100-byte values grow the process's RSS by
//! 186 bytes per item, 72 over key + value (the slab's and the table's spare
//! capacity included). For comparison, memcached's item header is 48-56 bytes,
//! and its slab classes round each item up to the next chunk size (up to 25%
//! with `-f 1.25`).

use std::mem::size_of;

/// Longest key (memcached's `KEY_MAX_LENGTH`).
pub const MAX_KEY_LEN: usize = 250;

/// Expiration times up to this many seconds (30 days) are relative to now; larger
/// ones are absolute unix times (memcached's `REALTIME_MAXDELTA`).
pub const MAX_RELATIVE_EXPTIME: i64 = 60 * 60 * 24 * 30;

/// Size of a record in the slab: see the table in the module documentation.
pub const RECORD_BYTES: usize = size_of::<Record>();

/// Hash table cost per item: a `u32` slot and a control byte, with load-factor slack.
pub const INDEX_BYTES: usize = 8;

/// malloc's cost for the key + value allocation: header and average rounding.
pub const ALLOC_BYTES: usize = 16;

/// Bytes charged per item on top of its key and value.
pub const ITEM_OVERHEAD: usize = RECORD_BYTES + INDEX_BYTES + ALLOC_BYTES;

const _: () = assert!(RECORD_BYTES == 48, "update the layout table in item.rs");

/// The size charged for an item with this key and value length.
pub fn item_size(key_len: usize, value_len: usize) -> usize {
    key_len + value_len + ITEM_OVERHEAD
}

/// "Never expires", as stored in a record.
pub(crate) const NEVER: u32 = 0;

/// An expiry in the distant past: any `now` after 1970-01-01T00:00:01 sees it as expired.
pub(crate) const LONG_AGO: u32 = 1;

/// Converts a protocol expiration time into the absolute unix second at which the
/// item disappears (0 for never), as memcached's `realtime()` does:
///
/// - `0`: never;
/// - `1..=2_592_000` (30 days): that many seconds from `now`;
/// - larger: an absolute unix time (already gone if not after `now`);
/// - negative: already expired (memcached maps it to `REALTIME_MAXDELTA + 1`,
///   i.e. an absolute time in 1970).
///
/// An item is visible while `now < expires_at`.
pub fn expires_at(exptime: i64, now: u32) -> u32 {
    match exptime {
        0 => NEVER,
        e if e < 0 => LONG_AGO,
        e if e <= MAX_RELATIVE_EXPTIME => now.saturating_add(e as u32),
        e => u32::try_from(e).unwrap_or(u32::MAX),
    }
}

/// Bits of [`Record::clsid`] that hold the size class (ids below 64, as
/// memcached's `MAX_NUMBER_OF_SLAB_CLASSES`); the two above hold the sub-LRU.
const CLASS_BITS: u32 = 6;
const CLASS_MASK: u8 = (1 << CLASS_BITS) - 1;

/// Per-item flags a protocol may read or set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ItemBits(u8);

impl ItemBits {
    /// No bit.
    pub const NONE: ItemBits = ItemBits(0);
    /// The item was read (get, touch, incr...) since it was stored
    /// (memcached's `ITEM_FETCHED`; meta's `h` flag).
    pub const FETCHED: ItemBits = ItemBits(1);
    /// The item was marked stale (meta's `I` invalidation, memcached's `ITEM_STALE`).
    pub const STALE: ItemBits = ItemBits(2);
    /// A recache "win" token was handed out (meta's `W`/`Z`, `ITEM_TOKEN_SENT`).
    pub const TOKEN_SENT: ItemBits = ItemBits(4);
    /// The key was sent base64-encoded (meta's `b` flag, memcached's
    /// `ITEM_KEY_BINARY`): meta replies print it encoded again.
    pub const KEY_BINARY: ItemBits = ItemBits(8);
    /// Internal: the slab slot holds an item.
    pub(crate) const LIVE: ItemBits = ItemBits(0x80);
    /// Internal: a reply not yet written out holds the item's value (a
    /// reference in memcached: `incr` then cannot rewrite it in place).
    pub(crate) const HELD: ItemBits = ItemBits(0x40);
    /// Internal: the item was hit again after its first fetch (memcached's
    /// `ITEM_ACTIVE`): the segmented LRU rescues it into WARM.
    pub(crate) const ACTIVE: ItemBits = ItemBits(0x10);
    /// The bits callers may set or clear.
    pub(crate) const PUBLIC: ItemBits = ItemBits(0x0f);

    /// Whether all bits of `other` are set in `self`.
    pub fn contains(self, other: ItemBits) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of both.
    pub fn union(self, other: ItemBits) -> ItemBits {
        ItemBits(self.0 | other.0)
    }

    /// `self` without the bits of `other`.
    pub fn without(self, other: ItemBits) -> ItemBits {
        ItemBits(self.0 & !other.0)
    }

    /// Only the bits both have.
    pub fn intersection(self, other: ItemBits) -> ItemBits {
        ItemBits(self.0 & other.0)
    }
}

/// One slot of the store's slab. A free slot has an empty `data` and uses `next`
/// as the free-list link.
#[derive(Debug)]
pub(crate) struct Record {
    /// Key followed by value: the item's only heap allocation.
    pub(crate) data: Box<[u8]>,
    /// CAS unique.
    pub(crate) cas: u64,
    /// LRU neighbour towards the most recently used end (`NIL` at the head).
    pub(crate) prev: u32,
    /// LRU neighbour towards the least recently used end (`NIL` at the tail).
    pub(crate) next: u32,
    /// Absolute unix second at which the item disappears; `NEVER` = 0.
    pub(crate) expires: u32,
    /// Unix second of the last store or access.
    pub(crate) atime: u32,
    /// Client flags.
    pub(crate) flags: u32,
    /// Length of the key at the start of `data` (at most 250).
    pub(crate) key_len: u8,
    /// `ItemBits`.
    pub(crate) bits: ItemBits,
    /// The size class (low 6 bits, see [`classes`](super::classes)) and
    /// which of the class's sub-LRUs holds the item (high 2 bits, a
    /// [`Segment`](super::store::Segment)), as memcached packs its
    /// `slabs_clsid`. Read it through [`Record::class`] and
    /// [`Record::segment`].
    pub(crate) clsid: u8,
    /// A chunked item's last data chunk's class (0: none or not chunked).
    pub(crate) tail: u8,
}

impl Record {
    pub(crate) fn empty(next_free: u32) -> Record {
        Record {
            data: Box::default(),
            cas: 0,
            prev: super::lru::NIL,
            next: next_free,
            expires: NEVER,
            atime: 0,
            flags: 0,
            key_len: 0,
            bits: ItemBits::NONE,
            clsid: 0,
            tail: 0,
        }
    }

    /// The item's size class.
    pub(crate) fn class(&self) -> u8 {
        self.clsid & CLASS_MASK
    }

    /// The sub-LRU that holds the item.
    pub(crate) fn segment(&self) -> super::store::Segment {
        super::store::Segment::from_bits(self.clsid >> CLASS_BITS)
    }

    /// Records the item's size class and sub-LRU (the store links it there).
    pub(crate) fn set_place(&mut self, class: u8, segment: super::store::Segment) {
        self.clsid = (class & CLASS_MASK) | (segment.bits() << CLASS_BITS);
    }

    pub(crate) fn is_live(&self) -> bool {
        self.bits.contains(ItemBits::LIVE)
    }

    pub(crate) fn key(&self) -> &[u8] {
        &self.data[..usize::from(self.key_len)]
    }

    pub(crate) fn value(&self) -> &[u8] {
        &self.data[usize::from(self.key_len)..]
    }

    /// memcached's size of the item ([`item_total`](super::classes::item_total)).
    pub(crate) fn size(&self) -> usize {
        super::classes::item_total(usize::from(self.key_len), self.flags, self.value().len())
    }

    /// Whether the expiry has passed (flush is checked by the store).
    pub(crate) fn is_expired(&self, now: u32) -> bool {
        self.expires != NEVER && self.expires <= now
    }
}

/// A read-only view of a stored item, valid until the store is next changed.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    rec: &'a Record,
}

impl<'a> Item<'a> {
    pub(crate) fn new(rec: &'a Record) -> Self {
        Item { rec }
    }

    /// The key.
    pub fn key(&self) -> &'a [u8] {
        self.rec.key()
    }

    /// The value.
    pub fn value(&self) -> &'a [u8] {
        self.rec.value()
    }

    /// Client flags.
    pub fn flags(&self) -> u32 {
        self.rec.flags
    }

    /// CAS unique.
    pub fn cas(&self) -> u64 {
        self.rec.cas
    }

    /// Absolute unix second at which the item disappears, `None` if never.
    pub fn expires_at(&self) -> Option<u32> {
        (self.rec.expires != NEVER).then_some(self.rec.expires)
    }

    /// Seconds left to live at `now`, `None` if the item never expires (meta's
    /// `t` flag prints `-1` then).
    pub fn ttl(&self, now: u32) -> Option<u32> {
        self.expires_at().map(|e| e.saturating_sub(now))
    }

    /// Unix second of the last store or access. An access that returns this
    /// view has already applied its own bump (with the segmented LRU a first
    /// hit only marks the item fetched; later hits set this to their `now`);
    /// use `Store::peek` first to see the previous one (meta's `l` flag).
    pub fn last_access(&self) -> u32 {
        self.rec.atime
    }

    /// The item's bits (fetched, stale, token sent, binary key).
    pub fn bits(&self) -> ItemBits {
        self.rec.bits.intersection(ItemBits::PUBLIC)
    }

    /// Whether the item had been read before.
    pub fn fetched(&self) -> bool {
        self.rec.bits.contains(ItemBits::FETCHED)
    }

    /// Whether the item is marked stale.
    pub fn stale(&self) -> bool {
        self.rec.bits.contains(ItemBits::STALE)
    }

    /// Whether a recache token was already sent for it.
    pub fn token_sent(&self) -> bool {
        self.rec.bits.contains(ItemBits::TOKEN_SENT)
    }

    /// Whether the key was stored from a base64-encoded meta key.
    pub fn key_binary(&self) -> bool {
        self.rec.bits.contains(ItemBits::KEY_BINARY)
    }

    /// memcached's size of the item: header, key, flags, value and CAS
    /// (meta's `me` prints it as `size=`).
    pub fn size(&self) -> usize {
        self.rec.size()
    }

    /// The item's size class (meta's `me` prints it as `cls=`).
    pub fn class(&self) -> u8 {
        self.rec.class()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u32 = 1_700_000_000;

    #[test]
    fn expiry_rules() {
        assert_eq!(expires_at(0, NOW), NEVER);
        assert_eq!(expires_at(1, NOW), NOW + 1);
        // Exactly 30 days is still relative...
        assert_eq!(expires_at(2_592_000, NOW), NOW + 2_592_000);
        // ...one more is an absolute time in January 1970: long gone.
        assert_eq!(expires_at(2_592_001, NOW), 2_592_001);
        assert!(expires_at(2_592_001, NOW) <= NOW);
        assert_eq!(expires_at(i64::from(NOW) + 10, NOW), NOW + 10);
        assert_eq!(expires_at(-1, NOW), LONG_AGO);
        assert_eq!(expires_at(i64::from(i32::MIN), NOW), LONG_AGO);
        assert_eq!(expires_at(i64::MAX, NOW), u32::MAX);
        assert_eq!(expires_at(100, u32::MAX - 5), u32::MAX);
    }

    #[test]
    fn bits() {
        let b = ItemBits::FETCHED.union(ItemBits::STALE);
        assert!(b.contains(ItemBits::FETCHED));
        assert!(!b.contains(ItemBits::TOKEN_SENT));
        assert_eq!(b.without(ItemBits::FETCHED), ItemBits::STALE);
        assert_eq!(b.union(ItemBits::LIVE).intersection(ItemBits::PUBLIC), b);
    }

    #[test]
    fn overhead_is_what_the_table_says() {
        assert_eq!(ITEM_OVERHEAD, 72);
        assert_eq!(item_size(10, 100), 182);
    }
}
