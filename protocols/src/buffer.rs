//! The receive side of a receiver: bytes not yet framed, behind a cursor.

/// After being emptied, a buffer with more capacity than this gives its
/// memory back, so an idle connection does not keep its largest burst.
const KEEP_CAPACITY: usize = 64 * 1024;

/// Received bytes that are not consumed yet.
///
/// Consuming moves a cursor; nothing is copied per frame (design rule 9,
/// and the fix for Twisted's quadratic `LineReceiver`, which copied the
/// whole rest of the buffer for each line). Consumed bytes are reclaimed
/// when new data arrives: the buffer is reset when all of it was consumed,
/// and the live bytes are moved to the front only when they are no more
/// than the dead ones, so each byte is moved O(1) times on average.
///
/// Consumed bytes stay in place until the next [`extend`](ReadBuffer::extend),
/// which is what lets [`unconsume`](ReadBuffer::unconsume) give back the
/// tail of what a callback just saw.
///
/// # Examples
///
/// ```
/// use torsion_protocols::ReadBuffer;
///
/// let mut buf = ReadBuffer::new();
/// buf.extend(b"one\ntwo\nthr");
/// buf.consume(4);
/// assert_eq!(buf.unread(), b"two\nthr");
/// buf.consume(4);
/// buf.extend(b"ee\n");
/// assert_eq!(buf.unread(), b"three\n");
/// ```
#[derive(Clone, Debug, Default)]
pub struct ReadBuffer {
    data: Vec<u8>,
    /// The read cursor: `data[..start]` is consumed.
    start: usize,
}

impl ReadBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes not consumed yet.
    pub fn unread(&self) -> &[u8] {
        &self.data[self.start..]
    }

    /// How many bytes are not consumed yet.
    pub fn len(&self) -> usize {
        self.data.len() - self.start
    }

    /// Whether every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends received bytes, reclaiming consumed space first.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.reclaim();
        self.data.extend_from_slice(bytes);
    }

    /// Marks the first `n` unread bytes consumed (at most all of them).
    pub fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.data.len());
    }

    /// Gives back the last `n` consumed bytes, which become unread again
    /// (at most as many as were consumed since the last
    /// [`extend`](ReadBuffer::extend) reclaimed them).
    pub fn unconsume(&mut self, n: usize) {
        self.start = self.start.saturating_sub(n);
    }

    /// Puts `bytes` before the unread bytes. This costs `bytes.len()` when
    /// the consumed space in front can take them, and a copy of the unread
    /// bytes as well otherwise.
    pub fn push_front(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(front) = self.start.checked_sub(bytes.len()) {
            self.data[front..self.start].copy_from_slice(bytes);
            self.start = front;
            return;
        }
        let mut data = Vec::with_capacity(bytes.len() + self.len());
        data.extend_from_slice(bytes);
        data.extend_from_slice(self.unread());
        self.data = data;
        self.start = 0;
    }

    /// Drops every unread byte.
    pub fn clear(&mut self) {
        self.start = self.data.len();
        self.reclaim();
    }

    /// Frees consumed space: all of it when nothing is unread, by moving the
    /// unread bytes to the front when they are no more than the consumed ones.
    fn reclaim(&mut self) {
        if self.start == self.data.len() {
            self.data.clear();
            self.start = 0;
            if self.data.capacity() > KEEP_CAPACITY {
                self.data = Vec::new();
            }
        } else if self.start > 0 && self.start >= self.len() {
            self.data.copy_within(self.start.., 0);
            self.data.truncate(self.data.len() - self.start);
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_only_when_the_dead_part_is_larger() {
        let mut buf = ReadBuffer::new();
        buf.extend(b"0123456789");
        buf.consume(3);
        buf.extend(b"ab");
        // 3 dead bytes, 7 live ones: no move.
        assert_eq!(buf.start, 3);
        buf.consume(5);
        buf.extend(b"c");
        assert_eq!(buf.start, 0);
        assert_eq!(buf.unread(), b"89abc");
    }

    #[test]
    fn unconsume_and_push_front() {
        let mut buf = ReadBuffer::new();
        buf.extend(b"hello world");
        buf.consume(11);
        buf.unconsume(5);
        assert_eq!(buf.unread(), b"world");
        buf.push_front(b"big ");
        assert_eq!(buf.unread(), b"big world");
        buf.push_front(b"a really ");
        assert_eq!(buf.unread(), b"a really big world");
        buf.clear();
        assert!(buf.is_empty());
        buf.consume(3);
        assert!(buf.is_empty());
    }
}
