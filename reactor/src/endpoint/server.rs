//! Server endpoints: where to listen, from a description.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::panic::Location;
use std::path::PathBuf;
use std::str::FromStr;

use super::parse::{EndpointParseError, Fields};
use crate::defer::Deferred;
use crate::{Address, Factory, ListenOptions, ListenerId, Reactor};

/// Where to listen: TCP (IPv4 or IPv6) or a Unix socket. Parse one from a
/// Twisted-style description:
///
/// | description | meaning |
/// | --- | --- |
/// | `tcp:8000` | TCP port 8000 on every IPv4 interface |
/// | `tcp:port=8000:interface=127.0.0.1:backlog=50` | the same, spelled out, on one interface |
/// | `tcp6:8000:interface=\:\:1` | TCP over IPv6 (escape the colons) |
/// | `unix:/tmp/s.sock` or `unix:address=/tmp/s.sock:backlog=50` | a Unix socket |
///
/// # Examples
///
/// ```
/// use torsion::endpoint::ServerEndpoint;
/// use torsion::{factory_fn, Protocol, Reactor};
///
/// let mut reactor = Reactor::new()?;
/// let endpoint: ServerEndpoint = "tcp:0:interface=127.0.0.1".parse().expect("valid");
/// let port = endpoint.listen(&mut reactor, factory_fn(|_, _| None::<Box<dyn Protocol>>));
/// port.add_callback(&mut reactor, |_, port| {
///     println!("listening on {}", port.address);
///     Ok(port)
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub enum ServerEndpoint {
    /// TCP on `addr`.
    Tcp {
        /// The address to bind (port 0: the OS chooses).
        addr: SocketAddr,
        /// Listening options (backlog...).
        options: ListenOptions,
    },
    /// A Unix domain socket at `path`.
    Unix {
        /// The socket file.
        path: PathBuf,
        /// Listening options (backlog...).
        options: ListenOptions,
    },
}

/// A listening port, as [`ServerEndpoint::listen`] hands it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListeningPort {
    /// The listener's handle.
    pub id: ListenerId,
    /// Where it listens (with the port the OS chose).
    pub address: Address,
}

impl ListeningPort {
    /// Stops listening (connections already accepted stay open).
    pub fn stop_listening(&self, reactor: &mut Reactor) -> bool {
        reactor.stop_listening(self.id)
    }
}

/// Listening failed (the address is in use, permission denied...).
#[derive(Debug)]
pub struct ListenError {
    /// The endpoint that could not listen.
    pub endpoint: String,
    /// Why.
    pub source: io::Error,
}

impl fmt::Display for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot listen on {}", self.endpoint)
    }
}

impl std::error::Error for ListenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl ServerEndpoint {
    /// Parses a description (see the table above).
    pub fn parse(description: &str) -> Result<Self, EndpointParseError> {
        let mut fields = Fields::parse(description)?;
        let mut options = ListenOptions::default();
        if let Some(backlog) = fields.take_option("backlog") {
            options.backlog = fields.parsed("backlog", &backlog)?;
        }
        let endpoint = match fields.kind.as_str() {
            "tcp" | "tcp6" => {
                let port = fields.value("port", 0)?.ok_or_else(|| fields.error("no port"))?;
                let port: u16 = fields.parsed("port", &port)?;
                let default_ip = if fields.kind == "tcp6" {
                    IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                } else {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                };
                let ip = match fields.take_option("interface") {
                    Some(interface) => fields.parsed::<IpAddr>("interface", &interface)?,
                    None => default_ip,
                };
                if fields.kind == "tcp6" && ip.is_ipv4() {
                    return Err(fields.error("tcp6 needs an IPv6 interface"));
                }
                fields.finish(1)?;
                ServerEndpoint::Tcp {
                    addr: SocketAddr::new(ip, port),
                    options,
                }
            }
            "unix" => {
                let path = fields
                    .value("address", 0)?
                    .ok_or_else(|| fields.error("no path"))?;
                if path.is_empty() {
                    return Err(fields.error("empty path"));
                }
                fields.finish(1)?;
                ServerEndpoint::Unix {
                    path: PathBuf::from(path),
                    options,
                }
            }
            other => return Err(fields.error(format!("unknown kind {other:?} (tcp, tcp6 or unix)"))),
        };
        Ok(endpoint)
    }

    /// Listens with `factory` and returns a Deferred of the port. Listening
    /// is immediate, so the Deferred has fired when this returns: with the
    /// [`ListeningPort`], or a [`ListenError`].
    #[track_caller]
    pub fn listen(&self, reactor: &mut Reactor, factory: impl Factory) -> Deferred<ListeningPort> {
        let site = Location::caller();
        let listened = match self {
            ServerEndpoint::Tcp { addr, options } => reactor.listen_tcp_with(*addr, factory, options.clone()),
            ServerEndpoint::Unix { path, options } => {
                reactor.listen_unix_with(path, factory, options.clone())
            }
        };
        let result = listened
            .and_then(|id| {
                let address = reactor
                    .local_addr(id)
                    .ok_or_else(|| io::Error::other("the listener has no address"))?;
                Ok(ListeningPort { id, address })
            })
            .map_err(|source| {
                crate::Failure::new(ListenError {
                    endpoint: self.to_string(),
                    source,
                })
            });
        Deferred::ready_at(site, result)
    }
}

impl FromStr for ServerEndpoint {
    type Err = EndpointParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServerEndpoint::parse(s)
    }
}

impl fmt::Display for ServerEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerEndpoint::Tcp { addr, .. } => write!(f, "tcp:{addr}"),
            ServerEndpoint::Unix { path, .. } => write!(f, "unix:{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcp_forms() {
        match ServerEndpoint::parse("tcp:8000:interface=127.0.0.1:backlog=50").unwrap() {
            ServerEndpoint::Tcp { addr, options } => {
                assert_eq!(addr, "127.0.0.1:8000".parse().unwrap());
                assert_eq!(options.backlog, 50);
            }
            other => panic!("{other:?}"),
        }
        match ServerEndpoint::parse("tcp:port=80").unwrap() {
            ServerEndpoint::Tcp { addr, .. } => assert_eq!(addr, "0.0.0.0:80".parse().unwrap()),
            other => panic!("{other:?}"),
        }
        match ServerEndpoint::parse(r"tcp6:8000:interface=\:\:1").unwrap() {
            ServerEndpoint::Tcp { addr, .. } => assert_eq!(addr, "[::1]:8000".parse().unwrap()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_unix_forms() {
        for d in ["unix:/tmp/s.sock", "unix:address=/tmp/s.sock:backlog=5"] {
            match ServerEndpoint::parse(d).unwrap() {
                ServerEndpoint::Unix { path, .. } => assert_eq!(path, PathBuf::from("/tmp/s.sock")),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            ("", "empty"),
            ("udp:53", "unknown kind"),
            ("tcp", "no port"),
            ("tcp:http", "bad port"),
            ("tcp:70000", "bad port"),
            ("tcp:80:interface=localhost", "bad interface"),
            ("tcp:80:colour=blue", "unknown option \"colour\""),
            ("tcp6:80:interface=127.0.0.1", "IPv6"),
            ("tcp:80:backlog=-1", "bad backlog"),
            ("unix:", "empty path"),
        ];
        for (description, reason) in cases {
            let e = ServerEndpoint::parse(description).unwrap_err();
            assert!(e.reason.contains(reason), "{description}: {e}");
            assert!(e.to_string().contains(&format!("{description:?}")));
        }
    }
}
