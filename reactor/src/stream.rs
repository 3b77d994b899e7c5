//! The byte stream under a connection: a TCP socket, a Unix socket, or an
//! in-memory pipe that tests drive by hand.
//!
//! All three read and write through the same `Read`/`Write` calls and the same
//! `WouldBlock` rules, so a protocol tested over [`MemoryPipe`] runs exactly
//! the code it runs over a socket.

use std::cell::RefCell;
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::rc::Rc;
use std::time::Duration;

use mio::{Interest, Registry, Token};

use crate::address::{self, Address};
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

    pub(crate) fn is_memory(&self) -> bool {
        matches!(self, Stream::Memory(_))
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

    /// Records, for a memory pipe, how the connection ended.
    pub(crate) fn note_closed(&self, reason: &CloseReason) {
        if let Stream::Memory(pipe) = self {
            pipe.borrow_mut().closed = Some(reason.clone());
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

/// The two directions of an in-memory connection, as the test (the "peer")
/// sees them. Shared between the reactor's connection and
/// [`crate::testing::StringTransport`].
#[derive(Debug, Default)]
pub struct MemoryPipe {
    /// Bytes the peer sent that the protocol has not read yet.
    pub(crate) inbox: Vec<u8>,
    pub(crate) inbox_pos: usize,
    /// The peer closed its writing side: reads end with end-of-file.
    pub(crate) inbox_eof: bool,
    /// A reset from the peer to report on the next read.
    pub(crate) inbox_error: Option<io::ErrorKind>,
    /// Everything the protocol wrote, in order.
    pub(crate) written: Vec<u8>,
    /// How many more bytes the peer accepts before writes block; `None` = no limit.
    pub(crate) window: Option<usize>,
    pub(crate) write_shut: bool,
    pub(crate) aborted: bool,
    pub(crate) closed: Option<CloseReason>,
    /// Set by the test when the reactor should look at this pipe again.
    pub(crate) poked: bool,
}

impl MemoryPipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let pending = &self.inbox[self.inbox_pos..];
        if !pending.is_empty() {
            let n = pending.len().min(buf.len());
            buf[..n].copy_from_slice(&pending[..n]);
            self.inbox_pos += n;
            if self.inbox_pos == self.inbox.len() {
                self.inbox.clear();
                self.inbox_pos = 0;
            }
            return Ok(n);
        }
        if let Some(kind) = self.inbox_error.take() {
            return Err(kind.into());
        }
        if self.inbox_eof {
            return Ok(0);
        }
        Err(io::ErrorKind::WouldBlock.into())
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if self.write_shut || self.closed.is_some() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let mut room = self.window.unwrap_or(usize::MAX);
        if room == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut n = 0;
        for buf in bufs {
            let take = buf.len().min(room);
            self.written.extend_from_slice(&buf[..take]);
            n += take;
            room -= take;
            if room == 0 {
                break;
            }
        }
        if let Some(window) = &mut self.window {
            *window -= n;
        }
        Ok(n)
    }
}
