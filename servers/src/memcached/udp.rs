//! memcached over UDP (`-U PORT`): each request datagram is a whole
//! conversation, held by the same [`Session`] loop as a TCP connection.
//!
//! A datagram's frame header is checked by the codec
//! ([`torsion_protocols::memcache::udp`]): one that spans several datagrams,
//! or carries nothing, is dropped without a reply. Its payload is read as
//! the text protocol (classic and meta commands) or, when it starts with
//! 0x80, the binary one, and every request in it is answered in turn.
//!
//! # Messages
//!
//! The session runs with a budget of 0, so each call answers one request,
//! or one key of a multi-key `get`; each such answer is one reply
//! *message*, cut into datagrams of at most 1400 bytes that carry the
//! request id, their sequence number from 0 and the message's datagram
//! count. That is how memcached 1.6 frames them too: `get a b` is answered by
//! two messages, `VALUE a ...` and `VALUE b ...END`, each numbered from 0. A
//! request with no reply (`noreply`, a quiet binary command, a missed key
//! before the last) sends nothing.
//!
//! # Bounds
//!
//! A request must fit its datagram: one cut short (a `set` without its
//! whole value, a line without its newline) is dropped, and nothing is kept
//! for the next datagram. At most one message is held at a time, and a
//! message holds one value at most (the item size limit). The replies to
//! one datagram stop once they pass [`MAX_REPLY`]; the requests after that
//! point are dropped, so a 64 KB datagram of `get`s cannot make the server
//! send (or compose) gigabytes.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use torsion::{DatagramCtx, DatagramProtocol};
use torsion_protocols::memcache::binary::REQUEST_MAGIC;
use torsion_protocols::memcache::udp::{Dropped, Frames, RequestDecoder};
use torsion_protocols::{Decoder, Parsed};

use super::dialect::{Ascii, Binary, Dialect, ExecCtx};
use super::server::Shared;
use super::session::{Next, Session};

/// The replies to one request datagram stop once this many bytes are sent:
/// a few requests past it are dropped rather than answered. It lets a
/// `get` of a value at the default item size limit (1 MB) through, and a
/// few of them.
pub const MAX_REPLY: usize = 4 * 1024 * 1024;

/// A reply buffer grown past this (by a large value) is given back after
/// the datagram is answered.
const KEEP_BUFFER: usize = 64 * 1024;

/// Why the answer to a datagram ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every request in it was answered.
    Answered,
    /// The datagram was dropped unread (see [`Dropped`]).
    Dropped(Dropped),
    /// The last request was cut short (a line without its newline, a value
    /// not all there): it was dropped.
    CutShort,
    /// A request that closes a TCP connection (`quit`, a binary packet
    /// refused for its lengths): the rest of the datagram was dropped.
    Closed,
    /// The replies passed [`MAX_REPLY`]: the rest of the datagram was
    /// dropped.
    ReplyLimit,
    /// A message too long for the frame format's 65535 datagrams was not
    /// sent; the rest of the datagram was dropped.
    TooLong,
    /// The socket refused a datagram (its queue is full): the rest of the
    /// reply was dropped.
    SendFailed,
}

/// What answering one datagram did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// Reply messages sent.
    pub messages: usize,
    /// Reply datagrams sent.
    pub datagrams: usize,
    /// Bytes sent, frame headers included.
    pub bytes: usize,
    /// Why it ended.
    pub ending: Ending,
}

/// Answers one request `datagram`, sans-I/O: runs its requests against the
/// store in `cx` and hands every reply datagram to `send`, in order.
/// `cx.out` is used as the message buffer (and left empty).
pub fn answer(
    datagram: &[u8],
    cx: &mut ExecCtx<'_>,
    send: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Answer {
    let request = match RequestDecoder.decode(datagram) {
        Parsed::Complete(request, _) => request,
        Parsed::Error(dropped) => return Answer::ended(Ending::Dropped(dropped)),
        Parsed::Incomplete => return Answer::ended(Ending::Dropped(Dropped::Empty)),
    };
    let conversation = if request.payload.first() == Some(&REQUEST_MAGIC) {
        converse::<Binary>
    } else {
        converse::<Ascii>
    };
    let answer = conversation(request.id, request.payload, cx, send);
    cx.out.clear();
    answer
}

impl Answer {
    fn ended(ending: Ending) -> Self {
        Answer {
            messages: 0,
            datagrams: 0,
            bytes: 0,
            ending,
        }
    }
}

/// Holds the conversation of one datagram in dialect `D`, one message at a time.
fn converse<D: Dialect>(
    id: u16,
    mut input: &[u8],
    cx: &mut ExecCtx<'_>,
    send: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Answer {
    let mut session = Session::<D>::with_budget(0);
    let mut answer = Answer::ended(Ending::Answered);
    loop {
        cx.out.clear();
        let fed = session.feed(input, cx);
        input = &input[fed.consumed.min(input.len())..];
        if cx.server.crawler.take_dump().is_some() {
            // A metadump streams over a connection; a datagram has none.
            cx.out
                .extend_from_slice(crate::memcached::crawler::DUMP_NEEDS_STREAM);
        }
        if !cx.out.is_empty() {
            let Ok(mut frames) = Frames::new(id, cx.out) else {
                log::debug!(
                    "UDP request {id}: a reply of {} bytes cannot be framed",
                    cx.out.len()
                );
                answer.ending = Ending::TooLong;
                return answer;
            };
            answer.messages += 1;
            while let Some(datagram) = frames.next_datagram() {
                if let Err(e) = send(datagram) {
                    log::debug!("UDP request {id}: dropping the rest of the reply: {e}");
                    answer.ending = Ending::SendFailed;
                    return answer;
                }
                answer.datagrams += 1;
                answer.bytes += datagram.len();
            }
        }
        answer.ending = match fed.next {
            Next::Yield if answer.bytes < MAX_REPLY => continue,
            Next::Yield => Ending::ReplyLimit,
            // UDP speaks the text dialect, which never changes.
            Next::Close | Next::Upgrade => Ending::Closed,
            Next::Wait { .. } if input.is_empty() && !session.is_swallowing() => Ending::Answered,
            Next::Wait { .. } => Ending::CutShort,
        };
        return answer;
    }
}

/// The UDP socket's protocol: answers every datagram from the shared store.
pub struct MemcacheUdp {
    shared: Rc<RefCell<Shared>>,
    /// The message being composed.
    out: Vec<u8>,
}

impl MemcacheUdp {
    /// Serves the store (and counts in the figures) of `shared`.
    pub fn new(shared: Rc<RefCell<Shared>>) -> Self {
        MemcacheUdp {
            shared,
            out: Vec::new(),
        }
    }
}

impl DatagramProtocol for MemcacheUdp {
    fn started(&mut self, ctx: &mut DatagramCtx<'_>) {
        if let Ok(addr) = ctx.local_addr() {
            self.shared.borrow_mut().stats.udp_port = addr.port();
            log::info!("serving UDP on {addr}");
        }
    }

    fn datagram_received(&mut self, ctx: &mut DatagramCtx<'_>, data: &[u8], from: SocketAddr) {
        let mut guard = self.shared.borrow_mut();
        let shared = &mut *guard;
        let now = shared.now(ctx);
        shared.stats.bytes_read += data.len() as u64;
        let mut cx = ExecCtx {
            store: &mut shared.store,
            server: &mut shared.stats,
            now,
            out: &mut self.out,
        };
        let answer = answer(data, &mut cx, &mut |datagram| ctx.write_to(datagram, from));
        shared.stats.bytes_written += answer.bytes as u64;
        if answer.ending != Ending::Answered {
            log::debug!("UDP datagram from {from}: {answer:?}");
        }
        if self.out.capacity() > KEEP_BUFFER {
            self.out = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use torsion_protocols::memcache::binary::{self, opcode};
    use torsion_protocols::memcache::udp::{self, FrameHeader, Reassembly, MAX_DATAGRAM};

    use super::*;
    use crate::memcached::exec::ServerStats;
    use crate::memcached::store::{Store, StoreConfig};
    use crate::memcached::testkit::NOW;

    /// A server's store, talked to in datagrams.
    struct Udp {
        store: Store,
        server: ServerStats,
    }

    impl Udp {
        fn new() -> Self {
            Udp {
                store: Store::new(StoreConfig::default()),
                server: ServerStats::new(NOW - 100),
            }
        }

        /// Sends `datagram` (header included); returns the reply datagrams.
        fn raw(&mut self, datagram: &[u8]) -> (Vec<Vec<u8>>, Answer) {
            let mut out = Vec::new();
            let mut cx = ExecCtx {
                store: &mut self.store,
                server: &mut self.server,
                now: NOW,
                out: &mut out,
            };
            let mut sent = Vec::new();
            let answer = answer(datagram, &mut cx, &mut |d| {
                sent.push(d.to_vec());
                Ok(())
            });
            assert!(out.is_empty());
            assert_eq!(answer.datagrams, sent.len());
            assert_eq!(answer.bytes, sent.iter().map(Vec::len).sum::<usize>());
            (sent, answer)
        }

        /// Sends `payload` as request `id`; returns the reply messages, each
        /// put together from its datagrams.
        fn send(&mut self, id: u16, payload: &[u8]) -> Vec<Vec<u8>> {
            let mut datagram = Vec::new();
            udp::write_request(&mut datagram, id, payload);
            let (sent, answer) = self.raw(&datagram);
            let mut messages = Vec::new();
            let mut current: Option<Reassembly> = None;
            for d in &sent {
                assert!(d.len() <= MAX_DATAGRAM);
                let h = FrameHeader::parse(d).unwrap();
                assert_eq!((h.request_id, h.reserved), (id, 0));
                if h.sequence == 0 {
                    assert!(current.is_none(), "a message began before the last ended");
                    current = Some(Reassembly::new(id));
                }
                let whole = current.as_mut().expect("datagrams in order").add(d).unwrap();
                if let Some(message) = whole {
                    messages.push(message);
                    current = None;
                }
            }
            assert!(current.is_none(), "a message was cut short");
            assert_eq!(answer.messages, messages.len());
            messages
        }

        fn text(&mut self, id: u16, payload: &[u8]) -> Vec<String> {
            self.send(id, payload)
                .into_iter()
                .map(|m| m.escape_ascii().to_string())
                .collect()
        }
    }

    #[test]
    fn each_request_and_each_key_is_a_message() {
        let mut u = Udp::new();
        assert_eq!(u.text(1, b"set a 0 0 1\r\nx\r\n"), ["STORED\\r\\n"]);
        assert_eq!(u.text(7, b"get a\r\n"), ["VALUE a 0 1\\r\\nx\\r\\nEND\\r\\n"]);
        // As memcached 1.6.18 answers: one message per key, END with the
        // last; a missed key before the last sends nothing.
        assert_eq!(
            u.text(41, b"get a nokey a\r\n"),
            ["VALUE a 0 1\\r\\nx\\r\\n", "VALUE a 0 1\\r\\nx\\r\\nEND\\r\\n"]
        );
        assert_eq!(
            u.text(51, b"get a nokey\r\n"),
            ["VALUE a 0 1\\r\\nx\\r\\n", "END\\r\\n"]
        );
        assert_eq!(u.text(52, b"get nokey\r\n"), ["END\\r\\n"]);
        assert_eq!(
            u.text(31, b"get a\r\nversion\r\nbogus\r\n\r\n"),
            [
                "VALUE a 0 1\\r\\nx\\r\\nEND\\r\\n",
                "VERSION 1.6.38-torsion\\r\\n",
                "ERROR\\r\\n",
                "ERROR\\r\\n"
            ]
        );
        assert_eq!(
            u.text(55, b"mg a v\r\nmg a v q\r\nmg zz v q\r\nmn\r\n"),
            ["VA 1\\r\\nx\\r\\n", "VA 1\\r\\nx\\r\\n", "MN\\r\\n"]
        );
        assert!(u.text(57, b"set c 0 0 1 noreply\r\nx\r\n").is_empty());
        assert_eq!(
            u.text(60, b"set a 0 0 1\r\nxy\r\n"),
            ["CLIENT_ERROR bad data chunk\\r\\n", "ERROR\\r\\n"]
        );
        assert_eq!(
            u.text(61, b"incr n 1\r\ndelete a\r\n"),
            ["NOT_FOUND\\r\\n", "DELETED\\r\\n"]
        );
    }

    #[test]
    fn a_large_value_is_cut_into_1400_byte_datagrams() {
        let mut u = Udp::new();
        let value = vec![b'Q'; 20_000];
        let set = [&b"set bigvalue 0 0 20000\r\n"[..], &value, b"\r\n"].concat();
        assert_eq!(u.text(1, &set), ["STORED\\r\\n"]);
        let mut get = Vec::new();
        udp::write_request(&mut get, 53, b"get bigvalue\r\n");
        let (sent, _) = u.raw(&get);
        assert_eq!(sent.len(), 15);
        for (i, d) in sent.iter().enumerate() {
            assert_eq!(
                FrameHeader::parse(d).unwrap(),
                FrameHeader {
                    request_id: 53,
                    sequence: i as u16,
                    count: 15,
                    reserved: 0
                }
            );
            // 24 + 20000 + 7 bytes: 14 full datagrams and 551 bytes, as
            // memcached 1.6.18 sends them.
            assert_eq!(d.len(), if i < 14 { 1400 } else { 551 });
        }
        let message = u.send(53, b"get bigvalue\r\n").concat();
        assert_eq!(
            message,
            [&b"VALUE bigvalue 0 20000\r\n"[..], &value, b"\r\nEND\r\n"].concat()
        );
    }

    #[test]
    fn binary_requests() {
        let mut u = Udp::new();
        let mut request = Vec::new();
        binary::write_request(&mut request, opcode::SET, 1, 0, &[0; 8], b"k", b"value");
        binary::write_request(&mut request, opcode::GETQ, 2, 0, &[], b"nokey", b"");
        binary::write_request(&mut request, opcode::GETK, 3, 0, &[], b"k", b"");
        binary::write_request(&mut request, opcode::NOOP, 4, 0, &[], b"", b"");
        let replies = u.send(9, &request);
        assert_eq!(replies.len(), 3, "the quiet miss sends nothing");
        let status = |m: &[u8]| (m[0], m[1], u16::from_be_bytes([m[6], m[7]]));
        assert_eq!(status(&replies[0]), (0x81, opcode::SET, 0));
        assert_eq!(status(&replies[1]), (0x81, opcode::GETK, 0));
        assert!(replies[1].ends_with(b"kvalue"));
        assert_eq!(status(&replies[2]), (0x81, opcode::NOOP, 0));
    }

    #[test]
    fn datagrams_memcached_drops() {
        let mut u = Udp::new();
        let with = |id, seq, count, payload: &[u8]| {
            let h = FrameHeader {
                request_id: id,
                sequence: seq,
                count,
                reserved: 0,
            };
            [&h.to_bytes()[..], payload].concat()
        };
        for (datagram, ending) in [
            (
                with(1, 0, 2, b"get a\r\n"),
                Ending::Dropped(Dropped::MultiDatagram { count: 2 }),
            ),
            (
                with(1, 0, 0, b"get a\r\n"),
                Ending::Dropped(Dropped::MultiDatagram { count: 0 }),
            ),
            (with(1, 0, 1, b""), Ending::Dropped(Dropped::Empty)),
            (b"\x00\x01\x00".to_vec(), Ending::Dropped(Dropped::Empty)),
            (with(1, 0, 1, b"get a"), Ending::CutShort),
            (with(1, 0, 1, b"set b 0 0 5\r\nab"), Ending::CutShort),
            (with(1, 0, 1, b"\x80\x0a\x00"), Ending::CutShort),
        ] {
            let (sent, answer) = u.raw(&datagram);
            assert!(sent.is_empty(), "{}", datagram.escape_ascii());
            assert_eq!(answer.ending, ending, "{}", datagram.escape_ascii());
        }
        // Nothing of a cut-short request is kept for the next datagram.
        assert_eq!(u.text(2, b"\r\nget b\r\n"), ["ERROR\\r\\n", "END\\r\\n"]);
        // The sequence number and reserved field of a request are ignored.
        let (sent, answer) = u.raw(&with(3, 9, 1, b"version\r\n"));
        assert_eq!((sent.len(), answer.ending), (1, Ending::Answered));
    }

    #[test]
    fn quit_and_closing_errors_end_the_datagram() {
        let mut u = Udp::new();
        let mut d = Vec::new();
        udp::write_request(&mut d, 4, b"version\r\nquit\r\nversion\r\n");
        let (sent, answer) = u.raw(&d);
        assert_eq!((sent.len(), answer.ending), (1, Ending::Closed));
        // A too-large value is answered and the rest of the datagram skipped.
        assert_eq!(
            u.text(5, b"set q 0 0 2000000\r\nxy\r\nversion\r\n"),
            ["SERVER_ERROR object too large for cache\\r\\n"]
        );
        assert_eq!(u.text(6, b"version\r\n"), ["VERSION 1.6.38-torsion\\r\\n"]);
    }

    #[test]
    fn replies_to_one_datagram_are_bounded() {
        let mut u = Udp::new();
        let value = vec![b'v'; 1_000_000];
        let set = [&b"set a 0 0 1000000\r\n"[..], &value, b"\r\n"].concat();
        assert_eq!(u.text(1, &set), ["STORED\\r\\n"]);
        // 60 KB of keys would ask for 30 GB.
        let mut get = b"get".to_vec();
        while get.len() < 60_000 {
            get.extend_from_slice(b" a");
        }
        get.extend_from_slice(b"\r\n");
        let mut d = Vec::new();
        udp::write_request(&mut d, 8, &get);
        let (sent, answer) = u.raw(&d);
        assert_eq!(answer.ending, Ending::ReplyLimit);
        let message = b"VALUE a 0 1000000\r\n".len() + 1_000_002;
        let one = udp::datagram_count(message);
        let messages = MAX_REPLY.div_ceil(message + one * udp::HEADER_LEN);
        assert_eq!(answer.messages, messages);
        assert!(answer.bytes < MAX_REPLY + 1_100_000);
        assert_eq!(sent.len(), messages * one);
    }

    #[test]
    fn a_socket_that_refuses_stops_the_reply() {
        let mut u = Udp::new();
        let mut d = Vec::new();
        udp::write_request(&mut d, 1, b"version\r\nversion\r\n");
        let mut out = Vec::new();
        let mut cx = ExecCtx {
            store: &mut u.store,
            server: &mut u.server,
            now: NOW,
            out: &mut out,
        };
        let answer = answer(&d, &mut cx, &mut |_| Err(io::ErrorKind::WouldBlock.into()));
        assert_eq!((answer.datagrams, answer.ending), (0, Ending::SendFailed));
    }

    proptest::proptest! {
        #[test]
        fn any_datagram_is_answered_or_dropped_without_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
        ) {
            let mut u = Udp::new();
            let (sent, _) = u.raw(&bytes);
            for d in sent {
                proptest::prop_assert!(d.len() <= MAX_DATAGRAM);
            }
        }
    }
}
