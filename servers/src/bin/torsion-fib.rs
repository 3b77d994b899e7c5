//! torsion-fib: distinct Fibonacci numbers for every client, kept across
//! restarts (seed 003's `fib_server.py`; see `torsion_servers::fib`).
//!
//! The seed ran it under twistd, daemonized, stopped it with
//! ``kill `cat twistd.pid` `` and restarted it where it left off; so does
//! this one, with `-d -P FILE`:
//!
//! ```text
//! $ torsion-fib --state fib.state -d -P fib.pid --logfile fib.log
//! torsion-fib listening on 127.0.0.1:8888
//! $ kill `cat fib.pid`
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use torsion_servers::{cli, fib};

/// Serves successive Fibonacci numbers, one per line received (and one for
/// bytes sent without a line break), shared by all clients and never
/// repeated, even across a restart: the state is saved to --state on
/// shutdown and periodically.
#[derive(Parser, Debug)]
#[command(name = "torsion-fib", version)]
struct Args {
    #[command(flatten)]
    listen: cli::ListenArgs<{ fib::DEFAULT_PORT }>,
    /// The state file (created if missing; refused, and left alone, if corrupt)
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// Seconds between saves while numbers are served (fractions allowed)
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = cli::parse_seconds)]
    save_interval: Duration,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run_server("torsion-fib", &args.listen.process, |startup| {
        let service = fib::FibService::open(&args.state).map_err(|e| e.to_string())?;
        startup.serve_tcp(args.listen.addr(), service.factory(args.save_interval))?;
        // The shutdown trigger saved the state; a failure there is ours to report.
        match service.final_save() {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(e),
            None => service.save().map(|_| ()).map_err(|e| e.to_string()),
        }
    })
}
