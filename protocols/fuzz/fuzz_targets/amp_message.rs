//! Fuzzes what AMP makes of a box once decoded: [`Message::classify`]
//! (command, answer, error or none), and every typed [`Argument`] read from
//! the box's values. Whatever the bytes, nothing may panic, and a value
//! that reads as a type must write back to bytes that read as the same
//! value (integers and booleans byte for byte).
#![no_main]

use torsion_protocols::amp::{Argument, BoxDecoder, Message};
use torsion_protocols::{Decoder, Parsed};

fn round_trip<A: Argument + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    if let Ok(value) = A::read(bytes) {
        let mut wire = Vec::new();
        value.write(&mut wire);
        assert_eq!(A::read(&wire).as_ref(), Ok(&value), "{bytes:?} -> {wire:?}");
    }
}

fn check_value(bytes: &[u8]) {
    round_trip::<i64>(bytes);
    round_trip::<i32>(bytes);
    round_trip::<u64>(bytes);
    round_trip::<u32>(bytes);
    round_trip::<u16>(bytes);
    round_trip::<u8>(bytes);
    round_trip::<usize>(bytes);
    round_trip::<bool>(bytes);
    round_trip::<String>(bytes);
    round_trip::<Vec<u8>>(bytes);
    if let Ok(x) = f64::read(bytes) {
        let mut wire = Vec::new();
        x.write(&mut wire);
        let back = f64::read(&wire).expect("a written float reads back");
        assert!(
            back == x || (back.is_nan() && x.is_nan()),
            "{bytes:?}: {x} -> {back}"
        );
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut decoder = BoxDecoder::with_max_box_size(64 * 1024);
    let mut rest = data;
    while let Parsed::Complete(frame, consumed) = decoder.decode(rest) {
        for (_, value) in frame.iter() {
            check_value(value);
        }
        match Message::classify(frame) {
            Ok(Message::Command { name, ask, arguments }) => {
                assert_eq!(frame.get(b"_command"), Some(name));
                assert_eq!(frame.get(b"_ask"), ask);
                assert_eq!(arguments.as_bytes(), frame.as_bytes());
            }
            Ok(Message::Answer { tag, .. }) => assert_eq!(frame.get(b"_answer"), Some(tag)),
            Ok(Message::Error { tag, .. }) => assert_eq!(frame.get(b"_error"), Some(tag)),
            Err(_) => {}
        }
        rest = &rest[consumed..];
    }
    // Values that no box frames: the argument readers alone.
    check_value(data);
});
