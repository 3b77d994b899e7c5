//! torsion-kv's line protocol, driven byte by byte without sockets: every
//! reply, every malformed line, and expiry on the manual clock.

use std::time::Duration;

use torsion::testing::StringTransport;
use torsion::Reactor;
use torsion_protocols::kv::Limits;
use torsion_servers::kv::{KvStore, LineFactory, LineServer, StoreConfig};

fn connect(config: StoreConfig) -> (StringTransport, KvStore) {
    let store = KvStore::new(config);
    let t = StringTransport::from_factory(&mut LineFactory::new(store.clone()));
    (t, store)
}

fn exchange(t: &mut StringTransport, request: &[u8]) -> String {
    t.clear();
    t.receive_bytewise(request);
    t.text()
}

#[test]
fn the_seeds_replies_byte_by_byte() {
    let (mut t, _) = connect(StoreConfig::default());
    assert_eq!(exchange(&mut t, b"get k\r\n"), "GET_NOT_FOUND k\r\n");
    assert_eq!(exchange(&mut t, b"set k v\r\n"), "STORED\r\n");
    assert_eq!(exchange(&mut t, b"get k\r\n"), "VALUE k v\r\n");
    assert_eq!(exchange(&mut t, b"set k a value with spaces\r\n"), "STORED\r\n");
    assert_eq!(exchange(&mut t, b"get k\r\n"), "VALUE k a value with spaces\r\n");
    assert_eq!(exchange(&mut t, b"delete k\r\n"), "DELETED k\r\n");
    assert_eq!(exchange(&mut t, b"delete k\r\n"), "DEL_NOT_FOUND k\r\n");
    assert_eq!(exchange(&mut t, b"get k\r\n"), "GET_NOT_FOUND k\r\n");
}

#[test]
fn malformed_lines_get_error_and_the_connection_goes_on() {
    let (mut t, _) = connect(StoreConfig::default());
    for (line, reply) in [
        (&b"\r\n"[..], "ERROR no command\r\n"),
        (b"   \r\n", "ERROR no command\r\n"),
        (b"GET k\r\n", "ERROR unknown command\r\n"),
        (b"stats\r\n", "ERROR unknown command\r\n"),
        (b"get\r\n", "ERROR missing key\r\n"),
        (b"delete \r\n", "ERROR missing key\r\n"),
        (b"set\r\n", "ERROR missing key\r\n"),
        (b"set k\r\n", "ERROR missing value\r\n"),
        (b"get a b\r\n", "ERROR too many arguments\r\n"),
        (b"delete a b\r\n", "ERROR too many arguments\r\n"),
    ] {
        assert_eq!(
            exchange(&mut t, line),
            reply,
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
    let long_key = format!("get {}\r\n", "k".repeat(251));
    assert_eq!(
        exchange(&mut t, long_key.as_bytes()),
        "ERROR key longer than 250 bytes\r\n"
    );
    let long_value = format!("set k {}\r\n", "v".repeat(65_536));
    assert_eq!(
        exchange(&mut t, long_value.as_bytes()),
        "ERROR value longer than 65535 bytes\r\n"
    );
    assert!(!t.disconnected());
    assert_eq!(
        exchange(&mut t, b"set k v\r\nget k\r\n"),
        "STORED\r\nVALUE k v\r\n"
    );
}

#[test]
fn a_line_too_long_is_one_error_then_the_next_line_is_served() {
    let config = StoreConfig {
        limits: Limits {
            max_key_length: 10,
            max_value_length: 20,
        },
        ..StoreConfig::default()
    };
    let (mut t, _) = connect(config);
    // The bound is "VALUE " + 10 + " " + 20 = 37 bytes.
    let mut stream = b"set k ".to_vec();
    stream.extend(vec![b'x'; 100_000]);
    stream.extend_from_slice(b"\r\nset k ok\r\nget k\r\n");
    t.receive(&stream);
    assert_eq!(
        t.text(),
        "ERROR line longer than 37 bytes\r\nSTORED\r\nVALUE k ok\r\n"
    );
}

#[test]
fn pipelined_requests_are_answered_in_order_in_one_write() {
    let (mut t, _) = connect(StoreConfig::default());
    let mut requests = Vec::new();
    let mut replies = String::new();
    for i in 0..100 {
        requests.extend(format!("set k{i} v{i}\r\nget k{i}\r\n").bytes());
        replies.push_str(&format!("STORED\r\nVALUE k{i} v{i}\r\n"));
    }
    t.receive(&requests);
    assert_eq!(t.text(), replies);
}

#[test]
fn a_key_lives_the_ttl_after_its_last_set_on_the_manual_clock() {
    let (mut t, store) = connect(StoreConfig::default());
    exchange(&mut t, b"set k v\r\n");
    t.advance(Duration::from_millis(14_999));
    assert_eq!(exchange(&mut t, b"get k\r\n"), "VALUE k v\r\n");
    // A new set restarts the clock (the old DelayedCall is cancelled).
    exchange(&mut t, b"set k w\r\n");
    t.advance(Duration::from_secs(10));
    assert_eq!(exchange(&mut t, b"get k\r\n"), "VALUE k w\r\n");
    t.advance(Duration::from_secs(5));
    assert_eq!(exchange(&mut t, b"get k\r\n"), "GET_NOT_FOUND k\r\n");
    assert_eq!(store.stats().expired, 1);
    assert_eq!(t.reactor().counters().timers_pending, 0);
}

#[test]
fn two_connections_share_one_store() {
    let store = KvStore::new(StoreConfig::default());
    let mut reactor = Reactor::new().unwrap();
    let (_, a) = reactor.connect_memory(LineServer::new(store.clone()));
    let (_, b) = reactor.connect_memory(LineServer::new(store.clone()));
    a.send(b"set shared yes\r\n");
    for _ in 0..5 {
        reactor.iterate(Some(Duration::ZERO)).unwrap();
    }
    b.send(b"get shared\r\n");
    for _ in 0..5 {
        reactor.iterate(Some(Duration::ZERO)).unwrap();
    }
    assert_eq!(&*b.value(), b"VALUE shared yes\r\n");
    assert_eq!(store.len(), 1);
}

#[test]
fn past_max_keys_the_least_recently_set_key_is_evicted() {
    let config = StoreConfig {
        max_keys: 2,
        ..StoreConfig::default()
    };
    let (mut t, store) = connect(config);
    t.receive(b"set a 1\r\nset b 2\r\nset a 3\r\nset c 4\r\n");
    assert_eq!(
        exchange(&mut t, b"get a\r\nget b\r\nget c\r\n"),
        "VALUE a 3\r\nGET_NOT_FOUND b\r\nVALUE c 4\r\n"
    );
    assert_eq!(store.stats().evicted, 1);
}
