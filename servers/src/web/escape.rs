//! HTML escaping: every page that shows text it did not write itself
//! (a path, a query argument, an error, a fetched URL) passes it here.

/// Escapes `&`, `<`, `>`, `"` and `'`, so the text can go in an element's
/// content or in a quoted attribute value.
///
/// # Examples
///
/// ```
/// use torsion_servers::web::escape_html;
///
/// assert_eq!(
///     escape_html(r#"<script>alert("x & 'y'")</script>"#),
///     "&lt;script&gt;alert(&quot;x &amp; &#x27;y&#x27;&quot;)&lt;/script&gt;"
/// );
/// ```
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}
