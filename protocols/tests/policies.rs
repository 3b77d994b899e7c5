//! Idle timeouts and connection limits.

use std::net::SocketAddr;
use std::time::Duration;

use torsion::testing::{Clock, StringTransport};
use torsion::{factory_fn, Address, CloseReason, Ctx, Factory, Protocol, Reactor};
use torsion_protocols::policies::{ConnectionLimits, IdleTimeout, IdleTimeoutFactory};
use torsion_protocols::{LineCtx, LineHandler, LineReceiver};

struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        ctx.write(data);
    }
}

#[test]
fn idle_connections_time_out_and_traffic_resets_the_clock() {
    let mut t = StringTransport::new(IdleTimeout::new(Echo, Duration::from_secs(10)));
    for _ in 0..5 {
        t.advance(Duration::from_secs(9));
        t.receive(b"x");
    }
    assert!(!t.disconnected());
    t.advance(Duration::from_millis(9_999));
    assert!(!t.disconnected());
    t.advance(Duration::from_millis(1));
    assert!(t.aborted());
    assert!(matches!(t.close_reason(), Some(CloseReason::TimedOut)));
}

#[test]
fn the_timer_is_cancelled_when_the_connection_closes() {
    let mut t = StringTransport::new(IdleTimeout::new(Echo, Duration::from_secs(10)));
    t.receive_eof();
    assert!(matches!(t.close_reason(), Some(CloseReason::Done)));
    t.advance(Duration::from_secs(60));
    assert!(matches!(t.close_reason(), Some(CloseReason::Done)));
}

/// A line protocol with an embedded timer it can change.
struct Session {
    idle: torsion_protocols::policies::IdleTimer,
}

impl LineHandler for Session {
    fn connection_made(&mut self, ctx: &mut LineCtx<'_, '_>) {
        self.idle.start(ctx);
    }

    fn line_received(&mut self, ctx: &mut LineCtx<'_, '_>, line: &[u8]) {
        self.idle.reset(ctx);
        if line == b"patient" {
            let old = self.idle.set_period(ctx, Some(Duration::from_secs(100)));
            assert_eq!(old, Some(Duration::from_secs(1)));
        } else if line == b"forever" {
            self.idle.set_period(ctx, None);
        }
    }

    fn connection_lost(&mut self, ctx: &mut LineCtx<'_, '_>, _reason: CloseReason) {
        self.idle.cancel(ctx);
    }
}

#[test]
fn an_embedded_timer_can_change_its_period() {
    let session = || Session {
        idle: torsion_protocols::policies::IdleTimer::new(Duration::from_secs(1)),
    };
    let mut t = StringTransport::new(LineReceiver::new(session()));
    t.receive(b"patient\r\n");
    t.advance(Duration::from_secs(99));
    assert!(!t.disconnected());
    t.advance(Duration::from_secs(1));
    assert!(matches!(t.close_reason(), Some(CloseReason::TimedOut)));

    let mut t = StringTransport::new(LineReceiver::new(session()));
    t.receive(b"forever\r\n");
    t.advance(Duration::from_secs(3600));
    assert!(!t.disconnected());
}

#[test]
fn a_timeout_factory_wraps_every_protocol() {
    let mut factory = IdleTimeoutFactory::new(
        factory_fn(|_, _| Some(Box::new(Echo) as Box<dyn Protocol>)),
        Duration::from_secs(2),
    );
    let mut t = StringTransport::from_factory(&mut factory);
    t.receive(b"hi");
    assert_eq!(t.value(), b"hi");
    t.advance(Duration::from_secs(2));
    assert!(matches!(t.close_reason(), Some(CloseReason::TimedOut)));
}

fn tcp(addr: &str) -> Address {
    addr.parse::<SocketAddr>().unwrap().into()
}

#[test]
fn limits_refuse_past_the_total_and_per_peer_and_release_on_close() {
    let mut limits = ConnectionLimits::new(factory_fn(|_, _| Some(Box::new(Echo) as Box<dyn Protocol>)))
        .max_connections(3)
        .max_per_peer(2);
    let count = limits.count();
    let mut reactor = Reactor::with_clock(Clock::new()).unwrap();
    let a = tcp("10.0.0.1:1000");
    let a2 = tcp("10.0.0.1:2000");
    let b = tcp("10.0.0.2:1000");
    let c = tcp("10.0.0.3:1000");

    let mut open = Vec::new();
    for peer in [&a, &a2] {
        let protocol = limits
            .build_protocol(&mut reactor, peer)
            .expect("under the limits");
        open.push(reactor.connect_memory_boxed(protocol));
    }
    assert!(
        limits.build_protocol(&mut reactor, &a).is_none(),
        "a third from one host"
    );
    let protocol = limits.build_protocol(&mut reactor, &b).expect("another host");
    open.push(reactor.connect_memory_boxed(protocol));
    assert!(
        limits.build_protocol(&mut reactor, &c).is_none(),
        "a fourth in all"
    );
    assert_eq!((count.total(), count.from(&a), count.from(&b)), (3, 2, 1));

    // The peer of the first connection closes: its slot is free again.
    let (_, peer) = &open[0];
    peer.send_eof();
    for _ in 0..10 {
        reactor.iterate(Some(Duration::ZERO)).unwrap();
    }
    assert_eq!((count.total(), count.from(&a)), (2, 1));
    assert!(limits.build_protocol(&mut reactor, &c).is_some());
}

#[test]
fn limits_refuse_over_real_sockets() {
    use std::io::Read;

    let limits = ConnectionLimits::new(factory_fn(|_, _| Some(Box::new(Echo) as Box<dyn Protocol>)))
        .max_connections(1);
    let count = limits.count();
    let mut reactor = Reactor::new().unwrap();
    let listener = reactor
        .listen_tcp("127.0.0.1:0".parse().unwrap(), limits)
        .unwrap();
    let addr = reactor
        .local_addr(listener)
        .and_then(|a| a.as_socket_addr())
        .unwrap();
    let first = std::net::TcpStream::connect(addr).unwrap();
    let mut second = std::net::TcpStream::connect(addr).unwrap();
    second.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for _ in 0..50 {
        reactor.iterate(Some(Duration::from_millis(10))).unwrap();
    }
    assert_eq!(count.total(), 1);
    let mut buf = [0u8; 8];
    // The refused connection is closed by the server: EOF or a reset.
    assert!(matches!(second.read(&mut buf), Ok(0) | Err(_)));
    drop(first);
    for _ in 0..50 {
        reactor.iterate(Some(Duration::from_millis(10))).unwrap();
        if count.total() == 0 {
            break;
        }
    }
    assert_eq!(count.total(), 0);
}
