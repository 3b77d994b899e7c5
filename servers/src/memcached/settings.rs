//! The server's settings beyond the store's limits: what memcached's command
//! line sets (`-A -B -C -D -F -R -b -t -l -s -a`, the `-o` options) and what
//! `stats settings` reports, key by key, in memcached 1.6.18's order.
//!
//! Some settings change what a client sees and are implemented (`-A`, `-B`,
//! `-C`, `-D`, `-F`, `-R`, `-b`, `-o idle_timeout`, `-o slab_chunk_max`,
//! the segmented LRU's `lru_maintainer`, `hot_lru_pct`, `warm_lru_pct`,
//! `hot_max_factor`, `warm_max_factor` and `temporary_ttl`);
//! the others name a part of memcached that Torsion's design has no knob for
//! (worker threads, the crawler thread, the slab mover,
//! log buffers, the hash table's initial size): they are accepted, checked
//! as memcached checks them, and reported, so a command line written for
//! memcached starts Torsion unchanged.
//!
//! # Examples
//!
//! ```
//! use torsion_servers::memcached::settings::{parse_extended, Options};
//! use torsion_servers::memcached::store::StoreConfig;
//!
//! let (mut options, mut store) = (Options::default(), StoreConfig::default());
//! parse_extended(&["no_modern", "idle_timeout=30"], &mut options, &mut store).unwrap();
//! assert_eq!((options.idle_timeout, options.lru_segmented), (30, false));
//! assert_eq!(store.slab_chunk_max, 1024 * 1024);
//! assert!(parse_extended(&["bogus"], &mut options, &mut store).is_err());
//! ```

use super::store::StoreConfig;

/// memcached's slab page size: `no_modern` raises `slab_chunk_max` to it.
pub const SLAB_PAGE_SIZE: usize = 1024 * 1024;

/// The smallest `-o hashpower` memcached accepts.
pub const MIN_HASHPOWER: u32 = 12;

/// The largest `-o hashpower` memcached accepts.
pub const MAX_HASHPOWER: u32 = 32;

/// The default `-R`: requests a connection serves per event before yielding.
pub const DEFAULT_REQS_PER_EVENT: u32 = 20;

/// The default `-b`: the listen backlog.
pub const DEFAULT_TCP_BACKLOG: u32 = 1024;

/// The default `-t`, reported as `num_threads` (Torsion serves every
/// connection from one reactor thread whatever it says).
pub const DEFAULT_THREADS: u32 = 4;

/// The keys of `stats settings`, in memcached 1.6.18's order (as Debian
/// builds it: with extstore and TLS, without the proxy).
pub const SETTINGS_KEYS: [&str; 76] = [
    "maxbytes",
    "maxconns",
    "tcpport",
    "udpport",
    "inter",
    "verbosity",
    "oldest",
    "evictions",
    "domain_socket",
    "umask",
    "shutdown_command",
    "growth_factor",
    "chunk_size",
    "num_threads",
    "num_threads_per_udp",
    "stat_key_prefix",
    "detail_enabled",
    "reqs_per_event",
    "cas_enabled",
    "tcp_backlog",
    "binding_protocol",
    "auth_enabled_sasl",
    "auth_enabled_ascii",
    "item_size_max",
    "maxconns_fast",
    "hashpower_init",
    "slab_reassign",
    "slab_automove",
    "slab_automove_ratio",
    "slab_automove_window",
    "slab_chunk_max",
    "lru_crawler",
    "lru_crawler_sleep",
    "lru_crawler_tocrawl",
    "tail_repair_time",
    "flush_enabled",
    "dump_enabled",
    "hash_algorithm",
    "lru_maintainer_thread",
    "lru_segmented",
    "hot_lru_pct",
    "warm_lru_pct",
    "hot_max_factor",
    "warm_max_factor",
    "temp_lru",
    "temporary_ttl",
    "idle_timeout",
    "watcher_logbuf_size",
    "worker_logbuf_size",
    "read_buf_mem_limit",
    "track_sizes",
    "inline_ascii_response",
    "ext_item_size",
    "ext_item_age",
    "ext_low_ttl",
    "ext_recache_rate",
    "ext_wbuf_size",
    "ext_compact_under",
    "ext_drop_under",
    "ext_max_sleep",
    "ext_max_frag",
    "slab_automove_freeratio",
    "ext_drop_unread",
    "ssl_enabled",
    "ssl_chain_cert",
    "ssl_key",
    "ssl_verify_mode",
    "ssl_keyformat",
    "ssl_ciphers",
    "ssl_ca_cert",
    "ssl_wbuf_size",
    "ssl_session_cache",
    "ssl_kernel_tls",
    "ssl_min_version",
    "num_napi_ids",
    "memory_file",
];

/// Which protocols the listener speaks (`-B`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BindingProtocol {
    /// Decided per connection by its first byte (the default).
    #[default]
    Auto,
    /// Text (classic and meta) only.
    Ascii,
    /// Binary only: a connection that sends anything else is closed.
    Binary,
}

impl BindingProtocol {
    /// Parses `-B`'s argument; the error is memcached's message.
    pub fn parse(arg: &str) -> Result<Self, String> {
        match arg {
            "auto" => Ok(BindingProtocol::Auto),
            "ascii" => Ok(BindingProtocol::Ascii),
            "binary" => Ok(BindingProtocol::Binary),
            _ => Err(format!(
                "Invalid value for binding protocol: {arg}\n -- should be one of auto, binary, or ascii"
            )),
        }
    }

    /// The name `stats settings` prints.
    pub fn name(self) -> &'static str {
        match self {
            BindingProtocol::Auto => "auto-negotiate",
            BindingProtocol::Ascii => "ascii",
            BindingProtocol::Binary => "binary",
        }
    }
}

/// Everything `stats settings` reports besides the store's limits, with
/// memcached 1.6.18's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// `-l`: the interface listened on (`None`: all, printed `NULL`).
    pub inter: Option<String>,
    /// `-s`: the Unix socket listened on.
    pub domain_socket: Option<String>,
    /// `-a`: the Unix socket's permissions (printed in octal).
    pub umask: u32,
    /// `-A`: whether `shutdown` is allowed.
    pub shutdown_command: bool,
    /// `-t`: reported; one reactor thread serves every connection.
    pub num_threads: u32,
    /// `-D`: the character ending a key's prefix for `stats detail`.
    pub prefix_delimiter: u8,
    /// Whether `stats detail` counts from the start (`-D` turns it on, as
    /// in memcached; `stats detail on|off` changes it later).
    pub detail_enabled: bool,
    /// `-R`: requests a connection serves per event before letting the
    /// others run (counted in `conn_yields`).
    pub reqs_per_event: u32,
    /// `-C` clears it: no CAS uniques (they read 0).
    pub cas_enabled: bool,
    /// `-W` clears it: `watch` is refused.
    pub watch_enabled: bool,
    /// `-b`: the listen backlog.
    pub tcp_backlog: u32,
    /// `-B`.
    pub binding_protocol: BindingProtocol,
    /// `-F` clears it: `flush_all` is refused.
    pub flush_enabled: bool,
    /// `-X` clears it: `lru_crawler metadump` and `stats cachedump` refused.
    pub dump_enabled: bool,
    /// `-o maxconns_fast` / `no_maxconns_fast` (reported).
    pub maxconns_fast: bool,
    /// `-o hashpower=N` (reported; the table grows as needed).
    pub hashpower_init: u32,
    /// `-o slab_reassign` / `no_slab_reassign` (reported).
    pub slab_reassign: bool,
    /// `-o slab_automove=N` (reported).
    pub slab_automove: u32,
    /// `-o slab_automove_ratio=F` (reported).
    pub slab_automove_ratio: f64,
    /// `-o slab_automove_window=N` (reported).
    pub slab_automove_window: u32,
    /// `-o lru_crawler` / `no_lru_crawler` (reported; Torsion's expiry
    /// crawler always runs).
    pub lru_crawler: bool,
    /// `-o lru_crawler_sleep=N` (reported).
    pub lru_crawler_sleep: u32,
    /// `-o lru_crawler_tocrawl=N` (reported).
    pub lru_crawler_tocrawl: u32,
    /// `-o tail_repair_time=N` (reported).
    pub tail_repair_time: u32,
    /// `-o hash_algorithm=` (reported).
    pub hash_algorithm: &'static str,
    /// `-o lru_maintainer` / `no_lru_maintainer`: the LRU maintainer timer
    /// runs (`no_lru_maintainer` also turns the segmented LRU off).
    pub lru_maintainer_thread: bool,
    /// Segmented LRU; `no_modern` clears it.
    pub lru_segmented: bool,
    /// `-o hot_lru_pct=N` (the segmented LRU's, see `store::LruPolicy`).
    pub hot_lru_pct: u32,
    /// `-o warm_lru_pct=N` (the segmented LRU's, see `store::LruPolicy`).
    pub warm_lru_pct: u32,
    /// `-o hot_max_factor=F` (the segmented LRU's, see `store::LruPolicy`).
    pub hot_max_factor: f64,
    /// `-o warm_max_factor=F` (the segmented LRU's, see `store::LruPolicy`).
    pub warm_max_factor: f64,
    /// Whether `temporary_ttl` was given (reported as `temp_lru`).
    pub temp_lru: bool,
    /// `-o temporary_ttl=N` (the segmented LRU's, see `store::LruPolicy`).
    pub temporary_ttl: u32,
    /// `-o idle_timeout=N`: close a connection idle that many seconds (0: never).
    pub idle_timeout: u32,
    /// `-o watcher_logbuf_size=KB` (reported, in bytes).
    pub watcher_logbuf_size: u32,
    /// `-o worker_logbuf_size=KB` (reported, in bytes).
    pub worker_logbuf_size: u32,
    /// `-o read_buf_mem_limit=MB` (reported, in bytes).
    pub read_buf_mem_limit: u32,
    /// `-o track_sizes` (reported).
    pub track_sizes: bool,
    /// `-Y`: the text-protocol authentication file's users; with it, a
    /// connection must authenticate first (see [`super::auth`]).
    pub auth: Option<super::auth::Credentials>,
    /// `-o debug_time`: accept memcached's debug-build `debugtime`
    /// command, which moves the server's clock. Off by default.
    pub debug_time: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            inter: None,
            domain_socket: None,
            umask: 0o700,
            shutdown_command: false,
            num_threads: DEFAULT_THREADS,
            prefix_delimiter: b':',
            detail_enabled: false,
            reqs_per_event: DEFAULT_REQS_PER_EVENT,
            cas_enabled: true,
            watch_enabled: true,
            tcp_backlog: DEFAULT_TCP_BACKLOG,
            binding_protocol: BindingProtocol::Auto,
            flush_enabled: true,
            dump_enabled: true,
            maxconns_fast: true,
            hashpower_init: 0,
            slab_reassign: true,
            slab_automove: 1,
            slab_automove_ratio: 0.8,
            slab_automove_window: 30,
            lru_crawler: true,
            lru_crawler_sleep: 100,
            lru_crawler_tocrawl: 0,
            tail_repair_time: 0,
            hash_algorithm: "murmur3",
            lru_maintainer_thread: true,
            lru_segmented: true,
            hot_lru_pct: 20,
            warm_lru_pct: 40,
            hot_max_factor: 0.2,
            warm_max_factor: 2.0,
            temp_lru: false,
            temporary_ttl: 61,
            idle_timeout: 0,
            watcher_logbuf_size: 256 * 1024,
            worker_logbuf_size: 64 * 1024,
            read_buf_mem_limit: 0,
            track_sizes: false,
            auth: None,
            debug_time: false,
        }
    }
}

/// Parses memcached's `-o` options, in order (a later one overrides an
/// earlier one, as in memcached), into `options` and `store`. The error is
/// memcached's message for the first bad option.
pub fn parse_extended<S: AsRef<str>>(
    list: &[S],
    options: &mut Options,
    store: &mut StoreConfig,
) -> Result<(), String> {
    for option in list.iter().map(AsRef::as_ref).filter(|o| !o.is_empty()) {
        let (name, value) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (option, None),
        };
        let number = |what: &str| -> Result<u32, String> {
            let value = value.ok_or_else(|| format!("Missing {what} argument"))?;
            value
                .parse::<u32>()
                .map_err(|_| format!("could not parse argument to {what}"))
        };
        let float = |what: &str| -> Result<f64, String> {
            let value = value.ok_or_else(|| format!("Missing {what} argument"))?;
            value
                .parse::<f64>()
                .map_err(|_| format!("could not parse argument to {what}"))
        };
        match name {
            "maxconns_fast" => options.maxconns_fast = true,
            "no_maxconns_fast" => options.maxconns_fast = false,
            "hashpower" => {
                let power = number("hashpower")?;
                if power < MIN_HASHPOWER {
                    return Err(format!("Initial hashtable multiplier of {power} is too low"));
                }
                if power > MAX_HASHPOWER {
                    return Err(format!(
                        "Initial hashtable multiplier of {power} is too high\nChoose a value based on \"STAT hash_power_level\" from a running instance"
                    ));
                }
                options.hashpower_init = power;
            }
            "no_hashexpand" => {}
            "slab_reassign" => options.slab_reassign = true,
            "no_slab_reassign" => options.slab_reassign = false,
            "slab_automove" => {
                options.slab_automove = match value {
                    None => 1,
                    Some(_) => number("slab_automove")?,
                };
                if options.slab_automove > 2 {
                    return Err("slab_automove must be between 0 and 2".into());
                }
            }
            "no_slab_automove" => options.slab_automove = 0,
            "slab_automove_ratio" => {
                options.slab_automove_ratio = float("slab_automove_ratio")?;
                if !(options.slab_automove_ratio > 0.0 && options.slab_automove_ratio < 1.0) {
                    return Err("slab_automove_ratio must be > 0 and < 1".into());
                }
            }
            "slab_automove_window" => {
                options.slab_automove_window = number("slab_automove_window")?;
                if options.slab_automove_window < 3 {
                    return Err("slab_automove_window must be > 2".into());
                }
            }
            "tail_repair_time" => {
                options.tail_repair_time = number("tail_repair_time")?;
                if options.tail_repair_time < 10 {
                    return Err("Cannot set tail_repair_time to less than 10 seconds".into());
                }
            }
            "hash_algorithm" => {
                options.hash_algorithm = match value {
                    Some("jenkins") => "jenkins",
                    Some("murmur3") => "murmur3",
                    Some("xxh3") => "xxh3",
                    None => return Err("Missing hash_algorithm argument".into()),
                    Some(_) => return Err("Unknown hash_algorithm option (jenkins, murmur3, xxh3)".into()),
                }
            }
            "lru_crawler" => options.lru_crawler = true,
            "no_lru_crawler" => options.lru_crawler = false,
            "lru_crawler_sleep" => {
                options.lru_crawler_sleep = number("lru_crawler_sleep")?;
                if options.lru_crawler_sleep > 1_000_000 {
                    return Err("LRU crawler sleep must be between 0 and 1 second".into());
                }
            }
            "lru_crawler_tocrawl" => options.lru_crawler_tocrawl = number("lru_crawler_tocrawl")?,
            "lru_maintainer" => {
                options.lru_maintainer_thread = true;
                options.lru_segmented = true;
            }
            "no_lru_maintainer" => {
                options.lru_maintainer_thread = false;
                options.lru_segmented = false;
            }
            "hot_lru_pct" => {
                options.hot_lru_pct = number("hot_lru_pct")?;
                if !(1..=80).contains(&options.hot_lru_pct) {
                    return Err("hot_lru_pct must be > 1 and < 80".into());
                }
            }
            "warm_lru_pct" => {
                options.warm_lru_pct = number("warm_lru_pct")?;
                if !(1..=80).contains(&options.warm_lru_pct) {
                    return Err("warm_lru_pct must be > 1 and < 80".into());
                }
            }
            "hot_max_factor" => {
                options.hot_max_factor = float("hot_max_factor")?;
                if options.hot_max_factor <= 0.0 {
                    return Err("hot_max_factor must be > 0".into());
                }
            }
            "warm_max_factor" => {
                options.warm_max_factor = float("warm_max_factor")?;
                if options.warm_max_factor <= 0.0 {
                    return Err("warm_max_factor must be > 0".into());
                }
            }
            "temporary_ttl" => {
                options.temp_lru = true;
                options.temporary_ttl = number("temporary_ttl")?;
            }
            "idle_timeout" => options.idle_timeout = number("idle_timeout")?,
            "watcher_logbuf_size" => {
                options.watcher_logbuf_size =
                    kilobytes(number("watcher_logbuf_size")?, "watcher_logbuf_size")?
            }
            "worker_logbuf_size" => {
                options.worker_logbuf_size = kilobytes(number("worker_logbuf_size")?, "worker_logbuf_size")?
            }
            "read_buf_mem_limit" => {
                let megabytes = number("read_buf_mem_limit")?;
                options.read_buf_mem_limit = megabytes
                    .checked_mul(1024 * 1024)
                    .ok_or("read_buf_mem_limit is too large")?;
            }
            "slab_sizes" => {}
            "slab_chunk_max" => {
                let bytes = number("slab_chunk_max")? as usize;
                store.slab_chunk_max = bytes;
            }
            "track_sizes" => options.track_sizes = true,
            "no_inline_ascii_resp" | "inline_ascii_resp" => {}
            "modern" => {}
            "no_modern" => {
                if !slab_chunk_max_given(list, option) {
                    store.slab_chunk_max = SLAB_PAGE_SIZE;
                }
                options.slab_reassign = false;
                options.slab_automove = 0;
                options.maxconns_fast = false;
                options.lru_segmented = false;
                options.hash_algorithm = "jenkins";
                options.lru_crawler = false;
                options.lru_maintainer_thread = false;
            }
            "no_chunked_items" => store.slab_chunk_max = SLAB_PAGE_SIZE,
            "drop_privileges" | "no_drop_privileges" | "relaxed_privileges" => {}
            "resp_obj_mem_limit" => {}
            "debug_time" => options.debug_time = true,
            _ => return Err(format!("Illegal suboption \"{option}\"")),
        }
    }
    Ok(())
}

/// Whether a `slab_chunk_max` comes before `option` in `list` (memcached's
/// `no_modern` keeps a chunk size given before it).
fn slab_chunk_max_given<S: AsRef<str>>(list: &[S], option: &str) -> bool {
    list.iter()
        .map(AsRef::as_ref)
        .take_while(|o| !std::ptr::eq(*o, option))
        .any(|o| o.starts_with("slab_chunk_max="))
}

/// A log buffer size given in kilobytes, in bytes.
fn kilobytes(kb: u32, what: &str) -> Result<u32, String> {
    kb.checked_mul(1024).ok_or_else(|| format!("{what} is too large"))
}

/// Checks the settings against each other as memcached does at start.
pub fn check(options: &Options, store: &StoreConfig) -> Result<(), String> {
    if store.slab_chunk_max > store.item_size_max {
        return Err(format!(
            "slab_chunk_max (bytes: {}) cannot be larger than -I (item_size_max {})",
            store.slab_chunk_max, store.item_size_max
        ));
    }
    if store.slab_chunk_max == 0 || store.item_size_max % store.slab_chunk_max != 0 {
        return Err(format!(
            "-I (item_size_max: {}) must be evenly divisible by slab_chunk_max (bytes: {})",
            store.item_size_max, store.slab_chunk_max
        ));
    }
    if options.hot_lru_pct + options.warm_lru_pct > 80 {
        return Err("hot_lru_pct + warm_lru_pct cannot be more than 80% combined".into());
    }
    if options.temp_lru && !options.lru_maintainer_thread {
        return Err("temporary_ttl requires lru_maintainer to be enabled".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<(Options, StoreConfig), String> {
        let (mut options, mut store) = (Options::default(), StoreConfig::default());
        parse_extended(list, &mut options, &mut store)?;
        Ok((options, store))
    }

    #[test]
    fn every_option_the_suite_passes_is_accepted() {
        let (o, s) = parse(&[
            "slab_reassign",
            "slab_automove=2",
            "lru_crawler",
            "lru_maintainer",
            "slab_automove_window=3",
            "watcher_logbuf_size=8",
            "worker_logbuf_size=4",
            "temporary_ttl=61",
            "hot_lru_pct=30",
            "warm_lru_pct=30",
            "maxconns_fast",
            "read_buf_mem_limit=1",
            "idle_timeout=3",
            "hashpower=20",
            "modern",
            "slab_chunk_max=16384",
            "",
        ])
        .unwrap();
        assert_eq!((o.slab_automove, o.slab_automove_window), (2, 3));
        assert_eq!((o.watcher_logbuf_size, o.worker_logbuf_size), (8192, 4096));
        assert!(o.temp_lru && o.lru_crawler && o.lru_maintainer_thread);
        assert_eq!((o.hot_lru_pct, o.warm_lru_pct, o.idle_timeout), (30, 30, 3));
        assert_eq!((o.read_buf_mem_limit, o.hashpower_init), (1024 * 1024, 20));
        assert_eq!(s.slab_chunk_max, 16384);
    }

    #[test]
    fn no_modern_keeps_a_chunk_max_given_before_it() {
        let (o, s) = parse(&["no_modern"]).unwrap();
        assert_eq!(s.slab_chunk_max, SLAB_PAGE_SIZE);
        assert!(!o.slab_reassign && !o.lru_segmented && !o.lru_crawler && !o.maxconns_fast);
        assert_eq!(o.hash_algorithm, "jenkins");
        assert_eq!(
            parse(&["no_modern", "slab_chunk_max=4096"])
                .unwrap()
                .1
                .slab_chunk_max,
            4096
        );
        assert_eq!(
            parse(&["slab_chunk_max=4096", "no_modern"])
                .unwrap()
                .1
                .slab_chunk_max,
            4096
        );
        let (o, _) = parse(&["slab_chunk_max=1024", "no_lru_crawler", "no_lru_maintainer"]).unwrap();
        assert!(!o.lru_crawler && !o.lru_maintainer_thread);
    }

    #[test]
    fn bad_options_get_memcacheds_messages() {
        assert_eq!(parse(&["bogus"]).unwrap_err(), "Illegal suboption \"bogus\"");
        assert!(parse(&["hashpower=99"])
            .unwrap_err()
            .starts_with("Initial hashtable multiplier of 99 is too high"));
        assert_eq!(
            parse(&["hashpower=11"]).unwrap_err(),
            "Initial hashtable multiplier of 11 is too low"
        );
        assert!(parse(&["idle_timeout=x"]).unwrap_err().contains("idle_timeout"));
        assert!(parse(&["idle_timeout"]).unwrap_err().contains("Missing"));
        assert!(parse(&["slab_automove=3"]).is_err());
        assert_eq!(BindingProtocol::parse("binary"), Ok(BindingProtocol::Binary));
        assert!(BindingProtocol::parse("http")
            .unwrap_err()
            .starts_with("Invalid value for binding protocol: http"));
    }

    #[test]
    fn settings_are_checked_together() {
        let (o, mut s) = parse(&["slab_chunk_max=1000"]).unwrap();
        assert!(check(&o, &s).unwrap_err().contains("evenly divisible"));
        s.slab_chunk_max = 1024;
        s.item_size_max = 1024;
        assert_eq!(check(&o, &s), Ok(()));
        let (o, s) = parse(&["hot_lru_pct=50", "warm_lru_pct=40"]).unwrap();
        assert!(check(&o, &s).is_err());
        let (o, s) = parse(&["no_lru_maintainer", "temporary_ttl=30"]).unwrap();
        assert_eq!(
            check(&o, &s).unwrap_err(),
            "temporary_ttl requires lru_maintainer to be enabled"
        );
        assert!(parse(&["slab_automove_window=2"]).is_err());
        assert!(parse(&["slab_automove_ratio=1.5"]).is_err());
    }

    #[test]
    fn the_settings_keys_are_memcacheds() {
        let mut sorted = SETTINGS_KEYS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 76, "no key twice");
        assert_eq!(SETTINGS_KEYS[0], "maxbytes");
        assert_eq!(SETTINGS_KEYS[75], "memory_file");
    }
}
