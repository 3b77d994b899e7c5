//! torsion-memcached: a memcached server on the Torsion reactor.
//!
//! The command line is memcached 1.6.18's (`-p -l -s -a -m -c -I -M -v -U
//! -t -A -B -C -D -F -X -R -b -n -f -e`, and every `-o` option it knows), so
//! scripts and test suites written for memcached start it unchanged; the
//! settings are checked with memcached's messages and reported by `stats
//! settings` (see `torsion_servers::memcached::settings`). `-d`, `-P` and
//! `--logfile` are every Torsion server's (`torsion_servers::cli`).
//!
//! SIGINT and SIGTERM close the connections and exit 0. SIGUSR1 (or
//! `shutdown graceful` with `-A`) does too, and with `-e FILE` saves the
//! cache there first for the next start (`torsion_servers::memcached::restart`).

use std::cell::RefCell;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::{ArgAction, Parser};
use torsion::{ListenOptions, Reactor};
use torsion_servers::cli::{self, ListenError};
use torsion_servers::memcached::port_file;
use torsion_servers::memcached::restart::{self, Extras};
use torsion_servers::memcached::server::{MemcacheFactory, Settings, Shared, DEFAULT_MAX_CONNECTIONS};
use torsion_servers::memcached::settings::{
    self, parse_extended, BindingProtocol, Options, DEFAULT_REQS_PER_EVENT, DEFAULT_TCP_BACKLOG,
    DEFAULT_THREADS,
};
use torsion_servers::memcached::slab_admin::Automove;
use torsion_servers::memcached::store::StoreConfig;

/// The smallest item size limit memcached accepts (`-I`).
const MIN_ITEM_SIZE: usize = 1024;
/// The largest item size limit memcached accepts (`-I`).
const MAX_ITEM_SIZE: usize = 1024 * 1024 * 1024;

/// The environment variable that, set to 1, enables `debugtime` (as `-o
/// debug_time` does): memcached's test suite moves the clock with it.
const DEBUG_TIME_ENV: &str = "TORSION_MEMCACHED_DEBUG_TIME";

/// The default TCP port.
const DEFAULT_PORT: i32 = 11211;

/// A memcached server: text (classic and meta) and binary protocols, an LRU
/// store bounded in memory.
///
/// `debugtime` (memcached's debug-build clock control) is off unless
/// `-o debug_time` is given or TORSION_MEMCACHED_DEBUG_TIME=1 is set.
/// With MEMCACHED_PORT_FILENAME set, the bound ports are written to that
/// file (`TCP INET: <port>`), as memcached does.
#[derive(Parser, Debug)]
#[command(name = "torsion-memcached", version)]
struct Args {
    /// TCP port to listen on (-1 or 0: one the OS chooses; when only -U is
    /// given, the UDP port, as memcached) [default: 11211]
    #[arg(short = 'p', long = "port", allow_negative_numbers = true)]
    port: Option<i32>,
    /// Address to listen on
    #[arg(short = 'l', long = "listen", default_value = "127.0.0.1")]
    listen: std::net::IpAddr,
    /// Listen on this Unix socket instead of TCP
    #[arg(short = 's', long = "unix-socket")]
    unix_socket: Option<PathBuf>,
    /// Permissions of the Unix socket, in octal
    #[arg(short = 'a', long = "unix-mask", default_value = "700", value_parser = parse_octal)]
    unix_mask: u32,
    /// Item memory in megabytes
    #[arg(short = 'm', long = "memory-limit", default_value_t = 64)]
    memory_mb: usize,
    /// Maximum simultaneous connections
    #[arg(short = 'c', long = "conn-limit", default_value_t = DEFAULT_MAX_CONNECTIONS as i64, allow_negative_numbers = true)]
    max_connections: i64,
    /// Largest item (key + value + overhead); a k or m suffix scales it
    #[arg(short = 'I', long = "max-item-size", default_value = "1m", value_parser = parse_size)]
    item_size: usize,
    /// Return an error when memory is exhausted instead of evicting items
    #[arg(short = 'M', long = "disable-evictions")]
    no_evict: bool,
    /// Verbose logging (-v: debug, -vv: trace), unless RUST_LOG is set
    #[arg(short = 'v', action = ArgAction::Count)]
    verbose: u8,
    /// UDP port on the -l address (0, the default: no UDP, as memcached 1.6)
    #[arg(
        short = 'U',
        long = "udp-port",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    udp_port: i32,
    /// Worker threads: reported; Torsion serves every connection from one reactor thread
    #[arg(short = 't', long = "threads", default_value_t = DEFAULT_THREADS as i64, allow_negative_numbers = true)]
    threads: i64,
    /// Allow the shutdown command
    #[arg(short = 'A', long = "enable-shutdown")]
    enable_shutdown: bool,
    /// Protocol to speak: auto, ascii or binary
    #[arg(short = 'B', long = "protocol", default_value = "auto")]
    protocol: String,
    /// Disable CAS (every CAS unique reads 0)
    #[arg(short = 'C', long = "disable-cas")]
    disable_cas: bool,
    /// Refuse `watch` (log watcher) commands
    #[arg(short = 'W', long = "disable-watch")]
    disable_watch: bool,
    /// Character ending a key's prefix for stats detail (turns stats detail on)
    #[arg(short = 'D')]
    delimiter: Option<String>,
    /// Refuse flush_all
    #[arg(short = 'F', long = "disable-flush-all")]
    disable_flush_all: bool,
    /// Refuse stats cachedump and lru_crawler metadump
    #[arg(short = 'X', long = "disable-dumping")]
    disable_dumping: bool,
    /// Requests served per event before letting other connections run
    #[arg(short = 'R', long = "max-reqs-per-event", default_value_t = DEFAULT_REQS_PER_EVENT as i64, allow_negative_numbers = true)]
    reqs_per_event: i64,
    /// Require text-protocol authentication against this file of
    /// user:password lines (memcached's -Y)
    #[arg(short = 'Y', long = "auth-file")]
    auth_file: Option<String>,
    /// Listen backlog
    #[arg(short = 'b', long = "listen-backlog", default_value_t = DEFAULT_TCP_BACKLOG)]
    backlog: u32,
    /// Smallest chunk (key + value + header) in bytes
    #[arg(
        short = 'n',
        long = "slab-min-size",
        default_value_t = 48,
        allow_negative_numbers = true
    )]
    chunk_size: i64,
    /// Chunk size growth factor between size classes
    #[arg(
        short = 'f',
        long = "slab-growth-factor",
        default_value_t = 1.25,
        allow_negative_numbers = true
    )]
    growth_factor: f64,
    /// Extended options, comma separated, as memcached's -o (every option
    /// memcached 1.6.18 knows; see `stats settings`). Torsion implements
    /// idle_timeout=N, slab_chunk_max=N, no_modern and debug_time (allow the
    /// debugtime command); the others are accepted and reported.
    #[arg(short = 'o', long = "extended", value_delimiter = ',')]
    extended: Vec<String>,
    /// Warm restart: a graceful stop (SIGUSR1, or `shutdown graceful`
    /// with -A) saves the cache to this file, and the next start with the
    /// same settings loads it (memcached's --memory-file)
    #[arg(short = 'e', long = "memory-file")]
    memory_file: Option<PathBuf>,
    #[command(flatten)]
    process: cli::ProcessArgs,
}

/// The TCP port: `-p`, else (memcached's rule) the UDP port when `-U`
/// names one, else 11211.
fn tcp_port(port: Option<i32>, udp_port: i32) -> i32 {
    match port {
        Some(port) => port,
        None if udp_port != 0 => udp_port,
        None => DEFAULT_PORT,
    }
}

/// Parses an octal permission mask (`-a 700`).
fn parse_octal(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8).map_err(|_| format!("invalid octal mask {s:?}"))
}

/// Parses `1048576`, `1024k` or `1m`.
fn parse_size(s: &str) -> Result<usize, String> {
    let (digits, scale) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1024),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1024 * 1024),
        _ => (s, 1),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("invalid size {s:?}: expected a number with an optional k or m suffix"))
}

/// The log level of `-v`s.
fn log_level(verbose: u8) -> &'static str {
    match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (process, level) = (args.process.clone(), log_level(args.verbose));
    cli::run_server_logging("torsion-memcached", &process, level, |startup| run(args, startup))
}

/// The settings the command line asks for, checked as memcached checks
/// them (its messages for what it refuses).
fn settings(args: &Args) -> Result<Settings, String> {
    if args.max_connections <= 0 {
        return Err("Maximum connections must be greater than 0".into());
    }
    if args.threads <= 0 {
        return Err("Number of threads must be greater than 0".into());
    }
    if args.reqs_per_event <= 0 {
        return Err("Number of requests per event must be greater than 0".into());
    }
    if args.chunk_size <= 0 {
        return Err("Chunk size must be greater than 0".into());
    }
    if args.growth_factor <= 1.0 {
        return Err("Factor must be greater than 1".into());
    }
    let port = tcp_port(args.port, args.udp_port);
    if !(-1..=i32::from(u16::MAX)).contains(&port) {
        return Err(format!("invalid TCP port (-p): {port}"));
    }
    if !(-1..=i32::from(u16::MAX)).contains(&args.udp_port) {
        return Err(format!("invalid UDP port (-U): {}", args.udp_port));
    }
    if args.auth_file.is_some() {
        // memcached's rules for -Y: tokens are text, so no binary protocol
        // and no UDP (which has no connection to authenticate).
        if BindingProtocol::parse(&args.protocol)? == BindingProtocol::Binary {
            return Err(
                "You cannot allow the BINARY protocol while using ascii authentication tokens.".into(),
            );
        }
        if args.udp_port != 0 {
            return Err("Cannot use UDP with ascii authentication enabled (-U 0 to disable)".into());
        }
    }
    let delimiter = match args.delimiter.as_deref().map(str::as_bytes) {
        None => b':',
        Some([]) => return Err("No delimiter specified".into()),
        Some([first, ..]) => *first,
    };
    if !(MIN_ITEM_SIZE..=MAX_ITEM_SIZE).contains(&args.item_size) {
        return Err(format!(
            "item size limit (-I) must be between {MIN_ITEM_SIZE} bytes and 1 GB"
        ));
    }
    let max_bytes = args.memory_mb.saturating_mul(1024 * 1024);
    if args.item_size > max_bytes / 2 {
        return Err("cannot set the item size limit (-I) higher than half the memory limit (-m)".into());
    }
    let mut store = StoreConfig {
        max_bytes,
        item_size_max: args.item_size,
        evict: !args.no_evict,
        chunk_size: args.chunk_size as usize,
        growth_factor: args.growth_factor,
        ..StoreConfig::default()
    };
    // Unlike memcached, which then refuses to start, a small -I without
    // -o slab_chunk_max lowers the chunk limit to the item limit.
    store.slab_chunk_max = store.slab_chunk_max.min(store.item_size_max);
    let mut options = Options {
        inter: Some(args.listen.to_string()).filter(|_| args.unix_socket.is_none()),
        domain_socket: args.unix_socket.as_ref().map(|p| p.display().to_string()),
        umask: args.unix_mask,
        shutdown_command: args.enable_shutdown,
        num_threads: u32::try_from(args.threads).unwrap_or(u32::MAX),
        prefix_delimiter: delimiter,
        detail_enabled: args.delimiter.is_some(),
        reqs_per_event: u32::try_from(args.reqs_per_event).unwrap_or(u32::MAX),
        cas_enabled: !args.disable_cas,
        watch_enabled: !args.disable_watch,
        tcp_backlog: args.backlog,
        binding_protocol: match args.auth_file {
            Some(_) => BindingProtocol::Ascii,
            None => BindingProtocol::parse(&args.protocol)?,
        },
        flush_enabled: !args.disable_flush_all,
        dump_enabled: !args.disable_dumping,
        debug_time: std::env::var(DEBUG_TIME_ENV).is_ok_and(|v| v == "1"),
        memory_file: args.memory_file.as_ref().map(|p| p.display().to_string()),
        auth: args
            .auth_file
            .as_deref()
            .map(torsion_servers::memcached::auth::Credentials::load)
            .transpose()?,
        ..Options::default()
    };
    parse_extended(&args.extended, &mut options, &mut store)?;
    store.slab_reassign = options.slab_reassign;
    store.lru_segmented = options.lru_segmented;
    store.lru = torsion_servers::memcached::store::LruPolicy {
        hot_pct: options.hot_lru_pct,
        warm_pct: options.warm_lru_pct,
        hot_max_factor: options.hot_max_factor,
        warm_max_factor: options.warm_max_factor,
        temporary_ttl: options.temp_lru.then_some(options.temporary_ttl),
    };
    store.cas_enabled = options.cas_enabled;
    // memcached's test hook: pages counted as allocated at start.
    store.initial_malloced = std::env::var("T_MEMD_INITIAL_MALLOC")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let chunk_max_given = args.extended.iter().any(|o| o.starts_with("slab_chunk_max="));
    if store.item_size_max > settings::SLAB_PAGE_SIZE && !chunk_max_given {
        // memcached's rule for items over 1 MiB: chunks of half a page.
        store.slab_chunk_max = settings::SLAB_PAGE_SIZE / 2;
    }
    settings::check(&options, &store)?;
    if options.num_threads != 1 {
        log::debug!(
            "-t {}: reported; one reactor thread serves every connection",
            options.num_threads
        );
    }
    Ok(Settings {
        store,
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        // Reported as given, even with -s (as memcached does).
        tcp_port: port.max(0) as u16,
        idle_timeout: (options.idle_timeout > 0)
            .then(|| Duration::from_secs(u64::from(options.idle_timeout))),
        options,
    })
}

fn run(args: Args, startup: &mut cli::Startup) -> Result<(), String> {
    let settings = settings(&args)?;
    let backlog = settings.options.tcp_backlog;

    let store_config = settings.store.clone();

    let mut reactor = cli::reactor()?;
    let factory = MemcacheFactory::new(&reactor, settings);
    let shared = factory.shared();
    if let Some(path) = &args.memory_file {
        let now = shared.borrow().now(&reactor);
        let loaded = restart::start(path, &store_config, now).map_err(|e| e.to_string())?;
        if let Some(loaded) = loaded {
            let mut shared = shared.borrow_mut();
            shared.store = loaded.store;
            shared.stats.hash_power.restore(loaded.extras.hash_power);
        }
    }
    watch_graceful_stop(&mut reactor, &shared)?;
    {
        let mut shared = shared.borrow_mut();
        let (level, ratio) = (
            shared.stats.options.slab_automove,
            shared.stats.options.slab_automove_ratio,
        );
        shared.store.set_automove(Automove { level, ratio });
    }
    // -U: UDP on the -l address (not with -s, which turns the network off,
    // as in memcached); -U -1 lets the OS choose the port.
    let mut udp_addrs = Vec::new();
    if args.udp_port != 0 && args.unix_socket.is_none() {
        let addr = std::net::SocketAddr::new(args.listen, args.udp_port.max(0) as u16);
        let udp = torsion_servers::memcached::udp::MemcacheUdp::new(factory.shared());
        let id = reactor
            .listen_udp(addr, udp)
            .map_err(|e| ListenError::new(addr, e).which("UDP, -U"))?;
        udp_addrs.extend(reactor.datagram(id).local_addr().ok());
    }
    let options = ListenOptions {
        backlog,
        ..ListenOptions::default()
    };
    let listener = match &args.unix_socket {
        Some(path) => {
            let listener = reactor
                .listen_unix_with(path, factory, options)
                .map_err(|e| ListenError::new(path.display(), e))?;
            // -a: the socket's permissions (memcached's default 0700).
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(args.unix_mask))
                .map_err(|e| format!("cannot set the permissions of {}: {e}", path.display()))?;
            listener
        }
        None => {
            // -p -1 (memcached's "any port") and 0 (Torsion's) both let the OS choose.
            let port = tcp_port(args.port, args.udp_port);
            let addr = std::net::SocketAddr::new(args.listen, port.max(0) as u16);
            reactor
                .listen_tcp_with(addr, factory, options)
                .map_err(|e| ListenError::new(addr, e))?
        }
    };
    if let Some(addr) = reactor.local_addr(listener) {
        let mut shared = shared.borrow_mut();
        shared.add_listener(&addr, false);
        if let Some(bound) = addr.as_socket_addr() {
            shared.stats.tcp_port = bound.port();
        }
        if args.unix_socket.is_none() {
            let tcp: Vec<_> = addr.as_socket_addr().into_iter().collect();
            port_file::write_from_env(&tcp, &udp_addrs)?;
        }
    }
    if let Some(bound) = udp_addrs.first() {
        // After the TCP listener, whose address clients' rows name.
        let mut shared = shared.borrow_mut();
        shared.stats.udp_port = bound.port();
        shared.add_listener(&torsion::Address::Tcp(*bound), true);
    }
    startup.ready(&mut reactor, &[("torsion-memcached", listener)])?;
    let served = cli::run(&mut reactor);
    let shared = shared.borrow();
    if let (Some(path), true) = (&args.memory_file, shared.stats.graceful_stop) {
        let started = Instant::now();
        let extras = Extras {
            hash_power: shared.stats.hash_power.level(),
        };
        let report = restart::save(path, &shared.store, extras, shared.now(&reactor))
            .map_err(|e| format!("cannot save the cache to {}: {e}", path.display()))?;
        log::info!(
            "[restart] saved {} items ({} bytes) to {} in {:.3} s",
            report.items,
            report.bytes,
            path.display(),
            started.elapsed().as_secs_f64()
        );
    }
    served
}

/// Makes SIGUSR1 stop the server gracefully, as in memcached: connections
/// close, and with `-e` the cache is saved.
fn watch_graceful_stop(reactor: &mut Reactor, shared: &Rc<RefCell<Shared>>) -> Result<(), String> {
    let shared = shared.clone();
    reactor
        .on_signals(&[signal_hook::consts::SIGUSR1], move |r, _| {
            log::info!("received SIGUSR1, stopping gracefully");
            shared.borrow_mut().stats.graceful_stop = true;
            r.stop();
        })
        .map_err(|e| format!("cannot watch SIGUSR1: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Settings, String> {
        let words = std::iter::once("torsion-memcached").chain(line.split_whitespace());
        let args = Args::try_parse_from(words).map_err(|e| e.to_string())?;
        settings(&args)
    }

    #[test]
    fn memcacheds_flags() {
        let s = parse("-A -C -F -B binary -R 1 -b 8675 -D / -t 8 -n 64 -f 1.5").unwrap();
        let o = &s.options;
        assert!(o.shutdown_command && !o.cas_enabled && !o.flush_enabled);
        assert_eq!(o.binding_protocol, BindingProtocol::Binary);
        assert_eq!(
            (o.reqs_per_event, o.tcp_backlog, o.prefix_delimiter, o.num_threads),
            (1, 8675, b'/', 8)
        );
        assert_eq!((s.store.chunk_size, s.store.growth_factor), (64, 1.5));
        let s = parse("-p -1 -I 1024 -o slab_chunk_max=1024,no_lru_crawler,no_lru_maintainer").unwrap();
        assert_eq!(
            (s.tcp_port, s.store.item_size_max, s.store.slab_chunk_max),
            (0, 1024, 1024)
        );
        assert!(!s.options.lru_crawler);
        assert_eq!(parse("-I 2k").unwrap().store.slab_chunk_max, 2048);
        assert_eq!(parse("-I 2m -o no_modern").unwrap().store.slab_chunk_max, 524_288);
        assert!(parse("-D /").unwrap().options.detail_enabled);
        assert!(!parse("").unwrap().options.detail_enabled);
        let s = parse("-o no_modern,idle_timeout=3").unwrap();
        assert_eq!(s.idle_timeout, Some(Duration::from_secs(3)));
        assert_eq!(s.store.slab_chunk_max, 1024 * 1024);
    }

    #[test]
    fn refused_as_memcached_refuses_them() {
        for (line, message) in [
            ("-c 0", "Maximum connections must be greater than 0"),
            ("-c -1", "Maximum connections must be greater than 0"),
            ("-t 0", "Number of threads must be greater than 0"),
            ("-R 0", "Number of requests per event must be greater than 0"),
            ("-n 0", "Chunk size must be greater than 0"),
            ("-f 1.0", "Factor must be greater than 1"),
            ("-B http", "Invalid value for binding protocol: http"),
            ("-o bogus", "Illegal suboption \"bogus\""),
            ("-I 1024 -o slab_chunk_max=2048", "cannot be larger than -I"),
            ("-p -2", "invalid TCP port"),
        ] {
            let error = parse(line).unwrap_err();
            assert!(error.contains(message), "{line}: {error}");
        }
        assert!(parse("-l fooble").is_err());
        assert_eq!(tcp_port(None, 0), 11211);
        assert_eq!(tcp_port(None, 11222), 11222);
        assert_eq!(tcp_port(None, -1), -1);
        assert_eq!(tcp_port(Some(-1), 11252), -1);
        assert_eq!(tcp_port(Some(11242), 0), 11242);
    }
}
