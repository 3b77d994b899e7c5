//! Perspective Broker over real sockets on 127.0.0.1, and its codecs under
//! any input: Banana expressions and jellied values survive any split of
//! the stream, and no input makes the decoder panic or hold more than its
//! bound.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;
use torsion::endpoint::ClientEndpoint;
use torsion::{Deferred, Failure, ListenerId, Reactor};
use torsion_protocols::banana::{encoded, BananaDecoder, BananaError, Dialect, Item};
use torsion_protocols::jelly::{jelly, unjelly, RemoteFailure, Value};
use torsion_protocols::pb::{self, CallError, PbServerFactory, Referenceable, RemoteReference};
use torsion_protocols::{Decoder, Parsed};

// ----- over sockets ----------------------------------------------------------------

/// Serves `root` on an OS-chosen port; returns the reactor and the endpoint.
fn serve(root: Referenceable) -> (Reactor, ClientEndpoint) {
    let mut reactor = Reactor::new().unwrap();
    let port = listen(&mut reactor, PbServerFactory::new(Rc::new(root))).1;
    (reactor, ClientEndpoint::tcp("127.0.0.1", port))
}

/// Listens on 127.0.0.1 with `factory`: the listener and its port.
fn listen(reactor: &mut Reactor, factory: PbServerFactory) -> (ListenerId, u16) {
    let listener = reactor
        .listen_tcp("127.0.0.1:0".parse().unwrap(), factory)
        .unwrap();
    let port = reactor
        .local_addr(listener)
        .and_then(|a| a.as_socket_addr())
        .unwrap()
        .port();
    (listener, port)
}

/// Runs the reactor until `d` fires (20 s at most).
fn finish<T: 'static>(reactor: &mut Reactor, d: Deferred<T>) -> Result<T, Failure> {
    d.add_timeout(reactor, Duration::from_secs(20));
    reactor.run_until_complete(d).unwrap()
}

/// Connects and fetches the root object.
fn connect(reactor: &mut Reactor, endpoint: &ClientEndpoint) -> Result<RemoteReference, Failure> {
    let root = pb::connect(reactor, endpoint);
    finish(reactor, root)
}

/// A call held back, and what it will answer.
type Waiting = (Deferred<Value>, Value);

/// A root whose `echo` answers only once `batch` calls are waiting, and
/// then in the reverse order of their arrival.
fn reversing_root(batch: usize) -> Referenceable {
    let waiting: Rc<RefCell<Vec<Waiting>>> = Rc::default();
    Referenceable::new().method("echo", &["x"], move |call, mut args| {
        let d = Deferred::new();
        waiting.borrow_mut().push((d.clone(), args.remove(0)));
        if waiting.borrow().len() == batch {
            let all: Vec<_> = waiting.borrow_mut().drain(..).collect();
            for (d, x) in all.into_iter().rev() {
                let _ = d.callback(call.reactor(), x);
            }
        }
        d
    })
}

#[test]
fn fifty_calls_in_flight_are_answered_to_their_own_callers() {
    let (mut reactor, endpoint) = serve(reversing_root(50));
    let root = connect(&mut reactor, &endpoint).unwrap();
    let calls: Vec<_> = (0..50)
        .map(|i| root.call_remote(&mut reactor, "echo", vec![Value::from(format!("call {i}"))]))
        .collect();
    assert_eq!(root.pending(), 50);
    let all = torsion::defer::gather_results(&mut reactor, calls);
    let answers = finish(&mut reactor, all).unwrap();
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer, Value::from(format!("call {i}")));
    }
}

#[test]
fn calls_in_flight_fail_when_the_server_goes_away() {
    let root = Referenceable::new()
        .method("hang", &[], |_, _| Deferred::<Value>::new())
        .method("quit", &[], |call, _| {
            call.lose_connection();
            Value::None
        });
    let (mut reactor, endpoint) = serve(root);
    let root: RemoteReference = connect(&mut reactor, &endpoint).unwrap();
    let hanging: Vec<_> = (0..3)
        .map(|_| root.call_remote(&mut reactor, "hang", vec![]))
        .collect();
    let _quit = root.call_remote(&mut reactor, "quit", vec![]);
    for call in hanging {
        let failure = finish(&mut reactor, call).unwrap_err();
        assert!(
            matches!(
                failure.downcast_ref::<CallError>(),
                Some(CallError::ConnectionLost(_))
            ),
            "{failure}"
        );
    }
    let later = root.call_remote(&mut reactor, "hang", vec![]);
    assert!(finish(&mut reactor, later).is_err());
}

#[test]
fn the_root_is_not_had_where_nothing_listens() {
    // The port of a listener that is gone.
    let mut reactor = Reactor::new().unwrap();
    let (listener, port) = listen(&mut reactor, PbServerFactory::new(Rc::default()));
    assert!(reactor.stop_listening(listener));
    let failure = connect(&mut reactor, &ClientEndpoint::tcp("127.0.0.1", port)).unwrap_err();
    assert!(failure.to_string().contains("refused"), "{failure}");
}

#[test]
fn a_published_object_is_called_through_its_reference() {
    let counter = Rc::new(RefCell::new(0));
    let counted = counter.clone();
    let child = Rc::new(Referenceable::new().method("bump", &["by"], move |_, args| {
        *counted.borrow_mut() += args[0].as_int().unwrap_or(0);
        Value::Int(*counted.borrow())
    }));
    let root = Referenceable::new().method("counter", &[], move |call, _| {
        call.publish(&child)
            .map_err(|e| RemoteFailure::exception(e.to_string()))
    });
    let (mut reactor, endpoint) = serve(root);
    let root = connect(&mut reactor, &endpoint).unwrap();
    let published = root.call_remote(&mut reactor, "counter", vec![]);
    let published = finish(&mut reactor, published).unwrap();
    let counter_ref = root.reference(&published).expect("a remote reference");
    let bumped =
        counter_ref.call_remote_with(&mut reactor, "bump", vec![], vec![("by".into(), Value::Int(5))]);
    assert_eq!(finish(&mut reactor, bumped).unwrap(), Value::Int(5));
    counter_ref.release(&mut reactor);
    // Released: the server forgot it, so a call fails with pb.Error.
    let after = counter_ref.call_remote(&mut reactor, "bump", vec![Value::Int(1)]);
    let failure = finish(&mut reactor, after).unwrap_err();
    assert_eq!(
        failure.find::<RemoteFailure>().map(|f| f.value.as_str()),
        Some("Invalid Object ID")
    );
    assert_eq!(*counter.borrow(), 5);
}

#[test]
fn the_seeds_session_over_a_socket() {
    let store: Rc<RefCell<HashMap<Vec<u8>, Value>>> = Rc::default();
    let (for_get, for_set) = (store.clone(), store);
    let root = Referenceable::new()
        .method("get", &["key"], move |_, args| {
            let key = args[0].string_bytes().unwrap_or_default().to_vec();
            for_get
                .borrow()
                .get(&key)
                .cloned()
                .ok_or_else(|| RemoteFailure::key_error(&args[0]))
        })
        .method("set", &["key", "value"], move |_, args| {
            let key = args[0].string_bytes().unwrap_or_default().to_vec();
            for_set.borrow_mut().insert(key, args[1].clone());
            args[0].clone()
        });
    let (mut reactor, endpoint) = serve(root);
    let root = connect(&mut reactor, &endpoint).unwrap();
    let big = Value::Bytes((0..=255u8).cycle().take(100_000).collect());
    let set = root.call_remote(&mut reactor, "set", vec![Value::from("big"), big.clone()]);
    assert_eq!(finish(&mut reactor, set).unwrap(), Value::from("big"));
    let get = root.call_remote(&mut reactor, "get", vec![Value::from("big")]);
    assert_eq!(finish(&mut reactor, get).unwrap(), big);
    let missing = root.call_remote(&mut reactor, "get", vec![Value::from(&b"nothing"[..])]);
    let failure = finish(&mut reactor, missing).unwrap_err();
    assert_eq!(failure.to_string(), "builtins.KeyError: b'nothing'");
}

// ----- the codecs under any input ----------------------------------------------------

fn items() -> impl Strategy<Value = Item<'static>> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Item::Int),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |x| !x.is_nan())
            .prop_map(Item::Float),
        vec(any::<u8>(), 0..40).prop_map(Item::owned),
        prop_oneof![Just("list"), Just("None"), Just("message"), Just("pb")].prop_map(Item::string),
        vec(1u8..128, 10..20).prop_map(|digits| {
            let big = digits
                .iter()
                .fold(num_bigint::BigInt::from(0u8), |acc, d| (acc << 7u32) + *d);
            Item::integer(big)
        }),
    ];
    leaf.prop_recursive(6, 60, 8, |inner| vec(inner, 0..8).prop_map(Item::List))
}

/// Decodes `stream` cut at `cuts`: the expressions, and the error if any.
fn read(
    stream: &[u8],
    cuts: &[usize],
    dialect: Dialect,
    max: usize,
) -> (Vec<Item<'static>>, Option<BananaError>) {
    let mut decoder = BananaDecoder::with_limits(dialect, 64, max);
    let mut ends: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    ends.push(stream.len());
    ends.sort_unstable();
    let (mut start, mut got) = (0, Vec::new());
    for end in ends {
        loop {
            match decoder.decode(&stream[start..end]) {
                Parsed::Complete(item, n) => {
                    start += n;
                    got.push(item);
                }
                Parsed::Incomplete => {
                    assert!(end - start <= max, "{} bytes undecided, bound {max}", end - start);
                    break;
                }
                Parsed::Error(e) => return (got, Some(e)),
            }
        }
    }
    (got, None)
}

proptest! {
    #[test]
    fn expressions_survive_any_split(
        expressions in vec(items(), 1..5),
        cuts in vec(any::<usize>(), 0..12),
        pb in any::<bool>(),
    ) {
        let dialect = if pb { Dialect::Pb } else { Dialect::Plain };
        let stream: Vec<u8> = expressions.iter().flat_map(|e| encoded(e, dialect).unwrap()).collect();
        let (got, error) = read(&stream, &cuts, dialect, 1 << 20);
        prop_assert_eq!(error, None);
        prop_assert_eq!(got, expressions);
    }

    #[test]
    fn any_bytes_decode_the_same_however_split(
        stream in vec(prop_oneof![Just(0x80u8), Just(0x82), 0x80u8..0x88, 0u8..4, any::<u8>()], 0..600),
        cuts in vec(any::<usize>(), 0..12),
        max in 4usize..400,
    ) {
        let whole = read(&stream, &[], Dialect::Pb, max);
        let split = read(&stream, &cuts, Dialect::Pb, max);
        prop_assert_eq!(split, whole);
    }

    #[test]
    fn unjelly_never_panics_and_what_it_reads_writes_back(expression in items()) {
        if let Ok(value) = unjelly(&expression) {
            prop_assert_eq!(unjelly(&jelly(&value)), Ok(value));
        }
    }
}
