//! Helpers for tests that talk to a memcached server over a socket.

use std::io::Read;
use std::net::TcpStream;

use crate::send;

/// Sends `request` and asserts that the reply is exactly `reply`.
pub fn expect(stream: &mut TcpStream, request: &[u8], reply: &[u8]) {
    send(stream, request);
    let mut got = vec![0; reply.len()];
    stream
        .read_exact(&mut got)
        .unwrap_or_else(|e| panic!("reading the reply to {:?}: {e}", String::from_utf8_lossy(request)));
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(reply),
        "request {:?}",
        String::from_utf8_lossy(request)
    );
}

/// Reads until what was read ends with `end` (panics if the peer closes first).
pub fn read_until(stream: &mut TcpStream, end: &[u8]) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0; 65536];
    while !all.ends_with(end) {
        let n = stream.read(&mut buf).expect("read");
        assert!(
            n > 0,
            "connection closed before {:?}",
            String::from_utf8_lossy(end)
        );
        all.extend_from_slice(&buf[..n]);
    }
    all
}

/// The value of one general `stats` field.
pub fn stat(stream: &mut TcpStream, name: &str) -> u64 {
    send(stream, b"stats\r\n");
    let text = String::from_utf8_lossy(&read_until(stream, b"END\r\n")).into_owned();
    let prefix = format!("STAT {name} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no stat {name} in {text}"))
        .parse()
        .unwrap_or_else(|e| panic!("stat {name}: {e}"))
}

/// The resident set size of process `pid`, in KiB (Linux `/proc`).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}
