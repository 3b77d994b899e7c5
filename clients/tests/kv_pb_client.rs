//! The Perspective Broker client against torsion-kv's store, served on the
//! same reactor over real sockets on 127.0.0.1: the seeds' calls, `str`
//! and `bytes`, one store behind the line, AMP and PB ports, and calls in
//! flight together.

use std::time::Duration;

use torsion::endpoint::ClientEndpoint;
use torsion::{Deferred, Failure, ListenerId, Reactor};
use torsion_clients::kv::{self, KeyNotFound, KvError, PbKvClient, Strings};
use torsion_protocols::jelly::{RemoteFailure, Value};
use torsion_servers::kv::{serve, Serving, Settings};

struct Kv {
    reactor: Reactor,
    serving: Serving,
}

impl Kv {
    /// torsion-kv's three listeners on OS-chosen ports.
    fn start() -> Kv {
        let mut reactor = Reactor::new().unwrap();
        let serving = serve(&mut reactor, &Settings::ephemeral()).unwrap();
        Kv { reactor, serving }
    }

    fn endpoint(&mut self, listener: ListenerId) -> ClientEndpoint {
        let addr = self
            .reactor
            .local_addr(listener)
            .and_then(|a| a.as_socket_addr())
            .unwrap();
        ClientEndpoint::tcp("127.0.0.1", addr.port())
    }

    /// Runs until `d` fires, 20 s at most.
    fn run<T: 'static>(&mut self, d: Deferred<T>) -> Result<T, Failure> {
        d.add_timeout(&mut self.reactor, Duration::from_secs(20));
        self.reactor.run_until_complete(d).unwrap()
    }

    fn pb(&mut self, strings: Strings) -> PbKvClient {
        let endpoint = self.endpoint(self.serving.pb);
        let connecting = kv::pb::connect(&mut self.reactor, &endpoint, strings);
        self.run(connecting).unwrap()
    }
}

#[test]
fn the_seeds_calls_over_pb() {
    let mut kv = Kv::start();
    for strings in [Strings::Str, Strings::Bytes] {
        let client = kv.pb(strings);
        let r = &mut kv.reactor;
        let steps = [
            client
                .set(r, b"greeting", b"hello world")
                .then(r, |_, ()| Ok(None)),
            client.get(r, b"greeting").then(r, |_, v| Ok(Some(v))),
            client.delete(r, b"greeting").then(r, |_, ()| Ok(None)),
        ];
        let done = torsion::defer::gather_results(r, steps);
        assert_eq!(kv.run(done).unwrap(), [None, Some(b"hello world".to_vec()), None]);
        for gone in [
            client
                .get(&mut kv.reactor, b"greeting")
                .then(&mut kv.reactor, |_, _| Ok(())),
            client.delete(&mut kv.reactor, b"greeting"),
        ] {
            let failure = kv.run(gone).unwrap_err();
            assert_eq!(
                failure.find::<KeyNotFound>().map(|e| e.key.as_slice()),
                Some(&b"greeting"[..])
            );
        }
    }
}

#[test]
fn one_store_behind_the_line_amp_and_pb_ports() {
    let mut kv = Kv::start();
    let (line, amp) = (kv.endpoint(kv.serving.line), kv.endpoint(kv.serving.amp));
    let by_line = kv::line::connect(&mut kv.reactor, &line);
    let by_line = kv.run(by_line).unwrap();
    let by_amp = kv::amp::connect(&mut kv.reactor, &amp);
    let by_amp = kv.run(by_amp).unwrap();
    let by_pb = kv.pb(Strings::Str);
    let set = by_line.set(&mut kv.reactor, b"k", b"from the line");
    kv.run(set).unwrap();
    let got = by_pb.get(&mut kv.reactor, b"k");
    assert_eq!(kv.run(got).unwrap(), b"from the line");
    let set = by_pb.set(&mut kv.reactor, b"k", b"from pb");
    kv.run(set).unwrap();
    let got = by_amp.get(&mut kv.reactor, b"k");
    assert_eq!(kv.run(got).unwrap(), b"from pb");
}

#[test]
fn str_and_bytes_come_back_as_they_were_set() {
    let mut kv = Kv::start();
    let root = kv.pb(Strings::Str).root().clone();
    let call = |kv: &mut Kv, method: &str, args: Vec<Value>| {
        let d = root.call_remote(&mut kv.reactor, method, args);
        kv.run(d)
    };
    let text = Value::from("é");
    let bytes = Value::from(&b"\xff\x00"[..]);
    assert_eq!(
        call(&mut kv, "set", vec![Value::from("t"), text.clone()]).unwrap(),
        Value::from("t")
    );
    assert_eq!(
        call(&mut kv, "set", vec![Value::from(&b"b"[..]), bytes.clone()]).unwrap(),
        Value::from(&b"b"[..])
    );
    assert_eq!(
        call(&mut kv, "get", vec![Value::from(&b"t"[..])]).unwrap(),
        text,
        "a key is its bytes"
    );
    assert_eq!(call(&mut kv, "get", vec![Value::from("b")]).unwrap(), bytes);
    let refused = call(&mut kv, "set", vec![Value::Int(1), text]).unwrap_err();
    let refused = refused.find::<RemoteFailure>().unwrap();
    assert_eq!(
        refused.to_string(),
        "builtins.TypeError: a key is a str or bytes, not int"
    );
    let too_long = call(
        &mut kv,
        "set",
        vec![Value::from("k"), Value::Bytes(vec![0; 65_536])],
    )
    .unwrap_err();
    assert!(
        too_long
            .find::<RemoteFailure>()
            .is_some_and(|f| f.check("builtins.ValueError")),
        "{too_long}"
    );
    // Over the client: a str client cannot send a key that is not UTF-8.
    let client = kv.pb(Strings::Str);
    let bad = client.get(&mut kv.reactor, b"\xff");
    assert!(matches!(
        kv.run(bad).unwrap_err().downcast_ref::<KvError>(),
        Some(KvError::InvalidKey(_))
    ));
}

#[test]
fn fifty_calls_in_flight_each_get_their_own_answer() {
    let mut kv = Kv::start();
    let client = kv.pb(Strings::Bytes);
    let sets: Vec<_> = (0..50)
        .map(|i| {
            client.set(
                &mut kv.reactor,
                format!("k{i}").as_bytes(),
                format!("v{i}").as_bytes(),
            )
        })
        .collect();
    let gets: Vec<_> = (0..50)
        .map(|i| client.get(&mut kv.reactor, format!("k{i}").as_bytes()))
        .collect();
    assert_eq!(client.root().pending(), 100);
    let sets = torsion::defer::gather_results(&mut kv.reactor, sets);
    kv.run(sets).unwrap();
    let gets = torsion::defer::gather_results(&mut kv.reactor, gets);
    for (i, value) in kv.run(gets).unwrap().into_iter().enumerate() {
        assert_eq!(value, format!("v{i}").into_bytes());
    }
}
