//! The memcache client suite, written once and run against any server
//! address: `tests/memcache_client.rs` runs it against torsion-memcached,
//! the interop suite against Debian's memcached 1.6. Include it with
//! `mod memcache_suite;` and instantiate it with
//! `memcache_suite::suite!(start_a_server())`, where the expression gives
//! anything with an `addr()` (kept alive for the test).

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use torsion::endpoint::ClientEndpoint;
use torsion::{Failure, Reactor};
use torsion_clients::memcache::{
    ClientConfig, Commands, ConnectionState, MemcacheClient, MemcacheError, Value,
};

/// A test that takes longer than this panics (from a reactor timer).
pub const WATCHDOG: Duration = Duration::from_secs(60);

/// Generates one `#[test]` per case, each with its own server.
macro_rules! suite {
    ($start:expr) => {
        $crate::memcache_suite::suite!(@cases $start;
            set_get_and_a_miss, gets_and_cas, conditional_stores, delete, incr_and_decr,
            touch_and_gat, get_multi, pipelined_requests_match_their_replies,
            large_values, flush_all, stats_and_version, bad_requests_are_refused_before_sending,
            server_errors_leave_the_connection_usable, callbacks_chain_requests,
            a_cancelled_request_keeps_its_place, close_waits_for_requests_in_flight,
            connection_state_is_visible);
    };
    (@cases $start:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let server = $start;
                let addr = server.addr().to_string();
                $crate::memcache_suite::$case(&addr);
            }
        )*
    };
}
pub(crate) use suite;

/// A reactor and a client of `addr` (`host:port`).
pub fn connect(addr: &str, config: ClientConfig) -> (Reactor, MemcacheClient) {
    let mut reactor = Reactor::new().expect("reactor");
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let endpoint = ClientEndpoint::tcp(host, port.parse().expect("port"));
    let client = MemcacheClient::connect(&mut reactor, endpoint, config);
    (reactor, client)
}

/// The suite's configuration: a generous timeout for a loaded machine.
pub fn config() -> ClientConfig {
    ClientConfig {
        timeout: Some(Duration::from_secs(20)),
        ..ClientConfig::default()
    }
}

/// Runs `test` on `reactor` until it completes, or panics after [`WATCHDOG`].
pub fn run<F: Future + 'static>(reactor: &mut Reactor, test: F) -> F::Output
where
    F::Output: 'static,
{
    let watchdog = reactor.call_later(WATCHDOG, |_| panic!("the test did not finish in {WATCHDOG:?}"));
    let out = reactor.run_until_complete(test).expect("the reactor ran");
    let _ = watchdog.cancel(reactor);
    out
}

/// The `MemcacheError` of a failed request.
pub fn error<T: std::fmt::Debug>(result: Result<T, Failure>) -> MemcacheError {
    let failure = result.expect_err("the request should fail");
    MemcacheError::of(&failure)
        .unwrap_or_else(|| panic!("not a MemcacheError: {failure:#}"))
        .clone()
}

fn data(value: Option<Value>) -> Option<Bytes> {
    value.map(|v| v.data)
}

pub fn set_get_and_a_miss(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    run(&mut reactor, async move {
        c.set("greeting", "hello", 42, 0).await.unwrap();
        let v = c.get("greeting").await.unwrap().expect("a hit");
        assert_eq!((&v.data[..], v.flags, v.cas), (&b"hello"[..], 42, None));
        assert_eq!(c.get("nobody-here").await.unwrap(), None);
        // Any bytes, \r\n included, and the empty value.
        let binary: Vec<u8> = (0..=255).chain(*b"\r\nEND\r\n").collect();
        c.set("binary", &binary, u32::MAX, 0).await.unwrap();
        let v = c.get("binary").await.unwrap().expect("a hit");
        assert_eq!((&v.data[..], v.flags), (&binary[..], u32::MAX));
        c.set("empty", "", 0, 0).await.unwrap();
        assert_eq!(data(c.get("empty").await.unwrap()), Some(Bytes::new()));
        // Keys may hold any byte but spaces and control characters.
        c.set("clé:ü/∞", "utf-8", 0, 0).await.unwrap();
        assert_eq!(data(c.get("clé:ü/∞").await.unwrap()), Some(Bytes::from("utf-8")));
        let longest = "k".repeat(250);
        c.set(&longest, "long", 0, 0).await.unwrap();
        assert_eq!(data(c.get(&longest).await.unwrap()), Some(Bytes::from("long")));
    });
}

pub fn gets_and_cas(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    run(&mut reactor, async move {
        c.set("counter", "1", 0, 0).await.unwrap();
        let v = c.gets("counter").await.unwrap().expect("a hit");
        let unique = v.cas.expect("gets gives a CAS unique");
        c.cas("counter", "2", unique, 7, 0).await.unwrap();
        let v = c.gets("counter").await.unwrap().expect("a hit");
        assert_eq!((&v.data[..], v.flags), (&b"2"[..], 7));
        assert_ne!(v.cas, Some(unique), "the unique changes with the item");
        // The old unique lost the race.
        assert_eq!(
            error(c.cas("counter", "3", unique, 0, 0).await),
            MemcacheError::Exists
        );
        assert_eq!(
            error(c.cas("gone", "3", unique, 0, 0).await),
            MemcacheError::NotFound
        );
        assert_eq!(data(c.get("counter").await.unwrap()), Some(Bytes::from("2")));
    });
}

pub fn conditional_stores(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    run(&mut reactor, async move {
        c.add("a", "first", 0, 0).await.unwrap();
        assert_eq!(error(c.add("a", "second", 0, 0).await), MemcacheError::NotStored);
        assert_eq!(error(c.replace("b", "x", 0, 0).await), MemcacheError::NotStored);
        c.replace("a", "middle", 3, 0).await.unwrap();
        c.append("a", ">").await.unwrap();
        c.prepend("a", "<").await.unwrap();
        let v = c.get("a").await.unwrap().expect("a hit");
        assert_eq!(
            (&v.data[..], v.flags),
            (&b"<middle>"[..], 3),
            "append keeps the flags"
        );
        assert_eq!(error(c.append("b", "x").await), MemcacheError::NotStored);
        assert_eq!(error(c.prepend("b", "x").await), MemcacheError::NotStored);
    });
}

pub fn delete(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    run(&mut reactor, async move {
        c.set("doomed", "x", 0, 0).await.unwrap();
        c.delete("doomed").await.unwrap();
        assert_eq!(c.get("doomed").await.unwrap(), None);
        assert_eq!(error(c.delete("doomed").await), MemcacheError::NotFound);
    });
}

pub fn incr_and_decr(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    run(&mut reactor, async move {
        c.set("n", "10", 0, 0).await.unwrap();
        assert_eq!(c.incr("n", 5).await.unwrap(), 15);
        assert_eq!(c.decr("n", 3).await.unwrap(), 12);
        assert_eq!(c.decr("n", 100).await.unwrap(), 0, "decr stops at 0");
        c.set("big", u64::MAX.to_string(), 0, 0).await.unwrap();
        assert_eq!(c.incr("big", 2).await.unwrap(), 1, "incr wraps at 2^64");
        assert_eq!(error(c.incr("missing", 1).await), MemcacheError::NotFound);
        assert_eq!(error(c.decr("missing", 1).await), MemcacheError::NotFound);
        c.set("text", "abc", 0, 0).await.unwrap();
        assert!(matches!(
            error(c.incr("text", 1).await),
            MemcacheError::ClientError(_)
        ));
        // memcached shortens a value in place, padding it with spaces.
        let n = data(c.get("n").await.unwrap()).expect("a hit");
        assert_eq!(std::str::from_utf8(&n).unwrap().trim_end(), "0");
    });
}

/// memcached reads an expiration time above 30 days as a unix time: 30
/// days and one second is in 1970, so the item expires at once. That
/// tests expiry without waiting.
const LONG_AGO: u32 = 30 * 24 * 3600 + 1;

pub fn touch_and_gat(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    run(&mut reactor, async move {
        c.set("t", "v", 5, 0).await.unwrap();
        c.touch("t", 3600).await.unwrap();
        assert_eq!(error(c.touch("absent", 10).await), MemcacheError::NotFound);
        let v = c.gat("t", 3600).await.unwrap().expect("a hit");
        assert_eq!((&v.data[..], v.flags, v.cas), (&b"v"[..], 5, None));
        let v = c.gats("t", 3600).await.unwrap().expect("a hit");
        assert!(v.cas.is_some());
        assert_eq!(c.gat("absent", 10).await.unwrap(), None);
        // An expiration time in the past: gone.
        c.touch("t", LONG_AGO).await.unwrap();
        assert_eq!(c.get("t").await.unwrap(), None);
        c.set("g", "v", 0, 0).await.unwrap();
        assert!(
            c.gat("g", LONG_AGO).await.unwrap().is_some(),
            "gat answers, then expires it"
        );
        assert_eq!(c.get("g").await.unwrap(), None);
    });
}

pub fn get_multi(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    run(&mut reactor, async move {
        for i in 0..250 {
            c.set(format!("m{i}"), format!("value {i}"), i, 0).mark_handled();
        }
        c.set("last", "x", 0, 0).await.unwrap(); // replies come in order: all stored now
                                                 // 250 hits and 250 misses: more keys than one line takes (100).
        let keys: Vec<String> = (0..500).map(|i| format!("m{i}")).collect();
        let found: HashMap<Bytes, Value> = c.get_multi(&keys).await.unwrap();
        assert_eq!(found.len(), 250);
        for i in 0..250u32 {
            let v = &found[format!("m{i}").as_bytes()];
            assert_eq!((v.data.clone(), v.flags), (Bytes::from(format!("value {i}")), i));
        }
        let with_cas = c.gets_multi(["m1", "m2", "m1", "absent"]).await.unwrap();
        assert_eq!(with_cas.len(), 2);
        assert!(with_cas.values().all(|v| v.cas.is_some()));
        assert!(c.get_multi(Vec::<&str>::new()).await.unwrap().is_empty());
    });
}

pub fn pipelined_requests_match_their_replies(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    run(&mut reactor, async move {
        // A thousand requests made at once leave together; each reply goes
        // to its own request.
        let sets: Vec<_> = (0..1000)
            .map(|i| c.set(format!("p{i}"), i.to_string(), 0, 0))
            .collect();
        for set in sets {
            set.await.unwrap();
        }
        let gets: Vec<_> = (0..1000).map(|i| c.get(format!("p{i}"))).collect();
        for (i, get) in gets.into_iter().enumerate() {
            assert_eq!(data(get.await.unwrap()), Some(Bytes::from(i.to_string())));
        }
        // Commands of every kind, interleaved in one batch.
        let set = c.set("mix", "5", 0, 0);
        let incr = c.incr("mix", 1);
        let add = c.add("mix", "x", 0, 0);
        let get = c.get("mix");
        let delete = c.delete("mix");
        let missing = c.incr("mix", 1);
        let many = c.get_multi(["p1", "p2"]);
        let version = c.version();
        set.await.unwrap();
        assert_eq!(incr.await.unwrap(), 6);
        assert_eq!(error(add.await), MemcacheError::NotStored);
        assert_eq!(data(get.await.unwrap()), Some(Bytes::from("6")));
        delete.await.unwrap();
        assert_eq!(error(missing.await), MemcacheError::NotFound);
        assert_eq!(many.await.unwrap().len(), 2);
        assert!(!version.await.unwrap().is_empty());
    });
}

pub fn large_values(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    run(&mut reactor, async move {
        // Just under memcached's default 1 MiB item limit; written by
        // reference and read back as one slice.
        let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let sets: Vec<_> = (0..4).map(|i| c.set(format!("big{i}"), &big, 0, 0)).collect();
        for set in sets {
            set.await.unwrap();
        }
        let all = c.get_multi(["big0", "big1", "big2", "big3"]).await.unwrap();
        assert_eq!(all.len(), 4);
        assert!(all.values().all(|v| v.data[..] == big[..]));
    });
}

pub fn flush_all(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    run(&mut reactor, async move {
        c.set("f1", "x", 0, 0).await.unwrap();
        c.set("f2", "y", 0, 0).await.unwrap();
        c.flush_all(0).await.unwrap();
        assert!(c.get_multi(["f1", "f2"]).await.unwrap().is_empty());
        c.set("f3", "z", 0, 0).await.unwrap();
        assert!(
            c.get("f3").await.unwrap().is_some(),
            "items stored after the flush stay"
        );
    });
}

pub fn stats_and_version(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    run(&mut reactor, async move {
        c.set("s", "x", 0, 0).await.unwrap();
        let stats = c.stats(None).await.unwrap();
        assert!(stats.number("pid").is_some_and(|p| p > 0), "{stats:?}");
        assert!(stats.number("curr_items").is_some_and(|n| n >= 1));
        assert!(stats.get("version").is_some_and(|v| v.starts_with("1.")));
        let settings = c.stats(Some("settings")).await.unwrap();
        assert!(settings.number("maxconns").is_some(), "{settings:?}");
        let version = c.version().await.unwrap();
        assert!(version.starts_with("1."), "{version}");
        assert!(matches!(
            error(c.stats(Some("bad\r\nflush_all")).await),
            MemcacheError::InvalidRequest(_)
        ));
    });
}

pub fn bad_requests_are_refused_before_sending(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    run(&mut reactor, async move {
        c.set("safe", "1", 0, 0).await.unwrap();
        let long = "k".repeat(251);
        for bad in ["", "two words", "line\r\nflush_all", &long, "tab\tkey"] {
            assert!(
                matches!(error(c.get(bad).await), MemcacheError::InvalidRequest(_)),
                "{bad:?}"
            );
            assert!(matches!(
                error(c.set(bad, "x", 0, 0).await),
                MemcacheError::InvalidRequest(_)
            ));
        }
        assert!(matches!(
            error(c.get_multi(["fine", "not fine"]).await),
            MemcacheError::InvalidRequest(_)
        ));
        // Nothing reached the server: it is all still there.
        assert_eq!(data(c.get("safe").await.unwrap()), Some(Bytes::from("1")));
        assert_eq!(c.pending(), 0);
    });
}

pub fn server_errors_leave_the_connection_usable(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    run(&mut reactor, async move {
        // Over the default 1 MiB item size: SERVER_ERROR, and the server
        // swallows the data, so the next reply is still ours.
        let too_big = vec![b'x'; 2 << 20];
        let refused = c.set("too-big", &too_big, 0, 0);
        let after = c.set("after", "fine", 0, 0);
        assert!(matches!(error(refused.await), MemcacheError::ServerError(_)));
        after.await.unwrap();
        assert_eq!(data(c.get("after").await.unwrap()), Some(Bytes::from("fine")));
    });
}

pub fn callbacks_chain_requests(addr: &str) {
    // The seeds' style: each request made from the callback of the one
    // before (which runs inside the connection's data_received), and a
    // callback returning a Deferred to wait for.
    let (mut reactor, c) = connect(addr, config());
    let result = Rc::new(RefCell::new(None));
    let out = result.clone();
    let c2 = c.clone();
    c.set("chain", "1", 0, 0)
        .then(&mut reactor, move |_, ()| c2.incr("chain", 41))
        .add_callback(&mut reactor, move |_, n| {
            *out.borrow_mut() = Some(n);
            Ok(n)
        });
    run_until(&mut reactor, || result.borrow().is_some());
    assert_eq!(*result.borrow(), Some(42));
}

/// Iterates `reactor` until `done`, for at most [`WATCHDOG`].
pub fn run_until(reactor: &mut Reactor, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WATCHDOG;
    while !done() {
        assert!(Instant::now() < deadline, "not done in {WATCHDOG:?}");
        reactor.iterate(Some(Duration::from_millis(10))).expect("iterate");
    }
}

pub fn a_cancelled_request_keeps_its_place(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    let first = c.get("cancelled");
    let second = c.set("kept", "yes", 0, 0);
    first.cancel(&mut reactor);
    assert!(first.called(), "cancelling fails the Deferred at once");
    first.mark_handled();
    run(&mut reactor, async move {
        // The cancelled request's reply is read and dropped; the next reply
        // still goes to the next request.
        second.await.unwrap();
        assert_eq!(data(c.get("kept").await.unwrap()), Some(Bytes::from("yes")));
    });
}

pub fn close_waits_for_requests_in_flight(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    let probe = c.clone();
    run(&mut reactor, async move {
        c.when_connected().await.unwrap();
        let sets: Vec<_> = (0..50).map(|i| c.set(format!("c{i}"), "x", 0, 0)).collect();
        c.close();
        assert_eq!(error(c.get("c1").await), MemcacheError::Closed, "no new requests");
        for set in sets {
            set.await.unwrap();
        }
    });
    // The connection closes once the replies are in.
    run_until(&mut reactor, || probe.state() == ConnectionState::Closed);
    assert_eq!(
        error(reactor.run_until_complete(probe.version()).unwrap()),
        MemcacheError::Closed
    );
}

pub fn connection_state_is_visible(addr: &str) {
    let (mut reactor, c) = connect(addr, config());
    assert_eq!(c.state(), ConnectionState::Connecting);
    let queued = c.set("early", "bird", 0, 0);
    assert_eq!(c.pending(), 1, "requests made while connecting wait");
    let probe = c.clone();
    run(&mut reactor, async move {
        c.when_connected().await.unwrap();
        queued.await.unwrap();
        assert_eq!(data(c.get("early").await.unwrap()), Some(Bytes::from("bird")));
    });
    assert_eq!(probe.state(), ConnectionState::Connected);
    assert_eq!(probe.pending(), 0);
    // when_connected fires at once when connected.
    assert!(probe.when_connected().called());
}
