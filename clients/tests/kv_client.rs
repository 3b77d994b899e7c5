//! The key-value clients against torsion-kv's store, served on the same
//! reactor over real sockets on 127.0.0.1: the line client and the AMP
//! client give the same answers; the line client pipelines and fails
//! cleanly; both parse replies byte by byte.

use std::rc::Rc;
use std::time::Duration;

use torsion::endpoint::ClientEndpoint;
use torsion::testing::StringTransport;
use torsion::{Deferred, Failure, Reactor};
use torsion_clients::kv::line::LineClient;
use torsion_clients::kv::{self, AmpKvClient, KeyNotFound, KeyValue, KvClient, KvError};
use torsion_protocols::amp::RemoteError;
use torsion_servers::kv::{serve, Settings};

/// A reactor serving torsion-kv on two OS-chosen ports.
fn server() -> (Reactor, ClientEndpoint, ClientEndpoint) {
    let mut reactor = Reactor::new().unwrap();
    let serving = serve(&mut reactor, &Settings::ephemeral()).unwrap();
    let port = |r: &mut Reactor, id| r.local_addr(id).and_then(|a| a.as_socket_addr()).unwrap().port();
    let line = ClientEndpoint::tcp("127.0.0.1", port(&mut reactor, serving.line));
    let amp = ClientEndpoint::tcp("127.0.0.1", port(&mut reactor, serving.amp));
    (reactor, line, amp)
}

/// Runs the reactor until the Deferred `make` returns has fired.
fn wait<T: 'static>(
    reactor: &mut Reactor,
    make: impl FnOnce(&mut Reactor) -> Deferred<T>,
) -> Result<T, Failure> {
    let d = make(reactor);
    d.add_timeout(reactor, Duration::from_secs(20));
    reactor.run_until_complete(d).unwrap()
}

/// The seeds' session through any client: set, get, delete, get again.
fn session(reactor: &mut Reactor, client: Rc<dyn KeyValue>) {
    wait(reactor, |r| client.set(r, b"greeting", b"hello world")).unwrap();
    assert_eq!(
        wait(reactor, |r| client.get(r, b"greeting")).unwrap(),
        b"hello world"
    );
    wait(reactor, |r| client.delete(r, b"greeting")).unwrap();
    let missing = wait(reactor, |r| client.get(r, b"greeting")).unwrap_err();
    assert_eq!(
        missing.find::<KeyNotFound>().map(|e| e.key.clone()),
        Some(b"greeting".to_vec())
    );
    let missing = wait(reactor, |r| client.delete(r, b"greeting")).unwrap_err();
    assert!(missing.is::<KeyNotFound>(), "{missing}");
}

#[test]
fn the_line_client_and_the_amp_client_give_the_same_answers() {
    let (mut reactor, line, amp) = server();
    let client = wait(&mut reactor, |r| kv::line::connect(r, &line)).unwrap();
    session(&mut reactor, Rc::new(client));
    let client = wait(&mut reactor, |r| kv::amp::connect(r, &amp)).unwrap();
    session(&mut reactor, Rc::new(client));
}

#[test]
fn one_store_behind_both_ports() {
    let (mut reactor, line, amp) = server();
    let by_line = wait(&mut reactor, |r| kv::line::connect(r, &line)).unwrap();
    let by_amp: AmpKvClient = wait(&mut reactor, |r| kv::amp::connect(r, &amp)).unwrap();
    wait(&mut reactor, |r| by_line.set(r, b"k", b"from the line")).unwrap();
    assert_eq!(
        wait(&mut reactor, |r| by_amp.get(r, b"k")).unwrap(),
        b"from the line"
    );
    wait(&mut reactor, |r| by_amp.set(r, b"k", b"from AMP")).unwrap();
    assert_eq!(wait(&mut reactor, |r| by_line.get(r, b"k")).unwrap(), b"from AMP");
}

#[test]
fn pipelined_requests_settle_in_order() {
    let (mut reactor, line, _) = server();
    let client: KvClient = wait(&mut reactor, |r| kv::line::connect(r, &line)).unwrap();
    let mut gets = Vec::new();
    for i in 0..500 {
        let _set = client.set(
            &mut reactor,
            format!("k{i}").as_bytes(),
            format!("v {i}").as_bytes(),
        );
        gets.push(client.get(&mut reactor, format!("k{i}").as_bytes()));
    }
    assert_eq!(client.pending(), 1000);
    let all = torsion::defer::gather_results(&mut reactor, gets);
    let values = wait(&mut reactor, |_| all).unwrap();
    for (i, v) in values.iter().enumerate() {
        assert_eq!(v, format!("v {i}").as_bytes());
    }
    assert_eq!(client.pending(), 0);
}

#[test]
fn a_reply_callback_may_make_the_next_request() {
    let (mut reactor, line, _) = server();
    let client: KvClient = wait(&mut reactor, |r| kv::line::connect(r, &line)).unwrap();
    let again = client.clone();
    let chained = client
        .set(&mut reactor, b"a", b"b")
        .then(&mut reactor, move |r, ()| again.get(r, b"a"));
    assert_eq!(wait(&mut reactor, |_| chained).unwrap(), b"b");
}

#[test]
fn requests_the_protocol_cannot_carry_fail_before_they_are_sent() {
    let (mut reactor, line, _) = server();
    let client: KvClient = wait(&mut reactor, |r| kv::line::connect(r, &line)).unwrap();
    for (key, value) in [
        (&b""[..], &b"v"[..]),
        (b"two words", b"v"),
        (&[b'k'; 251][..], b"v"),
        (b"k", b"line\r\nbreak"),
        (b"k", b"bare\nnewline"),
        (b"k", &[b'v'; 65_536][..]),
    ] {
        let failure = wait(&mut reactor, |r| client.set(r, key, value)).unwrap_err();
        assert!(
            matches!(
                failure.find::<KvError>(),
                Some(KvError::InvalidKey(_) | KvError::InvalidValue(_))
            ),
            "{failure}"
        );
    }
    assert_eq!(client.pending(), 0);
    // The connection is still fine.
    wait(&mut reactor, |r| client.set(r, b"k", b"v")).unwrap();
}

#[test]
fn amp_errors_other_than_not_found_stay_remote_errors() {
    let (mut reactor, _, amp) = server();
    let client: AmpKvClient = wait(&mut reactor, |r| kv::amp::connect(r, &amp)).unwrap();
    let failure = wait(&mut reactor, |r| client.set(r, b"", b"v")).unwrap_err();
    assert!(
        failure.find::<RemoteError>().is_some_and(|e| e.is("INVALID_KEY")),
        "{failure}"
    );
}

#[test]
fn connecting_to_nothing_fails() {
    let mut reactor = Reactor::new().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = ClientEndpoint::tcp("127.0.0.1", port);
    assert!(wait(&mut reactor, |r| kv::line::connect(r, &endpoint)).is_err());
}

// ----- the line client byte by byte, the test playing the server -----------------

fn fake_server() -> (StringTransport, KvClient) {
    let protocol = LineClient::default();
    let client = protocol.client();
    (StringTransport::new(protocol), client)
}

#[test]
fn replies_split_byte_by_byte_settle_their_requests() {
    let (mut t, client) = fake_server();
    let get = client.get(t.reactor(), b"k");
    let set = client.set(t.reactor(), b"k", b"v v");
    let missing = client.get(t.reactor(), b"x");
    let deleted = client.delete(t.reactor(), b"k");
    let error = client.set(t.reactor(), b"k", b"v");
    t.pump();
    assert_eq!(t.text(), "get k\r\nset k v v\r\nget x\r\ndelete k\r\nset k v\r\n");
    t.receive_bytewise(b"VALUE k a  b\r\nSTORED\r\nGET_NOT_FOUND x\r\nDELETED k\r\nERROR out of cheese\r\n");
    let r = t.reactor();
    assert_eq!(r.run_until_complete(get).unwrap().unwrap(), b"a  b");
    r.run_until_complete(set).unwrap().unwrap();
    assert!(r
        .run_until_complete(missing)
        .unwrap()
        .unwrap_err()
        .is::<KeyNotFound>());
    r.run_until_complete(deleted).unwrap().unwrap();
    let failure = r.run_until_complete(error).unwrap().unwrap_err();
    assert!(matches!(failure.find::<KvError>(), Some(KvError::Server(reason)) if reason == "out of cheese"));
}

#[test]
fn a_reply_that_answers_nothing_breaks_the_connection_and_fails_the_rest() {
    let (mut t, client) = fake_server();
    let get = client.get(t.reactor(), b"k");
    let after = client.get(t.reactor(), b"k");
    t.receive(b"STORED\r\n");
    assert!(t.disconnected());
    let r = t.reactor();
    for d in [get, after] {
        let failure = r.run_until_complete(d).unwrap().unwrap_err();
        assert!(
            matches!(failure.find::<KvError>(), Some(KvError::Protocol(_))),
            "{failure}"
        );
    }
    let later = client.get(t.reactor(), b"k");
    assert!(t.reactor().run_until_complete(later).unwrap().is_err());
}

#[test]
fn a_lost_connection_fails_the_waiting_requests() {
    let (mut t, client) = fake_server();
    let get = client.get(t.reactor(), b"k");
    t.receive_reset();
    let failure = t.reactor().run_until_complete(get).unwrap().unwrap_err();
    assert!(
        matches!(failure.find::<KvError>(), Some(KvError::ConnectionLost(_))),
        "{failure}"
    );
}

#[test]
fn waiting_requests_are_bounded() {
    let protocol = LineClient::default().with_max_pending(2);
    let client = protocol.client();
    let mut t = StringTransport::new(protocol);
    let _a = client.get(t.reactor(), b"a");
    let _b = client.get(t.reactor(), b"b");
    let c = client.get(t.reactor(), b"c");
    let failure = t.reactor().run_until_complete(c).unwrap().unwrap_err();
    assert!(matches!(
        failure.find::<KvError>(),
        Some(KvError::TooManyPending { limit: 2 })
    ));
}
