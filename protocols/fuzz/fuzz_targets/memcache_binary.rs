//! Fuzzes the memcache binary codecs: decodes a stream of request packets
//! the way a session does (values and swallowed bodies skipped), checking
//! that every result stays inside the input and that a packet composed back
//! is the bytes it came from; then decodes the bytes as response packets and
//! checks each composed back decodes the same. Run with `cargo +nightly fuzz run memcache_binary` in
//! `protocols/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torsion_protocols::memcache::binary::{Command, RequestDecoder, ResponseDecoder, HEADER_LEN};
use torsion_protocols::memcache::body::{Body, Head};
use torsion_protocols::{Decoder, Parsed};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        let Parsed::Complete(request, consumed) = RequestDecoder.decode(rest) else { break };
        assert!(consumed >= HEADER_LEN && consumed <= rest.len());
        assert_eq!(request.key.len(), usize::from(request.header.key_len));
        assert_eq!(request.extras.len(), usize::from(request.header.extras_len));
        let mut wire = Vec::new();
        request.write(&mut wire);
        assert_eq!(wire, rest[..consumed]);
        if let Command::Invalid(_) | Command::Quit { .. } = request.command {
            break;
        }
        rest = &rest[consumed..];
        let skip = match request.body() {
            Body::Value(block) => block.total(),
            Body::Discard(len) => len,
            Body::None => 0,
        };
        rest = &rest[skip.min(rest.len())..];
    }
    let mut rest = data;
    while let Parsed::Complete(response, used) = ResponseDecoder::new(1 << 16).decode(rest) {
        // Composed back (with data type 0, as memcached sends), it decodes
        // to the same response.
        let mut wire = Vec::new();
        response.write(&mut wire);
        let again = ResponseDecoder::new(1 << 16).decode(&wire);
        assert_eq!(again, Parsed::Complete(response, used));
        rest = &rest[used..];
    }
});
