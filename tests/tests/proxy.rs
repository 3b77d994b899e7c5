//! torsion-proxy and torsion-timing as binaries, against the local origin
//! (`torsion_tests::Origin`, on a thread of its own): the seeds' two
//! timing tables, a thousand concurrent requests, errors, the memory and
//! memcached caches (torsion-memcached), the forward proxy and its
//! tunnels in bounded memory, signals and the command line.
//!
//! Timings are asserted generously (a loaded two-core machine): lower
//! bounds are exact, since a timer never fires early; upper bounds leave
//! room.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use torsion::endpoint::ClientEndpoint;
use torsion::Reactor;
use torsion_clients::timing::{time_urls, Outcome};
use torsion_tests::origin::{pattern, TOGETHER_WAIT};
use torsion_tests::{binary, read_all, Origin, Server, TIMEOUT};

/// The seeds' four sites, by their delays (the sum is 3.8 s, the longest 1.5 s).
const DELAYS: [&str; 4] = ["0.5", "1.0", "1.5", "0.8"];

fn proxy(args: &[&str]) -> Server {
    let mut all = vec!["-p", "0"];
    all.extend_from_slice(args);
    Server::start("torsion-proxy", &all)
}

/// The forward proxy's address, from its second announcement.
fn http_addr(server: &Server) -> SocketAddr {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let out = String::from_utf8_lossy(&server.stdout()).into_owned();
        if let Some(line) = out
            .lines()
            .find_map(|l| l.strip_prefix("torsion-proxy http listening on "))
        {
            return line.trim().parse().expect("an address");
        }
        assert!(Instant::now() < deadline, "no http announcement: {out:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// `url\r\n` to the line proxy; the whole reply.
fn ask(server: &Server, url: &str) -> Vec<u8> {
    let mut s = server.connect();
    s.write_all(format!("{url}\r\n").as_bytes()).unwrap();
    read_all(&mut s)
}

fn ask_text(server: &Server, url: &str) -> String {
    String::from_utf8_lossy(&ask(server, url)).into_owned()
}

/// Runs torsion-timing against `proxy` for the four seeds' sites; its
/// table, and the totals it printed: the proxy's (the Server column,
/// summed) and the client's.
fn timing(proxy: &Server, origin: &Origin) -> (String, f64, f64) {
    let urls: Vec<String> = DELAYS
        .iter()
        .map(|d| origin.url(&format!("/delay/{d}")))
        .collect();
    let out = Command::new(binary("torsion-timing"))
        .arg(proxy.addr())
        .args(&urls)
        .output()
        .expect("run torsion-timing");
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (d, url) in DELAYS.iter().zip(&urls) {
        let row = table
            .lines()
            .find(|l| l.starts_with(url.as_str()))
            .expect("a row per URL");
        let columns: Vec<&str> = row.split_whitespace().collect();
        let [_, bytes, server, client] = columns[..] else {
            panic!("Site, Bytes, Server, Client: {table}");
        };
        let (server, client): (f64, f64) = (server.parse().unwrap(), client.parse().unwrap());
        let delay: f64 = d.parse().unwrap();
        assert!(client >= delay, "{table}");
        // The proxy's own time: the origin's delay at least (a timer never
        // fires early), and inside the client's wait.
        assert!(server >= delay && server <= client + 0.01, "{table}");
        assert_eq!(bytes, format!("slept {d}\n").len().to_string(), "{table}");
    }
    assert!(table.starts_with("Site"), "{table}");
    assert_eq!(
        table
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["Site", "Bytes", "Server", "Client"]
    );
    let totals: Vec<f64> = table
        .lines()
        .find_map(|l| l.strip_prefix("Total:"))
        .map(|l| l.split_whitespace().skip(1).map(|t| t.parse().unwrap()).collect())
        .unwrap_or_else(|| panic!("no total: {table}"));
    (table, totals[0], totals[1])
}

#[test]
fn four_urls_finish_together_in_about_the_longest_delay() {
    let origin = Origin::start();
    let server = proxy(&[]);
    let (table, server_total, total) = timing(&server, &origin);
    assert!(total >= 1.5, "{table}");
    // A blocking proxy needs at least the sum, 3.8 s; this one about the
    // longest, 1.5 s. (That the four are in flight at once is proved
    // without a clock by a_thousand_concurrent_requests_are_all_in_flight_at_once.)
    assert!(total < 3.8, "not the sum: {table}");
    // The proxy still spent the sum waiting, all of it at once.
    assert!(server_total >= 3.8, "{table}");
    for d in DELAYS {
        assert_eq!(origin.hits(&format!("/delay/{d}")), 1);
    }
}

#[test]
fn with_blocking_they_take_the_sum_and_the_reactor_says_why() {
    let origin = Origin::start();
    let server = proxy(&["--blocking"]);
    let (table, server_total, total) = timing(&server, &origin);
    assert!(total >= 3.8, "the sum: {table}");
    // One fetch after another, each inside the client's wait.
    assert!(server_total >= 3.8 && server_total <= total + 0.01, "{table}");
    server.wait_for_stderr_times(
        "slow callback: data_received of torsion_servers::proxy::blocking::BlockingProxy",
        4,
    );
}

/// A thousand clients at once: the proxy has all thousand fetches in
/// flight together (the origin answers none until all thousand wait, see
/// `torsion_tests::origin`), where a blocking proxy would have one. How
/// fast that is, is for `bench/proxy.sh` to say, not a timed test.
#[test]
fn a_thousand_concurrent_requests_are_all_in_flight_at_once() {
    let origin = Origin::start();
    let server = proxy(&[]);
    let addr = server.socket_addr();
    let urls: Vec<String> = (0..1000)
        .map(|i| origin.url(&format!("/together/1000/{i}")))
        .collect();
    let mut r = Reactor::new().unwrap();
    let endpoint = ClientEndpoint::tcp(addr.ip().to_string(), addr.port());
    let d = time_urls(&mut r, &endpoint, &urls, TIMEOUT + TOGETHER_WAIT);
    let report = r.run_until_complete(d).unwrap().unwrap();
    let page = "together 1000\n".len() as u64;
    let failed: Vec<_> = report
        .timings
        .iter()
        .filter(|t| t.outcome != Outcome::Page(page))
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    assert_eq!(origin.total_hits(), 1000);
}

#[test]
fn every_error_gets_its_line_and_the_proxy_goes_on() {
    let origin = Origin::start();
    let server = proxy(&[]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let cases = [
        (dead.clone(), format!("ERROR {dead}: connection refused by ")),
        (
            origin.url("/loop"),
            format!("ERROR {}: more than 10 redirects", origin.url("/loop")),
        ),
        (
            origin.url("/reset"),
            format!(
                "ERROR {}: connection closed before the response was complete",
                origin.url("/reset")
            ),
        ),
        (
            origin.url("/status/404"),
            format!("ERROR {}: the origin answered 404", origin.url("/status/404")),
        ),
        (
            "garbage".to_string(),
            "ERROR not an http(s) URL: \"garbage\" (no scheme)".to_string(),
        ),
    ];
    for (url, expected) in &cases {
        let reply = ask_text(&server, url);
        assert!(reply.starts_with(expected.as_str()), "{url}: {reply:?}");
        assert!(
            reply.ends_with("\r\n") && reply.matches('\n').count() == 1,
            "{reply:?}"
        );
        assert_eq!(ask_text(&server, &origin.url("/hello")), "hello\n", "after {url}");
    }
    // The redirects were followed (and counted), up to the limit.
    assert_eq!(origin.hits("/loop"), 11);
    assert_eq!(ask_text(&server, &origin.url("/redirect/3")), "hello\n");
    // Each request was logged when it started and when it ended.
    server.wait_for_stderr(&format!("fetching {}", origin.url("/hello")));
    server.wait_for_stderr(&format!("fetched {}: 200, 6 bytes, took ", origin.url("/hello")));
    server.wait_for_stderr(&format!("failed {dead}: connection refused"));
}

#[test]
fn the_memory_cache_keeps_the_second_request_from_the_origin() {
    let origin = Origin::start();
    let server = proxy(&["--cache", "memory"]);
    let url = origin.url("/bytes/100000");
    let first = ask(&server, &url);
    assert_eq!(first.len(), 100_000);
    assert_eq!(ask(&server, &url), first);
    assert_eq!(origin.hits("/bytes/100000"), 1);
    server.wait_for_stderr(" bytes, took ");
    server.wait_for_stderr("(cache)");
}

#[test]
fn memcached_is_shared_by_two_proxies_and_its_death_only_costs_the_cache() {
    let origin = Origin::start();
    let mut memcached = Server::start("torsion-memcached", &["-p", "0"]);
    let spec = format!("memcached://{}", memcached.addr());
    let args = ["--cache", spec.as_str(), "--cache-timeout", "0.5"];
    let one = proxy(&args);
    let two = proxy(&args);
    let url = origin.url("/bytes/50000");
    let page = ask(&one, &url);
    assert_eq!(page.len(), 50_000);
    assert_eq!(ask(&two, &url), page, "from memcached, through the other proxy");
    assert_eq!(ask(&one, &url), page);
    assert_eq!(origin.hits("/bytes/50000"), 1);
    // A page larger than an item is served but not cached.
    let big = origin.url("/bytes/2000000");
    assert_eq!(ask(&one, &big).len(), 2_000_000);
    assert_eq!(ask(&two, &big).len(), 2_000_000);
    assert_eq!(origin.hits("/bytes/2000000"), 2);
    // memcached dies: pages are still served, uncached, and that is said once.
    memcached.signal(libc::SIGKILL);
    memcached.wait();
    for i in 0..6 {
        assert_eq!(ask(&one, &url), page, "request {i} with memcached down");
    }
    assert!(origin.hits("/bytes/50000") >= 6);
    let log = one.wait_for_stderr("memcached is unreachable");
    assert_eq!(log.matches("memcached is unreachable").count(), 1, "{log}");
}

/// A proxy's peak resident memory, in KiB (VmHWM).
fn peak_rss_kib(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Reads `total` bytes of the pattern (from `offset`), slowly: a pause
/// after each read.
fn read_slowly(stream: &mut TcpStream, total: usize, offset: usize) {
    let mut got = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while got < total {
        let n = stream.read(&mut buf).expect("read");
        assert!(n > 0, "closed after {got} of {total} bytes");
        for (i, b) in buf[..n].iter().enumerate() {
            assert_eq!(*b, pattern((offset + got + i) as u64), "byte {}", got + i);
        }
        got += n;
        thread::sleep(Duration::from_millis(2));
    }
}

/// Reads a response head off `stream`; returns it.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).expect("read"), 1, "closed in the head");
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

const LARGE: usize = 96 << 20;
/// What a proxy may grow by while relaying [`LARGE`] bytes: a few
/// buffers' worth, nowhere near the transfer (and far under the 64 MiB a
/// connection may buffer before the reactor aborts it).
const GROWTH_KIB: u64 = 24 * 1024;

#[test]
fn a_tunnel_relays_both_ways_to_a_slow_reader_in_bounded_memory() {
    let origin = Origin::start();
    let server = proxy(&["--http-port", "0"]);
    let addr = http_addr(&server);
    let before = peak_rss_kib(&server);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(
        stream,
        "CONNECT {} HTTP/1.1\r\nHost: x\r\n\r\n",
        origin.echo_addr()
    )
    .unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // One thread writes as fast as it can; this one reads the echo slowly.
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let mut sent = 0;
        while sent < LARGE {
            let n = (LARGE - sent).min(256 * 1024);
            let chunk: Vec<u8> = (sent..sent + n).map(|i| pattern(i as u64)).collect();
            writer.write_all(&chunk).unwrap();
            sent += n;
        }
        writer.shutdown(Shutdown::Write).unwrap();
    });
    read_slowly(&mut stream, LARGE, 0);
    sender.join().unwrap();
    // The echo server closes after our end-of-file; so does the tunnel.
    assert_eq!(read_all(&mut stream).len(), 0);
    let grew = peak_rss_kib(&server).saturating_sub(before);
    assert!(
        grew < GROWTH_KIB,
        "the proxy grew by {grew} KiB relaying {} MiB",
        LARGE >> 20
    );
    server.wait_for_stderr(&format!("{LARGE} bytes up, {LARGE} bytes down"));
}

#[test]
fn a_forwarded_get_streams_a_large_body_to_a_slow_reader_in_bounded_memory() {
    let origin = Origin::start();
    let server = proxy(&["--http-port", "0"]);
    let addr = http_addr(&server);
    let before = peak_rss_kib(&server);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let url = origin.url(&format!("/bytes/{LARGE}"));
    write!(
        stream,
        "GET {url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains(&format!("Content-Length: {LARGE}\r\n")), "{head}");
    read_slowly(&mut stream, LARGE, 0);
    assert_eq!(read_all(&mut stream).len(), 0);
    let grew = peak_rss_kib(&server).saturating_sub(before);
    assert!(
        grew < GROWTH_KIB,
        "the proxy grew by {grew} KiB relaying {} MiB",
        LARGE >> 20
    );
}

#[test]
fn forward_get_and_connect_through_the_binary() {
    let origin = Origin::start();
    let server = proxy(&["--http-port", "0"]);
    let addr = http_addr(&server);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(
        s,
        "GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        origin.url("/hello")
    )
    .unwrap();
    let reply = String::from_utf8_lossy(&read_all(&mut s)).into_owned();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("Via: 1.1 torsion-proxy\r\n"), "{reply}");
    assert!(reply.ends_with("\r\n\r\nhello\n"), "{reply}");
    // The line port still speaks lines.
    assert_eq!(ask_text(&server, &origin.url("/hello")), "hello\n");
    server.wait_for_stderr(&format!("GET {}: 200, 6 bytes", origin.url("/hello")));
}

#[test]
fn sigint_and_sigterm_stop_it_cleanly() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let origin = Origin::start();
        let mut server = proxy(&["--http-port", "0", "--cache", "memory"]);
        assert_eq!(ask_text(&server, &origin.url("/hello")), "hello\n");
        server.signal(signal);
        let status = server.wait();
        assert!(status.success(), "{status:?}: {}", server.stderr());
    }
}

#[test]
fn the_command_line_explains_itself_and_refuses_nonsense() {
    let help = Command::new(binary("torsion-proxy"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--port",
        "--listen",
        "--http-port",
        "--cache",
        "--cache-size",
        "--cache-ttl",
        "--max-item",
        "--max-fetches",
        "--max-connections",
        "--max-line",
        "--max-body",
        "--timeout",
        "--blocking",
        "--cache-retry",
        "--idle-timeout",
        "--tunnel-idle-timeout",
    ] {
        assert!(text.contains(flag), "{flag} in {text}");
    }
    for bad in [
        &["--cache", "redis://x"][..],
        &["--cache", "memcached://"],
        &["--blocking", "--cache", "memory"],
        &["--timeout", "0"],
        &["--idle-timeout", "0"],
        &["--cache-retry", "-1"],
    ] {
        let out = Command::new(binary("torsion-proxy")).args(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn torsion_timing_reports_what_failed() {
    let origin = Origin::start();
    let server = proxy(&[]);
    let out = Command::new(binary("torsion-timing"))
        .arg(server.addr())
        .args([origin.url("/hello"), origin.url("/status/500")])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{table}");
    assert!(
        table.contains("ERROR ") && table.contains("the origin answered 500"),
        "{table}"
    );
    // No proxy at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = closed.local_addr().unwrap().to_string();
    drop(closed);
    let out = Command::new(binary("torsion-timing"))
        .args([nowhere.as_str(), "http://127.0.0.1:1/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("failed: "));
}

#[test]
fn torsion_upper_client_against_the_proxy_exits_zero_as_simpleclient4() {
    // The seeds run simpleclient4 against the proxy: the words are URLs,
    // the replies pages, not uppercase words.
    let origin = Origin::start();
    let server = proxy(&[]);
    let urls = [origin.url("/delay/0.2"), origin.url("/hello")];
    let out = Command::new(binary("torsion-upper-client"))
        .arg(server.addr())
        .args(&urls)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    for url in &urls {
        assert!(stdout.contains(&format!("sending {url}\n")), "{stdout}");
        assert!(
            stdout.contains(&format!("received response for {url} (took ")),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("\nhello\n") && stdout.contains("\nslept 0.2\n"),
        "{stdout}"
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("finished, took"), "{stdout}");
}
