//! torsion-kvc: one request to torsion-kv, from the command line.
//!
//! ```text
//! $ torsion-kvc set greeting hello world
//! STORED
//! $ torsion-kvc get greeting
//! hello world
//! $ torsion-kvc --pb get greeting
//! hello world
//! $ torsion-kvc --amp --server 127.0.0.1:8790 delete greeting
//! DELETED
//! $ torsion-kvc get greeting; echo $?
//! torsion-kvc: key not found: greeting
//! 1
//! ```
//!
//! Exit status: 0 done, 1 the key is not there, 2 anything else (the
//! reason on stderr).

use std::io::Write;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use torsion::endpoint::ClientEndpoint;
use torsion::{Deferred, Failure, Reactor};
use torsion_clients::kv::{self, KeyNotFound, KeyValue, Strings};
use torsion_protocols::amp::CallError;

/// Sends one request to torsion-kv, over its line protocol, over
/// Perspective Broker or over AMP.
#[derive(Parser, Debug)]
#[command(name = "torsion-kvc", version)]
struct Args {
    /// The server, as HOST:PORT [default: 127.0.0.1:11212; 127.0.0.1:8789 with --pb; 127.0.0.1:8790 with --amp]
    #[arg(short, long)]
    server: Option<String>,
    /// Speak AMP (torsion-kv's --amp-port, or any AMP peer with Get/Set/Delete)
    #[arg(long, conflicts_with = "pb")]
    amp: bool,
    /// Speak Perspective Broker (torsion-kv's --pb-port, or the seeds' keyvalue_pb.py)
    #[arg(long)]
    pb: bool,
    /// With --pb: send the key and value as Python bytes, not str
    #[arg(long, requires = "pb")]
    bytes: bool,
    /// Give up after this many seconds
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the value of KEY (exit 1 if it is not there)
    Get {
        /// The key
        key: String,
    },
    /// Set KEY to the VALUE words joined by spaces
    Set {
        /// The key
        key: String,
        /// The value (several words are joined with spaces)
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        value: Vec<String>,
    },
    /// Remove KEY (exit 1 if it is not there)
    Delete {
        /// The key
        key: String,
    },
}

/// `host:port` or `[v6]:port` -> an endpoint.
fn endpoint(server: &str) -> Result<ClientEndpoint, String> {
    let (host, port) = server
        .rsplit_once(':')
        .ok_or_else(|| format!("{server:?} is not HOST:PORT"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().map_err(|e| format!("bad port in {server:?}: {e}"))?;
    if host.is_empty() {
        return Err(format!("no host in {server:?}"));
    }
    Ok(ClientEndpoint::tcp(host, port))
}

/// Connects with the protocol asked for.
fn connect(reactor: &mut Reactor, endpoint: &ClientEndpoint, args: &Args) -> Deferred<Rc<dyn KeyValue>> {
    if args.amp {
        kv::amp::connect(reactor, endpoint).then(reactor, |_, c| Ok(Rc::new(c) as Rc<dyn KeyValue>))
    } else if args.pb {
        let strings = if args.bytes { Strings::Bytes } else { Strings::Str };
        kv::pb::connect(reactor, endpoint, strings).then(reactor, |_, c| Ok(Rc::new(c) as Rc<dyn KeyValue>))
    } else {
        kv::line::connect(reactor, endpoint).then(reactor, |_, c| Ok(Rc::new(c) as Rc<dyn KeyValue>))
    }
}

/// Runs the request; fires with what to print.
fn request(reactor: &mut Reactor, client: Rc<dyn KeyValue>, command: Command) -> Deferred<Vec<u8>> {
    match command {
        Command::Get { key } => client.get(reactor, key.as_bytes()),
        Command::Set { key, value } => client
            .set(reactor, key.as_bytes(), value.join(" ").as_bytes())
            .then(reactor, |_, ()| Ok(b"STORED".to_vec())),
        Command::Delete { key } => client
            .delete(reactor, key.as_bytes())
            .then(reactor, |_, ()| Ok(b"DELETED".to_vec())),
    }
}

fn run(args: Args) -> Result<Result<Vec<u8>, Failure>, String> {
    let default = match (args.amp, args.pb) {
        (true, _) => "127.0.0.1:8790",
        (_, true) => "127.0.0.1:8789",
        _ => "127.0.0.1:11212",
    };
    let endpoint = endpoint(args.server.as_deref().unwrap_or(default))?;
    let timeout =
        Duration::try_from_secs_f64(args.timeout).map_err(|_| format!("bad --timeout {}", args.timeout))?;
    let mut reactor = Reactor::new().map_err(|e| format!("cannot start the reactor: {e}"))?;
    let client = connect(&mut reactor, &endpoint, &args);
    let command = args.command;
    let done = client.then(&mut reactor, move |r, client| request(r, client, command));
    // The result is taken below: that handles a failure.
    done.add_timeout(&mut reactor, timeout).mark_handled();
    reactor
        .run_until_complete(done)
        .map_err(|e| format!("the reactor failed: {e}"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let amp = args.amp;
    match run(args) {
        Ok(Ok(mut output)) => {
            output.push(b'\n');
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(&output).and_then(|()| stdout.flush()).is_err() {
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        Ok(Err(failure)) if failure.is::<KeyNotFound>() => {
            eprintln!("torsion-kvc: {failure}");
            ExitCode::from(1)
        }
        Ok(Err(failure)) => {
            eprintln!("torsion-kvc: {failure}");
            if amp && matches!(failure.find::<CallError>(), Some(CallError::Protocol(_))) {
                eprintln!("torsion-kvc: the answer is not AMP: is the server's AMP port (torsion-kv's --amp-port) the one given?");
            }
            ExitCode::from(2)
        }
        Err(message) => {
            eprintln!("torsion-kvc: {message}");
            ExitCode::from(2)
        }
    }
}
