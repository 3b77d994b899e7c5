//! Property tests for the HTTP codec: any split of a stream gives the
//! same requests; no input panics or breaks a bound; chunked encoding
//! round-trips.

mod http_util;

use http_util::{decode_requests, Ev};
use proptest::collection::vec;
use proptest::prelude::*;
use torsion_protocols::http::{encode_chunk, write_request_head, Headers, Limits, LAST_CHUNK};

fn sizes() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![Just(vec![1]), vec(1usize..40, 1..8), Just(vec![])]
}

/// A request: method, path, headers, body, chunked or not.
type Req = (String, String, Vec<(String, String)>, Vec<u8>, bool);

fn request() -> impl Strategy<Value = Req> {
    (
        prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE")].prop_map(String::from),
        "/[a-z0-9/._~-]{0,20}(\\?[a-z0-9=&]{0,10})?",
        vec(("[A-Za-z][A-Za-z0-9-]{0,10}", "[ -~]{0,20}"), 0..5),
        vec(any::<u8>(), 0..300),
        any::<bool>(),
    )
}

fn serialize(reqs: &[Req]) -> (Vec<u8>, Vec<Ev>) {
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for (method, path, extra, body, chunked) in reqs {
        let mut headers = Headers::new();
        headers.append("Host", "example").unwrap();
        for (n, v) in extra {
            // Framing headers are ours to choose.
            if n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding") {
                continue;
            }
            headers.append(&format!("X-{n}"), v.trim()).unwrap();
        }
        if *chunked {
            headers.append("Transfer-Encoding", "chunked").unwrap();
        } else {
            headers.append("Content-Length", &body.len().to_string()).unwrap();
        }
        write_request_head(method, path, &headers, &mut wire);
        if *chunked {
            for piece in body.chunks(37) {
                encode_chunk(piece, &mut wire);
            }
            wire.extend_from_slice(LAST_CHUNK);
        } else {
            wire.extend_from_slice(body);
        }
        expected.push(Ev::Head(
            method.clone(),
            path.clone(),
            headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        ));
        expected.push(Ev::Body(body.clone()));
    }
    (wire, expected)
}

proptest! {
    #[test]
    fn any_split_gives_the_requests_sent(reqs in vec(request(), 1..5), sizes in sizes()) {
        let (wire, expected) = serialize(&reqs);
        prop_assert_eq!(decode_requests(&wire, &sizes, Limits::default()), expected);
    }

    #[test]
    fn any_bytes_decode_the_same_whatever_the_split(
        stream in vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b' '), Just(b':'), b'0'..=b'9', any::<u8>()], 0..400),
        sizes in sizes(),
    ) {
        let limits = Limits { max_head: 200, max_headers: 8 };
        // decode_requests itself asserts the buffer bounds after each read.
        let whole = decode_requests(&stream, &[], limits);
        let split = decode_requests(&stream, &sizes, limits);
        // An unfinished head is checked for garbage every few bytes, so at
        // the very end of a stream one split may have seen the error that
        // another would see with the next bytes; otherwise they agree.
        let agree = whole == split
            || (whole.last() == Some(&Ev::Error) && whole[..whole.len() - 1] == split[..])
            || (split.last() == Some(&Ev::Error) && split[..split.len() - 1] == whole[..]);
        prop_assert!(agree, "whole {:?}\nsplit {:?}", whole, split);
    }

    #[test]
    fn valid_prefix_then_garbage_never_panics(reqs in vec(request(), 1..3), junk in vec(any::<u8>(), 0..200), sizes in sizes()) {
        let (mut wire, expected) = serialize(&reqs);
        wire.extend(junk);
        let got = decode_requests(&wire, &sizes, Limits::default());
        prop_assert!(got.len() >= expected.len());
        prop_assert_eq!(&got[..expected.len()], &expected[..]);
    }
}
