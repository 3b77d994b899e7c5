//! torsion-weblog: pushes the new hits of a web server's access log to
//! every client (seed 003's weblog server; see `torsion_servers::weblog`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use torsion::Reactor;
use torsion_servers::{cli, weblog};

/// Follows an access log (common or combined format) and pushes each new hit,
/// an XML hit element per line, to every connected client. A client is sent
/// the opening hits tag on connecting, then the hits read after it connected,
/// and the closing tag when the server stops. Copes with the log being
/// rotated, truncated, or not existing yet.
#[derive(Parser, Debug)]
#[command(name = "torsion-weblog", version)]
struct Args {
    #[command(flatten)]
    listen: cli::ListenArgs,
    /// The access log to follow (read from its end; from its start if it appears later)
    #[arg(long, value_name = "FILE", default_value = weblog::DEFAULT_LOG)]
    log: PathBuf,
    /// Seconds between reads of the log (fractions allowed)
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = cli::parse_seconds)]
    poll_interval: Duration,
    /// Seconds between pushes to clients (fractions allowed)
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = cli::parse_seconds)]
    push_interval: Duration,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::init_logging();
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("torsion-weblog: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: Args) -> Result<(), String> {
    let mut reactor = Reactor::new().map_err(|e| format!("cannot create the reactor: {e}"))?;
    // Before announcing: a signal sent right after the announcement must stop us cleanly.
    reactor
        .stop_on_signals()
        .map_err(|e| format!("cannot watch signals: {e}"))?;
    let factory = weblog::WeblogFactory::new(weblog::Options {
        log: args.log,
        poll_interval: args.poll_interval,
        push_interval: args.push_interval,
    });
    let addr = args.listen.addr(weblog::DEFAULT_PORT);
    let listener = reactor
        .listen_tcp(addr, factory)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    if let Some(addr) = reactor.local_addr(listener) {
        cli::announce("torsion-weblog", addr);
    }
    reactor.run().map_err(|e| format!("the loop failed: {e}"))
}
