//! torsion-web-demo: the seeds' web examples on one site (`/`, `/page`,
//! `/long`, `/fetch?url=`, `/fib?num=`, `/fib-blocking?num=`, `/form`).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use torsion_servers::cli;
use torsion_servers::web::{demo, Site};

/// Serves the seeds' web pages over HTTP/1.1.
#[derive(Parser, Debug)]
#[command(name = "torsion-web-demo", version)]
struct Args {
    #[command(flatten)]
    listen: cli::ListenArgs<{ demo::DEFAULT_PORT }>,
    /// Seconds a connection may take to send a request (then 408)
    #[arg(long = "idle-timeout", default_value_t = 60)]
    idle_timeout: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run_server("torsion-web-demo", &args.listen.process, |startup| {
        let site = Site::new(demo::site_root()).idle_timeout(Duration::from_secs(args.idle_timeout));
        startup.serve_tcp(args.listen.addr(), site)
    })
}
