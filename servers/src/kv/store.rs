//! [`KvStore`]: the seeds' `KeyValueStore`, keeping each key a fixed time
//! after its last `set`, bounded in keys and in key and value length.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Duration;

use bytes::Bytes;
use slab::Slab;
use torsion::list::{Linked, Links, SlabList};
use torsion::{DelayedCall, Reactor};
use torsion_protocols::kv::Limits;

/// How long a key lives after its last `set` unless configured otherwise:
/// 15 seconds, as in the seeds.
pub const DEFAULT_TTL: Duration = Duration::from_secs(15);

/// How many keys the store holds unless configured otherwise. With the
/// default bounds on keys and values (250 and 65,535 bytes), at most about
/// 660 MB of keys and values.
pub const DEFAULT_MAX_KEYS: usize = 10_000;

/// How the store is bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// How long a key lives after its last `set`; `None`: forever.
    pub ttl: Option<Duration>,
    /// The most keys held at once; setting a new key past it evicts the
    /// least recently set one. At least 1.
    pub max_keys: usize,
    /// The longest key and value.
    pub limits: Limits,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            ttl: Some(DEFAULT_TTL),
            max_keys: DEFAULT_MAX_KEYS,
            limits: Limits::default(),
        }
    }
}

/// Why a `set` was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// An empty key.
    EmptyKey,
    /// A key longer than the bound.
    KeyTooLong {
        /// The bound.
        limit: usize,
    },
    /// A value longer than the bound.
    ValueTooLong {
        /// The bound.
        limit: usize,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::EmptyKey => f.write_str("empty key"),
            StoreError::KeyTooLong { limit } => write!(f, "key longer than {limit} bytes"),
            StoreError::ValueTooLong { limit } => write!(f, "value longer than {limit} bytes"),
        }
    }
}

impl std::error::Error for StoreError {}

/// What the store did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// `get`s, and those that found their key.
    pub gets: u64,
    /// `get`s that found their key.
    pub hits: u64,
    /// `set`s accepted.
    pub sets: u64,
    /// `delete`s that found their key.
    pub deletes: u64,
    /// Keys removed because their time was up.
    pub expired: u64,
    /// Keys removed to make room past `max_keys`.
    pub evicted: u64,
}

/// One key's value, its expiry timer and its place in the set order.
struct Entry {
    key: Box<[u8]>,
    value: Bytes,
    /// Fires `ttl` after the last `set`; `None` when keys live forever.
    timer: Option<DelayedCall>,
    /// Which `set` wrote this value; an expiry timer carries it, so a
    /// timer left over from an earlier life of the slot does nothing.
    generation: u64,
    /// Neighbours in the set order.
    links: Links,
}

impl Linked for Entry {
    fn links(&self) -> Links {
        self.links
    }

    fn set_links(&mut self, links: Links) {
        self.links = links;
    }
}

struct Inner {
    config: StoreConfig,
    index: HashMap<Box<[u8]>, usize>,
    entries: Slab<Entry>,
    /// The entries' slots from least to most recently set, so the oldest
    /// can be evicted in O(1). A slot fits a `u32`: the slab never holds
    /// more than `max_keys` entries, at most `u32::MAX`.
    order: SlabList,
    generation: u64,
    stats: StoreStats,
}

impl Inner {
    /// Removes the entry in `slot`; returns its timer, to cancel.
    fn remove(&mut self, slot: usize) -> Option<DelayedCall> {
        if !self.entries.contains(slot) {
            return None;
        }
        self.order.unlink(&mut self.entries, slot as u32);
        let entry = self.entries.remove(slot);
        self.index.remove(&entry.key);
        entry.timer
    }

    /// The timer of `slot` fired: remove it if it still holds the value
    /// that timer was set for.
    fn expire(&mut self, slot: usize, generation: u64) {
        if self.entries.get(slot).is_some_and(|e| e.generation == generation) {
            self.remove(slot);
            self.stats.expired += 1;
        }
    }
}

/// The key-value store: the seeds' `KeyValueStore`, shared by every
/// connection of every front end (`Clone` shares it; the reactor thread is
/// the only thread).
///
/// - **Expiry.** Every `set` (re)starts the key's clock: the old
///   [`DelayedCall`] is cancelled and a new one scheduled `ttl` later, as
///   the seeds' `_cancelTimeout` does. Both are O(1) on the timer wheel.
/// - **Bounds.** Keys are 1 to `max_key_length` bytes, values at most
///   `max_value_length` bytes; past that, `set` fails with a
///   [`StoreError`]. At most `max_keys` keys are held: setting a new key
///   when the store is full evicts the least recently set key first. With
///   a fixed time to live that key is the one due to expire next anyway,
///   so eviction only brings its end forward, and the store keeps
///   accepting writes (the seeds' store never refuses one).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::{testing::Clock, Reactor};
/// use torsion_servers::kv::{KvStore, StoreConfig};
///
/// let clock = Clock::new();
/// let mut reactor = Reactor::with_clock(clock.clone())?;
/// let store = KvStore::new(StoreConfig::default());
/// store.set(&mut reactor, b"k", b"v").unwrap();
/// assert_eq!(store.get(b"k").as_deref(), Some(&b"v"[..]));
///
/// clock.advance(Duration::from_secs(15));
/// reactor.iterate(Some(Duration::ZERO))?;
/// assert_eq!(store.get(b"k"), None);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct KvStore {
    inner: Rc<RefCell<Inner>>,
}

impl KvStore {
    /// An empty store bounded by `config` (a `max_keys` of 0 counts as 1,
    /// and one above `u32::MAX` as `u32::MAX`).
    pub fn new(mut config: StoreConfig) -> Self {
        config.max_keys = config.max_keys.clamp(1, u32::MAX as usize);
        KvStore {
            inner: Rc::new(RefCell::new(Inner {
                config,
                index: HashMap::new(),
                entries: Slab::new(),
                order: SlabList::new(),
                generation: 0,
                stats: StoreStats::default(),
            })),
        }
    }

    /// The bounds in force.
    pub fn config(&self) -> StoreConfig {
        self.inner.borrow().config
    }

    /// The value of `key`, if it is there.
    pub fn get(&self, key: &[u8]) -> Option<Bytes> {
        let mut inner = self.inner.borrow_mut();
        inner.stats.gets += 1;
        let slot = *inner.index.get(key)?;
        inner.stats.hits += 1;
        inner.entries.get(slot).map(|e| e.value.clone())
    }

    /// Sets `key` to `value` and (re)starts its clock.
    pub fn set(&self, reactor: &mut Reactor, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let mut inner = self.inner.borrow_mut();
        let limits = inner.config.limits;
        if key.is_empty() {
            return Err(StoreError::EmptyKey);
        }
        if key.len() > limits.max_key_length {
            return Err(StoreError::KeyTooLong {
                limit: limits.max_key_length,
            });
        }
        if value.len() > limits.max_value_length {
            return Err(StoreError::ValueTooLong {
                limit: limits.max_value_length,
            });
        }
        inner.generation += 1;
        let generation = inner.generation;
        let value = Bytes::copy_from_slice(value);
        let slot = match inner.index.get(key).copied() {
            Some(slot) => {
                let inner = &mut *inner;
                inner.order.unlink(&mut inner.entries, slot as u32);
                if let Some(entry) = inner.entries.get_mut(slot) {
                    cancel(reactor, entry.timer.take());
                    entry.value = value;
                    entry.generation = generation;
                }
                slot
            }
            None => {
                if inner.index.len() >= inner.config.max_keys {
                    if let Some(oldest) = inner.order.front() {
                        let timer = inner.remove(oldest as usize);
                        cancel(reactor, timer);
                        inner.stats.evicted += 1;
                    }
                }
                let key: Box<[u8]> = key.into();
                let slot = inner.entries.insert(Entry {
                    key: key.clone(),
                    value,
                    timer: None,
                    generation,
                    links: Links::UNLINKED,
                });
                inner.index.insert(key, slot);
                slot
            }
        };
        let inner = &mut *inner;
        inner.order.push_back(&mut inner.entries, slot as u32);
        inner.stats.sets += 1;
        if let Some(ttl) = inner.config.ttl {
            let store = Rc::downgrade(&self.inner);
            let timer = reactor.call_later(ttl, move |_| expire(&store, slot, generation));
            if let Some(entry) = inner.entries.get_mut(slot) {
                entry.timer = Some(timer);
            }
        }
        Ok(())
    }

    /// Removes `key`; returns whether it was there.
    pub fn delete(&self, reactor: &mut Reactor, key: &[u8]) -> bool {
        let mut inner = self.inner.borrow_mut();
        let Some(slot) = inner.index.get(key).copied() else {
            return false;
        };
        let timer = inner.remove(slot);
        cancel(reactor, timer);
        inner.stats.deletes += 1;
        true
    }

    /// How many keys are stored.
    pub fn len(&self) -> usize {
        self.inner.borrow().index.len()
    }

    /// Whether no key is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the store did so far.
    pub fn stats(&self) -> StoreStats {
        self.inner.borrow().stats
    }
}

impl fmt::Debug for KvStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("KvStore")
            .field("keys", &inner.index.len())
            .field("config", &inner.config)
            .field("stats", &inner.stats)
            .finish()
    }
}

/// The expiry timer of `slot` fired.
fn expire(store: &Weak<RefCell<Inner>>, slot: usize, generation: u64) {
    if let Some(inner) = store.upgrade() {
        inner.borrow_mut().expire(slot, generation);
    }
}

/// Cancels a key's timer, as the seeds' `_cancelTimeout` does.
fn cancel(reactor: &mut Reactor, timer: Option<DelayedCall>) {
    if let Some(timer) = timer {
        // A timer that already ran removed its key; nothing to undo.
        let _ = timer.cancel(reactor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use torsion::testing::Clock;

    fn store(ttl: Option<u64>, max_keys: usize) -> (KvStore, Reactor, Clock) {
        let clock = Clock::new();
        let reactor = Reactor::with_clock(clock.clone()).unwrap();
        let config = StoreConfig {
            ttl: ttl.map(Duration::from_secs),
            max_keys,
            limits: Limits {
                max_key_length: 4,
                max_value_length: 8,
            },
        };
        (KvStore::new(config), reactor, clock)
    }

    fn advance(reactor: &mut Reactor, clock: &Clock, ms: u64) {
        clock.advance(Duration::from_millis(ms));
        reactor.iterate(Some(Duration::ZERO)).unwrap();
    }

    fn get(store: &KvStore, key: &[u8]) -> Option<Vec<u8>> {
        store.get(key).map(|v| v.to_vec())
    }

    #[test]
    fn get_set_delete() {
        let (store, mut r, _) = store(Some(15), 10);
        assert_eq!(get(&store, b"k"), None);
        store.set(&mut r, b"k", b"v").unwrap();
        assert_eq!(get(&store, b"k"), Some(b"v".to_vec()));
        store.set(&mut r, b"k", b"w").unwrap();
        assert_eq!(get(&store, b"k"), Some(b"w".to_vec()));
        assert!(store.delete(&mut r, b"k"));
        assert!(!store.delete(&mut r, b"k"));
        assert!(store.is_empty());
        assert_eq!(r.counters().timers_pending, 0, "delete cancels the timer");
    }

    #[test]
    fn a_key_expires_its_ttl_after_the_last_set() {
        let (store, mut r, clock) = store(Some(15), 10);
        store.set(&mut r, b"k", b"v").unwrap();
        advance(&mut r, &clock, 14_999);
        assert!(store.get(b"k").is_some());
        advance(&mut r, &clock, 1);
        assert_eq!(store.get(b"k"), None);
        assert_eq!(store.stats().expired, 1);
    }

    #[test]
    fn a_new_set_restarts_the_clock() {
        let (store, mut r, clock) = store(Some(15), 10);
        store.set(&mut r, b"k", b"v").unwrap();
        advance(&mut r, &clock, 10_000);
        store.set(&mut r, b"k", b"w").unwrap();
        assert_eq!(r.counters().timers_pending, 1, "the old timer was cancelled");
        advance(&mut r, &clock, 10_000);
        assert_eq!(get(&store, b"k"), Some(b"w".to_vec()));
        advance(&mut r, &clock, 5_000);
        assert_eq!(store.get(b"k"), None);
    }

    #[test]
    fn a_deleted_then_reset_key_is_not_expired_by_its_old_timer() {
        let (store, mut r, clock) = store(Some(15), 10);
        store.set(&mut r, b"k", b"v").unwrap();
        advance(&mut r, &clock, 5_000);
        assert!(store.delete(&mut r, b"k"));
        store.set(&mut r, b"k", b"w").unwrap();
        advance(&mut r, &clock, 10_000);
        assert!(
            store.get(b"k").is_some(),
            "15 s after the first set, 10 s after the second"
        );
        advance(&mut r, &clock, 5_000);
        assert!(store.get(b"k").is_none());
    }

    #[test]
    fn ttl_none_keeps_keys_forever() {
        let (store, mut r, clock) = store(None, 10);
        store.set(&mut r, b"k", b"v").unwrap();
        assert_eq!(r.counters().timers_pending, 0);
        advance(&mut r, &clock, 1_000_000_000);
        assert!(store.get(b"k").is_some());
    }

    #[test]
    fn past_max_keys_the_least_recently_set_key_goes() {
        let (store, mut r, _) = store(Some(15), 3);
        for k in [b"a", b"b", b"c"] {
            store.set(&mut r, k, b"v").unwrap();
        }
        // Setting "a" again makes "b" the oldest.
        store.set(&mut r, b"a", b"v2").unwrap();
        store.set(&mut r, b"d", b"v").unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(store.get(b"b"), None);
        assert!(store.get(b"a").is_some() && store.get(b"c").is_some() && store.get(b"d").is_some());
        assert_eq!(store.stats().evicted, 1);
        assert_eq!(
            r.counters().timers_pending,
            3,
            "the evicted key's timer was cancelled"
        );
    }

    #[test]
    fn bounds_are_checked() {
        let (store, mut r, _) = store(Some(15), 10);
        assert_eq!(store.set(&mut r, b"", b"v"), Err(StoreError::EmptyKey));
        assert_eq!(
            store.set(&mut r, b"kkkkk", b"v"),
            Err(StoreError::KeyTooLong { limit: 4 })
        );
        assert_eq!(
            store.set(&mut r, b"k", b"123456789"),
            Err(StoreError::ValueTooLong { limit: 8 })
        );
        store.set(&mut r, b"kkkk", b"12345678").unwrap();
        assert!(store.set(&mut r, b"k", b"").is_ok());
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn many_keys_expire_in_set_order() {
        let (store, mut r, clock) = store(Some(15), 1000);
        for i in 0..100u32 {
            store.set(&mut r, &i.to_be_bytes(), b"v").unwrap();
            advance(&mut r, &clock, 10);
        }
        // Key i was set at i * 10 ms; at 15,495 ms those set by 495 ms are gone.
        advance(&mut r, &clock, 14_495);
        assert_eq!(store.len(), 50);
        assert!(store.get(&49u32.to_be_bytes()).is_none());
        assert!(store.get(&50u32.to_be_bytes()).is_some());
    }
}
