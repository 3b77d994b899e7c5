//! Splitting a line into words the way the seeds' `line.split()` does.

/// Whether `b` separates words: the bytes Python's `bytes.split()` splits
/// on (space, `\t`, `\n`, `\r`, vertical tab, form feed).
///
/// # Examples
///
/// ```
/// use torsion_protocols::kv::is_whitespace;
///
/// assert!(is_whitespace(b' ') && is_whitespace(b'\t') && is_whitespace(0x0b));
/// assert!(!is_whitespace(b'_') && !is_whitespace(0));
/// ```
pub fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `line` without its leading whitespace.
pub(crate) fn skip_whitespace(line: &[u8]) -> &[u8] {
    let start = line.iter().position(|&b| !is_whitespace(b)).unwrap_or(line.len());
    &line[start..]
}

/// The first word of `line` (which must not start with whitespace) and what
/// follows it, starting with the whitespace byte that ended the word.
pub(crate) fn split_word(line: &[u8]) -> (&[u8], &[u8]) {
    let end = line.iter().position(|&b| is_whitespace(b)).unwrap_or(line.len());
    line.split_at(end)
}

/// After a word: the rest of the line past the one whitespace byte that
/// ended the word, or `None` if the line ended with the word.
pub(crate) fn after_separator(rest: &[u8]) -> Option<&[u8]> {
    rest.get(1..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_python_whitespace() {
        assert_eq!(skip_whitespace(b" \t\x0b\x0cget"), b"get");
        assert_eq!(split_word(b"get\tk"), (&b"get"[..], &b"\tk"[..]));
        assert_eq!(split_word(b"get"), (&b"get"[..], &b""[..]));
        assert_eq!(after_separator(b"  v"), Some(&b" v"[..]));
        assert_eq!(after_separator(b""), None);
    }
}
