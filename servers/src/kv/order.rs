//! [`SetOrder`]: the store's keys from least to most recently set, so the
//! oldest can be evicted in O(1).
//!
//! A doubly linked list threaded through the slab that holds the entries:
//! each entry carries its [`Links`]; `push_newest`, `unlink` and `oldest`
//! are O(1), with no allocation of their own.

use slab::Slab;

/// One entry's neighbours in the order.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Links {
    older: Option<usize>,
    newer: Option<usize>,
}

/// Something kept in a slab and threaded on a [`SetOrder`].
pub(crate) trait Linked {
    fn links(&mut self) -> &mut Links;
}

/// The ends of the list.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SetOrder {
    oldest: Option<usize>,
    newest: Option<usize>,
}

impl SetOrder {
    /// The least recently set slot.
    pub(crate) fn oldest(&self) -> Option<usize> {
        self.oldest
    }

    /// Appends `slot`, which must not be on the list, as the newest.
    pub(crate) fn push_newest<T: Linked>(&mut self, slab: &mut Slab<T>, slot: usize) {
        let older = self.newest;
        if let Some(entry) = slab.get_mut(slot) {
            *entry.links() = Links { older, newer: None };
        }
        match older.and_then(|o| slab.get_mut(o)) {
            Some(prev) => prev.links().newer = Some(slot),
            None => self.oldest = Some(slot),
        }
        self.newest = Some(slot);
    }

    /// Takes `slot` off the list.
    pub(crate) fn unlink<T: Linked>(&mut self, slab: &mut Slab<T>, slot: usize) {
        let Some(links) = slab.get_mut(slot).map(|e| std::mem::take(e.links())) else {
            return;
        };
        match links.older.and_then(|o| slab.get_mut(o)) {
            Some(prev) => prev.links().newer = links.newer,
            None => self.oldest = links.newer,
        }
        match links.newer.and_then(|n| slab.get_mut(n)) {
            Some(next) => next.links().older = links.older,
            None => self.newest = links.older,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Item(Links);

    impl Linked for Item {
        fn links(&mut self) -> &mut Links {
            &mut self.0
        }
    }

    /// The slots from oldest to newest.
    fn walk(order: &SetOrder, slab: &mut Slab<Item>) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = order.oldest();
        while let Some(slot) = at {
            out.push(slot);
            at = slab[slot].links().newer;
        }
        out
    }

    #[test]
    fn push_unlink_and_move_to_newest() {
        let mut slab = Slab::new();
        let mut order = SetOrder::default();
        let slots: Vec<usize> = (0..4).map(|_| slab.insert(Item(Links::default()))).collect();
        for &s in &slots {
            order.push_newest(&mut slab, s);
        }
        assert_eq!(walk(&order, &mut slab), slots);
        // Set the oldest again: it becomes the newest.
        order.unlink(&mut slab, slots[0]);
        order.push_newest(&mut slab, slots[0]);
        assert_eq!(walk(&order, &mut slab), [slots[1], slots[2], slots[3], slots[0]]);
        // Remove from the middle, and both ends.
        order.unlink(&mut slab, slots[2]);
        order.unlink(&mut slab, slots[1]);
        order.unlink(&mut slab, slots[0]);
        assert_eq!(walk(&order, &mut slab), [slots[3]]);
        order.unlink(&mut slab, slots[3]);
        assert_eq!(order.oldest(), None);
        assert_eq!(walk(&order, &mut slab), Vec::<usize>::new());
    }
}
