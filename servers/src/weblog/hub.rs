//! The last hits, and where each client is in them.
//!
//! The seed's factory kept `records`, the last 100 hits with the time each
//! was read, and each client sent, every 5 seconds, the records stamped
//! after its last send. The hub does the same with sequence numbers
//! instead of clocks: hit `n` is the nth hit read, the buffer holds the
//! last [`HISTORY`](super::HISTORY), and each client has a cursor (the
//! number of the next hit it needs). A push sends each client what lies
//! between its cursor and the newest hit, and moves the cursor.
//!
//! As in the seed, a new client starts at the present: it is sent the
//! hits read after it connected, not the history. The history is what
//! bridges the gap between two pushes.
//!
//! The seed's first, pull version answered each client's request with the
//! lines read since the last request, by anyone: one shared file position,
//! so two clients split the hits between them. [`Hub::pull`] answers a
//! client with the hits since *its* last request, from the same cursors.
//!
//! Two bounds, both per client:
//!
//! - a client that reads slower than hits arrive has its write buffer
//!   grow; above [`CLIENT_BACKLOG`](super::CLIENT_BACKLOG) bytes it is
//!   skipped (its cursor stays) until it catches up;
//! - a cursor that falls behind the oldest hit kept (a skipped client, or
//!   more than a history of hits between two pushes) skips ahead, and the
//!   client is told with `<missed count="N"/>`: the seed dropped those
//!   hits silently.

use std::collections::VecDeque;

use bytes::Bytes;
use hashbrown::HashMap;
use torsion::{ConnectionId, Reactor};

use super::tag;

/// The shared state of a weblog server: recent hits and client cursors.
pub struct Hub {
    /// Formatted hits, oldest first; `recent[i]` is hit `first + i`.
    recent: VecDeque<Bytes>,
    first: u64,
    capacity: usize,
    backlog_limit: usize,
    clients: HashMap<ConnectionId, u64>,
}

impl Hub {
    /// A hub keeping the last `capacity` hits, skipping clients with more
    /// than `backlog_limit` bytes unsent.
    pub fn new(capacity: usize, backlog_limit: usize) -> Hub {
        Hub {
            recent: VecDeque::with_capacity(capacity),
            first: 0,
            capacity: capacity.max(1),
            backlog_limit,
            clients: HashMap::new(),
        }
    }

    /// The number the next hit will get.
    fn next(&self) -> u64 {
        self.first + self.recent.len() as u64
    }

    /// Records a hit (already formatted), dropping the oldest beyond the capacity.
    pub fn add(&mut self, hit: Bytes) {
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
            self.first += 1;
        }
        self.recent.push_back(hit);
    }

    /// The hits kept, oldest first.
    pub fn recent(&self) -> impl Iterator<Item = &Bytes> {
        self.recent.iter()
    }

    /// A client connected: it will be sent the hits read from now on.
    pub fn join(&mut self, id: ConnectionId) {
        let next = self.next();
        self.clients.insert(id, next);
    }

    /// A client left.
    pub fn leave(&mut self, id: ConnectionId) {
        self.clients.remove(&id);
    }

    /// The connected clients.
    pub fn clients(&self) -> impl Iterator<Item = ConnectionId> + '_ {
        self.clients.keys().copied()
    }

    /// Sends every client the hits it has not been sent.
    ///
    /// The hits a client needs are concatenated once per distinct cursor
    /// (after the first push every client shares the same one) and queued
    /// on each connection by reference, not copied per client.
    pub fn push(&mut self, reactor: &mut Reactor) {
        let next = self.next();
        let mut batches: HashMap<u64, Bytes> = HashMap::new();
        for (&id, cursor) in self.clients.iter_mut() {
            if *cursor == next {
                continue;
            }
            let mut transport = reactor.transport(id);
            if transport.buffered() > self.backlog_limit {
                log::debug!(
                    "{id}: {} bytes still unsent; skipping this push",
                    transport.buffered()
                );
                continue;
            }
            if let Some(missed) = skip_missed(id, self.first, cursor) {
                transport.write(&missed);
            }
            let start = *cursor;
            let batch = batches
                .entry(start)
                .or_insert_with(|| joined(&self.recent, start - self.first));
            transport.write_bytes(batch.clone());
            *cursor = next;
        }
    }

    /// What client `id` asked for in the pull version: the hits it was not
    /// sent yet (after `<missed count="N"/>` if some are gone), or `None`
    /// when nothing is new. Its cursor moves past them.
    pub fn pull(&mut self, id: ConnectionId) -> Option<Bytes> {
        let next = self.next();
        let cursor = self.clients.get_mut(&id)?;
        if *cursor == next {
            return None;
        }
        let missed = skip_missed(id, self.first, cursor);
        let hits = joined(&self.recent, *cursor - self.first);
        *cursor = next;
        Some(match missed {
            Some(missed) => [missed, hits.to_vec()].concat().into(),
            None => hits,
        })
    }

    /// Sends every client `data` now (the closing tag at shutdown).
    pub fn broadcast(&self, reactor: &mut Reactor, data: &[u8]) {
        for &id in self.clients.keys() {
            reactor.transport(id).write(data);
        }
    }
}

/// Moves a cursor that fell behind the oldest hit kept (`first`) up to
/// it; the `<missed count="N"/>` line to send, if it moved.
fn skip_missed(id: ConnectionId, first: u64, cursor: &mut u64) -> Option<Vec<u8>> {
    if *cursor >= first {
        return None;
    }
    let missed = first - *cursor;
    log::info!("{id}: fell {missed} hits behind; they are gone");
    *cursor = first;
    Some(tag::missed_tag(missed))
}

/// The hits of `recent` from index `skip` on, in one buffer.
fn joined(recent: &VecDeque<Bytes>, skip: u64) -> Bytes {
    let mut out = Vec::new();
    for hit in recent.iter().skip(skip as usize) {
        out.extend_from_slice(hit);
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use torsion::testing::StringTransport;
    use torsion::Discard;

    fn hit(n: u32) -> Bytes {
        Bytes::from(format!("<hit n=\"{n}\"/>\n"))
    }

    #[test]
    fn keeps_the_last_hits_only() {
        let mut hub = Hub::new(3, 1 << 20);
        for n in 0..5 {
            hub.add(hit(n));
        }
        let kept: Vec<&Bytes> = hub.recent().collect();
        assert_eq!(kept, [&hit(2), &hit(3), &hit(4)]);
    }

    #[test]
    fn a_client_gets_what_came_after_it_joined_once() {
        let mut t = StringTransport::new(Discard);
        let mut hub = Hub::new(100, 1 << 20);
        hub.add(hit(0)); // before the client: not for it
        hub.join(t.id());
        hub.add(hit(1));
        hub.add(hit(2));
        hub.push(t.reactor());
        t.pump();
        assert_eq!(t.take(), b"<hit n=\"1\"/>\n<hit n=\"2\"/>\n");
        hub.push(t.reactor());
        t.pump();
        assert_eq!(t.take(), b"");
        hub.add(hit(3));
        hub.push(t.reactor());
        t.pump();
        assert_eq!(t.take(), b"<hit n=\"3\"/>\n");
    }

    #[test]
    fn a_client_too_far_behind_is_told_what_it_missed() {
        let mut t = StringTransport::new(Discard);
        let mut hub = Hub::new(3, 1 << 20);
        hub.join(t.id());
        for n in 0..5 {
            hub.add(hit(n));
        }
        hub.push(t.reactor());
        t.pump();
        assert_eq!(
            t.text(),
            "<missed count=\"2\"/>\n<hit n=\"2\"/>\n<hit n=\"3\"/>\n<hit n=\"4\"/>\n"
        );
    }

    #[test]
    fn a_client_that_does_not_read_is_skipped_then_catches_up() {
        let mut t = StringTransport::new(Discard);
        let mut hub = Hub::new(3, 20);
        hub.join(t.id());
        t.set_window(Some(0)); // the peer reads nothing
        hub.add(hit(0));
        hub.add(hit(1));
        hub.push(t.reactor());
        t.pump();
        assert_eq!(t.buffered(), 26);
        // Over the limit: nothing more is queued while it stays there.
        hub.add(hit(2));
        hub.push(t.reactor());
        t.pump();
        assert_eq!(t.buffered(), 26);
        for n in 3..6 {
            hub.add(hit(n));
        }
        // It reads again: it is told it missed one, then gets the rest.
        t.set_window(None);
        hub.push(t.reactor());
        t.pump();
        assert_eq!(
            t.text(),
            "<hit n=\"0\"/>\n<hit n=\"1\"/>\n<missed count=\"1\"/>\n\
             <hit n=\"3\"/>\n<hit n=\"4\"/>\n<hit n=\"5\"/>\n"
        );
    }

    #[test]
    fn a_pull_gets_what_came_since_the_last_pull_of_that_client() {
        let mut hub = Hub::new(3, 1 << 20);
        let mut t = StringTransport::new(Discard);
        let a = t.id();
        let [b, stranger] = [(); 2].map(|_| t.reactor().connect_memory(Discard).0);
        hub.join(a);
        assert_eq!(hub.pull(a), None);
        hub.add(hit(0));
        hub.join(b);
        hub.add(hit(1));
        assert_eq!(
            hub.pull(a).as_deref(),
            Some(&b"<hit n=\"0\"/>\n<hit n=\"1\"/>\n"[..])
        );
        assert_eq!(hub.pull(a), None);
        // Another client's pull takes nothing from this one.
        assert_eq!(hub.pull(b).as_deref(), Some(&b"<hit n=\"1\"/>\n"[..]));
        for n in 2..7 {
            hub.add(hit(n));
        }
        assert_eq!(
            hub.pull(a).as_deref(),
            Some(&b"<missed count=\"2\"/>\n<hit n=\"4\"/>\n<hit n=\"5\"/>\n<hit n=\"6\"/>\n"[..])
        );
        // A stranger gets nothing.
        assert_eq!(hub.pull(stranger), None);
    }

    #[test]
    fn clients_that_left_are_forgotten() {
        let t = StringTransport::new(Discard);
        let mut hub = Hub::new(4, 20);
        hub.join(t.id());
        assert_eq!(hub.clients().count(), 1);
        hub.leave(t.id());
        assert_eq!(hub.clients().count(), 0);
    }
}
