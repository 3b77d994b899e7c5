//! What every Torsion server shares on its command line and at startup.
//!
//! Each server takes `-p/--port` (its default shown by `--help`; 0 lets the
//! OS choose) and `-l/--listen` (default 127.0.0.1) through [`ListenArgs`],
//! and how its process runs through [`ProcessArgs`]: `-d/--daemon`,
//! `--logfile FILE` and `-P/--pidfile FILE`, twistd's and memcached's
//! flags. [`run_server`] is every server's `main`: it detaches when asked,
//! starts logging through `env_logger` (`RUST_LOG`, default `info`), runs
//! the server, and reports a failure as `<name>: <why>` with exit status 1.
//!
//! A server creates its reactor with [`reactor`], listens (a failure reads
//! `cannot listen on ADDR:PORT: <reason>`, see [`ListenError`]), then calls
//! [`Startup::ready`], which writes the pidfile, prints `<name> listening
//! on <addr>` on stdout for each port (tests and scripts read those lines)
//! and, with `-d`, lets the command return. It exits 0 after SIGINT or
//! SIGTERM once its connections are closed, removing its pidfile.
//!
//! # Running in the background
//!
//! `-d` forks before anything else runs (no thread, no reactor yet: a fork
//! copies only the thread that calls it). The command that was typed waits,
//! and the server goes on in the child: it starts a session of its own
//! (`setsid`: no controlling terminal, so closing the terminal or pressing
//! Ctrl-C there does not reach it), listens, writes its pidfile, and prints
//! its `listening on` lines. Only then does it give up the terminal, stdin
//! from `/dev/null`, stdout and stderr to the `--logfile` or `/dev/null`,
//! and tell the waiting command, which exits 0. So the command returns once
//! the server answers on its port, and a server that cannot start says why
//! on the terminal, and the command exits with its status. The working
//! directory stays, as twistd's does: relative paths (a state file, the
//! pidfile) keep meaning what they meant.

mod daemon;
mod pidfile;
mod sys;

use std::fmt;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use torsion::{Factory, ListenerId, Reactor};

/// `-p/--port` and `-l/--listen`, with the process flags, flattened into
/// each server's arguments. `PORT` is the server's default port, which
/// `--help` shows.
#[derive(clap::Args, Clone, Debug)]
pub struct ListenArgs<const PORT: u16> {
    /// TCP port to listen on (0 lets the OS choose one)
    #[arg(short = 'p', long = "port", default_value_t = PORT)]
    pub port: u16,
    /// Address to listen on
    #[arg(short = 'l', long = "listen", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub listen: IpAddr,
    /// How the process runs: in the background, where it logs, its pidfile.
    #[command(flatten)]
    pub process: ProcessArgs,
}

impl<const PORT: u16> ListenArgs<PORT> {
    /// The socket address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.listen, self.port)
    }
}

/// `-d/--daemon`, `--logfile FILE` and `-P/--pidfile FILE`: twistd's
/// workflow (start in the background, stop with ``kill `cat FILE` ``), on
/// every server; [`run_server`] acts on them.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ProcessArgs {
    /// Run in the background, detached from the terminal; the command
    /// returns once the server listens (stdout and stderr then go to
    /// --logfile, or nowhere)
    #[arg(short = 'd', long = "daemon", help_heading = "Process")]
    pub daemon: bool,
    /// Append the log to FILE instead of writing it to stderr
    #[arg(long = "logfile", value_name = "FILE", help_heading = "Process")]
    pub logfile: Option<PathBuf>,
    /// Write the process id to FILE once listening and remove it at exit;
    /// refuse to start while FILE names a running process
    #[arg(short = 'P', long = "pidfile", value_name = "FILE", help_heading = "Process")]
    pub pidfile: Option<PathBuf>,
}

/// A server between its start and [`Startup::ready`]; it removes the
/// pidfile when dropped, at the end of [`run_server`].
pub struct Startup {
    name: String,
    process: ProcessArgs,
    /// With `-d`: the way to tell the waiting command that the server is up.
    launcher: Option<daemon::Launcher>,
    /// The pidfile, once written.
    pidfile: Option<pidfile::Pidfile>,
}

impl Startup {
    /// Every listener listens: writes the pidfile, announces each listener
    /// as `<name> listening on <addr>`, in order (the first is the one
    /// scripts read), and with `-d` leaves the terminal and lets the
    /// command return.
    pub fn ready(&mut self, reactor: &mut Reactor, listeners: &[(&str, ListenerId)]) -> Result<(), String> {
        if let Some(path) = &self.process.pidfile {
            self.pidfile = Some(pidfile::Pidfile::write(path, &self.name)?);
        }
        for (name, id) in listeners {
            if let Some(addr) = reactor.local_addr(*id) {
                announce(name, addr);
            }
        }
        match self.launcher.take() {
            Some(launcher) => launcher.detach(self.process.logfile.as_deref()),
            None => Ok(()),
        }
    }

    /// The life of a server with one TCP port: a [`reactor`], the listen,
    /// [`ready`](Startup::ready), and the loop, until a signal stops it.
    pub fn serve_tcp(&mut self, addr: SocketAddr, factory: impl Factory) -> Result<(), String> {
        let mut reactor = reactor()?;
        let listener = listen_tcp(&mut reactor, addr, factory)?;
        let name = self.name.clone();
        self.ready(&mut reactor, &[(&name, listener)])?;
        run(&mut reactor)
    }
}

/// Runs a server: refuses a pidfile another running process holds, forks
/// with `-d`, starts logging (to `--logfile` if given) at `info` unless
/// `RUST_LOG` says otherwise, then runs `serve`, which creates the reactor,
/// listens, calls [`Startup::ready`] and runs the loop. A failure prints
/// `<name>: <why>` on stderr and exits 1.
pub fn run_server(
    name: &str,
    process: &ProcessArgs,
    serve: impl FnOnce(&mut Startup) -> Result<(), String>,
) -> ExitCode {
    run_server_logging(name, process, "info", serve)
}

/// [`run_server`], logging at `level` (`debug`, `trace`...) unless
/// `RUST_LOG` says otherwise.
pub fn run_server_logging(
    name: &str,
    process: &ProcessArgs,
    level: &str,
    serve: impl FnOnce(&mut Startup) -> Result<(), String>,
) -> ExitCode {
    match start(name, process, level, serve) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Before `ready`, the terminal's stderr; after it, with -d, the
            // log file (or nowhere).
            eprintln!("{name}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn start(
    name: &str,
    process: &ProcessArgs,
    level: &str,
    serve: impl FnOnce(&mut Startup) -> Result<(), String>,
) -> Result<(), String> {
    // Before forking, so the refusal is the command's own.
    if let Some(path) = &process.pidfile {
        pidfile::refuse_if_held(path, name)?;
    }
    // First of all: only the child returns, and nothing runs a thread yet.
    let launcher = if process.daemon {
        Some(daemon::fork()?)
    } else {
        None
    };
    init_logging(level, process.logfile.as_deref())?;
    let mut startup = Startup {
        name: name.to_string(),
        process: process.clone(),
        launcher,
        pidfile: None,
    };
    // `startup` drops after `serve` returns: the pidfile goes last.
    serve(&mut startup)
}

/// Starts logging at `level` unless `RUST_LOG` says otherwise, to stderr
/// or appended to `logfile`.
fn init_logging(level: &str, logfile: Option<&std::path::Path>) -> Result<(), String> {
    let mut builder = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level));
    builder.format_timestamp_millis();
    if let Some(path) = logfile {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open the log file {}: {e}", path.display()))?;
        builder
            .target(env_logger::Target::Pipe(Box::new(file)))
            .write_style(env_logger::WriteStyle::Never);
    }
    builder.init();
    Ok(())
}

/// A reactor that stops cleanly on SIGINT and SIGTERM. Watching signals
/// comes before listening: a signal sent right after the announcement must
/// stop the server cleanly.
pub fn reactor() -> Result<Reactor, String> {
    let mut reactor = Reactor::new().map_err(|e| format!("cannot create the reactor: {e}"))?;
    reactor
        .stop_on_signals()
        .map_err(|e| format!("cannot watch signals: {e}"))?;
    Ok(reactor)
}

/// Runs the loop until a signal (or the server) stops it.
pub fn run(reactor: &mut Reactor) -> Result<(), String> {
    reactor.run().map_err(|e| format!("the loop failed: {e}"))
}

/// Prints the line tests and scripts wait for: `<name> listening on <addr>`.
fn announce(name: &str, addr: impl fmt::Display) {
    let mut out = io::stdout().lock();
    // A closed stdout must not stop the server.
    let _ = writeln!(out, "{name} listening on {addr}");
    let _ = out.flush();
}

/// A listen that failed: `cannot listen on 127.0.0.1:8000: Address already
/// in use`, naming the port's role for a server with several
/// (`cannot listen on 127.0.0.1:8789 (the AMP port, --amp-port): ...`).
///
/// # Examples
///
/// ```
/// use torsion_servers::cli::ListenError;
///
/// let busy = std::io::Error::from_raw_os_error(98); // EADDRINUSE on Linux
/// let error = ListenError::new("127.0.0.1:8789", busy).which("the AMP port, --amp-port");
/// assert_eq!(
///     error.to_string(),
///     "cannot listen on 127.0.0.1:8789 (the AMP port, --amp-port): Address already in use"
/// );
/// ```
#[derive(Debug)]
pub struct ListenError {
    at: String,
    which: Option<&'static str>,
    error: io::Error,
}

impl ListenError {
    /// Listening on `at` (an address, a socket path) failed with `error`.
    pub fn new(at: impl fmt::Display, error: io::Error) -> Self {
        ListenError {
            at: at.to_string(),
            which: None,
            error,
        }
    }

    /// Names the port among the server's several.
    pub fn which(mut self, which: &'static str) -> Self {
        self.which = Some(which);
        self
    }

    /// Why, as the system said it.
    pub fn error(&self) -> &io::Error {
        &self.error
    }
}

impl fmt::Display for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot listen on {}", self.at)?;
        if let Some(which) = self.which {
            write!(f, " ({which})")?;
        }
        write!(f, ": {}", reason(&self.error))
    }
}

impl std::error::Error for ListenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<ListenError> for String {
    fn from(e: ListenError) -> String {
        e.to_string()
    }
}

impl From<ListenError> for io::Error {
    fn from(e: ListenError) -> io::Error {
        io::Error::new(e.error.kind(), e)
    }
}

/// The system's words for `error`, without Rust's ` (os error N)`.
pub fn reason(error: &io::Error) -> String {
    let text = error.to_string();
    match error.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .unwrap_or(&text)
            .to_string(),
        None => text,
    }
}

/// Listens on `addr` with default options, or says why it cannot.
pub fn listen_tcp(
    reactor: &mut Reactor,
    addr: SocketAddr,
    factory: impl Factory,
) -> Result<ListenerId, ListenError> {
    reactor
        .listen_tcp(addr, factory)
        .map_err(|e| ListenError::new(addr, e))
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
    use super::*;
    use std::time::Duration;

    #[test]
    fn seconds_may_be_fractional_but_must_be_positive() {
        assert_eq!(parse_seconds("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_seconds("0.05"), Ok(Duration::from_millis(50)));
        for bad in ["0", "-1", "nan", "inf", "1e9", "soon", ""] {
            assert!(parse_seconds(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_listen_error_names_the_address_and_the_reason_only() {
        let refused = io::Error::from_raw_os_error(libc::EADDRNOTAVAIL);
        let error = ListenError::new("192.0.2.1:8000", refused);
        assert_eq!(
            error.to_string(),
            "cannot listen on 192.0.2.1:8000: Cannot assign requested address"
        );
        // Through io::Error (a library's io::Result), the words stay.
        let through: io::Error = error.into();
        assert!(through
            .to_string()
            .starts_with("cannot listen on 192.0.2.1:8000: "));
        let plain = io::Error::other("no such thing");
        assert_eq!(reason(&plain), "no such thing");
    }

    #[test]
    fn the_default_port_is_the_servers() {
        #[derive(clap::Parser)]
        struct Args {
            #[command(flatten)]
            listen: ListenArgs<8888>,
        }
        let args = <Args as clap::Parser>::parse_from(["x"]);
        assert_eq!(args.listen.addr(), "127.0.0.1:8888".parse().unwrap());
        assert!(!args.listen.process.daemon);
        let args = <Args as clap::Parser>::parse_from(["x", "-p", "0", "-d", "-P", "x.pid"]);
        assert_eq!(args.listen.port, 0);
        assert!(args.listen.process.daemon);
        assert_eq!(args.listen.process.pidfile, Some(PathBuf::from("x.pid")));
    }
}
