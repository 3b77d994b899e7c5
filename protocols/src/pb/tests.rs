//! The broker byte by byte: against what Twisted 26.1's PB client and
//! server send (captured between `PBClientFactory` and `PBServerFactory`
//! over `StringTransport`), and its own rules.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use torsion::testing::StringTransport;
use torsion::{CloseReason, Deferred, Failure, Reactor};

use super::*;
use crate::banana::{encoded, Dialect, Item};
use crate::jelly::{jelly, ObjectId, RemoteFailure, Value};

/// What Twisted's server sends first: the dialects it knows.
const OFFER: &[u8] = b"\x02\x80\x02\x82pb\x04\x82none";
/// What Twisted's client answers: its pick, then its version.
const PICK_AND_VERSION: &[u8] = b"\x02\x82pb\x02\x80\x13\x87\x06\x81";
/// `["version", 6]` in the pb dialect.
const VERSION: &[u8] = b"\x02\x80\x13\x87\x06\x81";
/// Twisted's client: `callRemote("set", "k", "v")`, request 1.
const SET_K_V: &[u8] = b"\x07\x80\x1a\x87\x01\x81\x04\x82root\x03\x82set\x01\x81\x03\x80\x0b\x87\x02\x80\x07\x82unicode\x01\x82k\x02\x80\x07\x82unicode\x01\x82v\x01\x80\x05\x87";
/// Twisted's server's answer to it (`remote_set` returned the key... here, `None`).
const ANSWER_1_NONE: &[u8] = b"\x03\x80\x1b\x87\x01\x81\x01\x80\x01\x87";
/// Twisted's client: `callRemote("get", "k")`, request 2.
const GET_K: &[u8] = b"\x07\x80\x1a\x87\x02\x81\x04\x82root\x03\x82get\x01\x81\x02\x80\x0b\x87\x02\x80\x07\x82unicode\x01\x82k\x01\x80\x05\x87";
/// Twisted's server's answer: `"v"`.
const ANSWER_2_V: &[u8] = b"\x03\x80\x1b\x87\x02\x81\x02\x80\x07\x82unicode\x01\x82v";
/// Twisted's client: `callRemote("set", b"bk", b"bv")`, request 3.
const SET_BYTES: &[u8] = b"\x07\x80\x1a\x87\x03\x81\x04\x82root\x03\x82set\x01\x81\x03\x80\x0b\x87\x02\x82bk\x02\x82bv\x01\x80\x05\x87";

/// The seed's `KeyValuePB` over a `HashMap` (`remote_set` answers `None`
/// here, as the capture's server did).
fn seed_root() -> Referenceable {
    let store: Rc<RefCell<HashMap<Vec<u8>, Value>>> = Rc::default();
    let (for_get, for_set, for_delete) = (store.clone(), store.clone(), store);
    let key = |v: &Value| v.string_bytes().unwrap_or_default().to_vec();
    Referenceable::new()
        .method("get", &["key"], move |_, args| {
            match for_get.borrow().get(&key(&args[0])) {
                Some(value) => Ok(value.clone()),
                None => Err(RemoteFailure::key_error(&args[0])),
            }
        })
        .method("set", &["key", "value"], move |_, args| {
            for_set.borrow_mut().insert(key(&args[0]), args[1].clone());
            Value::None
        })
        .method("delete", &["key"], move |_, args| {
            match for_delete.borrow_mut().remove(&key(&args[0])) {
                Some(_) => Ok(Value::None),
                None => Err(RemoteFailure::key_error(&args[0])),
            }
        })
}

fn server() -> StringTransport {
    StringTransport::new(Broker::server(Rc::new(seed_root())))
}

/// A server past the negotiation.
fn ready_server() -> StringTransport {
    let mut t = server();
    assert_eq!(t.take(), OFFER);
    t.receive(PICK_AND_VERSION);
    assert_eq!(t.take(), VERSION);
    t
}

/// A client past the negotiation, and its root.
fn ready_client() -> (StringTransport, RemoteReference) {
    let broker = Broker::client();
    let root = broker.root();
    let mut t = StringTransport::new(broker);
    t.receive(OFFER);
    assert_eq!(t.take(), PICK_AND_VERSION);
    t.receive(VERSION);
    (t, root)
}

type Outcome<T> = Rc<RefCell<Option<Result<T, Failure>>>>;

/// Where `d`'s result lands once it fires.
fn watch<T: 'static>(reactor: &mut Reactor, d: Deferred<T>) -> Outcome<T> {
    let out: Outcome<T> = Rc::default();
    let slot = out.clone();
    let _done = d.then_both(reactor, move |_, result| {
        *slot.borrow_mut() = Some(result);
        Ok::<_, Failure>(())
    });
    out
}

fn wire(message: &Message<'_>) -> Vec<u8> {
    encoded(&message.to_item(), Dialect::Pb).unwrap()
}

fn call_message(request: i64, object: ObjectId, method: &str, args: Vec<Value>) -> Vec<u8> {
    let (args, kwargs) = (Value::Tuple(args), Value::Dict(vec![]));
    wire(&Message::Call(Call {
        cached: false,
        request,
        object,
        method: method.into(),
        answer_required: true,
        args: jelly(&args),
        kwargs: jelly(&kwargs),
    }))
}

/// The failure in an `error` message.
fn error_of(bytes: &[u8]) -> (i64, RemoteFailure) {
    let mut decoder = crate::banana::BananaDecoder::new(Dialect::Pb);
    let crate::Parsed::Complete(item, n) = crate::Decoder::decode(&mut decoder, bytes) else {
        panic!("not one expression: {bytes:?}")
    };
    assert_eq!(n, bytes.len(), "one message");
    let Ok(Message::Error { request, failure }) = Message::parse(item) else {
        panic!("not an error message")
    };
    match crate::jelly::unjelly(&failure) {
        Ok(Value::Failure(failure)) => (request, failure),
        other => panic!("{other:?}"),
    }
}

#[test]
fn answers_twisteds_client_byte_for_byte() {
    let mut t = ready_server();
    t.receive(SET_K_V);
    assert_eq!(t.take(), ANSWER_1_NONE);
    t.receive(GET_K);
    assert_eq!(t.take(), ANSWER_2_V);
    t.receive(SET_BYTES);
    assert_eq!(t.take(), b"\x03\x80\x1b\x87\x03\x81\x01\x80\x01\x87");
    assert!(!t.disconnecting());
}

#[test]
fn a_byte_at_a_time_changes_nothing() {
    let mut t = server();
    assert_eq!(t.take(), OFFER);
    t.receive_bytewise(&[PICK_AND_VERSION, SET_K_V, GET_K].concat());
    assert_eq!(t.take(), [VERSION, ANSWER_1_NONE, ANSWER_2_V].concat());
}

#[test]
fn a_missing_key_is_answered_with_twisteds_key_error() {
    let mut t = ready_server();
    t.receive(&call_message(
        4,
        ObjectId::root(),
        "get",
        vec![Value::from("missing")],
    ));
    let (request, failure) = error_of(&t.take());
    assert_eq!(request, 4);
    assert_eq!(failure, RemoteFailure::key_error(&Value::from("missing")));
    t.receive(&call_message(
        5,
        ObjectId::root(),
        "delete",
        vec![Value::from(&b"gone"[..])],
    ));
    let (_, failure) = error_of(&t.take());
    assert_eq!(
        (failure.type_name.as_str(), failure.value.as_str()),
        ("builtins.KeyError", "b'gone'")
    );
}

#[test]
fn unknown_methods_objects_and_bad_arguments_fail_the_call_not_the_connection() {
    let mut t = ready_server();
    t.receive(&call_message(1, ObjectId::root(), "frob", vec![]));
    let (_, failure) = error_of(&t.take());
    assert_eq!(failure, RemoteFailure::no_such_method("frob"));
    t.receive(&call_message(2, ObjectId::Number(42), "get", vec![]));
    let (_, failure) = error_of(&t.take());
    assert_eq!(failure, RemoteFailure::pb_error("Invalid Object ID"));
    t.receive(&call_message(3, ObjectId::root(), "get", vec![]));
    let (_, failure) = error_of(&t.take());
    assert_eq!(
        failure.value,
        "remote_get() missing 1 required positional argument: 'key'"
    );
    // Arguments holding an instance of some class: refused, never built.
    let instance = Item::list(vec![
        Item::string("tuple"),
        Item::list(vec![
            Item::string("os._wrap_close"),
            Item::list(vec![Item::string("dictionary")]),
        ]),
    ]);
    let call = Message::Call(Call {
        cached: false,
        request: 4,
        object: ObjectId::root(),
        method: "get".into(),
        answer_required: true,
        args: instance,
        kwargs: Item::list(vec![Item::string("dictionary")]),
    });
    t.receive(&wire(&call));
    let (_, failure) = error_of(&t.take());
    assert_eq!(failure.type_name, "twisted.spread.jelly.InsecureJelly");
    assert!(failure.value.contains("os._wrap_close"), "{}", failure.value);
    // And the connection still serves.
    t.receive(SET_K_V);
    assert_eq!(t.take(), ANSWER_1_NONE);
    assert!(!t.disconnecting());
}

#[test]
fn keyword_arguments_and_calls_that_want_no_answer() {
    let mut t = ready_server();
    let (args, kwargs) = (
        Value::Tuple(vec![Value::from("k")]),
        Value::Dict(vec![(Value::from("value"), Value::from("v"))]),
    );
    let set = |request, answer| {
        wire(&Message::Call(Call {
            cached: false,
            request,
            object: ObjectId::root(),
            method: "set".into(),
            answer_required: answer,
            args: jelly(&args),
            kwargs: jelly(&kwargs),
        }))
    };
    t.receive(&set(1, false));
    assert_eq!(t.take(), b"", "no answer wanted, none sent");
    t.receive(&set(2, true));
    assert_eq!(t.take(), b"\x03\x80\x1b\x87\x02\x81\x01\x80\x01\x87");
}

#[test]
fn speaks_to_twisteds_server_byte_for_byte() {
    let (mut t, root) = ready_client();
    let set = root.call_remote(t.reactor(), "set", vec![Value::from("k"), Value::from("v")]);
    let get = root.call_remote(t.reactor(), "get", vec![Value::from("k")]);
    let set_bytes = root.call_remote(
        t.reactor(),
        "set",
        vec![Value::from(&b"bk"[..]), Value::from(&b"bv"[..])],
    );
    t.pump();
    assert_eq!(t.take(), [SET_K_V, GET_K, SET_BYTES].concat());
    let (set, get, set_bytes) = (
        watch(t.reactor(), set),
        watch(t.reactor(), get),
        watch(t.reactor(), set_bytes),
    );
    // Answers in another order than the calls: each goes to its own call.
    t.receive(ANSWER_2_V);
    t.receive(ANSWER_1_NONE);
    assert_eq!(get.borrow_mut().take().unwrap().ok(), Some(Value::from("v")));
    assert_eq!(set.borrow_mut().take().unwrap().ok(), Some(Value::None));
    assert!(set_bytes.borrow().is_none());
    assert_eq!(root.pending(), 1);
}

#[test]
fn a_remote_key_error_fails_the_call_with_the_failure() {
    let (mut t, root) = ready_client();
    let get = root.call_remote(t.reactor(), "get", vec![Value::from("missing")]);
    let get = watch(t.reactor(), get);
    let failure = Value::Failure(RemoteFailure::key_error(&Value::from("missing")));
    t.receive(&wire(&Message::Error {
        request: 1,
        failure: jelly(&failure),
    }));
    let failure = get.borrow_mut().take().unwrap().unwrap_err();
    let remote = failure.find::<RemoteFailure>().expect("a RemoteFailure");
    assert!(remote.is_key_error());
    assert_eq!(remote.value, "'missing'");
}

#[test]
fn calls_made_before_the_negotiation_wait_for_it() {
    let broker = Broker::client();
    let root = broker.root();
    let ready = broker.when_ready();
    let mut t = StringTransport::new(broker);
    let ready = watch(t.reactor(), ready);
    let set = root.call_remote(t.reactor(), "set", vec![Value::from("k"), Value::from("v")]);
    let _set = watch(t.reactor(), set);
    t.pump();
    assert_eq!(t.take(), b"", "nothing before the server's offer");
    t.receive(OFFER);
    assert_eq!(t.take(), [PICK_AND_VERSION, SET_K_V].concat());
    assert!(matches!(*ready.borrow(), Some(Ok(()))));
}

#[test]
fn the_plain_dialect_works_too() {
    let mut t = server();
    t.take();
    t.receive(b"\x04\x82none");
    assert_eq!(t.take(), b"\x02\x80\x07\x82version\x06\x81");
    t.receive(&encoded(&Message::Version(6).to_item(), Dialect::Plain).unwrap());
    let get = encoded(
        &Item::list(vec![
            Item::string("message"),
            Item::Int(1),
            Item::string("root"),
            Item::string("get"),
            Item::Int(1),
            Item::list(vec![Item::string("tuple"), Item::bytes(b"k")]),
            Item::list(vec![Item::string("dictionary")]),
        ]),
        Dialect::Plain,
    )
    .unwrap();
    t.receive(&get);
    let reply = t.take();
    assert!(reply.starts_with(b"\x03\x80\x05\x82error\x01\x81"), "{reply:?}");
}

#[test]
fn calls_in_flight_fail_when_the_connection_drops() {
    let (mut t, root) = ready_client();
    let calls: Vec<_> = (0..3)
        .map(|i| {
            let d = root.call_remote(t.reactor(), "get", vec![Value::Int(i)]);
            watch(t.reactor(), d)
        })
        .collect();
    t.receive_reset();
    for call in calls {
        let failure = call.borrow_mut().take().expect("failed at once").unwrap_err();
        assert!(
            matches!(
                failure.downcast_ref::<CallError>(),
                Some(CallError::ConnectionLost(_))
            ),
            "{failure}"
        );
        assert!(
            failure.to_string().contains("closed before the answer"),
            "{failure}"
        );
    }
    // And so does any later call.
    let late = root.call_remote(t.reactor(), "get", vec![]);
    let late = watch(t.reactor(), late);
    assert!(late.borrow_mut().take().unwrap().is_err());
    assert!(!root.is_connected());
}

#[test]
fn what_is_not_pb_closes_the_connection() {
    let cases: &[&[u8]] = &[
        b"\x01\x82x",                                          // not a dialect offered
        b"\x02\x82pb\x02\x80\x13\x87\x05\x81",                 // version 5
        b"\x02\x82pb\x01\x81",                                 // not a list
        b"\x02\x82pb\x03\x80\x1b\x87\x09\x81\x01\x80\x01\x87", // an answer to nothing asked
        b"\x02\x82pb\x01\x88",                                 // not Banana
    ];
    for bytes in cases {
        let mut t = server();
        t.receive(bytes);
        assert!(t.disconnecting(), "{bytes:?}");
    }
    // A client offered nothing it knows closes too, and its root waiters fail.
    let broker = Broker::client();
    let ready = broker.when_ready();
    let mut t = StringTransport::new(broker);
    let ready = watch(t.reactor(), ready);
    t.receive(b"\x01\x80\x04\x82json");
    assert!(t.disconnecting());
    t.pump();
    let failure = ready.borrow_mut().take().unwrap().unwrap_err();
    assert!(failure.to_string().contains("json"), "{failure}");
}

#[test]
fn unknown_messages_are_answered_did_not_understand() {
    let mut t = ready_server();
    t.receive(&encoded(&Item::list(vec![Item::string("frob"), Item::Int(1)]), Dialect::Pb).unwrap());
    assert_eq!(t.take(), b"\x02\x80\x10\x82didNotUnderstand\x04\x82frob");
    assert!(!t.disconnecting());
}

#[test]
fn published_objects_are_called_and_forgotten_on_decref() {
    let child = Rc::new(Referenceable::new().method("hello", &[], |_, _| Value::from("hi")));
    let root = Referenceable::new().method("child", &[], move |call, _| match call.publish(&child) {
        Ok(value) => Ok(value),
        Err(e) => Err(RemoteFailure::exception(e.to_string())),
    });
    let mut t = StringTransport::new(Broker::server(Rc::new(root)));
    t.take();
    t.receive(PICK_AND_VERSION);
    t.take();
    t.receive(&call_message(1, ObjectId::root(), "child", vec![]));
    t.receive(&call_message(2, ObjectId::root(), "child", vec![]));
    let answer = |request| {
        wire(&Message::Answer {
            request,
            result: Item::list(vec![Item::string("remote"), Item::Int(1)]),
        })
    };
    assert_eq!(
        t.take(),
        [answer(1), answer(2)].concat(),
        "one number, sent twice"
    );
    t.receive(&call_message(3, ObjectId::Number(1), "hello", vec![]));
    assert_eq!(
        t.take(),
        b"\x03\x80\x1b\x87\x03\x81\x02\x80\x07\x82unicode\x02\x82hi"
    );
    assert_eq!(t.with_protocol(|b: &mut Broker, _| b.published()), 1);
    let decref = wire(&Message::DecRef(ObjectId::Number(1)));
    t.receive(&decref);
    assert_eq!(
        t.with_protocol(|b: &mut Broker, _| b.published()),
        1,
        "one reference left"
    );
    t.receive(&decref);
    assert_eq!(t.with_protocol(|b: &mut Broker, _| b.published()), 0);
    t.receive(&call_message(4, ObjectId::Number(1), "hello", vec![]));
    assert_eq!(
        error_of(&t.take()).1,
        RemoteFailure::pb_error("Invalid Object ID")
    );
}

#[test]
fn an_object_sent_back_is_found_again() {
    let child = Rc::new(Referenceable::new());
    let published = child.clone();
    let root = Referenceable::new()
        .method("child", &[], move |call, _| {
            call.publish(&published)
                .map_err(|e| RemoteFailure::exception(e.to_string()))
        })
        .method("is_child", &["x"], move |call, args| {
            Value::Bool(call.local(&args[0]).is_some_and(|o| Rc::ptr_eq(&o, &child)))
        });
    let mut t = StringTransport::new(Broker::server(Rc::new(root)));
    t.take();
    t.receive(PICK_AND_VERSION);
    t.receive(&call_message(1, ObjectId::root(), "child", vec![]));
    t.take();
    let local = |n| Value::Local(ObjectId::Number(n));
    t.receive(&call_message(2, ObjectId::root(), "is_child", vec![local(1)]));
    t.receive(&call_message(3, ObjectId::root(), "is_child", vec![local(2)]));
    let answer = |request, yes: bool| {
        wire(&Message::Answer {
            request,
            result: jelly(&Value::Bool(yes)).into_owned(),
        })
    };
    assert_eq!(t.take(), [answer(2, true), answer(3, false)].concat());
}

#[test]
fn a_client_releases_the_references_it_was_given() {
    let (mut t, root) = ready_client();
    let child = root.call_remote(t.reactor(), "child", vec![]);
    let child = watch(t.reactor(), child);
    t.pump();
    t.take();
    let published = Item::list(vec![Item::string("remote"), Item::Int(7)]);
    t.receive(&wire(&Message::Answer {
        request: 1,
        result: Item::list(vec![Item::string("list"), published.clone(), published]),
    }));
    let answer = child.borrow_mut().take().unwrap().unwrap();
    let Value::List(items) = answer else { panic!() };
    let child = root.reference(&items[0]).expect("a reference");
    assert_eq!(child.object_id(), &ObjectId::Number(7));
    let hello = child.call_remote(t.reactor(), "hello", vec![]);
    let _hello = watch(t.reactor(), hello);
    t.pump();
    assert_eq!(t.take(), call_message(2, ObjectId::Number(7), "hello", vec![]));
    child.release(t.reactor());
    t.pump();
    let decref = wire(&Message::DecRef(ObjectId::Number(7)));
    assert_eq!(
        t.take(),
        [decref.clone(), decref].concat(),
        "one decref per reference received"
    );
    child.release(t.reactor());
    root.release(t.reactor());
    t.pump();
    assert_eq!(
        t.take(),
        b"",
        "nothing more to give back; the root is not counted"
    );
}

#[test]
fn a_method_may_answer_later() {
    let later: Rc<RefCell<Option<Deferred<Value>>>> = Rc::default();
    let slot = later.clone();
    let root = Referenceable::new().method("slow", &[], move |_, _| {
        let d = Deferred::new();
        *slot.borrow_mut() = Some(d.clone());
        d
    });
    let mut t = StringTransport::new(Broker::server(Rc::new(root)));
    t.take();
    t.receive(PICK_AND_VERSION);
    t.take();
    t.receive(&call_message(1, ObjectId::root(), "slow", vec![]));
    t.receive(&call_message(2, ObjectId::root(), "slow", vec![]));
    assert_eq!(t.take(), b"");
    let second = later.borrow_mut().take().unwrap();
    second
        .errback(t.reactor(), RemoteFailure::value_error("late"))
        .unwrap();
    t.pump();
    let (request, failure) = error_of(&t.take());
    assert_eq!((request, failure.value.as_str()), (2, "late"));
}

#[test]
fn idle_connections_close() {
    let broker = Broker::server(Rc::new(seed_root())).with_idle_timeout(Some(Duration::from_secs(10)));
    let mut t = StringTransport::new(broker);
    t.take();
    t.receive(PICK_AND_VERSION);
    t.advance(Duration::from_secs(9));
    t.receive(SET_K_V);
    t.advance(Duration::from_secs(9));
    assert!(!t.disconnected());
    t.advance(Duration::from_secs(1));
    assert!(matches!(t.close_reason(), Some(CloseReason::TimedOut)));
}

#[test]
fn too_long_an_expression_closes_the_connection() {
    let broker = Broker::server(Rc::new(seed_root())).with_max_message(64);
    let mut t = StringTransport::new(broker);
    t.take();
    t.receive(PICK_AND_VERSION);
    t.take();
    // A string of 100 bytes announced: refused before it arrives.
    t.receive(b"\x07\x80\x1a\x87\x01\x81\x04\x82root\x03\x82set\x01\x81\x02\x80\x0b\x87\x64\x82");
    assert!(t.disconnecting());
}
