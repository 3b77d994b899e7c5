//! torsion-memcached's LRU crawler over real sockets: `lru_crawler crawl`
//! reclaims expired items in slices, its replies are memcached 1.6.18's, and
//! a metadump streams to a slow reader with bounded memory while other
//! clients are served.

use std::io::{Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use torsion_tests::memcache::{expect, read_until, rss_kib, stat};
use torsion_tests::{send, Server};

fn start(args: &[&str]) -> Server {
    let mut all = vec!["-p", "0"];
    all.extend_from_slice(args);
    Server::start("torsion-memcached", &all)
}

#[test]
fn replies_are_memcacheds() {
    let server = start(&["-o", "no_lru_crawler"]);
    let mut c = server.connect();
    expect(&mut c, b"lru_crawler\r\n", b"ERROR\r\n");
    expect(&mut c, b"lru_crawler foo\r\n", b"ERROR\r\n");
    expect(
        &mut c,
        b"lru_crawler crawl 1\r\n",
        b"CLIENT_ERROR lru crawler disabled\r\n",
    );
    expect(
        &mut c,
        b"lru_crawler metadump all\r\n",
        b"CLIENT_ERROR lru crawler disabled\r\n",
    );
    expect(&mut c, b"lru_crawler sleep 10\r\n", b"OK\r\n");
    expect(
        &mut c,
        b"lru_crawler sleep 9999999\r\n",
        b"CLIENT_ERROR sleep must be one second or less\r\n",
    );
    expect(
        &mut c,
        b"lru_crawler sleep x\r\n",
        b"CLIENT_ERROR bad command line format\r\n",
    );
    expect(&mut c, b"lru_crawler tocrawl 5\r\n", b"OK\r\n");
    expect(
        &mut c,
        b"lru_crawler tocrawl x\r\n",
        b"CLIENT_ERROR bad command line format\r\n",
    );
    expect(&mut c, b"lru_crawler enable\r\n", b"OK\r\n");
    expect(
        &mut c,
        b"lru_crawler enable\r\n",
        b"ERROR failed to start lru crawler thread\r\n",
    );
    for bad in ["0", "99", "abc", "1,,2"] {
        let line = format!("lru_crawler crawl {bad}\r\n");
        expect(&mut c, line.as_bytes(), b"BADCLASS invalid class id\r\n");
    }
    expect(
        &mut c,
        b"lru_crawler metadump 99\r\n",
        b"BADCLASS invalid class id\r\n",
    );
    expect(&mut c, b"set a%20b 0 0 2\r\nok\r\n", b"STORED\r\n");
    send(&mut c, b"lru_crawler metadump 1\r\n");
    let dump = String::from_utf8(read_until(&mut c, b"END\r\n")).unwrap();
    assert!(dump.starts_with("key=a%2520b exp=-1 la="), "{dump}");
    assert!(dump.ends_with(" fetch=no cls=1 size=66\r\nEND\r\n"), "{dump}");
    expect(&mut c, b"lru_crawler mgdump\r\n", b"mg a%20b\r\nEN\r\n");
    expect(
        &mut c,
        b"mg foo v\r\nlru_crawler metadump all\r\n",
        b"EN\r\nERROR cannot pipeline other commands before metadump\r\n",
    );
    // Requests after a dump wait for its end.
    send(&mut c, b"lru_crawler metadump hash\r\nversion\r\n");
    let mut reply = Vec::new();
    while !(reply.ends_with(b"\r\n") && reply.windows(8).any(|w| w == b"VERSION ")) {
        reply.extend(read_until(&mut c, b"\r\n"));
    }
    let reply = String::from_utf8(reply).unwrap();
    assert!(reply.starts_with("key=a%2520b "), "{reply}");
    assert!(reply.contains(" size=66\r\nEND\r\nVERSION "), "{reply}");
    expect(&mut c, b"lru_crawler disable\r\n", b"OK\r\n");
}

#[test]
fn crawl_reclaims_the_expired_items_of_its_classes() {
    // Without the LRU maintainer, which would reclaim expired items from
    // the LRU tails before the crawl comes.
    let server = start(&["-o", "lru_crawler,no_lru_maintainer"]);
    let mut c = server.connect();
    for i in 0..30 {
        expect(
            &mut c,
            format!("set s{i} 0 1 2\r\nok\r\n").as_bytes(),
            b"STORED\r\n",
        );
        expect(
            &mut c,
            format!("set i{i} 0 0 2\r\nok\r\n").as_bytes(),
            b"STORED\r\n",
        );
    }
    // Past the one-second expiry, whatever the second boundaries.
    thread::sleep(Duration::from_millis(2200));
    expect(&mut c, b"lru_crawler crawl 1\r\n", b"OK\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while stat(&mut c, "lru_crawler_running") == 1 {
        assert!(Instant::now() < deadline, "the crawl never ended");
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(stat(&mut c, "curr_items"), 30);
    assert_eq!(stat(&mut c, "crawler_reclaimed"), 30);
    assert!(stat(&mut c, "crawler_items_checked") >= 60);
    assert_eq!(stat(&mut c, "lru_crawler_starts"), 1);
    send(&mut c, b"stats items\r\n");
    let items = String::from_utf8(read_until(&mut c, b"END\r\n")).unwrap();
    assert!(items.contains("STAT items:1:crawler_reclaimed 30\r\n"), "{items}");
}

/// A dump several times larger than its slices, read slowly: the server's
/// memory grows by about a slice and the socket buffers, not by the dump,
/// and another client is answered while the dump waits.
#[test]
fn metadump_streams_to_a_slow_reader_in_bounded_memory() {
    const ITEMS: usize = 60_000;
    let server = start(&["-m", "256"]);
    let mut c = server.connect();
    let pad = "k".repeat(200);
    let mut batch = Vec::new();
    for i in 0..ITEMS {
        batch.extend_from_slice(format!("set {pad}{i} 0 0 1 noreply\r\nz\r\n").as_bytes());
    }
    c.write_all(&batch).unwrap();
    expect(&mut c, b"version\r\n", b"VERSION ");
    let _ = read_until(&mut c, b"\r\n");
    let before = rss_kib(server.pid());

    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    send(&mut c, b"lru_crawler metadump all\r\n");
    // Not reading: the server fills the socket and waits.
    thread::sleep(Duration::from_millis(300));
    let mut other = server.connect();
    let asked = Instant::now();
    expect(&mut other, b"version\r\n", b"VERSION ");
    assert!(asked.elapsed() < Duration::from_secs(5));

    let mut lines = 0;
    let mut total = 0usize;
    let mut peak = before;
    let mut buf = [0; 8192];
    let mut tail = Vec::new();
    loop {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "closed during the dump");
        total += n;
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 16 {
            tail.drain(..tail.len() - 16);
        }
        if tail.ends_with(b"\r\nEND\r\n") {
            break;
        }
        if lines % 4096 < 40 {
            peak = peak.max(rss_kib(server.pid()));
            thread::sleep(Duration::from_millis(1));
        }
    }
    assert_eq!(lines, ITEMS + 1);
    let growth = peak.saturating_sub(before);
    eprintln!("metadump: {total} bytes, {lines} lines; RSS {before} KiB before, peak {peak} KiB");
    assert!(total > 15 << 20, "the dump is {total} bytes");
    assert!(
        growth < 6 * 1024,
        "RSS grew by {growth} KiB during a {} KiB dump",
        total / 1024
    );
}
