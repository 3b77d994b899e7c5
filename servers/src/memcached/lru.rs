//! The least-recently-used list, threaded through the slab's records by index.
//!
//! The list is intrusive: each [`Record`] carries its `prev`/`next` neighbours as
//! `u32` slab indices, so linking, unlinking and moving to the front are O(1) and
//! cost no allocation. The head is the most recently used item, the tail the
//! least recently used one (the next to evict).

use super::item::Record;

/// "No record": the end of the list.
pub(crate) const NIL: u32 = u32::MAX;

/// Head and tail of the list; the links live in the records.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lru {
    head: u32,
    tail: u32,
}

impl Lru {
    pub(crate) fn new() -> Self {
        Lru { head: NIL, tail: NIL }
    }

    /// The least recently used record, if any.
    pub(crate) fn tail(&self) -> Option<u32> {
        (self.tail != NIL).then_some(self.tail)
    }

    /// The most recently used record, if any.
    #[cfg(test)]
    pub(crate) fn head(&self) -> Option<u32> {
        (self.head != NIL).then_some(self.head)
    }

    /// Links record `i` (not in the list) at the head.
    pub(crate) fn push_front(&mut self, records: &mut [Record], i: u32) {
        let old_head = self.head;
        {
            let r = &mut records[i as usize];
            r.prev = NIL;
            r.next = old_head;
        }
        if old_head != NIL {
            records[old_head as usize].prev = i;
        } else {
            self.tail = i;
        }
        self.head = i;
    }

    /// Unlinks record `i`, which must be in the list.
    pub(crate) fn remove(&mut self, records: &mut [Record], i: u32) {
        let (prev, next) = {
            let r = &records[i as usize];
            (r.prev, r.next)
        };
        if prev != NIL {
            records[prev as usize].next = next;
        } else {
            self.head = next;
        }
        if next != NIL {
            records[next as usize].prev = prev;
        } else {
            self.tail = prev;
        }
        let r = &mut records[i as usize];
        r.prev = NIL;
        r.next = NIL;
    }

    /// Moves record `i`, which must be in the list, to the head.
    pub(crate) fn touch(&mut self, records: &mut [Record], i: u32) {
        if self.head != i {
            self.remove(records, i);
            self.push_front(records, i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(lru: &Lru, records: &[Record]) -> Vec<u32> {
        let mut out = Vec::new();
        let mut i = lru.head().unwrap_or(NIL);
        while i != NIL {
            out.push(i);
            i = records[i as usize].next;
        }
        // And backwards agrees.
        let mut back = Vec::new();
        let mut i = lru.tail().unwrap_or(NIL);
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
        let mut records: Vec<Record> = (0..4).map(|_| Record::empty(NIL)).collect();
        let mut lru = Lru::new();
        assert_eq!(lru.tail(), None);
        for i in 0..4 {
            lru.push_front(&mut records, i);
        }
        assert_eq!(order(&lru, &records), vec![3, 2, 1, 0]);
        lru.touch(&mut records, 0);
        assert_eq!(order(&lru, &records), vec![0, 3, 2, 1]);
        lru.touch(&mut records, 0);
        assert_eq!(order(&lru, &records), vec![0, 3, 2, 1]);
        lru.remove(&mut records, 2);
        assert_eq!(order(&lru, &records), vec![0, 3, 1]);
        lru.remove(&mut records, 1);
        assert_eq!(lru.tail(), Some(3));
        lru.remove(&mut records, 0);
        lru.remove(&mut records, 3);
        assert_eq!(order(&lru, &records), Vec::<u32>::new());
        assert_eq!(lru.tail(), None);
    }
}
