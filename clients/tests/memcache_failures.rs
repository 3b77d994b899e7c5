//! How the memcache client fails, against scripted servers on the same
//! reactor (no threads, no timing races): a connection closed mid-pipeline,
//! timeouts (on a manual clock), broken replies, refused connections,
//! bounds, backoff, closing and dropping.

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::endpoint::ClientEndpoint;
use torsion::reconnect::Backoff;
use torsion::testing::Clock;
use torsion::{factory_fn, ConnectError, Ctx, Deferred, Failure, Protocol, Reactor};
use torsion_clients::memcache::{ClientConfig, Commands, ConnectionState, MemcacheClient, MemcacheError};

/// Any wait in these tests gives up after this long (real time).
const LIMIT: Duration = Duration::from_secs(30);

/// What the scripted server does with a request line (or, for the line
/// `""`, with a new connection).
enum Act {
    /// memcached's answer to the line (`END` to a get, `VERSION fake`...).
    Answer,
    /// These bytes.
    Send(&'static [u8]),
    /// Nothing.
    Ignore,
    /// Close the connection (cleanly: what was written is delivered).
    Close,
}

type Script = Rc<dyn Fn(usize, usize, &str) -> Act>;

/// What the scripted server saw.
#[derive(Default, Debug)]
struct Log {
    connections: usize,
    closed: usize,
    /// (connection number, line)
    lines: Vec<(usize, String)>,
}

struct Scripted {
    conn: usize,
    lines: usize,
    buf: Vec<u8>,
    log: Rc<RefCell<Log>>,
    script: Script,
}

fn answer(line: &str) -> &'static [u8] {
    match line.split(' ').next() {
        Some("get" | "gets") => b"END\r\n",
        Some("version") => b"VERSION fake\r\n",
        Some("delete" | "incr" | "decr" | "touch") => b"NOT_FOUND\r\n",
        _ => b"ERROR\r\n",
    }
}

impl Scripted {
    /// Carries out `act`; false once the connection is closing.
    fn act(&mut self, ctx: &mut Ctx<'_>, act: Act, line: &str) -> bool {
        match act {
            Act::Answer => ctx.write(answer(line)),
            Act::Send(bytes) => ctx.write(bytes),
            Act::Ignore => {}
            Act::Close => {
                ctx.lose_connection();
                return false;
            }
        }
        true
    }
}

impl Protocol for Scripted {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        self.conn = {
            let mut log = self.log.borrow_mut();
            log.connections += 1;
            log.connections
        };
        match (self.script)(self.conn, 0, "") {
            Act::Answer => {} // nothing to answer yet
            act => {
                self.act(ctx, act, "");
            }
        }
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        self.buf.extend_from_slice(data);
        while let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
            self.buf.drain(..end + 2);
            self.lines += 1;
            self.log.borrow_mut().lines.push((self.conn, line.clone()));
            let act = (self.script)(self.conn, self.lines, &line);
            if !self.act(ctx, act, &line) {
                return;
            }
        }
    }

    fn connection_lost(&mut self, _ctx: &mut Ctx<'_>, _reason: torsion::CloseReason) {
        self.log.borrow_mut().closed += 1;
    }
}

/// A scripted server on `port` (0: any); returns its port and its log.
fn serve(
    reactor: &mut Reactor,
    port: u16,
    script: impl Fn(usize, usize, &str) -> Act + 'static,
) -> (u16, Rc<RefCell<Log>>) {
    let log = Rc::new(RefCell::new(Log::default()));
    let script: Script = Rc::new(script);
    let shared = log.clone();
    let factory = factory_fn(move |_, _| {
        Some(Box::new(Scripted {
            conn: 0,
            lines: 0,
            buf: Vec::new(),
            log: shared.clone(),
            script: script.clone(),
        }) as Box<dyn Protocol>)
    });
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let listener = reactor.listen_tcp(addr, factory).expect("listen");
    let port = reactor
        .local_addr(listener)
        .and_then(|a| a.as_socket_addr())
        .expect("a TCP address")
        .port();
    (port, log)
}

fn config() -> ClientConfig {
    ClientConfig {
        timeout: Some(Duration::from_secs(20)),
        backoff: Backoff {
            initial: Duration::from_millis(20),
            factor: 2.0,
            max: Duration::from_millis(200),
            jitter: 0.0,
            max_retries: None,
        },
        ..ClientConfig::default()
    }
}

fn client(reactor: &mut Reactor, port: u16, config: ClientConfig) -> MemcacheClient {
    MemcacheClient::connect(reactor, ClientEndpoint::tcp("127.0.0.1", port), config)
}

/// Runs `test` to completion, bounded by [`LIMIT`].
fn run<F: Future + 'static>(reactor: &mut Reactor, test: F) -> F::Output
where
    F::Output: 'static,
{
    let watchdog = reactor.call_later(LIMIT, |_| panic!("the test did not finish in {LIMIT:?}"));
    let out = reactor.run_until_complete(test).expect("the reactor ran");
    let _ = watchdog.cancel(reactor);
    out
}

/// Iterates until `done`, bounded by [`LIMIT`] of real time.
fn spin(reactor: &mut Reactor, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !done() {
        assert!(Instant::now() < deadline, "not done in {LIMIT:?}");
        reactor.iterate(Some(Duration::from_millis(5))).expect("iterate");
    }
}

/// The result of a Deferred that has fired (or `None`).
fn outcome<T: 'static>(reactor: &mut Reactor, d: &Deferred<T>) -> Rc<RefCell<Option<Result<T, Failure>>>> {
    let slot = Rc::new(RefCell::new(None));
    let out = slot.clone();
    d.then_both(reactor, move |_, result| {
        *out.borrow_mut() = Some(result);
        Ok(())
    })
    .mark_handled();
    slot
}

fn error_of<T>(result: &Option<Result<T, Failure>>) -> MemcacheError {
    match result {
        Some(Err(failure)) => MemcacheError::of(failure).cloned().expect("a MemcacheError"),
        Some(Ok(_)) => panic!("it succeeded"),
        None => panic!("it has not fired"),
    }
}

fn error<T>(result: Result<T, Failure>) -> MemcacheError {
    error_of(&Some(result))
}

#[test]
fn a_connection_closed_mid_pipeline_fails_exactly_the_requests_in_flight() {
    let mut reactor = Reactor::new().unwrap();
    // The first connection answers three requests, then closes on the
    // fourth; later connections answer everything.
    let (port, log) = serve(&mut reactor, 0, |conn, line, _| match (conn, line) {
        (1, 4) => Act::Close,
        _ => Act::Answer,
    });
    let c = client(&mut reactor, port, config());
    let results = run(&mut reactor, {
        let c = c.clone();
        async move {
            c.when_connected().await.unwrap();
            let gets: Vec<_> = (0..10).map(|i| c.get(format!("k{i}"))).collect();
            let mut results = Vec::new();
            for get in gets {
                results.push(get.await.map_err(|f| MemcacheError::of(&f).cloned()));
            }
            results
        }
    });
    assert_eq!(results[..3], [Ok(None), Ok(None), Ok(None)]);
    assert!(
        results[3..]
            .iter()
            .all(|r| *r == Err(Some(MemcacheError::ConnectionLost))),
        "{results:?}"
    );
    // Requests made later go to a new connection.
    let later = run(&mut reactor, async move { c.version().await });
    assert_eq!(later.unwrap(), "fake");
    assert_eq!(log.borrow().connections, 2);
}

#[test]
fn a_timeout_fails_its_request_and_drops_the_connection() {
    let clock = Clock::new();
    let mut reactor = Reactor::with_clock(clock.clone()).unwrap();
    // The first connection never answers; the second does.
    let (port, log) = serve(
        &mut reactor,
        0,
        |conn, _, _| if conn == 1 { Act::Ignore } else { Act::Answer },
    );
    let c = client(
        &mut reactor,
        port,
        ClientConfig {
            timeout: Some(Duration::from_secs(1)),
            ..config()
        },
    );
    let slow = c.get("slow");
    let behind = c.get("behind");
    let (slow_result, behind_result) = (outcome(&mut reactor, &slow), outcome(&mut reactor, &behind));
    spin(&mut reactor, || log.borrow().lines.len() == 2);
    assert!(slow_result.borrow().is_none(), "no time has passed");
    clock.advance(Duration::from_millis(999));
    reactor.iterate(Some(Duration::ZERO)).unwrap();
    assert!(slow_result.borrow().is_none(), "not before its deadline");
    clock.advance(Duration::from_millis(1));
    reactor.iterate(Some(Duration::ZERO)).unwrap();
    assert_eq!(
        error_of(&slow_result.borrow()),
        MemcacheError::Timeout(Duration::from_secs(1))
    );
    assert_eq!(error_of(&behind_result.borrow()), MemcacheError::ConnectionLost);
    spin(&mut reactor, || log.borrow().closed == 1);
    // It served no reply: the next attempt waits for the backoff (20 ms).
    let next = c.version();
    let next_result = outcome(&mut reactor, &next);
    assert_eq!(c.state(), ConnectionState::Waiting);
    clock.advance(Duration::from_millis(20));
    spin(&mut reactor, || next_result.borrow().is_some());
    assert!(matches!(*next_result.borrow(), Some(Ok(ref v)) if v == "fake"));
    assert_eq!(log.borrow().connections, 2);
}

#[test]
fn a_broken_reply_drops_the_connection() {
    let mut reactor = Reactor::new().unwrap();
    let (port, log) = serve(&mut reactor, 0, |conn, line, _| match (conn, line) {
        (1, 1) => Act::Send(b"HELLO\r\n"),
        (1, _) => Act::Ignore,
        _ => Act::Answer,
    });
    let c = client(&mut reactor, port, config());
    let (broken, behind, later) = run(&mut reactor, async move {
        c.when_connected().await.unwrap();
        let (a, b) = (c.get("a"), c.get("b"));
        let (a, b) = (a.await, b.await);
        (a, b, c.get("c").await)
    });
    assert!(matches!(error(broken), MemcacheError::Protocol(ref why) if why.contains("HELLO")));
    assert_eq!(error(behind), MemcacheError::ConnectionLost);
    assert_eq!(later.unwrap(), None);
    assert_eq!(log.borrow().connections, 2);
}

#[test]
fn bytes_nobody_asked_for_drop_the_connection() {
    let mut reactor = Reactor::new().unwrap();
    let (port, log) = serve(&mut reactor, 0, |conn, line, _| match (conn, line) {
        (1, 0) => Act::Send(b"VERSION surprise\r\n"),
        (_, 0) => Act::Ignore,
        _ => Act::Answer,
    });
    let c = client(&mut reactor, port, config());
    spin(&mut reactor, || log.borrow().closed == 1);
    let v = run(&mut reactor, async move { c.version().await });
    assert_eq!(v.unwrap(), "fake");
    assert_eq!(log.borrow().connections, 2);
}

#[test]
fn a_reply_over_the_bound_is_refused_before_its_data_arrives() {
    let mut reactor = Reactor::new().unwrap();
    let (port, _log) = serve(&mut reactor, 0, |_, line, _| match line {
        0 => Act::Ignore,
        _ => Act::Send(b"VALUE a 0 5000\r\n"),
    });
    let c = client(
        &mut reactor,
        port,
        ClientConfig {
            max_reply: 1000,
            ..config()
        },
    );
    let result = run(&mut reactor, async move { c.get("a").await });
    assert!(matches!(error(result), MemcacheError::Protocol(ref why) if why.contains("1000")));
}

#[test]
fn requests_fail_with_a_refused_connection_and_succeed_once_the_server_is_there() {
    let mut reactor = Reactor::new().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let c = client(&mut reactor, port, config());
    let early = run(&mut reactor, {
        let c = c.clone();
        async move { c.get("k").await }
    });
    let Some(MemcacheError::ConnectFailed(cause)) = Some(error(early)) else {
        panic!("not a connect failure")
    };
    assert!(
        matches!(cause.find::<ConnectError>(), Some(ConnectError::Refused)),
        "{cause:#}"
    );
    // The server comes up on that port: the client gets there on its own.
    let (_, log) = serve(&mut reactor, port, |_, _, _| Act::Answer);
    let later = run(&mut reactor, async move {
        c.when_connected().await.unwrap();
        c.get("k").await
    });
    assert_eq!(later.unwrap(), None);
    assert_eq!(log.borrow().connections, 1);
}

#[test]
fn it_gives_up_after_max_retries() {
    let mut reactor = Reactor::new().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut config = config();
    config.backoff.max_retries = Some(2);
    let c = client(&mut reactor, port, config);
    let waiting = c.when_connected();
    let waiting = outcome(&mut reactor, &waiting);
    spin(&mut reactor, || c.state() == ConnectionState::Closed);
    assert!(matches!(
        error_of(&waiting.borrow()),
        MemcacheError::ConnectFailed(_)
    ));
    let after = c.get("k");
    assert!(after.called(), "refused at once");
    assert!(matches!(
        error(run(&mut reactor, after)),
        MemcacheError::ConnectFailed(_)
    ));
}

#[test]
fn a_connection_lost_before_any_reply_backs_off_instead_of_spinning() {
    let mut reactor = Reactor::new().unwrap();
    // A server that closes every connection at once, as one over its
    // connection limit does.
    let (port, log) = serve(&mut reactor, 0, |_, _, _| Act::Close);
    let _c = client(&mut reactor, port, config());
    spin(&mut reactor, || log.borrow().connections >= 1);
    let first = Instant::now();
    spin(&mut reactor, || log.borrow().connections >= 3);
    // Waits of 20 ms, then 40 ms: the third attempt cannot come sooner
    // (timers never fire early), however fast the machine.
    assert!(
        first.elapsed() >= Duration::from_millis(60),
        "{:?}",
        first.elapsed()
    );
}

#[test]
fn pending_requests_are_bounded() {
    let mut reactor = Reactor::new().unwrap();
    let (port, _log) = serve(&mut reactor, 0, |_, _, _| Act::Answer);
    let c = client(
        &mut reactor,
        port,
        ClientConfig {
            max_pending: 5,
            ..config()
        },
    );
    let admitted: Vec<_> = (0..5).map(|i| c.get(format!("k{i}"))).collect();
    let refused = c.get("one-too-many");
    assert!(refused.called());
    assert_eq!(
        error(run(&mut reactor, refused)),
        MemcacheError::TooManyPending(5)
    );
    for get in admitted {
        assert_eq!(run(&mut reactor, get).unwrap(), None);
    }
    assert_eq!(c.pending(), 0);
}

#[test]
fn dropping_the_client_closes_the_connection_and_fails_what_waits() {
    let mut reactor = Reactor::new().unwrap();
    let (port, log) = serve(&mut reactor, 0, |_, _, _| Act::Ignore);
    let c = client(&mut reactor, port, config());
    let waiting = c.get("k");
    let result = outcome(&mut reactor, &waiting);
    spin(&mut reactor, || log.borrow().lines.len() == 1);
    drop(c);
    spin(&mut reactor, || {
        result.borrow().is_some() && log.borrow().closed == 1
    });
    assert_eq!(error_of(&result.borrow()), MemcacheError::Closed);
}

#[test]
fn closing_while_waiting_to_reconnect_fails_what_waits() {
    let mut reactor = Reactor::new().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut config = config();
    config.backoff.initial = Duration::from_secs(3600);
    let c = client(&mut reactor, port, config);
    spin(&mut reactor, || c.state() == ConnectionState::Waiting);
    let waiting = c.get("k");
    let connected = c.when_connected();
    c.close();
    assert_eq!(error(run(&mut reactor, waiting)), MemcacheError::Closed);
    assert_eq!(error(run(&mut reactor, connected)), MemcacheError::Closed);
    assert_eq!(c.state(), ConnectionState::Closed);
    assert_eq!(
        error(run(&mut reactor, c.when_connected())),
        MemcacheError::Closed
    );
}

#[test]
fn the_reactor_shutdown_closes_the_client_without_reconnecting() {
    let mut reactor = Reactor::new().unwrap();
    let (port, log) = serve(&mut reactor, 0, |_, _, _| Act::Answer);
    let c = client(&mut reactor, port, config());
    let answered = c.version();
    let answered = outcome(&mut reactor, &answered);
    let probe = answered.clone();
    let stopper = torsion::LoopingCall::new(move |r| {
        if probe.borrow().is_some() {
            r.stop();
        }
    });
    stopper.start(&mut reactor, Duration::from_millis(5), false);
    let started = Instant::now();
    reactor.run().unwrap();
    // A client that reconnected would keep the loop running for good; the
    // bound only has to leave a loaded machine room.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(matches!(*answered.borrow(), Some(Ok(_))));
    assert_eq!(log.borrow().connections, 1, "no reconnection during shutdown");
    assert_eq!(c.state(), ConnectionState::Closed);
}
