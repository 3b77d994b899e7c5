//! What `stats` and `stats settings` print: every key memcached 1.6.18
//! prints, in its order, with Torsion's figures and settings. A figure of a
//! part of memcached Torsion does not have (response objects, per-thread
//! read buffers, the slab mover's rescues, the log watchers,
//! NAPI) reads 0; a general key memcached prints only while such a part is
//! on ([`Shown`]) is printed under the same settings, so a client counting
//! the keys sees memcached's count.

use std::time::Duration;

use super::exec::{ServerStats, StatSink};
use super::settings::Options;
use super::store::{Store, StoreConfig};

/// When memcached prints a general statistic: some only while the part of
/// memcached they describe is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Always.
    Always,
    /// With `maxconns_fast` (off under `no_modern`).
    MaxconnsFast,
    /// With `slab_reassign`.
    SlabReassign,
    /// With the LRU crawler.
    LruCrawler,
    /// With the LRU maintainer.
    LruMaintainer,
    /// With `-o idle_timeout`.
    IdleTimeout,
}

impl Shown {
    /// Whether a statistic shown so is printed under `options`.
    pub fn under(self, options: &Options) -> bool {
        match self {
            Shown::Always => true,
            Shown::MaxconnsFast => options.maxconns_fast,
            Shown::SlabReassign => options.slab_reassign,
            Shown::LruCrawler => options.lru_crawler,
            Shown::LruMaintainer => options.lru_maintainer_thread,
            Shown::IdleTimeout => options.idle_timeout > 0,
        }
    }
}

/// The keys of the general `stats`, in memcached 1.6.18's order, and when
/// each is printed: 92 by default (as Debian's build prints them, without
/// TLS), 93 with `-o idle_timeout`, 83 with `-o no_lru_crawler,no_lru_maintainer`.
pub const GENERAL_KEYS: [(&str, Shown); 93] = [
    ("pid", Shown::Always),
    ("uptime", Shown::Always),
    ("time", Shown::Always),
    ("version", Shown::Always),
    ("libevent", Shown::Always),
    ("pointer_size", Shown::Always),
    ("rusage_user", Shown::Always),
    ("rusage_system", Shown::Always),
    ("max_connections", Shown::Always),
    ("curr_connections", Shown::Always),
    ("total_connections", Shown::Always),
    ("rejected_connections", Shown::MaxconnsFast),
    ("connection_structures", Shown::Always),
    ("response_obj_oom", Shown::Always),
    ("response_obj_count", Shown::Always),
    ("response_obj_bytes", Shown::Always),
    ("read_buf_count", Shown::Always),
    ("read_buf_bytes", Shown::Always),
    ("read_buf_bytes_free", Shown::Always),
    ("read_buf_oom", Shown::Always),
    ("reserved_fds", Shown::Always),
    ("cmd_get", Shown::Always),
    ("cmd_set", Shown::Always),
    ("cmd_flush", Shown::Always),
    ("cmd_touch", Shown::Always),
    ("cmd_meta", Shown::Always),
    ("get_hits", Shown::Always),
    ("get_misses", Shown::Always),
    ("get_expired", Shown::Always),
    ("get_flushed", Shown::Always),
    ("delete_misses", Shown::Always),
    ("delete_hits", Shown::Always),
    ("incr_misses", Shown::Always),
    ("incr_hits", Shown::Always),
    ("decr_misses", Shown::Always),
    ("decr_hits", Shown::Always),
    ("cas_misses", Shown::Always),
    ("cas_hits", Shown::Always),
    ("cas_badval", Shown::Always),
    ("touch_hits", Shown::Always),
    ("touch_misses", Shown::Always),
    ("store_too_large", Shown::Always),
    ("store_no_memory", Shown::Always),
    ("auth_cmds", Shown::Always),
    ("auth_errors", Shown::Always),
    ("idle_kicks", Shown::IdleTimeout),
    ("bytes_read", Shown::Always),
    ("bytes_written", Shown::Always),
    ("limit_maxbytes", Shown::Always),
    ("accepting_conns", Shown::Always),
    ("listen_disabled_num", Shown::Always),
    ("time_in_listen_disabled_us", Shown::Always),
    ("threads", Shown::Always),
    ("conn_yields", Shown::Always),
    ("hash_power_level", Shown::Always),
    ("hash_bytes", Shown::Always),
    ("hash_is_expanding", Shown::Always),
    ("slab_reassign_rescues", Shown::SlabReassign),
    ("slab_reassign_chunk_rescues", Shown::SlabReassign),
    ("slab_reassign_evictions_nomem", Shown::SlabReassign),
    ("slab_reassign_inline_reclaim", Shown::SlabReassign),
    ("slab_reassign_busy_items", Shown::SlabReassign),
    ("slab_reassign_busy_deletes", Shown::SlabReassign),
    ("slab_reassign_running", Shown::SlabReassign),
    ("slabs_moved", Shown::SlabReassign),
    ("lru_crawler_running", Shown::LruCrawler),
    ("lru_crawler_starts", Shown::LruCrawler),
    ("lru_maintainer_juggles", Shown::LruMaintainer),
    ("malloc_fails", Shown::Always),
    ("log_worker_dropped", Shown::Always),
    ("log_worker_written", Shown::Always),
    ("log_watcher_skipped", Shown::Always),
    ("log_watcher_sent", Shown::Always),
    ("log_watchers", Shown::Always),
    ("unexpected_napi_ids", Shown::Always),
    ("round_robin_fallback", Shown::Always),
    ("bytes", Shown::Always),
    ("curr_items", Shown::Always),
    ("total_items", Shown::Always),
    ("slab_global_page_pool", Shown::Always),
    ("expired_unfetched", Shown::Always),
    ("evicted_unfetched", Shown::Always),
    ("evicted_active", Shown::LruMaintainer),
    ("evictions", Shown::Always),
    ("reclaimed", Shown::Always),
    ("crawler_reclaimed", Shown::Always),
    ("crawler_items_checked", Shown::Always),
    ("lrutail_reflocked", Shown::Always),
    ("moves_to_cold", Shown::LruMaintainer),
    ("moves_to_warm", Shown::LruMaintainer),
    ("moves_within_lru", Shown::LruMaintainer),
    ("direct_reclaims", Shown::LruMaintainer),
    ("lru_bumps_dropped", Shown::LruMaintainer),
];

/// The threads serving requests: one reactor thread, whatever `-t` says.
pub const REACTOR_THREADS: u32 = 1;

struct Seconds(Duration);

impl std::fmt::Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:06}", self.0.as_secs(), self.0.subsec_micros())
    }
}

/// The general `stats`: every key memcached 1.6.18 prints, in its order.
/// Figures of parts Torsion does not have (response objects, per-thread
/// read buffers, the slab mover's rescues, the log watchers,
/// NAPI) are 0.
pub fn write_general_stats(store: &Store, server: &ServerStats, now: u32, out: &mut dyn StatSink) {
    let s = store.stats();
    let capacity = store.hash_capacity().max(1);
    let hash_power = usize::BITS - 1 - capacity.leading_zeros();
    let zero = 0u64;
    let idle_kicks = server.idle_kicks.unwrap_or(0);
    let global_pool = store.slabs().class(0).pages;
    let watchers = server.watch.count();
    let classes = (1..=store.slabs().table().largest()).map(|c| store.class_stats(c));
    let (mut to_cold, mut to_warm, mut within, mut direct) = (0u64, 0u64, 0u64, 0u64);
    for c in classes {
        to_cold += c.moves_to_cold;
        to_warm += c.moves_to_warm;
        within += c.moves_within_lru;
        direct += c.direct_reclaims;
    }
    for (key, shown) in GENERAL_KEYS {
        if !shown.under(&server.options) {
            continue;
        }
        let value: &dyn std::fmt::Display = match key {
            "pid" => &server.pid,
            "uptime" => &now.saturating_sub(server.started),
            "time" => &now,
            "version" => &server.version,
            "libevent" => &"mio",
            "pointer_size" => &usize::BITS,
            "rusage_user" => &Seconds(server.rusage_user),
            "rusage_system" => &Seconds(server.rusage_system),
            "max_connections" => &server.max_connections,
            "log_watchers" => &watchers,
            "log_watcher_sent" => &server.watch.sent,
            "log_watcher_skipped" => &server.watch.skipped,
            "log_worker_written" => &server.watch.written,
            "curr_connections" => &server.curr_connections,
            "total_connections" => &server.total_connections,
            "rejected_connections" => &server.rejected_connections,
            "connection_structures" => &server.connection_structures,
            "response_obj_oom" => &server.response_obj_oom,
            "cmd_get" => &s.cmd_get,
            "cmd_set" => &s.cmd_set,
            "cmd_flush" => &s.cmd_flush,
            "cmd_touch" => &s.cmd_touch,
            "get_hits" => &s.get_hits,
            "get_misses" => &s.get_misses,
            "get_expired" => &s.get_expired,
            "get_flushed" => &s.get_flushed,
            "delete_misses" => &s.delete_misses,
            "delete_hits" => &s.delete_hits,
            "incr_misses" => &s.incr_misses,
            "incr_hits" => &s.incr_hits,
            "decr_misses" => &s.decr_misses,
            "decr_hits" => &s.decr_hits,
            "cas_misses" => &s.cas_misses,
            "cas_hits" => &s.cas_hits,
            "cas_badval" => &s.cas_badval,
            "touch_hits" => &s.touch_hits,
            "touch_misses" => &s.touch_misses,
            "store_too_large" => &s.store_too_large,
            "store_no_memory" => &s.store_no_memory,
            "auth_cmds" => &server.auth_counts.cmds,
            "auth_errors" => &server.auth_counts.errors,
            "idle_kicks" => &idle_kicks,
            "bytes_read" => &server.bytes_read,
            "bytes_written" => &server.bytes_written,
            "limit_maxbytes" => &store.config().max_bytes,
            "accepting_conns" => &u8::from(server.accepting_conns),
            "listen_disabled_num" => &server.listen_disabled_num,
            // The threads that really serve: one reactor (`-t` is only reported).
            "threads" => &REACTOR_THREADS,
            "conn_yields" => &server.conn_yields,
            "hash_power_level" => &hash_power,
            "hash_bytes" => &store.hash_bytes(),
            "bytes" => &store.bytes(),
            "curr_items" => &store.curr_items(),
            "total_items" => &s.total_items,
            "expired_unfetched" => &s.expired_unfetched,
            "evicted_unfetched" => &s.evicted_unfetched,
            "evictions" => &s.evictions,
            "reclaimed" => &s.reclaimed,
            "crawler_reclaimed" => &s.crawler_reclaimed,
            "crawler_items_checked" => &s.crawler_items_checked,
            "lru_crawler_running" => &u8::from(server.crawler.running()),
            "lru_crawler_starts" => &server.crawler.starts,
            "slabs_moved" => &s.slabs_moved,
            "lru_maintainer_juggles" => &s.lru_maintainer_juggles,
            "moves_to_cold" => &to_cold,
            "moves_to_warm" => &to_warm,
            "moves_within_lru" => &within,
            "direct_reclaims" => &direct,
            "slab_global_page_pool" => &global_pool,
            _ => &zero,
        };
        out.stat(key, value);
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `stats settings`: every key memcached 1.6.18 prints, in its order, with
/// the values the command line set (see [`super::settings`]). The extstore
/// and TLS settings, which Torsion does not have, read as memcached reports
/// them when unused.
pub fn write_settings(config: &StoreConfig, server: &ServerStats, out: &mut dyn StatSink) {
    let o = &server.options;
    let null = |v: &Option<String>| v.clone().unwrap_or_else(|| "NULL".to_string());
    let inter = null(&o.inter);
    let domain_socket = null(&o.domain_socket);
    let umask = format!("{:o}", o.umask);
    let prefix = char::from(o.prefix_delimiter);
    let two = |f: f64| format!("{f:.2}");
    let (ratio, hot, warm) = (
        two(o.slab_automove_ratio),
        two(o.hot_max_factor),
        two(o.warm_max_factor),
    );
    let growth = two(config.growth_factor);
    let auth_file = o.auth.as_ref().map_or("no", |file| file.path.as_str());
    for key in super::settings::SETTINGS_KEYS {
        let value: &dyn std::fmt::Display = match key {
            "maxbytes" => &config.max_bytes,
            "maxconns" => &server.max_connections,
            "tcpport" => &server.tcp_port,
            "udpport" => &server.udp_port,
            "inter" => &inter,
            "verbosity" => &server.verbosity,
            "oldest" => &0,
            "evictions" => &if config.evict { "on" } else { "off" },
            "domain_socket" => &domain_socket,
            "umask" => &umask,
            "shutdown_command" => &yes_no(o.shutdown_command),
            "growth_factor" => &growth,
            "chunk_size" => &config.chunk_size,
            "num_threads" => &o.num_threads,
            "num_threads_per_udp" => &o.num_threads,
            "stat_key_prefix" => &prefix,
            "detail_enabled" => &yes_no(server.detail.enabled()),
            "reqs_per_event" => &o.reqs_per_event,
            "cas_enabled" => &yes_no(o.cas_enabled),
            "tcp_backlog" => &o.tcp_backlog,
            "binding_protocol" => &o.binding_protocol.name(),
            "auth_enabled_sasl" => &"no",
            "auth_enabled_ascii" => &auth_file,
            "item_size_max" => &config.item_size_max,
            "maxconns_fast" => &yes_no(o.maxconns_fast),
            "hashpower_init" => &o.hashpower_init,
            "slab_reassign" => &yes_no(o.slab_reassign),
            "slab_automove" => &o.slab_automove,
            "slab_automove_ratio" => &ratio,
            "slab_automove_window" => &o.slab_automove_window,
            "slab_chunk_max" => &config.slab_chunk_max,
            "lru_crawler" => &yes_no(o.lru_crawler),
            "lru_crawler_sleep" => &o.lru_crawler_sleep,
            "lru_crawler_tocrawl" => &o.lru_crawler_tocrawl,
            "tail_repair_time" => &o.tail_repair_time,
            "flush_enabled" => &yes_no(o.flush_enabled),
            "dump_enabled" => &yes_no(o.dump_enabled),
            "hash_algorithm" => &o.hash_algorithm,
            "lru_maintainer_thread" => &yes_no(o.lru_maintainer_thread),
            "lru_segmented" => &yes_no(o.lru_segmented),
            "hot_lru_pct" => &o.hot_lru_pct,
            "warm_lru_pct" => &o.warm_lru_pct,
            "hot_max_factor" => &hot,
            "warm_max_factor" => &warm,
            "temp_lru" => &yes_no(o.temp_lru),
            "temporary_ttl" => &o.temporary_ttl,
            "idle_timeout" => &o.idle_timeout,
            "watcher_logbuf_size" => &o.watcher_logbuf_size,
            "worker_logbuf_size" => &o.worker_logbuf_size,
            "read_buf_mem_limit" => &o.read_buf_mem_limit,
            "track_sizes" => &yes_no(o.track_sizes),
            "inline_ascii_response" => &"no",
            "ext_item_size" => &512,
            "ext_item_age" => &u32::MAX,
            "ext_low_ttl" | "ext_compact_under" | "ext_drop_under" => &0,
            "ext_recache_rate" => &2000,
            "ext_wbuf_size" => &4_194_304,
            "ext_max_sleep" => &1_000_000,
            "ext_max_frag" => &"0.80",
            "slab_automove_freeratio" => &"0.010",
            "ext_drop_unread" | "ssl_enabled" | "ssl_session_cache" | "ssl_kernel_tls" => &"no",
            "ssl_chain_cert" | "ssl_key" | "num_napi_ids" | "memory_file" => &"(null)",
            "ssl_verify_mode" => &0,
            "ssl_keyformat" => &1,
            "ssl_ciphers" | "ssl_ca_cert" => &"NULL",
            "ssl_wbuf_size" => &16384,
            "ssl_min_version" => &"tlsv1.2",
            _ => &0,
        };
        out.stat(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memcached::dialect::Ascii;
    use crate::memcached::testkit;

    type Conversation = testkit::Conversation<Ascii>;

    fn keys(reply: &[u8]) -> Vec<String> {
        String::from_utf8_lossy(reply)
            .lines()
            .filter_map(|l| l.strip_prefix("STAT "))
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect()
    }

    #[test]
    fn general_stats_print_memcacheds_keys_in_order() {
        let mut c = Conversation::new();
        let reply = c.send(b"stats\r\n");
        let all: Vec<&str> = GENERAL_KEYS.iter().map(|(k, _)| *k).collect();
        // Everything but `idle_kicks`, printed only with -o idle_timeout.
        let default: Vec<&str> = all.iter().copied().filter(|k| *k != "idle_kicks").collect();
        assert_eq!(keys(&reply), default);
        assert!(reply.ends_with(b"STAT lru_bumps_dropped 0\r\nEND\r\n"));
        let mut sorted = all.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 93);
        // stats.t's server: -o no_lru_crawler,no_lru_maintainer.
        c.server.options.lru_crawler = false;
        c.server.options.lru_maintainer_thread = false;
        let reply = c.send(b"stats\r\n");
        assert_eq!(keys(&reply).len(), 83);
        assert!(reply.ends_with(b"STAT lrutail_reflocked 0\r\nEND\r\n"));
    }

    #[test]
    fn settings_print_memcacheds_76_keys_in_order() {
        let mut c = Conversation::new();
        let reply = c.send(b"stats settings\r\n");
        assert_eq!(keys(&reply), super::super::settings::SETTINGS_KEYS.to_vec());
        let text = String::from_utf8(reply).unwrap();
        for line in [
            "STAT maxbytes 67108864\r\n",
            "STAT growth_factor 1.25\r\n",
            "STAT chunk_size 48\r\n",
            "STAT stat_key_prefix :\r\n",
            "STAT cas_enabled yes\r\n",
            "STAT binding_protocol auto-negotiate\r\n",
            "STAT slab_chunk_max 524288\r\n",
            "STAT umask 700\r\n",
            "STAT inter NULL\r\n",
            "STAT hot_max_factor 0.20\r\n",
        ] {
            assert!(text.contains(line), "{line}");
        }
        c.server.options.cas_enabled = false;
        c.server.options.tcp_backlog = 8675;
        assert_eq!(c.setting("cas_enabled"), "no");
        assert_eq!(c.setting("tcp_backlog"), "8675");
    }
}
