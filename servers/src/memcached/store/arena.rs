//! The arena: where the bytes of the store's items physically live.
//!
//! The store names an item's bytes (its blob: header, key, value; see
//! [`item`](super::super::item)) by a [`Loc`], a `u32`. Small blobs share
//! 64 KiB pages; a blob larger than [`IN_PAGE_MAX`] gets a heap allocation of
//! its own. The arena knows nothing about items: it hands out chunks of at
//! least the length asked for and takes them back, given the same length.
//!
//! This is only where bytes live. What an item *costs* against `-m`, and
//! which items are evicted, is memcached's slab accounting
//! ([`classes`](super::super::classes)), kept exactly as before.
//!
//! # Bins
//!
//! A request is rounded up to its bin's chunk size: steps of 8 bytes up to
//! 512 (64 bins), then 16 steps per doubling up to [`IN_PAGE_MAX`] (544,
//! 576, ... 1024, 1088, ... 16,384: 80 bins), so at most 7 bytes or 1/16 of
//! a chunk is rounding. Each bin has a free list threaded through its free
//! chunks (a free chunk's first 4 bytes hold the next one's `Loc`). A request
//! takes the head of its bin's free list, else the next bytes of the
//! current page (one bump page for all bins); when the current page cannot
//! hold the chunk, what is left of it is cut into free chunks of the largest
//! bins that fit, and a new zero-filled page is started (`vec![0; N]`: pages
//! the kernel has not handed out yet cost no RSS).
//!
//! # Locations
//!
//! | bits of a `Loc` | meaning |
//! |---|---|
//! | 31 | 0: in a page; 1: a large blob |
//! | 30..13 (in a page) | page number: at most 2^18 pages of 64 KiB, 16 GiB |
//! | 12..0 (in a page) | offset in the page, in 8-byte units |
//! | 30..0 (large) | index of the blob's own allocation (`u32::MAX` excluded) |
//!
//! Once the pages' 16 GiB are used up, every new chunk is a large one, so
//! an allocation fails only after about 2^31 large blobs.
//!
//! # Implementation notes
//!
//! - Chunks never move and free chunks never merge: memory freed in one bin
//!   serves only that bin, as in memcached's slab classes, and pages are
//!   never given back to the system (a store that shifts from small to large
//!   items keeps the small items' pages as free chunks).
//! - All of `alloc` and `free` are O(1), except that starting a page cuts
//!   the old page's remainder into at most a few chunks.

/// Bytes of a page.
pub(crate) const PAGE_BYTES: usize = 64 * 1024;

/// Chunk sizes and offsets are multiples of this.
pub(crate) const GRAIN: usize = 8;

/// Largest chunk kept in a page; larger blobs get their own allocation.
pub(crate) const IN_PAGE_MAX: usize = 16 * 1024;

/// Bins of 8-byte steps go up to this size.
const FINE_MAX: usize = 512;

/// Bins between one power of two and the next above [`FINE_MAX`].
const STEPS_PER_DOUBLING: usize = 16;

/// Bins of 8-byte steps.
const FINE_BINS: usize = FINE_MAX / GRAIN;

/// Doublings from [`FINE_MAX`] to [`IN_PAGE_MAX`].
const DOUBLINGS: usize = (IN_PAGE_MAX / FINE_MAX).trailing_zeros() as usize;

/// Number of bins.
const BINS: usize = FINE_BINS + DOUBLINGS * STEPS_PER_DOUBLING;

/// Bits of a `Loc` that give the offset in a page (in [`GRAIN`] units).
const OFFSET_BITS: u32 = (PAGE_BYTES / GRAIN).trailing_zeros();

/// The bit of a `Loc` that marks a large blob.
const LARGE: u32 = 1 << 31;

/// Most pages a `Loc` can address.
pub(crate) const MAX_PAGES: usize = (LARGE >> OFFSET_BITS) as usize;

/// Most large blobs a `Loc` can address (`u32::MAX` is `Loc::NONE`).
const MAX_LARGE: usize = (!LARGE) as usize;

/// Bytes of a free chunk's link to the next free chunk of its bin.
const LINK_BYTES: usize = 4;

const _: () = assert!(PAGE_BYTES / GRAIN == 1 << OFFSET_BITS);
const _: () = assert!(IN_PAGE_MAX <= PAGE_BYTES && IN_PAGE_MAX == FINE_MAX << DOUBLINGS);
const _: () = assert!(BINS == 144 && GRAIN >= LINK_BYTES);

/// Where a chunk of the arena is: see the table in the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Loc(u32);

impl Loc {
    /// No chunk (a free slot's location).
    pub(crate) const NONE: Loc = Loc(u32::MAX);

    fn in_page(page: usize, offset: usize) -> Loc {
        debug_assert!(page < MAX_PAGES && offset % GRAIN == 0 && offset < PAGE_BYTES);
        Loc(((page as u32) << OFFSET_BITS) | (offset / GRAIN) as u32)
    }

    fn large(index: usize) -> Loc {
        Loc(LARGE | index as u32)
    }

    /// `(page, offset)` for a chunk in a page, `Err(index)` for a large blob.
    #[inline]
    fn split(self) -> Result<(usize, usize), usize> {
        if self.0 & LARGE != 0 {
            Err((self.0 & !LARGE) as usize)
        } else {
            let offset = (self.0 & ((1 << OFFSET_BITS) - 1)) as usize * GRAIN;
            Ok(((self.0 >> OFFSET_BITS) as usize, offset))
        }
    }
}

/// The bin of a chunk of `len` bytes (1..=[`IN_PAGE_MAX`]).
fn bin_of(len: usize) -> usize {
    if len <= FINE_MAX {
        len.max(1).div_ceil(GRAIN) - 1
    } else {
        // len in (2^k, 2^(k+1)]: 16 steps of 2^k / 16.
        let k = (usize::BITS - 1 - (len - 1).leading_zeros()) as usize;
        let step = (1 << k) / STEPS_PER_DOUBLING;
        let j = (len - (1 << k)).div_ceil(step);
        FINE_BINS + (k - FINE_MAX.trailing_zeros() as usize) * STEPS_PER_DOUBLING + j - 1
    }
}

/// The chunk size of `bin`.
fn bin_size(bin: usize) -> usize {
    if bin < FINE_BINS {
        (bin + 1) * GRAIN
    } else {
        let k = (bin - FINE_BINS) / STEPS_PER_DOUBLING + FINE_MAX.trailing_zeros() as usize;
        let j = (bin - FINE_BINS) % STEPS_PER_DOUBLING + 1;
        (1 << k) + j * ((1 << k) / STEPS_PER_DOUBLING)
    }
}

/// The largest bin whose chunks fit in `len` bytes (`len` >= [`GRAIN`]).
fn bin_within(len: usize) -> usize {
    let len = len.min(IN_PAGE_MAX);
    let bin = bin_of(len);
    if bin_size(bin) > len {
        bin - 1
    } else {
        bin
    }
}

/// The bytes a request of `len` takes (its chunk size; a large blob's own
/// length).
#[cfg(test)]
pub(crate) fn chunk_len(len: usize) -> usize {
    if len > IN_PAGE_MAX {
        len
    } else {
        bin_size(bin_of(len))
    }
}

/// Item bytes in pages and large allocations. See the module documentation.
#[derive(Debug)]
pub(crate) struct Arena {
    pages: Vec<Box<[u8]>>,
    /// Head of each bin's free list.
    free: [Loc; BINS],
    /// The page chunks are cut from (`pages.len()` when there is none yet).
    bump_page: usize,
    /// Where the next chunk of the bump page starts.
    bump_offset: usize,
    large: Vec<Option<Box<[u8]>>>,
    /// Indices of `large` that hold nothing.
    large_free: Vec<u32>,
    /// Bytes of the large allocations.
    large_bytes: usize,
}

impl Default for Arena {
    fn default() -> Self {
        Arena::new()
    }
}

impl Arena {
    /// An arena with no page yet.
    pub(crate) fn new() -> Self {
        Arena {
            pages: Vec::new(),
            free: [Loc::NONE; BINS],
            bump_page: 0,
            bump_offset: PAGE_BYTES,
            large: Vec::new(),
            large_free: Vec::new(),
            large_bytes: 0,
        }
    }

    /// A chunk of at least `len` bytes (see [`chunk_len`]); its content is
    /// whatever it held before. `None` only when no `Loc` is left.
    pub(crate) fn alloc(&mut self, len: usize) -> Option<Loc> {
        if len > IN_PAGE_MAX {
            return self.alloc_large(len);
        }
        let bin = bin_of(len);
        if let Some(loc) = self.pop(bin) {
            return Some(loc);
        }
        let size = bin_size(bin);
        if self.bump_offset + size > PAGE_BYTES {
            if self.pages.len() >= MAX_PAGES {
                return self.alloc_large(len);
            }
            self.retire_bump_page();
            self.pages.push(vec![0; PAGE_BYTES].into_boxed_slice());
            self.bump_page = self.pages.len() - 1;
            self.bump_offset = 0;
        }
        let loc = Loc::in_page(self.bump_page, self.bump_offset);
        self.bump_offset += size;
        Some(loc)
    }

    /// Gives back the chunk at `loc`, which was allocated for `len` bytes.
    pub(crate) fn free(&mut self, loc: Loc, len: usize) {
        match loc.split() {
            Ok(_) => self.push(bin_of(len), loc),
            Err(index) => {
                if let Some(blob) = self.large.get_mut(index).and_then(Option::take) {
                    self.large_bytes -= blob.len();
                    self.large_free.push(index as u32);
                }
            }
        }
    }

    /// The bytes from the start of the chunk at `loc` to the end of its
    /// page (the whole allocation for a large blob): the caller knows how
    /// long its blob is.
    #[inline]
    pub(crate) fn bytes(&self, loc: Loc) -> &[u8] {
        match loc.split() {
            Ok((page, offset)) => &self.pages[page][offset..],
            Err(index) => self.large[index].as_deref().unwrap_or_default(),
        }
    }

    /// [`bytes`](Arena::bytes), writable.
    #[inline]
    pub(crate) fn bytes_mut(&mut self, loc: Loc) -> &mut [u8] {
        match loc.split() {
            Ok((page, offset)) => &mut self.pages[page][offset..],
            Err(index) => self.large[index].as_deref_mut().unwrap_or_default(),
        }
    }

    /// Pages allocated.
    #[cfg(test)]
    pub(crate) fn pages(&self) -> usize {
        self.pages.len()
    }

    /// Heap bytes the arena holds for items: its pages and large blobs.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.pages.len() * PAGE_BYTES + self.large_bytes
    }

    fn alloc_large(&mut self, len: usize) -> Option<Loc> {
        let blob = vec![0; len].into_boxed_slice();
        self.large_bytes += len;
        if let Some(index) = self.large_free.pop() {
            self.large[index as usize] = Some(blob);
            return Some(Loc::large(index as usize));
        }
        if self.large.len() >= MAX_LARGE {
            self.large_bytes -= len;
            return None;
        }
        self.large.push(Some(blob));
        Some(Loc::large(self.large.len() - 1))
    }

    /// Cuts what is left of the bump page into free chunks.
    fn retire_bump_page(&mut self) {
        while self.bump_page < self.pages.len() && PAGE_BYTES - self.bump_offset >= GRAIN {
            let bin = bin_within(PAGE_BYTES - self.bump_offset);
            let loc = Loc::in_page(self.bump_page, self.bump_offset);
            self.push(bin, loc);
            self.bump_offset += bin_size(bin);
        }
    }

    fn pop(&mut self, bin: usize) -> Option<Loc> {
        let head = self.free[bin];
        if head == Loc::NONE {
            return None;
        }
        let link = &self.bytes(head)[..LINK_BYTES];
        self.free[bin] = Loc(u32::from_le_bytes([link[0], link[1], link[2], link[3]]));
        Some(head)
    }

    fn push(&mut self, bin: usize, loc: Loc) {
        let next = self.free[bin];
        self.bytes_mut(loc)[..LINK_BYTES].copy_from_slice(&next.0.to_le_bytes());
        self.free[bin] = loc;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// SplitMix64: a small generator with a fixed seed, for repeatable runs.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn bins_round_up_a_little() {
        assert_eq!((bin_of(1), bin_size(0)), (0, 8));
        assert_eq!(chunk_len(8), 8);
        assert_eq!(chunk_len(9), 16);
        assert_eq!(chunk_len(512), 512);
        assert_eq!(chunk_len(513), 544);
        assert_eq!(chunk_len(1024), 1024);
        assert_eq!(chunk_len(1025), 1088);
        assert_eq!(chunk_len(IN_PAGE_MAX), IN_PAGE_MAX);
        assert_eq!(chunk_len(IN_PAGE_MAX + 1), IN_PAGE_MAX + 1);
        assert_eq!(bin_of(IN_PAGE_MAX), BINS - 1);
        let mut last = 0;
        for len in 1..=IN_PAGE_MAX {
            let bin = bin_of(len);
            let size = bin_size(bin);
            assert!(size >= len && size % GRAIN == 0, "{len}");
            assert!(size - len < GRAIN.max(size / STEPS_PER_DOUBLING), "{len}");
            assert!(bin >= last && bin <= last + 1);
            last = bin;
            if len >= GRAIN {
                assert!(bin_size(bin_within(len)) <= len);
                assert!(bin_within(len) + 1 == BINS || bin_size(bin_within(len) + 1) > len);
            }
        }
    }

    #[test]
    fn locations_round_trip() {
        let loc = Loc::in_page(MAX_PAGES - 1, PAGE_BYTES - GRAIN);
        assert_eq!(loc.split(), Ok((MAX_PAGES - 1, PAGE_BYTES - GRAIN)));
        assert_ne!(loc, Loc::NONE);
        assert_eq!(Loc::large(12).split(), Err(12));
        assert_eq!(Loc::in_page(0, 0).split(), Ok((0, 0)));
    }

    #[test]
    fn freed_chunks_are_reused_by_their_bin() {
        let mut a = Arena::new();
        let x = a.alloc(100).unwrap();
        let y = a.alloc(100).unwrap();
        assert_ne!(x, y);
        assert_eq!(a.pages(), 1);
        a.free(x, 100);
        // Same bin (97..=104): the freed chunk comes back.
        assert_eq!(a.alloc(97), Some(x));
        // Another bin: new bytes.
        a.free(y, 100);
        assert_ne!(a.alloc(200), Some(y));
        let big = a.alloc(100_000).unwrap();
        assert_eq!(a.bytes(big).len(), 100_000);
        assert_eq!(a.heap_bytes(), PAGE_BYTES + 100_000);
        a.free(big, 100_000);
        assert_eq!(a.heap_bytes(), PAGE_BYTES);
        assert_eq!(a.alloc(20_000), Some(big));
    }

    #[test]
    fn a_full_page_leaves_its_rest_as_free_chunks() {
        let mut a = Arena::new();
        // 3 chunks of 16 KiB fill 48 KiB; the 4th fits exactly; the 5th starts page 2.
        let locs: Vec<Loc> = (0..5).map(|_| a.alloc(IN_PAGE_MAX).unwrap()).collect();
        assert_eq!(a.pages(), 2);
        assert_eq!(locs[4].split(), Ok((1, 0)));
        // 10,000-byte chunks (10,240): six fit in a page, the 4 KiB left over
        // becomes a 4,096-byte free chunk used by the next request of its bin.
        let mut a = Arena::new();
        for _ in 0..7 {
            a.alloc(10_000).unwrap();
        }
        assert_eq!(a.pages(), 2);
        assert_eq!(a.alloc(4_096).unwrap().split(), Ok((0, 6 * 10_240)));
    }

    /// Random allocations, writes and frees against a model of what each
    /// live chunk must hold: no chunk overlaps another, whatever the order.
    #[test]
    fn random_use_never_overlaps() {
        let mut rng = Rng(0x5eed);
        let mut a = Arena::new();
        let mut live: HashMap<Loc, (usize, u8)> = HashMap::new();
        let mut order: Vec<Loc> = Vec::new();
        for step in 0..40_000u32 {
            if order.is_empty() || rng.below(3) != 0 {
                let len = match rng.below(10) {
                    0 => 1 + rng.below(40_000),
                    1..=3 => 1 + rng.below(IN_PAGE_MAX),
                    _ => 1 + rng.below(300),
                };
                let loc = a.alloc(len).unwrap();
                let fill = step as u8;
                a.bytes_mut(loc)[..len].fill(fill);
                assert!(live.insert(loc, (len, fill)).is_none());
                order.push(loc);
            } else {
                let loc = order.swap_remove(rng.below(order.len()));
                let (len, fill) = live.remove(&loc).unwrap();
                assert!(a.bytes(loc)[..len].iter().all(|&b| b == fill));
                a.free(loc, len);
            }
        }
        for (loc, (len, fill)) in &live {
            assert!(a.bytes(*loc)[..*len].iter().all(|b| b == fill), "{loc:?}");
        }
    }
}
