//! Reaching the loop from other threads.
//!
//! The reactor is single-threaded; other threads talk to it only through a
//! [`ReactorHandle`], which queues a closure and wakes the loop through a
//! `mio::Waker`. The closure then runs on the loop thread with the reactor,
//! like any other callback.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use mio::Waker;

use crate::reactor::Reactor;
use crate::source::Source;

type Call = Box<dyn FnOnce(&mut Reactor) + Send>;

struct Shared {
    queue: Mutex<VecDeque<Call>>,
    waker: Waker,
    open: AtomicBool,
}

/// The reactor's end of the cross-thread queue.
pub(crate) struct Inbox {
    shared: Arc<Shared>,
}

impl Inbox {
    pub(crate) fn close(&self) {
        self.shared.open.store(false, Ordering::Release);
        if let Ok(mut queue) = self.shared.queue.lock() {
            queue.clear();
        }
    }
}

/// A thread-safe handle to a reactor: lets any thread run code on the loop.
///
/// # Examples
///
/// ```
/// use torsion::Reactor;
///
/// let mut reactor = Reactor::new()?;
/// let handle = reactor.handle()?;
/// std::thread::spawn(move || {
///     let _ = handle.call_from_thread(|r| r.stop());
/// });
/// reactor.run()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct ReactorHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for ReactorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReactorHandle")
            .field(
                "open",
                &self.shared.open.load(std::sync::atomic::Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

/// The reactor a [`ReactorHandle`] points to no longer exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReactorGone;

impl fmt::Display for ReactorGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the reactor is gone")
    }
}

impl std::error::Error for ReactorGone {}

impl ReactorHandle {
    /// Runs `f` on the loop thread, soon. Fails if the reactor was dropped.
    pub fn call_from_thread(&self, f: impl FnOnce(&mut Reactor) + Send + 'static) -> Result<(), ReactorGone> {
        if !self.shared.open.load(Ordering::Acquire) {
            return Err(ReactorGone);
        }
        let was_empty = {
            let mut queue = self.shared.queue.lock().map_err(|_| ReactorGone)?;
            queue.push_back(Box::new(f));
            queue.len() == 1
        };
        // One wake per batch: the loop drains the whole queue when it wakes.
        if was_empty {
            self.shared.waker.wake().map_err(|_| ReactorGone)?;
        }
        Ok(())
    }

    /// Asks the loop to stop, from any thread.
    pub fn stop(&self) -> Result<(), ReactorGone> {
        self.call_from_thread(|r| r.stop())
    }
}

impl Reactor {
    /// A handle other threads use to run code on this loop.
    pub fn handle(&mut self) -> io::Result<ReactorHandle> {
        if let Some(inbox) = &self.inbox {
            return Ok(ReactorHandle {
                shared: inbox.shared.clone(),
            });
        }
        let key = self.sources.next_key();
        let waker = Waker::new(self.poll.registry(), key.token())?;
        self.sources.insert(Source::Waker);
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            waker,
            open: AtomicBool::new(true),
        });
        self.inbox = Some(Inbox {
            shared: shared.clone(),
        });
        Ok(ReactorHandle { shared })
    }

    /// Runs what other threads queued.
    pub(crate) fn run_inbox(&mut self) {
        let calls: VecDeque<Call> = match &self.inbox {
            Some(inbox) => match inbox.shared.queue.lock() {
                Ok(mut queue) => std::mem::take(&mut *queue),
                Err(_) => return,
            },
            None => return,
        };
        for call in calls {
            self.run_call(call, || "a call from another thread".to_string());
        }
    }
}
