//! Decimal numbers exactly as memcached reads and writes them.
//!
//! memcached parses every numeric token with the C library (`strtol`, `strtoul`,
//! `strtoull`) wrapped in its `safe_strto*` helpers (`util.c`). Their quirks are
//! visible to clients, so they are reproduced here rather than replaced by
//! `str::parse`:
//!
//! - leading white space (`isspace`: space, `\t`, `\n`, `\v`, `\f`, `\r`) is skipped
//!   and one `+` or `-` sign is accepted;
//! - at least one digit is required, and the byte after the digits must be the end
//!   of the token, a NUL, or white space (anything after that is ignored);
//! - a value outside the C type's range (`ERANGE`) is refused;
//! - `safe_strtoull` / `safe_strtoul` refuse a `-` only when the negated result
//!   would look negative as a signed number (so `-0` is 0);
//! - `safe_strtoul` and `safe_strtol` store the 64-bit `long` result into a 32-bit
//!   variable, so it is truncated (wraps) there: flags `4294967296` become 0.
//!
//! Writing numbers never allocates: [`push_u64`] formats into the output buffer.

/// C's `isspace` in the "C" locale.
pub fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What `strto*` saw: the sign, the magnitude (`None` on overflow of `u64`), and
/// whether the token was acceptable to memcached's end-of-number check.
struct Scan {
    negative: bool,
    magnitude: Option<u64>,
}

/// Scans like `strtoull(str, &end, 10)` followed by memcached's check of `*end`.
/// Returns `None` when no digit was found or the byte after the digits is not an
/// end of token, a NUL or white space.
fn scan(token: &[u8]) -> Option<Scan> {
    let mut i = 0;
    while i < token.len() && is_c_space(token[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < token.len() && (token[i] == b'+' || token[i] == b'-') {
        negative = token[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut magnitude: Option<u64> = Some(0);
    while i < token.len() && token[i].is_ascii_digit() {
        let digit = u64::from(token[i] - b'0');
        magnitude = magnitude
            .and_then(|m| m.checked_mul(10))
            .and_then(|m| m.checked_add(digit));
        i += 1;
    }
    if i == start {
        return None; // str == endptr
    }
    match token.get(i) {
        None | Some(0) => {}
        Some(&b) if is_c_space(b) => {}
        Some(_) => return None,
    }
    Some(Scan { negative, magnitude })
}

/// memcached's `safe_strtoull`: an unsigned 64-bit number (CAS uniques, incr/decr
/// deltas, counter values).
///
/// ```
/// use torsion_protocols::memcache::number::safe_strtoull;
/// assert_eq!(safe_strtoull(b"18446744073709551615"), Some(u64::MAX));
/// assert_eq!(safe_strtoull(b"18446744073709551616"), None); // ERANGE
/// assert_eq!(safe_strtoull(b"-1"), None);
/// assert_eq!(safe_strtoull(b"12 "), Some(12));
/// assert_eq!(safe_strtoull(b"12x"), None);
/// ```
pub fn safe_strtoull(token: &[u8]) -> Option<u64> {
    let scan = scan(token)?;
    let magnitude = scan.magnitude?;
    let value = if scan.negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    // "only check for negative signs in the uncommon case when the unsigned
    // number is so big that it's negative as a signed number" (util.c).
    if (value as i64) < 0 && token.contains(&b'-') {
        return None;
    }
    Some(value)
}

/// memcached's `safe_strtoul` (client flags, verbosity level): `strtoul` on a
/// 64-bit `unsigned long`, then stored into a `uint32_t`, so larger values wrap.
pub fn safe_strtoul(token: &[u8]) -> Option<u32> {
    safe_strtoull(token).map(|v| v as u32)
}

/// memcached's `safe_strtol` (exptime, value length): `strtol` on a 64-bit `long`
/// (out of range is refused), then stored into an `int32_t`, so it wraps.
pub fn safe_strtol(token: &[u8]) -> Option<i32> {
    let scan = scan(token)?;
    let magnitude = scan.magnitude?;
    let value: i64 = if scan.negative {
        if magnitude > 1u64 << 63 {
            return None;
        }
        (magnitude as i64).wrapping_neg()
    } else {
        i64::try_from(magnitude).ok()?
    };
    Some(value as i32)
}

/// Appends `n` in decimal to `out` without allocating a temporary string.
pub fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends `n` in decimal, with a `-` for negative numbers.
pub fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

/// Number of bytes `n` takes in decimal.
pub fn decimal_len(n: u64) -> usize {
    let mut len = 1;
    let mut n = n / 10;
    while n > 0 {
        len += 1;
        n /= 10;
    }
    len
}

/// A decimal number as memcached writes one, read strictly, as a client
/// reads a server's replies: digits only, no sign, no space, no overflow.
pub fn parse_plain_u64(word: &[u8]) -> Option<u64> {
    if word.is_empty() || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    word.iter()
        .try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers() {
        assert_eq!(parse_plain_u64(b"18446744073709551615"), Some(u64::MAX));
        for bad in ["", "-1", "+1", " 1", "1 ", "18446744073709551616", "1x"] {
            assert_eq!(parse_plain_u64(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn strtoull_edges() {
        assert_eq!(safe_strtoull(b"0"), Some(0));
        assert_eq!(safe_strtoull(b"-0"), Some(0));
        assert_eq!(safe_strtoull(b"+7"), Some(7));
        assert_eq!(safe_strtoull(b" \t7"), Some(7));
        assert_eq!(safe_strtoull(b"7\r"), Some(7));
        assert_eq!(safe_strtoull(b"7\0junk"), Some(7));
        assert_eq!(safe_strtoull(b"7\tjunk"), Some(7));
        assert_eq!(safe_strtoull(b""), None);
        assert_eq!(safe_strtoull(b"-"), None);
        assert_eq!(safe_strtoull(b" "), None);
        assert_eq!(safe_strtoull(b"abc"), None);
        assert_eq!(safe_strtoull(b"1.5"), None);
        // "-5" negates to 2^64-5, which is negative as i64: refused.
        assert_eq!(safe_strtoull(b"-5"), None);
        // A magnitude above 2^63 negates to a small positive number: accepted, like C.
        assert_eq!(safe_strtoull(b"-18446744073709551615"), Some(1));
    }

    #[test]
    fn strtoul_truncates_like_memcached() {
        assert_eq!(safe_strtoul(b"4294967295"), Some(u32::MAX));
        assert_eq!(safe_strtoul(b"4294967296"), Some(0));
        assert_eq!(safe_strtoul(b"-1"), None);
    }

    #[test]
    fn strtol_edges() {
        assert_eq!(safe_strtol(b"-1"), Some(-1));
        assert_eq!(safe_strtol(b"2147483647"), Some(i32::MAX));
        assert_eq!(safe_strtol(b"2147483648"), Some(i32::MIN));
        assert_eq!(safe_strtol(b"9223372036854775807"), Some(-1));
        assert_eq!(safe_strtol(b"9223372036854775808"), None);
        assert_eq!(safe_strtol(b"-9223372036854775808"), Some(0));
        assert_eq!(safe_strtol(b"-9223372036854775809"), None);
        assert_eq!(safe_strtol(b"1e3"), None);
    }

    #[test]
    fn formatting() {
        let mut out = Vec::new();
        push_u64(&mut out, 0);
        out.push(b' ');
        push_u64(&mut out, u64::MAX);
        out.push(b' ');
        push_i64(&mut out, -42);
        assert_eq!(out, b"0 18446744073709551615 -42");
        for n in [0, 9, 10, 99, 100, u64::MAX] {
            assert_eq!(decimal_len(n), n.to_string().len());
        }
    }
}
