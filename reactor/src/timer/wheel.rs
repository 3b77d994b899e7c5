//! TEMPORARY stand-in with the wheel's API (an ordered map), used until the
//! real hierarchical wheel lands from its branch.

use std::collections::{BTreeMap, VecDeque};

/// Names one timer in a [`Wheel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerKey {
    index: u32,
    generation: u32,
}

struct Entry<T> {
    generation: u32,
    when: u64,
    seq: u64,
    value: Option<T>,
}

/// A timer queue (stand-in).
pub struct Wheel<T> {
    entries: Vec<Entry<T>>,
    free: Vec<u32>,
    order: BTreeMap<(u64, u64), u32>,
    pending: VecDeque<u32>,
    ready: VecDeque<u32>,
    elapsed: u64,
    seq: u64,
    len: usize,
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Wheel<T> {
    /// An empty wheel at tick 0.
    pub fn new() -> Self {
        Wheel {
            entries: Vec::new(),
            free: Vec::new(),
            order: BTreeMap::new(),
            pending: VecDeque::new(),
            ready: VecDeque::new(),
            elapsed: 0,
            seq: 0,
            len: 0,
        }
    }

    /// The tick last advanced to.
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Entries not yet popped.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry is left.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Schedules `value` at tick `when`.
    pub fn insert(&mut self, when: u64, value: T) -> TimerKey {
        self.seq += 1;
        let index = match self.free.pop() {
            Some(i) => {
                let e = &mut self.entries[i as usize];
                e.generation = e.generation.wrapping_add(1);
                e.when = when;
                e.seq = self.seq;
                e.value = Some(value);
                i
            }
            None => {
                self.entries.push(Entry {
                    generation: 0,
                    when,
                    seq: self.seq,
                    value: Some(value),
                });
                (self.entries.len() - 1) as u32
            }
        };
        self.place(index);
        self.len += 1;
        TimerKey {
            index,
            generation: self.entries[index as usize].generation,
        }
    }

    fn place(&mut self, index: u32) {
        let e = &self.entries[index as usize];
        if e.when <= self.elapsed {
            self.pending.push_back(index);
        } else {
            self.order.insert((e.when, e.seq), index);
        }
    }

    fn unplace(&mut self, index: u32) {
        let e = &self.entries[index as usize];
        if self.order.remove(&(e.when, e.seq)).is_none() {
            self.pending.retain(|i| *i != index);
            self.ready.retain(|i| *i != index);
        }
    }

    fn live(&self, key: TimerKey) -> bool {
        self.entries
            .get(key.index as usize)
            .is_some_and(|e| e.generation == key.generation && e.value.is_some())
    }

    /// Removes a timer.
    pub fn remove(&mut self, key: TimerKey) -> Option<T> {
        if !self.live(key) {
            return None;
        }
        self.unplace(key.index);
        self.len -= 1;
        self.free.push(key.index);
        self.entries[key.index as usize].value.take()
    }

    /// Moves a timer to tick `when`.
    pub fn reschedule(&mut self, key: TimerKey, when: u64) -> bool {
        if !self.live(key) {
            return false;
        }
        self.unplace(key.index);
        self.seq += 1;
        let e = &mut self.entries[key.index as usize];
        e.when = when;
        e.seq = self.seq;
        self.place(key.index);
        true
    }

    /// The deadline of a timer.
    pub fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.live(key).then(|| self.entries[key.index as usize].when)
    }

    /// Whether the key names a live timer.
    pub fn contains(&self, key: TimerKey) -> bool {
        self.live(key)
    }

    /// The payload of a timer.
    pub fn get(&self, key: TimerKey) -> Option<&T> {
        if self.live(key) {
            self.entries[key.index as usize].value.as_ref()
        } else {
            None
        }
    }

    /// The payload of a timer, mutably.
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        if self.live(key) {
            self.entries[key.index as usize].value.as_mut()
        } else {
            None
        }
    }

    /// The next tick with work.
    pub fn next_expiration(&self) -> Option<u64> {
        if !self.ready.is_empty() || !self.pending.is_empty() {
            return Some(self.elapsed);
        }
        self.order.keys().next().map(|(when, _)| *when)
    }

    /// Moves due timers to the ready list.
    pub fn advance(&mut self, now: u64) {
        self.ready.extend(self.pending.drain(..));
        if now > self.elapsed {
            self.elapsed = now;
        }
        while let Some((&(when, seq), &index)) = self.order.iter().next() {
            if when > self.elapsed {
                break;
            }
            self.order.remove(&(when, seq));
            self.ready.push_back(index);
        }
    }

    /// Pops the next ready timer.
    pub fn pop_ready(&mut self) -> Option<(TimerKey, T)> {
        let index = self.ready.pop_front()?;
        let e = &mut self.entries[index as usize];
        let value = e.value.take()?;
        let key = TimerKey {
            index,
            generation: e.generation,
        };
        self.len -= 1;
        self.free.push(index);
        Some((key, value))
    }
}
