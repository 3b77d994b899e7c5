//! Fuzzes AMP: the box decoder, and the `Amp` protocol answering a command.
//!
//! Input: one byte choosing read sizes, one byte choosing the box bound,
//! then the stream. Decoded at once and in small reads, the stream must
//! give the same boxes and the same error; no more than `max_buffered`
//! bytes may stay undecided. Fed to an `Amp` connection whole and byte by
//! byte, it must produce the same answers and end the same way.
#![no_main]

use std::rc::Rc;

use torsion::testing::StringTransport;
use torsion_protocols::amp::{
    Amp, AmpBox, ArgumentError, Arguments, BoxDecoder, BoxRef, Command, RemoteError, Responders,
};
use torsion_protocols::{Decoder, Parsed};

fn decode(max: usize, stream: &[u8], read: usize) -> (Vec<Vec<u8>>, Option<String>) {
    let mut decoder = BoxDecoder::with_max_box_size(max);
    let (mut buffer, mut boxes) = (Vec::new(), Vec::new());
    for chunk in stream.chunks(read.max(1)) {
        buffer.extend_from_slice(chunk);
        loop {
            match decoder.decode(&buffer) {
                Parsed::Complete(frame, consumed) => {
                    assert_eq!(frame.as_bytes(), &buffer[..consumed]);
                    assert!(consumed <= max);
                    for (key, value) in frame.iter() {
                        assert!((1..=255).contains(&key.len()) && value.len() <= 65_535);
                    }
                    boxes.push(buffer[..consumed].to_vec());
                    buffer.drain(..consumed);
                }
                Parsed::Incomplete => break,
                Parsed::Error(e) => return (boxes, Some(e.to_string())),
            }
        }
        assert!(buffer.len() <= decoder.max_buffered());
    }
    (boxes, None)
}

struct Echo;
struct Text(String);

impl Command for Echo {
    const NAME: &'static str = "Echo";
    type Arguments = Text;
    type Response = Text;
}

impl Arguments for Text {
    fn to_box(&self, out: &mut AmpBox) {
        out.put("text", &self.0);
    }
    fn from_box(b: &BoxRef<'_>) -> Result<Self, ArgumentError> {
        Ok(Text(b.arg("text")?))
    }
}

fn serve(stream: &[u8], bytewise: bool) -> (Vec<u8>, bool) {
    let responders = Responders::new().on::<Echo, _>(|_, t: Text| {
        if t.0.is_empty() {
            return Err(RemoteError::new("EMPTY", "nothing to echo"));
        }
        Ok(t)
    });
    let mut t = StringTransport::new(Amp::new(Rc::new(responders)).with_max_box_size(4096));
    if bytewise {
        t.receive_bytewise(stream);
    } else {
        t.receive(stream);
    }
    (t.value(), t.disconnected())
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [read, bound, stream @ ..] = data else { return };
    let max = usize::from(*bound) * 16 + 4;
    assert_eq!(
        decode(max, stream, stream.len()),
        decode(max, stream, usize::from(read % 16) + 1)
    );
    if stream.len() <= 2048 {
        assert_eq!(serve(stream, false), serve(stream, true));
    }
});
