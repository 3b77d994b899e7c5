//! A hierarchical timing wheel: the store behind the reactor's `call_later`.
//!
//! A [`Wheel<T>`] holds values of type `T` (the reactor stores its callbacks)
//! under a deadline. A deadline is a plain `u64` tick count, 1 tick = 1 ms.
//! The wheel never reads a clock. The caller says what time it is with
//! [`Wheel::advance`], then takes the entries that came due from
//! [`Wheel::pop_ready`].
//!
//! # Levels
//!
//! There are six levels of 64 slots each. A slot of level `k` is `64^k` ticks
//! wide, so one level spans exactly one slot of the level above it:
//!
//! | level | slot width                     | level range (64 slots)              |
//! |------:|--------------------------------|-------------------------------------|
//! | 0     | 1 ms                           | 64 ms                               |
//! | 1     | 64 ms                          | 4.096 s                             |
//! | 2     | 4.096 s                        | 262.144 s (about 4.4 min)           |
//! | 3     | 262.144 s (about 4.4 min)      | 16,777.216 s (about 4.7 h)          |
//! | 4     | 16,777.216 s (about 4.7 h)     | 1,073,741.824 s (about 12.4 days)   |
//! | 5     | 1,073,741.824 s (about 12.4 days) | 64^6 ms = 2^36 ms (about 795 days, 2.18 years) |
//!
//! Read a deadline as base-64 digits. An entry goes on the level of the
//! highest digit in which its deadline differs from `elapsed`, in the slot
//! named by that digit of the deadline. So level 0 holds exact deadlines in
//! the current 64 ms, and level 1 holds the rest of the current 4,096 ms in
//! 64 ms slots. Each higher level works the same way.
//!
//! A slot is *processed* when the wheel reaches the tick where the slot
//! starts. The entries of a level-0 slot are due, so they go to the ready
//! list. The entries of a higher slot *cascade*: they are placed again,
//! relative to the new `elapsed`, on a lower level. Each level keeps an
//! `occupied: u64` bitmap, so the next non-empty slot takes one
//! `trailing_zeros`, and empty slots are never visited.
//!
//! # A worked example
//!
//! Start at `elapsed = 0` and insert `a` at 5, `b` at 70 and `c` at 4100:
//!
//! | entry | deadline | digits (base 64) | level | slot | the slot covers |
//! |-------|---------:|------------------|------:|-----:|-----------------|
//! | `a`   | 5        | 0.0.5            | 0     | 5    | [5, 6)          |
//! | `b`   | 70       | 0.1.6            | 1     | 1    | [64, 128)       |
//! | `c`   | 4100     | 1.0.4            | 2     | 1    | [4096, 8192)    |
//!
//! `next_expiration()` is `Some(5)`. That value is exact because `a` is on level 0.
//!
//! **`advance(64)`.**
//! 1. The first non-empty slot is level 0, slot 5. It starts at 5, which is
//!    at most 64, so `a` moves to the ready list.
//! 2. The next is level 1, slot 1, which starts at 64. `elapsed` becomes 64
//!    and `b` cascades. 64 is 0.1.0 and 70 is 0.1.6: they now differ only in
//!    digit 0, so `b` drops to level 0, slot 6. Level 0 now covers
//!    [64, 128), so slot 6 stands for tick 70.
//! 3. The next slot starts at 70, which is past 64, so `advance` stops with
//!    `elapsed = 64`.
//!
//! `pop_ready()` gives `a`. `next_expiration()` is `Some(70)`, exact again.
//!
//! **`advance(4096)`.**
//! 1. Level 0, slot 6 (tick 70): `b` moves to the ready list.
//! 2. Level 2, slot 1 starts at 4096. `elapsed` becomes 4096 and `c`
//!    cascades. 4096 is 1.0.0 and 4100 is 1.0.4: they differ only in digit 0,
//!    so `c` drops straight to level 0, slot 4, and skips level 1.
//! 3. The next slot starts at 4100, which is past 4096, so `advance` stops.
//!
//! `c` becomes ready at `advance(4100)`, or at any later `advance`. It is
//! never ready earlier: a slot starts at or before every deadline in it, and
//! a cascade only moves an entry closer to its exact tick.
//!
//! # Deadlines beyond the top level
//!
//! Some deadlines differ from `elapsed` in a digit above level 5. An example
//! is one more than 64^6 ms away. Such a deadline is *clamped* to level 5
//! for placement, in the slot named by its own level-5 digit, and the entry
//! keeps its true deadline.
//!
//! The top level is a ring, as in tokio. A top slot at or before the current
//! one stands for the next rotation. When the slot comes round, each entry in
//! it is placed again from its true deadline. An entry that is still out of
//! reach goes back into the same slot for the following rotation. So a far
//! entry is moved once per rotation, every 2^36 ms, and it moves down only
//! when its deadline comes within reach: it is never fired early.
//!
//! An `advance` that jumps more than a whole rotation at once does not turn
//! the ring round and round. It scans the top level once for the earliest
//! deadline there, and moves `elapsed` straight to just before that
//! deadline's slot (see *Costs*).
//!
//! # Order
//!
//! The entries that come due in one `advance` are popped in deadline order.
//! Entries with the same deadline are popped in the order they were
//! inserted. A [`reschedule`](Wheel::reschedule) counts as a fresh insert.
//!
//! That order holds across cascades for three reasons:
//!
//! - Every list is appended at its tail, so each slot is in insertion order.
//! - A slot is always processed whole, head to tail, onto the tails of its
//!   target lists.
//! - Two entries with the same deadline always share one slot. The slot for
//!   a deadline changes only at the moment the wheel processes that slot.
//!
//! # Timers scheduled while timers run
//!
//! The reactor runs `advance(now)`, then `while let Some(..) = pop_ready()`.
//! A callback in that loop may schedule a timer whose deadline is already
//! past (`when <= elapsed`). That timer must wait for the next pass, so it
//! goes on a *pending* list rather than the ready list. The next `advance`
//! moves everything pending to the ready list, *ahead* of whatever that
//! advance expires from the wheel. This works even when time has not moved:
//! `advance(elapsed)` alone does it. Both lists are in fact one list, split
//! by an index, so the move costs O(1).
//!
//! # Costs
//!
//! | operation | cost |
//! |-----------|------|
//! | [`insert`](Wheel::insert), [`remove`](Wheel::remove), [`reschedule`](Wheel::reschedule) | O(1) |
//! | [`deadline`](Wheel::deadline), [`contains`](Wheel::contains), [`get`](Wheel::get), [`get_mut`](Wheel::get_mut), [`len`](Wheel::len) | O(1) |
//! | [`pop_ready`](Wheel::pop_ready) | O(1) |
//! | [`next_expiration`](Wheel::next_expiration) | O(1): one bitmap look-up per level, six at most |
//! | [`advance`](Wheel::advance) | O(1 + s + m): s non-empty slots processed, m entries moved; see below |
//!
//! `advance` moves an entry at most once per level on its way down, so its
//! cost is amortized O(1) per timer. Two exceptions:
//!
//! - An entry beyond the top level's range is moved once more per top-level
//!   rotation (2^36 ms).
//! - A single `advance` may jump more than a whole rotation while only the
//!   top level holds entries. It then scans the top level, O(entries there),
//!   once for each top slot in which some entry comes within reach.
//!
//! # Memory
//!
//! Entries live in one arena, a `Vec` grown on demand. A freed entry is
//! reused, newest first, and the arena never shrinks. One entry is 23 bytes
//! of bookkeeping plus an `Option<T>`, rounded up to a multiple of 8 (or of
//! `T`'s alignment, if that is larger):
//!
//! - 40 bytes for a 16-byte payload such as `Box<dyn FnMut()>` or `u64`;
//! - 24 bytes for `T = ()`.
//!
//! The 6 × 64 slot heads add a fixed 3 KiB.
//!
//! # Examples
//!
//! ```
//! use torsion::timer::Wheel;
//!
//! let mut wheel = Wheel::new();
//! let a = wheel.insert(5, "a");
//! let _b = wheel.insert(70, "b");
//! let c = wheel.insert(4100, "c");
//! assert_eq!(wheel.next_expiration(), Some(5));
//!
//! wheel.advance(64);
//! assert_eq!(wheel.pop_ready(), Some((a, "a")));
//! assert_eq!(wheel.pop_ready(), None);
//! assert_eq!(wheel.next_expiration(), Some(70));
//!
//! // Cancel c; b still fires.
//! assert_eq!(wheel.remove(c), Some("c"));
//! wheel.advance(10_000);
//! assert_eq!(wheel.pop_ready().map(|(_, v)| v), Some("b"));
//! assert!(wheel.is_empty());
//!
//! // A timer scheduled in the past while popping waits for the next advance.
//! let d = wheel.insert(0, "d");
//! assert_eq!(wheel.pop_ready(), None);
//! assert_eq!(wheel.next_expiration(), Some(10_000));
//! wheel.advance(10_000);
//! assert_eq!(wheel.pop_ready(), Some((d, "d")));
//! ```
//!
//! # Implementation notes
//!
//! Every list a timer can be taken off, a slot or the due list, is a
//! [`SlabList`]: a doubly linked list whose links are arena indices (`u32`)
//! kept in the entries. So unlinking an entry from wherever it is costs
//! O(1), and there is no unsafe code. Vacant entries only ever leave from
//! the top, so they wait on a plain stack threaded through their `next`
//! link (a vacant entry is on no list), as `slab` keeps its own: taking
//! and returning one costs a load and a store, where a doubly linked free
//! list cost about 15 more instructions per insert and cancel (8% of the
//! schedule+cancel bench, counted with cachegrind). A [`TimerKey`] is
//! an arena index plus the generation of that arena entry. The generation is
//! bumped each time the entry is freed, so a stale key never reaches the
//! entry's next occupant. An entry whose generation reaches `u32::MAX` is
//! retired, never reused, so a key cannot come back to life even after 2^32
//! reuses.

use std::fmt;

use super::level::{
    level_for, slot_for, slot_range, Expiration, Level, LEVEL_MULT, NUM_LEVELS, TOP_LEVEL, TOP_RANGE,
};
use crate::list::{Linked, Links, SlabList};

/// "No entry": the end of the free stack, and [`Links`]' own "none" (so
/// that a vacant entry's `links` hold the stack's link in their raw form).
const NIL: u32 = u32::MAX;

/// Names one timer in a [`Wheel`].
///
/// A key is an arena index plus a generation. It stays valid, through any
/// number of [`Wheel::reschedule`] calls, until its entry is popped or
/// removed. After that, every method treats it as stale, even if the arena
/// entry has been reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerKey {
    index: u32,
    generation: u32,
}

/// Where a live entry is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In slot `slot` of level `level`.
    Slot { level: u8, slot: u8 },
    /// On the due list, either ready or pending (`Wheel::first_pending` splits it).
    Due,
}

/// One arena entry: a timer, or a vacant entry on the free stack.
///
/// Size: 23 bytes of bookkeeping (`deadline` 8, `links` 8, `generation` 4,
/// `place` 3) plus `Option<T>`, rounded up to alignment: 40 bytes for a
/// 16-byte `T` such as `Box<dyn FnMut()>` (checked by the `entry_size` test).
#[derive(Debug)]
struct Entry<T> {
    /// The true deadline, never clamped.
    deadline: u64,
    /// The payload; `None` iff the entry is vacant.
    value: Option<T>,
    /// Neighbours on the entry's list (a slot or the due list), or, while
    /// vacant, the next vacant entry in `next`.
    links: Links,
    /// Bumped each time the entry is freed.
    generation: u32,
    /// Which list the entry is on (meaningful only while live).
    place: Place,
}

impl<T> Linked for Entry<T> {
    #[inline]
    fn links(&self) -> Links {
        self.links
    }

    #[inline]
    fn set_links(&mut self, links: Links) {
        self.links = links;
    }
}

/// A hierarchical timing wheel holding values of type `T` under `u64` deadlines.
///
/// See the [module documentation](self) for the layout, the order guarantees
/// and the cost of each operation.
pub struct Wheel<T> {
    /// The arena of entries, live and vacant.
    entries: Vec<Entry<T>>,
    /// The most recently freed vacant entry, or `NIL`. Vacant entries form a
    /// stack through their `links.next` (see *Implementation notes*).
    free_head: u32,
    /// Number of live entries.
    len: usize,
    /// The tick the wheel was last advanced to.
    elapsed: u64,
    /// The six levels, lowest first.
    levels: [Level; NUM_LEVELS],
    /// Ready entries, then pending ones, in order.
    due: SlabList,
    /// The first pending entry on `due`, if any is pending.
    first_pending: Option<u32>,
}

impl<T> Wheel<T> {
    /// An empty wheel with `elapsed() == 0`.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty wheel with room for `n` timers before its arena reallocates.
    pub fn with_capacity(n: usize) -> Self {
        Wheel {
            entries: Vec::with_capacity(n),
            free_head: NIL,
            len: 0,
            elapsed: 0,
            levels: std::array::from_fn(Level::new),
            due: SlabList::EMPTY,
            first_pending: None,
        }
    }

    /// The tick the wheel was last advanced to.
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// The number of entries not yet popped, whether they are scheduled,
    /// pending or ready.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the wheel holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Schedules `value` at tick `when` and returns its key. O(1).
    ///
    /// If `when <= elapsed()`, the entry goes on the pending list, not the
    /// ready list: it waits for the next [`advance`](Wheel::advance).
    ///
    /// # Panics
    ///
    /// Panics if `u32::MAX - 1` entries are already live. That is about
    /// 160 GiB of entries: a capacity overflow, like `Vec`'s.
    pub fn insert(&mut self, when: u64, value: T) -> TimerKey {
        let index = self.alloc(when, value);
        self.place(index);
        TimerKey {
            index,
            generation: self.entries[index as usize].generation,
        }
    }

    /// Cancels the timer `key` and returns its value, wherever the entry is:
    /// in a slot, pending or ready. Returns `None` for a stale key. O(1).
    pub fn remove(&mut self, key: TimerKey) -> Option<T> {
        let index = self.index_of(key)?;
        self.detach(index);
        self.free(index)
    }

    /// Moves the timer `key` to tick `when` and keeps `key` valid. O(1).
    ///
    /// For ordering, this counts as a fresh insert. A `when <= elapsed()`
    /// makes the entry pending, even if it was ready. Returns `false`, and
    /// does nothing, for a stale key.
    pub fn reschedule(&mut self, key: TimerKey, when: u64) -> bool {
        let Some(index) = self.index_of(key) else {
            return false;
        };
        self.detach(index);
        self.entries[index as usize].deadline = when;
        self.place(index);
        true
    }

    /// The deadline the timer `key` was given, never clamped. Returns `None`
    /// for a stale key. O(1).
    pub fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.entry(key).map(|entry| entry.deadline)
    }

    /// True if `key` names a timer that is not yet popped or removed. O(1).
    pub fn contains(&self, key: TimerKey) -> bool {
        self.entry(key).is_some()
    }

    /// The value of the timer `key`, or `None` for a stale key. O(1).
    pub fn get(&self, key: TimerKey) -> Option<&T> {
        self.entry(key).and_then(|entry| entry.value.as_ref())
    }

    /// The value of the timer `key`, mutably, or `None` for a stale key. O(1).
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        let index = self.index_of(key)?;
        self.entries[index as usize].value.as_mut()
    }

    /// A tick, at or before the earliest deadline, at which
    /// [`advance`](Wheel::advance) has work to do. O(1).
    ///
    /// The value is exact for an entry on level 0. For an entry on a higher
    /// level it may be the start of the entry's slot, where the entry only
    /// cascades. That is fine for a poll timeout: waking early costs one
    /// cascade.
    ///
    /// Returns `Some(elapsed())` if anything is ready or pending, and `None`
    /// if the wheel is empty.
    pub fn next_expiration(&self) -> Option<u64> {
        if !self.due.is_empty() {
            return Some(self.elapsed);
        }
        self.next_slot().map(|expiration| expiration.start)
    }

    /// Advances the wheel to tick `now`.
    ///
    /// This does three things, in order:
    ///
    /// 1. Pending entries become ready.
    /// 2. Every entry with `deadline <= now` moves to the ready list, in
    ///    deadline order, cascading levels as it goes.
    /// 3. `elapsed()` becomes `now`.
    ///
    /// Time never goes backwards. A `now` below `elapsed()` is treated as
    /// `elapsed()`, which still does step 1.
    ///
    /// Cost: O(1 + non-empty slots passed + entries moved); see the
    /// [module documentation](self#costs).
    pub fn advance(&mut self, now: u64) {
        // Everything pending becomes ready, ahead of what expires below.
        self.first_pending = None;

        // After skipping idle top-level rotations, process at least one
        // slot before considering another skip.
        let mut may_skip = true;
        while let Some(expiration) = self.next_slot() {
            if expiration.start > now {
                break;
            }
            if may_skip && expiration.level == TOP_LEVEL && now - expiration.start >= TOP_RANGE {
                may_skip = false;
                self.skip_idle_rotations(now);
                continue;
            }
            may_skip = true;
            self.elapsed = expiration.start;
            self.process_slot(expiration);
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// Pops the oldest ready entry. O(1).
    ///
    /// Entries are returned in the order [`advance`](Wheel::advance) made
    /// them ready. Pending entries are not returned until the next advance.
    pub fn pop_ready(&mut self) -> Option<(TimerKey, T)> {
        let index = self.due.front()?;
        if Some(index) == self.first_pending {
            return None;
        }
        self.due.unlink(&mut self.entries, index);
        let key = TimerKey {
            index,
            generation: self.entries[index as usize].generation,
        };
        self.free(index).map(|value| (key, value))
    }

    // ----- arena -----

    /// The arena index of a live `key`, or `None` if it is stale.
    fn index_of(&self, key: TimerKey) -> Option<u32> {
        self.entry(key).map(|_| key.index)
    }

    /// The live entry `key` names, or `None` if it is stale.
    fn entry(&self, key: TimerKey) -> Option<&Entry<T>> {
        self.entries
            .get(key.index as usize)
            .filter(|entry| entry.generation == key.generation && entry.value.is_some())
    }

    /// Takes a vacant entry (or grows the arena) and fills it, unlinked.
    fn alloc(&mut self, deadline: u64, value: T) -> u32 {
        let index = if self.free_head != NIL {
            let index = self.free_head;
            let entry = &mut self.entries[index as usize];
            (_, self.free_head) = entry.links.into_raw();
            entry.deadline = deadline;
            entry.value = Some(value);
            index
        } else {
            let index = u32::try_from(self.entries.len())
                .ok()
                .filter(|&index| index != NIL)
                .expect("timer wheel capacity overflow: u32::MAX - 1 live timers");
            self.entries.push(Entry {
                deadline,
                value: Some(value),
                links: Links::UNLINKED,
                generation: 0,
                place: Place::Due,
            });
            index
        };
        self.len += 1;
        index
    }

    /// Frees an unlinked live entry, bumping its generation, and returns its value.
    fn free(&mut self, index: u32) -> Option<T> {
        let entry = &mut self.entries[index as usize];
        let value = entry.value.take();
        self.len -= 1;
        if entry.generation == u32::MAX {
            // Retired: reusing it would let a 2^32-old key match again.
            return value;
        }
        entry.generation += 1;
        entry.links = Links::from_raw(NIL, self.free_head);
        self.free_head = index;
        value
    }

    // ----- lists -----

    /// Links an unlinked entry where its deadline says: pending if already
    /// due, else into a slot.
    fn place(&mut self, index: u32) {
        if self.entries[index as usize].deadline <= self.elapsed {
            self.push_pending(index);
        } else {
            self.push_slot(index);
        }
    }

    /// Appends an entry with `deadline > elapsed` to the tail of its slot.
    fn push_slot(&mut self, index: u32) {
        let deadline = self.entries[index as usize].deadline;
        debug_assert!(deadline > self.elapsed);
        let level = level_for(self.elapsed, deadline);
        let slot = slot_for(deadline, level);
        self.levels[level].push(&mut self.entries, slot, index);
        self.entries[index as usize].place = Place::Slot {
            level: level as u8,
            slot: slot as u8,
        };
    }

    /// Appends an entry to the due list as pending.
    fn push_pending(&mut self, index: u32) {
        self.link_due(index);
        if self.first_pending.is_none() {
            self.first_pending = Some(index);
        }
    }

    /// Appends an entry to the tail of the due list. It is ready if nothing
    /// is pending (as inside `advance`), else pending.
    fn link_due(&mut self, index: u32) {
        self.due.push_back(&mut self.entries, index);
        self.entries[index as usize].place = Place::Due;
    }

    /// Unlinks a live entry from whichever list it is on.
    fn detach(&mut self, index: u32) {
        match self.entries[index as usize].place {
            Place::Slot { level, slot } => {
                self.levels[level as usize].unlink(&mut self.entries, slot as usize, index);
            }
            Place::Due => {
                if self.first_pending == Some(index) {
                    self.first_pending = self.entries[index as usize].links.next();
                }
                self.due.unlink(&mut self.entries, index);
            }
        }
    }

    // ----- advancing -----

    /// The earliest non-empty slot. Lower levels always come first: a level
    /// only holds deadlines inside the current slot of the level above it.
    fn next_slot(&self) -> Option<Expiration> {
        self.levels
            .iter()
            .find_map(|level| level.next_expiration(self.elapsed))
    }

    /// Empties a slot whose start `elapsed` has just reached. Each entry
    /// either becomes ready, or is placed again lower down (or, at the top
    /// level, one rotation on). Head to tail, so the order is kept.
    fn process_slot(&mut self, expiration: Expiration) {
        debug_assert_eq!(self.first_pending, None);
        let mut list = self.levels[expiration.level].take_slot(expiration.slot);
        while let Some(index) = list.pop_front(&mut self.entries) {
            if self.entries[index as usize].deadline <= self.elapsed {
                self.link_due(index); // ready: nothing is pending here
            } else {
                self.push_slot(index);
            }
        }
    }

    /// Only the top level holds entries, and `now` is at least one whole
    /// rotation past the next top slot. Turning the ring round slot by slot
    /// could take 2^28 steps. So instead, find the earliest deadline on the
    /// top level (O(entries there)), and move `elapsed` to just before that
    /// deadline's top slot. The rotations skipped would only have put far
    /// entries back into the slots they were in, in the same order.
    fn skip_idle_rotations(&mut self, now: u64) {
        let Some(earliest) = self.earliest_top_deadline() else {
            return;
        };
        // Top-level entries never lie in the current top slot, so this
        // slot start is after `elapsed`.
        let slot_start = earliest & !(slot_range(TOP_LEVEL) - 1);
        let target = slot_start.saturating_sub(1).min(now);
        self.elapsed = self.elapsed.max(target);
    }

    /// The earliest deadline among the top level's entries. O(entries there).
    fn earliest_top_deadline(&self) -> Option<u64> {
        let top = &self.levels[TOP_LEVEL];
        (0..LEVEL_MULT)
            .flat_map(|slot| top.slot(slot).iter(&self.entries))
            .map(|index| self.entries[index as usize].deadline)
            .min()
    }
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Wheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("elapsed", &self.elapsed)
            .field("len", &self.len)
            .field("next_expiration", &self.next_expiration())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet, VecDeque};

    use proptest::prelude::*;

    /// Pops every ready value.
    fn drain<T>(wheel: &mut Wheel<T>) -> Vec<T> {
        std::iter::from_fn(|| wheel.pop_ready().map(|(_, value)| value)).collect()
    }

    /// Where the entry `key` is linked.
    fn place_of<T>(wheel: &Wheel<T>, key: TimerKey) -> Place {
        wheel.entries[key.index as usize].place
    }

    fn slot(level: u8, slot: u8) -> Place {
        Place::Slot { level, slot }
    }

    /// A small deterministic generator (xorshift64*), so tests need no `rand`.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// Uniform-ish in `0..n` (`n > 0`).
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn entry_size() {
        assert_eq!(size_of::<Entry<Box<dyn FnMut()>>>(), 40);
        assert_eq!(size_of::<Entry<u64>>(), 40);
        assert_eq!(size_of::<Entry<()>>(), 24);
    }

    #[test]
    fn empty_wheel() {
        let mut wheel: Wheel<()> = Wheel::default();
        assert_eq!(wheel.elapsed(), 0);
        assert!(wheel.is_empty());
        assert_eq!(wheel.next_expiration(), None);
        assert_eq!(wheel.pop_ready(), None);
        wheel.advance(100);
        assert_eq!(wheel.elapsed(), 100);
        assert_eq!(
            format!("{wheel:?}"),
            "Wheel { elapsed: 100, len: 0, next_expiration: None, .. }"
        );
    }

    #[test]
    fn worked_example_from_the_module_doc() {
        let mut wheel = Wheel::new();
        let a = wheel.insert(5, 'a');
        let b = wheel.insert(70, 'b');
        let c = wheel.insert(4100, 'c');
        assert_eq!(place_of(&wheel, a), slot(0, 5));
        assert_eq!(place_of(&wheel, b), slot(1, 1));
        assert_eq!(place_of(&wheel, c), slot(2, 1));
        assert_eq!(wheel.next_expiration(), Some(5));

        wheel.advance(64);
        assert_eq!(place_of(&wheel, b), slot(0, 6));
        assert_eq!(place_of(&wheel, c), slot(2, 1));
        assert_eq!(drain(&mut wheel), ['a']);
        assert_eq!(wheel.next_expiration(), Some(70));

        wheel.advance(4096);
        assert_eq!(drain(&mut wheel), ['b']);
        assert_eq!(place_of(&wheel, c), slot(0, 4));
        assert_eq!(wheel.next_expiration(), Some(4100));
        wheel.advance(4099);
        assert_eq!(wheel.pop_ready(), None);
        wheel.advance(4100);
        assert_eq!(wheel.pop_ready(), Some((c, 'c')));
    }

    #[test]
    fn order_across_deadlines() {
        let deadlines = [
            4100,
            5,
            70,
            1 << 20,
            63,
            64,
            3,
            1 << 31,
            4096,
            262_144,
            1,
            1 << 36,
            (1 << 36) - 1,
            (1 << 40) + 7,
        ];
        let mut wheel = Wheel::new();
        for &deadline in &deadlines {
            wheel.insert(deadline, deadline);
        }
        wheel.advance(1 << 41);
        let mut sorted = deadlines.to_vec();
        sorted.sort_unstable();
        assert_eq!(drain(&mut wheel), sorted);
        assert!(wheel.is_empty());
    }

    #[test]
    fn same_deadline_is_fifo_across_cascades() {
        let when = 5000;
        let mut wheel = Wheel::new();
        let a = wheel.insert(when, 'a'); // level 2
        wheel.advance(100);
        let b = wheel.insert(when, 'b'); // level 2, same slot, after a
        assert_eq!(place_of(&wheel, a), place_of(&wheel, b));
        wheel.advance(4096); // cascades a, b to level 1
        let c = wheel.insert(when, 'c'); // level 1, after them
        assert_eq!(place_of(&wheel, a), slot(1, 14));
        assert_eq!(place_of(&wheel, c), slot(1, 14));
        wheel.advance(4992); // cascades to level 0
        let d = wheel.insert(when, 'd');
        assert_eq!(place_of(&wheel, d), slot(0, 8));
        assert!(wheel.reschedule(a, when)); // a fresh insert: now last
        wheel.insert(when - 1, 'e');
        wheel.advance(when);
        assert_eq!(drain(&mut wheel), ['e', 'b', 'c', 'd', 'a']);
    }

    #[test]
    fn same_deadline_is_fifo_beyond_the_top_level() {
        let when = (3 << 36) + 12_345;
        let mut wheel = Wheel::new();
        wheel.insert(when, 'x');
        wheel.advance((1 << 36) + 5);
        wheel.insert(when, 'y');
        wheel.advance((2 << 36) + (63 << 30)); // last top slot: when wraps round
        wheel.insert(when, 'z');
        wheel.insert(when - 1, 'w');
        wheel.advance(when - 1);
        assert_eq!(drain(&mut wheel), ['w']);
        wheel.advance(when);
        assert_eq!(drain(&mut wheel), ['x', 'y', 'z']);
    }

    #[test]
    fn insert_during_a_pass_waits_for_the_next_advance() {
        let mut wheel = Wheel::new();
        wheel.insert(10, "a");
        wheel.insert(11, "late");
        wheel.advance(10);
        assert_eq!(wheel.pop_ready().map(|(_, v)| v), Some("a"));
        // Callbacks running now schedule into the past and at `now`.
        wheel.insert(5, "p1");
        wheel.insert(10, "p2");
        assert_eq!(wheel.pop_ready(), None);
        assert_eq!(wheel.len(), 3);
        assert_eq!(wheel.next_expiration(), Some(10));
        // Pending entries come first, ahead of what this advance expires.
        wheel.advance(11);
        assert_eq!(wheel.pop_ready().map(|(_, v)| v), Some("p1"));
        // Scheduled mid-pass again: still waits, behind the ready ones.
        wheel.insert(0, "p3");
        assert_eq!(drain(&mut wheel), ["p2", "late"]);
        // advance without time moving releases the pending entry.
        wheel.advance(11);
        assert_eq!(drain(&mut wheel), ["p3"]);
        // So does an advance into the past, which leaves time alone.
        wheel.insert(3, "p4");
        wheel.advance(2);
        assert_eq!(wheel.elapsed(), 11);
        assert_eq!(drain(&mut wheel), ["p4"]);
        assert!(wheel.is_empty());
    }

    #[test]
    fn remove_from_every_level() {
        let deadlines = [5, 70, 5000, 300_000, 20_000_000, 2_000_000_000, 1 << 40];
        let mut wheel = Wheel::new();
        let keys: Vec<_> = deadlines.iter().map(|&d| wheel.insert(d, d)).collect();
        for (level, &key) in keys.iter().enumerate() {
            let expected = level.min(TOP_LEVEL) as u8;
            assert!(matches!(place_of(&wheel, key), Place::Slot { level, .. } if level == expected));
        }
        for (i, &key) in keys.iter().enumerate().rev() {
            assert_eq!(wheel.remove(key), Some(deadlines[i]));
            assert_eq!(wheel.len(), i);
            assert!(!wheel.contains(key));
        }
        // The slot bitmaps were cleared: nothing is left to find.
        assert_eq!(wheel.next_expiration(), None);
        wheel.advance(u64::MAX);
        assert_eq!(wheel.pop_ready(), None);
    }

    #[test]
    fn remove_from_the_ready_and_pending_lists() {
        let mut wheel = Wheel::new();
        let r: Vec<_> = (1..=4).map(|d| wheel.insert(d, d)).collect();
        wheel.advance(4);
        let p: Vec<_> = (10..=14).map(|v| wheel.insert(0, v)).collect();
        assert_eq!(wheel.remove(r[0]), Some(1)); // ready head
        assert_eq!(wheel.remove(r[2]), Some(3)); // ready middle
        assert_eq!(wheel.remove(r[3]), Some(4)); // last ready, just before pending
        assert_eq!(wheel.remove(p[0]), Some(10)); // first pending
        assert_eq!(wheel.remove(p[2]), Some(12)); // pending middle
        assert_eq!(wheel.remove(p[4]), Some(14)); // tail
        assert_eq!(drain(&mut wheel), [2]);
        wheel.advance(4);
        assert_eq!(drain(&mut wheel), [11, 13]);
        assert!(wheel.is_empty());
    }

    #[test]
    fn reschedule_earlier_later_and_into_the_past() {
        let mut wheel = Wheel::new();
        let earlier = wheel.insert(100_000, 'e');
        let later = wheel.insert(200, 'l');
        let past = wheel.insert(80_000, 'p');
        assert!(wheel.reschedule(earlier, 100));
        assert!(wheel.reschedule(later, 70_000));
        assert_eq!(wheel.deadline(earlier), Some(100));
        assert_eq!(wheel.deadline(later), Some(70_000));

        wheel.advance(99);
        assert_eq!(wheel.pop_ready(), None);
        wheel.advance(100);
        assert_eq!(wheel.pop_ready(), Some((earlier, 'e')));

        assert!(wheel.reschedule(past, 10));
        assert_eq!(wheel.deadline(past), Some(10));
        assert_eq!(wheel.pop_ready(), None); // pending, not ready
        wheel.advance(100);
        assert_eq!(wheel.pop_ready(), Some((past, 'p')));

        wheel.advance(69_999);
        assert_eq!(wheel.pop_ready(), None);
        assert!(wheel.contains(later));
        wheel.advance(70_000);
        // Ready, then moved back into the future: no longer poppable.
        assert!(wheel.reschedule(later, 70_050));
        assert_eq!(wheel.pop_ready(), None);
        wheel.advance(70_050);
        // Ready, then moved into the past: pending until the next advance.
        assert!(wheel.reschedule(later, 1));
        assert_eq!(wheel.pop_ready(), None);
        wheel.advance(70_050);
        assert_eq!(wheel.pop_ready(), Some((later, 'l')));
        assert!(!wheel.reschedule(later, 5));
    }

    #[test]
    fn stale_keys_never_reach_a_new_occupant() {
        let mut wheel = Wheel::new();
        let old = wheel.insert(10, 1);
        assert_eq!(wheel.remove(old), Some(1));
        let new = wheel.insert(20, 2);
        assert_eq!(new.index, old.index);
        assert_ne!(new, old);

        assert_eq!(wheel.remove(old), None);
        assert!(!wheel.contains(old));
        assert_eq!(wheel.get(old), None);
        assert_eq!(wheel.get_mut(old), None);
        assert_eq!(wheel.deadline(old), None);
        assert!(!wheel.reschedule(old, 5));
        assert_eq!(wheel.len(), 1);
        assert_eq!(wheel.deadline(new), Some(20));

        *wheel.get_mut(new).unwrap() = 3;
        assert_eq!(wheel.get(new), Some(&3));
        wheel.advance(20);
        assert_eq!(wheel.pop_ready(), Some((new, 3)));
        let newer = wheel.insert(30, 4);
        assert_eq!(newer.index, new.index);
        assert!(!wheel.contains(new));
        assert_eq!(wheel.remove(new), None);
        // A key from outside the arena is stale too.
        let foreign = TimerKey {
            index: 1000,
            generation: 0,
        };
        assert_eq!(wheel.remove(foreign), None);
        assert_eq!(wheel.len(), 1);
    }

    #[test]
    fn an_entry_at_the_last_generation_is_retired() {
        let mut wheel = Wheel::new();
        let key = wheel.insert(1, 'a');
        wheel.entries[key.index as usize].generation = u32::MAX;
        let last = TimerKey {
            index: key.index,
            generation: u32::MAX,
        };
        assert_eq!(wheel.remove(last), Some('a'));
        let next = wheel.insert(1, 'b');
        assert_ne!(next.index, last.index);
        assert!(!wheel.contains(last));
        assert_eq!(wheel.remove(last), None);
    }

    #[test]
    fn extreme_inputs_do_not_panic() {
        let mut wheel = Wheel::new();
        let max = wheel.insert(u64::MAX, "max");
        wheel.insert(0, "zero");
        assert_eq!(wheel.next_expiration(), Some(0));
        wheel.advance(u64::MAX - 1);
        assert_eq!(drain(&mut wheel), ["zero"]);
        assert_eq!(wheel.next_expiration(), Some(u64::MAX));
        wheel.advance(u64::MAX);
        assert_eq!(wheel.pop_ready(), Some((max, "max")));
        assert_eq!(wheel.elapsed(), u64::MAX);

        wheel.insert(u64::MAX, "again");
        wheel.advance(0); // backwards: ignored, but releases pending
        assert_eq!(wheel.elapsed(), u64::MAX);
        assert_eq!(drain(&mut wheel), ["again"]);
        assert!(wheel.is_empty());
    }

    #[test]
    fn a_jump_over_many_rotations_is_quick_and_in_order() {
        let deadlines = [
            u64::MAX,
            u64::MAX - 1,
            1 << 50,
            (1 << 50) + 1,
            1 << 62,
            5,
            3 << 36,
            u64::MAX - (1 << 30),
        ];
        let mut wheel = Wheel::new();
        for &deadline in &deadlines {
            wheel.insert(deadline, deadline);
        }
        let mut sorted = deadlines.to_vec();
        sorted.sort_unstable();
        // Turning the top ring round one slot at a time would take 2^28 rotations.
        wheel.advance(1 << 50);
        assert_eq!(drain(&mut wheel), sorted[..3]);
        wheel.advance(u64::MAX);
        assert_eq!(drain(&mut wheel), sorted[3..]);
    }

    #[test]
    fn next_expiration_is_exact_on_level_0_and_early_above() {
        let mut wheel = Wheel::new();
        wheel.insert(70, ());
        assert_eq!(wheel.next_expiration(), Some(64)); // level 1 slot start
        wheel.advance(64);
        assert_eq!(wheel.next_expiration(), Some(70));
        let far = wheel.insert((5 << 36) + 3, ());
        wheel.advance(70);
        drain(&mut wheel);
        let next = wheel.next_expiration().unwrap();
        assert!(next > 70 && next <= wheel.deadline(far).unwrap());
    }

    /// 100,000 timers over every level and beyond the top, advanced in
    /// irregular steps: each fires exactly once, at the first advance whose
    /// `now` reaches its deadline, in (deadline, insertion) order.
    #[test]
    fn many_timers_fire_once_at_the_first_advance_that_reaches_them() {
        const TIMERS: usize = 100_000;
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut wheel = Wheel::with_capacity(TIMERS);
        // (deadline, id) of every timer not yet fired; ids grow with insertion.
        let mut expected = BTreeSet::new();
        let mut next_id = 0;

        let random_delay = |rng: &mut Rng| -> u64 {
            match rng.below(100) {
                // Bands 0..=5: one per level, [64^k, 64^(k+1)).
                band @ 0..=89 => {
                    let level = band / 15;
                    let low = 1u64 << (6 * level);
                    low + rng.below((low << 6) - low)
                }
                // Beyond the top level's 64^6 ms.
                90..=98 => (1 << 36) + rng.below(1 << 40),
                _ => u64::MAX - rng.below(1 << 40),
            }
        };
        let mut schedule = |wheel: &mut Wheel<usize>, rng: &mut Rng, expected: &mut BTreeSet<_>| {
            let deadline = wheel
                .elapsed()
                .saturating_add(random_delay(rng))
                .max(wheel.elapsed() + 1);
            let id = next_id;
            next_id += 1;
            wheel.insert(deadline, id);
            expected.insert((deadline, id));
        };

        for _ in 0..TIMERS * 9 / 10 {
            schedule(&mut wheel, &mut rng, &mut expected);
        }
        // Every level holds some, including clamped ones on the top level.
        assert!(wheel
            .levels
            .iter()
            .all(|level| level.next_expiration(0).is_some()));
        let mut late_inserts = TIMERS / 10;
        let mut advances = 0;
        while let Some(&(earliest, _)) = expected.first() {
            let elapsed = wheel.elapsed();
            let next = wheel.next_expiration().unwrap();
            assert!(next > elapsed && next <= earliest, "{next} vs {earliest}");
            let now = match rng.below(20) {
                0..=4 => elapsed + 1 + rng.below(100),
                5..=7 => next,
                8..=10 => earliest - 1,
                11..=14 => earliest,
                15..=16 => earliest.saturating_add(rng.below(1 << 12)),
                17 => earliest.saturating_add(rng.below(earliest - elapsed)),
                // Up to 1/64 of the time so far: irregular at every scale.
                _ => elapsed.saturating_add(rng.below(elapsed / 64 + 2)),
            };
            wheel.advance(now);
            advances += 1;
            // Everything up to `now`, in (deadline, insertion) order.
            let later = match now.checked_add(1) {
                Some(after) => expected.split_off(&(after, 0)),
                None => BTreeSet::new(),
            };
            let due: Vec<usize> = std::mem::replace(&mut expected, later)
                .into_iter()
                .map(|(_, id)| id)
                .collect();
            assert_eq!(drain(&mut wheel), due, "advance to {now}");
            if late_inserts > 0 && rng.below(4) == 0 {
                late_inserts -= 1;
                schedule(&mut wheel, &mut rng, &mut expected);
            }
        }
        assert!(wheel.is_empty());
        assert!(advances > 10_000, "steps too coarse: {advances}");
    }

    // ----- property test against a reference model -----

    /// A deadline or a time, relative to `elapsed` or absolute.
    #[derive(Debug, Clone, Copy)]
    enum Time {
        After(u64),
        At(u64),
    }

    impl Time {
        fn resolve(self, elapsed: u64) -> u64 {
            match self {
                Time::After(delta) => elapsed.saturating_add(delta),
                Time::At(at) => at,
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(Time),
        Remove(usize),
        Reschedule(usize, Time),
        Advance(Time),
        Pop(usize),
    }

    fn time() -> impl Strategy<Value = Time> {
        prop_oneof![
            4 => (0u64..70).prop_map(Time::After),
            3 => (0u64..5_000).prop_map(Time::After),
            2 => (0u64..1 << 24).prop_map(Time::After),
            2 => (0u64..1 << 38).prop_map(Time::After),
            1 => (1u64 << 38..u64::MAX).prop_map(Time::After),
            1 => (0u64..100).prop_map(Time::At),
            1 => any::<u64>().prop_map(Time::At),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            5 => time().prop_map(Op::Insert),
            2 => any::<usize>().prop_map(Op::Remove),
            2 => (any::<usize>(), time()).prop_map(|(i, t)| Op::Reschedule(i, t)),
            3 => time().prop_map(Op::Advance),
            2 => (1usize..8).prop_map(Op::Pop),
        ]
    }

    /// Where a live timer is in the model.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Loc {
        Scheduled(u64),
        Due,
    }

    /// The obvious implementation: a sorted map for scheduled timers, a
    /// queue for ready ones, a vector for pending ones.
    #[derive(Default)]
    struct Model {
        elapsed: u64,
        seq: u64,
        scheduled: BTreeMap<(u64, u64), usize>,
        ready: VecDeque<usize>,
        pending: Vec<usize>,
        /// Per id: its deadline and location, while live.
        live: Vec<Option<(u64, Loc)>>,
    }

    impl Model {
        fn insert(&mut self, id: usize, when: u64) {
            self.seq += 1;
            let loc = if when <= self.elapsed {
                self.pending.push(id);
                Loc::Due
            } else {
                self.scheduled.insert((when, self.seq), id);
                Loc::Scheduled(self.seq)
            };
            if id == self.live.len() {
                self.live.push(None);
            }
            self.live[id] = Some((when, loc));
        }

        fn remove(&mut self, id: usize) -> bool {
            let Some((when, loc)) = self.live[id].take() else {
                return false;
            };
            match loc {
                Loc::Scheduled(seq) => {
                    self.scheduled.remove(&(when, seq));
                }
                Loc::Due => {
                    self.ready.retain(|&x| x != id);
                    self.pending.retain(|&x| x != id);
                }
            }
            true
        }

        fn advance(&mut self, now: u64) {
            self.ready.extend(self.pending.drain(..));
            self.elapsed = self.elapsed.max(now);
            while let Some(entry) = self.scheduled.first_entry() {
                if entry.key().0 > self.elapsed {
                    break;
                }
                let id = entry.remove();
                self.live[id].as_mut().unwrap().1 = Loc::Due;
                self.ready.push_back(id);
            }
        }

        fn pop(&mut self) -> Option<usize> {
            let id = self.ready.pop_front()?;
            self.live[id] = None;
            Some(id)
        }
    }

    fn check(wheel: &Wheel<usize>, model: &Model, keys: &[TimerKey]) -> Result<(), TestCaseError> {
        prop_assert_eq!(wheel.elapsed(), model.elapsed);
        let live = model.live.iter().filter(|x| x.is_some()).count();
        prop_assert_eq!(wheel.len(), live);
        for (id, state) in model.live.iter().enumerate() {
            prop_assert_eq!(wheel.contains(keys[id]), state.is_some());
            prop_assert_eq!(wheel.deadline(keys[id]), state.map(|(when, _)| when));
            prop_assert_eq!(wheel.get(keys[id]), state.map(|_| &id));
        }
        let next = wheel.next_expiration();
        if !model.ready.is_empty() || !model.pending.is_empty() {
            prop_assert_eq!(next, Some(model.elapsed));
        } else if let Some((&(earliest, _), _)) = model.scheduled.first_key_value() {
            let next = next.expect("next_expiration is None with timers scheduled");
            prop_assert!(
                next > model.elapsed && next <= earliest,
                "{} not in ({}, {}]",
                next,
                model.elapsed,
                earliest
            );
        } else {
            prop_assert_eq!(next, None);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn behaves_like_a_sorted_map(ops in prop::collection::vec(op(), 1..200)) {
            let mut wheel = Wheel::new();
            let mut model = Model::default();
            let mut keys = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(time) => {
                        let when = time.resolve(model.elapsed);
                        let id = keys.len();
                        keys.push(wheel.insert(when, id));
                        model.insert(id, when);
                    }
                    Op::Remove(i) if !keys.is_empty() => {
                        let id = i % keys.len();
                        let removed = wheel.remove(keys[id]);
                        prop_assert_eq!(removed.is_some(), model.remove(id));
                        prop_assert!(removed.is_none_or(|value| value == id));
                    }
                    Op::Reschedule(i, time) if !keys.is_empty() => {
                        let id = i % keys.len();
                        let when = time.resolve(model.elapsed);
                        let live = model.remove(id);
                        if live {
                            model.insert(id, when);
                        }
                        prop_assert_eq!(wheel.reschedule(keys[id], when), live);
                    }
                    Op::Advance(time) => {
                        let now = time.resolve(model.elapsed);
                        wheel.advance(now);
                        model.advance(now);
                    }
                    Op::Pop(count) => {
                        for _ in 0..count {
                            let popped = wheel.pop_ready().map(|(key, value)| {
                                assert_eq!(key, keys[value]);
                                value
                            });
                            prop_assert_eq!(popped, model.pop());
                        }
                    }
                    Op::Remove(_) | Op::Reschedule(..) => {}
                }
                check(&wheel, &model, &keys)?;
            }
            // Finally everything fires, each exactly once, in the model's order.
            wheel.advance(u64::MAX);
            model.advance(u64::MAX);
            while let Some(id) = model.pop() {
                prop_assert_eq!(wheel.pop_ready().map(|(_, value)| value), Some(id));
            }
            prop_assert_eq!(wheel.pop_ready(), None);
            prop_assert!(wheel.is_empty());
        }
    }
}
