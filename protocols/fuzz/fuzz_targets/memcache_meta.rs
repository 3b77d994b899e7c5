//! Fuzzes the memcache meta codecs: parses meta command lines (what
//! `ascii::RequestDecoder` hands the meta commands once it has framed a
//! line), checking keys and flag tokens, composing each request back and
//! parsing it again; then decodes the bytes as meta replies, whole and a
//! byte at a time, and composes what decodes. Run with
//! `cargo +nightly fuzz run memcache_meta` in `protocols/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torsion_protocols::memcache::body::{Body, Head};
use torsion_protocols::memcache::meta::{parse_line, ResponseDecoder, MAX_DECODED_KEY_LEN};
use torsion_protocols::{Decoder, Parsed};

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&b| b == b'\n') {
        let Some(Ok(request)) = parse_line(line) else { continue };
        if request.key.is_binary() {
            assert!(request.key.bytes().len() <= MAX_DECODED_KEY_LEN);
        }
        for token in request.flags.tokens() {
            assert!(!token.is_empty());
        }
        if let Body::Value(block) = request.body() {
            assert_eq!(block.trailer, b"\r\n");
        }
        let mut wire = Vec::new();
        request.write(&mut wire);
        let again = parse_line(&wire[..wire.len() - 2]);
        assert_eq!(again, Some(Ok(request)), "{}", wire.escape_ascii());
    }
    let whole = ResponseDecoder::new(1 << 16).decode(data);
    if let Parsed::Complete(response, used) = &whole {
        assert!(*used <= data.len());
        let mut wire = Vec::new();
        response.write(&mut wire);
    }
    let mut bytewise = ResponseDecoder::new(1 << 16);
    let mut last = Parsed::Incomplete;
    for n in 0..=data.len() {
        last = bytewise.decode(&data[..n]);
        if last != Parsed::Incomplete {
            break;
        }
    }
    assert_eq!(last, whole);
});
