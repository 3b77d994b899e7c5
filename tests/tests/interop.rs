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

/// libmemcached's memccapable: every binary-protocol test.
#[test]
fn memccapable_binary_passes() {
    let server = torsion_memcached();
    memccapable(server.addr(), "-b");
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

/// 103 probes of the text, meta and binary protocols, edge cases and bad
/// input included: torsion-memcached answers each byte for byte as Debian's
/// memcached does (the deliberate differences are listed in
/// docs/memcached.md and left out of the probes).
#[test]
fn byte_for_byte_the_same_replies_as_memcached() {
    let reference = Reference::memcached(&[]);
    let server = torsion_memcached();
    let output = python(&["memcache_diff.py", &reference.addr(), server.addr()]);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("103/103 identical"), "{report}");
}

// ----- the key-value store over AMP, against Twisted itself ---------------------

/// torsion-kv's AMP address, from its second announcement line.
fn kv_amp_addr(server: &Server) -> String {
    let deadline = std::time::Instant::now() + torsion_tests::TIMEOUT;
    loop {
        let out = String::from_utf8_lossy(&server.stdout()).into_owned();
        if let Some(addr) = out
            .lines()
            .find_map(|l| l.strip_prefix("torsion-kv amp listening on "))
        {
            return addr.trim().to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no AMP announcement in {out:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Twisted's AMP server (tests/interop/kv_amp_server.py) on a free port.
fn twisted_kv_server() -> Reference {
    let script = interop_dir().join("kv_amp_server.py");
    Reference::start("python3", &[script.to_str().expect("a UTF-8 path"), "{port}"])
}

/// What Twisted's AMP client sees from an AMP key-value server.
fn twisted_client_transcript(addr: &str) -> String {
    let output = python(&["kv_amp_client.py", addr]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Twisted's own AMP client calls Get/Set/Delete on torsion-kv and sees
/// exactly what it sees from a Twisted AMP server: the values, KeyError
/// for KEY_NOT_FOUND, UnhandledCommand for a command nobody answers, and
/// fifty calls in flight at once.
#[test]
fn twisted_amp_client_cannot_tell_torsion_kv_from_twisted() {
    let server = Server::start("torsion-kv", &["-p", "0", "--amp-port", "0"]);
    let got = twisted_client_transcript(&kv_amp_addr(&server));
    let expected = "get missing: KeyError\n\
                    set: []\n\
                    get: [('value', b'hello world')]\n\
                    set binary: []\n\
                    get binary: [('value', '1024 bytes, sum 130560')]\n\
                    delete: []\n\
                    get deleted: KeyError\n\
                    delete missing: KeyError\n\
                    unhandled: UnhandledCommand b'UNHANDLED'\n\
                    fifty in flight: ok\n";
    assert_eq!(got, expected);
    let reference = twisted_kv_server();
    assert_eq!(twisted_client_transcript(&reference.addr()), got);
}

/// Torsion's AMP client (torsion-kvc --amp) calls a Twisted AMP server.
#[test]
fn torsion_kvc_calls_a_twisted_amp_server() {
    let reference = twisted_kv_server();
    let addr = reference.addr();
    let kvc = |args: &[&str]| {
        let mut all = vec!["--amp", "--server", addr.as_str()];
        all.extend_from_slice(args);
        Command::new(torsion_tests::binary("torsion-kvc"))
            .args(&all)
            .output()
            .expect("run torsion-kvc")
    };
    let out = kvc(&["get", "greeting"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("key not found: greeting"));
    let out = kvc(&["set", "greeting", "hello", "world"]);
    assert_eq!((out.status.code(), out.stdout), (Some(0), b"STORED\n".to_vec()));
    let out = kvc(&["get", "greeting"]);
    assert_eq!(
        (out.status.code(), out.stdout),
        (Some(0), b"hello world\n".to_vec())
    );
    let out = kvc(&["delete", "greeting"]);
    assert_eq!((out.status.code(), out.stdout), (Some(0), b"DELETED\n".to_vec()));
    assert_eq!(kvc(&["delete", "greeting"]).status.code(), Some(1));
}

/// Torsion's AMP client library against Twisted's server: calls in flight
/// together, binary values, and the errors mapped as documented.
#[test]
fn torsion_amp_client_pipelines_against_a_twisted_amp_server() {
    use torsion::endpoint::ClientEndpoint;
    use torsion::Reactor;
    use torsion_clients::kv::{self, KeyNotFound};

    let reference = twisted_kv_server();
    let mut reactor = Reactor::new().expect("reactor");
    let endpoint = ClientEndpoint::tcp("127.0.0.1", reference.port());
    let value: Vec<u8> = (0..=255u8).cycle().take(60_000).collect();
    let stored = value.clone();
    let session = kv::amp::connect(&mut reactor, &endpoint).then(&mut reactor, move |r, client| {
        let sets: Vec<_> = (0..100)
            .map(|i| client.set(r, format!("k{i}").as_bytes(), format!("v{i}").as_bytes()))
            .collect();
        let _big = client.set(r, b"big", &stored);
        let gets: Vec<_> = (0..100)
            .map(|i| client.get(r, format!("k{i}").as_bytes()))
            .collect();
        let big = client.get(r, b"big");
        let missing = client.get(r, b"nothing here").then_both(r, |_, result| {
            Ok(result.is_err_and(|failure| failure.is::<KeyNotFound>()))
        });
        let sets = torsion::defer::gather_results(r, sets);
        let gets = torsion::defer::gather_results(r, gets);
        sets.then(r, move |r, _| {
            gets.then(r, move |r, values| {
                big.then(r, move |r, big| {
                    missing.then(r, move |_, missing| Ok((values, big, missing)))
                })
            })
        })
    });
    session.add_timeout(&mut reactor, std::time::Duration::from_secs(30));
    let (values, big, missing) = reactor
        .run_until_complete(session)
        .expect("run")
        .unwrap_or_else(|failure| panic!("{failure}"));
    for (i, v) in values.iter().enumerate() {
        assert_eq!(v, format!("v{i}").as_bytes());
    }
    assert_eq!(big, value);
    assert!(missing, "a missing key is KeyNotFound");
}
