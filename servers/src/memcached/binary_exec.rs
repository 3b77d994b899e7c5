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
//! use torsion_protocols::memcache::binary::{parse, Parsed};
//! use torsion_servers::memcached::binary_exec::execute;
//! use torsion_servers::memcached::exec::{Effect, ServerStats};
//! use torsion_servers::memcached::store::{Store, StoreConfig};
//!
//! let now = 1_700_000_000;
//! let (mut store, mut server) = (Store::new(StoreConfig::default()), ServerStats::new(now));
//! let noop = [0x80, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0];
//! let Parsed::Complete { request, .. } = parse(&noop) else { unreachable!() };
//! let mut out = Vec::new();
//! assert_eq!(execute(&request, b"", &mut store, &mut server, now, &mut out), Effect::Continue);
//! assert_eq!(out, [0x81, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0]);
//! ```

use std::io::Write;

use torsion_protocols::memcache::binary::{
    write_error, write_response, Command, Request, Status, StoreOp, NO_CREATE,
};

use super::exec::{reset_stats, write_stats_group, Effect, ServerStats, StatSink, StatsGroup};
use super::item::Item;
use super::store::{
    DeleteOutcome, Delta, DeltaError, DeltaOp, DeltaOutcome, Initial, Store, StoreError, StoreMode,
    StoreOutcome,
};

/// Where responses go, with the request's opcode and opaque at hand.
struct Reply<'a> {
    out: &'a mut Vec<u8>,
    opcode: u8,
    opaque: u32,
}

impl Reply<'_> {
    fn success(&mut self, cas: u64, extras: &[u8], key: &[u8], value: &[u8]) {
        write_response(
            self.out,
            self.opcode,
            Status::Success,
            self.opaque,
            cas,
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

/// Whether a store or concat request's value would exceed the item size
/// limit; the session then calls [`refuse_too_large`] instead of waiting for
/// the value.
pub fn is_too_large(request: &Request<'_>, store: &Store) -> bool {
    matches!(request.command, Command::Store { .. } | Command::Concat { .. })
        && !store.fits(request.key.len(), request.value_len())
}

/// Answers a store or concat whose item would be too large, as
/// `process_bin_update` does when `item_alloc` fails: `E2BIG` (even when
/// quiet), and a `set` drops the key's old item. The caller swallows the value.
pub fn refuse_too_large(request: &Request<'_>, store: &mut Store, now: u32, out: &mut Vec<u8>) {
    let mode = match request.command {
        Command::Store { op: StoreOp::Set, .. } => StoreMode::Set,
        _ => StoreMode::Append,
    };
    store.refuse_too_large(mode, request.key, now);
    write_error(
        out,
        request.header.opcode,
        Status::TooLarge,
        request.header.opaque,
    );
}

/// Executes one request. `value` is the value of a store or concat (its
/// [`Request::value_len`] bytes, after the `consumed` ones); it is ignored
/// otherwise. Returns [`Effect::Close`] after `quit` and after a refused packet.
pub fn execute(
    request: &Request<'_>,
    value: &[u8],
    store: &mut Store,
    server: &mut ServerStats,
    now: u32,
    out: &mut Vec<u8>,
) -> Effect {
    let header = &request.header;
    let key = request.key;
    let mut reply = Reply {
        out,
        opcode: header.opcode,
        opaque: header.opaque,
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
