//! memcached's UDP framing, sans-I/O, both ways.
//!
//! Every datagram, request or reply, starts with an 8-byte frame header of
//! four big-endian `u16`s:
//!
//! ```text
//!  bytes 0..2     2..4              4..6                 6..8
//!  request id  |  sequence number  |  datagrams in all  |  reserved (0)
//! ```
//!
//! A request is one datagram: its header must say "1 datagram in all"; a
//! request spread over several datagrams is dropped without a reply, and so
//! is a datagram with nothing after its header (as memcached 1.6 does). The
//! sequence number and the reserved field of a request are not looked at.
//! What follows the header is read as a text (classic or meta) or, when its
//! first byte is 0x80, a binary conversation.
//!
//! A reply *message* is cut into datagrams of at most [`MAX_DATAGRAM`] bytes,
//! header included (memcached's `UDP_MAX_PAYLOAD_SIZE`), so each carries up
//! to [`MAX_PAYLOAD`] bytes of the message. Every datagram of a message
//! carries the request's id, its own sequence number (from 0) and the count
//! of the message's datagrams. The sequence number is a `u16`, which bounds a
//! message to [`MAX_MESSAGE`] bytes.
//!
//! [`RequestDecoder`] and [`Frames`] are the server's half; [`write_request`]
//! and [`Reassembly`] the client's, and the tests check them against each
//! other.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::udp::{self, Frames, Reassembly, RequestDecoder};
//! use torsion_protocols::{Decoder, Parsed};
//!
//! let mut datagram = Vec::new();
//! udp::write_request(&mut datagram, 7, b"get k\r\n");
//! let Parsed::Complete(request, _) = RequestDecoder.decode(&datagram) else { panic!() };
//! assert_eq!((request.id, request.payload), (7, &b"get k\r\n"[..]));
//!
//! // A 3000-byte reply goes out in three datagrams; the client puts it together.
//! let reply = vec![b'v'; 3000];
//! let frames = Frames::new(request.id, &reply).unwrap();
//! assert_eq!(frames.total(), 3);
//! let mut whole = Reassembly::new(7);
//! let mut done = None;
//! for datagram in frames {
//!     assert!(datagram.len() <= udp::MAX_DATAGRAM);
//!     done = whole.add(&datagram).unwrap();
//! }
//! assert_eq!(done.unwrap(), reply);
//! ```

use crate::{Decoder, Parsed};

/// Bytes of the frame header in front of every datagram.
pub const HEADER_LEN: usize = 8;

/// Largest datagram sent, header included (memcached's
/// `UDP_MAX_PAYLOAD_SIZE`, which counts the frame header within it).
pub const MAX_DATAGRAM: usize = 1400;

/// Bytes of a message carried by one datagram.
pub const MAX_PAYLOAD: usize = MAX_DATAGRAM - HEADER_LEN;

/// Largest message that can be framed: as many datagrams as a `u16`
/// sequence number counts.
pub const MAX_MESSAGE: usize = u16::MAX as usize * MAX_PAYLOAD;

/// A frame header, integers in host order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Chosen by the client, echoed in every datagram of the reply.
    pub request_id: u16,
    /// This datagram's place in its message, from 0.
    pub sequence: u16,
    /// Datagrams in the message.
    pub count: u16,
    /// Reserved: 0.
    pub reserved: u16,
}

impl FrameHeader {
    /// Reads a header from the first [`HEADER_LEN`] bytes, if there are that many.
    pub fn parse(bytes: &[u8]) -> Option<FrameHeader> {
        let b: &[u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
        let word = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        Some(FrameHeader {
            request_id: word(0),
            sequence: word(2),
            count: word(4),
            reserved: word(6),
        })
    }

    /// The header's bytes, big-endian.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0; HEADER_LEN];
        b[0..2].copy_from_slice(&self.request_id.to_be_bytes());
        b[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        b[4..6].copy_from_slice(&self.count.to_be_bytes());
        b[6..8].copy_from_slice(&self.reserved.to_be_bytes());
        b
    }
}

/// A request datagram: its id and the conversation bytes after the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The request id, for the reply's frames.
    pub id: u16,
    /// Everything after the frame header.
    pub payload: &'a [u8],
}

/// Why a request datagram is dropped without a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Nothing after the frame header (or not even a whole header).
    Empty,
    /// The header does not say "1 datagram in all": memcached serves no
    /// request spread over several datagrams.
    MultiDatagram {
        /// The count the header gave.
        count: u16,
    },
}

/// Decodes request datagrams. A datagram is whole or nothing, so it never
/// answers [`Parsed::Incomplete`]: the `consumed` of a request is the whole
/// datagram.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestDecoder;

impl Decoder for RequestDecoder {
    type Message<'a> = Request<'a>;
    type Error = Dropped;

    fn decode<'a>(&mut self, datagram: &'a [u8]) -> Parsed<Request<'a>, Dropped> {
        let Some(header) = FrameHeader::parse(datagram) else {
            return Parsed::Error(Dropped::Empty);
        };
        if header.count != 1 {
            return Parsed::Error(Dropped::MultiDatagram { count: header.count });
        }
        let payload = &datagram[HEADER_LEN..];
        if payload.is_empty() {
            return Parsed::Error(Dropped::Empty);
        }
        Parsed::Complete(
            Request {
                id: header.request_id,
                payload,
            },
            datagram.len(),
        )
    }
}

/// Appends a one-datagram request: the frame header (sequence 0, count 1)
/// and `payload`.
pub fn write_request(out: &mut Vec<u8>, request_id: u16, payload: &[u8]) {
    let header = FrameHeader {
        request_id,
        sequence: 0,
        count: 1,
        reserved: 0,
    };
    out.extend_from_slice(&header.to_bytes());
    out.extend_from_slice(payload);
}

/// How many datagrams carry a message of `len` bytes (0 for an empty one).
pub fn datagram_count(len: usize) -> usize {
    len.div_ceil(MAX_PAYLOAD)
}

/// A message longer than [`MAX_MESSAGE`]: it cannot be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong {
    /// The message's length.
    pub len: usize,
}

/// The datagrams of one reply message, in order, each a frame header and up
/// to [`MAX_PAYLOAD`] bytes of the message.
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    request_id: u16,
    count: u16,
    next: u16,
    chunks: std::slice::Chunks<'a, u8>,
    datagram: [u8; MAX_DATAGRAM],
}

impl<'a> Frames<'a> {
    /// The datagrams answering request `request_id` with `message`; an empty
    /// message has none.
    pub fn new(request_id: u16, message: &'a [u8]) -> Result<Self, TooLong> {
        let count =
            u16::try_from(datagram_count(message.len())).map_err(|_| TooLong { len: message.len() })?;
        Ok(Frames {
            request_id,
            count,
            next: 0,
            chunks: message.chunks(MAX_PAYLOAD),
            datagram: [0; MAX_DATAGRAM],
        })
    }

    /// Datagrams in the message.
    pub fn total(&self) -> usize {
        usize::from(self.count)
    }

    /// The next datagram, composed in a buffer the iterator owns (a lending
    /// iterator: no allocation per datagram).
    pub fn next_datagram(&mut self) -> Option<&[u8]> {
        let chunk = self.chunks.next()?;
        let header = FrameHeader {
            request_id: self.request_id,
            sequence: self.next,
            count: self.count,
            reserved: 0,
        };
        self.next = self.next.wrapping_add(1);
        let len = HEADER_LEN + chunk.len();
        self.datagram[..HEADER_LEN].copy_from_slice(&header.to_bytes());
        self.datagram[HEADER_LEN..len].copy_from_slice(chunk);
        Some(&self.datagram[..len])
    }
}

impl Iterator for Frames<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        self.next_datagram().map(<[u8]>::to_vec)
    }
}

/// Why a reply datagram does not fit the message being put together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadFrame {
    /// Shorter than a frame header.
    Short,
    /// For another request.
    OtherRequest {
        /// The id it carries.
        request_id: u16,
    },
    /// Its count differs from the message's first datagram's, its sequence
    /// number is past the count, or it came twice.
    Inconsistent,
}

/// Puts one reply message together from its datagrams, in whatever order
/// they arrive (the client's half).
#[derive(Debug, Clone)]
pub struct Reassembly {
    request_id: u16,
    parts: Vec<Option<Vec<u8>>>,
    missing: usize,
}

impl Reassembly {
    /// Waits for the reply to request `request_id`.
    pub fn new(request_id: u16) -> Self {
        Reassembly {
            request_id,
            parts: Vec::new(),
            missing: 0,
        }
    }

    /// Adds a datagram; returns the whole message once its last datagram is
    /// in (an empty message, count 0, is whole at once).
    pub fn add(&mut self, datagram: &[u8]) -> Result<Option<Vec<u8>>, BadFrame> {
        let header = FrameHeader::parse(datagram).ok_or(BadFrame::Short)?;
        if header.request_id != self.request_id {
            return Err(BadFrame::OtherRequest {
                request_id: header.request_id,
            });
        }
        let count = usize::from(header.count);
        if self.parts.is_empty() {
            if count == 0 {
                return Ok(Some(Vec::new()));
            }
            self.parts = vec![None; count];
            self.missing = count;
        }
        if count != self.parts.len() {
            return Err(BadFrame::Inconsistent);
        }
        let slot = self
            .parts
            .get_mut(usize::from(header.sequence))
            .filter(|slot| slot.is_none())
            .ok_or(BadFrame::Inconsistent)?;
        *slot = Some(datagram[HEADER_LEN..].to_vec());
        self.missing -= 1;
        if self.missing > 0 {
            return Ok(None);
        }
        let parts = std::mem::take(&mut self.parts);
        Ok(Some(parts.into_iter().flatten().flatten().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header(request_id: u16, sequence: u16, count: u16, reserved: u16) -> Vec<u8> {
        FrameHeader {
            request_id,
            sequence,
            count,
            reserved,
        }
        .to_bytes()
        .to_vec()
    }

    #[test]
    fn headers_are_four_big_endian_words() {
        let h = FrameHeader {
            request_id: 0x0102,
            sequence: 0x0304,
            count: 0x0506,
            reserved: 0x0708,
        };
        assert_eq!(h.to_bytes(), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(FrameHeader::parse(&h.to_bytes()), Some(h));
        assert_eq!(FrameHeader::parse(&[1, 2, 3, 4, 5, 6, 7]), None);
    }

    #[test]
    fn requests_fit_one_datagram() {
        let mut d = RequestDecoder;
        let mut ok = header(161, 9, 1, 5);
        ok.extend_from_slice(b"get foo\r\n");
        // The sequence number and the reserved field are not looked at.
        assert_eq!(
            d.decode(&ok),
            Parsed::Complete(
                Request {
                    id: 161,
                    payload: b"get foo\r\n"
                },
                17
            )
        );
        let mut two = header(1, 0, 2, 0);
        two.extend_from_slice(b"get foo\r\n");
        assert_eq!(d.decode(&two), Parsed::Error(Dropped::MultiDatagram { count: 2 }));
        let mut none = header(1, 0, 0, 0);
        none.extend_from_slice(b"get foo\r\n");
        assert_eq!(
            d.decode(&none),
            Parsed::Error(Dropped::MultiDatagram { count: 0 })
        );
        assert_eq!(d.decode(&header(1, 0, 1, 0)), Parsed::Error(Dropped::Empty));
        assert_eq!(d.decode(b"\x00\x01\x00"), Parsed::Error(Dropped::Empty));
        assert_eq!(d.decode(b""), Parsed::Error(Dropped::Empty));
    }

    #[test]
    fn replies_are_cut_at_1392_bytes_of_message() {
        // udp.t's 20000-byte value: memcached 1.6.18 sends 14 datagrams of
        // 1400 bytes and one of 546.
        let reply = vec![b'v'; 19 + 20_000 + 2 + 5];
        let frames = Frames::new(53, &reply).unwrap();
        assert_eq!(frames.total(), 15);
        let datagrams: Vec<Vec<u8>> = frames.collect();
        assert_eq!(datagrams.len(), 15);
        for (i, d) in datagrams.iter().enumerate() {
            let h = FrameHeader::parse(d).unwrap();
            assert_eq!(
                (h.request_id, h.sequence, h.count, h.reserved),
                (53, i as u16, 15, 0)
            );
            assert_eq!(d.len(), if i < 14 { 1400 } else { 546 });
        }
        assert_eq!(datagram_count(0), 0);
        assert_eq!(datagram_count(1), 1);
        assert_eq!(datagram_count(MAX_PAYLOAD), 1);
        assert_eq!(datagram_count(MAX_PAYLOAD + 1), 2);
        assert_eq!(Frames::new(1, b"").unwrap().total(), 0);
        assert_eq!(Frames::new(1, b"").unwrap().next(), None);
    }

    #[test]
    fn a_message_past_65535_datagrams_cannot_be_framed() {
        let big = vec![0; MAX_MESSAGE + 1];
        assert_eq!(
            Frames::new(1, &big).unwrap_err(),
            TooLong { len: MAX_MESSAGE + 1 }
        );
        assert_eq!(Frames::new(1, &big[..MAX_MESSAGE]).unwrap().total(), 65_535);
    }

    #[test]
    fn reassembly_checks_what_it_puts_together() {
        let mut r = Reassembly::new(5);
        assert_eq!(r.add(b"\x00\x05"), Err(BadFrame::Short));
        assert_eq!(
            r.add(&header(6, 0, 1, 0)),
            Err(BadFrame::OtherRequest { request_id: 6 })
        );
        assert_eq!(r.add(&header(5, 0, 0, 0)), Ok(Some(Vec::new())));
        let mut r = Reassembly::new(5);
        let mut second = header(5, 1, 2, 0);
        second.extend_from_slice(b"world");
        assert_eq!(r.add(&second), Ok(None));
        assert_eq!(r.add(&second), Err(BadFrame::Inconsistent), "twice");
        assert_eq!(
            r.add(&header(5, 2, 2, 0)),
            Err(BadFrame::Inconsistent),
            "past the count"
        );
        let mut first = header(5, 0, 2, 0);
        first.extend_from_slice(b"hello ");
        assert_eq!(r.add(&first), Ok(Some(b"hello world".to_vec())));
    }

    proptest! {
        #[test]
        fn any_message_survives_framing_in_any_order(
            len in 0usize..10_000,
            id in any::<u16>(),
            seed in any::<u64>(),
        ) {
            let message: Vec<u8> = (0..len).map(|i| (i as u64 ^ seed) as u8).collect();
            let mut datagrams: Vec<Vec<u8>> = Frames::new(id, &message).unwrap().collect();
            prop_assert_eq!(datagrams.len(), datagram_count(len));
            // Deliver them in a shuffled order.
            let n = datagrams.len().max(1);
            datagrams.rotate_left((seed as usize) % n);
            if len == 0 {
                return Ok(());
            }
            let mut r = Reassembly::new(id);
            let mut whole = None;
            for d in &datagrams {
                prop_assert!(d.len() <= MAX_DATAGRAM);
                prop_assert!(whole.is_none());
                whole = r.add(d).unwrap();
            }
            prop_assert_eq!(whole, Some(message));
        }

        #[test]
        fn any_datagram_decodes_or_is_dropped(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            match RequestDecoder.decode(&bytes) {
                Parsed::Complete(r, n) => {
                    prop_assert_eq!(n, bytes.len());
                    prop_assert_eq!(r.payload, &bytes[HEADER_LEN..]);
                }
                Parsed::Error(_) => {}
                Parsed::Incomplete => prop_assert!(false, "a datagram is never incomplete"),
            }
        }
    }
}
