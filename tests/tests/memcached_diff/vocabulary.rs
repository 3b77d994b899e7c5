//! The words random requests are made of: a small key space (so that
//! requests hit, miss and collide), values, flags, expiry times and CAS ids.
//!
//! Nothing here depends on time passing during a run: a relative expiry is
//! at least [`MIN_RELATIVE_TTL`] seconds (far more than a run may last), an
//! absolute one is years ahead or before the servers started (expired at
//! once), and a negative one is expired at once.

use torsion_tests::Rng;

use super::request::Cas;

/// The keys most requests use: few, so that they meet.
pub const KEYS: [&str; 6] = ["k0", "k1", "k2", "n0", "n1", "n2"];
/// The longest key memcached takes.
pub const KEY_LIMIT: usize = 250;
/// The shortest relative expiry used; a run is bounded far below it.
pub const MIN_RELATIVE_TTL: u64 = 1000;
/// Values at most this long are small; see [`value`].
const SMALL_VALUE: usize = 40;
/// A value that fits in memcached's default 1 MB item.
const LARGE_VALUE: usize = 700_000;
/// A value that does not.
const TOO_LARGE_VALUE: usize = 1_500_000;

/// What a generator needs: the random source and how many distinct CAS ids
/// the servers have shown so far.
pub struct Gen {
    /// The seeded source of every choice.
    pub rng: Rng,
    /// How many CAS ids the reference server has shown (requests quote them by index).
    pub cas_seen: usize,
}

impl Gen {
    /// A key: mostly from [`KEYS`], sometimes at the length limit or over it.
    pub fn key(&mut self) -> Vec<u8> {
        match self.rng.below(100) {
            0..=2 => long_key(KEY_LIMIT),
            3 => long_key(KEY_LIMIT + 1),
            _ => self.rng.pick(&KEYS).as_bytes().to_vec(),
        }
    }

    /// A key that is always valid.
    pub fn good_key(&mut self) -> Vec<u8> {
        if self.rng.percent(3) {
            long_key(KEY_LIMIT)
        } else {
            self.rng.pick(&KEYS).as_bytes().to_vec()
        }
    }

    /// A value: empty, a number (or something close to one), short, long
    /// or (rarely) larger than 100 KB. Never holds a capital letter or a
    /// space, so it cannot fake a reply line.
    pub fn value(&mut self) -> Vec<u8> {
        match self.rng.below(1000) {
            0..=99 => Vec::new(),
            100..=299 => self.number().as_bytes().to_vec(),
            300..=899 => {
                let n = 1 + self.rng.below(SMALL_VALUE);
                self.letters(n)
            }
            900..=985 => {
                let n = 100 + self.rng.below(5000);
                self.letters(n)
            }
            _ => {
                let n = 100_000 + self.rng.below(LARGE_VALUE - 100_000);
                self.letters(n)
            }
        }
    }

    /// A value larger than the item limit.
    pub fn too_large_value(&mut self) -> Vec<u8> {
        {
            let n = TOO_LARGE_VALUE + self.rng.below(100_000);
            self.letters(n)
        }
    }

    /// `x` then `n - 1` random lowercase letters and digits.
    pub fn letters(&mut self, n: usize) -> Vec<u8> {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut v = Vec::with_capacity(n);
        v.push(b'x');
        let mut bits = 0;
        for i in 1..n {
            if i % 8 == 1 {
                bits = self.rng.next_u64();
            }
            v.push(ALPHABET[(bits & 0xff) as usize % ALPHABET.len()]);
            bits >>= 8;
        }
        v.truncate(n);
        v
    }

    /// Decimal text for a counter: numbers at the edges of 64 bits, and
    /// things that are almost numbers.
    pub fn number(&mut self) -> &'static str {
        self.rng.pick(&[
            "0",
            "1",
            "9",
            "10",
            "99",
            "100",
            "4294967296",
            "18446744073709551615",
            "18446744073709551614",
            "18446744073709551616",
            "007",
            "12x",
            "-1",
        ])
    }

    /// An incr/decr delta, mostly valid.
    pub fn delta(&mut self) -> &'static str {
        match self.rng.below(100) {
            0..=79 => self
                .rng
                .pick(&["1", "2", "0", "9", "10", "100", "18446744073709551615"]),
            _ => self.rng.pick(&["-1", "abc", "18446744073709551616", "1.5", ""]),
        }
    }

    /// A text expiry time; see the module comment.
    pub fn ttl(&mut self) -> &'static str {
        match self.rng.below(100) {
            0..=39 => "0",
            40..=59 => "1000",
            60..=69 => "86400",
            70..=74 => "2592000",
            75..=84 => "2100000000",
            85..=94 => "-1",
            95..=97 => "2592001",
            _ => "abc",
        }
    }

    /// A meta `R` threshold (win the recache when fewer seconds are left):
    /// never one of the expiry times above, so that the seconds passing
    /// during a run cannot move an item across it.
    pub fn recache_threshold(&mut self) -> &'static str {
        self.rng
            .pick(&["0", "500", "1500", "90000", "3000000", "-1", "abc"])
    }

    /// A binary expiry time (the text ones, as 32 bits).
    pub fn binary_ttl(&mut self) -> u32 {
        self.rng.pick(&[
            0,
            0,
            0,
            1000,
            86400,
            2_592_000,
            2_100_000_000,
            u32::MAX,
            2_592_001,
        ])
    }

    /// Client flags, mostly valid.
    pub fn flags(&mut self) -> &'static str {
        match self.rng.below(100) {
            0..=94 => self.rng.pick(&["0", "0", "1", "65535", "4294967295"]),
            _ => self.rng.pick(&["4294967296", "-1", "abc"]),
        }
    }

    /// A CAS id to quote: mostly one of the last few a server showed,
    /// sometimes one no server gave.
    pub fn cas(&mut self) -> Cas {
        if self.cas_seen > 0 && self.rng.percent(75) {
            let back = self.rng.below(self.cas_seen.min(4));
            Cas::Seen(self.cas_seen - 1 - back)
        } else {
            Cas::Literal(self.rng.pick(&[0, 1, 123_456_789, u64::MAX]))
        }
    }

    /// `noreply` (with its leading space) a fifth of the time.
    pub fn noreply(&mut self) -> &'static [u8] {
        if self.rng.percent(20) {
            b" noreply"
        } else {
            b""
        }
    }
}

/// A key of `n` bytes (`kkk...`).
pub fn long_key(n: usize) -> Vec<u8> {
    vec![b'k'; n]
}

/// Standard base64 with padding, for the meta `b` flag.
pub fn base64(bytes: &[u8]) -> Vec<u8> {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63]);
            } else {
                out.push(b'=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_the_standard() {
    assert_eq!(base64(b"k0"), b"azA=");
    assert_eq!(base64(b"abc"), b"YWJj");
    assert_eq!(base64(b"a"), b"YQ==");
}
