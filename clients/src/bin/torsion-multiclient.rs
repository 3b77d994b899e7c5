//! torsion-multiclient: the seeds' multiclient and threaded client (seed
//! 004), on the Torsion reactor (see `torsion_clients::multiclient`).

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use torsion_clients::multiclient::{self, Mode, Options, Outcome};

/// Connects once per WORD, sends the word and \r\n, and prints "sending WORD"
/// and everything the server sends back until it closes, as the seeds'
/// multiclient.py does. With --parallel all connections run at once (the
/// seeds' threadedclient.py), replies still printed in argument order,
/// then "finished". Exits 1 if an exchange fails, with the reason on stderr.
#[derive(Parser, Debug)]
#[command(name = "torsion-multiclient", version)]
struct Args {
    /// The server, as HOST:PORT
    #[arg(value_name = "HOST:PORT")]
    server: String,
    /// What to send, one connection each
    #[arg(value_name = "WORD", required = true)]
    words: Vec<String>,
    /// Run every exchange at once instead of one after another
    #[arg(long)]
    parallel: bool,
    /// Seconds allowed for connecting, then for each reply (fractions allowed)
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    timeout: Duration,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 86_400.0 => {
            Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
        }
        _ => Err(format!(
            "`{text}`: give a number of seconds above 0 and at most 86400"
        )),
    }
}

/// `HOST:PORT` (`[v6]:PORT` for IPv6) to an address, or what is wrong with it.
fn resolve(server: &str) -> Result<SocketAddr, String> {
    let port = server
        .rsplit_once(':')
        .map(|(host, port)| (host, port.parse::<u16>()));
    match port {
        None => return Err(format!("{server}: the port is missing (give HOST:PORT)")),
        Some((_, Err(_))) if server.ends_with(']') => {
            return Err(format!("{server}: the port is missing (give [ADDRESS]:PORT)"))
        }
        Some((_, Err(_))) => return Err(format!("{server}: not HOST:PORT (the port is not a number)")),
        Some((host, Ok(_))) if host.contains(':') && !host.starts_with('[') => {
            return Err(format!(
                "{server}: an IPv6 address goes in brackets: [ADDRESS]:PORT"
            ))
        }
        Some(_) => {}
    }
    let mut addrs = server
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {server}: {e}"))?;
    addrs
        .next()
        .ok_or_else(|| format!("{server} resolves to no address"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let addr = match resolve(&args.server) {
        Ok(addr) => addr,
        Err(message) => {
            eprintln!("torsion-multiclient: {message}");
            return ExitCode::FAILURE;
        }
    };
    let mode = if args.parallel {
        Mode::Parallel
    } else {
        Mode::Sequential
    };
    let options = Options {
        mode,
        timeout: args.timeout,
        ..Options::default()
    };
    let server = args.server.clone();
    let report = move |_: usize, word: &str, outcome: &Outcome| {
        let mut out = std::io::stdout().lock();
        // A closed stdout is no reason to stop talking to the server.
        let _ = match outcome {
            Outcome::Reply(reply) => writeln!(out, "sending {word}")
                .and_then(|_| out.write_all(reply))
                .and_then(|_| out.write_all(b"\n")),
            Outcome::Failed(error) => {
                let written = writeln!(out, "sending {word}");
                eprintln!("torsion-multiclient: {server}: sending {word:?}: {error}");
                written
            }
            Outcome::NotSent => Ok(()),
        };
        let _ = out.flush();
    };
    let outcomes = match multiclient::run(addr, &args.words, &options, report) {
        Ok(outcomes) => outcomes,
        Err(e) => {
            eprintln!("torsion-multiclient: {e}");
            return ExitCode::FAILURE;
        }
    };
    let not_sent = outcomes.iter().filter(|o| matches!(o, Outcome::NotSent)).count();
    if not_sent > 0 {
        eprintln!("torsion-multiclient: stopped at the first failure; {not_sent} word(s) not sent");
    }
    if args.parallel {
        println!("finished");
    }
    if outcomes.iter().all(|o| matches!(o, Outcome::Reply(_))) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
