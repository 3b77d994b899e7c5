//! torsion-memcached: a memcached server on the Torsion reactor.
//!
//! The command line follows memcached's where they overlap (`-p -l -s -m -c
//! -I -M -v -U -t -d -P`, and `-o idle_timeout=N`), so scripts written for
//! memcached work unchanged. `-d`, `-P` and `--logfile` are every Torsion
//! server's (`torsion_servers::cli`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgAction, Parser};
use torsion::ListenOptions;
use torsion_servers::cli::{self, ListenError};
use torsion_servers::memcached::server::{MemcacheFactory, Settings, DEFAULT_MAX_CONNECTIONS};
use torsion_servers::memcached::store::StoreConfig;

/// The smallest item size limit memcached accepts (`-I`).
const MIN_ITEM_SIZE: usize = 1024;
/// The largest item size limit memcached accepts (`-I`).
const MAX_ITEM_SIZE: usize = 1024 * 1024 * 1024;

/// A memcached server: text (classic and meta) and binary protocols, an LRU
/// store bounded in memory.
#[derive(Parser, Debug)]
#[command(name = "torsion-memcached", version)]
struct Args {
    /// TCP port to listen on (0 lets the OS choose one)
    #[arg(short = 'p', long = "port", default_value_t = 11211)]
    port: u16,
    /// Address to listen on
    #[arg(short = 'l', long = "listen", default_value = "127.0.0.1")]
    listen: std::net::IpAddr,
    /// Listen on this Unix socket instead of TCP
    #[arg(short = 's', long = "unix-socket")]
    unix_socket: Option<PathBuf>,
    /// Item memory in megabytes
    #[arg(short = 'm', long = "memory-limit", default_value_t = 64)]
    memory_mb: usize,
    /// Maximum simultaneous connections
    #[arg(short = 'c', long = "conn-limit", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
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
    #[arg(short = 'U', long = "udp-port", default_value_t = 0)]
    udp_port: u16,
    /// Worker threads: accepted for compatibility; Torsion serves from one reactor thread
    #[arg(short = 't', long = "threads")]
    threads: Option<u32>,
    /// Extended options, comma separated, as memcached's -o; supported:
    /// idle_timeout=SECONDS (close a connection that completes no request
    /// for that long; 0, the default, never does)
    #[arg(short = 'o', long = "extended", value_delimiter = ',')]
    extended: Vec<String>,
    #[command(flatten)]
    process: cli::ProcessArgs,
}

/// The `-o` options Torsion understands.
#[derive(Debug, Default, PartialEq)]
struct Extended {
    idle_timeout: Option<Duration>,
}

/// Parses `-o` options: `idle_timeout=N` (whole seconds, 0: off, as
/// memcached). Any other is refused, rather than silently ignored.
fn parse_extended(options: &[String]) -> Result<Extended, String> {
    let mut extended = Extended::default();
    for option in options.iter().filter(|o| !o.is_empty()) {
        match option.split_once('=') {
            Some(("idle_timeout", value)) => {
                let secs: u32 = value
                    .parse()
                    .map_err(|_| format!("-o idle_timeout={value}: expected whole seconds"))?;
                extended.idle_timeout = (secs > 0).then(|| Duration::from_secs(u64::from(secs)));
            }
            _ => {
                return Err(format!(
                    "unsupported -o option {option:?} (supported: idle_timeout=N)"
                ))
            }
        }
    }
    Ok(extended)
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

fn run(args: Args, startup: &mut cli::Startup) -> Result<(), String> {
    if !(MIN_ITEM_SIZE..=MAX_ITEM_SIZE).contains(&args.item_size) {
        return Err(format!(
            "item size limit (-I) must be between {MIN_ITEM_SIZE} bytes and 1 GB"
        ));
    }
    let max_bytes = args.memory_mb.saturating_mul(1024 * 1024);
    if args.item_size > max_bytes / 2 {
        return Err("cannot set the item size limit (-I) higher than half the memory limit (-m)".into());
    }
    let extended = parse_extended(&args.extended)?;
    if let Some(threads) = args.threads.filter(|t| *t != 1) {
        log::info!("-t {threads} ignored: one reactor thread serves every connection");
    }
    let settings = Settings {
        store: StoreConfig {
            max_bytes,
            item_size_max: args.item_size,
            evict: !args.no_evict,
        },
        max_connections: args.max_connections,
        tcp_port: if args.unix_socket.is_some() { 0 } else { args.port },
        idle_timeout: extended.idle_timeout,
    };

    let mut reactor = cli::reactor()?;
    let factory = MemcacheFactory::new(&reactor, settings);
    // -U: UDP on the -l address (not with -s, which turns the network off, as in memcached).
    let mut udp_addrs = Vec::new();
    if args.udp_port != 0 && args.unix_socket.is_none() {
        let addr = std::net::SocketAddr::new(args.listen, args.udp_port);
        let udp = torsion_servers::memcached::udp::MemcacheUdp::new(factory.shared());
        let id = reactor
            .listen_udp(addr, udp)
            .map_err(|e| ListenError::new(addr, e).which("UDP, -U"))?;
        udp_addrs.extend(reactor.datagram(id).local_addr().ok());
    }
    // TODO(issue 16, ops): hand `udp_addrs` to the port-file writer (MEMCACHED_PORT_FILENAME; -U -1 binds port 0).
    let _ = &udp_addrs;
    let options = ListenOptions {
        // memcached's default backlog.
        backlog: 1024,
        ..ListenOptions::default()
    };
    let listener = match &args.unix_socket {
        Some(path) => reactor
            .listen_unix_with(path, factory, options)
            .map_err(|e| ListenError::new(path.display(), e))?,
        None => {
            let addr = std::net::SocketAddr::new(args.listen, args.port);
            reactor
                .listen_tcp_with(addr, factory, options)
                .map_err(|e| ListenError::new(addr, e))?
        }
    };
    startup.ready(&mut reactor, &[("torsion-memcached", listener)])?;
    cli::run(&mut reactor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_options() {
        let parse = |list: &[&str]| parse_extended(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(parse(&[]), Ok(Extended::default()));
        assert_eq!(
            parse(&["idle_timeout=30"]).map(|e| e.idle_timeout),
            Ok(Some(Duration::from_secs(30)))
        );
        assert_eq!(parse(&["idle_timeout=0"]).map(|e| e.idle_timeout), Ok(None));
        assert!(parse(&["idle_timeout=-1"]).is_err());
        assert!(parse(&["idle_timeout=x"]).is_err());
        assert!(parse(&["hashpower=20"]).unwrap_err().contains("unsupported"));
    }
}
