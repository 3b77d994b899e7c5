//! Writing heads: the request line or status line, then the fields.

use super::{reason_phrase, Headers, Version};

/// Appends a request head (`GET /path HTTP/1.1`, the fields, an empty line).
///
/// ```
/// use torsion_protocols::http::{write_request_head, Headers};
///
/// let mut headers = Headers::new();
/// headers.set("Host", "example.com")?;
/// let mut out = Vec::new();
/// write_request_head("GET", "/", &headers, &mut out);
/// assert_eq!(out, b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
/// # Ok::<(), torsion_protocols::http::HttpError>(())
/// ```
pub fn write_request_head(method: &str, target: &str, headers: &Headers, out: &mut Vec<u8>) {
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    write_fields(headers, out);
}

/// Appends a status line and fields; the reason is the standard one.
///
/// ```
/// use torsion_protocols::http::{write_response_head, Headers, Version};
///
/// let mut out = Vec::new();
/// write_response_head(Version::Http11, 404, &Headers::new(), &mut out);
/// assert_eq!(out, b"HTTP/1.1 404 Not Found\r\n\r\n");
/// ```
pub fn write_response_head(version: Version, status: u16, headers: &Headers, out: &mut Vec<u8>) {
    out.extend_from_slice(version.as_str().as_bytes());
    out.extend_from_slice(format!(" {status} {}\r\n", reason_phrase(status)).as_bytes());
    write_fields(headers, out);
}

fn write_fields(headers: &Headers, out: &mut Vec<u8>) {
    // Headers only holds checked fields: no CR or LF can reach the wire.
    for (name, value) in headers.iter() {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}
