//! The server around the store: shared state, the factory that builds a
//! [`Connection`](super::conn::MemcacheConnection) per client, the connection
//! limit, the expiry crawler, the LRU maintainer, and the figures `stats`
//! reports.
//!
//! Everything the connections share lives in one [`Shared`] behind an
//! `Rc<RefCell<..>>` handed out by the factory (the reactor thread is the only
//! thread). Time reaches the store as unix seconds computed from the
//! reactor's monotonic clock and the wall clock read once at startup, so a
//! system clock that jumps never expires items early (design rule 4).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use torsion::{Address, Counters, Ctx, Factory, LoopingCall, Protocol, Reactor};

use super::conn::MemcacheConnection;
use super::conn_table::address_name;
use super::exec::ServerStats;
use super::maintainer::Maintainer;
use super::settings::Options;
use super::store::{Store, StoreConfig};

/// How often the crawler looks for expired items.
pub const CRAWL_INTERVAL: Duration = Duration::from_millis(100);

/// Item slots the crawler examines per tick: a full pass over a million
/// items takes 1,000,000 / 20,000 * 100 ms = 5 s, at about 40 µs per tick.
pub const CRAWL_BUDGET: usize = 20_000;

/// Default connection limit (`-c`), as memcached.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// The reply to a client over the connection limit, as memcached words it.
pub const TOO_MANY_CONNECTIONS: &[u8] = b"ERROR Too many open connections\r\n";

/// How the server is configured (the command line, minus where to listen).
#[derive(Clone, Debug)]
pub struct Settings {
    /// The store's limits.
    pub store: StoreConfig,
    /// Connections served at once (`-c`); over it, clients get
    /// [`TOO_MANY_CONNECTIONS`] and are closed.
    pub max_connections: usize,
    /// The TCP port reported by `stats` (0 for a Unix socket).
    pub tcp_port: u16,
    /// Close a connection that completes no request for this long
    /// (memcached's `-o idle_timeout`); `None`, the default, never does.
    pub idle_timeout: Option<Duration>,
    /// Everything else the command line set (`stats settings`).
    pub options: Options,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            store: StoreConfig::default(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            tcp_port: 11211,
            idle_timeout: None,
            options: Options::default(),
        }
    }
}

/// What every connection shares.
pub struct Shared {
    /// The items.
    pub store: Store,
    /// The server's own figures for `stats`.
    pub stats: ServerStats,
    /// Replies are composed here, then handed to the transport: one buffer
    /// for all connections, so an idle connection holds none.
    pub scratch: Vec<u8>,
    /// Unix time at `origin` (reactor time).
    unix_base: u64,
    origin: Duration,
    max_connections: usize,
    idle_timeout: Option<Duration>,
}

impl Shared {
    /// The current unix time in seconds, from the reactor's clock (moved
    /// by `debugtime` when the server allows it).
    pub fn now(&self, reactor: &Reactor) -> u32 {
        let elapsed = reactor.now().saturating_sub(self.origin).as_secs();
        let real = u32::try_from(self.unix_base + elapsed).unwrap_or(u32::MAX);
        self.stats.clock.apply(real)
    }

    /// The current unix time in microseconds, from the reactor's clock
    /// (log watchers' time stamps).
    pub fn now_micros(&self, reactor: &Reactor) -> u64 {
        let elapsed = reactor.now().saturating_sub(self.origin);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        (self.unix_base * 1_000_000).saturating_add(micros)
    }

    /// Records a listening socket for `stats conns` (`udp`: a datagram
    /// socket, which memcached lists as `udp:ADDR`).
    pub fn add_listener(&mut self, addr: &Address, udp: bool) {
        let now = self
            .stats
            .clock
            .apply(u32::try_from(self.unix_base).unwrap_or(u32::MAX));
        self.stats.conns.add_listener(address_name(addr, udp), now);
    }

    /// Copies the reactor's counters into the `stats` figures.
    pub fn refresh_counters(&mut self, counters: &Counters) {
        let figures = [
            ("reactor_iterations", counters.iterations),
            ("reactor_events", counters.events),
            ("reactor_timers_pending", counters.timers_pending),
            ("reactor_slow_callbacks", counters.slow_callbacks),
            ("reactor_accept_pauses", counters.accept_pauses),
        ];
        self.stats.listen_disabled_num = counters.accept_pauses;
        let list = &mut self.stats.reactor;
        list.clear();
        list.extend_from_slice(&figures);
    }

    /// The connection is gone: count it out.
    pub(super) fn connection_closed(&mut self) {
        self.stats.curr_connections = self.stats.curr_connections.saturating_sub(1);
    }
}

/// Builds memcached connections over a shared store.
pub struct MemcacheFactory {
    shared: Rc<RefCell<Shared>>,
    crawler: Option<LoopingCall>,
    maintainer: Option<Maintainer>,
}

impl MemcacheFactory {
    /// A factory for a server configured by `settings`, reading time from
    /// `reactor`.
    pub fn new(reactor: &Reactor, settings: Settings) -> Self {
        let unix_base = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let started = u32::try_from(unix_base).unwrap_or(u32::MAX);
        let mut stats = ServerStats::with_options(started, settings.options.clone());
        stats.max_connections = settings.max_connections as u64;
        stats.tcp_port = settings.tcp_port;
        stats.idle_kicks = settings.idle_timeout.map(|_| 0);
        let shared = Shared {
            store: Store::new(settings.store),
            stats,
            scratch: Vec::new(),
            unix_base,
            origin: reactor.now(),
            max_connections: settings.max_connections,
            idle_timeout: settings.idle_timeout,
        };
        MemcacheFactory {
            shared: Rc::new(RefCell::new(shared)),
            crawler: None,
            maintainer: None,
        }
    }

    /// The state the connections share (for tests and status pages).
    pub fn shared(&self) -> Rc<RefCell<Shared>> {
        self.shared.clone()
    }
}

impl Factory for MemcacheFactory {
    fn build_protocol(&mut self, reactor: &mut Reactor, _peer: &Address) -> Option<Box<dyn Protocol>> {
        let mut shared = self.shared.borrow_mut();
        if shared.stats.curr_connections >= shared.max_connections as u64 {
            shared.stats.rejected_connections += 1;
            log::warn!(
                "refusing a connection: {} connections open (-c {})",
                shared.stats.curr_connections,
                shared.max_connections
            );
            return Some(Box::new(Refuse));
        }
        shared.stats.curr_connections += 1;
        shared.stats.total_connections += 1;
        shared.stats.connection_structures = shared
            .stats
            .connection_structures
            .max(shared.stats.curr_connections);
        let _ = reactor;
        let idle_timeout = shared.idle_timeout;
        drop(shared);
        Some(Box::new(
            MemcacheConnection::new(self.shared.clone()).with_idle_timeout(idle_timeout),
        ))
    }

    fn start(&mut self, reactor: &mut Reactor) {
        let shared = self.shared.clone();
        let crawler = LoopingCall::new(move |r| {
            let mut shared = shared.borrow_mut();
            let now = shared.now(r);
            let shared = &mut *shared;
            // An `lru_crawler crawl` under way: one bounded slice.
            let asked = shared.stats.crawler.tick(&mut shared.store, now);
            let reclaimed = asked + shared.store.crawl(now, CRAWL_BUDGET);
            if reclaimed > 0 {
                log::debug!("crawler reclaimed {reclaimed} expired items");
            }
            let (user, system) = rusage();
            shared.stats.rusage_user = user;
            shared.stats.rusage_system = system;
        });
        crawler.start(reactor, CRAWL_INTERVAL, false);
        self.crawler = Some(crawler);
        // memcached's LRU maintainer thread (`-o lru_maintainer`, the default).
        if self.shared.borrow().stats.options.lru_maintainer_thread {
            self.maintainer = Some(Maintainer::start(reactor, self.shared.clone()));
        }
    }

    fn stop(&mut self, reactor: &mut Reactor) {
        if let Some(crawler) = self.crawler.take() {
            crawler.stop(reactor);
        }
        if let Some(maintainer) = self.maintainer.take() {
            maintainer.stop(reactor);
        }
        let shared = self.shared.borrow();
        log::info!(
            "stopped serving: {} items, {} bytes stored",
            shared.store.curr_items(),
            shared.store.bytes()
        );
    }
}

/// A client over the connection limit: told so, then closed.
struct Refuse;

impl Protocol for Refuse {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        ctx.write(TOO_MANY_CONNECTIONS);
        ctx.lose_connection();
    }

    fn data_received(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) {}
}

/// User and system CPU time of this process.
fn rusage() -> (Duration, Duration) {
    // SAFETY: getrusage writes into the zeroed struct we pass and keeps no
    // pointer to it; RUSAGE_SELF is always a valid target.
    #[allow(unsafe_code)]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return (Duration::ZERO, Duration::ZERO);
        }
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    (time(usage.ru_utime), time(usage.ru_stime))
}
