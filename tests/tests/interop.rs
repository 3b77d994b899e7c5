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

/// Debian's memcached-tool (perl) against `addr`, within 20 s.
fn memcached_tool(addr: &str, mode: &str) -> String {
    let mut command = Command::new("perl");
    command.args(["/usr/share/memcached/scripts/memcached-tool", addr, mode]);
    let ran = torsion_tests::run_bounded(command, std::time::Duration::from_secs(20));
    assert_eq!(ran.code, Some(0), "memcached-tool {mode}: {}", ran.stderr);
    ran.stdout
}

/// Stores one small and one 600-byte item at `addr`.
fn two_items(addr: &str) {
    use std::io::{Read as _, Write as _};
    let mut c = std::net::TcpStream::connect(addr).expect("connect");
    let big = "x".repeat(600);
    let request = format!("set small 0 0 2\r\nok\r\nset big 0 3600 600\r\n{big}\r\n");
    c.write_all(request.as_bytes()).unwrap();
    let mut reply = [0; 16];
    c.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"STORED\r\nSTORED\r\n");
}

/// memcached-tool's `display`, `stats`, `settings` and `dump` work against
/// torsion-memcached: `display` shows the same size classes, pages and
/// counts as against memcached, and `dump` (which reads `lru_crawler
/// metadump all`) lists both keys and ends.
#[test]
fn memcached_tool_display_stats_settings_dump() {
    let reference = Reference::memcached(&[]);
    let server = torsion_memcached();
    two_items(&reference.addr());
    two_items(server.addr());
    let rows = |addr: &str| -> Vec<Vec<String>> {
        memcached_tool(addr, "display")
            .lines()
            .skip(1)
            .map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                [0, 1, 3, 4].iter().map(|&i| cols[i].to_string()).collect()
            })
            .collect()
    };
    let ours = rows(server.addr());
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert_eq!(ours, rows(&reference.addr()));

    let stats = memcached_tool(server.addr(), "stats");
    assert!(
        stats
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["curr_items", "2"]),
        "{stats}"
    );
    let settings = memcached_tool(server.addr(), "settings");
    assert!(
        settings
            .lines()
            .any(|l| l.trim_start().starts_with("lru_crawler ")),
        "{settings}"
    );
    assert!(
        settings
            .lines()
            .any(|l| l.trim_start().starts_with("item_size_max ")),
        "{settings}"
    );

    let dump = memcached_tool(server.addr(), "dump");
    assert!(dump.contains("add small 0 0 2\r\nok\r\n"), "{dump}");
    assert!(dump.contains("add big 0 "), "{dump}");
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
    let server = Server::start("torsion-kv", &["-p", "0", "--amp-port", "0", "--pb-port", "0"]);
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

// ----- the memcache client (torsion_clients::memcache) ---------------------

mod memcache_suite;

// Random traffic, the same bytes to memcached and to torsion-memcached.
mod memcached_diff;

/// The client suite that `tests/memcache_client.rs` runs against
/// torsion-memcached, run against Debian's memcached 1.6.
mod memcache_client_against_memcached {
    use super::*;
    crate::memcache_suite::suite!(Reference::memcached(&[]));
}

// ----- ketama placement: libmemcached and twemproxy -------------------------

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use torsion::endpoint::ClientEndpoint;
use torsion::Reactor;
use torsion_clients::memcache::ketama::Continuum;
use torsion_clients::memcache::{
    ClientConfig, Commands, MemcacheClient, MemcachePool, PoolConfig, ServerSpec,
};

/// Where libmemcached (the installed libmemcached11, through
/// `interop/ketama_libmemcached.py`) puts each key among `servers`.
fn libmemcached_placement(servers: &[ServerSpec], keys: &[String]) -> Vec<usize> {
    let mut input = servers
        .iter()
        .map(|s| format!("{}:{}:{}", s.host, s.port, s.weight))
        .collect::<Vec<_>>()
        .join(",");
    for key in keys {
        input.push('\n');
        input.push_str(key);
    }
    let mut child = Command::new("python3")
        .current_dir(interop_dir())
        .arg("ketama_libmemcached.py")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write the keys");
    let output = child.wait_with_output().expect("python3 finished");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.parse().expect("an index"))
        .collect()
}

/// The Torsion pool's ring for `servers`, as the pool builds it.
fn torsion_placement(servers: &[ServerSpec], keys: &[String]) -> Vec<usize> {
    let ring = Continuum::new(
        servers
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.ketama_name(), s.weight)),
    );
    keys.iter()
        .map(|k| ring.server_for(k.as_bytes()).expect("a server"))
        .collect()
}

/// Ten thousand keys of every shape land where libmemcached puts them, for
/// several pools: equal weights, weights 1 to 5, port 11211 (named without
/// its port), host names, and many servers.
#[test]
fn ketama_places_keys_exactly_as_libmemcached() {
    let keys: Vec<String> = (0..10_000)
        .map(|i| match i % 4 {
            0 => format!("key-{i}"),
            1 => format!("user:{i}:profile"),
            2 => format!("{:x}", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            _ => format!("{}{i}", "k".repeat(i % 200)),
        })
        .collect();
    let pools: Vec<Vec<ServerSpec>> = vec![
        (0..3).map(|i| ServerSpec::new("127.0.0.1", 11212 + i)).collect(),
        (0u32..5)
            .map(|i| ServerSpec::new(format!("10.0.0.{i}"), 11211).with_weight(i + 1))
            .collect(),
        vec![
            ServerSpec::new("cache-a.example", 11211),
            ServerSpec::new("cache-b.example", 11300).with_weight(3),
            ServerSpec::new("192.168.1.20", 11211).with_weight(2),
        ],
        (0..13).map(|i| ServerSpec::new("127.0.0.1", 20000 + i)).collect(),
    ];
    for servers in pools {
        let want = libmemcached_placement(&servers, &keys);
        let got = torsion_placement(&servers, &keys);
        assert_eq!(want.len(), keys.len());
        let differ = want.iter().zip(&got).filter(|(a, b)| a != b).count();
        assert_eq!(
            differ,
            0,
            "{differ} of {} keys placed differently for {servers:?}",
            keys.len()
        );
    }
}

/// twemproxy (Debian's nutcracker) on a free port, in front of `servers`
/// (its `servers:` lines), with `distribution: ketama` and `hash: md5`.
struct Nutcracker {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Nutcracker {
    fn start(servers: &[String]) -> Nutcracker {
        for _ in 0..5 {
            let (port, stats) = (torsion_tests::free_port(), torsion_tests::free_port());
            let dir = std::env::temp_dir().join(format!("torsion-nutcracker-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("a temporary directory");
            let mut conf = format!(
                "torsion:\n  listen: 127.0.0.1:{port}\n  hash: md5\n  distribution: ketama\n  \
                 auto_eject_hosts: false\n  timeout: 10000\n  servers:\n"
            );
            for server in servers {
                conf.push_str(&format!("   - {server}\n"));
            }
            std::fs::write(dir.join("nutcracker.yml"), conf).expect("write the configuration");
            let mut child = Command::new("nutcracker")
                .arg("-c")
                .arg(dir.join("nutcracker.yml"))
                .args(["-s", &stats.to_string(), "-a", "127.0.0.1"])
                .arg("-o")
                .arg(dir.join("nutcracker.log"))
                .arg("-p")
                .arg(dir.join("nutcracker.pid"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start nutcracker");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // a port was taken: try others
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Nutcracker { child, port, dir };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(dir.join("nutcracker.log")).unwrap_or_default();
            eprintln!("nutcracker did not start; its log:\n{log}");
            let _ = std::fs::remove_dir_all(&dir);
        }
        panic!("nutcracker did not start");
    }
}

impl Drop for Nutcracker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Keys written through twemproxy are read back by the Torsion pool talking
/// to the servers directly, each from the very server twemproxy chose; and
/// keys the pool writes are all read back through twemproxy.
fn twemproxy_and_the_pool_agree(named_and_weighted: bool) {
    let servers: Vec<Server> = (0..3).map(|_| torsion_memcached()).collect();
    let names = ["alpha", "beta", "gamma"];
    let specs: Vec<ServerSpec> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let spec = ServerSpec::new("127.0.0.1", s.socket_addr().port());
            match named_and_weighted {
                true => spec.with_weight(i as u32 + 1).with_name(names[i]),
                false => spec,
            }
        })
        .collect();
    let lines: Vec<String> = specs
        .iter()
        .map(|s| match &s.name {
            Some(name) => format!("127.0.0.1:{}:{} {name}", s.port, s.weight),
            None => format!("127.0.0.1:{}:{}", s.port, s.weight),
        })
        .collect();
    let proxy = Nutcracker::start(&lines);

    let mut reactor = Reactor::new().expect("reactor");
    let config = ClientConfig {
        timeout: Some(Duration::from_secs(20)),
        ..ClientConfig::default()
    };
    let twemproxy = MemcacheClient::connect(
        &mut reactor,
        ClientEndpoint::tcp("127.0.0.1", proxy.port),
        config.clone(),
    );
    let pool = MemcachePool::new(
        &mut reactor,
        specs.clone(),
        PoolConfig {
            client: config,
            eject_after: None,
            ..PoolConfig::default()
        },
    );
    let through_proxy: Vec<String> = (0..600).map(|i| format!("via-twemproxy-{i}")).collect();
    let through_pool: Vec<String> = (0..600).map(|i| format!("via-pool-{i}")).collect();
    let owners: Vec<usize> = through_proxy
        .iter()
        .map(|k| {
            let owner = pool.server_for(k).expect("a server");
            specs.iter().position(|s| *s == owner).expect("one of ours")
        })
        .collect();
    let (a, b) = (through_proxy.clone(), through_pool.clone());
    let (per_server, from_pool, from_proxy) = memcache_suite::run(&mut reactor, async move {
        let sets: Vec<_> = a
            .iter()
            .map(|k| twemproxy.set(k, format!("value of {k}"), 0, 0))
            .collect();
        for set in sets {
            set.await.expect("stored through twemproxy");
        }
        let mut per_server = Vec::new();
        for i in 0..3 {
            per_server.push(
                pool.client(i)
                    .unwrap()
                    .get_multi(&a)
                    .await
                    .expect("read directly"),
            );
        }
        let from_pool = pool.get_multi(&a).await.expect("read by the pool");
        let sets: Vec<_> = b
            .iter()
            .map(|k| pool.set(k, format!("value of {k}"), 0, 0))
            .collect();
        for set in sets {
            set.await.expect("stored by the pool");
        }
        let from_proxy = twemproxy.get_multi(&b).await.expect("read through twemproxy");
        (per_server, from_pool, from_proxy)
    });
    let check = |found: &HashMap<bytes::Bytes, torsion_clients::memcache::Value>, keys: &[String]| {
        assert_eq!(found.len(), keys.len());
        for k in keys {
            assert_eq!(found[k.as_bytes()].data, format!("value of {k}").into_bytes());
        }
    };
    check(&from_pool, &through_proxy);
    check(&from_proxy, &through_pool);
    for (i, found) in per_server.iter().enumerate() {
        let mine: Vec<String> = through_proxy
            .iter()
            .zip(&owners)
            .filter(|(_, o)| **o == i)
            .map(|(k, _)| k.clone())
            .collect();
        assert!(!mine.is_empty());
        check(found, &mine);
    }
}

#[test]
fn twemproxy_ketama_md5_places_keys_as_the_pool_does() {
    twemproxy_and_the_pool_agree(false);
}

#[test]
fn twemproxy_with_server_names_and_weights_places_keys_as_the_pool_does() {
    twemproxy_and_the_pool_agree(true);
}

// ----- HTTP (issue 7): the client against nginx and Python's ssl, the
// server against curl, wrk and headless Chromium. -----

#[path = "http_util/mod.rs"]
mod http_util;

mod http_interop {
    use std::io::Read;
    use std::net::TcpStream;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use torsion::Reactor;
    use torsion_clients::http::{FetchError, HttpClient, Response};
    use torsion_protocols::http::Headers;
    use torsion_tests::{binary, free_port, Reference, Server};

    use super::interop_dir;

    /// A fresh folder of its own for each call (tests run in parallel).
    fn scratch(name: &str) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("torsion-interop-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn client() -> HttpClient {
        HttpClient::new().timeout(Some(Duration::from_secs(20)))
    }

    fn fetch(r: &mut Reactor, client: &HttpClient, url: &str) -> Result<Response, torsion::Failure> {
        let d = client.get(r, url);
        r.run_until_complete(d).expect("the reactor runs")
    }

    /// Debian's nginx in the foreground, one process, everything under `dir`.
    struct Nginx {
        child: Child,
        port: u16,
        www: PathBuf,
    }

    impl Drop for Nginx {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Nginx {
        fn start() -> Nginx {
            let dir = scratch("nginx");
            let www = dir.join("www");
            std::fs::create_dir_all(www.join("ssi")).unwrap();
            std::fs::write(www.join("index.html"), "<title>nginx index</title>\n").unwrap();
            let big: String = (0..50_000).map(|i| format!("{i:08}\n")).collect();
            std::fs::write(www.join("big.txt"), big).unwrap();
            std::fs::write(
                www.join("ssi").join("page.html"),
                "before <!--# echo var=\"DOCUMENT_URI\" --> after\n",
            )
            .unwrap();
            for _ in 0..5 {
                let port = free_port();
                let conf = dir.join("nginx.conf");
                let d = dir.display();
                std::fs::write(
                    &conf,
                    format!(
                        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
                         events {{ worker_connections 64; }}\n\
                         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
                         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
                         keepalive_timeout 30;\n  absolute_redirect off;\n  add_header X-Connection $connection always;\n\
                         server {{\n    listen 127.0.0.1:{port};\n    root {www};\n    location /ssi/ {{ ssi on; }}\n\
                         location = /old {{ return 301 /index.html; }}\n    location = /rel {{ return 302 ssi/page.html; }}\n\
                         location = /abs {{ return 307 http://127.0.0.1:{port}/old; }}\n\
                         location = /loop {{ return 302 /loop; }}\n  }}\n}}\n",
                        www = www.display()
                    ),
                )
                .unwrap();
                let mut child = Command::new("nginx")
                    .args(["-c", conf.to_str().unwrap(), "-p", dir.to_str().unwrap()])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start nginx");
                let deadline = Instant::now() + Duration::from_secs(10);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        return Nginx { child, port, www };
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
            panic!("nginx did not start");
        }

        fn url(&self, path: &str) -> String {
            format!("http://127.0.0.1:{}{path}", self.port)
        }
    }

    #[test]
    fn client_reads_nginx_static_files_chunked_responses_and_redirects() {
        let nginx = Nginx::start();
        let mut r = Reactor::new().unwrap();
        let page = fetch(&mut r, &client(), &nginx.url("/index.html")).unwrap();
        assert_eq!(
            (page.status, page.text().as_str()),
            (200, "<title>nginx index</title>\n")
        );
        assert_eq!(page.header("server").map(|s| s.starts_with("nginx")), Some(true));
        let big = fetch(&mut r, &client(), &nginx.url("/big.txt")).unwrap();
        assert_eq!(big.body, std::fs::read(nginx.www.join("big.txt")).unwrap());
        let ssi = fetch(&mut r, &client(), &nginx.url("/ssi/page.html")).unwrap();
        assert_eq!(ssi.header("transfer-encoding"), Some("chunked"));
        assert_eq!(ssi.text(), "before /ssi/page.html after\n");
        let moved = fetch(&mut r, &client(), &nginx.url("/old")).unwrap();
        assert_eq!(
            (moved.status, moved.url.to_string()),
            (200, nginx.url("/index.html"))
        );
        let relative = fetch(&mut r, &client(), &nginx.url("/rel")).unwrap();
        assert_eq!(relative.url.to_string(), nginx.url("/ssi/page.html"));
        let absolute = fetch(&mut r, &client(), &nginx.url("/abs")).unwrap();
        assert_eq!(absolute.text(), "<title>nginx index</title>\n");
        let looping = fetch(&mut r, &client(), &nginx.url("/loop")).unwrap_err();
        assert!(matches!(
            looping.find::<FetchError>(),
            Some(FetchError::TooManyRedirects { .. })
        ));
        let missing = fetch(&mut r, &client(), &nginx.url("/missing")).unwrap();
        assert_eq!(missing.status, 404);
        let head = client().request(
            &mut r,
            "HEAD",
            &nginx.url("/big.txt"),
            &Headers::new(),
            Bytes::new(),
        );
        let head = r.run_until_complete(head).unwrap().unwrap();
        assert!(head.body.is_empty());
        assert_eq!(head.header("content-length"), Some("450000"));
    }

    /// With `Connection: keep-alive` nginx keeps the connection open (30 s
    /// here): the client must end the response by its length or its last
    /// chunk, not wait for the close.
    #[test]
    fn client_ends_keep_alive_responses_without_waiting_for_the_close() {
        let nginx = Nginx::start();
        let mut r = Reactor::new().unwrap();
        let mut headers = Headers::new();
        headers.set("Connection", "keep-alive").unwrap();
        for path in ["/big.txt", "/ssi/page.html"] {
            let started = Instant::now();
            let d = client().request(&mut r, "GET", &nginx.url(path), &headers, Bytes::new());
            let page = r.run_until_complete(d).unwrap().unwrap();
            assert_eq!(page.header("connection"), Some("keep-alive"));
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{path} waited for the close"
            );
        }
        let out = Command::new(binary("torsion-httpget"))
            .arg(nginx.url("/rel"))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "before /ssi/page.html after\n"
        );
    }

    fn test_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Torsion interop CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let paths = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&paths.0, ca.pem()).unwrap();
        std::fs::write(&paths.1, cert.pem()).unwrap();
        std::fs::write(&paths.2, key.serialize_pem()).unwrap();
        paths
    }

    #[test]
    fn client_speaks_tls_to_python_ssl_with_a_test_ca() {
        let dir = scratch("tls");
        let (ca, cert, key) = test_pki(&dir);
        let script = interop_dir().join("https_server.py");
        let server = Reference::start(
            "python3",
            &[
                script.to_str().unwrap(),
                "{port}",
                cert.to_str().unwrap(),
                key.to_str().unwrap(),
            ],
        );
        let mut r = Reactor::new().unwrap();
        for host in ["localhost", "127.0.0.1"] {
            let url = format!("https://{host}:{}/", server.port());
            let page = fetch(&mut r, &client().ca_file(&ca), &url).unwrap();
            assert_eq!(page.text(), "hello over tls\n");
        }
        let refused = fetch(
            &mut r,
            &client(),
            &format!("https://127.0.0.1:{}/", server.port()),
        )
        .unwrap_err();
        assert!(
            matches!(refused.find::<FetchError>(), Some(FetchError::Tls { .. })),
            "{refused}"
        );
        let out = Command::new(binary("torsion-httpget"))
            .args([
                "--ca-file",
                ca.to_str().unwrap(),
                &format!("https://localhost:{}/", server.port()),
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello over tls\n");
    }

    fn demo() -> Server {
        Server::start("torsion-web-demo", &["-p", "0"])
    }

    fn curl(args: &[&str]) -> String {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "20"])
            .args(args)
            .output()
            .expect("run curl");
        assert!(
            out.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    #[test]
    fn curl_keep_alive_chunked_head_and_forms() {
        let server = demo();
        let base = format!("http://{}", server.addr());
        // Two URLs, one connection.
        let verbose = curl(&[
            "-v",
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            &format!("{base}/"),
            &format!("{base}/page"),
        ]);
        assert!(verbose.contains("Re-using existing connection"), "{verbose}");
        // A chunked response, decoded.
        let long = curl(&["-i", &format!("{base}/long")]);
        assert!(long.contains("Transfer-Encoding: chunked"), "{long}");
        assert!(long.ends_with("\r\n\r\nABC"), "{long}");
        // HEAD and status codes.
        let head = curl(&["-I", &format!("{base}/page")]);
        assert!(
            head.starts_with("HTTP/1.1 200 OK") && head.contains("Content-Length:"),
            "{head}"
        );
        assert_eq!(
            curl(&[
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &format!("{base}/missing")
            ]),
            "404"
        );
        assert_eq!(
            curl(&[
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                "DELETE",
                &format!("{base}/page")
            ]),
            "405"
        );
        // A POSTed form, escaped when shown.
        let form = curl(&[
            "--data-urlencode",
            "name=<b>Jürgen & co</b>",
            &format!("{base}/form"),
        ]);
        assert!(
            form.contains("<li>name = &lt;b&gt;Jürgen &amp; co&lt;/b&gt;</li>"),
            "{form}"
        );
        // A large form over curl's Expect: 100-continue threshold.
        let big = format!("name={}", "x".repeat(5000));
        let started = Instant::now();
        // curl waits up to --expect100-timeout for the server's 100 Continue
        // before it sends the body anyway: 30 s, so a server that never
        // sends one is seen even on a loaded machine.
        let form = curl(&["--expect100-timeout", "30", "-d", &big, &format!("{base}/form")]);
        assert!(form.contains(&"x".repeat(5000)));
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "curl waited for 100 Continue"
        );
    }

    #[test]
    fn curl_n_shows_long_as_it_streams() {
        let server = demo();
        let started = Instant::now();
        let mut child = Command::new("curl")
            .args([
                "-sS",
                "-N",
                "--max-time",
                "20",
                &format!("http://{}/long", server.addr()),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut arrivals = Vec::new();
        let mut byte = [0u8; 1];
        while let Ok(1) = out.read(&mut byte) {
            arrivals.push((byte[0] as char, started.elapsed()));
        }
        assert!(child.wait().unwrap().success());
        let letters: String = arrivals.iter().map(|(c, _)| *c).collect();
        assert_eq!(letters, "ABC");
        // B and C are written one and two seconds after A (timers never
        // fire early); A came long before C, so curl showed it as it came.
        assert!(arrivals[1].1 >= Duration::from_millis(950), "{arrivals:?}");
        assert!(arrivals[2].1 >= Duration::from_millis(1950), "{arrivals:?}");
        assert!(
            arrivals[2].1 - arrivals[0].1 >= Duration::from_secs(1),
            "{arrivals:?}"
        );
    }

    #[test]
    fn wrk_for_three_seconds_without_errors() {
        let server = demo();
        let out = Command::new("wrk")
            .args([
                "-t",
                "2",
                "-c",
                "32",
                "-d",
                "3s",
                "--timeout",
                "5s",
                &format!("http://{}/page", server.addr()),
            ])
            .output()
            .expect("run wrk");
        let report =
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{report}");
        assert!(!report.contains("Socket errors"), "{report}");
        assert!(!report.contains("Non-2xx or 3xx"), "{report}");
        let requests: u64 = report
            .lines()
            .find_map(|l| {
                l.trim()
                    .split_once(" requests in ")
                    .map(|(n, _)| n.trim().parse().unwrap_or(0))
            })
            .unwrap_or_else(|| panic!("{report}"));
        assert!(requests > 1000, "{report}");
        // Still serving afterwards.
        assert!(curl(&[&format!("http://{}/page", server.addr())]).contains("A PAGE"));
    }

    /// Runs headless Chromium with `args` on `url`, bounded in time.
    fn chromium(args: &[&str], url: &str) -> Vec<u8> {
        let profile = scratch("chromium");
        let mut child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(args)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run chromium");
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            out
        });
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish in time");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        reader.join().unwrap()
    }

    #[test]
    fn chromium_shows_the_pages() {
        let server = demo();
        let base = format!("http://{}", server.addr());
        let dom = String::from_utf8(chromium(&["--dump-dom"], &format!("{base}/"))).unwrap();
        assert!(dom.contains("<title>Torsion web demo</title>"), "{dom}");
        assert!(dom.contains("<h1>Torsion web demo</h1>"), "{dom}");
        let dom = String::from_utf8(chromium(&["--dump-dom"], &format!("{base}/long"))).unwrap();
        assert!(
            dom.contains("ABC"),
            "the browser waited for the streamed page: {dom}"
        );
        let dom = String::from_utf8(chromium(&["--dump-dom"], &format!("{base}/fib?num=100"))).unwrap();
        assert!(dom.contains("354224848179261915075"), "{dom}");
        let dom = String::from_utf8(chromium(
            &["--dump-dom"],
            &format!("{base}/fetch?url={base}/page"),
        ))
        .unwrap();
        assert!(dom.contains("A PAGE"), "{dom}");
        // A screenshot of the page: a PNG with something drawn on it (a
        // blank page of the same size compresses to far fewer bytes).
        let dir = scratch("shots");
        let page = dir.join("page.png");
        let blank = dir.join("blank.png");
        let shot = |path: &Path, url: &str| {
            chromium(
                &[
                    "--window-size=900,700",
                    &format!("--screenshot={}", path.display()),
                ],
                url,
            );
            std::fs::read(path).expect("a screenshot")
        };
        let page_png = shot(&page, &format!("{base}/"));
        let blank_png = shot(&blank, "about:blank");
        assert_eq!(&page_png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(
            page_png.len() > 4 * blank_png.len(),
            "{} vs {}",
            page_png.len(),
            blank_png.len()
        );
    }
}

// ----- torsion-kvweb in headless Chromium ------------------------------------------

mod kvweb_interop {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use torsion_tests::Server;

    use super::interop_dir;

    /// A fresh Chromium profile folder.
    fn profile() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("torsion-interop-{}-kvweb-chromium", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Runs tests/interop/kvweb_browser.py (headless Chromium driven over
    /// the DevTools protocol, clicking the real forms) against `base`;
    /// returns its `STEP name {json}` lines as (name, json). Bounded in
    /// time: the script and its Chromium run in their own process group,
    /// killed by its id if they overrun.
    fn browse(base: &str) -> Vec<(String, String)> {
        let profile = profile();
        let mut child = Command::new("python3")
            .current_dir(interop_dir())
            .arg("kvweb_browser.py")
            .arg(base)
            .arg(&profile)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run python3");
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let deadline = Instant::now() + Duration::from_secs(90);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let group = format!("-{}", child.id());
                let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
                let _ = child.wait();
                panic!("the browser script did not finish in time");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let (out, err) = (out.join().unwrap(), err.join().unwrap());
        let _ = std::fs::remove_dir_all(&profile);
        assert!(status.success(), "kvweb_browser.py failed:\n{err}\n{out}");
        out.lines()
            .filter_map(|line| line.strip_prefix("STEP "))
            .filter_map(|line| line.split_once(' '))
            .map(|(step, json)| (step.to_string(), json.to_string()))
            .collect()
    }

    fn step<'a>(steps: &'a [(String, String)], name: &str) -> &'a str {
        steps
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, json)| json.as_str())
            .unwrap_or_else(|| panic!("no step {name} in {steps:?}"))
    }

    fn has(json: &str, fields: &[&str]) {
        for field in fields {
            assert!(json.contains(field), "{field} not in {json}");
        }
    }

    /// Chromium sets a key through the form (a POST), reads it back (the
    /// GET form), deletes it (a POST), and then gets a 404 page; a value
    /// holding a script is shown as text and never runs, while the same
    /// script on a page that does run it is seen running.
    #[test]
    fn chromium_sets_reads_and_deletes_through_the_forms_and_never_runs_a_stored_script() {
        let kv = Server::start("torsion-kv", &["-p", "0", "--amp-port", "0", "--pb-port", "0"]);
        let web = Server::start("torsion-kvweb", &["-p", "0", "--kv", kv.addr()]);
        let base = format!("http://{}", web.addr());
        let steps = browse(&base);
        has(
            step(&steps, "index"),
            &["\"status\": 200", "\"title\": \"Torsion key-value store\""],
        );
        has(
            step(&steps, "set"),
            &[
                "\"status\": 200",
                "\"title\": \"Stored\"",
                &format!("\"url\": \"{base}/set\""),
                "\"value\": \"hello world\"",
            ],
        );
        has(
            step(&steps, "get"),
            &[
                "\"status\": 200",
                "\"title\": \"Value of greeting\"",
                &format!("\"url\": \"{base}/get?key=greeting\""),
                "\"value\": \"hello world\"",
            ],
        );
        has(
            step(&steps, "delete"),
            &[
                "\"status\": 200",
                "\"title\": \"Deleted\"",
                "\"message\": \"Deleted greeting.\"",
            ],
        );
        has(
            step(&steps, "get-deleted"),
            &[
                "\"status\": 404",
                "\"title\": \"Not found\"",
                "\"error\": \"No key \\\"greeting\\\" in the store",
            ],
        );
        // The stored script: text in #value, no element in it, no script
        // in the page, the title unchanged, no dialog.
        let xss = r#"<script>document.title='pwned';alert(1)</script><img src=x onerror=\"document.title='pwned'\">"#;
        let escaped = r#"<pre id=\"value\">&lt;script&gt;document.title='pwned';alert(1)&lt;/script&gt;&lt;img src=x onerror=\"document.title='pwned'\"&gt;</pre>"#;
        for (name, title) in [("set-xss", "Stored"), ("get-xss", "Value of xss")] {
            has(
                step(&steps, name),
                &[
                    "\"status\": 200",
                    &format!("\"title\": \"{title}\""),
                    &format!("\"value\": \"{xss}\""),
                    "\"value_elements\": 0",
                    "\"scripts\": 0",
                    "\"dialogs\": []",
                    escaped,
                ],
            );
        }
        // The control: the detector sees a script that runs.
        has(
            step(&steps, "control"),
            &["\"title\": \"pwned\"", "\"dialogs\": [\"1\"]", "\"scripts\": 1"],
        );
        // The browser really used the forms: POST for set and delete.
        for line in [
            "\"POST /set HTTP/1.1\" 200",
            "\"GET /get?key=greeting HTTP/1.1\" 200",
            "\"POST /delete HTTP/1.1\" 200",
            "\"GET /get?key=greeting HTTP/1.1\" 404",
        ] {
            web.wait_for_stderr(line);
        }
    }
}

/// torsion-proxy against third-party peers: curl through the forward
/// proxy (`-x`, plain and `https://` through CONNECT to Python's ssl),
/// the seeds' Python client against the line proxy, and Debian's
/// memcached as the cache of two proxies.
mod proxy_interop {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::time::{Duration, Instant};

    use torsion_tests::{read_all, Origin, Reference, Server, TIMEOUT};

    use super::{interop_dir, python};

    fn proxy(args: &[&str]) -> Server {
        let mut all = vec!["-p", "0"];
        all.extend_from_slice(args);
        Server::start("torsion-proxy", &all)
    }

    /// The forward proxy's `http://127.0.0.1:PORT`, from its second line.
    fn http_proxy_url(server: &Server) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let out = String::from_utf8_lossy(&server.stdout()).into_owned();
            if let Some(addr) = out
                .lines()
                .find_map(|l| l.strip_prefix("torsion-proxy http listening on "))
            {
                return format!("http://{}", addr.trim());
            }
            assert!(Instant::now() < deadline, "no http announcement: {out:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn curl(args: &[&str]) -> String {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "20"])
            .args(args)
            .output()
            .expect("run curl");
        assert!(
            out.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A fresh folder of its own.
    fn scratch(name: &str) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("torsion-proxy-interop-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A test CA and a certificate for localhost signed by it.
    fn test_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Torsion proxy interop CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let paths = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&paths.0, ca.pem()).unwrap();
        std::fs::write(&paths.1, cert.pem()).unwrap();
        std::fs::write(&paths.2, key.serialize_pem()).unwrap();
        paths
    }

    /// Python's ssl answering `hello over tls` on localhost.
    fn https_origin(dir: &Path) -> (Reference, PathBuf) {
        let (ca, cert, key) = test_pki(dir);
        let script = interop_dir().join("https_server.py");
        let server = Reference::start(
            "python3",
            &[
                script.to_str().unwrap(),
                "{port}",
                cert.to_str().unwrap(),
                key.to_str().unwrap(),
            ],
        );
        (server, ca)
    }

    #[test]
    fn curl_x_gets_pages_through_the_forward_proxy() {
        let origin = Origin::start();
        let server = proxy(&["--http-port", "0"]);
        let via = http_proxy_url(&server);
        assert_eq!(curl(&["-x", &via, &origin.url("/hello")]), "hello\n");
        // The head, as curl sees it.
        let head = curl(&["-x", &via, "-I", &origin.url("/bytes/1234")]);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("Content-Length: 1234"), "{head}");
        assert!(head.contains("Via: 1.1 torsion-proxy"), "{head}");
        // Two URLs, one kept connection to the proxy.
        let out = Command::new("curl")
            .args(["-sS", "-v", "--max-time", "20", "-x", &via])
            .args([origin.url("/hello"), origin.url("/redirect/0")])
            .output()
            .unwrap();
        let verbose = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{verbose}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
        assert!(verbose.contains("Re-using existing connection"), "{verbose}");
        assert!(
            verbose.contains("< HTTP/1.1 302"),
            "redirects are passed on: {verbose}"
        );
        // curl follows them itself with -L.
        assert_eq!(curl(&["-L", "-x", &via, &origin.url("/redirect/2")]), "hello\n");
        // A large body, whole.
        let big = Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "30",
                "-x",
                &via,
                &origin.url("/bytes/20000000"),
            ])
            .output()
            .unwrap();
        assert!(big.status.success());
        assert_eq!(big.stdout.len(), 20_000_000);
        assert!(big
            .stdout
            .iter()
            .enumerate()
            .all(|(i, b)| *b == torsion_tests::origin::pattern(i as u64)));
        // An origin that is not there: 502, and curl says so.
        let out = Command::new("curl")
            .args([
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-x",
                &via,
                "http://127.0.0.1:1/",
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "502");
    }

    #[test]
    fn curl_x_https_tunnels_through_connect() {
        let dir = scratch("tls");
        let (https, ca) = https_origin(&dir);
        let server = proxy(&["--http-port", "0"]);
        let via = http_proxy_url(&server);
        let url = format!("https://localhost:{}/", https.port());
        assert_eq!(
            curl(&["--cacert", ca.to_str().unwrap(), "-x", &via, &url]),
            "hello over tls\n"
        );
        // --proxytunnel makes curl use CONNECT for plain http too.
        let origin = Origin::start();
        assert_eq!(curl(&["-p", "-x", &via, &origin.url("/hello")]), "hello\n");
        server.wait_for_stderr(&format!("CONNECT localhost:{}: tunnel open", https.port()));
        // The line proxy fetches https pages itself, trusting the CA it is given.
        let line = proxy(&["--ca-file", ca.to_str().unwrap()]);
        let mut s = line.connect();
        s.write_all(format!("{url}\r\n").as_bytes()).unwrap();
        assert_eq!(read_all(&mut s), b"hello over tls\n");
    }

    #[test]
    fn the_seeds_threaded_python_client_gets_every_page_at_once() {
        let origin = Origin::start();
        let server = proxy(&[]);
        // The origin answers none of the four until all four wait at once
        // (`/together/4`): only a client and a proxy that both fetch
        // concurrently get them, on a quiet machine or a loaded one.
        let urls: Vec<String> = ["a", "b", "c", "d"]
            .iter()
            .map(|tag| origin.url(&format!("/together/4/{tag}")))
            .collect();
        let mut args = vec!["multiclient.py", server.addr(), "--threads"];
        args.extend(urls.iter().map(String::as_str));
        let out = python(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "together 4\n".repeat(4));
    }

    /// `get <key>` straight from memcached: the value's length, if any.
    fn memcached_get_len(addr: &str, key: &str) -> Option<usize> {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        s.write_all(format!("get {key}\r\n").as_bytes()).unwrap();
        let mut reply = Vec::new();
        let mut buf = [0u8; 65536];
        while !reply.ends_with(b"END\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0);
            reply.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&reply);
        let first = text.lines().next()?;
        first
            .strip_prefix("VALUE ")?
            .split_whitespace()
            .nth(2)?
            .parse()
            .ok()
    }

    #[test]
    fn debian_memcached_caches_pages_for_two_proxies() {
        let origin = Origin::start();
        let memcached = Reference::memcached(&[]);
        let spec = format!("memcached://{}", memcached.addr());
        let one = proxy(&["--cache", &spec]);
        let two = proxy(&["--cache", &spec]);
        let ask = |server: &Server, url: &str| {
            let mut s = server.connect();
            s.write_all(format!("{url}\r\n").as_bytes()).unwrap();
            read_all(&mut s)
        };
        let url = origin.url("/bytes/300000");
        let page = ask(&one, &url);
        assert_eq!(page.len(), 300_000);
        assert_eq!(ask(&two, &url), page);
        assert_eq!(ask(&one, &url), page);
        assert_eq!(origin.hits("/bytes/300000"), 1);
        // Stored under the URL, as the seeds' getMemcachedPage does.
        assert_eq!(memcached_get_len(&memcached.addr(), &url), Some(300_000));
        // The largest page one default item holds is cached; past it, not.
        let fits = origin.url("/bytes/1000000");
        let too_big = origin.url("/bytes/1100000");
        for _ in 0..2 {
            assert_eq!(ask(&one, &fits).len(), 1_000_000);
            assert_eq!(ask(&two, &too_big).len(), 1_100_000);
        }
        assert_eq!(origin.hits("/bytes/1000000"), 1);
        assert_eq!(origin.hits("/bytes/1100000"), 2);
        assert_eq!(memcached_get_len(&memcached.addr(), &too_big), None);
        assert!(
            !one.stderr().contains("memcached is unreachable"),
            "{}",
            one.stderr()
        );
    }
}

// ----- docs/tutorial.md: the commands that need netcat, curl or memcached ---------

/// The tutorial's sections that have commands needing third-party
/// programs, run whole: the commands the default suite runs
/// (`tests/tutorial.rs`) and those it leaves out. `.ci/run` installs
/// netcat-openbsd and curl.
mod tutorial_interop {
    use super::tutorial_harness as harness;

    #[test]
    fn the_tutorials_commands_that_need_netcat_curl_or_memcached() {
        let sections: Vec<String> = harness::sections()
            .into_iter()
            .filter(|s| s.has_interop())
            .map(|s| s.slug)
            .collect();
        assert!(sections.len() >= 5, "interop sections: {sections:?}");
        let mut failed = Vec::new();
        for slug in &sections {
            let run = std::panic::catch_unwind(|| harness::run_section(slug, harness::Suite::Interop));
            if run.is_err() {
                failed.push(slug.clone());
            }
        }
        assert!(failed.is_empty(), "sections that failed (see above): {failed:?}");
    }
}

#[path = "tutorial/harness.rs"]
mod tutorial_harness;

// ----- Perspective Broker (issue 18): against Twisted's PB client and server. -----

mod pb_interop;
