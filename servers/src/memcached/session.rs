//! One text-protocol conversation, sans-I/O: bytes in, replies out.
//!
//! The connection layer keeps a read buffer, calls [`TextSession::feed`] with
//! everything buffered, drops the `consumed` bytes, and writes `out`. The session
//! never copies input: a storage command's line is re-parsed (a few dozen bytes)
//! until its data block has arrived whole, so nothing borrowed has to outlive a
//! call. A block too large to store is *swallowed*: the session remembers how many
//! bytes to skip and consumes them as they come, never buffering them, which
//! bounds the read buffer by the item size limit plus one line.
//!
//! Meta commands (`mg`, `ms`, ...) arrive on the same connection, mixed with
//! the classic ones: a line whose first word starts with `m` is offered to the
//! meta codec first, and `ms` gets the same data-block handling as `set`
//! (wait for it whole, swallow it when too large, `bad data chunk`).
//!
//! State is an enum (design rule 8): reading command lines, or swallowing.

use torsion_protocols::memcache::meta;
use torsion_protocols::memcache::text::{parse, parse_data_block, DataBlock, Parsed, Request};

use super::exec::{bad_data_chunk, execute, execute_error, refuse_too_large, Effect, ServerStats};
use super::meta_exec;
use super::store::Store;

/// What the session is doing between calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a command line (or waiting for a storage command's data block).
    Command,
    /// Discarding this many more bytes of a refused data block.
    Swallow {
        /// Bytes still to discard.
        remaining: usize,
    },
}

/// What a meta command line did, for [`TextSession::feed`]'s loop.
enum MetaStep {
    /// This many bytes were handled; go on.
    Advance(usize),
    /// Wait for more input (`Some`: bytes still missing from an `ms` block).
    Wait(Option<usize>),
    /// Close the connection (no newline within the line limit).
    Close,
}

/// The result of [`TextSession::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Feed {
    /// Bytes of the input used; drop them from the read buffer.
    pub consumed: usize,
    /// Write what is in `out`, then close the connection.
    pub close: bool,
    /// When waiting for a data block: how many more bytes it needs (a hint to
    /// size the read buffer).
    pub needed: Option<usize>,
    /// The replies reached [`OUTPUT_BUDGET`] with whole requests still
    /// unprocessed: write `out`, and call again (with the unconsumed input)
    /// once the peer has read it.
    pub yielded: bool,
}

impl Feed {
    /// Stopped at an incomplete request (`needed`: bytes a data block still lacks).
    pub(crate) fn wait(consumed: usize, needed: Option<usize>) -> Self {
        Feed {
            consumed,
            close: false,
            needed,
            yielded: false,
        }
    }

    /// Write the replies, then close the connection.
    pub(crate) fn close(consumed: usize) -> Self {
        Feed {
            consumed,
            close: true,
            needed: None,
            yielded: false,
        }
    }

    /// Stopped at [`OUTPUT_BUDGET`] with whole requests left.
    pub(crate) fn yielded(consumed: usize) -> Self {
        Feed {
            consumed,
            close: false,
            needed: None,
            yielded: true,
        }
    }
}

/// Once a call's replies pass this many bytes, `feed` stops before the next
/// request. A few bytes of pipelined `get`s can ask for megabytes of values;
/// without this budget one read could produce an unbounded reply.
pub const OUTPUT_BUDGET: usize = 256 * 1024;

/// A text-protocol conversation over one connection.
///
/// # Examples
///
/// ```
/// use torsion_servers::memcached::exec::ServerStats;
/// use torsion_servers::memcached::session::TextSession;
/// use torsion_servers::memcached::store::{Store, StoreConfig};
///
/// let now = 1_700_000_000;
/// let (mut store, mut server) = (Store::new(StoreConfig::default()), ServerStats::new(now));
/// let mut session = TextSession::new();
/// let mut out = Vec::new();
/// // Half a storage command: nothing consumed, the block is awaited.
/// let fed = session.feed(b"set k 0 0 5\r\nhel", &mut store, &mut server, now, &mut out);
/// assert_eq!((fed.consumed, fed.needed), (0, Some(4)));
/// let fed = session.feed(b"set k 0 0 5\r\nhello\r\nquit\r\n", &mut store, &mut server, now, &mut out);
/// assert!(fed.close);
/// assert_eq!(out, b"STORED\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct TextSession {
    state: State,
}

impl Default for TextSession {
    fn default() -> Self {
        Self::new()
    }
}

impl TextSession {
    /// A session at the start of a connection.
    pub fn new() -> Self {
        TextSession {
            state: State::Command,
        }
    }

    /// Whether the session is discarding a refused data block.
    pub fn is_swallowing(&self) -> bool {
        matches!(self.state, State::Swallow { .. })
    }

    /// Handles every complete request at the start of `input`, appending the
    /// replies to `out`. Stops at the first incomplete request, or at `quit` or a
    /// line too long (then `close` is set and the rest of the input is ignored).
    pub fn feed(
        &mut self,
        input: &[u8],
        store: &mut Store,
        server: &mut ServerStats,
        now: u32,
        out: &mut Vec<u8>,
    ) -> Feed {
        let mut pos = 0;
        loop {
            if out.len() >= OUTPUT_BUDGET && pos < input.len() {
                return Feed::yielded(pos);
            }
            if let State::Swallow { remaining } = self.state {
                let skip = remaining.min(input.len() - pos);
                pos += skip;
                if skip < remaining {
                    self.state = State::Swallow {
                        remaining: remaining - skip,
                    };
                    return Feed::wait(pos, None);
                }
                self.state = State::Command;
            }
            let rest = &input[pos..];
            let first_word = rest.iter().find(|&&b| b != b' ');
            if first_word == Some(&b'm') {
                match self.meta_step(rest, store, now, out) {
                    None => {}
                    Some(MetaStep::Advance(n)) => {
                        pos += n;
                        continue;
                    }
                    Some(MetaStep::Wait(needed)) => return Feed::wait(pos, needed),
                    Some(MetaStep::Close) => return Feed::close(pos),
                }
            }
            let (request, line_len) = match parse(rest) {
                Parsed::Incomplete => return Feed::wait(pos, None),
                Parsed::Error { error, consumed } => {
                    pos += consumed;
                    if execute_error(error, out) == Effect::Close {
                        return Feed::close(pos);
                    }
                    continue;
                }
                Parsed::Complete { request, consumed } => (request, consumed),
            };
            let Request::Storage(header) = request else {
                pos += line_len;
                if execute(&request, b"", store, server, now, out) == Effect::Close {
                    return Feed::close(pos);
                }
                continue;
            };
            if !store.fits(header.key.len(), header.bytes as usize) {
                refuse_too_large(&header, store, now, out);
                pos += line_len;
                self.state = State::Swallow {
                    remaining: header.bytes as usize + 2,
                };
                continue;
            }
            match parse_data_block(&rest[line_len..], header.bytes) {
                DataBlock::Incomplete { needed } => return Feed::wait(pos, Some(needed)),
                DataBlock::BadChunk { consumed } => {
                    bad_data_chunk(&header, out);
                    pos += line_len + consumed;
                }
                DataBlock::Complete { data, consumed } => {
                    let _ = execute(&request, data, store, server, now, out);
                    pos += line_len + consumed;
                }
            }
        }
    }

    /// Handles one meta command at the start of `rest`, or answers `None`
    /// when the line is not a meta command.
    fn meta_step(&mut self, rest: &[u8], store: &mut Store, now: u32, out: &mut Vec<u8>) -> Option<MetaStep> {
        let (request, line_len) = match meta::parse(rest) {
            meta::Parsed::NotMeta => return None,
            meta::Parsed::Incomplete => return Some(MetaStep::Wait(None)),
            meta::Parsed::Error { error, consumed } => {
                if meta_exec::execute_error(error, out) == Effect::Close {
                    return Some(MetaStep::Close);
                }
                if let Some(remaining) = error.swallow {
                    self.state = State::Swallow { remaining };
                }
                return Some(MetaStep::Advance(consumed));
            }
            meta::Parsed::Complete { request, consumed } => (request, consumed),
        };
        let meta::Command::Set { data_len, .. } = request.command else {
            meta_exec::execute(&request, b"", store, now, out);
            return Some(MetaStep::Advance(line_len));
        };
        if !store.fits(request.key.bytes().len(), data_len as usize) {
            meta_exec::refuse_too_large(&request, store, now, out);
            self.state = State::Swallow {
                remaining: data_len as usize + 2,
            };
            return Some(MetaStep::Advance(line_len));
        }
        Some(match parse_data_block(&rest[line_len..], data_len) {
            DataBlock::Incomplete { needed } => MetaStep::Wait(Some(needed)),
            DataBlock::BadChunk { consumed } => {
                meta_exec::bad_data_chunk(out);
                MetaStep::Advance(line_len + consumed)
            }
            DataBlock::Complete { data, consumed } => {
                meta_exec::execute(&request, data, store, now, out);
                MetaStep::Advance(line_len + consumed)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memcached::store::StoreConfig;
    use crate::memcached::testkit::{self, NOW};

    type Conversation = testkit::Conversation<TextSession>;

    #[test]
    fn storage_commands() {
        let mut c = Conversation::new();
        c.expect(b"set a 5 0 3\r\nabc\r\n", b"STORED\r\n");
        c.expect(b"get a\r\n", b"VALUE a 5 3\r\nabc\r\nEND\r\n");
        c.expect(b"add a 0 0 1\r\nx\r\n", b"NOT_STORED\r\n");
        c.expect(b"add b 0 0 1\r\nx\r\n", b"STORED\r\n");
        c.expect(b"replace c 0 0 1\r\nx\r\n", b"NOT_STORED\r\n");
        c.expect(b"replace b 0 0 1\r\ny\r\n", b"STORED\r\n");
        c.expect(b"append a 0 0 2\r\nde\r\n", b"STORED\r\n");
        c.expect(b"prepend a 0 0 2\r\n__\r\n", b"STORED\r\n");
        c.expect(b"append nope 0 0 2\r\nde\r\n", b"NOT_STORED\r\n");
        c.expect(
            b"get a b nope\r\n",
            b"VALUE a 5 7\r\n__abcde\r\nVALUE b 0 1\r\ny\r\nEND\r\n",
        );
        c.expect(b"set empty 0 0 0\r\n\r\n", b"STORED\r\n");
        c.expect(b"get empty\r\n", b"VALUE empty 0 0\r\n\r\nEND\r\n");
        c.expect(b"set binary 0 0 4\r\n\r\n\0\xff\r\n", b"STORED\r\n");
        c.expect(b"get binary\r\n", b"VALUE binary 0 4\r\n\r\n\0\xff\r\nEND\r\n");
    }

    #[test]
    fn cache_memlimit_as_memcached_answers_it() {
        let mut c = Conversation::new();
        c.expect(b"cache_memlimit 100\r\n", b"OK\r\n");
        assert_eq!(c.stat("limit_maxbytes"), (100 * 1024 * 1024).to_string());
        c.expect(
            b"cache_memlimit 7\r\n",
            b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n",
        );
        c.expect(
            b"cache_memlimit 1000000001\r\n",
            b"MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n",
        );
        c.expect(b"cache_memlimit x\r\n", b"ERROR\r\n");
        c.expect(b"cache_memlimit 64 noreply\r\n", b"");
        c.expect(b"cache_memlimit\r\n", b"ERROR\r\n");
        assert_eq!(c.stat("limit_maxbytes"), (64 * 1024 * 1024).to_string());
    }

    #[test]
    fn gets_and_cas() {
        let mut c = Conversation::new();
        c.expect(b"cas k 0 0 1 1\r\nx\r\n", b"NOT_FOUND\r\n");
        c.expect(b"set k 0 0 1\r\nx\r\n", b"STORED\r\n");
        c.expect(b"gets k\r\n", b"VALUE k 0 1 1\r\nx\r\nEND\r\n");
        c.expect(b"cas k 0 0 1 2\r\ny\r\n", b"EXISTS\r\n");
        c.expect(b"cas k 0 0 1 1\r\ny\r\n", b"STORED\r\n");
        c.expect(b"cas k 0 0 1 1\r\nz\r\n", b"EXISTS\r\n");
        c.expect(b"gets k\r\n", b"VALUE k 0 1 2\r\ny\r\nEND\r\n");
        c.expect(b"cas k 0 0 1 2 noreply\r\nz\r\n", b"");
        c.expect(b"gets k\r\n", b"VALUE k 0 1 3\r\nz\r\nEND\r\n");
        assert_eq!(c.stat("cas_misses"), "1");
        assert_eq!(c.stat("cas_hits"), "2");
        assert_eq!(c.stat("cas_badval"), "2");
    }

    #[test]
    fn delete_incr_decr_touch() {
        let mut c = Conversation::new();
        c.expect(b"delete k\r\n", b"NOT_FOUND\r\n");
        c.expect(b"set k 0 0 2\r\n10\r\n", b"STORED\r\n");
        c.expect(b"incr k 5\r\n", b"15\r\n");
        c.expect(b"decr k 100\r\n", b"0\r\n");
        c.expect(b"get k\r\n", b"VALUE k 0 2\r\n0 \r\nEND\r\n");
        c.expect(b"incr k 18446744073709551615\r\n", b"18446744073709551615\r\n");
        c.expect(b"incr k 2\r\n", b"1\r\n");
        c.expect(b"incr nope 1\r\n", b"NOT_FOUND\r\n");
        c.expect(b"set s 0 0 3\r\nabc\r\n", b"STORED\r\n");
        c.expect(
            b"incr s 1\r\n",
            b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
        );
        c.expect(
            b"incr k abc\r\n",
            b"CLIENT_ERROR invalid numeric delta argument\r\n",
        );
        c.expect(
            b"incr k -1\r\n",
            b"CLIENT_ERROR invalid numeric delta argument\r\n",
        );
        c.expect(b"incr k 1 noreply\r\n", b"");
        c.expect(b"touch k 10\r\n", b"TOUCHED\r\n");
        c.expect(b"touch nope 10\r\n", b"NOT_FOUND\r\n");
        c.expect(b"touch k abc\r\n", b"CLIENT_ERROR invalid exptime argument\r\n");
        c.now += 10;
        c.expect(b"get k\r\n", b"END\r\n");
        c.expect(b"delete s\r\n", b"DELETED\r\n");
        c.expect(b"delete s\r\n", b"NOT_FOUND\r\n");
        c.expect(b"set s 0 0 1\r\nx\r\n", b"STORED\r\n");
        c.expect(b"delete s 0 noreply\r\n", b"");
        c.expect(b"get s\r\n", b"END\r\n");
        c.expect(
            b"delete s 10\r\n",
            b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n",
        );
    }

    #[test]
    fn gat_and_gats() {
        let mut c = Conversation::new();
        c.expect(b"set k 3 0 1\r\nv\r\n", b"STORED\r\n");
        c.expect(b"gat 10 k nope\r\n", b"VALUE k 3 1\r\nv\r\nEND\r\n");
        c.expect(b"gats 10 k\r\n", b"VALUE k 3 1 1\r\nv\r\nEND\r\n");
        c.expect(b"gat 10\r\n", b"END\r\n");
        c.expect(b"gat x k\r\n", b"CLIENT_ERROR invalid exptime argument\r\n");
        c.now += 10;
        c.expect(b"get k\r\n", b"END\r\n");
        assert_eq!(c.stat("cmd_touch"), "3");
        assert_eq!(c.stat("touch_hits"), "2");
        assert_eq!(c.stat("get_expired"), "1");
    }

    #[test]
    fn expiry_through_the_protocol() {
        let mut c = Conversation::new();
        c.expect(b"set neg 0 -1 1\r\nx\r\n", b"STORED\r\n");
        c.expect(b"get neg\r\n", b"END\r\n");
        c.expect(b"set thirty 0 2592000 1\r\nx\r\n", b"STORED\r\n");
        c.expect(b"set past 0 2592001 1\r\nx\r\n", b"STORED\r\n");
        c.expect(b"get thirty past\r\n", b"VALUE thirty 0 1\r\nx\r\nEND\r\n");
        c.expect(b"touch thirty -1\r\n", b"TOUCHED\r\n");
        c.expect(b"get thirty\r\n", b"END\r\n");
    }

    #[test]
    fn flush_all() {
        let mut c = Conversation::new();
        c.expect(b"set a 0 0 1\r\n1\r\n", b"STORED\r\n");
        c.expect(b"flush_all\r\n", b"OK\r\n");
        c.expect(b"get a\r\n", b"END\r\n");
        c.expect(b"set a 0 0 1\r\n1\r\n", b"STORED\r\n");
        c.expect(b"flush_all 2 noreply\r\n", b"");
        c.now += 1;
        c.expect(b"get a\r\n", b"VALUE a 0 1\r\n1\r\nEND\r\n");
        c.now += 1;
        c.expect(b"get a\r\n", b"END\r\n");
        c.expect(b"flush_all x\r\n", b"CLIENT_ERROR invalid exptime argument\r\n");
        c.expect(b"flush_all 1 2 3\r\n", b"ERROR\r\n");
        assert_eq!(c.stat("cmd_flush"), "2");
        assert_eq!(c.stat("get_flushed"), "2");
    }

    #[test]
    fn noreply_everywhere() {
        let mut c = Conversation::new();
        for req in [
            &b"set a 0 0 1 noreply\r\n1\r\n"[..],
            b"add b 0 0 1 noreply\r\n1\r\n",
            b"replace a 0 0 1 noreply\r\n2\r\n",
            b"append a 0 0 1 noreply\r\n3\r\n",
            b"prepend a 0 0 1 noreply\r\n4\r\n",
            b"incr b 1 noreply\r\n",
            b"decr b 1 noreply\r\n",
            b"touch a 0 noreply\r\n",
            b"delete b noreply\r\n",
            b"verbosity 1 noreply\r\n",
            b"flush_all 0 noreply\r\n",
            // Errors are silenced too once noreply was seen...
            b"set a 0 0 x noreply\r\n",
            b"incr a x noreply\r\n",
        ] {
            c.expect(req, b"");
        }
        // ...but not a wrong token count, checked before noreply.
        c.expect(b"set a noreply\r\n", b"ERROR\r\n");
        c.expect(b"get a\r\n", b"END\r\n");
    }

    #[test]
    fn bad_data_chunk_keeps_the_connection_in_sync() {
        let mut c = Conversation::new();
        // The block is read as 3 + 2 bytes; what follows is the next command line.
        c.expect(
            b"set k 0 0 3\r\nabcd\r\n",
            b"CLIENT_ERROR bad data chunk\r\nERROR\r\n",
        );
        c.expect(b"get k\r\n", b"END\r\n");
        // Exactly 5 bytes ("abc\ng") are the block; "et k" is then an unknown command.
        c.expect(
            b"set k 0 0 3\r\nabc\nget k\r\n",
            b"CLIENT_ERROR bad data chunk\r\nERROR\r\n",
        );
        c.expect(b"set k 0 0 1\r\nx\r\n", b"STORED\r\n");
        c.expect(b"get k\r\n", b"VALUE k 0 1\r\nx\r\nEND\r\n");
    }

    #[test]
    fn bad_chunk_then_next_line() {
        let mut c = Conversation::new();
        c.expect(
            b"set k 0 0 3\r\nabc\ngget k\r\n",
            b"CLIENT_ERROR bad data chunk\r\nEND\r\n",
        );
        c.expect(b"set k 0 0 1 noreply\r\nxyz\r\n", b"ERROR\r\n");
        c.expect(b"get k\r\n", b"END\r\n");
    }

    #[test]
    fn too_large_is_swallowed_without_buffering() {
        let mut c = Conversation::with(StoreConfig {
            item_size_max: 1024,
            ..StoreConfig::default()
        });
        c.expect(b"set k 0 0 1\r\nx\r\n", b"STORED\r\n");
        // The header alone gets the error; the block is discarded as it arrives.
        c.expect(
            b"set k 0 0 5000\r\n",
            b"SERVER_ERROR object too large for cache\r\n",
        );
        assert!(c.session.is_swallowing());
        for _ in 0..4 {
            c.expect(&[b'z'; 1000], b"");
            assert!(c.pending().is_empty(), "swallowed bytes are never buffered");
        }
        c.expect(&[b'z'; 1000], b"");
        c.expect(b"\r\nget k\r\n", b"END\r\n"); // the old value went with the failed set
        assert!(!c.session.is_swallowing());
        c.expect(b"add k 0 0 2000 noreply\r\n", b"");
        c.expect(&vec![b'q'; 2002], b"");
        c.expect(b"set k 0 0 1\r\nx\r\n", b"STORED\r\n");
        assert_eq!(c.stat("store_too_large"), "2");
    }

    #[test]
    fn out_of_memory_without_eviction() {
        let mut c = Conversation::with(StoreConfig {
            max_bytes: 200,
            evict: false,
            ..StoreConfig::default()
        });
        c.expect(b"set a 0 0 50\r\n", b"");
        c.expect(&[b'x'; 52][..50], b"");
        c.expect(b"\r\n", b"STORED\r\n");
        c.expect(
            &[&b"set b 0 0 60\r\n"[..], &[b'y'; 60], b"\r\n"].concat(),
            b"SERVER_ERROR out of memory storing object\r\n",
        );
        c.expect(
            b"get a b\r\n",
            &[&b"VALUE a 0 50\r\n"[..], &[b'x'; 50], b"\r\nEND\r\n"].concat(),
        );
        assert_eq!(c.stat("store_no_memory"), "1");
    }

    #[test]
    fn bad_lines_then_a_good_one() {
        let mut c = Conversation::new();
        c.expect(b"set k 0 0 1\r\nv\r\n", b"STORED\r\n");
        let long_key = format!("get {}\r\n", "k".repeat(251));
        for (req, reply) in [
            (&b"bogus\r\n"[..], &b"ERROR\r\n"[..]),
            (b"\r\n", b"ERROR\r\n"),
            (b"GET k\r\n", b"ERROR\r\n"),
            (long_key.as_bytes(), b"CLIENT_ERROR bad command line format\r\n"),
            (b"set k 0 0 -1\r\n", b"CLIENT_ERROR bad command line format\r\n"),
            (b"set k 0 0\r\n", b"ERROR\r\n"),
            (b"verbosity\r\n", b"ERROR\r\n"),
            (b"shutdown\r\n", b"ERROR: shutdown not enabled\r\n"),
            (b"stats nonsense\r\n", b"ERROR\r\n"),
        ] {
            c.expect(req, reply);
            c.expect(b"get k\r\n", b"VALUE k 0 1\r\nv\r\nEND\r\n");
        }
        // A refused storage line leaves its data to be read as a command.
        let long_set = format!("set {} 0 0 1\r\nv\r\n", "k".repeat(251));
        c.expect(
            long_set.as_bytes(),
            b"CLIENT_ERROR bad command line format\r\nERROR\r\n",
        );
        c.expect(b"get k\r\n", b"VALUE k 0 1\r\nv\r\nEND\r\n");
    }

    #[test]
    fn lines_without_newline() {
        let mut c = Conversation::new();
        c.expect(&[b'x'; 2048], b"");
        assert!(!c.closed);
        c.expect(b"x", b"");
        assert!(c.closed, "no newline after 2048 bytes closes");

        let mut c = Conversation::new();
        c.expect(
            b"set k1 0 0 1\r\na\r\nset k2 0 0 1\r\nb\r\n",
            b"STORED\r\nSTORED\r\n",
        );
        let mut line = b"get".to_vec();
        for i in 0..900 {
            line.extend_from_slice(format!(" k{}", i % 3).as_bytes());
        }
        assert!(line.len() > 2048);
        c.expect(&line, b"");
        assert!(!c.closed);
        let reply = c.send(b"\r\n");
        assert_eq!(reply.len(), 600 * 17 + 5);
        assert!(reply.starts_with(b"VALUE k1 0 1\r\na\r\nVALUE k2 0 1\r\nb\r\nVALUE k1"));
        assert!(reply.ends_with(b"END\r\n"));
        c.expect(b"version\r\n", b"VERSION 1.6.38-torsion\r\n");
    }

    #[test]
    fn pipelining_and_quit() {
        let mut c = Conversation::new();
        c.expect(
            b"set a 0 0 1\r\n1\r\nget a\r\nversion\r\nquit\r\nget a\r\n",
            b"STORED\r\nVALUE a 0 1\r\n1\r\nEND\r\nVERSION 1.6.38-torsion\r\n",
        );
        assert!(c.closed);
        assert_eq!(c.pending(), b"get a\r\n", "nothing after quit is consumed");
    }

    #[test]
    fn every_split_gives_the_same_replies() {
        let script: &[u8] = b"set a 0 0 3\r\nabc\r\nget a b\r\nincr n 1\r\nset n 0 0 1\r\n9\r\n\
incr n 1\r\nappend a 0 0 1\r\nd\r\nset x 0 0 1\r\nxx\r\ngets a\r\nbogus\r\ndelete a\r\n";
        let mut whole = Conversation::new();
        let expected = whole.send(script);
        assert!(expected.ends_with(b"DELETED\r\n"), "{}", expected.escape_ascii());
        for cut in 0..script.len() {
            let mut c = Conversation::new();
            let mut got = c.send(&script[..cut]);
            got.extend(c.send(&script[cut..]));
            assert_eq!(got, expected, "split at {cut}");
        }
        let mut c = Conversation::new();
        let mut got = Vec::new();
        for b in script {
            got.extend(c.send(&[*b]));
        }
        assert_eq!(got, expected, "byte by byte");
    }

    #[test]
    fn meta_commands_split_anywhere() {
        let script: &[u8] = b"ms a 3 T10 c\r\nabc\r\nmg a v t c Ox k\r\nset n 0 0 1\r\n5\r\n\
ma n v D2\r\nms big 99999999 q\r\nmd a q\r\nmg a v q\r\nms b 1 q\r\nxy\r\nme n\r\nmn\r\n";
        let mut whole = Conversation::new();
        let expected = whole.send(script);
        assert_eq!(
            expected.escape_ascii().to_string(),
            concat!(
                "HD c1\\r\\nVA 3 t10 c1 Ox ka\\r\\nabc\\r\\nSTORED\\r\\nVA 1\\r\\n7\\r\\n",
                "SERVER_ERROR object too large for cache\\r\\n"
            )
        );
        // Everything after the too-large ms is its block, being swallowed.
        let mut c = Conversation::new();
        let mut got = Vec::new();
        for b in script {
            got.extend(c.send(&[*b]));
        }
        assert_eq!(got, expected, "byte by byte");
        for cut in 0..script.len() {
            let mut c = Conversation::new();
            let mut got = c.send(&script[..cut]);
            got.extend(c.send(&script[cut..]));
            assert_eq!(got, expected, "split at {cut}");
        }
        let tail: &[u8] = b"md a q\r\nmg a v q\r\nms b 1 q\r\nxy\r\nme n\r\nmn\r\n";
        let mut c = Conversation::new();
        c.expect(b"set n 0 0 1\r\n7\r\n", b"STORED\r\n");
        c.expect(
            tail,
            b"NF\r\nCLIENT_ERROR bad data chunk\r\nERROR\r\nME n exp=-1 la=0 cas=1 fetch=no cls=1 size=61\r\nMN\r\n",
        );
    }

    #[test]
    fn stats_output() {
        let mut c = Conversation::new();
        c.server.reactor.push(("reactor_wakeups", 7));
        c.expect(
            b"set a 0 0 1\r\n1\r\nget a nope\r\n",
            b"STORED\r\nVALUE a 0 1\r\n1\r\nEND\r\n",
        );
        let stats = String::from_utf8(c.send(b"stats\r\n")).unwrap();
        assert!(stats.starts_with(&format!(
            "STAT pid {}\r\nSTAT uptime 100\r\nSTAT time {NOW}\r\n",
            std::process::id()
        )));
        assert!(stats.ends_with("STAT reactor_wakeups 7\r\nEND\r\n"));
        for line in stats.lines() {
            assert!(line == "END" || line.split(' ').count() == 3, "{line}");
        }
        for (name, value) in [
            ("version", "1.6.38-torsion"),
            ("cmd_get", "2"),
            ("cmd_set", "1"),
            ("get_hits", "1"),
            ("get_misses", "1"),
            ("curr_items", "1"),
            ("total_items", "1"),
            ("bytes", "74"),
            ("limit_maxbytes", "67108864"),
            ("threads", "1"),
            ("rusage_user", "0.000000"),
        ] {
            assert_eq!(c.stat(name), value, "{name}");
        }
        let settings = c.send(b"stats settings\r\n");
        assert!(settings.starts_with(b"STAT maxbytes 67108864\r\n"));
        assert!(settings.ends_with(b"STAT lru_crawler yes\r\nEND\r\n"));
        c.now += 5;
        let items = String::from_utf8(c.send(b"stats items\r\n")).unwrap();
        assert!(
            items.starts_with("STAT items:1:number 1\r\nSTAT items:1:age 5\r\n"),
            "{items}"
        );
        let slabs = String::from_utf8(c.send(b"stats slabs\r\n")).unwrap();
        assert!(
            slabs.starts_with("STAT 1:chunk_size 48\r\nSTAT 1:total_chunks 1\r\n"),
            "{slabs}"
        );
        assert!(slabs.ends_with("STAT active_slabs 1\r\nSTAT total_malloced 74\r\nEND\r\n"));
        c.expect(b"stats sizes\r\n", b"STAT sizes_status disabled\r\nEND\r\n");
        c.expect(b"stats reset\r\n", b"RESET\r\n");
        assert_eq!(c.stat("get_hits"), "0");
        assert_eq!(c.stat("curr_items"), "1");
        assert_eq!(c.stat("reactor_wakeups"), "0");
        c.expect(b"delete a\r\n", b"DELETED\r\n");
        c.expect(b"stats items\r\n", b"END\r\n");
        c.expect(b"verbosity 5\r\n", b"OK\r\n");
        assert_eq!(c.server.verbosity, 2);
    }

    /// Pieces of conversation, good and bad, for the property tests.
    const PIECES: &[&[u8]] = &[
        b"set a 0 0 3\r\nabc\r\n",
        b"set n 0 0 2\r\n10\r\n",
        b"get a n zz\r\n",
        b"gets a\r\n",
        b"gat 100 a\r\n",
        b"incr n 7\r\n",
        b"decr n 100 noreply\r\n",
        b"append a 0 0 1\r\nd\r\n",
        b"cas a 0 0 1 99\r\nx\r\n",
        b"delete n\r\n",
        b"touch a -1\r\n",
        b"flush_all 1\r\n",
        b"set big 0 0 2000\r\n",
        b"set k 0 0 3\r\nabcd\r\n",
        b"bogus\r\n",
        b"stats\r\n",
        b"\r\n",
        b"ms m 3 T100 c\r\nabc\r\n",
        b"ms m 2000 q\r\n",
        b"ms m 3 v v\r\n",
        b"ms m 1 q\r\nxyz\r\n",
        b"mg m v t c q\r\n",
        b"mg m s N30 R10 k Oz\r\n",
        b"md m I T30 q\r\n",
        b"ma n N0 J5 MD v\r\n",
        b"me m\r\n",
        b"mn\r\n",
        b"mx\r\n",
    ];

    fn run(stream: &[u8], chunks: &[usize]) -> (Vec<u8>, bool) {
        let mut c = Conversation::with(StoreConfig {
            item_size_max: 1024,
            ..StoreConfig::default()
        });
        let mut replies = Vec::new();
        let mut fed = 0;
        let mut sizes = chunks.iter().copied().chain(std::iter::repeat(usize::MAX));
        while fed < stream.len() && !c.closed {
            let n = sizes.next().unwrap_or(1).clamp(1, stream.len() - fed);
            replies.extend(c.send(&stream[fed..fed + n]));
            fed += n;
        }
        (replies, c.closed)
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
            let _ = run(&bytes, &[usize::MAX]);
        }

        #[test]
        fn chunking_never_changes_replies(
            picks in proptest::collection::vec(0..PIECES.len(), 1..16),
            chunks in proptest::collection::vec(1usize..64, 0..80),
        ) {
            let stream: Vec<u8> = picks.iter().flat_map(|&i| PIECES[i].iter().copied()).collect();
            let whole = run(&stream, &[usize::MAX]);
            proptest::prop_assert_eq!(run(&stream, &chunks), whole);
        }
    }

    #[test]
    fn crawler_and_eviction_stats() {
        let mut c = Conversation::with(StoreConfig {
            max_bytes: 3 * 80,
            ..StoreConfig::default()
        });
        c.expect(
            b"set a 0 1 1\r\n1\r\nset b 0 0 1\r\n2\r\nset c 0 0 1\r\n3\r\n",
            b"STORED\r\nSTORED\r\nSTORED\r\n",
        );
        c.now += 1;
        assert_eq!(c.store.crawl(c.now, 10), 1);
        c.expect(
            b"set d 0 0 1\r\n4\r\nset e 0 0 1\r\n5\r\n",
            b"STORED\r\nSTORED\r\n",
        );
        assert_eq!(c.stat("crawler_reclaimed"), "1");
        assert_eq!(c.stat("expired_unfetched"), "1");
        assert_eq!(c.stat("evictions"), "1");
        assert_eq!(c.stat("evicted_unfetched"), "1");
        c.expect(
            b"get b c d e\r\n",
            b"VALUE c 0 1\r\n3\r\nVALUE d 0 1\r\n4\r\nVALUE e 0 1\r\n5\r\nEND\r\n",
        );
    }
}
