//! The memcache client (`torsion_clients::memcache`) against
//! torsion-memcached over real sockets: the shared suite (the interop suite
//! runs it again against Debian's memcached), a server killed
//! mid-pipeline, reconnection, timeouts, and a pool of three servers.

mod memcache_suite;

use torsion_tests::Server;

fn torsion_memcached() -> Server {
    Server::start("torsion-memcached", &["-p", "0"])
}

mod suite_against_torsion_memcached {
    use super::*;
    crate::memcache_suite::suite!(torsion_memcached());
}

// ----- failures with a real server process ----------------------------------

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use memcache_suite::{connect, error, run, run_until};
use torsion::reconnect::Backoff;
use torsion::{Deferred, Failure, Reactor};
use torsion_clients::memcache::{
    ClientConfig, Commands, ConnectionState, MemcacheError, MemcachePool, PoolConfig, ServerSpec,
};

/// Quick reconnection, and a generous timeout for a loaded machine.
fn fast_config() -> ClientConfig {
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

/// Stops (SIGSTOP) a server and waits until the kernel says it is stopped.
fn stop(server: &Server) {
    server.signal(libc::SIGSTOP);
    let deadline = Instant::now() + torsion_tests::TIMEOUT;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", server.pid())).expect("stat");
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next());
        if state == Some("T") {
            return;
        }
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A slot filled with the Deferred's result once it fires.
type Outcome<T> = Rc<RefCell<Option<Result<T, Failure>>>>;

fn outcome<T: 'static>(reactor: &mut Reactor, d: &Deferred<T>) -> Outcome<T> {
    let slot = Rc::new(RefCell::new(None));
    let out = slot.clone();
    d.then_both(reactor, move |_, result| {
        *out.borrow_mut() = Some(result);
        Ok(())
    })
    .mark_handled();
    slot
}

#[test]
fn a_server_killed_mid_pipeline_fails_exactly_the_requests_in_flight() {
    let mut server = torsion_memcached();
    let port = server.socket_addr().port();
    let (mut reactor, c) = connect(server.addr(), fast_config());
    // Answered before the kill: they succeed.
    let first = c.clone();
    run(&mut reactor, async move {
        let sets: Vec<_> = (0..100).map(|i| first.set(format!("k{i}"), "v", 0, 0)).collect();
        for set in sets {
            set.await.unwrap();
        }
    });
    // With the server stopped, a second batch goes out and stays in flight.
    stop(&server);
    let gets: Vec<_> = (0..100).map(|i| c.get(format!("k{i}"))).collect();
    let results: Vec<Outcome<_>> = gets.iter().map(|d| outcome(&mut reactor, d)).collect();
    for _ in 0..5 {
        reactor.iterate(Some(Duration::from_millis(10))).unwrap();
    }
    assert!(
        results.iter().all(|r| r.borrow().is_none()),
        "a stopped server answers nothing"
    );
    server.signal(libc::SIGKILL);
    server.wait();
    run_until(&mut reactor, || results.iter().all(|r| r.borrow().is_some()));
    for result in &results {
        let result = result.borrow_mut().take().expect("fired");
        assert_eq!(error(result), MemcacheError::ConnectionLost);
    }
    // While it is down, requests fail: the reconnection is refused.
    let down = c.get("k1");
    let down = reactor.run_until_complete(down).unwrap();
    assert!(matches!(error(down), MemcacheError::ConnectFailed(_)));
    // Back on the same port: the client reconnects on its own.
    let _server = Server::start("torsion-memcached", &["-p", &port.to_string()]);
    let value = run(&mut reactor, async move {
        c.when_connected().await.unwrap();
        c.set("after", "restart", 0, 0).await.unwrap();
        c.get("after").await.unwrap()
    });
    assert_eq!(value.map(|v| v.data), Some("restart".into()));
}

#[test]
fn a_stopped_server_times_out_and_the_client_reconnects_once_it_resumes() {
    let server = torsion_memcached();
    let config = ClientConfig {
        timeout: Some(Duration::from_millis(300)),
        ..fast_config()
    };
    let (mut reactor, c) = connect(server.addr(), config);
    let first = c.clone();
    run(
        &mut reactor,
        async move { first.set("k", "v", 0, 0).await.unwrap() },
    );
    stop(&server);
    let started = Instant::now();
    let (slow, behind) = (c.get("k"), c.get("k"));
    let (slow, behind) = (outcome(&mut reactor, &slow), outcome(&mut reactor, &behind));
    run_until(&mut reactor, || {
        slow.borrow().is_some() && behind.borrow().is_some()
    });
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        error(slow.borrow_mut().take().unwrap()),
        MemcacheError::Timeout(Duration::from_millis(300))
    );
    assert_eq!(
        error(behind.borrow_mut().take().unwrap()),
        MemcacheError::ConnectionLost
    );
    server.signal(libc::SIGCONT);
    // Once it runs again, requests succeed (on a new connection).
    let value = run(&mut reactor, async move {
        loop {
            match c.get("k").await {
                Ok(value) => return value,
                Err(f) => assert!(MemcacheError::of(&f).is_some_and(MemcacheError::is_server_failure)),
            }
        }
    });
    assert_eq!(value.map(|v| v.data), Some("v".into()));
}

// ----- a pool of three servers ----------------------------------------------

struct Three {
    servers: Vec<Server>,
    specs: Vec<ServerSpec>,
}

fn three() -> Three {
    let servers: Vec<Server> = (0..3).map(|_| torsion_memcached()).collect();
    let specs = servers
        .iter()
        .map(|s| ServerSpec::new("127.0.0.1", s.socket_addr().port()))
        .collect();
    Three { servers, specs }
}

fn pool(reactor: &mut Reactor, specs: &[ServerSpec], config: PoolConfig) -> MemcachePool {
    MemcachePool::new(reactor, specs.to_vec(), config)
}

fn pool_config() -> PoolConfig {
    PoolConfig {
        client: fast_config(),
        ..PoolConfig::default()
    }
}

#[test]
fn a_pool_puts_each_key_on_its_ketama_server_only() {
    let cluster = three();
    let mut reactor = Reactor::new().unwrap();
    let p = pool(&mut reactor, &cluster.specs, pool_config());
    let keys: Vec<String> = (0..300).map(|i| format!("key-{i}")).collect();
    let owners: Vec<usize> = keys
        .iter()
        .map(|k| {
            let owner = p.server_for(k).expect("a server");
            cluster
                .specs
                .iter()
                .position(|s| *s == owner)
                .expect("one of ours")
        })
        .collect();
    let (pool2, keys2) = (p.clone(), keys.clone());
    let per_server = run(&mut reactor, async move {
        let sets: Vec<_> = keys2.iter().map(|k| pool2.set(k, k, 0, 0)).collect();
        for set in sets {
            set.await.unwrap();
        }
        // Every key comes back through the pool...
        assert_eq!(pool2.get_multi(&keys2).await.unwrap().len(), 300);
        // ...and each server holds exactly the keys the ring gives it.
        let mut per_server = Vec::new();
        for i in 0..3 {
            let found = pool2.client(i).unwrap().get_multi(&keys2).await.unwrap();
            per_server.push(found);
        }
        per_server
    });
    for (i, found) in per_server.iter().enumerate() {
        let expected: Vec<&String> = keys
            .iter()
            .zip(&owners)
            .filter(|(_, o)| **o == i)
            .map(|(k, _)| k)
            .collect();
        assert_eq!(found.len(), expected.len(), "server {i}");
        assert!(expected.iter().all(|k| found.contains_key(k.as_bytes())));
        assert!(
            expected.len() > 50,
            "the ring spreads keys: server {i} has {}",
            expected.len()
        );
    }
}

#[test]
fn a_pool_reaches_every_server_for_stats_version_and_flush() {
    let cluster = three();
    let mut reactor = Reactor::new().unwrap();
    let p = pool(&mut reactor, &cluster.specs, pool_config());
    let specs = cluster.specs.clone();
    run(&mut reactor, async move {
        for i in 0..30 {
            p.set(format!("s{i}"), "x", 0, 0).await.unwrap();
        }
        let stats = p.stats(None).await.unwrap();
        let names: Vec<String> = stats.iter().map(|s| s.server.clone()).collect();
        assert_eq!(names, specs.iter().map(ToString::to_string).collect::<Vec<_>>());
        let items: u64 = stats
            .iter()
            .map(|s| s.result.as_ref().unwrap().number("curr_items").unwrap())
            .sum();
        assert_eq!(items, 30);
        let versions = p.version().await.unwrap();
        assert!(versions
            .iter()
            .all(|v| v.result.as_ref().is_ok_and(|v| v.starts_with("1."))));
        p.flush_all(0).await.unwrap();
        let keys: Vec<String> = (0..30).map(|i| format!("s{i}")).collect();
        assert!(p.get_multi(&keys).await.unwrap().is_empty());
    });
}

#[test]
fn a_dead_server_is_ejected_after_two_failures_and_retried_later() {
    let mut cluster = three();
    let mut reactor = Reactor::new().unwrap();
    let config = PoolConfig {
        eject_after: Some(2),
        retry_after: Duration::from_millis(500),
        ..pool_config()
    };
    let p = pool(&mut reactor, &cluster.specs, config);
    let victim = cluster.specs[1].clone();
    let key = (0..)
        .map(|i| format!("victim-{i}"))
        .find(|k| p.server_for(k).as_ref() == Some(&victim))
        .expect("a key of server 1");
    let (p2, k2) = (p.clone(), key.clone());
    run(
        &mut reactor,
        async move { p2.set(&k2, "before", 0, 0).await.unwrap() },
    );
    // Kill server 1.
    let port = victim.port;
    drop(cluster.servers.remove(1));
    let (p2, k2) = (p.clone(), key.clone());
    let failures = run(&mut reactor, async move {
        let first = p2.set(&k2, "x", 0, 0).await;
        let second = p2.set(&k2, "x", 0, 0).await;
        [error(first), error(second)]
    });
    assert!(
        failures.iter().all(MemcacheError::is_server_failure),
        "{failures:?}"
    );
    assert_eq!(p.ejected(), vec![victim.clone()]);
    // Its keys go elsewhere meanwhile.
    let elsewhere = p.server_for(&key).expect("a live server");
    assert_ne!(elsewhere, victim);
    let (p2, k2) = (p.clone(), key.clone());
    run(
        &mut reactor,
        async move { p2.set(&k2, "during", 0, 0).await.unwrap() },
    );
    // The server comes back; after retry_after it is back on the ring.
    let _back = Server::start("torsion-memcached", &["-p", &port.to_string()]);
    let probe = p.clone();
    run_until(&mut reactor, || probe.ejected().is_empty());
    assert_eq!(p.server_for(&key), Some(victim));
    let value = run(&mut reactor, async move {
        p.client(1).unwrap().when_connected().await.unwrap();
        p.set(&key, "after", 0, 0).await.unwrap();
        p.client(1).unwrap().get(&key).await.unwrap()
    });
    assert_eq!(value.map(|v| v.data), Some("after".into()));
}

#[test]
fn when_every_server_is_ejected_requests_fail_at_once() {
    let cluster = three();
    let mut reactor = Reactor::new().unwrap();
    let config = PoolConfig {
        eject_after: Some(1),
        retry_after: Duration::from_secs(3600),
        ..pool_config()
    };
    let p = pool(&mut reactor, &cluster.specs, config);
    drop(cluster);
    let p2 = p.clone();
    run(&mut reactor, async move {
        // Each request fails on its server and ejects it, until none is left.
        for i in 0.. {
            if p2.ejected().len() == 3 {
                break;
            }
            assert!(i < 100, "not all ejected");
            let _ = p2.get(format!("k{i}")).await;
        }
        let refused = p2.get("k");
        assert!(refused.called());
        assert_eq!(error(refused.await), MemcacheError::NoServers);
    });
    assert_ne!(p.client(0).unwrap().state(), ConnectionState::Connected);
}
