//! The reconnecting client service, on the manual clock, against a real
//! server that goes away and comes back.

mod util;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use torsion::endpoint::{ClientEndpoint, ProtocolHandle};
use torsion::reconnect::{Backoff, ReconnectError, ReconnectingService, ServiceState};
use torsion::testing::Clock;
use torsion::{factory_fn, ConnectionId, Ctx, Deferred, Failure, ListenerId, Protocol, Reactor};
use util::*;

/// A server protocol that remembers its connection, so the test can cut it.
struct Tracked(Rc<RefCell<Vec<ConnectionId>>>);
impl Protocol for Tracked {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        self.0.borrow_mut().push(ctx.id());
    }
    fn data_received(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) {}
}

struct Server {
    addr: SocketAddr,
    listener: Option<ListenerId>,
    conns: Rc<RefCell<Vec<ConnectionId>>>,
}

impl Server {
    fn listen(reactor: &mut Reactor, addr: SocketAddr, conns: Rc<RefCell<Vec<ConnectionId>>>) -> Server {
        let c = conns.clone();
        let listener = reactor
            .listen_tcp(
                addr,
                factory_fn(move |_, _| Some(Box::new(Tracked(c.clone())) as Box<dyn Protocol>)),
            )
            .expect("listen");
        let addr = tcp_addr(reactor, listener);
        Server {
            addr,
            listener: Some(listener),
            conns,
        }
    }

    /// The server goes away: stops listening and drops its connections.
    fn go_away(&mut self, reactor: &mut Reactor) {
        if let Some(l) = self.listener.take() {
            reactor.stop_listening(l);
        }
        for id in self.conns.borrow_mut().drain(..) {
            reactor.transport(id).abort_connection();
        }
    }
}

struct Client;
impl Protocol for Client {
    fn data_received(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) {}
}

fn outcome<T: 'static>(reactor: &mut Reactor, d: Deferred<T>) -> Rc<RefCell<Option<Result<T, Failure>>>> {
    let slot = Rc::new(RefCell::new(None));
    let out = slot.clone();
    d.then_both(reactor, move |_, r| {
        *out.borrow_mut() = Some(r);
        Ok(())
    })
    .mark_handled();
    slot
}

fn policy() -> Backoff {
    Backoff {
        initial: Duration::from_secs(1),
        factor: 2.0,
        max: Duration::from_secs(4),
        jitter: 0.0,
        max_retries: None,
    }
}

/// Advances the manual clock by `by`, then lets real I/O settle until `done`.
fn advance_until(reactor: &mut Reactor, clock: &Clock, by: Duration, done: impl FnMut(&mut Reactor) -> bool) {
    clock.advance(by);
    run_until(reactor, done);
}

#[test]
fn reconnects_with_backoff_when_the_server_goes_away_and_comes_back() {
    init_logging();
    let clock = Clock::new();
    let mut reactor = Reactor::with_clock(clock.clone()).unwrap();
    let conns = Rc::new(RefCell::new(Vec::new()));
    let mut server = Server::listen(&mut reactor, loopback(), conns.clone());
    let endpoint = ClientEndpoint::tcp("127.0.0.1", server.addr.port());
    let service = ReconnectingService::start(&mut reactor, endpoint, policy(), |_| Client);

    let wc = service.when_connected(&mut reactor);
    let first = outcome(&mut reactor, wc);
    run_until(&mut reactor, |_| first.borrow().is_some());
    let first_id = first.borrow_mut().take().unwrap().unwrap().id();
    assert_eq!(service.attempts(), 1);
    // Connected now: when_connected fires at once.
    let wc = service.when_connected(&mut reactor);
    let again = outcome(&mut reactor, wc);
    assert_eq!(again.borrow_mut().take().unwrap().unwrap().id(), first_id);

    server.go_away(&mut reactor);
    run_until(&mut reactor, |_| service.state() == ServiceState::Waiting);
    let wc = service.when_connected(&mut reactor);
    let back = outcome(&mut reactor, wc);

    // Nothing happens until the initial delay has passed on the manual clock.
    clock.advance(Duration::from_millis(999));
    for _ in 0..5 {
        reactor.iterate(Some(Duration::from_millis(5))).unwrap();
    }
    assert_eq!(service.attempts(), 1);
    // Then each refused attempt waits longer: 1 s, then 2 s, 4 s, 4 s (capped).
    let s = service.clone();
    advance_until(&mut reactor, &clock, Duration::from_millis(1), |_| {
        s.attempts() == 2 && s.state() == ServiceState::Waiting
    });
    for (wait, attempts) in [(2, 3), (4, 4), (4, 5)] {
        clock.advance(Duration::from_millis(wait * 1000 - 1));
        reactor.iterate(Some(Duration::from_millis(5))).unwrap();
        assert_eq!(service.attempts(), attempts - 1, "not before {wait} s");
        let s = service.clone();
        advance_until(&mut reactor, &clock, Duration::from_millis(1), |_| {
            s.attempts() == attempts && s.state() == ServiceState::Waiting
        });
    }
    assert!(back.borrow().is_none());

    // The server comes back on the same port; the next attempt connects.
    let server = Server::listen(&mut reactor, server.addr, conns.clone());
    let s = service.clone();
    advance_until(&mut reactor, &clock, Duration::from_secs(4), |_| {
        matches!(s.state(), ServiceState::Connected(_))
    });
    run_until(&mut reactor, |_| back.borrow().is_some());
    let handle: ProtocolHandle<Client> = back.borrow_mut().take().unwrap().unwrap();
    assert!(handle.is_connected(&mut reactor));
    assert_eq!(service.attempts(), 6);
    run_until(&mut reactor, |_| server.conns.borrow().len() == 1);

    service.stop(&mut reactor);
    assert_eq!(service.state(), ServiceState::Stopped);
    run_until(&mut reactor, |r| r.connection_count() == 0);
}

#[test]
fn gives_up_after_max_retries() {
    init_logging();
    let clock = Clock::new();
    let mut reactor = Reactor::with_clock(clock.clone()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let policy = Backoff {
        max_retries: Some(2),
        ..policy()
    };
    let service = ReconnectingService::start(
        &mut reactor,
        ClientEndpoint::tcp("127.0.0.1", port),
        policy,
        |_| Client,
    );
    let wc = service.when_connected(&mut reactor);
    let waiter = outcome(&mut reactor, wc);
    let s = service.clone();
    run_until(&mut reactor, |_| s.state() == ServiceState::Waiting);
    for _ in 0..2 {
        let before = service.attempts();
        let s = service.clone();
        advance_until(&mut reactor, &clock, Duration::from_secs(4), |_| {
            s.attempts() == before + 1 && s.state() != ServiceState::Connecting
        });
    }
    assert_eq!(service.state(), ServiceState::GaveUp);
    assert_eq!(service.attempts(), 3, "the first attempt and two retries");
    let failure = waiter.borrow_mut().take().unwrap().unwrap_err();
    match failure.downcast_ref::<ReconnectError>() {
        Some(ReconnectError::GaveUp { attempts: 3, last }) => {
            assert!(matches!(
                last.find::<torsion::ConnectError>(),
                Some(torsion::ConnectError::Refused)
            ))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn stop_fails_the_waiters_and_stops_retrying() {
    init_logging();
    let clock = Clock::new();
    let mut reactor = Reactor::with_clock(clock.clone()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let service = ReconnectingService::start(
        &mut reactor,
        ClientEndpoint::tcp("127.0.0.1", port),
        policy(),
        |_| Client,
    );
    let wc = service.when_connected(&mut reactor);
    let waiter = outcome(&mut reactor, wc);
    let s = service.clone();
    run_until(&mut reactor, |_| s.state() == ServiceState::Waiting);
    service.stop(&mut reactor);
    let failure = waiter.borrow_mut().take().unwrap().unwrap_err();
    assert!(matches!(
        failure.downcast_ref::<ReconnectError>(),
        Some(ReconnectError::Stopped)
    ));
    clock.advance(Duration::from_secs(60));
    reactor.iterate(Some(Duration::from_millis(5))).unwrap();
    assert_eq!(service.attempts(), 1);
    assert_eq!(reactor.counters().timers_pending, 0);
}

#[test]
fn when_connected_or_fail_after_waits_for_that_many_failed_attempts_only() {
    init_logging();
    let clock = Clock::new();
    let mut reactor = Reactor::with_clock(clock.clone()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let service = ReconnectingService::start(
        &mut reactor,
        ClientEndpoint::tcp("127.0.0.1", port),
        policy(),
        |_| Client,
    );
    // Asked while the first attempt is in progress: that attempt decides.
    let wc = service.when_connected_or_fail_after(&mut reactor, 1);
    let one = outcome(&mut reactor, wc);
    let wc = service.when_connected_or_fail_after(&mut reactor, 2);
    let two = outcome(&mut reactor, wc);
    let wc = service.when_connected(&mut reactor);
    let patient = outcome(&mut reactor, wc);
    let s = service.clone();
    run_until(&mut reactor, |_| s.state() == ServiceState::Waiting);
    let failure = one.borrow_mut().take().expect("failed at once").unwrap_err();
    match failure.downcast_ref::<ReconnectError>() {
        Some(ReconnectError::Failed { attempts: 1, last }) => assert!(matches!(
            last.find::<torsion::ConnectError>(),
            Some(torsion::ConnectError::Refused)
        )),
        other => panic!("{other:?}"),
    }
    assert!(two.borrow().is_none() && patient.borrow().is_none());
    // The second attempt fails too: the one that waited for two gives up;
    // the service goes on, and so does the patient waiter.
    let s = service.clone();
    advance_until(&mut reactor, &clock, Duration::from_secs(2), |_| {
        s.attempts() == 2 && s.state() == ServiceState::Waiting
    });
    let failure = two.borrow_mut().take().expect("failed").unwrap_err();
    assert!(matches!(
        failure.downcast_ref::<ReconnectError>(),
        Some(ReconnectError::Failed { attempts: 2, .. })
    ));
    assert!(patient.borrow().is_none());
    // A waiter cancelled meanwhile (by a timeout) stays cancelled.
    let cancelled = service.when_connected_or_fail_after(&mut reactor, 5);
    cancelled.cancel(&mut reactor);
    cancelled.mark_handled();
    // The server comes: the patient waiter is connected.
    let conns = Rc::new(RefCell::new(Vec::new()));
    let _server = Server::listen(&mut reactor, ([127, 0, 0, 1], port).into(), conns);
    let s = service.clone();
    advance_until(&mut reactor, &clock, Duration::from_secs(4), |_| {
        matches!(s.state(), ServiceState::Connected(_))
    });
    let p = patient.clone();
    run_until(&mut reactor, |_| p.borrow().is_some());
    assert!(patient.borrow_mut().take().unwrap().is_ok());
    // Connected now: it fires at once.
    let wc = service.when_connected_or_fail_after(&mut reactor, 1);
    assert!(wc.called());
    service.stop(&mut reactor);
}
