//! The key-value line protocol's decoders: every split of a stream gives the
//! same requests and errors, the buffer stays bounded, and what is encoded
//! decodes back.

use proptest::collection::vec;
use proptest::prelude::*;
use torsion_protocols::kv::{Limits, LineError, Reply, ReplyDecoder, Request, RequestDecoder, RequestError};
use torsion_protocols::{Decoder, Parsed};

/// What a decoder handed out, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Get(Vec<u8>),
    Set(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    Error(RequestError),
}

fn event(request: Request<'_>) -> Event {
    match request {
        Request::Get { key } => Event::Get(key.to_vec()),
        Request::Set { key, value } => Event::Set(key.to_vec(), value.to_vec()),
        Request::Delete { key } => Event::Delete(key.to_vec()),
    }
}

const LIMITS: Limits = Limits {
    max_key_length: 6,
    max_value_length: 12,
};

/// Feeds `stream` in reads of `sizes` (cycled; empty: all at once) to a
/// request decoder, as a connection does: append, decode, drop what was
/// consumed. Returns the events and the most bytes left undecided.
fn decode(stream: &[u8], sizes: &[usize]) -> (Vec<Event>, usize) {
    let mut decoder = RequestDecoder::new(LIMITS);
    let mut buffer: Vec<u8> = Vec::new();
    let mut events = Vec::new();
    let mut held = 0;
    let mut rest = stream;
    let mut turn = 0;
    while !rest.is_empty() {
        let n = match sizes {
            [] => rest.len(),
            _ => sizes[turn % sizes.len()].clamp(1, rest.len()),
        };
        turn += 1;
        buffer.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            let consumed = match decoder.decode(&buffer) {
                Parsed::Complete(message, consumed) => {
                    events.push(event(message));
                    consumed
                }
                Parsed::Error(LineError::Invalid { error, consumed }) => {
                    events.push(Event::Error(error));
                    consumed
                }
                Parsed::Error(LineError::Skipped { consumed }) => consumed,
                Parsed::Incomplete => break,
            };
            buffer.drain(..consumed);
        }
        held = held.max(buffer.len());
    }
    (events, held)
}

#[test]
fn every_reply_a_server_gives_comes_from_a_request_byte_by_byte() {
    let stream = b"get k\r\nset k v w\r\n\r\nput k\r\nget\r\nset k\r\nget k x\r\nget kkkkkkk\r\nset k 1234567890123\r\ndelete k\r\n";
    let (events, _) = decode(stream, &[1]);
    assert_eq!(
        events,
        [
            Event::Get(b"k".to_vec()),
            Event::Set(b"k".to_vec(), b"v w".to_vec()),
            Event::Error(RequestError::NoCommand),
            Event::Error(RequestError::UnknownCommand),
            Event::Error(RequestError::MissingKey),
            Event::Error(RequestError::MissingValue),
            Event::Error(RequestError::TooManyArguments),
            Event::Error(RequestError::KeyTooLong { limit: 6 }),
            Event::Error(RequestError::ValueTooLong { limit: 12 }),
            Event::Delete(b"k".to_vec()),
        ]
    );
}

#[test]
fn an_overlong_line_is_one_error_and_the_next_line_is_read() {
    let limit = LIMITS.max_line_length();
    let mut stream = b"set k ".to_vec();
    stream.extend(vec![b'v'; 10_000]);
    stream.extend_from_slice(b"\r\nget k\r\n");
    for sizes in [&[1usize][..], &[7], &[]] {
        let (events, held) = decode(&stream, sizes);
        assert_eq!(
            events,
            [
                Event::Error(RequestError::LineTooLong { limit }),
                Event::Get(b"k".to_vec())
            ],
            "{sizes:?}"
        );
        assert!(held <= LIMITS.max_buffered(), "{held} bytes held");
    }
}

/// Bytes rich in the protocol's words and delimiters.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"get ".to_vec()),
        Just(b"set ".to_vec()),
        Just(b"delete ".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"key".to_vec()),
        Just(vec![b'x'; 30]),
        vec(any::<u8>(), 1..4),
    ];
    vec(piece, 0..80).prop_map(|pieces| pieces.concat())
}

fn sizes() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![Just(vec![1]), vec(1usize..40, 1..8), Just(vec![])]
}

proptest! {
    #[test]
    fn any_split_gives_the_same_events_and_the_buffer_stays_bounded(stream in stream(), sizes in sizes()) {
        let (whole, _) = decode(&stream, &[]);
        let (split, held) = decode(&stream, &sizes);
        prop_assert_eq!(&split, &whole);
        prop_assert!(held <= LIMITS.max_buffered(), "{} bytes held", held);
        for e in &split {
            if let Event::Set(key, value) = e {
                prop_assert!(key.len() <= LIMITS.max_key_length && value.len() <= LIMITS.max_value_length);
            }
        }
    }

    #[test]
    fn requests_round_trip(
        key in vec(any::<u8>().prop_filter("a word", |b| !torsion_protocols::kv::is_whitespace(*b)), 1..=6),
        value in vec(any::<u8>(), 0..=12).prop_filter("no line break", |v| !v.contains(&b'\n')),
        which in 0..3u8,
    ) {
        let request = match which {
            0 => Request::Get { key: &key },
            1 => Request::Set { key: &key, value: &value },
            _ => Request::Delete { key: &key },
        };
        let mut wire = Vec::new();
        request.encode(&mut wire);
        // A value ending in '\r' meets the delimiter's '\r': "v\r\r\n" still
        // ends at the last "\r\n".
        let (events, _) = decode(&wire, &[1]);
        prop_assert_eq!(events, vec![event(request)]);
    }

    #[test]
    fn replies_round_trip(
        key in vec(any::<u8>().prop_filter("a word", |b| !torsion_protocols::kv::is_whitespace(*b)), 1..=6),
        value in vec(any::<u8>(), 0..=12).prop_filter("no line break", |v| !v.contains(&b'\n')),
        which in 0..6u8,
    ) {
        let reply = match which {
            0 => Reply::Value { key: &key, value: &value },
            1 => Reply::GetNotFound { key: &key },
            2 => Reply::Stored,
            3 => Reply::Deleted { key: &key },
            4 => Reply::DelNotFound { key: &key },
            _ => Reply::Error { reason: b"missing key" },
        };
        let mut wire = Vec::new();
        reply.encode(&mut wire);
        let mut decoder = ReplyDecoder::new(LIMITS);
        match decoder.decode(&wire) {
            Parsed::Complete(message, consumed) => {
                prop_assert_eq!(message, reply);
                prop_assert_eq!(consumed, wire.len());
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }
}
