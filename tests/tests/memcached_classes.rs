//! torsion-memcached's size classes over real sockets: items land in
//! memcached's class numbers, `-m` evicts per class, and the per-class
//! reports (`stats items`, `stats slabs`, `stats cachedump`, `slabs`) answer
//! as memcached 1.6 does for the same traffic.

use std::collections::HashMap;
use std::net::TcpStream;

use torsion_tests::memcache::expect;
use torsion_tests::{read_line, send, Server};

fn start(args: &[&str]) -> Server {
    let mut all = vec!["-p", "0"];
    all.extend_from_slice(args);
    Server::start("torsion-memcached", &all)
}

/// Every `STAT name value` line of `stats <group>`, up to `END`.
fn stats(stream: &mut TcpStream, group: &str) -> HashMap<String, String> {
    send(stream, format!("stats {group}\r\n").as_bytes());
    let mut out = HashMap::new();
    loop {
        let line = read_line(stream);
        let line = line.trim_end();
        if line == "END" {
            return out;
        }
        let mut words = line.splitn(3, ' ');
        assert_eq!(words.next(), Some("STAT"), "{line}");
        let (name, value) = (words.next().unwrap(), words.next().unwrap_or(""));
        out.insert(name.to_string(), value.to_string());
    }
}

#[test]
fn items_land_in_memcached_classes_and_evict_per_class() {
    // issue_22.t's traffic: 66,560-byte values in 3 MB.
    let server = start(&["-m", "3"]);
    let mut c = server.connect();
    let value = "B".repeat(66560);
    for i in 0..40 {
        let set = format!("set key{i} 0 0 66560\r\n{value}\r\n");
        expect(&mut c, set.as_bytes(), b"STORED\r\n");
    }
    // A small item has its own class (and page) and evicts nothing.
    expect(&mut c, b"set small 0 0 1\r\nx\r\n", b"STORED\r\n");
    let items = stats(&mut c, "items");
    assert_eq!(items["items:31:number"], "36");
    assert_eq!(items["items:31:evicted"], "4");
    assert_eq!(items["items:1:number"], "1");
    assert_eq!(items["items:1:evicted"], "0");
    let slabs = stats(&mut c, "slabs");
    assert_eq!(slabs["31:chunk_size"], "82792");
    assert_eq!(slabs["31:total_pages"], "3");
    assert_eq!(slabs["1:chunk_size"], "96");
    assert_eq!(slabs["active_slabs"], "2");
    assert_eq!(slabs["total_malloced"], (4 * 1024 * 1024).to_string());
    // The most recently stored first.
    expect(
        &mut c,
        b"stats cachedump 31 2\r\n",
        b"ITEM key39 [66560 b; 0 s]\r\nITEM key38 [66560 b; 0 s]\r\nEND\r\n",
    );
    // A page moves from class 31 to class 2, evicting its 12 oldest items.
    expect(
        &mut c,
        b"slabs reassign 31 31\r\n",
        b"SAME src and dst class are identical\r\n",
    );
    expect(
        &mut c,
        b"slabs reassign 1 2\r\n",
        b"NOSPARE source class has no spare pages\r\n",
    );
    expect(&mut c, b"slabs reassign 31 2\r\n", b"OK\r\n");
    let slabs = stats(&mut c, "slabs");
    assert_eq!(
        (slabs["31:total_pages"].as_str(), slabs["2:total_pages"].as_str()),
        ("2", "1")
    );
    expect(&mut c, b"get key4\r\n", b"END\r\n");
    expect(&mut c, b"slabs automove 0\r\n", b"OK\r\n");
    expect(&mut c, b"slabs automove 9\r\n", b"ERROR\r\n");
}

#[test]
fn the_largest_item_is_memcached_s() {
    let server = start(&[]);
    let mut c = server.connect();
    // 1 MiB = 48 header + "k" and NUL + value + CRLF + 8 CAS.
    let max = 1024 * 1024 - 48 - 2 - 2 - 8;
    let set = format!("set k 0 0 {max}\r\n{}\r\n", "v".repeat(max));
    expect(&mut c, set.as_bytes(), b"STORED\r\n");
    let set = format!("set j 0 0 {}\r\n{}\r\n", max + 1, "v".repeat(max + 1));
    expect(
        &mut c,
        set.as_bytes(),
        b"SERVER_ERROR object too large for cache\r\n",
    );
    // Chunked: a header in class 2, a full 512 KiB chunk and the rest, in
    // the largest class's LRU.
    let items = stats(&mut c, "items");
    assert_eq!(items["items:39:number"], "1");
    let slabs = stats(&mut c, "slabs");
    assert_eq!(slabs["39:used_chunks"], "2");
    assert_eq!(slabs["2:used_chunks"], "1");
}
