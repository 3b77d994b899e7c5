//! get_cached_page over real sockets: the memory cache and memcached
//! (torsion-memcached, on the same reactor) keep pages from reaching the
//! origin twice; two proxies share memcached; concurrent requests share
//! one fetch; memcached down means uncached, said once; pages too large
//! are not cached.

mod proxy_util;

use std::time::Duration;

use proxy_util::{ask, ask_bytes, capture_logs, exchanges, hits, line_proxy, logs, origin, run_for, wait};
use torsion::Reactor;
use torsion_clients::memcache::{Commands, ServerSpec};
use torsion_servers::memcached::server::{MemcacheFactory, Settings};
use torsion_servers::proxy::cache::{cache_key, Cache, ENTRY_OVERHEAD};
use torsion_servers::proxy::{CacheSpec, ProxyConfig, Source};

/// A torsion-memcached on the test's reactor; its address.
fn memcached(r: &mut Reactor) -> ServerSpec {
    let id = r
        .listen_tcp(
            "127.0.0.1:0".parse().unwrap(),
            MemcacheFactory::new(r, Settings::default()),
        )
        .unwrap();
    let addr = r.local_addr(id).and_then(|a| a.as_socket_addr()).unwrap();
    ServerSpec::new("127.0.0.1", addr.port())
}

fn with_cache(cache: CacheSpec) -> ProxyConfig {
    ProxyConfig {
        cache,
        ..ProxyConfig::default()
    }
}

#[test]
fn the_memory_cache_answers_the_second_request() {
    let mut r = Reactor::new().unwrap();
    let (base, hits_by_path) = origin(&mut r);
    let (proxy, pages) = line_proxy(&mut r, &with_cache(CacheSpec::Memory));
    let url = format!("{base}/bytes/1000");
    let first = ask_bytes(&mut r, proxy, &url);
    let second = ask_bytes(&mut r, proxy, &url);
    assert_eq!(first.len(), 1000);
    assert_eq!(first, second);
    assert_eq!(hits(&hits_by_path, "/bytes/1000"), 1);
    // The page is there, under its URL.
    let Cache::Memory(memory) = pages.cache() else {
        panic!()
    };
    assert_eq!(memory.borrow().len(), 1);
    // Errors are not cached: each request asks again.
    for _ in 0..2 {
        assert!(ask(&mut r, proxy, &format!("{base}/status/500")).starts_with("ERROR"));
    }
    assert_eq!(hits(&hits_by_path, "/status/500"), 2);
}

#[test]
fn memory_pages_expire_and_the_cache_stays_within_its_size() {
    capture_logs();
    let mut r = Reactor::new().unwrap();
    let (base, hits_by_path) = origin(&mut r);
    let size = 3 * (2000 + 64 + ENTRY_OVERHEAD);
    let config = ProxyConfig {
        cache: CacheSpec::Memory,
        cache_size: size,
        cache_ttl: Duration::from_millis(300),
        ..ProxyConfig::default()
    };
    let (proxy, pages) = line_proxy(&mut r, &config);
    let url = format!("{base}/bytes/2000");
    ask(&mut r, proxy, &url);
    ask(&mut r, proxy, &url);
    assert_eq!(hits(&hits_by_path, "/bytes/2000"), 1);
    run_for(&mut r, Duration::from_millis(400));
    ask(&mut r, proxy, &url);
    assert_eq!(hits(&hits_by_path, "/bytes/2000"), 2, "expired, fetched again");
    // A page larger than the whole cache is served, not kept.
    let big = format!("{base}/bytes/{}", size + 1);
    assert_eq!(ask_bytes(&mut r, proxy, &big).len(), size + 1);
    ask(&mut r, proxy, &big);
    assert_eq!(hits(&hits_by_path, &format!("/bytes/{}", size + 1)), 2);
    let said = format!(
        "DEBUG not caching {big}: {} bytes is more than the whole memory cache holds",
        size + 1
    );
    assert_eq!(logs().iter().filter(|l| **l == said).count(), 2, "{:?}", logs());
    // Many pages: the least recently used go.
    for i in 0..10 {
        ask(&mut r, proxy, &format!("{base}/bytes/{}", 1990 + i));
    }
    let Cache::Memory(memory) = pages.cache() else {
        panic!()
    };
    assert_eq!(memory.borrow().len(), 3);
    assert!(memory.borrow().bytes() <= size);
}

#[test]
fn concurrent_requests_for_one_url_share_one_fetch() {
    let mut r = Reactor::new().unwrap();
    let (base, hits_by_path) = origin(&mut r);
    for cache in [CacheSpec::None, CacheSpec::Memory] {
        let (proxy, pages) = line_proxy(&mut r, &with_cache(cache.clone()));
        let url = format!("{base}/delay/0.3/{cache}");
        let requests = vec![format!("{url}\r\n").into_bytes(); 20];
        let replies = exchanges(&mut r, proxy, &requests);
        assert!(replies.iter().all(|reply| reply == b"slept 0.3\n"), "{replies:?}");
        assert_eq!(hits(&hits_by_path, &format!("/delay/0.3/{cache}")), 1, "{cache}");
        assert_eq!(pages.pending(), 0);
    }
}

#[test]
fn get_cached_page_says_where_each_page_came_from() {
    let mut r = Reactor::new().unwrap();
    let (base, _) = origin(&mut r);
    let (_, pages) = line_proxy(&mut r, &with_cache(CacheSpec::Memory));
    let url = format!("{base}/hello");
    let first = pages.get_cached_page(&mut r, &url);
    let joined = pages.get_cached_page(&mut r, &url);
    let (first, joined) = (wait(&mut r, first), wait(&mut r, joined));
    let d = pages.get_cached_page(&mut r, &url);
    let cached = wait(&mut r, d);
    assert_eq!(
        (first.source, joined.source, cached.source),
        (Source::Origin, Source::Shared, Source::Cache)
    );
    assert!([&first, &joined, &cached]
        .iter()
        .all(|p| p.body == "hello\n" && p.status == 200));
}

#[test]
fn memcached_answers_the_second_request_and_two_proxies_share_it() {
    let mut r = Reactor::new().unwrap();
    let (base, hits_by_path) = origin(&mut r);
    let server = memcached(&mut r);
    let config = with_cache(CacheSpec::Memcached(vec![server]));
    let (one, pages) = line_proxy(&mut r, &config);
    let (two, _) = line_proxy(&mut r, &config);
    let url = format!("{base}/bytes/5000");
    let first = ask_bytes(&mut r, one, &url);
    assert_eq!(first.len(), 5000);
    assert_eq!(ask_bytes(&mut r, one, &url), first);
    assert_eq!(
        ask_bytes(&mut r, two, &url),
        first,
        "the other proxy finds it in memcached"
    );
    assert_eq!(hits(&hits_by_path, "/bytes/5000"), 1);
    // Stored under the URL, with the TTL as exptime.
    let Cache::Memcached(memcached) = pages.cache() else {
        panic!()
    };
    let d = memcached.pool().get(cache_key(&url));
    let stored = wait(&mut r, d).expect("stored");
    assert_eq!(stored.data.len(), 5000);
    assert_eq!(memcached.outages(), 0);
    // A URL too long to be a memcached key is stored under its digest.
    let long = format!("{base}/hello?{}", "q".repeat(300));
    ask(&mut r, one, &long);
    assert_eq!(ask(&mut r, two, &long), "hello\n");
    assert_eq!(hits(&hits_by_path, "/hello"), 1);
}

#[test]
fn pages_larger_than_a_memcached_item_are_not_cached() {
    capture_logs();
    let mut r = Reactor::new().unwrap();
    let (base, hits_by_path) = origin(&mut r);
    let server = memcached(&mut r);
    let config = ProxyConfig {
        cache: CacheSpec::Memcached(vec![server]),
        max_item: 10_000,
        ..ProxyConfig::default()
    };
    let (proxy, _) = line_proxy(&mut r, &config);
    let small = format!("{base}/bytes/9000");
    let big = format!("{base}/bytes/10000");
    for _ in 0..2 {
        assert_eq!(ask_bytes(&mut r, proxy, &small).len(), 9000);
        assert_eq!(ask_bytes(&mut r, proxy, &big).len(), 10_000);
    }
    assert_eq!(hits(&hits_by_path, "/bytes/9000"), 1);
    assert_eq!(hits(&hits_by_path, "/bytes/10000"), 2);
    let said =
        format!("DEBUG not caching {big}: 10000 bytes is more than one memcached item holds (10000 bytes)");
    assert_eq!(logs().iter().filter(|l| **l == said).count(), 2, "{:?}", logs());
}

#[test]
fn with_memcached_down_pages_are_served_uncached_and_that_is_said_once() {
    capture_logs();
    let mut r = Reactor::new().unwrap();
    let (base, hits_by_path) = origin(&mut r);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = ProxyConfig {
        cache: CacheSpec::Memcached(vec![ServerSpec::new("127.0.0.1", port)]),
        cache_timeout: Duration::from_millis(500),
        ..ProxyConfig::default()
    };
    let (proxy, pages) = line_proxy(&mut r, &config);
    let url = format!("{base}/hello");
    for _ in 0..5 {
        assert_eq!(ask(&mut r, proxy, &url), "hello\n");
    }
    // Five at once too.
    let replies = exchanges(&mut r, proxy, &vec![format!("{url}\r\n").into_bytes(); 5]);
    assert!(replies.iter().all(|reply| reply == b"hello\n"));
    assert!(hits(&hits_by_path, "/hello") >= 6);
    let Cache::Memcached(memcached) = pages.cache() else {
        panic!()
    };
    assert_eq!(memcached.outages(), 1, "one outage, said once");
    let warnings: Vec<String> = logs()
        .into_iter()
        .filter(|l| l.starts_with("WARN memcached is unreachable"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].ends_with("serving pages without the cache until it answers"));
}
