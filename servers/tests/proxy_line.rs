//! The line proxy: its protocol byte by byte (no sockets), then over real
//! sockets against a local origin on the same reactor: pages, errors,
//! the loop never blocked, and the seeds' blocking proxy that blocks it.

mod proxy_util;

use std::time::{Duration, Instant};

use proxy_util::{ask, exchange, exchanges, hits, line_proxy, origin, start_exchange, wait};
use torsion::testing::StringTransport;
use torsion::Reactor;
use torsion_clients::http::HttpClient;
use torsion_servers::proxy::cache::Cache;
use torsion_servers::proxy::{error_line, CachedPages, LineProxy, ProxyConfig};

/// A proxy protocol on a StringTransport; nothing it is sent here reaches
/// the network.
fn transport() -> StringTransport {
    let pages = CachedPages::new(HttpClient::new(), Cache::None, 4);
    StringTransport::new(LineProxy::new(pages, 64).protocol())
}

#[test]
fn a_line_that_is_not_an_http_url_gets_an_error_line_and_a_close() {
    for (line, reason) in [
        (&b"garbage\r\n"[..], "\"garbage\" (no scheme)"),
        (b"ftp://example.com/\n", "only http and https are supported"),
        (b"\r\n", "an empty line"),
        (b"\xff\xfe\n", "the line is not UTF-8"),
        (b"http://user@host/\n", "user names and passwords"),
    ] {
        let mut t = transport();
        t.receive_bytewise(line);
        let text = t.text();
        assert!(text.starts_with("ERROR not an http(s) URL: "), "{text:?}");
        assert!(text.contains(reason), "{text:?}");
        assert!(
            text.ends_with("\r\n") && text.matches('\n').count() == 1,
            "{text:?}"
        );
        assert!(t.disconnected(), "{line:?}");
    }
}

#[test]
fn a_line_too_long_gets_an_error_line_and_a_close() {
    let mut t = transport();
    t.receive(&[b'h'; 100]);
    assert_eq!(t.text(), "ERROR line too long (at most 64 bytes)\r\n");
    assert!(t.disconnected());
}

#[test]
fn a_client_that_sends_no_line_in_time_gets_an_error_line_and_a_close() {
    // Silent: the whole period, then the line.
    let mut t = transport();
    t.advance(Duration::from_secs(59));
    assert!(!t.disconnected());
    t.advance(Duration::from_secs(1));
    assert_eq!(t.text(), "ERROR no URL line within 60 s\r\n");
    assert!(t.disconnected());
    // Trickling a URL a byte a second does not restart the wait.
    let pages = CachedPages::new(HttpClient::new(), Cache::None, 4);
    let proxy = LineProxy::new(pages, 64).with_idle_timeout(Duration::from_secs(5));
    let mut t = StringTransport::new(proxy.protocol());
    for byte in b"http://127.0.0.1:9/never" {
        if t.disconnected() {
            break;
        }
        t.receive(&[*byte]);
        t.advance(Duration::from_secs(1));
    }
    assert_eq!(t.text(), "ERROR no URL line within 5 s\r\n");
    assert!(t.disconnected());
}

#[test]
fn an_error_line_is_one_line_whatever_it_quotes() {
    assert_eq!(error_line("a\r\nb\u{1b}"), "ERROR a\\r\\nb\\u{1b}\r\n");
}

#[test]
fn pages_come_back_and_the_connection_closes() {
    let mut r = Reactor::new().unwrap();
    let (base, hits_by_path) = origin(&mut r);
    let (proxy, _) = line_proxy(&mut r, &ProxyConfig::default());
    assert_eq!(ask(&mut r, proxy, &format!("{base}/hello")), "hello\n");
    // telnet's \r\n, a bare \n, and a last line without a newline before a
    // half-close (`printf URL | nc -N`).
    let url = format!("{base}/hello");
    for request in [format!("{url}\r\n"), format!("{url}\n")] {
        assert_eq!(exchange(&mut r, proxy, request.as_bytes(), false), b"hello\n");
    }
    assert_eq!(exchange(&mut r, proxy, url.as_bytes(), true), b"hello\n");
    // Redirects are followed.
    assert_eq!(ask(&mut r, proxy, &format!("{base}/redirect")), "hello\n");
    // Lines after the URL are ignored.
    let twice = format!("{url}\r\n{base}/bytes/10\r\n");
    assert_eq!(exchange(&mut r, proxy, twice.as_bytes(), false), b"hello\n");
    assert_eq!(hits(&hits_by_path, "/bytes/10"), 0);
    // A large page, whole.
    let big = exchange(&mut r, proxy, format!("{base}/bytes/3000000\n").as_bytes(), false);
    assert_eq!(big.len(), 3_000_000);
    assert!(big.iter().enumerate().all(|(i, b)| *b == proxy_util::pattern(i)));
}

#[test]
fn every_failure_gets_its_error_line_and_the_proxy_goes_on() {
    let mut r = Reactor::new().unwrap();
    let (base, _) = origin(&mut r);
    let config = ProxyConfig {
        max_body: 1 << 20,
        ..ProxyConfig::default()
    };
    let (proxy, _) = line_proxy(&mut r, &config);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unreachable = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let cases = [
        (
            unreachable.clone(),
            format!("ERROR {unreachable}: connection refused by "),
        ),
        (
            format!("{base}/loop"),
            format!("ERROR {base}/loop: more than 10 redirects"),
        ),
        (
            format!("{base}/reset"),
            format!("ERROR {base}/reset: connection closed before the response was complete"),
        ),
        (
            format!("{base}/status/404"),
            format!("ERROR {base}/status/404: the origin answered 404"),
        ),
        (
            format!("{base}/status/503"),
            format!("ERROR {base}/status/503: the origin answered 503"),
        ),
        (
            format!("{base}/bytes/2000000"),
            format!("ERROR {base}/bytes/2000000: response body larger than"),
        ),
    ];
    // All at once, and one good page among them.
    let mut requests: Vec<Vec<u8>> = cases
        .iter()
        .map(|(url, _)| format!("{url}\r\n").into_bytes())
        .collect();
    requests.push(b"not a url\r\n".to_vec());
    requests.push(format!("{base}/hello\r\n").into_bytes());
    let replies = exchanges(&mut r, proxy, &requests);
    for ((url, expected), reply) in cases.iter().zip(&replies) {
        let reply = String::from_utf8_lossy(reply);
        assert!(reply.starts_with(expected.as_str()), "{url}: {reply:?}");
        assert!(
            reply.ends_with("\r\n") && reply.matches('\n').count() == 1,
            "{reply:?}"
        );
    }
    assert!(String::from_utf8_lossy(&replies[cases.len()]).starts_with("ERROR not an http(s) URL"));
    assert_eq!(replies[cases.len() + 1], b"hello\n");
    // And it still serves.
    assert_eq!(ask(&mut r, proxy, &format!("{base}/hello")), "hello\n");
}

#[test]
fn slow_pages_do_not_wait_for_each_other() {
    let mut r = Reactor::new().unwrap();
    let (base, _) = origin(&mut r);
    let (proxy, _) = line_proxy(&mut r, &ProxyConfig::default());
    let delays = ["0.5", "1.0", "1.5", "0.8"];
    let requests: Vec<Vec<u8>> = delays
        .iter()
        .map(|d| format!("{base}/delay/{d}\r\n").into_bytes())
        .collect();
    let started = Instant::now();
    let replies = exchanges(&mut r, proxy, &requests);
    let took = started.elapsed();
    for (d, reply) in delays.iter().zip(&replies) {
        assert_eq!(String::from_utf8_lossy(reply), format!("slept {d}\n"));
    }
    // One after another they would take the sum, 3.8 s; together they take
    // the longest, 1.5 s, and a loaded machine has 2.3 s to spare.
    // (tests/tests/proxy.rs proves the concurrency without a clock.)
    assert!(took >= Duration::from_millis(1500), "{took:?}");
    assert!(took < Duration::from_millis(3800), "{took:?}");
}

#[test]
fn the_fetch_limit_makes_requests_wait_their_turn() {
    let mut r = Reactor::new().unwrap();
    let (base, _) = origin(&mut r);
    let config = ProxyConfig {
        max_fetches: 2,
        ..ProxyConfig::default()
    };
    let (proxy, pages) = line_proxy(&mut r, &config);
    let requests: Vec<Vec<u8>> = (0..6)
        .map(|i| format!("{base}/delay/0.2/{i}\r\n").into_bytes())
        .collect();
    let started = Instant::now();
    let all: Vec<_> = requests
        .iter()
        .map(|req| start_exchange(&mut r, proxy, req, false))
        .collect();
    proxy_util::run_for(&mut r, Duration::from_millis(100));
    assert_eq!((pages.limiter().active(), pages.limiter().waiting()), (2, 4));
    let d = torsion::defer::gather_results(&mut r, all);
    let replies = wait(&mut r, d);
    assert!(replies.iter().all(|reply| reply == b"slept 0.2\n"), "{replies:?}");
    // Three rounds of two.
    assert!(
        started.elapsed() >= Duration::from_millis(590),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((pages.limiter().active(), pages.limiter().waiting()), (0, 0));
}
