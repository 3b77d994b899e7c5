//! The HTTP/1.1 codec, byte by byte: heads, bodies, bounds, composers.

mod http_util;

use http_util::{decode_requests, Ev};
use torsion_protocols::http::{
    encode_chunk, parse_form, write_request_head, write_response_head, Body, BodyDecoder, BodyKind, Headers,
    HttpError, Limits, RequestParser, ResponseParser, Version, LAST_CHUNK,
};
use torsion_protocols::{Decoder, Parsed};

fn head(method: &str, target: &str, headers: &[(&str, &str)]) -> Ev {
    Ev::Head(
        method.into(),
        target.into(),
        headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    )
}

const PIPELINE: &[u8] = b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n\
POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: 1\r\n\r\n\
DELETE /d HTTP/1.1\nHost: h\n\n";

#[test]
fn a_pipeline_decodes_the_same_whole_and_byte_by_byte() {
    let expected = vec![
        head("GET", "/a?x=1", &[("Host", "h")]),
        Ev::Body(vec![]),
        head("POST", "/f", &[("Host", "h"), ("Content-Length", "5")]),
        Ev::Body(b"hello".to_vec()),
        head("PUT", "/c", &[("Host", "h"), ("Transfer-Encoding", "chunked")]),
        Ev::Body(b"abc0123456789".to_vec()),
        head("DELETE", "/d", &[("Host", "h")]),
        Ev::Body(vec![]),
    ];
    for sizes in [vec![], vec![1], vec![2, 7, 3], vec![64]] {
        assert_eq!(
            decode_requests(PIPELINE, &sizes, Limits::default()),
            expected,
            "sizes {sizes:?}"
        );
    }
}

#[test]
fn leading_blank_lines_are_skipped() {
    let evs = decode_requests(
        b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        &[1],
        Limits::default(),
    );
    assert_eq!(evs[0], head("GET", "/", &[("Host", "h")]));
}

#[test]
fn head_bounds_hold_whatever_the_split() {
    let limits = Limits {
        max_head: 100,
        max_headers: 3,
    };
    let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
    big.extend([b'a'; 200]);
    let mut parser = RequestParser::new(limits);
    assert_eq!(
        parser.decode(&big),
        Parsed::Error(HttpError::HeadTooLarge { limit: 100 })
    );
    assert_eq!(decode_requests(&big, &[1], limits), vec![Ev::Error]);
    let many = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    let mut parser = RequestParser::new(limits);
    assert_eq!(
        parser.decode(many),
        Parsed::Error(HttpError::TooManyHeaders { limit: 3 })
    );
    assert_eq!(HttpError::TooManyHeaders { limit: 3 }.status(), 431);
}

#[test]
fn garbage_is_refused_before_any_empty_line() {
    let mut parser = RequestParser::default();
    assert!(matches!(
        parser.decode(b"\x16\x03\x01\x00"),
        Parsed::Error(HttpError::BadSyntax(_))
    ));
    let mut parser = RequestParser::default();
    assert_eq!(parser.decode(b"GET / HT"), Parsed::Incomplete);
    assert!(matches!(parser.decode(b"GET / HTXP/1.1\r\n"), Parsed::Error(_)));
}

#[test]
fn responses_parse_and_frame_by_method_and_status() {
    let mut parser = ResponseParser::default();
    let wire = b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n";
    for end in 1..wire.len() {
        assert_eq!(parser.decode(&wire[..end]), Parsed::Incomplete, "at {end}");
    }
    let Parsed::Complete(message, consumed) = parser.decode(wire) else {
        panic!()
    };
    assert_eq!(consumed, wire.len());
    assert_eq!(message.version, Version::Http10);
    assert!(message.keep_alive());
    assert_eq!(message.body_kind("GET"), Ok(BodyKind::Length(3)));
    assert_eq!(message.body_kind("HEAD"), Ok(BodyKind::Length(0)));
    let Parsed::Complete(message, _) =
        ResponseParser::default().decode(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n")
    else {
        panic!()
    };
    assert_eq!(message.body_kind("GET"), Ok(BodyKind::Length(0)));
    let Parsed::Complete(message, _) = ResponseParser::default().decode(b"HTTP/1.1 200 OK\r\n\r\n") else {
        panic!()
    };
    assert_eq!(message.body_kind("GET"), Ok(BodyKind::UntilClose));
    assert!(message.keep_alive());
    let Parsed::Complete(message, _) =
        ResponseParser::default().decode(b"HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\n")
    else {
        panic!()
    };
    assert!(!message.keep_alive());
}

#[test]
fn content_length_rules() {
    let kind = |h: &[(&str, &str)]| {
        let mut headers = Headers::new();
        for (n, v) in h {
            headers.append(n, v).unwrap();
        }
        let mut wire = Vec::new();
        write_response_head(Version::Http11, 200, &headers, &mut wire);
        let Parsed::Complete(message, _) = ResponseParser::default().decode(&wire) else {
            panic!()
        };
        message.body_kind("GET")
    };
    assert_eq!(kind(&[("Content-Length", "10")]), Ok(BodyKind::Length(10)));
    assert_eq!(
        kind(&[("Content-Length", "10"), ("Content-Length", "10")]),
        Ok(BodyKind::Length(10))
    );
    assert_eq!(kind(&[("Content-Length", "10, 10")]), Ok(BodyKind::Length(10)));
    assert_eq!(
        kind(&[("Content-Length", "10"), ("Content-Length", "11")]),
        Err(HttpError::BadContentLength)
    );
    assert_eq!(
        kind(&[("Content-Length", "+1")]),
        Err(HttpError::BadContentLength)
    );
    assert_eq!(
        kind(&[("Content-Length", "99999999999999999999")]),
        Err(HttpError::BadContentLength)
    );
    assert_eq!(
        kind(&[("Transfer-Encoding", "chunked"), ("Content-Length", "3")]),
        Ok(BodyKind::Chunked)
    );
    assert!(matches!(
        kind(&[("Transfer-Encoding", "gzip, chunked")]),
        Err(HttpError::UnsupportedTransferEncoding(_))
    ));
}

fn decode_all(kind: BodyKind, wire: &[u8], step: usize) -> Result<(Vec<u8>, usize), HttpError> {
    let mut decoder = BodyDecoder::new(kind);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut used = 0;
    for piece in wire.chunks(step.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&buf) {
                Parsed::Complete(Body::Data(data), consumed) => {
                    out.extend_from_slice(data);
                    buf.drain(..consumed);
                    used += consumed;
                }
                Parsed::Complete(Body::End, consumed) => return Ok((out, used + consumed)),
                Parsed::Incomplete => break,
                Parsed::Error(e) => return Err(e),
            }
        }
    }
    decoder.finish()?;
    Ok((out, used))
}

#[test]
fn chunked_bodies_byte_by_byte() {
    let wire = b"5\r\nhello\r\n1;name=\"v\"\r\n \r\n000a \r\n0123456789\r\n0\r\nX: y\r\nZ: w\r\n\r\nNEXT";
    for step in [1, 2, 5, 100] {
        let (body, used) = decode_all(BodyKind::Chunked, wire, step).unwrap();
        assert_eq!(body, b"hello 0123456789");
        assert_eq!(used, wire.len() - 4, "step {step}");
    }
}

#[test]
fn broken_chunks_are_errors() {
    for wire in [
        &b"x\r\n"[..],
        b"5\r\nhelloX",
        b"5 junk\r\n",
        b"fffffffffffffffff\r\n",
        b"5\rx\n",
    ] {
        assert!(
            decode_all(BodyKind::Chunked, wire, 1).is_err(),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
    }
    let mut long = b"1;".to_vec();
    long.extend([b'e'; 5000]);
    assert!(matches!(
        decode_all(BodyKind::Chunked, &long, 100),
        Err(HttpError::BadChunk(_))
    ));
    assert_eq!(
        decode_all(BodyKind::Chunked, b"5\r\nhel", 1),
        Err(HttpError::Truncated)
    );
}

#[test]
fn length_and_until_close_bodies() {
    assert_eq!(
        decode_all(BodyKind::Length(3), b"abcdef", 1).unwrap(),
        (b"abc".to_vec(), 3)
    );
    assert_eq!(
        decode_all(BodyKind::Length(3), b"ab", 1),
        Err(HttpError::Truncated)
    );
    assert_eq!(decode_all(BodyKind::Length(0), b"xyz", 1).unwrap(), (vec![], 0));
    assert_eq!(
        decode_all(BodyKind::UntilClose, b"everything", 3).unwrap().0,
        b"everything"
    );
}

#[test]
fn chunks_encode_and_decode_back() {
    let mut wire = Vec::new();
    for piece in [&b"a"[..], b"", b"0123456789abcdef0123"] {
        encode_chunk(piece, &mut wire);
    }
    wire.extend_from_slice(LAST_CHUNK);
    assert_eq!(&wire[..6], b"1\r\na\r\n");
    assert_eq!(
        decode_all(BodyKind::Chunked, &wire, 1).unwrap(),
        (b"a0123456789abcdef0123".to_vec(), wire.len())
    );
}

#[test]
fn composed_heads_parse_back() {
    let mut headers = Headers::new();
    headers.set("Host", "example.com:8080").unwrap();
    headers.append("X-Many", "1").unwrap();
    headers.append("X-Many", "2").unwrap();
    let mut wire = Vec::new();
    write_request_head("POST", "/p?q=%20", &headers, &mut wire);
    let Parsed::Complete(message, consumed) = RequestParser::default().decode(&wire) else {
        panic!()
    };
    assert_eq!(consumed, wire.len());
    assert_eq!(
        (message.method.as_str(), message.path(), message.query()),
        ("POST", "/p", Some("q=%20"))
    );
    assert_eq!(message.headers.get_all("x-many").collect::<Vec<_>>(), ["1", "2"]);
    assert!(message.keep_alive());
}

#[test]
fn header_values_outside_ascii_survive_as_latin1() {
    let Parsed::Complete(message, _) =
        RequestParser::default().decode(b"GET / HTTP/1.1\r\nX: caf\xe9\r\n\r\n")
    else {
        panic!()
    };
    assert_eq!(message.headers.get("x"), Some("café"));
}

#[test]
fn forms_decode() {
    assert_eq!(
        parse_form("a=1&a=2&b"),
        [
            ("a".into(), "1".into()),
            ("a".into(), "2".into()),
            ("b".into(), "".into())
        ]
    );
    assert_eq!(parse_form("%zz=%4"), [("%zz".into(), "%4".into())]);
}
