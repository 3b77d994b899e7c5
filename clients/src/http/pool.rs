//! [`Pool`]: idle keep-alive connections of one client, by origin, for
//! the next request to the same scheme, host and port.
//!
//! Bounded (design rule 6): a few idle connections per origin, a few
//! dozen in all, each closed after a quiet period. A connection closed
//! by the server while idle leaves the pool as it closes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::Duration;

use torsion::{ConnectionId, DelayedCall, Reactor};

use super::Scheme;

/// How long an idle connection is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15);
/// Idle connections kept per origin.
pub const MAX_IDLE_PER_ORIGIN: usize = 4;
/// Idle connections kept in all.
pub const MAX_IDLE: usize = 32;

/// Where a connection goes: scheme, host, port.
pub(crate) type Origin = (Scheme, String, u16);

struct Idle {
    id: ConnectionId,
    timer: DelayedCall,
}

/// A client's idle connections.
#[derive(Default)]
pub(crate) struct Pool {
    idle: HashMap<Origin, Vec<Idle>>,
    count: usize,
}

pub(crate) type PoolRef = Rc<RefCell<Pool>>;

impl Pool {
    /// The most recently idled connection to `origin`, if any.
    pub(crate) fn take(&mut self, reactor: &mut Reactor, origin: &Origin) -> Option<ConnectionId> {
        let list = self.idle.get_mut(origin)?;
        let idle = list.pop()?;
        if list.is_empty() {
            self.idle.remove(origin);
        }
        self.count -= 1;
        let _ = idle.timer.cancel(reactor);
        Some(idle.id)
    }

    /// Keeps `id` for `origin`; false (and the caller closes it) when full.
    pub(crate) fn put(me: &PoolRef, reactor: &mut Reactor, origin: Origin, id: ConnectionId) -> bool {
        let mut pool = me.borrow_mut();
        let list_len = pool.idle.get(&origin).map_or(0, Vec::len);
        if pool.count >= MAX_IDLE || list_len >= MAX_IDLE_PER_ORIGIN {
            return false;
        }
        let weak: Weak<RefCell<Pool>> = Rc::downgrade(me);
        let timer = reactor.call_later(IDLE_TIMEOUT, move |r| {
            if let Some(pool) = weak.upgrade() {
                pool.borrow_mut().forget(r, id);
            }
            r.transport(id).lose_connection();
        });
        pool.idle.entry(origin).or_default().push(Idle { id, timer });
        pool.count += 1;
        true
    }

    /// `id` closed: it is no longer idle here. (A scan of at most
    /// `MAX_IDLE` entries, on a connection's close only.)
    pub(crate) fn forget(&mut self, reactor: &mut Reactor, id: ConnectionId) {
        let mut emptied = None;
        for (origin, list) in self.idle.iter_mut() {
            if let Some(i) = list.iter().position(|idle| idle.id == id) {
                let idle = list.remove(i);
                let _ = idle.timer.cancel(reactor);
                self.count -= 1;
                if list.is_empty() {
                    emptied = Some(origin.clone());
                }
                break;
            }
        }
        if let Some(origin) = emptied {
            self.idle.remove(&origin);
        }
    }

    /// How many connections are idle.
    pub(crate) fn len(&self) -> usize {
        self.count
    }
}
