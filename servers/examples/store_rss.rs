//! Measures the resident memory the memcached store really uses per item
//! (`ITEM_OVERHEAD` over key + value), beside what it charges against `-m`
//! (memcached's chunk: pages taken per item). Linux only (reads
//! `/proc/self/statm`).
//!
//! Run: `cargo run --release -p torsion-servers --example store_rss [items] [value_len] [full]`
//!
//! With `full`, every item has every optional header field: non-zero flags,
//! an expiry and a CAS unique above 2^32 (the largest header).

use torsion_servers::memcached::item::ITEM_OVERHEAD;
use torsion_servers::memcached::store::{Store, StoreConfig, StoreMode};

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let mut args = std::env::args().skip(1);
    let items: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let value_len: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let full = args.next().is_some_and(|a| a == "full");
    let now = 1_700_000_000;
    let mut store = Store::new(StoreConfig {
        max_bytes: usize::MAX / 2,
        ..StoreConfig::default()
    });
    let value = vec![b'v'; value_len];
    let (flags, exptime) = if full {
        store.resume_cas(1 << 40);
        (7, 1_000_000)
    } else {
        (0, 0)
    };
    let before = rss_bytes();
    let mut key_bytes = 0;
    for i in 0..items {
        let key = format!("key:{i:010}");
        key_bytes += key.len();
        let _ = store.store(StoreMode::Set, key.as_bytes(), flags, exptime, &value, None, now);
    }
    let grown = rss_bytes().saturating_sub(before);
    let payload = key_bytes + items * value_len;
    println!(
        "items {items}, value {value_len} B, key {} B{}",
        key_bytes / items.max(1),
        if full {
            ", flags, expiry and 8-byte CAS"
        } else {
            ""
        }
    );
    println!("heap overhead per item (ITEM_OVERHEAD): {ITEM_OVERHEAD} B");
    println!(
        "charged against -m per item (memcached's pages): {} B",
        store.slabs().malloced() as usize / items.max(1)
    );
    println!(
        "measured RSS per item: {} B total, {} B over key + value",
        grown / items.max(1),
        grown.saturating_sub(payload) / items.max(1)
    );
    println!(
        "store heap (slots, index, arena) per item: {} B over key + value",
        store.heap_bytes().saturating_sub(payload) / items.max(1)
    );
    println!("store.bytes() / item: {}", store.bytes() / items.max(1));
}
