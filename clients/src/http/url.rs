//! [`Url`]: the `http://` and `https://` URLs the client fetches.

use std::fmt;
use std::net::Ipv6Addr;

use super::FetchError;

/// `http` or `https`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP, port 80 by default.
    Http,
    /// HTTP over TLS, port 443 by default.
    Https,
}

impl Scheme {
    /// The port used when the URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// An absolute `http(s)://host[:port]/path?query` URL, checked and
/// normalized: the fragment is dropped, bytes that may not appear in a
/// request target (spaces, controls, non-ASCII) are percent-encoded, so
/// nothing can be injected into the request.
///
/// # Examples
///
/// ```
/// use torsion_clients::http::Url;
///
/// let url = Url::parse("HTTP://Example.com:8080/a b?q=1#top")?;
/// assert_eq!(url.to_string(), "http://example.com:8080/a%20b?q=1");
/// assert_eq!((url.host(), url.port(), url.target()), ("example.com", 8080, "/a%20b?q=1"));
/// assert_eq!(url.join("../c")?.to_string(), "http://example.com:8080/c");
/// assert_eq!(url.join("//other/x")?.to_string(), "http://other/x");
/// assert!(Url::parse("ftp://example.com/").is_err());
/// # Ok::<(), torsion_clients::http::FetchError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    scheme: Scheme,
    host: String,
    port: u16,
    target: String,
}

impl Url {
    /// Parses an absolute URL.
    pub fn parse(input: &str) -> Result<Url, FetchError> {
        let bad = |reason: &str| FetchError::BadUrl {
            url: input.to_string(),
            reason: reason.to_string(),
        };
        let input_trimmed = input.trim();
        let (scheme, rest) = input_trimmed.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(bad("only http and https are supported")),
        };
        let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        if authority.contains('@') {
            return Err(bad("user names and passwords in URLs are not supported"));
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| bad("bad host or port"))?;
        let port = match port {
            Some(p) => p,
            None => scheme.default_port(),
        };
        let target = if target.starts_with('?') || target.is_empty() {
            format!("/{target}")
        } else {
            target.to_string()
        };
        Ok(Url {
            scheme,
            host,
            port,
            target: encode_target(&target),
        })
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host: a name (lower-cased) or an IP address (without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (the scheme's default when the URL names none).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request target: path and query, always starting with `/`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The Host header's value: the host, and the port if not the default.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.scheme.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// Resolves `reference` (a redirect's Location) against this URL
    /// (RFC 3986 §5.2): absolute, scheme-relative (`//host/x`),
    /// absolute-path (`/x`), query-only (`?q`) or relative (`x`, `../x`).
    pub fn join(&self, reference: &str) -> Result<Url, FetchError> {
        let reference = reference.trim();
        if reference.contains("://") && reference.find("://") < reference.find(['/', '?']) {
            return Url::parse(reference);
        }
        if let Some(rest) = reference.strip_prefix("//") {
            return Url::parse(&format!("{}://{rest}", self.scheme.as_str()));
        }
        let reference = reference.split_once('#').map_or(reference, |(r, _)| r);
        let base_path = self
            .target
            .split_once('?')
            .map_or(self.target.as_str(), |(p, _)| p);
        let target = if reference.is_empty() {
            self.target.clone()
        } else if reference.starts_with('/') {
            reference.to_string()
        } else if reference.starts_with('?') {
            format!("{base_path}{reference}")
        } else {
            let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{reference}")
        };
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (target.clone(), None),
        };
        let mut target = remove_dot_segments(&path);
        if let Some(q) = query {
            target.push('?');
            target.push_str(&q);
        }
        Ok(Url {
            scheme: self.scheme,
            host: self.host.clone(),
            port: self.port,
            target: encode_target(&target),
        })
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme.as_str(),
            self.host_header(),
            self.target
        )
    }
}

impl std::str::FromStr for Url {
    type Err = FetchError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Url::parse(s)
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn split_host_port(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (v6.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let host_ok = !host.is_empty()
        && (host.contains(':')
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)));
    if !host_ok || !ipv4_if_numeric(&host) {
        return None;
    }
    let port = match port {
        None | Some("") => None,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse::<u16>().ok().filter(|&p| p != 0)?),
        Some(_) => return None,
    };
    Some((host.to_ascii_lowercase(), port))
}

/// Whether `host`, if its last label is a number, is a whole dotted IPv4
/// address. A name ending in a number is no DNS name (the WHATWG URL
/// standard reads it as IPv4 too): `127.0.0`, `127.` or `12` would
/// otherwise go to the resolver, and from there to a DNS server, for a
/// name that cannot exist.
fn ipv4_if_numeric(host: &str) -> bool {
    let trimmed = host.strip_suffix('.').unwrap_or(host);
    let last = trimmed.rsplit('.').next().unwrap_or("");
    let numeric = !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit());
    let hex = last.len() > 1 && (last.starts_with("0x") || last.starts_with("0X"));
    if !(numeric || hex || trimmed.is_empty() || host.contains(':')) {
        return true;
    }
    host.contains(':') || host.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Percent-encodes what may not appear in a request target.
fn encode_target(target: &str) -> String {
    let mut out = String::with_capacity(target.len());
    for &b in target.as_bytes() {
        if b.is_ascii_graphic() && b != b'#' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Removes `.` and `..` segments (RFC 3986 §5.2.4).
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(base: &str, reference: &str) -> String {
        Url::parse(base).unwrap().join(reference).unwrap().to_string()
    }

    #[test]
    fn hosts_ending_in_a_number_must_be_ipv4_addresses() {
        for good in [
            "http://127.0.0.1/",
            "http://10.0.0.255:8080/",
            "http://example.com/",
            "http://a1.example/",
            "http://[::1]/",
        ] {
            assert!(Url::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "http://127.0.0/",
            "http://127./",
            "http://127.0.0.1./",
            "http://12/",
            "http://1.2.3.4.5/",
            "http://256.0.0.1/",
            "http://example.0x1f/",
            "http://host.123/",
            "http://./",
        ] {
            let Err(FetchError::BadUrl { reason, .. }) = Url::parse(bad) else {
                panic!("{bad} parsed")
            };
            assert_eq!(reason, "bad host or port", "{bad}");
        }
    }

    #[test]
    fn parses_hosts_ports_and_targets() {
        let url = Url::parse("https://[::1]:8443").unwrap();
        assert_eq!((url.host(), url.port(), url.target()), ("::1", 8443, "/"));
        assert_eq!(url.to_string(), "https://[::1]:8443/");
        assert_eq!(Url::parse("http://h?q").unwrap().target(), "/?q");
        assert_eq!(Url::parse("http://h:80/").unwrap().host_header(), "h");
        assert_eq!(Url::parse("http://h/\u{e9}\r\n").unwrap().target(), "/%C3%A9");
        for bad in [
            "http://h:0/",
            "http://h:x/",
            "http://[zz]/",
            "http://h h/",
            "mailto:x",
            "http://:80/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn joins_references_as_rfc_3986_does() {
        let base = "http://a/b/c/d;p?q";
        assert_eq!(join(base, "g"), "http://a/b/c/g");
        assert_eq!(join(base, "./g"), "http://a/b/c/g");
        assert_eq!(join(base, "g/"), "http://a/b/c/g/");
        assert_eq!(join(base, "/g"), "http://a/g");
        assert_eq!(join(base, "//g"), "http://g/");
        assert_eq!(join(base, "?y"), "http://a/b/c/d;p?y");
        assert_eq!(join(base, "g?y"), "http://a/b/c/g?y");
        assert_eq!(join(base, "#s"), "http://a/b/c/d;p?q");
        assert_eq!(join(base, ".."), "http://a/b/");
        assert_eq!(join(base, "../g"), "http://a/b/g");
        assert_eq!(join(base, "../../../g"), "http://a/g");
        assert_eq!(join(base, "https://other:8443/x"), "https://other:8443/x");
        assert_eq!(join(base, "/p?next=http://x/"), "http://a/p?next=http://x/");
    }
}
