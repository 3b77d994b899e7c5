//! torsion-web-demo: the seeds' web examples on one site (`/`, `/page`,
//! `/long`, `/fetch?url=`, `/fib?num=`, `/fib-blocking?num=`, `/form`).

use clap::Parser;
use torsion::Reactor;
use torsion_servers::cli;
use torsion_servers::web::{demo, Site};

/// Serves the seeds' web pages over HTTP/1.1.
#[derive(Parser, Debug)]
#[command(name = "torsion-web-demo", version)]
struct Args {
    #[command(flatten)]
    listen: cli::ListenArgs,
    /// Seconds a connection may take to send a request (then 408)
    #[arg(long = "idle-timeout", default_value_t = 60)]
    idle_timeout: u64,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    cli::init_logging();
    let mut reactor = Reactor::new()?;
    // Before announcing: a signal sent right after the announcement must stop us cleanly.
    reactor.stop_on_signals()?;
    let site = Site::new(demo::site_root()).idle_timeout(std::time::Duration::from_secs(args.idle_timeout));
    let listener = reactor.listen_tcp(args.listen.addr(8000), site)?;
    if let Some(addr) = reactor.local_addr(listener) {
        cli::announce("torsion-web-demo", addr);
    }
    reactor.run()
}
