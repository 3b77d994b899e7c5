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

/// Log records captured by [`capture_logs`] (level and message).
pub static CAPTURED: std::sync::Mutex<Vec<(log::Level, String)>> = std::sync::Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        if record.level() <= log::Level::Warn {
            let line = record.args().to_string();
            if let Ok(mut all) = CAPTURED.lock() {
                all.push((record.level(), line));
            }
        }
    }
    fn flush(&self) {}
}

/// Installs a logger that keeps warnings and errors in [`CAPTURED`] (for
/// tests that check what is logged). Use it instead of [`init_logging`] in a
/// test binary: a process has one logger.
pub fn capture_logs() {
    static LOGGER: Capture = Capture;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}

/// Captured lines at `level` containing `needle`.
pub fn logged(level: log::Level, needle: &str) -> Vec<String> {
    CAPTURED
        .lock()
        .map(|all| {
            all.iter()
                .filter(|(l, m)| *l == level && m.contains(needle))
                .map(|(_, m)| m.clone())
                .collect()
        })
        .unwrap_or_default()
}
