//! torsion-timing: the seeds' timing client (`timingclient.py`).
//!
//! Sends each URL to a line proxy (torsion-proxy) over its own
//! connection, all at the same moment, and prints the seeds' table: each
//! URL's time as the client saw it, and the total. Against a blocking
//! proxy the total is the sum of the fetches; against a non-blocking one,
//! the longest.
//!
//! ```text
//! $ torsion-timing 127.0.0.1:8000 http://127.0.0.1:9000/delay/0.5 http://127.0.0.1:9000/delay/1.0
//! ```
//!
//! It exits 0 when every URL got its page, 1 otherwise (the table says why).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use torsion::endpoint::ClientEndpoint;
use torsion::Reactor;
use torsion_clients::timing::time_urls;

/// Times URLs through a line proxy, all at once, and prints the seeds' table.
#[derive(Parser, Debug)]
#[command(name = "torsion-timing", version)]
struct Args {
    /// The proxy, as HOST:PORT (a name, an IPv4 address, or an IPv6 address in brackets)
    proxy: String,
    /// The URLs to fetch, one connection each
    #[arg(required = true)]
    urls: Vec<String>,
    /// Give up on a URL after this many seconds
    #[arg(long, default_value_t = 120.0)]
    timeout: f64,
}

/// `host:port`, `[v6]:port` -> an endpoint.
fn endpoint(server: &str) -> Result<ClientEndpoint, String> {
    let (host, port) = server
        .rsplit_once(':')
        .ok_or_else(|| format!("{server:?} is not HOST:PORT"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().map_err(|e| format!("bad port in {server:?}: {e}"))?;
    if host.is_empty() {
        return Err(format!("no host in {server:?}"));
    }
    Ok(ClientEndpoint::tcp(host, port))
}

fn main() -> ExitCode {
    let args = Args::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let proxy = match endpoint(&args.proxy) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("torsion-timing: {e}");
            return ExitCode::from(2);
        }
    };
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .ok()
        .filter(|d| !d.is_zero())
        .unwrap_or(Duration::from_secs(120));
    let mut reactor = match Reactor::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("torsion-timing: cannot start the reactor: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = time_urls(&mut reactor, &proxy, &args.urls, timeout);
    let report = match reactor.run_until_complete(report) {
        Ok(Ok(report)) => report,
        Ok(Err(failure)) => {
            eprintln!("torsion-timing: {failure:#}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("torsion-timing: the reactor failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", report.table());
    if report.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
