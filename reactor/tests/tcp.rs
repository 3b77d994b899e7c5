//! TCP transports over real sockets on 127.0.0.1.

mod util;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::rc::Rc;
use std::thread;
use std::time::Duration;

use torsion::{
    factory_fn, Address, ClientFactory, CloseReason, ConnectError, ConnectOptions, Ctx, ListenOptions,
    Protocol, Reactor,
};
use util::*;

/// Runs `client` on a thread against `addr` while the reactor runs, until
/// `client` returns; then returns its result.
fn with_client<T: Send + 'static>(reactor: &mut Reactor, client: impl FnOnce() -> T + Send + 'static) -> T {
    let handle = thread::spawn(client);
    run_until(reactor, |_| handle.is_finished());
    handle.join().expect("client thread panicked")
}

fn read_to_end(mut s: TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(TEST_TIMEOUT)).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    out
}

#[test]
fn echo_round_trip() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let addr = listen_echo(&mut reactor);
    let got = with_client(&mut reactor, move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"hello, reactor").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        read_to_end(s)
    });
    assert_eq!(got, b"hello, reactor");
    assert_eq!(reactor.counters().connections_total, 1);
}

#[test]
fn one_byte_per_write_arrives_intact() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let addr = listen_echo(&mut reactor);
    let message: Vec<u8> = (0..2000u32).map(|i| (i % 251) as u8).collect();
    let expected = message.clone();
    let got = with_client(&mut reactor, move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        for b in &message {
            s.write_all(std::slice::from_ref(b)).unwrap();
        }
        s.shutdown(Shutdown::Write).unwrap();
        read_to_end(s)
    });
    assert_eq!(got, expected);
}

/// Writes `total` bytes in chunks, honouring pause/resume producing.
struct Producer {
    left: usize,
    paused: bool,
    max_buffered: Rc<Cell<usize>>,
}

impl Producer {
    fn produce(&mut self, ctx: &mut Ctx<'_>) {
        while !self.paused && self.left > 0 {
            let n = self.left.min(16 * 1024);
            ctx.write(&vec![b'x'; n]);
            self.left -= n;
            self.max_buffered.set(self.max_buffered.get().max(ctx.buffered()));
            // pause_producing arrives after this callback; stop at the mark ourselves too.
            if ctx.buffered() > torsion::DEFAULT_HIGH_WATER {
                break;
            }
        }
        if self.left == 0 {
            ctx.lose_connection();
        }
    }
}

impl Protocol for Producer {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        self.produce(ctx);
    }
    fn data_received(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) {}
    fn pause_producing(&mut self, _ctx: &mut Ctx<'_>) {
        self.paused = true;
    }
    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.paused = false;
        self.produce(ctx);
    }
}

#[test]
fn a_64_mib_reply_to_a_slow_reader_arrives_whole_with_bounded_buffering() {
    init_logging();
    const TOTAL: usize = 64 * 1024 * 1024;
    let mut reactor = Reactor::new().unwrap();
    let max_buffered = Rc::new(Cell::new(0));
    let seen = max_buffered.clone();
    let listener = reactor
        .listen_tcp(
            loopback(),
            factory_fn(move |_, _| {
                Some(Box::new(Producer {
                    left: TOTAL,
                    paused: false,
                    max_buffered: seen.clone(),
                }) as Box<dyn Protocol>)
            }),
        )
        .unwrap();
    let addr = tcp_addr(&mut reactor, listener);
    let received = with_client(&mut reactor, move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(TEST_TIMEOUT)).unwrap();
        let mut buf = vec![0; 64 * 1024];
        let mut total = 0;
        let mut reads = 0;
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            assert!(buf[..n].iter().all(|b| *b == b'x'));
            total += n;
            reads += 1;
            // Read slowly at first so the server's socket buffer fills up.
            if reads < 50 {
                thread::sleep(Duration::from_millis(2));
            }
        }
        total
    });
    assert_eq!(received, TOTAL);
    // Never more than the high-water mark plus one chunk was held in memory.
    assert!(
        max_buffered.get() <= torsion::DEFAULT_HIGH_WATER + 16 * 1024,
        "buffered up to {} bytes",
        max_buffered.get()
    );
}

/// Writes a reply, then closes in the way given.
struct WriteThenClose {
    size: usize,
    abort: bool,
}

impl Protocol for WriteThenClose {
    fn data_received(&mut self, ctx: &mut Ctx<'_>, _data: &[u8]) {
        ctx.write(&vec![b'z'; self.size]);
        if self.abort {
            ctx.abort_connection();
        } else {
            ctx.lose_connection();
        }
    }
}

fn listen_write_then_close(reactor: &mut Reactor, size: usize, abort: bool) -> std::net::SocketAddr {
    let listener = reactor
        .listen_tcp(
            loopback(),
            factory_fn(move |_, _| Some(Box::new(WriteThenClose { size, abort }) as Box<dyn Protocol>)),
        )
        .unwrap();
    tcp_addr(reactor, listener)
}

#[test]
fn lose_connection_delivers_every_buffered_byte_before_the_fin() {
    init_logging();
    const SIZE: usize = 8 * 1024 * 1024;
    let mut reactor = Reactor::new().unwrap();
    let addr = listen_write_then_close(&mut reactor, SIZE, false);
    let got = with_client(&mut reactor, move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"go").unwrap();
        // Let the server's write buffer fill before reading anything.
        thread::sleep(Duration::from_millis(200));
        read_to_end(s).len()
    });
    assert_eq!(got, SIZE);
}

#[test]
fn abort_connection_drops_the_buffer_and_resets() {
    init_logging();
    const SIZE: usize = 8 * 1024 * 1024;
    let mut reactor = Reactor::new().unwrap();
    let addr = listen_write_then_close(&mut reactor, SIZE, true);
    let (got, error) = with_client(&mut reactor, move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"go").unwrap();
        thread::sleep(Duration::from_millis(200));
        s.set_read_timeout(Some(TEST_TIMEOUT)).unwrap();
        let mut total = 0;
        let mut buf = vec![0; 65536];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return (total, None),
                Ok(n) => total += n,
                Err(e) => return (total, Some(e.kind())),
            }
        }
    });
    assert!(got < SIZE, "an aborted connection delivered all {got} bytes");
    assert_eq!(error, Some(std::io::ErrorKind::ConnectionReset));
}

/// Records the events of a client connection.
struct Recorder {
    log: Log,
}

impl Protocol for Recorder {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        self.log
            .borrow_mut()
            .push(format!("made {}", ctx.peer().is_some()));
        ctx.write(b"ping");
    }
    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        self.log
            .borrow_mut()
            .push(format!("data {}", String::from_utf8_lossy(data)));
        ctx.lose_connection();
    }
    fn connection_lost(&mut self, _ctx: &mut Ctx<'_>, reason: CloseReason) {
        self.log.borrow_mut().push(format!("lost {reason}"));
    }
}

struct RecorderFactory {
    log: Log,
}

impl ClientFactory for RecorderFactory {
    fn build_protocol(&mut self, _r: &mut Reactor, _peer: &Address) -> Box<dyn Protocol> {
        Box::new(Recorder {
            log: self.log.clone(),
        })
    }
    fn client_connection_failed(&mut self, _r: &mut Reactor, error: ConnectError) {
        self.log.borrow_mut().push(format!("failed {error:?}"));
    }
    fn client_connection_lost(&mut self, _r: &mut Reactor, reason: CloseReason) {
        self.log
            .borrow_mut()
            .push(format!("factory lost {}", reason.is_clean()));
    }
}

#[test]
fn a_client_connects_talks_and_closes() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let addr = listen_echo(&mut reactor);
    let log = new_log();
    reactor.connect_tcp(addr, RecorderFactory { log: log.clone() });
    run_until(&mut reactor, |_| log.borrow().len() >= 4);
    assert_eq!(
        *log.borrow(),
        [
            "made true",
            "data ping",
            "lost connection closed cleanly",
            "factory lost true"
        ]
    );
}

#[test]
fn connecting_to_a_closed_port_reports_refused() {
    init_logging();
    // Bind and drop to find a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut reactor = Reactor::new().unwrap();
    let log = new_log();
    reactor.connect_tcp(port, RecorderFactory { log: log.clone() });
    run_until(&mut reactor, |_| !log.borrow().is_empty());
    assert_eq!(*log.borrow(), ["failed Refused"]);
    assert_eq!(reactor.counters().connections_open, 0);
}

#[test]
fn a_connect_that_never_completes_times_out() {
    init_logging();
    // A listener that never accepts, with a backlog of 0: once its accept
    // queue is full, Linux drops further SYNs, so those connects hang until
    // our timeout fires.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&loopback().into()).unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut reactor = Reactor::new().unwrap();
    let log = new_log();
    let options = ConnectOptions {
        timeout: Some(Duration::from_millis(200)),
        ..ConnectOptions::default()
    };
    for _ in 0..4 {
        reactor.connect_tcp_with(addr, RecorderFactory { log: log.clone() }, options.clone());
    }
    run_until(&mut reactor, |_| {
        log.borrow()
            .iter()
            .filter(|l| l.starts_with("failed") || l.starts_with("made"))
            .count()
            == 4
    });
    let timed_out = log.borrow().iter().filter(|l| *l == "failed TimedOut").count();
    assert!(timed_out >= 1, "no connect timed out: {:?}", log.borrow());
    drop(socket);
}

#[test]
fn the_factory_may_refuse_a_connection() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let listener = reactor.listen_tcp(loopback(), factory_fn(|_, _| None)).unwrap();
    let addr = tcp_addr(&mut reactor, listener);
    let got = with_client(&mut reactor, move || {
        let s = TcpStream::connect(addr).unwrap();
        read_to_end(s)
    });
    assert!(got.is_empty());
    assert_eq!(reactor.counters().connections_refused, 1);
}

#[test]
fn max_connections_holds_the_rest_in_the_backlog() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let options = ListenOptions {
        max_connections: Some(2),
        ..ListenOptions::default()
    };
    let listener = reactor
        .listen_tcp_with(
            loopback(),
            factory_fn(|_, _| Some(Box::new(Echo) as Box<dyn Protocol>)),
            options,
        )
        .unwrap();
    let addr = tcp_addr(&mut reactor, listener);
    let clients: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for _ in 0..20 {
        reactor.iterate(Some(Duration::from_millis(10))).unwrap();
    }
    assert_eq!(reactor.connection_count(), 2);
    drop(clients);
    // The first two close; the other two are accepted, then close as well.
    run_until(&mut reactor, |r| {
        r.counters().connections_total == 4 && r.connection_count() == 0
    });
}

#[test]
fn half_close_lets_the_peer_read_the_reply() {
    init_logging();
    // The default read_connection_lost flushes and closes: a client that
    // half-closes after its request still gets the whole reply.
    let mut reactor = Reactor::new().unwrap();
    let addr = listen_echo(&mut reactor);
    let got = with_client(&mut reactor, move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(&vec![7u8; 300_000]).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        read_to_end(s).len()
    });
    assert_eq!(got, 300_000);
}

/// Writes its greeting, half-closes, and keeps reading until the peer's EOF.
struct HalfCloser {
    got: Rc<RefCell<Vec<u8>>>,
}

impl Protocol for HalfCloser {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        ctx.write(b"request");
        ctx.lose_write_connection();
    }
    fn data_received(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) {
        self.got.borrow_mut().extend_from_slice(data);
    }
    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        self.got.borrow_mut().extend_from_slice(b"|eof");
        ctx.lose_connection();
    }
}

#[test]
fn lose_write_connection_half_closes() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let addr = listen_echo(&mut reactor);
    let got = Rc::new(RefCell::new(Vec::new()));
    let protocol = HalfCloser { got: got.clone() };
    reactor.connect_tcp(addr, torsion::OneShot::new(protocol));
    run_until(&mut reactor, |r| {
        r.counters().connections_total == 2 && r.connection_count() == 0
    });
    assert_eq!(&*got.borrow(), b"request|eof");
}

/// Pauses reading at once; records what it reads, and the end-of-file.
struct PausedReader {
    got: Rc<RefCell<Vec<u8>>>,
    id: Rc<Cell<Option<torsion::ConnectionId>>>,
}

impl Protocol for PausedReader {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        ctx.pause_reading();
        self.id.set(Some(ctx.id()));
    }
    fn data_received(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) {
        self.got.borrow_mut().extend_from_slice(data);
    }
    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        self.got.borrow_mut().extend_from_slice(b"|eof");
        ctx.lose_connection();
    }
}

#[test]
fn an_end_of_file_that_arrived_while_paused_is_seen_on_resume() {
    init_logging();
    // The peer's bytes and its FIN arrive while reading is paused: their
    // edges come and go unheeded. On resume, a short read must not be
    // taken for "drained": the end-of-file is still to be read.
    let mut reactor = Reactor::new().unwrap();
    let got = Rc::new(RefCell::new(Vec::new()));
    let id = Rc::new(Cell::new(None));
    let (seen, conn) = (got.clone(), id.clone());
    let listener = reactor
        .listen_tcp(
            loopback(),
            factory_fn(move |_, _| {
                let reader = PausedReader {
                    got: seen.clone(),
                    id: conn.clone(),
                };
                Some(Box::new(reader) as Box<dyn Protocol>)
            }),
        )
        .unwrap();
    let addr = tcp_addr(&mut reactor, listener);
    let client = thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"short").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        read_to_end(s)
    });
    run_until(&mut reactor, |_| id.get().is_some());
    // Let the bytes, the FIN and their events arrive, unread.
    for _ in 0..20 {
        reactor.iterate(Some(Duration::from_millis(5))).unwrap();
    }
    assert!(got.borrow().is_empty());
    let conn = id.get().expect("connected");
    reactor.transport(conn).resume_reading();
    run_until(&mut reactor, |_| client.is_finished());
    assert_eq!(&*got.borrow(), b"short|eof");
}

#[test]
fn many_reactors_one_after_another_and_side_by_side() {
    init_logging();
    for _ in 0..3 {
        let mut reactor = Reactor::new().unwrap();
        let addr = listen_echo(&mut reactor);
        let got = with_client(&mut reactor, move || {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"x").unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            read_to_end(s)
        });
        assert_eq!(got, b"x");
    }
    let threads: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(|| {
                let mut reactor = Reactor::new().unwrap();
                let addr = listen_echo(&mut reactor);
                with_client(&mut reactor, move || {
                    let mut s = TcpStream::connect(addr).unwrap();
                    s.write_all(b"y").unwrap();
                    s.shutdown(Shutdown::Write).unwrap();
                    read_to_end(s)
                })
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), b"y");
    }
}

#[test]
fn stop_closes_connections_cleanly_and_runs_triggers() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let addr = listen_echo(&mut reactor);
    let triggered = Rc::new(Cell::new(false));
    let flag = triggered.clone();
    reactor.add_shutdown_trigger(move |_| flag.set(true));
    let handle = reactor.handle().unwrap();
    let client = thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"abc").unwrap();
        let mut buf = [0; 3];
        s.read_exact(&mut buf).unwrap();
        handle.stop().unwrap();
        // After the stop, the server closes cleanly: EOF, not a reset.
        let mut rest = Vec::new();
        s.set_read_timeout(Some(TEST_TIMEOUT)).unwrap();
        s.read_to_end(&mut rest).map(|_| rest)
    });
    reactor.run().unwrap();
    assert!(triggered.get());
    assert_eq!(client.join().unwrap().unwrap(), b"");
    assert_eq!(reactor.connection_count(), 0);
}

/// Uses every transport call once and reports what it saw.
struct Inspect {
    log: Log,
}

impl Protocol for Inspect {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        let host = ctx.host().unwrap();
        let peer = ctx.peer().unwrap();
        self.log.borrow_mut().push(format!(
            "host is loopback {}, peer is loopback {}",
            host.as_socket_addr().unwrap().ip().is_loopback(),
            peer.as_socket_addr().unwrap().ip().is_loopback()
        ));
        ctx.set_nodelay(false).unwrap();
        ctx.set_nodelay(true).unwrap();
        ctx.set_keepalive(Some(Duration::from_secs(60))).unwrap();
        ctx.set_keepalive(None).unwrap();
        ctx.write_sequence(&[b"one ", b"two ", b"three"]);
        ctx.write_bytes(bytes::Bytes::from(vec![b'!'; 3000]));
        ctx.lose_connection();
    }
    fn data_received(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) {}
}

struct HookedFactory {
    log: Log,
}

impl torsion::Factory for HookedFactory {
    fn build_protocol(&mut self, _r: &mut Reactor, _peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Inspect {
            log: self.log.clone(),
        }))
    }
    fn start(&mut self, _r: &mut Reactor) {
        self.log.borrow_mut().push("start".into());
    }
    fn stop(&mut self, _r: &mut Reactor) {
        self.log.borrow_mut().push("stop".into());
    }
}

#[test]
fn factory_hooks_and_every_transport_call() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let log = new_log();
    let listener = reactor
        .listen_tcp(loopback(), HookedFactory { log: log.clone() })
        .unwrap();
    assert_eq!(*log.borrow(), ["start"]);
    let addr = tcp_addr(&mut reactor, listener);
    let got = with_client(&mut reactor, move || {
        read_to_end(TcpStream::connect(addr).unwrap())
    });
    let mut expected = b"one two three".to_vec();
    expected.extend(vec![b'!'; 3000]);
    assert_eq!(got, expected);
    assert!(reactor.stop_listening(listener));
    assert!(!reactor.stop_listening(listener), "a second stop finds nothing");
    reactor.iterate(Some(Duration::ZERO)).unwrap();
    assert_eq!(
        *log.borrow(),
        ["start", "host is loopback true, peer is loopback true", "stop"]
    );
    // The port is closed now.
    assert!(TcpStream::connect(addr).is_err());
}
