//! torsion-memcached's log watchers (`watch`) over real sockets: the line
//! format (for text, meta and binary commands alike), a watcher that does
//! not read (lines dropped and counted, the clients never slowed), the
//! watcher count, and `-W`.

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

/// The fields of a watcher line after `ts=` and `gid=`, up to `cfd=`.
fn event(reader: &mut BufReader<TcpStream>) -> String {
    let text = line(reader);
    let fields: Vec<&str> = text
        .split_whitespace()
        .skip(2)
        .filter(|f| !f.starts_with("cfd="))
        .collect();
    fields.join(" ")
}

#[test]
fn meta_and_binary_commands_are_logged_as_memcached_logs_them() {
    let server = start(&[]);
    let mut watcher = BufReader::new(server.connect());
    send(watcher.get_mut(), b"watch fetchers mutations\r\n");
    assert_eq!(line(&mut watcher), "OK\r\n");
    let mut meta = server.connect();
    send(
        &mut meta,
        b"ms m 2 T0\r\nhi\r\nms m 1 MA\r\n!\r\nmg m v\r\nmg none v\r\nma m\r\nmd m\r\nmn\r\n",
    );
    let want = b"HD\r\nHD\r\nVA 3\r\nhi!\r\nEN\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nHD\r\nMN\r\n";
    let mut reply = vec![0; want.len()];
    meta.read_exact(&mut reply).unwrap();
    assert_eq!(String::from_utf8_lossy(&reply), String::from_utf8_lossy(want));
    // Every meta command but mn is a lookup first; ms is then a store.
    for expected in [
        "type=item_get key=m status=not_found clsid=0 size=0",
        "type=item_store key=m status=stored cmd=set ttl=0 clsid=1 size=2",
        "type=item_get key=m status=found clsid=1 size=2",
        "type=item_store key=m status=stored cmd=append ttl=0 clsid=1 size=3",
        "type=item_get key=m status=found clsid=1 size=3",
        "type=item_get key=none status=not_found clsid=0 size=0",
        "type=item_get key=m status=found clsid=1 size=3",
        "type=item_get key=m status=found clsid=1 size=3",
    ] {
        assert_eq!(event(&mut watcher), expected);
    }
    // Binary: a SET of "bk" and a GET of it.
    let mut binary = server.connect();
    let packet = |opcode: u8, extras: &[u8], key: &[u8], value: &[u8]| {
        let body = extras.len() + key.len() + value.len();
        let mut p = vec![0x80, opcode];
        p.extend_from_slice(&(key.len() as u16).to_be_bytes());
        p.extend_from_slice(&[extras.len() as u8, 0, 0, 0]);
        p.extend_from_slice(&(body as u32).to_be_bytes());
        p.extend_from_slice(&[0; 12]);
        p.extend_from_slice(extras);
        p.extend_from_slice(key);
        p.extend_from_slice(value);
        p
    };
    send(&mut binary, &packet(0x01, &[0; 8], b"bk", b"val"));
    send(&mut binary, &packet(0x00, &[], b"bk", &[]));
    // SET's 24-byte header, then GET's header, 4 bytes of flags and the value.
    let mut reply = vec![0; 24 + 24 + 4 + 3];
    binary.read_exact(&mut reply).unwrap();
    assert_eq!(&reply[reply.len() - 3..], b"val");
    for expected in [
        "type=item_get key=bk status=not_found clsid=0 size=0",
        "type=item_store key=bk status=stored cmd=set ttl=0 clsid=1 size=3",
        "type=item_get key=bk status=found clsid=1 size=3",
    ] {
        assert_eq!(event(&mut watcher), expected);
    }
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
