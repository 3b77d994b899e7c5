//! One level of the timing wheel: 64 slots, an occupancy bitmap, and the
//! arithmetic that maps a deadline to a level and a slot.
//!
//! A level does not own its entries. Each slot is a [`SlabList`] (a head and
//! a tail) whose links live in the wheel's entry arena (see
//! [`super::wheel`]). The level links and unlinks entries itself, so it keeps
//! its own invariant, as tokio's `level.rs` does: bit `i` of `occupied` is set
//! exactly when slot `i` is non-empty. It then answers "which slot comes
//! next, and when".
//!
//! # Implementation notes
//!
//! Level `k` has slots `64^k` ticks wide, so the whole level spans `64^(k+1)`
//! ticks. A deadline `when` is placed, relative to the wheel's `elapsed` tick,
//! at the level of the highest base-64 digit in which the two differ
//! ([`level_for`]), and in the slot given by that digit of `when`
//! ([`slot_for`]). For levels 0 to 4 this means every occupied slot lies
//! strictly after the slot that `elapsed` is in, so the next occupied slot is
//! simply the lowest set bit of `occupied` above the current one.
//!
//! The top level is a ring: a deadline too far away for any level is still
//! placed there by its own top digit, and a slot at or before the current one
//! stands for the next rotation (as in tokio's wheel).

use crate::list::{Nodes, SlabList};

/// Number of levels in the wheel.
pub(super) const NUM_LEVELS: usize = 6;

/// Slots per level (a power of two, so a digit is a bit field).
pub(super) const LEVEL_MULT: usize = 64;

/// Bits per base-64 digit.
const SLOT_BITS: u32 = 6;

/// Mask of one digit.
const SLOT_MASK: u64 = (LEVEL_MULT as u64) - 1;

/// The index of the top level.
pub(super) const TOP_LEVEL: usize = NUM_LEVELS - 1;

/// Ticks spanned by one full rotation of the top level: `64^6` (2^36 ms).
pub(super) const TOP_RANGE: u64 = level_range(TOP_LEVEL);

/// The next slot of a level that needs processing, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Expiration {
    /// The level the slot belongs to.
    pub(super) level: usize,
    /// The slot index, `0..64`.
    pub(super) slot: usize,
    /// The tick at which the slot starts; always after `elapsed`, except
    /// that it saturates at `u64::MAX`.
    pub(super) start: u64,
}

/// One level: 64 slot lists and a bitmap of the non-empty ones.
#[derive(Debug, Clone)]
pub(super) struct Level {
    /// The level number, `0..NUM_LEVELS`.
    level: usize,
    /// Bit `i` is set iff slot `i` is non-empty.
    occupied: u64,
    /// The slot lists, their links in the wheel's arena.
    slots: [SlabList; LEVEL_MULT],
}

impl Level {
    /// An empty level number `level`.
    pub(super) fn new(level: usize) -> Level {
        Level {
            level,
            occupied: 0,
            slots: [SlabList::EMPTY; LEVEL_MULT],
        }
    }

    /// The list of slot `slot`.
    pub(super) fn slot(&self, slot: usize) -> &SlabList {
        &self.slots[slot]
    }

    /// Appends the unlinked entry `index` to slot `slot`. O(1).
    #[inline]
    pub(super) fn push<N: Nodes + ?Sized>(&mut self, nodes: &mut N, slot: usize, index: u32) {
        self.slots[slot].push_back(nodes, index);
        self.set_occupied(slot);
    }

    /// Unlinks the entry `index` from slot `slot`, where it must be. O(1).
    #[inline]
    pub(super) fn unlink<N: Nodes + ?Sized>(&mut self, nodes: &mut N, slot: usize, index: u32) {
        let list = &mut self.slots[slot];
        list.unlink(nodes, index);
        if list.is_empty() {
            self.clear_occupied(slot);
        }
    }

    /// Empties slot `slot` and returns the list it held. O(1).
    #[inline]
    pub(super) fn take_slot(&mut self, slot: usize) -> SlabList {
        self.clear_occupied(slot);
        self.slots[slot].take()
    }

    /// Marks slot `slot` non-empty.
    #[inline]
    fn set_occupied(&mut self, slot: usize) {
        self.occupied |= 1 << slot;
    }

    /// Marks slot `slot` empty.
    #[inline]
    fn clear_occupied(&mut self, slot: usize) {
        self.occupied &= !(1 << slot);
    }

    /// The next non-empty slot after `elapsed`, and the tick it starts at.
    /// O(1): one rotate and one `trailing_zeros`.
    pub(super) fn next_expiration(&self, elapsed: u64) -> Option<Expiration> {
        if self.occupied == 0 {
            return None;
        }
        // Search the ring from the slot after the current one: on the top
        // level the current slot itself means the next rotation, so it comes
        // last. (Lower levels never hold the current slot or one before it.)
        let first = (slot_for(elapsed, self.level) + 1) % LEVEL_MULT;
        let offset = self.occupied.rotate_right(first as u32).trailing_zeros() as usize;
        let slot = (first + offset) % LEVEL_MULT;

        let level_start = elapsed & !(level_range(self.level) - 1);
        let mut start = level_start + slot as u64 * slot_range(self.level);
        if start <= elapsed {
            // Only the top level wraps: its slot at or before the current
            // one holds deadlines of the next rotation.
            debug_assert_eq!(self.level, TOP_LEVEL, "a lower level wrapped");
            start = start.saturating_add(level_range(self.level));
        }
        Some(Expiration {
            level: self.level,
            slot,
            start,
        })
    }
}

/// Ticks covered by one slot of `level`: `64^level`.
pub(super) const fn slot_range(level: usize) -> u64 {
    1 << (SLOT_BITS as usize * level)
}

/// Ticks covered by all 64 slots of `level`: `64^(level + 1)`.
pub(super) const fn level_range(level: usize) -> u64 {
    1 << (SLOT_BITS as usize * (level + 1))
}

/// The level at which a deadline `when > elapsed` is placed: the highest
/// base-64 digit in which `when` and `elapsed` differ, clamped to the top.
pub(super) fn level_for(elapsed: u64, when: u64) -> usize {
    // OR in the digit mask so that a difference in digit 0 only still gives
    // a significant bit (level 0), and so leading_zeros is at most 58.
    let masked = (elapsed ^ when) | SLOT_MASK;
    let significant = (u64::BITS - 1 - masked.leading_zeros()) as usize;
    (significant / SLOT_BITS as usize).min(TOP_LEVEL)
}

/// The slot of `when` at `level`: its base-64 digit number `level`.
pub(super) fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (SLOT_BITS as usize * level)) & SLOT_MASK) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(slot_range(0), 1);
        assert_eq!(level_range(0), 64);
        assert_eq!(slot_range(1), 64);
        assert_eq!(slot_range(5), 1 << 30);
        assert_eq!(TOP_RANGE, 1 << 36);
    }

    #[test]
    fn level_for_each_digit() {
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(0, 4095), 1);
        assert_eq!(level_for(0, 4096), 2);
        assert_eq!(level_for(0, (1 << 30) - 1), 4);
        assert_eq!(level_for(0, 1 << 30), 5);
        assert_eq!(level_for(0, (1 << 36) - 1), 5);
        // Beyond the top level: clamped.
        assert_eq!(level_for(0, 1 << 36), 5);
        assert_eq!(level_for(0, u64::MAX), 5);
        // Relative to elapsed, not to zero.
        assert_eq!(level_for(64, 70), 0);
        assert_eq!(level_for(63, 64), 1);
        assert_eq!(level_for(4096, 4100), 0);
        assert_eq!(level_for(u64::MAX - 1, u64::MAX), 0);
    }

    #[test]
    fn slot_for_digits() {
        assert_eq!(slot_for(5, 0), 5);
        assert_eq!(slot_for(70, 0), 6);
        assert_eq!(slot_for(70, 1), 1);
        assert_eq!(slot_for(4100, 2), 1);
        assert_eq!(slot_for(u64::MAX, 5), 63);
    }

    #[test]
    fn next_expiration_lower_level() {
        let mut level = Level::new(1);
        assert_eq!(level.next_expiration(0), None);
        level.set_occupied(3);
        level.set_occupied(1);
        let exp = level.next_expiration(0).unwrap();
        assert_eq!((exp.slot, exp.start), (1, 64));
        // From inside slot 1's successor the next one is slot 3.
        level.clear_occupied(1);
        let exp = level.next_expiration(130).unwrap();
        assert_eq!((exp.slot, exp.start), (3, 192));
    }

    #[test]
    fn top_level_wraps_to_next_rotation() {
        let mut level = Level::new(TOP_LEVEL);
        let width = slot_range(TOP_LEVEL);
        // elapsed in slot 10; slot 4 means the next rotation.
        let elapsed = 10 * width + 7;
        level.set_occupied(4);
        let exp = level.next_expiration(elapsed).unwrap();
        assert_eq!(exp.start, TOP_RANGE + 4 * width);
        // A later slot of this rotation comes first, even past the ring's end.
        level.set_occupied(63);
        let exp = level.next_expiration(elapsed).unwrap();
        assert_eq!((exp.slot, exp.start), (63, 63 * width));
        // The current slot itself means the next rotation, so it comes last.
        level.clear_occupied(63);
        level.clear_occupied(4);
        level.set_occupied(10);
        let exp = level.next_expiration(elapsed).unwrap();
        assert_eq!((exp.slot, exp.start), (10, TOP_RANGE + 10 * width));
        level.set_occupied(4);
        let exp = level.next_expiration(elapsed).unwrap();
        assert_eq!(exp.slot, 4);
    }

    #[test]
    fn top_level_start_saturates() {
        let mut level = Level::new(TOP_LEVEL);
        level.set_occupied(0);
        let exp = level.next_expiration(u64::MAX).unwrap();
        assert_eq!(exp.start, u64::MAX);
    }
}
