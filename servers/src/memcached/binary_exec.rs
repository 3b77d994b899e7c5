//! Executes parsed binary-protocol requests against the [`Store`] and writes
//! memcached's exact response packets, sans-I/O.
//!
//! Each command follows the `proto_bin.c` function named in its comment
//! (memcached 1.6). What every response shares (`add_bin_header`):
//!
//! - the opcode is the request's, quiet variants included;
//! - the opaque is echoed; the CAS is the item's on a success that touched an
//!   item (store, get, incr), 0 otherwise and on every error;
//! - an error (`write_bin_error`) carries no extras or key and the status's
//!   message as its body, and is sent even for a quiet command;
//! - a quiet command suppresses only its nominal reply: a get's miss, a
//!   mutation's success.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::binary::RequestDecoder;
//! use torsion_protocols::{Decoder, Parsed};
//! use torsion_servers::memcached::binary_exec::BinaryExec;
//! use torsion_servers::memcached::dialect::{Effect, ExecCtx, Execute};
//! use torsion_servers::memcached::exec::ServerStats;
//! use torsion_servers::memcached::store::{Store, StoreConfig};
//!
//! let now = 1_700_000_000;
//! let (mut store, mut server) = (Store::new(StoreConfig::default()), ServerStats::new(now));
//! let noop = [0x80, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0];
//! let Parsed::Complete(request, _) = RequestDecoder.decode(&noop) else { unreachable!() };
//! let mut out = Vec::new();
//! let mut cx = ExecCtx { store: &mut store, server: &mut server, now, out: &mut out };
//! assert_eq!(BinaryExec.execute(&mut cx, &request, b""), Effect::Continue);
//! assert_eq!(out, [0x81, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0]);
//! ```

use std::io::Write;

use torsion_protocols::memcache::binary::{
    write_error, write_response, BadMagic, Command, Request, Status, StoreOp, NO_CREATE,
};

use super::dialect::{Effect, ExecCtx, Execute};
use super::exec::{reset_stats, write_stats_group, ServerStats, StatSink, StatsGroup};
use super::item::Item;
use super::store::{
    DeleteOutcome, Delta, DeltaError, DeltaOp, DeltaOutcome, Initial, Store, StoreError, StoreMode,
    StoreOutcome,
};
use super::watch::{store_status, StoreLog};

/// Where responses go, with the request's opcode and opaque at hand.
struct Reply<'a> {
    out: &'a mut Vec<u8>,
    opcode: u8,
    opaque: u32,
    /// `-C` clears it: every CAS unique in a response reads 0.
    cas_enabled: bool,
}

impl Reply<'_> {
    fn success(&mut self, cas: u64, extras: &[u8], key: &[u8], value: &[u8]) {
        write_response(
            self.out,
            self.opcode,
            Status::Success,
            self.opaque,
            if self.cas_enabled { cas } else { 0 },
            extras,
            key,
            value,
        );
    }

    fn error(&mut self, status: Status) {
        write_error(self.out, self.opcode, status, self.opaque);
    }

    /// `ENOMEM` with memcached's `out_of_memory` text, minus `SERVER_ERROR `.
    fn out_of_memory(&mut self, message: &[u8]) {
        write_response(
            self.out,
            self.opcode,
            Status::OutOfMemory,
            self.opaque,
            0,
            &[],
            &[],
            message,
        );
    }

    /// A hit of a get-like command: the flags as extras, maybe the key and
    /// the value (`process_bin_get_or_touch`).
    fn item(&mut self, item: &Item<'_>, with_key: bool, with_value: bool) {
        let key = if with_key { item.key() } else { b"" };
        let value = if with_value { item.value() } else { b"" };
        self.success(item.cas(), &item.flags().to_be_bytes(), key, value);
    }
}

/// Sends each statistic as a response packet whose key is the name and value
/// the value (`append_bin_stats`).
struct StatPackets<'a, 'b> {
    reply: &'a mut Reply<'b>,
    text: Vec<u8>,
}

impl StatSink for StatPackets<'_, '_> {
    fn stat(&mut self, name: &str, value: &dyn std::fmt::Display) {
        self.text.clear();
        // Writing into a Vec cannot fail.
        let _ = write!(self.text, "{value}");
        let text = std::mem::take(&mut self.text);
        self.reply.success(0, &[], name.as_bytes(), &text);
        self.text = text;
    }
}

/// The binary protocol's executor.
#[derive(Debug, Clone, Copy, Default)]
pub struct BinaryExec;

impl Execute for BinaryExec {
    type Request<'a> = Request<'a>;
    type Error = BadMagic;

    /// Runs one request; `value` is the value of a store or concat. Returns
    /// [`Effect::Close`] after `quit` and after a refused packet.
    fn execute(&mut self, cx: &mut ExecCtx<'_>, request: &Request<'_>, value: &[u8]) -> Effect {
        execute(request, value, cx)
    }

    /// A first byte other than 0x80: close without a reply.
    fn refuse(&mut self, _: &mut ExecCtx<'_>, _: &BadMagic) -> Effect {
        Effect::Close
    }

    /// Answers a store or concat whose item would be too large, as
    /// `process_bin_update` does when `item_alloc` fails: `E2BIG` (even when
    /// quiet), and a `set` drops the key's old item.
    fn too_large(&mut self, cx: &mut ExecCtx<'_>, request: &Request<'_>) {
        let mode = match request.command {
            Command::Store { op: StoreOp::Set, .. } => StoreMode::Set,
            _ => StoreMode::Append,
        };
        cx.store.refuse_too_large(mode, request.key, cx.now);
        write_error(
            cx.out,
            request.header.opcode,
            Status::TooLarge,
            request.header.opaque,
        );
    }

    /// Binary values have no trailer: never called.
    fn bad_chunk(&mut self, _: &mut ExecCtx<'_>, _: &Request<'_>) {}
}

fn execute(request: &Request<'_>, value: &[u8], cx: &mut ExecCtx<'_>) -> Effect {
    // memcached looks the item up before every keyed command, and that
    // lookup is what fetchers watchers see.
    let keyed = matches!(
        request.command,
        Command::Get { .. }
            | Command::GetAndTouch { .. }
            | Command::Touch { .. }
            | Command::Store { .. }
            | Command::Concat { .. }
            | Command::Delete { .. }
            | Command::Arith { .. }
    );
    if keyed {
        cx.watch_lookup(request.key);
    }
    let storing = matches!(request.command, Command::Store { .. } | Command::Concat { .. });
    if storing {
        cx.watch_store_begin();
    }
    let mut stored_log = None;
    let effect = run(request, value, cx, &mut stored_log);
    if let Some(log) = stored_log {
        cx.watch_store_end(request.key, log);
    }
    effect
}

/// Runs `request`; a store or concat leaves what it did in `log`.
fn run(request: &Request<'_>, value: &[u8], cx: &mut ExecCtx<'_>, log: &mut Option<StoreLog>) -> Effect {
    let (store, server, now, out) = (&mut *cx.store, &mut *cx.server, cx.now, &mut *cx.out);
    let header = &request.header;
    let key = request.key;
    let mut reply = Reply {
        out,
        opcode: header.opcode,
        opaque: header.opaque,
        cas_enabled: server.options.cas_enabled,
    };
    // The header's CAS, 0 meaning "no CAS".
    let cas = Some(header.cas).filter(|&c| c != 0);
    match request.command {
        // process_bin_get_or_touch
        Command::Get { quiet, with_key } => match store.get(key, now) {
            Some(item) => reply.item(&item, with_key, true),
            None => miss(&mut reply, key, quiet, with_key),
        },
        Command::GetAndTouch {
            exptime,
            quiet,
            with_key,
        } => match store.get_and_touch(key, i64::from(exptime), now) {
            Some(item) => reply.item(&item, with_key, true),
            None => miss(&mut reply, key, quiet, with_key),
        },
        Command::Touch { exptime } => match store.get_and_touch(key, i64::from(exptime), now) {
            Some(item) => reply.item(&item, false, false),
            None => miss(&mut reply, key, false, false),
        },
        // process_bin_update, complete_update_bin
        Command::Store {
            op,
            quiet,
            flags,
            exptime,
        } => {
            // "if (ITEM_get_cas(it) != 0) c->cmd = NREAD_CAS", whatever the op.
            let mode = match (op, cas) {
                (_, Some(_)) | (StoreOp::Set, None) => StoreMode::Set,
                (StoreOp::Add, None) => StoreMode::Add,
                (StoreOp::Replace, None) => StoreMode::Replace,
            };
            let outcome = store.store(mode, key, flags, i64::from(exptime), value, cas, now);
            *log = Some(StoreLog {
                status: store_status(&outcome),
                cmd: match (op, cas) {
                    (_, Some(_)) => "cas",
                    (StoreOp::Set, None) => "set",
                    (StoreOp::Add, None) => "add",
                    (StoreOp::Replace, None) => "replace",
                },
                ttl: i64::from(exptime),
                size: value.len(),
            });
            let not_stored = match (op, cas) {
                (StoreOp::Add, None) => Status::KeyExists,
                (StoreOp::Replace, None) => Status::KeyNotFound,
                _ => Status::NotStored,
            };
            stored(&mut reply, outcome, quiet, not_stored);
        }
        // process_bin_append_prepend
        Command::Concat { append, quiet } => {
            let mode = if append {
                StoreMode::Append
            } else {
                StoreMode::Prepend
            };
            let outcome = store.store(mode, key, 0, 0, value, cas, now);
            *log = Some(StoreLog {
                status: store_status(&outcome),
                cmd: if append { "append" } else { "prepend" },
                ttl: 0,
                size: value.len(),
            });
            stored(&mut reply, outcome, quiet, Status::NotStored);
        }
        // process_bin_delete
        Command::Delete { quiet } => match store.delete(key, cas, now) {
            DeleteOutcome::Deleted if !quiet => reply.success(0, &[], &[], &[]),
            DeleteOutcome::Deleted => {}
            DeleteOutcome::NotFound => reply.error(Status::KeyNotFound),
            DeleteOutcome::Exists => reply.error(Status::KeyExists),
        },
        // complete_incr_bin
        Command::Arith {
            incr,
            quiet,
            delta,
            initial,
            exptime,
        } => {
            let d = Delta {
                op: if incr { DeltaOp::Incr } else { DeltaOp::Decr },
                amount: delta,
                initial: (exptime != NO_CREATE).then_some(Initial {
                    value: initial,
                    exptime: i64::from(exptime),
                }),
                cas,
            };
            match store.incr_decr(key, d, now) {
                Ok(DeltaOutcome::Updated { value, cas } | DeltaOutcome::Created { value, cas }) => {
                    if !quiet {
                        reply.success(cas, &[], &[], &value.to_be_bytes());
                    }
                }
                Ok(DeltaOutcome::NotFound) => reply.error(Status::KeyNotFound),
                Ok(DeltaOutcome::Exists) => reply.error(Status::KeyExists),
                Err(DeltaError::NonNumeric) => reply.error(Status::DeltaBadValue),
                Err(DeltaError::OutOfMemory) if d.initial.is_some() && store.peek(key, now).is_none() => {
                    reply.out_of_memory(b"Out of memory allocating new item");
                }
                Err(DeltaError::OutOfMemory) => reply.out_of_memory(b"Out of memory incrementing value"),
            }
        }
        Command::Quit { quiet } => {
            if !quiet {
                reply.success(0, &[], &[], &[]);
            }
            return Effect::Close;
        }
        // process_bin_flush
        Command::Flush { quiet, exptime } => {
            store.flush_all(i64::from(exptime), now);
            if !quiet {
                reply.success(0, &[], &[], &[]);
            }
        }
        Command::Noop => reply.success(0, &[], &[], &[]),
        Command::Version => reply.success(0, &[], &[], server.version.as_bytes()),
        Command::Stat => stat(&mut reply, key, store, server, now),
        // bin_list_sasl_mechs / process_bin_sasl_auth with SASL off, and the
        // default case: the session swallows the value.
        Command::Sasl | Command::Unknown => reply.error(Status::UnknownCommand),
        // handle_binary_protocol_error and the length check: "write an error
        // message and disconnect the client".
        Command::Invalid(invalid) => {
            reply.error(invalid.status());
            return Effect::Close;
        }
    }
    Effect::Continue
}

/// A get-like miss (`write_bin_miss_response`): nothing when quiet, the key
/// alone for GETK/GATK, else `Not found`.
fn miss(reply: &mut Reply<'_>, key: &[u8], quiet: bool, with_key: bool) {
    if quiet {
        return;
    }
    if with_key {
        let (opcode, opaque) = (reply.opcode, reply.opaque);
        write_response(reply.out, opcode, Status::KeyNotFound, opaque, 0, &[], key, &[]);
    } else {
        reply.error(Status::KeyNotFound);
    }
}

/// The reply to a store (`complete_update_bin`): `not_stored` is the status
/// memcached gives a refusal (`EEXISTS` for add, `ENOENT` for replace,
/// `NOT_STORED` otherwise).
fn stored(reply: &mut Reply<'_>, outcome: Result<StoreOutcome, StoreError>, quiet: bool, not_stored: Status) {
    match outcome {
        Ok(StoreOutcome::Stored { cas }) => {
            if !quiet {
                reply.success(cas, &[], &[], &[]);
            }
        }
        Ok(StoreOutcome::NotStored) => reply.error(not_stored),
        Ok(StoreOutcome::Exists) => reply.error(Status::KeyExists),
        Ok(StoreOutcome::NotFound) => reply.error(Status::KeyNotFound),
        Err(StoreError::TooLarge) => reply.error(Status::TooLarge),
        // memcached finds no memory when it allocates the item.
        Err(StoreError::OutOfMemory) => reply.out_of_memory(b"Out of memory allocating item"),
        Err(StoreError::KeyTooLong) => reply.error(Status::InvalidArguments),
    }
}

/// `process_bin_stat`: one packet per statistic and an empty one to end.
/// `reset`, `settings` and `detail` match as prefixes (memcached's `strncmp`),
/// the groups exactly; anything else is `Not found`. Torsion keeps no
/// per-prefix stats, so `detail on|off` changes nothing and `detail dump`
/// sends the empty dump (`END\r\n`), as memcached does before any prefix is
/// recorded.
fn stat(reply: &mut Reply<'_>, key: &[u8], store: &mut Store, server: &mut ServerStats, now: u32) {
    let group = if key.is_empty() {
        Some(StatsGroup::General)
    } else if key.starts_with(b"reset") {
        reset_stats(store, server);
        None
    } else if key.starts_with(b"settings") {
        Some(StatsGroup::Settings)
    } else if let Some(sub) = key.strip_prefix(b"detail") {
        if sub.starts_with(b" dump") {
            reply.success(0, &[], b"detailed", b"END\r\n");
        } else if !sub.starts_with(b" on") && !sub.starts_with(b" off") {
            return reply.error(Status::KeyNotFound);
        }
        None
    } else {
        match key {
            b"items" => Some(StatsGroup::Items),
            b"slabs" => Some(StatsGroup::Slabs),
            b"sizes" => Some(StatsGroup::Sizes),
            _ => return reply.error(Status::KeyNotFound),
        }
    };
    if let Some(group) = group {
        let mut sink = StatPackets {
            reply: &mut *reply,
            text: Vec::with_capacity(32),
        };
        write_stats_group(group, store, server, now, &mut sink);
    }
    reply.success(0, &[], &[], &[]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memcached::dialect::{Ascii, Binary};
    use crate::memcached::store::StoreConfig;
    use crate::memcached::testkit::Conversation;
    use torsion_protocols::memcache::binary::opcode::*;

    type Client = Conversation<Binary>;

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
        let mut text = Conversation::<Ascii>::new();
        text.store = std::mem::replace(&mut c.store, Store::new(StoreConfig::default()));
        text.expect(
            b"gets test_binary_get\r\n",
            b"VALUE test_binary_get 51966 5 1\r\nvalue\r\nEND\r\n",
        );
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
        let mut c = Client::with("item_size_max=1024");
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
        // (memcached's size: 48 header + key + NUL + value + CRLF + 8 CAS.)
        let p = req(APPEND, &[], b"a", &vec![b'y'; 1024 - 60 - 2], 0);
        c.expect(&p, &err(APPEND, Status::NotStored));
        let stats = stat_packets(&c.send(&bare(STAT)));
        assert!(
            stats.contains(&("store_too_large".into(), "2".into())),
            "{stats:?}"
        );
    }

    #[test]
    fn out_of_memory_without_eviction() {
        let mut c = Client::with("pages=1 evict=no");
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

    fn run(stream: &[u8], reads: &[usize]) -> (Vec<u8>, bool) {
        Client::in_reads(stream, reads, "item_size_max=2048")
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
