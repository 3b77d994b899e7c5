//! Protocol-level fuzzing of live servers (issue 11, "Hardening" 2): seeded
//! random bytes, and valid requests mutated at random, thrown at a running
//! torsion-memcached, torsion-kv (its three ports), torsion-web-demo and
//! torsion-proxy (line and forward ports) over hundreds of
//! connections, in random read sizes, with random endings. Then each server
//! must still be running, answer a probe correctly on a fresh connection,
//! have logged no panic, and hold no more descriptors than before.
//!
//! Reproducible: the seed is printed; `TORSION_SEED=N` replays a run, and
//! `TORSION_FUZZ_CONNECTIONS=N` makes it longer (docs/hardening.md).

#[path = "hostile/mod.rs"]
mod hostile;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use hostile::{exchange, prove, Probe, Rng};
use torsion_tests::{Server, TIMEOUT};

/// Connections per server in `cargo test`.
const CONNECTIONS: usize = 400;

/// Threads throwing bytes at once.
const THREADS: usize = 4;

fn connections() -> usize {
    std::env::var("TORSION_FUZZ_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CONNECTIONS)
}

/// Something to throw: a valid request mutated, or noise.
fn garbage(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(8) {
        match rng.below(10) {
            0 => {
                let n = rng.below(512);
                out.extend(rng.bytes(n));
            }
            1 => {
                // Noise made of the protocol's own punctuation.
                const BITS: &[u8] = b" \r\n\t0123456789-+=:getsmn\x00\x80\xff";
                let n = rng.below(256);
                for _ in 0..n {
                    out.push(BITS[rng.below(BITS.len())]);
                }
            }
            _ => {
                let mut request = corpus[rng.below(corpus.len())].clone();
                mutate(rng, &mut request);
                out.extend(request);
            }
        }
    }
    out
}

fn mutate(rng: &mut Rng, request: &mut Vec<u8>) {
    for _ in 0..rng.below(4) {
        if request.is_empty() {
            return;
        }
        let at = rng.below(request.len());
        match rng.below(9) {
            0 => request[at] = rng.next_u64() as u8,
            1 => request[at] ^= 1 << rng.below(8),
            2 => request.truncate(at),
            3 => request.insert(at, b"\r\n"[rng.below(2)]),
            4 => {
                let number: &[u8] = [
                    &b"4294967296"[..],
                    b"18446744073709551616",
                    b"-1",
                    b"99999999999999999999999",
                    b"0",
                    b"2147483648",
                ][rng.below(6)];
                request.splice(at..at, number.iter().copied());
            }
            5 => {
                let copy = request[at..].to_vec();
                request.extend(copy);
            }
            6 => request
                .drain(at..(at + rng.below(8)).min(request.len()))
                .for_each(drop),
            7 => {
                let n = rng.below(600);
                request
                    .splice(at..at, std::iter::repeat_n(b'k', n))
                    .for_each(drop);
            }
            _ => request.insert(at, b' '),
        }
    }
}

/// Percent-decodes `bytes` once (as a server decodes a query).
fn percent_decoded(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|b| hex(*b)),
            bytes.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Whether every host that `bytes` could make a proxy (or `/fetch`)
/// connect to is on this machine: each authority after a `://`, and
/// after a `CONNECT `, must be a 127.x.x.x address (or nothing a parser
/// would take for a host). Mutations could otherwise turn `127.0.0.1`
/// into another machine's address, or into a name to resolve, which
/// would ask the machine's DNS server: the network is not ours to fuzz.
fn stays_local(bytes: &[u8]) -> bool {
    let local = |authority: &[u8]| {
        let text = String::from_utf8_lossy(authority);
        let host = match text.rsplit_once(':') {
            Some((h, _)) => h.to_string(),
            None => text.to_string(),
        };
        host.is_empty()
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    let ends = |b: &u8| b"/?#\\ \t\r\n".contains(b);
    for text in [bytes.to_vec(), percent_decoded(bytes)] {
        for (marker, skip) in [(&b"://"[..], 3), (&b"CONNECT "[..], 8)] {
            let mut at = 0;
            while let Some(i) = text[at..].windows(marker.len()).position(|w| w == marker) {
                let start = at + i + skip;
                let end = text[start..]
                    .iter()
                    .position(ends)
                    .map_or(text.len(), |e| start + e);
                if !local(&text[start..end]) {
                    return false;
                }
                at = start;
            }
        }
    }
    true
}

/// Throws `garbage` at `addr` on one connection, reading what comes back,
/// and ends the connection at random. Garbage that could send a server
/// elsewhere than this machine is drawn again (see [`stays_local`]).
fn throw(addr: SocketAddr, rng: &mut Rng, corpus: &[Vec<u8>]) {
    let Ok(mut stream) = hostile::connect(addr) else {
        panic!("connect to {addr} failed: is the server still up?");
    };
    let _ = stream.set_write_timeout(Some(Duration::from_millis(500)));
    let _ = stream.set_read_timeout(Some(Duration::from_millis(5)));
    let bytes = loop {
        let bytes = garbage(rng, corpus);
        if stays_local(&bytes) {
            break bytes;
        }
    };
    let mut rest = &bytes[..];
    let mut sink = [0u8; 64 * 1024];
    while !rest.is_empty() {
        let n = (1 + rng.below(rest.len().min(2048))).min(rest.len());
        if stream.write_all(&rest[..n]).is_err() {
            return; // closed by the server, or not reading: fine
        }
        rest = &rest[n..];
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
    match rng.below(3) {
        0 => {}
        1 => {
            let _ = stream.shutdown(Shutdown::Write);
            let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
            let _ = stream.read(&mut sink);
        }
        _ => {
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
        }
    }
}

/// Fuzzes `targets` (address, corpus, probe) of one running server, then
/// checks it survived.
fn fuzz(server: &Server, name: &str, targets: Vec<(SocketAddr, Vec<Vec<u8>>, Probe)>, seed: u64) {
    eprintln!("fuzzing {name} with seed {seed} (replay: TORSION_SEED={seed})");
    for (addr, _, probe) in &targets {
        prove(probe, *addr, "before fuzzing");
    }
    thread::sleep(Duration::from_millis(100));
    let fds_before = server.open_fds();
    let per_thread = connections().div_ceil(THREADS);
    let started = Instant::now();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let targets: Vec<(SocketAddr, Vec<Vec<u8>>)> =
                targets.iter().map(|(a, c, _)| (*a, c.clone())).collect();
            thread::spawn(move || {
                let mut rng = Rng::new(seed.wrapping_add(t as u64 * 7919));
                for _ in 0..per_thread {
                    let (addr, corpus) = &targets[rng.below(targets.len())];
                    throw(*addr, &mut rng, corpus);
                }
            })
        })
        .collect();
    for worker in workers {
        if let Err(panic) = worker.join() {
            eprintln!("{name}: seed {seed}");
            std::panic::resume_unwind(panic);
        }
    }
    eprintln!(
        "{name}: {} connections in {:?}",
        per_thread * THREADS,
        started.elapsed()
    );
    let stderr = server.stderr();
    assert!(
        !stderr.contains("panicked"),
        "{name} panicked (seed {seed}):\n{stderr}"
    );
    for (addr, _, probe) in &targets {
        prove(probe, *addr, &format!("{name} after fuzzing (seed {seed})"));
    }
    // Every fuzzing connection is closed in the end (lingering 2 s at most).
    let deadline = Instant::now() + TIMEOUT;
    while server.open_fds() > fds_before {
        assert!(
            Instant::now() < deadline,
            "{name}: {} descriptors open after fuzzing, {fds_before} before (seed {seed})",
            server.open_fds()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

fn binary_request(opcode: u8, key: &[u8], extras: &[u8], value: &[u8]) -> Vec<u8> {
    let body = extras.len() + key.len() + value.len();
    let mut packet = vec![0x80, opcode];
    packet.extend_from_slice(&(key.len() as u16).to_be_bytes());
    packet.push(extras.len() as u8);
    packet.extend_from_slice(&[0, 0, 0]);
    packet.extend_from_slice(&(body as u32).to_be_bytes());
    packet.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    packet.extend_from_slice(&[0; 8]);
    packet.extend_from_slice(extras);
    packet.extend_from_slice(key);
    packet.extend_from_slice(value);
    packet
}

fn memcached_corpus() -> Vec<Vec<u8>> {
    let mut corpus: Vec<Vec<u8>> = [
        &b"set k 0 0 5\r\nhello\r\n"[..],
        b"add k 1 100 3 noreply\r\nabc\r\n",
        b"cas k 0 0 1 5\r\nx\r\n",
        b"append k 0 0 2\r\nzz\r\n",
        b"get k a b c\r\n",
        b"gets k\r\n",
        b"gat 100 k\r\n",
        b"incr n 18446744073709551615\r\n",
        b"decr n 1\r\n",
        b"touch k 10\r\n",
        b"delete k 0\r\n",
        b"flush_all 0\r\n",
        b"stats\r\n",
        b"stats settings\r\n",
        b"stats items\r\n",
        b"stats slabs\r\n",
        b"stats sizes\r\n",
        b"stats detail dump\r\n",
        b"verbosity 1\r\n",
        b"version\r\n",
        b"cache_memlimit 100\r\n",
        b"ms k 5 T0 F1 I\r\nhello\r\n",
        b"ms aGVsbG8= 2 b MA\r\nhi\r\n",
        b"mg k v t f c s k O123 q\r\n",
        b"mg aGVsbG8= b v N30 R10\r\n",
        b"md k q I T30\r\n",
        b"ma n N0 J13 D5 MD\r\n",
        b"mn\r\n",
        b"me k\r\n",
    ]
    .iter()
    .map(|r| r.to_vec())
    .collect();
    // Binary: get, set (extras: flags, expiry), incr (delta, initial,
    // expiry), quiet and unknown opcodes, a stat, a header alone.
    corpus.push(binary_request(0x00, b"k", &[], &[]));
    corpus.push(binary_request(0x01, b"k", &[0, 0, 0, 1, 0, 0, 0, 0], b"value"));
    corpus.push(binary_request(
        0x05,
        b"n",
        &[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0],
        &[],
    ));
    corpus.push(binary_request(0x09, b"k", &[], &[]));
    corpus.push(binary_request(0x10, b"settings", &[], &[]));
    corpus.push(binary_request(0x1d, b"k", &[0, 0, 0, 10], &[]));
    corpus.push(binary_request(0x7f, b"", &[], b"junk"));
    corpus.push(binary_request(0x0a, b"", &[], &[]));
    corpus
}

#[test]
fn torsion_memcached_survives_random_and_mutated_requests() {
    let server = Server::start("torsion-memcached", &["-p", "0", "-m", "8", "-I", "64k"]);
    let addr = server.socket_addr();
    let probe = exchange(
        b"set fuzz-probe 3 0 2\r\nok\r\nget fuzz-probe\r\n",
        b"STORED\r\nVALUE fuzz-probe 3 2\r\nok\r\nEND\r\n",
    );
    let binary_probe = {
        // A binary noop on a fresh connection: magic 0x81, opcode 0x0a, the
        // opaque echoed, status 0.
        let mut reply = vec![0x81, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef];
        reply.extend_from_slice(&[0; 8]);
        exchange(&binary_request(0x0a, b"", &[], &[]), &reply)
    };
    prove(&binary_probe, addr, "before fuzzing");
    fuzz(
        &server,
        "torsion-memcached",
        vec![(addr, memcached_corpus(), probe)],
        hostile::seed(2026),
    );
    prove(&binary_probe, addr, "after fuzzing");
}

fn amp_box(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as u16).to_be_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(&(v.len() as u16).to_be_bytes());
        out.extend_from_slice(v);
    }
    out.extend_from_slice(&[0, 0]);
    out
}

#[test]
fn torsion_kv_survives_random_and_mutated_requests_on_both_ports() {
    let server = Server::start(
        "torsion-kv",
        &[
            "-p",
            "0",
            "--amp-port",
            "0",
            "--pb-port",
            "0",
            "--max-keys",
            "1000",
            "--max-value-length",
            "4096",
        ],
    );
    let line = server.socket_addr();
    let amp = {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let out = String::from_utf8_lossy(&server.stdout()).into_owned();
            if let Some(a) = out
                .lines()
                .find_map(|l| l.strip_prefix("torsion-kv amp listening on "))
            {
                break a.trim().parse::<SocketAddr>().unwrap();
            }
            assert!(Instant::now() < deadline, "no AMP address");
            thread::sleep(Duration::from_millis(10));
        }
    };
    let line_corpus: Vec<Vec<u8>> = [
        &b"set k some value\r\n"[..],
        b"get k\r\n",
        b"delete k\r\n",
        b"  get \t k\r\n",
        b"set k \r\n",
        b"get a b\r\n",
        b"\r\n",
    ]
    .iter()
    .map(|r| r.to_vec())
    .collect();
    let amp_corpus = vec![
        amp_box(&[
            (b"_command", b"Set"),
            (b"_ask", b"1"),
            (b"key", b"k"),
            (b"value", b"v"),
        ]),
        amp_box(&[(b"_command", b"Get"), (b"_ask", b"2"), (b"key", b"k")]),
        amp_box(&[(b"_command", b"Delete"), (b"key", b"k")]),
        amp_box(&[(b"_command", b"Nope"), (b"_ask", b"3")]),
        amp_box(&[(b"_answer", b"9"), (b"x", b"y")]),
        amp_box(&[(b"_error", b"9"), (b"_error_code", b"X")]),
    ];
    let line_probe = exchange(
        b"set fuzz-probe fine\r\nget fuzz-probe\r\n",
        b"STORED\r\nVALUE fuzz-probe fine\r\n",
    );
    let amp_probe = exchange(
        &amp_box(&[(b"_command", b"Get"), (b"_ask", b"p"), (b"key", b"fuzz-probe")]),
        &amp_box(&[(b"_answer", b"p"), (b"value", b"fine")]),
    );
    fuzz(
        &server,
        "torsion-kv",
        vec![(line, line_corpus, line_probe), (amp, amp_corpus, amp_probe)],
        hostile::seed(2027),
    );
}

#[test]
fn garbage_that_names_another_host_is_not_thrown() {
    assert!(stays_local(
        b"GET http://127.0.0.1:80/x HTTP/1.1\r\n\r\nhttp://127.9.0.1/\r\n"
    ));
    assert!(stays_local(b"CONNECT 127.0.0.1:22 HTTP/1.1\r\n\r\n"));
    assert!(stays_local(b"noise without a url"));
    for far in [
        &b"http://137.0.0.1/"[..],
        b"http://127.0.0.k:80/",
        b"GET http://example.com/ HTTP/1.1",
        b"CONNECT 10.0.0.1:443 HTTP/1.1",
        b"/fetch?url=http%3A%2F%2F8.8.8.8%2F",
        b"http://127.0.0.1@evil/",
    ] {
        assert!(!stays_local(far), "{}", String::from_utf8_lossy(far));
    }
}

fn http_probe(request: String, status: &str, body: &str) -> Probe {
    hostile::http_probe(request.as_bytes(), status, body)
}

#[test]
fn torsion_web_demo_survives_random_and_mutated_requests() {
    let origin = torsion_tests::Origin::start();
    let server = Server::start("torsion-web-demo", &["-p", "0", "--idle-timeout", "2"]);
    let addr = server.socket_addr();
    let corpus: Vec<Vec<u8>> = [
        "GET / HTTP/1.1\r\nHost: fuzz\r\n\r\n".to_string(),
        "GET /page HTTP/1.1\r\nHost: fuzz\r\nConnection: keep-alive\r\n\r\n".to_string(),
        "HEAD /page HTTP/1.0\r\n\r\n".to_string(),
        "GET /long HTTP/1.1\r\nHost: fuzz\r\n\r\n".to_string(),
        "GET /fib?num=40&num=41 HTTP/1.1\r\nHost: fuzz\r\n\r\n".to_string(),
        "GET /fib-blocking?num=20 HTTP/1.1\r\nHost: fuzz\r\n\r\n".to_string(),
        format!(
            "GET /fetch?url={} HTTP/1.1\r\nHost: fuzz\r\n\r\n",
            origin.url("/bytes/3000")
        ),
        "POST /form HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 17\r\n\r\nname=a%20b&x=%ZZ+".to_string(),
        "POST /form HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nname=\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\n".to_string(),
        "POST /form HTTP/1.1\r\nHost: fuzz\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nname".to_string(),
        "PUT /page HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 0\r\n\r\n".to_string(),
        "GET http://fuzz/page?x=%2F..%2F HTTP/1.1\r\nHost: fuzz\r\n\r\n".to_string(),
        "GET /%00/../..%2f HTTP/1.1\r\nHost: fuzz\r\n\r\n".to_string(),
        "OPTIONS * HTTP/1.1\r\nHost: fuzz\r\n\r\n".to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    let probe = http_probe(
        "GET /page HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n".into(),
        "HTTP/1.1 200 OK\r\n",
        "<p>A PAGE</p>",
    );
    // Warm the thread pool and the fetching client before the count of
    // descriptors (the pool's waker is one, for good).
    for path in ["/fib?num=10", &format!("/fetch?url={}", origin.url("/hello"))] {
        let warm = http_probe(
            format!("GET {path} HTTP/1.1\r\nHost: warm\r\nConnection: close\r\n\r\n"),
            "HTTP/1.1 200 OK\r\n",
            "",
        );
        prove(&warm, addr, "warming up");
    }
    fuzz(
        &server,
        "torsion-web-demo",
        vec![(addr, corpus, probe)],
        hostile::seed(2028),
    );
}

#[test]
fn torsion_proxy_survives_random_and_mutated_requests_on_both_ports() {
    let origin = torsion_tests::Origin::start();
    let server = Server::start(
        "torsion-proxy",
        &[
            "-p",
            "0",
            "--http-port",
            "0",
            "--cache",
            "memory",
            "--idle-timeout",
            "2",
            "--timeout",
            "5",
            "--connect-timeout",
            "2",
        ],
    );
    let line = server.socket_addr();
    let http: SocketAddr = {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let out = String::from_utf8_lossy(&server.stdout()).into_owned();
            if let Some(a) = out
                .lines()
                .find_map(|l| l.strip_prefix("torsion-proxy http listening on "))
            {
                break a.trim().parse().unwrap();
            }
            assert!(Instant::now() < deadline, "no http address");
            thread::sleep(Duration::from_millis(10));
        }
    };
    // Every URL stays on this machine: the origin, its echo port, or a
    // closed port; garbage whose hosts mutated away from 127.x.x.x is
    // drawn again (`stays_local`).
    let base = origin.url("");
    let line_corpus: Vec<Vec<u8>> = [
        format!("{base}/hello\r\n"),
        format!("{base}/bytes/5000\n"),
        format!("{base}/redirect/3\r\n"),
        format!("{base}/status/500\r\n"),
        format!("{base}/reset\r\n"),
        format!("{base}/delay/0.1?a=b#frag\r\n"),
        "http://127.0.0.1:1/\r\n".to_string(),
        "https://127.0.0.1:1/\r\n".to_string(),
        "gopher://x\r\n".to_string(),
        "\r\n".to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    let echo = origin.echo_addr();
    let http_corpus: Vec<Vec<u8>> = [
        format!("GET {base}/hello HTTP/1.1\r\nHost: x\r\n\r\n"),
        format!("HEAD {base}/bytes/100 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, x-drop\r\nX-Drop: 1\r\n\r\n"),
        format!("GET {base}/echo-headers HTTP/1.0\r\nProxy-Authorization: x\r\nVia: 1.0 other\r\n\r\n"),
        format!("GET {base}/redirect/1 HTTP/1.1\r\nHost: x\r\n\r\n"),
        format!("CONNECT {echo} HTTP/1.1\r\nHost: x\r\n\r\nbytes for the echo"),
        "CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n".to_string(),
        "CONNECT [::1 HTTP/1.1\r\n\r\n".to_string(),
        "GET /relative HTTP/1.1\r\nHost: x\r\n\r\n".to_string(),
        format!("POST {base}/hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
        "DELETE http://127.0.0.1:1/ HTTP/1.1\r\n\r\n".to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    let line_probe = exchange(format!("{base}/hello\r\n").as_bytes(), b"hello\n");
    let http_probe = http_probe(
        format!("GET {base}/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        "HTTP/1.1 200 ",
        "hello\n",
    );
    // A host name to resolve starts the reactor's thread pool (its waker
    // is a descriptor for good), as a mutated URL may.
    let resolved = exchange(
        format!("http://localhost:{}/hello\r\n", origin.addr().port()).as_bytes(),
        b"hello\n",
    );
    prove(&resolved, line, "warming up");
    fuzz(
        &server,
        "torsion-proxy",
        vec![(line, line_corpus, line_probe), (http, http_corpus, http_probe)],
        hostile::seed(2029),
    );
}

/// A PB call of the root's `method` with `args` (as Twisted's client writes it).
fn pb_call(request: i64, method: &str, args: Vec<torsion_protocols::jelly::Value>) -> Vec<u8> {
    use torsion_protocols::banana::{encoded, Dialect};
    use torsion_protocols::jelly::{jelly, ObjectId, Value};
    use torsion_protocols::pb::{Call, Message};
    let (args, kwargs) = (Value::Tuple(args), Value::Dict(vec![]));
    let call = Message::Call(Call {
        cached: false,
        request,
        object: ObjectId::root(),
        method: method.into(),
        answer_required: true,
        args: jelly(&args),
        kwargs: jelly(&kwargs),
    });
    encoded(&call.to_item(), Dialect::Pb).expect("a small call")
}

#[test]
fn torsion_kv_survives_random_and_mutated_messages_on_its_pb_port() {
    use torsion_protocols::jelly::Value;
    let server = Server::start(
        "torsion-kv",
        &[
            "-p",
            "0",
            "--amp-port",
            "0",
            "--pb-port",
            "0",
            "--max-keys",
            "1000",
        ],
    );
    let pb: SocketAddr = server.announced("torsion-kv pb").parse().unwrap();
    // Twisted's client: its pick of the dialect, then its version.
    let hello = b"\x02\x82pb\x02\x80\x13\x87\x06\x81".to_vec();
    let bytes = |b: &[u8]| Value::Bytes(b.to_vec());
    let corpus = vec![
        [
            hello.clone(),
            pb_call(1, "set", vec![Value::from("k"), Value::from("v")]),
        ]
        .concat(),
        [hello.clone(), pb_call(1, "get", vec![bytes(b"k")])].concat(),
        [hello.clone(), pb_call(7, "delete", vec![Value::Int(3)])].concat(),
        [
            hello.clone(),
            pb_call(2, "frob", vec![Value::List(vec![Value::None; 3])]),
        ]
        .concat(),
        hello.clone(),
        b"\x04\x82none\x02\x80\x07\x82version\x06\x81".to_vec(),
    ];
    // On a fresh connection: the server's offer and version, then the answers.
    let request = [
        hello,
        pb_call(1, "set", vec![bytes(b"fuzz-probe"), bytes(b"fine")]),
        pb_call(2, "get", vec![bytes(b"fuzz-probe")]),
    ]
    .concat();
    let reply = b"\x02\x80\x02\x82pb\x04\x82none\x02\x80\x13\x87\x06\x81\
\x03\x80\x1b\x87\x01\x81\x0a\x82fuzz-probe\x03\x80\x1b\x87\x02\x81\x04\x82fine";
    let probe = exchange(&request, reply);
    fuzz(
        &server,
        "torsion-kv (PB)",
        vec![(pb, corpus, probe)],
        hostile::seed(2030),
    );
}
