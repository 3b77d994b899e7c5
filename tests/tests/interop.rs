//! The interop suite: Torsion against real third-party programs. Not part of
//! `cargo test --workspace` (it needs programs a fresh machine lacks);
//! `.ci/run` installs them and runs `cargo test -p torsion-tests --features
//! interop --test interop`.

use std::path::PathBuf;
use std::process::{Command, Output};

use torsion_tests::{Reference, Server};

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

fn python(args: &[&str]) -> Output {
    Command::new("python3")
        .current_dir(interop_dir())
        .args(args)
        .output()
        .expect("run python3")
}

fn torsion_memcached() -> Server {
    Server::start("torsion-memcached", &["-p", "0"])
}

/// The seeds' multiclient (Python's socket module) against torsion-upper,
/// sequentially and with one thread per word.
#[test]
fn python_multiclient_against_torsion_upper() {
    let server = Server::start("torsion-upper", &["-p", "0"]);
    let greeting = "Hi! Send me text to convert to uppercase\n";
    for mode in [&[][..], &["--threads"][..]] {
        let mut args = vec!["multiclient.py", server.addr()];
        args.extend_from_slice(mode);
        args.extend(["a", "b", "twisted is cool"]);
        let output = python(&args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let expected = format!("{greeting}A\r\n{greeting}B\r\n{greeting}TWISTED IS COOL\r\n");
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    }
}

fn memccapable(addr: &str, mode: &str) {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let output = Command::new("memccapable")
        .args(["-h", host, "-p", port, mode])
        .output()
        .expect("run memccapable");
    let report =
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "memccapable {mode} failed:\n{report}");
    assert!(report.contains("All tests passed"), "{report}");
    assert!(!report.contains("[FAIL]"), "{report}");
}

/// libmemcached's memccapable: every ASCII test.
#[test]
fn memccapable_ascii_passes() {
    let server = torsion_memcached();
    memccapable(server.addr(), "-a");
}

/// A client library's transcript against torsion-memcached equals its
/// transcript against Debian's memcached.
fn same_transcript_as_memcached(library: &str) {
    let reference = Reference::memcached(&[]);
    let expected = python(&["memcache_transcript.py", library, &reference.addr()]);
    assert!(
        expected.status.success(),
        "{}",
        String::from_utf8_lossy(&expected.stderr)
    );
    let server = torsion_memcached();
    let got = python(&["memcache_transcript.py", library, server.addr()]);
    assert!(got.status.success(), "{}", String::from_utf8_lossy(&got.stderr));
    let expected = String::from_utf8_lossy(&expected.stdout);
    let got = String::from_utf8_lossy(&got.stdout);
    assert!(expected.lines().count() > 25, "a short transcript:\n{expected}");
    for (want, have) in expected.lines().zip(got.lines()) {
        assert_eq!(have, want, "{library} sees a difference");
    }
    assert_eq!(got.lines().count(), expected.lines().count());
}

#[test]
fn pymemcache_cannot_tell_torsion_from_memcached() {
    same_transcript_as_memcached("pymemcache");
}

#[test]
fn python_memcached_cannot_tell_torsion_from_memcached() {
    same_transcript_as_memcached("python-memcached");
}

/// libmemcached's load generator, with every value it reads back verified.
/// (Its keys start with bytes 0x10: memcached takes them, and so must we.)
#[test]
fn memcaslap_runs_clean_with_full_verification() {
    let server = torsion_memcached();
    let output = Command::new("memcaslap")
        .args([
            "-s",
            server.addr(),
            "-T",
            "1",
            "-c",
            "16",
            "-X",
            "100",
            "-x",
            "20000",
            "-v",
            "1.0",
        ])
        .output()
        .expect("run memcaslap");
    let report =
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    let field = |name: &str| -> u64 {
        report
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{report}"))
    };
    assert_eq!(field("cmd_get:") + field("cmd_set:"), 20_000, "{report}");
    assert_eq!(field("get_misses:"), 0, "{report}");
    assert_eq!(field("verify_failed:"), 0, "{report}");
    assert_eq!(field("verify_misses:"), 0, "{report}");
}

// ----- the memcache client (torsion_clients::memcache) ---------------------

mod memcache_suite;

/// The client suite that `tests/memcache_client.rs` runs against
/// torsion-memcached, run against Debian's memcached 1.6.
mod memcache_client_against_memcached {
    use super::*;
    crate::memcache_suite::suite!(Reference::memcached(&[]));
}
