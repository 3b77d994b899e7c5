//! The per-class reports: `stats items`, `stats slabs`, `stats sizes` and
//! `stats cachedump CLASS LIMIT`, with memcached 1.6's keys, in its order.

use super::exec::StatSink;
use super::store::{Segment, Store};

/// Largest `stats cachedump` reply, `END` included (memcached's 2 MB buffer).
pub const CACHEDUMP_MAX_BYTES: usize = 2 * 1024 * 1024;

/// Class ids `stats cachedump` accepts are below this
/// (`MAX_NUMBER_OF_SLAB_CLASSES`).
pub const CACHEDUMP_CLASS_LIMIT: u32 = 64;

/// `stats items`: one block per class holding items. With the segmented
/// LRU, the items of each sub-LRU, its tail's age and the moves between
/// them (`number_temp` only with `temporary_ttl`), as memcached prints them.
pub fn write_items(store: &Store, now: u32, out: &mut dyn StatSink) {
    let segmented = store.config().lru_segmented;
    let temp_lru = store.config().lru.temporary_ttl.is_some();
    let (hot, warm, cold, temp) = (
        Segment::Hot.index(),
        Segment::Warm.index(),
        Segment::Cold.index(),
        Segment::Temp.index(),
    );
    for class in 1..=store.slabs().table().largest() {
        let c = store.class_stats(class);
        if c.number == 0 {
            continue;
        }
        let age = |segment| u64::from(store.segment_age(class, segment, now).unwrap_or(0));
        let mut row = |name: &str, value: u64| out.stat(&format!("items:{class}:{name}"), &value);
        row("number", c.number);
        if segmented {
            row("number_hot", c.lru_items[hot]);
            row("number_warm", c.lru_items[warm]);
            row("number_cold", c.lru_items[cold]);
            if temp_lru {
                row("number_temp", c.lru_items[temp]);
            }
            row("age_hot", age(Segment::Hot));
            row("age_warm", age(Segment::Warm));
        }
        row("age", age(Segment::Cold));
        row("mem_requested", c.mem_requested);
        row("evicted", c.evicted);
        row("evicted_nonzero", c.evicted_nonzero);
        row("evicted_time", c.evicted_time);
        row("outofmemory", c.outofmemory);
        row("tailrepairs", 0);
        row("reclaimed", c.reclaimed);
        row("expired_unfetched", c.expired_unfetched);
        row("evicted_unfetched", c.evicted_unfetched);
        if segmented {
            row("evicted_active", c.evicted_active);
        }
        row("crawler_reclaimed", c.crawler_reclaimed);
        row("crawler_items_checked", c.crawler_items_checked);
        row("lrutail_reflocked", 0);
        if segmented {
            row("moves_to_cold", c.moves_to_cold);
            row("moves_to_warm", c.moves_to_warm);
            row("moves_within_lru", c.moves_within_lru);
            row("direct_reclaims", c.direct_reclaims);
            row("hits_to_hot", c.lru_hits[hot]);
            row("hits_to_warm", c.lru_hits[warm]);
            row("hits_to_cold", c.lru_hits[cold]);
            row("hits_to_temp", c.lru_hits[temp]);
        }
    }
}

/// `stats slabs`: one block per class holding pages, then the totals.
pub fn write_slabs(store: &Store, out: &mut dyn StatSink) {
    let slabs = store.slabs();
    let table = slabs.table();
    for class in 1..=table.largest() {
        let pages = slabs.class(class);
        if pages.pages == 0 {
            continue;
        }
        let c = store.class_stats(class);
        let per_page = u64::from(table.per_page(class));
        let total = u64::from(pages.pages) * per_page;
        let rows: [(&str, u64); 15] = [
            ("chunk_size", table.chunk_size(class) as u64),
            ("chunks_per_page", per_page),
            ("total_pages", u64::from(pages.pages)),
            ("total_chunks", total),
            ("used_chunks", total.saturating_sub(pages.free)),
            ("free_chunks", pages.free),
            ("free_chunks_end", 0),
            ("get_hits", c.get_hits),
            ("cmd_set", c.cmd_set),
            ("delete_hits", c.delete_hits),
            ("incr_hits", c.incr_hits),
            ("decr_hits", c.decr_hits),
            ("cas_hits", c.cas_hits),
            ("cas_badval", c.cas_badval),
            ("touch_hits", c.touch_hits),
        ];
        for (name, value) in rows {
            out.stat(&format!("{class}:{name}"), &value);
        }
    }
    out.stat("active_slabs", &slabs.active());
    out.stat("total_malloced", &slabs.malloced());
}

/// `stats sizes`: `STAT <size> <count>` per 32-byte bucket when enabled
/// (`stats sizes_enable`), else `sizes_status disabled`.
pub fn write_sizes(store: &Store, out: &mut dyn StatSink) {
    match store.sizes() {
        Some(buckets) => {
            for (size, count) in buckets {
                out.stat(&size.to_string(), &count);
            }
        }
        None => out.stat("sizes_status", &"disabled"),
    }
}

/// `stats sizes_enable` / `stats sizes_disable`: switches the histogram and
/// answers `sizes_status enabled|disabled`.
pub fn switch_sizes(store: &mut Store, on: bool, out: &mut dyn StatSink) {
    store.set_sizes_enabled(on);
    out.stat("sizes_status", &if on { "enabled" } else { "disabled" });
}

/// `stats cachedump CLASS LIMIT`: `ITEM key [N b; T s]` lines, most recently
/// used first, then `END` (`T` is the absolute expiry, 0 for never). `args`
/// are the words after `cachedump`; bad ones get memcached's error line.
pub fn cachedump(store: &Store, args: &[&[u8]], out: &mut Vec<u8>) {
    let [class, limit, ..] = args else {
        out.extend_from_slice(b"CLIENT_ERROR bad command line\r\n");
        return;
    };
    let parse = |b: &[u8]| std::str::from_utf8(b).ok()?.parse::<u32>().ok();
    let (Some(class), Some(limit)) = (parse(class), parse(limit)) else {
        out.extend_from_slice(b"CLIENT_ERROR bad command line format\r\n");
        return;
    };
    if class >= CACHEDUMP_CLASS_LIMIT {
        out.extend_from_slice(b"CLIENT_ERROR Illegal slab id\r\n");
        return;
    }
    let start = out.len();
    for (key, len, expires) in store.class_items(class as u8, limit as usize) {
        let line = format!(" [{len} b; {expires} s]\r\n");
        if out.len() - start + 5 + line.len() + key.len() + 6 > CACHEDUMP_MAX_BYTES {
            break;
        }
        out.extend_from_slice(b"ITEM ");
        out.extend_from_slice(key);
        out.extend_from_slice(line.as_bytes());
    }
    out.extend_from_slice(b"END\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memcached::store::{StoreConfig, StoreMode};

    const NOW: u32 = 1_700_000_000;

    fn stats(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn items_and_slabs_by_class() {
        let mut s = Store::new(StoreConfig {
            max_bytes: 3 * 1024 * 1024,
            ..StoreConfig::default()
        });
        let value = vec![b'B'; 66560];
        for i in 0..40 {
            let key = format!("key{i}");
            let _ = s
                .store(StoreMode::Set, key.as_bytes(), 0, 0, &value, None, NOW)
                .unwrap();
        }
        // The maintainer moves HOT's tail to COLD until HOT holds 20%.
        assert!(s.maintain(NOW) > 0);
        let items = stats(|o| write_items(&s, NOW + 2, o));
        assert!(items.contains("STAT items:31:number 36\r\n"), "{items}");
        assert!(items.contains("STAT items:31:number_hot 7\r\nSTAT items:31:number_warm 0\r\nSTAT items:31:number_cold 29\r\n"), "{items}");
        assert!(items.contains("STAT items:31:moves_to_cold 33\r\n"), "{items}");
        assert!(items.contains("STAT items:31:evicted 4\r\n"));
        assert!(items.contains("STAT items:31:age 2\r\n"));
        assert!(!items.contains("items:1:"));
        let slabs = stats(|o| write_slabs(&s, o));
        assert!(slabs.starts_with(
            "STAT 31:chunk_size 82792\r\nSTAT 31:chunks_per_page 12\r\nSTAT 31:total_pages 3\r\n"
        ));
        assert!(slabs.contains("STAT 31:used_chunks 36\r\nSTAT 31:free_chunks 0\r\n"));
        assert!(slabs.contains("STAT 31:cmd_set 40\r\n"));
        assert!(slabs.ends_with("STAT active_slabs 1\r\nSTAT total_malloced 3145728\r\n"));
        let sizes = stats(|o| write_sizes(&s, o));
        assert_eq!(sizes, "STAT sizes_status disabled\r\n");
        let on = stats(|o| switch_sizes(&mut s, true, o));
        assert_eq!(on, "STAT sizes_status enabled\r\n");
        // Only items stored after enabling count.
        assert_eq!(stats(|o| write_sizes(&s, o)), "");
        let _ = s.store(StoreMode::Set, b"k", 0, 0, b"v", None, NOW).unwrap();
        let _ = s.store(StoreMode::Set, b"j", 0, 0, b"vv", None, NOW).unwrap();
        let _ = s
            .store(StoreMode::Set, b"key", 0, 0, &[0; 40], None, NOW)
            .unwrap();
        assert_eq!(stats(|o| write_sizes(&s, o)), "STAT 64 2\r\nSTAT 128 1\r\n");
        let off = stats(|o| switch_sizes(&mut s, false, o));
        assert_eq!(off, "STAT sizes_status disabled\r\n");
    }

    #[test]
    fn cachedump_lines() {
        let mut s = Store::new(StoreConfig::default());
        let _ = s.store(StoreMode::Set, b"a", 0, 0, b"12345", None, NOW).unwrap();
        let _ = s.store(StoreMode::Set, b"b", 0, 100, b"1", None, NOW).unwrap();
        let dump = |args: &[&[u8]]| stats(|o| cachedump(&s, args, o));
        assert_eq!(
            dump(&[b"1", b"0"]),
            format!("ITEM b [1 b; {} s]\r\nITEM a [5 b; 0 s]\r\nEND\r\n", NOW + 100)
        );
        assert_eq!(
            dump(&[b"1", b"1"]),
            format!("ITEM b [1 b; {} s]\r\nEND\r\n", NOW + 100)
        );
        assert_eq!(dump(&[b"2", b"0"]), "END\r\n");
        assert_eq!(dump(&[b"64", b"0"]), "CLIENT_ERROR Illegal slab id\r\n");
        assert_eq!(dump(&[b"x", b"0"]), "CLIENT_ERROR bad command line format\r\n");
        assert_eq!(dump(&[b"1"]), "CLIENT_ERROR bad command line\r\n");
    }
}
