//! torsion-hello: prints every byte its clients send (the seeds' first server).

use std::process::ExitCode;

use clap::Parser;
use torsion_servers::{cli, hello};

/// Listens on a TCP port and prints everything clients send to stdout.
#[derive(Parser, Debug)]
#[command(name = "torsion-hello", version)]
struct Args {
    #[command(flatten)]
    listen: cli::ListenArgs<{ hello::DEFAULT_PORT }>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run_server("torsion-hello", &args.listen.process, |startup| {
        startup.serve_tcp(args.listen.addr(), hello::factory())
    })
}
