//! One binary-protocol conversation, sans-I/O: bytes in, response packets out.
//!
//! The connection layer picks this session when a connection's first byte is
//! 0x80 (memcached's `try_read_command_negotiate`), then drives it exactly as
//! it drives a [`TextSession`](super::session::TextSession): call
//! [`BinarySession::feed`] with everything buffered, drop `consumed` bytes,
//! write `out`, close when told to.
//!
//! A packet is handled once its header, extras and key are in; a `set` or
//! `append` also waits for its whole value (nothing is copied: the packet is
//! re-parsed from the buffer, 24 bytes of header, until the value is there).
//! A value too large to store is answered at once with `E2BIG` and
//! *swallowed* as it arrives, never buffered; so is the body of an unknown or
//! SASL command. The read buffer is thus bounded by one header, extras and key
//! (at most 24 + 255 + 65,535 bytes) plus the item size limit.
//!
//! State is an enum (design rule 8): reading packets, or swallowing.
//!
//! # Examples
//!
//! ```
//! use torsion_servers::memcached::binary_session::BinarySession;
//! use torsion_servers::memcached::exec::ServerStats;
//! use torsion_servers::memcached::store::{Store, StoreConfig};
//!
//! let now = 1_700_000_000;
//! let (mut store, mut server) = (Store::new(StoreConfig::default()), ServerStats::new(now));
//! let mut session = BinarySession::new();
//! let mut out = Vec::new();
//! // A quit packet, byte by byte: nothing happens until the header is whole.
//! let quit = [0x80, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
//! let fed = session.feed(&quit[..23], &mut store, &mut server, now, &mut out);
//! assert_eq!((fed.consumed, fed.close, fed.needed), (0, false, Some(1)));
//! let fed = session.feed(&quit, &mut store, &mut server, now, &mut out);
//! assert!(fed.close);
//! assert_eq!(out[..2], [0x81, 0x07]);
//! ```

use torsion_protocols::memcache::binary::{parse, Command, Parsed};

use super::binary_exec::{execute, is_too_large, refuse_too_large};
use super::exec::{Effect, ServerStats};
use super::session::{Feed, OUTPUT_BUDGET};
use super::store::Store;

/// What the session is doing between calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a packet (or waiting for a store's value).
    Packet,
    /// Discarding this many more bytes of a refused value or body.
    Swallow {
        /// Bytes still to discard.
        remaining: usize,
    },
}

/// A binary-protocol conversation over one connection.
#[derive(Debug, Clone)]
pub struct BinarySession {
    state: State,
}

impl Default for BinarySession {
    fn default() -> Self {
        Self::new()
    }
}

impl BinarySession {
    /// A session at the start of a connection.
    pub fn new() -> Self {
        BinarySession { state: State::Packet }
    }

    /// Whether the session is discarding a refused value or body.
    pub fn is_swallowing(&self) -> bool {
        matches!(self.state, State::Swallow { .. })
    }

    /// Handles every complete request at the start of `input`, appending the
    /// responses to `out`. Stops at the first incomplete packet (`needed` then
    /// says how many more bytes it takes at least), or at `quit`, a bad magic
    /// byte or a refused packet (`close` is set; the rest is ignored).
    pub fn feed(
        &mut self,
        input: &[u8],
        store: &mut Store,
        server: &mut ServerStats,
        now: u32,
        out: &mut Vec<u8>,
    ) -> Feed {
        let mut pos = 0;
        let wait = Feed::wait;
        let close = Feed::close;
        loop {
            // Pipelined gets can ask for far more than one read's worth of
            // replies: stop at the budget, as the text session does.
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
                    return wait(pos, None);
                }
                self.state = State::Packet;
            }
            let rest = &input[pos..];
            if rest.is_empty() {
                return wait(pos, None);
            }
            let (request, consumed) = match parse(rest) {
                Parsed::Incomplete { needed } => return wait(pos, Some(needed)),
                Parsed::BadMagic => return close(pos),
                Parsed::Complete { request, consumed } => (request, consumed),
            };
            let value_len = request.value_len();
            match request.command {
                Command::Store { .. } | Command::Concat { .. } => {
                    if is_too_large(&request, store) {
                        refuse_too_large(&request, store, now, out);
                        pos += consumed;
                        self.state = State::Swallow { remaining: value_len };
                        continue;
                    }
                    let end = consumed.saturating_add(value_len);
                    let Some(value) = rest.get(consumed..end) else {
                        return wait(pos, Some(end - rest.len()));
                    };
                    let _ = execute(&request, value, store, server, now, out);
                    pos += end;
                }
                Command::Sasl | Command::Unknown => {
                    let _ = execute(&request, b"", store, server, now, out);
                    pos += consumed;
                    self.state = State::Swallow { remaining: value_len };
                }
                _ => {
                    pos += consumed;
                    if execute(&request, b"", store, server, now, out) == Effect::Close {
                        return close(pos);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memcached::store::StoreConfig;
    use crate::memcached::testkit::{Conversation, NOW};
    use torsion_protocols::memcache::binary::{opcode::*, write_response, Status, NO_CREATE};

    type Client = Conversation<BinarySession>;

    /// The binary conversation's own shortcut.
    trait SetShortcut {
        /// Stores `value` under `key` and returns its CAS.
        fn set(&mut self, key: &[u8], value: &[u8]) -> u64;
    }

    impl SetShortcut for Client {
        fn set(&mut self, key: &[u8], value: &[u8]) -> u64 {
            let reply = self.send(&req(SET, &set_extras(0, 0), key, value, 0));
            assert_eq!(reply[..8], [0x81, SET, 0, 0, 0, 0, 0, 0]);
            u64::from_be_bytes(reply[16..24].try_into().unwrap())
        }
    }
    const OPAQUE: u32 = 0xdead_beef;

    /// A request packet.
    fn req(op: u8, extras: &[u8], key: &[u8], value: &[u8], cas: u64) -> Vec<u8> {
        let mut p = vec![0x80, op];
        p.extend_from_slice(&(key.len() as u16).to_be_bytes());
        p.push(extras.len() as u8);
        p.extend_from_slice(&[0, 0, 0]);
        p.extend_from_slice(&((extras.len() + key.len() + value.len()) as u32).to_be_bytes());
        p.extend_from_slice(&OPAQUE.to_be_bytes());
        p.extend_from_slice(&cas.to_be_bytes());
        p.extend_from_slice(extras);
        p.extend_from_slice(key);
        p.extend_from_slice(value);
        p
    }

    /// A request with no extras, key or value.
    fn bare(op: u8) -> Vec<u8> {
        req(op, &[], &[], &[], 0)
    }

    fn set_extras(flags: u32, exptime: u32) -> Vec<u8> {
        [flags.to_be_bytes(), exptime.to_be_bytes()].concat()
    }

    fn arith_extras(delta: u64, initial: u64, exptime: u32) -> Vec<u8> {
        [
            &delta.to_be_bytes()[..],
            &initial.to_be_bytes(),
            &exptime.to_be_bytes(),
        ]
        .concat()
    }

    /// A response packet.
    fn resp(op: u8, status: Status, cas: u64, extras: &[u8], key: &[u8], value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_response(&mut out, op, status, OPAQUE, cas, extras, key, value);
        out
    }

    fn ok(op: u8, cas: u64) -> Vec<u8> {
        resp(op, Status::Success, cas, &[], &[], &[])
    }

    fn err(op: u8, status: Status) -> Vec<u8> {
        resp(op, status, 0, &[], &[], status.message())
    }

    #[test]
    fn noop_version_and_exact_bytes() {
        let mut c = Client::new();
        c.expect(
            &bare(NOOP),
            &[
                0x81, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
        );
        c.expect(
            &bare(VERSION),
            &resp(VERSION, Status::Success, 0, &[], &[], b"1.6.38-torsion"),
        );
    }

    #[test]
    fn quit_and_quitq_close() {
        let mut c = Client::new();
        let mut two = bare(QUIT);
        two.extend_from_slice(&bare(NOOP));
        c.expect(&two, &ok(QUIT, 0));
        assert!(c.closed);
        assert_eq!(c.pending(), bare(NOOP), "nothing after quit is consumed");
        let mut c = Client::new();
        c.expect(&bare(QUITQ), b"");
        assert!(c.closed);
    }

    #[test]
    fn set_get_and_key_variants() {
        let mut c = Client::new();
        let key = b"test_binary_get";
        c.expect(&req(GET, &[], key, &[], 0), &err(GET, Status::KeyNotFound));
        c.expect(
            &req(GETK, &[], key, &[], 0),
            &resp(GETK, Status::KeyNotFound, 0, &[], key, &[]),
        );
        c.expect(&req(GETQ, &[], key, &[], 0), b"");
        c.expect(&req(GETKQ, &[], key, &[], 0), b"");
        c.expect(&req(SET, &set_extras(0xcafe, 0), key, b"value", 0), &ok(SET, 1));
        let flags = 0xcafe_u32.to_be_bytes();
        for (op, with_key) in [(GET, false), (GETQ, false), (GETK, true), (GETKQ, true)] {
            let k: &[u8] = if with_key { key } else { b"" };
            c.expect(
                &req(op, &[], key, &[], 0),
                &resp(op, Status::Success, 1, &flags, k, b"value"),
            );
        }
        // The text protocol sees the same item.
        let mut text = crate::memcached::session::TextSession::new();
        let mut out = Vec::new();
        let _ = text.feed(
            b"gets test_binary_get\r\n",
            &mut c.store,
            &mut c.server,
            NOW,
            &mut out,
        );
        assert_eq!(out, b"VALUE test_binary_get 51966 5 1\r\nvalue\r\nEND\r\n");
    }

    #[test]
    fn set_with_cas_and_quiet_sets() {
        let mut c = Client::new();
        let key = b"k";
        let e = set_extras(0, 0);
        // A CAS on a missing key is not found; with the right CAS, stored.
        c.expect(&req(SET, &e, key, b"v", 5), &err(SET, Status::KeyNotFound));
        let cas = c.set(key, b"v");
        c.expect(&req(SET, &e, key, b"w", cas), &ok(SET, cas + 1));
        c.expect(&req(SET, &e, key, b"x", cas), &err(SET, Status::KeyExists));
        // Quiet: success is silent, errors are not, and keep the SETQ opcode.
        c.expect(&req(SETQ, &e, key, b"y", 0), b"");
        c.expect(&req(SETQ, &e, key, b"z", 1), &err(SETQ, Status::KeyExists));
        let mut pipeline = req(SETQ, &e, key, b"q", 0);
        pipeline.extend_from_slice(&req(GETQ, &[], key, &[], 0));
        pipeline.extend_from_slice(&bare(NOOP));
        c.expect(
            &pipeline,
            &[resp(GETQ, Status::Success, 4, &[0; 4], &[], b"q"), ok(NOOP, 0)].concat(),
        );
        // An add with a CAS is a compare-and-swap, as in memcached.
        c.expect(&req(ADD, &e, key, b"a", 4), &ok(ADD, 5));
        c.expect(&req(ADD, &e, key, b"a", 4), &err(ADD, Status::KeyExists));
        c.expect(
            &req(REPLACE, &e, b"nope", b"a", 4),
            &err(REPLACE, Status::KeyNotFound),
        );
    }

    #[test]
    fn add_and_replace() {
        let mut c = Client::new();
        let e = set_extras(3, 0);
        c.expect(&req(ADD, &e, b"a", b"1", 0), &ok(ADD, 1));
        c.expect(&req(ADD, &e, b"a", b"1", 0), &err(ADD, Status::KeyExists));
        c.expect(&req(ADDQ, &e, b"b", b"1", 0), b"");
        c.expect(&req(ADDQ, &e, b"b", b"1", 0), &err(ADDQ, Status::KeyExists));
        c.expect(
            &req(REPLACE, &e, b"c", b"1", 0),
            &err(REPLACE, Status::KeyNotFound),
        );
        c.expect(
            &req(REPLACEQ, &e, b"c", b"1", 0),
            &err(REPLACEQ, Status::KeyNotFound),
        );
        c.expect(&req(REPLACE, &e, b"a", b"2", 0), &ok(REPLACE, 3));
        c.expect(&req(REPLACEQ, &e, b"a", b"3", 0), b"");
        c.expect(
            &req(GET, &[], b"a", &[], 0),
            &resp(GET, Status::Success, 4, &3u32.to_be_bytes(), &[], b"3"),
        );
    }

    #[test]
    fn delete() {
        let mut c = Client::new();
        c.expect(&req(DELETE, &[], b"k", &[], 0), &err(DELETE, Status::KeyNotFound));
        c.expect(
            &req(DELETEQ, &[], b"k", &[], 0),
            &err(DELETEQ, Status::KeyNotFound),
        );
        let cas = c.set(b"k", b"v");
        c.expect(
            &req(DELETE, &[], b"k", &[], cas + 1),
            &err(DELETE, Status::KeyExists),
        );
        c.expect(&req(DELETE, &[], b"k", &[], cas), &ok(DELETE, 0));
        c.set(b"k", b"v");
        c.expect(&req(DELETEQ, &[], b"k", &[], 0), b"");
        c.expect(&req(GET, &[], b"k", &[], 0), &err(GET, Status::KeyNotFound));
    }

    #[test]
    fn incr_and_decr() {
        let mut c = Client::new();
        let value = |n: u64| n.to_be_bytes();
        // memccapable's test: created at the initial value, then counted.
        let incr = req(INCREMENT, &arith_extras(1, 0, 0), b"n", &[], 0);
        c.expect(&incr, &resp(INCREMENT, Status::Success, 1, &[], &[], &value(0)));
        c.expect(&incr, &resp(INCREMENT, Status::Success, 2, &[], &[], &value(1)));
        let decr = req(DECREMENT, &arith_extras(5, 9, 0), b"d", &[], 0);
        c.expect(&decr, &resp(DECREMENT, Status::Success, 3, &[], &[], &value(9)));
        c.expect(&decr, &resp(DECREMENT, Status::Success, 4, &[], &[], &value(4)));
        c.expect(&decr, &resp(DECREMENT, Status::Success, 5, &[], &[], &value(0)));
        // Quiet on success.
        c.expect(&req(INCREMENTQ, &arith_extras(7, 0, 0), b"n", &[], 0), b"");
        c.expect(&req(DECREMENTQ, &arith_extras(1, 0, 0), b"n", &[], 0), b"");
        c.expect(
            &req(INCREMENT, &arith_extras(0, 0, 0), b"n", &[], 0),
            &resp(INCREMENT, Status::Success, 8, &[], &[], &value(7)),
        );
        // 0xffffffff: do not create.
        let no_create = arith_extras(1, 0, NO_CREATE);
        c.expect(
            &req(INCREMENT, &no_create, b"x", &[], 0),
            &err(INCREMENT, Status::KeyNotFound),
        );
        c.expect(
            &req(DECREMENTQ, &no_create, b"x", &[], 0),
            &err(DECREMENTQ, Status::KeyNotFound),
        );
        // Wrap at 2^64.
        c.expect(
            &req(INCREMENT, &arith_extras(u64::MAX, 0, 0), b"n", &[], 0),
            &resp(INCREMENT, Status::Success, 9, &[], &[], &value(6)),
        );
        // CAS.
        c.expect(
            &req(INCREMENT, &arith_extras(1, 0, 0), b"n", &[], 1),
            &err(INCREMENT, Status::KeyExists),
        );
        c.expect(
            &req(INCREMENT, &arith_extras(1, 0, 0), b"n", &[], 9),
            &resp(INCREMENT, Status::Success, 10, &[], &[], &value(7)),
        );
        c.set(b"s", b"abc");
        c.expect(
            &req(INCREMENT, &arith_extras(1, 0, 0), b"s", &[], 0),
            &err(INCREMENT, Status::DeltaBadValue),
        );
        // A created counter expires as asked.
        c.expect(
            &req(INCREMENT, &arith_extras(1, 5, 10), b"e", &[], 0),
            &resp(INCREMENT, Status::Success, 12, &[], &[], &value(5)),
        );
        c.now += 10;
        c.expect(&req(GET, &[], b"e", &[], 0), &err(GET, Status::KeyNotFound));
    }

    #[test]
    fn append_and_prepend() {
        let mut c = Client::new();
        c.expect(&req(APPEND, &[], b"k", b"x", 0), &err(APPEND, Status::NotStored));
        c.expect(
            &req(PREPENDQ, &[], b"k", b"x", 0),
            &err(PREPENDQ, Status::NotStored),
        );
        c.set(b"k", b"hello");
        c.expect(&req(APPEND, &[], b"k", b" world", 0), &ok(APPEND, 2));
        c.expect(&req(PREPENDQ, &[], b"k", b">", 0), b"");
        c.expect(&req(APPENDQ, &[], b"k", b"<", 0), b"");
        c.expect(
            &req(PREPEND, &[], b"k", b"!", 1),
            &err(PREPEND, Status::KeyExists),
        );
        c.expect(&req(PREPEND, &[], b"k", b"!", 4), &ok(PREPEND, 5));
        c.expect(
            &req(GET, &[], b"k", &[], 0),
            &resp(GET, Status::Success, 5, &[0; 4], &[], b"!>hello world<"),
        );
    }

    #[test]
    fn flush() {
        let mut c = Client::new();
        c.set(b"a", b"1");
        c.expect(&bare(FLUSH), &ok(FLUSH, 0));
        c.expect(&req(GET, &[], b"a", &[], 0), &err(GET, Status::KeyNotFound));
        c.set(b"a", b"1");
        c.expect(&req(FLUSHQ, &0u32.to_be_bytes(), &[], &[], 0), b"");
        c.expect(&req(GET, &[], b"a", &[], 0), &err(GET, Status::KeyNotFound));
        // Delayed.
        c.set(b"a", b"1");
        c.expect(&req(FLUSH, &5u32.to_be_bytes(), &[], &[], 0), &ok(FLUSH, 0));
        c.now += 4;
        assert!(c.store.peek(b"a", c.now).is_some());
        c.now += 1;
        c.expect(&req(GETQ, &[], b"a", &[], 0), b"");
    }

    #[test]
    fn touch_and_gat() {
        let mut c = Client::new();
        let ttl = 10u32.to_be_bytes();
        c.expect(&req(TOUCH, &ttl, b"k", &[], 0), &err(TOUCH, Status::KeyNotFound));
        c.expect(&req(GAT, &ttl, b"k", &[], 0), &err(GAT, Status::KeyNotFound));
        c.expect(&req(GATQ, &ttl, b"k", &[], 0), b"");
        c.expect(
            &req(GATK, &ttl, b"k", &[], 0),
            &resp(GATK, Status::KeyNotFound, 0, &[], b"k", &[]),
        );
        c.expect(&req(GATKQ, &ttl, b"k", &[], 0), b"");
        c.expect(&req(SET, &set_extras(7, 0), b"k", b"v", 0), &ok(SET, 1));
        let flags = 7u32.to_be_bytes();
        c.expect(
            &req(TOUCH, &ttl, b"k", &[], 0),
            &resp(TOUCH, Status::Success, 1, &flags, &[], &[]),
        );
        for (op, key) in [(GAT, &b""[..]), (GATQ, b""), (GATK, b"k"), (GATKQ, b"k")] {
            c.expect(
                &req(op, &ttl, b"k", &[], 0),
                &resp(op, Status::Success, 1, &flags, key, b"v"),
            );
        }
        c.now += 9;
        c.expect(
            &req(GAT, &20u32.to_be_bytes(), b"k", &[], 0),
            &resp(GAT, Status::Success, 1, &flags, &[], b"v"),
        );
        c.now += 19;
        c.expect(
            &req(GETQ, &[], b"k", &[], 0),
            &resp(GETQ, Status::Success, 1, &flags, &[], b"v"),
        );
        c.now += 1;
        c.expect(&req(GETQ, &[], b"k", &[], 0), b"");
    }

    /// Splits a run of stat packets into (name, value) pairs; checks each.
    fn stat_packets(mut bytes: &[u8]) -> Vec<(String, String)> {
        let mut stats = Vec::new();
        loop {
            assert!(bytes.len() >= 24);
            assert_eq!(bytes[..2], [0x81, STAT]);
            assert_eq!(bytes[4..8], [0, 0, 0, 0], "no extras, status success");
            assert_eq!(bytes[16..24], [0; 8], "cas 0");
            let key_len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
            let body = u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
            let (packet, rest) = bytes.split_at(24 + body);
            if key_len == 0 {
                assert_eq!(body, 0);
                assert!(rest.is_empty(), "the empty packet ends the stats");
                return stats;
            }
            let name = String::from_utf8(packet[24..24 + key_len].to_vec()).unwrap();
            let value = String::from_utf8(packet[24 + key_len..].to_vec()).unwrap();
            stats.push((name, value));
            bytes = rest;
        }
    }

    #[test]
    fn stats() {
        let mut c = Client::new();
        c.set(b"a", b"1");
        let general = stat_packets(&c.send(&bare(STAT)));
        assert_eq!(general[0], ("pid".into(), std::process::id().to_string()));
        assert!(general.contains(&("version".into(), "1.6.38-torsion".into())));
        assert!(general.contains(&("cmd_set".into(), "1".into())));
        assert!(general.contains(&("curr_items".into(), "1".into())));
        let items = stat_packets(&c.send(&req(STAT, &[], b"items", &[], 0)));
        assert_eq!(items[0], ("items:1:number".into(), "1".into()));
        let settings = stat_packets(&c.send(&req(STAT, &[], b"settings", &[], 0)));
        assert_eq!(settings[0], ("maxbytes".into(), "67108864".into()));
        assert!(!stat_packets(&c.send(&req(STAT, &[], b"slabs", &[], 0))).is_empty());
        assert_eq!(
            stat_packets(&c.send(&req(STAT, &[], b"sizes", &[], 0))),
            [("sizes_status".into(), "disabled".into())]
        );
        // reset: the terminator alone, and the counters are zero.
        c.expect(&req(STAT, &[], b"reset", &[], 0), &ok(STAT, 0));
        let general = stat_packets(&c.send(&bare(STAT)));
        assert!(general.contains(&("cmd_set".into(), "0".into())));
        for unknown in [&b"nonsense"[..], b"item", b"detail", b"detail x"] {
            c.expect(&req(STAT, &[], unknown, &[], 0), &err(STAT, Status::KeyNotFound));
        }
        c.expect(&req(STAT, &[], b"detail on", &[], 0), &ok(STAT, 0));
        c.expect(&req(STAT, &[], b"detail off", &[], 0), &ok(STAT, 0));
        c.expect(
            &req(STAT, &[], b"detail dump", &[], 0),
            &[
                resp(STAT, Status::Success, 0, &[], b"detailed", b"END\r\n"),
                ok(STAT, 0),
            ]
            .concat(),
        );
    }

    #[test]
    fn extra_stat_body_is_read_as_the_next_packet() {
        // memcached reads only header, extras and key for a stat: here the
        // body's last 24 bytes are a whole noop packet.
        let mut c = Client::new();
        let mut p = req(STAT, &[], b"reset", &bare(NOOP), 0);
        p.truncate(24 + 5 + 24);
        c.expect(&p, &[ok(STAT, 0), ok(NOOP, 0)].concat());
        // The same for touch.
        let mut p = req(TOUCH, &5u32.to_be_bytes(), b"k", &bare(NOOP), 0);
        p.truncate(24 + 4 + 1 + 24);
        c.expect(&p, &[err(TOUCH, Status::KeyNotFound), ok(NOOP, 0)].concat());
    }

    #[test]
    fn sasl_verbosity_and_unknown_opcodes_are_unknown_commands() {
        let mut c = Client::new();
        c.expect(
            &bare(SASL_LIST_MECHS),
            &err(SASL_LIST_MECHS, Status::UnknownCommand),
        );
        // The auth data is swallowed, even when it arrives later.
        let auth = req(SASL_AUTH, &[], b"PLAIN", b"\0user\0password", 0);
        c.expect(&auth[..40], &err(SASL_AUTH, Status::UnknownCommand));
        assert!(c.session.is_swallowing());
        c.expect(&auth[40..], b"");
        c.expect(&bare(NOOP), &ok(NOOP, 0));
        c.expect(
            &req(SASL_STEP, &[], b"PLAIN", b"x", 0),
            &err(SASL_STEP, Status::UnknownCommand),
        );
        c.expect(
            &req(VERBOSITY, &1u32.to_be_bytes(), &[], &[], 0),
            &err(VERBOSITY, Status::UnknownCommand),
        );
        for op in [0x1f, 0x25, 0x30, 0x83, 0xff] {
            let mut p = req(op, &[1, 2, 3], b"key", b"some value", 0);
            p.extend_from_slice(&bare(NOOP));
            c.expect(&p, &[err(op, Status::UnknownCommand), ok(NOOP, 0)].concat());
        }
        assert!(!c.closed);
    }

    #[test]
    fn invalid_packets_close_after_the_error() {
        // Key longer than the body: Unknown command.
        let mut c = Client::new();
        let mut p = req(GET, &[], b"key", &[], 0);
        p[11] = 1;
        c.expect(&p, &err(GET, Status::UnknownCommand));
        assert!(c.closed);
        // Key over 250 bytes: Invalid arguments, whatever the opcode.
        for op in [GET, SET, 0x77] {
            let mut c = Client::new();
            c.expect(
                &req(op, &[], &[b'k'; 251], &[], 0),
                &err(op, Status::InvalidArguments),
            );
            assert!(c.closed);
        }
        // Lengths that do not fit the opcode.
        for p in [
            req(GET, &[0; 4], b"k", &[], 0),
            req(GETQ, &[], b"k", b"v", 0),
            req(SET, &[0; 4], b"k", b"v", 0),
            req(NOOP, &[], b"k", &[], 0),
            req(DELETE, &[], &[], &[], 0),
            req(INCREMENT, &[0; 8], b"k", &[], 0),
            req(FLUSH, &[0; 2], &[], &[], 0),
            req(QUITQ, &[], &[], b"x", 0),
        ] {
            let mut c = Client::new();
            c.set(b"k", b"v");
            c.expect(&p, &err(p[1], Status::InvalidArguments));
            assert!(c.closed);
        }
        // A bad magic byte closes without a word, even after good packets.
        let mut c = Client::new();
        let mut p = bare(NOOP);
        p.extend_from_slice(b"get k\r\n");
        c.expect(&p, &ok(NOOP, 0));
        assert!(c.closed);
    }

    #[test]
    fn too_large_values_are_refused_at_once_and_swallowed() {
        let mut c = Client::with(StoreConfig {
            item_size_max: 1024,
            ..StoreConfig::default()
        });
        c.set(b"k", b"old");
        let big = vec![b'x'; 5000];
        let p = req(SETQ, &set_extras(0, 0), b"k", &big, 0);
        // The error comes with the header; the old value is gone.
        c.expect(&p[..33], &err(SETQ, Status::TooLarge));
        assert!(c.session.is_swallowing());
        for chunk in p[33..].chunks(700) {
            c.expect(chunk, b"");
            assert!(c.pending().is_empty(), "swallowed bytes are never buffered");
        }
        c.expect(&req(GET, &[], b"k", &[], 0), &err(GET, Status::KeyNotFound));
        // Append: E2BIG too, the old value stays.
        c.set(b"a", b"old");
        let mut p = req(APPEND, &[], b"a", &big, 0);
        p.extend_from_slice(&req(GET, &[], b"a", &[], 0));
        c.expect(
            &p,
            &[
                err(APPEND, Status::TooLarge),
                resp(GET, Status::Success, 2, &[0; 4], &[], b"old"),
            ]
            .concat(),
        );
        // A value that fits alone but not appended: not stored.
        let p = req(APPEND, &[], b"a", &vec![b'y'; 1024 - 72 - 2], 0);
        c.expect(&p, &err(APPEND, Status::NotStored));
        let stats = stat_packets(&c.send(&bare(STAT)));
        assert!(
            stats.contains(&("store_too_large".into(), "2".into())),
            "{stats:?}"
        );
    }

    #[test]
    fn out_of_memory_without_eviction() {
        let mut c = Client::with(StoreConfig {
            max_bytes: 200,
            evict: false,
            ..StoreConfig::default()
        });
        c.set(b"a", &[b'x'; 50]);
        c.expect(
            &req(SET, &set_extras(0, 0), b"b", &[b'y'; 60], 0),
            &resp(
                SET,
                Status::OutOfMemory,
                0,
                &[],
                &[],
                b"Out of memory allocating item",
            ),
        );
        c.expect(
            &req(INCREMENT, &arith_extras(1, 12345678901234567, 0), b"c", &[], 0),
            &resp(
                INCREMENT,
                Status::OutOfMemory,
                0,
                &[],
                &[],
                b"Out of memory allocating new item",
            ),
        );
    }

    /// Every opcode, good and bad, ending with a quit, for the split tests.
    fn script() -> Vec<u8> {
        let e = set_extras(1, 0);
        let ttl = 100u32.to_be_bytes();
        [
            req(SET, &e, b"a", b"hello", 0),
            req(GETK, &[], b"a", &[], 0),
            req(GETKQ, &[], b"a", &[], 0),
            req(GETQ, &[], b"zz", &[], 0),
            req(GETKQ, &[], b"zz", &[], 0),
            req(SETQ, &e, b"b", b"x", 0),
            req(ADD, &e, b"a", b"x", 0),
            req(ADDQ, &e, b"c", b"x", 0),
            req(REPLACE, &e, b"c", b"y", 0),
            req(REPLACEQ, &e, b"nope", b"y", 0),
            req(SET, &e, b"a", b"cas?", 99),
            req(APPEND, &[], b"a", b"!", 0),
            req(APPENDQ, &[], b"a", b"!", 0),
            req(PREPEND, &[], b"a", b"<", 0),
            req(PREPENDQ, &[], b"nope", b"<", 0),
            req(INCREMENT, &arith_extras(2, 40, 0), b"n", &[], 0),
            req(INCREMENTQ, &arith_extras(2, 40, 0), b"n", &[], 0),
            req(DECREMENT, &arith_extras(1, 0, NO_CREATE), b"m", &[], 0),
            req(DECREMENTQ, &arith_extras(1, 0, 0), b"n", &[], 0),
            req(INCREMENT, &arith_extras(1, 0, 0), b"a", &[], 0),
            req(GAT, &ttl, b"a", &[], 0),
            req(GATQ, &ttl, b"zz", &[], 0),
            req(GATK, &ttl, b"a", &[], 0),
            req(GATKQ, &ttl, b"a", &[], 0),
            req(TOUCH, &1u32.to_be_bytes(), b"b", &[], 0),
            req(DELETE, &[], b"c", &[], 0),
            req(DELETEQ, &[], b"b", &[], 0),
            req(DELETEQ, &[], b"b", &[], 0),
            bare(SASL_LIST_MECHS),
            req(SASL_AUTH, &[], b"PLAIN", b"secret", 0),
            req(SASL_STEP, &[], b"PLAIN", b"more", 0),
            req(VERBOSITY, &1u32.to_be_bytes(), &[], &[], 0),
            req(0x50, &[9], b"k", b"junk", 0),
            req(SET, &e, b"big", &[b'z'; 3000], 0),
            req(STAT, &[], b"items", &[], 0),
            req(STAT, &[], b"reset", &[], 0),
            req(STAT, &[], b"nope", &[], 0),
            bare(VERSION),
            req(FLUSH, &5u32.to_be_bytes(), &[], &[], 0),
            req(FLUSHQ, &[], &[], &[], 0),
            req(GET, &[], b"a", &[], 0),
            bare(NOOP),
            bare(QUIT),
            bare(NOOP),
        ]
        .concat()
    }

    fn run(stream: &[u8], chunks: &[usize]) -> (Vec<u8>, bool) {
        let mut c = Client::with(StoreConfig {
            item_size_max: 2048,
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

    #[test]
    fn byte_by_byte_and_every_split_give_the_same_replies() {
        let stream = script();
        let (whole, closed) = run(&stream, &[usize::MAX]);
        assert!(closed, "the quit closes, the last noop is never answered");
        assert!(whole.ends_with(&[ok(NOOP, 0), ok(QUIT, 0)].concat()));
        assert_eq!(run(&stream, &[1; 9000]), (whole.clone(), true), "byte by byte");
        for cut in (1..stream.len()).step_by(7) {
            assert_eq!(run(&stream, &[cut]).0, whole, "split at {cut}");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
            let mut stream = vec![0x80];
            stream.extend_from_slice(&bytes);
            let _ = run(&stream, &[usize::MAX]);
            let _ = run(&bytes, &[3, 17, 1, 64]);
        }

        #[test]
        fn chunking_never_changes_replies(
            chunks in proptest::collection::vec(1usize..200, 0..100),
        ) {
            let stream = script();
            let whole = run(&stream, &[usize::MAX]);
            proptest::prop_assert_eq!(run(&stream, &chunks), whole);
        }
    }
}
