//! Fuzzes the memcache binary codec: parses a stream of request packets the
//! way a session does (values and swallowed bodies skipped), checking that
//! every result stays inside the input. Run with
//! `cargo +nightly fuzz run memcache_binary` in `protocols/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torsion_protocols::memcache::binary::{parse, Command, Parsed, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        match parse(rest) {
            Parsed::Incomplete { needed } => {
                assert!(needed > 0);
                return;
            }
            Parsed::BadMagic => return,
            Parsed::Complete { request, consumed } => {
                assert!(consumed >= HEADER_LEN && consumed <= rest.len());
                assert_eq!(request.key.len(), usize::from(request.header.key_len));
                assert_eq!(request.extras.len(), usize::from(request.header.extras_len));
                if let Command::Invalid(_) | Command::Quit { .. } = request.command {
                    return;
                }
                rest = &rest[consumed..];
                let skip = request.value_len().min(rest.len());
                rest = &rest[skip..];
            }
        }
    }
});
