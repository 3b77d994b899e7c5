//! The byte stream under a connection: a TCP socket, a Unix socket, or an
//! in-memory pipe that tests drive by hand.
//!
//! All three read and write through the same `Read`/`Write` calls and the same
//! `WouldBlock` rules, so a protocol tested over a [`MemoryPipe`] runs exactly
//! the code it runs over a socket. This is the seam between the transport
//! and what is under it: where a pipe must behave otherwise than a socket,
//! that is one arm of a `match` here (see [`crate::memory`] for why each
//! differs), and the transport above asks the stream rather than its kind.

use std::cell::RefCell;
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::rc::Rc;
use std::time::Duration;

use mio::{Interest, Registry, Token};

use crate::address::{self, Address};
use crate::memory::MemoryPipe;
use crate::protocol::CloseReason;

pub(crate) enum Stream {
    Tcp(mio::net::TcpStream),
    Unix(mio::net::UnixStream),
    Memory(Rc<RefCell<MemoryPipe>>),
    /// The descriptor is closed; the connection waits for its last notice.
    Closed,
}

impl Stream {
    pub(crate) fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => registry.register(s, token, interest),
            Stream::Unix(s) => registry.register(s, token, interest),
            Stream::Memory(_) | Stream::Closed => Ok(()),
        }
    }

    pub(crate) fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => registry.reregister(s, token, interest),
            Stream::Unix(s) => registry.reregister(s, token, interest),
            Stream::Memory(_) | Stream::Closed => Ok(()),
        }
    }

    pub(crate) fn deregister(&mut self, registry: &Registry) {
        let result = match self {
            Stream::Tcp(s) => registry.deregister(s),
            Stream::Unix(s) => registry.deregister(s),
            Stream::Memory(_) | Stream::Closed => Ok(()),
        };
        if let Err(e) = result {
            log::debug!("deregister failed: {e}");
        }
    }

    /// Whether a short read proves the stream drained. A socket's does:
    /// what arrives later raises a new edge. A pipe raises no edges, so it
    /// is read until `WouldBlock` (which costs no system call).
    pub(crate) fn short_read_drains(&self) -> bool {
        !matches!(self, Stream::Memory(_))
    }

    /// Whether a clean close should linger, draining what the peer still
    /// sends so that the kernel answers it with FIN rather than RST. A pipe
    /// has no kernel buffer to answer from: it closes at once.
    pub(crate) fn lingers(&self) -> bool {
        !matches!(self, Stream::Memory(_))
    }

    pub(crate) fn peer(&self) -> Option<Address> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok().map(Address::Tcp),
            Stream::Unix(s) => s.peer_addr().ok().map(|a| address::from_unix(&a)),
            Stream::Memory(_) => Some(Address::Memory),
            Stream::Closed => None,
        }
    }

    pub(crate) fn host(&self) -> Option<Address> {
        match self {
            Stream::Tcp(s) => s.local_addr().ok().map(Address::Tcp),
            Stream::Unix(s) => s.local_addr().ok().map(|a| address::from_unix(&a)),
            Stream::Memory(_) => Some(Address::Memory),
            Stream::Closed => None,
        }
    }

    /// Sends FIN: the peer reads end-of-file after what was written.
    pub(crate) fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Write),
            Stream::Unix(s) => s.shutdown(Shutdown::Write),
            Stream::Memory(pipe) => {
                pipe.borrow_mut().write_shut = true;
                Ok(())
            }
            Stream::Closed => Ok(()),
        }
    }

    /// Makes the coming close send RST instead of FIN (SO_LINGER with zero timeout).
    pub(crate) fn set_abortive(&mut self) {
        let result = match self {
            Stream::Tcp(s) => socket2::SockRef::from(&*s).set_linger(Some(Duration::ZERO)),
            Stream::Unix(_) | Stream::Closed => Ok(()),
            Stream::Memory(pipe) => {
                pipe.borrow_mut().aborted = true;
                Ok(())
            }
        };
        if let Err(e) = result {
            log::debug!("SO_LINGER failed: {e}");
        }
    }

    /// Closes the stream for `reason`: a socket is deregistered and its
    /// descriptor closed (the stream becomes `Closed`); a pipe records how
    /// the connection ended and stays, for the test to read.
    pub(crate) fn close(&mut self, registry: &Registry, reason: &CloseReason) {
        self.deregister(registry);
        match self {
            Stream::Memory(pipe) => pipe.borrow_mut().closed = Some(reason.clone()),
            _ => *self = Stream::Closed,
        }
    }

    pub(crate) fn set_nodelay(&self, on: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nodelay(on),
            _ => Ok(()),
        }
    }

    pub(crate) fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => {
                let sock = socket2::SockRef::from(s);
                match idle {
                    Some(idle) => sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(idle)),
                    None => sock.set_keepalive(false),
                }
            }
            _ => Ok(()),
        }
    }

    /// A connect in progress: `Ok(Some(peer))` once connected, `Ok(None)`
    /// while still in progress, `Err` when it failed.
    pub(crate) fn connect_result(&self) -> io::Result<Option<Address>> {
        let (error, peer) = match self {
            Stream::Tcp(s) => (s.take_error(), s.peer_addr().map(Address::Tcp)),
            Stream::Unix(s) => (s.take_error(), s.peer_addr().map(|a| address::from_unix(&a))),
            Stream::Memory(_) => return Ok(Some(Address::Memory)),
            Stream::Closed => return Err(io::ErrorKind::NotConnected.into()),
        };
        if let Some(e) = error? {
            return Err(e);
        }
        match peer {
            Ok(peer) => Ok(Some(peer)),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
            Stream::Memory(pipe) => pipe.borrow_mut().read(buf),
            Stream::Closed => Ok(0),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
            Stream::Memory(pipe) => pipe.borrow_mut().write_vectored(bufs),
            Stream::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
