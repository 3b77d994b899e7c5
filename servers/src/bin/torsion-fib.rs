//! torsion-fib: distinct Fibonacci numbers for every client, kept across
//! restarts (seed 003's `fib_server.py`; see `torsion_servers::fib`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use torsion::Reactor;
use torsion_servers::{cli, fib};

/// Serves successive Fibonacci numbers, one per line received, shared by all
/// clients and never repeated, even across a restart: the state is saved to
/// --state on shutdown and periodically.
#[derive(Parser, Debug)]
#[command(name = "torsion-fib", version)]
struct Args {
    #[command(flatten)]
    listen: cli::ListenArgs,
    /// The state file (created if missing; refused, and left alone, if corrupt)
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// Seconds between saves while numbers are served (fractions allowed)
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = cli::parse_seconds)]
    save_interval: Duration,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::init_logging();
    match serve(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("torsion-fib: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: &Args) -> Result<(), String> {
    let service = fib::FibService::open(&args.state).map_err(|e| e.to_string())?;
    let mut reactor = Reactor::new().map_err(|e| format!("cannot create the reactor: {e}"))?;
    // Before announcing: a signal sent right after the announcement must stop us cleanly.
    reactor
        .stop_on_signals()
        .map_err(|e| format!("cannot watch signals: {e}"))?;
    let addr = args.listen.addr(fib::DEFAULT_PORT);
    let listener = reactor
        .listen_tcp(addr, service.factory(args.save_interval))
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    if let Some(addr) = reactor.local_addr(listener) {
        cli::announce("torsion-fib", addr);
    }
    reactor.run().map_err(|e| format!("the loop failed: {e}"))?;
    // The shutdown trigger saved the state; a failure there is ours to report.
    match service.final_save() {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(e),
        None => service.save().map(|_| ()).map_err(|e| e.to_string()),
    }
}
