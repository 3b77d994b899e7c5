//! Response packets, both ways: the server composes them with
//! [`write_response`](super::write_response) and
//! [`write_error`](super::write_error); a client reads them with a
//! [`ResponseDecoder`].
//!
//! A response has the request's layout with magic 0x81 and the status where
//! a request has its vbucket. memcached sends every response whole, so the
//! decoder waits for the whole packet, bounded by the `max_body` it is given.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::binary::{self, opcode, ResponseDecoder, Status};
//! use torsion_protocols::{Decoder, Parsed};
//!
//! let mut wire = Vec::new();
//! binary::write_error(&mut wire, opcode::GET, Status::KeyNotFound, 7);
//! let mut decoder = ResponseDecoder::new(1 << 20);
//! assert_eq!(decoder.decode(&wire[..30]), Parsed::Incomplete);
//! let Parsed::Complete(response, used) = decoder.decode(&wire) else { panic!() };
//! assert_eq!((response.status(), response.opaque, response.value), (Some(Status::KeyNotFound), 7, &b"Not found"[..]));
//! assert_eq!(used, wire.len());
//! ```

use std::fmt;

use super::{write_packet, Header, Status, HEADER_LEN, RESPONSE_MAGIC};
use crate::{Decoder, Parsed};

/// One response packet; extras, key and value borrow from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'a> {
    /// The request's opcode.
    pub opcode: u8,
    /// The status code, as sent ([`Response::status`] names it).
    pub code: u16,
    /// The request's opaque, echoed.
    pub opaque: u32,
    /// The item's CAS unique, or 0.
    pub cas: u64,
    /// The extras (a get's flags).
    pub extras: &'a [u8],
    /// The key (the `k` variants of get).
    pub key: &'a [u8],
    /// The value, or an error's message.
    pub value: &'a [u8],
}

impl Response<'_> {
    /// The status, if it is one memcached sends.
    pub fn status(&self) -> Option<Status> {
        Status::from_code(self.code)
    }

    /// Appends the packet.
    pub fn write(&self, out: &mut Vec<u8>) {
        let body = [self.extras, self.key, self.value];
        write_packet(
            out,
            RESPONSE_MAGIC,
            self.opcode,
            self.code,
            self.opaque,
            self.cas,
            body,
        );
    }
}

/// The server's bytes are not a valid response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseError {
    /// The first byte is not [`RESPONSE_MAGIC`].
    BadMagic,
    /// Key and extras longer than the body.
    Lengths,
    /// A body longer than the decoder's `max_body`.
    TooLarge {
        /// The bound.
        max: usize,
    },
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::BadMagic => f.write_str("a response without the 0x81 magic byte"),
            ResponseError::Lengths => f.write_str("a response whose key and extras overflow its body"),
            ResponseError::TooLarge { max } => write!(f, "a response body larger than {max} bytes"),
        }
    }
}

impl std::error::Error for ResponseError {}

/// Decodes response packets (see the module docs).
#[derive(Debug, Clone)]
pub struct ResponseDecoder {
    max_body: usize,
}

impl ResponseDecoder {
    /// A decoder that refuses bodies longer than `max_body` bytes.
    pub fn new(max_body: usize) -> Self {
        ResponseDecoder { max_body }
    }
}

impl Decoder for ResponseDecoder {
    type Message<'a> = Response<'a>;
    type Error = ResponseError;

    fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<Response<'a>, ResponseError> {
        if input.first().is_some_and(|&b| b != RESPONSE_MAGIC) {
            return Parsed::Error(ResponseError::BadMagic);
        }
        let Some(header) = Header::parse(input) else {
            return Parsed::Incomplete;
        };
        let body = header.body_len as usize;
        if body > self.max_body {
            return Parsed::Error(ResponseError::TooLarge { max: self.max_body });
        }
        let extras_end = HEADER_LEN + usize::from(header.extras_len);
        let key_end = extras_end + usize::from(header.key_len);
        let end = HEADER_LEN + body;
        if key_end > end {
            return Parsed::Error(ResponseError::Lengths);
        }
        let Some(packet) = input.get(..end) else {
            return Parsed::Incomplete;
        };
        let response = Response {
            opcode: header.opcode,
            code: header.vbucket,
            opaque: header.opaque,
            cas: header.cas,
            extras: &packet[HEADER_LEN..extras_end],
            key: &packet[extras_end..key_end],
            value: &packet[key_end..],
        };
        Parsed::Complete(response, end)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{opcode, write_error, write_response};
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    #[test]
    fn what_the_server_writes_a_client_reads() {
        let mut wire = Vec::new();
        write_response(
            &mut wire,
            opcode::GETK,
            Status::Success,
            9,
            3,
            &7u32.to_be_bytes(),
            b"k",
            b"v",
        );
        write_error(&mut wire, opcode::SETQ, Status::KeyExists, 10);
        let mut decoder = ResponseDecoder::new(1 << 20);
        let Parsed::Complete(hit, used) = decoder.decode(&wire) else {
            panic!()
        };
        assert_eq!(
            (hit.opcode, hit.status(), hit.opaque, hit.cas),
            (opcode::GETK, Some(Status::Success), 9, 3)
        );
        assert_eq!(
            (hit.extras, hit.key, hit.value),
            (&[0, 0, 0, 7][..], &b"k"[..], &b"v"[..])
        );
        let Parsed::Complete(error, rest) = decoder.decode(&wire[used..]) else {
            panic!()
        };
        assert_eq!(
            (error.status(), error.value, used + rest),
            (Some(Status::KeyExists), Status::KeyExists.message(), wire.len())
        );
    }

    #[test]
    fn malformed_responses() {
        let mut decoder = ResponseDecoder::new(16);
        assert_eq!(decoder.decode(b"\x80"), Parsed::Error(ResponseError::BadMagic));
        let mut big = Vec::new();
        write_response(&mut big, opcode::GET, Status::Success, 0, 0, &[], &[], &[0; 17]);
        assert_eq!(
            decoder.decode(&big),
            Parsed::Error(ResponseError::TooLarge { max: 16 })
        );
        let mut bad = Vec::new();
        write_response(&mut bad, opcode::GET, Status::Success, 0, 0, &[], b"key", &[]);
        bad[11] = 2; // a body shorter than the key
        assert_eq!(decoder.decode(&bad), Parsed::Error(ResponseError::Lengths));
    }

    proptest! {
        #[test]
        fn every_response_composed_decodes_back(
            opcode in any::<u8>(), code in any::<u16>(), opaque in any::<u32>(), cas in any::<u64>(),
            extras in vec(any::<u8>(), 0..20), key in vec(any::<u8>(), 0..250), value in vec(any::<u8>(), 0..300),
        ) {
            let response = Response { opcode, code, opaque, cas, extras: &extras, key: &key, value: &value };
            let mut wire = Vec::new();
            response.write(&mut wire);
            let mut decoder = ResponseDecoder::new(1 << 20);
            for n in 0..wire.len() {
                prop_assert_eq!(decoder.decode(&wire[..n]), Parsed::Incomplete);
            }
            prop_assert_eq!(decoder.decode(&wire), Parsed::Complete(response, wire.len()));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
            if let Parsed::Complete(_, used) = ResponseDecoder::new(256).decode(&bytes) {
                prop_assert!(used <= bytes.len());
            }
        }
    }
}
