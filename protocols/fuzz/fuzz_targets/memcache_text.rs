//! Fuzzes the memcache text codecs, both ways: decodes a stream of requests
//! (classic and meta, as a text connection carries them) the way a session
//! does, checking that every result stays inside the input, that a request
//! composed back decodes to itself, and that splitting the stream never
//! changes what is decoded; then decodes the same bytes as server replies,
//! whole and a byte at a time, and composes what decodes. Run with `cargo +nightly fuzz run
//! memcache_text` in `protocols/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torsion_protocols::memcache::ascii::{Request, RequestDecoder};
use torsion_protocols::memcache::body::{Body, Head, Refusal};
use torsion_protocols::memcache::text::{Expect, ResponseDecoder, MAX_LINE_LEN};
use torsion_protocols::{Decoder, Parsed};

/// Every request and refusal in `stream`, fed `read` bytes at a time.
fn requests(stream: &[u8], read: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut decoder = RequestDecoder::default();
    let (mut start, mut end) = (0, 0);
    while start < stream.len() {
        let rest = &stream[start..end];
        let (request, used) = match decoder.decode(rest) {
            Parsed::Incomplete if end == stream.len() => break,
            Parsed::Incomplete => {
                end = (end + read).min(stream.len());
                continue;
            }
            Parsed::Error(error) => {
                seen.push(format!("{:?}", error.error));
                if error.consumed() == 0 {
                    break;
                }
                assert!(error.consumed() <= rest.len());
                start += error.consumed() + error.swallow().min(stream.len() - start - error.consumed());
                end = end.max(start);
                continue;
            }
            Parsed::Complete(request, used) => (request, used),
        };
        assert!(used > 0 && used <= rest.len());
        seen.push(format!("{request:?}"));
        let mut wire = Vec::new();
        match request {
            Request::Text(text) => text.write(&mut wire),
            Request::Meta(meta) => meta.write(&mut wire),
        }
        let again = RequestDecoder::default().decode(&wire);
        assert_eq!(again, Parsed::Complete(request, wire.len()), "{}", wire.escape_ascii());
        start += used;
        if let Body::Value(block) = request.body() {
            let skip = block.total().min(stream.len() - start);
            start += skip;
        }
        end = end.max(start);
    }
    seen
}

fuzz_target!(|data: &[u8]| {
    let [read, stream @ ..] = data else { return };
    let whole = requests(stream, stream.len().max(1));
    // A line longer than memcached's limit is refused or not depending on
    // how it arrives (whole, it is read), as in memcached.
    if stream.split(|&b| b == b'\n').all(|line| line.len() <= MAX_LINE_LEN) {
        assert_eq!(requests(stream, usize::from(*read % 16) + 1), whole);
    }
    for expect in [Expect::Stored, Expect::Values { keys: 4 }, Expect::Number, Expect::Stats] {
        let mut decoder = ResponseDecoder::new(1 << 16);
        decoder.expect(expect);
        let whole = decoder.decode(stream);
        if let Parsed::Complete(response, used) = &whole {
            assert!(*used <= stream.len());
            let mut wire = Vec::new();
            response.write(&mut wire);
        }
        let mut bytewise = ResponseDecoder::new(1 << 16);
        bytewise.expect(expect);
        let mut last = Parsed::Incomplete;
        for n in 0..=stream.len() {
            last = bytewise.decode(&stream[..n]);
            if last != Parsed::Incomplete {
                break;
            }
        }
        assert_eq!(last, whole);
    }
});
