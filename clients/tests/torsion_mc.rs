//! torsion-mc against torsion-memcached servers running in this process
//! (each on its own reactor thread), and against servers that are not
//! there or never answer.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use torsion::{Reactor, ReactorHandle};
use torsion_servers::memcached::server::{MemcacheFactory, Settings};

/// torsion-memcached's factory on a reactor in a thread.
struct Memcached {
    addr: SocketAddr,
    handle: ReactorHandle,
    thread: Option<thread::JoinHandle<()>>,
}

impl Memcached {
    fn start() -> Memcached {
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            let mut reactor = Reactor::new().expect("reactor");
            let factory = MemcacheFactory::new(&reactor, Settings::default());
            let listener = reactor
                .listen_tcp("127.0.0.1:0".parse().expect("addr"), factory)
                .expect("listen");
            let addr = reactor
                .local_addr(listener)
                .and_then(|a| a.as_socket_addr())
                .expect("tcp");
            tx.send((addr, reactor.handle().expect("handle"))).expect("send");
            reactor.run().expect("run");
        });
        let (addr, handle) = rx.recv_timeout(Duration::from_secs(20)).expect("server started");
        Memcached {
            addr,
            handle,
            thread: Some(thread),
        }
    }

    /// Sends one raw request and reads until `end` ends the reply.
    fn raw(&self, request: &str, end: &str) -> String {
        let mut s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut reply = Vec::new();
        let mut buf = [0; 4096];
        while !reply.ends_with(end.as_bytes()) {
            let n = s.read(&mut buf).expect("read");
            assert!(n > 0, "closed");
            reply.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&reply).into_owned()
    }
}

impl Drop for Memcached {
    fn drop(&mut self) {
        let _ = self.handle.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs torsion-mc with `--servers servers` and `args`.
fn mc(servers: &str, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_torsion-mc"));
    command.args(["--servers", servers]).args(args);
    run(command)
}

/// Runs `command` to the end; fails the test if it takes over 30 s.
fn run(mut command: Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run torsion-mc");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("torsion-mc did not finish in 30 s");
        }
        thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().expect("the output")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn set_then_get_prints_the_value_alone() {
    let server = Memcached::start();
    let addr = server.addr.to_string();
    let set = mc(&addr, &["set", "greeting", "hello, world"]);
    assert_eq!(
        (code(&set), stdout(&set), stderr(&set)),
        (0, String::new(), String::new())
    );
    let get = mc(&addr, &["get", "greeting"]);
    assert_eq!(code(&get), 0, "{}", stderr(&get));
    assert_eq!(get.stdout, b"hello, world", "the value alone, no newline");
}

#[test]
fn a_miss_exits_1_and_prints_nothing() {
    let server = Memcached::start();
    let get = mc(&server.addr.to_string(), &["get", "nobody"]);
    assert_eq!(code(&get), 1);
    assert!(get.stdout.is_empty());
}

#[test]
fn set_takes_flags_and_a_ttl() {
    let server = Memcached::start();
    let addr = server.addr.to_string();
    assert_eq!(
        code(&mc(&addr, &["set", "k", "v", "--flags", "7", "--ttl", "3600"])),
        0
    );
    assert_eq!(server.raw("get k\r\n", "END\r\n"), "VALUE k 7 1\r\nv\r\nEND\r\n");
    // An expiration time over 30 days is a unix time: 1970 expires it at once.
    assert_eq!(code(&mc(&addr, &["set", "old", "v", "--ttl", "2592001"])), 0);
    assert_eq!(code(&mc(&addr, &["get", "old"])), 1);
}

#[test]
fn delete_and_incr_exit_1_on_a_missing_key() {
    let server = Memcached::start();
    let addr = server.addr.to_string();
    assert_eq!(code(&mc(&addr, &["set", "n", "41"])), 0);
    let incr = mc(&addr, &["incr", "n", "1"]);
    assert_eq!((code(&incr), stdout(&incr)), (0, "42\n".to_string()));
    assert_eq!(code(&mc(&addr, &["delete", "n"])), 0);
    let again = mc(&addr, &["delete", "n"]);
    assert_eq!(code(&again), 1);
    assert!(stderr(&again).contains("not found"));
    assert_eq!(code(&mc(&addr, &["incr", "n", "1"])), 1);
    assert_eq!(code(&mc(&addr, &["set", "text", "abc"])), 0);
    let bad = mc(&addr, &["incr", "text", "1"]);
    assert_eq!(code(&bad), 2);
    assert!(stderr(&bad).contains("CLIENT_ERROR"), "{}", stderr(&bad));
}

#[test]
fn keys_spread_over_several_servers_and_come_back() {
    let (a, b) = (Memcached::start(), Memcached::start());
    let servers = format!("{},{}", a.addr, b.addr);
    // 30 keys: the chance that all land on one server is 2 in a billion.
    for i in 0..30 {
        let key = format!("spread-{i}");
        assert_eq!(code(&mc(&servers, &["set", &key, &format!("v{i}")])), 0);
    }
    for i in 0..30 {
        let get = mc(&servers, &["get", &format!("spread-{i}")]);
        assert_eq!((code(&get), stdout(&get)), (0, format!("v{i}")));
    }
    let items = |s: &Memcached| -> u64 {
        let stats = s.raw("stats\r\n", "END\r\n");
        stats
            .lines()
            .find_map(|l| l.strip_prefix("STAT curr_items "))
            .and_then(|n| n.trim().parse().ok())
            .expect("curr_items")
    };
    let (on_a, on_b) = (items(&a), items(&b));
    assert_eq!(on_a + on_b, 30);
    assert!(on_a > 0 && on_b > 0, "{on_a} and {on_b}");
}

#[test]
fn stats_prints_every_servers_figures_and_flush_empties_them() {
    let (a, b) = (Memcached::start(), Memcached::start());
    let servers = format!("{},{}", a.addr, b.addr);
    let stats = mc(&servers, &["stats"]);
    assert_eq!(code(&stats), 0, "{}", stderr(&stats));
    let text = stdout(&stats);
    for server in [a.addr, b.addr] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{server} pid "))),
            "{text}"
        );
        assert!(text
            .lines()
            .any(|l| l.starts_with(&format!("{server} curr_items "))));
    }
    let settings = mc(&a.addr.to_string(), &["stats", "settings"]);
    assert!(stdout(&settings).contains(" maxconns "), "{}", stdout(&settings));
    assert_eq!(code(&mc(&servers, &["set", "x", "1"])), 0);
    assert_eq!(code(&mc(&servers, &["flush"])), 0);
    assert_eq!(code(&mc(&servers, &["get", "x"])), 1);
}

#[test]
fn a_server_that_is_not_there_exits_2_with_the_reason() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let out = mc(&format!("127.0.0.1:{port}"), &["get", "k"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("connection refused"), "{}", stderr(&out));
}

#[test]
fn a_server_that_never_answers_times_out() {
    // Accepts (the kernel does), never reads nor answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().unwrap().to_string();
    let out = mc(&addr, &["--timeout", "0.3", "get", "k"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("no reply within"), "{}", stderr(&out));
}

#[test]
fn bad_arguments_exit_2() {
    let server = Memcached::start();
    let addr = server.addr.to_string();
    let mut command = Command::new(env!("CARGO_BIN_EXE_torsion-mc"));
    command.args(["get", "k"]);
    let no_servers = run(command);
    assert_eq!(code(&no_servers), 2);
    let bad_server = mc("localhost:port", &["get", "k"]);
    assert_eq!(code(&bad_server), 2);
    assert!(
        stderr(&bad_server).contains("bad server"),
        "{}",
        stderr(&bad_server)
    );
    let bad_key = mc(&addr, &["get", "two words"]);
    assert_eq!(code(&bad_key), 2);
    assert!(
        stderr(&bad_key).contains("invalid request"),
        "{}",
        stderr(&bad_key)
    );
    assert_eq!(code(&mc(&addr, &["incr", "k", "-1"])), 2);
    assert_eq!(code(&mc(&addr, &["frobnicate"])), 2);
}
