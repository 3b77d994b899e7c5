//! [`SlabList`]: a doubly linked list whose nodes live in someone else's
//! arena and are named by `u32` indices.
//!
//! The list itself is only a head and a tail (8 bytes, `Copy`). The links,
//! each node's previous and next neighbour, are kept in the nodes, which sit
//! in a `Vec`, a slice or a [`Slab`] that the caller owns. So one arena can
//! carry many lists (the timer wheel threads 384 slot lists and its due list
//! through one arena of entries), a node can move from one list to another
//! without being copied, and taking a node off a list needs only its index:
//!
//! | operation | cost |
//! |-----------|------|
//! | [`push_front`](SlabList::push_front), [`push_back`](SlabList::push_back) | O(1) |
//! | [`pop_front`](SlabList::pop_front), [`pop_back`](SlabList::pop_back) | O(1) |
//! | [`unlink`](SlabList::unlink) any node | O(1) |
//! | [`move_to_front`](SlabList::move_to_front), [`move_to_back`](SlabList::move_to_back) | O(1) |
//! | [`iter`](SlabList::iter) | O(1) per node |
//!
//! Nothing is allocated and nothing is `unsafe`: a link is an index, checked
//! like any other index into the arena.
//!
//! Four parts of Torsion use it: the timer wheel's slots, the memcached
//! store's least-recently-used order, the key-value store's order of last
//! `set`, and the proxy's page cache's order of use.
//!
//! # Examples
//!
//! The nodes carry their [`Links`] and say so by implementing [`Linked`];
//! any `Vec`, slice or `Slab` of them can then hold lists:
//!
//! ```
//! use torsion::list::{Linked, Links, SlabList};
//!
//! struct Page {
//!     name: &'static str,
//!     links: Links,
//! }
//!
//! impl Linked for Page {
//!     fn links(&self) -> Links {
//!         self.links
//!     }
//!     fn set_links(&mut self, links: Links) {
//!         self.links = links;
//!     }
//! }
//!
//! let mut pages: Vec<Page> = ["a", "b", "c"]
//!     .into_iter()
//!     .map(|name| Page { name, links: Links::UNLINKED })
//!     .collect();
//!
//! // Most recently used first.
//! let mut recent = SlabList::new();
//! for id in 0..3 {
//!     recent.push_front(&mut pages, id);
//! }
//! let names = |list: &SlabList, pages: &Vec<Page>| -> Vec<&str> {
//!     list.iter(pages).map(|id| pages[id as usize].name).collect()
//! };
//! assert_eq!(names(&recent, &pages), ["c", "b", "a"]);
//!
//! // "a" is used again; the least recently used is now "b".
//! recent.move_to_front(&mut pages, 0);
//! assert_eq!(names(&recent, &pages), ["a", "c", "b"]);
//! assert_eq!(recent.pop_back(&mut pages), Some(1));
//!
//! // Any node leaves in O(1), wherever it is.
//! recent.unlink(&mut pages, 2);
//! assert_eq!(names(&recent, &pages), ["a"]);
//! ```
//!
//! # Implementation notes
//!
//! An index is a `u32` and `u32::MAX` stands for "none", so one node's links
//! cost 8 bytes, half of two `Option<u32>` and a quarter of two
//! `Option<usize>`. An arena may therefore hold at most `u32::MAX` nodes,
//! indexed `0..u32::MAX`.
//!
//! The list trusts its caller in two ways, as every intrusive list does:
//! a node is on at most one list of an arena at a time, and the node given to
//! [`unlink`](SlabList::unlink) or a `move_to_*` is on *this* list. Breaking
//! either cannot cause undefined behaviour (there is no `unsafe`), but it can
//! tangle the lists or panic on an index out of the arena's range. Debug
//! builds check what they cheaply can.

use std::fmt;

use slab::Slab;

/// The index that stands for "no node".
const NONE: u32 = u32::MAX;

/// One node's neighbours on its list: 8 bytes, two `u32` indices.
///
/// A node that is on no list, or that was just taken off one, has
/// [`Links::UNLINKED`]. So does the only node of a list.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Links {
    prev: u32,
    next: u32,
}

impl Links {
    /// No neighbours.
    pub const UNLINKED: Links = Links {
        prev: NONE,
        next: NONE,
    };

    /// Links from their raw form, for a node that keeps the two indices in
    /// fields of its own: `u32::MAX` means "none".
    #[inline]
    pub const fn from_raw(prev: u32, next: u32) -> Links {
        Links { prev, next }
    }

    /// The raw form `(prev, next)`, `u32::MAX` meaning "none" (see
    /// [`Links::from_raw`]).
    #[inline]
    pub const fn into_raw(self) -> (u32, u32) {
        (self.prev, self.next)
    }

    /// The neighbour towards the front.
    #[inline]
    pub fn prev(self) -> Option<u32> {
        some(self.prev)
    }

    /// The neighbour towards the back.
    #[inline]
    pub fn next(self) -> Option<u32> {
        some(self.next)
    }
}

impl Default for Links {
    #[inline]
    fn default() -> Self {
        Links::UNLINKED
    }
}

impl fmt::Debug for Links {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Links")
            .field("prev", &self.prev())
            .field("next", &self.next())
            .finish()
    }
}

/// A node that carries its own [`Links`].
///
/// Implement this for the element type; `Vec`, slices and [`Slab`]s of it
/// then implement [`Nodes`] and can hold lists.
pub trait Linked {
    /// This node's links.
    fn links(&self) -> Links;

    /// Replaces this node's links.
    fn set_links(&mut self, links: Links);
}

/// An arena of nodes, indexed by `u32`: where a [`SlabList`]'s links live.
///
/// Implemented for `[E]`, `Vec<E>` and `Slab<E>` when `E:` [`Linked`].
/// Either method may panic for an index that names no node.
pub trait Nodes {
    /// The links of node `id`.
    fn links(&self, id: u32) -> Links;

    /// Replaces the links of node `id`.
    fn set_links(&mut self, id: u32, links: Links);

    /// Sets only the `prev` link of node `id`.
    #[inline]
    fn set_prev(&mut self, id: u32, prev: u32) {
        let links = self.links(id);
        self.set_links(id, Links { prev, ..links });
    }

    /// Sets only the `next` link of node `id`.
    #[inline]
    fn set_next(&mut self, id: u32, next: u32) {
        let links = self.links(id);
        self.set_links(id, Links { next, ..links });
    }
}

/// Implements [`Nodes`] for containers of [`Linked`] nodes indexed by `usize`.
macro_rules! nodes_by_index {
    ($($arena:ty),*) => {$(
        impl<E: Linked> Nodes for $arena {
            #[inline]
            fn links(&self, id: u32) -> Links {
                self[id as usize].links()
            }

            #[inline]
            fn set_links(&mut self, id: u32, links: Links) {
                self[id as usize].set_links(links);
            }
        }
    )*};
}

nodes_by_index!([E], Vec<E>, Slab<E>);

/// A doubly linked list of nodes that live in an arena of [`Nodes`]; see
/// the [module documentation](self).
///
/// Every method that changes the list takes the arena; the list keeps only
/// its two ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SlabList {
    head: u32,
    tail: u32,
}

impl SlabList {
    /// An empty list, usable in `const` contexts (an array of slot lists).
    pub const EMPTY: SlabList = SlabList {
        head: NONE,
        tail: NONE,
    };

    /// An empty list.
    #[inline]
    pub const fn new() -> Self {
        SlabList::EMPTY
    }

    /// Whether the list holds no node.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.head == NONE
    }

    /// The first node.
    #[inline]
    pub fn front(&self) -> Option<u32> {
        some(self.head)
    }

    /// The last node.
    #[inline]
    pub fn back(&self) -> Option<u32> {
        some(self.tail)
    }

    /// Links node `id`, which is on no list, at the front. O(1).
    #[inline]
    pub fn push_front<N: Nodes + ?Sized>(&mut self, nodes: &mut N, id: u32) {
        self.link_between(nodes, id, NONE, self.head);
    }

    /// Links node `id`, which is on no list, at the back. O(1).
    #[inline]
    pub fn push_back<N: Nodes + ?Sized>(&mut self, nodes: &mut N, id: u32) {
        self.link_between(nodes, id, self.tail, NONE);
    }

    /// Links node `id`, which is on no list, between the neighbours `prev`
    /// and `next` (`NONE` at an end). Inlined with a constant end, the tests
    /// for that end fold away.
    #[inline]
    fn link_between<N: Nodes + ?Sized>(&mut self, nodes: &mut N, id: u32, prev: u32, next: u32) {
        debug_assert_ne!(id, NONE, "u32::MAX names no node");
        nodes.set_links(id, Links { prev, next });
        if prev == NONE {
            self.head = id;
        } else {
            nodes.set_next(prev, id);
        }
        if next == NONE {
            self.tail = id;
        } else {
            nodes.set_prev(next, id);
        }
    }

    /// Takes the first node off the list. O(1).
    #[inline]
    pub fn pop_front<N: Nodes + ?Sized>(&mut self, nodes: &mut N) -> Option<u32> {
        let id = self.front()?;
        self.unlink(nodes, id);
        Some(id)
    }

    /// Takes the last node off the list. O(1).
    #[inline]
    pub fn pop_back<N: Nodes + ?Sized>(&mut self, nodes: &mut N) -> Option<u32> {
        let id = self.back()?;
        self.unlink(nodes, id);
        Some(id)
    }

    /// Takes node `id`, which must be on this list, off it; its links become
    /// [`Links::UNLINKED`]. O(1).
    #[inline]
    pub fn unlink<N: Nodes + ?Sized>(&mut self, nodes: &mut N, id: u32) {
        let Links { prev, next } = nodes.links(id);
        debug_assert!(prev != NONE || self.head == id, "node {id} is not on this list");
        debug_assert!(next != NONE || self.tail == id, "node {id} is not on this list");
        if prev == NONE {
            self.head = next;
        } else {
            nodes.set_next(prev, next);
        }
        if next == NONE {
            self.tail = prev;
        } else {
            nodes.set_prev(next, prev);
        }
        nodes.set_links(id, Links::UNLINKED);
    }

    /// Moves node `id`, which must be on this list, to the front. O(1).
    #[inline]
    pub fn move_to_front<N: Nodes + ?Sized>(&mut self, nodes: &mut N, id: u32) {
        if self.head != id {
            self.unlink(nodes, id);
            self.push_front(nodes, id);
        }
    }

    /// Moves node `id`, which must be on this list, to the back. O(1).
    #[inline]
    pub fn move_to_back<N: Nodes + ?Sized>(&mut self, nodes: &mut N, id: u32) {
        if self.tail != id {
            self.unlink(nodes, id);
            self.push_back(nodes, id);
        }
    }

    /// Empties the list and returns what it held, without touching a node:
    /// the nodes are now on the returned list. O(1).
    #[inline]
    pub fn take(&mut self) -> SlabList {
        std::mem::take(self)
    }

    /// The nodes from front to back (or, reversed, back to front).
    #[inline]
    pub fn iter<'a, N: Nodes + ?Sized>(&self, nodes: &'a N) -> Iter<'a, N> {
        Iter {
            nodes,
            front: self.head,
            back: self.tail,
        }
    }
}

impl Default for SlabList {
    #[inline]
    fn default() -> Self {
        SlabList::EMPTY
    }
}

impl fmt::Debug for SlabList {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlabList")
            .field("front", &self.front())
            .field("back", &self.back())
            .finish()
    }
}

/// The nodes of a [`SlabList`], front to back; see [`SlabList::iter`].
pub struct Iter<'a, N: ?Sized> {
    nodes: &'a N,
    /// The next node from the front, or `NONE` once the two ends have met.
    front: u32,
    /// The next node from the back, or `NONE` once the two ends have met.
    back: u32,
}

impl<N: ?Sized> fmt::Debug for Iter<'_, N> {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("front", &some(self.front))
            .field("back", &some(self.back))
            .finish_non_exhaustive()
    }
}

impl<N: Nodes + ?Sized> Iterator for Iter<'_, N> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        let id = some(self.front)?;
        if id == self.back {
            self.front = NONE;
            self.back = NONE;
        } else {
            self.front = self.nodes.links(id).next;
        }
        Some(id)
    }
}

impl<N: Nodes + ?Sized> DoubleEndedIterator for Iter<'_, N> {
    #[inline]
    fn next_back(&mut self) -> Option<u32> {
        let id = some(self.back)?;
        if id == self.front {
            self.front = NONE;
            self.back = NONE;
        } else {
            self.back = self.nodes.links(id).prev;
        }
        Some(id)
    }
}

impl<N: Nodes + ?Sized> std::iter::FusedIterator for Iter<'_, N> {}

/// `None` for the "no node" index.
fn some(id: u32) -> Option<u32> {
    (id != NONE).then_some(id)
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use proptest::prelude::*;

    use super::*;

    /// A node with a payload, to see that the list never touches it.
    #[derive(Debug, Clone, Copy)]
    struct Node {
        value: u32,
        links: Links,
    }

    impl Linked for Node {
        fn links(&self) -> Links {
            self.links
        }
        fn set_links(&mut self, links: Links) {
            self.links = links;
        }
    }

    fn arena(n: u32) -> Vec<Node> {
        (0..n)
            .map(|value| Node {
                value,
                links: Links::UNLINKED,
            })
            .collect()
    }

    /// The list front to back, checked against the walk back to front.
    fn order<N: Nodes + ?Sized>(list: &SlabList, nodes: &N) -> Vec<u32> {
        let forward: Vec<u32> = list.iter(nodes).collect();
        let mut backward: Vec<u32> = list.iter(nodes).rev().collect();
        backward.reverse();
        assert_eq!(forward, backward);
        assert_eq!(list.front(), forward.first().copied());
        assert_eq!(list.back(), forward.last().copied());
        assert_eq!(list.is_empty(), forward.is_empty());
        forward
    }

    #[test]
    fn sizes() {
        assert_eq!(size_of::<Links>(), 8);
        assert_eq!(size_of::<SlabList>(), 8);
    }

    #[test]
    fn push_pop_both_ends() {
        let mut nodes = arena(4);
        let mut list = SlabList::new();
        assert_eq!(order(&list, &nodes), []);
        assert_eq!(list.pop_front(&mut nodes), None);
        assert_eq!(list.pop_back(&mut nodes), None);
        list.push_back(&mut nodes, 1);
        list.push_front(&mut nodes, 0);
        list.push_back(&mut nodes, 2);
        list.push_back(&mut nodes, 3);
        assert_eq!(order(&list, &nodes), [0, 1, 2, 3]);
        assert_eq!(list.pop_front(&mut nodes), Some(0));
        assert_eq!(list.pop_back(&mut nodes), Some(3));
        assert_eq!(nodes[0].links, Links::UNLINKED);
        assert_eq!(nodes[3].links, Links::UNLINKED);
        assert_eq!(order(&list, &nodes), [1, 2]);
        assert_eq!(nodes.iter().map(|n| n.value).collect::<Vec<_>>(), [0, 1, 2, 3]);
    }

    #[test]
    fn unlink_and_move_anywhere() {
        let mut nodes = arena(5);
        let mut list = SlabList::default();
        for id in 0..5 {
            list.push_back(&mut nodes, id);
        }
        list.move_to_front(&mut nodes, 2);
        assert_eq!(order(&list, &nodes), [2, 0, 1, 3, 4]);
        list.move_to_front(&mut nodes, 2);
        assert_eq!(order(&list, &nodes), [2, 0, 1, 3, 4]);
        list.move_to_back(&mut nodes, 0);
        assert_eq!(order(&list, &nodes), [2, 1, 3, 4, 0]);
        list.move_to_back(&mut nodes, 0);
        list.unlink(&mut nodes, 3); // middle
        list.unlink(&mut nodes, 2); // front
        list.unlink(&mut nodes, 0); // back
        assert_eq!(order(&list, &nodes), [1, 4]);
        list.unlink(&mut nodes, 1);
        list.unlink(&mut nodes, 4);
        assert_eq!(order(&list, &nodes), []);
        assert!(nodes.iter().all(|n| n.links == Links::UNLINKED));
    }

    #[test]
    fn lists_share_an_arena_and_take_moves_them_whole() {
        let mut nodes = arena(6);
        let mut odd = SlabList::new();
        let mut even = SlabList::new();
        for id in 0..6 {
            if id % 2 == 0 {
                even.push_back(&mut nodes[..], id);
            } else {
                odd.push_front(&mut nodes[..], id);
            }
        }
        assert_eq!(order(&even, &nodes), [0, 2, 4]);
        assert_eq!(order(&odd, &nodes), [5, 3, 1]);
        // A node goes from one list to the other.
        odd.unlink(&mut nodes, 3);
        even.push_back(&mut nodes, 3);
        let moved = even.take();
        assert_eq!(order(&even, &nodes), []);
        assert_eq!(order(&moved, &nodes), [0, 2, 4, 3]);
    }

    #[test]
    fn iterates_from_both_ends_until_they_meet() {
        let mut nodes = arena(4);
        let mut list = SlabList::new();
        for id in 0..4 {
            list.push_back(&mut nodes, id);
        }
        let mut iter = list.iter(&nodes);
        assert_eq!(iter.next(), Some(0));
        assert_eq!(iter.next_back(), Some(3));
        assert_eq!(iter.next_back(), Some(2));
        assert_eq!(iter.next(), Some(1));
        assert_eq!(iter.next(), None);
        assert_eq!(iter.next_back(), None);
        assert_eq!(format!("{iter:?}"), "Iter { front: None, back: None, .. }");
    }

    #[test]
    fn works_in_a_slab() {
        let mut slab = Slab::new();
        let ids: Vec<u32> = (0..3)
            .map(|value| {
                slab.insert(Node {
                    value,
                    links: Links::UNLINKED,
                }) as u32
            })
            .collect();
        let mut list = SlabList::new();
        for &id in &ids {
            list.push_front(&mut slab, id);
        }
        list.unlink(&mut slab, ids[1]);
        slab.remove(ids[1] as usize);
        assert_eq!(order(&list, &slab), [ids[2], ids[0]]);
    }

    #[test]
    fn raw_links_and_debug() {
        let links = Links::from_raw(3, u32::MAX);
        assert_eq!(links.into_raw(), (3, u32::MAX));
        assert_eq!((links.prev(), links.next()), (Some(3), None));
        assert_eq!(Links::default(), Links::UNLINKED);
        assert_eq!(format!("{links:?}"), "Links { prev: Some(3), next: None }");
        assert_eq!(
            format!("{:?}", SlabList::new()),
            "SlabList { front: None, back: None }"
        );
    }

    // ----- property test against VecDeque models -----

    /// Nodes in the property test's arena.
    const NODES: u32 = 12;

    #[derive(Debug, Clone)]
    enum Op {
        PushFront(usize, u32),
        PushBack(usize, u32),
        PopFront(usize),
        PopBack(usize),
        Unlink(u32),
        MoveToFront(u32),
        MoveToBack(u32),
        /// Move list `a`'s nodes, whole, to the back of list `b`.
        Append(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let list = 0usize..3;
        let node = 0..NODES;
        prop_oneof![
            3 => (list.clone(), node.clone()).prop_map(|(l, n)| Op::PushFront(l, n)),
            3 => (list.clone(), node.clone()).prop_map(|(l, n)| Op::PushBack(l, n)),
            1 => list.clone().prop_map(Op::PopFront),
            1 => list.clone().prop_map(Op::PopBack),
            2 => node.clone().prop_map(Op::Unlink),
            2 => node.clone().prop_map(Op::MoveToFront),
            2 => node.prop_map(Op::MoveToBack),
            1 => (list.clone(), list).prop_map(|(a, b)| Op::Append(a, b)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Three lists threaded through one arena behave like three
        /// `VecDeque`s. An op that would break the list's contract (push a
        /// node already on a list, unlink one that is not) is skipped.
        #[test]
        fn behaves_like_vecdeques(ops in prop::collection::vec(op(), 1..300)) {
            let mut nodes = arena(NODES);
            let mut lists = [SlabList::new(); 3];
            let mut models: [VecDeque<u32>; 3] = Default::default();
            // Which list each node is on.
            let mut on: Vec<Option<usize>> = vec![None; NODES as usize];
            for op in ops {
                match op {
                    Op::PushFront(l, n) if on[n as usize].is_none() => {
                        lists[l].push_front(&mut nodes, n);
                        models[l].push_front(n);
                        on[n as usize] = Some(l);
                    }
                    Op::PushBack(l, n) if on[n as usize].is_none() => {
                        lists[l].push_back(&mut nodes, n);
                        models[l].push_back(n);
                        on[n as usize] = Some(l);
                    }
                    Op::PopFront(l) => {
                        let popped = lists[l].pop_front(&mut nodes);
                        prop_assert_eq!(popped, models[l].pop_front());
                        if let Some(n) = popped {
                            on[n as usize] = None;
                        }
                    }
                    Op::PopBack(l) => {
                        let popped = lists[l].pop_back(&mut nodes);
                        prop_assert_eq!(popped, models[l].pop_back());
                        if let Some(n) = popped {
                            on[n as usize] = None;
                        }
                    }
                    Op::Unlink(n) => {
                        if let Some(l) = on[n as usize].take() {
                            lists[l].unlink(&mut nodes, n);
                            models[l].retain(|&m| m != n);
                        }
                    }
                    Op::MoveToFront(n) => {
                        if let Some(l) = on[n as usize] {
                            lists[l].move_to_front(&mut nodes, n);
                            models[l].retain(|&m| m != n);
                            models[l].push_front(n);
                        }
                    }
                    Op::MoveToBack(n) => {
                        if let Some(l) = on[n as usize] {
                            lists[l].move_to_back(&mut nodes, n);
                            models[l].retain(|&m| m != n);
                            models[l].push_back(n);
                        }
                    }
                    Op::Append(a, b) if a != b => {
                        let mut from = lists[a].take();
                        while let Some(n) = from.pop_front(&mut nodes) {
                            lists[b].push_back(&mut nodes, n);
                            on[n as usize] = Some(b);
                        }
                        let moved: Vec<u32> = models[a].drain(..).collect();
                        models[b].extend(moved);
                    }
                    Op::PushFront(..) | Op::PushBack(..) | Op::Append(..) => {}
                }
                for (list, model) in lists.iter().zip(&models) {
                    prop_assert_eq!(order(list, &nodes), model.iter().copied().collect::<Vec<_>>());
                }
                for (n, node) in nodes.iter().enumerate() {
                    prop_assert_eq!(node.value, n as u32);
                    if on[n].is_none() {
                        prop_assert_eq!(node.links, Links::UNLINKED);
                    }
                }
            }
        }
    }
}
