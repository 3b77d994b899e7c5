//! Measures a warm restart's cost: the time to save a store of small items
//! to a snapshot file, the file's size, and the time to load it back.
//!
//! Run: `cargo run --release -p torsion-servers --example restart_cost [items] [value_len]`

use std::time::Instant;

use torsion_servers::memcached::restart::{self, Extras};
use torsion_servers::memcached::store::{Store, StoreConfig, StoreMode};

fn main() {
    let mut args = std::env::args().skip(1);
    let items: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let value_len: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let now = 1_700_000_000;
    let config = StoreConfig {
        max_bytes: 1 << 30,
        ..StoreConfig::default()
    };
    let mut store = Store::new(config.clone());
    let value = vec![b'v'; value_len];
    let started = Instant::now();
    for i in 0..items {
        let key = format!("key:{i:010}");
        let exptime = if i % 2 == 0 { 0 } else { 3600 };
        let stored = store.store(
            StoreMode::Set,
            key.as_bytes(),
            i as u32,
            exptime,
            &value,
            None,
            now,
        );
        assert!(stored.is_ok(), "store {key}");
    }
    assert_eq!(store.curr_items(), items, "raise max_bytes");
    let fill = started.elapsed();
    let path = std::env::temp_dir().join(format!("torsion-restart-cost-{}", std::process::id()));
    let extras = Extras { hash_power: 20 };

    let started = Instant::now();
    let report = restart::save(&path, &store, extras, now).expect("save");
    let save = started.elapsed();
    drop(store);

    let started = Instant::now();
    let loaded = restart::load(&path, &config, now).expect("load");
    let load = started.elapsed();
    let _ = std::fs::remove_file(&path);
    assert_eq!(loaded.restored as usize, items);
    println!(
        "{items} items, 14-byte keys, {value_len}-byte values: save {:.3} s, load {:.3} s (storing them afresh: {:.3} s), file {} bytes ({:.1} per item)",
        save.as_secs_f64(),
        load.as_secs_f64(),
        fill.as_secs_f64(),
        report.bytes,
        report.bytes as f64 / items as f64
    );
}
