//! Fuzzes the memcache meta codec: parses a stream of meta lines (and `ms`
//! data blocks) the way a session does, checking that every result stays
//! inside the input. Run with `cargo +nightly fuzz run memcache_meta` in
//! `protocols/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torsion_protocols::memcache::meta::{parse, Command, ErrorKind, Parsed, MAX_DECODED_KEY_LEN};
use torsion_protocols::memcache::text::{parse_data_block, DataBlock};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        match parse(rest) {
            Parsed::NotMeta | Parsed::Incomplete => return,
            Parsed::Error { error, consumed } => {
                if error.kind == ErrorKind::LineTooLong {
                    return;
                }
                assert!(consumed > 0 && consumed <= rest.len());
                rest = &rest[consumed..];
                let skip = error.swallow.unwrap_or(0).min(rest.len());
                rest = &rest[skip..];
            }
            Parsed::Complete { request, consumed } => {
                assert!(consumed > 0 && consumed <= rest.len());
                if request.key.is_binary() {
                    assert!(request.key.bytes().len() <= MAX_DECODED_KEY_LEN);
                }
                for token in request.flags.tokens() {
                    assert!(!token.is_empty());
                }
                rest = &rest[consumed..];
                if let Command::Set { data_len, .. } = request.command {
                    match parse_data_block(rest, data_len) {
                        DataBlock::Incomplete { .. } => return,
                        DataBlock::Complete { consumed, .. } | DataBlock::BadChunk { consumed } => {
                            rest = &rest[consumed..]
                        }
                    }
                }
            }
        }
    }
});
