//! torsion-memcached under backpressure inside one request: a single `get`
//! whose reply is larger than the reactor's write buffer limit (64 MiB) is
//! streamed to a slow reader, a budget at a time, and what was pipelined
//! after it is answered too.

use std::io::Read;
use std::thread;
use std::time::Duration;

use torsion_tests::memcache::rss_kib;
use torsion_tests::{send, Server};

const VALUE_LEN: usize = 1_000_000;
const KEYS: usize = 68;

#[test]
fn one_get_of_68_megabytes_streams_to_a_slow_reader() {
    let server = Server::start("torsion-memcached", &["-p", "0"]);
    let mut c = server.connect();
    let value: Vec<u8> = (0..VALUE_LEN).map(|i| b'a' + (i % 26) as u8).collect();
    send(&mut c, format!("set a 0 0 {VALUE_LEN}\r\n").as_bytes());
    send(&mut c, &value);
    send(&mut c, b"\r\n");
    let mut stored = [0; 8];
    c.read_exact(&mut stored).unwrap();
    assert_eq!(&stored, b"STORED\r\n");
    let before = rss_kib(server.pid());

    send(
        &mut c,
        format!("get{}\r\nversion\r\n", " a".repeat(KEYS)).as_bytes(),
    );
    // The reader takes nothing for a while: the server meets backpressure
    // inside the get, and must wait rather than compose 68 MB.
    thread::sleep(Duration::from_millis(200));

    let one = [format!("VALUE a 0 {VALUE_LEN}\r\n").as_bytes(), &value, b"\r\n"].concat();
    let mut most = before;
    let mut piece = vec![0; one.len()];
    for i in 0..KEYS {
        // Slowly: one value at a time, looking at the server in between.
        c.read_exact(&mut piece)
            .unwrap_or_else(|e| panic!("reading value {i}: {e}"));
        assert!(piece == one, "value {i} differs");
        if i % 8 == 0 {
            most = most.max(rss_kib(server.pid()));
        }
    }
    let mut tail = [0; 5 + 24];
    c.read_exact(&mut tail).unwrap();
    assert_eq!(&tail, b"END\r\nVERSION 1.6.38-torsion\r\n");
    // The server never held the reply: its memory grew by a few budgets,
    // not by 68 MB.
    let grown = most.saturating_sub(before);
    assert!(
        grown < 32 * 1024,
        "the server grew by {grown} KiB while streaming"
    );
}
