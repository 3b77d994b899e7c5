//! [`Limiter`]: at most N jobs at once; the others wait their turn, first
//! come, first served.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use torsion::Reactor;

type Job = Box<dyn FnOnce(&mut Reactor)>;

/// Runs jobs, at most `max` at once. A job that finds every slot taken
/// waits in a queue; each [`release`](Limiter::release) hands its slot to
/// the oldest waiting job. Cheap to clone (clones share the slots).
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use torsion::Reactor;
/// use torsion_servers::proxy::Limiter;
///
/// let mut reactor = Reactor::new()?;
/// let limiter = Limiter::new(1);
/// let ran = Rc::new(Cell::new(0));
/// for _ in 0..2 {
///     let ran = ran.clone();
///     limiter.run(&mut reactor, move |_| ran.set(ran.get() + 1));
/// }
/// assert_eq!((ran.get(), limiter.waiting()), (1, 1));
/// limiter.release(&mut reactor); // the first job is done: the second runs (on the next turn)
/// reactor.iterate(Some(std::time::Duration::ZERO))?;
/// assert_eq!((ran.get(), limiter.active()), (2, 1));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Limiter {
    inner: Rc<Inner>,
}

struct Inner {
    max: usize,
    active: Cell<usize>,
    queue: RefCell<VecDeque<Job>>,
}

impl Limiter {
    /// A limiter of `max` slots (at least one).
    pub fn new(max: usize) -> Self {
        Limiter {
            inner: Rc::new(Inner {
                max: max.max(1),
                active: Cell::new(0),
                queue: RefCell::new(VecDeque::new()),
            }),
        }
    }

    /// Runs `job` now if a slot is free, else when one frees. The job owns
    /// its slot until it calls [`release`](Limiter::release), exactly once.
    pub fn run(&self, reactor: &mut Reactor, job: impl FnOnce(&mut Reactor) + 'static) {
        let inner = &self.inner;
        if inner.active.get() < inner.max {
            inner.active.set(inner.active.get() + 1);
            job(reactor);
        } else {
            inner.queue.borrow_mut().push_back(Box::new(job));
        }
    }

    /// A job is done: its slot goes to the oldest waiting job, which runs
    /// on the next turn of the loop (never inside the caller, so a chain
    /// of jobs failing at once cannot grow the stack).
    pub fn release(&self, reactor: &mut Reactor) {
        let next = self.inner.queue.borrow_mut().pop_front();
        match next {
            Some(job) => reactor.call_soon(job),
            None => self.inner.active.set(self.inner.active.get().saturating_sub(1)),
        }
    }

    /// Jobs holding a slot.
    pub fn active(&self) -> usize {
        self.inner.active.get()
    }

    /// Jobs waiting for a slot.
    pub fn waiting(&self) -> usize {
        self.inner.queue.borrow().len()
    }
}
