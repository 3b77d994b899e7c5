//! torsion-httpget: the seeds' exercise 3, an HTTP GET command-line client.
//!
//! `torsion-httpget URL` prints the body (following redirects); `-i` prints
//! the status line and headers first. The seeds' form, `torsion-httpget
//! host:port /path`, works too (`path` and `/path` alike).
//!
//! An HTTP error status (400 and up) prints nothing on stdout and exits 22
//! with the status on stderr, as `curl --fail` does: a script never takes
//! an error page for the page. `--no-fail` prints the error page and exits
//! 0 instead. Any other failure exits 1 with the reason on stderr.

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use torsion::Reactor;
use torsion_clients::http::{BodySink, HttpClient, Response};

/// Fetches a URL with HTTP/1.1 GET and prints the body.
#[derive(Parser, Debug)]
#[command(name = "torsion-httpget", version)]
struct Args {
    /// The URL (http:// or https://), or host:port as in the seeds
    url: String,
    /// The path, when the first argument is host:port
    path: Option<String>,
    /// Print the status line and headers before the body
    #[arg(short = 'i', long = "include")]
    include: bool,
    /// Seconds the whole fetch may take
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Seconds to wait for the connection to open
    #[arg(long = "connect-timeout", default_value_t = 10.0)]
    connect_timeout: f64,
    /// Redirects to follow
    #[arg(long = "max-redirects", default_value_t = 10)]
    max_redirects: usize,
    /// Largest body accepted, in bytes
    #[arg(long = "max-body", default_value_t = 1 << 30)]
    max_body: u64,
    /// Trust only the CA certificates in this PEM file (https)
    #[arg(long = "ca-file")]
    ca_file: Option<PathBuf>,
    /// On an HTTP error status (400 and up), print the page and exit 0
    /// (by default nothing is printed and the exit status is 22, as with
    /// curl --fail)
    #[arg(long = "no-fail")]
    no_fail: bool,
}

/// The exit status of an HTTP error status, as `curl --fail`'s.
const HTTP_ERROR: i32 = 22;

/// Prints the head (with -i) and the body as it arrives; with `fail`, an
/// error status prints nothing and is recorded instead.
struct Print {
    include: bool,
    fail: bool,
    /// An error status was recorded: the body is not printed.
    discard: bool,
    /// What went wrong, and the exit status it means.
    failed: Rc<RefCell<Option<(String, i32)>>>,
}

impl BodySink for Print {
    fn head(&mut self, _reactor: &mut Reactor, response: &Response) {
        if self.fail && response.status >= 400 {
            self.discard = true;
            self.failed.borrow_mut().get_or_insert((
                format!("the server answered {} {}", response.status, response.reason),
                HTTP_ERROR,
            ));
            return;
        }
        if self.include {
            let mut head = format!(
                "{} {} {}\r\n",
                response.version.as_str(),
                response.status,
                response.reason
            );
            for (name, value) in response.headers.iter() {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            self.out(head.as_bytes());
        }
    }

    fn data(&mut self, _reactor: &mut Reactor, chunk: &[u8]) {
        if !self.discard {
            self.out(chunk);
        }
    }
}

impl Print {
    fn out(&mut self, bytes: &[u8]) {
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = stdout.write_all(bytes).and_then(|_| stdout.flush()) {
            self.failed
                .borrow_mut()
                .get_or_insert((format!("writing to stdout: {e}"), 1));
        }
    }
}

fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::from_secs(30))
}

fn main() {
    let args = Args::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let url = match (&args.path, args.url.contains("://")) {
        // The seeds' `httpget.py host:port <path>`: a path may lack its `/`.
        (Some(path), false) if !path.starts_with('/') => format!("http://{}/{}", args.url, path),
        (Some(path), false) => format!("http://{}{}", args.url, path),
        (Some(_), true) => fail("give either a URL, or host:port and a path"),
        (None, false) => format!("http://{}", args.url),
        (None, true) => args.url.clone(),
    };
    let mut client = HttpClient::new()
        .keep_alive(false)
        .timeout(Some(seconds(args.timeout)))
        .connect_timeout(seconds(args.connect_timeout))
        .max_redirects(args.max_redirects)
        .max_body(args.max_body);
    if let Some(ca) = &args.ca_file {
        client = client.ca_file(ca);
    }
    let mut reactor = match Reactor::new() {
        Ok(r) => r,
        Err(e) => fail(&format!("cannot start the reactor: {e}")),
    };
    let failed = Rc::new(RefCell::new(None));
    let sink = Print {
        include: args.include,
        fail: !args.no_fail,
        discard: false,
        failed: failed.clone(),
    };
    let outcome = failed.clone();
    let shown = url.clone();
    // Start once the loop runs, so that a fetch failing at once (a bad
    // URL) stops a running loop.
    reactor.call_when_running(move |r| {
        let fetched = client.get_streaming(r, &url, sink);
        let _done = fetched.then_both(r, move |r, result| {
            if let Err(failure) = &result {
                outcome.borrow_mut().get_or_insert((failure.to_string(), 1));
            }
            r.stop();
            Ok::<(), torsion::Failure>(())
        });
    });
    if let Err(e) = reactor.run() {
        fail(&format!("reactor error: {e}"));
    }
    let reason = failed.borrow_mut().take();
    if let Some((reason, status)) = reason {
        match status {
            HTTP_ERROR => fail_with(&format!("{shown}: {reason}"), status),
            _ => fail_with(&reason, status),
        }
    }
}

fn fail(reason: &str) -> ! {
    fail_with(reason, 1)
}

fn fail_with(reason: &str, status: i32) -> ! {
    eprintln!("torsion-httpget: {reason}");
    std::process::exit(status);
}
