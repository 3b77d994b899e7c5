//! torsion-proxy: the seeds' URL proxy (send a URL and a newline, get the
//! page), non-blocking, cached in memory or in memcached; with
//! `--http-port`, also an HTTP forward proxy (`curl -x`) with CONNECT
//! tunnels. See `torsion_servers::proxy` and docs/proxy.md.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use torsion_servers::cli::{self, ListenError};
use torsion_servers::proxy::{self, CacheSpec, ForwardConfig, ProxyConfig};

/// Fetches the URL each client sends on a line and writes back the page,
/// never blocking; caches pages as `--cache` says.
#[derive(Parser, Debug)]
#[command(name = "torsion-proxy", version)]
struct Args {
    #[command(flatten)]
    listen: cli::ListenArgs<{ proxy::DEFAULT_PORT }>,
    /// Also serve as an HTTP forward proxy on this port (GET with an
    /// absolute URI, CONNECT tunnels); 0 lets the OS choose
    #[arg(long = "http-port", value_name = "PORT")]
    http_port: Option<u16>,
    /// Where to cache pages: none, memory, or memcached://host:port[,host:port...]
    #[arg(long, default_value = "none", value_name = "SPEC")]
    cache: CacheSpec,
    /// The memory cache's size, in bytes
    #[arg(long = "cache-size", default_value_t = proxy::CACHE_SIZE, value_name = "BYTES")]
    cache_size: usize,
    /// How long a page stays cached, in seconds
    #[arg(long = "cache-ttl", default_value = "300", value_parser = cli::parse_seconds, value_name = "SECONDS")]
    cache_ttl: Duration,
    /// How long a memcached request may take, in seconds
    #[arg(long = "cache-timeout", default_value = "1", value_parser = cli::parse_seconds, value_name = "SECONDS")]
    cache_timeout: Duration,
    /// How long a memcached server that stopped answering stays out of the
    /// pool before it is tried again, in seconds
    #[arg(long = "cache-retry", default_value = "30", value_parser = cli::parse_seconds, value_name = "SECONDS")]
    cache_retry: Duration,
    /// The largest memcached item (memcached's -I): larger pages are not cached
    #[arg(long = "max-item", default_value_t = proxy::MAX_ITEM, value_name = "BYTES")]
    max_item: usize,
    /// Fetches at once (more requests wait their turn)
    #[arg(long = "max-fetches", default_value_t = proxy::MAX_FETCHES, value_name = "N")]
    max_fetches: usize,
    /// Client connections at once, per port
    #[arg(long = "max-connections", default_value_t = proxy::MAX_CONNECTIONS, value_name = "N")]
    max_connections: usize,
    /// The longest URL line, in bytes
    #[arg(long = "max-line", default_value_t = proxy::MAX_LINE, value_name = "BYTES")]
    max_line: usize,
    /// The largest page a line client gets, in bytes
    #[arg(long = "max-body", default_value_t = proxy::MAX_BODY, value_name = "BYTES")]
    max_body: u64,
    /// How long a whole fetch may take, in seconds
    #[arg(long, default_value = "60", value_parser = cli::parse_seconds, value_name = "SECONDS")]
    timeout: Duration,
    /// How long a connection to an origin may take to open, in seconds
    #[arg(long = "connect-timeout", default_value = "10", value_parser = cli::parse_seconds, value_name = "SECONDS")]
    connect_timeout: Duration,
    /// How long a client may take to send a whole request (a line client
    /// its URL from connecting; a forward-proxy client its next head), and
    /// to read any of its answer, in seconds
    #[arg(long = "idle-timeout", default_value = "60", value_parser = cli::parse_seconds, value_name = "SECONDS")]
    idle_timeout: Duration,
    /// How long a CONNECT tunnel may carry nothing either way before it is
    /// closed, in seconds
    #[arg(long = "tunnel-idle-timeout", default_value = "300", value_parser = cli::parse_seconds, value_name = "SECONDS")]
    tunnel_idle_timeout: Duration,
    /// Trust only the CA certificates in this PEM file for https:// origins
    /// (the system's roots otherwise)
    #[arg(long = "ca-file", value_name = "PEM")]
    ca_file: Option<std::path::PathBuf>,
    /// The seeds' first, wrong proxy: fetch with a blocking call on the loop
    /// (every other client waits; the reactor warns of slow callbacks)
    #[arg(long, conflicts_with = "cache")]
    blocking: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run_server("torsion-proxy", &args.listen.process, |startup| {
        serve(&args, startup)
    })
}

fn serve(args: &Args, startup: &mut cli::Startup) -> Result<(), String> {
    let config = ProxyConfig {
        cache: args.cache.clone(),
        cache_size: args.cache_size,
        cache_ttl: args.cache_ttl,
        cache_timeout: args.cache_timeout,
        cache_retry: args.cache_retry,
        max_item: args.max_item,
        max_fetches: args.max_fetches,
        max_line: args.max_line.max(1),
        max_body: args.max_body,
        timeout: args.timeout,
        connect_timeout: args.connect_timeout,
        ca_file: args.ca_file.clone(),
        idle_timeout: args.idle_timeout,
        tunnel_idle_timeout: args.tunnel_idle_timeout,
    };
    let mut reactor = cli::reactor()?;
    let addr = args.listen.addr();
    // Named, as the forward proxy's port may be the one that is taken.
    let line_port = |e| ListenError::new(addr, e).which("the line proxy's port, -p");
    let line = if args.blocking {
        log::warn!(
            "--blocking: every fetch stops the loop until it is done (the seeds' proxy1.py, on purpose)"
        );
        reactor
            .listen_tcp(addr, proxy::blocking_factory(&config, args.max_connections))
            .map_err(line_port)?
    } else {
        let pages = proxy::cached_pages(&mut reactor, &config);
        reactor
            .listen_tcp(addr, proxy::line_factory(pages, &config, args.max_connections))
            .map_err(line_port)?
    };
    let mut listeners = vec![("torsion-proxy", line)];
    if let Some(port) = args.http_port {
        let client = proxy::line_client(&config)
            .follow_redirects(false)
            .max_body(u64::MAX);
        let forward = ForwardConfig {
            idle_timeout: config.idle_timeout,
            tunnel_idle_timeout: config.tunnel_idle_timeout,
            ..ForwardConfig::with_client(client, config.connect_timeout)
        };
        let addr = SocketAddr::new(args.listen.listen, port);
        let http = reactor
            .listen_tcp(addr, proxy::forward_factory(forward, args.max_connections))
            .map_err(|e| ListenError::new(addr, e).which("the HTTP proxy's port, --http-port"))?;
        listeners.push(("torsion-proxy http", http));
    }
    startup.ready(&mut reactor, &listeners)?;
    if config.cache != CacheSpec::None {
        log::info!("caching pages: {}", config.cache);
    }
    cli::run(&mut reactor)
}
