//! [`ServerSpec`]: one server of a pool, as `host:port[:weight][ name]`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use torsion::endpoint::{ClientEndpoint, Family};

/// memcached's default port. A server on it is named by its host alone on
/// the ketama ring (libmemcached's rule, kept by twemproxy).
pub const DEFAULT_PORT: u16 = 11211;

/// One server of a [`MemcachePool`](super::MemcachePool): where it is, its
/// weight, and optionally the name it has on the ketama ring.
///
/// Parse one from `host[:port[:weight]][ name]`, the format of twemproxy's
/// `servers:` lines (with the port and weight optional); an IPv6 host goes
/// in brackets (`[::1]:11211`).
///
/// # Examples
///
/// ```
/// use torsion_clients::memcache::ServerSpec;
///
/// let a: ServerSpec = "10.0.0.1:11212".parse().unwrap();
/// assert_eq!((a.port, a.weight, a.ketama_name()), (11212, 1, "10.0.0.1:11212".to_string()));
///
/// let b: ServerSpec = "10.0.0.2".parse().unwrap();
/// assert_eq!((b.port, b.ketama_name()), (11211, "10.0.0.2".to_string()));
///
/// let c: ServerSpec = "10.0.0.3:11211:2 cache-c".parse().unwrap();
/// assert_eq!((c.weight, c.ketama_name()), (2, "cache-c".to_string()));
///
/// assert!("10.0.0.4:x".parse::<ServerSpec>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerSpec {
    /// A host name or an IP address (IPv6 without brackets).
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// Its share of the keys, relative to the others (at least 1).
    pub weight: u32,
    /// Its name on the ketama ring, if not the default (see
    /// [`ketama_name`](ServerSpec::ketama_name)).
    pub name: Option<String>,
}

impl ServerSpec {
    /// A server at `host:port`, of weight 1.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        ServerSpec {
            host: host.into(),
            port,
            weight: 1,
            name: None,
        }
    }

    /// The same server with weight `weight`.
    pub fn with_weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// The same server, named `name` on the ring.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Its name on the ketama ring: the explicit name, else the host alone
    /// when the port is 11211, else `host:port`, exactly as libmemcached and
    /// twemproxy name servers (twemproxy uses the host as written in its
    /// configuration, so write it the same way here).
    pub fn ketama_name(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None if self.port == DEFAULT_PORT => self.host.clone(),
            None => format!("{}:{}", self.host, self.port),
        }
    }

    /// A TCP endpoint to it, with `connect_timeout`.
    pub fn endpoint(&self, connect_timeout: Duration) -> ClientEndpoint {
        ClientEndpoint::Tcp {
            host: self.host.clone(),
            port: self.port,
            timeout: connect_timeout,
            family: Family::Any,
        }
    }
}

/// `host:port`, with brackets around an IPv6 host.
impl fmt::Display for ServerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Why a server description did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadServer {
    /// The description.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for BadServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad server {:?}: {} (expected host[:port[:weight]][ name])",
            self.input, self.reason
        )
    }
}

impl std::error::Error for BadServer {}

impl FromStr for ServerSpec {
    type Err = BadServer;

    fn from_str(input: &str) -> Result<Self, BadServer> {
        let bad = |reason| BadServer {
            input: input.to_string(),
            reason,
        };
        let (address, name) = match input.trim().split_once(' ') {
            Some((address, name)) => (address, Some(name.trim())),
            None => (input.trim(), None),
        };
        if name.is_some_and(str::is_empty) {
            return Err(bad("an empty name"));
        }
        let (host, rest) = if let Some(v6) = address.strip_prefix('[') {
            let (host, rest) = v6.split_once(']').ok_or_else(|| bad("no closing bracket"))?;
            match rest {
                "" => (host, None),
                _ => (
                    host,
                    Some(
                        rest.strip_prefix(':')
                            .ok_or_else(|| bad("junk after the bracket"))?,
                    ),
                ),
            }
        } else {
            match address.split_once(':') {
                Some((host, rest)) => (host, Some(rest)),
                None => (address, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let (port, weight) = match rest {
            None => (DEFAULT_PORT, 1),
            Some(rest) => {
                let (port, weight) = match rest.split_once(':') {
                    Some((port, weight)) => (port, Some(weight)),
                    None => (rest, None),
                };
                let port = port.parse::<u16>().map_err(|_| bad("a bad port"))?;
                let weight = match weight {
                    Some(w) => w
                        .parse::<u32>()
                        .ok()
                        .filter(|&w| w > 0)
                        .ok_or_else(|| bad("a bad weight"))?,
                    None => 1,
                };
                (port, weight)
            }
        };
        Ok(ServerSpec {
            host: host.to_string(),
            port,
            weight,
            name: name.map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let s: ServerSpec = "[::1]:11300:3 v6".parse().unwrap();
        assert_eq!((s.host.as_str(), s.port, s.weight), ("::1", 11300, 3));
        assert_eq!(s.to_string(), "[::1]:11300");
        assert_eq!(s.ketama_name(), "v6");
        let s: ServerSpec = "[::1]".parse().unwrap();
        assert_eq!((s.port, s.ketama_name()), (11211, "::1".to_string()));
        assert_eq!(
            "[::1]:11212".parse::<ServerSpec>().unwrap().ketama_name(),
            "::1:11212"
        );
        for bad in ["", ":11211", "h:", "h:70000", "h:1:0", "h:1:x", "[::1", "[::1]x"] {
            assert!(bad.parse::<ServerSpec>().is_err(), "{bad:?}");
        }
    }
}
