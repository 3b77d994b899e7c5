//! Faults (issue 11, "Hardening" 3): the disk full when torsion-fib saves
//! (the old state file survives, and saving resumes once there is room),
//! and SIGTERM during heavy load on torsion-memcached (every client gets
//! whole replies then a clean close; the process exits 0).
//!
//! The proxy's faults (its memcached killed and restarted, the origin
//! resetting mid-body) come with the proxy. See docs/hardening.md.

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
