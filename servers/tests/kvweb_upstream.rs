//! `Upstream`, the connection kvweb keeps to torsion-kv: over real sockets
//! on 127.0.0.1 to a store served on the same reactor, with the manual
//! clock for the backoff and the timeouts.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::defer::TimedOut;
use torsion::endpoint::ClientEndpoint;
use torsion::reconnect::Backoff;
use torsion::testing::Clock;
use torsion::{
    factory_fn, Address, CloseReason, ConnectionId, Ctx, Deferred, Discard, Factory, Failure, ListenerId,
    Protocol, Reactor,
};
use torsion_clients::kv::{KeyNotFound, KeyValue, Strings};
use torsion_servers::kv::{amp, pb, KvStore, LineFactory, StoreConfig};
use torsion_servers::kvweb::{Backend, Health, Problem, Unavailable, Upstream, UpstreamConfig, Wire};

const WAIT: Duration = Duration::from_secs(20);

/// A server protocol whose connection the test can cut.
struct Tracked {
    inner: Box<dyn Protocol>,
    conns: Rc<RefCell<Vec<ConnectionId>>>,
}

impl Protocol for Tracked {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        self.conns.borrow_mut().push(ctx.id());
        self.inner.connection_made(ctx);
    }
    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        self.inner.data_received(ctx, data);
    }
    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        self.inner.read_connection_lost(ctx);
    }
    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        self.inner.connection_lost(ctx, reason);
    }
}

/// torsion-kv's store on this reactor, on one port, over one wire.
struct Kv {
    store: KvStore,
    wire: Wire,
    addr: SocketAddr,
    listener: Option<ListenerId>,
    conns: Rc<RefCell<Vec<ConnectionId>>>,
}

impl Kv {
    fn start(reactor: &mut Reactor, wire: Wire) -> Kv {
        let mut kv = Kv {
            store: KvStore::new(StoreConfig::default()),
            wire,
            addr: "127.0.0.1:0".parse().unwrap(),
            listener: None,
            conns: Rc::default(),
        };
        kv.listen(reactor);
        kv
    }

    fn listen(&mut self, reactor: &mut Reactor) {
        let mut inner: Box<dyn Factory> = match self.wire {
            Wire::Line => Box::new(LineFactory::new(self.store.clone())),
            Wire::Amp => Box::new(amp::factory(self.store.clone())),
            Wire::Pb(_) => Box::new(pb::factory(self.store.clone())),
        };
        let conns = self.conns.clone();
        let factory = factory_fn(move |r: &mut Reactor, peer: &Address| {
            let inner = inner.build_protocol(r, peer)?;
            Some(Box::new(Tracked {
                inner,
                conns: conns.clone(),
            }) as Box<dyn Protocol>)
        });
        let listener = reactor.listen_tcp(self.addr, factory).expect("listen");
        let Some(Address::Tcp(addr)) = reactor.local_addr(listener) else {
            panic!("a TCP listener")
        };
        self.addr = addr;
        self.listener = Some(listener);
    }

    /// torsion-kv stops: no listener, its connections closed.
    fn go_away(&mut self, reactor: &mut Reactor) {
        if let Some(listener) = self.listener.take() {
            reactor.stop_listening(listener);
        }
        for id in self.conns.borrow_mut().drain(..) {
            reactor.transport(id).lose_connection();
        }
    }

    fn endpoint(&self) -> ClientEndpoint {
        ClientEndpoint::tcp("127.0.0.1", self.addr.port())
    }
}

fn config(endpoint: ClientEndpoint, wire: Wire) -> UpstreamConfig {
    let mut config = UpstreamConfig::new(endpoint, wire);
    config.timeout = Duration::from_secs(3);
    config.backoff = Backoff {
        initial: Duration::from_secs(1),
        factor: 2.0,
        max: Duration::from_secs(4),
        jitter: 0.0,
        max_retries: None,
    };
    config
}

/// The outcome of `d`, once it fires (real I/O runs meanwhile).
fn wait<T: 'static>(reactor: &mut Reactor, d: Deferred<T>) -> Result<T, Failure> {
    let slot = Rc::new(RefCell::new(None));
    let out = slot.clone();
    let _recorded = d.then_both(reactor, move |_, result| {
        *out.borrow_mut() = Some(result);
        Ok(())
    });
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(result) = slot.borrow_mut().take() {
            return result;
        }
        assert!(Instant::now() < deadline, "the call never finished");
        reactor.iterate(Some(Duration::from_millis(10))).expect("iterate");
    }
}

fn run_until(reactor: &mut Reactor, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting");
        reactor.iterate(Some(Duration::from_millis(10))).expect("iterate");
    }
}

fn unavailable(failure: &Failure) -> &Unavailable {
    failure
        .find::<Unavailable>()
        .unwrap_or_else(|| panic!("not Unavailable: {failure}"))
}

#[test]
fn calls_go_through_the_line_protocol_and_amp_alike_even_while_connecting() {
    for wire in [Wire::Line, Wire::Amp, Wire::Pb(Strings::Str)] {
        let clock = Clock::new();
        let mut r = Reactor::with_clock(clock).unwrap();
        let kv = Kv::start(&mut r, wire);
        let up = Upstream::connect(&mut r, config(kv.endpoint(), wire));
        assert_eq!(up.health(), Health::Connecting);
        assert_eq!(up.name(), format!("torsion-kv at {}", kv.addr));
        // Made before the connection is open: they wait for it, in order.
        let set = up.set(&mut r, b"greeting", b"hello world");
        let get = up.get(&mut r, b"greeting");
        wait(&mut r, set).expect("set");
        assert_eq!(wait(&mut r, get).expect("get"), b"hello world");
        assert_eq!(up.health(), Health::Connected);
        let d = up.delete(&mut r, b"greeting");
        wait(&mut r, d).expect("delete");
        let d = up.get(&mut r, b"greeting");
        let failure = wait(&mut r, d).unwrap_err();
        assert!(failure.is::<KeyNotFound>(), "{wire}: {failure}");
        let d = up.delete(&mut r, b"greeting");
        assert!(wait(&mut r, d).unwrap_err().is::<KeyNotFound>());
        assert!(kv.store.is_empty());
        up.stop(&mut r);
        let d = up.get(&mut r, b"greeting");
        assert_eq!(
            Problem::from_failure(&wait(&mut r, d).unwrap_err(), "greeting").status,
            503
        );
    }
}

#[test]
fn with_nothing_listening_calls_fail_with_unavailable_and_it_connects_once_the_store_comes() {
    let clock = Clock::new();
    let mut r = Reactor::with_clock(clock.clone()).unwrap();
    // A port nobody listens on (yet).
    let mut kv = Kv::start(&mut r, Wire::Line);
    kv.go_away(&mut r);
    let up = Upstream::connect(&mut r, config(kv.endpoint(), Wire::Line));
    // A call while the first attempt is in progress waits for it, and is
    // told why it failed.
    let d = up.get(&mut r, b"k");
    let failure = wait(&mut r, d).unwrap_err();
    let e = unavailable(&failure);
    assert_eq!(e.store, format!("torsion-kv at {}", kv.addr));
    assert!(
        e.reason.as_deref().is_some_and(|r| r.contains("refused")),
        "{e:?}"
    );
    assert_eq!(up.health(), Health::Unreachable);
    // Between attempts, calls fail at once: a page never hangs on a dead store.
    let d = up.set(&mut r, b"k", b"v");
    assert!(d.called(), "failed at once");
    let failure = wait(&mut r, d).unwrap_err();
    assert!(unavailable(&failure)
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("refused")));
    assert_eq!(Problem::from_failure(&failure, "k").status, 503);
    // The store comes; the next attempt (2 s after the first failed) connects.
    kv.listen(&mut r);
    clock.advance(Duration::from_secs(2));
    run_until(&mut r, || up.health() == Health::Connected);
    let d = up.set(&mut r, b"k", b"v");
    wait(&mut r, d).expect("set once connected");
    assert_eq!(kv.store.get(b"k").as_deref(), Some(&b"v"[..]));
}

#[test]
fn a_lost_connection_fails_calls_until_the_store_is_back_then_reconnects() {
    for wire in [Wire::Line, Wire::Amp, Wire::Pb(Strings::Bytes)] {
        let clock = Clock::new();
        let mut r = Reactor::with_clock(clock.clone()).unwrap();
        let mut kv = Kv::start(&mut r, wire);
        let up = Upstream::connect(&mut r, config(kv.endpoint(), wire));
        let d = up.set(&mut r, b"k", b"kept");
        wait(&mut r, d).expect("set");
        kv.go_away(&mut r);
        run_until(&mut r, || up.health() == Health::Unreachable);
        let d = up.get(&mut r, b"k");
        let failure = wait(&mut r, d).unwrap_err();
        assert_eq!(
            unavailable(&failure).reason.as_deref(),
            Some("connection closed cleanly"),
            "{wire}"
        );
        // Still down at the first retry, 1 s later: the next wait is 2 s.
        clock.advance(Duration::from_secs(1));
        r.iterate(Some(Duration::ZERO)).unwrap(); // the retry starts
        run_until(&mut r, || up.health() == Health::Unreachable);
        kv.listen(&mut r);
        clock.advance(Duration::from_secs(1));
        r.iterate(Some(Duration::from_millis(20))).unwrap();
        assert_eq!(up.health(), Health::Unreachable, "{wire}: not before its backoff");
        clock.advance(Duration::from_secs(1));
        run_until(&mut r, || up.health() == Health::Connected);
        let d = up.get(&mut r, b"k");
        assert_eq!(wait(&mut r, d).expect("get"), b"kept", "{wire}");
    }
}

#[test]
fn a_store_that_never_answers_times_out() {
    let clock = Clock::new();
    let mut r = Reactor::with_clock(clock.clone()).unwrap();
    let listener = r
        .listen_tcp(
            "127.0.0.1:0".parse().unwrap(),
            factory_fn(|_, _| Some(Box::new(Discard) as Box<dyn Protocol>)),
        )
        .unwrap();
    let Some(Address::Tcp(addr)) = r.local_addr(listener) else {
        panic!("a TCP listener")
    };
    let up = Upstream::connect(
        &mut r,
        config(ClientEndpoint::tcp("127.0.0.1", addr.port()), Wire::Line),
    );
    run_until(&mut r, || up.health() == Health::Connected);
    let d = up.get(&mut r, b"k");
    r.iterate(Some(Duration::from_millis(20))).unwrap();
    assert!(!d.called());
    clock.advance(Duration::from_secs(3));
    let failure = wait(&mut r, d).unwrap_err();
    assert!(failure.find::<TimedOut>().is_some(), "{failure}");
    assert_eq!(Problem::from_failure(&failure, "k").status, 504);
}
