//! Bench-only helpers shared by the programs in `src/bin/`: argument
//! parsing small enough not to need `clap`, and latency percentiles.
//!
//! The programs:
//!
//! - `echo-torsion`: an echo server on Torsion's reactor.
//! - `echo-mio`: the textbook edge-triggered echo loop on plain mio.
//! - `echo-load`: N connections, each sending a message and waiting for its
//!   echo, for a fixed time; prints requests per second and latency
//!   percentiles.
//! - `mc-idle`: opens N idle connections to a memcached server and holds them.
//! - `mc-fill`: stores N items of a given size into a memcached server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::str::FromStr;

/// `--name value` pairs from the command line, with defaults.
pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    /// Parses `std::env::args()`: every argument must be `--name value`.
    /// Exits with a usage message naming `usage` on anything else.
    pub fn parse(usage: &str) -> Args {
        let mut values = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(name) = args.next() {
            let Some(name) = name.strip_prefix("--") else {
                die(usage);
            };
            let Some(value) = args.next() else {
                die(usage);
            };
            values.insert(name.to_string(), value);
        }
        Args { values }
    }

    /// The value of `--name`, or `default`. Exits if it does not parse.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> T {
        match self.values.get(name) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|_| {
                eprintln!("bad value for --{name}: {v}");
                std::process::exit(2)
            }),
        }
    }

    /// The socket address in `--name` (required).
    pub fn addr(&self, name: &str) -> SocketAddr {
        match self.values.get(name).map(|v| v.parse()) {
            Some(Ok(addr)) => addr,
            _ => {
                eprintln!("--{name} ADDR:PORT is required");
                std::process::exit(2)
            }
        }
    }
}

fn die(usage: &str) -> ! {
    eprintln!("usage: {usage}");
    std::process::exit(2)
}

/// The `p`-th percentile (0..=100) of sorted `samples`, nearest rank.
///
/// # Examples
///
/// ```
/// let v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
/// assert_eq!(torsion_bench::percentile(&v, 50.0), 5);
/// assert_eq!(torsion_bench::percentile(&v, 99.0), 10);
/// assert_eq!(torsion_bench::percentile(&[], 50.0), 0);
/// ```
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
