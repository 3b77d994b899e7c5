//! Fuzzes the key-value line protocol's request decoder.
//!
//! Input: one byte choosing read sizes, one byte choosing the key and value
//! bounds, then the stream. The stream is decoded at once and in small
//! reads; both must give the same requests and errors, no request may pass
//! the bounds, and no more than `max_buffered` bytes may stay undecided.
#![no_main]

use torsion_protocols::kv::{Limits, LineError, Request, RequestDecoder};
use torsion_protocols::{Decoder, Parsed};

#[derive(Debug, PartialEq)]
enum Event {
    Request(String),
    Error(String),
}

fn decode(limits: Limits, stream: &[u8], read: usize) -> Vec<Event> {
    let mut decoder = RequestDecoder::new(limits);
    let (mut buffer, mut events) = (Vec::new(), Vec::new());
    for chunk in stream.chunks(read.max(1)) {
        buffer.extend_from_slice(chunk);
        loop {
            let consumed = match decoder.decode(&buffer) {
                Parsed::Complete(message, consumed) => {
                    if let Request::Set { key, value } = message {
                        assert!(key.len() <= limits.max_key_length && value.len() <= limits.max_value_length);
                    }
                    events.push(Event::Request(format!("{message:?}")));
                    consumed
                }
                Parsed::Error(LineError::Invalid { error, consumed }) => {
                    events.push(Event::Error(error.to_string()));
                    consumed
                }
                Parsed::Error(LineError::Skipped { consumed }) => consumed,
                Parsed::Incomplete => break,
            };
            assert!(consumed > 0 && consumed <= buffer.len());
            buffer.drain(..consumed);
        }
        assert!(
            buffer.len() <= decoder.max_buffered(),
            "{} bytes undecided",
            buffer.len()
        );
    }
    events
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [read, bounds, stream @ ..] = data else { return };
    let limits = Limits {
        max_key_length: usize::from(bounds & 0x0f) + 1,
        max_value_length: usize::from(bounds >> 4) * 4,
    };
    let whole = decode(limits, stream, stream.len());
    let split = decode(limits, stream, usize::from(read % 16) + 1);
    assert_eq!(whole, split);
});
