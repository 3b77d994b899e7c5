//! One conversation, sans-I/O: bytes in, replies out, in any [`Dialect`].
//!
//! The connection layer keeps a read buffer, calls [`Session::feed`] with
//! everything buffered, drops the `consumed` bytes, writes the replies, and
//! does what [`Feed::next`] says. Nothing here knows about sockets: the same
//! loop serves a TCP stream, and will serve a UDP datagram's requests.
//!
//! What the loop decides, once for every dialect:
//!
//! - **The output budget.** Once a call's replies pass [`OUTPUT_BUDGET`], it
//!   stops before the next request and yields ([`Next::Yield`]): a few bytes
//!   of pipelined `get`s can ask for megabytes of values. So can one `get`
//!   of many keys: a request that answers in parts stops *between its parts*
//!   too ([`Execute::execute_part`]); the session keeps its line unconsumed,
//!   remembers how many keys were answered, and the next call parses the
//!   line again and goes on from the next key. A reply of any size is so
//!   composed a budget at a time as the peer reads it, never whole. A
//!   budget of 0 ([`Session::with_budget`]) makes every call answer one
//!   request, or one key: UDP sends each as its own message, as memcached.
//!   So it does after the server's requests per event (memcached's `-R`,
//!   default 20), so that one client's pipeline does not keep the others
//!   waiting.
//! - **Waiting for a value.** A request followed by a value (`set`, `ms`,
//!   a binary `set`) is checked against the item size limit as soon as its
//!   head is in; then the session waits until the value is buffered whole.
//!   While it waits it remembers where the value ends, so a value arriving in
//!   many reads costs no parsing at all until its last byte; the head is then
//!   parsed again (a few dozen bytes), so nothing borrowed outlives a call.
//! - **Refusing what cannot be stored.** A value too large to store is
//!   answered at once and *swallowed*: the session remembers how many bytes
//!   to skip and consumes them as they come, never buffering them, which
//!   bounds the read buffer by the item size limit plus one request head.
//!   So is the body of a binary command memcached answers and skips, and the
//!   block of an `ms` refused once its length was known.
//! - **A value not followed by its trailer** (`\r\n` in the text protocols)
//!   is answered `CLIENT_ERROR bad data chunk`, and what follows is read as
//!   the next request, as in memcached.
//! - **Closing.** After `quit`, a line too long, a bad magic byte or a binary
//!   packet refused for its lengths, [`Next::Close`]: write what is queued,
//!   then close; nothing after is consumed.
//!
//! State is an enum (design rule 8): reading requests, waiting for a value,
//! or swallowing.
//!
//! # Examples
//!
//! ```
//! use torsion_servers::memcached::dialect::{Ascii, ExecCtx};
//! use torsion_servers::memcached::exec::ServerStats;
//! use torsion_servers::memcached::session::{Next, Session};
//! use torsion_servers::memcached::store::{Store, StoreConfig};
//!
//! let now = 1_700_000_000;
//! let (mut store, mut server) = (Store::new(StoreConfig::default()), ServerStats::new(now));
//! let mut out = Vec::new();
//! let mut cx = ExecCtx { store: &mut store, server: &mut server, now, out: &mut out };
//! let mut session = Session::<Ascii>::new();
//! // Half a storage command: nothing consumed, the block is awaited.
//! let fed = session.feed(b"set k 0 0 5\r\nhel", &mut cx);
//! assert_eq!((fed.consumed, fed.next), (0, Next::Wait { needed: Some(4) }));
//! let fed = session.feed(b"set k 0 0 5\r\nhello\r\nquit\r\nget k\r\n", &mut cx);
//! assert_eq!((fed.consumed, fed.next), (26, Next::Close));
//! assert_eq!(out, b"STORED\r\n");
//! ```

use torsion_protocols::memcache::body::{BadChunk, Body, Head, Refusal};
use torsion_protocols::{Decoder, Parsed};

use super::dialect::{Dialect, Effect, ExecCtx, Execute, Part, Step};

/// Once a call's replies pass this many bytes, `feed` stops before the next
/// request. A few bytes of pipelined `get`s can ask for megabytes of values;
/// without this budget one read could produce an unbounded reply.
pub const OUTPUT_BUDGET: usize = 256 * 1024;

/// What [`Session::feed`] did with its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Feed {
    /// Bytes of the input used; drop them from the read buffer.
    pub consumed: usize,
    /// What to do next.
    pub next: Next,
}

/// Why [`Session::feed`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The rest of the input is an incomplete request: read more, and call
    /// again with the unconsumed bytes and the new ones.
    Wait {
        /// When a value is on its way: how many more bytes it needs (a hint
        /// to size the read buffer).
        needed: Option<usize>,
    },
    /// Write the replies, then close the connection; the rest of the input
    /// is ignored.
    Close,
    /// The executor asked for another dialect ([`Effect::Upgrade`]): the
    /// rest of the input belongs to a new session.
    Upgrade,
    /// The replies reached [`OUTPUT_BUDGET`] with whole requests still
    /// unprocessed: write them, and call again (with the unconsumed input)
    /// once the peer has read them.
    Yield,
}

impl Feed {
    fn wait(consumed: usize, needed: Option<usize>) -> Self {
        Feed {
            consumed,
            next: Next::Wait { needed },
        }
    }

    fn close(consumed: usize) -> Self {
        Feed {
            consumed,
            next: Next::Close,
        }
    }

    fn upgrade(consumed: usize) -> Self {
        Feed {
            consumed,
            next: Next::Upgrade,
        }
    }

    /// Whether the connection must close.
    pub fn closes(&self) -> bool {
        self.next == Next::Close
    }
}

/// What the session is doing between calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading requests.
    Ready,
    /// The request at the start of the input has a `head` of this many bytes
    /// and fits; `total` bytes of value (and trailer) follow it.
    Value {
        /// Bytes of the request's head (a line, or a binary header with its
        /// extras and key: far below 4 GiB; a `u32` keeps the state at 16
        /// bytes, next to the tag).
        head: u32,
        /// Bytes of its value and trailer.
        total: usize,
    },
    /// Discarding this many more bytes of a refused value or body.
    Swallow {
        /// Bytes still to discard.
        remaining: usize,
    },
    /// The request at the start of the input stopped at the output budget
    /// with this many of its parts (a `get`'s keys) answered.
    Suspended {
        /// Parts answered.
        done: usize,
    },
}

/// Bytes of a text or binary [`Session`]: its parser's scan position (8),
/// its state (16), its output budget (8). Every connection holds one.
pub const SESSION_BYTES: usize = 32;

const _: () = assert!(std::mem::size_of::<Session<super::dialect::Ascii>>() <= SESSION_BYTES);
const _: () = assert!(std::mem::size_of::<Session<super::dialect::Binary>>() <= SESSION_BYTES);

/// A conversation over one connection, in dialect `D`.
pub struct Session<D: Dialect> {
    parser: D::Parser,
    executor: D::Executor,
    state: State,
    /// Replies composed per call before it yields.
    budget: usize,
}

impl<D: Dialect> std::fmt::Debug for Session<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<D: Dialect> Default for Session<D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D: Dialect> Session<D> {
    /// A session at the start of a connection, with the [`OUTPUT_BUDGET`].
    pub fn new() -> Self {
        Self::with_budget(OUTPUT_BUDGET)
    }

    /// A session that yields once a call's replies reach `budget` bytes (0:
    /// after every request, and between the keys of a `get`).
    pub fn with_budget(budget: usize) -> Self {
        Session {
            parser: D::Parser::default(),
            executor: D::Executor::default(),
            state: State::Ready,
            budget,
        }
    }

    /// Whether the session is discarding a refused value or body (bytes
    /// that arrive then are not requests).
    pub fn is_swallowing(&self) -> bool {
        matches!(self.state, State::Swallow { .. })
    }

    /// Handles every complete request at the start of `input`, appending the
    /// replies to `cx.out`; see the module docs for when it stops.
    pub fn feed(&mut self, input: &[u8], cx: &mut ExecCtx<'_>) -> Feed {
        let mut pos = 0;
        let mut served = 0;
        let per_event = cx.server.options.reqs_per_event as usize;
        // -o read_buf_mem_limit: the reply parts one call may hold.
        let max_parts = super::limits::response_parts(&cx.server.options);
        let replies_from = cx.out.len();
        // Whether a request (or a part of one) was answered in this call:
        // every call answers at least one, whatever the budget.
        let mut stepped = false;
        loop {
            if stepped && (cx.out.len() >= self.budget || served >= per_event) && pos < input.len() {
                return Feed {
                    consumed: pos,
                    next: Next::Yield,
                };
            }
            stepped = true;
            if max_parts.is_some_and(|max| served >= max) && pos < input.len() {
                // As memcached: the connection closes without the replies
                // it could not hold.
                cx.server.response_obj_oom += 1;
                cx.out.truncate(replies_from);
                return Feed::close(pos);
            }
            let rest = &input[pos..];
            match self.state {
                State::Swallow { remaining } => {
                    let skip = remaining.min(rest.len());
                    pos += skip;
                    if skip < remaining {
                        self.state = State::Swallow {
                            remaining: remaining - skip,
                        };
                        return Feed::wait(pos, None);
                    }
                    self.state = State::Ready;
                    continue;
                }
                State::Value { head, total } if rest.len() < head as usize + total => {
                    return Feed::wait(pos, Some(head as usize + total - rest.len()));
                }
                State::Value { .. } | State::Ready | State::Suspended { .. } => {}
            }
            // Parts of the request at the start of `rest` answered before.
            let done = match self.state {
                State::Suspended { done } => {
                    self.state = State::Ready;
                    done
                }
                _ => 0,
            };
            let (request, head) = match self.parser.decode(rest) {
                Parsed::Incomplete => return Feed::wait(pos, None),
                Parsed::Error(error) => {
                    served += 1;
                    pos += error.consumed();
                    match self.executor.refuse(cx, &error) {
                        Effect::Close => return Feed::close(pos),
                        Effect::Upgrade => return Feed::upgrade(pos),
                        Effect::Continue => {}
                    }
                    if error.swallow() > 0 {
                        self.state = State::Swallow {
                            remaining: error.swallow(),
                        };
                    }
                    continue;
                }
                Parsed::Complete(request, head) => {
                    served += 1;
                    (request, head)
                }
            };
            let effect = match request.body() {
                Body::None => {
                    let part = Part {
                        done,
                        budget: self.budget,
                    };
                    match self.executor.execute_part(cx, &request, b"", part) {
                        Step::Done(effect) => {
                            pos += head;
                            effect
                        }
                        Step::Suspended { done } => {
                            // The line stays in the input, to be parsed again.
                            self.state = State::Suspended { done };
                            return Feed {
                                consumed: pos,
                                next: Next::Yield,
                            };
                        }
                    }
                }
                Body::Discard(len) => {
                    pos += head;
                    self.state = State::Swallow { remaining: len };
                    self.executor.execute(cx, &request, b"")
                }
                Body::Value(block) => {
                    // The size limit is checked once, when the head is first seen.
                    if self.state == State::Ready && !cx.store.fits(block.key_len, block.len) {
                        self.executor.too_large(cx, &request);
                        pos += head;
                        self.state = State::Swallow {
                            remaining: block.total(),
                        };
                        continue;
                    }
                    match block.take(&rest[head..]) {
                        Parsed::Incomplete => {
                            let total = block.total();
                            // (A head past u32::MAX cannot be; as 0 it
                            // would only end the wait early, and the head
                            // would be parsed again.)
                            self.state = State::Value {
                                head: u32::try_from(head).unwrap_or(0),
                                total,
                            };
                            return Feed::wait(pos, Some(head + total - rest.len()));
                        }
                        Parsed::Error(BadChunk { consumed }) => {
                            self.state = State::Ready;
                            pos += head + consumed;
                            self.executor.bad_chunk(cx, &request);
                            Effect::Continue
                        }
                        Parsed::Complete(value, consumed) => {
                            self.state = State::Ready;
                            pos += head + consumed;
                            self.executor.execute(cx, &request, value)
                        }
                    }
                }
            };
            match effect {
                Effect::Close => return Feed::close(pos),
                Effect::Upgrade => return Feed::upgrade(pos),
                Effect::Continue => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use torsion_protocols::memcache::ascii::{self, Refused};
    use torsion_protocols::memcache::line::LineError;
    use torsion_protocols::{Decoder, Parsed};

    use super::{Next, Session, OUTPUT_BUDGET};
    use crate::memcached::dialect::{Ascii, AsciiExec, Dialect, ExecCtx};
    use crate::memcached::testkit;

    type Conversation = testkit::Conversation<Ascii>;

    thread_local! {
        /// Calls of [`Counting::decode`] on this thread.
        static DECODES: Cell<usize> = const { Cell::new(0) };
    }

    /// The text connection's decoder, counting its calls.
    #[derive(Debug, Default)]
    struct Counting(ascii::RequestDecoder);

    impl Decoder for Counting {
        type Message<'a> = ascii::Request<'a>;
        type Error = LineError<Refused>;

        fn decode<'a>(&mut self, input: &'a [u8]) -> Parsed<ascii::Request<'a>, LineError<Refused>> {
            DECODES.with(|calls| calls.set(calls.get() + 1));
            self.0.decode(input)
        }
    }

    /// The text dialect with a [`Counting`] parser.
    struct Counted;

    impl Dialect for Counted {
        type Parser = Counting;
        type Executor = AsciiExec;
    }

    #[test]
    fn a_value_arriving_a_byte_at_a_time_is_not_parsed_again_and_again() {
        let mut c = testkit::Conversation::<Counted>::new();
        let line = b"set k 0 0 100000\r\n";
        for byte in line {
            c.expect(&[*byte], b"");
        }
        let on_the_line = DECODES.with(Cell::get);
        assert_eq!(on_the_line, line.len(), "one call per read of the line");
        for _ in 0..100_000 {
            c.expect(b"v", b"");
        }
        c.expect(b"\r", b"");
        assert_eq!(
            DECODES.with(Cell::get),
            on_the_line,
            "the wait for the value costs no parsing"
        );
        c.expect(b"\n", b"STORED\r\n");
        // The line is parsed once more when the value is whole; then the
        // (empty) rest is looked at.
        assert_eq!(DECODES.with(Cell::get), on_the_line + 2);
        assert_eq!(c.send(b"get k\r\n").len(), 18 + 100_000 + 2 + 5);
    }

    #[test]
    fn too_large_is_swallowed_without_buffering() {
        let mut c = Conversation::with("item_size_max=1024");
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

    /// Feeds `input` (dropping what is consumed) until the session stops
    /// yielding; returns the replies of each call.
    fn calls(c: &mut Conversation, input: &mut Vec<u8>) -> (Vec<Vec<u8>>, Next) {
        let mut replies = Vec::new();
        loop {
            let mut out = Vec::new();
            let mut cx = ExecCtx {
                store: &mut c.store,
                server: &mut c.server,
                now: c.now,
                out: &mut out,
            };
            let fed = c.session.feed(input, &mut cx);
            input.drain(..fed.consumed);
            replies.push(out);
            if fed.next != Next::Yield {
                return (replies, fed.next);
            }
        }
    }

    /// `set a 0 0 LEN` of `v`s, and its `VALUE` in a `get` reply.
    fn big_value(c: &mut Conversation, len: usize) -> Vec<u8> {
        let head = format!("set a 0 0 {len}\r\n");
        let value = vec![b'v'; len];
        c.expect(&[head.as_bytes(), &value, b"\r\n"].concat(), b"STORED\r\n");
        [format!("VALUE a 0 {len}\r\n").as_bytes(), &value, b"\r\n"].concat()
    }

    #[test]
    fn one_get_larger_than_the_budget_is_answered_a_budget_at_a_time() {
        let mut c = Conversation::new();
        let one = big_value(&mut c, 100_000);
        let mut input = format!("get{} nokey\r\nversion\r\n", " a".repeat(68)).into_bytes();
        let (replies, next) = calls(&mut c, &mut input);
        assert_eq!(next, Next::Wait { needed: None });
        assert!(input.is_empty());
        // Each call stops at the first key past the budget.
        let per_call = OUTPUT_BUDGET.div_ceil(one.len());
        assert_eq!(replies.len(), 68usize.div_ceil(per_call));
        for reply in &replies {
            assert!(reply.len() < OUTPUT_BUDGET + one.len(), "{}", reply.len());
        }
        let mut expected = one.repeat(68);
        expected.extend_from_slice(b"END\r\nVERSION 1.6.38-torsion\r\n");
        assert_eq!(replies.concat(), expected);
        // Every key was looked up once.
        assert_eq!(c.stat("get_hits"), "68");
        assert_eq!(c.stat("get_misses"), "1");
    }

    #[test]
    fn a_suspended_get_resumes_with_its_line_arriving_a_byte_at_a_time() {
        let mut c = Conversation::new();
        let one = big_value(&mut c, 100_000);
        let line = format!("gets{}\r\n", " a".repeat(10));
        let mut replies = Vec::new();
        let mut input = Vec::new();
        for byte in line.bytes() {
            input.push(byte);
            let (got, next) = calls(&mut c, &mut input);
            replies.extend(got.concat());
            assert_eq!(next, Next::Wait { needed: None });
        }
        assert!(input.is_empty());
        let with_cas = [b"VALUE a 0 100000 1\r\n", &one[b"VALUE a 0 100000\r\n".len()..]].concat();
        let mut expected = with_cas.repeat(10);
        expected.extend_from_slice(b"END\r\n");
        assert_eq!(replies, expected);
        // And resumed with the peer reading a byte at a time: every call
        // answers at least one key, and the next line waits its turn.
        let mut input = format!("gat 0{}\r\nget a\r\n", " a".repeat(5)).into_bytes();
        let mut c1 = Conversation::new();
        let one = big_value(&mut c1, 300_000);
        let (replies, _) = calls(&mut c1, &mut input);
        assert_eq!(replies.len(), 6, "one key per call, then the next line");
        assert_eq!(replies[0], one);
        assert_eq!(replies[4], [&one[..], b"END\r\n"].concat());
        assert_eq!(replies[5], replies[4]);
        assert_eq!(c1.stat("touch_hits"), "5");
    }

    #[test]
    fn a_budget_of_zero_answers_one_request_or_key_per_call() {
        let mut c = Conversation::new();
        c.session = Session::with_budget(0);
        c.expect(b"set a 0 0 1\r\nx\r\n", b"STORED\r\n");
        let mut input = b"get a b a\r\nset b 0 0 1 noreply\r\ny\r\nmn\r\n".to_vec();
        let (replies, next) = calls(&mut c, &mut input);
        assert_eq!(next, Next::Wait { needed: None });
        let replies: Vec<String> = replies.iter().map(|r| r.escape_ascii().to_string()).collect();
        assert_eq!(
            replies,
            [
                "VALUE a 0 1\\r\\nx\\r\\n",
                "",
                "VALUE a 0 1\\r\\nx\\r\\nEND\\r\\n",
                "",
                "MN\\r\\n"
            ]
        );
    }

    #[test]
    fn a_binary_body_over_a_gibibyte_closes_without_swallowing() {
        use torsion_protocols::memcache::binary::{self, opcode};
        let mut c = testkit::Conversation::<crate::memcached::dialect::Binary>::new();
        let mut set = Vec::new();
        binary::write_request(&mut set, opcode::SET, 7, 0, &[0; 8], b"k", b"");
        set[8..12].copy_from_slice(&(1u32 << 31).to_be_bytes());
        let reply = c.send(&set);
        assert!(c.closed, "the connection closes");
        assert!(!c.session.is_swallowing());
        assert_eq!(
            &reply[..8],
            &[0x81, opcode::SET, 0, 0, 0, 0, 0, 4],
            "Invalid arguments"
        );
        assert_eq!(&reply[24..], b"Invalid arguments");
        // Just over the item size limit: Too large., the body skipped as it
        // comes, and the connection goes on.
        let mut c = testkit::Conversation::<crate::memcached::dialect::Binary>::with("item_size_max=1024");
        let mut set = Vec::new();
        binary::write_request(&mut set, opcode::SET, 7, 0, &[0; 8], b"k", &[b'v'; 2000]);
        let reply = c.send(&set[..100]);
        assert_eq!(&reply[24..], b"Too large.");
        assert!(c.session.is_swallowing());
        let mut rest = set[100..].to_vec();
        binary::write_request(&mut rest, opcode::NOOP, 8, 0, &[], b"", b"");
        let reply = c.send(&rest);
        assert_eq!((reply.len(), reply[1]), (24, opcode::NOOP));
        assert!(!c.closed);
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

    fn run(stream: &[u8], reads: &[usize]) -> (Vec<u8>, bool) {
        Conversation::in_reads(stream, reads, "item_size_max=1024")
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
            let _ = run(&bytes, &[usize::MAX]);
        }

        #[test]
        fn the_budget_never_changes_replies(
            picks in proptest::collection::vec(0..PIECES.len(), 1..16),
            budget in 0usize..64,
        ) {
            let stream: Vec<u8> = picks.iter().flat_map(|&i| PIECES[i].iter().copied()).collect();
            let mut whole = Conversation::with("item_size_max=1024");
            let mut stepped = Conversation::with("item_size_max=1024");
            stepped.session = Session::with_budget(budget);
            proptest::prop_assert_eq!(stepped.send(&stream), whole.send(&stream));
            proptest::prop_assert_eq!(stepped.closed, whole.closed);
            proptest::prop_assert_eq!(stepped.pending(), whole.pending());
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
}
