//! memcached's LRU crawler, sans-I/O: `lru_crawler enable|disable|crawl|
//! sleep|tocrawl`, and the dumps `lru_crawler metadump` and `mgdump`.
//!
//! Nothing here runs by itself. A `crawl` request only records which
//! classes to visit ([`Crawler::state`]); the server's periodic timer calls
//! [`Crawler::tick`], which looks at a bounded number of item slots per
//! call, so a crawl over a million items never blocks the reactor. A dump
//! request is handed to the connection that asked ([`Crawler::take_dump`]),
//! which fills its output a slice at a time with [`Dump::fill`] and waits
//! for its peer to read before the next slice: a slow reader holds at most
//! one slice in memory.
//!
//! The replies are memcached 1.6.18's, word for word.

use torsion_protocols::memcache::text::LruCrawlerCommand;

use super::dialect::{ExecCtx, Step};
use super::item::Item;
use super::store::Store;
use super::watch::url_encode;

/// Class ids a crawl or dump may name: 1 to 62, as memcached.
pub const MAX_CRAWL_CLASS: u32 = 62;

/// memcached's limit for `lru_crawler sleep` (microseconds).
pub const MAX_CRAWLER_SLEEP: u32 = 1_000_000;

/// Item slots one [`Crawler::tick`] looks at, at most.
pub const CRAWL_SLICE: usize = 20_000;

/// Items memcached's crawler examines between two sleeps of `lru_crawler
/// sleep` microseconds.
pub const ITEMS_PER_SLEEP: usize = 1_000;

/// Item slots one [`Dump::fill`] looks at, at most (it also stops at its
/// byte budget).
pub const DUMP_SLICE: usize = 4_096;

/// The reply to a dump asked where no stream can carry it (a UDP datagram).
pub const DUMP_NEEDS_STREAM: &[u8] = b"SERVER_ERROR dump needs a stream connection\r\n";

/// A set of class ids, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassSet(u64);

impl ClassSet {
    /// Every class.
    pub const ALL: ClassSet = ClassSet(u64::MAX);

    /// Whether `class` is in the set.
    pub fn contains(self, class: u8) -> bool {
        class < 64 && self.0 & (1 << class) != 0
    }

    /// The bit mask, bit N for class N.
    pub fn mask(self) -> u64 {
        self.0
    }

    /// `all`, `hash` (for a dump), or ids separated by commas; `None` for a
    /// bad id (memcached's `BADCLASS`).
    pub fn parse(arg: &[u8], hash_ok: bool) -> Option<ClassSet> {
        if arg == b"all" || (hash_ok && arg == b"hash") {
            return Some(ClassSet::ALL);
        }
        let mut mask = 0u64;
        for id in arg.split(|&b| b == b',') {
            let id: u32 = std::str::from_utf8(id).ok()?.parse().ok()?;
            if !(1..=MAX_CRAWL_CLASS).contains(&id) {
                return None;
            }
            mask |= 1 << id;
        }
        Some(ClassSet(mask))
    }
}

/// What the crawler is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrawlState {
    /// Nothing asked.
    Idle,
    /// Reclaiming the expired items of `classes`, from slot `cursor` on.
    Crawling {
        /// The classes asked for.
        classes: ClassSet,
        /// The next item slot to look at.
        cursor: usize,
    },
}

/// Which dump a connection asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpKind {
    /// `metadump`: `key=... exp=... la=... cas=... fetch=... cls=... size=...`, then `END`.
    Meta,
    /// `mgdump`: `mg <key>`, then `EN`.
    Mg,
}

/// A dump on its way to a connection: which items, and how far it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dump {
    kind: DumpKind,
    classes: ClassSet,
    cursor: usize,
}

impl Dump {
    /// A dump of the items of `classes` from the first slot.
    pub fn new(kind: DumpKind, classes: ClassSet) -> Self {
        Dump {
            kind,
            classes,
            cursor: 0,
        }
    }

    /// Appends the next lines to `out`, until `out` holds `budget` bytes or
    /// [`DUMP_SLICE`] slots were looked at; returns whether the dump is
    /// over (its last line, `END` or `EN`, written). Items that expired or
    /// were flushed are left out.
    pub fn fill(&mut self, store: &Store, now: u32, out: &mut Vec<u8>, budget: usize) -> bool {
        while out.len() < budget {
            let classes = self.classes;
            let kind = self.kind;
            let next = store.dump_slice(self.cursor, DUMP_SLICE, now, |item| {
                if classes.contains(item.class()) {
                    write_line(kind, item, out);
                }
                out.len() < budget
            });
            match next {
                Some(cursor) => self.cursor = cursor,
                None => {
                    out.extend_from_slice(match self.kind {
                        DumpKind::Meta => b"END\r\n",
                        DumpKind::Mg => b"EN\r\n",
                    });
                    return true;
                }
            }
        }
        false
    }
}

/// One item's dump line.
fn write_line(kind: DumpKind, item: Item<'_>, out: &mut Vec<u8>) {
    match kind {
        DumpKind::Mg => {
            out.extend_from_slice(b"mg ");
            out.extend_from_slice(item.key());
            out.extend_from_slice(b"\r\n");
        }
        DumpKind::Meta => {
            out.extend_from_slice(b"key=");
            url_encode(item.key(), out);
            let exp = item.expires_at().map_or(-1, i64::from);
            let fetched = if item.fetched() { "yes" } else { "no" };
            let line = format!(
                " exp={exp} la={} cas={} fetch={fetched} cls={} size={}\r\n",
                item.last_access(),
                item.cas(),
                item.class(),
                item.size()
            );
            out.extend_from_slice(line.as_bytes());
        }
    }
}

/// Slots one tick of an `lru_crawler crawl` examines when the crawler
/// sleeps `sleep_us` microseconds per [`ITEMS_PER_SLEEP`] items, as
/// memcached's does: at 100 µs (the default) a tick's [`CRAWL_SLICE`]
/// bounds it; at the longest sleep, 1 s, it crawls a thousand items a second.
pub fn slice_for(sleep_us: u32) -> usize {
    let tick_us = super::server::CRAWL_INTERVAL.as_micros() as u64;
    let paced = ITEMS_PER_SLEEP as u64 * tick_us / u64::from(sleep_us.max(1));
    (paced as usize).clamp(1, CRAWL_SLICE)
}

/// The crawler's state and counters (part of the server's figures).
#[derive(Debug, Clone, PartialEq)]
pub struct Crawler {
    /// What it is doing.
    pub state: CrawlState,
    /// Crawls started (`lru_crawler_starts`).
    pub starts: u64,
    /// A dump asked for by the request just executed, for the connection
    /// to take.
    dump: Option<Dump>,
}

impl Default for Crawler {
    fn default() -> Self {
        Crawler {
            state: CrawlState::Idle,
            starts: 0,
            dump: None,
        }
    }
}

impl Crawler {
    /// Whether a crawl is under way (`lru_crawler_running`).
    pub fn running(&self) -> bool {
        self.state != CrawlState::Idle
    }

    /// The dump the last request asked for, if any.
    pub fn take_dump(&mut self) -> Option<Dump> {
        self.dump.take()
    }

    /// One slice of the crawl under way, paced by `sleep_us` (`lru_crawler
    /// sleep`, see [`slice_for`]). Returns the items reclaimed.
    pub fn tick(&mut self, store: &mut Store, now: u32, sleep_us: u32) -> usize {
        let CrawlState::Crawling { classes, cursor } = self.state else {
            return 0;
        };
        let slice = slice_for(sleep_us);
        let (next, reclaimed) = store.crawl_classes(now, classes.mask(), cursor, slice);
        self.state = match next {
            Some(cursor) => CrawlState::Crawling { classes, cursor },
            None => CrawlState::Idle,
        };
        reclaimed
    }
}

/// Runs `lru_crawler <command>`. A dump is answered by the connection: the
/// first call records it and suspends the request (`done` 1), the call
/// after the dump ends finishes it without a reply.
pub fn execute(command: LruCrawlerCommand<'_>, cx: &mut ExecCtx<'_>, done: usize) -> Step {
    use super::dialect::Effect;
    let server = &mut *cx.server;
    let options = &mut server.options;
    let reply: &[u8] = match command {
        LruCrawlerCommand::Enable => {
            if options.lru_crawler {
                b"ERROR failed to start lru crawler thread\r\n"
            } else {
                options.lru_crawler = true;
                b"OK\r\n"
            }
        }
        LruCrawlerCommand::Disable => {
            options.lru_crawler = false;
            server.crawler.state = CrawlState::Idle;
            b"OK\r\n"
        }
        LruCrawlerCommand::Sleep(arg) => match parse_u32(arg) {
            Some(us) if us > MAX_CRAWLER_SLEEP => b"CLIENT_ERROR sleep must be one second or less\r\n",
            Some(us) => {
                options.lru_crawler_sleep = us;
                b"OK\r\n"
            }
            None => b"CLIENT_ERROR bad command line format\r\n",
        },
        LruCrawlerCommand::ToCrawl(arg) => match parse_u32(arg) {
            Some(n) => {
                options.lru_crawler_tocrawl = n;
                b"OK\r\n"
            }
            None => b"CLIENT_ERROR bad command line format\r\n",
        },
        _ if !options.lru_crawler => b"CLIENT_ERROR lru crawler disabled\r\n",
        LruCrawlerCommand::Crawl(arg) => match ClassSet::parse(arg, false) {
            None => b"BADCLASS invalid class id\r\n",
            Some(_) if server.crawler.running() => b"BUSY currently processing crawler request\r\n",
            Some(classes) => {
                server.crawler.state = CrawlState::Crawling { classes, cursor: 0 };
                server.crawler.starts += 1;
                b"OK\r\n"
            }
        },
        LruCrawlerCommand::Metadump(arg) | LruCrawlerCommand::Mgdump(arg) => {
            if done > 0 {
                // The dump is written: nothing more to say.
                return Step::Done(Effect::Continue);
            }
            let kind = match command {
                LruCrawlerCommand::Mgdump(_) => DumpKind::Mg,
                _ => DumpKind::Meta,
            };
            if !options.dump_enabled {
                b"ERROR metadump not allowed\r\n"
            } else if !cx.out.is_empty() {
                b"ERROR cannot pipeline other commands before metadump\r\n"
            } else {
                match ClassSet::parse(arg, true) {
                    None => b"BADCLASS invalid class id\r\n",
                    Some(classes) => {
                        server.crawler.dump = Some(Dump::new(kind, classes));
                        return Step::Suspended { done: 1 };
                    }
                }
            }
        }
    };
    cx.out.extend_from_slice(reply);
    Step::Done(Effect::Continue)
}

fn parse_u32(arg: &[u8]) -> Option<u32> {
    std::str::from_utf8(arg).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memcached::store::{StoreConfig, StoreMode};

    const NOW: u32 = 1_700_000_000;

    #[test]
    fn class_sets() {
        assert_eq!(ClassSet::parse(b"all", false), Some(ClassSet::ALL));
        assert_eq!(ClassSet::parse(b"hash", false), None);
        assert_eq!(ClassSet::parse(b"hash", true), Some(ClassSet::ALL));
        let s = ClassSet::parse(b"1,5", false).unwrap();
        assert!(s.contains(1) && s.contains(5) && !s.contains(2));
        for bad in [&b"0"[..], b"63", b"abc", b"", b"1,,2", b"-1"] {
            assert_eq!(ClassSet::parse(bad, false), None, "{bad:?}");
        }
    }

    #[test]
    fn url_encoding() {
        let mut out = Vec::new();
        url_encode(b"a%20b c~_.-Z9", &mut out);
        assert_eq!(out, b"a%2520b%20c~_.-Z9");
    }

    #[test]
    fn sleep_paces_the_crawl() {
        // The default sleep: the slice bound, not the pacing, limits a tick.
        assert_eq!(slice_for(100), CRAWL_SLICE);
        // The longest sleep: a thousand items a second, 100 per 100 ms tick.
        assert_eq!(slice_for(MAX_CRAWLER_SLEEP), 100);
        assert_eq!(slice_for(10_000), 10_000);
        // No sleep at all is bounded by the slice too.
        assert_eq!(slice_for(0), CRAWL_SLICE);
    }

    #[test]
    fn crawl_reclaims_only_expired_of_its_classes() {
        let mut store = Store::new(StoreConfig::default());
        for i in 0..10 {
            let key = format!("s{i}");
            let _ = store
                .store(StoreMode::Set, key.as_bytes(), 0, 1, b"ok", None, NOW)
                .unwrap();
            let key = format!("i{i}");
            let _ = store
                .store(StoreMode::Set, key.as_bytes(), 0, 0, b"ok", None, NOW)
                .unwrap();
        }
        let mut crawler = Crawler {
            state: CrawlState::Crawling {
                classes: ClassSet::parse(b"2", false).unwrap(),
                cursor: 0,
            },
            ..Crawler::default()
        };
        assert_eq!(crawler.tick(&mut store, NOW + 3, 100), 0);
        assert!(!crawler.running());
        crawler.state = CrawlState::Crawling {
            classes: ClassSet::ALL,
            cursor: 0,
        };
        assert_eq!(crawler.tick(&mut store, NOW + 3, 100), 10);
        assert!(!crawler.running());
        assert_eq!(store.curr_items(), 10);
        assert_eq!(store.stats().crawler_reclaimed, 10);
    }

    #[test]
    fn dump_in_slices_under_a_budget() {
        let mut store = Store::new(StoreConfig::default());
        for i in 0..100 {
            let key = format!("k {i}");
            let _ = store
                .store(StoreMode::Set, key.as_bytes(), 0, 0, b"v", None, NOW)
                .unwrap();
        }
        let mut dump = Dump::new(DumpKind::Meta, ClassSet::ALL);
        let mut all = Vec::new();
        let mut rounds = 0;
        loop {
            let mut out = Vec::new();
            let over = dump.fill(&store, NOW, &mut out, 200);
            // A slice stops soon after its budget (one line past it at most).
            assert!(out.len() < 200 + 100);
            all.extend_from_slice(&out);
            rounds += 1;
            if over {
                break;
            }
        }
        assert!(rounds > 10);
        let text = String::from_utf8(all).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 102);
        assert_eq!(lines[100], "END");
        assert!(lines[0].starts_with("key=k%200 exp=-1 la=1700000000 cas=1 fetch=no cls=1 size="));
    }

    #[test]
    fn mgdump_lines() {
        let mut store = Store::new(StoreConfig::default());
        let _ = store.store(StoreMode::Set, b"a", 0, 0, b"v", None, NOW).unwrap();
        let mut out = Vec::new();
        assert!(Dump::new(DumpKind::Mg, ClassSet::ALL).fill(&store, NOW, &mut out, 1 << 16));
        assert_eq!(out, b"mg a\r\nEN\r\n");
    }
}
