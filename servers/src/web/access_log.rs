//! Request logging in the common log format (NCSA, Apache's `%h %l %u %t
//! "%r" %>s %b`).

use std::time::SystemTime;

use torsion_protocols::http::log_date;

/// What one log line says about one answered request.
#[derive(Clone, Debug)]
pub struct LogEntry<'a> {
    /// The client's address (`%h`), without the port.
    pub host: &'a str,
    /// When the request arrived (`%t`).
    pub time: SystemTime,
    /// The request line (`%r`), e.g. `GET / HTTP/1.1`, or `-`.
    pub request_line: &'a str,
    /// The status sent (`%>s`).
    pub status: u16,
    /// Body bytes sent (`%b`; `-` for none).
    pub bytes: u64,
}

/// Formats `entry` as one common-log-format line. Quotes, backslashes
/// and control bytes in the request line are escaped, so a request cannot
/// forge a log line.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use torsion_servers::web::{common_log_line, LogEntry};
///
/// let line = common_log_line(&LogEntry {
///     host: "127.0.0.1",
///     time: UNIX_EPOCH + Duration::from_secs(784_111_777),
///     request_line: "GET /a\"b HTTP/1.1",
///     status: 200,
///     bytes: 5,
/// });
/// assert_eq!(line, r#"127.0.0.1 - - [06/Nov/1994:08:49:37 +0000] "GET /a\"b HTTP/1.1" 200 5"#);
/// ```
pub fn common_log_line(entry: &LogEntry<'_>) -> String {
    let mut request = String::with_capacity(entry.request_line.len());
    for c in entry.request_line.chars() {
        match c {
            '"' => request.push_str("\\\""),
            '\\' => request.push_str("\\\\"),
            c if c.is_control() => request.push_str(&format!("\\x{:02x}", c as u32)),
            c => request.push(c),
        }
    }
    let bytes = if entry.bytes == 0 {
        "-".to_string()
    } else {
        entry.bytes.to_string()
    };
    format!(
        "{} - - [{}] \"{}\" {} {}",
        entry.host,
        log_date(entry.time),
        request,
        entry.status,
        bytes
    )
}
