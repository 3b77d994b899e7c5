//! torsion-hello prints what its clients send.

use torsion_tests::{send, Server};

#[test]
fn prints_every_byte_from_many_clients() {
    let mut server = Server::start("torsion-hello", &["-p", "0"]);
    let mut clients: Vec<_> = (0..20).map(|_| server.connect()).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        send(client, format!("<{i}>").as_bytes());
    }
    drop(clients);
    // Once every connection has closed, everything was printed.
    let deadline = std::time::Instant::now() + torsion_tests::TIMEOUT;
    while server.stderr().matches("connection closed cleanly").count() < 20 {
        assert!(std::time::Instant::now() < deadline, "{}", server.stderr());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    server.signal(libc::SIGTERM);
    assert_eq!(server.wait().code(), Some(0));
    let printed = String::from_utf8(server.stdout()).unwrap();
    for i in 0..20 {
        assert!(
            printed.contains(&format!("<{i}>")),
            "missing <{i}> in {printed:?}"
        );
    }
}
