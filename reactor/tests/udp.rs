//! UDP sockets.

mod util;

use std::net::{SocketAddr, UdpSocket};
use std::thread;

use torsion::{DatagramCtx, DatagramProtocol, Reactor};
use util::*;

/// Answers each datagram with it reversed.
struct Reverse;

impl DatagramProtocol for Reverse {
    fn datagram_received(&mut self, ctx: &mut DatagramCtx<'_>, data: &[u8], from: SocketAddr) {
        let mut reply = data.to_vec();
        reply.reverse();
        ctx.write_to(&reply, from).unwrap();
    }
}

#[test]
fn datagrams_are_received_with_their_sender_and_answered() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let id = reactor.listen_udp(loopback(), Reverse).unwrap();
    let addr = reactor.datagram(id).local_addr().unwrap();
    let client = thread::spawn(move || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(TEST_TIMEOUT)).unwrap();
        let mut replies = Vec::new();
        for word in ["abc", "torsion", "x"] {
            socket.send_to(word.as_bytes(), addr).unwrap();
            let mut buf = [0; 64];
            let (n, from) = socket.recv_from(&mut buf).unwrap();
            assert_eq!(from, addr);
            replies.push(String::from_utf8(buf[..n].to_vec()).unwrap());
        }
        replies
    });
    run_until(&mut reactor, |_| client.is_finished());
    assert_eq!(client.join().unwrap(), ["cba", "noisrot", "x"]);
    assert!(reactor.stop_datagram(id));
    assert!(!reactor.stop_datagram(id));
}
