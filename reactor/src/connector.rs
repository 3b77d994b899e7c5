//! Outgoing connections: TCP and Unix, with a connect timeout.
//!
//! A connect never fails synchronously: `connect_tcp` returns the new
//! connection's id at once, and the outcome reaches the [`ClientFactory`]
//! later, from the loop: `build_protocol` then `connection_made` when the
//! connection opens, or `client_connection_failed` with a [`ConnectError`]
//! (refused, timed out, cancelled...). Aborting or losing a connection still
//! in progress cancels it.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use mio::Interest;

use crate::address::Address;
use crate::id::ConnectionId;
use crate::notice::Notice;
use crate::protocol::{ClientFactory, ConnectError};
use crate::reactor::Reactor;
use crate::source::Source;
use crate::stream::Stream;
use crate::timer::TimerTask;
use crate::transport::{ClientRole, Connection, Phase, Role};

/// Options of an outgoing connection.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Fail with [`ConnectError::TimedOut`] if not connected by then.
    pub timeout: Option<Duration>,
    /// Disable Nagle's algorithm on the connection (default: yes).
    pub nodelay: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            timeout: Some(Duration::from_secs(30)),
            nodelay: true,
        }
    }
}

impl Reactor {
    /// Connects to `addr` over TCP with default [`ConnectOptions`]. The result
    /// reaches `factory` from the loop.
    pub fn connect_tcp(&mut self, addr: SocketAddr, factory: impl ClientFactory) -> ConnectionId {
        self.connect_tcp_with(addr, factory, ConnectOptions::default())
    }

    /// Connects to `addr` over TCP with explicit options.
    pub fn connect_tcp_with(
        &mut self,
        addr: SocketAddr,
        factory: impl ClientFactory,
        options: ConnectOptions,
    ) -> ConnectionId {
        let stream = mio::net::TcpStream::connect(addr).and_then(|s| {
            if options.nodelay {
                s.set_nodelay(true)?;
            }
            Ok(Stream::Tcp(s))
        });
        self.start_connect(stream, Box::new(factory), options.timeout)
    }

    /// Connects to the Unix domain socket at `path`.
    pub fn connect_unix(&mut self, path: impl AsRef<Path>, factory: impl ClientFactory) -> ConnectionId {
        let stream = mio::net::UnixStream::connect(path.as_ref()).map(Stream::Unix);
        self.start_connect(stream, Box::new(factory), ConnectOptions::default().timeout)
    }

    fn start_connect(
        &mut self,
        stream: std::io::Result<Stream>,
        factory: Box<dyn ClientFactory>,
        timeout: Option<Duration>,
    ) -> ConnectionId {
        let role = Role::Client(Box::new(ClientRole {
            factory: Some(factory),
            timeout: None,
        }));
        let (stream, failure) = match stream {
            Ok(stream) => (stream, None),
            Err(e) => (Stream::Closed, Some(ConnectError::from_io(e))),
        };
        let phase = if failure.is_some() {
            Phase::Closed
        } else {
            Phase::Connecting
        };
        let key = self
            .sources
            .insert(Source::Connection(Connection::new(stream, role, phase)));
        let id = ConnectionId(key);
        if let Some(error) = failure {
            self.notices.push_back(Notice::ConnectFailed(id, error));
            return id;
        }
        let registry = self.poll.registry();
        let registered = match self.sources.connection_mut(id) {
            Some(conn) => {
                conn.stream
                    .register(registry, key.token(), Interest::READABLE | Interest::WRITABLE)
            }
            None => Ok(()),
        };
        if let Err(e) = registered {
            self.fail_connect(id, ConnectError::from_io(e));
            return id;
        }
        if let Some(after) = timeout {
            let timer = self.schedule_task(after, TimerTask::ConnectTimeout(id));
            if let Some(Role::Client(client)) = self.conn_mut(id).map(|c| &mut c.role) {
                client.timeout = Some(timer);
            }
        }
        id
    }

    /// The socket of a connect in progress became ready: see how it went.
    pub(crate) fn finish_connect(&mut self, id: ConnectionId) {
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        if conn.phase != Phase::Connecting {
            return;
        }
        let peer = match conn.stream.connect_result() {
            Ok(Some(peer)) => peer,
            Ok(None) => return, // still in progress: a spurious wakeup
            Err(e) => return self.fail_connect(id, ConnectError::from_io(e)),
        };
        conn.phase = Phase::Open;
        let (factory, timer) = match &mut conn.role {
            Role::Client(client) => (client.factory.take(), client.timeout.take()),
            _ => (None, None),
        };
        if let Some(timer) = timer {
            let _ = self.timers.remove(timer);
        }
        let registry = self.poll.registry();
        if let Some(conn) = self.sources.connection_mut(id) {
            if let Err(e) = conn.stream.reregister(registry, id.0.token(), Interest::READABLE) {
                log::warn!("{id}: reregister failed: {e}");
            }
        }
        let Some(mut factory) = factory else {
            return;
        };
        let started = std::time::Instant::now();
        let protocol = factory.build_protocol(self, &peer);
        self.check_slow(started, || format!("build_protocol for {id}"));
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        conn.protocol = Some(protocol);
        if let Role::Client(client) = &mut conn.role {
            client.factory = Some(factory);
        }
        self.counters.connections_open += 1;
        self.counters.connections_total += 1;
        log::debug!("{id} connected to {peer}");
        self.dispatch(id, "connection_made", |p, ctx| p.connection_made(ctx));
        self.settle();
    }

    fn fail_connect(&mut self, id: ConnectionId, error: ConnectError) {
        let registry = self.poll.registry();
        let Some(conn) = self.sources.connection_mut(id) else {
            return;
        };
        conn.stream.deregister(registry);
        conn.stream = Stream::Closed;
        conn.phase = Phase::Closed;
        self.notices.push_back(Notice::ConnectFailed(id, error));
    }

    pub(crate) fn cancel_connect(&mut self, id: ConnectionId) {
        self.fail_connect(id, ConnectError::Cancelled);
    }

    pub(crate) fn connect_timed_out(&mut self, id: ConnectionId) {
        if let Some(conn) = self.conn_mut(id) {
            if conn.phase == Phase::Connecting {
                if let Role::Client(client) = &mut conn.role {
                    client.timeout = None;
                }
                self.fail_connect(id, ConnectError::TimedOut);
            }
        }
    }

    pub(crate) fn deliver_connect_failed(&mut self, id: ConnectionId, error: ConnectError) {
        let factory = match self.conn_mut(id).map(|c| &mut c.role) {
            Some(Role::Client(client)) => client.factory.take(),
            _ => None,
        };
        self.remove_connection(id);
        if let Some(mut factory) = factory {
            log::debug!("{id}: connect failed: {error}");
            let started = std::time::Instant::now();
            factory.client_connection_failed(self, error);
            self.check_slow(started, || format!("client_connection_failed for {id}"));
        }
    }
}

impl Address {
    /// Parses `host:port` into a TCP address (numeric hosts only; names are
    /// resolved by the endpoint layer).
    pub fn parse_tcp(s: &str) -> Option<Address> {
        s.parse::<SocketAddr>().ok().map(Address::Tcp)
    }
}
