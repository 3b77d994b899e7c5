//! Executes parsed meta requests (`mg`, `ms`, `md`, `ma`, `me`, `mn`) against
//! the [`Store`] and writes memcached's exact replies, sans-I/O.
//!
//! Each function follows the memcached function named in its comment
//! (`proto_text.c` of memcached 1.6.18, Debian 12's, against which the
//! replies were checked byte for byte). In short:
//!
//! | command | success | other answers | `q` suppresses |
//! |---|---|---|---|
//! | `mg` | `VA <len> <flags>` + data, or `HD <flags>` | `EN` | `EN` |
//! | `ms` | `HD <flags>` | `NS`, `EX`, `NF` | `HD` |
//! | `md` | `HD <flags>` | `NF`, `EX` | `HD` |
//! | `ma` | `HD <flags>` or `VA <len> <flags>` + number | `NF`, `EX` | `HD`, `VA` (not for a counter it created) |
//! | `me` | `ME <key> exp= la= cas= fetch= cls= size=` | `EN` | (no flags) |
//! | `mn` | `MN` | | |
//!
//! Errors (`CLIENT_ERROR ...`, `SERVER_ERROR ...`) are never suppressed.
//!
//! # Examples
//!
//! ```
//! use torsion_protocols::memcache::meta::parse_line;
//! use torsion_servers::memcached::dialect::{ExecCtx, Execute};
//! use torsion_servers::memcached::exec::ServerStats;
//! use torsion_servers::memcached::meta_exec::MetaExec;
//! use torsion_servers::memcached::store::{Store, StoreConfig};
//!
//! let now = 1_700_000_000;
//! let (mut store, mut server) = (Store::new(StoreConfig::default()), ServerStats::new(now));
//! let mut out = Vec::new();
//! let mut cx = ExecCtx { store: &mut store, server: &mut server, now, out: &mut out };
//! let Some(Ok(set)) = parse_line(b"ms k 2 T60 c") else { unreachable!() };
//! let _ = MetaExec.execute(&mut cx, &set, b"hi");
//! let Some(Ok(get)) = parse_line(b"mg k v t Oxyz") else { unreachable!() };
//! let _ = MetaExec.execute(&mut cx, &get, b"");
//! assert_eq!(out, b"HD c1\r\nVA 2 t60 Oxyz\r\nhi\r\n");
//! ```

use torsion_protocols::memcache::meta::{
    end_line, write_code, write_flag, write_flag_number, write_key, write_opaque, write_ttl,
    write_value_header, ArithMode, Code, Command, Error, Request, SetMode,
};
use torsion_protocols::memcache::number::{push_i64, push_u64};
use torsion_protocols::memcache::{base64, text::Reply};

use super::dialect::{Effect, ExecCtx, Execute};
use super::item::{expires_at, ItemBits, NEVER};
use super::store::{
    Adjust, DeleteOutcome, Delta, DeltaError, DeltaOp, DeltaOutcome, Initial, ReadOptions, Store, StoreError,
    StoreMode, StoreOutcome,
};
use super::watch::{store_status, StoreLog};

/// An absolute expiry as the meta flags see it (`None`: never).
fn expiry(exptime: i32, now: u32) -> Option<u32> {
    Some(expires_at(i64::from(exptime), now)).filter(|&e| e != NEVER)
}

/// The `t` flag: seconds left, computed as memcached's `itoa_u32(exptime -
/// current_time)` does (an expiry already past wraps around).
fn ttl_left(expires: Option<u32>, now: u32) -> Option<u32> {
    expires.map(|e| e.wrapping_sub(now))
}

/// Appends the `O` and `k` flags of `request` in request order: all that the
/// `EN`/`NF`/`NS`/`EX` answers carry.
fn write_opaque_and_key(out: &mut Vec<u8>, request: &Request<'_>) {
    for token in request.flags.tokens() {
        match token[0] {
            b'O' => write_opaque(out, token),
            b'k' => write_key(out, request.key.bytes(), request.key.is_binary()),
            _ => {}
        }
    }
}

/// Writes a short reply (`NF`, `EX`, ...) with its `O`/`k` flags.
fn short_reply(out: &mut Vec<u8>, code: Code, request: &Request<'_>) {
    write_code(out, code);
    write_opaque_and_key(out, request);
    end_line(out);
}

/// The meta commands' executor.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetaExec;

impl Execute for MetaExec {
    type Request<'a> = Request<'a>;
    type Error = Error;

    /// Runs one meta request; `data` is `ms`'s data block (the session read
    /// it after the store said it [`fits`](Store::fits)).
    fn execute(&mut self, cx: &mut ExecCtx<'_>, request: &Request<'_>, data: &[u8]) -> Effect {
        // memcached looks the item up before every meta command but mn and
        // me, and that lookup is what fetchers watchers see.
        if !matches!(request.command, Command::Noop | Command::Debug) {
            cx.watch_lookup(request.key.bytes());
        }
        if let Command::Set { mode, .. } = request.command {
            cx.watch_store_begin();
            let log = meta_set(request, mode, data, cx.store, cx.now, cx.out);
            cx.watch_store_end(request.key.bytes(), log);
            return Effect::Continue;
        }
        let (store, now, out) = (&mut *cx.store, cx.now, &mut *cx.out);
        match request.command {
            Command::Get => meta_get(request, store, now, out),
            Command::Set { .. } => {}
            Command::Delete => meta_delete(request, store, now, out),
            Command::Arithmetic { mode } => meta_arithmetic(request, mode, store, now, out),
            Command::Debug => meta_debug(request, store, now, out),
            Command::Noop => {
                write_code(out, Code::Mn);
                end_line(out);
            }
        }
        Effect::Continue
    }

    /// Answers a refused meta line. The session then swallows
    /// [`Error::swallow`] bytes.
    fn refuse(&mut self, cx: &mut ExecCtx<'_>, error: &Error) -> Effect {
        cx.out.extend_from_slice(error.kind.reply());
        Effect::Continue
    }

    /// Answers an `ms` whose item would exceed the item size limit, as
    /// `process_mset_command` does when `item_alloc` fails: `SERVER_ERROR object
    /// too large for cache`, and the key's old item is unlinked whatever the mode
    /// ("Avoid stale data persisting in cache because we failed alloc").
    fn too_large(&mut self, cx: &mut ExecCtx<'_>, request: &Request<'_>) {
        cx.store
            .refuse_too_large(StoreMode::Set, request.key.bytes(), cx.now);
        Reply::TooLarge.write(cx.out);
    }

    /// Answers an `ms` data block not followed by `\r\n`: `CLIENT_ERROR bad data
    /// chunk`, even with `q` ("metaset mode always returns errors").
    fn bad_chunk(&mut self, cx: &mut ExecCtx<'_>, _: &Request<'_>) {
        Reply::BadDataChunk.write(cx.out);
    }
}

/// `mg`: memcached's `process_mget_command`.
fn meta_get(request: &Request<'_>, store: &mut Store, now: u32, out: &mut Vec<u8>) {
    let flags = &request.flags;
    let options = ReadOptions {
        bump: !flags.no_bump,
        touch: flags.ttl.map(i64::from),
        vivify: flags.vivify_exptime().map(i64::from),
    };
    // The reply holds the item until it is written (see Store::hold).
    store.hold(request.key.bytes(), now);
    let Some(read) = store.read(request.key.bytes(), options, now) else {
        // "This gets elided in noreply mode."
        if !flags.quiet {
            short_reply(out, Code::En, request);
        }
        return;
    };
    let item = read.item;
    let token_sent = item.token_sent();
    // The flags are applied in request order, so `t` before `T` shows the
    // old TTL and after it the new one, as in memcached's loop.
    let mut expires = read.expires_before;
    let mut won = false;
    if flags.value {
        write_value_header(out, item.value().len());
    } else {
        write_code(out, Code::Hd);
    }
    for token in flags.tokens() {
        match token[0] {
            b'T' => expires = flags.ttl.and_then(|t| expiry(t, now)),
            b'N' if read.created => {
                expires = flags.vivify.and_then(|t| expiry(t, now));
                won = true;
            }
            b'R' => {
                // "If we haven't autovivified and supplied token is less than
                // current TTL, mark a win."
                let recache = flags.recache.and_then(|t| expiry(t, now));
                if let (false, false, Some(e), Some(r)) = (token_sent, read.created, expires, recache) {
                    won |= e < r;
                }
            }
            b's' => write_flag_number(out, b's', item.value().len() as u64),
            b't' => write_ttl(out, ttl_left(expires, now)),
            b'c' => write_flag_number(out, b'c', item.cas()),
            b'f' => write_flag_number(out, b'f', u64::from(item.flags())),
            b'l' => write_flag_number(out, b'l', u64::from(now.saturating_sub(read.last_access))),
            b'h' => write_flag_number(out, b'h', u64::from(read.was_fetched)),
            b'O' => write_opaque(out, token),
            b'k' => write_key(out, item.key(), item.key_binary()),
            _ => {}
        }
    }
    // "Important to do this here so we don't send W with Z."
    if token_sent {
        write_flag(out, b'Z');
    }
    if item.stale() {
        write_flag(out, b'X');
        won |= !token_sent;
    }
    if won {
        write_flag(out, b'W');
    }
    end_line(out);
    if flags.value {
        out.extend_from_slice(item.value());
        end_line(out);
    }
    if won {
        let adjust = Adjust {
            set: ItemBits::TOKEN_SENT,
            ..Adjust::default()
        };
        let _ = store.adjust(request.key.bytes(), adjust, now);
    }
}

/// `ms`: memcached's `process_mset_command`, `complete_nread_ascii` and
/// `_finalize_mset`.
fn meta_set(
    request: &Request<'_>,
    mode: SetMode,
    data: &[u8],
    store: &mut Store,
    now: u32,
    out: &mut Vec<u8>,
) -> StoreLog {
    let flags = &request.flags;
    let key = request.key.bytes();
    let client_flags = flags.client_flags.unwrap_or(0);
    let exptime = i64::from(flags.ttl.unwrap_or(0));
    // "If a CAS value is supplied, upgrade default SET mode to CAS mode.
    // Also allows REPLACE to work, as REPLACE + CAS works the same as CAS."
    let cas_mode = flags.compare_cas.is_some() && matches!(mode, SetMode::Set | SetMode::Replace);
    let (store_mode, cas) = match mode {
        _ if cas_mode => (StoreMode::Set, flags.compare_cas),
        SetMode::Set => (StoreMode::Set, None),
        SetMode::Add => (StoreMode::Add, None),
        SetMode::Replace => (StoreMode::Replace, None),
        // do_store_item: "APPEND/PREPEND allow a simplified CAS check", and a
        // CAS of 0 means no check there.
        SetMode::Append => (StoreMode::Append, flags.compare_cas.filter(|&c| c != 0)),
        SetMode::Prepend => (StoreMode::Prepend, flags.compare_cas.filter(|&c| c != 0)),
    };
    let stale_allowed = cas_mode && flags.invalidate;
    // Only a stale-allowed compare-and-swap needs the old item first.
    let old = if stale_allowed {
        store
            .peek(key, now)
            .map(|i| (i.cas(), i.expires_at(), i.token_sent()))
    } else {
        None
    };
    let mut extra = ItemBits::NONE;
    let outcome = match old {
        // do_store_item, NREAD_CAS with set_stale: a CAS older than the item's
        // still stores, keeping the old TTL, marked stale (and still holding a
        // token already sent). A CAS of 0 is no CAS there, so never stale:
        // `C0` with `I` is refused as a plain mismatch (EX).
        Some((old_cas, old_expiry, old_token))
            if flags.compare_cas.is_some_and(|c| c != 0 && c < old_cas) =>
        {
            extra = ItemBits::STALE;
            if old_token {
                extra = extra.union(ItemBits::TOKEN_SENT);
            }
            let keep = i64::from(old_expiry.unwrap_or(NEVER));
            store.store(StoreMode::Set, key, client_flags, keep, data, None, now)
        }
        _ => store.store(store_mode, key, client_flags, exptime, data, cas, now),
    };
    let log = StoreLog {
        status: store_status(&outcome),
        cmd: match mode {
            _ if cas_mode => "cas",
            SetMode::Set => "set",
            SetMode::Add => "add",
            SetMode::Replace => "replace",
            SetMode::Append => "append",
            SetMode::Prepend => "prepend",
        },
        ttl: exptime,
        size: data.len(),
    };
    let (code, stored_cas) = match outcome {
        Ok(StoreOutcome::Stored { cas }) => (Code::Hd, cas),
        Ok(StoreOutcome::NotStored) => (Code::Ns, 0),
        Ok(StoreOutcome::Exists) => (Code::Ex, 0),
        Ok(StoreOutcome::NotFound) => (Code::Nf, 0),
        Err(StoreError::TooLarge) => {
            Reply::TooLarge.write(out);
            return log;
        }
        Err(StoreError::OutOfMemory) => {
            Reply::OutOfMemoryStoring.write(out);
            return log;
        }
        Err(StoreError::KeyTooLong) => {
            Reply::BadFormat.write(out);
            return log;
        }
    };
    if code == Code::Hd {
        // An append or prepend makes a new item of the joined value, with
        // none of the per-item bits of either: never a binary key.
        if request.key.is_binary() && !matches!(mode, SetMode::Append | SetMode::Prepend) {
            extra = extra.union(ItemBits::KEY_BINARY);
        }
        if extra != ItemBits::NONE {
            let adjust = Adjust {
                set: extra,
                ..Adjust::default()
            };
            let _ = store.adjust(key, adjust, now);
        }
        // "Only place noreply is used for meta cmds is a nominal response."
        if flags.quiet {
            return log;
        }
    }
    // _finalize_mset: the status, then O, k and c in request order.
    write_code(out, code);
    for token in flags.tokens() {
        match token[0] {
            b'O' => write_opaque(out, token),
            b'k' => write_key(out, key, request.key.is_binary()),
            b'c' => write_flag_number(out, b'c', stored_cas),
            _ => {}
        }
    }
    end_line(out);
    log
}

/// `md`: memcached's `process_mdelete_command`.
fn meta_delete(request: &Request<'_>, store: &mut Store, now: u32, out: &mut Vec<u8>) {
    let flags = &request.flags;
    let key = request.key.bytes();
    let code = if flags.invalidate {
        // "If we're to set this item as stale, we don't actually want to
        // delete it. We mark the stale bit, bump CAS, and update exptime if we
        // were supplied a new TTL." Also clear TOKEN_SENT, "so next client can
        // win".
        match store.peek(key, now).map(|i| i.cas()) {
            None => Code::Nf,
            Some(cas) if flags.compare_cas.is_some_and(|c| c != cas) => Code::Ex,
            Some(_) => {
                let adjust = Adjust {
                    set: ItemBits::STALE,
                    clear: ItemBits::TOKEN_SENT,
                    exptime: flags.ttl.map(i64::from),
                    new_cas: true,
                };
                let _ = store.adjust(key, adjust, now);
                Code::Hd
            }
        }
    } else {
        match store.delete(key, flags.compare_cas, now) {
            DeleteOutcome::Deleted => Code::Hd,
            DeleteOutcome::NotFound => Code::Nf,
            DeleteOutcome::Exists => Code::Ex,
        }
    };
    if code == Code::Hd && flags.quiet {
        return;
    }
    short_reply(out, code, request);
}

/// `ma`: memcached's `process_marithmetic_command`.
fn meta_arithmetic(request: &Request<'_>, mode: ArithMode, store: &mut Store, now: u32, out: &mut Vec<u8>) {
    let flags = &request.flags;
    let key = request.key.bytes();
    let op = match mode {
        ArithMode::Incr => DeltaOp::Incr,
        ArithMode::Decr => DeltaOp::Decr,
    };
    let delta = Delta {
        op,
        // "If no argument supplied, incr or decr by one."
        amount: flags.delta.unwrap_or(1),
        initial: flags.vivify_exptime().map(|exptime| Initial {
            value: flags.initial.unwrap_or(0),
            exptime: i64::from(exptime),
        }),
        // do_add_delta compares only a non-zero CAS.
        cas: flags.compare_cas.filter(|&c| c != 0),
    };
    let (value, cas, created) = match store.incr_decr(key, delta, now) {
        Ok(DeltaOutcome::Updated { value, cas }) => (value, cas, false),
        Ok(DeltaOutcome::Created { value, cas }) => (value, cas, true),
        Ok(DeltaOutcome::NotFound) => return short_reply(out, Code::Nf, request),
        Ok(DeltaOutcome::Exists) => return short_reply(out, Code::Ex, request),
        Err(DeltaError::NonNumeric) => return Reply::NonNumeric.write(out),
        Err(DeltaError::OutOfMemory) if delta.initial.is_some() && store.peek(key, now).is_none() => {
            out.extend_from_slice(b"SERVER_ERROR Out of memory allocating new item\r\n");
            return;
        }
        Err(DeltaError::OutOfMemory) => return Reply::OutOfMemory.write(out),
    };
    // A created item starts with no expiry; N and T then set it in request
    // order (the store already holds the final one).
    let mut expires = if created {
        None
    } else {
        store.peek(key, now).and_then(|i| i.expires_at())
    };
    let mut line = Vec::with_capacity(48);
    let mut digits = Vec::with_capacity(20);
    push_u64(&mut digits, value);
    if flags.value {
        write_value_header(&mut line, digits.len());
    } else {
        write_code(&mut line, Code::Hd);
    }
    for token in flags.tokens() {
        match token[0] {
            b'c' => write_flag_number(&mut line, b'c', cas),
            b't' => write_ttl(&mut line, ttl_left(expires, now)),
            b'T' => expires = flags.ttl.and_then(|t| expiry(t, now)),
            b'N' if created => expires = flags.vivify.and_then(|t| expiry(t, now)),
            b'O' => write_opaque(&mut line, token),
            b'k' => write_key(&mut line, key, request.key.is_binary()),
            _ => {}
        }
    }
    if let (Some(ttl), false) = (flags.ttl, created) {
        let adjust = Adjust {
            exptime: Some(i64::from(ttl)),
            ..Adjust::default()
        };
        let _ = store.adjust(key, adjust, now);
    }
    // "if (c->noreply) resp->skip = true" is in the OK case only: a counter
    // created from N and J is always answered.
    if flags.quiet && !created {
        return;
    }
    out.extend_from_slice(&line);
    if flags.value {
        end_line(out);
        out.extend_from_slice(&digits);
    }
    end_line(out);
}

/// `me`: memcached's `process_meta_command`, a debug line about the item:
/// `exp` is memcached's `current_time - exptime` (negative while the item
/// lives: memcached prints it with that sign), `cls` the item's size class,
/// `size` memcached's size of the item.
fn meta_debug(request: &Request<'_>, store: &mut Store, now: u32, out: &mut Vec<u8>) {
    let Some(item) = store.peek(request.key.bytes(), now) else {
        write_code(out, Code::En);
        end_line(out);
        return;
    };
    out.extend_from_slice(b"ME ");
    if item.key_binary() {
        base64::encode(item.key(), out);
    } else {
        out.extend_from_slice(item.key());
    }
    out.extend_from_slice(b" exp=");
    match item.expires_at() {
        None => out.extend_from_slice(b"-1"),
        Some(e) => push_i64(out, i64::from(now) - i64::from(e)),
    }
    out.extend_from_slice(b" la=");
    push_u64(out, u64::from(now.saturating_sub(item.last_access())));
    out.extend_from_slice(b" cas=");
    push_u64(out, item.cas());
    out.extend_from_slice(if item.fetched() {
        b" fetch=yes"
    } else {
        b" fetch=no"
    });
    out.extend_from_slice(b" cls=");
    push_u64(out, u64::from(item.class()));
    out.extend_from_slice(b" size=");
    push_u64(out, item.size() as u64);
    end_line(out);
}

#[cfg(test)]
mod tests {
    use crate::memcached::dialect::Ascii;
    use crate::memcached::testkit::{self, Conversation};

    type Client = Conversation<Ascii>;

    #[test]
    fn transcripts() {
        testkit::transcript(include_str!("transcripts/meta.txt"));
    }

    #[test]
    fn me_prints_the_class_and_memcached_s_exp_sign() {
        let mut c = Client::new();
        let value = "B".repeat(66560);
        c.expect(format!("ms key0 66560 T100\r\n{value}\r\n").as_bytes(), b"HD\r\n");
        c.now += 3;
        // issue_22.t's item: class 31; memcached prints current_time - exptime.
        c.expect(
            b"me key0\r\n",
            b"ME key0 exp=-97 la=3 cas=1 fetch=no cls=31 size=66623\r\n",
        );
        // ma does not mark the item fetched, as memcached's do_add_delta.
        c.expect(b"ms n 2\r\n10\r\nma n MD\r\n", b"HD\r\nHD\r\n");
        c.expect(b"me n\r\n", b"ME n exp=-1 la=0 cas=3 fetch=no cls=1 size=62\r\n");
        c.expect(b"mg n v\r\n", b"VA 2\r\n9 \r\n");
        // A reply of the same batch holds the value: memcached replaces the
        // item then (no padding); once written, it rewrites in place again.
        c.expect(
            b"mg n v\r\nma n MD D5 v\r\nmg n v\r\n",
            b"VA 2\r\n9 \r\nVA 1\r\n4\r\nVA 1\r\n4\r\n",
        );
        c.expect(b"ms n 2\r\n10\r\n", b"HD\r\n");
        c.expect(b"ma n MD D5\r\n", b"HD\r\n");
        c.expect(b"mg n v\r\n", b"VA 2\r\n5 \r\n");
        // Even an mg without flags holds it; a text get does not (as memcached).
        c.expect(
            b"ms n 3\r\n100\r\nmg n\r\nma n MD\r\nmg n v\r\n",
            b"HD\r\nHD\r\nHD\r\nVA 2\r\n99\r\n",
        );
        c.expect(
            b"ms n 3\r\n100\r\nget n\r\nma n MD\r\nmg n v\r\n",
            b"HD\r\nVALUE n 0 3\r\n100\r\nEND\r\nHD\r\nVA 3\r\n99 \r\n",
        );
    }

    #[test]
    fn a_set_too_large_is_refused_and_drops_the_old_item() {
        let mut c = Client::with("item_size_max=1024");
        c.expect(b"ms k 1\r\nx\r\n", b"HD\r\n");
        // The error at once, the block swallowed as it comes, and the old
        // item gone (in every mode, as process_mset_cmd_start does).
        let refused = b"SERVER_ERROR object too large for cache\r\n";
        c.expect(b"ms k 2000 q MA\r\n", refused);
        c.expect(&[b'z'; 2002], b"");
        c.expect(b"mg k v\r\n", b"EN\r\n");
        // A key too long is refused before the length: the block is then
        // read as a command line.
        let long = format!("ms {} 3 q\r\nabc\r\nmn\r\n", "k".repeat(251));
        let replies = b"CLIENT_ERROR bad command line format\r\nERROR\r\nMN\r\n";
        c.expect(long.as_bytes(), replies);
    }

    #[test]
    fn bad_meta_inputs_then_a_good_request() {
        let mut c = Client::with("item_size_max=1024");
        c.expect(b"ms k 3 T0 F9\r\nabc\r\n", b"HD\r\n");
        let long_key = format!("mg {} v\r\n", "k".repeat(251));
        let long_opaque = format!("mg k O{}\r\n", "o".repeat(40));
        let big = format!("ms k 2000 T0\r\n{}\r\n", "z".repeat(2000));
        for (request, reply) in [
            (&b"mg\r\n"[..], &b"ERROR\r\n"[..]),
            (long_key.as_bytes(), b"CLIENT_ERROR bad command line format\r\n"),
            (long_opaque.as_bytes(), b"CLIENT_ERROR opaque token too long\r\n"),
            (b"mg k v v\r\n", b"CLIENT_ERROR duplicate flag\r\n"),
            (b"mg k !\r\n", b"CLIENT_ERROR invalid flag\r\n"),
            (
                b"mg k N-\r\n",
                b"CLIENT_ERROR bad token in command line format\r\n",
            ),
            (
                b"ms k 3 MQ\r\nxyz\r\n",
                b"CLIENT_ERROR invalid mode for ms M token\r\n",
            ),
            (b"ms k 3 q\r\nxyzw\n", b"CLIENT_ERROR bad data chunk\r\n"),
            (b"ms k 3 q\r\nxy", b""),
            (b"zw\n", b"CLIENT_ERROR bad data chunk\r\n"),
            (big.as_bytes(), b"SERVER_ERROR object too large for cache\r\n"),
            (b"md k Cx\r\n", b"CLIENT_ERROR invalid or duplicate flag\r\n"),
            (b"ma k Jx\r\n", b"CLIENT_ERROR invalid or duplicate flag\r\n"),
            (
                b"ma k\r\n",
                b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
            ),
            (b"me k b\r\n", b"CLIENT_ERROR bad command line format\r\n"),
            (b"mq k\r\n", b"ERROR\r\n"),
        ] {
            c.expect(request, reply);
            if request.starts_with(b"ms k 2000") {
                // The too-large set also dropped the old item: store it again.
                c.expect(b"ms k 3 T0 F9\r\nabc\r\n", b"HD\r\n");
            }
            if request != b"ms k 3 q\r\nxy" {
                c.expect(b"mg k v f\r\n", b"VA 3 f9\r\nabc\r\n");
            }
        }
    }

    /// Builds a meta command from a command letter, key and flag tokens.
    fn meta_line(cmd: usize, key: usize, flags: &[usize], len: usize) -> Vec<u8> {
        const FLAGS: &[&str] = &[
            "v", "k", "f", "t", "c", "s", "q", "u", "h", "l", "b", "I", "Oop", "T0", "T30", "T-1", "N0",
            "N30", "R30", "C1", "C0", "F7", "J5", "D3", "MA", "MP", "ME", "MR", "MS", "MD", "M+", "Mx", "P",
            "L",
        ];
        const KEYS: &[&str] = &["a", "b", "Zm9v", "YQ==", "n"];
        let cmds = ["mg", "ms", "md", "ma", "me", "mn"];
        let mut line = format!("{} {}", cmds[cmd % cmds.len()], KEYS[key % KEYS.len()]);
        if cmd % cmds.len() == 1 {
            line.push_str(&format!(" {len}"));
        }
        for &f in flags {
            line.push(' ');
            line.push_str(FLAGS[f % FLAGS.len()]);
        }
        line.push_str("\r\n");
        let mut bytes = line.into_bytes();
        if cmd % cmds.len() == 1 {
            bytes.extend(std::iter::repeat_n(b'7', len));
            bytes.extend_from_slice(b"\r\n");
        }
        bytes
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_meta_requests_never_panic(
            commands in proptest::collection::vec(
                (0usize..6, 0usize..5, proptest::collection::vec(0usize..34, 0..8), 0usize..4, 0u32..100),
                1..30,
            ),
        ) {
            let mut c = Client::new();
            for (cmd, key, flags, len, advance) in commands {
                c.now += advance;
                let out = c.send(&meta_line(cmd, key, &flags, len));
                // Every reply is whole lines.
                proptest::prop_assert!(out.is_empty() || out.ends_with(b"\r\n"));
            }
            proptest::prop_assert!(c.pending().is_empty());
        }
    }
}
