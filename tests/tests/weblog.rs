//! torsion-weblog over real sockets: a test appends to a temporary access
//! log while clients are connected, and rotates, truncates, or creates it.
//! Short intervals (50 ms) keep the tests fast; every wait is a read with
//! the streams' timeout, never a fixed sleep standing in for one.

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use torsion_tests::{read_all, read_line, Server};

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("torsion-weblog-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn start(log: &Path) -> Server {
    Server::start(
        "torsion-weblog",
        &[
            "-p",
            "0",
            "--log",
            log.to_str().unwrap(),
            "--poll-interval",
            "0.05",
            "--push-interval",
            "0.05",
        ],
    )
}

/// Connects and reads the opening `<hits>` (after which the server has
/// registered the client).
fn client(server: &Server) -> TcpStream {
    let mut stream = server.connect();
    assert_eq!(read_line(&mut stream), "<hits>\n");
    stream
}

fn append(path: &Path, data: &str) {
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(data.as_bytes()).unwrap();
}

/// A combined-format line for hit number `n`.
fn line(n: u32) -> String {
    format!(
        "192.0.2.{n} - - [21/Nov/2026:06:00:{n:02} +0000] \"GET /page/{n} HTTP/1.1\" 200 {n}00 \"-\" \"test agent\"\n"
    )
}

/// The line the server pushes for [`line`]`(n)`.
fn hit(n: u32) -> String {
    format!(
        "<hit host=\"192.0.2.{n}\" ident=\"-\" user=\"-\" time=\"21/Nov/2026:06:00:{n:02} +0000\" \
         request=\"GET /page/{n} HTTP/1.1\" status=\"200\" bytes=\"{n}00\" referrer=\"-\" agent=\"test agent\"/>\n"
    )
}

fn expect_hits(stream: &mut TcpStream, numbers: &[u32]) {
    for &n in numbers {
        assert_eq!(read_line(stream), hit(n));
    }
}

#[test]
fn appended_hits_reach_two_clients_and_malformed_lines_are_skipped() {
    let dir = Scratch::new("two");
    let log = dir.path("access.log");
    append(&log, &line(1)); // before the server starts: never sent
    let server = start(&log);
    let mut first = client(&server);
    let mut second = client(&server);
    append(&log, &line(2));
    append(&log, "this is not a log line\n");
    append(&log, "192.0.2.9 - - [bad time] \"GET / HTTP/1.1\" 200 1\n");
    append(&log, &line(3));
    expect_hits(&mut first, &[2, 3]);
    expect_hits(&mut second, &[2, 3]);
    append(&log, &(line(4) + &line(5)));
    expect_hits(&mut first, &[4, 5]);
    expect_hits(&mut second, &[4, 5]);
}

#[test]
fn a_line_is_pushed_only_once_it_is_complete() {
    let dir = Scratch::new("partial");
    let log = dir.path("access.log");
    append(&log, "");
    let server = start(&log);
    let mut client = client(&server);
    let whole = line(6);
    let (head, tail) = whole.split_at(30);
    append(&log, head);
    // Several polls see only the head: nothing may be pushed for it.
    thread::sleep(Duration::from_millis(200));
    append(&log, tail);
    append(&log, &line(7));
    expect_hits(&mut client, &[6, 7]);
}

#[test]
fn a_rotated_log_is_followed_into_the_new_file() {
    let dir = Scratch::new("rotate");
    let log = dir.path("access.log");
    append(&log, "");
    let server = start(&log);
    let mut client = client(&server);
    append(&log, &line(1));
    expect_hits(&mut client, &[1]);
    // logrotate's default: rename, the writer finishes in the old file,
    // then writes to a new one under the old name.
    fs::rename(&log, dir.path("access.log.1")).unwrap();
    append(&dir.path("access.log.1"), &line(2));
    append(&log, &line(3));
    expect_hits(&mut client, &[2, 3]);
    append(&log, &line(4));
    expect_hits(&mut client, &[4]);
}

#[test]
fn a_truncated_log_is_read_again_from_its_start() {
    let dir = Scratch::new("truncate");
    let log = dir.path("access.log");
    append(&log, "");
    let server = start(&log);
    let mut client = client(&server);
    let many: Vec<u32> = (10..20).collect();
    append(&log, &many.iter().map(|&n| line(n)).collect::<String>());
    expect_hits(&mut client, &many);
    // copytruncate, or `> access.log`: same file, now shorter.
    fs::File::create(&log).unwrap();
    append(&log, &line(1));
    expect_hits(&mut client, &[1]);
}

#[test]
fn a_log_that_does_not_exist_yet_is_read_from_its_start_once_it_does() {
    let dir = Scratch::new("missing");
    let log = dir.path("access.log");
    let server = start(&log);
    let mut client = client(&server);
    append(&log, &(line(1) + &line(2)));
    expect_hits(&mut client, &[1, 2]);
    server.wait_for_stderr("does not exist yet");
}

#[test]
fn sigterm_closes_the_hits_element_and_exits_zero() {
    let dir = Scratch::new("sigterm");
    let log = dir.path("access.log");
    append(&log, "");
    let mut server = start(&log);
    let mut client = client(&server);
    append(&log, &line(1));
    expect_hits(&mut client, &[1]);
    server.signal(libc::SIGTERM);
    assert_eq!(read_all(&mut client), b"</hits>\n");
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", server.stderr());
}
