//! Endpoints over real sockets: listen and connect by description, typed
//! protocol handles, and the distinct failure kinds.

mod util;

use std::cell::RefCell;
use std::rc::Rc;

use torsion::defer::Cancelled;
use torsion::endpoint::{ClientEndpoint, ListeningPort, ProtocolHandle, ResolveError, ServerEndpoint};
use torsion::{factory_fn, Address, ConnectError, Ctx, Deferred, Failure, Protocol, Reactor};
use util::*;

/// Waits for a Deferred to fire and returns its result.
fn wait<T: 'static>(reactor: &mut Reactor, d: Deferred<T>) -> Result<T, Failure> {
    let slot = Rc::new(RefCell::new(None));
    let out = slot.clone();
    d.then_both(reactor, move |_, result| {
        *out.borrow_mut() = Some(result);
        Ok(())
    })
    .mark_handled();
    run_until(reactor, |_| slot.borrow().is_some());
    let result = slot.borrow_mut().take();
    result.expect("fired")
}

fn listen_echo_on(reactor: &mut Reactor, description: &str) -> Result<ListeningPort, Failure> {
    let endpoint: ServerEndpoint = description.parse().expect("valid description");
    let d = endpoint.listen(
        reactor,
        factory_fn(|_, _| Some(Box::new(Echo) as Box<dyn Protocol>)),
    );
    wait(reactor, d)
}

/// A client that records what it hears, and whether connection_made ran.
#[derive(Default)]
struct Client {
    made: bool,
    heard: Vec<u8>,
}

impl Protocol for Client {
    fn connection_made(&mut self, _ctx: &mut Ctx<'_>) {
        self.made = true;
    }
    fn data_received(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) {
        self.heard.extend_from_slice(data);
    }
}

fn round_trip(reactor: &mut Reactor, client: &str) {
    let endpoint: ClientEndpoint = client.parse().expect("valid description");
    let connected = endpoint.connect_protocol(reactor, Client::default());
    // The Deferred fires after connection_made: the protocol is ready.
    let made = Rc::new(RefCell::new(None));
    let m = made.clone();
    connected.add_callback(reactor, move |r, handle: ProtocolHandle<Client>| {
        *m.borrow_mut() = Some(handle.with(r, |c, ctx| {
            ctx.write(b"ping");
            c.made
        })?);
        Ok(handle)
    });
    let handle = wait(reactor, connected).expect("connected");
    assert_eq!(*made.borrow(), Some(true));
    run_until(reactor, |r| {
        handle.with(r, |c, _| c.heard.len() == 4).unwrap_or(false)
    });
    assert_eq!(handle.with(reactor, |c, _| c.heard.clone()).unwrap(), b"ping");
    assert!(handle.is_connected(reactor));
    handle.lose_connection(reactor);
}

#[test]
fn tcp_v4_listen_and_connect_from_descriptions() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let port = listen_echo_on(&mut reactor, "tcp:0:interface=127.0.0.1:backlog=50").unwrap();
    let Address::Tcp(addr) = port.address else {
        panic!("{:?}", port.address)
    };
    round_trip(
        &mut reactor,
        &format!("tcp:host=127.0.0.1:port={}:timeout=5", addr.port()),
    );
    round_trip(&mut reactor, &format!("tcp:127.0.0.1:{}", addr.port()));
    assert!(port.stop_listening(&mut reactor));
}

#[test]
fn host_names_resolve_on_the_thread_pool() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let port = listen_echo_on(&mut reactor, "tcp:0:interface=127.0.0.1").unwrap();
    let Address::Tcp(addr) = port.address else {
        panic!()
    };
    // "localhost" may resolve to ::1 first: the refused address is skipped.
    round_trip(&mut reactor, &format!("tcp:host=localhost:port={}", addr.port()));
    assert!(
        reactor.thread_pool_stats().threads >= 1,
        "resolution used the pool"
    );
}

#[test]
fn tcp_v6_listen_and_connect() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let port = match listen_echo_on(&mut reactor, r"tcp6:0:interface=\:\:1") {
        Ok(port) => port,
        Err(e) => {
            eprintln!("no IPv6 loopback here, skipping: {e:#}");
            return;
        }
    };
    let Address::Tcp(addr) = port.address else {
        panic!()
    };
    assert!(addr.is_ipv6());
    round_trip(&mut reactor, &format!(r"tcp6:host=\:\:1:port={}", addr.port()));
}

#[test]
fn unix_listen_and_connect() {
    init_logging();
    let dir = std::env::temp_dir().join(format!("torsion-endpoint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let mut reactor = Reactor::new().unwrap();
    listen_echo_on(&mut reactor, &format!("unix:{}", path.display())).unwrap();
    round_trip(&mut reactor, &format!("unix:path={}", path.display()));
    drop(reactor);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn listening_on_a_busy_port_fails_with_the_cause() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let failure = listen_echo_on(&mut reactor, &format!("tcp:{port}:interface=127.0.0.1")).unwrap_err();
    let io = failure
        .find::<std::io::Error>()
        .expect("the io error is in the chain");
    assert_eq!(io.kind(), std::io::ErrorKind::AddrInUse);
}

#[test]
fn a_refused_connection_is_a_refused_error() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let port = listen_echo_on(&mut reactor, "tcp:0:interface=127.0.0.1").unwrap();
    let Address::Tcp(addr) = port.address else {
        panic!()
    };
    port.stop_listening(&mut reactor);
    let d = ClientEndpoint::tcp("127.0.0.1", addr.port()).connect_protocol(&mut reactor, Client::default());
    let failure = wait(&mut reactor, d).unwrap_err();
    assert!(
        matches!(failure.find::<ConnectError>(), Some(ConnectError::Refused)),
        "{failure:#}"
    );
    assert!(
        failure.to_string().contains("connecting to 127.0.0.1"),
        "{failure}"
    );
}

#[test]
fn a_connect_that_hangs_is_a_timeout_error() {
    init_logging();
    // A listener that never accepts, with a backlog of 0: once its queue is
    // full, Linux drops further SYNs and those connects hang.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&loopback().into()).unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut reactor = Reactor::new().unwrap();
    let endpoint: ClientEndpoint = format!("tcp:127.0.0.1:{}:timeout=0.2", addr.port())
        .parse()
        .unwrap();
    let attempts: Vec<_> = (0..4)
        .map(|_| endpoint.connect_protocol(&mut reactor, Client::default()))
        .collect();
    let mut timed_out = 0;
    for d in attempts {
        if let Err(f) = wait(&mut reactor, d) {
            if matches!(f.find::<ConnectError>(), Some(ConnectError::TimedOut)) {
                timed_out += 1;
            }
        }
    }
    assert!(timed_out >= 1);
    drop(socket);
}

#[test]
fn an_unresolvable_name_is_a_resolve_error() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    // Malformed: the resolver refuses it without asking any server.
    let d =
        ClientEndpoint::tcp("bad..name", 80).connect(&mut reactor, torsion::OneShot::new(Client::default()));
    let failure = wait(&mut reactor, d).unwrap_err();
    let e = failure.find::<ResolveError>().expect("a resolve error");
    assert_eq!(e.host, "bad..name");
}

#[test]
fn cancelling_a_connect_stops_it() {
    init_logging();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&loopback().into()).unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut reactor = Reactor::new().unwrap();
    let d = ClientEndpoint::tcp("127.0.0.1", addr.port())
        .connect(&mut reactor, torsion::OneShot::new(Client::default()));
    d.cancel(&mut reactor);
    let failure = wait(&mut reactor, d).unwrap_err();
    assert!(failure.is::<Cancelled>(), "{failure:#}");
    // The reactor forgets the attempt.
    run_until(&mut reactor, |r| r.connection_count() == 0);
    drop(socket);
}

#[test]
fn stopping_from_a_connect_failure_ends_run() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The failure arrives as a notice, at the start of an iteration.
    ClientEndpoint::tcp("127.0.0.1", port)
        .connect(&mut reactor, torsion::OneShot::new(Client::default()))
        .add_errback(&mut reactor, |r, f| {
            r.stop();
            Err(f)
        })
        .mark_handled();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = reactor.handle().unwrap();
    let watchdog = std::thread::spawn(move || {
        if rx.recv_timeout(TEST_TIMEOUT).is_err() {
            let _ = handle.stop();
        }
    });
    let started = std::time::Instant::now();
    reactor.run().unwrap();
    let _ = tx.send(());
    watchdog.join().unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "run hung until the watchdog"
    );
}
