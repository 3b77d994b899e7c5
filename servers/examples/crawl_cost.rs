//! What the expiry crawler costs: fills a store with 1,000,000 items (half of
//! them expiring), then times `Store::crawl` at the budget the server uses.
//!
//! ```sh
//! cargo run --release -p torsion-servers --example crawl_cost
//! ```

use std::time::Instant;

use torsion_servers::memcached::server::CRAWL_BUDGET;
use torsion_servers::memcached::store::{Store, StoreConfig, StoreMode};

fn main() {
    const ITEMS: usize = 1_000_000;
    let now = 1_700_000_000;
    let mut store = Store::new(StoreConfig {
        max_bytes: 1 << 30,
        ..StoreConfig::default()
    });
    let value = [b'v'; 100];
    for i in 0..ITEMS {
        let key = format!("key:{i:08}");
        let exptime = if i % 2 == 0 { 10 } else { 0 };
        let _ = store.store(StoreMode::Set, key.as_bytes(), 0, exptime, &value, None, now);
    }
    // Nothing expired yet: the cost of looking.
    let started = Instant::now();
    let mut ticks = 0;
    while ticks * CRAWL_BUDGET < ITEMS {
        assert_eq!(store.crawl(now, CRAWL_BUDGET), 0);
        ticks += 1;
    }
    let look = started.elapsed();
    // Half expired: the cost of looking and reclaiming.
    let started = Instant::now();
    let mut reclaimed = 0;
    for _ in 0..ticks {
        reclaimed += store.crawl(now + 20, CRAWL_BUDGET);
    }
    let reclaim = started.elapsed();
    println!(
        "{ITEMS} items, budget {CRAWL_BUDGET} slots per tick, {ticks} ticks per full pass\n\
         looking only:        {:.1} us per tick ({:.1} ns per slot)\n\
         reclaiming {reclaimed}: {:.1} us per tick ({:.1} ns per slot)",
        look.as_secs_f64() * 1e6 / ticks as f64,
        look.as_secs_f64() * 1e9 / ITEMS as f64,
        reclaim.as_secs_f64() * 1e6 / ticks as f64,
        reclaim.as_secs_f64() * 1e9 / ITEMS as f64,
    );
}
