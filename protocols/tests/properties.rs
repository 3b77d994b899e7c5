//! Property tests: any split of a stream gives the same messages; bounds
//! hold for any input; mode switches lose and repeat no byte.

mod util;

use proptest::collection::vec;
use proptest::prelude::*;
use torsion_protocols::codec::{Codec, Int16Codec, Int32Codec, Int8Codec, LineCodec, NetstringCodec};
use torsion_protocols::{FramedReceiver, LineReceiver};
use util::{feed, Event, Events, FrameRecorder, Recorder};

/// Bytes rich in delimiters and digits, so framing decisions happen often.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            Just(b'\r'),
            Just(b'\n'),
            Just(b':'),
            Just(b','),
            Just(0u8),
            b'0'..=b'9',
            any::<u8>(),
        ],
        0..600,
    )
}

/// Read sizes, cycled; the empty list means the whole stream at once.
fn sizes() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![Just(vec![1]), vec(1usize..40, 1..8), Just(vec![])]
}

fn line_receiver(events: &Events, max: usize, copy: bool) -> LineReceiver<Recorder> {
    let recorder = Recorder {
        copy,
        ..Recorder::new(events)
    };
    LineReceiver::new(recorder).with_max_line_length(max)
}

/// Every frame is within `max` bytes.
fn frames_within(events: &[Event], max: usize) -> bool {
    events.iter().all(|e| match e {
        Event::Line(f) | Event::Raw(f) => f.len() <= max,
        _ => true,
    })
}

/// Feeds `stream` to a framed receiver with `codec` whole and in `sizes`,
/// checks both agree, and checks the buffer bound after every read.
fn framed_agrees<C: Codec + Clone + 'static>(
    codec: C,
    stream: &[u8],
    sizes: &[usize],
) -> Result<(), TestCaseError> {
    let max_buffered = codec.max_buffered();
    let max = codec.max_length();
    let make = |e: &Events| FramedReceiver::with_codec(codec.clone(), FrameRecorder { events: e.clone() });
    let (whole, _) = feed(make, stream, &[], |_| {});
    let mut worst = 0;
    let (split, _) = feed(make, stream, sizes, |t| {
        if !t.disconnected() {
            worst = worst.max(t.with_protocol(|p: &mut FramedReceiver<C, FrameRecorder>, _| p.buffered()));
        }
    });
    prop_assert_eq!(&whole, &split);
    prop_assert!(frames_within(&whole, max));
    prop_assert!(
        worst <= max_buffered,
        "{} buffered, bound {}",
        worst,
        max_buffered
    );
    Ok(())
}

/// One message of the line-and-raw protocol the recorder speaks.
#[derive(Clone, Debug)]
enum Item {
    Line(Vec<u8>),
    Raw(Vec<u8>),
}

fn items() -> impl Strategy<Value = Vec<Item>> {
    let line = vec(prop_oneof![b'a'..=b'z', Just(b' '), Just(b'\r')], 0..20)
        .prop_filter("not a raw command", |l| !l.starts_with(b"raw "))
        .prop_map(Item::Line);
    let raw = vec(any::<u8>(), 1..50).prop_map(Item::Raw);
    vec(prop_oneof![line, raw], 0..30)
}

/// The wire bytes for `items`, and the raw blocks the handler must see.
fn encode(items: &[Item]) -> (Vec<u8>, Vec<Event>) {
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for item in items {
        match item {
            Item::Line(l) => {
                // Lines may hold a lone \r (never \n): still one line.
                wire.extend_from_slice(l);
                wire.extend_from_slice(b"\r\n");
            }
            Item::Raw(r) => {
                wire.extend_from_slice(format!("raw {}\r\n", r.len()).as_bytes());
                wire.extend_from_slice(r);
            }
        }
    }
    for item in items {
        if let Item::Raw(r) = item {
            expected.push(Event::Raw(r.clone()));
        }
    }
    (wire, expected)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn line_receiver_any_split_same_events(stream in stream(), sizes in sizes(), max in 0usize..40) {
        let (whole, _) = feed(|e| line_receiver(e, max, false), &stream, &[], |_| {});
        let mut worst = 0;
        let (split, _) = feed(|e| line_receiver(e, max, false), &stream, &sizes, |t| {
            if !t.disconnected() {
                worst = worst.max(t.with_protocol(|p: &mut LineReceiver<Recorder>, _| p.buffered()));
            }
        });
        prop_assert_eq!(&whole, &split);
        prop_assert!(frames_within(&whole, max));
        prop_assert!(worst <= max + 1, "{} buffered with max {}", worst, max);
    }

    #[test]
    fn raw_mode_switches_lose_and_repeat_no_byte(items in items(), sizes in sizes(), copy in any::<bool>()) {
        let (wire, raw_blocks) = encode(&items);
        let (events, _) = feed(|e| line_receiver(e, 1024, copy), &wire, &sizes, |_| {});
        let (whole, _) = feed(|e| line_receiver(e, 1024, false), &wire, &[], |_| {});
        prop_assert_eq!(&events, &whole);
        let raws: Vec<Event> = events.iter().filter(|e| matches!(e, Event::Raw(_))).cloned().collect();
        prop_assert_eq!(raws, raw_blocks);
        let lines: Vec<&Event> = events.iter().filter(|e| matches!(e, Event::Line(_))).collect();
        let sent: Vec<Event> = items.iter().filter_map(|i| match i {
            Item::Line(l) => Some(Event::Line(l.clone())),
            Item::Raw(_) => None,
        }).collect();
        prop_assert_eq!(lines.len(), sent.len());
        for (got, want) in lines.into_iter().zip(&sent) {
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn line_only_any_split_same_frames(stream in stream(), sizes in sizes(), max in 0usize..40) {
        let mut codec = LineCodec::with_delimiter(b"\r\n");
        codec.set_max_length(max);
        framed_agrees(codec, &stream, &sizes)?;
    }

    #[test]
    fn netstring_any_split_same_frames(stream in stream(), sizes in sizes(), max in 0usize..200) {
        let mut codec = NetstringCodec::new();
        codec.set_max_length(max);
        framed_agrees(codec, &stream, &sizes)?;
    }

    #[test]
    fn prefixed_any_split_same_frames(stream in stream(), sizes in sizes(), max in 0usize..300) {
        let mut c8 = Int8Codec::new();
        c8.set_max_length(max);
        framed_agrees(c8, &stream, &sizes)?;
        let mut c16 = Int16Codec::new();
        c16.set_max_length(max);
        framed_agrees(c16, &stream, &sizes)?;
        let mut c32 = Int32Codec::new();
        c32.set_max_length(max);
        framed_agrees(c32, &stream, &sizes)?;
    }

    #[test]
    fn encoded_payloads_come_back_whatever_the_split(
        payloads in vec(vec(any::<u8>(), 0..300), 0..12),
        sizes in sizes(),
    ) {
        fn round_trip<C: Codec + Clone + 'static>(codec: C, payloads: &[Vec<u8>], sizes: &[usize]) -> Result<(), TestCaseError> {
            let mut wire = Vec::new();
            let mut sent = Vec::new();
            for p in payloads {
                if codec.encode(p, &mut wire).is_ok() {
                    sent.push(Event::Line(p.clone()));
                }
            }
            let make = |e: &Events| FramedReceiver::with_codec(codec.clone(), FrameRecorder { events: e.clone() });
            let (events, _) = feed(make, &wire, sizes, |_| {});
            sent.push(Event::Eof(Vec::new()));
            sent.push(Event::Lost);
            prop_assert_eq!(events, sent);
            Ok(())
        }
        round_trip(NetstringCodec::new(), &payloads, &sizes)?;
        round_trip(Int8Codec::new(), &payloads, &sizes)?;
        round_trip(Int16Codec::new(), &payloads, &sizes)?;
        round_trip(Int32Codec::new(), &payloads, &sizes)?;
        // Lines: payloads without the delimiter.
        let lines: Vec<Vec<u8>> = payloads.iter().map(|p| p.iter().copied().filter(|b| *b != b'\n').collect()).collect();
        let mut codec = LineCodec::with_delimiter(b"\n");
        codec.set_max_length(300);
        round_trip(codec, &lines, &sizes)?;
    }
}
