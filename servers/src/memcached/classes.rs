//! memcached's size classes and its page accounting: which class an item of a
//! given size lands in, how many chunks of which classes it occupies, and how
//! many 1 MiB pages each class holds under the `-m` limit.
//!
//! Torsion keeps items in its own arena (fine size bins in 64 KiB pages: see
//! the store's `arena` module), so this module does not hand out memory: it
//! *accounts* for memory exactly as memcached's slab
//! allocator would (`slabs_init`, `slabs_clsid`, `do_slabs_newslab`), so that
//! `-m` evicts under the same traffic as memcached, an item of a given size
//! lands in the same class number, and `stats slabs` / `stats items` report
//! the same figures.
//!
//! # The class table
//!
//! Class 1's chunk is `ITEM_HEADER + chunk_size` (`-n`, default 48) bytes,
//! each next class `growth_factor` (`-f`, default 1.25) times the previous one,
//! truncated to an integer and rounded up to 8, until a class would reach
//! `slab_chunk_max / growth_factor`; the last class is `slab_chunk_max`
//! (`-o slab_chunk_max`, default 512 KiB). With the defaults that is 39
//! classes: 96, 120, 152, ... 394,840, 524,288 bytes.
//!
//! # Chunked items
//!
//! An item whose total size exceeds `slab_chunk_max` is stored as a header
//! chunk (in a small class) plus data chunks: full chunks of the largest class,
//! and a last chunk in the class that fits what is left. It sits in the
//! largest class's LRU.
//!
//! # Pages
//!
//! A class that needs a chunk and has no free one takes a new page
//! ([`PAGE_SIZE`]) and splits it into chunks; that fails once the pages
//! taken would exceed `-m`, except that a class with no page yet always gets
//! its first one (memcached's rule, so every class can store something).

use std::fmt;

/// Bytes of memcached's item header (`sizeof(item)` on 64-bit).
pub const ITEM_HEADER: usize = 48;
/// Bytes of memcached's chunk header (`sizeof(item_chunk)` on 64-bit).
pub const CHUNK_HEADER: usize = 48;
/// Bytes of the CAS unique stored in every item (memcached with CAS on).
pub const CAS_BYTES: usize = 8;
/// Bytes of non-zero client flags (memcached stores no flags when they are 0).
pub const FLAGS_BYTES: usize = 4;
/// Chunk sizes are multiples of this (`CHUNK_ALIGN_BYTES`).
pub const CHUNK_ALIGN: usize = 8;
/// Bytes of a slab page (`slab_page_size`).
pub const PAGE_SIZE: usize = 1024 * 1024;
/// Highest class id (`MAX_NUMBER_OF_SLAB_CLASSES - 1`).
pub const MAX_CLASS: usize = 63;
/// The smallest class id (`POWER_SMALLEST`).
pub const SMALLEST_CLASS: u8 = 1;
/// The smallest `slab_chunk_max` the table accepts (a chunk must hold its
/// header and some data); smaller values are raised to it.
pub const MIN_CHUNK_MAX: usize = 2 * CHUNK_HEADER;

/// memcached's total size of an item: header, key and its terminating NUL,
/// flags if non-zero, the value with its `\r\n`, and the CAS unique.
pub fn item_total(key_len: usize, flags: u32, value_len: usize) -> usize {
    let flags_bytes = if flags == 0 { 0 } else { FLAGS_BYTES };
    ITEM_HEADER + key_len + 1 + flags_bytes + value_len + 2 + CAS_BYTES
}

/// The chunk-size progression, as `slabs_init` computes it.
#[derive(Clone, PartialEq)]
pub struct ClassTable {
    /// Chunk size of class `i` at index `i` (index 0 unused).
    sizes: Vec<u32>,
    /// Chunks per page of class `i`.
    per_page: Vec<u32>,
    largest: u8,
    item_size_max: usize,
    chunk_max: usize,
}

impl fmt::Debug for ClassTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClassTable")
            .field("classes", &self.largest)
            .field("chunk_max", &self.chunk_max)
            .finish_non_exhaustive()
    }
}

impl ClassTable {
    /// The table for `-n chunk_size -f growth_factor -o slab_chunk_max=chunk_max`
    /// and `-I item_size_max`. Out-of-range inputs are clamped so that the table
    /// always has at least one class and at most [`MAX_CLASS`].
    pub fn new(chunk_size: usize, growth_factor: f64, chunk_max: usize, item_size_max: usize) -> Self {
        let chunk_max = chunk_max.clamp(MIN_CHUNK_MAX, PAGE_SIZE);
        let factor = if growth_factor.is_finite() && growth_factor > 1.0 {
            growth_factor
        } else {
            1.25
        };
        let mut sizes = vec![0u32];
        let mut size = (ITEM_HEADER + chunk_size.min(PAGE_SIZE)) as u32;
        while sizes.len() < MAX_CLASS && f64::from(size) < chunk_max as f64 / factor {
            if size as usize % CHUNK_ALIGN != 0 {
                size += (CHUNK_ALIGN - size as usize % CHUNK_ALIGN) as u32;
            }
            sizes.push(size);
            // memcached multiplies an unsigned int by a double: truncation.
            size = (f64::from(size) * factor) as u32;
        }
        sizes.push(chunk_max as u32);
        let per_page = sizes
            .iter()
            .map(|&s| {
                if s == 0 {
                    0
                } else {
                    (PAGE_SIZE / s as usize) as u32
                }
            })
            .collect();
        let largest = (sizes.len() - 1) as u8;
        ClassTable {
            sizes,
            per_page,
            largest,
            item_size_max,
            chunk_max,
        }
    }

    /// The largest class id (`power_largest`).
    pub fn largest(&self) -> u8 {
        self.largest
    }

    /// The largest chunk (`slab_chunk_max`).
    pub fn chunk_max(&self) -> usize {
        self.chunk_max
    }

    /// The class whose chunks hold `size` bytes (`slabs_clsid`): the smallest
    /// that fits, the largest class for anything between `slab_chunk_max` and
    /// the item size limit (those are chunked), `None` above the limit.
    pub fn class_for(&self, size: usize) -> Option<u8> {
        if size == 0 || size > self.item_size_max {
            return None;
        }
        let sizes = &self.sizes[1..];
        let i = sizes.partition_point(|&s| (s as usize) < size);
        Some(if i >= sizes.len() {
            self.largest
        } else {
            (i + 1) as u8
        })
    }

    /// Chunk size of a class.
    pub fn chunk_size(&self, class: u8) -> usize {
        self.sizes.get(usize::from(class)).copied().unwrap_or(0) as usize
    }

    /// Chunks per page of a class.
    pub fn per_page(&self, class: u8) -> u32 {
        self.per_page.get(usize::from(class)).copied().unwrap_or(0)
    }

    /// How an item of this key length, flags and value length is laid out in
    /// chunks, or `None` if it is larger than the item size limit.
    pub fn layout(&self, key_len: usize, flags: u32, value_len: usize) -> Option<Layout> {
        let total = item_total(key_len, flags, value_len);
        let class = self.class_for(total)?;
        if total <= self.chunk_max {
            return Some(Layout {
                class,
                header: class,
                full: 0,
                tail: 0,
            });
        }
        let flags_bytes = if flags == 0 { 0 } else { FLAGS_BYTES };
        let header_total = key_len + 1 + flags_bytes + ITEM_HEADER + CHUNK_HEADER + CAS_BYTES;
        let header = self.class_for(header_total)?;
        let per_chunk = self.chunk_max - CHUNK_HEADER;
        let data = value_len + 2;
        let full = data / per_chunk;
        let rest = data % per_chunk;
        let tail = if rest == 0 {
            0
        } else {
            self.class_for(rest + CHUNK_HEADER)?
        };
        Some(Layout {
            class,
            header,
            full: full as u32,
            tail,
        })
    }
}

/// The chunks one item occupies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The class whose LRU holds the item (and its chunk, unless chunked).
    pub class: u8,
    /// The class of the item's first chunk: `class`, or a small class holding
    /// a chunked item's header.
    pub header: u8,
    /// Full data chunks of the largest class (chunked items only).
    pub full: u32,
    /// Class of the last, partly used data chunk (0: none).
    pub tail: u8,
}

impl Layout {
    /// Whether the item is split into chunks.
    pub fn chunked(&self) -> bool {
        self.full > 0 || self.tail != 0
    }
}

/// One class's pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassPages {
    /// Pages taken (`total_pages`).
    pub pages: u32,
    /// Chunks not holding anything (`free_chunks`).
    pub free: u64,
}

/// memcached's page accounting for every class, under a memory limit.
#[derive(Debug, Clone)]
pub struct Slabs {
    table: ClassTable,
    classes: Vec<ClassPages>,
    malloced: u64,
    limit: u64,
    /// A page of a class is `chunk_size * per_page` bytes instead of a full
    /// page (memcached without slab reassignment and unchunked items).
    exact_pages: bool,
}

impl Slabs {
    /// Accounting for `table` under `limit` bytes, `initial` already counted
    /// as allocated (memcached's `T_MEMD_INITIAL_MALLOC` test hook).
    pub fn new(table: ClassTable, limit: usize, initial: u64, slab_reassign: bool) -> Self {
        let exact_pages = !slab_reassign && table.chunk_max() == PAGE_SIZE;
        let classes = vec![ClassPages::default(); usize::from(table.largest()) + 1];
        Slabs {
            table,
            classes,
            malloced: initial,
            limit: limit as u64,
            exact_pages,
        }
    }

    /// The class table.
    pub fn table(&self) -> &ClassTable {
        &self.table
    }

    /// Bytes of pages taken (`total_malloced`).
    pub fn malloced(&self) -> u64 {
        self.malloced
    }

    /// Changes the limit (`cache_memlimit`); pages already taken stay.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit as u64;
    }

    /// A class's pages.
    pub fn class(&self, class: u8) -> ClassPages {
        self.classes.get(usize::from(class)).copied().unwrap_or_default()
    }

    /// Classes holding at least one page (`active_slabs`; the global page
    /// pool, class 0, is not one).
    pub fn active(&self) -> usize {
        self.classes.iter().skip(1).filter(|c| c.pages > 0).count()
    }

    /// Moves one page from `src` to `dst` (0: the global page pool, from
    /// which any class takes its next page before allocating a new one).
    /// The page must be free: `src` needs a page's worth of free chunks.
    /// Returns whether it moved.
    pub fn move_page(&mut self, src: u8, dst: u8) -> bool {
        let (s, d) = (usize::from(src), usize::from(dst));
        if s >= self.classes.len() || d >= self.classes.len() || s == d {
            return false;
        }
        let src_per_page = u64::from(self.table.per_page(src));
        let c = self.classes[s];
        if c.pages == 0 || (s != 0 && c.free < src_per_page) {
            return false;
        }
        self.classes[s].pages -= 1;
        self.classes[s].free -= src_per_page;
        self.classes[d].pages += 1;
        self.classes[d].free += u64::from(self.table.per_page(dst));
        true
    }

    /// Takes one chunk of `class`, taking a new page if the class has no free
    /// chunk and the limit allows. Returns whether a chunk was taken.
    pub fn alloc(&mut self, class: u8) -> bool {
        let Some(c) = self.classes.get(usize::from(class)).copied() else {
            return false;
        };
        if c.free == 0 && !self.new_page(class) {
            return false;
        }
        self.classes[usize::from(class)].free -= 1;
        true
    }

    /// Returns one chunk of `class`.
    pub fn free(&mut self, class: u8) {
        self.free_n(class, 1);
    }

    /// Returns `n` chunks of `class`.
    pub fn free_n(&mut self, class: u8, n: u32) {
        if let Some(c) = self.classes.get_mut(usize::from(class)) {
            c.free += u64::from(n);
        }
    }

    /// Gives pages of the global pool back (memcached's `memory_release`)
    /// while more than the limit is taken. Returns how many.
    pub fn release(&mut self) -> usize {
        let mut released = 0;
        while self.malloced > self.limit && self.classes[0].pages > 0 {
            self.classes[0].pages -= 1;
            self.malloced = self.malloced.saturating_sub(PAGE_SIZE as u64);
            released += 1;
        }
        released
    }

    fn new_page(&mut self, class: u8) -> bool {
        let per_page = self.table.per_page(class);
        let len = if self.exact_pages {
            (self.table.chunk_size(class) * per_page as usize) as u64
        } else {
            PAGE_SIZE as u64
        };
        let pool = self.classes[0].pages;
        let c = &mut self.classes[usize::from(class)];
        if self.limit != 0 && self.malloced + len > self.limit && c.pages > 0 && pool == 0 {
            return false;
        }
        c.pages += 1;
        c.free += u64::from(per_page);
        if pool > 0 {
            self.classes[0].pages -= 1;
        } else {
            self.malloced += len;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: usize = 1024 * 1024;

    fn default_table() -> ClassTable {
        ClassTable::new(48, 1.25, MB / 2, MB)
    }

    #[test]
    fn default_classes_match_memcached() {
        // From `memcached -vv` (1.6.18, 64-bit): class, chunk size, per page.
        let t = default_table();
        for (class, size, per) in [
            (1, 96, 10922),
            (2, 120, 8738),
            (3, 152, 6898),
            (10, 752, 1394),
            (30, 66232, 15),
            (31, 82792, 12),
            (38, 394840, 2),
            (39, 524288, 2),
        ] {
            assert_eq!(
                (t.chunk_size(class), t.per_page(class)),
                (size, per),
                "class {class}"
            );
        }
        assert_eq!(t.largest(), 39);
        // no_modern: slab_chunk_max is a whole page.
        let t = ClassTable::new(48, 1.25, MB, MB);
        assert_eq!(t.largest(), 42);
        assert_eq!(
            (t.chunk_size(40), t.chunk_size(41), t.chunk_size(42)),
            (616944, 771184, MB)
        );
    }

    #[test]
    fn other_factors_match_memcached() {
        // `memcached -vv -n 100 -f 2`.
        let t = ClassTable::new(100, 2.0, MB / 2, MB);
        let sizes: Vec<usize> = (1..=t.largest()).map(|c| t.chunk_size(c)).collect();
        assert_eq!(
            sizes,
            [152, 304, 608, 1216, 2432, 4864, 9728, 19456, 38912, 77824, 155648, 524288]
        );
        assert_eq!(t.per_page(11), 6);
    }

    #[test]
    fn items_land_in_memcached_classes() {
        let t = default_table();
        // issue_22.t: "keyN" with 66,560 bytes is in class 31.
        assert_eq!(t.class_for(item_total(4, 0, 66560)), Some(31));
        assert_eq!(t.class_for(item_total(1, 0, 1)), Some(1));
        assert_eq!(t.class_for(96), Some(1));
        assert_eq!(t.class_for(97), Some(2));
        // The largest storable value with a 1-byte key is 1,048,516 bytes.
        assert!(t.layout(1, 0, 1_048_516).is_some());
        assert!(t.layout(1, 0, 1_048_517).is_none());
        assert!(t.layout(1, 5, 1_048_513).is_none());
        assert_eq!(t.class_for(0), None);
    }

    #[test]
    fn odd_settings_make_a_usable_table() {
        for (n, f, max, item_max) in [
            (0, 1.25, 0, MB),
            (5 * MB, 1.25, MB / 2, MB),
            (48, 1.0, MB / 2, MB),
            (48, f64::NAN, MB / 2, MB),
            (48, 100.0, 1024, 1024),
            (48, 1.25, 8 * MB, 64 * MB),
        ] {
            let t = ClassTable::new(n, f, max, item_max);
            assert!(t.largest() >= 1 && usize::from(t.largest()) <= MAX_CLASS);
            for size in [1, 100, 1000, 100_000, item_max]
                .into_iter()
                .filter(|&s| s <= item_max)
            {
                let l = t.layout(10, 1, size.saturating_sub(80)).expect("fits");
                assert!(l.class >= 1 && l.class <= t.largest());
            }
            assert!(t.layout(10, 0, item_max).is_none());
        }
    }

    #[test]
    fn chunked_layout() {
        let t = default_table();
        // 1 MiB - 250 bytes, 6-byte key: a header, one full chunk, and a last
        // chunk that needs the largest class too.
        let l = t.layout(6, 0, MB - 250).unwrap();
        assert!(l.chunked());
        assert_eq!((l.class, l.header, l.full, l.tail), (39, 2, 1, 39));
        // 600,000 bytes: one full chunk, the rest (75,762 + header) in class 31.
        let l = t.layout(3, 0, 600_000).unwrap();
        assert_eq!((l.full, l.tail), (1, 31));
        let small = t.layout(3, 0, 10).unwrap();
        assert!(!small.chunked());
        assert_eq!((small.class, small.header), (1, 1));
    }

    #[test]
    fn pages_under_the_limit() {
        let t = default_table();
        let mut s = Slabs::new(t, 3 * MB, 0, true);
        // 3 pages of class 31 hold 36 items, and no more.
        for _ in 0..36 {
            assert!(s.alloc(31));
        }
        assert!(!s.alloc(31));
        assert_eq!(s.malloced(), 3 * MB as u64);
        // A class with no page gets its first one even over the limit.
        assert!(s.alloc(1));
        assert_eq!(s.malloced(), 4 * MB as u64);
        assert_eq!(s.active(), 2);
        s.free(31);
        assert!(s.alloc(31));
        assert_eq!(s.class(31), ClassPages { pages: 3, free: 0 });
        // A page moves only when free; through the pool it goes to any class.
        assert!(!s.move_page(31, 0));
        for _ in 0..12 {
            s.free(31);
        }
        assert!(s.move_page(31, 0));
        assert_eq!((s.class(31).pages, s.class(0).pages), (2, 1));
        assert!(s.alloc(2));
        assert_eq!((s.class(2).pages, s.class(0).pages), (1, 0));
        assert_eq!(s.malloced(), 4 * MB as u64);
        assert!(!s.move_page(2, 2));
        // Exact pages: no reassignment and a whole-page chunk_max.
        let mut e = Slabs::new(ClassTable::new(48, 1.25, MB, MB), 64 * MB, 0, false);
        assert!(e.alloc(31));
        assert_eq!(e.malloced(), 82792 * 12);
    }
}
