//! torsion-multiclient: the seeds' `multiclient.py` and `threadedclient.py`
//! (seed 004), on the Torsion reactor instead of blocking sockets and threads.
//!
//! For each word: connect, send the word and `\r\n`, read until the server
//! closes; that is one *exchange*. [`run`] does them one after another
//! ([`Mode::Sequential`], `multiclient.py`) or all at once
//! ([`Mode::Parallel`], `threadedclient.py`), on one thread either way: the
//! reactor multiplexes the connections the seed needed a thread each for.
//!
//! Results are reported in the order of the words, each as soon as it and
//! every earlier one are done, so the output of a parallel run is
//! deterministic (the seed's threads printed in whatever order they ran).
//!
//! Bounds: at most [`MAX_IN_FLIGHT`] connections at once, replies of at
//! most [`MAX_REPLY`] bytes, and a timeout for connecting and for each
//! reply. A sequential run stops at the first failure, as the seed's did
//! (with an exception); a parallel run reports every failure.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use torsion::{CloseReason, ConnectError, ConnectOptions, Ctx, DelayedCall, OneShot, Protocol, Reactor};

/// The most connections a parallel run opens at once; further words wait
/// for a connection to finish.
pub const MAX_IN_FLIGHT: usize = 256;

/// The longest reply kept; a longer one fails its exchange.
pub const MAX_REPLY: usize = 16 * 1024 * 1024;

/// One exchange at a time, or all at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `multiclient.py`: the next connection opens when the last closed.
    Sequential,
    /// `threadedclient.py`: every connection at once (up to [`MAX_IN_FLIGHT`]).
    Parallel,
}

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Sequential or parallel.
    pub mode: Mode,
    /// The limit for connecting, and then for the whole reply.
    pub timeout: Duration,
    /// The longest reply accepted.
    pub max_reply: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Sequential,
            timeout: Duration::from_secs(30),
            max_reply: MAX_REPLY,
        }
    }
}

/// Why an exchange failed.
#[derive(Clone, Debug)]
pub enum ExchangeError {
    /// The connection could not be made.
    Connect(ConnectError),
    /// The connection broke before the server closed it cleanly.
    Closed(CloseReason),
    /// No complete reply within the timeout.
    TimedOut(Duration),
    /// The reply grew past the bound.
    TooLarge(usize),
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExchangeError::Connect(e) => e.fmt(f),
            ExchangeError::Closed(reason) => reason.fmt(f),
            ExchangeError::TimedOut(after) => {
                write!(f, "no complete reply after {} s", after.as_secs_f64())
            }
            ExchangeError::TooLarge(max) => write!(f, "reply longer than {max} bytes"),
        }
    }
}

impl std::error::Error for ExchangeError {}

/// What became of one word.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Everything the server sent before it closed.
    Reply(Vec<u8>),
    /// The exchange failed.
    Failed(ExchangeError),
    /// Never sent: a sequential run stopped at an earlier failure.
    NotSent,
}

/// Runs one exchange per word against `addr` on a reactor of its own, and
/// calls `report(index, word, outcome)` for each word in order. Returns
/// the outcomes; fails only if the reactor cannot run.
pub fn run(
    addr: SocketAddr,
    words: &[String],
    options: &Options,
    report: impl FnMut(usize, &str, &Outcome) + 'static,
) -> io::Result<Vec<Outcome>> {
    let mut reactor = Reactor::new()?;
    let state = Rc::new(RefCell::new(Run {
        addr,
        words: words.to_vec(),
        options: options.clone(),
        outcomes: vec![None; words.len()],
        started: 0,
        in_flight: 0,
        reported: 0,
        stopped: false,
        report: Box::new(report),
    }));
    let starter = state.clone();
    reactor.call_when_running(move |r| Run::pump(&starter, r));
    reactor.run()?;
    let mut state = state.borrow_mut();
    Ok(state
        .outcomes
        .iter_mut()
        .map(|o| o.take().unwrap_or(Outcome::NotSent))
        .collect())
}

type Report = Box<dyn FnMut(usize, &str, &Outcome)>;

/// The progress of a run, shared by its exchanges.
struct Run {
    addr: SocketAddr,
    words: Vec<String>,
    options: Options,
    outcomes: Vec<Option<Outcome>>,
    /// Exchanges started so far (words `0..started`).
    started: usize,
    in_flight: usize,
    /// Outcomes reported so far (words `0..reported`).
    reported: usize,
    /// A sequential run failed: start nothing more.
    stopped: bool,
    report: Report,
}

impl Run {
    fn limit(&self) -> usize {
        match self.options.mode {
            Mode::Sequential => 1,
            Mode::Parallel => MAX_IN_FLIGHT,
        }
    }

    /// Starts what may start, reports what is done in order, and stops the
    /// reactor once nothing is left.
    fn pump(this: &Rc<RefCell<Run>>, reactor: &mut Reactor) {
        loop {
            let (index, word) = {
                let mut run = this.borrow_mut();
                if run.stopped || run.started == run.words.len() || run.in_flight >= run.limit() {
                    break;
                }
                let index = run.started;
                run.started += 1;
                run.in_flight += 1;
                (index, run.words[index].clone())
            };
            Run::start(this, reactor, index, word);
        }
        let mut run = this.borrow_mut();
        let run = &mut *run;
        while let Some(Some(outcome)) = run.outcomes.get(run.reported) {
            (run.report)(run.reported, &run.words[run.reported], outcome);
            run.reported += 1;
        }
        let nothing_to_start = run.stopped || run.started == run.words.len();
        if run.in_flight == 0 && nothing_to_start {
            while run.reported < run.words.len() {
                let index = run.reported;
                run.outcomes[index] = Some(Outcome::NotSent);
                (run.report)(index, &run.words[index], &Outcome::NotSent);
                run.reported += 1;
            }
            // Not `reactor.stop()` directly: called from a notice delivered
            // while an iteration settles (a refused connect is one), a stop
            // is not seen before that iteration polls, and with nothing else
            // pending it would poll forever. A queued call makes that poll
            // return at once.
            reactor.call_soon(|r| r.stop());
        }
    }

    fn start(this: &Rc<RefCell<Run>>, reactor: &mut Reactor, index: usize, word: String) {
        let (addr, options) = {
            let run = this.borrow();
            (run.addr, run.options.clone())
        };
        let exchange = Exchange {
            index,
            word,
            reply: Vec::new(),
            failure: None,
            deadline: None,
            options: options.clone(),
            run: this.clone(),
        };
        let run = this.clone();
        let factory = OneShot::new(exchange).on_failure(move |reactor, error| {
            Run::finish(
                &run,
                reactor,
                index,
                Outcome::Failed(ExchangeError::Connect(error)),
            );
        });
        let connect = ConnectOptions {
            timeout: Some(options.timeout),
            ..ConnectOptions::default()
        };
        reactor.connect_tcp_with(addr, factory, connect);
    }

    fn finish(this: &Rc<RefCell<Run>>, reactor: &mut Reactor, index: usize, outcome: Outcome) {
        {
            let mut run = this.borrow_mut();
            if matches!(outcome, Outcome::Failed(_)) && run.options.mode == Mode::Sequential {
                run.stopped = true;
            }
            run.outcomes[index] = Some(outcome);
            run.in_flight -= 1;
        }
        Run::pump(this, reactor);
    }
}

/// One connection: send the word, collect the reply until the server closes.
struct Exchange {
    index: usize,
    word: String,
    reply: Vec<u8>,
    failure: Option<ExchangeError>,
    deadline: Option<DelayedCall>,
    options: Options,
    run: Rc<RefCell<Run>>,
}

impl Protocol for Exchange {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        ctx.write_sequence(&[self.word.as_bytes(), b"\r\n"]);
        let id = ctx.id();
        self.deadline = Some(ctx.call_later(self.options.timeout, move |reactor| {
            reactor.transport(id).abort_with(CloseReason::TimedOut);
        }));
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        if self.reply.len().saturating_add(data.len()) > self.options.max_reply {
            self.failure = Some(ExchangeError::TooLarge(self.options.max_reply));
            ctx.abort_connection();
            return;
        }
        self.reply.extend_from_slice(data);
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        if let Some(deadline) = self.deadline.take() {
            let _ = deadline.cancel(ctx);
        }
        let outcome = match (self.failure.take(), reason) {
            (Some(failure), _) => Outcome::Failed(failure),
            (None, CloseReason::Done) => Outcome::Reply(std::mem::take(&mut self.reply)),
            (None, CloseReason::TimedOut) => Outcome::Failed(ExchangeError::TimedOut(self.options.timeout)),
            (None, reason) => Outcome::Failed(ExchangeError::Closed(reason)),
        };
        Run::finish(&self.run, ctx, self.index, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::thread;

    /// A blocking uppercase server on a thread, for `count` connections.
    fn upper_server(count: usize) -> (SocketAddr, thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = thread::spawn(move || {
            let mut clients: Vec<_> = (0..count).map(|_| listener.accept().unwrap().0).collect();
            // Answer in reverse order: a parallel run must still report in order.
            clients.reverse();
            for client in &mut clients {
                let mut line = Vec::new();
                let mut byte = [0];
                while !line.ends_with(b"\r\n") {
                    client.read_exact(&mut byte).unwrap();
                    line.push(byte[0]);
                }
                client.write_all(&line.to_ascii_uppercase()).unwrap();
            }
        });
        (addr, handle)
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    fn replies(outcomes: &[Outcome]) -> Vec<String> {
        outcomes
            .iter()
            .map(|o| match o {
                Outcome::Reply(r) => String::from_utf8_lossy(r).into_owned(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn parallel_runs_report_in_word_order() {
        let (addr, server) = upper_server(3);
        let order = Rc::new(RefCell::new(Vec::new()));
        let seen = order.clone();
        let options = Options {
            mode: Mode::Parallel,
            ..Options::default()
        };
        let outcomes = run(addr, &words(&["a", "b", "c"]), &options, move |i, w, _| {
            seen.borrow_mut().push((i, w.to_string()))
        })
        .unwrap();
        server.join().unwrap();
        assert_eq!(replies(&outcomes), ["A\r\n", "B\r\n", "C\r\n"]);
        assert_eq!(
            *order.borrow(),
            [(0, "a".into()), (1, "b".into()), (2, "c".into())]
        );
    }

    #[test]
    fn a_sequential_run_stops_at_the_first_failure() {
        // Nothing listens on a port just released.
        let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let outcomes = run(addr, &words(&["a", "b"]), &Options::default(), |_, _, _| {}).unwrap();
        assert!(
            matches!(
                outcomes[0],
                Outcome::Failed(ExchangeError::Connect(ConnectError::Refused))
            ),
            "{outcomes:?}"
        );
        assert!(matches!(outcomes[1], Outcome::NotSent), "{outcomes:?}");
    }

    #[test]
    fn a_parallel_run_reports_every_failure() {
        let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let options = Options {
            mode: Mode::Parallel,
            ..Options::default()
        };
        let outcomes = run(addr, &words(&["a", "b"]), &options, |_, _, _| {}).unwrap();
        assert!(
            outcomes.iter().all(|o| matches!(o, Outcome::Failed(_))),
            "{outcomes:?}"
        );
    }

    #[test]
    fn no_words_no_work() {
        let addr = "127.0.0.1:9".parse().unwrap();
        assert!(run(addr, &[], &Options::default(), |_, _, _| {})
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_reply_past_the_bound_fails() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut client, _) = listener.accept().unwrap();
            let _ = client.write_all(&[b'x'; 4096]);
        });
        let options = Options {
            max_reply: 1000,
            ..Options::default()
        };
        let outcomes = run(addr, &words(&["a"]), &options, |_, _, _| {}).unwrap();
        server.join().unwrap();
        assert!(
            matches!(outcomes[0], Outcome::Failed(ExchangeError::TooLarge(1000))),
            "{outcomes:?}"
        );
    }

    #[test]
    fn a_server_that_never_closes_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (client, _) = listener.accept().unwrap();
            // Hold the connection open until the client gives up.
            let _ = (&client).read_to_end(&mut Vec::new());
        });
        let options = Options {
            timeout: Duration::from_millis(100),
            ..Options::default()
        };
        let outcomes = run(addr, &words(&["a"]), &options, |_, _, _| {}).unwrap();
        server.join().unwrap();
        assert!(
            matches!(outcomes[0], Outcome::Failed(ExchangeError::TimedOut(_))),
            "{outcomes:?}"
        );
    }
}
