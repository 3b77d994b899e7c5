//! LineOnlyReceiver, NetstringReceiver and the IntN receivers.

mod util;

use torsion::testing::StringTransport;
use torsion_protocols::codec::{FrameError, Int16Codec, Int8Codec, LineCodec};
use torsion_protocols::{
    FrameCtx, FrameHandler, Int16Receiver, Int32Receiver, Int8Receiver, LineOnlyReceiver, NetstringReceiver,
};
use util::{feed, Event, FrameRecorder};

fn frames(events: &[Event]) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Line(l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn line_only_frames_lines_bytewise() {
    let stream = b"a\nbb\n\nccc";
    let make =
        |e: &util::Events| LineOnlyReceiver::new(FrameRecorder { events: e.clone() }).with_delimiter(b"\n");
    let (whole, _) = feed(make, stream, &[], |_| {});
    let (bytewise, _) = feed(make, stream, &[1], |_| {});
    assert_eq!(whole, bytewise);
    assert_eq!(frames(&whole), [b"a".to_vec(), b"bb".to_vec(), b"".to_vec()]);
    assert_eq!(whole[3], Event::Eof(b"ccc".to_vec()));
}

#[test]
fn line_only_refuses_long_lines() {
    let make =
        |e: &util::Events| LineOnlyReceiver::new(FrameRecorder { events: e.clone() }).with_max_length(3);
    let (events, _) = feed(make, b"abc\r\nabcd\r\nabc\r\n", &[1], |_| {});
    assert_eq!(
        events,
        [
            Event::Line(b"abc".to_vec()),
            Event::Error(FrameError::LineTooLong { limit: 3 }),
            Event::Lost
        ]
    );
}

#[test]
fn netstrings_frame_and_refuse() {
    let make = |e: &util::Events| NetstringReceiver::new(FrameRecorder { events: e.clone() });
    let (events, _) = feed(make, b"5:hello,0:,3:a,b,1:xx", &[2], |_| {});
    assert_eq!(
        frames(&events),
        [b"hello".to_vec(), b"".to_vec(), b"a,b".to_vec()]
    );
    assert_eq!(events[3], Event::Error(FrameError::MissingComma));

    let make =
        |e: &util::Events| NetstringReceiver::new(FrameRecorder { events: e.clone() }).with_max_length(10);
    let (events, _) = feed(make, b"11:", &[1], |_| {});
    assert_eq!(
        events[0],
        Event::Error(FrameError::TooLong {
            length: 11,
            limit: 10
        })
    );
}

#[test]
fn prefixed_receivers_frame_each_width() {
    let make8 = |e: &util::Events| Int8Receiver::new(FrameRecorder { events: e.clone() });
    let (events, _) = feed(make8, b"\x02hi\x00\x01!", &[1], |_| {});
    assert_eq!(frames(&events), [b"hi".to_vec(), b"".to_vec(), b"!".to_vec()]);

    let make16 = |e: &util::Events| Int16Receiver::new(FrameRecorder { events: e.clone() });
    let (events, _) = feed(make16, b"\x00\x03abc\x00", &[2], |_| {});
    assert_eq!(frames(&events), [b"abc".to_vec()]);
    assert_eq!(events[1], Event::Eof(b"\x00".to_vec()));

    let make32 =
        |e: &util::Events| Int32Receiver::new(FrameRecorder { events: e.clone() }).with_max_length(4);
    let (events, _) = feed(make32, b"\0\0\0\x04abcd\0\0\0\x05abcde", &[3], |_| {});
    assert_eq!(frames(&events), [b"abcd".to_vec()]);
    assert_eq!(
        events[1],
        Event::Error(FrameError::TooLong { length: 5, limit: 4 })
    );
}

struct Echo;

impl FrameHandler<Int8Codec> for Echo {
    fn frame_received(&mut self, ctx: &mut FrameCtx<'_, '_, Int8Codec>, frame: &[u8]) {
        let mut doubled = frame.to_vec();
        doubled.extend_from_slice(frame);
        if let Err(e) = ctx.send(&doubled) {
            assert_eq!(
                e,
                FrameError::Unencodable {
                    length: 300,
                    max: 255
                }
            );
            ctx.send(b"too long").unwrap();
        }
    }
}

#[test]
fn sending_what_the_prefix_cannot_carry_fails_and_sends_nothing() {
    let mut t = StringTransport::new(Int8Receiver::new(Echo));
    t.receive(b"\x02ab");
    assert_eq!(t.value(), b"\x04abab");
    t.clear();
    let mut long = vec![150u8];
    long.extend_from_slice(&[b'z'; 150]);
    t.receive(&long);
    assert_eq!(t.value(), b"\x08too long");
}

struct Lines;

impl FrameHandler<LineCodec> for Lines {
    fn frame_received(&mut self, ctx: &mut FrameCtx<'_, '_, LineCodec>, frame: &[u8]) {
        ctx.pause_delivery();
        ctx.send_line(frame);
    }
}

#[test]
fn framed_delivery_pauses_and_resumes() {
    let mut t = StringTransport::new(LineOnlyReceiver::new(Lines));
    t.receive(b"1\r\n2\r\n3\r\n");
    assert_eq!(t.value(), b"1\r\n");
    assert!(t.reading_paused());
    t.with_protocol(|p: &mut LineOnlyReceiver<Lines>, ctx| p.resume_delivery(ctx));
    assert_eq!(t.value(), b"1\r\n2\r\n");
    t.with_protocol(|p: &mut LineOnlyReceiver<Lines>, ctx| p.resume_delivery(ctx));
    t.with_protocol(|p: &mut LineOnlyReceiver<Lines>, ctx| p.resume_delivery(ctx));
    assert_eq!(t.value(), b"1\r\n2\r\n3\r\n");
    assert!(!t.reading_paused());
}

struct Sixteen;

impl FrameHandler<Int16Codec> for Sixteen {
    fn frame_received(&mut self, ctx: &mut FrameCtx<'_, '_, Int16Codec>, frame: &[u8]) {
        ctx.send(frame).unwrap();
    }
}

#[test]
fn int16_round_trips_its_largest_payload() {
    let mut t = StringTransport::new(Int16Receiver::new(Sixteen));
    let mut msg = vec![0xff, 0xff];
    msg.extend(std::iter::repeat_n(7u8, 65_535));
    t.receive(&msg);
    assert_eq!(t.value(), msg);
}
