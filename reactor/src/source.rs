//! The source table: everything a reactor polls, in one slab.
//!
//! Every listener, connection, datagram socket, child process and pipe, the
//! cross-thread waker and the signal pipe occupies one slot of [`Sources`].
//! A slot keeps the generation its occupant was given when it moved in, from
//! a counter that only grows; a [`Key`] is the slot's index plus that
//! generation, and the public handles (`ConnectionId`, `ListenerId`, ...)
//! wrap a `Key`. Every lookup compares both halves, so a handle (or a mio
//! event, whose token is the same pair) that outlived its source finds
//! nothing, even after the slot has been reused.
//!
//! # Costs
//!
//! | operation | cost |
//! |-----------|------|
//! | [`insert`](Sources::insert), [`remove`](Sources::remove) | O(1) amortized (the slab reuses its free slots) |
//! | [`get`](Sources::get) and the typed look-ups | O(1): an index and a comparison |
//! | [`keys`](Sources::keys) | O(slots), and one allocation: shutdown only |
//!
//! # Implementation notes
//!
//! Generations come from one counter per table, not one per slot, so a key
//! names a unique occupant for the first 2^32 insertions whatever the slot;
//! the counter then wraps, and a key 2^32 insertions stale could in theory
//! match again. The table never hands out references that outlive a call:
//! the reactor looks a source up again after any callback, which may have
//! closed it.

use slab::Slab;

use crate::id::{ConnectionId, DatagramId, Key, ListenerId};
use crate::listener::Listener;
use crate::process::{Pipe, Process};
use crate::signals::SignalSource;
use crate::transport::Connection;
use crate::udp::Datagram;

/// One registered source. The reactor's dispatch is a `match` on this.
pub(crate) enum Source {
    Listener(Box<Listener>),
    /// Inline, not boxed: a server holds thousands, and the slot is the
    /// only memory the reactor spends on one (see `Connection`'s costs).
    Connection(Connection),
    Datagram(Box<Datagram>),
    /// The `mio::Waker` behind `ReactorHandle`s (another thread queued calls).
    Waker,
    Signals(Box<SignalSource>),
    /// A child process (registered with its pidfd, readable at exit).
    Process(Box<Process>),
    /// One pipe of a child process.
    Pipe(Box<Pipe>),
}

/// A source and the generation it was given.
struct Slot {
    generation: u32,
    source: Source,
}

/// The most bytes a slot may take: a connection (inline) and the
/// generation. This is all the reactor spends on an idle connection; the
/// slab grows by doubling, and the pages of its spare capacity are not
/// touched until used.
const SLOT_BYTES: usize = 80 + crate::transport::MIO_DEBUG_BYTES;

const _: () = assert!(std::mem::size_of::<Slot>() <= SLOT_BYTES);

/// The table of registered sources; a key's generation must match its slot's.
#[derive(Default)]
pub(crate) struct Sources {
    slots: Slab<Slot>,
    next_generation: u32,
}

impl Sources {
    /// Moves `source` into a free slot and returns its key.
    pub(crate) fn insert(&mut self, source: Source) -> Key {
        self.next_generation = self.next_generation.wrapping_add(1);
        let generation = self.next_generation;
        let index = self.slots.insert(Slot { generation, source });
        Key {
            index: index as u32,
            generation,
        }
    }

    /// The key the next `insert` will return (to register before inserting).
    pub(crate) fn next_key(&self) -> Key {
        Key {
            index: self.slots.vacant_key() as u32,
            generation: self.next_generation.wrapping_add(1),
        }
    }

    /// The source `key` names, unless it is stale.
    pub(crate) fn get(&self, key: Key) -> Option<&Source> {
        match self.slots.get(key.index as usize) {
            Some(slot) if slot.generation == key.generation => Some(&slot.source),
            _ => None,
        }
    }

    /// [`get`](Sources::get), mutably.
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut Source> {
        match self.slots.get_mut(key.index as usize) {
            Some(slot) if slot.generation == key.generation => Some(&mut slot.source),
            _ => None,
        }
    }

    /// Takes the source `key` names out of the table, freeing its slot.
    pub(crate) fn remove(&mut self, key: Key) -> Option<Source> {
        self.get(key)?;
        Some(self.slots.remove(key.index as usize).source)
    }

    pub(crate) fn connection(&self, id: ConnectionId) -> Option<&Connection> {
        match self.get(id.0) {
            Some(Source::Connection(c)) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn connection_mut(&mut self, id: ConnectionId) -> Option<&mut Connection> {
        match self.get_mut(id.0) {
            Some(Source::Connection(c)) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn listener_mut(&mut self, id: ListenerId) -> Option<&mut Listener> {
        match self.get_mut(id.0) {
            Some(Source::Listener(l)) => Some(l),
            _ => None,
        }
    }

    pub(crate) fn datagram_mut(&mut self, id: DatagramId) -> Option<&mut Datagram> {
        match self.get_mut(id.0) {
            Some(Source::Datagram(d)) => Some(d),
            _ => None,
        }
    }

    /// Keys of every source, so shutdown can visit them while changing the table.
    pub(crate) fn keys(&self) -> Vec<Key> {
        self.slots
            .iter()
            .map(|(index, slot)| Key {
                index: index as u32,
                generation: slot.generation,
            })
            .collect()
    }
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("len", &self.slots.len())
            .field("next_generation", &self.next_generation)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_key_finds_nothing_in_a_reused_slot() {
        let mut sources = Sources::default();
        let first = sources.insert(Source::Waker);
        assert_eq!(sources.next_key().index, first.index + 1);
        assert!(sources.remove(first).is_some());
        assert_eq!(sources.next_key().index, first.index);
        let second = sources.insert(Source::Waker);
        assert_eq!(second.index, first.index);
        assert!(sources.get(first).is_none());
        assert!(sources.remove(first).is_none());
        assert!(matches!(sources.get(second), Some(Source::Waker)));
        assert_eq!(sources.keys(), [second]);
    }
}
