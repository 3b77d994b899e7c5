//! Fuzzes the memcache text codec: parses a stream of command lines and data
//! blocks the way a session does, checking that every result stays inside
//! the input. Run with `cargo +nightly fuzz run memcache_text` in `protocols/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torsion_protocols::memcache::text::{parse, parse_data_block, DataBlock, Parsed, Request};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        match parse(rest) {
            Parsed::Incomplete => return,
            Parsed::Error { error, consumed } => {
                if error.kind.closes_connection() {
                    return;
                }
                assert!(consumed > 0 && consumed <= rest.len());
                rest = &rest[consumed..];
            }
            Parsed::Complete { request, consumed } => {
                assert!(consumed > 0 && consumed <= rest.len());
                rest = &rest[consumed..];
                if let Request::Storage(header) = request {
                    match parse_data_block(rest, header.bytes) {
                        DataBlock::Incomplete { needed } => {
                            assert!(needed > 0);
                            return;
                        }
                        DataBlock::Complete { data, consumed } => {
                            assert_eq!(data.len(), header.bytes as usize);
                            rest = &rest[consumed..];
                        }
                        DataBlock::BadChunk { consumed } => rest = &rest[consumed..],
                    }
                }
            }
        }
    }
});
