//! Executes parsed text-protocol requests against the [`Store`] and writes
//! memcached's exact replies, sans-I/O.
//!
//! [`execute`] takes one request (with its data block for a storage command),
//! mutates the store, and appends the reply bytes to `out` (nothing under
//! `noreply`). [`execute_error`] answers a refused command line, and
//! [`refuse_too_large`] answers a storage command whose block is too large to
//! keep (the caller swallows the block). The [`session`](super::session) module
//! strings these together into a conversation.
//!
//! The server's own counters (connections, uptime, reactor figures) belong to the
//! connection layer; it keeps them in a [`ServerStats`] that `stats` reads and
//! `stats reset` / `verbosity` update.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::text::{parse, Parsed};
//! use torsion_servers::memcached::exec::{execute, Effect, ServerStats};
//! use torsion_servers::memcached::store::{Store, StoreConfig};
//!
//! let now = 1_700_000_000;
//! let mut store = Store::new(StoreConfig::default());
//! let mut server = ServerStats::new(now);
//! let mut out = Vec::new();
//! let Parsed::Complete { request, .. } = parse(b"incr hits 1\r\n") else { unreachable!() };
//! assert_eq!(execute(&request, b"", &mut store, &mut server, now, &mut out), Effect::Continue);
//! assert_eq!(out, b"NOT_FOUND\r\n");
//! ```

use std::time::Duration;

use torsion_protocols::memcache::text::{
    write_number, write_stat, write_value, write_version, ArithOp, Reply, Request, RequestError,
    StorageCommand, StorageHeader, Words,
};

use super::item::RECORD_BYTES;
use super::store::{
    DeleteOutcome, Delta, DeltaError, DeltaOp, DeltaOutcome, Store, StoreError, StoreMode, StoreOutcome,
    TouchOutcome,
};

/// The version `version` and `stats` report. libmemcached reads it with `strtol`
/// per component (so the suffix after `1.6.38` is ignored and it sees 1.6.38);
/// pymemcache returns the string as is.
pub const VERSION: &str = "1.6.38-torsion";

/// memcached's `MAX_VERBOSITY_LEVEL`: `verbosity` clamps to it.
pub const MAX_VERBOSITY: u32 = 2;

/// What the connection must do after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Effect {
    /// Go on reading requests.
    Continue,
    /// Write what is queued, then close (`quit`, or a line too long).
    Close,
}

/// The server's own figures, owned and updated by the connection layer, read by
/// `stats` and `stats settings`. Fields that need a system call (`rusage_*`)
/// can be refreshed when the request is [`Request::Stats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStats {
    /// Process id.
    pub pid: u32,
    /// Unix time the server started (`uptime` is `now - started`).
    pub started: u32,
    /// The version string.
    pub version: &'static str,
    /// User CPU time used.
    pub rusage_user: Duration,
    /// System CPU time used.
    pub rusage_system: Duration,
    /// Connection limit (`-c`).
    pub max_connections: u64,
    /// Open client connections.
    pub curr_connections: u64,
    /// Connections accepted since start (or the last `stats reset`).
    pub total_connections: u64,
    /// Connections refused for being over the limit.
    pub rejected_connections: u64,
    /// Connection records allocated.
    pub connection_structures: u64,
    /// Whether the listener is accepting.
    pub accepting_conns: bool,
    /// Worker threads (1: a single reactor thread).
    pub threads: u32,
    /// Bytes read from clients.
    pub bytes_read: u64,
    /// Bytes written to clients.
    pub bytes_written: u64,
    /// TCP port (`-p`), 0 if none.
    pub tcp_port: u16,
    /// UDP port (`-U`), 0 if none.
    pub udp_port: u16,
    /// Current verbosity (set by `verbosity`).
    pub verbosity: u32,
    /// Protocol accepted on the listener (`-B`): `auto-negotiate`, `ascii`, `binary`.
    pub binding_protocol: &'static str,
    /// Extra counters appended to `stats` (the reactor's: wakeups, timers, ...).
    pub reactor: Vec<(&'static str, u64)>,
}

impl ServerStats {
    /// Figures for a server started at `started` (unix seconds) in this process.
    pub fn new(started: u32) -> Self {
        ServerStats {
            pid: std::process::id(),
            started,
            version: VERSION,
            rusage_user: Duration::ZERO,
            rusage_system: Duration::ZERO,
            max_connections: 1024,
            curr_connections: 0,
            total_connections: 0,
            rejected_connections: 0,
            connection_structures: 0,
            accepting_conns: true,
            threads: 1,
            bytes_read: 0,
            bytes_written: 0,
            tcp_port: 11211,
            udp_port: 0,
            verbosity: 0,
            binding_protocol: "auto-negotiate",
            reactor: Vec::new(),
        }
    }

    /// Zeroes the cumulative counters, as `stats reset` does in memcached.
    pub fn reset(&mut self) {
        self.total_connections = 0;
        self.rejected_connections = 0;
        self.bytes_read = 0;
        self.bytes_written = 0;
        for (_, value) in &mut self.reactor {
            *value = 0;
        }
    }
}

fn reply(out: &mut Vec<u8>, noreply: bool, r: Reply) {
    if !noreply {
        r.write(out);
    }
}

/// Executes one request. `data` is the data block of a storage command (read
/// with `parse_data_block`); it is ignored for other requests.
pub fn execute(
    request: &Request<'_>,
    data: &[u8],
    store: &mut Store,
    server: &mut ServerStats,
    now: u32,
    out: &mut Vec<u8>,
) -> Effect {
    match *request {
        Request::Get { keys, cas } => {
            for key in keys.iter() {
                if let Some(item) = store.get(key, now) {
                    write_value(out, key, item.flags(), item.value(), cas.then(|| item.cas()));
                }
            }
            Reply::End.write(out);
        }
        Request::GetAndTouch { exptime, keys, cas } => {
            for key in keys.iter() {
                if let Some(item) = store.get_and_touch(key, i64::from(exptime), now) {
                    write_value(out, key, item.flags(), item.value(), cas.then(|| item.cas()));
                }
            }
            Reply::End.write(out);
        }
        Request::Storage(header) => execute_storage(&header, data, store, now, out),
        Request::Delete { key, noreply } => {
            let r = match store.delete(key, None, now) {
                DeleteOutcome::Deleted => Reply::Deleted,
                DeleteOutcome::NotFound | DeleteOutcome::Exists => Reply::NotFound,
            };
            reply(out, noreply, r);
        }
        Request::Arith {
            op,
            key,
            delta,
            noreply,
        } => {
            let op = match op {
                ArithOp::Incr => DeltaOp::Incr,
                ArithOp::Decr => DeltaOp::Decr,
            };
            let d = Delta {
                op,
                amount: delta,
                initial: None,
                cas: None,
            };
            match store.incr_decr(key, d, now) {
                Ok(DeltaOutcome::Updated { value, .. } | DeltaOutcome::Created { value, .. }) => {
                    if !noreply {
                        write_number(out, value);
                    }
                }
                Ok(DeltaOutcome::NotFound | DeltaOutcome::Exists) => reply(out, noreply, Reply::NotFound),
                Err(DeltaError::NonNumeric) => reply(out, noreply, Reply::NonNumeric),
                Err(DeltaError::OutOfMemory) => reply(out, noreply, Reply::OutOfMemory),
            }
        }
        Request::Touch {
            key,
            exptime,
            noreply,
        } => {
            let r = match store.touch(key, i64::from(exptime), None, now) {
                TouchOutcome::Touched { .. } => Reply::Touched,
                TouchOutcome::NotFound | TouchOutcome::Exists => Reply::NotFound,
            };
            reply(out, noreply, r);
        }
        Request::FlushAll { delay, noreply } => {
            store.flush_all(i64::from(delay), now);
            reply(out, noreply, Reply::Ok);
        }
        Request::Stats { args } => write_stats(args, store, server, now, out),
        Request::Version => write_version(out, server.version),
        Request::Verbosity { level, noreply } => {
            server.verbosity = level.min(MAX_VERBOSITY);
            reply(out, noreply, Reply::Ok);
        }
        Request::Quit => return Effect::Close,
        Request::CacheMemlimit { megabytes, noreply } => {
            // process_memlimit_command's bounds.
            let answer = if megabytes < 8 {
                Reply::MemlimitTooSmall
            } else if megabytes > 1_000_000_000 {
                Reply::MemlimitNotMegabytes
            } else {
                store.set_max_bytes(megabytes as usize * 1024 * 1024);
                Reply::Ok
            };
            reply(out, noreply, answer);
        }
    }
    Effect::Continue
}

fn execute_storage(header: &StorageHeader<'_>, data: &[u8], store: &mut Store, now: u32, out: &mut Vec<u8>) {
    let (mode, cas) = storage_mode(header);
    let r = match store.store(
        mode,
        header.key,
        header.flags,
        i64::from(header.exptime),
        data,
        cas,
        now,
    ) {
        Ok(StoreOutcome::Stored { .. }) => Reply::Stored,
        Ok(StoreOutcome::NotStored) => Reply::NotStored,
        Ok(StoreOutcome::Exists) => Reply::Exists,
        Ok(StoreOutcome::NotFound) => Reply::NotFound,
        Err(StoreError::TooLarge) => Reply::TooLarge,
        Err(StoreError::OutOfMemory) => Reply::OutOfMemoryStoring,
        Err(StoreError::KeyTooLong) => Reply::BadFormat,
    };
    reply(out, header.noreply, r);
}

fn storage_mode(header: &StorageHeader<'_>) -> (StoreMode, Option<u64>) {
    match header.command {
        StorageCommand::Set => (StoreMode::Set, None),
        StorageCommand::Add => (StoreMode::Add, None),
        StorageCommand::Replace => (StoreMode::Replace, None),
        StorageCommand::Append => (StoreMode::Append, None),
        StorageCommand::Prepend => (StoreMode::Prepend, None),
        StorageCommand::Cas => (StoreMode::Set, Some(header.cas_unique)),
    }
}

/// Answers a storage command whose item would exceed the item size limit:
/// `SERVER_ERROR object too large for cache` (unless `noreply`), and a `set`
/// drops the key's old value, as memcached does. The caller must then skip
/// `header.bytes + 2` bytes of input without buffering them.
pub fn refuse_too_large(header: &StorageHeader<'_>, store: &mut Store, now: u32, out: &mut Vec<u8>) {
    store.refuse_too_large(storage_mode(header).0, header.key, now);
    reply(out, header.noreply, Reply::TooLarge);
}

/// Answers a data block not terminated by `\r\n`: `CLIENT_ERROR bad data chunk`
/// (unless `noreply`). Nothing is stored.
pub fn bad_data_chunk(header: &StorageHeader<'_>, out: &mut Vec<u8>) {
    reply(out, header.noreply, Reply::BadDataChunk);
}

/// Answers a refused command line; [`Effect::Close`] when the connection must close.
pub fn execute_error(error: RequestError, out: &mut Vec<u8>) -> Effect {
    match error.kind.reply() {
        Some(r) => {
            reply(out, error.noreply, r);
            Effect::Continue
        }
        None => Effect::Close,
    }
}

/// `stats`, `stats settings|items|slabs|sizes|reset`; anything else answers
/// `ERROR` like an unknown subcommand does in memcached.
fn write_stats(args: Words<'_>, store: &mut Store, server: &mut ServerStats, now: u32, out: &mut Vec<u8>) {
    let group = match args.first() {
        Some(b"reset") => {
            reset_stats(store, server);
            Reply::Reset.write(out);
            return;
        }
        arg => StatsGroup::parse(arg),
    };
    match group {
        Some(group) => {
            write_stats_group(group, store, server, now, out);
            Reply::End.write(out);
        }
        None => Reply::Error.write(out),
    }
}

/// `stats reset`: zeroes the store's and the server's counters.
pub fn reset_stats(store: &mut Store, server: &mut ServerStats) {
    store.reset_stats();
    server.reset();
}

/// Receives statistics one at a time: the text protocol writes each as a
/// `STAT <name> <value>\r\n` line (the `Vec<u8>` implementation), the binary
/// protocol as a response packet. This is memcached's `ADD_STAT` callback.
pub trait StatSink {
    /// Emits one statistic.
    fn stat(&mut self, name: &str, value: &dyn std::fmt::Display);
}

impl StatSink for Vec<u8> {
    fn stat(&mut self, name: &str, value: &dyn std::fmt::Display) {
        write_stat(self, name, value);
    }
}

/// A group of statistics a `stats` request can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsGroup {
    /// `stats`: the general figures.
    General,
    /// `stats settings`.
    Settings,
    /// `stats items`.
    Items,
    /// `stats slabs`.
    Slabs,
    /// `stats sizes`.
    Sizes,
}

impl StatsGroup {
    /// The group named by a `stats` argument (`None` for no argument is
    /// [`StatsGroup::General`]); `None` if the name is unknown.
    pub fn parse(arg: Option<&[u8]>) -> Option<StatsGroup> {
        Some(match arg {
            None => StatsGroup::General,
            Some(b"settings") => StatsGroup::Settings,
            Some(b"items") => StatsGroup::Items,
            Some(b"slabs") => StatsGroup::Slabs,
            Some(b"sizes") => StatsGroup::Sizes,
            Some(_) => return None,
        })
    }
}

/// Emits every statistic of `group` into `sink`, without a terminator.
pub fn write_stats_group(
    group: StatsGroup,
    store: &Store,
    server: &ServerStats,
    now: u32,
    sink: &mut dyn StatSink,
) {
    match group {
        StatsGroup::General => write_general_stats(store, server, now, sink),
        StatsGroup::Settings => write_settings(store, server, sink),
        StatsGroup::Items => write_items(store, now, sink),
        StatsGroup::Slabs => write_slabs(store, sink),
        StatsGroup::Sizes => sink.stat("sizes_status", &"disabled"),
    }
}

struct Seconds(Duration);

impl std::fmt::Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:06}", self.0.as_secs(), self.0.subsec_micros())
    }
}

/// The general `stats`, in memcached 1.6's order (`server_stats`), limited to the
/// figures Torsion has.
fn write_general_stats(store: &Store, server: &ServerStats, now: u32, out: &mut dyn StatSink) {
    let s = store.stats();
    out.stat("pid", &server.pid);
    out.stat("uptime", &now.saturating_sub(server.started));
    out.stat("time", &now);
    out.stat("version", &server.version);
    out.stat("pointer_size", &usize::BITS);
    out.stat("rusage_user", &Seconds(server.rusage_user));
    out.stat("rusage_system", &Seconds(server.rusage_system));
    out.stat("max_connections", &server.max_connections);
    out.stat("curr_connections", &server.curr_connections);
    out.stat("total_connections", &server.total_connections);
    out.stat("rejected_connections", &server.rejected_connections);
    out.stat("connection_structures", &server.connection_structures);
    out.stat("cmd_get", &s.cmd_get);
    out.stat("cmd_set", &s.cmd_set);
    out.stat("cmd_flush", &s.cmd_flush);
    out.stat("cmd_touch", &s.cmd_touch);
    out.stat("get_hits", &s.get_hits);
    out.stat("get_misses", &s.get_misses);
    out.stat("get_expired", &s.get_expired);
    out.stat("get_flushed", &s.get_flushed);
    out.stat("delete_misses", &s.delete_misses);
    out.stat("delete_hits", &s.delete_hits);
    out.stat("incr_misses", &s.incr_misses);
    out.stat("incr_hits", &s.incr_hits);
    out.stat("decr_misses", &s.decr_misses);
    out.stat("decr_hits", &s.decr_hits);
    out.stat("cas_misses", &s.cas_misses);
    out.stat("cas_hits", &s.cas_hits);
    out.stat("cas_badval", &s.cas_badval);
    out.stat("touch_hits", &s.touch_hits);
    out.stat("touch_misses", &s.touch_misses);
    out.stat("store_too_large", &s.store_too_large);
    out.stat("store_no_memory", &s.store_no_memory);
    out.stat("auth_cmds", &0);
    out.stat("auth_errors", &0);
    out.stat("bytes_read", &server.bytes_read);
    out.stat("bytes_written", &server.bytes_written);
    out.stat("limit_maxbytes", &store.config().max_bytes);
    out.stat("accepting_conns", &u8::from(server.accepting_conns));
    out.stat("threads", &server.threads);
    out.stat("hash_bytes", &store.hash_bytes());
    out.stat("hash_is_expanding", &0);
    out.stat("bytes", &store.bytes());
    out.stat("curr_items", &store.curr_items());
    out.stat("total_items", &s.total_items);
    out.stat("expired_unfetched", &s.expired_unfetched);
    out.stat("evicted_unfetched", &s.evicted_unfetched);
    out.stat("evictions", &s.evictions);
    out.stat("reclaimed", &s.reclaimed);
    out.stat("crawler_reclaimed", &s.crawler_reclaimed);
    for (name, value) in &server.reactor {
        out.stat(name, &value);
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// `stats settings`: the settings Torsion honours, with memcached's names.
fn write_settings(store: &Store, server: &ServerStats, out: &mut dyn StatSink) {
    let c = store.config();
    out.stat("maxbytes", &c.max_bytes);
    out.stat("maxconns", &server.max_connections);
    out.stat("tcpport", &server.tcp_port);
    out.stat("udpport", &server.udp_port);
    out.stat("verbosity", &server.verbosity);
    out.stat("evictions", &on_off(c.evict));
    out.stat("num_threads", &server.threads);
    out.stat("cas_enabled", &"yes");
    out.stat("binding_protocol", &server.binding_protocol);
    out.stat("item_size_max", &c.item_size_max);
    out.stat("flush_enabled", &"yes");
    out.stat("lru_crawler", &"yes");
}

/// `stats items`: Torsion has one LRU, reported as class 1 (nothing when empty,
/// as memcached prints only classes holding items).
fn write_items(store: &Store, now: u32, out: &mut dyn StatSink) {
    if store.curr_items() == 0 {
        return;
    }
    let s = store.stats();
    let age = store.oldest_age(now).unwrap_or(0);
    let rows: [(&str, u64); 10] = [
        ("number", store.curr_items() as u64),
        ("age", u64::from(age)),
        ("evicted", s.evictions),
        ("evicted_nonzero", 0),
        ("evicted_time", s.evicted_time),
        ("outofmemory", s.outofmemory),
        ("reclaimed", s.reclaimed),
        ("expired_unfetched", s.expired_unfetched),
        ("evicted_unfetched", s.evicted_unfetched),
        ("crawler_reclaimed", s.crawler_reclaimed),
    ];
    for (name, value) in rows {
        out.stat(&format!("items:1:{name}"), &value);
    }
}

/// `stats slabs`: one "class" of fixed-size records; a chunk is a record (the
/// key + value allocation is separate), so `chunk_size` is the record size.
fn write_slabs(store: &Store, out: &mut dyn StatSink) {
    let s = store.stats();
    if store.slots() > 0 {
        let rows: [(&str, u64); 12] = [
            ("chunk_size", RECORD_BYTES as u64),
            ("total_chunks", store.slots() as u64),
            ("used_chunks", store.curr_items() as u64),
            ("free_chunks", (store.slots() - store.curr_items()) as u64),
            ("get_hits", s.get_hits),
            ("cmd_set", s.cmd_set),
            ("delete_hits", s.delete_hits),
            ("incr_hits", s.incr_hits),
            ("decr_hits", s.decr_hits),
            ("cas_hits", s.cas_hits),
            ("cas_badval", s.cas_badval),
            ("touch_hits", s.touch_hits),
        ];
        for (name, value) in rows {
            out.stat(&format!("1:{name}"), &value);
        }
    }
    out.stat("active_slabs", &u8::from(store.curr_items() > 0));
    out.stat("total_malloced", &store.bytes());
}
