//! The key index: a chained hash table of `u32` item ids, as memcached's
//! `assoc.c` is.
//!
//! The table is only an array of bucket heads (`u32` ids, [`NIL`] for an
//! empty bucket); each item's slot carries the next id of its bucket's chain
//! ([`Chained`]), so the index costs 4 bytes per bucket plus 4 per item and
//! allocates nothing per item. It holds no keys: [`find`](Index::find) asks
//! its caller whether an id's key is the one sought, and growing asks for
//! each id's hash again.
//!
//! # Implementation notes
//!
//! - The number of buckets is a power of two, at least [`MIN_BUCKETS`]; it
//!   doubles when the items exceed 1.5 times the buckets (memcached's
//!   `assoc_insert` rule), so chains hold 0.75 to 1.5 items on average and a
//!   bucket costs 2.7 to 5.3 bytes per item.
//! - Each node also keeps a [`TAG_BITS`]-bit tag of its own hash (the top
//!   bits; the bucket is chosen by the low ones), so a lookup compares keys
//!   only for the chain's nodes whose tag matches: one in 2^TAG_BITS of the
//!   others, where a key compare costs a cache miss on the item's bytes.
//! - Growing rehashes every item at once: O(n), with the key of each read
//!   again to hash it (memcached moves buckets in a background thread; this
//!   store has none). Lookups, inserts and removals are O(1 + chain).

use super::super::lru::NIL;

/// Buckets of an empty index.
pub(crate) const MIN_BUCKETS: usize = 1024;

/// The table doubles when items exceed buckets times this fraction.
const GROW_NUMERATOR: usize = 3;

/// The most buckets [`Index::reserve`] makes up front: one per possible id
/// (a reservation is a hint; inserting past it still grows the table).
const MAX_BUCKETS: usize = 1 << 29;
const GROW_DENOMINATOR: usize = 2;

/// Bits of a node's hash tag.
pub(crate) const TAG_BITS: u32 = 3;

/// A node that carries the next id of its hash chain and its own hash's tag.
pub(crate) trait Chained {
    /// The next id on the chain ([`NIL`] at its end).
    fn hnext(&self) -> u32;
    /// Sets the next id on the chain.
    fn set_hnext(&mut self, next: u32);
    /// The node's tag ([`tag_of`] its key's hash).
    fn tag(&self) -> u8;
    /// Sets the node's tag.
    fn set_tag(&mut self, tag: u8);
}

/// The tag of a hash: its top [`TAG_BITS`] bits.
pub(crate) fn tag_of(hash: u64) -> u8 {
    (hash >> (u64::BITS - TAG_BITS)) as u8
}

/// Bucket heads of a chained hash table of ids. See the module documentation.
#[derive(Debug)]
pub(crate) struct Index {
    heads: Vec<u32>,
    items: usize,
}

impl Default for Index {
    fn default() -> Self {
        Index::new()
    }
}

impl Index {
    /// An empty index of [`MIN_BUCKETS`] buckets.
    pub(crate) fn new() -> Self {
        Index {
            heads: vec![NIL; MIN_BUCKETS],
            items: 0,
        }
    }

    /// Ids indexed.
    pub(crate) fn len(&self) -> usize {
        self.items
    }

    /// Buckets.
    pub(crate) fn buckets(&self) -> usize {
        self.heads.len()
    }

    /// Heap bytes of the bucket array.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.heads.capacity() * size_of::<u32>()
    }

    fn bucket(&self, hash: u64) -> usize {
        hash as usize & (self.heads.len() - 1)
    }

    /// The first id on `hash`'s chain for which `is_it` says yes.
    pub(crate) fn find<T: Chained>(
        &self,
        hash: u64,
        nodes: &[T],
        mut is_it: impl FnMut(u32) -> bool,
    ) -> Option<u32> {
        let tag = tag_of(hash);
        let mut id = self.heads[self.bucket(hash)];
        while id != NIL {
            let node = &nodes[id as usize];
            if node.tag() == tag && is_it(id) {
                return Some(id);
            }
            id = node.hnext();
        }
        None
    }

    /// Adds `id`, whose key hashes to `hash`, at the head of its chain;
    /// grows the table when it is too full (`hash_of` gives any indexed
    /// id's hash again).
    pub(crate) fn insert<T: Chained>(
        &mut self,
        hash: u64,
        id: u32,
        nodes: &mut [T],
        hash_of: impl Fn(&T) -> u64,
    ) {
        let b = self.bucket(hash);
        nodes[id as usize].set_hnext(self.heads[b]);
        nodes[id as usize].set_tag(tag_of(hash));
        self.heads[b] = id;
        self.items += 1;
        if self.items * GROW_DENOMINATOR > self.heads.len() * GROW_NUMERATOR {
            self.grow(nodes, hash_of);
        }
    }

    /// Takes `id`, whose key hashes to `hash`, off its chain. Returns
    /// whether it was there.
    pub(crate) fn remove<T: Chained>(&mut self, hash: u64, id: u32, nodes: &mut [T]) -> bool {
        let b = self.bucket(hash);
        let mut cur = self.heads[b];
        if cur == id {
            self.heads[b] = nodes[id as usize].hnext();
        } else {
            loop {
                if cur == NIL {
                    return false;
                }
                let next = nodes[cur as usize].hnext();
                if next == id {
                    let after = nodes[id as usize].hnext();
                    nodes[cur as usize].set_hnext(after);
                    break;
                }
                cur = next;
            }
        }
        nodes[id as usize].set_hnext(NIL);
        self.items -= 1;
        true
    }

    /// Grows the table once, up front, to hold `additional` more ids
    /// without growing again (a bulk load knows how many are coming).
    pub(crate) fn reserve<T: Chained>(
        &mut self,
        additional: usize,
        nodes: &mut [T],
        hash_of: impl Fn(&T) -> u64,
    ) {
        let wanted = self.items.saturating_add(additional);
        let mut buckets = self.heads.len();
        while wanted.saturating_mul(GROW_DENOMINATOR) > buckets.saturating_mul(GROW_NUMERATOR)
            && buckets < MAX_BUCKETS
        {
            buckets *= 2;
        }
        if buckets > self.heads.len() {
            self.rehash(buckets, nodes, hash_of);
        }
    }

    /// Doubles the buckets and moves every chain's ids to their new buckets.
    fn grow<T: Chained>(&mut self, nodes: &mut [T], hash_of: impl Fn(&T) -> u64) {
        let buckets = self.heads.len() * 2;
        self.rehash(buckets, nodes, hash_of);
    }

    /// Moves every chain's ids to their buckets in a table of `buckets`.
    fn rehash<T: Chained>(&mut self, buckets: usize, nodes: &mut [T], hash_of: impl Fn(&T) -> u64) {
        let old = std::mem::replace(&mut self.heads, vec![NIL; buckets]);
        for mut id in old {
            while id != NIL {
                let next = nodes[id as usize].hnext();
                let b = self.bucket(hash_of(&nodes[id as usize]));
                nodes[id as usize].set_hnext(self.heads[b]);
                self.heads[b] = id;
                id = next;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Node {
        key: u64,
        hnext: u32,
        tag: u8,
    }

    impl Chained for Node {
        fn hnext(&self) -> u32 {
            self.hnext
        }
        fn set_hnext(&mut self, next: u32) {
            self.hnext = next;
        }
        fn tag(&self) -> u8 {
            self.tag
        }
        fn set_tag(&mut self, tag: u8) {
            self.tag = tag;
        }
    }

    /// A poor hash on purpose (many collisions in small tables).
    fn hash(key: u64) -> u64 {
        key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 7
    }

    #[test]
    fn grows_at_one_and_a_half_items_per_bucket() {
        let mut nodes: Vec<Node> = (0..2000)
            .map(|k| Node {
                key: k,
                hnext: NIL,
                tag: 0,
            })
            .collect();
        let mut index = Index::new();
        let keys: Vec<u64> = nodes.iter().map(|n| n.key).collect();
        for id in 0..1536u32 {
            index.insert(hash(keys[id as usize]), id, &mut nodes, |n| hash(n.key));
        }
        assert_eq!(index.buckets(), MIN_BUCKETS);
        index.insert(hash(keys[1536]), 1536, &mut nodes, |n| hash(n.key));
        assert_eq!((index.buckets(), index.len()), (2 * MIN_BUCKETS, 1537));
        for id in 0..1537u32 {
            let k = keys[id as usize];
            assert_eq!(
                index.find(hash(k), &nodes, |i| nodes[i as usize].key == k),
                Some(id)
            );
        }
        assert!(index
            .find(hash(5000), &nodes, |i| nodes[i as usize].key == 5000)
            .is_none());
        assert!(!index.remove(hash(keys[1999]), 1999, &mut nodes));
        assert_eq!(index.heap_bytes(), 2 * MIN_BUCKETS * 4);
    }

    /// Random inserts and removals of distinct keys against a `HashMap`.
    #[test]
    fn random_use_matches_a_map() {
        let mut seed = 0x1dea_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut nodes: Vec<Node> = Vec::new();
        let mut keys: Vec<u64> = Vec::new();
        let mut free: Vec<u32> = Vec::new();
        let mut model: HashMap<u64, u32> = HashMap::new();
        let mut index = Index::new();
        for _ in 0..50_000 {
            let key = next() % 8_000;
            let h = hash(key);
            let found = index.find(h, &nodes, |i| keys[i as usize] == key);
            assert_eq!(found, model.get(&key).copied(), "{key}");
            match found {
                Some(id) if next() % 3 == 0 => {
                    assert!(index.remove(h, id, &mut nodes));
                    model.remove(&key);
                    free.push(id);
                }
                Some(_) => {}
                None => {
                    let id = match free.pop() {
                        Some(id) => {
                            keys[id as usize] = key;
                            nodes[id as usize].key = key;
                            id
                        }
                        None => {
                            nodes.push(Node {
                                key,
                                hnext: NIL,
                                tag: 0,
                            });
                            keys.push(key);
                            (nodes.len() - 1) as u32
                        }
                    };
                    index.insert(h, id, &mut nodes, |n| hash(n.key));
                    model.insert(key, id);
                }
            }
            assert_eq!(index.len(), model.len());
        }
        assert!(index.buckets() > MIN_BUCKETS);
    }
}
