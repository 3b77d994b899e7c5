//! One cached item: where the store keeps it (a 16-byte slot and a blob in
//! the arena), the view handed to callers, and memcached's expiration-time
//! rules.
//!
//! # Layout and memory cost
//!
//! An item is named by a `u32` id that never changes while it lives. The id
//! indexes `slots: Vec<Slot>`: the item's LRU links, its hash chain link and
//! the location of its *blob* in the store's arena
//! ([`store::arena`](super::store)). The blob is a variable-length header,
//! then the key, then the value:
//!
//! | blob bytes | field |
//! |---|---|
//! | 0..4 | last access (unix second) |
//! | 4 | shape: which optional fields follow (low 4 bits; the high 4 are free) |
//! | 5 | key length |
//! | 6 | [`ItemBits`] |
//! | 7 | size class (low 6 bits) and sub-LRU (high 2 bits) |
//! | 8..12 | value length |
//! | 12.. | CAS unique: 4 bytes while it is below 2^32, else 8 |
//! | then | expiry (4), only if the item expires |
//! | then | client flags (4), only if non-zero |
//! | then | a chunked item's last chunk's class (1), only if non-zero |
//! | then | key, value |
//!
//! A change that needs a field the blob has no room for (a touch that gives
//! an expiry, a CAS unique past 2^32) writes a new blob and points the slot
//! at it; the id stays, so the LRU, the hash chains and everything else
//! that names the item by id are untouched. A field is never taken out
//! again (an expiry set back to 0 keeps its 4 bytes).
//!
//! What an item costs on the heap beyond its key and value
//! ([`ITEM_OVERHEAD`]; what the store charges against `-m` is memcached's
//! chunk for the item instead: see [`classes`](super::classes)):
//!
//! | part | bytes | why |
//! |---|---|---|
//! | `Slot` | 16 | LRU links 2 x 4, hash chain link and 3-bit hash tag 4, blob location 4 |
//! | bucket head | 4 | a `u32` per bucket, 0.75 to 1.5 items per bucket (2.7 to 5.3 B) |
//! | header | 16 | fixed part 12, CAS 4; up to 29 with an 8-byte CAS, expiry, flags and a tail class |
//! | arena rounding | 4 | up to 7 bytes to the next 8-byte chunk up to 512 B (at most 1/16 above) |
//! | **total** | **40** | 53 with every optional field |
//!
//! There is no per-item allocation: blobs up to 16 KiB share 64 KiB pages,
//! larger ones (where malloc's 16 bytes do not count) have their own.
//! For comparison, memcached's item header is 48-56 bytes, plus 8 in its
//! hash table, and its slab classes round each item up to the next chunk
//! size (up to 25% with `-f 1.25`).

use std::mem::size_of;

use super::store::Loc;

/// Longest key (memcached's `KEY_MAX_LENGTH`).
pub const MAX_KEY_LEN: usize = 250;

/// Expiration times up to this many seconds (30 days) are relative to now; larger
/// ones are absolute unix times (memcached's `REALTIME_MAXDELTA`).
pub const MAX_RELATIVE_EXPTIME: i64 = 60 * 60 * 24 * 30;

/// Size of an item's slot: see the table in the module documentation.
pub const SLOT_BYTES: usize = size_of::<Slot>();

/// The index's cost per item: a bucket head at one item per bucket.
pub const INDEX_BYTES: usize = 4;

/// The header of a blob without optional fields and with a 4-byte CAS.
pub const HEADER_BYTES: usize = FIXED_HEADER + 4;

/// The header of a blob with every optional field and an 8-byte CAS.
pub const MAX_HEADER_BYTES: usize = FIXED_HEADER + 8 + 4 + 4 + 1;

/// The arena's rounding on average (chunks grow in 8-byte steps).
pub const ROUNDING_BYTES: usize = 4;

/// Bytes an item costs on top of its key and value (without optional fields).
pub const ITEM_OVERHEAD: usize = SLOT_BYTES + INDEX_BYTES + HEADER_BYTES + ROUNDING_BYTES;

const _: () = assert!(
    ITEM_OVERHEAD == 40 && MAX_HEADER_BYTES == 29,
    "update the layout table in item.rs"
);

/// The heap bytes of an item with this key and value length and no
/// optional field.
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

/// Bits of [`Meta::clsid`] that hold the size class (ids below 64, as
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

/// One item's slot in the store (`slots: Vec<Slot>`, indexed by the item's
/// `u32` id, which never changes while the item lives). A free slot has no
/// location and uses `next` as the free-list link.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    /// LRU neighbour towards the most recently used end (`NIL` at the head).
    pub(crate) prev: u32,
    /// LRU neighbour towards the least recently used end (`NIL` at the tail);
    /// the next free slot for a free one.
    pub(crate) next: u32,
    /// The next id on the item's hash chain (low 29 bits, all set at its
    /// end) and the item's hash tag (top 3 bits): see the store's index.
    pub(crate) hnext: u32,
    /// Where the item's blob is in the arena (`Loc::NONE`: a free slot).
    pub(crate) loc: Loc,
}

const _: () = assert!(SLOT_BYTES == 16, "update the layout table in item.rs");

impl Slot {
    pub(crate) fn empty(next_free: u32) -> Slot {
        Slot {
            prev: super::lru::NIL,
            next: next_free,
            hnext: super::lru::NIL,
            loc: Loc::NONE,
        }
    }

    pub(crate) fn is_live(&self) -> bool {
        self.loc != Loc::NONE
    }
}

/// Which optional fields a blob's header has (its byte at offset 4). The
/// high four bits are not the shape's: they are kept as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape(u8);

impl Shape {
    /// The CAS unique takes 8 bytes (else 4: it is below 2^32).
    const CAS64: u8 = 1;
    /// An expiry is stored (else the item never expires).
    const EXPIRES: u8 = 2;
    /// Client flags are stored (else they are 0).
    const FLAGS: u8 = 4;
    /// A chunked item's last chunk's class is stored (else 0).
    const TAIL: u8 = 8;
    /// The bits that are the shape's.
    const MASK: u8 = 15;

    /// The smallest shape that holds these fields.
    fn of(m: &Meta) -> Shape {
        let mut s = 0;
        if m.cas > u64::from(u32::MAX) {
            s |= Shape::CAS64;
        }
        if m.expires != NEVER {
            s |= Shape::EXPIRES;
        }
        if m.flags != 0 {
            s |= Shape::FLAGS;
        }
        if m.tail != 0 {
            s |= Shape::TAIL;
        }
        Shape(s)
    }

    #[inline]
    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// Whether every field `other` stores has room here.
    fn covers(self, other: Shape) -> bool {
        other.0 & Shape::MASK & !self.0 == 0
    }

    fn union(self, other: Shape) -> Shape {
        Shape(self.0 | (other.0 & Shape::MASK))
    }

    #[inline]
    fn cas_len(self) -> usize {
        4 + 4 * usize::from(self.has(Shape::CAS64))
    }

    /// Where the expiry is (if the shape has one).
    #[inline]
    fn expires_at(self) -> usize {
        AT_CAS + self.cas_len()
    }

    /// Where the flags are (if the shape has them).
    #[inline]
    fn flags_at(self) -> usize {
        self.expires_at() + 4 * usize::from(self.has(Shape::EXPIRES))
    }

    /// Where the tail class is (if the shape has one).
    #[inline]
    fn tail_at(self) -> usize {
        self.flags_at() + 4 * usize::from(self.has(Shape::FLAGS))
    }

    /// Bytes of the header, from offset 0 to the key.
    #[inline]
    fn header_len(self) -> usize {
        self.tail_at() + usize::from(self.has(Shape::TAIL))
    }
}

/// Bytes of the header's fixed part: last access 4, shape 1, key length 1,
/// bits 1, class 1, value length 4.
const FIXED_HEADER: usize = 12;
const AT_ATIME: usize = 0;
const AT_SHAPE: usize = 4;
const AT_KEY_LEN: usize = 5;
const AT_BITS: usize = 6;
const AT_CLASS: usize = 7;
const AT_VALUE_LEN: usize = 8;
const AT_CAS: usize = 12;

#[inline]
fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

/// An item's fields, decoded from (or to be encoded into) its blob's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    /// Unix second of the last store or access.
    pub(crate) atime: u32,
    /// Which optional fields the header has room for.
    pub(crate) shape: Shape,
    /// Length of the key (at most 250).
    pub(crate) key_len: u8,
    /// `ItemBits`.
    pub(crate) bits: ItemBits,
    /// The size class (low 6 bits, see [`classes`](super::classes)) and
    /// which of the class's sub-LRUs holds the item (high 2 bits, a
    /// [`Segment`](super::store::Segment)), as memcached packs its
    /// `slabs_clsid`. Read it through [`Meta::class`] and
    /// [`Meta::segment`].
    pub(crate) clsid: u8,
    /// Length of the value.
    pub(crate) value_len: u32,
    /// CAS unique.
    pub(crate) cas: u64,
    /// Absolute unix second at which the item disappears; `NEVER` = 0.
    pub(crate) expires: u32,
    /// Client flags.
    pub(crate) flags: u32,
    /// A chunked item's last data chunk's class (0: none or not chunked).
    pub(crate) tail: u8,
}

impl Meta {
    /// A new item's fields, with the smallest shape that holds them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        key_len: usize,
        value_len: usize,
        flags: u32,
        expires: u32,
        cas: u64,
        atime: u32,
        class: u8,
        tail: u8,
    ) -> Meta {
        let mut m = Meta {
            atime,
            shape: Shape(0),
            key_len: key_len as u8,
            bits: ItemBits::NONE,
            clsid: class & CLASS_MASK,
            value_len: value_len as u32,
            cas,
            expires,
            flags,
            tail,
        };
        m.shape = Shape::of(&m);
        m
    }

    /// Decodes the header at the start of `blob`.
    #[inline]
    pub(crate) fn read(blob: &[u8]) -> Meta {
        // The fixed part in one bounds check (a blob always holds it).
        let head: &[u8; FIXED_HEADER] = blob.first_chunk().unwrap_or(&[0; FIXED_HEADER]);
        let word = |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
        let shape = Shape(head[AT_SHAPE]);
        let cas = if shape.has(Shape::CAS64) {
            let mut b = [0; 8];
            b.copy_from_slice(&blob[AT_CAS..AT_CAS + 8]);
            u64::from_le_bytes(b)
        } else {
            u64::from(u32_at(blob, AT_CAS))
        };
        let field = |bit: u8, at: usize| if shape.has(bit) { u32_at(blob, at) } else { 0 };
        Meta {
            atime: word(AT_ATIME),
            shape,
            key_len: head[AT_KEY_LEN],
            bits: ItemBits(head[AT_BITS]),
            clsid: head[AT_CLASS],
            value_len: word(AT_VALUE_LEN),
            cas,
            expires: field(Shape::EXPIRES, shape.expires_at()),
            flags: field(Shape::FLAGS, shape.flags_at()),
            tail: if shape.has(Shape::TAIL) {
                blob[shape.tail_at()]
            } else {
                0
            },
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

    /// Whether the header's shape has room for every field's value.
    pub(crate) fn fits(&self) -> bool {
        self.shape.covers(Shape::of(self))
    }

    /// The same fields in a shape with room for all of them (the old
    /// shape's fields are kept: a blob never shrinks in place).
    pub(crate) fn reshaped(&self) -> Meta {
        Meta {
            shape: self.shape.union(Shape::of(self)),
            ..*self
        }
    }

    /// Bytes of the header.
    pub(crate) fn header_len(&self) -> usize {
        self.shape.header_len()
    }

    /// Bytes of the whole blob: header, key, value.
    pub(crate) fn blob_len(&self) -> usize {
        self.header_len() + usize::from(self.key_len) + self.value_len as usize
    }

    /// Encodes the header into the start of `blob`; the shape must fit
    /// ([`fits`](Meta::fits)).
    pub(crate) fn write(&self, blob: &mut [u8]) {
        debug_assert!(self.fits());
        blob[AT_ATIME..AT_ATIME + 4].copy_from_slice(&self.atime.to_le_bytes());
        blob[AT_SHAPE] = self.shape.0;
        blob[AT_KEY_LEN] = self.key_len;
        blob[AT_BITS] = self.bits.0;
        blob[AT_CLASS] = self.clsid;
        blob[AT_VALUE_LEN..AT_VALUE_LEN + 4].copy_from_slice(&self.value_len.to_le_bytes());
        let mut at = AT_CAS;
        if self.shape.has(Shape::CAS64) {
            blob[at..at + 8].copy_from_slice(&self.cas.to_le_bytes());
        } else {
            blob[at..at + 4].copy_from_slice(&(self.cas as u32).to_le_bytes());
        }
        at += self.shape.cas_len();
        for (bit, field) in [(Shape::EXPIRES, self.expires), (Shape::FLAGS, self.flags)] {
            if self.shape.has(bit) {
                blob[at..at + 4].copy_from_slice(&field.to_le_bytes());
                at += 4;
            }
        }
        if self.shape.has(Shape::TAIL) {
            blob[at] = self.tail;
        }
    }

    /// memcached's size of the item ([`item_total`](super::classes::item_total)).
    pub(crate) fn size(&self) -> usize {
        super::classes::item_total(usize::from(self.key_len), self.flags, self.value_len as usize)
    }

    /// Whether the expiry has passed (flush is checked by the store).
    pub(crate) fn is_expired(&self, now: u32) -> bool {
        self.expires != NEVER && self.expires <= now
    }
}

/// The key of the blob that starts `blob`, read without decoding the rest.
#[inline]
pub(crate) fn blob_key(blob: &[u8]) -> &[u8] {
    let at = Shape(blob[AT_SHAPE]).header_len();
    &blob[at..at + usize::from(blob[AT_KEY_LEN])]
}

/// Sets the last access time in a blob's header.
pub(crate) fn set_blob_atime(blob: &mut [u8], atime: u32) {
    blob[AT_ATIME..AT_ATIME + 4].copy_from_slice(&atime.to_le_bytes());
}

/// Reads the last access time in a blob's header.
pub(crate) fn blob_atime(blob: &[u8]) -> u32 {
    u32_at(blob, AT_ATIME)
}

/// Reads the bits of a blob's header.
pub(crate) fn blob_bits(blob: &[u8]) -> ItemBits {
    ItemBits(blob[AT_BITS])
}

/// Sets the bits in a blob's header.
pub(crate) fn set_blob_bits(blob: &mut [u8], bits: ItemBits) {
    blob[AT_BITS] = bits.0;
}

/// Records the item's class and sub-LRU in a blob's header.
pub(crate) fn set_blob_place(blob: &mut [u8], class: u8, segment: super::store::Segment) {
    blob[AT_CLASS] = (class & CLASS_MASK) | (segment.bits() << CLASS_BITS);
}

/// A read-only view of a stored item, valid until the store is next changed.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    meta: Meta,
    /// Key followed by value.
    data: &'a [u8],
}

impl<'a> Item<'a> {
    /// The item whose blob starts `blob`.
    #[inline]
    pub(crate) fn new(blob: &'a [u8]) -> Self {
        Item::with_meta(Meta::read(blob), blob)
    }

    /// The item whose blob starts `blob`, whose header holds `meta`
    /// (already decoded).
    #[inline]
    pub(crate) fn with_meta(meta: Meta, blob: &'a [u8]) -> Self {
        let at = meta.header_len();
        Item {
            meta,
            data: &blob[at..at + usize::from(meta.key_len) + meta.value_len as usize],
        }
    }

    /// The decoded header.
    pub(crate) fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The key.
    pub fn key(&self) -> &'a [u8] {
        &self.data[..usize::from(self.meta.key_len)]
    }

    /// The value.
    pub fn value(&self) -> &'a [u8] {
        &self.data[usize::from(self.meta.key_len)..]
    }

    /// Client flags.
    pub fn flags(&self) -> u32 {
        self.meta.flags
    }

    /// CAS unique.
    pub fn cas(&self) -> u64 {
        self.meta.cas
    }

    /// Absolute unix second at which the item disappears, `None` if never.
    pub fn expires_at(&self) -> Option<u32> {
        (self.meta.expires != NEVER).then_some(self.meta.expires)
    }

    /// Seconds left to live at `now`, `None` if the item never expires (meta's
    /// `t` flag prints `-1` then).
    pub fn ttl(&self, now: u32) -> Option<u32> {
        self.expires_at().map(|e| e.saturating_sub(now))
    }

    /// Unix second of the last store or access. An access that returns this view
    /// has already set it to its `now`; use `Store::peek` first to see the
    /// previous one (meta's `l` flag).
    pub fn last_access(&self) -> u32 {
        self.meta.atime
    }

    /// The item's bits (fetched, stale, token sent, binary key).
    pub fn bits(&self) -> ItemBits {
        self.meta.bits.intersection(ItemBits::PUBLIC)
    }

    /// Whether the item had been read before.
    pub fn fetched(&self) -> bool {
        self.meta.bits.contains(ItemBits::FETCHED)
    }

    /// Whether the item is marked stale.
    pub fn stale(&self) -> bool {
        self.meta.bits.contains(ItemBits::STALE)
    }

    /// Whether a recache token was already sent for it.
    pub fn token_sent(&self) -> bool {
        self.meta.bits.contains(ItemBits::TOKEN_SENT)
    }

    /// Whether the key was stored from a base64-encoded meta key.
    pub fn key_binary(&self) -> bool {
        self.meta.bits.contains(ItemBits::KEY_BINARY)
    }

    /// memcached's size of the item: header, key, flags, value and CAS
    /// (meta's `me` prints it as `size=`).
    pub fn size(&self) -> usize {
        self.meta.size()
    }

    /// The item's size class (meta's `me` prints it as `cls=`).
    pub fn class(&self) -> u8 {
        self.meta.class()
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
        assert_eq!(b.union(ItemBits::HELD).intersection(ItemBits::PUBLIC), b);
    }

    #[test]
    fn overhead_is_what_the_table_says() {
        assert_eq!(ITEM_OVERHEAD, 40);
        assert_eq!(item_size(10, 100), 150);
    }

    #[test]
    fn blob_headers_round_trip_in_every_shape() {
        let cases = [
            (0, NEVER, 0, 0),
            (7, NEVER, 0, 0),
            (u64::from(u32::MAX) + 1, NEVER, 0, 0),
            (5, NOW, 0, 0),
            (5, NEVER, 0xdead_beef, 0),
            (5, NEVER, 0, 31),
            (u64::MAX, u32::MAX, u32::MAX, 255),
        ];
        for (cas, expires, flags, tail) in cases {
            let mut m = Meta::new(3, 5, flags, expires, cas, NOW, 9, tail);
            m.bits = ItemBits::FETCHED.union(ItemBits::HELD);
            assert!(m.fits());
            let mut blob = vec![0xaa; m.blob_len() + 7];
            m.write(&mut blob);
            let at = m.header_len();
            blob[at..at + 3].copy_from_slice(b"key");
            assert_eq!(Meta::read(&blob), m);
            assert_eq!(blob_key(&blob), b"key");
            let item = Item::new(&blob);
            assert_eq!(
                (item.key(), item.value().len(), item.cas()),
                (&b"key"[..], 5, cas)
            );
            assert_eq!((item.flags(), item.class(), item.last_access()), (flags, 9, NOW));
            assert!(item.fetched() && !item.bits().contains(ItemBits::HELD));
        }
        // The smallest header, and the largest.
        assert_eq!(Meta::new(1, 1, 0, 0, 1, 0, 1, 0).header_len(), HEADER_BYTES);
        let full = Meta::new(1, 1, 1, 1, u64::MAX, 0, 1, 1);
        assert_eq!(full.header_len(), MAX_HEADER_BYTES);
    }

    #[test]
    fn a_field_without_room_needs_a_new_shape() {
        let m = Meta::new(1, 1, 0, NEVER, 10, NOW, 1, 0);
        let touched = Meta {
            expires: NOW + 5,
            ..m
        };
        assert!(!touched.fits());
        let grown = touched.reshaped();
        assert!(grown.fits() && grown.header_len() == m.header_len() + 4);
        // Back to "never": the field stays, holding 0.
        let back = Meta {
            expires: NEVER,
            ..grown
        };
        assert!(back.fits() && back.reshaped() == back);
        let big_cas = Meta { cas: 1 << 40, ..m };
        assert!(!big_cas.fits());
        assert_eq!(big_cas.reshaped().header_len(), m.header_len() + 4);
    }
}
