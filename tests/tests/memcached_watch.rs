//! torsion-memcached's log watchers (`watch`) over real sockets: the line
//! format, a watcher that does not read (lines dropped and counted, the
//! clients never slowed), the watcher count, and `-W`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use torsion_tests::memcache::stat;
use torsion_tests::{send, Server, TIMEOUT};

fn start(args: &[&str]) -> Server {
    let mut all = vec!["-p", "0"];
    all.extend_from_slice(args);
    Server::start("torsion-memcached", &all)
}

fn line(reader: &mut BufReader<TcpStream>) -> String {
    let mut text = String::new();
    reader.read_line(&mut text).expect("a line");
    text
}

/// Polls `stat` until it reads `want` (the server sees a close a little
/// after the client makes it).
fn wait_for_stat(stream: &mut TcpStream, name: &str, want: u64) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let got = stat(stream, name);
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "{name} stayed {got}, wanted {want}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn watchers_see_gets_and_stores_in_memcacheds_format() {
    let server = start(&[]);
    let mut watcher = BufReader::new(server.connect());
    send(watcher.get_mut(), b"watch fetchers mutations\r\n");
    assert_eq!(line(&mut watcher), "OK\r\n");
    let mut client = server.connect();
    send(&mut client, b"set a#b 0 0 5 noreply\r\nhello\r\nget a#b\r\n");
    let mut reply = vec![0; b"VALUE a#b 0 5\r\nhello\r\nEND\r\n".len()];
    client.read_exact(&mut reply).unwrap();
    let fields = |l: &str| -> Vec<String> { l.split(' ').skip(2).map(str::to_string).collect() };
    let first = line(&mut watcher);
    assert!(first.starts_with("ts="), "{first}");
    assert_eq!(
        fields(&first)[..4],
        ["type=item_get", "key=a%23b", "status=not_found", "clsid=0"]
    );
    let store = line(&mut watcher);
    assert_eq!(
        fields(&store)[..5],
        [
            "type=item_store",
            "key=a%23b",
            "status=stored",
            "cmd=set",
            "ttl=0"
        ]
    );
    assert!(store.ends_with(" size=5\n"), "{store}");
    let get = line(&mut watcher);
    assert_eq!(fields(&get)[..3], ["type=item_get", "key=a%23b", "status=found"]);
    assert_eq!(stat(&mut client, "log_watchers"), 1);
}

#[test]
fn a_watcher_that_does_not_read_loses_lines_not_the_clients_time() {
    let server = start(&["-o", "watcher_logbuf_size=8"]);
    let mut watcher = BufReader::new(server.connect());
    send(watcher.get_mut(), b"watch fetchers\r\n");
    assert_eq!(line(&mut watcher), "OK\r\n");
    let mut client = server.connect();
    // About 40 MB of log lines for a watcher that reads nothing: far past
    // every socket and transport buffer on the way.
    let key = "k".repeat(200);
    let batch = format!("get {key}\r\n").repeat(1000);
    for _ in 0..150 {
        send(&mut client, batch.as_bytes());
        let mut replies = vec![0; 1000 * 5];
        client.read_exact(&mut replies).expect("the clients are served");
    }
    let skipped = stat(&mut client, "log_watcher_skipped");
    assert!(skipped > 0, "nothing skipped");
    assert!(stat(&mut client, "log_watcher_sent") > 0);
    // Reading again, the watcher is told how much it missed.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        send(&mut client, b"get x\r\n");
        let mut end = [0; 5];
        client.read_exact(&mut end).unwrap();
        let l = line(&mut watcher);
        if l.contains("skipped=") {
            break;
        }
        assert!(Instant::now() < deadline, "no skipped= line");
    }
    drop(watcher);
    wait_for_stat(&mut client, "log_watchers", 0);
}

#[test]
fn connection_events_and_the_w_flag() {
    let server = start(&[]);
    let mut watcher = BufReader::new(server.connect());
    send(watcher.get_mut(), b"watch connevents\r\n");
    assert_eq!(line(&mut watcher), "OK\r\n");
    let mut client = server.connect();
    send(&mut client, b"quit\r\n");
    let opened = line(&mut watcher);
    assert!(opened.contains(" type=conn_new rip=127.0.0.1 "), "{opened}");
    let closed = line(&mut watcher);
    assert!(
        closed.contains(" type=conn_close ") && closed.contains(" reason=normal "),
        "{closed}"
    );

    let refusing = start(&["-W"]);
    let mut conn = refusing.connect();
    send(&mut conn, b"watch mutations\r\n");
    let mut reply = vec![0; b"CLIENT_ERROR watch commands not allowed\r\n".len()];
    conn.read_exact(&mut reply).unwrap();
    assert_eq!(reply, b"CLIENT_ERROR watch commands not allowed\r\n");
    conn.write_all(b"version\r\n").unwrap();
}
