//! The little JSON the API writes: objects of strings, escaped by hand
//! (no serde for three fields).

/// Appends `text` to `out` as a JSON string, quotes included.
///
/// `"` and `\` are escaped, control characters become `\n`, `\t`... or
/// `\u00XX`, and `<`, `>`, `&`, U+2028 and U+2029 become `\uXXXX` too, so
/// the text stays inert even if someone pastes it into an HTML page or a
/// script.
///
/// # Examples
///
/// ```
/// use torsion_servers::kvweb::json_string;
///
/// let mut out = String::new();
/// json_string("a \"quote\"\n<b>", &mut out);
/// assert_eq!(out, r#""a \"quote\"\n\u003cb\u003e""#);
/// ```
pub fn json_string(text: &str, out: &mut String) {
    out.reserve(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON object of string fields, in the order given, ending with a
/// newline (`{"key":"k","value":"v"}`).
///
/// # Examples
///
/// ```
/// use torsion_servers::kvweb::json_object;
///
/// assert_eq!(
///     json_object(&[("key", "greeting"), ("value", "hello\tworld")]),
///     "{\"key\":\"greeting\",\"value\":\"hello\\tworld\"}\n"
/// );
/// ```
pub fn json_object(fields: &[(&str, &str)]) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(name, &mut out);
        out.push(':');
        json_string(value, &mut out);
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(text: &str) -> String {
        let mut out = String::new();
        json_string(text, &mut out);
        out
    }

    #[test]
    fn every_control_character_is_escaped() {
        assert_eq!(quoted("\u{0}\u{1f}\u{7f}"), "\"\\u0000\\u001f\u{7f}\"");
        assert_eq!(quoted("\u{8}\u{c}\r"), "\"\\b\\f\\r\"");
        assert_eq!(quoted("back\\slash"), "\"back\\\\slash\"");
    }

    #[test]
    fn html_and_line_separators_are_escaped_and_the_rest_kept() {
        assert_eq!(
            quoted("</script>&\u{2028}\u{2029}"),
            "\"\\u003c/script\\u003e\\u0026\\u2028\\u2029\""
        );
        assert_eq!(quoted("héllo, wörld ✓ 🦀"), "\"héllo, wörld ✓ 🦀\"");
        assert_eq!(quoted(""), "\"\"");
    }

    #[test]
    fn objects_keep_their_order() {
        assert_eq!(json_object(&[]), "{}\n");
        assert_eq!(
            json_object(&[("error", "no \"k\""), ("key", "k")]),
            "{\"error\":\"no \\\"k\\\"\",\"key\":\"k\"}\n"
        );
    }
}
