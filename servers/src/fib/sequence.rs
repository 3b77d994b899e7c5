//! The sequence itself: two consecutive Fibonacci numbers and the step.

use std::fmt;

use num_bigint::BigUint;

/// Where the sequence stands: the last two numbers, `a` just before `b`.
///
/// It starts where the seed's factory does (`f.a, f.b = 1, 1`), so the first
/// number served is 2 and no number is ever served twice (1 would be).
///
/// The numbers grow without bound by design: the nth Fibonacci number has
/// about `0.209 * n` decimal digits (log10 of the golden ratio), so after a
/// million requests each answer is some 209,000 digits long, and each step
/// costs time and memory in proportion.
///
/// # Examples
///
/// ```
/// use torsion_servers::fib::Fibonacci;
///
/// let mut fib = Fibonacci::new();
/// let served: Vec<String> = (0..5).map(|_| fib.advance().to_string()).collect();
/// assert_eq!(served, ["2", "3", "5", "8", "13"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fibonacci {
    a: BigUint,
    b: BigUint,
}

/// Why a pair of numbers cannot be where the sequence stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairError {
    /// `a` is zero, or `b` is smaller than `a`.
    OutOfOrder,
    /// The two are not consecutive Fibonacci numbers.
    NotConsecutive,
}

impl fmt::Display for PairError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PairError::OutOfOrder => "the numbers are not positive and increasing",
            PairError::NotConsecutive => "the numbers are not consecutive Fibonacci numbers",
        })
    }
}

impl std::error::Error for PairError {}

impl Default for Fibonacci {
    fn default() -> Self {
        Self::new()
    }
}

impl Fibonacci {
    /// The seed's start: `a = b = 1`; the first number served is 2.
    pub fn new() -> Self {
        Fibonacci {
            a: BigUint::from(1u32),
            b: BigUint::from(1u32),
        }
    }

    /// Resumes from `a` and `b`, which must be consecutive Fibonacci numbers
    /// with `1 <= a <= b` (the state file's pair).
    ///
    /// # Implementation notes
    ///
    /// The check needs no walk along the sequence: positive integers `a <= b`
    /// are consecutive Fibonacci numbers exactly when `b² - ab - a² = ±1`
    /// (Cassini's identity read backwards). That costs two multiplications
    /// and a squaring, and a corrupted digit almost surely breaks it.
    pub fn from_pair(a: BigUint, b: BigUint) -> Result<Self, PairError> {
        let zero = BigUint::from(0u32);
        if a == zero || b < a {
            return Err(PairError::OutOfOrder);
        }
        let left = &b * &b;
        let right = &a * &b + &a * &a;
        let one = BigUint::from(1u32);
        if left == &right + &one || &left + &one == right {
            Ok(Fibonacci { a, b })
        } else {
            Err(PairError::NotConsecutive)
        }
    }

    /// Steps the sequence and returns the new number, the next to serve.
    pub fn advance(&mut self) -> &BigUint {
        // a, b = b, a + b, adding in place.
        self.a += &self.b;
        std::mem::swap(&mut self.a, &mut self.b);
        &self.b
    }

    /// The last number served (1 before any).
    pub fn last(&self) -> &BigUint {
        &self.b
    }

    /// The pair `(a, b)`, as the state file stores it.
    pub fn pair(&self) -> (&BigUint, &BigUint) {
        (&self.a, &self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(n: u64) -> BigUint {
        BigUint::from(n)
    }

    #[test]
    fn starts_as_the_seed_does() {
        let mut fib = Fibonacci::new();
        assert_eq!(fib.last(), &big(1));
        let first: Vec<u64> = (0..10)
            .map(|_| u64::try_from(fib.advance().clone()).unwrap())
            .collect();
        assert_eq!(first, [2, 3, 5, 8, 13, 21, 34, 55, 89, 144]);
        assert_eq!(fib.pair(), (&big(89), &big(144)));
    }

    #[test]
    fn every_pair_along_the_way_is_accepted() {
        let mut fib = Fibonacci::new();
        for _ in 0..500 {
            let (a, b) = fib.pair();
            assert_eq!(Fibonacci::from_pair(a.clone(), b.clone()), Ok(fib.clone()));
            fib.advance();
        }
        // F(502) has 105 digits: about 0.209 per index, as documented.
        assert_eq!(fib.last().to_string().len(), 105);
    }

    #[test]
    fn other_pairs_are_refused() {
        assert_eq!(Fibonacci::from_pair(big(0), big(1)), Err(PairError::OutOfOrder));
        assert_eq!(Fibonacci::from_pair(big(5), big(3)), Err(PairError::OutOfOrder));
        assert_eq!(
            Fibonacci::from_pair(big(5), big(9)),
            Err(PairError::NotConsecutive)
        );
        assert_eq!(
            Fibonacci::from_pair(big(2), big(2)),
            Err(PairError::NotConsecutive)
        );
        assert_eq!(
            Fibonacci::from_pair(big(3), big(8)),
            Err(PairError::NotConsecutive)
        );
        // One digit off in a large pair.
        let mut fib = Fibonacci::new();
        for _ in 0..300 {
            fib.advance();
        }
        let (a, b) = fib.pair();
        let b_off = b + big(10);
        assert_eq!(
            Fibonacci::from_pair(a.clone(), b_off),
            Err(PairError::NotConsecutive)
        );
    }
}
