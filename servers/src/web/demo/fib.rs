//! Fibonacci numbers of any size, in decimal: the seeds' CPU-bound work.

/// One limb holds nine decimal digits.
const BASE: u32 = 1_000_000_000;

/// The largest `num` the demo pages accept: fib(300000) has 62,696 digits
/// and takes a second or two, enough to show a stalled loop.
pub const MAX_FIB: u64 = 300_000;

/// The `n`th Fibonacci number in decimal (fib(0) = 0, fib(1) = 1),
/// computed by repeated addition: O(n²) digit work on purpose, so large
/// `n` is slow.
///
/// ```
/// use torsion_servers::web::demo::fib;
/// assert_eq!(fib(10), "55");
/// assert_eq!(fib(100), "354224848179261915075");
/// ```
pub fn fib(n: u64) -> String {
    // Little-endian limbs of base 10^9.
    let (mut a, mut b): (Vec<u32>, Vec<u32>) = (vec![0], vec![1]);
    for _ in 0..n {
        let sum = add(&a, &b);
        a = std::mem::replace(&mut b, sum);
    }
    to_decimal(&a)
}

fn add(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let mut carry = 0;
    for i in 0..a.len().max(b.len()) {
        let s = a.get(i).copied().unwrap_or(0) + b.get(i).copied().unwrap_or(0) + carry;
        out.push(s % BASE);
        carry = s / BASE;
    }
    if carry > 0 {
        out.push(carry);
    }
    out
}

fn to_decimal(limbs: &[u32]) -> String {
    let mut out = String::with_capacity(limbs.len() * 9);
    let mut iter = limbs.iter().rev();
    if let Some(top) = iter.next() {
        out.push_str(&top.to_string());
    }
    for limb in iter {
        out.push_str(&format!("{limb:09}"));
    }
    out
}
