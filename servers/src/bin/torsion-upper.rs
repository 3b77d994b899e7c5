//! torsion-upper: answers each line uppercased (the seeds' uppercase server),
//! framed by a `LineReceiver` (see `torsion_servers::upper`).

use clap::Parser;
use torsion::Reactor;
use torsion_servers::{cli, upper};

/// Greets each client and answers its line uppercased, then closes (as in
/// the seeds); `--keep-open` answers every line until the client closes.
#[derive(Parser, Debug)]
#[command(name = "torsion-upper", version)]
struct Args {
    #[command(flatten)]
    listen: cli::ListenArgs,
    /// Greet with the number of connected clients (the seeds' exercise 1)
    #[arg(long)]
    count: bool,
    /// Answer every line instead of closing after the first
    #[arg(long)]
    keep_open: bool,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    cli::init_logging();
    let mut reactor = Reactor::new()?;
    // Before announcing: a signal sent right after the announcement must stop us cleanly.
    reactor.stop_on_signals()?;
    let options = upper::Options {
        count: args.count,
        keep_open: args.keep_open,
    };
    let listener = reactor.listen_tcp(args.listen.addr(8000), upper::factory(options))?;
    if let Some(addr) = reactor.local_addr(listener) {
        cli::announce("torsion-upper", addr);
    }
    reactor.run()
}
