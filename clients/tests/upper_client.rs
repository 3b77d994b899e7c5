//! torsion-upper-client against a real torsion-upper server on 127.0.0.1.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use torsion::{Reactor, ReactorHandle};

/// Runs torsion-upper's factory on a reactor in a thread.
struct Server {
    addr: SocketAddr,
    handle: ReactorHandle,
    thread: Option<thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            let mut reactor = Reactor::new().expect("reactor");
            let factory = torsion_servers::upper::factory(torsion_servers::upper::Options::default());
            let listener = reactor
                .listen_tcp("127.0.0.1:0".parse().expect("addr"), factory)
                .expect("listen");
            let addr = reactor
                .local_addr(listener)
                .and_then(|a| a.as_socket_addr())
                .expect("tcp");
            let handle = reactor.handle().expect("handle");
            tx.send((addr, handle)).expect("send");
            reactor.run().expect("run");
        });
        let (addr, handle) = rx.recv_timeout(Duration::from_secs(20)).expect("server started");
        Server {
            addr,
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.handle.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn client() -> Command {
    Command::new(env!("CARGO_BIN_EXE_torsion-upper-client"))
}

#[test]
fn every_word_gets_its_reply_and_the_client_exits_zero() {
    let server = Server::start();
    let out = client()
        .arg(server.addr.to_string())
        .args(["a", "b", "c", "d"])
        .output()
        .expect("run the client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    for word in ["a", "b", "c", "d"] {
        assert!(stdout.contains(&format!("sending {word}")), "{stdout}");
        assert!(
            stdout.contains(&format!("received response for {word} (took")),
            "{stdout}"
        );
        assert!(stdout.lines().any(|l| l == word.to_uppercase()), "{stdout}");
    }
    assert!(
        stdout.contains("Hi! Send me text to convert to uppercase"),
        "{stdout}"
    );
    assert!(
        stdout
            .trim_end()
            .lines()
            .last()
            .unwrap_or("")
            .starts_with("finished, took"),
        "{stdout}"
    );
}

#[test]
fn a_server_that_is_not_there_is_a_failure_with_the_reason() {
    // Find a free port, then leave it closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let out = client()
        .arg(format!("127.0.0.1:{port}"))
        .arg("lonely")
        .output()
        .expect("run the client");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("connection refused"), "{stderr}");
    assert!(stderr.contains("\"lonely\""), "{stderr}");
}

#[test]
fn a_bad_server_argument_is_a_usage_error() {
    let out = client().args(["nonsense", "a"]).output().expect("run the client");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HOST:PORT"));
}
