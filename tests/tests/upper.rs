//! torsion-upper over real sockets: many clients, descriptor exhaustion, SIGTERM.

use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use torsion_tests::{read_all, read_line, send, Server};

const GREETING: &str = "Hi! Send me text to convert to uppercase\n";

#[test]
fn five_hundred_clients_at_once_each_get_their_own_reply() {
    let server = Server::start("torsion-upper", &["-p", "0"]);
    // Connect all 500 first, so they are all open at the same time.
    let mut clients: Vec<TcpStream> = (0..500).map(|_| server.connect()).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        send(client, format!("client number {i}\r\n").as_bytes());
    }
    for (i, mut client) in clients.into_iter().enumerate() {
        let reply = String::from_utf8(read_all(&mut client)).unwrap();
        assert_eq!(reply, format!("{GREETING}CLIENT NUMBER {i}\r\n"));
    }
}

#[test]
fn count_announces_connected_clients() {
    let server = Server::start("torsion-upper", &["-p", "0", "--count"]);
    let mut first = server.connect();
    assert_eq!(read_line(&mut first), "Hi! There are 1 clients\n");
    let mut second = server.connect();
    assert_eq!(read_line(&mut second), "Hi! There are 2 clients\n");
}

#[test]
fn sigterm_closes_clients_cleanly_and_exits_zero() {
    let mut server = Server::start("torsion-upper", &["-p", "0", "--keep-open"]);
    let mut clients: Vec<TcpStream> = (0..10).map(|_| server.connect()).collect();
    for client in &mut clients {
        assert_eq!(read_line(client), GREETING);
        send(client, b"still here\n");
        assert_eq!(read_line(client), "STILL HERE\n");
    }
    server.signal(libc::SIGTERM);
    for client in &mut clients {
        // A clean close: end-of-file, not a reset.
        assert_eq!(read_all(client), b"");
    }
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", server.stderr());
    assert!(server.stderr().contains("received SIGTERM"));
}

#[test]
fn sigint_stops_too() {
    let mut server = Server::start("torsion-upper", &["-p", "0"]);
    server.signal(libc::SIGINT);
    assert_eq!(server.wait().code(), Some(0));
}

#[test]
fn out_of_descriptors_it_pauses_instead_of_spinning_and_recovers() {
    // 64 descriptors: after stdio, epoll, the signal pipe and the listener,
    // fewer than 64 connections fit. 200 clients exhaust them.
    let mut command = std::process::Command::new("sh");
    command.args([
        "-c",
        "ulimit -n 64 && exec \"$0\" \"$@\"",
        torsion_tests::binary("torsion-upper").to_str().unwrap(),
        "-p",
        "0",
        "--keep-open",
    ]);
    let server = Server::spawn(command);
    let clients: Vec<TcpStream> = (0..200).map(|_| server.connect()).collect();

    // Give the server time to accept what it can and hit EMFILE.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.stderr().contains("pausing") {
        assert!(
            Instant::now() < deadline,
            "no EMFILE pause logged:\n{}",
            server.stderr()
        );
        thread::sleep(Duration::from_millis(20));
    }

    // Not spinning: over one second it uses a small fraction of a CPU.
    let before = server.cpu_time();
    thread::sleep(Duration::from_secs(1));
    let used = server.cpu_time() - before;
    assert!(
        used < Duration::from_millis(300),
        "used {used:?} of CPU in 1 s while out of descriptors"
    );

    // Still responsive: an accepted client is served.
    let mut first = clients.into_iter().next().unwrap();
    assert_eq!(read_line(&mut first), GREETING);
    send(&mut first, b"alive\n");
    assert_eq!(read_line(&mut first), "ALIVE\n");

    // Once clients leave, descriptors free up and new clients are served:
    // the backlog drains and a fresh connection gets its greeting.
    drop(first);
    thread::sleep(Duration::from_millis(300));
    let mut late = server.connect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let greeting = read_line(&mut late);
    assert!(Instant::now() < deadline);
    assert_eq!(greeting, GREETING);
    send(&mut late, b"served again\n");
    assert_eq!(read_line(&mut late), "SERVED AGAIN\n");
    late.shutdown(Shutdown::Both).ok();
}
