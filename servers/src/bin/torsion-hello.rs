//! torsion-hello: prints every byte its clients send (the seeds' first server).

use clap::Parser;
use torsion::Reactor;
use torsion_servers::{cli, hello};

/// Listens on a TCP port and prints everything clients send to stdout.
#[derive(Parser, Debug)]
#[command(name = "torsion-hello", version)]
struct Args {
    #[command(flatten)]
    listen: cli::ListenArgs,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    cli::init_logging();
    let mut reactor = Reactor::new()?;
    // Before announcing: a signal sent right after the announcement must stop us cleanly.
    reactor.stop_on_signals()?;
    let listener = reactor.listen_tcp(args.listen.addr(8000), hello::factory())?;
    if let Some(addr) = reactor.local_addr(listener) {
        cli::announce("torsion-hello", addr);
    }
    reactor.run()
}
