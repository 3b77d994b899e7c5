//! Small helpers shared by the reactor's integration tests.
#![allow(dead_code)]

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::{factory_fn, Address, Ctx, ListenerId, Protocol, Reactor};

/// Every test gives up after this long rather than hang.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(20);

pub fn init_logging() {
    let _ = env_logger::builder().is_test(true).try_init();
}

/// Iterates until `done` holds, failing the test after [`TEST_TIMEOUT`].
pub fn run_until(reactor: &mut Reactor, mut done: impl FnMut(&mut Reactor) -> bool) {
    let deadline = Instant::now() + TEST_TIMEOUT;
    while !done(reactor) {
        assert!(Instant::now() < deadline, "timed out waiting for the reactor");
        reactor.iterate(Some(Duration::from_millis(10))).expect("iterate");
    }
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub fn tcp_addr(reactor: &mut Reactor, listener: ListenerId) -> SocketAddr {
    match reactor.local_addr(listener) {
        Some(Address::Tcp(addr)) => addr,
        other => panic!("not a TCP listener: {other:?}"),
    }
}

/// Echoes everything back.
pub struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        ctx.write(data);
    }
}

pub fn listen_echo(reactor: &mut Reactor) -> SocketAddr {
    let listener = reactor
        .listen_tcp(
            loopback(),
            factory_fn(|_, _| Some(Box::new(Echo) as Box<dyn Protocol>)),
        )
        .expect("listen");
    tcp_addr(reactor, listener)
}

/// A log of events shared between a test and its protocols.
pub type Log = Rc<RefCell<Vec<String>>>;

pub fn new_log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}
