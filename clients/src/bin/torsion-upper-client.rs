//! torsion-upper-client: the seeds' simple client (v1 to v4).
//!
//! For each word on the command line it connects to torsion-upper, sends
//! the word and a CRLF, and prints the reply when the server closes the
//! connection. A DeferredList stops the reactor once every word is done;
//! then it prints the total time. It exits 0 when every word got its reply
//! (whatever the reply says: against the proxy, as the seeds run
//! simpleclient4, the words are URLs and the replies pages), and 1 (with
//! the reasons on stderr) when a connection failed or a reply never came.
//!
//! ```text
//! $ torsion-upper-client 127.0.0.1:8000 a b c d
//! ```

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::Parser;
use torsion::defer::ListResult;
use torsion::endpoint::ClientEndpoint;
use torsion::{CloseReason, Ctx, Deferred, DeferredList, Failure, Protocol, Reactor};

/// Sends each word to torsion-upper on its own connection and prints the replies.
#[derive(Parser, Debug)]
#[command(name = "torsion-upper-client", version)]
struct Args {
    /// The server, as HOST:PORT (a name, an IPv4 address, or an IPv6 address in brackets)
    server: String,
    /// The words to send, one connection each
    #[arg(required = true)]
    words: Vec<String>,
    /// Give up on a word after this many seconds
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
}

/// One word's connection: sends the word, collects the reply until the
/// server closes, then fires `done` with it.
struct UpperClient {
    word: String,
    reply: Vec<u8>,
    done: Deferred<String>,
}

impl Protocol for UpperClient {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        ctx.write_sequence(&[self.word.as_bytes(), b"\r\n"]);
    }

    fn data_received(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) {
        self.reply.extend_from_slice(data);
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        let reply = String::from_utf8_lossy(&self.reply).into_owned();
        let fired = if reason.is_clean() || !reply.is_empty() {
            self.done.callback(ctx, reply)
        } else {
            self.done.errback(ctx, reason)
        };
        if fired.is_err() {
            log::debug!("{}: the reply came after the word was given up", ctx.id());
        }
    }
}

/// `host:port`, `[v6]:port` -> an endpoint.
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

/// Connects for one word; the returned Deferred fires with the reply.
fn send_word(
    reactor: &mut Reactor,
    endpoint: &ClientEndpoint,
    word: &str,
    timeout: Duration,
) -> Deferred<String> {
    println!("sending {word}");
    let done: Deferred<String> = Deferred::new();
    let client = UpperClient {
        word: word.to_string(),
        reply: Vec::new(),
        done: done.clone(),
    };
    let connect_failed = done.clone();
    endpoint
        .connect_protocol(reactor, client)
        .then_both(reactor, move |r, connected| {
            if let Err(failure) = connected {
                let _ = connect_failed.errback(r, failure);
            }
            Ok(())
        })
        .mark_handled();
    let started = Instant::now();
    let name = word.to_string();
    done.add_timeout(reactor, timeout).add_callbacks(
        reactor,
        move |_, reply| {
            println!(
                "received response for {name} (took {:.3}s)",
                started.elapsed().as_secs_f64()
            );
            print!("{reply}");
            if !reply.ends_with('\n') {
                println!();
            }
            Ok(reply)
        },
        {
            let name = word.to_string();
            move |_, failure: Failure| Err(failure.context(format!("word {name:?}")))
        },
    );
    done
}

fn main() -> ExitCode {
    let args = Args::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let endpoint = match endpoint(&args.server) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("torsion-upper-client: {e}");
            return ExitCode::from(2);
        }
    };
    let timeout = Duration::try_from_secs_f64(args.timeout).unwrap_or(Duration::from_secs(10));
    let mut reactor = match Reactor::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("torsion-upper-client: cannot start the reactor: {e}");
            return ExitCode::FAILURE;
        }
    };
    let overall = Instant::now();
    let all: Vec<Deferred<String>> = args
        .words
        .iter()
        .map(|word| send_word(&mut reactor, &endpoint, word, timeout))
        .collect();
    let outcome = Rc::new(RefCell::new(None));
    let out = outcome.clone();
    DeferredList::new(all)
        .consume_errors(true)
        .start(&mut reactor)
        .add_callback(&mut reactor, move |r, results| {
            r.stop();
            *out.borrow_mut() = Some(results);
            Ok(ListResult::All(Vec::new()))
        });
    if let Err(e) = reactor.run() {
        eprintln!("torsion-upper-client: the reactor failed: {e}");
        return ExitCode::FAILURE;
    }
    println!("finished, took {:.3}s", overall.elapsed().as_secs_f64());
    let Some(ListResult::All(results)) = outcome.borrow_mut().take() else {
        eprintln!("torsion-upper-client: stopped before every word was done");
        return ExitCode::FAILURE;
    };
    let failures: Vec<Failure> = results.into_iter().filter_map(Result::err).collect();
    for failure in &failures {
        eprintln!("torsion-upper-client: {failure:#}");
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
