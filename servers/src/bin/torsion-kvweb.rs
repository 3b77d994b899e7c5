//! torsion-kvweb: the seeds' web front end to the key-value store, its own
//! process talking to torsion-kv through the client (see
//! `torsion_servers::kvweb`).
//!
//! ```text
//! $ torsion-kvweb -p 8000 --kv 127.0.0.1:11212
//! torsion-kvweb listening on 127.0.0.1:8000
//! $ torsion-kvweb -p 8000 --pb --kv 127.0.0.1:8789
//! torsion-kvweb listening on 127.0.0.1:8000
//! ```

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use torsion::endpoint::{ClientEndpoint, Family};
use torsion_clients::kv::Strings;
use torsion_servers::cli;
use torsion_servers::kv::{DEFAULT_AMP_PORT, DEFAULT_LINE_PORT, DEFAULT_PB_PORT};
use torsion_servers::kvweb::{self, Upstream, UpstreamConfig, Wire};
use torsion_servers::web::Site;

/// Web pages and a JSON API over torsion-kv: forms to get, set and delete
/// keys, and /api/keys/KEY (JSON) for scripts.
#[derive(Parser, Debug)]
#[command(name = "torsion-kvweb", version)]
struct Args {
    #[command(flatten)]
    listen: cli::ListenArgs<{ kvweb::DEFAULT_PORT }>,
    /// torsion-kv's address, HOST:PORT [default: 127.0.0.1:11212; 127.0.0.1:8789 with --pb; 127.0.0.1:8790 with --amp]
    #[arg(long = "kv", value_name = "HOST:PORT")]
    kv: Option<String>,
    /// Talk to torsion-kv over AMP (its --amp-port) instead of the line protocol
    #[arg(long, conflicts_with = "pb")]
    amp: bool,
    /// Talk to the store over Perspective Broker (torsion-kv's --pb-port, or the seeds' keyvalue_pb.py)
    #[arg(long)]
    pb: bool,
    /// With --pb: send keys and values as Python bytes, not str
    #[arg(long, requires = "pb")]
    bytes: bool,
    /// Seconds a call to torsion-kv may take before the page says so (504)
    #[arg(long = "kv-timeout", value_name = "SECS", default_value = "5", value_parser = cli::parse_seconds)]
    kv_timeout: Duration,
    /// Longest wait between attempts to reconnect to torsion-kv, in seconds
    #[arg(long = "reconnect-max", value_name = "SECS", default_value = "5", value_parser = cli::parse_seconds)]
    reconnect_max: Duration,
    /// Seconds a connection may take to send a request (then 408)
    #[arg(long = "idle-timeout", value_name = "SECS", default_value = "60", value_parser = cli::parse_seconds)]
    idle_timeout: Duration,
}

/// `HOST:PORT` (`[::1]:11212` for IPv6) as an endpoint.
fn endpoint(address: &str, timeout: Duration) -> Result<ClientEndpoint, String> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("--kv {address:?}: expected HOST:PORT"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("--kv {address:?}: {port:?} is not a port"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Err(format!("--kv {address:?}: no host"));
    }
    Ok(ClientEndpoint::Tcp {
        host: host.to_string(),
        port,
        timeout,
        family: Family::Any,
    })
}

fn run(args: &Args, startup: &mut cli::Startup) -> Result<(), String> {
    let strings = if args.bytes { Strings::Bytes } else { Strings::Str };
    let wire = match (args.amp, args.pb) {
        (true, _) => Wire::Amp,
        (_, true) => Wire::Pb(strings),
        _ => Wire::Line,
    };
    let default_kv = match wire {
        Wire::Line => format!("127.0.0.1:{DEFAULT_LINE_PORT}"),
        Wire::Amp => format!("127.0.0.1:{DEFAULT_AMP_PORT}"),
        Wire::Pb(_) => format!("127.0.0.1:{DEFAULT_PB_PORT}"),
    };
    let endpoint = endpoint(args.kv.as_deref().unwrap_or(&default_kv), args.kv_timeout)?;
    let mut reactor = cli::reactor()?;
    let mut config = UpstreamConfig::new(endpoint, wire);
    config.timeout = args.kv_timeout;
    config.backoff.max = args.reconnect_max;
    config.backoff.initial = config.backoff.initial.min(args.reconnect_max);
    let upstream = Upstream::connect(&mut reactor, config);
    // Say at once whether torsion-kv is there; the pages work either way.
    let _reported = upstream
        .ready(&mut reactor)
        .then_both(&mut reactor, |_, outcome| {
            if let Err(failure) = outcome {
                log::warn!("{failure}");
            }
            Ok(())
        });
    let site = Site::new(kvweb::site_root(Rc::new(upstream.clone()))).idle_timeout(args.idle_timeout);
    let listener = cli::listen_tcp(&mut reactor, args.listen.addr(), site)?;
    startup.ready(&mut reactor, &[("torsion-kvweb", listener)])?;
    cli::run(&mut reactor)?;
    upstream.stop(&mut reactor);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run_server("torsion-kvweb", &args.listen.process, |startup| {
        run(&args, startup)
    })
}
