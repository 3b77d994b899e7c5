//! Property tests of the memcache reply parser: any valid sequence of
//! replies, split into reads of any sizes, parses back to exactly those
//! replies; any bytes at all give the same outcome whole and split, never
//! panic, and never hold more than the bounds allow.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use torsion_clients::memcache::reply::{Expect, Reply, ReplyError, ReplyParser, MAX_LINE};
use torsion_clients::memcache::{MemcacheError, Stats, Value};

const MAX_REPLY: usize = 4096;

fn key() -> impl Strategy<Value = Vec<u8>> {
    vec(prop_oneof![0x21u8..=0x7e, 0x80u8..=0xff], 1..20)
}

fn text() -> impl Strategy<Value = String> {
    "[ -~]{0,30}"
}

fn word() -> impl Strategy<Value = String> {
    "[!-~]{1,12}"
}

/// A reply, the request it answers, and its bytes on the wire.
fn reply() -> impl Strategy<Value = (Expect, Reply, Vec<u8>)> {
    let simple = prop_oneof![
        Just((Expect::Stored, Reply::Stored, b"STORED\r\n".to_vec())),
        Just((Expect::Stored, Reply::NotStored, b"NOT_STORED\r\n".to_vec())),
        Just((Expect::Stored, Reply::Exists, b"EXISTS\r\n".to_vec())),
        Just((Expect::Stored, Reply::NotFound, b"NOT_FOUND\r\n".to_vec())),
        Just((Expect::Deleted, Reply::Deleted, b"DELETED\r\n".to_vec())),
        Just((Expect::Touched, Reply::Touched, b"TOUCHED\r\n".to_vec())),
        Just((Expect::Number, Reply::NotFound, b"NOT_FOUND\r\n".to_vec())),
        Just((Expect::Ok, Reply::Ok, b"OK\r\n".to_vec())),
    ];
    let number =
        any::<u64>().prop_map(|n| (Expect::Number, Reply::Number(n), format!("{n}\r\n").into_bytes()));
    let version = text().prop_map(|v| {
        let wire = format!("VERSION {v}\r\n").into_bytes();
        (Expect::Version, Reply::Version(v), wire)
    });
    let values = (
        vec(
            (key(), any::<u32>(), vec(any::<u8>(), 0..60), any::<Option<u64>>()),
            0..5,
        ),
        0usize..3,
    )
        .prop_map(|(items, extra_keys)| {
            let mut wire = Vec::new();
            let mut values = Vec::new();
            for (key, flags, data, cas) in items {
                wire.extend_from_slice(b"VALUE ");
                wire.extend_from_slice(&key);
                wire.extend_from_slice(format!(" {flags} {}", data.len()).as_bytes());
                if let Some(cas) = cas {
                    wire.extend_from_slice(format!(" {cas}").as_bytes());
                }
                wire.extend_from_slice(b"\r\n");
                wire.extend_from_slice(&data);
                wire.extend_from_slice(b"\r\n");
                let value = Value {
                    data: Bytes::from(data),
                    flags,
                    cas,
                };
                values.push((Bytes::from(key), value));
            }
            wire.extend_from_slice(b"END\r\n");
            let keys = values.len() + extra_keys;
            (Expect::Values { keys }, Reply::Values(values), wire)
        });
    let stats = vec((word(), text()), 0..6).prop_map(|pairs| {
        let mut wire = Vec::new();
        for (name, value) in &pairs {
            wire.extend_from_slice(format!("STAT {name} {value}\r\n").as_bytes());
        }
        wire.extend_from_slice(b"END\r\n");
        (Expect::Stats, Reply::Stats(Stats(pairs)), wire)
    });
    let error = (0..3u8, text(), 0..8u8).prop_map(|(kind, text, expect)| {
        let expect = [
            Expect::Stored,
            Expect::Values { keys: 1 },
            Expect::Deleted,
            Expect::Number,
            Expect::Touched,
            Expect::Ok,
            Expect::Stats,
            Expect::Version,
        ][expect as usize];
        let (word, error) = match kind {
            0 => ("ERROR", MemcacheError::Error(text.clone())),
            1 => ("CLIENT_ERROR", MemcacheError::ClientError(text.clone())),
            _ => ("SERVER_ERROR", MemcacheError::ServerError(text.clone())),
        };
        let wire = match text.is_empty() {
            true => format!("{word}\r\n"),
            false => format!("{word} {text}\r\n"),
        };
        (expect, Reply::Error(error), wire.into_bytes())
    });
    prop_oneof![simple, number, version, values, stats, error]
}

/// Read sizes, cycled; empty means the whole stream at once.
fn sizes() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![Just(vec![]), Just(vec![1]), vec(1usize..50, 1..6)]
}

/// Everything parsing gave: the replies, then the error or the bytes left.
#[derive(Debug, PartialEq)]
struct Parsed {
    replies: Vec<Reply>,
    error: Option<ReplyError>,
    left: usize,
}

/// Feeds `wire` in reads of `sizes` to a parser answering `expects` in
/// turn; checks the buffer bound after every read.
fn parse(wire: &[u8], expects: &[Expect], sizes: &[usize]) -> Parsed {
    let mut parser = ReplyParser::new(MAX_REPLY);
    let mut buf = BytesMut::new();
    let mut out = Parsed {
        replies: Vec::new(),
        error: None,
        left: 0,
    };
    let mut expects = expects.iter().copied();
    let mut expect = expects.next();
    let mut rest = wire;
    let mut i = 0;
    while !rest.is_empty() {
        let n = match sizes {
            [] => rest.len(),
            s => s[i % s.len()].min(rest.len()),
        };
        i += 1;
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        while let Some(e) = expect {
            match parser.parse(&mut buf, e) {
                Ok(Some(reply)) => {
                    out.replies.push(reply);
                    expect = expects.next();
                }
                Ok(None) => break,
                Err(error) => {
                    out.error = Some(error);
                    return out;
                }
            }
        }
        // Bounded: one reply in progress (at most MAX_REPLY, or a line)
        // plus what the last read brought.
        assert!(
            buf.len() <= MAX_REPLY.max(MAX_LINE + 2) + n,
            "{} bytes held",
            buf.len()
        );
    }
    out.left = buf.len();
    out
}

proptest! {
    #[test]
    fn valid_replies_parse_back_whatever_the_reads(replies in vec(reply(), 1..12), sizes in sizes()) {
        let expects: Vec<Expect> = replies.iter().map(|(e, _, _)| *e).collect();
        let wire: Vec<u8> = replies.iter().flat_map(|(_, _, w)| w.clone()).collect();
        let parsed = parse(&wire, &expects, &sizes);
        prop_assert_eq!(parsed.error, None);
        prop_assert_eq!(parsed.left, 0);
        let want: Vec<Reply> = replies.into_iter().map(|(_, r, _)| r).collect();
        prop_assert_eq!(parsed.replies, want);
    }

    #[test]
    fn any_bytes_give_the_same_outcome_whole_and_split(
        wire in vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b' '), b'0'..=b'9', any::<u8>()], 0..400),
        prefix in vec(reply(), 0..3),
        sizes in sizes(),
        expect in 0..8usize,
    ) {
        // Valid replies first, then noise, so the noise meets every state.
        let mut stream: Vec<u8> = prefix.iter().flat_map(|(_, _, w)| w.clone()).collect();
        stream.extend_from_slice(&wire);
        let noise = [
            Expect::Stored, Expect::Values { keys: 3 }, Expect::Deleted, Expect::Number,
            Expect::Touched, Expect::Ok, Expect::Stats, Expect::Version,
        ][expect];
        let mut expects: Vec<Expect> = prefix.iter().map(|(e, _, _)| *e).collect();
        expects.extend(std::iter::repeat_n(noise, 50));
        let whole = parse(&stream, &expects, &[]);
        let split = parse(&stream, &expects, &sizes);
        prop_assert_eq!(whole, split);
    }
}
