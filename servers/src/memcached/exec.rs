//! Executes parsed text-protocol requests against the [`Store`] and writes
//! memcached's exact replies, sans-I/O: [`TextExec`], the classic commands'
//! [`Execute`].
//!
//! It runs one request (with its data block for a storage command),
//! mutates the store, and appends the reply bytes to `out` (nothing under
//! `noreply`); it answers a refused command line, a storage command whose
//! block is too large to keep (the session swallows the block), and a block
//! not followed by `\r\n`. The [`session`](super::session) module strings
//! these together into a conversation.
//!
//! The server's own counters (connections, uptime, reactor figures) belong to the
//! connection layer; it keeps them in a [`ServerStats`] that `stats` reads and
//! `stats reset` / `verbosity` update.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::text::RequestDecoder;
//! use torsion_protocols::{Decoder, Parsed};
//! use torsion_servers::memcached::dialect::{Effect, ExecCtx, Execute};
//! use torsion_servers::memcached::exec::{ServerStats, TextExec};
//! use torsion_servers::memcached::store::{Store, StoreConfig};
//!
//! let now = 1_700_000_000;
//! let mut store = Store::new(StoreConfig::default());
//! let mut server = ServerStats::new(now);
//! let mut out = Vec::new();
//! let mut cx = ExecCtx { store: &mut store, server: &mut server, now, out: &mut out };
//! let Parsed::Complete(request, _) = RequestDecoder::default().decode(b"incr hits 1\r\n") else { unreachable!() };
//! assert_eq!(TextExec.execute(&mut cx, &request, b""), Effect::Continue);
//! assert_eq!(out, b"NOT_FOUND\r\n");
//! ```

use std::time::Duration;

use torsion_protocols::memcache::text::{
    write_number, write_stat, write_value, write_version, ArithOp, ErrorKind, Reply, Request, RequestError,
    ShutdownMode, StorageCommand, StorageHeader, WatchKinds, Words,
};

use super::admin::{self, DebugClock};
use super::auth::AuthCounts;
use super::conn_table::ConnTable;
use super::crawler::{self, Crawler};
use super::detail::PrefixStats;
use super::dialect::{Effect, ExecCtx, Execute, Part, Step};
use super::settings::Options;
use super::stats_report;
use super::store::{
    DeleteOutcome, Delta, DeltaError, DeltaOp, DeltaOutcome, Store, StoreError, StoreMode, StoreOutcome,
    TouchOutcome,
};
use super::watch::{Event, Watchers, DEFAULT_WATCHER_BUFFER};

/// The version `version` and `stats` report. libmemcached reads it with `strtol`
/// per component (so the suffix after `1.6.38` is ignored and it sees 1.6.38);
/// pymemcache returns the string as is.
pub const VERSION: &str = "1.6.38-torsion";

/// memcached's `MAX_VERBOSITY_LEVEL`: `verbosity` clamps to it.
pub const MAX_VERBOSITY: u32 = 2;

/// The server's own figures, owned and updated by the connection layer, read by
/// `stats` and `stats settings`. Fields that need a system call (`rusage_*`)
/// can be refreshed when the request is [`Request::Stats`].
#[derive(Debug, Clone, PartialEq)]
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
    /// Connections closed by the idle timeout; `None` without one (`stats`
    /// shows it only with `-o idle_timeout`, as memcached).
    pub idle_kicks: Option<u64>,
    /// Connection records allocated.
    pub connection_structures: u64,
    /// Whether the listener is accepting.
    pub accepting_conns: bool,
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
    /// The reactor's counters (wakeups, timers, ...), for `stats reactor`.
    pub reactor: Vec<(&'static str, u64)>,
    /// The command line's settings (`stats settings`, and what `-A -C -F
    /// -D -R -o debug_time` allow or change).
    pub options: Options,
    /// Times a connection stopped with requests left, to let the others run
    /// (its `-R` request budget or its output budget was spent).
    pub conn_yields: u64,
    /// Times the listener stopped accepting (out of file descriptors).
    pub listen_disabled_num: u64,
    /// `stats detail`'s per-prefix counters.
    pub detail: PrefixStats,
    /// `stats conns`'s table.
    pub conns: ConnTable,
    /// Set by `shutdown` (with `-A`): the connection layer stops the server.
    pub shutdown: Option<ShutdownMode>,
    /// The clock as `debugtime` moved it.
    pub clock: DebugClock,
    /// `auth_cmds` and `auth_errors` (with `-Y`).
    pub auth_counts: AuthCounts,
    /// Replies refused for the connection memory limit (`response_obj_oom`).
    pub response_obj_oom: u64,
    /// The LRU crawler's state (`lru_crawler ...`).
    pub crawler: Crawler,
    /// The log watchers (`watch`).
    pub watch: Watchers,
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
            idle_kicks: None,
            connection_structures: 0,
            accepting_conns: true,
            bytes_read: 0,
            bytes_written: 0,
            tcp_port: 11211,
            udp_port: 0,
            verbosity: 0,
            reactor: Vec::new(),
            options: Options::default(),
            conn_yields: 0,
            listen_disabled_num: 0,
            detail: PrefixStats::new(b':'),
            conns: ConnTable::default(),
            shutdown: None,
            clock: DebugClock::default(),
            auth_counts: AuthCounts::default(),
            response_obj_oom: 0,
            crawler: Crawler::default(),
            watch: Watchers::new(DEFAULT_WATCHER_BUFFER),
        }
    }

    /// Figures for a server started at `started` with these settings.
    pub fn with_options(started: u32, options: Options) -> Self {
        let mut stats = ServerStats::new(started);
        stats.detail = PrefixStats::new(options.prefix_delimiter);
        stats.detail.set_enabled(options.detail_enabled);
        stats.watch = Watchers::new(options.watcher_logbuf_size as usize);
        stats.options = options;
        stats
    }

    /// Zeroes the cumulative counters, as `stats reset` does in memcached.
    pub fn reset(&mut self) {
        self.total_connections = 0;
        self.rejected_connections = 0;
        if let Some(kicks) = &mut self.idle_kicks {
            *kicks = 0;
        }
        self.bytes_read = 0;
        self.bytes_written = 0;
        for (_, value) in &mut self.reactor {
            *value = 0;
        }
        self.conn_yields = 0;
        self.detail.clear();
        self.auth_counts = AuthCounts::default();
    }
}

fn reply(out: &mut Vec<u8>, noreply: bool, r: Reply) {
    if !noreply {
        r.write(out);
    }
}

/// The classic text commands' executor.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextExec;

impl Execute for TextExec {
    type Request<'a> = Request<'a>;
    type Error = RequestError;

    /// Runs one request; `data` is a storage command's data block.
    fn execute(&mut self, cx: &mut ExecCtx<'_>, request: &Request<'_>, data: &[u8]) -> Effect {
        execute(request, data, cx)
    }

    /// `get`, `gets`, `gat` and `gats` answer key by key, and stop between
    /// keys once the replies pass the budget; the others run whole.
    fn execute_part(&mut self, cx: &mut ExecCtx<'_>, request: &Request<'_>, data: &[u8], part: Part) -> Step {
        match *request {
            Request::Get { keys, cas } => get_values(cx, keys, None, cas, part),
            Request::GetAndTouch { exptime, keys, cas } => {
                get_values(cx, keys, Some(i64::from(exptime)), cas, part)
            }
            Request::LruCrawler(command) => crawler::execute(command, cx, part.done),
            _ => Step::Done(execute(request, data, cx)),
        }
    }

    /// Answers a refused command line; [`Effect::Close`] when the connection
    /// must close (a line too long).
    fn refuse(&mut self, cx: &mut ExecCtx<'_>, error: &RequestError) -> Effect {
        if error.kind == ErrorKind::InvalidFlushDelay && !cx.server.options.flush_enabled {
            // -F: every flush_all is refused before its delay is read.
            reply(cx.out, error.noreply, Reply::FlushNotAllowed);
            return Effect::Continue;
        }
        match error.kind.reply() {
            Some(r) => {
                reply(cx.out, error.noreply, r);
                Effect::Continue
            }
            None => Effect::Close,
        }
    }

    /// Answers a storage command whose item would exceed the item size limit:
    /// `SERVER_ERROR object too large for cache` (unless `noreply`), and a `set`
    /// drops the key's old value, as memcached does.
    fn too_large(&mut self, cx: &mut ExecCtx<'_>, request: &Request<'_>) {
        if let Request::Storage(header) = request {
            let (mode, cas) = storage_mode(header);
            cx.store.refuse_too_large_cas(mode, header.key, cas, cx.now);
            reply(cx.out, header.noreply, Reply::TooLarge);
        }
    }

    /// Answers a data block not terminated by `\r\n`: `CLIENT_ERROR bad data
    /// chunk` (unless `noreply`). Nothing is stored.
    fn bad_chunk(&mut self, cx: &mut ExecCtx<'_>, request: &Request<'_>) {
        if let Request::Storage(header) = request {
            reply(cx.out, header.noreply, Reply::BadDataChunk);
        }
    }
}

/// Answers the keys of a `get` (`touch`: a `gat`) from `part.done` on, one
/// `VALUE` per hit, and `END` after the last; stops between keys once `out`
/// reaches `part.budget`.
fn get_values(cx: &mut ExecCtx<'_>, keys: Words<'_>, touch: Option<i64>, cas: bool, part: Part) -> Step {
    // -o read_buf_mem_limit: more keys than reply parts allowed.
    if part.done == 0 {
        if let Some(max) = super::limits::response_parts(&cx.server.options) {
            if keys.iter().nth(max).is_some() {
                cx.server.response_obj_oom += 1;
                cx.out
                    .extend_from_slice(b"SERVER_ERROR out of memory writing get response\r\n");
                return Step::Done(Effect::Continue);
            }
        }
    }
    let mut done = part.done;
    let mut keys = keys.iter().skip(done).peekable();
    while let Some(key) = keys.next() {
        let item = match touch {
            None => cx.store.get(key, cx.now),
            Some(exptime) => cx.store.get_and_touch(key, exptime, cx.now),
        };
        if cx.server.detail.enabled() {
            cx.server.detail.record_get(key, item.is_some());
        }
        if cx.server.watch.wants(WatchKinds::FETCHERS) {
            let found = item.as_ref().map(|i| (i.class(), i.value().len()));
            cx.server.watch.log(Event::ItemGet { key, found });
        }
        if let Some(item) = item {
            // -C: no CAS uniques; they read 0.
            let unique = cas.then(|| {
                if cx.server.options.cas_enabled {
                    item.cas()
                } else {
                    0
                }
            });
            write_value(cx.out, key, item.flags(), item.value(), unique);
        }
        done += 1;
        if cx.out.len() >= part.budget && keys.peek().is_some() {
            return Step::Suspended { done };
        }
    }
    Reply::End.write(cx.out);
    Step::Done(Effect::Continue)
}

fn execute(request: &Request<'_>, data: &[u8], cx: &mut ExecCtx<'_>) -> Effect {
    if let Some(effect) = admin::execute(request, cx) {
        return effect;
    }
    if let Request::Get { .. } | Request::GetAndTouch { .. } = request {
        return match TextExec.execute_part(cx, request, data, Part::WHOLE) {
            Step::Done(effect) => effect,
            // Never: an unlimited budget does not suspend.
            Step::Suspended { .. } => Effect::Continue,
        };
    }
    if let Request::LruCrawler(command) = *request {
        // Run whole, without a connection to stream a dump: refused.
        if let Step::Suspended { .. } = crawler::execute(command, cx, 0) {
            let _ = cx.server.crawler.take_dump();
            cx.out.extend_from_slice(crawler::DUMP_NEEDS_STREAM);
        }
        return Effect::Continue;
    }
    let (store, server, now, out) = (&mut *cx.store, &mut *cx.server, cx.now, &mut *cx.out);
    // -C: no CAS uniques; they read 0.
    let cas_on = server.options.cas_enabled;
    if let Request::Delete { key, .. } | Request::Arith { key, .. } | Request::Touch { key, .. } = *request {
        // memcached looks the item up first: fetchers watchers see it.
        if server.watch.wants(WatchKinds::FETCHERS) {
            let found = store.peek(key, now).map(|i| (i.class(), i.value().len()));
            server.watch.log(Event::ItemGet { key, found });
        }
    }
    match *request {
        Request::Get { .. } | Request::GetAndTouch { .. } => {}
        Request::Storage(mut header) => {
            if server.detail.enabled() {
                server.detail.record_set(header.key);
            }
            if !cas_on && header.command == StorageCommand::Cas {
                // -C: no item has a unique to match, so a `cas` of an
                // existing item answers EXISTS whatever it names, as in
                // memcached (internal uniques never reach u64::MAX).
                header.cas_unique = u64::MAX;
            }
            if server.watch.wants(WatchKinds::FETCHERS) {
                // memcached looks the key up before storing: watchers see it.
                let found = store.peek(header.key, now).map(|i| (i.class(), i.value().len()));
                server.watch.log(Event::ItemGet {
                    key: header.key,
                    found,
                });
            }
            store.record_evictions(server.watch.wants(WatchKinds::EVICTIONS));
            let status = execute_storage(&header, data, store, now, out);
            for gone in store.take_evictions() {
                server.watch.log(Event::Eviction {
                    key: &gone.key,
                    fetched: gone.fetched,
                    ttl: gone.ttl,
                    last_access: gone.last_access,
                    clsid: gone.class,
                });
            }
            if server.watch.wants(WatchKinds::MUTATIONS) {
                // After an append the item is the whole new value.
                let (clsid, size) = match store.peek(header.key, now) {
                    Some(i) if status == "stored" => (i.class(), i.value().len()),
                    Some(i) => (i.class(), data.len()),
                    None => (0, data.len()),
                };
                server.watch.log(Event::ItemStore {
                    key: header.key,
                    status,
                    cmd: storage_name(header.command),
                    ttl: i64::from(header.exptime),
                    clsid,
                    size,
                });
            }
        }
        Request::Watch { kinds } => {
            if server.options.watch_enabled {
                server.watch.requested = Some(kinds);
                Reply::Ok.write(out);
            } else {
                out.extend_from_slice(b"CLIENT_ERROR watch commands not allowed\r\n");
            }
        }
        Request::Delete { key, noreply } => {
            if server.detail.enabled() {
                server.detail.record_delete(key);
            }
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
        // Answered by admin::execute above.
        Request::FlushAll { .. }
        | Request::Stats { .. }
        | Request::Verbosity { .. }
        | Request::Shutdown { .. }
        | Request::Slabs { .. }
        | Request::DebugTime(_)
        | Request::LruCrawler(_) => {}
        Request::Version => write_version(out, server.version),
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

/// Runs a storage command; returns its outcome as log lines name it.
fn execute_storage(
    header: &StorageHeader<'_>,
    data: &[u8],
    store: &mut Store,
    now: u32,
    out: &mut Vec<u8>,
) -> &'static str {
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
    match r {
        Reply::Stored => "stored",
        Reply::Exists => "exists",
        Reply::NotFound => "not_found",
        _ => "not_stored",
    }
}

/// A storage command's name in log lines.
fn storage_name(command: StorageCommand) -> &'static str {
    match command {
        StorageCommand::Set => "set",
        StorageCommand::Add => "add",
        StorageCommand::Replace => "replace",
        StorageCommand::Append => "append",
        StorageCommand::Prepend => "prepend",
        StorageCommand::Cas => "cas",
    }
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
        StatsGroup::General => stats_report::write_general_stats(store, server, now, sink),
        StatsGroup::Settings => stats_report::write_settings(store.config(), server, sink),
        StatsGroup::Items => super::class_report::write_items(store, now, sink),
        StatsGroup::Slabs => super::class_report::write_slabs(store, sink),
        StatsGroup::Sizes => super::class_report::write_sizes(store, sink),
    }
}

#[cfg(test)]
mod tests {
    use crate::memcached::dialect::Ascii;
    use crate::memcached::testkit::{self, NOW};

    type Conversation = testkit::Conversation<Ascii>;

    #[test]
    fn transcripts() {
        testkit::transcript(include_str!("transcripts/text.txt"));
    }

    #[test]
    fn out_of_memory_without_eviction() {
        let mut c = Conversation::with("pages=1 evict=no");
        c.expect(b"set a 0 0 50\r\n", b"");
        c.expect(&[b'x'; 52][..50], b"");
        c.expect(b"\r\n", b"STORED\r\n");
        c.expect(
            &[&b"set b 0 0 60\r\n"[..], &[b'y'; 60], b"\r\n"].concat(),
            b"SERVER_ERROR out of memory storing object\r\n",
        );
        c.expect(
            b"get a b\r\n",
            &[&b"VALUE a 0 50\r\n"[..], &[b'x'; 50], b"\r\nEND\r\n"].concat(),
        );
        assert_eq!(c.stat("store_no_memory"), "1");
    }

    #[test]
    fn a_cas_too_large_keeps_the_item() {
        let mut c = Conversation::with("item_size_max=1024");
        c.expect(b"set k 0 0 1\r\nv\r\n", b"STORED\r\n");
        let too_large = b"SERVER_ERROR object too large for cache\r\n";
        // memcached drops the old item on a refused set, never on a cas.
        for unique in ["1", "99"] {
            c.expect(format!("cas k 0 0 2000 {unique}\r\n").as_bytes(), too_large);
            c.expect(&[b'z'; 2002], b"");
            c.expect(b"get k\r\n", b"VALUE k 0 1\r\nv\r\nEND\r\n");
        }
        c.expect(b"set k 0 0 2000\r\n", too_large);
        c.expect(&[b'z'; 2002], b"");
        c.expect(b"get k\r\n", b"END\r\n");
    }

    #[test]
    fn bad_lines_then_a_good_one() {
        let mut c = Conversation::new();
        c.expect(b"set k 0 0 1\r\nv\r\n", b"STORED\r\n");
        let long_key = format!("get {}\r\n", "k".repeat(251));
        for (req, reply) in [
            (&b"bogus\r\n"[..], &b"ERROR\r\n"[..]),
            (b"\r\n", b"ERROR\r\n"),
            (b"GET k\r\n", b"ERROR\r\n"),
            (long_key.as_bytes(), b"CLIENT_ERROR bad command line format\r\n"),
            (b"set k 0 0 -1\r\n", b"CLIENT_ERROR bad command line format\r\n"),
            (b"set k 0 0\r\n", b"ERROR\r\n"),
            (b"verbosity\r\n", b"ERROR\r\n"),
            (b"shutdown\r\n", b"ERROR: shutdown not enabled\r\n"),
            (b"stats nonsense\r\n", b"ERROR\r\n"),
        ] {
            c.expect(req, reply);
            c.expect(b"get k\r\n", b"VALUE k 0 1\r\nv\r\nEND\r\n");
        }
        // A refused storage line leaves its data to be read as a command.
        let long_set = format!("set {} 0 0 1\r\nv\r\n", "k".repeat(251));
        c.expect(
            long_set.as_bytes(),
            b"CLIENT_ERROR bad command line format\r\nERROR\r\n",
        );
        c.expect(b"get k\r\n", b"VALUE k 0 1\r\nv\r\nEND\r\n");
    }

    #[test]
    fn stats_output() {
        let mut c = Conversation::new();
        c.server.reactor.push(("reactor_wakeups", 7));
        c.expect(
            b"set a 0 0 1\r\n1\r\nget a nope\r\n",
            b"STORED\r\nVALUE a 0 1\r\n1\r\nEND\r\n",
        );
        let stats = String::from_utf8(c.send(b"stats\r\n")).unwrap();
        assert!(stats.starts_with(&format!(
            "STAT pid {}\r\nSTAT uptime 100\r\nSTAT time {NOW}\r\n",
            std::process::id()
        )));
        assert!(stats.ends_with("STAT lru_bumps_dropped 0\r\nEND\r\n"));
        for line in stats.lines() {
            assert!(line == "END" || line.split(' ').count() == 3, "{line}");
        }
        for (name, value) in [
            ("version", "1.6.38-torsion"),
            ("cmd_get", "2"),
            ("cmd_set", "1"),
            ("get_hits", "1"),
            ("get_misses", "1"),
            ("curr_items", "1"),
            ("total_items", "1"),
            ("bytes", "61"),
            ("limit_maxbytes", "67108864"),
            ("threads", "1"),
            ("rusage_user", "0.000000"),
        ] {
            assert_eq!(c.stat(name), value, "{name}");
        }
        let settings = c.send(b"stats settings\r\n");
        assert!(settings.starts_with(b"STAT maxbytes 67108864\r\n"));
        assert!(settings.ends_with(b"STAT memory_file (null)\r\nEND\r\n"));
        c.now += 5;
        let items = String::from_utf8(c.send(b"stats items\r\n")).unwrap();
        assert!(
            items.starts_with("STAT items:1:number 1\r\n") && items.contains("STAT items:1:age_hot 5\r\n"),
            "{items}"
        );
        let slabs = String::from_utf8(c.send(b"stats slabs\r\n")).unwrap();
        assert!(
            slabs.starts_with(
                "STAT 1:chunk_size 96\r\nSTAT 1:chunks_per_page 10922\r\nSTAT 1:total_pages 1\r\n"
            ),
            "{slabs}"
        );
        assert!(slabs.ends_with("STAT active_slabs 1\r\nSTAT total_malloced 1048576\r\nEND\r\n"));
        c.expect(b"stats sizes\r\n", b"STAT sizes_status disabled\r\nEND\r\n");
        c.expect(b"stats reset\r\n", b"RESET\r\n");
        assert_eq!(c.stat("get_hits"), "0");
        assert_eq!(c.stat("curr_items"), "1");
        c.expect(b"stats reactor\r\n", b"STAT reactor_wakeups 0\r\nEND\r\n");
        c.expect(b"delete a\r\n", b"DELETED\r\n");
        c.expect(b"stats items\r\n", b"END\r\n");
        c.expect(b"verbosity 5\r\n", b"OK\r\n");
        assert_eq!(c.server.verbosity, 2);
    }

    #[test]
    fn without_cas_uniques_read_zero_and_cas_never_matches() {
        let mut c = Conversation::new();
        c.server.options.cas_enabled = false;
        c.expect(b"set k 0 0 1\r\nv\r\n", b"STORED\r\n");
        c.expect(b"gets k\r\n", b"VALUE k 0 1 0\r\nv\r\nEND\r\n");
        c.expect(b"gats 0 k\r\n", b"VALUE k 0 1 0\r\nv\r\nEND\r\n");
        c.expect(b"cas k 0 0 1 1\r\nw\r\n", b"EXISTS\r\n");
        c.expect(b"cas k 0 0 1 0\r\nw\r\n", b"EXISTS\r\n");
        c.expect(b"cas nope 0 0 1 0\r\nw\r\n", b"NOT_FOUND\r\n");
        c.expect(b"get k\r\n", b"VALUE k 0 1\r\nv\r\nEND\r\n");
    }

    #[test]
    fn crawler_and_eviction_stats() {
        let mut c = Conversation::with("pages=3");
        c.expect(
            b"set a 0 1 1\r\n1\r\nset b 0 0 1\r\n2\r\nset c 0 0 1\r\n3\r\n",
            b"STORED\r\nSTORED\r\nSTORED\r\n",
        );
        c.now += 1 + crate::memcached::store::CRAWL_GRACE;
        assert_eq!(c.store.crawl(c.now, 10), 1);
        c.expect(
            b"set d 0 0 1\r\n4\r\nset e 0 0 1\r\n5\r\n",
            b"STORED\r\nSTORED\r\n",
        );
        assert_eq!(c.stat("crawler_reclaimed"), "1");
        assert_eq!(c.stat("expired_unfetched"), "1");
        assert_eq!(c.stat("evictions"), "1");
        assert_eq!(c.stat("evicted_unfetched"), "1");
        c.expect(
            b"get b c d e\r\n",
            b"VALUE c 0 1\r\n3\r\nVALUE d 0 1\r\n4\r\nVALUE e 0 1\r\n5\r\nEND\r\n",
        );
    }
}
