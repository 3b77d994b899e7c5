//! memcached's log watchers (`watch`): connections that receive a line per
//! event (an item read or stored, a connection opened or closed) in
//! memcached's format, `ts=SECS.MICROS gid=N type=KIND key=value ...`.
//!
//! An event is formatted once, then copied into each interested watcher's
//! bounded buffer ([`DEFAULT_WATCHER_BUFFER`], `-o watcher_logbuf_size`).
//! The connection layer drains the buffers into the watchers' transports
//! on the reactor's next turn, and stops while a watcher's peer is not
//! reading. A line that does not fit is dropped and counted; the next line
//! that fits is preceded by `skipped=N` (memcached 1.6.18's bare line).
//! So a slow watcher costs the loop at most one formatted line per event,
//! never a block.
//!
//! Keys are URL-encoded as memcached does (every byte outside
//! `A-Za-z0-9-_.~` becomes `%XX`).

use torsion::ConnectionId;
use torsion_protocols::memcache::text::WatchKinds;

use super::dialect::ExecCtx;
use super::store::{StoreError, StoreOutcome};

/// A watcher's buffer when `-o watcher_logbuf_size` does not set it
/// (memcached's default, 256 KB).
pub const DEFAULT_WATCHER_BUFFER: usize = 256 * 1024;

/// One event, as the watchers see it.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// An item looked up: `Some((class, value size))` when found.
    ItemGet {
        /// The key.
        key: &'a [u8],
        /// Its class and value size, if found.
        found: Option<(u8, usize)>,
    },
    /// A storage command's outcome.
    ItemStore {
        /// The key.
        key: &'a [u8],
        /// `stored`, `not_stored`, `exists`, `not_found`.
        status: &'static str,
        /// `set`, `add`, `replace`, `append`, `prepend`, `cas`.
        cmd: &'static str,
        /// The exptime asked for.
        ttl: i64,
        /// The class the item went to (0 when not stored).
        clsid: u8,
        /// The value's size.
        size: usize,
    },
    /// An item evicted to make room.
    Eviction {
        /// The key.
        key: &'a [u8],
        /// Whether it was ever read.
        fetched: bool,
        /// Seconds it had left (-1: no expiry).
        ttl: i64,
        /// Seconds since its last access.
        last_access: u32,
        /// Its size class.
        clsid: u8,
    },
    /// A connection opened.
    ConnNew {
        /// Peer address and port.
        peer: (&'a str, u16),
        /// The connection's `stats conns` id.
        cfd: u64,
    },
    /// A connection closed: `error` tells a protocol error from a normal end.
    ConnClose {
        /// Peer address and port.
        peer: (&'a str, u16),
        /// Whether it closed on a protocol error.
        error: bool,
        /// The connection's `stats conns` id.
        cfd: u64,
    },
}

impl Event<'_> {
    fn kind(&self) -> WatchKinds {
        match self {
            Event::ItemGet { .. } => WatchKinds::FETCHERS,
            Event::ItemStore { .. } => WatchKinds::MUTATIONS,
            Event::Eviction { .. } => WatchKinds::EVICTIONS,
            Event::ConnNew { .. } | Event::ConnClose { .. } => WatchKinds::CONNEVENTS,
        }
    }

    /// Writes the event's fields after `type=`.
    fn write(&self, cfd: u64, out: &mut Vec<u8>) {
        use std::io::Write;
        match *self {
            Event::ItemGet { key, found } => {
                out.extend_from_slice(b"item_get key=");
                url_encode(key, out);
                let (status, clsid, size) = match found {
                    Some((clsid, size)) => ("found", clsid, size),
                    None => ("not_found", 0, 0),
                };
                let _ = write!(out, " status={status} clsid={clsid} cfd={cfd} size={size}");
            }
            Event::ItemStore {
                key,
                status,
                cmd,
                ttl,
                clsid,
                size,
            } => {
                out.extend_from_slice(b"item_store key=");
                url_encode(key, out);
                let _ = write!(
                    out,
                    " status={status} cmd={cmd} ttl={ttl} clsid={clsid} cfd={cfd} size={size}"
                );
            }
            Event::Eviction {
                key,
                fetched,
                ttl,
                last_access,
                clsid,
            } => {
                out.extend_from_slice(b"eviction key=");
                url_encode(key, out);
                let fetch = if fetched { "yes" } else { "no" };
                let _ = write!(out, " fetch={fetch} ttl={ttl} la={last_access} clsid={clsid}");
            }
            Event::ConnNew { peer, cfd } => {
                let _ = write!(
                    out,
                    "conn_new rip={} rport={} transport=tcp cfd={cfd}",
                    peer.0, peer.1
                );
            }
            Event::ConnClose { peer, error, cfd } => {
                let reason = if error { "error" } else { "normal" };
                let _ = write!(
                    out,
                    "conn_close rip={} rport={} transport=tcp reason={reason} cfd={cfd}",
                    peer.0, peer.1
                );
            }
        }
    }
}

/// The hooks every executor (text, meta and binary) calls, so that a watcher
/// sees the same lines whatever protocol a client speaks: memcached logs
/// from its item layer, below the protocols.
impl ExecCtx<'_> {
    /// Logs a lookup of `key` (`item_get`) as the store holds it now:
    /// memcached looks the item up before every read, store, delete, touch
    /// and arithmetic, and that lookup is what fetchers watchers see.
    pub fn watch_lookup(&mut self, key: &[u8]) {
        if self.server.watch.wants(WatchKinds::FETCHERS) {
            let found = self
                .store
                .peek(key, self.now)
                .map(|i| (i.class(), i.value().len()));
            self.server.watch.log(Event::ItemGet { key, found });
        }
    }

    /// Before a command that may store: the store keeps what it evicts
    /// while an evictions watcher is attached.
    pub fn watch_store_begin(&mut self) {
        let wanted = self.server.watch.wants(WatchKinds::EVICTIONS);
        self.store.record_evictions(wanted);
    }

    /// After a command that may store: logs what it evicted, then the
    /// store's outcome (`item_store`) for `cmd` (`set`, `add`, `cas`, ...)
    /// with the exptime asked for and the size of the data sent.
    pub fn watch_store_end(&mut self, key: &[u8], store: StoreLog) {
        for gone in self.store.take_evictions() {
            self.server.watch.log(Event::Eviction {
                key: &gone.key,
                fetched: gone.fetched,
                ttl: gone.ttl,
                last_access: gone.last_access,
                clsid: gone.class,
            });
        }
        if self.server.watch.wants(WatchKinds::MUTATIONS) {
            // After an append the item is the whole new value.
            let (clsid, size) = match self.store.peek(key, self.now) {
                Some(i) if store.status == "stored" => (i.class(), i.value().len()),
                Some(i) => (i.class(), store.size),
                None => (0, store.size),
            };
            self.server.watch.log(Event::ItemStore {
                key,
                status: store.status,
                cmd: store.cmd,
                ttl: store.ttl,
                clsid,
                size,
            });
        }
    }
}

/// What a storage command did, for [`ExecCtx::watch_store_end`].
#[derive(Debug, Clone, Copy)]
pub struct StoreLog {
    /// `stored`, `not_stored`, `exists` or `not_found` ([`store_status`]).
    pub status: &'static str,
    /// `set`, `add`, `replace`, `append`, `prepend` or `cas`.
    pub cmd: &'static str,
    /// The exptime asked for.
    pub ttl: i64,
    /// The size of the data sent.
    pub size: usize,
}

/// A store outcome as log lines name it.
pub fn store_status(outcome: &Result<StoreOutcome, StoreError>) -> &'static str {
    match outcome {
        Ok(StoreOutcome::Stored { .. }) => "stored",
        Ok(StoreOutcome::Exists) => "exists",
        Ok(StoreOutcome::NotFound) => "not_found",
        Ok(StoreOutcome::NotStored) | Err(_) => "not_stored",
    }
}

/// Appends `key` URL-encoded as memcached writes keys in log lines.
pub fn url_encode(key: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in key {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
}

/// One watcher connection.
#[derive(Debug, Clone, PartialEq)]
struct Watcher<I> {
    id: I,
    kinds: WatchKinds,
    buf: Vec<u8>,
    skipped: u64,
}

/// Every watcher, and the figures `stats` reports about them.
#[derive(Debug, Clone, PartialEq)]
pub struct Watchers<I = ConnectionId> {
    list: Vec<Watcher<I>>,
    /// Bytes a watcher may hold before lines are dropped.
    capacity: usize,
    /// The next event's global id.
    gid: u64,
    /// Now, in microseconds since the epoch (set by the connection layer
    /// from the reactor's clock before each batch).
    now_us: u64,
    /// The `stats conns` id of the connection whose requests run now.
    pub cfd: u64,
    /// A `watch` just executed: the connection layer turns its connection
    /// into a watcher.
    pub requested: Option<WatchKinds>,
    /// A drain of the buffers is queued on the reactor.
    pub flush_queued: bool,
    /// Lines written to watcher buffers (`log_watcher_sent`).
    pub sent: u64,
    /// Lines dropped for full buffers (`log_watcher_skipped`).
    pub skipped: u64,
    /// Events logged (`log_worker_written`).
    pub written: u64,
}

impl<I: Copy + PartialEq> Watchers<I> {
    /// No watcher; each will hold at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        Watchers {
            list: Vec::new(),
            capacity,
            gid: 1,
            now_us: 0,
            cfd: 0,
            requested: None,
            flush_queued: false,
            sent: 0,
            skipped: 0,
            written: 0,
        }
    }

    /// How many watchers are attached (`log_watchers`).
    pub fn count(&self) -> usize {
        self.list.len()
    }

    /// Whether any watcher wants `kind` (callers skip building events
    /// nobody reads).
    pub fn wants(&self, kind: WatchKinds) -> bool {
        self.list.iter().any(|w| w.kinds.contains(kind))
    }

    /// Sets the time stamped on the next events.
    pub fn set_clock(&mut self, now_us: u64) {
        self.now_us = now_us;
    }

    /// Attaches connection `id` as a watcher of `kinds` (a bare `watch`
    /// watches fetchers).
    pub fn add(&mut self, id: I, kinds: WatchKinds) {
        let kinds = if kinds.is_empty() {
            WatchKinds::FETCHERS
        } else {
            kinds
        };
        self.list.push(Watcher {
            id,
            kinds,
            buf: Vec::new(),
            skipped: 0,
        });
    }

    /// Detaches connection `id` (it closed).
    pub fn remove(&mut self, id: I) {
        self.list.retain(|w| w.id != id);
    }

    /// Logs `event` to every watcher that wants its kind.
    pub fn log(&mut self, event: Event<'_>) {
        let kind = event.kind();
        if !self.wants(kind) {
            return;
        }
        self.written += 1;
        let gid = self.gid;
        self.gid += 1;
        let mut line = Vec::with_capacity(128);
        self.stamp(gid, &mut line);
        event.write(self.cfd, &mut line);
        line.push(b'\n');
        for w in self.list.iter_mut().filter(|w| w.kinds.contains(kind)) {
            let note = if w.skipped > 0 {
                format!("skipped={}\n", w.skipped)
            } else {
                String::new()
            };
            if w.buf.len() + note.len() + line.len() > self.capacity {
                w.skipped += 1;
                self.skipped += 1;
                continue;
            }
            w.buf.extend_from_slice(note.as_bytes());
            w.skipped = 0;
            w.buf.extend_from_slice(&line);
            self.sent += 1;
        }
    }

    fn stamp(&self, gid: u64, out: &mut Vec<u8>) {
        use std::io::Write;
        let (secs, micros) = (self.now_us / 1_000_000, self.now_us % 1_000_000);
        let _ = write!(out, "ts={secs}.{micros:06} gid={gid} type=");
    }

    /// Whether some watcher has lines waiting.
    pub fn has_pending(&self) -> bool {
        self.list.iter().any(|w| !w.buf.is_empty())
    }

    /// The watchers with lines waiting.
    pub fn pending(&self) -> Vec<I> {
        self.list
            .iter()
            .filter(|w| !w.buf.is_empty())
            .map(|w| w.id)
            .collect()
    }

    /// Takes watcher `id`'s waiting lines.
    pub fn take(&mut self, id: I) -> Vec<u8> {
        self.list
            .iter_mut()
            .find(|w| w.id == id)
            .map(|w| std::mem::take(&mut w.buf))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> u32 {
        n
    }

    #[test]
    fn keys_are_url_encoded() {
        let mut out = Vec::new();
        url_encode(b"a#b%20~Z", &mut out);
        assert_eq!(out, b"a%23b%2520~Z");
    }

    #[test]
    fn lines_in_memcached_format_for_the_kinds_asked() {
        let mut w = Watchers::<u32>::new(DEFAULT_WATCHER_BUFFER);
        w.add(id(1), WatchKinds::FETCHERS);
        w.set_clock(1_700_000_000_000_123);
        w.cfd = 7;
        w.log(Event::ItemGet {
            key: b"foo",
            found: Some((1, 5)),
        });
        w.log(Event::ItemStore {
            key: b"foo",
            status: "stored",
            cmd: "set",
            ttl: 0,
            clsid: 1,
            size: 5,
        });
        let text = String::from_utf8(w.take(id(1))).unwrap();
        assert_eq!(
            text,
            "ts=1700000000.000123 gid=1 type=item_get key=foo status=found clsid=1 cfd=7 size=5\n"
        );
        assert_eq!((w.written, w.sent), (1, 1), "the store had no watcher");
    }

    #[test]
    fn a_full_buffer_drops_lines_and_reports_them_once_there_is_room() {
        let mut w = Watchers::<u32>::new(200);
        w.add(id(1), WatchKinds::FETCHERS);
        for _ in 0..10 {
            w.log(Event::ItemGet {
                key: b"k",
                found: None,
            });
        }
        assert!(w.skipped > 0);
        let first = w.take(id(1));
        assert!(first.len() <= 200);
        w.log(Event::ItemGet {
            key: b"k",
            found: None,
        });
        let text = String::from_utf8(w.take(id(1))).unwrap();
        assert!(text.starts_with(&format!("skipped={}\n", w.skipped)), "{text}");
        assert!(text.ends_with("cfd=0 size=0\n"));
    }
}
