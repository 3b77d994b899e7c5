//! Strings and bytes written as Python's `repr` writes them, which is how
//! a `KeyError` describes its key (`'missing'`, `b'missing'`). Control
//! characters are escaped as Python escapes them; Python also escapes a few
//! other unprintable characters (line separators, format characters),
//! which are written as they are here.

use std::fmt::Write;

/// The quote Python picks: `'`, unless the text holds `'` and no `"`.
fn quote(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double {
        '"'
    } else {
        '\''
    }
}

/// `text` as Python's `repr(str)` writes it.
///
/// ```
/// use torsion_protocols::jelly::str_repr;
///
/// assert_eq!(str_repr("missing"), "'missing'");
/// assert_eq!(str_repr("it's"), "\"it's\"");
/// assert_eq!(str_repr("tab\there é"), "'tab\\there é'");
/// ```
pub fn str_repr(text: &str) -> String {
    let q = quote(text.contains('\''), text.contains('"'));
    let mut out = String::with_capacity(text.len() + 2);
    out.push(q);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let n = u32::from(c);
                let _ = match n {
                    0..=0xff => write!(out, "\\x{n:02x}"),
                    0x100..=0xffff => write!(out, "\\u{n:04x}"),
                    _ => write!(out, "\\U{n:08x}"),
                };
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// `bytes` as Python's `repr(bytes)` writes them.
///
/// ```
/// use torsion_protocols::jelly::bytes_repr;
///
/// assert_eq!(bytes_repr(b"missing"), "b'missing'");
/// assert_eq!(bytes_repr(b"\x00\xff\n'"), "b\"\\x00\\xff\\n'\"");
/// ```
pub fn bytes_repr(bytes: &[u8]) -> String {
    let q = quote(bytes.contains(&b'\''), bytes.contains(&b'"'));
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(q);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b if char::from(b) == q => {
                out.push('\\');
                out.push(q);
            }
            0x20..=0x7e => out.push(char::from(b)),
            b => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(q);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each expected string is what Python 3.11 prints for `repr(x)`.
    #[test]
    fn as_python_writes_them() {
        assert_eq!(str_repr(""), "''");
        assert_eq!(str_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(str_repr("\\"), "'\\\\'");
        assert_eq!(str_repr("\x00\x7f\u{85}"), "'\\x00\\x7f\\x85'");
        assert_eq!(bytes_repr(b""), "b''");
        assert_eq!(bytes_repr(b"a'b\"c"), "b'a\\'b\"c'");
        assert_eq!(bytes_repr(b"\x7f\x80"), "b'\\x7f\\x80'");
    }
}
