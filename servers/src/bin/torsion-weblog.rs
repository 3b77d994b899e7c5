//! torsion-weblog: the new hits of a web server's access log for every
//! client, pushed (seed 003's enhanced weblog server) or on request
//! (`--pull`, its first version); see `torsion_servers::weblog`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use torsion_servers::{cli, weblog};

/// Follows an access log (common or combined format) and pushes each new hit,
/// an XML hit element per line, to every connected client. A client is sent
/// the opening hits tag on connecting, then the hits read after it connected,
/// and the closing tag when the server stops. With --pull, a client is sent
/// hits only when it asks (by sending anything): those since its last
/// request, or `<none/>`. Copes with the log being rotated, truncated, or not
/// existing yet.
#[derive(Parser, Debug)]
#[command(name = "torsion-weblog", version)]
struct Args {
    #[command(flatten)]
    listen: cli::ListenArgs<{ weblog::DEFAULT_PORT }>,
    /// The access log to follow (read from its end; from its start if it appears later)
    #[arg(long, value_name = "FILE", default_value = weblog::DEFAULT_LOG)]
    log: PathBuf,
    /// Seconds between reads of the log (fractions allowed)
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = cli::parse_seconds)]
    poll_interval: Duration,
    /// Seconds between pushes to clients (fractions allowed)
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = cli::parse_seconds)]
    push_interval: Duration,
    /// The seed's first version: answer each request (anything a client
    /// sends) with the hits since its last one, or `<none/>`; push nothing
    #[arg(long, conflicts_with = "push_interval")]
    pull: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run_server("torsion-weblog", &args.listen.process, |startup| {
        weblog::check_log(&args.log)?;
        let mode = if args.pull {
            weblog::Mode::Pull
        } else {
            weblog::Mode::Push(args.push_interval)
        };
        let factory = weblog::WeblogFactory::new(weblog::Options {
            log: args.log.clone(),
            poll_interval: args.poll_interval,
            mode,
        });
        startup.serve_tcp(args.listen.addr(), factory)
    })
}
