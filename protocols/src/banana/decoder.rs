//! [`BananaDecoder`]: whole expressions from a byte stream.

use std::fmt;

use num_bigint::{BigInt, BigUint};

use super::{
    vocab, Dialect, Item, FLOAT, INT, LIST, LONGINT, LONGNEG, NEG, PREFIX_LIMIT, SIZE_LIMIT, STRING, VOCAB,
};
use crate::{Decoder, Parsed};

/// How deep lists may nest unless configured otherwise. PB's own messages
/// nest about eight deep (a failure inside an error message); the bound
/// keeps every later walk over an expression, which recurses, shallow.
pub const DEFAULT_MAX_DEPTH: usize = 64;

/// The longest expression, in bytes, unless configured otherwise: room
/// for one string of Twisted's largest ([`SIZE_LIMIT`]) and the message
/// around it.
pub const DEFAULT_MAX_MESSAGE: usize = 1024 * 1024;

/// Why a stream is not Banana, or not one this decoder accepts. The
/// stream cannot be trusted after this: Twisted drops the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BananaError {
    /// More than [`PREFIX_LIMIT`] header digits.
    PrefixTooLong,
    /// A list or string longer than [`SIZE_LIMIT`].
    TooLong {
        /// `"list"` or `"string"`.
        what: &'static str,
        /// The announced length (`None`: past `u64`).
        length: Option<u64>,
    },
    /// A type byte Banana does not define.
    UnknownType(u8),
    /// A VOCAB number the PB vocabulary lacks.
    UnknownWord(Option<u64>),
    /// A VOCAB element outside the `pb` dialect.
    VocabularyOutsidePb,
    /// Lists nested deeper than the decoder's bound.
    TooDeep {
        /// The bound.
        limit: usize,
    },
    /// An expression longer than the decoder's bound.
    MessageTooLong {
        /// The bound, in bytes.
        limit: usize,
    },
}

impl fmt::Display for BananaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BananaError::PrefixTooLong => {
                write!(f, "a Banana header of more than {PREFIX_LIMIT} digits")
            }
            BananaError::TooLong { what, length } => {
                let unit = if *what == "list" { "elements" } else { "bytes" };
                match length {
                    Some(n) => write!(f, "a Banana {what} of {n} {unit} (at most {SIZE_LIMIT})"),
                    None => write!(f, "a Banana {what} of more {unit} than a u64 counts"),
                }
            }
            BananaError::UnknownType(byte) => write!(f, "an unknown Banana type byte {byte:#04x}"),
            BananaError::UnknownWord(Some(n)) => write!(f, "vocabulary word {n}, which PB does not define"),
            BananaError::UnknownWord(None) => f.write_str("a vocabulary word number past a u64"),
            BananaError::VocabularyOutsidePb => f.write_str("a vocabulary word outside the pb dialect"),
            BananaError::TooDeep { limit } => write!(f, "Banana lists nested more than {limit} deep"),
            BananaError::MessageTooLong { limit } => {
                write!(f, "a Banana expression longer than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for BananaError {}

/// Reads whole expressions (top-level elements) from a stream, bounded.
///
/// It implements [`Decoder`]: `decode` gets the bytes not consumed yet,
/// starting at an expression, and answers [`Parsed::Complete`] with the
/// expression and its length, [`Parsed::Incomplete`], or
/// [`Parsed::Error`] with a [`BananaError`].
///
/// Bounds: Twisted's ([`PREFIX_LIMIT`] header digits, [`SIZE_LIMIT`] per
/// list or string), plus lists nested at most
/// [`max_depth`](BananaDecoder::with_limits) deep and expressions of at
/// most `max_message` bytes. A string or list that would pass a bound is an
/// error as soon as its header says so, before its bytes arrive.
///
/// # Implementation notes
///
/// One pass, as Twisted's `dataReceived`: after [`Parsed::Incomplete`] the
/// decoder keeps the elements read so far (the lists still open, their
/// elements) and where the next element starts, so an expression arriving
/// a byte at a time is read once in all. Strings are copied out of the
/// input once, into the expression. The caller must then pass the same
/// bytes, grown; [`reset`](Decoder::reset) forgets the partial expression.
///
/// # Examples
///
/// ```
/// use torsion_protocols::banana::{BananaDecoder, BananaError, Dialect, Item};
/// use torsion_protocols::{Decoder, Parsed};
///
/// // The server's offer of dialects, as Twisted sends it.
/// let wire = b"\x02\x80\x02\x82pb\x04\x82none";
/// let mut decoder = BananaDecoder::new(Dialect::Plain);
/// for end in 0..wire.len() {
///     assert_eq!(decoder.decode(&wire[..end]), Parsed::Incomplete);
/// }
/// let offer = Item::list(vec![Item::string("pb"), Item::string("none")]);
/// assert_eq!(decoder.decode(wire), Parsed::Complete(offer, wire.len()));
///
/// // A string Twisted would refuse: its header says 640 KiB and one byte.
/// assert!(matches!(
///     decoder.decode(b"\x01\x00\x28\x82"),
///     Parsed::Error(BananaError::TooLong { what: "string", .. })
/// ));
/// ```
#[derive(Clone, Debug)]
pub struct BananaDecoder {
    dialect: Dialect,
    max_depth: usize,
    max_message: usize,
    /// Where the next element not read yet starts (0 between expressions).
    next: usize,
    /// The lists open at `next`, outermost first: their elements so far,
    /// and how many they have in all.
    open: Vec<(Vec<Item<'static>>, usize)>,
}

impl BananaDecoder {
    /// A decoder for `dialect` with the default bounds.
    pub fn new(dialect: Dialect) -> Self {
        Self::with_limits(dialect, DEFAULT_MAX_DEPTH, DEFAULT_MAX_MESSAGE)
    }

    /// A decoder for `dialect` accepting lists nested `max_depth` deep and
    /// expressions of `max_message` bytes.
    pub fn with_limits(dialect: Dialect, max_depth: usize, max_message: usize) -> Self {
        BananaDecoder {
            dialect,
            max_depth,
            max_message,
            next: 0,
            open: Vec::new(),
        }
    }

    /// The dialect it reads.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Reads `dialect` from the next expression on (after the negotiation).
    pub fn set_dialect(&mut self, dialect: Dialect) {
        self.dialect = dialect;
    }

    /// The bound on an expression, in bytes: the most input `decode` leaves
    /// undecided.
    pub fn max_message(&self) -> usize {
        self.max_message
    }

    /// An error: the partial expression is dropped.
    fn fail(&mut self, error: BananaError) -> Parsed<Item<'static>, BananaError> {
        self.reset();
        Parsed::Error(error)
    }
}

impl Decoder for BananaDecoder {
    type Message<'a> = Item<'static>;
    type Error = BananaError;

    fn decode(&mut self, input: &[u8]) -> Parsed<Item<'static>, BananaError> {
        // Only the bound's worth is looked at, so an input gives the same
        // outcome however it is split: past the bound, nothing but "too long".
        let visible = &input[..input.len().min(self.max_message)];
        loop {
            let element = match element(visible, self.next, self.dialect) {
                Ok(Scanned::Whole(element)) => element,
                Ok(Scanned::Partial { needs }) => {
                    if needs.unwrap_or(0).max(input.len()) > self.max_message {
                        let limit = self.max_message;
                        return self.fail(BananaError::MessageTooLong { limit });
                    }
                    return Parsed::Incomplete;
                }
                Err(e) => return self.fail(e),
            };
            let end = element.end;
            if end > self.max_message {
                let limit = self.max_message;
                return self.fail(BananaError::MessageTooLong { limit });
            }
            self.next = end;
            let mut item = match element.head {
                Head::List(0) => Item::List(Vec::new()),
                Head::List(length) => {
                    if self.open.len() >= self.max_depth {
                        let limit = self.max_depth;
                        return self.fail(BananaError::TooDeep { limit });
                    }
                    // No capacity up front: the header alone may announce 640 Ki elements.
                    self.open.push((Vec::new(), length));
                    continue;
                }
                Head::Integer { negative, digits } => integer(negative, digits),
                Head::Float(bytes) => Item::Float(f64::from_be_bytes(bytes)),
                Head::String(bytes) => Item::owned(bytes.to_vec()),
                Head::Word(word) => Item::bytes(word),
            };
            // Close every list this element completes.
            loop {
                let Some((items, length)) = self.open.last_mut() else {
                    self.next = 0;
                    return Parsed::Complete(item, end);
                };
                items.push(item);
                if items.len() < *length {
                    break;
                }
                item = Item::List(std::mem::take(items));
                self.open.pop();
            }
        }
    }

    fn reset(&mut self) {
        self.next = 0;
        self.open.clear();
    }
}

/// What an element's header and type byte say.
enum Head<'a> {
    List(usize),
    Integer { negative: bool, digits: &'a [u8] },
    Float([u8; 8]),
    String(&'a [u8]),
    Word(&'static [u8]),
}

/// One element read, and where the next one starts.
struct Element<'a> {
    head: Head<'a>,
    end: usize,
}

enum Scanned<'a> {
    Whole(Element<'a>),
    /// Not all there: `needs` is where it ends, once the header says so.
    Partial {
        needs: Option<usize>,
    },
}

/// Reads the element at `input[at..]`.
fn element(input: &[u8], at: usize, dialect: Dialect) -> Result<Scanned<'_>, BananaError> {
    let rest = input.get(at..).unwrap_or_default();
    let Some(n) = rest.iter().position(|b| b & 0x80 != 0) else {
        if rest.len() > PREFIX_LIMIT {
            return Err(BananaError::PrefixTooLong);
        }
        return Ok(Scanned::Partial { needs: None });
    };
    if n > PREFIX_LIMIT {
        return Err(BananaError::PrefixTooLong);
    }
    let (digits, type_byte) = (&rest[..n], rest[n]);
    let body = at + n + 1;
    let whole = |head, end| Ok(Scanned::Whole(Element { head, end }));
    match type_byte {
        LIST => whole(Head::List(length("list", digits)?), body),
        STRING => {
            let end = body + length("string", digits)?;
            match input.get(body..end) {
                Some(bytes) => whole(Head::String(bytes), end),
                None => Ok(Scanned::Partial { needs: Some(end) }),
            }
        }
        INT | LONGINT => whole(
            Head::Integer {
                negative: false,
                digits,
            },
            body,
        ),
        NEG | LONGNEG => whole(
            Head::Integer {
                negative: true,
                digits,
            },
            body,
        ),
        // Twisted writes no header before a float, and ignores one.
        FLOAT => match input
            .get(body..body + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
        {
            Some(bytes) => whole(Head::Float(bytes), body + 8),
            None => Ok(Scanned::Partial {
                needs: Some(body + 8),
            }),
        },
        VOCAB => {
            if dialect != Dialect::Pb {
                return Err(BananaError::VocabularyOutsidePb);
            }
            let number = small(digits);
            let word = number
                .and_then(vocab::word)
                .ok_or(BananaError::UnknownWord(number))?;
            whole(Head::Word(word), body)
        }
        other => Err(BananaError::UnknownType(other)),
    }
}

/// A list's or string's length, within [`SIZE_LIMIT`].
fn length(what: &'static str, digits: &[u8]) -> Result<usize, BananaError> {
    let announced = small(digits);
    match announced.and_then(|n| usize::try_from(n).ok()) {
        Some(n) if n <= SIZE_LIMIT => Ok(n),
        _ => Err(BananaError::TooLong {
            what,
            length: announced,
        }),
    }
}

/// The number base-128 `digits` (least significant first) spell, if it
/// fits a `u64`.
fn small(digits: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &digit) in digits.iter().enumerate() {
        if digit == 0 {
            continue;
        }
        let shift = u32::try_from(7 * i).ok().filter(|s| *s < 64)?;
        let part = u64::from(digit) << shift;
        if part >> shift != u64::from(digit) {
            return None;
        }
        value |= part;
    }
    Some(value)
}

/// The integer `digits` spell, negated if `negative`.
fn integer(negative: bool, digits: &[u8]) -> Item<'static> {
    // Nine digits are 63 bits: those fit an i64 either way.
    if let Some(n) = small(digits).filter(|_| digits.len() <= 9) {
        if let Ok(n) = i64::try_from(n) {
            return Item::Int(if negative { -n } else { n });
        }
    }
    let magnitude = digits.iter().rev().fold(BigUint::default(), |acc, &digit| {
        (acc << 7u32) | BigUint::from(digit)
    });
    let value = BigInt::from(magnitude);
    Item::integer(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(dialect: Dialect, wire: &[u8]) -> Item<'static> {
        let mut decoder = BananaDecoder::new(dialect);
        match decoder.decode(wire) {
            Parsed::Complete(item, n) => {
                assert_eq!(n, wire.len(), "the whole input is one expression");
                item
            }
            other => panic!("{other:?}"),
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Twisted's encodings (`banana.encode`, from Twisted 26.1), read back.
    #[test]
    fn reads_twisted_integers() {
        let cases: &[(&str, i64)] = &[
            ("0081", 0),
            ("81", 0),
            ("0181", 1),
            ("7f81", 127),
            ("000181", 128),
            ("2c0281", 300),
            ("7f7f7f7f0781", 2_147_483_647),
            ("000000000885", 2_147_483_648),
            ("0183", -1),
            ("000183", -128),
            ("000000000883", -2_147_483_648),
            ("010000000886", -2_147_483_649),
            ("0000000000000000000186", i64::MIN),
        ];
        for (wire, value) in cases {
            assert_eq!(
                decode_all(Dialect::Plain, &hex(wire)),
                Item::Int(*value),
                "{wire}"
            );
        }
        let big = decode_all(Dialect::Plain, &hex("0500000000000000000285"));
        assert_eq!(big, Item::Long((BigInt::from(1u8) << 64u32) + 5u8));
        let largest = decode_all(Dialect::Plain, &[[0x7f; 64].as_slice(), &[LONGINT]].concat());
        assert_eq!(largest, Item::Long((BigInt::from(1u8) << 448u32) - 1));
    }

    #[test]
    fn reads_twisted_floats_strings_and_lists() {
        assert_eq!(
            decode_all(Dialect::Plain, &hex("843ff8000000000000")),
            Item::Float(1.5)
        );
        assert_eq!(decode_all(Dialect::Plain, &hex("0082")), Item::bytes(b""));
        assert_eq!(
            decode_all(Dialect::Plain, &hex("058268656c6c6f")),
            Item::bytes(b"hello")
        );
        let long = [hex("480182"), vec![b'x'; 200]].concat();
        assert_eq!(decode_all(Dialect::Plain, &long), Item::owned(vec![b'x'; 200]));
        assert_eq!(decode_all(Dialect::Plain, &hex("0080")), Item::list(vec![]));
        let nested = Item::list(vec![
            Item::Int(1),
            Item::list(vec![Item::Int(2), Item::bytes(b"a")]),
        ]);
        assert_eq!(decode_all(Dialect::Plain, &hex("0280018102800281018261")), nested);
    }

    #[test]
    fn vocabulary_words_only_in_the_pb_dialect() {
        // ["version", 6] as Twisted sends it once both sides speak pb.
        let wire = hex("028013870681");
        let version = Item::list(vec![Item::string("version"), Item::Int(6)]);
        assert_eq!(decode_all(Dialect::Pb, &wire), version);
        let mut plain = BananaDecoder::new(Dialect::Plain);
        assert_eq!(
            plain.decode(&wire),
            Parsed::Error(BananaError::VocabularyOutsidePb)
        );
        let mut pb = BananaDecoder::new(Dialect::Pb);
        assert_eq!(
            pb.decode(&hex("2087")),
            Parsed::Error(BananaError::UnknownWord(Some(32)))
        );
        assert_eq!(
            pb.decode(&hex("0087")),
            Parsed::Error(BananaError::UnknownWord(Some(0)))
        );
    }

    #[test]
    fn a_byte_at_a_time_is_read_once_and_gives_the_same_expression() {
        // ["po", [3, 2.0, "\n"]]
        let wire = hex(concat!(
            "0280",
            "0282706f",
            "0380",
            "0381",
            "844000000000000000",
            "01820a"
        ));
        let whole = decode_all(Dialect::Plain, &wire);
        let mut decoder = BananaDecoder::new(Dialect::Plain);
        for end in 0..wire.len() {
            assert_eq!(decoder.decode(&wire[..end]), Parsed::Incomplete, "at {end}");
        }
        assert_eq!(decoder.decode(&wire), Parsed::Complete(whole, wire.len()));
        // And the decoder is ready for the next expression.
        assert_eq!(decoder.decode(&hex("0181")), Parsed::Complete(Item::Int(1), 2));
    }

    #[test]
    fn two_expressions_in_one_read_come_one_at_a_time() {
        let wire = hex("0181028202");
        let mut decoder = BananaDecoder::new(Dialect::Plain);
        assert_eq!(decoder.decode(&wire), Parsed::Complete(Item::Int(1), 2));
        assert_eq!(decoder.decode(&wire[2..]), Parsed::Incomplete);
    }

    #[test]
    fn twisteds_bounds() {
        let mut d = BananaDecoder::new(Dialect::Plain);
        // 64 header digits are fine; a 65th is refused, with or without a type byte.
        assert!(matches!(d.decode(&[0u8; 64]), Parsed::Incomplete));
        d.reset();
        assert_eq!(d.decode(&[0u8; 65]), Parsed::Error(BananaError::PrefixTooLong));
        assert_eq!(
            d.decode(&[[0u8; 65].as_slice(), &[INT]].concat()),
            Parsed::Error(BananaError::PrefixTooLong)
        );
        // 640 KiB is the longest string and list.
        let header = |n: usize, t: u8| {
            let mut out: Vec<u8> = (0..3).map(|i| ((n >> (7 * i)) & 0x7f) as u8).collect();
            out.push(t);
            out
        };
        assert_eq!(d.decode(&header(SIZE_LIMIT, LIST)), Parsed::Incomplete);
        d.reset();
        for t in [LIST, STRING] {
            assert!(matches!(
                d.decode(&header(SIZE_LIMIT + 1, t)),
                Parsed::Error(BananaError::TooLong {
                    length: Some(655_361),
                    ..
                })
            ));
        }
        assert_eq!(
            d.decode(&hex("0188")),
            Parsed::Error(BananaError::UnknownType(0x88))
        );
    }

    #[test]
    fn own_bounds_depth_and_length() {
        let mut d = BananaDecoder::with_limits(Dialect::Plain, 2, 100);
        assert!(matches!(d.decode(&hex("0180018000800181")), Parsed::Complete(..)));
        assert_eq!(
            d.decode(&hex("01800180018000")),
            Parsed::Error(BananaError::TooDeep { limit: 2 })
        );
        // A string announced past the bound fails before its bytes arrive.
        assert_eq!(
            d.decode(&hex("6482")),
            Parsed::Error(BananaError::MessageTooLong { limit: 100 })
        );
        assert!(matches!(d.decode(&hex("6082")), Parsed::Incomplete));
        d.reset();
        // So does a list whose elements run past it.
        let many = [hex("7f00"), vec![0x80], [0x00, 0x81].repeat(60)].concat();
        assert_eq!(
            d.decode(&many),
            Parsed::Error(BananaError::MessageTooLong { limit: 100 })
        );
    }

    /// Found by the `pb_banana` fuzz target: an error past the bound was
    /// reported when the input came whole, "too long" when it came split.
    #[test]
    fn past_the_bound_the_outcome_does_not_depend_on_the_split() {
        let wire = hex("0000000000c2");
        let mut whole = BananaDecoder::with_limits(Dialect::Plain, 2, 4);
        assert_eq!(
            whole.decode(&wire),
            Parsed::Error(BananaError::MessageTooLong { limit: 4 })
        );
        let mut split = BananaDecoder::with_limits(Dialect::Plain, 2, 4);
        assert_eq!(split.decode(&wire[..4]), Parsed::Incomplete);
        assert_eq!(
            split.decode(&wire),
            Parsed::Error(BananaError::MessageTooLong { limit: 4 })
        );
    }

    #[test]
    fn small_numbers_ignore_high_zero_digits_and_refuse_overflow() {
        assert_eq!(small(&[5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Some(5));
        assert_eq!(small(&[0x7f; 9]), Some((1 << 63) - 1));
        assert_eq!(small(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), Some(1 << 63));
        assert_eq!(small(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 2]), None);
        assert_eq!(small(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), None);
    }
}
