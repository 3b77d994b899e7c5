//! Protocol-level fuzzing of live servers (issue 11, "Hardening" 2): seeded
//! random bytes, and valid requests mutated at random, thrown at a running
//! torsion-memcached and torsion-kv (both ports) over hundreds of
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

/// Throws `garbage` at `addr` on one connection, reading what comes back,
/// and ends the connection at random.
fn throw(addr: SocketAddr, rng: &mut Rng, corpus: &[Vec<u8>]) {
    let Ok(mut stream) = hostile::connect(addr) else {
        panic!("connect to {addr} failed: is the server still up?");
    };
    let _ = stream.set_write_timeout(Some(Duration::from_millis(500)));
    let _ = stream.set_read_timeout(Some(Duration::from_millis(5)));
    let bytes = garbage(rng, corpus);
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
