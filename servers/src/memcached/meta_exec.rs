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
use super::item::{expires_at, Item, ItemBits, NEVER};
use super::store::{
    Adjust, DeleteOutcome, Delta, DeltaError, DeltaOp, DeltaOutcome, Initial, ReadOptions, Store, StoreError,
    StoreMode, StoreOutcome,
};

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
        let (store, now, out) = (&mut *cx.store, cx.now, &mut *cx.out);
        match request.command {
            Command::Get => meta_get(request, store, now, out),
            Command::Set { mode, .. } => meta_set(request, mode, data, store, now, out),
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

    /// Answers a refused meta line ([`Effect::Close`] when the connection
    /// must close). The session then swallows [`Error::swallow`] bytes.
    fn refuse(&mut self, cx: &mut ExecCtx<'_>, error: &Error) -> Effect {
        match error.kind.reply() {
            Some(line) => {
                cx.out.extend_from_slice(line);
                Effect::Continue
            }
            None => Effect::Close,
        }
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
) {
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
        // token already sent).
        Some((old_cas, old_expiry, old_token)) if flags.compare_cas.is_some_and(|c| c < old_cas) => {
            extra = ItemBits::STALE;
            if old_token {
                extra = extra.union(ItemBits::TOKEN_SENT);
            }
            let keep = i64::from(old_expiry.unwrap_or(NEVER));
            store.store(StoreMode::Set, key, client_flags, keep, data, None, now)
        }
        _ => store.store(store_mode, key, client_flags, exptime, data, cas, now),
    };
    let (code, stored_cas) = match outcome {
        Ok(StoreOutcome::Stored { cas }) => (Code::Hd, cas),
        Ok(StoreOutcome::NotStored) => (Code::Ns, 0),
        Ok(StoreOutcome::Exists) => (Code::Ex, 0),
        Ok(StoreOutcome::NotFound) => (Code::Nf, 0),
        Err(StoreError::TooLarge) => return Reply::TooLarge.write(out),
        Err(StoreError::OutOfMemory) => return Reply::OutOfMemoryStoring.write(out),
        Err(StoreError::KeyTooLong) => return Reply::BadFormat.write(out),
    };
    if code == Code::Hd {
        if request.key.is_binary() {
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
            return;
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

/// `me`: memcached's `process_meta_command`, a debug line about the item
/// (`cls` is always 1: Torsion has one class, as `stats items` reports;
/// `size` is what memcached would report, not what Torsion charges).
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
        Some(e) => push_i64(out, i64::from(e) - i64::from(now)),
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
    out.extend_from_slice(b" cls=1 size=");
    push_u64(out, memcached_item_total(&item));
    end_line(out);
}

/// The size memcached's `me` prints for an item (`ITEM_ntotal` of an
/// unchunked item on a 64-bit build): its 48-byte header, the key and a NUL,
/// the value and its `\r\n`, the CAS, and the client flags when not 0.
fn memcached_item_total(item: &Item<'_>) -> u64 {
    const HEADER: usize = 48;
    const CAS: usize = 8;
    let flags = if item.flags() == 0 { 0 } else { 4 };
    (HEADER + item.key().len() + 1 + item.value().len() + 2 + CAS + flags) as u64
}

#[cfg(test)]
mod tests {
    use crate::memcached::dialect::Ascii;
    use crate::memcached::store::StoreConfig;
    use crate::memcached::testkit::Conversation;

    type Client = Conversation<Ascii>;

    #[test]
    fn get_miss_hit_and_return_flags() {
        let mut c = Client::new();
        c.expect(b"mg foo v\r\n", b"EN\r\n");
        c.expect(b"mg foo v Oab k\r\n", b"EN Oab kfoo\r\n");
        c.expect(b"mg foo v q\r\n", b"");
        c.expect(b"ms foo 2 F5\r\nhi\r\n", b"HD\r\n");
        c.expect(
            b"mg foo s v t c f k Oxy\r\n",
            b"VA 2 s2 t-1 c1 f5 kfoo Oxy\r\nhi\r\n",
        );
        c.expect(b"mg foo\r\n", b"HD\r\n");
        c.expect(b"mg foo k q\r\n", b"HD kfoo\r\n"); // q hides only EN
                                                     // Flags without a reply value are accepted and echo nothing.
        c.expect(b"mg foo u P L\r\n", b"HD\r\n");
        c.expect(b"mg foo C99 v\r\n", b"VA 2\r\nhi\r\n");
    }

    #[test]
    fn get_hit_before_and_last_access() {
        let mut c = Client::new();
        c.expect(b"ms k 1\r\nx\r\n", b"HD\r\n");
        c.now += 5;
        // u: no bump, so the item stays unfetched.
        c.expect(b"mg k u h l\r\n", b"HD h0 l5\r\n");
        c.expect(b"mg k h l\r\n", b"HD h0 l5\r\n");
        c.now += 2;
        c.expect(b"mg k h l\r\n", b"HD h1 l2\r\n");
        c.expect(b"me k\r\n", b"ME k exp=-1 la=0 cas=1 fetch=yes cls=1 size=61\r\n");
    }

    #[test]
    fn get_and_touch_in_request_order() {
        let mut c = Client::new();
        c.expect(b"ms k 1 T100\r\nx\r\n", b"HD\r\n");
        c.now += 10;
        // t before T shows the old TTL, after it the new one.
        c.expect(b"mg k t T60\r\n", b"HD t90\r\n");
        c.expect(b"mg k T30 t\r\n", b"HD t30\r\n");
        c.expect(b"mg k t T30 t\r\n", b"CLIENT_ERROR duplicate flag\r\n");
        c.now += 29;
        c.expect(b"mg k t\r\n", b"HD t1\r\n");
        c.now += 1;
        c.expect(b"mg k t\r\n", b"EN\r\n");
        let stats = String::from_utf8(c.send(b"stats\r\n")).unwrap();
        assert!(stats.contains("STAT cmd_touch 2\r\n"), "{stats}");
        assert!(stats.contains("STAT touch_hits 2\r\n"));
        assert!(stats.contains("STAT get_hits 1\r\n"));
        assert!(stats.contains("STAT get_misses 1\r\n"));
    }

    #[test]
    fn vivify_and_recache_tokens() {
        let mut c = Client::new();
        // Autovivify: the first client wins, the next sees Z.
        c.expect(b"mg n s c v N30 t\r\n", b"VA 0 s0 c1 t30 W\r\n\r\n");
        c.expect(b"mg n s c v N30 t\r\n", b"VA 0 s0 c1 t30 Z\r\n\r\n");
        // q does not hide a vivified miss: it is a hit.
        c.expect(b"mg q1 s N30 t q\r\n", b"HD s0 t30 W\r\n");
        // t before N shows the item as created: no TTL yet.
        c.expect(b"mg n2 t N30\r\n", b"HD t-1 W\r\n");
        // Recache: less than R left to live wins, once.
        c.expect(b"ms r 2 T120\r\nab\r\n", b"HD\r\n");
        c.expect(b"mg r R100 t\r\n", b"HD t120\r\n");
        c.expect(b"mg r R130 t\r\n", b"HD t120 W\r\n");
        c.expect(b"mg r R130 t\r\n", b"HD t120 Z\r\n");
        // A new set clears the token.
        c.expect(b"ms r 2 T120\r\nab\r\n", b"HD\r\n");
        c.expect(b"mg r R130\r\n", b"HD W\r\n");
        // Never-expiring items never win a recache.
        c.expect(b"ms never 1\r\nx\r\n", b"HD\r\n");
        c.expect(b"mg never R130\r\n", b"HD\r\n");
    }

    #[test]
    fn invalidate_and_serve_stale() {
        let mut c = Client::new();
        c.expect(b"ms k 3\r\nmoo\r\n", b"HD\r\n");
        c.expect(b"mg k s v c\r\n", b"VA 3 s3 c1\r\nmoo\r\n");
        c.expect(b"md k I T30\r\n", b"HD\r\n");
        // Stale: the first reader wins the recache, the next sees Z.
        c.expect(b"mg k s t c v\r\n", b"VA 3 s3 t30 c2 X W\r\nmoo\r\n");
        c.expect(b"mg k c\r\n", b"HD c2 Z X\r\n");
        // A compare-and-swap with an older CAS fails...
        c.expect(b"ms k 1 T90 C0\r\nf\r\n", b"EX\r\n");
        // ...unless I allows a stale set: stored, still stale, TTL kept.
        c.expect(b"ms k 1 I T90 C1\r\nf\r\n", b"HD\r\n");
        c.expect(b"mg k t c v\r\n", b"VA 1 t30 c3 Z X\r\nf\r\n");
        // The right CAS stores a fresh value.
        c.expect(b"ms k 1 T90 C3\r\ng\r\n", b"HD\r\n");
        c.expect(b"mg k t v\r\n", b"VA 1 t90\r\ng\r\n");
        // md I with a wrong CAS, on a miss, and quietly.
        c.expect(b"md k I C1\r\n", b"EX\r\n");
        c.expect(b"md nope I\r\n", b"NF\r\n");
        c.expect(b"md k I q\r\n", b"");
        c.expect(b"mg k c\r\n", b"HD c5 X W\r\n");
    }

    #[test]
    fn set_modes() {
        let mut c = Client::new();
        c.expect(b"ms k 2 T120\r\naa\r\n", b"HD\r\n");
        c.expect(b"ms k 2 T120 ME\r\naa\r\n", b"NS\r\n");
        c.expect(b"ms t 2 T120 ME\r\nbb\r\n", b"HD\r\n");
        c.expect(b"ms t 2 MA s\r\ncc\r\n", b"HD\r\n");
        c.expect(b"ms t 2 MP s c\r\naa\r\n", b"HD c4\r\n");
        c.expect(b"mg t v f\r\n", b"VA 6 f0\r\naabbcc\r\n");
        c.expect(b"ms nope 2 MR\r\nzz\r\n", b"NS\r\n");
        c.expect(b"ms t 2 MR F3\r\nxx\r\n", b"HD\r\n");
        c.expect(b"ms t 2 MS\r\nyy\r\n", b"HD\r\n");
        c.expect(b"mg t v f\r\n", b"VA 2 f0\r\nyy\r\n");
        c.expect(
            b"ms t 2 MZ\r\ntt\r\n",
            b"CLIENT_ERROR invalid mode for ms M token\r\n",
        );
        c.expect(b"mg t v\r\n", b"VA 2\r\nyy\r\n");
        // Append: a CAS mismatch or a miss is NS; the right CAS appends.
        c.expect(b"ms ap 2 MA C5000 T30\r\nhi\r\n", b"NS\r\n");
        c.expect(b"ms ap 2 MA T30\r\nhi\r\n", b"NS\r\n");
        c.expect(b"ms ap 2 T30 c\r\nho\r\n", b"HD c7\r\n");
        c.expect(b"ms ap 2 MA C6\r\nhi\r\n", b"EX\r\n");
        c.expect(b"ms ap 2 MA C7\r\nhi\r\n", b"HD\r\n");
        // N does not make an append vivify in 1.6.18.
        c.expect(b"ms viv 2 MA N30\r\nmo\r\n", b"NS\r\n");
        c.expect(b"mg viv v t\r\n", b"EN\r\n");
    }

    #[test]
    fn set_cas_flags_and_quiet() {
        let mut c = Client::new();
        c.expect(b"ms k 2 c\r\nbo\r\n", b"HD c1\r\n");
        c.expect(b"ms k 2 c C11\r\nio\r\n", b"EX c0\r\n");
        c.expect(b"ms k 2 c C1\r\nio\r\n", b"HD c2\r\n");
        c.expect(b"ms k 2 MR C2 c\r\nzz\r\n", b"HD c3\r\n");
        c.expect(b"ms nope 2 C2\r\nzz\r\n", b"NF\r\n");
        c.expect(b"ms a 1\r\n1\r\n", b"HD\r\n");
        c.expect(b"ms a 1 Otest\r\n1\r\n", b"HD Otest\r\n");
        // 1.6.18's ms ignores s.
        c.expect(b"ms a 1 s\r\n1\r\n", b"HD\r\n");
        c.expect(b"ms a 1 k\r\n1\r\n", b"HD ka\r\n");
        c.expect(b"ms a 1 F4294967295 T0 k Oz c s\r\n1\r\n", b"HD ka Oz c8\r\n");
        c.expect(b"mg a f\r\n", b"HD f4294967295\r\n");
        // Quiet hides only HD.
        c.expect(b"ms q 2 q\r\nmo\r\n", b"");
        c.expect(b"ms q 2 q ME\r\nmo\r\n", b"NS\r\n");
        c.expect(b"ms q 2 q C1\r\nmo\r\n", b"EX\r\n");
        c.expect(b"mg q v\r\n", b"VA 2\r\nmo\r\n");
    }

    #[test]
    fn set_data_block_errors() {
        let mut c = Client::with(StoreConfig {
            item_size_max: 1024,
            ..StoreConfig::default()
        });
        c.expect(b"ms k 1\r\nx\r\n", b"HD\r\n");
        // Too large: the error at once, the block swallowed as it comes, and
        // the old item gone (in every mode, as process_mset_cmd_start does).
        c.expect(
            b"ms k 2000 q MA\r\n",
            b"SERVER_ERROR object too large for cache\r\n",
        );
        c.expect(&[b'z'; 1500], b"");
        assert!(c.pending().is_empty());
        c.expect(&[b'z'; 502], b"");
        c.expect(b"mg k v\r\n", b"EN\r\n");
        // A bad chunk is an error even with q; what follows is a new line.
        c.expect(
            b"ms k 2 q\r\nxyz\nmn\r\n",
            b"CLIENT_ERROR bad data chunk\r\nMN\r\n",
        );
        // The block is exactly len + 2 bytes: here "xy\r", then an empty line.
        c.expect(
            b"ms k 1 q\r\nxy\r\nmn\r\n",
            b"CLIENT_ERROR bad data chunk\r\nERROR\r\nMN\r\n",
        );
        c.expect(b"mg k v\r\n", b"EN\r\n");
        // Refused after the length: the block is swallowed.
        c.expect(
            b"ms k 3 v v\r\nabc\r\nmn\r\n",
            b"CLIENT_ERROR duplicate flag\r\nMN\r\n",
        );
        let long = format!("ms {} 3 q\r\nabc\r\nmn\r\n", "k".repeat(251));
        // (a key too long is refused before the length: no swallow)
        c.expect(
            long.as_bytes(),
            b"CLIENT_ERROR bad command line format\r\nERROR\r\nMN\r\n",
        );
        // Refused before the length: the block is read as a command line.
        c.expect(
            b"ms k\r\nabc\r\nmn\r\n",
            b"CLIENT_ERROR bad command line format\r\nERROR\r\nMN\r\n",
        );
        c.expect(
            b"ms k -1\r\nmn\r\n",
            b"CLIENT_ERROR bad command line format\r\nMN\r\n",
        );
        c.expect(b"ms k 1\r\nx\r\nmg k v\r\n", b"HD\r\nVA 1\r\nx\r\n");
    }

    #[test]
    fn delete() {
        let mut c = Client::new();
        c.expect(b"md k\r\n", b"NF\r\n");
        c.expect(b"md k q\r\n", b"NF\r\n");
        c.expect(b"md k q Oa k\r\n", b"NF Oa kk\r\n");
        c.expect(b"ms k 2\r\nhi\r\n", b"HD\r\n");
        c.expect(b"md k C9\r\n", b"EX\r\n");
        c.expect(b"md k C0\r\n", b"EX\r\n");
        c.expect(b"md k C1 Oa k\r\n", b"HD Oa kk\r\n");
        c.expect(b"mg k\r\n", b"EN\r\n");
        c.expect(b"ms k 2\r\nhi\r\n", b"HD\r\n");
        c.expect(b"md k q\r\nmn\r\n", b"MN\r\n");
        c.expect(b"mg k\r\n", b"EN\r\n");
        // T without I changes nothing.
        c.expect(b"ms k 2\r\nhi\r\n", b"HD\r\n");
        c.expect(b"md k T30 I\r\n", b"HD\r\n");
        c.expect(b"mg k t\r\n", b"HD t30 X W\r\n");
        c.expect(b"md k T5\r\n", b"HD\r\n");
        c.expect(b"mg k\r\n", b"EN\r\n");
        c.expect(b"md k v v\r\n", b"CLIENT_ERROR invalid or duplicate flag\r\n");
        let stats = String::from_utf8(c.send(b"stats\r\n")).unwrap();
        assert!(stats.contains("STAT delete_hits 3\r\n"), "{stats}");
        // memcached also counts md's CAS mismatches as delete misses; the
        // store counts only real misses.
        assert!(stats.contains("STAT delete_misses 3\r\n"), "{stats}");
    }

    #[test]
    fn arithmetic() {
        let mut c = Client::new();
        c.expect(b"ma mo\r\n", b"NF\r\n");
        c.expect(b"ma mo D1 q Oa k\r\n", b"NF Oa kmo\r\n");
        c.expect(b"set mo 0 0 1\r\n1\r\n", b"STORED\r\n");
        c.expect(b"ma mo\r\n", b"HD\r\n");
        c.expect(b"ma mo v\r\n", b"VA 1\r\n3\r\n");
        c.expect(b"ma mo v D10 c\r\n", b"VA 2 c4\r\n13\r\n");
        c.expect(b"ma mo v MD D4\r\n", b"VA 1\r\n9\r\n");
        c.expect(b"ma mo v M- D100\r\n", b"VA 1\r\n0\r\n");
        c.expect(
            b"ma mo v M+ D18446744073709551615\r\n",
            b"VA 20\r\n18446744073709551615\r\n",
        );
        c.expect(b"ma mo v\r\n", b"VA 1\r\n0\r\n");
        c.expect(b"get mo\r\n", b"VALUE mo 0 20\r\n0                   \r\nEND\r\n");
        c.expect(b"set s 0 0 1\r\nq\r\n", b"STORED\r\n");
        c.expect(
            b"ma s q\r\n",
            b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
        );
        // Vivify with an initial value (not incremented), then count from it.
        c.expect(b"ma mi N0 J13 v t\r\n", b"VA 2 t-1\r\n13\r\n");
        c.expect(b"ma mi N0 J13 v t\r\n", b"VA 2 t-1\r\n14\r\n");
        c.expect(b"ma mu N90 t v\r\n", b"VA 1 t90\r\n0\r\n");
        c.expect(b"ma mu T300 v t\r\n", b"VA 1 t300\r\n1\r\n");
        c.expect(b"ma mu t T30 k\r\n", b"HD t300 kmu\r\n");
        c.expect(b"mg mu t\r\n", b"HD t30\r\n");
        c.expect(b"ma mi q D1\r\nmn\r\n", b"MN\r\n");
        // A counter created from N is answered even when quiet.
        c.expect(b"ma new q N0\r\nmn\r\n", b"HD\r\nMN\r\n");
        c.expect(b"mg mi v\r\nmg new v\r\n", b"VA 2\r\n15\r\nVA 1\r\n0\r\n");
        // CAS: a mismatch is EX; 0 means no check.
        c.expect(b"ma mc N0 c v\r\n", b"VA 1 c17\r\n0\r\n");
        c.expect(b"ma mc C99999 v\r\n", b"EX\r\n");
        c.expect(b"ma mc C0 v\r\n", b"VA 1\r\n1\r\n");
        c.expect(b"ma mc C18 c v\r\n", b"VA 1 c19\r\n2\r\n");
        c.expect(b"ma mc v v\r\n", b"CLIENT_ERROR invalid or duplicate flag\r\n");
        c.expect(b"ma mc Mx\r\n", b"CLIENT_ERROR invalid mode for ma M token\r\n");
        c.expect(b"ma mc Dx\r\n", b"CLIENT_ERROR invalid or duplicate flag\r\n");
    }

    #[test]
    fn debug_and_noop() {
        let mut c = Client::new();
        c.expect(b"me k\r\n", b"EN\r\n");
        c.expect(b"mn\r\n", b"MN\r\n");
        c.expect(b"ms k 2 T100\r\nhi\r\n", b"HD\r\n");
        c.now += 3;
        c.expect(b"me k\r\n", b"ME k exp=97 la=3 cas=1 fetch=no cls=1 size=62\r\n");
        c.expect(b"me\r\n", b"CLIENT_ERROR bad command line format\r\n");
        c.expect(b"mz k\r\n", b"ERROR\r\n");
    }

    #[test]
    fn base64_keys() {
        let mut c = Client::new();
        // 44OG44K544OI is "tesuto" in katakana.
        c.expect(b"ms 44OG44K544OI 2 b k\r\npo\r\n", b"HD k44OG44K544OI b\r\n");
        c.expect(b"mg 44OG44K544OI v\r\n", b"EN\r\n");
        c.expect(b"mg 44OG44K544OI b v k\r\n", b"VA 2 k44OG44K544OI b\r\npo\r\n");
        c.expect(
            b"me 44OG44K544OI b\r\n",
            b"ME 44OG44K544OI exp=-1 la=0 cas=1 fetch=yes cls=1 size=70\r\n",
        );
        c.expect(b"mg 44OG44K544OI b k Oq\r\n", b"HD k44OG44K544OI b Oq\r\n");
        c.expect(b"md Zm9v b k\r\n", b"NF kZm9v b\r\n");
        c.expect(b"mg Zm9 b v\r\n", b"CLIENT_ERROR error decoding key\r\n");
        // The decoded key is the key the text protocol sees.
        c.expect(b"ms Zm9v 1 b\r\nx\r\n", b"HD\r\n");
        c.expect(b"get foo\r\n", b"VALUE foo 0 1\r\nx\r\nEND\r\n");
    }

    #[test]
    fn quiet_pipeline_and_errors() {
        let mut c = Client::new();
        c.expect(
            b"ms quiet 2 q\r\nbo\r\nmg quiet v q\r\nmg quiet v q\r\nmg quietmiss v q\r\nmn\r\n",
            b"VA 2\r\nbo\r\nVA 2\r\nbo\r\nMN\r\n",
        );
        // Errors are never quiet.
        c.expect(b"mg quiet v q v\r\n", b"CLIENT_ERROR duplicate flag\r\n");
        c.expect(b"mg foo m o o o\r\n", b"CLIENT_ERROR invalid flag\r\n");
        c.expect(
            b"mg foo Tx q\r\n",
            b"CLIENT_ERROR bad token in command line format\r\n",
        );
        c.expect(b"mg\r\n", b"ERROR\r\n");
        c.expect(
            b"mg k s t c f h l v q u k O1 N1 T1 R1 F1 C1 J1 D1 I\r\n",
            b"CLIENT_ERROR options flags are too long\r\n",
        );
        // Classic and meta commands mix freely.
        c.expect(
            b"set a 0 0 1\r\n1\r\nmg a v\r\nincr a 1\r\nma a v\r\nget a\r\nmn\r\n",
            b"STORED\r\nVA 1\r\n1\r\n2\r\nVA 1\r\n3\r\nVALUE a 0 1\r\n3\r\nEND\r\nMN\r\n",
        );
    }

    #[test]
    fn bad_meta_inputs_then_a_good_request() {
        let mut c = Client::with(StoreConfig {
            item_size_max: 1024,
            ..StoreConfig::default()
        });
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
