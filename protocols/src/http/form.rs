//! Percent-encoding and `application/x-www-form-urlencoded` pairs, as in
//! query strings and POSTed forms.

/// Decodes `%XX` escapes (and `+` as a space when `plus` is set). Invalid
/// escapes are kept as they are; bytes that are not UTF-8 become U+FFFD.
///
/// ```
/// use torsion_protocols::http::percent_decode;
/// assert_eq!(percent_decode("a%20b+c%zz", true), "a b c%zz");
/// ```
pub fn percent_decode(input: &str, plus: bool) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Encodes everything but unreserved characters (RFC 3986 §2.3) as `%XX`.
///
/// ```
/// use torsion_protocols::http::percent_encode;
/// assert_eq!(percent_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
/// ```
pub fn percent_encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for &b in input.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Splits `a=1&b=x+y` into decoded pairs, in order; a name without `=`
/// has an empty value, empty pieces are skipped.
///
/// ```
/// use torsion_protocols::http::parse_form;
/// let pairs = parse_form("key=a+b&empty&k%C3%A9=%E2%9C%93&");
/// assert_eq!(pairs, [("key".into(), "a b".into()), ("empty".into(), "".into()), ("ké".into(), "✓".into())]);
/// ```
pub fn parse_form(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            (percent_decode(name, true), percent_decode(value, true))
        })
        .collect()
}
