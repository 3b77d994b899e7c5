//! torsion-mc: a memcached command-line client on the Torsion reactor.
//!
//! ```text
//! $ torsion-mc --servers 127.0.0.1:11211 set greeting hello --ttl 60
//! $ torsion-mc --servers 127.0.0.1:11211 get greeting
//! hello
//! $ torsion-mc --servers 10.0.0.1:11211,10.0.0.2:11211 stats
//! ```
//!
//! With several servers, each key goes to the server the ketama ring
//! gives it, as libmemcached and twemproxy place it. `get` prints the value
//! alone, byte for byte (no newline added). Exit status: 0 on success, 1
//! when the key does not exist (`get`, `delete`, `incr`), 2 on any error,
//! with the reason on stderr.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use torsion::reconnect::Backoff;
use torsion::{Failure, Reactor};
use torsion_clients::memcache::{
    ClientConfig, Commands, MemcacheError, MemcachePool, PoolConfig, ServerResult, ServerSpec, Stats,
};

/// A memcached client: get, set, delete, incr, stats, flush.
#[derive(Parser, Debug)]
#[command(name = "torsion-mc", version)]
struct Args {
    /// The servers, comma-separated, each HOST:PORT or HOST:PORT:WEIGHT
    #[arg(short, long, value_delimiter = ',', required = true)]
    servers: Vec<String>,
    /// Give up on a request (or a connection) after this many seconds
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the value of KEY (exit 1 if it does not exist)
    Get {
        /// The key
        key: String,
    },
    /// Store VALUE under KEY
    Set {
        /// The key
        key: String,
        /// The value
        value: String,
        /// Expiration time in seconds (0: never; over 30 days: a unix time)
        #[arg(long, default_value_t = 0)]
        ttl: u32,
        /// Opaque flags stored with the value
        #[arg(long, default_value_t = 0)]
        flags: u32,
    },
    /// Delete KEY (exit 1 if it does not exist)
    Delete {
        /// The key
        key: String,
    },
    /// Add N to the number stored under KEY and print the result
    Incr {
        /// The key
        key: String,
        /// How much to add
        n: u64,
    },
    /// Print every server's statistics, one `server name value` per line
    Stats {
        /// A group: items, slabs, settings...
        group: Option<String>,
    },
    /// Invalidate every item on every server
    Flush,
}

/// What a command produced.
enum Outcome {
    Done,
    Print(Vec<u8>),
    Missing,
    Stats(Vec<ServerResult<Stats>>),
}

fn main() -> ExitCode {
    let args = Args::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("error")).init();
    match run(args) {
        Ok(code) => code,
        Err(reason) => {
            eprintln!("torsion-mc: {reason}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<ExitCode, String> {
    let servers = args
        .servers
        .iter()
        .map(|s| s.parse::<ServerSpec>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| format!("bad timeout {}", args.timeout))?;
    let mut reactor = Reactor::new().map_err(|e| format!("cannot start the reactor: {e}"))?;
    // One attempt per server, no ejection: a dead server is an error here,
    // not a reason to look for its keys elsewhere.
    let config = PoolConfig {
        client: ClientConfig {
            timeout: Some(timeout),
            backoff: Backoff {
                max_retries: Some(0),
                ..ClientConfig::default().backoff
            },
            ..ClientConfig::default()
        },
        connect_timeout: timeout,
        eject_after: None,
        ..PoolConfig::default()
    };
    let pool = MemcachePool::new(&mut reactor, servers, config);
    let outcome = reactor
        .run_until_complete(execute(pool, args.command))
        .map_err(|e| format!("the reactor failed: {e}"))?;
    match outcome {
        Ok(Outcome::Done) => Ok(ExitCode::SUCCESS),
        Ok(Outcome::Print(bytes)) => {
            let mut out = std::io::stdout().lock();
            output(out.write_all(&bytes).and_then(|()| out.flush()))?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(Outcome::Missing) => Ok(ExitCode::from(1)),
        Ok(Outcome::Stats(servers)) => print_stats(servers),
        Err(failure) => match MemcacheError::of(&failure) {
            Some(MemcacheError::NotFound) => {
                eprintln!("torsion-mc: not found");
                Ok(ExitCode::from(1))
            }
            _ => Err(failure.report()),
        },
    }
}

async fn execute(pool: MemcachePool, command: Command) -> Result<Outcome, Failure> {
    Ok(match command {
        Command::Get { key } => match pool.get(&key).await? {
            Some(value) => Outcome::Print(value.data.to_vec()),
            None => Outcome::Missing,
        },
        Command::Set {
            key,
            value,
            ttl,
            flags,
        } => {
            pool.set(&key, &value, flags, ttl).await?;
            Outcome::Done
        }
        Command::Delete { key } => {
            pool.delete(&key).await?;
            Outcome::Done
        }
        Command::Incr { key, n } => Outcome::Print(format!("{}\n", pool.incr(&key, n).await?).into_bytes()),
        Command::Stats { group } => Outcome::Stats(pool.stats(group.as_deref()).await?),
        Command::Flush => {
            pool.flush_all(0).await?;
            Outcome::Done
        }
    })
}

fn print_stats(servers: Vec<ServerResult<Stats>>) -> Result<ExitCode, String> {
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for ServerResult { server, result } in servers {
        match result {
            Ok(stats) => {
                for (name, value) in stats.iter() {
                    output(writeln!(out, "{server} {name} {value}"))?;
                }
            }
            Err(failure) => {
                eprintln!("torsion-mc: {server}: {failure:#}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// A write to stdout: a reader that went away (`| head`) is no error.
fn output(written: std::io::Result<()>) -> Result<(), String> {
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("cannot write the output: {e}")),
        _ => Ok(()),
    }
}
