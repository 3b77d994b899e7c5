//! [`Deferred`]: a result that will arrive later, and the chain of callbacks
//! waiting for it.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::rc::{Rc, Weak};
use std::task::Waker;
use std::time::{Duration, Instant};

use super::error::{AlreadyCalled, Cancelled, ChainedToItself, ResultTaken, TimedOut};
use super::step::{IntoStep, Step};
use super::Failure;
use crate::reactor::Reactor;

/// A result that is not there yet, and the callbacks that will process it:
/// Twisted's `Deferred`, typed.
///
/// A `Deferred<T>` eventually *fires*, once, with `Ok(T)` ([`callback`]) or a
/// [`Failure`] ([`errback`]). Its callbacks form a chain: each receives the
/// result of the one before. A callback that fails switches the chain to the
/// error path (the next errbacks run); an errback that recovers switches it
/// back. A callback may also return another Deferred: the chain then pauses
/// until that one fires and goes on with its result.
///
/// Every callback receives the [`Reactor`] (design rule 1), so it can write
/// to a connection, schedule a timer or connect somewhere. That is why
/// firing takes the reactor, and so does adding a callback: a callback added
/// to a Deferred that already fired runs at once, as in Twisted.
///
/// A `Deferred` is a handle: clones share one chain. It is single-threaded
/// (use [`defer_to_thread`](crate::defer_to_thread) and
/// [`ReactorHandle`](crate::ReactorHandle) to cross threads).
///
/// # Examples
///
/// The seeds' chain: fetch, uppercase, write.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use torsion::{Deferred, Reactor};
///
/// let mut reactor = Reactor::new()?;
/// let printed = Rc::new(RefCell::new(String::new()));
/// let out = printed.clone();
///
/// let page: Deferred<String> = Deferred::new();
/// page.add_callback(&mut reactor, |_, s| Ok(s.to_uppercase()))
///     .add_callback(&mut reactor, move |_, s| {
///         out.borrow_mut().push_str(&s);
///         Ok(s)
///     });
///
/// page.callback(&mut reactor, "<html>google</html>".to_string()).unwrap();
/// assert_eq!(*printed.borrow(), "<HTML>GOOGLE</HTML>");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// [`callback`]: Deferred::callback
/// [`errback`]: Deferred::errback
#[must_use = "a Deferred's failure is only handled if an errback is added to it"]
pub struct Deferred<T: 'static> {
    pub(super) inner: Rc<RefCell<Inner<T>>>,
}

/// Where a Deferred is in its life (see [`Deferred::state`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeferredState {
    /// Not fired yet.
    Pending,
    /// One of its callbacks is running now.
    Running,
    /// A callback returned another Deferred; the chain waits for it.
    Waiting,
    /// It holds a successful result (the chain is done, or paused).
    Succeeded,
    /// It holds a failure (the chain is done, or paused).
    Failed,
    /// Its result was handed on: to another Deferred (`then`, or a callback
    /// that returned this one), a [`DeferredList`](crate::DeferredList), or
    /// an `await`. Callbacks added now never run.
    HandedOn,
}

pub(super) enum State<T> {
    Pending,
    Ready(Result<T, Failure>),
    Running,
    Waiting,
    HandedOn,
}

/// What a link of the chain produced.
pub(super) enum Next<T: 'static> {
    Value(Result<T, Failure>),
    Wait(Deferred<T>),
    /// The link took the result away (to another Deferred, a list...).
    HandedOn,
}

impl<T: 'static> From<Step<T>> for Next<T> {
    fn from(step: Step<T>) -> Self {
        match step {
            Step::Done(result) => Next::Value(result),
            Step::Wait(d) => Next::Wait(d),
        }
    }
}

pub(super) type LinkFn<T> = Box<dyn FnOnce(&mut Reactor, Result<T, Failure>) -> Next<T>>;
type Canceller<T> = Box<dyn FnOnce(&mut Reactor, &Deferred<T>)>;

pub(super) struct Link<T: 'static> {
    f: LinkFn<T>,
    /// Where the callback was added (named by the slow-callback warning).
    site: &'static Location<'static>,
}

/// Something that can be cancelled without knowing its result type.
pub(super) trait Cancel {
    fn cancel(&self, reactor: &mut Reactor);
}

impl<T: 'static> Cancel for Weak<RefCell<Inner<T>>> {
    fn cancel(&self, reactor: &mut Reactor) {
        if let Some(inner) = self.upgrade() {
            Deferred { inner }.cancel(reactor);
        }
    }
}

pub(super) struct Inner<T: 'static> {
    pub(super) state: State<T>,
    links: VecDeque<Link<T>>,
    /// `pause()` calls not yet matched by `unpause()`.
    paused: u32,
    /// A run of the chain is queued on the trampoline.
    queued: bool,
    /// A failure at the end of the chain is not to be reported.
    handled: bool,
    /// The current failure was already reported as unhandled.
    reported: bool,
    /// A callback was ever added. A chain end only counts once there is a
    /// chain: a Deferred that fails before its creator returned it (and the
    /// caller attached anything) is not reported then, but at drop.
    had_links: bool,
    /// `cancel()` fired this Deferred: the source's own late fire is ignored once.
    suppress_fire: bool,
    canceller: Option<Canceller<T>>,
    /// The Deferred this one waits on, to cancel it in turn.
    waiting_on: Option<Box<dyn Cancel>>,
    /// An `await` waiting for the result.
    pub(super) waker: Option<Waker>,
    origin: &'static Location<'static>,
}

impl<T: 'static> Inner<T> {
    /// Whether no callback is left to run and nothing holds the chain back.
    pub(super) fn chain_idle(&self) -> bool {
        self.links.is_empty() && self.paused == 0
    }
}

impl<T: 'static> Drop for Inner<T> {
    fn drop(&mut self) {
        // The backstop of rule 7: a failure that never went through a chain
        // (`fail(e)` dropped as is) is reported when it is dropped.
        if let State::Ready(Err(failure)) = &self.state {
            if !self.handled && !self.reported {
                log::error!(
                    "Unhandled error in a Deferred created at {}, dropped without an errback: {failure:#} (failure created at {})",
                    self.origin,
                    failure.origin()
                );
            }
        }
    }
}

impl<T: 'static> Clone for Deferred<T> {
    fn clone(&self) -> Self {
        Deferred {
            inner: self.inner.clone(),
        }
    }
}

impl<T: 'static> Default for Deferred<T> {
    #[track_caller]
    fn default() -> Self {
        Deferred::new()
    }
}

impl<T: 'static> fmt::Debug for Deferred<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deferred")
            .field("state", &self.state())
            .field("origin", &format_args!("{}", self.origin()))
            .finish()
    }
}

impl<T: 'static> Deferred<T> {
    /// A Deferred that has not fired yet.
    #[track_caller]
    pub fn new() -> Self {
        Self::with_state(State::Pending, Location::caller())
    }

    /// A Deferred that runs `canceller` when [`cancel`](Deferred::cancel)ed
    /// before it fired (to stop the work that would fire it). If the
    /// canceller does not fire the Deferred itself, it fails with
    /// [`Cancelled`].
    #[track_caller]
    pub fn with_canceller(canceller: impl FnOnce(&mut Reactor, &Deferred<T>) + 'static) -> Self {
        let d = Self::new();
        d.inner.borrow_mut().canceller = Some(Box::new(canceller));
        d
    }

    /// A pending Deferred whose origin is `site`.
    pub(crate) fn pending_at(site: &'static Location<'static>) -> Self {
        Self::with_state(State::Pending, site)
    }

    /// A Deferred already failed with `failure`, whose origin is `site`.
    pub(crate) fn failed_at(site: &'static Location<'static>, failure: Failure) -> Self {
        Self::with_state(State::Ready(Err(failure)), site)
    }

    /// A Deferred already fired with `result`, whose origin is `site`.
    pub(crate) fn ready_at(site: &'static Location<'static>, result: Result<T, Failure>) -> Self {
        Self::with_state(State::Ready(result), site)
    }

    /// Sets (or replaces) the canceller.
    pub(crate) fn set_canceller(&self, canceller: impl FnOnce(&mut Reactor, &Deferred<T>) + 'static) {
        self.inner.borrow_mut().canceller = Some(Box::new(canceller));
    }

    pub(super) fn with_state(state: State<T>, origin: &'static Location<'static>) -> Self {
        Deferred {
            inner: Rc::new(RefCell::new(Inner {
                state,
                links: VecDeque::new(),
                paused: 0,
                queued: false,
                handled: false,
                reported: false,
                had_links: false,
                suppress_fire: false,
                canceller: None,
                waiting_on: None,
                waker: None,
                origin,
            })),
        }
    }

    // ----- firing ---------------------------------------------------------

    /// Fires the Deferred with a value: its callbacks run now.
    ///
    /// Fails with [`AlreadyCalled`] if it already fired. After a
    /// [`cancel`](Deferred::cancel), the first late fire is ignored (the
    /// source of the result did not know), and returns `Ok`.
    pub fn callback(&self, reactor: &mut Reactor, value: T) -> Result<(), AlreadyCalled> {
        self.fire(reactor, Ok(value))
    }

    /// Fires the Deferred with a failure: its errbacks run now. Takes any
    /// error (or a [`Failure`]). Fails as [`callback`](Deferred::callback) does.
    #[track_caller]
    pub fn errback(&self, reactor: &mut Reactor, failure: impl Into<Failure>) -> Result<(), AlreadyCalled> {
        self.fire(reactor, Err(failure.into()))
    }

    /// Fires with `result`: [`callback`](Deferred::callback) for `Ok`,
    /// [`errback`](Deferred::errback) for `Err`.
    pub fn fire(&self, reactor: &mut Reactor, result: Result<T, Failure>) -> Result<(), AlreadyCalled> {
        {
            let mut inner = self.inner.borrow_mut();
            if !matches!(inner.state, State::Pending) {
                if std::mem::take(&mut inner.suppress_fire) {
                    log::debug!(
                        "a result for the cancelled Deferred created at {} was dropped",
                        inner.origin
                    );
                    return Ok(());
                }
                return Err(AlreadyCalled);
            }
            inner.state = State::Ready(result);
            inner.reported = false;
            inner.canceller = None;
        }
        self.schedule(reactor);
        Ok(())
    }

    // ----- adding callbacks ------------------------------------------------

    /// Adds a callback for the success path. It receives the value and
    /// returns the next one (`Ok`), fails (`Err`, or `?`), or returns another
    /// `Deferred<T>` to wait for. Failures pass it by.
    #[track_caller]
    pub fn add_callback<R: IntoStep<T>>(
        &self,
        reactor: &mut Reactor,
        f: impl FnOnce(&mut Reactor, T) -> R + 'static,
    ) -> &Self {
        self.push(
            reactor,
            Location::caller(),
            Box::new(move |r, result| match result {
                Ok(value) => f(r, value).into_step().into(),
                Err(failure) => Next::Value(Err(failure)),
            }),
        );
        self
    }

    /// Adds an errback for the failure path. It receives the failure and
    /// recovers (`Ok`), fails again (`Err`), or returns a `Deferred<T>` to
    /// wait for. Values pass it by.
    #[track_caller]
    pub fn add_errback<R: IntoStep<T>>(
        &self,
        reactor: &mut Reactor,
        f: impl FnOnce(&mut Reactor, Failure) -> R + 'static,
    ) -> &Self {
        self.push(
            reactor,
            Location::caller(),
            Box::new(move |r, result| match result {
                Ok(value) => Next::Value(Ok(value)),
                Err(failure) => f(r, failure).into_step().into(),
            }),
        );
        self
    }

    /// Adds a callback and an errback at the same step: exactly one of them
    /// runs, and an errback here does not see a failure of `on_ok`
    /// (Twisted's `addCallbacks`, as the seeds' doodle example uses it).
    #[track_caller]
    pub fn add_callbacks<R1: IntoStep<T>, R2: IntoStep<T>>(
        &self,
        reactor: &mut Reactor,
        on_ok: impl FnOnce(&mut Reactor, T) -> R1 + 'static,
        on_err: impl FnOnce(&mut Reactor, Failure) -> R2 + 'static,
    ) -> &Self {
        self.push(
            reactor,
            Location::caller(),
            Box::new(move |r, result| match result {
                Ok(value) => on_ok(r, value).into_step().into(),
                Err(failure) => on_err(r, failure).into_step().into(),
            }),
        );
        self
    }

    /// Adds one function for both paths (Twisted's `addBoth`): it receives
    /// the result, whichever it is.
    #[track_caller]
    pub fn add_both<R: IntoStep<T>>(
        &self,
        reactor: &mut Reactor,
        f: impl FnOnce(&mut Reactor, Result<T, Failure>) -> R + 'static,
    ) -> &Self {
        self.push(
            reactor,
            Location::caller(),
            Box::new(move |r, result| f(r, result).into_step().into()),
        );
        self
    }

    /// A type-changing step: returns a new `Deferred<U>` that fires with
    /// what `f` makes of this one's value (`Ok(U)`, `Err`, or a
    /// `Deferred<U>` to wait for). A failure skips `f` and reaches the new
    /// Deferred unchanged.
    ///
    /// This Deferred's result is *handed on*: callbacks added to it
    /// afterwards never run (add them to the returned Deferred). Cancelling
    /// the returned Deferred cancels this one.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::{defer::succeed, Reactor};
    ///
    /// let mut reactor = Reactor::new()?;
    /// let length = succeed("twisted".to_string()).then(&mut reactor, |_, s| Ok(s.len()));
    /// length.add_callback(&mut reactor, |_, n| {
    ///     assert_eq!(n, 7);
    ///     Ok(n)
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn then<U: 'static, R: IntoStep<U>>(
        &self,
        reactor: &mut Reactor,
        f: impl FnOnce(&mut Reactor, T) -> R + 'static,
    ) -> Deferred<U> {
        self.then_both(reactor, move |r, result| match result {
            Ok(value) => f(r, value).into_step(),
            Err(failure) => Step::Done(Err(failure)),
        })
    }

    /// Like [`then`](Deferred::then), but `f` sees both paths: it receives
    /// the result, whichever it is.
    #[track_caller]
    pub fn then_both<U: 'static, R: IntoStep<U>>(
        &self,
        reactor: &mut Reactor,
        f: impl FnOnce(&mut Reactor, Result<T, Failure>) -> R + 'static,
    ) -> Deferred<U> {
        let site = Location::caller();
        let parent = Rc::downgrade(&self.inner);
        let child = Deferred::<U>::with_state(State::Pending, site);
        child.inner.borrow_mut().canceller = Some(Box::new(move |r, _| parent.cancel(r)));
        let target = child.clone();
        self.push(
            reactor,
            site,
            Box::new(move |r, result| {
                match f(r, result).into_step() {
                    Step::Done(out) => {
                        if target.fire(r, out).is_err() {
                            log::debug!("then() target at {site} already fired; result dropped");
                        }
                    }
                    Step::Wait(d) => target.follow_from_pending(r, d),
                }
                Next::HandedOn
            }),
        );
        child
    }

    // ----- cancellation, timeouts, pausing ---------------------------------

    /// Cancels the work behind this Deferred, if it has not fired.
    ///
    /// A pending Deferred runs its canceller (see
    /// [`with_canceller`](Deferred::with_canceller)) and, unless that fired
    /// it, fails with [`Cancelled`]. A Deferred waiting on another one (a
    /// callback returned it) cancels that one, and its chain goes on with
    /// the outcome. A Deferred that already has a result is left alone.
    #[track_caller]
    pub fn cancel(&self, reactor: &mut Reactor) {
        enum Action<T: 'static> {
            Pending(Option<Canceller<T>>),
            Inner(Box<dyn Cancel>),
            Nothing,
        }
        let action = {
            let mut inner = self.inner.borrow_mut();
            match inner.state {
                State::Pending => Action::Pending(inner.canceller.take()),
                State::Waiting => match inner.waiting_on.take() {
                    Some(w) => Action::Inner(w),
                    None => Action::Nothing,
                },
                _ => Action::Nothing,
            }
        };
        match action {
            Action::Pending(canceller) => {
                if let Some(canceller) = canceller {
                    let started = Instant::now();
                    canceller(reactor, self);
                    let origin = self.origin();
                    reactor.check_slow(started, || {
                        format!("canceller of the Deferred created at {origin}")
                    });
                }
                let still_pending = {
                    let mut inner = self.inner.borrow_mut();
                    inner.suppress_fire = true;
                    matches!(inner.state, State::Pending)
                };
                if still_pending {
                    let _ = self.fire(reactor, Err(Failure::new(Cancelled)));
                }
            }
            Action::Inner(waited) => waited.cancel(reactor),
            Action::Nothing => {}
        }
    }

    /// Cancels this Deferred if it has not fired `after` from now; the
    /// cancellation then reaches the callbacks added after this call as a
    /// [`TimedOut`] failure (Twisted's `addTimeout`). Firing in time cancels
    /// the timer.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use torsion::{testing::Clock, Deferred, Reactor};
    ///
    /// let clock = Clock::new();
    /// let mut reactor = Reactor::with_clock(clock.clone())?;
    /// let d: Deferred<u32> = Deferred::new();
    /// d.add_timeout(&mut reactor, Duration::from_secs(5))
    ///     .add_errback(&mut reactor, |_, failure| {
    ///         assert!(failure.is_timeout());
    ///         Ok(0)
    ///     });
    /// clock.advance(Duration::from_secs(5));
    /// reactor.iterate(Some(Duration::ZERO))?;
    /// assert_eq!(d.state(), torsion::defer::DeferredState::Succeeded);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn add_timeout(&self, reactor: &mut Reactor, after: Duration) -> &Self {
        let site = Location::caller();
        let expired = Rc::new(Cell::new(false));
        let flag = expired.clone();
        let weak = Rc::downgrade(&self.inner);
        let timer = reactor.call_later(after, move |r| {
            if let Some(inner) = weak.upgrade() {
                let d = Deferred { inner };
                if matches!(d.state(), DeferredState::Pending | DeferredState::Waiting) {
                    flag.set(true);
                    d.cancel(r);
                }
            }
        });
        self.push_link(
            reactor,
            site,
            Box::new(move |r, result| {
                let _ = timer.cancel(r);
                Next::Value(match result {
                    Err(failure) if expired.get() && failure.is_cancelled() => {
                        Err(Failure::new(TimedOut { after }))
                    }
                    other => other,
                })
            }),
            false,
        );
        self
    }

    /// Stops the chain before its next callback until
    /// [`unpause`](Deferred::unpause) (pauses nest).
    pub fn pause(&self) -> &Self {
        self.inner.borrow_mut().paused += 1;
        self
    }

    /// Undoes one [`pause`](Deferred::pause); the chain resumes when none is left.
    pub fn unpause(&self, reactor: &mut Reactor) -> &Self {
        let resume = {
            let mut inner = self.inner.borrow_mut();
            inner.paused = inner.paused.saturating_sub(1);
            inner.paused == 0 && matches!(inner.state, State::Ready(_))
        };
        if resume {
            self.schedule(reactor);
        }
        self
    }

    /// Marks a failure at the end of this chain as handled: it will not be
    /// logged as an unhandled error (for a failure you deliberately ignore).
    pub fn mark_handled(&self) -> &Self {
        self.inner.borrow_mut().handled = true;
        self
    }

    // ----- looking at it ---------------------------------------------------

    /// Where the Deferred is in its life.
    pub fn state(&self) -> DeferredState {
        match &self.inner.borrow().state {
            State::Pending => DeferredState::Pending,
            State::Running => DeferredState::Running,
            State::Waiting => DeferredState::Waiting,
            State::Ready(Ok(_)) => DeferredState::Succeeded,
            State::Ready(Err(_)) => DeferredState::Failed,
            State::HandedOn => DeferredState::HandedOn,
        }
    }

    /// Whether it has fired (Twisted's `called`).
    pub fn called(&self) -> bool {
        !matches!(self.inner.borrow().state, State::Pending)
    }

    /// Whether it is paused.
    pub fn is_paused(&self) -> bool {
        self.inner.borrow().paused > 0
    }

    /// Where it was created.
    pub fn origin(&self) -> &'static Location<'static> {
        self.inner.borrow().origin
    }

    /// Whether `self` and `other` are handles of the same Deferred.
    pub fn same_as(&self, other: &Deferred<T>) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }

    // ----- the chain engine -------------------------------------------------

    /// Appends a link; runs the chain if the result is already there.
    pub(super) fn push(&self, reactor: &mut Reactor, site: &'static Location<'static>, f: LinkFn<T>) {
        self.push_link(reactor, site, f, true);
    }

    /// Adds a link. `handles` is false for bookkeeping links that only pass
    /// results through (a timeout's timer cancel): those do not make a chain
    /// whose failing end must be reported, since the owner may still attach
    /// its own errback or await the Deferred.
    fn push_link(
        &self,
        reactor: &mut Reactor,
        site: &'static Location<'static>,
        f: LinkFn<T>,
        handles: bool,
    ) {
        let run_now = {
            let mut inner = self.inner.borrow_mut();
            if matches!(inner.state, State::HandedOn) {
                log::error!(
                    "a callback added at {site} will never run: the result of the Deferred created at {} was already handed on",
                    inner.origin
                );
                return;
            }
            inner.links.push_back(Link { f, site });
            inner.had_links |= handles;
            matches!(inner.state, State::Ready(_)) && inner.paused == 0
        };
        if run_now {
            self.schedule(reactor);
        }
    }

    /// Runs the chain through the reactor's trampoline (see `runtime`).
    fn schedule(&self, reactor: &mut Reactor) {
        {
            let mut inner = self.inner.borrow_mut();
            if inner.queued {
                return;
            }
            inner.queued = true;
        }
        let d = self.clone();
        reactor.run_chain(move |r| d.run(r));
    }

    /// Runs links until the chain ends, pauses or waits on another Deferred.
    /// A loop, not a recursion: 100,000 links need no stack.
    fn run(&self, reactor: &mut Reactor) {
        self.inner.borrow_mut().queued = false;
        loop {
            let (link, result) = {
                let mut inner = self.inner.borrow_mut();
                if inner.paused > 0 || !matches!(inner.state, State::Ready(_)) {
                    return;
                }
                let Some(link) = inner.links.pop_front() else {
                    drop(inner);
                    self.chain_ended();
                    return;
                };
                match std::mem::replace(&mut inner.state, State::Running) {
                    State::Ready(result) => (link, result),
                    other => {
                        inner.state = other;
                        inner.links.push_front(link);
                        return;
                    }
                }
            };
            let site = link.site;
            let started = Instant::now();
            let next = (link.f)(reactor, result);
            reactor.check_slow(started, || format!("Deferred callback added at {site}"));
            let go_on = match next {
                Next::Value(result) => {
                    self.set_ready(result);
                    true
                }
                Next::Wait(other) => match self.follow(reactor, other) {
                    Some(result) => {
                        self.set_ready(result);
                        true
                    }
                    None => false,
                },
                Next::HandedOn => {
                    self.handed_on();
                    false
                }
            };
            if !go_on {
                return;
            }
        }
    }

    fn set_ready(&self, result: Result<T, Failure>) {
        let mut inner = self.inner.borrow_mut();
        inner.state = State::Ready(result);
        inner.reported = false;
    }

    fn handed_on(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.state = State::HandedOn;
        if !inner.links.is_empty() {
            let sites: Vec<String> = inner.links.iter().map(|l| l.site.to_string()).collect();
            log::error!(
                "callbacks added at {} will never run: the result of the Deferred created at {} was handed on before them",
                sites.join(", "),
                inner.origin
            );
            inner.links.clear();
        }
        if let Some(waker) = inner.waker.take() {
            waker.wake();
        }
    }

    /// The chain ran out of links with a result: wake an `await`, or report
    /// a failure nobody handled (design rule 7: now, not at drop time).
    fn chain_ended(&self) {
        let mut inner = self.inner.borrow_mut();
        if let Some(waker) = inner.waker.take() {
            waker.wake();
            return;
        }
        if let State::Ready(Err(failure)) = &inner.state {
            if !inner.handled && !inner.reported && inner.had_links {
                log::error!(
                    "Unhandled error in a Deferred created at {}: {failure:#} (failure created at {})",
                    inner.origin,
                    failure.origin()
                );
                inner.reported = true;
            }
        }
    }

    /// Continues this chain with `other`'s result: takes it now if `other`
    /// is idle with a result, or waits (state `Waiting`) until it arrives.
    fn follow(&self, reactor: &mut Reactor, other: Deferred<T>) -> Option<Result<T, Failure>> {
        if Rc::ptr_eq(&self.inner, &other.inner) {
            return Some(Err(Failure::new(ChainedToItself)));
        }
        {
            let mut theirs = other.inner.borrow_mut();
            match &theirs.state {
                State::HandedOn => return Some(Err(Failure::new(ResultTaken))),
                State::Ready(_)
                    if theirs.links.is_empty() && theirs.paused == 0 && theirs.waker.is_none() =>
                {
                    if let State::Ready(result) = std::mem::replace(&mut theirs.state, State::HandedOn) {
                        return Some(result);
                    }
                }
                _ => {}
            }
        }
        {
            let mut inner = self.inner.borrow_mut();
            inner.state = State::Waiting;
            inner.waiting_on = Some(Box::new(Rc::downgrade(&other.inner)));
        }
        let outer = self.clone();
        let site = self.origin();
        other.push(
            reactor,
            site,
            Box::new(move |r, result| {
                outer.resume(r, result);
                Next::HandedOn
            }),
        );
        None
    }

    /// A pending Deferred (a `then` target) continues with `other`'s result.
    pub(super) fn follow_from_pending(&self, reactor: &mut Reactor, other: Deferred<T>) {
        if !matches!(self.inner.borrow().state, State::Pending) {
            // Cancelled meanwhile: nobody wants other's result.
            other.mark_handled();
            other.cancel(reactor);
            return;
        }
        if let Some(result) = self.follow(reactor, other) {
            let _ = self.fire(reactor, result);
        }
    }

    /// The Deferred this one waited on fired: go on with its result.
    fn resume(&self, reactor: &mut Reactor, result: Result<T, Failure>) {
        {
            let mut inner = self.inner.borrow_mut();
            if !matches!(inner.state, State::Waiting) {
                return;
            }
            inner.state = State::Ready(result);
            inner.reported = false;
            inner.waiting_on = None;
        }
        self.schedule(reactor);
    }
}
