//! AMP: the box codec under any split and any input, and the [`Amp`]
//! protocol byte by byte: answering commands, calling the peer, and
//! closing on a broken stream.

use std::cell::RefCell;
use std::rc::Rc;

use proptest::collection::vec;
use proptest::prelude::*;
use torsion::testing::StringTransport;
use torsion::{Deferred, Failure};
use torsion_protocols::amp::{
    Amp, AmpBox, ArgumentError, Arguments, BoxDecoder, BoxRef, CallError, Command, DecodeError, RemoteError,
    Responders,
};
use torsion_protocols::{Decoder, Parsed};

// ----- a command to play with ------------------------------------------------

struct Sum;
#[derive(Debug, PartialEq)]
struct Operands {
    a: i64,
    b: i64,
}
#[derive(Debug, PartialEq)]
struct Total {
    total: i64,
}

impl Command for Sum {
    const NAME: &'static str = "Sum";
    type Arguments = Operands;
    type Response = Total;
}

impl Arguments for Operands {
    fn to_box(&self, out: &mut AmpBox) {
        out.put("a", &self.a);
        out.put("b", &self.b);
    }
    fn from_box(b: &BoxRef<'_>) -> Result<Self, ArgumentError> {
        Ok(Operands {
            a: b.arg("a")?,
            b: b.arg("b")?,
        })
    }
}

impl Arguments for Total {
    fn to_box(&self, out: &mut AmpBox) {
        out.put("total", &self.total);
    }
    fn from_box(b: &BoxRef<'_>) -> Result<Self, ArgumentError> {
        Ok(Total {
            total: b.arg("total")?,
        })
    }
}

/// A command answered later, through a Deferred the test fires.
struct Slow;
impl Command for Slow {
    const NAME: &'static str = "Slow";
    type Arguments = ();
    type Response = Total;
}

fn wire(pairs: &[(&str, &str)]) -> Vec<u8> {
    pairs.iter().copied().collect::<AmpBox>().to_bytes().unwrap()
}

type Later = Rc<RefCell<Option<Deferred<Total>>>>;

fn server() -> (StringTransport, Later) {
    let later: Later = Rc::default();
    let slot = later.clone();
    let responders = Responders::new()
        .on::<Sum, _>(|_, o: Operands| {
            if o.b == 0 {
                return Err(RemoteError::new("ZERO", "b is zero"));
            }
            Ok(Total { total: o.a + o.b })
        })
        .on::<Slow, _>(move |_, ()| {
            let d = Deferred::new();
            *slot.borrow_mut() = Some(d.clone());
            d
        });
    (StringTransport::new(Amp::new(Rc::new(responders))), later)
}

// ----- answering ---------------------------------------------------------------

#[test]
fn a_command_is_answered_byte_by_byte() {
    let (mut t, _) = server();
    t.receive_bytewise(&wire(&[
        ("_command", "Sum"),
        ("_ask", "ef1"),
        ("a", "13"),
        ("b", "81"),
    ]));
    assert_eq!(t.value(), wire(&[("_answer", "ef1"), ("total", "94")]));
    assert_eq!(
        t.value(),
        b"\x00\x07_answer\x00\x03ef1\x00\x05total\x00\x0294\x00\x00"
    );
}

#[test]
fn a_declared_error_is_an_error_box() {
    let (mut t, _) = server();
    t.receive(&wire(&[
        ("_command", "Sum"),
        ("_ask", "1"),
        ("a", "1"),
        ("b", "0"),
    ]));
    assert_eq!(
        t.value(),
        wire(&[
            ("_error", "1"),
            ("_error_code", "ZERO"),
            ("_error_description", "b is zero")
        ])
    );
    assert!(!t.disconnected());
}

#[test]
fn an_unknown_command_is_unhandled() {
    let (mut t, _) = server();
    t.receive(&wire(&[("_command", "Frobnicate"), ("_ask", "2")]));
    assert_eq!(
        t.value(),
        wire(&[
            ("_error", "2"),
            ("_error_code", "UNHANDLED"),
            ("_error_description", "Unhandled Command: \"Frobnicate\"")
        ])
    );
}

#[test]
fn bad_arguments_are_unknown_errors_and_the_connection_goes_on() {
    let (mut t, _) = server();
    t.receive(&wire(&[("_command", "Sum"), ("_ask", "3"), ("a", "1")]));
    t.receive(&wire(&[
        ("_command", "Sum"),
        ("_ask", "4"),
        ("a", "x"),
        ("b", "1"),
    ]));
    t.receive(&wire(&[
        ("_command", "Sum"),
        ("_ask", "5"),
        ("a", "1"),
        ("b", "1"),
    ]));
    let mut expected = wire(&[
        ("_error", "3"),
        ("_error_code", "UNKNOWN"),
        (
            "_error_description",
            "bad arguments for Sum: missing argument \"b\"",
        ),
    ]);
    expected.extend(wire(&[
        ("_error", "4"),
        ("_error_code", "UNKNOWN"),
        (
            "_error_description",
            "bad arguments for Sum: argument \"a\" is not a valid Integer: \"x\": invalid digit found in string",
        ),
    ]));
    expected.extend(wire(&[("_answer", "5"), ("total", "2")]));
    assert_eq!(t.value(), expected);
}

#[test]
fn a_command_without_ask_gets_no_answer() {
    let (mut t, _) = server();
    t.receive(&wire(&[("_command", "Sum"), ("a", "1"), ("b", "2")]));
    t.receive(&wire(&[("_command", "Nope")]));
    assert!(t.value().is_empty());
    assert!(!t.disconnected());
}

#[test]
fn a_later_answer_goes_out_when_it_fires() {
    let (mut t, later) = server();
    t.receive(&wire(&[("_command", "Slow"), ("_ask", "a")]));
    t.receive(&wire(&[
        ("_command", "Sum"),
        ("_ask", "b"),
        ("a", "1"),
        ("b", "1"),
    ]));
    // The quick answer does not wait for the slow one.
    assert_eq!(t.value(), wire(&[("_answer", "b"), ("total", "2")]));
    t.clear();
    let d = later.borrow_mut().take().unwrap();
    d.callback(t.reactor(), Total { total: 7 }).unwrap();
    t.pump();
    assert_eq!(t.value(), wire(&[("_answer", "a"), ("total", "7")]));
}

#[test]
fn a_later_failure_is_its_remote_error_or_unknown() {
    let (mut t, later) = server();
    t.receive(&wire(&[("_command", "Slow"), ("_ask", "a")]));
    let d = later.borrow_mut().take().unwrap();
    d.errback(t.reactor(), RemoteError::new("LATE", "too late"))
        .unwrap();
    t.receive(&wire(&[("_command", "Slow"), ("_ask", "b")]));
    let d = later.borrow_mut().take().unwrap();
    d.errback(t.reactor(), Failure::msg("disk on fire")).unwrap();
    t.pump();
    let mut expected = wire(&[
        ("_error", "a"),
        ("_error_code", "LATE"),
        ("_error_description", "too late"),
    ]);
    expected.extend(wire(&[
        ("_error", "b"),
        ("_error_code", "UNKNOWN"),
        ("_error_description", "Unknown Error"),
    ]));
    assert_eq!(t.value(), expected);
}

#[test]
fn a_broken_stream_closes_the_connection() {
    for bad in [
        &b"\x00\x00"[..],                                 // an empty box
        b"\x01\x00",                                      // a key of 256 bytes
        &wire(&[("hello", "world")]),                     // no _command, _answer or _error
        &wire(&[("_answer", "99"), ("total", "1")]),      // an answer to nothing
        &wire(&[("_error", "99"), ("_error_code", "X")]), // an error for nothing
    ] {
        let (mut t, _) = server();
        t.receive(bad);
        assert!(t.disconnected(), "{bad:?}");
        assert!(t.value().is_empty());
    }
}

#[test]
fn a_box_over_the_bound_closes_before_it_is_buffered() {
    let mut t = StringTransport::new(Amp::new(Rc::new(Responders::new())).with_max_box_size(100));
    t.receive(b"\x00\x01k\xff\xff");
    assert!(t.disconnected());
}

#[test]
fn with_an_idle_timeout_only_whole_boxes_keep_the_connection_open() {
    use std::time::Duration;
    use torsion::CloseReason;
    let amp = Amp::new(Rc::new(Responders::new())).with_idle_timeout(Some(Duration::from_secs(10)));
    let mut t = StringTransport::new(amp);
    // A whole box (a command nobody answers) every 9 s keeps it open.
    for _ in 0..3 {
        t.advance(Duration::from_secs(9));
        t.receive(b"\x00\x08_command\x00\x01X\x00\x00");
    }
    assert!(!t.disconnected());
    // A slowloris: one byte of a box now and then is not progress.
    for byte in b"\x00\x08_comman" {
        t.advance(Duration::from_secs(1));
        t.receive(&[*byte]);
    }
    t.advance(Duration::from_secs(2));
    assert!(matches!(t.close_reason(), Some(CloseReason::TimedOut)));
}

// ----- calling -------------------------------------------------------------------

type Results = Rc<RefCell<Vec<Result<i64, String>>>>;

fn client() -> (StringTransport, torsion_protocols::amp::Remote, Results) {
    let amp = Amp::new(Rc::new(Responders::new())).with_max_pending(3);
    let remote = amp.remote();
    (StringTransport::new(amp), remote, Rc::default())
}

fn call(t: &mut StringTransport, remote: &torsion_protocols::amp::Remote, results: &Results, a: i64, b: i64) {
    let out = results.clone();
    let _chain = remote.call::<Sum>(t.reactor(), &Operands { a, b }).then_both(
        t.reactor(),
        move |_, r: Result<Total, Failure>| {
            out.borrow_mut()
                .push(r.map(|t| t.total).map_err(|f| f.to_string()));
            Ok(())
        },
    );
    t.pump();
}

#[test]
fn calls_are_tagged_in_hex_and_answers_match_by_tag_in_any_order() {
    let (mut t, remote, results) = client();
    for i in 0..3 {
        call(&mut t, &remote, &results, i, 10);
    }
    let mut expected = wire(&[("_command", "Sum"), ("_ask", "1"), ("a", "0"), ("b", "10")]);
    expected.extend(wire(&[
        ("_command", "Sum"),
        ("_ask", "2"),
        ("a", "1"),
        ("b", "10"),
    ]));
    expected.extend(wire(&[
        ("_command", "Sum"),
        ("_ask", "3"),
        ("a", "2"),
        ("b", "10"),
    ]));
    assert_eq!(t.value(), expected);
    assert_eq!(remote.pending(), 3);
    let mut answers = wire(&[("_answer", "3"), ("total", "12")]);
    answers.extend(wire(&[
        ("_error", "1"),
        ("_error_code", "ZERO"),
        ("_error_description", "no"),
    ]));
    answers.extend(wire(&[("_answer", "2"), ("total", "11")]));
    t.receive_bytewise(&answers);
    assert_eq!(
        *results.borrow(),
        [Ok(12), Err("remote error ZERO: no".to_string()), Ok(11)]
    );
    assert_eq!(remote.pending(), 0);
}

#[test]
fn pending_calls_are_bounded() {
    let (mut t, remote, results) = client();
    for i in 0..4 {
        call(&mut t, &remote, &results, i, 0);
    }
    assert_eq!(
        *results.borrow(),
        [Err(CallError::TooManyPending { limit: 3 }.to_string())]
    );
}

#[test]
fn a_lost_connection_fails_every_waiting_call_and_every_later_one() {
    let (mut t, remote, results) = client();
    call(&mut t, &remote, &results, 1, 2);
    call(&mut t, &remote, &results, 3, 4);
    t.receive_reset();
    call(&mut t, &remote, &results, 5, 6);
    let results = results.borrow();
    assert_eq!(results.len(), 3);
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_err_and(|e| e.contains("closed"))),
        "{results:?}"
    );
}

#[test]
fn a_bad_answer_fails_the_call_and_an_unasked_one_breaks_the_connection() {
    let (mut t, remote, results) = client();
    call(&mut t, &remote, &results, 1, 2);
    call(&mut t, &remote, &results, 1, 2);
    t.receive(&wire(&[("_answer", "1"), ("sum", "3")]));
    t.receive(&wire(&[("_answer", "7"), ("total", "3")]));
    let results = results.borrow();
    assert!(results[0]
        .as_ref()
        .is_err_and(|e| e.contains("missing argument \"total\"")));
    assert!(
        results[1].as_ref().is_err_and(|e| e.contains("never asked")),
        "{results:?}"
    );
    assert!(t.disconnected());
}

#[test]
fn an_answer_callback_may_call_again_on_the_same_connection() {
    let (mut t, remote, results) = client();
    let (again, out) = (remote.clone(), results.clone());
    let _chain = remote
        .call::<Sum>(t.reactor(), &Operands { a: 1, b: 1 })
        .then(t.reactor(), move |r, total: Total| {
            again.call::<Sum>(r, &Operands { a: total.total, b: 1 })
        })
        .then(t.reactor(), move |_, total: Total| {
            out.borrow_mut().push(Ok(total.total));
            Ok(())
        });
    t.pump();
    t.clear();
    t.receive(&wire(&[("_answer", "1"), ("total", "2")]));
    assert_eq!(
        t.value(),
        wire(&[("_command", "Sum"), ("_ask", "2"), ("a", "2"), ("b", "1")])
    );
    t.receive(&wire(&[("_answer", "2"), ("total", "3")]));
    assert_eq!(*results.borrow(), [Ok(3)]);
}

#[test]
fn a_remote_before_the_connection_is_not_connected() {
    let amp = Amp::new(Rc::new(Responders::new()));
    let remote = amp.remote();
    let mut reactor = torsion::Reactor::new().unwrap();
    let d = remote.call::<Sum>(&mut reactor, &Operands { a: 1, b: 2 });
    let failed = reactor.run_until_complete(d).unwrap().unwrap_err();
    assert!(matches!(
        failed.find::<CallError>(),
        Some(CallError::NotConnected)
    ));
}

// ----- the codec under any input ---------------------------------------------------

fn boxes() -> impl Strategy<Value = Vec<AmpBox>> {
    let pair = (vec(any::<u8>(), 1..=255), vec(any::<u8>(), 0..300));
    vec(
        vec(pair, 1..6).prop_map(|pairs| pairs.into_iter().collect::<AmpBox>()),
        0..6,
    )
}

/// Decodes `stream` fed in reads of `sizes`; the boxes, an error, and the
/// most bytes held undecided.
fn decode(stream: &[u8], sizes: &[usize], max: usize) -> (Vec<AmpBox>, Option<DecodeError>, usize) {
    let mut decoder = BoxDecoder::with_max_box_size(max);
    let (mut buffer, mut out, mut held, mut turn) = (Vec::new(), Vec::new(), 0, 0);
    let mut rest = stream;
    while !rest.is_empty() {
        let n = match sizes {
            [] => rest.len(),
            _ => sizes[turn % sizes.len()].clamp(1, rest.len()),
        };
        turn += 1;
        buffer.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match decoder.decode(&buffer) {
                Parsed::Complete(frame, consumed) => {
                    out.push(frame.to_owned_box());
                    buffer.drain(..consumed);
                }
                Parsed::Incomplete => break,
                Parsed::Error(e) => return (out, Some(e), held),
            }
        }
        held = held.max(buffer.len());
    }
    (out, None, held)
}

proptest! {
    #[test]
    fn boxes_round_trip_under_any_split(boxes in boxes(), sizes in prop_oneof![Just(vec![1]), vec(1usize..50, 1..6)]) {
        let stream: Vec<u8> = boxes.iter().flat_map(|b| b.to_bytes().unwrap()).collect();
        let (whole, error, _) = decode(&stream, &[], 1 << 20);
        prop_assert_eq!(error, None);
        prop_assert_eq!(&whole, &boxes);
        let (split, error, _) = decode(&stream, &sizes, 1 << 20);
        prop_assert_eq!(error, None);
        prop_assert_eq!(split, boxes);
    }

    #[test]
    fn any_bytes_stay_within_the_bound(
        stream in vec(prop_oneof![Just(0u8), 1u8..4, any::<u8>()], 0..800),
        sizes in prop_oneof![Just(vec![1]), vec(1usize..50, 1..6), Just(vec![])],
        max in 8usize..300,
    ) {
        let (whole, whole_error, _) = decode(&stream, &[], max);
        let (split, split_error, held) = decode(&stream, &sizes, max);
        prop_assert_eq!(split, whole);
        prop_assert_eq!(split_error, whole_error);
        prop_assert!(held < max, "{} bytes held, bound {}", held, max);
    }
}
