//! torsion-kv's Perspective Broker port, torsion-kvc --pb and torsion-kvweb
//! --pb as shipped: the real binaries over real sockets on 127.0.0.1, with
//! Twisted's own client bytes on the wire (the Twisted programs themselves
//! are in the interop suite).

mod http_util;

use std::io::Read;
use std::net::TcpStream;
use std::process::Command;

use http_util::Conn;
use torsion_protocols::banana::{BananaDecoder, Dialect, Item};
use torsion_protocols::{Decoder, Parsed};
use torsion_tests::{binary, run, send, Ran, Server, TIMEOUT};

fn torsion_kv() -> Server {
    Server::start("torsion-kv", &["-p", "0", "--amp-port", "0", "--pb-port", "0"])
}

/// Reads `n` Banana expressions (in `dialect`) from `stream`.
fn expressions(stream: &mut TcpStream, dialect: Dialect, n: usize) -> Vec<Item<'static>> {
    let mut decoder = BananaDecoder::new(dialect);
    let (mut buffer, mut got) = (Vec::new(), Vec::new());
    let mut chunk = [0u8; 4096];
    while got.len() < n {
        match decoder.decode(&buffer) {
            Parsed::Complete(item, used) => {
                buffer.drain(..used);
                got.push(item);
            }
            Parsed::Incomplete => {
                let read = stream.read(&mut chunk).expect("read");
                assert!(read > 0, "closed after {got:?}");
                buffer.extend_from_slice(&chunk[..read]);
            }
            Parsed::Error(e) => panic!("{e}"),
        }
    }
    assert!(buffer.is_empty(), "more than {n} expressions");
    got
}

/// Twisted 26.1's PB client, byte for byte: its dialect, its version, then
/// `callRemote("set", "k", "v")` and `callRemote("get", "k")`.
const TWISTED_CLIENT: &[u8] = b"\x02\x82pb\x02\x80\x13\x87\x06\x81\
\x07\x80\x1a\x87\x01\x81\x04\x82root\x03\x82set\x01\x81\x03\x80\x0b\x87\x02\x80\x07\x82unicode\x01\x82k\x02\x80\x07\x82unicode\x01\x82v\x01\x80\x05\x87\
\x07\x80\x1a\x87\x02\x81\x04\x82root\x03\x82get\x01\x81\x02\x80\x0b\x87\x02\x80\x07\x82unicode\x01\x82k\x01\x80\x05\x87";

#[test]
fn the_pb_port_answers_twisteds_client_bytes() {
    let kv = torsion_kv();
    let mut stream = TcpStream::connect(kv.announced("torsion-kv pb")).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let offer = expressions(&mut stream, Dialect::Plain, 1);
    assert_eq!(offer[0].to_string(), "(pb none)");
    send(&mut stream, TWISTED_CLIENT);
    let replies: Vec<String> = expressions(&mut stream, Dialect::Pb, 3)
        .iter()
        .map(|e| e.to_string())
        .collect();
    // set answers the key, as the seeds' KeyValueStore.set returns it.
    assert_eq!(
        replies,
        ["(version 6)", "(answer 1 (unicode k))", "(answer 2 (unicode v))"]
    );
    // And the line protocol sees the same store.
    let mut line = kv.connect();
    send(&mut line, b"get k\r\n");
    assert_eq!(torsion_tests::read_line(&mut line), "VALUE k v\r\n");
}

/// torsion-kvc over PB to `server`.
fn kvc(server: &str, args: &[&str]) -> Ran {
    let mut all = vec!["--pb", "--timeout", "20", "-s", server];
    all.extend_from_slice(args);
    run("torsion-kvc", &all)
}

#[test]
fn torsion_kvc_over_pb() {
    let kv = torsion_kv();
    let pb = kv.announced("torsion-kv pb");
    assert_eq!(kvc(&pb, &["set", "greeting", "hello", "pb"]).stdout, "STORED\n");
    assert_eq!(kvc(&pb, &["get", "greeting"]).stdout, "hello pb\n");
    assert_eq!(kvc(&pb, &["--bytes", "get", "greeting"]).stdout, "hello pb\n");
    assert_eq!(kvc(&pb, &["delete", "greeting"]).stdout, "DELETED\n");
    let missing = kvc(&pb, &["get", "greeting"]);
    assert_eq!(
        (missing.code, missing.stderr.as_str()),
        (Some(1), "torsion-kvc: key not found: greeting\n")
    );
    assert_eq!(kvc(&pb, &["delete", "greeting"]).code, Some(1));
}

#[test]
fn torsion_kvweb_over_pb() {
    let kv = torsion_kv();
    let pb = kv.announced("torsion-kv pb");
    let web = Server::start("torsion-kvweb", &["-p", "0", "--pb", "--kv", &pb]);
    assert_eq!(kvc(&pb, &["set", "greeting", "hello over pb"]).stdout, "STORED\n");
    let mut c = Conn::new(web.connect());
    let r = c.get("/api/keys/greeting");
    assert_eq!(
        (r.status, r.text()),
        (
            200,
            "{\"key\":\"greeting\",\"value\":\"hello over pb\"}\n".to_string()
        )
    );
    let index = c.get("/").text();
    assert!(
        index.contains(&format!("Connected to torsion-kv at {pb}.")),
        "{index}"
    );
    let r = c.get("/get?key=nothing");
    assert_eq!(r.status, 404, "{}", r.text());
}

#[test]
fn help_names_the_pb_flags_and_the_ports() {
    let help = |bin: &str| {
        let out = Command::new(binary(bin)).arg("--help").output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let kv = help("torsion-kv");
    assert!(
        kv.contains("--pb-port") && kv.contains("[default: 8789]") && kv.contains("[default: 8790]"),
        "{kv}"
    );
    assert!(kv.contains("it was 8789 until PB took the seeds' port"), "{kv}");
    for bin in ["torsion-kvc", "torsion-kvweb"] {
        let text = help(bin);
        assert!(
            text.contains("--pb") && text.contains("--bytes") && text.contains("127.0.0.1:8789 with --pb"),
            "{text}"
        );
    }
    let out = Command::new(binary("torsion-kvc"))
        .args(["--bytes", "get", "k"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "--bytes needs --pb");
}
