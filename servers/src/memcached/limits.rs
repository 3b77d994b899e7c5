//! Connection memory limits (memcached's `-o read_buf_mem_limit=MB`).
//!
//! memcached gives each worker thread an equal share of the limit (the
//! limit divided by `-t`) for its connections' read buffers and response
//! objects; a response object (a 1 KiB line buffer and its I/O vectors) is
//! taken for every reply part (each request, and each key of a multi-key
//! `get`) until the replies are written. Out of them, a `get` answers
//! `SERVER_ERROR out of memory writing get response` and any other request
//! closes the connection, dropping the replies of that read (the peer reads
//! none of them); both count in `response_obj_oom`.
//!
//! Torsion composes every reply of one read into one buffer and writes it
//! at the end of the read, so what a connection holds between two writes is
//! the parts answered in that read. [`response_parts`] turns the share of a
//! worker, less the [`READ_BUFFER_CHARGE`] of the connection reading, into
//! that many parts at [`RESPONSE_PART_BYTES`] each: the same test, counted
//! in the unit Torsion holds replies in. The two charges are memcached
//! 1.6.18's, measured: with `-o read_buf_mem_limit=1 -t 32` it answers a
//! `get` of 13 keys and refuses one of 14, and closes a pipeline of 14
//! requests in one read (except classic `get`s and `mn`, which it serves
//! in any number; Torsion closes those too).
//!
//! # Examples
//!
//! ```
//! use torsion_servers::memcached::limits::response_parts;
//! use torsion_servers::memcached::settings::Options;
//!
//! let mut options = Options::default();
//! assert_eq!(response_parts(&options), None, "no limit by default");
//! options.read_buf_mem_limit = 1024 * 1024;
//! options.num_threads = 32;
//! assert_eq!(response_parts(&options), Some(13));
//! ```

use super::settings::Options;

/// The read buffers connections hold now, for `stats`: `read_buf_count`
/// and `read_buf_bytes`.
///
/// A connection reads into the reactor's one shared buffer and keeps a
/// buffer of its own only while a request is incomplete (or left over by a
/// yield); it frees it as soon as it is consumed. So these count the
/// connections caught mid-request and the bytes they hold, and
/// `read_buf_bytes_free` is 0: no free buffer is kept per connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadBuffers {
    /// Connections holding a buffer.
    pub count: u64,
    /// The capacity of their buffers, in bytes.
    pub bytes: u64,
}

impl ReadBuffers {
    /// A connection's buffer went from `before` to `after` (its capacity,
    /// `None` when it holds none).
    pub fn changed(&mut self, before: Option<usize>, after: Option<usize>) {
        match (before, after) {
            (None, Some(_)) => self.count += 1,
            (Some(_), None) => self.count = self.count.saturating_sub(1),
            _ => {}
        }
        let (before, after) = (before.unwrap_or(0) as u64, after.unwrap_or(0) as u64);
        self.bytes = (self.bytes + after).saturating_sub(before);
    }
}

/// What one pending reply part is charged against the limit: memcached's
/// response object, a 1 KiB line buffer plus its I/O vectors (13 of them
/// fill its 16 KiB bundle).
pub const RESPONSE_PART_BYTES: usize = 1260;

/// What the reading connection's input is charged first: memcached's read
/// buffer.
pub const READ_BUFFER_CHARGE: usize = 16 * 1024;

/// The reply parts a connection may hold between two writes under `-o
/// read_buf_mem_limit` (its worker's share of the limit); `None` without a
/// limit. At least one part is always allowed.
pub fn response_parts(options: &Options) -> Option<usize> {
    if options.read_buf_mem_limit == 0 {
        return None;
    }
    let share = options.read_buf_mem_limit as usize / options.num_threads.max(1) as usize;
    Some((share.saturating_sub(READ_BUFFER_CHARGE) / RESPONSE_PART_BYTES).max(1))
}

#[cfg(test)]
mod tests {
    use crate::memcached::testkit;

    type Conversation = testkit::Conversation<crate::memcached::dialect::Ascii>;

    fn starved() -> Conversation {
        let mut c = Conversation::new();
        c.server.options.read_buf_mem_limit = 1024 * 1024;
        c.server.options.num_threads = 32;
        c.server.options.reqs_per_event = 500;
        c
    }

    #[test]
    fn a_multiget_past_the_limit_is_refused_and_counted() {
        let mut c = starved();
        c.expect(b"set foo 0 0 1\r\nx\r\n", b"STORED\r\n");
        let line = format!("get{}\r\n", " foo".repeat(14));
        c.expect(
            line.as_bytes(),
            b"SERVER_ERROR out of memory writing get response\r\n",
        );
        assert_eq!(c.server.response_obj_oom, 1);
        let line = format!("get{}\r\n", " foo".repeat(13));
        assert_eq!(c.send(line.as_bytes()).len(), 13 * 18 + 5);
        assert!(!c.closed);
    }

    #[test]
    fn a_pipeline_past_the_limit_closes() {
        let mut c = starved();
        c.expect(&b"mn\r\n".repeat(13), &b"MN\r\n".repeat(13));
        let replies = c.send(&b"mn\r\n".repeat(14));
        assert!(c.closed);
        assert!(replies.is_empty(), "the replies it could not hold are dropped");
        assert_eq!(c.server.response_obj_oom, 1);
    }

    #[test]
    fn read_buffers_count_connections_and_bytes() {
        let mut r = super::ReadBuffers::default();
        r.changed(None, Some(100));
        r.changed(None, Some(50));
        r.changed(Some(100), Some(400));
        assert_eq!((r.count, r.bytes), (2, 450));
        r.changed(Some(400), None);
        r.changed(Some(50), None);
        r.changed(None, None);
        assert_eq!((r.count, r.bytes), (0, 0));
    }

    #[test]
    fn without_a_limit_nothing_is_refused() {
        let mut c = Conversation::new();
        c.server.options.reqs_per_event = 500;
        c.expect(&b"mn\r\n".repeat(500), &b"MN\r\n".repeat(500));
        assert_eq!(c.server.response_obj_oom, 0);
    }
}
