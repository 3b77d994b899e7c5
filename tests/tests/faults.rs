//! Faults (issue 11, "Hardening" 3): the disk full when torsion-fib saves
//! (the old state file survives, and saving resumes once there is room),
//! and SIGTERM during heavy load on torsion-memcached (every client gets
//! whole replies then a clean close; the process exits 0).
//!
//! torsion-proxy's faults: its memcached killed and restarted (pages
//! served uncached, said once, cached again once it is back), origins
//! resetting before the head and mid-body (an error line, a 502, or a cut
//! connection; the proxy goes on), and SIGTERM under load on both ports.
//! See docs/hardening.md.

#[path = "hostile/mod.rs"]
mod hostile;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use hostile::Batch;
use torsion_tests::{read_line, send, Server, TIMEOUT};

// ----- the disk full when torsion-fib saves ---------------------------------------

/// A small tmpfs mounted for one test, unmounted (and removed) when dropped.
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `kib` KiB; `Err` says why it cannot be done here.
    fn mount(name: &str, kib: usize) -> Result<SmallDisk, String> {
        let dir = std::env::temp_dir().join(format!("torsion-disk-{}-{name}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k,mode=0700"), "tmpfs"])
            .arg(&dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !output.status.success() {
            let _ = fs::remove_dir(&dir);
            return Err(format!(
                "mount -t tmpfs failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(SmallDisk { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes a filler file until the disk is full; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.path("filler");
        let mut file = fs::File::create(&path).expect("create the filler");
        let chunk = [0u8; 4096];
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "filling the disk: {e}");
                    break;
                }
            }
        }
        // A tmpfs gives out whole pages: prove no new file can get a byte.
        let probe = self.path("probe");
        let full = fs::write(&probe, b"x").is_err();
        let _ = fs::remove_file(&probe);
        assert!(full, "the disk is not full after the filler");
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn next(client: &mut std::net::TcpStream) -> String {
    send(client, b"next\r\n");
    read_line(client).trim_end().to_string()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_full_disk_keeps_the_old_fib_state_and_saving_resumes_when_there_is_room() {
    let disk = match SmallDisk::mount("fib", 256) {
        Ok(disk) => disk,
        Err(why) => {
            // Mounting needs root (CAP_SYS_ADMIN); CI and the developer
            // machines run as root, so this only skips elsewhere.
            eprintln!("SKIPPED a_full_disk_keeps_the_old_fib_state: cannot mount a small tmpfs here: {why}");
            return;
        }
    };
    let state = disk.path("fib.state");
    let mut server = Server::start(
        "torsion-fib",
        &[
            "-p",
            "0",
            "--state",
            state.to_str().unwrap(),
            "--save-interval",
            "0.05",
        ],
    );
    let mut client = server.connect();
    for _ in 0..10 {
        next(&mut client);
    }
    // The periodic save catches up: 89, 144 (the 10th number served).
    let saved = "torsion-fib state 1\n89\n144\n";
    let deadline = Instant::now() + TIMEOUT;
    while fs::read_to_string(&state).unwrap_or_default() != saved {
        assert!(Instant::now() < deadline, "the state was never saved");
        thread::sleep(Duration::from_millis(10));
    }

    // The disk fills up; numbers go on being served, saves fail.
    let filler = disk.fill();
    let during: Vec<String> = (0..20).map(|_| next(&mut client)).collect();
    assert_eq!(during.first().map(String::as_str), Some("233"));
    let deadline = Instant::now() + TIMEOUT;
    while !server.stderr().contains("No space left on device") {
        assert!(
            Instant::now() < deadline,
            "no failed save was reported: {}",
            server.stderr()
        );
        thread::sleep(Duration::from_millis(10));
    }
    // The old state survives, whole, and no temporary file is left behind.
    assert_eq!(fs::read_to_string(&state).unwrap(), saved);
    assert_eq!(files_in(&disk.dir), ["fib.state", "filler"]);

    // Room again: the next periodic save succeeds.
    fs::remove_file(&filler).unwrap();
    let last = during.last().unwrap().clone();
    let deadline = Instant::now() + TIMEOUT;
    while !fs::read_to_string(&state)
        .unwrap_or_default()
        .ends_with(&format!("\n{last}\n"))
    {
        assert!(
            Instant::now() < deadline,
            "saving did not resume once there was room"
        );
        thread::sleep(Duration::from_millis(10));
    }

    // Full again at shutdown: the final save fails, says so, exits non-zero,
    // and the state on disk is the last one saved.
    let filler = disk.fill();
    let more: Vec<String> = (0..5).map(|_| next(&mut client)).collect();
    let on_disk = fs::read_to_string(&state).unwrap();
    server.signal(libc::SIGTERM);
    let status = server.wait();
    let stderr = server.stderr();
    assert_eq!(
        status.code(),
        Some(1),
        "a lost final save must not exit 0: {stderr}"
    );
    assert!(stderr.contains(state.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert_eq!(fs::read_to_string(&state).unwrap(), on_disk);
    assert_eq!(files_in(&disk.dir), ["fib.state", "filler"]);
    drop(server);

    // A restart continues from the surviving state (the numbers served
    // after it are served again: the price of a disk that was full).
    fs::remove_file(&filler).unwrap();
    let server = Server::start("torsion-fib", &["-p", "0", "--state", state.to_str().unwrap()]);
    let mut client = server.connect();
    let again = next(&mut client);
    assert!(
        again == more[0] || during.contains(&again) || more.contains(&again),
        "restarted at {again}"
    );
}

// ----- SIGTERM under load ----------------------------------------------------------

fn memcached_batch(client_key: &str) -> Batch {
    let mut batch = Batch {
        requests: Vec::new(),
        replies: Vec::new(),
    };
    for i in 0..50 {
        let value = format!("{client_key}-value-{i}-{}", "x".repeat(i * 20));
        batch
            .requests
            .extend_from_slice(format!("set {client_key}{i} 0 0 {}\r\n{value}\r\n", value.len()).as_bytes());
        batch.replies.push(b"STORED\r\n".to_vec());
        batch
            .requests
            .extend_from_slice(format!("get {client_key}{i}\r\n").as_bytes());
        batch
            .replies
            .push(format!("VALUE {client_key}{i} 0 {}\r\n{value}\r\nEND\r\n", value.len()).into_bytes());
    }
    batch
}

#[test]
fn sigterm_during_heavy_load_gives_every_client_whole_replies_then_a_clean_close() {
    let mut server = Server::start("torsion-memcached", &["-p", "0"]);
    let addr = server.socket_addr();
    let batch = memcached_batch("load");
    let started = Instant::now();
    let stopped = hostile::load_then_signal(addr, &batch, 32, 5, || server.signal(libc::SIGTERM));
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", server.stderr());
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
    eprintln!("SIGTERM under load: {stopped:?}, {:?} in all", started.elapsed());
    assert!(stopped.batches >= 32 * 5);
    // End-of-file, never a reset that could destroy replies not read yet.
    assert_eq!(stopped.resets, 0, "{stopped:?}");
    // Nobody can connect any more.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn sigterm_delivers_every_written_reply_to_a_client_still_sending() {
    // A client that is slow to read and still sending when the server stops:
    // its replies are written out and the connection ends with end-of-file,
    // not a reset that would destroy the replies not read yet.
    let mut server = Server::start("torsion-memcached", &["-p", "0"]);
    let addr = server.socket_addr();
    let mut c = hostile::connect(addr).unwrap();
    let value = vec![b'v'; 500_000];
    let mut set = b"set big 0 0 500000\r\n".to_vec();
    set.extend_from_slice(&value);
    set.extend_from_slice(b"\r\n");
    send(&mut c, &set);
    assert_eq!(read_line(&mut c), "STORED\r\n");
    // 5 MB of replies asked for, none read yet: most wait in the server.
    send(&mut c, &b"get big\r\n".repeat(10));
    thread::sleep(Duration::from_millis(200));
    server.signal(libc::SIGTERM);
    thread::sleep(Duration::from_millis(200));
    // More requests, which the stopping server no longer reads.
    send(&mut c, &b"get big\r\n".repeat(100));
    thread::sleep(Duration::from_millis(200));
    let mut got = Vec::new();
    let end = std::io::Read::read_to_end(&mut c, &mut got);
    let reply = b"VALUE big 0 500000\r\n".len() + 500_000 + 2 + b"END\r\n".len();
    assert!(
        end.is_ok(),
        "the connection was reset after {} bytes ({} whole replies): {end:?}",
        got.len(),
        got.len() / reply
    );
    assert!(
        got.len() >= reply && got.len() % reply == 0,
        "{} bytes",
        got.len()
    );
    assert_eq!(server.wait().code(), Some(0));
}

#[test]
fn a_pipeline_ended_by_end_of_file_is_answered_whole() {
    // `printf 'get big\r\n...' | nc`: requests, then FIN at once. Every
    // request is answered before the close, however many replies the
    // output budget splits them into.
    let server = Server::start("torsion-memcached", &["-p", "0"]);
    let mut c = server.connect();
    let mut set = b"set big 0 0 100000\r\n".to_vec();
    set.extend(vec![b'v'; 100_000]);
    set.extend_from_slice(b"\r\n");
    send(&mut c, &set);
    assert_eq!(read_line(&mut c), "STORED\r\n");
    send(&mut c, &b"get big\r\n".repeat(50));
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let got = torsion_tests::read_all(&mut c);
    let reply = b"VALUE big 0 100000\r\n".len() + 100_000 + 2 + b"END\r\n".len();
    assert_eq!(got.len(), 50 * reply, "{} whole replies of 50", got.len() / reply);
}

// ----- torsion-proxy ----------------------------------------------------------------

/// torsion-proxy with its forward port: (server, line address, http address).
fn proxy(extra: &[&str]) -> (Server, std::net::SocketAddr, std::net::SocketAddr) {
    let mut args = vec!["-p", "0", "--http-port", "0"];
    args.extend_from_slice(extra);
    let server = Server::start("torsion-proxy", &args);
    let line = server.socket_addr();
    let deadline = Instant::now() + TIMEOUT;
    let http = loop {
        let out = String::from_utf8_lossy(&server.stdout()).into_owned();
        if let Some(a) = out
            .lines()
            .find_map(|l| l.strip_prefix("torsion-proxy http listening on "))
        {
            break a.trim().parse().expect("an address");
        }
        assert!(Instant::now() < deadline, "no http announcement in {out:?}");
        thread::sleep(Duration::from_millis(10));
    };
    (server, line, http)
}

/// `url` on a line to the line proxy; the whole answer.
fn ask(line: std::net::SocketAddr, url: &str) -> Vec<u8> {
    let mut s = hostile::connect(line).unwrap();
    send(&mut s, format!("{url}\r\n").as_bytes());
    torsion_tests::read_all(&mut s)
}

/// Starts torsion-memcached on `port` (0: any), retrying while the port
/// is still held by the one killed before.
fn memcached_on(port: u16) -> Server {
    let port = port.to_string();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut command = Command::new(torsion_tests::binary("torsion-memcached"));
        command.args(["-p", &port]);
        let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Server::spawn(command)));
        match started {
            Ok(server) => return server,
            Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(100)),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

#[test]
fn the_proxys_memcached_killed_and_restarted_costs_only_the_cache_meanwhile() {
    let origin = torsion_tests::Origin::start();
    let mut memcached = memcached_on(0);
    let port = memcached.socket_addr().port();
    let spec = format!("memcached://127.0.0.1:{port}");
    let (proxy, line, _http) = proxy(&["--cache", &spec, "--cache-timeout", "0.5", "--cache-retry", "0.5"]);
    let url = origin.url("/bytes/50000");
    let page = ask(line, &url);
    assert_eq!(page.len(), 50_000);
    assert_eq!(ask(line, &url), page, "from memcached");
    assert_eq!(origin.hits("/bytes/50000"), 1);

    // memcached dies: every page is still served, fetched each time, and
    // the proxy says so once.
    memcached.signal(libc::SIGKILL);
    memcached.wait();
    for i in 0..5 {
        assert_eq!(ask(line, &url), page, "request {i} with memcached down");
    }
    assert_eq!(origin.hits("/bytes/50000"), 6);
    let log = proxy.wait_for_stderr("memcached is unreachable");
    assert_eq!(log.matches("memcached is unreachable").count(), 1, "{log}");

    // Back on its port (empty): within a retry or two the proxy caches
    // again, and says that once too.
    let _memcached = memcached_on(port);
    let deadline = Instant::now() + TIMEOUT;
    while !proxy.stderr().contains("memcached answers again") {
        assert!(
            Instant::now() < deadline,
            "never cached again: {}",
            proxy.stderr()
        );
        assert_eq!(ask(line, &url), page);
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ask(line, &url), page); // fetched and stored, or already cached
    let hits = origin.hits("/bytes/50000");
    for _ in 0..5 {
        assert_eq!(ask(line, &url), page);
    }
    assert_eq!(origin.hits("/bytes/50000"), hits, "served from memcached again");
    let log = proxy.wait_for_stderr("memcached answers again");
    assert_eq!(log.matches("memcached is unreachable").count(), 1, "{log}");
    assert_eq!(log.matches("memcached answers again").count(), 1, "{log}");
}

/// A server that accepts connections, reads a little, and resets each
/// (SO_LINGER 0): an origin that fails before it answers.
fn resetter() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 1024];
            let _ = std::io::Read::read(&mut stream, &mut buf);
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
        }
    });
    addr
}

#[test]
fn origins_resetting_get_an_error_line_a_502_or_a_cut_and_the_proxy_goes_on() {
    use std::io::Read;
    let origin = torsion_tests::Origin::start();
    let (server, line, http) = proxy(&[]);
    let dead = format!("http://{}/", resetter());
    let hello = |line: std::net::SocketAddr| assert_eq!(ask(line, &origin.url("/hello")), b"hello\n");
    let forward_hello = |http: std::net::SocketAddr| {
        let mut s = hostile::connect(http).unwrap();
        send(
            &mut s,
            format!(
                "GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                origin.url("/hello")
            )
            .as_bytes(),
        );
        let reply = String::from_utf8_lossy(&torsion_tests::read_all(&mut s)).into_owned();
        assert!(
            reply.starts_with("HTTP/1.1 200 ") && reply.ends_with("\r\n\r\nhello\n"),
            "{reply}"
        );
    };

    // The line proxy: one error line, whether the reset comes before the
    // head or in the middle of the body.
    for url in [dead.clone(), origin.url("/reset")] {
        let reply = String::from_utf8_lossy(&ask(line, &url)).into_owned();
        assert!(reply.starts_with(&format!("ERROR {url}: ")), "{reply:?}");
        assert!(
            reply.ends_with("\r\n") && reply.matches('\n').count() == 1,
            "{reply:?}"
        );
        hello(line);
    }

    // The forward proxy, reset before the head: 502 and a line saying why.
    let mut s = hostile::connect(http).unwrap();
    send(
        &mut s,
        format!("GET {dead} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    );
    let reply = String::from_utf8_lossy(&torsion_tests::read_all(&mut s)).into_owned();
    assert!(reply.starts_with("HTTP/1.1 502 "), "{reply}");
    assert!(reply.contains("torsion-proxy: "), "{reply}");
    forward_hello(http);

    // Reset mid-body, after the head went out: the client's connection is
    // cut, so it sees the body is short of its Content-Length (never a
    // false success), and the next client is served.
    let mut s = hostile::connect(http).unwrap();
    send(
        &mut s,
        format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", origin.url("/reset")).as_bytes(),
    );
    let mut got = Vec::new();
    let end = s.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
    assert!(text.contains("Content-Length: 100000\r\n"), "{text}");
    let at = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(
        got.len() - at < 100_000,
        "{} body bytes after a reset: {end:?}",
        got.len() - at
    );
    forward_hello(http);
    hello(line);
    let log = server.stderr();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn sigterm_during_heavy_load_on_the_forward_proxy_gives_whole_answers_then_a_clean_close() {
    let origin = torsion_tests::Origin::start();
    let (mut server, _line, http) = proxy(&[]);
    let mut batch = Batch {
        requests: Vec::new(),
        replies: Vec::new(),
    };
    let get = format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", origin.url("/hello"));
    let answer = {
        let mut s = hostile::connect(http).unwrap();
        send(&mut s, get.as_bytes());
        let (head, body) = hostile::read_response(&mut s, false).unwrap();
        [head.as_bytes(), &body].concat()
    };
    for _ in 0..10 {
        batch.requests.extend_from_slice(get.as_bytes());
        batch.replies.push(answer.clone());
    }
    let started = Instant::now();
    let stopped = hostile::load_then_signal(http, &batch, 16, 3, || server.signal(libc::SIGTERM));
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", server.stderr());
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
    eprintln!(
        "SIGTERM under load (forward proxy): {stopped:?}, {:?} in all",
        started.elapsed()
    );
    assert!(stopped.batches >= 16 * 3);
    assert_eq!(stopped.resets, 0, "{stopped:?}");
    assert!(std::net::TcpStream::connect(http).is_err());
}

#[test]
fn sigterm_during_heavy_load_on_the_line_proxy_gives_whole_pages_or_a_clean_close() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let origin = torsion_tests::Origin::start();
    let (mut server, line, _http) = proxy(&["--cache", "memory"]);
    let urls: Vec<String> = vec![
        origin.url("/hello"),
        origin.url("/bytes/200000"),
        origin.url("/delay/0.02"),
    ];
    let pages: Vec<Vec<u8>> = urls.iter().map(|u| ask(line, u)).collect();
    let answered = Arc::new(AtomicUsize::new(0));
    let stopping = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..24)
        .map(|c| {
            let (urls, pages, answered, stopping) =
                (urls.clone(), pages.clone(), answered.clone(), stopping.clone());
            thread::spawn(move || {
                let (mut whole, mut empty) = (0, 0);
                for i in 0.. {
                    let k = (c + i) % urls.len();
                    let Ok(mut s) = hostile::connect(line) else {
                        assert!(stopping.load(Ordering::Relaxed), "connect failed before the stop");
                        break; // no longer listening
                    };
                    let wrote = std::io::Write::write_all(&mut s, format!("{}\r\n", urls[k]).as_bytes());
                    let mut got = Vec::new();
                    let end = std::io::Read::read_to_end(&mut s, &mut got);
                    if end.is_err() && got.is_empty() && stopping.load(Ordering::Relaxed) {
                        // Queued in the kernel, never accepted, when the
                        // listener closed: the kernel resets those.
                        break;
                    }
                    assert!(end.is_ok(), "a reset after {} bytes ({wrote:?})", got.len());
                    if got == pages[k] {
                        whole += 1;
                        answered.fetch_add(1, Ordering::Relaxed);
                    } else {
                        assert!(
                            got.is_empty(),
                            "a cut page: {} bytes of {}",
                            got.len(),
                            pages[k].len()
                        );
                        assert!(
                            stopping.load(Ordering::Relaxed),
                            "an empty answer before the stop"
                        );
                        empty += 1;
                    }
                    if stopping.load(Ordering::Relaxed) && (empty > 0 || i > 10_000) {
                        break;
                    }
                }
                (whole, empty)
            })
        })
        .collect();
    let deadline = Instant::now() + TIMEOUT;
    while answered.load(Ordering::Relaxed) < 24 * 10 {
        assert!(Instant::now() < deadline, "the load never got going");
        thread::sleep(Duration::from_millis(5));
    }
    stopping.store(true, Ordering::Relaxed);
    server.signal(libc::SIGTERM);
    let mut totals = (0, 0);
    for c in clients {
        let (whole, empty) = c.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        totals = (totals.0 + whole, totals.1 + empty);
    }
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", server.stderr());
    assert!(!server.stderr().contains("panicked"));
    eprintln!(
        "SIGTERM under load (line proxy): {} whole pages, {} clean closes without a page",
        totals.0, totals.1
    );
}
