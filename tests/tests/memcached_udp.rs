//! torsion-memcached's UDP protocol (`-U PORT`) over real datagrams: text,
//! meta and binary requests, replies cut into 1400-byte datagrams, and the
//! datagrams memcached drops. A dropped datagram is always followed by one
//! that is answered, so no test waits for a reply that should not come.

use std::io::Read;
use std::net::UdpSocket;

use torsion_protocols::memcache::binary::{self, opcode};
use torsion_protocols::memcache::udp::{self, FrameHeader, Reassembly, MAX_DATAGRAM};
use torsion_tests::{send, Server, TIMEOUT};

/// A UDP port the OS just handed out and released.
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral UDP port")
}

/// Starts torsion-memcached with TCP on an OS-chosen port and UDP on a port
/// just released by the OS (tried again with another if it was taken
/// meanwhile); returns the server and a client socket connected to its UDP port.
fn start() -> (Server, UdpSocket) {
    for _ in 0..5 {
        let port = free_udp_port().to_string();
        let started = std::panic::catch_unwind(|| {
            Server::start("torsion-memcached", &["-p", "0", "-l", "127.0.0.1", "-U", &port])
        });
        if let Ok(server) = started {
            let client = UdpSocket::bind("127.0.0.1:0").unwrap();
            client.set_read_timeout(Some(TIMEOUT)).unwrap();
            client.connect(format!("127.0.0.1:{port}")).unwrap();
            return (server, client);
        }
    }
    panic!("could not start torsion-memcached with -U");
}

/// Sends `payload` as request `id` and returns the reply's messages (as
/// many as `messages`), each put together from its datagrams.
fn request(client: &UdpSocket, id: u16, payload: &[u8], messages: usize) -> Vec<Vec<u8>> {
    let mut datagram = Vec::new();
    udp::write_request(&mut datagram, id, payload);
    client.send(&datagram).unwrap();
    receive(client, id, messages)
}

/// Receives `messages` reply messages to request `id`.
fn receive(client: &UdpSocket, id: u16, messages: usize) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let mut current = Reassembly::new(id);
    let mut buf = [0; 65536];
    while got.len() < messages {
        let n = client.recv(&mut buf).expect("a reply datagram");
        assert!(n <= MAX_DATAGRAM, "a datagram of {n} bytes");
        let header = FrameHeader::parse(&buf[..n]).expect("a frame header");
        assert_eq!((header.request_id, header.reserved), (id, 0));
        if let Some(message) = current.add(&buf[..n]).unwrap() {
            got.push(message);
            current = Reassembly::new(id);
        }
    }
    got
}

fn text(messages: Vec<Vec<u8>>) -> Vec<String> {
    messages
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect()
}

#[test]
fn text_and_meta_requests_over_udp() {
    let (server, client) = start();
    assert_eq!(
        text(request(&client, 1, b"set foo 0 0 6\r\nfooval\r\n", 1)),
        ["STORED\r\n"]
    );
    for id in [161, 161, 162] {
        assert_eq!(
            text(request(&client, id, b"get foo\r\n", 1)),
            ["VALUE foo 0 6\r\nfooval\r\nEND\r\n"]
        );
    }
    // One message per key, END with the last, as memcached 1.6.
    assert_eq!(
        text(request(&client, 2, b"gets foo foo\r\n", 2)),
        [
            "VALUE foo 0 6 1\r\nfooval\r\n",
            "VALUE foo 0 6 1\r\nfooval\r\nEND\r\n"
        ]
    );
    assert_eq!(
        text(request(&client, 3, b"incr n 1\r\nmg foo v\r\nmn\r\n", 3)),
        ["NOT_FOUND\r\n", "VA 6\r\nfooval\r\n", "MN\r\n"]
    );
    // What UDP stored, TCP sees.
    let mut tcp = server.connect();
    send(&mut tcp, b"get foo\r\n");
    let mut reply = [0; 28];
    tcp.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"VALUE foo 0 6\r\nfooval\r\nEND\r\n");
}

#[test]
fn a_large_value_comes_in_numbered_datagrams() {
    let (_server, client) = start();
    let value: Vec<u8> = (0..20_000).map(|i| b'C' + (i % 24) as u8).collect();
    let set = [&b"set bigvalue 0 0 20000\r\n"[..], &value, b"\r\n"].concat();
    assert_eq!(text(request(&client, 1, &set, 1)), ["STORED\r\n"]);
    let mut datagram = Vec::new();
    udp::write_request(&mut datagram, 53, b"get bigvalue\r\n");
    client.send(&datagram).unwrap();
    let mut seen = [false; 15];
    let mut buf = [0; 65536];
    let mut message = vec![Vec::new(); 15];
    for _ in 0..15 {
        let n = client.recv(&mut buf).unwrap();
        let h = FrameHeader::parse(&buf[..n]).unwrap();
        assert_eq!((h.request_id, h.count), (53, 15));
        let i = usize::from(h.sequence);
        assert!(!seen[i], "sequence {i} twice");
        seen[i] = true;
        assert_eq!(n, if i < 14 { 1400 } else { 551 });
        message[i] = buf[8..n].to_vec();
    }
    let expected = [&b"VALUE bigvalue 0 20000\r\n"[..], &value, b"\r\nEND\r\n"].concat();
    assert_eq!(message.concat(), expected);
}

#[test]
fn binary_requests_over_udp() {
    let (_server, client) = start();
    let mut packets = Vec::new();
    binary::write_request(
        &mut packets,
        opcode::SET,
        1,
        0,
        &[0, 0, 0, 7, 0, 0, 0, 0],
        b"k",
        b"val",
    );
    binary::write_request(&mut packets, opcode::GETKQ, 2, 0, &[], b"missing", b"");
    binary::write_request(&mut packets, opcode::GET, 3, 0, &[], b"k", b"");
    let replies = request(&client, 9, &packets, 2);
    let status = |m: &[u8]| (m[0], m[1], u16::from_be_bytes([m[6], m[7]]));
    assert_eq!(status(&replies[0]), (0x81, opcode::SET, 0));
    assert_eq!(status(&replies[1]), (0x81, opcode::GET, 0));
    assert_eq!(&replies[1][24..], &[0, 0, 0, 7, b'v', b'a', b'l']);
}

#[test]
fn datagrams_memcached_drops_get_no_reply() {
    let (_server, client) = start();
    let frame = |id: u16, count: u16, payload: &[u8]| {
        let header = FrameHeader {
            request_id: id,
            sequence: 0,
            count,
            reserved: 0,
        };
        [&header.to_bytes()[..], payload].concat()
    };
    // Spread over two datagrams, over none, empty, cut short: all dropped,
    // and nothing of them is kept. Only request 6 is answered.
    for dropped in [
        frame(1, 2, b"version\r\n"),
        frame(2, 0, b"version\r\n"),
        frame(3, 1, b""),
        frame(4, 1, b"set k 0 0 5\r\nab"),
        frame(5, 1, b"get k"),
    ] {
        client.send(&dropped).unwrap();
    }
    assert_eq!(text(request(&client, 6, b"get k\r\n", 1)), ["END\r\n"]);
}

#[test]
fn udp_is_off_by_default_and_reported_by_stats_settings() {
    let (server, _client) = start();
    let udp_port = {
        let mut tcp = server.connect();
        stats_setting(&mut tcp, "udpport")
    };
    assert_ne!(udp_port, "0");
    let plain = Server::start("torsion-memcached", &["-p", "0"]);
    let mut tcp = plain.connect();
    assert_eq!(stats_setting(&mut tcp, "udpport"), "0");
}

fn stats_setting(tcp: &mut std::net::TcpStream, name: &str) -> String {
    send(tcp, b"stats settings\r\n");
    let mut text = String::new();
    while !text.ends_with("END\r\n") {
        let mut buf = [0; 4096];
        let n = tcp.read(&mut buf).unwrap();
        assert!(n > 0, "closed during stats settings");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let prefix = format!("STAT {name} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}
