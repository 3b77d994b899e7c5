//! What a `get` costs inside the server, without sockets: fills a store,
//! then feeds a text session pre-built `get` requests for random keys (all
//! hits) and times it, per key, for single-key gets and 16-key multigets.
//!
//! ```sh
//! cargo run --release -p torsion-servers --example get_cost [ITEMS]
//! ```
//!
//! Keys are 64 bytes with a common prefix, like memcaslap's, and values 100
//! bytes. Every figure is the median of 7 rounds, so a change to the store
//! or the session can be judged without the noise of a network benchmark
//! (bench/memcached.sh measures the whole server).

use std::hint::black_box;
use std::time::Instant;

use torsion_servers::memcached::dialect::{Ascii, ExecCtx};
use torsion_servers::memcached::exec::ServerStats;
use torsion_servers::memcached::session::Session;
use torsion_servers::memcached::store::{Store, StoreConfig, StoreMode};

/// Requests per round.
const REQUESTS: usize = 20_000;
const ROUNDS: usize = 7;

fn key(i: u64) -> String {
    format!(
        "memcaslap-like-common-prefix-{:035}",
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 8
    )
}

fn main() {
    let items: u64 = std::env::args()
        .nth(1)
        .map_or(100_000, |a| a.parse().expect("ITEMS"));
    let now = 1_700_000_000;
    let mut store = Store::new(StoreConfig {
        max_bytes: 4 << 30,
        ..StoreConfig::default()
    });
    let value = [b'v'; 100];
    for i in 0..items {
        let _ = store.store(StoreMode::Set, key(i).as_bytes(), 0, 0, &value, None, now);
    }
    let mut stats = ServerStats::new(now);
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % items
    };
    println!("{items} items, 64-byte keys, 100-byte values; ns per key, median of {ROUNDS} rounds");
    for per_request in [1usize, 16] {
        let requests: Vec<Vec<u8>> = (0..REQUESTS)
            .map(|_| {
                let mut line = b"get".to_vec();
                for _ in 0..per_request {
                    line.push(b' ');
                    line.extend_from_slice(key(next()).as_bytes());
                }
                line.extend_from_slice(b"\r\n");
                line
            })
            .collect();
        let mut session = Session::<Ascii>::new();
        let mut out = Vec::with_capacity(64 * 1024);
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            let started = Instant::now();
            for request in &requests {
                out.clear();
                let mut cx = ExecCtx {
                    store: &mut store,
                    server: &mut stats,
                    now,
                    out: &mut out,
                };
                let fed = session.feed(request, &mut cx);
                black_box(fed.consumed);
            }
            let keys = (REQUESTS * per_request) as f64;
            rounds.push(started.elapsed().as_nanos() as f64 / keys);
            assert!(out.starts_with(b"VALUE "), "every key is a hit");
        }
        rounds.sort_by(f64::total_cmp);
        println!(
            "get with {per_request:>2} key(s): {:6.1} ns/key (min {:.1}, max {:.1})",
            rounds[ROUNDS / 2],
            rounds[0],
            rounds[ROUNDS - 1]
        );
    }
}
