//! The store's tests, and the helpers its submodules' tests share.

use super::super::classes::item_total;
use super::*;

pub(super) const MB: usize = 1024 * 1024;

/// A value of class 38 (394,840-byte chunks, two per page).
pub(super) fn big(fill: u8) -> Vec<u8> {
    vec![fill; 350_000]
}

/// A store of `pages` 1 MiB pages.
pub(super) fn pages(pages: usize, evict: bool) -> Store {
    Store::new(StoreConfig {
        max_bytes: pages * MB,
        evict,
        ..StoreConfig::default()
    })
}

pub(super) const NOW: u32 = 1_700_000_000;

fn store() -> Store {
    Store::new(StoreConfig::default())
}

pub(super) fn set(s: &mut Store, key: &[u8], value: &[u8], exptime: i64, now: u32) -> u64 {
    match s.store(StoreMode::Set, key, 0, exptime, value, None, now) {
        Ok(StoreOutcome::Stored { cas }) => cas,
        other => panic!("set failed: {other:?}"),
    }
}

/// A `get` whose reply is written at once (nothing stays held).
pub(super) fn value(s: &mut Store, key: &[u8], now: u32) -> Option<Vec<u8>> {
    let got = s.get(key, now).map(|i| i.value().to_vec());
    s.release();
    got
}

#[test]
fn set_get_overwrite_and_cas_uniques() {
    let mut s = store();
    let c1 = set(&mut s, b"a", b"1", 0, NOW);
    let c2 = set(&mut s, b"b", b"2", 0, NOW);
    assert!(c2 > c1);
    let c3 = set(&mut s, b"a", b"one", 0, NOW);
    assert!(c3 > c2);
    let item = s.get(b"a", NOW).unwrap();
    assert_eq!(
        (item.value(), item.cas(), item.key()),
        (&b"one"[..], c3, &b"a"[..])
    );
    assert_eq!(s.curr_items(), 2);
    assert_eq!(s.bytes(), item_total(1, 0, 3) + item_total(1, 0, 1));
    assert_eq!(s.stats().total_items, 3);
    assert_eq!(value(&mut s, b"zz", NOW), None);
    assert_eq!(
        (s.stats().get_hits, s.stats().get_misses, s.stats().cmd_get),
        (1, 1, 2)
    );
}

#[test]
fn expiry_edges() {
    let mut s = store();
    set(&mut s, b"never", b"v", 0, NOW);
    set(&mut s, b"one", b"v", 1, NOW);
    set(&mut s, b"thirty_days", b"v", 2_592_000, NOW);
    set(&mut s, b"absolute_past", b"v", 2_592_001, NOW);
    set(&mut s, b"absolute_future", b"v", i64::from(NOW) + 100, NOW);
    set(&mut s, b"absolute_now", b"v", i64::from(NOW), NOW);
    set(&mut s, b"negative", b"v", -1, NOW);
    // Stored, but invisible at once.
    assert_eq!(s.stats().total_items, 7);
    assert_eq!(value(&mut s, b"negative", NOW), None);
    assert_eq!(value(&mut s, b"absolute_past", NOW), None);
    assert_eq!(value(&mut s, b"absolute_now", NOW), None);
    assert_eq!(s.stats().get_expired, 3);
    assert!(value(&mut s, b"one", NOW).is_some());
    assert_eq!(value(&mut s, b"one", NOW + 1), None);
    assert!(value(&mut s, b"absolute_future", NOW + 99).is_some());
    assert_eq!(value(&mut s, b"absolute_future", NOW + 100), None);
    assert!(value(&mut s, b"thirty_days", NOW + 2_591_999).is_some());
    assert_eq!(value(&mut s, b"thirty_days", NOW + 2_592_000), None);
    assert!(value(&mut s, b"never", u32::MAX).is_some());
    // Expired items are gone for every operation, not only get.
    assert_eq!(s.delete(b"one", None, NOW + 5), DeleteOutcome::NotFound);
    assert_eq!(
        s.store(StoreMode::Add, b"one", 0, 0, b"again", None, NOW + 5),
        Ok(StoreOutcome::Stored { cas: 8 })
    );
}

#[test]
fn ttl_and_touch() {
    let mut s = store();
    let cas = set(&mut s, b"k", b"v", 100, NOW);
    assert_eq!(s.peek(b"k", NOW + 40).unwrap().ttl(NOW + 40), Some(60));
    assert_eq!(s.touch(b"k", 0, None, NOW + 50), TouchOutcome::Touched { cas });
    assert_eq!(s.peek(b"k", NOW + 50).unwrap().ttl(NOW), None);
    assert_eq!(s.touch(b"k", 10, Some(cas + 1), NOW), TouchOutcome::Exists);
    assert_eq!(s.touch(b"k", 10, Some(cas), NOW), TouchOutcome::Touched { cas });
    assert!(s.peek(b"k", NOW + 9).is_some());
    // A negative touch makes the item invisible at once.
    assert_eq!(s.touch(b"k", -1, None, NOW), TouchOutcome::Touched { cas });
    assert!(s.peek(b"k", NOW).is_none());
    assert_eq!(s.touch(b"k", 10, None, NOW), TouchOutcome::NotFound);
    let st = s.stats();
    assert_eq!((st.cmd_touch, st.touch_hits, st.touch_misses), (5, 3, 1));
}

#[test]
fn get_and_touch_sets_expiry() {
    let mut s = store();
    set(&mut s, b"k", b"v", 10, NOW);
    assert_eq!(
        s.get_and_touch(b"k", 100, NOW + 5).unwrap().ttl(NOW + 5),
        Some(100)
    );
    assert!(s.get(b"k", NOW + 50).is_some());
    assert!(s.get_and_touch(b"missing", 100, NOW).is_none());
    assert_eq!((s.stats().touch_hits, s.stats().touch_misses), (1, 1));
    assert!(s.get_and_touch(b"k", -1, NOW).is_some());
    assert!(s.get(b"k", NOW).is_none());
}

#[test]
fn add_replace_append_prepend() {
    let mut s = store();
    assert_eq!(
        s.store(StoreMode::Replace, b"k", 0, 0, b"x", None, NOW),
        Ok(StoreOutcome::NotStored)
    );
    assert_eq!(
        s.store(StoreMode::Append, b"k", 0, 0, b"x", None, NOW),
        Ok(StoreOutcome::NotStored)
    );
    assert_eq!(
        s.store(StoreMode::Prepend, b"k", 0, 0, b"x", None, NOW),
        Ok(StoreOutcome::NotStored)
    );
    assert!(matches!(
        s.store(StoreMode::Add, b"k", 5, 100, b"mid", None, NOW),
        Ok(StoreOutcome::Stored { .. })
    ));
    assert_eq!(
        s.store(StoreMode::Add, b"k", 0, 0, b"x", None, NOW),
        Ok(StoreOutcome::NotStored)
    );
    assert!(matches!(
        s.store(StoreMode::Append, b"k", 9, 0, b"_end", None, NOW),
        Ok(StoreOutcome::Stored { .. })
    ));
    assert!(matches!(
        s.store(StoreMode::Prepend, b"k", 9, 0, b"start_", None, NOW),
        Ok(StoreOutcome::Stored { .. })
    ));
    let item = s.get(b"k", NOW).unwrap();
    // Append/prepend keep flags and expiry of the original.
    assert_eq!(
        (item.value(), item.flags(), item.ttl(NOW)),
        (&b"start_mid_end"[..], 5, Some(100))
    );
    assert!(matches!(
        s.store(StoreMode::Replace, b"k", 1, 0, b"new", None, NOW),
        Ok(StoreOutcome::Stored { .. })
    ));
    assert_eq!(value(&mut s, b"k", NOW), Some(b"new".to_vec()));
    assert_eq!(s.curr_items(), 1);
    assert_eq!(s.bytes(), item_total(1, 1, 3));
}

#[test]
fn cas_checks() {
    let mut s = store();
    let put = |s: &mut Store, mode, cas| s.store(mode, b"k", 0, 0, b"v", cas, NOW);
    assert_eq!(put(&mut s, StoreMode::Set, Some(1)), Ok(StoreOutcome::NotFound));
    let cas = set(&mut s, b"k", b"v", 0, NOW);
    assert_eq!(
        put(&mut s, StoreMode::Set, Some(cas + 1)),
        Ok(StoreOutcome::Exists)
    );
    let Ok(StoreOutcome::Stored { cas: cas2 }) = put(&mut s, StoreMode::Set, Some(cas)) else {
        panic!()
    };
    // The old unique is now stale.
    assert_eq!(put(&mut s, StoreMode::Set, Some(cas)), Ok(StoreOutcome::Exists));
    assert_eq!(
        put(&mut s, StoreMode::Append, Some(cas)),
        Ok(StoreOutcome::Exists)
    );
    assert!(matches!(
        put(&mut s, StoreMode::Prepend, Some(cas2)),
        Ok(StoreOutcome::Stored { .. })
    ));
    let st = s.stats();
    assert_eq!((st.cas_misses, st.cas_hits, st.cas_badval), (1, 1, 2));
    let cas3 = s.peek(b"k", NOW).unwrap().cas();
    assert_eq!(s.delete(b"k", Some(cas3 + 1), NOW), DeleteOutcome::Exists);
    assert_eq!(s.delete(b"k", Some(cas3), NOW), DeleteOutcome::Deleted);
    assert_eq!(s.delete(b"k", None, NOW), DeleteOutcome::NotFound);
    assert_eq!((s.stats().delete_hits, s.stats().delete_misses), (1, 1));
}

fn delta(op: DeltaOp, amount: u64) -> Delta {
    Delta {
        op,
        amount,
        initial: None,
        cas: None,
    }
}

#[test]
fn incr_decr_rules() {
    let mut s = store();
    assert_eq!(
        s.incr_decr(b"n", delta(DeltaOp::Incr, 1), NOW),
        Ok(DeltaOutcome::NotFound)
    );
    set(&mut s, b"n", b"18446744073709551615", 0, NOW);
    let r = s.incr_decr(b"n", delta(DeltaOp::Incr, 2), NOW);
    assert!(matches!(r, Ok(DeltaOutcome::Updated { value: 1, .. })));
    // Same length kept: padded with spaces, as memcached does.
    assert_eq!(value(&mut s, b"n", NOW).unwrap(), b"1                   ");
    let r = s.incr_decr(b"n", delta(DeltaOp::Decr, 5), NOW);
    assert!(matches!(r, Ok(DeltaOutcome::Updated { value: 0, .. })));
    set(&mut s, b"n", b"99", 0, NOW);
    let r = s.incr_decr(b"n", delta(DeltaOp::Incr, 1), NOW);
    assert!(matches!(r, Ok(DeltaOutcome::Updated { value: 100, .. })));
    assert_eq!(value(&mut s, b"n", NOW).unwrap(), b"100");
    let _ = s.incr_decr(b"n", delta(DeltaOp::Decr, 91), NOW).unwrap();
    assert_eq!(value(&mut s, b"n", NOW).unwrap(), b"9  ");
    // The padded value still parses.
    let _ = s.incr_decr(b"n", delta(DeltaOp::Incr, 1), NOW).unwrap();
    assert_eq!(value(&mut s, b"n", NOW).unwrap(), b"10 ");
    for bad in [&b"abc"[..], b"", b"12abc", b"-1", b"1.5"] {
        set(&mut s, b"bad", bad, 0, NOW);
        assert_eq!(
            s.incr_decr(b"bad", delta(DeltaOp::Incr, 1), NOW),
            Err(DeltaError::NonNumeric),
            "{bad:?}"
        );
    }
    set(&mut s, b"sp", b" 7\r\n", 0, NOW);
    assert!(matches!(
        s.incr_decr(b"sp", delta(DeltaOp::Incr, 1), NOW),
        Ok(DeltaOutcome::Updated { value: 8, .. })
    ));
    let st = s.stats();
    assert_eq!((st.incr_hits, st.incr_misses, st.decr_hits), (4, 1, 2));
}

#[test]
fn incr_keeps_flags_expiry_and_updates_cas() {
    let mut s = store();
    let _ = s.store(StoreMode::Set, b"n", 42, 100, b"9", None, NOW).unwrap();
    let old = s.peek(b"n", NOW).unwrap().cas();
    let Ok(DeltaOutcome::Updated { value: 10, cas }) = s.incr_decr(b"n", delta(DeltaOp::Incr, 1), NOW) else {
        panic!()
    };
    assert!(cas > old);
    let item = s.peek(b"n", NOW).unwrap();
    assert_eq!(
        (item.flags(), item.ttl(NOW), item.cas(), item.value()),
        (42, Some(100), cas, &b"10"[..])
    );
    let d = Delta {
        cas: Some(old),
        ..delta(DeltaOp::Incr, 1)
    };
    assert_eq!(s.incr_decr(b"n", d, NOW), Ok(DeltaOutcome::Exists));
}

#[test]
fn incr_pads_in_place_and_does_not_mark_fetched() {
    let mut s = store();
    set(&mut s, b"n", b"10", 0, NOW);
    let d = delta(DeltaOp::Decr, 1);
    assert!(matches!(
        s.incr_decr(b"n", d, NOW + 5),
        Ok(DeltaOutcome::Updated { value: 9, .. })
    ));
    let item = s.peek(b"n", NOW).unwrap();
    // memcached: "9 " in place, not fetched, still in the same class.
    assert_eq!(
        (item.value(), item.fetched(), item.class()),
        (&b"9 "[..], false, 1)
    );
    // incr wrapping to a shorter number pads too.
    set(&mut s, b"w", b"18446744073709551615", 0, NOW);
    let _ = s.incr_decr(b"w", delta(DeltaOp::Incr, 2), NOW).unwrap();
    assert_eq!(s.peek(b"w", NOW).unwrap().value(), b"1                   ");
    assert_eq!(s.class_stats(1).incr_hits, 1);
    assert_eq!(s.class_stats(1).decr_hits, 1);
    // While a pending reply holds the item, a shorter result replaces it.
    set(&mut s, b"h", b"100", 0, NOW);
    s.hold(b"h", NOW);
    let _ = s.incr_decr(b"h", delta(DeltaOp::Decr, 1), NOW).unwrap();
    assert_eq!(s.peek(b"h", NOW).unwrap().value(), b"99");
    s.release();
    let _ = s.incr_decr(b"h", delta(DeltaOp::Decr, 90), NOW).unwrap();
    assert_eq!(s.peek(b"h", NOW).unwrap().value(), b"9 ");
}

#[test]
fn incr_creates_initial_value() {
    let mut s = store();
    let d = Delta {
        initial: Some(Initial {
            value: 5,
            exptime: 10,
        }),
        ..delta(DeltaOp::Incr, 3)
    };
    assert!(matches!(
        s.incr_decr(b"c", d, NOW),
        Ok(DeltaOutcome::Created { value: 5, .. })
    ));
    assert!(matches!(
        s.incr_decr(b"c", d, NOW),
        Ok(DeltaOutcome::Updated { value: 8, .. })
    ));
    assert_eq!(s.peek(b"c", NOW).unwrap().ttl(NOW), Some(10));
    assert!(s.peek(b"c", NOW + 10).is_none());
}

#[test]
fn size_limits() {
    // memcached's sizes: 48-byte header, key + NUL, flags if non-zero,
    // value + CRLF, 8-byte CAS.
    let mut s = store();
    let max_value = MB - 48 - 2 - 2 - 8;
    assert_eq!(max_value, 1_048_516);
    assert!(s.fits(1, max_value));
    assert!(!s.fits(1, max_value + 1));
    assert!(!s.fits_item(1, 7, max_value - 3));
    set(&mut s, b"k", &vec![b'v'; max_value], 0, NOW);
    // A refused set removes the old value, as memcached does.
    let big = vec![b'v'; max_value + 1];
    assert_eq!(
        s.store(StoreMode::Set, b"k", 0, 0, &big, None, NOW),
        Err(StoreError::TooLarge)
    );
    assert!(s.peek(b"k", NOW).is_none());
    set(&mut s, b"k", b"small", 0, NOW);
    // Non-zero flags take 4 bytes.
    assert_eq!(
        s.store(StoreMode::Set, b"j", 1, 0, &big[4..], None, NOW),
        Err(StoreError::TooLarge)
    );
    assert_eq!(
        s.store(StoreMode::Add, b"j", 0, 0, &big, None, NOW),
        Err(StoreError::TooLarge)
    );
    assert_eq!(
        s.store(StoreMode::Replace, b"k", 0, 0, &big, None, NOW),
        Err(StoreError::TooLarge)
    );
    assert!(s.peek(b"k", NOW).is_some());
    // A cas refused as too large keeps the item, whatever its unique.
    let cas = s.peek(b"k", NOW).unwrap().cas();
    for unique in [cas, cas + 100] {
        assert_eq!(
            s.store(StoreMode::Set, b"k", 0, 0, &big, Some(unique), NOW),
            Err(StoreError::TooLarge)
        );
        assert!(s.peek(b"k", NOW).is_some());
    }
    s.refuse_too_large_cas(StoreMode::Set, b"k", Some(cas), NOW);
    assert!(s.peek(b"k", NOW).is_some());
    // An append that would grow past the limit is NOT_STORED and keeps the old value.
    let almost = vec![b'v'; max_value - 2];
    assert_eq!(
        s.store(StoreMode::Append, b"k", 0, 0, &almost, None, NOW),
        Ok(StoreOutcome::NotStored)
    );
    assert_eq!(value(&mut s, b"k", NOW).unwrap(), b"small");
    assert_eq!(s.stats().store_too_large, 7);
    let long_key = [b'k'; 251];
    assert_eq!(
        s.store(StoreMode::Set, &long_key, 0, 0, b"v", None, NOW),
        Err(StoreError::KeyTooLong)
    );
    s.refuse_too_large(StoreMode::Set, b"k", NOW);
    assert!(s.peek(b"k", NOW).is_none());
}

#[test]
fn without_cas_a_flush_cuts_by_the_second() {
    let mut s = Store::new(StoreConfig {
        cas_enabled: false,
        ..StoreConfig::default()
    });
    set(&mut s, b"old", b"1", 0, NOW - 1);
    s.flush_all(0, NOW);
    // Stored in the flush's second: flushed too, as memcached -C does.
    set(&mut s, b"same", b"2", 0, NOW);
    assert!(s.get(b"old", NOW).is_none());
    assert!(s.get(b"same", NOW).is_none());
    // A second later, a store is visible.
    set(&mut s, b"next", b"3", 0, NOW + 1);
    assert!(s.get(b"next", NOW + 1).is_some());
    // With CAS uniques the cliff is exact.
    let mut s = store();
    s.flush_all(0, NOW);
    set(&mut s, b"same", b"2", 0, NOW);
    assert!(s.get(b"same", NOW).is_some());
}

#[test]
fn flush_now() {
    let mut s = store();
    set(&mut s, b"a", b"1", 0, NOW);
    set(&mut s, b"b", b"2", 0, NOW);
    s.flush_all(0, NOW);
    assert!(s.get(b"a", NOW).is_none());
    assert_eq!(s.stats().get_flushed, 1);
    set(&mut s, b"c", b"3", 0, NOW);
    assert!(s.get(b"c", NOW).is_some());
    // A negative delay flushes now too.
    s.flush_all(-10, NOW);
    assert!(s.get(b"c", NOW).is_none());
    assert_eq!(s.stats().cmd_flush, 2);
}

#[test]
fn flush_with_delay() {
    let mut s = store();
    set(&mut s, b"early", b"1", 0, NOW);
    s.flush_all(10, NOW);
    set(&mut s, b"before", b"2", 0, NOW + 9);
    assert!(s.get(b"early", NOW + 9).is_some());
    assert!(s.get(b"before", NOW + 9).is_some());
    // At the flush time, everything that exists is invalidated...
    assert!(s.get(b"early", NOW + 10).is_none());
    assert!(s.get(b"before", NOW + 10).is_none());
    // ...and what is stored from then on is not.
    set(&mut s, b"after", b"3", 0, NOW + 10);
    assert!(s.get(b"after", NOW + 11).is_some());
    // A new flush replaces a pending one.
    s.flush_all(100, NOW + 20);
    s.flush_all(5, NOW + 20);
    assert!(s.get(b"after", NOW + 24).is_some());
    assert!(s.get(b"after", NOW + 25).is_none());
    // An absolute time in the past flushes now.
    set(&mut s, b"x", b"1", 0, NOW + 30);
    s.flush_all(i64::from(NOW), NOW + 30);
    assert!(s.get(b"x", NOW + 30).is_none());
}

#[test]
fn crawler_reclaims_incrementally() {
    let mut s = store();
    for i in 0..10u8 {
        set(&mut s, &[b'e', i], b"v", 5, NOW);
    }
    for i in 0..10u8 {
        set(&mut s, &[b'l', i], b"v", 0, NOW);
    }
    assert_eq!(s.crawl(NOW + 1, 100), 0);
    assert!(s.get(&[b'e', 0], NOW).is_some()); // fetched once
                                               // Expired, but left to the LRU tail for CRAWL_GRACE seconds.
    assert_eq!(s.crawl(NOW + 5, 100), 0);
    let later = NOW + 5 + CRAWL_GRACE;
    // Each call looks at `budget` slots and resumes where it stopped.
    assert_eq!(s.crawl(later, 4), 4);
    assert_eq!(s.crawl(later, 4), 4);
    assert_eq!(s.crawl(later, 4), 2);
    assert_eq!(s.crawl(later, 100), 0);
    assert_eq!(s.curr_items(), 10);
    assert_eq!(s.bytes(), 10 * item_total(2, 0, 1));
    let st = s.stats();
    assert_eq!((st.crawler_reclaimed, st.expired_unfetched), (10, 9));
    // Flushed items are reclaimed too, and freed slots are reused.
    s.flush_all(0, NOW + 6);
    assert_eq!(s.crawl(NOW + 6, 1000), 10);
    assert_eq!(s.curr_items(), 0);
    assert_eq!(s.bytes(), 0);
    set(&mut s, b"new", b"v", 0, NOW + 7);
    assert_eq!(s.slots(), 20);
    assert_eq!(s.crawl(NOW + 7, 0), 0);
    assert_eq!(store().crawl(NOW, 10), 0);
}

#[test]
fn bits_and_peek() {
    let mut s = store();
    set(&mut s, b"k", b"v", 0, NOW);
    let item = s.peek(b"k", NOW + 5).unwrap();
    assert!(!item.fetched());
    assert_eq!(item.last_access(), NOW);
    assert!(s.get(b"k", NOW + 7).unwrap().fetched());
    // A first hit only marks the item fetched; the second refreshes it.
    assert_eq!(s.peek(b"k", NOW + 8).unwrap().last_access(), NOW);
    assert!(s.get(b"k", NOW + 8).is_some());
    assert_eq!(s.peek(b"k", NOW + 8).unwrap().last_access(), NOW + 8);
    assert_eq!(
        s.update_bits(
            b"k",
            ItemBits::STALE.union(ItemBits::TOKEN_SENT),
            ItemBits::FETCHED,
            NOW
        ),
        Some(ItemBits::STALE.union(ItemBits::TOKEN_SENT))
    );
    let item = s.peek(b"k", NOW).unwrap();
    assert!(item.stale() && item.token_sent() && !item.fetched());
    assert_eq!((item.size(), item.class()), (61, 1));
    assert_eq!(s.update_bits(b"nope", ItemBits::STALE, ItemBits::NONE, NOW), None);
    assert_eq!(s.stats().get_hits, 2);
    s.reset_stats();
    assert_eq!(s.stats(), &StoreStats::default());
    assert_eq!(s.curr_items(), 1);
}

#[test]
fn read_reports_the_state_before_the_read() {
    let mut s = store();
    set(&mut s, b"k", b"v", 100, NOW);
    // No bump: nothing changes, but the read is counted.
    let no_bump = ReadOptions {
        bump: false,
        ..ReadOptions::GET
    };
    let r = s.read(b"k", no_bump, NOW + 3).unwrap();
    assert!(!r.created && !r.was_fetched && !r.item.fetched());
    assert_eq!((r.last_access, r.expires_before), (NOW, Some(NOW + 100)));
    assert_eq!(s.peek(b"k", NOW).unwrap().last_access(), NOW);
    // A bumping touch: the view is after, the report before.
    let touch = ReadOptions {
        touch: Some(10),
        ..ReadOptions::GET
    };
    let r = s.read(b"k", touch, NOW + 5).unwrap();
    assert!(!r.was_fetched && r.item.fetched());
    assert_eq!(r.last_access, NOW);
    assert_eq!(r.expires_before, Some(NOW + 100));
    assert_eq!(r.item.expires_at(), Some(NOW + 15));
    // A first hit marks the item fetched without refreshing its access.
    assert_eq!(r.item.last_access(), NOW);
    assert!(s.read(b"k", no_bump, NOW + 6).unwrap().was_fetched);
    let st = s.stats();
    assert_eq!(
        (st.cmd_get, st.get_hits, st.cmd_touch, st.touch_hits),
        (2, 2, 1, 1)
    );
    assert!(s.read(b"nope", touch, NOW).is_none());
    assert_eq!((s.stats().touch_misses, s.stats().get_misses), (1, 0));
}

#[test]
fn read_vivifies_on_a_miss() {
    let mut s = store();
    let viv = ReadOptions {
        vivify: Some(30),
        ..ReadOptions::GET
    };
    let r = s.read(b"k", viv, NOW).unwrap();
    assert!(r.created && !r.was_fetched && r.item.fetched());
    assert_eq!((r.item.value(), r.item.flags()), (&b""[..], 0));
    assert_eq!((r.expires_before, r.item.expires_at()), (None, Some(NOW + 30)));
    // Counted as a hit, as memcached does; the second read finds it.
    assert_eq!((s.stats().get_hits, s.stats().get_misses), (1, 0));
    let r = s.read(b"k", viv, NOW + 1).unwrap();
    assert!(!r.created && r.was_fetched);
    assert_eq!(s.curr_items(), 1);
    // Vivified and then touched: the touch applies to existing items only.
    let both = ReadOptions {
        touch: Some(500),
        vivify: Some(5),
        bump: false,
    };
    let r = s.read(b"j", both, NOW).unwrap();
    assert!(r.created && !r.item.fetched());
    assert_eq!(r.item.expires_at(), Some(NOW + 5));
    assert!(s.get(b"j", NOW + 5).is_none());
}

#[test]
fn adjust_changes_in_place_without_counting() {
    let mut s = pages(1, true);
    let cas = set(&mut s, b"a", &big(1), 0, NOW);
    set(&mut s, b"b", &big(2), 0, NOW);
    let adjust = Adjust {
        set: ItemBits::STALE,
        clear: ItemBits::TOKEN_SENT,
        exptime: Some(20),
        new_cas: true,
    };
    let item = s.adjust(b"a", adjust, NOW).unwrap();
    assert!(item.stale() && item.cas() > cas);
    assert_eq!(item.expires_at(), Some(NOW + 20));
    // "a" was not moved to the LRU head: it is still the oldest.
    set(&mut s, b"c", &big(3), 0, NOW);
    assert!(s.peek(b"a", NOW).is_none());
    assert_eq!(s.stats().cmd_get, 0);
    assert!(s.adjust(b"zz", Adjust::default(), NOW).is_none());
    let item = s
        .adjust(
            b"b",
            Adjust {
                set: ItemBits::KEY_BINARY,
                ..Adjust::default()
            },
            NOW,
        )
        .unwrap();
    assert!(item.key_binary() && !item.stale());
}

#[test]
fn many_items_and_slot_reuse() {
    let mut s = store();
    for i in 0..10_000u32 {
        set(&mut s, format!("key:{i}").as_bytes(), &i.to_le_bytes(), 0, NOW);
    }
    for i in (0..10_000u32).step_by(2) {
        assert_eq!(
            s.delete(format!("key:{i}").as_bytes(), None, NOW),
            DeleteOutcome::Deleted
        );
    }
    for i in 0..5_000u32 {
        set(&mut s, format!("new:{i}").as_bytes(), b"v", 0, NOW);
    }
    assert_eq!(s.slots(), 10_000);
    for i in 0..10_000u32 {
        let got = value(&mut s, format!("key:{i}").as_bytes(), NOW);
        assert_eq!(got, (i % 2 == 1).then(|| i.to_le_bytes().to_vec()));
    }
    assert_eq!(s.curr_items(), 10_000);
}

/// A model of what the store must show: value, flags, expiry (0: never)
/// and CAS unique per key.
type Model = std::collections::HashMap<Vec<u8>, (Vec<u8>, u32, u32, u64)>;

/// Random requests against a `HashMap` model, with CAS uniques crossing
/// 2^32, values in pages and in large blobs, expiries set and cleared:
/// every blob reshape and arena path is walked. Fixed seed.
#[test]
fn random_requests_match_a_model() {
    let mut seed = 0x7a11_u64;
    let mut rng = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut s = store();
    s.next_cas = u64::from(u32::MAX) - 3_000;
    let mut model = Model::new();
    let keys: Vec<Vec<u8>> = (0..24)
        .map(|i| format!("key{i}:{}", "k".repeat(i * 9)).into_bytes())
        .collect();
    let mut now = NOW;
    for _ in 0..12_000 {
        now += rng(3) as u32 / 2;
        let key = keys[rng(keys.len() as u64) as usize].clone();
        let live = |m: &Model, now: u32| m.get(&key).filter(|e| e.2 == NEVER || now < e.2).cloned();
        match rng(10) {
            0..=2 => {
                let len = match rng(20) {
                    0 => 17_000 + rng(30_000) as usize,
                    1..=3 => rng(3_000) as usize,
                    _ => rng(200) as usize,
                };
                let value: Vec<u8> = if rng(4) == 0 {
                    rng(u64::MAX).to_string().into_bytes()
                } else {
                    vec![b'a' + rng(26) as u8; len]
                };
                let flags = [0, 1, u32::MAX][rng(3) as usize];
                let exptime = [0, 0, 5, 100, -1][rng(5) as usize];
                let cas = set_with(&mut s, &key, &value, flags, exptime, now);
                model.insert(key.clone(), (value, flags, expires_at(exptime, now), cas));
            }
            3 => {
                let mode = if rng(2) == 0 {
                    StoreMode::Append
                } else {
                    StoreMode::Prepend
                };
                let extra = vec![b'+'; rng(40) as usize];
                let got = s.store(mode, &key, 9, 0, &extra, None, now).unwrap();
                match (live(&model, now), got) {
                    (Some((v, f, e, _)), StoreOutcome::Stored { cas }) => {
                        let v = if mode == StoreMode::Append {
                            [v, extra].concat()
                        } else {
                            [extra, v].concat()
                        };
                        model.insert(key.clone(), (v, f, e, cas));
                    }
                    (None, StoreOutcome::NotStored) => {}
                    other => panic!("{other:?}"),
                }
            }
            4 => {
                let exptime = [0, 10, 1000, -1][rng(4) as usize];
                match (live(&model, now), s.touch(&key, exptime, None, now)) {
                    (Some((v, f, _, c)), TouchOutcome::Touched { cas }) => {
                        assert_eq!(c, cas);
                        model.insert(key.clone(), (v, f, expires_at(exptime, now), c));
                    }
                    (None, TouchOutcome::NotFound) => {}
                    other => panic!("{other:?}"),
                }
            }
            5 => {
                let out = s.delete(&key, None, now);
                assert_eq!(out == DeleteOutcome::Deleted, live(&model, now).is_some());
                model.remove(&key);
            }
            6 => {
                let amount = rng(1_000);
                let got = s.incr_decr(&key, delta(DeltaOp::Incr, amount), now);
                match (live(&model, now), got) {
                    (Some((v, f, e, _)), Ok(DeltaOutcome::Updated { value, cas })) => {
                        let digits = value.to_string().into_bytes();
                        let v = if digits.len() <= v.len() {
                            let mut d = digits;
                            d.resize(v.len(), b' ');
                            d
                        } else {
                            digits
                        };
                        model.insert(key.clone(), (v, f, e, cas));
                    }
                    (Some(_), Err(DeltaError::NonNumeric)) | (None, Ok(DeltaOutcome::NotFound)) => {}
                    other => panic!("{other:?}"),
                }
            }
            7 => {
                let adjust = Adjust {
                    exptime: [None, Some(0), Some(50)][rng(3) as usize],
                    new_cas: rng(2) == 0,
                    ..Adjust::default()
                };
                let got = s.adjust(&key, adjust, now).map(|i| (i.cas(), i.expires_at()));
                match (live(&model, now), got) {
                    (Some((v, f, e, _)), Some((cas, exp))) => {
                        let e = adjust.exptime.map_or(e, |t| expires_at(t, now));
                        assert_eq!(exp.unwrap_or(NEVER), e);
                        model.insert(key.clone(), (v, f, e, cas));
                    }
                    (None, None) => {}
                    other => panic!("{other:?}"),
                }
            }
            _ => {
                let touch = (rng(3) == 0).then_some(30);
                let options = ReadOptions {
                    touch,
                    ..ReadOptions::GET
                };
                let got = s.read(&key, options, now).map(|r| {
                    let i = r.item;
                    (
                        i.value().to_vec(),
                        i.flags(),
                        i.expires_at().unwrap_or(NEVER),
                        i.cas(),
                    )
                });
                s.release();
                let mut want = live(&model, now);
                if let (Some(w), Some(t)) = (&mut want, touch) {
                    w.2 = expires_at(t, now);
                    model.insert(key.clone(), w.clone());
                }
                assert_eq!(got, want);
            }
        }
    }
    assert!(s.next_cas > u64::from(u32::MAX) + 1_000);
    let visible = model.values().filter(|e| e.2 == NEVER || now < e.2).count();
    for key in &keys {
        let got = s.peek(key, now).map(|i| (i.value().to_vec(), i.flags(), i.cas()));
        let want = model
            .get(key)
            .filter(|e| e.2 == NEVER || now < e.2)
            .map(|e| (e.0.clone(), e.1, e.3));
        assert_eq!(got, want);
    }
    assert_eq!(s.curr_items(), visible);
}

fn set_with(s: &mut Store, key: &[u8], value: &[u8], flags: u32, exptime: i64, now: u32) -> u64 {
    match s.store(StoreMode::Set, key, flags, exptime, value, None, now) {
        Ok(StoreOutcome::Stored { cas }) => cas,
        other => panic!("set failed: {other:?}"),
    }
}
