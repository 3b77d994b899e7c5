//! Client endpoints: where to connect, from a description; connecting
//! returns a Deferred.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::panic::Location;
use std::path::PathBuf;
use std::rc::Rc;
use std::str::FromStr;
use std::time::Duration;

use super::handle::ProtocolHandle;
use super::parse::{EndpointParseError, Fields};
use crate::defer::{Deferred, Failure, Step};
use crate::notice::Notice;
use crate::reactor::Soon;
use crate::{
    defer_to_thread, Address, ClientFactory, CloseReason, ConnectError, ConnectOptions, ConnectionId,
    Protocol, Reactor,
};

/// The connect timeout when a description gives none (Twisted's is 30 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Which address families a TCP client endpoint may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Whatever the host resolves to (`tcp:`).
    Any,
    /// IPv4 only (`tcp4:`).
    V4,
    /// IPv6 only (`tcp6:`).
    V6,
}

impl Family {
    fn admits(self, addr: &SocketAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => addr.is_ipv4(),
            Family::V6 => addr.is_ipv6(),
        }
    }
}

/// Where to connect: a TCP host and port, or a Unix socket. Parse one from
/// a Twisted-style description:
///
/// | description | meaning |
/// | --- | --- |
/// | `tcp:host=example.com:port=80:timeout=30` | TCP; the name resolves on the thread pool |
/// | `tcp:127.0.0.1:8000` | the same, positional |
/// | `tcp6:host=\:\:1:port=8000`, `tcp4:...` | one address family only |
/// | `unix:/tmp/s.sock` or `unix:path=/tmp/s.sock` | a Unix socket |
///
/// Connecting returns a Deferred that fires once the connection is open
/// (right after the protocol's `connection_made`), or fails with a
/// [`ConnectError`] (`Refused`, `TimedOut`...) or a [`ResolveError`]. A
/// name that resolves to several addresses is tried one address after the
/// other. Cancelling the Deferred stops the attempt.
///
/// # Examples
///
/// ```
/// use torsion::endpoint::ClientEndpoint;
///
/// let endpoint: ClientEndpoint = "tcp:host=localhost:port=8000:timeout=5".parse().expect("valid");
/// assert_eq!(endpoint.to_string(), "tcp:localhost:8000");
/// let bad = "tcp:host=localhost".parse::<ClientEndpoint>().unwrap_err();
/// assert_eq!(bad.reason, "no port");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEndpoint {
    /// TCP to `host:port`.
    Tcp {
        /// A host name or an IP address.
        host: String,
        /// The port.
        port: u16,
        /// The connect timeout (per address tried).
        timeout: Duration,
        /// Which address families to use.
        family: Family,
    },
    /// A Unix domain socket.
    Unix {
        /// The socket file.
        path: PathBuf,
    },
}

/// A host name could not be resolved (or resolved to no usable address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolveError {
    /// The name.
    pub host: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot resolve {:?}: {}", self.host, self.reason)
    }
}

impl std::error::Error for ResolveError {}

impl ClientEndpoint {
    /// TCP to `host:port` with the default timeout.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        ClientEndpoint::Tcp {
            host: host.into(),
            port,
            timeout: DEFAULT_CONNECT_TIMEOUT,
            family: Family::Any,
        }
    }

    /// A Unix socket at `path`.
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        ClientEndpoint::Unix { path: path.into() }
    }

    /// Parses a description (see the table above).
    pub fn parse(description: &str) -> Result<Self, EndpointParseError> {
        let mut fields = Fields::parse(description)?;
        let endpoint = match fields.kind.as_str() {
            "tcp" | "tcp4" | "tcp6" => {
                let host = fields.value("host", 0)?.ok_or_else(|| fields.error("no host"))?;
                let port = fields.value("port", 1)?.ok_or_else(|| fields.error("no port"))?;
                let port: u16 = fields.parsed("port", &port)?;
                let timeout = match fields.take_option("timeout") {
                    Some(t) => fields.seconds(&t)?,
                    None => DEFAULT_CONNECT_TIMEOUT,
                };
                let family = match fields.kind.as_str() {
                    "tcp4" => Family::V4,
                    "tcp6" => Family::V6,
                    _ => Family::Any,
                };
                if host.is_empty() {
                    return Err(fields.error("empty host"));
                }
                if let Ok(ip) = host.parse::<IpAddr>() {
                    if !family.admits(&SocketAddr::new(ip, port)) {
                        return Err(fields.error(format!("{host} is not an address of this family")));
                    }
                }
                fields.finish(2)?;
                ClientEndpoint::Tcp {
                    host,
                    port,
                    timeout,
                    family,
                }
            }
            "unix" => {
                let path = fields.value("path", 0)?.ok_or_else(|| fields.error("no path"))?;
                if path.is_empty() {
                    return Err(fields.error("empty path"));
                }
                fields.finish(1)?;
                ClientEndpoint::Unix { path: path.into() }
            }
            other => return Err(fields.error(format!("unknown kind {other:?} (tcp, tcp4, tcp6 or unix)"))),
        };
        Ok(endpoint)
    }

    /// Connects, building the protocol with `factory`, and returns a
    /// Deferred of the connection's id. The factory hears
    /// `client_connection_lost` when the connection ends; a failure to
    /// connect goes to the Deferred instead of `client_connection_failed`.
    #[track_caller]
    pub fn connect(&self, reactor: &mut Reactor, factory: impl ClientFactory) -> Deferred<ConnectionId> {
        let factory: Rc<RefCell<dyn ClientFactory>> = Rc::new(RefCell::new(factory));
        self.connect_shared(reactor, factory, Location::caller())
    }

    /// Connects with an already-built protocol and returns a Deferred of
    /// its typed handle (Twisted's `ClientCreator`: "connect and give me
    /// the protocol").
    #[track_caller]
    pub fn connect_protocol<P: Protocol>(
        &self,
        reactor: &mut Reactor,
        protocol: P,
    ) -> Deferred<ProtocolHandle<P>> {
        let site = Location::caller();
        let factory: Rc<RefCell<dyn ClientFactory>> = Rc::new(RefCell::new(Single {
            protocol: Some(protocol),
        }));
        self.connect_shared(reactor, factory, site)
            .then(reactor, |_, id| Ok(ProtocolHandle::new(id)))
    }

    pub(crate) fn connect_shared(
        &self,
        reactor: &mut Reactor,
        factory: Rc<RefCell<dyn ClientFactory>>,
        site: &'static Location<'static>,
    ) -> Deferred<ConnectionId> {
        match self.clone() {
            ClientEndpoint::Unix { path } => attempt(reactor, Target::Unix(path), factory, site),
            ClientEndpoint::Tcp {
                host,
                port,
                timeout,
                family,
            } => {
                if let Ok(ip) = host.parse::<IpAddr>() {
                    return try_in_turn(
                        reactor,
                        Rc::new(vec![SocketAddr::new(ip, port)]),
                        0,
                        timeout,
                        factory,
                        site,
                    );
                }
                // Name resolution blocks: it runs on the thread pool.
                let name = host.clone();
                let resolved = defer_to_thread(reactor, move || {
                    (name.as_str(), port)
                        .to_socket_addrs()
                        .map(|addrs| addrs.collect::<Vec<_>>())
                        .map_err(|e| e.to_string())
                });
                resolved.then(reactor, move |r, addrs| {
                    let addrs: Vec<SocketAddr> = match addrs {
                        Ok(addrs) => addrs.into_iter().filter(|a| family.admits(a)).collect(),
                        Err(reason) => return Step::Done(Err(Failure::new(ResolveError { host, reason }))),
                    };
                    if addrs.is_empty() {
                        let reason = "no address of the requested family".to_string();
                        return Step::Done(Err(Failure::new(ResolveError { host, reason })));
                    }
                    Step::Wait(try_in_turn(r, Rc::new(addrs), 0, timeout, factory, site))
                })
            }
        }
    }
}

impl FromStr for ClientEndpoint {
    type Err = EndpointParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClientEndpoint::parse(s)
    }
}

impl fmt::Display for ClientEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientEndpoint::Tcp { host, port, .. } if host.contains(':') => write!(f, "tcp:[{host}]:{port}"),
            ClientEndpoint::Tcp { host, port, .. } => write!(f, "tcp:{host}:{port}"),
            ClientEndpoint::Unix { path } => write!(f, "unix:{}", path.display()),
        }
    }
}

enum Target {
    Tcp(SocketAddr, Duration),
    Unix(PathBuf),
}

/// Tries `addrs[index]`, then the next ones while connections are refused
/// or unreachable.
fn try_in_turn(
    reactor: &mut Reactor,
    addrs: Rc<Vec<SocketAddr>>,
    index: usize,
    timeout: Duration,
    factory: Rc<RefCell<dyn ClientFactory>>,
    site: &'static Location<'static>,
) -> Deferred<ConnectionId> {
    let d = attempt(reactor, Target::Tcp(addrs[index], timeout), factory.clone(), site);
    if index + 1 < addrs.len() {
        d.add_errback(reactor, move |r, failure| {
            let retry = matches!(
                failure.find::<ConnectError>(),
                Some(ConnectError::Refused | ConnectError::Unreachable | ConnectError::Io(_))
            );
            if retry {
                log::debug!("{failure}; trying the next address");
                Step::Wait(try_in_turn(r, addrs, index + 1, timeout, factory, site))
            } else {
                Step::Done(Err(failure))
            }
        });
    }
    d
}

/// One connection attempt.
fn attempt(
    reactor: &mut Reactor,
    target: Target,
    factory: Rc<RefCell<dyn ClientFactory>>,
    site: &'static Location<'static>,
) -> Deferred<ConnectionId> {
    let d = Deferred::pending_at(site);
    let id_slot = Rc::new(Cell::new(None));
    let what = match &target {
        Target::Tcp(addr, _) => addr.to_string(),
        Target::Unix(path) => format!("unix:{}", path.display()),
    };
    let adapter = Attempt {
        user: factory,
        id: id_slot.clone(),
        deferred: Some(d.clone()),
        what,
        site,
    };
    let id = match target {
        Target::Tcp(addr, timeout) => reactor.connect_tcp_with(
            addr,
            adapter,
            ConnectOptions {
                timeout: Some(timeout),
                ..ConnectOptions::default()
            },
        ),
        Target::Unix(path) => reactor.connect_unix(path, adapter),
    };
    id_slot.set(Some(id));
    d.set_canceller(move |r, _| r.transport(id).abort_connection());
    d
}

/// Wraps the user's factory for one attempt: fires the Deferred once the
/// connection is open, or fails it.
struct Attempt {
    user: Rc<RefCell<dyn ClientFactory>>,
    id: Rc<Cell<Option<ConnectionId>>>,
    deferred: Option<Deferred<ConnectionId>>,
    what: String,
    site: &'static Location<'static>,
}

impl ClientFactory for Attempt {
    fn build_protocol(&mut self, reactor: &mut Reactor, peer: &Address) -> Box<dyn Protocol> {
        let protocol = self.user.borrow_mut().build_protocol(reactor, peer);
        if let (Some(d), Some(id)) = (self.deferred.take(), self.id.get()) {
            // Fire once connection_made has run: a notice is delivered right
            // after the dispatch that opens the connection.
            reactor.notices.push_back(Notice::Call(Soon {
                f: Box::new(move |r| {
                    let _ = d.callback(r, id);
                }),
                site: self.site,
            }));
        }
        protocol
    }

    fn client_connection_failed(&mut self, reactor: &mut Reactor, error: ConnectError) {
        if let Some(d) = self.deferred.take() {
            let failure = Failure::new(error).context(format!("connecting to {}", self.what));
            let _ = d.errback(reactor, failure);
        }
    }

    fn client_connection_lost(&mut self, reactor: &mut Reactor, reason: CloseReason) {
        self.user.borrow_mut().client_connection_lost(reactor, reason);
    }
}

/// The factory of `connect_protocol`: one protocol, already built.
struct Single<P> {
    protocol: Option<P>,
}

impl<P: Protocol> ClientFactory for Single<P> {
    fn build_protocol(&mut self, _reactor: &mut Reactor, _peer: &Address) -> Box<dyn Protocol> {
        match self.protocol.take() {
            Some(p) => Box::new(p),
            None => Box::new(crate::Discard),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_client_forms() {
        let e = ClientEndpoint::parse("tcp:host=example.com:port=80:timeout=30").unwrap();
        assert_eq!(
            e,
            ClientEndpoint::Tcp {
                host: "example.com".into(),
                port: 80,
                timeout: Duration::from_secs(30),
                family: Family::Any
            }
        );
        assert_eq!(
            ClientEndpoint::parse("tcp:127.0.0.1:8000").unwrap(),
            ClientEndpoint::tcp("127.0.0.1", 8000)
        );
        match ClientEndpoint::parse(r"tcp6:host=\:\:1:port=8000:timeout=0.5").unwrap() {
            ClientEndpoint::Tcp {
                host,
                timeout,
                family,
                ..
            } => {
                assert_eq!((host.as_str(), family), ("::1", Family::V6));
                assert_eq!(timeout, Duration::from_millis(500));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            ClientEndpoint::parse("unix:/tmp/s.sock").unwrap(),
            ClientEndpoint::unix("/tmp/s.sock")
        );
        assert_eq!(
            ClientEndpoint::parse("unix:path=/tmp/s.sock").unwrap(),
            ClientEndpoint::unix("/tmp/s.sock")
        );
    }

    #[test]
    fn client_parse_errors_are_clear() {
        let cases = [
            ("tcp:host=a", "no port"),
            ("tcp:port=80", "no host"),
            ("tcp:a:b", "bad port"),
            ("tcp:a:80:timeout=soon", "bad timeout"),
            ("tcp:a:80:timeout=-1", "bad timeout"),
            ("tcp6:127.0.0.1:80", "not an address of this family"),
            ("tcp4:host=\\:\\:1:port=80", "not an address of this family"),
            ("tcp:a:80:bindAddress=x", "unknown option"),
            ("ssl:a:443", "unknown kind"),
            ("unix:path=", "empty path"),
        ];
        for (description, reason) in cases {
            let e = ClientEndpoint::parse(description).unwrap_err();
            assert!(e.reason.contains(reason), "{description}: {e}");
        }
    }
}
