//! torsion-memcached's warm restart over real sockets: with `-e FILE`, a
//! graceful stop (SIGUSR1, `shutdown graceful`) saves the cache and the next
//! start brings it back (values, flags, remaining TTLs, CAS uniques); a
//! killed or SIGTERM'd server, or one restarted with other settings, starts
//! empty.

use std::net::TcpStream;
use std::path::Path;
use std::thread;
use std::time::Duration;

use torsion_tests::memcache::{expect, read_until};
use torsion_tests::{send, Scratch, Server};

fn start(file: &Path, extra: &[&str]) -> Server {
    let file = file.to_str().expect("a UTF-8 path");
    let mut args = vec!["-p", "0", "-A", "-e", file];
    args.extend_from_slice(extra);
    Server::start("torsion-memcached", &args)
}

/// `gets key`: (flags, value, CAS unique), or `None` on a miss.
fn gets(c: &mut TcpStream, key: &str) -> Option<(u32, Vec<u8>, u64)> {
    send(c, format!("gets {key}\r\n").as_bytes());
    let reply = read_until(c, b"END\r\n");
    let text = String::from_utf8_lossy(&reply).into_owned();
    let header = text.lines().next()?;
    let words: Vec<&str> = header.split(' ').collect();
    if words[0] != "VALUE" {
        return None;
    }
    let (flags, len, cas) = (
        words[2].parse().ok()?,
        words[3].parse::<usize>().ok()?,
        words[4].parse().ok()?,
    );
    let start = header.len() + 2;
    Some((flags, reply[start..start + len].to_vec(), cas))
}

/// Seconds left to live (`mg key t`), -1 for never.
fn ttl(c: &mut TcpStream, key: &str) -> i64 {
    send(c, format!("mg {key} t\r\n").as_bytes());
    let line = String::from_utf8_lossy(&read_until(c, b"\r\n")).into_owned();
    line.trim_end()
        .strip_prefix("HD t")
        .unwrap_or_else(|| panic!("mg {key}: {line:?}"))
        .parse()
        .expect("a TTL")
}

fn stop_with_sigusr1(mut server: Server) {
    server.signal(libc::SIGUSR1);
    assert!(server.wait().success());
    assert!(server.stderr().contains("[restart] saved"), "{}", server.stderr());
}

#[test]
fn a_graceful_stop_keeps_the_cache() {
    let scratch = Scratch::new("mc-restart-graceful");
    let file = scratch.path("cache");
    let server = start(&file, &[]);
    let mut c = server.connect();
    expect(&mut c, b"set plain 0 0 5\r\nhello\r\n", b"STORED\r\n");
    expect(&mut c, b"set flagged 42 0 3\r\nabc\r\n", b"STORED\r\n");
    expect(&mut c, b"set lives 7 100 4\r\nlong\r\n", b"STORED\r\n");
    expect(&mut c, b"set brief 0 1 5\r\nshort\r\n", b"STORED\r\n");
    let big = vec![b'x'; 700_000];
    send(&mut c, format!("set big 3 0 {}\r\n", big.len()).as_bytes());
    send(&mut c, &big);
    expect(&mut c, b"\r\n", b"STORED\r\n");
    let before: Vec<_> = ["plain", "flagged", "lives", "big"]
        .iter()
        .map(|k| gets(&mut c, k).expect("stored"))
        .collect();
    stop_with_sigusr1(server);
    assert!(file.exists());
    // `brief` expires while the server is down.
    thread::sleep(Duration::from_millis(2100));

    let server = start(&file, &[]);
    assert!(!file.exists(), "a snapshot is used once");
    let mut c = server.connect();
    for (key, was) in ["plain", "flagged", "lives", "big"].iter().zip(&before) {
        assert_eq!(gets(&mut c, key).as_ref(), Some(was), "{key}");
    }
    assert_eq!(gets(&mut c, "brief"), None);
    let left = ttl(&mut c, "lives");
    assert!(
        (90..=98).contains(&left),
        "TTL {left}: time kept running while down"
    );
    assert_eq!(ttl(&mut c, "plain"), -1);
    // The CAS counter continues above the restored uniques.
    expect(&mut c, b"set new 0 0 1\r\nn\r\n", b"STORED\r\n");
    let top = before.iter().map(|b| b.2).max().unwrap();
    assert!(gets(&mut c, "new").unwrap().2 > top);
    // A `cas` with a restored unique still works.
    let cas = format!("cas plain 0 0 3 {}\r\nnew\r\n", before[0].2);
    expect(&mut c, cas.as_bytes(), b"STORED\r\n");

    // `shutdown graceful` saves too.
    send(&mut c, b"shutdown graceful\r\n");
    let mut server = server;
    assert!(server.wait().success());
    let server = start(&file, &[]);
    let mut c = server.connect();
    assert_eq!(gets(&mut c, "plain").map(|g| g.1), Some(b"new".to_vec()));
    stop_with_sigusr1(server);
}

#[test]
fn a_kill_or_sigterm_starts_empty() {
    let scratch = Scratch::new("mc-restart-kill");
    let file = scratch.path("cache");
    let server = start(&file, &[]);
    let mut c = server.connect();
    expect(&mut c, b"set k 0 0 1\r\nv\r\n", b"STORED\r\n");
    stop_with_sigusr1(server);

    // Restored once, then killed: the next start is empty.
    let mut server = start(&file, &[]);
    let mut c = server.connect();
    assert!(gets(&mut c, "k").is_some());
    server.signal(libc::SIGKILL);
    server.wait();
    let mut server = start(&file, &[]);
    let mut c = server.connect();
    assert_eq!(gets(&mut c, "k"), None);

    // SIGTERM closes and exits 0 but saves nothing, as memcached.
    expect(&mut c, b"set k 0 0 1\r\nv\r\n", b"STORED\r\n");
    server.signal(libc::SIGTERM);
    assert!(server.wait().success());
    assert!(!file.exists());
    let server = start(&file, &[]);
    let mut c = server.connect();
    assert_eq!(gets(&mut c, "k"), None);
}

#[test]
fn other_settings_start_empty_and_say_why() {
    let scratch = Scratch::new("mc-restart-settings");
    let file = scratch.path("cache");
    let server = start(&file, &["-m", "64"]);
    let mut c = server.connect();
    expect(&mut c, b"set k 0 0 1\r\nv\r\n", b"STORED\r\n");
    stop_with_sigusr1(server);

    let server = start(&file, &["-m", "32"]);
    let mut c = server.connect();
    assert_eq!(gets(&mut c, "k"), None);
    let log = server.wait_for_stderr("settings differ");
    assert!(log.contains("memory limit (-m"), "{log}");

    // memcached's own metadata file beside it: refuse to start at all.
    std::fs::write(scratch.path("cache.meta"), b"").unwrap();
    let file = file.to_str().unwrap();
    let ran = torsion_tests::run("torsion-memcached", &["-p", "0", "-e", file]);
    assert_eq!(ran.code, Some(1));
    assert!(ran.stderr.contains("cache.meta exists"), "{}", ran.stderr);
}
