//! torsion-upper: answers each line uppercased (the seeds' uppercase server),
//! framed by a `LineReceiver` (see `torsion_servers::upper`).

use std::process::ExitCode;

use clap::Parser;
use torsion_servers::{cli, upper};

/// Greets each client and answers its line uppercased, then closes (as in
/// the seeds); `--keep-open` answers every line until the client closes.
#[derive(Parser, Debug)]
#[command(name = "torsion-upper", version)]
struct Args {
    #[command(flatten)]
    listen: cli::ListenArgs<{ upper::DEFAULT_PORT }>,
    /// Greet with the number of connected clients (the seeds' exercise 1)
    #[arg(long)]
    count: bool,
    /// Answer every line instead of closing after the first
    #[arg(long)]
    keep_open: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run_server("torsion-upper", &args.listen.process, |startup| {
        let options = upper::Options {
            count: args.count,
            keep_open: args.keep_open,
        };
        startup.serve_tcp(args.listen.addr(), upper::factory(options))
    })
}
