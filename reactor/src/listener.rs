//! Listening sockets: TCP and Unix, and the accept loop.
//!
//! A listener accepts until the kernel says `WouldBlock` (edge-triggered
//! readiness announces a backlog once), or until a batch limit, after which it
//! waits in the reactor's backlog so other sources get a turn.
//!
//! When the process runs out of descriptors (EMFILE/ENFILE), `accept` fails
//! while the pending connection stays queued: a naive loop would retry at once
//! and spin at 100% CPU. Torsion pauses that listener instead and retries
//! after [`ACCEPT_RETRY`], logging once per episode; connections keep waiting
//! in the kernel's backlog meanwhile and are served once descriptors free up.
//! A listener at its `max_connections` bound pauses the same way and resumes
//! as soon as one of its connections closes.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mio::net::{TcpListener, UnixListener};
use mio::Interest;
use socket2::{Domain, Socket, Type};

use crate::address::{self, Address};
use crate::id::{ConnectionId, ListenerId};
use crate::notice::Notice;
use crate::protocol::{Factory, Protocol};
use crate::reactor::Reactor;
use crate::source::Source;
use crate::stream::Stream;
use crate::timer::TimerTask;
use crate::transport::{Connection, Phase, Role};

/// How long a listener waits before retrying after running out of descriptors.
pub const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Connections accepted per readiness event before other sources get a turn.
const ACCEPT_BATCH: usize = 256;

/// Options of a listening socket.
#[derive(Clone, Debug)]
pub struct ListenOptions {
    /// The kernel's queue of connections not yet accepted (`listen(2)` backlog).
    pub backlog: u32,
    /// At most this many connections from this listener at once; past it the
    /// listener stops accepting until one closes. `None`: no bound.
    pub max_connections: Option<usize>,
    /// Disable Nagle's algorithm on accepted TCP connections (default: yes,
    /// as memcached does: replies leave at once).
    pub nodelay: bool,
    /// For Unix sockets: remove a stale socket file at the path first.
    pub unlink_existing: bool,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            backlog: 1024,
            max_connections: None,
            nodelay: true,
            unlink_existing: true,
        }
    }
}

/// Whether a listener is taking connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Accepting {
    Active,
    /// At `max_connections`; resumes when a connection closes.
    Full,
    /// Out of descriptors; a timer resumes it.
    Paused,
}

enum ListenSocket {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

pub(crate) struct Listener {
    socket: ListenSocket,
    /// `None` while lent to `build_protocol`.
    factory: Option<Box<dyn Factory>>,
    options: ListenOptions,
    /// Connections from this listener open now.
    open: usize,
    accepting: Accepting,
}

impl Listener {
    fn accept(&self) -> io::Result<(Stream, Address)> {
        match &self.socket {
            ListenSocket::Tcp(l) => {
                let (s, peer) = l.accept()?;
                if self.options.nodelay {
                    if let Err(e) = s.set_nodelay(true) {
                        log::debug!("TCP_NODELAY failed: {e}");
                    }
                }
                Ok((Stream::Tcp(s), Address::Tcp(peer)))
            }
            ListenSocket::Unix(l, _) => {
                let (s, peer) = l.accept()?;
                Ok((Stream::Unix(s), address::from_unix(&peer)))
            }
        }
    }

    fn local_addr(&self) -> Option<Address> {
        match &self.socket {
            ListenSocket::Tcp(l) => l.local_addr().ok().map(Address::Tcp),
            ListenSocket::Unix(_, path) => Some(Address::Unix(Some(path.clone()))),
        }
    }
}

fn is_out_of_descriptors(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM)
    )
}

impl Reactor {
    /// Listens for TCP connections on `addr` (port 0 lets the OS choose; see
    /// [`Reactor::local_addr`]) with default [`ListenOptions`]. `factory`
    /// builds a protocol for each connection.
    pub fn listen_tcp(&mut self, addr: SocketAddr, factory: impl Factory) -> io::Result<ListenerId> {
        self.listen_tcp_with(addr, factory, ListenOptions::default())
    }

    /// Listens for TCP connections with explicit options.
    pub fn listen_tcp_with(
        &mut self,
        addr: SocketAddr,
        factory: impl Factory,
        options: ListenOptions,
    ) -> io::Result<ListenerId> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        if addr.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(options.backlog.min(i32::MAX as u32) as i32)?;
        let listener = TcpListener::from_std(socket.into());
        self.add_listener(ListenSocket::Tcp(listener), Box::new(factory), options)
    }

    /// Listens on a Unix domain socket at `path` with default options (a
    /// stale socket file there is replaced; the file is removed when the
    /// listener stops).
    pub fn listen_unix(&mut self, path: impl AsRef<Path>, factory: impl Factory) -> io::Result<ListenerId> {
        self.listen_unix_with(path, factory, ListenOptions::default())
    }

    /// Listens on a Unix domain socket with explicit options.
    pub fn listen_unix_with(
        &mut self,
        path: impl AsRef<Path>,
        factory: impl Factory,
        options: ListenOptions,
    ) -> io::Result<ListenerId> {
        let path = path.as_ref();
        if options.unlink_existing {
            remove_stale_socket(path)?;
        }
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        socket.bind(&socket2::SockAddr::unix(path)?)?;
        socket.listen(options.backlog.min(i32::MAX as u32) as i32)?;
        let listener = UnixListener::from_std(std::os::unix::net::UnixListener::from(
            std::os::fd::OwnedFd::from(socket),
        ));
        self.add_listener(
            ListenSocket::Unix(listener, path.to_path_buf()),
            Box::new(factory),
            options,
        )
    }

    fn add_listener(
        &mut self,
        mut socket: ListenSocket,
        mut factory: Box<dyn Factory>,
        options: ListenOptions,
    ) -> io::Result<ListenerId> {
        let key = self.sources.next_key();
        match &mut socket {
            ListenSocket::Tcp(l) => self
                .poll
                .registry()
                .register(l, key.token(), Interest::READABLE)?,
            ListenSocket::Unix(l, _) => self
                .poll
                .registry()
                .register(l, key.token(), Interest::READABLE)?,
        }
        factory.start(self);
        let listener = Listener {
            socket,
            factory: Some(factory),
            options,
            open: 0,
            accepting: Accepting::Active,
        };
        let id = ListenerId(self.sources.insert(Source::Listener(Box::new(listener))));
        debug_assert_eq!(id.0, key);
        if let Some(addr) = self.local_addr(id) {
            log::debug!("{id} listening on {addr}");
        }
        Ok(id)
    }

    /// The address a listener is bound to (with the OS-chosen port if it
    /// was given port 0).
    pub fn local_addr(&mut self, id: ListenerId) -> Option<Address> {
        self.sources.listener_mut(id).and_then(|l| l.local_addr())
    }

    /// Closes a listener (connections it accepted stay open) and calls its
    /// factory's `stop` hook. Returns false if it was already closed.
    pub fn stop_listening(&mut self, id: ListenerId) -> bool {
        let registry = self.poll.registry();
        let Some(Source::Listener(mut listener)) = self.sources.remove(id.0) else {
            return false;
        };
        let result = match &mut listener.socket {
            ListenSocket::Tcp(l) => registry.deregister(l),
            ListenSocket::Unix(l, _) => registry.deregister(l),
        };
        if let Err(e) = result {
            log::debug!("{id}: deregister failed: {e}");
        }
        if let ListenSocket::Unix(_, path) = &listener.socket {
            if let Err(e) = std::fs::remove_file(path) {
                log::debug!("{id}: could not remove {}: {e}", path.display());
            }
        }
        if let Some(factory) = listener.factory.take() {
            self.notices.push_back(Notice::ListenerStopped(factory));
        }
        log::debug!("{id} stopped listening");
        true
    }

    /// Accepts pending connections (see the module docs).
    pub(crate) fn accept_ready(&mut self, id: ListenerId) {
        for _ in 0..ACCEPT_BATCH {
            let Some(listener) = self.sources.listener_mut(id) else {
                return;
            };
            if listener.accepting != Accepting::Active {
                return;
            }
            if listener
                .options
                .max_connections
                .is_some_and(|max| listener.open >= max)
            {
                log::debug!("{id}: at its connection limit; accepting again when one closes");
                listener.accepting = Accepting::Full;
                return;
            }
            match listener.accept() {
                Ok((stream, peer)) => self.adopt(id, stream, peer),
                Err(e) => match e.kind() {
                    io::ErrorKind::WouldBlock => return,
                    io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted => continue,
                    _ if e.raw_os_error() == Some(libc::EPROTO) => continue,
                    _ => return self.pause_accepting(id, e),
                },
            }
        }
        self.schedule_accept(id);
    }

    fn pause_accepting(&mut self, id: ListenerId, error: io::Error) {
        if let Some(listener) = self.sources.listener_mut(id) {
            listener.accepting = Accepting::Paused;
        }
        self.counters.accept_pauses += 1;
        if is_out_of_descriptors(&error) {
            log::warn!(
                "{id}: cannot accept ({error}); pausing for {} ms while descriptors free up",
                ACCEPT_RETRY.as_millis()
            );
        } else {
            log::error!(
                "{id}: accept failed ({error}); retrying in {} ms",
                ACCEPT_RETRY.as_millis()
            );
        }
        self.schedule_task(ACCEPT_RETRY, TimerTask::ResumeAccepting(id));
    }

    pub(crate) fn resume_accepting(&mut self, id: ListenerId) {
        if let Some(listener) = self.sources.listener_mut(id) {
            if listener.accepting == Accepting::Paused {
                listener.accepting = Accepting::Active;
                self.accept_ready(id);
            }
        }
    }

    /// A connection of listener `id` closed: it may take another.
    pub(crate) fn connection_left(&mut self, id: ListenerId) {
        if let Some(listener) = self.sources.listener_mut(id) {
            listener.open = listener.open.saturating_sub(1);
            if listener.accepting == Accepting::Full {
                listener.accepting = Accepting::Active;
                self.schedule_accept(id);
            }
        }
    }

    /// Gives an accepted stream its protocol and registers it.
    fn adopt(&mut self, listener_id: ListenerId, stream: Stream, peer: Address) {
        let Some(mut factory) = self
            .sources
            .listener_mut(listener_id)
            .and_then(|l| l.factory.take())
        else {
            return;
        };
        let started = std::time::Instant::now();
        let protocol = factory.build_protocol(self, &peer);
        self.check_slow(started, || format!("build_protocol of {listener_id}"));
        match self.sources.listener_mut(listener_id) {
            Some(listener) => listener.factory = Some(factory),
            // The factory stopped its own listener from build_protocol.
            None => self.notices.push_back(Notice::ListenerStopped(factory)),
        }
        let Some(protocol) = protocol else {
            self.counters.connections_refused += 1;
            log::debug!("{listener_id}: factory refused a connection from {peer}");
            return;
        };
        if let Some(listener) = self.sources.listener_mut(listener_id) {
            listener.open += 1;
        }
        let conn = Connection::new(stream, Role::Server(listener_id), Phase::Open);
        self.open_connection(conn, protocol);
    }

    /// Registers an open connection and tells its protocol.
    pub(crate) fn open_connection(
        &mut self,
        mut conn: Connection,
        protocol: Box<dyn Protocol>,
    ) -> ConnectionId {
        conn.protocol = Some(protocol);
        let key = self.sources.insert(Source::Connection(conn));
        let id = ConnectionId(key);
        let registry = self.poll.registry();
        if let Some(conn) = self.sources.connection_mut(id) {
            if let Err(e) = conn
                .stream
                .register(registry, key.token(), mio::Interest::READABLE)
            {
                log::warn!("{id}: register failed: {e}");
            }
        }
        self.counters.connections_open += 1;
        self.counters.connections_total += 1;
        self.dispatch(id, "connection_made", |p, ctx| p.connection_made(ctx));
        self.settle();
        id
    }
}

/// Removes a socket file left by an earlier process, but never a regular file.
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
