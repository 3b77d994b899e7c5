//! Fuzzes Perspective Broker: the Banana decoder, jelly, and the `Broker`
//! answering calls.
//!
//! Input: one byte choosing the read size and the dialect, one choosing
//! the expression bound, then the stream. Decoded at once and in small
//! reads, the stream must give the same expressions and the same error, and
//! no more than the bound may stay undecided. Every expression unjellies
//! or is refused without panicking, and what unjellies jellies back to the
//! same value. Fed to a server `Broker` whole and byte by byte (after the
//! client's part of the negotiation), it must write the same bytes and end
//! the same way.
#![no_main]

use std::rc::Rc;

use torsion::testing::StringTransport;
use torsion_protocols::banana::{encoded, BananaDecoder, Dialect, Item};
use torsion_protocols::jelly::{jelly, unjelly, RemoteFailure, Value};
use torsion_protocols::pb::{Broker, Referenceable};
use torsion_protocols::{Decoder, Parsed};

/// The expressions in `stream`, read `read` bytes at a time, and the error.
fn decode(dialect: Dialect, max: usize, stream: &[u8], read: usize) -> (Vec<Item<'static>>, Option<String>) {
    let mut decoder = BananaDecoder::with_limits(dialect, 64, max);
    let (mut start, mut got) = (0, Vec::new());
    let mut end = 0;
    while end < stream.len() {
        end = (end + read.max(1)).min(stream.len());
        loop {
            match decoder.decode(&stream[start..end]) {
                Parsed::Complete(item, used) => {
                    assert!(used > 0 && used <= max);
                    start += used;
                    got.push(item);
                }
                Parsed::Incomplete => break,
                Parsed::Error(e) => return (got, Some(e.to_string())),
            }
        }
        assert!(end - start <= max, "{} bytes undecided", end - start);
    }
    (got, None)
}

/// The expressions as Banana bytes.
fn wire(items: &[Item<'_>]) -> Vec<Vec<u8>> {
    items.iter().map(|i| encoded(i, Dialect::Plain).unwrap_or_default()).collect()
}

/// A root with one method, `echo(x)`, failing for `None`.
fn root() -> Referenceable {
    Referenceable::new().method("echo", &["x"], |_, args| match &args[0] {
        Value::None => Err(RemoteFailure::value_error("nothing to echo")),
        other => Ok(other.clone()),
    })
}

/// What a server broker writes for `stream` (after the client's pick and
/// version, as Twisted sends them), read in one piece or a byte at a
/// time, and whether it closed.
fn serve(stream: &[u8], bytewise: bool) -> (Vec<u8>, bool) {
    let mut t = StringTransport::new(Broker::server(Rc::new(root())).with_max_message(4096));
    t.receive(b"\x02\x82pb\x02\x80\x13\x87\x06\x81");
    let reads: Vec<&[u8]> = if bytewise { stream.chunks(1).collect() } else { vec![stream] };
    for read in reads {
        t.receive(read);
    }
    (t.value(), t.disconnected())
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [read, bound, stream @ ..] = data else { return };
    let dialect = if read & 0x80 != 0 { Dialect::Pb } else { Dialect::Plain };
    let max = usize::from(*bound) * 16 + 4;
    let (items, error) = decode(dialect, max, stream, stream.len());
    let (split_items, split_error) = decode(dialect, max, stream, usize::from(read % 16) + 1);
    // Compared as bytes: a NaN is not equal to itself, its bytes are.
    assert_eq!(wire(&items), wire(&split_items));
    assert_eq!(error, split_error);
    for item in &items {
        if let Ok(value) = unjelly(item) {
            let again = jelly(&value);
            if let Ok(bytes) = encoded(&again, Dialect::Pb) {
                let read_back = unjelly(&again).expect("what unjellied once unjellies again");
                assert_eq!(encoded(&jelly(&read_back), Dialect::Pb).ok(), Some(bytes));
            }
        }
    }
    if stream.len() <= 2048 {
        assert_eq!(serve(stream, false), serve(stream, true));
    }
});
