//! torsion-weblog over real sockets: a test appends to a temporary access
//! log while clients are connected, and rotates, truncates, or creates it.
//! Short intervals (50 ms) keep the tests fast; every wait is a read with
//! the streams' timeout, never a fixed sleep standing in for one.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::Duration;

use torsion_tests::{binary, output_within_timeout, read_all, read_line, send, Scratch, Server};

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

/// The pull version (`--pull`), polling its log rarely: what a request
/// gets, it gets because the request reads the log.
fn start_pull(log: &Path) -> Server {
    Server::start(
        "torsion-weblog",
        &[
            "-p",
            "0",
            "--pull",
            "--log",
            log.to_str().unwrap(),
            "--poll-interval",
            "3600",
        ],
    )
}

/// Sends the seed's client's request and reads `lines` lines of answer.
fn ask(stream: &mut TcpStream, lines: usize) -> Vec<String> {
    send(stream, b"NEW?");
    (0..lines).map(|_| read_line(stream)).collect()
}

#[test]
fn pull_answers_each_request_with_the_hits_since_the_last_or_none() {
    let dir = Scratch::new("pull");
    let log = dir.path("access.log");
    append(&log, &line(1)); // before the server starts: never sent
    let server = start_pull(&log);
    let mut first = client(&server);
    assert_eq!(ask(&mut first, 1), ["<none/>\n"]);
    append(&log, &(line(2) + &line(3)));
    assert_eq!(ask(&mut first, 2), [hit(2), hit(3)]);
    assert_eq!(ask(&mut first, 1), ["<none/>\n"]);
    // Each client has its own news: one's request takes nothing from another.
    let mut second = client(&server);
    append(&log, &line(4));
    assert_eq!(ask(&mut second, 1), [hit(4)]);
    assert_eq!(ask(&mut first, 1), [hit(4)]);
    // Nothing comes unasked.
    append(&log, &line(5));
    first.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut byte = [0u8; 1];
    assert!(first.read(&mut byte).is_err(), "pushed without a request");
    first.set_read_timeout(Some(torsion_tests::TIMEOUT)).unwrap();
    assert_eq!(ask(&mut first, 1), [hit(5)]);
}

#[test]
fn pull_and_push_intervals_do_not_mix() {
    let mut command = Command::new(binary("torsion-weblog"));
    command.args(["-p", "0", "--pull", "--push-interval", "1"]);
    let out = output_within_timeout(command);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

#[test]
fn a_directory_as_the_log_is_refused_at_start() {
    let dir = Scratch::new("directory");
    let mut command = Command::new(binary("torsion-weblog"));
    command.args(["-p", "0", "--log", dir.dir().to_str().unwrap()]);
    let out = output_within_timeout(command);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "--log {}: a directory, not a log file",
            dir.dir().display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("following"), "{stderr}");
    assert!(out.stdout.is_empty(), "it must not listen: {:?}", out.stdout);
}
