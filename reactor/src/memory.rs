//! The in-memory transport: a pipe that a test drives by hand, in place of
//! a socket.
//!
//! [`Reactor::connect_memory`] attaches a protocol to a [`MemoryPipe`]
//! rather than a socket. Everything above the stream (writes, backpressure,
//! close, abort, half-close, timers) then runs the very code a socket runs.
//! What must differ lives in two places only: this module, and the `Memory`
//! arms of the stream's methods (`stream.rs`). It differs in three ways:
//!
//! - **Readiness.** A pipe has no descriptor for epoll to watch. The test's
//!   end, a [`MemoryPeer`](crate::testing::MemoryPeer), sets the pipe's
//!   `poked` flag whenever it sends, closes or opens its window, and the
//!   loop's *poke* step turns each poked pipe into a backlog turn (a read)
//!   and a dirty mark (a flush), as if its socket had become readable and
//!   writable. [`MemoryPipes`] lists the pipes that step looks at.
//! - **Reads.** No edge ever announces a pipe's data, so a short read proves
//!   nothing: a pipe is read until `WouldBlock`, which costs no system call.
//! - **Closing.** A pipe has no kernel buffer that could answer the peer
//!   with RST, so a clean close does not linger; and the pipe outlives the
//!   close to record how the connection ended, for the test to see.
//!
//! # Costs
//!
//! The poke step, and the test kit's question whether work is waiting, visit
//! every in-memory connection once per iteration: O(in-memory connections),
//! nothing at all in production, where there are none.

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::rc::Rc;

use crate::id::ConnectionId;
use crate::protocol::CloseReason;
use crate::reactor::Reactor;

/// The in-memory connections of a reactor, in the order they were made,
/// each with its pipe.
///
/// A connection joins when [`Reactor::connect_memory`] makes it and leaves
/// at the first poke step after it was removed from the source table, so
/// the table stays the one place that says which connections exist.
#[derive(Debug, Default)]
pub(crate) struct MemoryPipes {
    open: Vec<(ConnectionId, Rc<RefCell<MemoryPipe>>)>,
}

impl MemoryPipes {
    /// Adds the connection `id`, whose stream is `pipe`.
    pub(crate) fn add(&mut self, id: ConnectionId, pipe: Rc<RefCell<MemoryPipe>>) {
        self.open.push((id, pipe));
    }
}

impl Reactor {
    /// The poke step: every in-memory connection whose test peer acted since
    /// the last iteration gets a backlog turn and a flush, as a socket would
    /// on becoming readable and writable. O(in-memory connections).
    pub(crate) fn poke_memory(&mut self) {
        let sources = &self.sources;
        self.memory
            .open
            .retain(|(id, _)| sources.connection(*id).is_some());
        for i in 0..self.memory.open.len() {
            let (id, pipe) = &self.memory.open[i];
            let (id, poked) = (*id, std::mem::take(&mut pipe.borrow_mut().poked));
            if poked {
                self.schedule_read(id);
                self.mark_dirty(id);
            }
        }
    }

    /// Whether a test peer acted since the last poke step.
    /// O(in-memory connections).
    pub(crate) fn memory_poked(&self) -> bool {
        self.memory
            .open
            .iter()
            .any(|(id, pipe)| self.sources.connection(*id).is_some() && pipe.borrow().poked)
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
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
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

    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
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
