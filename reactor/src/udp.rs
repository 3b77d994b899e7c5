//! Datagram (UDP) sockets.
//!
//! A [`DatagramProtocol`] receives each datagram with its sender and answers
//! through [`DatagramCtx::write_to`]. Datagrams are sent at once when the
//! socket takes them; if it would block, up to [`MAX_QUEUED_DATAGRAMS`] wait
//! for it to become writable, and past that `write_to` reports `WouldBlock`
//! (UDP may drop datagrams; the protocol decides whether to care).

use std::any::Any;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};

use mio::event::Event;
use mio::net::UdpSocket;
use mio::Interest;

use crate::id::DatagramId;
use crate::reactor::Reactor;
use crate::source::Source;

/// Datagrams queued per socket while it cannot send.
pub const MAX_QUEUED_DATAGRAMS: usize = 1024;

/// Datagrams received per readiness event before other sources get a turn.
const RECV_BATCH: usize = 256;

/// Handles the datagrams of one UDP socket.
pub trait DatagramProtocol: Any {
    /// The socket is open.
    fn started(&mut self, ctx: &mut DatagramCtx<'_>) {
        let _ = ctx;
    }

    /// A datagram arrived from `from`.
    fn datagram_received(&mut self, ctx: &mut DatagramCtx<'_>, data: &[u8], from: SocketAddr);

    /// The socket closed.
    fn stopped(&mut self, ctx: &mut DatagramCtx<'_>) {
        let _ = ctx;
    }
}

pub(crate) struct Datagram {
    socket: UdpSocket,
    /// `None` while lent to a callback.
    protocol: Option<Box<dyn DatagramProtocol>>,
    queue: VecDeque<(Box<[u8]>, SocketAddr)>,
    write_interest: bool,
}

/// A UDP socket's transport, with the reactor behind it.
pub struct DatagramCtx<'r> {
    reactor: &'r mut Reactor,
    id: DatagramId,
}

impl std::fmt::Debug for DatagramCtx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatagramCtx")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl DatagramCtx<'_> {
    /// This socket's handle.
    pub fn id(&self) -> DatagramId {
        self.id
    }

    /// Sends `data` to `to`.
    pub fn write_to(&mut self, data: &[u8], to: SocketAddr) -> io::Result<()> {
        self.reactor.send_datagram(self.id, data, to)
    }

    /// The address the socket is bound to.
    pub fn local_addr(&mut self) -> io::Result<SocketAddr> {
        match self.reactor.sources.datagram_mut(self.id) {
            Some(d) => d.socket.local_addr(),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Closes the socket (the protocol's `stopped` follows).
    pub fn stop(&mut self) {
        let id = self.id;
        self.reactor.call_soon(move |r| {
            r.stop_datagram(id);
        });
    }
}

impl Deref for DatagramCtx<'_> {
    type Target = Reactor;

    fn deref(&self) -> &Reactor {
        self.reactor
    }
}

impl DerefMut for DatagramCtx<'_> {
    fn deref_mut(&mut self) -> &mut Reactor {
        self.reactor
    }
}

impl Reactor {
    /// Opens a UDP socket bound to `addr` and hands its datagrams to `protocol`.
    pub fn listen_udp(
        &mut self,
        addr: SocketAddr,
        protocol: impl DatagramProtocol,
    ) -> io::Result<DatagramId> {
        let mut socket = UdpSocket::bind(addr)?;
        let key = self.sources.next_key();
        self.poll
            .registry()
            .register(&mut socket, key.token(), Interest::READABLE)?;
        let datagram = Datagram {
            socket,
            protocol: Some(Box::new(protocol)),
            queue: VecDeque::new(),
            write_interest: false,
        };
        let id = DatagramId(self.sources.insert(Source::Datagram(Box::new(datagram))));
        self.datagram_dispatch(id, |p, ctx| p.started(ctx));
        Ok(id)
    }

    /// The transport of UDP socket `id`, for code outside its callbacks.
    pub fn datagram(&mut self, id: DatagramId) -> DatagramCtx<'_> {
        DatagramCtx { reactor: self, id }
    }

    /// Closes UDP socket `id`; returns false if it was already closed.
    pub fn stop_datagram(&mut self, id: DatagramId) -> bool {
        if self.sources.datagram_mut(id).is_none() {
            return false;
        }
        self.datagram_dispatch(id, |p, ctx| p.stopped(ctx));
        let registry = self.poll.registry();
        if let Some(Source::Datagram(mut d)) = self.sources.remove(id.0) {
            if let Err(e) = registry.deregister(&mut d.socket) {
                log::debug!("{id}: deregister failed: {e}");
            }
        }
        true
    }

    fn send_datagram(&mut self, id: DatagramId, data: &[u8], to: SocketAddr) -> io::Result<()> {
        let Some(d) = self.sources.datagram_mut(id) else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        if d.queue.is_empty() {
            match d.socket.send_to(data, to) {
                Ok(n) => {
                    self.counters.bytes_written += n as u64;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if d.queue.len() >= MAX_QUEUED_DATAGRAMS {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        d.queue.push_back((data.into(), to));
        if !d.write_interest {
            d.write_interest = true;
            self.poll.registry().reregister(
                &mut d.socket,
                id.0.token(),
                Interest::READABLE | Interest::WRITABLE,
            )?;
        }
        Ok(())
    }

    pub(crate) fn datagram_event(&mut self, id: DatagramId, event: &Event) {
        if event.is_writable() {
            self.send_queued(id);
        }
        if event.is_readable() {
            self.receive_datagrams(id);
        }
    }

    fn send_queued(&mut self, id: DatagramId) {
        let Some(d) = self.sources.datagram_mut(id) else {
            return;
        };
        while let Some((data, to)) = d.queue.front() {
            match d.socket.send_to(data, *to) {
                Ok(n) => {
                    self.counters.bytes_written += n as u64;
                    d.queue.pop_front();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    log::debug!("{id}: dropping a datagram to {to}: {e}");
                    d.queue.pop_front();
                }
            }
        }
        d.write_interest = false;
        if let Err(e) = self
            .poll
            .registry()
            .reregister(&mut d.socket, id.0.token(), Interest::READABLE)
        {
            log::warn!("{id}: reregister failed: {e}");
        }
    }

    fn receive_datagrams(&mut self, id: DatagramId) {
        let mut buf = std::mem::take(&mut self.read_buf);
        buf.resize(buf.len().max(65_536), 0);
        for _ in 0..RECV_BATCH {
            let Some(d) = self.sources.datagram_mut(id) else {
                break;
            };
            match d.socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    self.counters.bytes_read += n as u64;
                    self.datagram_dispatch(id, |p, ctx| p.datagram_received(ctx, &buf[..n], from));
                    self.settle();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    // ICMP errors from earlier sends surface here; they are not fatal.
                    log::debug!("{id}: recv failed: {e}");
                }
            }
        }
        self.read_buf = buf;
    }

    fn datagram_dispatch(
        &mut self,
        id: DatagramId,
        f: impl FnOnce(&mut dyn DatagramProtocol, &mut DatagramCtx<'_>),
    ) {
        let Some(mut protocol) = self.sources.datagram_mut(id).and_then(|d| d.protocol.take()) else {
            return;
        };
        let started = std::time::Instant::now();
        self.depth += 1;
        f(&mut *protocol, &mut DatagramCtx { reactor: self, id });
        self.depth -= 1;
        self.check_slow(started, || format!("datagram protocol on {id}"));
        if let Some(d) = self.sources.datagram_mut(id) {
            d.protocol = Some(protocol);
        }
    }
}
