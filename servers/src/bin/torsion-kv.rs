//! torsion-kv: the seeds' key-value store, one store served over the line
//! protocol, over AMP and over Perspective Broker in one process (see
//! `torsion_servers::kv`).
//!
//! ```text
//! $ torsion-kv -p 11212 --amp-port 8790 --pb-port 8789 --ttl 15
//! torsion-kv listening on 127.0.0.1:11212
//! torsion-kv amp listening on 127.0.0.1:8790
//! torsion-kv pb listening on 127.0.0.1:8789
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use torsion_protocols::amp::MAX_VALUE_LENGTH;
use torsion_protocols::kv::{Limits, DEFAULT_MAX_KEY_LENGTH, DEFAULT_MAX_VALUE_LENGTH};
use torsion_servers::cli;
use torsion_servers::kv::{
    serve, Settings, StoreConfig, DEFAULT_AMP_PORT, DEFAULT_IDLE_TIMEOUT, DEFAULT_LINE_PORT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_KEYS, DEFAULT_PB_PORT,
};

/// A key-value store whose keys live a fixed time after their last set,
/// served over the seeds' line protocol (-p), over Perspective Broker
/// (--pb-port, the seeds' 8789) and over AMP (--amp-port, 8790: AMP moved
/// there when PB took 8789).
#[derive(Parser, Debug)]
#[command(name = "torsion-kv", version)]
struct Args {
    #[command(flatten)]
    listen: cli::ListenArgs<DEFAULT_LINE_PORT>,
    /// AMP port (0 lets the OS choose one); it was 8789 until PB took the seeds' port
    #[arg(long = "amp-port", default_value_t = DEFAULT_AMP_PORT)]
    amp_port: u16,
    /// Perspective Broker port, for Twisted's PBClientFactory (0 lets the OS choose one)
    #[arg(long = "pb-port", default_value_t = DEFAULT_PB_PORT)]
    pb_port: u16,
    /// Seconds a key lives after its last set (0: forever)
    #[arg(long, default_value_t = 15.0)]
    ttl: f64,
    /// Most keys held; a new key past it evicts the least recently set one
    #[arg(long = "max-keys", default_value_t = DEFAULT_MAX_KEYS)]
    max_keys: usize,
    /// Longest key, in bytes
    #[arg(long = "max-key-length", default_value_t = DEFAULT_MAX_KEY_LENGTH)]
    max_key_length: usize,
    /// Longest value, in bytes (at most 65535, what AMP can carry)
    #[arg(long = "max-value-length", default_value_t = DEFAULT_MAX_VALUE_LENGTH)]
    max_value_length: usize,
    /// Connections served at once on each port
    #[arg(long = "max-connections", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Seconds a connection may go without a whole request (a line, an AMP
    /// box, a PB message) before it is closed (0: never)
    #[arg(long = "idle-timeout", default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs_f64())]
    idle_timeout: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run_server("torsion-kv", &args.listen.process, |startup| run(&args, startup))
}

fn settings(args: &Args) -> Result<Settings, String> {
    let ttl = Duration::try_from_secs_f64(args.ttl)
        .map_err(|_| format!("--ttl {}: expected seconds, 0 or more", args.ttl))?;
    let ttl = (!ttl.is_zero()).then_some(ttl);
    let idle_timeout = Duration::try_from_secs_f64(args.idle_timeout).map_err(|_| {
        format!(
            "--idle-timeout {}: expected seconds, 0 or more",
            args.idle_timeout
        )
    })?;
    let idle_timeout = (!idle_timeout.is_zero()).then_some(idle_timeout);
    if args.max_keys == 0 {
        return Err("--max-keys must be at least 1".into());
    }
    if args.max_key_length == 0 {
        return Err("--max-key-length must be at least 1".into());
    }
    if args.max_value_length > MAX_VALUE_LENGTH {
        return Err(format!(
            "--max-value-length must be at most {MAX_VALUE_LENGTH} (what an AMP value holds)"
        ));
    }
    Ok(Settings {
        line: args.listen.addr(),
        amp: SocketAddr::new(args.listen.listen, args.amp_port),
        pb: SocketAddr::new(args.listen.listen, args.pb_port),
        store: StoreConfig {
            ttl,
            max_keys: args.max_keys,
            limits: Limits {
                max_key_length: args.max_key_length,
                max_value_length: args.max_value_length,
            },
        },
        max_connections: args.max_connections,
        idle_timeout,
    })
}

fn run(args: &Args, startup: &mut cli::Startup) -> Result<(), String> {
    let settings = settings(args)?;
    let mut reactor = cli::reactor()?;
    let serving = serve(&mut reactor, &settings).map_err(|e| e.to_string())?;
    // The line protocol first: scripts and tests read the first `listening on` line.
    startup.ready(
        &mut reactor,
        &[
            ("torsion-kv", serving.line),
            ("torsion-kv amp", serving.amp),
            ("torsion-kv pb", serving.pb),
        ],
    )?;
    let ttl = match settings.store.ttl {
        Some(ttl) => format!("{} s", ttl.as_secs_f64()),
        None => "forever".into(),
    };
    log::info!(
        "keys live {ttl} after their last set; at most {} keys of {} bytes, values of {} bytes",
        settings.store.max_keys,
        settings.store.limits.max_key_length,
        settings.store.limits.max_value_length
    );
    cli::run(&mut reactor)?;
    let stats = serving.store.stats();
    log::info!(
        "stopped: {} keys held; {} sets, {} gets ({} hits), {} deletes, {} expired, {} evicted",
        serving.store.len(),
        stats.sets,
        stats.gets,
        stats.hits,
        stats.deletes,
        stats.expired,
        stats.evicted
    );
    Ok(())
}
