//! Random binary-protocol requests: every opcode memcached answers without
//! SASL (quiet variants included), with and without CAS, and malformed
//! ones (extras or key where none belong, keys over the limit).

use super::request::{Cas, Request};
use super::vocabulary::{long_key, Gen, KEY_LIMIT};

use torsion_protocols::memcache::binary::{opcode as op, REQUEST_MAGIC as REQUEST};

/// The sentinel that ends every binary batch.
pub fn sentinel() -> Vec<u8> {
    let mut r = Request::new("sentinel");
    header(
        &mut r,
        op::NOOP,
        0,
        0,
        0,
        super::reply::SENTINEL_OPAQUE,
        Cas::Literal(0),
    );
    let mut bytes = Vec::new();
    r.render(&Default::default(), &mut bytes);
    bytes
}

fn header(r: &mut Request, opcode: u8, keylen: usize, extlen: usize, bodylen: usize, opaque: u32, cas: Cas) {
    r.push(&[REQUEST, opcode]);
    r.push(&(keylen as u16).to_be_bytes());
    r.push(&[extlen as u8, 0, 0, 0]);
    r.push(&(bodylen as u32).to_be_bytes());
    r.push(&opaque.to_be_bytes());
    r.binary_cas(cas);
}

fn packet(
    g: &mut Gen,
    tag: &'static str,
    opcode: u8,
    extras: &[u8],
    key: &[u8],
    value: &[u8],
    cas: Cas,
) -> Request {
    let mut r = Request::new(tag);
    let opaque = g.rng.below(1000) as u32;
    header(
        &mut r,
        opcode,
        key.len(),
        extras.len(),
        extras.len() + key.len() + value.len(),
        opaque,
        cas,
    );
    r.push(extras).push(key).push(value);
    r
}

/// A CAS for a command that takes one: usually none.
fn maybe_cas(g: &mut Gen) -> Cas {
    if g.rng.percent(25) {
        g.cas()
    } else {
        Cas::Literal(0)
    }
}

/// A binary key: usually valid, sometimes at or over the limit.
fn key(g: &mut Gen) -> Vec<u8> {
    match g.rng.below(100) {
        0..=2 => long_key(KEY_LIMIT),
        3 => long_key(KEY_LIMIT + 1),
        _ => g.good_key(),
    }
}

/// One random binary request.
pub fn binary(g: &mut Gen) -> Request {
    let key = key(g);
    match g.rng.below(100) {
        0..=19 => {
            let opcode = g.rng.pick(&[op::GET, op::GETQ, op::GETK, op::GETKQ]);
            packet(g, "bin-get", opcode, &[], &key, &[], Cas::Literal(0))
        }
        20..=44 => {
            let opcode = g.rng.pick(&[
                op::SET,
                op::SET,
                op::ADD,
                op::REPLACE,
                op::SETQ,
                op::ADDQ,
                op::REPLACEQ,
            ]);
            let mut extras = (g.rng.next_u64() as u32 % 3 * 0x7fff_ffff).to_be_bytes().to_vec();
            extras.extend_from_slice(&g.binary_ttl().to_be_bytes());
            let too_large = g.rng.percent(2);
            let value = if too_large { g.too_large_value() } else { g.value() };
            let cas = maybe_cas(g);
            let tag = if too_large {
                "bin-store-too-large"
            } else {
                "bin-store"
            };
            packet(g, tag, opcode, &extras, &key, &value, cas)
        }
        45..=54 => {
            let opcode = g.rng.pick(&[op::APPEND, op::PREPEND, op::APPENDQ, op::PREPENDQ]);
            let value = g.value();
            let cas = maybe_cas(g);
            packet(g, "bin-concat", opcode, &[], &key, &value, cas)
        }
        55..=62 => {
            let opcode = g.rng.pick(&[op::DELETE, op::DELETEQ]);
            let cas = maybe_cas(g);
            packet(g, "bin-delete", opcode, &[], &key, &[], cas)
        }
        63..=74 => {
            let opcode = g
                .rng
                .pick(&[op::INCREMENT, op::DECREMENT, op::INCREMENTQ, op::DECREMENTQ]);
            let delta = g.rng.pick(&[0u64, 1, 2, 10, u64::MAX]);
            let initial = g.rng.pick(&[0u64, 5, 100, u64::MAX]);
            let mut extras = delta.to_be_bytes().to_vec();
            extras.extend_from_slice(&initial.to_be_bytes());
            extras.extend_from_slice(&g.binary_ttl().to_be_bytes());
            let cas = maybe_cas(g);
            packet(g, "bin-arith", opcode, &extras, &key, &[], cas)
        }
        75..=82 => {
            let opcode = g.rng.pick(&[op::TOUCH, op::GAT, op::GATQ, op::GATK, op::GATKQ]);
            let extras = g.binary_ttl().to_be_bytes();
            packet(g, "bin-touch", opcode, &extras, &key, &[], Cas::Literal(0))
        }
        83..=86 => packet(g, "bin-noop", op::NOOP, &[], &[], &[], Cas::Literal(0)),
        87..=88 => packet(g, "bin-version", op::VERSION, &[], &[], &[], Cas::Literal(0)),
        89 => {
            let opcode = g.rng.pick(&[op::FLUSH, op::FLUSHQ]);
            let extras: &[u8] = g.rng.pick(&[&[][..], &[0, 0, 0, 0], &[0, 1, 0x51, 0x80]]);
            let tag = if extras.iter().any(|&b| b != 0) {
                "flush-delayed"
            } else {
                "bin-flush"
            };
            packet(g, tag, opcode, extras, &[], &[], Cas::Literal(0))
        }
        90 if g.rng.percent(30) => {
            let opcode = g.rng.pick(&[op::QUIT, op::QUITQ]);
            packet(g, "bin-quit", opcode, &[], &[], &[], Cas::Literal(0))
        }
        _ => malformed(g, &key),
    }
}

/// A well-framed request with arguments its opcode does not take.
fn malformed(g: &mut Gen, key: &[u8]) -> Request {
    match g.rng.below(7) {
        0 => packet(g, "bin-bad", op::GET, &[0, 0, 0, 0], key, &[], Cas::Literal(0)),
        1 => packet(g, "bin-bad", op::SET, &[], key, b"xv", Cas::Literal(0)),
        2 => packet(g, "bin-bad", op::GET, &[], &[], &[], Cas::Literal(0)),
        3 => packet(g, "bin-bad", op::GET, &[], key, b"xv", Cas::Literal(0)),
        4 => packet(g, "bin-bad", op::INCREMENT, &[0; 8], key, &[], Cas::Literal(0)),
        5 => packet(g, "bin-bad", op::NOOP, &[], key, &[], Cas::Literal(0)),
        _ => packet(g, "bin-bad", op::DELETE, &[0, 0, 0, 0], key, &[], Cas::Literal(0)),
    }
}
