//! Hostile clients, shared by the hardening tests (`hostile.rs`,
//! `faults.rs`, `fuzz_live.rs`): each takes the address to attack and a
//! [`Probe`], a "prove it still works" check run on a fresh connection, so
//! that a new server (the web server, the proxy) is a few lines more.
//!
//! Every loop here is bounded in count and in time, and every client talks
//! to 127.0.0.1 only.
#![allow(dead_code)] // each test file uses the part it needs

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use torsion_tests::{Server, TIMEOUT};

/// A check that the server still answers correctly, on a fresh connection:
/// `Err` says what went wrong.
pub type Probe = Arc<dyn Fn(SocketAddr) -> Result<(), String> + Send + Sync>;

/// A probe that sends `request` and expects exactly `reply`.
pub fn exchange(request: &[u8], reply: &[u8]) -> Probe {
    let (request, reply) = (request.to_vec(), reply.to_vec());
    Arc::new(move |addr| {
        let mut stream = connect(addr).map_err(|e| format!("connect: {e}"))?;
        stream.write_all(&request).map_err(|e| format!("write: {e}"))?;
        let mut got = vec![0; reply.len()];
        stream
            .read_exact(&mut got)
            .map_err(|e| format!("reading the reply to {:?}: {e}", lossy(&request)))?;
        if got == reply {
            Ok(())
        } else {
            Err(format!(
                "{:?} answered {:?}, expected {:?}",
                lossy(&request),
                lossy(&got),
                lossy(&reply)
            ))
        }
    })
}

/// A probe for an HTTP server: sends `request` (which should say
/// `Connection: close`), reads to the end, and expects the response to
/// start with `status_line` and its body to contain `body`.
pub fn http_probe(request: &[u8], status_line: &str, body: &str) -> Probe {
    let (request, status_line, body) = (request.to_vec(), status_line.to_string(), body.to_string());
    Arc::new(move |addr| {
        let mut stream = connect(addr).map_err(|e| format!("connect: {e}"))?;
        stream.write_all(&request).map_err(|e| format!("write: {e}"))?;
        let mut got = Vec::new();
        stream
            .read_to_end(&mut got)
            .map_err(|e| format!("reading the reply to {:?}: {e}", lossy(&request)))?;
        let text = lossy(&got);
        let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        if head.starts_with(&status_line) && rest.contains(&body) {
            Ok(())
        } else {
            Err(format!(
                "{:?} answered {:?}, expected {status_line:?} and {body:?}",
                lossy(&request),
                &text[..text.len().min(300)]
            ))
        }
    })
}

/// Reads one HTTP/1.x response framed by Content-Length (or by the close)
/// from `stream`: its head and body, exactly, nothing after them. The
/// response to a HEAD (`head_only`) has no body.
pub fn read_response(stream: &mut TcpStream, head_only: bool) -> std::io::Result<(String, Vec<u8>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let head = lossy(&head);
    let length = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())
            .flatten()
    });
    let mut body = Vec::new();
    match length {
        _ if head_only => {}
        Some(n) => {
            body.resize(n, 0);
            stream.read_exact(&mut body)?;
        }
        None => {
            stream.read_to_end(&mut body)?;
        }
    }
    Ok((head, body))
}

/// Masks the value of every `Date:` header in `bytes` (HTTP dates all have
/// the same length), so that responses can be compared byte for byte.
pub fn mask_dates(bytes: &mut [u8]) {
    let mut at = 0;
    while let Some(i) = bytes[at..].windows(8).position(|w| w == b"\r\nDate: ") {
        let start = at + i + 8;
        let end = bytes[start..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(bytes.len(), |e| start + e);
        bytes[start..end].fill(b'x');
        at = end;
    }
}

/// Runs `probe` against `addr` and fails the test with `context` if it fails.
pub fn prove(probe: &Probe, addr: SocketAddr, context: &str) {
    if let Err(e) = probe(addr) {
        panic!("{context}: the server no longer answers correctly: {e}");
    }
}

pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Connects with read and write timeouts of [`TIMEOUT`].
pub fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    Ok(stream)
}

/// Resident memory of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc status")
}

/// What process `pid` has open: each descriptor and what it points to,
/// and its TCP sockets' states (for a leak's report).
pub fn describe_fds(pid: u32) -> String {
    let mut out = String::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for entry in dir.flatten() {
            let target = std::fs::read_link(entry.path()).map(|p| p.display().to_string());
            out.push_str(&format!(
                "{}->{} ",
                entry.file_name().to_string_lossy(),
                target.unwrap_or_default()
            ));
        }
    }
    if let Ok(tcp) = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")) {
        out.push('\n');
        out.push_str(&tcp);
    }
    out
}

// The seeded generator lives in the library (the differential test uses it too).
#[allow(unused_imports)] // each test file uses the part it needs
pub use torsion_tests::rng::{seed, Rng};

/// Waits until `stream` is closed by the server (end-of-file or a reset),
/// discarding what it sends, and returns how long that took; `None` if it
/// is still open after `limit`.
pub fn wait_closed(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("set_read_timeout");
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return Some(start.elapsed()), // reset: closed too
        }
    }
    None
}

// ----- a client that never reads ------------------------------------------------

/// What [`never_reads`] saw.
pub struct Greedy {
    /// The connection, still open and still unread (drop it to let go).
    pub stream: TcpStream,
    /// Request bytes the server took before it stopped reading.
    pub sent: usize,
    /// How much the server's RSS grew meanwhile, in KiB.
    pub grown_kib: u64,
}

/// Sends `request` over and over on one connection without ever reading a
/// reply, until the server stops reading (our writes block for a while) or
/// `max_bytes` are sent. Then checks that `probe` still works on another
/// connection and that the server's RSS grew by less than `bound_kib`.
pub fn never_reads(
    server: &Server,
    addr: SocketAddr,
    request: &[u8],
    max_bytes: usize,
    bound_kib: u64,
    probe: &Probe,
) -> Greedy {
    let baseline = rss_kib(server.pid());
    let mut stream = connect(addr).expect("connect");
    stream
        .set_write_timeout(Some(Duration::from_millis(500)))
        .expect("set_write_timeout");
    let batch = request.repeat((64 * 1024 / request.len().max(1)).max(1));
    let mut sent = 0;
    while sent < max_bytes {
        match stream.write(&batch) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("the server closed a client that only sent requests: {e}"),
        }
    }
    // Let the server do whatever it does with what it read.
    thread::sleep(Duration::from_millis(300));
    prove(probe, addr, "while a client never reads");
    let grown_kib = rss_kib(server.pid()).saturating_sub(baseline);
    assert!(
        grown_kib < bound_kib,
        "RSS grew by {grown_kib} KiB (bound {bound_kib}) for a client that never reads ({sent} bytes of requests taken)"
    );
    Greedy {
        stream,
        sent,
        grown_kib,
    }
}

// ----- slowloris ------------------------------------------------------------------

/// Opens a connection and sends `trickle` one byte every `every`, never
/// finishing a request; returns how long until the server closed it.
/// Fails the test if it is still open after `limit`.
pub fn slowloris(addr: SocketAddr, trickle: &[u8], every: Duration, limit: Duration) -> Duration {
    slowloris_on(connect(addr).expect("connect"), trickle, every, limit)
}

/// [`slowloris`] on a connection already open (a request's head sent, say).
pub fn slowloris_on(mut stream: TcpStream, trickle: &[u8], every: Duration, limit: Duration) -> Duration {
    stream
        .set_read_timeout(Some(Duration::from_millis(1)))
        .expect("set_read_timeout");
    let start = Instant::now();
    let mut buf = [0u8; 256];
    for byte in trickle.iter().cycle() {
        if start.elapsed() > limit {
            panic!("a slowloris trickling one byte every {every:?} was still served after {limit:?}");
        }
        if stream.write_all(&[*byte]).is_err() {
            return start.elapsed();
        }
        let next = Instant::now() + every;
        while Instant::now() < next {
            match stream.read(&mut buf) {
                Ok(0) => return start.elapsed(),
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    thread::sleep(Duration::from_millis(10))
                }
                Err(_) => return start.elapsed(),
            }
        }
    }
    unreachable!("cycle() never ends")
}

/// Opens a connection and sends nothing; returns how long until the server
/// closed it. Fails the test if it is still open after `limit`.
pub fn silent(addr: SocketAddr, limit: Duration) -> Duration {
    let mut stream = connect(addr).expect("connect");
    wait_closed(&mut stream, limit)
        .unwrap_or_else(|| panic!("a connection that sent nothing was still open after {limit:?}"))
}

/// Sends one whole request (`request`, answered by `reply`) every `every`
/// for `total`, on one connection: an active client, which idle timeouts
/// must leave alone.
pub fn patient(addr: SocketAddr, request: &[u8], reply: &[u8], every: Duration, total: Duration) {
    let mut stream = connect(addr).expect("connect");
    let start = Instant::now();
    while start.elapsed() < total {
        stream
            .write_all(request)
            .unwrap_or_else(|e| panic!("an active client was cut off after {:?}: {e}", start.elapsed()));
        let mut got = vec![0; reply.len()];
        stream
            .read_exact(&mut got)
            .unwrap_or_else(|e| panic!("an active client was cut off after {:?}: {e}", start.elapsed()));
        assert_eq!(lossy(&got), lossy(reply));
        thread::sleep(every);
    }
}

// ----- connections dropped at random ----------------------------------------------

/// How a churned connection ends.
#[derive(Clone, Copy, Debug)]
enum Ending {
    /// Close mid-request (FIN with part of a request sent).
    MidRequest,
    /// Send whole requests, wait for part of the replies, close with them
    /// unread (the kernel sends RST).
    UnreadReplies,
    /// Half-close our side after part of a request, then drop.
    HalfClose,
    /// Abort at once with SO_LINGER 0 (RST), mid-request.
    Reset,
    /// Connect and close without a byte.
    Empty,
}

const ENDINGS: [Ending; 5] = [
    Ending::MidRequest,
    Ending::UnreadReplies,
    Ending::HalfClose,
    Ending::Reset,
    Ending::Empty,
];

/// What [`churn`] measured.
#[derive(Debug)]
pub struct Churned {
    pub connections: usize,
    pub fds_before: usize,
    pub fds_after: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub took: Duration,
}

/// Opens `connections` connections to `addr` over about `duration`, from
/// `threads` threads, each sending a random cut of `requests` (pipelined
/// whole requests and one cut mid-command) and ending at random: FIN, RST,
/// half-close, replies left unread. Then waits (at most [`TIMEOUT`]) for
/// the server's descriptor count to come back to where it started,
/// checks RSS grew by less than `bound_kib`, and runs `probe`.
#[allow(clippy::too_many_arguments)]
pub fn churn(
    server: &Server,
    addr: SocketAddr,
    requests: &[&[u8]],
    connections: usize,
    threads: usize,
    duration: Duration,
    bound_kib: u64,
    probe: &Probe,
    seed: u64,
) -> Churned {
    // Warm up (allocator arenas, buffers, the store's first items) before
    // the baseline.
    for _ in 0..20 {
        prove(probe, addr, "warming up");
    }
    thread::sleep(Duration::from_millis(200));
    let fds_before = server.open_fds();
    let rss_before_kib = rss_kib(server.pid());
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(requests.iter().map(|r| r.to_vec()).collect());
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let per_thread = connections.div_ceil(threads);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (requests, done) = (requests.clone(), done.clone());
            let count = per_thread.min(connections.saturating_sub(t * per_thread));
            thread::spawn(move || {
                let mut rng = Rng::new(seed ^ (t as u64).wrapping_mul(0x1234_5678_9abc_def1));
                for i in 0..count {
                    // Spread the connections over the duration.
                    let due = start + duration.mul_f64(i as f64 / count.max(1) as f64);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        thread::sleep(wait);
                    }
                    one_churned_connection(addr, &requests, &mut rng);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a churn thread failed");
    }
    let took = start.elapsed();
    assert_eq!(done.load(Ordering::Relaxed), connections);
    // Closed connections linger up to 2 s (docs/reactor.md): wait for them.
    let deadline = Instant::now() + TIMEOUT;
    let mut fds_after = server.open_fds();
    while fds_after > fds_before && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
        fds_after = server.open_fds();
    }
    assert!(
        fds_after <= fds_before,
        "descriptor leak: {fds_before} open before {connections} churned connections, {fds_after} after (seed {seed}): {}",
        describe_fds(server.pid())
    );
    prove(probe, addr, "after the churn");
    let rss_after_kib = rss_kib(server.pid());
    assert!(
        rss_after_kib.saturating_sub(rss_before_kib) < bound_kib,
        "RSS grew from {rss_before_kib} KiB to {rss_after_kib} KiB over {connections} churned connections (bound {bound_kib} KiB, seed {seed})"
    );
    Churned {
        connections,
        fds_before,
        fds_after,
        rss_before_kib,
        rss_after_kib,
        took,
    }
}

fn one_churned_connection(addr: SocketAddr, requests: &[Vec<u8>], rng: &mut Rng) {
    let mut stream = match TcpStream::connect_timeout(&addr, TIMEOUT) {
        Ok(s) => s,
        Err(e) => panic!("connect failed during the churn: {e}"),
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    // A few whole requests, then one cut at a random byte.
    let mut bytes = Vec::new();
    for _ in 0..rng.below(4) {
        bytes.extend_from_slice(&requests[rng.below(requests.len())]);
    }
    let cut = &requests[rng.below(requests.len())];
    bytes.extend_from_slice(&cut[..rng.below(cut.len().max(1))]);
    match ENDINGS[rng.below(ENDINGS.len())] {
        Ending::Empty => {}
        Ending::MidRequest => {
            let _ = stream.write_all(&bytes);
            if rng.below(2) == 0 {
                thread::sleep(Duration::from_millis(rng.below(5) as u64));
            }
        }
        Ending::UnreadReplies => {
            let _ = stream.write_all(&bytes);
            let mut one = [0u8; 1];
            let _ = stream.read(&mut one); // at least part of a reply is there
        }
        Ending::HalfClose => {
            let _ = stream.write_all(&bytes);
            let _ = stream.shutdown(Shutdown::Write);
            let mut sink = [0u8; 1024];
            let _ = stream.read(&mut sink);
        }
        Ending::Reset => {
            let _ = stream.write_all(&bytes);
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
        }
    }
    drop(stream);
}

// ----- a flood of pipelined requests ----------------------------------------------

/// Sends `requests` (each answered by the matching entry of `replies`)
/// pipelined on one connection, `rounds` times over, from one thread while
/// another reads, and checks every reply arrives, in order, byte for byte.
/// Returns the number of rounds answered.
pub fn pipeline_flood(addr: SocketAddr, requests: &[u8], replies: &[u8], rounds: usize) -> usize {
    pipeline_flood_masked(addr, requests, replies, rounds, |_| {})
}

/// [`pipeline_flood`], comparing replies after `mask` (e.g. [`mask_dates`])
/// has blanked what changes from one reply to the next.
pub fn pipeline_flood_masked(
    addr: SocketAddr,
    requests: &[u8],
    replies: &[u8],
    rounds: usize,
    mask: fn(&mut [u8]),
) -> usize {
    let stream = connect(addr).expect("connect");
    let mut writer = stream.try_clone().expect("clone the stream");
    let (requests, mut expected) = (requests.to_vec(), replies.to_vec());
    mask(&mut expected);
    let sender = thread::spawn(move || {
        for _ in 0..rounds {
            writer.write_all(&requests).expect("write a pipelined batch");
        }
    });
    let mut reader = stream;
    let mut got = vec![0u8; expected.len()];
    for round in 0..rounds {
        reader
            .read_exact(&mut got)
            .unwrap_or_else(|e| panic!("round {round} of the pipelined flood: {e}"));
        mask(&mut got);
        if got != expected {
            let at = got.iter().zip(&expected).position(|(a, b)| a != b).unwrap_or(0);
            let from = at.saturating_sub(40);
            panic!(
                "round {round}: replies differ at byte {at}: got {:?}, expected {:?}",
                lossy(&got[from..(at + 40).min(got.len())]),
                lossy(&expected[from..(at + 40).min(expected.len())])
            );
        }
    }
    sender.join().expect("the flood's writer failed");
    rounds
}

// ----- out of descriptors ----------------------------------------------------------

/// Against a server limited to `limit` descriptors: one client connects,
/// then `limit + 40` more, so that accept fails with EMFILE and the kernel
/// queues the rest. The server must not spin (little CPU over a second),
/// must go on serving the first client, and once the first half of the
/// others leave, must serve every one left, most of which it had not been
/// able to accept. `request` is answered by `reply` on every connection.
pub fn out_of_descriptors(server: &Server, addr: SocketAddr, request: &[u8], reply: &[u8], limit: usize) {
    let ask = |c: &mut TcpStream, who: &str| {
        c.write_all(request).unwrap_or_else(|e| panic!("{who}: {e}"));
        let mut got = vec![0; reply.len()];
        c.read_exact(&mut got).unwrap_or_else(|e| panic!("{who}: {e}"));
        assert_eq!(lossy(&got), lossy(reply), "{who}");
    };
    let mut first = connect(addr).expect("connect");
    ask(&mut first, "the first client");
    let mut clients: Vec<_> = (0..limit + 40).map(|_| connect(addr).expect("connect")).collect();
    thread::sleep(Duration::from_millis(300));
    // (The count read from /proc may include a descriptor mid-close.)
    assert!(
        server.open_fds() <= limit + 2,
        "{} descriptors open",
        server.open_fds()
    );
    let cpu = server.cpu_time();
    thread::sleep(Duration::from_secs(1));
    let spent = server.cpu_time().saturating_sub(cpu);
    assert!(
        spent < Duration::from_millis(300),
        "{spent:?} of CPU in 1 s while out of descriptors"
    );
    ask(&mut first, "the first client, out of descriptors");
    let half = clients.len() / 2;
    clients.drain(..half);
    for (i, c) in clients.iter_mut().enumerate() {
        ask(c, &format!("waiting client {i}"));
    }
}

// ----- SIGTERM under load ---------------------------------------------------------

/// A batch of requests and the replies that answer them, one by one: the
/// boundaries tell a clean stop (whole replies) from a cut one.
#[derive(Clone)]
pub struct Batch {
    pub requests: Vec<u8>,
    pub replies: Vec<Vec<u8>>,
}

/// What [`load_then_signal`] saw.
#[derive(Debug, Default)]
pub struct Stopped {
    /// Batches answered whole before the stop, over all clients.
    pub batches: usize,
    /// Clients whose last batch got only some of its replies (whole ones).
    pub cut_between_replies: usize,
    /// Clients that saw a reset rather than end-of-file.
    pub resets: usize,
}

/// `clients` clients each send `batch` and read its replies, over and
/// over, as fast as they can; once every client has been answered
/// `warmup` times, `stop` is called (it signals the server). Then every
/// client must see its replies and a clean end: whatever arrived is a
/// prefix of the expected replies that ends between two replies, never in
/// the middle of one. Returns what happened.
pub fn load_then_signal(
    addr: SocketAddr,
    batch: &Batch,
    clients: usize,
    warmup: usize,
    stop: impl FnOnce(),
) -> Stopped {
    let answered = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (batch, answered) = (batch.clone(), answered.clone());
            thread::spawn(move || client_until_stopped(addr, &batch, &answered))
        })
        .collect();
    let deadline = Instant::now() + TIMEOUT;
    while answered.load(Ordering::Relaxed) < clients * warmup {
        assert!(Instant::now() < deadline, "the load never got going");
        thread::sleep(Duration::from_millis(5));
    }
    stop();
    let mut stopped = Stopped::default();
    for worker in workers {
        let (batches, cut, reset) = worker.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        stopped.batches += batches;
        stopped.cut_between_replies += usize::from(cut);
        stopped.resets += usize::from(reset);
    }
    stopped
}

/// One client of [`load_then_signal`]: (batches answered, last batch cut
/// between replies, ended by a reset).
fn client_until_stopped(addr: SocketAddr, batch: &Batch, answered: &AtomicUsize) -> (usize, bool, bool) {
    let mut stream = connect(addr).expect("connect");
    let expected: Vec<u8> = batch.replies.concat();
    let mut boundaries = vec![0];
    for reply in &batch.replies {
        boundaries.push(boundaries.last().copied().unwrap_or(0) + reply.len());
    }
    let mut batches = 0;
    loop {
        // The server may close while we write: that is a clean stop too,
        // as long as what we read next is whole replies.
        let wrote = stream.write_all(&batch.requests);
        let mut got = Vec::with_capacity(expected.len());
        let mut buf = [0u8; 16 * 1024];
        let mut reset = false;
        while got.len() < expected.len() {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    panic!("no reply and no close within {TIMEOUT:?} (wrote: {wrote:?})")
                }
                Err(_) => {
                    reset = true;
                    break;
                }
            }
        }
        assert!(
            expected.starts_with(&got),
            "a reply went wrong: got {:?}",
            lossy(&got[..got.len().min(200)])
        );
        if got.len() == expected.len() && wrote.is_ok() {
            batches += 1;
            answered.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        assert!(
            boundaries.contains(&got.len()),
            "the server stopped in the middle of a reply: {} bytes of {} ({:?})",
            got.len(),
            expected.len(),
            lossy(&got[got.len().saturating_sub(60)..])
        );
        if got.len() == expected.len() {
            batches += 1;
        }
        // After the replies, the end: end-of-file (or a reset).
        let mut rest = Vec::new();
        let reset = reset || stream.read_to_end(&mut rest).is_err();
        assert!(rest.is_empty(), "bytes after the stop: {:?}", lossy(&rest));
        return (batches, got.len() < expected.len(), reset);
    }
}
