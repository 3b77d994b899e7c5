//! The least-recently-used order: a [`SlabList`] threaded through the store's
//! records by index.
//!
//! The list is intrusive: each [`Slot`](super::item::Slot) carries its neighbours as two `u32`
//! record indices (`prev`, `next`: 8 bytes of the 16-byte slot), so linking,
//! unlinking and moving to the front are O(1) and cost no allocation. The
//! front is the most recently used item, the back the least recently used one
//! (the next to evict).

use torsion::list::{Linked, Links, SlabList};

use super::item::Slot;

/// "No record": the end of a list (and of the store's free list, which
/// threads free records through `next`).
pub(crate) const NIL: u32 = u32::MAX;

/// The LRU order of the store's records, most recently used first.
pub(crate) type Lru = SlabList;

/// A record's LRU links are its `prev` and `next` fields; [`NIL`] is the
/// list's "none", so the raw form is the fields themselves.
impl Linked for Slot {
    fn links(&self) -> Links {
        Links::from_raw(self.prev, self.next)
    }

    fn set_links(&mut self, links: Links) {
        (self.prev, self.next) = links.into_raw();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(lru: &Lru, records: &[Slot]) -> Vec<u32> {
        let mut out = Vec::new();
        let mut i = lru.front().unwrap_or(NIL);
        while i != NIL {
            out.push(i);
            i = records[i as usize].next;
        }
        // And backwards agrees.
        let mut back = Vec::new();
        let mut i = lru.back().unwrap_or(NIL);
        while i != NIL {
            back.push(i);
            i = records[i as usize].prev;
        }
        back.reverse();
        assert_eq!(out, back);
        out
    }

    #[test]
    fn push_touch_remove() {
        let mut records: Vec<Slot> = (0..4).map(|_| Slot::empty(NIL)).collect();
        let mut lru = Lru::new();
        assert_eq!(lru.back(), None);
        for i in 0..4 {
            lru.push_front(&mut records, i);
        }
        assert_eq!(order(&lru, &records), vec![3, 2, 1, 0]);
        lru.move_to_front(&mut records, 0);
        assert_eq!(order(&lru, &records), vec![0, 3, 2, 1]);
        lru.move_to_front(&mut records, 0);
        assert_eq!(order(&lru, &records), vec![0, 3, 2, 1]);
        lru.unlink(&mut records, 2);
        assert_eq!(order(&lru, &records), vec![0, 3, 1]);
        lru.unlink(&mut records, 1);
        assert_eq!(lru.back(), Some(3));
        lru.unlink(&mut records, 0);
        lru.unlink(&mut records, 3);
        assert_eq!(order(&lru, &records), Vec::<u32>::new());
        assert_eq!(lru.back(), None);
    }
}
