//! The outgoing byte queue of a connection.
//!
//! Small writes are copied into one growing tail (so a burst of replies costs
//! one `write`), while large [`Bytes`] are queued by reference and never
//! copied. A flush hands the kernel up to [`MAX_IOVECS`] slices at once with
//! `writev`. Consumed bytes are dropped by advancing cursors, never by
//! shifting the rest of the buffer (design rule 9).

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use bytes::{Buf, Bytes, BytesMut};

/// Slices handed to one vectored write.
pub(crate) const MAX_IOVECS: usize = 64;

/// Writes of at most this many bytes are copied into the tail rather than
/// queued by reference: a small copy is cheaper than one more iovec.
const COPY_THRESHOLD: usize = 1024;

/// After draining, a tail with more capacity than this is freed, so an idle
/// connection does not keep the memory of its largest reply.
const KEEP_CAPACITY: usize = 16 * 1024;

/// Drained write buffers a [`WritePool`] keeps for reuse by default
/// (`Config::write_pool`): enough for every connection that writes in one
/// turn of the loop to find one, without holding much (at most this many
/// times [`KEEP_CAPACITY`]).
pub(crate) const POOL_BUFFERS: usize = 16;

#[derive(Default)]
pub(crate) struct WriteBuffer {
    /// Queued chunks, oldest first; all of them go before `tail`.
    chunks: VecDeque<Bytes>,
    /// Bytes copied from small writes, after every chunk.
    tail: BytesMut,
    /// Total bytes queued.
    len: usize,
}

impl WriteBuffer {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn push_slice(&mut self, data: &[u8]) {
        self.tail.extend_from_slice(data);
        self.len += data.len();
    }

    pub(crate) fn push_bytes(&mut self, data: Bytes) {
        if data.len() <= COPY_THRESHOLD {
            return self.push_slice(&data);
        }
        if !self.tail.is_empty() {
            self.chunks.push_back(self.tail.split().freeze());
        }
        self.len += data.len();
        self.chunks.push_back(data);
    }

    /// Drops everything queued, keeping the tail's memory (at most
    /// [`KEEP_CAPACITY`]) for the next writes.
    fn reset(&mut self) {
        self.chunks.clear();
        self.tail.clear();
        if self.tail.capacity() > KEEP_CAPACITY {
            self.tail = BytesMut::new();
        }
        self.len = 0;
    }

    /// Writes as much as `sink` takes. Returns the bytes written, stopping at
    /// `WouldBlock` (not an error here) or at any other error, which is
    /// returned only if nothing was written by this call.
    pub(crate) fn flush_to<W: Write>(&mut self, sink: &mut W) -> io::Result<usize> {
        let mut written = 0;
        while !self.is_empty() {
            let result = {
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let n = self.fill_slices(&mut slices);
                sink.write_vectored(&slices[..n])
            };
            match result {
                Ok(0) => {
                    if written == 0 {
                        return Err(io::ErrorKind::WriteZero.into());
                    }
                    break;
                }
                Ok(n) => {
                    self.consume(n);
                    written += n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if written == 0 => return Err(e),
                Err(_) => break,
            }
        }
        if self.is_empty() && self.tail.capacity() > KEEP_CAPACITY {
            self.tail = BytesMut::new();
        }
        Ok(written)
    }

    fn fill_slices<'a>(&'a self, slices: &mut [IoSlice<'a>; MAX_IOVECS]) -> usize {
        let mut n = 0;
        for chunk in self.chunks.iter().take(MAX_IOVECS - 1) {
            slices[n] = IoSlice::new(chunk);
            n += 1;
        }
        if !self.tail.is_empty() && self.chunks.len() < MAX_IOVECS {
            slices[n] = IoSlice::new(&self.tail);
            n += 1;
        }
        n
    }

    fn consume(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            match self.chunks.front_mut() {
                Some(chunk) if chunk.len() <= n => {
                    n -= chunk.len();
                    self.chunks.pop_front();
                }
                Some(chunk) => {
                    chunk.advance(n);
                    return;
                }
                None => {
                    self.tail.advance(n);
                    if self.tail.is_empty() {
                        self.tail.clear();
                    }
                    return;
                }
            }
        }
    }
}

/// The reactor's drained write buffers, lent to connections as they write.
///
/// A connection holds a write buffer only while it has bytes the socket has
/// not taken: it borrows one from the pool at its first write, and gives it
/// back once a flush drains it. So an idle connection costs no buffer, and
/// a busy one costs no allocation per reply: the buffer it gives back after
/// one reply is the one it (or the next connection) takes for the next.
#[derive(Default)]
pub(crate) struct WritePool {
    // Boxed on purpose: a connection holds a `Box<WriteBuffer>` (8 bytes,
    // not 56), and the same box moves between it and the pool.
    #[allow(clippy::vec_box)]
    spare: Vec<Box<WriteBuffer>>,
}

impl WritePool {
    /// An empty buffer: a spare one if there is one.
    pub(crate) fn take(&mut self) -> Box<WriteBuffer> {
        self.spare.pop().unwrap_or_default()
    }

    /// Takes back `buffer` (dropping what it holds), unless the pool
    /// already keeps `keep` buffers.
    pub(crate) fn give(&mut self, buffer: Option<Box<WriteBuffer>>, keep: usize) {
        if let Some(mut buffer) = buffer {
            if self.spare.len() < keep {
                buffer.reset();
                self.spare.push(buffer);
            }
        }
    }

    /// Buffers waiting in the pool.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.spare.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that takes at most `limit` bytes per call and then blocks.
    struct Trickle {
        got: Vec<u8>,
        per_call: usize,
        budget: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.budget == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.per_call).min(self.budget);
            self.got.extend_from_slice(&buf[..n]);
            self.budget -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn keeps_order_across_copies_and_chunks() {
        let mut buf = WriteBuffer::default();
        buf.push_slice(b"ab");
        buf.push_bytes(Bytes::from(vec![b'x'; 5000]));
        buf.push_slice(b"cd");
        buf.push_bytes(Bytes::from_static(b"small"));
        let mut sink = Trickle {
            got: Vec::new(),
            per_call: 7,
            budget: usize::MAX,
        };
        let total = buf.len();
        assert_eq!(buf.flush_to(&mut sink).unwrap(), total);
        let mut expected = b"ab".to_vec();
        expected.extend(vec![b'x'; 5000]);
        expected.extend_from_slice(b"cdsmall");
        assert_eq!(sink.got, expected);
        assert!(buf.is_empty());
    }

    #[test]
    fn stops_at_would_block_and_resumes() {
        let mut buf = WriteBuffer::default();
        buf.push_slice(&[1; 100]);
        let mut sink = Trickle {
            got: Vec::new(),
            per_call: 30,
            budget: 45,
        };
        assert_eq!(buf.flush_to(&mut sink).unwrap(), 45);
        assert_eq!(buf.len(), 55);
        sink.budget = 1000;
        assert_eq!(buf.flush_to(&mut sink).unwrap(), 55);
        assert_eq!(sink.got.len(), 100);
    }

    #[test]
    fn frees_large_capacity_once_drained() {
        let mut buf = WriteBuffer::default();
        buf.push_slice(&vec![0; 100_000]);
        let mut sink = Trickle {
            got: Vec::new(),
            per_call: usize::MAX,
            budget: usize::MAX,
        };
        buf.flush_to(&mut sink).unwrap();
        assert_eq!(buf.tail.capacity(), 0);
    }

    #[test]
    fn the_pool_lends_drained_buffers_and_keeps_a_bounded_number() {
        let mut pool = WritePool::default();
        let mut buf = pool.take();
        buf.push_bytes(Bytes::from(vec![1; 5000]));
        buf.push_slice(b"hello");
        pool.give(Some(buf), POOL_BUFFERS);
        assert_eq!(pool.len(), 1);
        let buf = pool.take();
        assert!(buf.is_empty() && buf.chunks.is_empty(), "given back empty");
        assert!(buf.tail.capacity() >= 5, "with its memory");
        assert_eq!(pool.len(), 0);
        for _ in 0..POOL_BUFFERS + 5 {
            pool.give(Some(Box::default()), POOL_BUFFERS);
        }
        pool.give(None, POOL_BUFFERS);
        assert_eq!(pool.len(), POOL_BUFFERS);
    }

    #[test]
    fn many_chunks_need_several_vectored_writes() {
        let mut buf = WriteBuffer::default();
        for i in 0..200u8 {
            buf.push_bytes(Bytes::from(vec![i; 2000]));
        }
        let mut sink = Trickle {
            got: Vec::new(),
            per_call: usize::MAX,
            budget: usize::MAX,
        };
        assert_eq!(buf.flush_to(&mut sink).unwrap(), 400_000);
        assert_eq!(sink.got[399_999], 199);
    }
}
