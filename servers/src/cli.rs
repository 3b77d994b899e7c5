//! What every Torsion server shares on its command line and at startup.
//!
//! Each server takes `-p/--port` (0 lets the OS choose) and `-l/--listen`
//! (default 127.0.0.1), logs through `env_logger` (`RUST_LOG`, default
//! `info`), prints `<name> listening on <addr>` on stdout once it listens (tests
//! and scripts read that line), and exits 0 after SIGINT or SIGTERM once its
//! connections are closed.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// `-p/--port` and `-l/--listen`, flattened into each server's arguments.
#[derive(clap::Args, Clone, Debug)]
pub struct ListenArgs {
    /// TCP port to listen on (0 lets the OS choose one)
    #[arg(short = 'p', long = "port")]
    pub port: Option<u16>,
    /// Address to listen on
    #[arg(short = 'l', long = "listen", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub listen: IpAddr,
}

impl ListenArgs {
    /// The socket address to bind, with `default_port` when `-p` was not given.
    pub fn addr(&self, default_port: u16) -> SocketAddr {
        SocketAddr::new(self.listen, self.port.unwrap_or(default_port))
    }
}

/// Starts logging at `info` unless `RUST_LOG` says otherwise.
pub fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
}

/// Prints the line tests and scripts wait for: `<name> listening on <addr>`.
pub fn announce(name: &str, addr: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    // A closed stdout must not stop the server.
    let _ = writeln!(out, "{name} listening on {addr}");
    let _ = out.flush();
}

/// Parses a positive interval in seconds, fractions allowed (`5`, `0.05`),
/// for options such as `--poll-interval`. At most a day.
pub fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    const MAX_SECS: f64 = 86_400.0;
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= MAX_SECS) {
        return Err(format!(
            "`{text}`: give a number of seconds above 0 and at most {MAX_SECS}"
        ));
    }
    std::time::Duration::try_from_secs_f64(secs).map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::parse_seconds;
    use std::time::Duration;

    #[test]
    fn seconds_may_be_fractional_but_must_be_positive() {
        assert_eq!(parse_seconds("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_seconds("0.05"), Ok(Duration::from_millis(50)));
        for bad in ["0", "-1", "nan", "inf", "1e9", "soon", ""] {
            assert!(parse_seconds(bad).is_err(), "{bad} accepted");
        }
    }
}
