//! The seed's `hit_tag % log_fields(hit)`: one [`Hit`] as one XML element
//! on one line. Sans-I/O.
//!
//! ```text
//! <hit host="127.0.0.1" ident="-" user="frank" time="10/Oct/2000:13:55:36 -0700" request="GET /apache_pb.gif HTTP/1.0" status="200" bytes="2326" referrer="http://www.example.com/start.html" agent="Mozilla/4.08"/>
//! ```
//!
//! Every field of the line is an attribute, in log order; `bytes` is `-`
//! when the log says so, and `referrer` and `agent` are left out for a
//! common-format line. Values are XML-escaped (`& < > "`, and tab, CR and
//! LF as character references); bytes that are not UTF-8, and characters
//! XML 1.0 cannot carry at all (other control characters), become U+FFFD.
//! The output is therefore always well-formed, whatever the log holds.

use super::clf::{unescape, Hit};

/// Opens the stream, as the seed's servers do on connecting (`<hits>`).
pub const OPEN: &[u8] = b"<hits>\n";

/// The pull version's answer when no hit is new (the seed's `<none/>`).
pub const NONE: &[u8] = b"<none/>\n";

/// Closes the stream when the server shuts down, so that a client's XML
/// document ends well-formed.
pub const CLOSE: &[u8] = b"</hits>\n";

/// Appends `hit` as a `<hit .../>` line to `out`.
pub fn hit_tag(hit: &Hit<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"<hit");
    attribute(out, "host", hit.host);
    attribute(out, "ident", hit.ident);
    attribute(out, "user", hit.user);
    attribute(out, "time", hit.time);
    attribute(out, "request", &unescape(hit.request));
    attribute(out, "status", hit.status.to_string().as_bytes());
    match hit.bytes {
        Some(n) => attribute(out, "bytes", n.to_string().as_bytes()),
        None => attribute(out, "bytes", b"-"),
    }
    if let Some(referrer) = hit.referrer {
        attribute(out, "referrer", &unescape(referrer));
    }
    if let Some(agent) = hit.agent {
        attribute(out, "agent", &unescape(agent));
    }
    out.extend_from_slice(b"/>\n");
}

/// The `<missed count="N"/>` line sent to a client that fell so far behind
/// that `count` hits left the buffer before it could be sent them.
pub fn missed_tag(count: u64) -> Vec<u8> {
    format!("<missed count=\"{count}\"/>\n").into_bytes()
}

/// ` name="value"`, escaped.
fn attribute(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    escape_into(out, &String::from_utf8_lossy(value));
    out.push(b'"');
}

fn escape_into(out: &mut Vec<u8>, text: &str) {
    let mut utf8 = [0; 4];
    for c in text.chars() {
        let escaped: &[u8] = match c {
            '&' => b"&amp;",
            '<' => b"&lt;",
            '>' => b"&gt;",
            '"' => b"&quot;",
            '\t' => b"&#9;",
            '\n' => b"&#10;",
            '\r' => b"&#13;",
            // Not XML 1.0 characters, not even as references.
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => "\u{fffd}".as_bytes(),
            c => c.encode_utf8(&mut utf8).as_bytes(),
        };
        out.extend_from_slice(escaped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weblog::clf::parse;

    fn tag(line: &[u8]) -> String {
        let mut out = Vec::new();
        hit_tag(&parse(line).unwrap(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats_common_and_combined_lines() {
        assert_eq!(
            tag(br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#),
            "<hit host=\"127.0.0.1\" ident=\"-\" user=\"frank\" time=\"10/Oct/2000:13:55:36 -0700\" \
             request=\"GET /apache_pb.gif HTTP/1.0\" status=\"200\" bytes=\"2326\"/>\n"
        );
        assert_eq!(
            tag(br#"::1 - - [01/Jan/2024:00:00:00 +0000] "HEAD / HTTP/1.1" 304 - "-" "curl/8.5.0""#),
            "<hit host=\"::1\" ident=\"-\" user=\"-\" time=\"01/Jan/2024:00:00:00 +0000\" \
             request=\"HEAD / HTTP/1.1\" status=\"304\" bytes=\"-\" referrer=\"-\" agent=\"curl/8.5.0\"/>\n"
        );
    }

    #[test]
    fn escapes_everything_xml_cares_about() {
        let line = b"h - - [01/Jan/2024:00:00:00 +0000] \"GET /?a=1&b=<2> HTTP/1.1\" 200 1 \"\\\"q\\\"\" \"tab\there\x01\xff\"";
        let out = tag(line);
        assert!(
            out.contains("request=\"GET /?a=1&amp;b=&lt;2&gt; HTTP/1.1\""),
            "{out}"
        );
        assert!(out.contains("referrer=\"&quot;q&quot;\""), "{out}");
        assert!(out.contains("agent=\"tab&#9;here\u{fffd}\u{fffd}\""), "{out}");
        // One element, one line.
        assert_eq!(out.matches('\n').count(), 1);
    }

    #[test]
    fn the_missed_notice() {
        assert_eq!(missed_tag(7), b"<missed count=\"7\"/>\n");
    }
}
