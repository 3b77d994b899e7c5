//! A request as the generator builds it: bytes with holes for CAS ids.
//!
//! The two servers hand out their own CAS ids; the test names each by the
//! order in which it first appeared (`#0`, `#1`, ...), per server. A request
//! that quotes a CAS id quotes it by that index, and each server gets the
//! bytes with its own id filled in, so "the same request" means the same
//! request once CAS ids are renumbered.

use std::collections::HashMap;

/// One server's CAS ids, numbered in order of first appearance.
#[derive(Default)]
pub struct CasIds {
    index: HashMap<u64, usize>,
    values: Vec<u64>,
}

impl CasIds {
    /// The index of `cas`, given the next one if it is new.
    pub fn index(&mut self, cas: u64) -> usize {
        let next = self.values.len();
        *self.index.entry(cas).or_insert_with(|| {
            self.values.push(cas);
            next
        })
    }

    /// The CAS id first seen `index`-th (a value no server hands out if
    /// this server never showed that many).
    pub fn value(&self, index: usize) -> u64 {
        self.values.get(index).copied().unwrap_or(UNSEEN_CAS)
    }

    /// How many distinct CAS ids this server has shown.
    pub fn len(&self) -> usize {
        self.values.len()
    }
}

/// What a CAS hole stands for when a server never showed that index.
const UNSEEN_CAS: u64 = 987_654_321_987;

/// A CAS id in a request.
#[derive(Clone, Copy, Debug)]
pub enum Cas {
    /// The `n`-th distinct CAS id this server showed.
    Seen(usize),
    /// These exact digits or bits, on both servers.
    Literal(u64),
}

/// A piece of a request.
#[derive(Clone, Debug)]
enum Piece {
    Bytes(Vec<u8>),
    /// In decimal, as the text and meta protocols write it.
    Decimal(Cas),
    /// Eight bytes, big-endian, as the binary header carries it.
    Binary(Cas),
}

/// Request bytes with CAS holes, plus what the test needs to know about it.
#[derive(Clone, Debug)]
pub struct Request {
    pieces: Vec<Piece>,
    /// What kind of operation it is, for the report and the KNOWN table.
    pub tag: &'static str,
    /// How many `MN` replies it asks for (the `mn` sentinel counts replies).
    pub mn: usize,
}

impl Request {
    /// An empty request of kind `tag`.
    pub fn new(tag: &'static str) -> Request {
        Request {
            pieces: Vec::new(),
            tag,
            mn: 0,
        }
    }

    /// Appends literal bytes.
    pub fn push(&mut self, bytes: &[u8]) -> &mut Request {
        match self.pieces.last_mut() {
            Some(Piece::Bytes(b)) => b.extend_from_slice(bytes),
            _ => self.pieces.push(Piece::Bytes(bytes.to_vec())),
        }
        self
    }

    /// Appends a CAS id in decimal.
    pub fn decimal_cas(&mut self, cas: Cas) -> &mut Request {
        self.pieces.push(Piece::Decimal(cas));
        self
    }

    /// Appends a CAS id as 8 big-endian bytes.
    pub fn binary_cas(&mut self, cas: Cas) -> &mut Request {
        self.pieces.push(Piece::Binary(cas));
        self
    }

    /// The bytes for the server whose CAS ids are `ids`.
    pub fn render(&self, ids: &CasIds, out: &mut Vec<u8>) {
        let value = |cas: &Cas| match *cas {
            Cas::Seen(i) => ids.value(i),
            Cas::Literal(v) => v,
        };
        for piece in &self.pieces {
            match piece {
                Piece::Bytes(b) => out.extend_from_slice(b),
                Piece::Decimal(c) => out.extend_from_slice(value(c).to_string().as_bytes()),
                Piece::Binary(c) => out.extend_from_slice(&value(c).to_be_bytes()),
            }
        }
    }

    /// The bytes with CAS holes shown as `#n`, for a report.
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Bytes(b) => out.extend_from_slice(b),
                Piece::Decimal(Cas::Seen(i)) | Piece::Binary(Cas::Seen(i)) => {
                    out.extend_from_slice(format!("<cas #{i}>").as_bytes())
                }
                Piece::Decimal(Cas::Literal(v)) => out.extend_from_slice(v.to_string().as_bytes()),
                Piece::Binary(Cas::Literal(v)) => out.extend_from_slice(&v.to_be_bytes()),
            }
        }
        out
    }
}

#[test]
fn cas_holes_are_filled_per_server() {
    let (mut a, mut b) = (CasIds::default(), CasIds::default());
    assert_eq!((a.index(10), a.index(12), a.index(10)), (0, 1, 0));
    assert_eq!(b.index(7), 0);
    let mut r = Request::new("t");
    r.push(b"cas k 0 0 1 ").decimal_cas(Cas::Seen(1)).push(b"\r\n");
    let (mut x, mut y) = (Vec::new(), Vec::new());
    r.render(&a, &mut x);
    r.render(&b, &mut y);
    assert_eq!(x, b"cas k 0 0 1 12\r\n");
    assert_eq!(y, format!("cas k 0 0 1 {UNSEEN_CAS}\r\n").as_bytes());
}
