//! torsion-kv's AMP responders, driven box by box without sockets: the
//! answers and errors a Twisted peer expects, and expiry on the manual
//! clock.

use std::time::Duration;

use torsion::testing::StringTransport;
use torsion_protocols::amp::AmpBox;
use torsion_servers::kv::{amp, KvStore, StoreConfig};

fn connect(config: StoreConfig) -> StringTransport {
    StringTransport::from_factory(&mut amp::factory(KvStore::new(config)))
}

fn wire(pairs: &[(&str, &[u8])]) -> Vec<u8> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.to_vec()))
        .collect::<AmpBox>()
        .to_bytes()
        .unwrap()
}

fn call(t: &mut StringTransport, pairs: &[(&str, &[u8])]) -> Vec<u8> {
    t.clear();
    t.receive_bytewise(&wire(pairs));
    t.value()
}

#[test]
fn set_get_delete_as_twisted_answers_them() {
    let mut t = connect(StoreConfig::default());
    let not_found = |tag: &str| {
        wire(&[
            ("_error", tag.as_bytes()),
            ("_error_code", b"KEY_NOT_FOUND"),
            ("_error_description", b"k"),
        ])
    };
    assert_eq!(
        call(&mut t, &[("_command", b"Get"), ("_ask", b"1"), ("key", b"k")]),
        not_found("1")
    );
    assert_eq!(
        call(
            &mut t,
            &[
                ("_command", b"Set"),
                ("_ask", b"2"),
                ("key", b"k"),
                ("value", b"\x00bin ary\r\n")
            ]
        ),
        wire(&[("_answer", b"2")])
    );
    assert_eq!(
        call(&mut t, &[("_command", b"Get"), ("_ask", b"3"), ("key", b"k")]),
        wire(&[("_answer", b"3"), ("value", b"\x00bin ary\r\n")])
    );
    assert_eq!(
        call(&mut t, &[("_command", b"Delete"), ("_ask", b"4"), ("key", b"k")]),
        wire(&[("_answer", b"4")])
    );
    assert_eq!(
        call(&mut t, &[("_command", b"Delete"), ("_ask", b"5"), ("key", b"k")]),
        not_found("5")
    );
}

#[test]
fn bad_calls_get_error_boxes() {
    let mut t = connect(StoreConfig::default());
    let reply = call(&mut t, &[("_command", b"Get"), ("_ask", b"1")]);
    assert_eq!(
        reply,
        wire(&[
            ("_error", b"1"),
            ("_error_code", b"UNKNOWN"),
            (
                "_error_description",
                b"bad arguments for Get: missing argument \"key\""
            ),
        ])
    );
    let reply = call(
        &mut t,
        &[
            ("_command", b"Set"),
            ("_ask", b"2"),
            ("key", b""),
            ("value", b"v"),
        ],
    );
    assert_eq!(
        reply,
        wire(&[
            ("_error", b"2"),
            ("_error_code", b"INVALID_KEY"),
            ("_error_description", b"empty key")
        ])
    );
    let long = vec![b'k'; 251];
    let reply = call(
        &mut t,
        &[
            ("_command", b"Set"),
            ("_ask", b"3"),
            ("key", &long),
            ("value", b"v"),
        ],
    );
    assert!(reply.windows(11).any(|w| w == b"INVALID_KEY"));
    let reply = call(&mut t, &[("_command", b"Stats"), ("_ask", b"4")]);
    assert!(reply.windows(9).any(|w| w == b"UNHANDLED"));
    assert!(!t.disconnected());
}

#[test]
fn an_amp_key_expires_like_any_other() {
    let mut t = connect(StoreConfig {
        ttl: Some(Duration::from_secs(1)),
        ..StoreConfig::default()
    });
    call(
        &mut t,
        &[
            ("_command", b"Set"),
            ("_ask", b"1"),
            ("key", b"k"),
            ("value", b"v"),
        ],
    );
    t.advance(Duration::from_millis(999));
    let reply = call(&mut t, &[("_command", b"Get"), ("_ask", b"2"), ("key", b"k")]);
    assert_eq!(reply, wire(&[("_answer", b"2"), ("value", b"v")]));
    t.advance(Duration::from_millis(1));
    let reply = call(&mut t, &[("_command", b"Get"), ("_ask", b"3"), ("key", b"k")]);
    assert!(reply.windows(13).any(|w| w == b"KEY_NOT_FOUND"));
}

#[test]
fn boxes_are_bounded_by_the_largest_set() {
    let mut t = connect(StoreConfig::default());
    let value = vec![b'v'; 65_535];
    let key = vec![b'k'; 250];
    let reply = call(
        &mut t,
        &[
            ("_command", b"Set"),
            ("_ask", b"ffff"),
            ("key", &key),
            ("value", &value),
        ],
    );
    assert_eq!(reply, wire(&[("_answer", b"ffff")]));
    // A box announcing more than a Set can need is refused from its lengths.
    let mut stream = b"\x00\x05value\xff\xff".to_vec();
    stream.extend(vec![b'v'; 65_535]);
    stream.extend_from_slice(b"\x00\x05extra\xff\xff");
    t.receive(&stream);
    assert!(t.disconnected());
}
