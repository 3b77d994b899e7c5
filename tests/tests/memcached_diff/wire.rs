//! Talking to the two servers: a connection per dialect, one batch out
//! and its reply in (up to the sentinel's answer), and the helpers that
//! flush both stores, read every key, and read `stats` figures.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Instant;

use super::request::CasIds;
use super::vocabulary::{self, Gen};
use super::{reply, REPLY_WAIT};

/// The three ways to talk to a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Classic text commands (with a meta command now and then).
    Text,
    /// Meta commands.
    Meta,
    /// The binary protocol.
    Binary,
}

/// Every dialect, in the order of a [`Peer`]'s connections.
pub const DIALECTS: [Dialect; 3] = [Dialect::Text, Dialect::Meta, Dialect::Binary];

/// How a batch's reply ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The sentinel's answer came.
    Sentinel,
    /// The server closed the connection.
    Closed,
    /// The server reset the connection.
    Reset,
    /// Nothing more came within [`REPLY_WAIT`].
    TimedOut,
}

/// One server: its address, a connection per dialect, its CAS ids.
pub struct Peer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// A connection per dialect, in [`DIALECTS`] order.
    pub conns: Vec<TcpStream>,
    /// The CAS ids it has shown.
    pub ids: CasIds,
}

impl Peer {
    /// Connects once per dialect.
    pub fn new(addr: SocketAddr) -> Peer {
        let conns = DIALECTS.iter().map(|_| connect(addr)).collect();
        Peer {
            addr,
            conns,
            ids: CasIds::default(),
        }
    }
}

/// A connection with the reply wait as its read timeout.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(REPLY_WAIT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Sends `bytes` (on another thread, so that a server answering a large
/// request while we still write cannot deadlock us) and reads up to the
/// sentinel's answer.
pub fn exchange(stream: &TcpStream, bytes: &[u8], dialect: Dialect, mn: usize) -> (Vec<u8>, Ending) {
    let mut writer = stream.try_clone().expect("clone the stream");
    let mut reader = stream.try_clone().expect("clone the stream");
    thread::scope(|s| {
        s.spawn(move || {
            // A server may close mid-request; the reader reports that.
            let _ = writer.write_all(bytes);
        });
        let mut reply = Vec::new();
        let mut buf = vec![0; 64 * 1024];
        let started = Instant::now();
        let ending = loop {
            let done = match dialect {
                Dialect::Binary => reply::binary_complete(&reply),
                _ => reply::text_complete(&reply, mn),
            };
            if done {
                break Ending::Sentinel;
            }
            match reader.read(&mut buf) {
                Ok(0) => break Ending::Closed,
                Ok(n) => reply.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if started.elapsed() >= REPLY_WAIT {
                        break Ending::TimedOut;
                    }
                }
                Err(_) => break Ending::Reset,
            }
        };
        if ending != Ending::Sentinel {
            // Unblock the writer if it is still stuck on a closed peer.
            let _ = reader.shutdown(std::net::Shutdown::Both);
        }
        (reply, ending)
    })
}

/// Empties both servers after a difference, so it cannot cascade, and
/// forgets the CAS ids seen so far (their items are gone).
pub fn resync(peers: &mut [Peer; 2], g: &mut Gen) {
    for peer in peers.iter_mut() {
        let s = connect(peer.addr);
        let (reply, _) = exchange(&s, b"flush_all\r\nmn\r\n", Dialect::Text, 1);
        assert_eq!(reply, b"OK\r\nMN\r\n", "resync");
        peer.ids = CasIds::default();
    }
    g.cas_seen = 0;
}

/// Reads every key of the key space from both servers; their replies if
/// they differ.
pub fn probe(peers: &mut [Peer; 2]) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut request = Vec::new();
    let long = vocabulary::long_key(vocabulary::KEY_LIMIT);
    for key in vocabulary::KEYS.iter().map(|k| k.as_bytes()).chain([&long[..]]) {
        request.extend_from_slice(b"mg ");
        request.extend_from_slice(key);
        request.extend_from_slice(b" v f s t c k\r\n");
    }
    request.extend_from_slice(b"mn\r\n");
    let replies: Vec<Vec<u8>> = peers
        .iter_mut()
        .map(|peer| {
            let s = connect(peer.addr);
            let (reply, _) = exchange(&s, &request, Dialect::Text, 1);
            reply::normalise_text(&reply, &mut peer.ids)
        })
        .collect();
    let [a, b]: [Vec<u8>; 2] = replies.try_into().unwrap();
    (!reply::same_but_the_clock(&a, &b)).then_some((a, b))
}

/// Some of a server's `stats` figures, as `name=value` pairs.
pub fn figures(addr: &str, names: &[&str]) -> String {
    let s = connect(addr.parse().unwrap());
    let (reply, _) = exchange(&s, b"stats\r\nmn\r\n", Dialect::Text, 1);
    let text = String::from_utf8_lossy(&reply).into_owned();
    names
        .iter()
        .map(|name| {
            let value = text
                .lines()
                .find_map(|l| l.strip_prefix(&format!("STAT {name} ")))
                .unwrap_or("?");
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}
