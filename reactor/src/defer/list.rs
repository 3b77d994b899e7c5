//! Waiting for several Deferreds: [`DeferredList`], [`gather_results`], [`race`].

use std::cell::RefCell;
use std::panic::Location;
use std::rc::{Rc, Weak};

use super::deferred::{Cancel, Inner, Next, State};
use super::error::{FailureGroup, FirstError};
use super::{Deferred, Failure};
use crate::reactor::Reactor;

/// What a [`DeferredList`] fires with.
#[derive(Debug)]
pub enum ListResult<T> {
    /// Every Deferred fired: each one's result, in the order given.
    All(Vec<Result<T, Failure>>),
    /// With `fire_on_one_callback`: the first success and its position.
    First {
        /// The position of the Deferred that succeeded.
        index: usize,
        /// Its value.
        value: T,
    },
}

/// Waits for a list of Deferreds (Twisted's `DeferredList`): the seeds'
/// simple client v3 stops the reactor once every request is answered.
///
/// The list takes each Deferred's result when its chain reaches the list
/// (add per-item callbacks first). By default it fires once all have fired,
/// with [`ListResult::All`]. Options, as in Twisted:
///
/// - `fire_on_one_callback`: fire with the first success ([`ListResult::First`]).
/// - `fire_on_one_errback`: fail with [`FirstError`] at the first failure.
/// - `consume_errors`: the list handles the failures it collects. Without
///   it, a failure also stays on its own Deferred and is reported as
///   unhandled there (unless that Deferred's chain handles it later).
///
/// Cancelling the list's Deferred cancels every member not yet fired.
///
/// # Examples
///
/// ```
/// use torsion::defer::{succeed, DeferredList, ListResult};
/// use torsion::{Deferred, Failure, Reactor};
///
/// let mut reactor = Reactor::new()?;
/// let slow: Deferred<&str> = Deferred::new();
/// let all = DeferredList::new([succeed("a"), slow.clone()])
///     .consume_errors(true)
///     .start(&mut reactor);
/// assert!(!all.called());
/// slow.errback(&mut reactor, Failure::msg("b is down")).unwrap();
/// all.add_callback(&mut reactor, |_, results| {
///     if let ListResult::All(results) = &results {
///         assert_eq!(results.len(), 2);
///         assert!(results[0].is_ok() && results[1].is_err());
///     }
///     Ok(results)
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "a DeferredList does nothing until started"]
pub struct DeferredList<T: 'static> {
    deferreds: Vec<Deferred<T>>,
    fire_on_one_callback: bool,
    fire_on_one_errback: bool,
    consume_errors: bool,
}

impl<T: 'static> std::fmt::Debug for DeferredList<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeferredList")
            .field("deferreds", &self.deferreds.len())
            .field("fire_on_one_callback", &self.fire_on_one_callback)
            .field("fire_on_one_errback", &self.fire_on_one_errback)
            .field("consume_errors", &self.consume_errors)
            .finish()
    }
}

struct ListState<T: 'static> {
    results: Vec<Option<Result<T, Failure>>>,
    remaining: usize,
    /// The list's Deferred fired (or was cancelled): later results have
    /// nowhere to go.
    done: bool,
    members: Vec<Weak<RefCell<Inner<T>>>>,
}

impl<T: 'static> DeferredList<T> {
    /// A list of `deferreds`, with every option off.
    pub fn new(deferreds: impl IntoIterator<Item = Deferred<T>>) -> Self {
        DeferredList {
            deferreds: deferreds.into_iter().collect(),
            fire_on_one_callback: false,
            fire_on_one_errback: false,
            consume_errors: false,
        }
    }

    /// Fire with the first success instead of waiting for all.
    pub fn fire_on_one_callback(mut self, yes: bool) -> Self {
        self.fire_on_one_callback = yes;
        self
    }

    /// Fail at the first failure instead of waiting for all.
    pub fn fire_on_one_errback(mut self, yes: bool) -> Self {
        self.fire_on_one_errback = yes;
        self
    }

    /// Take responsibility for the members' failures (they are not
    /// reported as unhandled).
    pub fn consume_errors(mut self, yes: bool) -> Self {
        self.consume_errors = yes;
        self
    }

    /// Attaches the list to its members and returns its Deferred. An empty
    /// list fires at once with `ListResult::All(vec![])`.
    #[track_caller]
    pub fn start(self, reactor: &mut Reactor) -> Deferred<ListResult<T>> {
        let site = Location::caller();
        let out = Deferred::with_state(State::Pending, site);
        let count = self.deferreds.len();
        if count == 0 {
            let _ = out.callback(reactor, ListResult::All(Vec::new()));
            return out;
        }
        let state = Rc::new(RefCell::new(ListState {
            results: (0..count).map(|_| None).collect(),
            remaining: count,
            done: false,
            members: self.deferreds.iter().map(|d| Rc::downgrade(&d.inner)).collect(),
        }));
        let for_cancel = Rc::downgrade(&state);
        out.set_canceller(move |r, _| {
            let members = match for_cancel.upgrade() {
                Some(state) => {
                    let mut state = state.borrow_mut();
                    state.done = true;
                    std::mem::take(&mut state.members)
                }
                None => return,
            };
            for member in members {
                member.cancel(r);
            }
        });
        let (on_one_ok, on_one_err, consume) = (
            self.fire_on_one_callback,
            self.fire_on_one_errback,
            self.consume_errors,
        );
        for (index, d) in self.deferreds.into_iter().enumerate() {
            let state = state.clone();
            let out = out.clone();
            d.push(
                reactor,
                site,
                Box::new(move |r, result| {
                    let mut st = state.borrow_mut();
                    if st.done {
                        return match result {
                            Err(failure) if !consume && !failure.is_cancelled() => Next::Value(Err(failure)),
                            _ => Next::HandedOn,
                        };
                    }
                    st.remaining -= 1;
                    let passed_on = match &result {
                        Err(failure) if !consume => Next::Value(Err(failure.clone())),
                        _ => Next::HandedOn,
                    };
                    let fire = match result {
                        Ok(value) if on_one_ok => Some(Ok(ListResult::First { index, value })),
                        Err(failure) if on_one_err => Some(Err(Failure::new(FirstError { index, failure }))),
                        other => {
                            st.results[index] = Some(other);
                            (st.remaining == 0).then(|| {
                                let results = std::mem::take(&mut st.results);
                                Ok(ListResult::All(results.into_iter().flatten().collect()))
                            })
                        }
                    };
                    if let Some(list_result) = fire {
                        st.done = true;
                        st.members.clear();
                        drop(st);
                        let _ = out.fire(r, list_result);
                    }
                    passed_on
                }),
            );
        }
        out
    }
}

/// Waits for every Deferred and fires with their values in order, or fails
/// with [`FirstError`] at the first failure (Twisted's `gatherResults`,
/// errors consumed).
///
/// # Examples
///
/// ```
/// use torsion::defer::{gather_results, succeed};
/// use torsion::Reactor;
///
/// let mut reactor = Reactor::new()?;
/// gather_results(&mut reactor, [succeed(1), succeed(2)]).add_callback(&mut reactor, |_, v| {
///     assert_eq!(v, vec![1, 2]);
///     Ok(v)
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn gather_results<T: 'static>(
    reactor: &mut Reactor,
    deferreds: impl IntoIterator<Item = Deferred<T>>,
) -> Deferred<Vec<T>> {
    DeferredList::new(deferreds)
        .fire_on_one_errback(true)
        .consume_errors(true)
        .start(reactor)
        .then(reactor, |_, list| match list {
            ListResult::All(results) => results.into_iter().collect::<Result<Vec<T>, Failure>>(),
            ListResult::First { .. } => Err(Failure::msg("gather_results: unexpected first result")),
        })
}

struct RaceState<T: 'static> {
    failures: Vec<Option<Failure>>,
    remaining: usize,
    done: bool,
    members: Vec<Weak<RefCell<Inner<T>>>>,
}

/// Fires with the first success and its position, cancelling the others;
/// fails with a [`FailureGroup`] if every one fails (Twisted's `race`).
///
/// # Examples
///
/// ```
/// use torsion::defer::race;
/// use torsion::{Deferred, Reactor};
///
/// let mut reactor = Reactor::new()?;
/// let (a, b): (Deferred<&str>, Deferred<&str>) = (Deferred::new(), Deferred::new());
/// let first = race(&mut reactor, [a.clone(), b.clone()]);
/// b.callback(&mut reactor, "b").unwrap();
/// assert!(a.called()); // cancelled
/// first.add_callback(&mut reactor, |_, (index, value)| {
///     assert_eq!((index, value), (1, "b"));
///     Ok((index, value))
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn race<T: 'static>(
    reactor: &mut Reactor,
    deferreds: impl IntoIterator<Item = Deferred<T>>,
) -> Deferred<(usize, T)> {
    let site = Location::caller();
    let deferreds: Vec<Deferred<T>> = deferreds.into_iter().collect();
    let out = Deferred::with_state(State::Pending, site);
    let count = deferreds.len();
    if count == 0 {
        let _ = out.errback(reactor, FailureGroup { failures: Vec::new() });
        return out;
    }
    let state = Rc::new(RefCell::new(RaceState {
        failures: (0..count).map(|_| None).collect(),
        remaining: count,
        done: false,
        members: deferreds.iter().map(|d| Rc::downgrade(&d.inner)).collect(),
    }));
    let for_cancel = Rc::downgrade(&state);
    out.set_canceller(move |r, _| {
        if let Some(state) = for_cancel.upgrade() {
            let members = {
                let mut state = state.borrow_mut();
                state.done = true;
                std::mem::take(&mut state.members)
            };
            for member in members {
                member.cancel(r);
            }
        }
    });
    for (index, d) in deferreds.into_iter().enumerate() {
        let state = state.clone();
        let out = out.clone();
        d.push(
            reactor,
            site,
            Box::new(move |r, result| {
                let mut st = state.borrow_mut();
                if st.done {
                    return Next::HandedOn; // a loser: its result (or cancellation) is dropped
                }
                st.remaining -= 1;
                match result {
                    Ok(value) => {
                        st.done = true;
                        let losers: Vec<_> = std::mem::take(&mut st.members)
                            .into_iter()
                            .enumerate()
                            .filter(|(i, _)| *i != index)
                            .map(|(_, m)| m)
                            .collect();
                        drop(st);
                        let _ = out.callback(r, (index, value));
                        for loser in losers {
                            loser.cancel(r);
                        }
                    }
                    Err(failure) => {
                        st.failures[index] = Some(failure);
                        if st.remaining == 0 {
                            st.done = true;
                            let failures = std::mem::take(&mut st.failures).into_iter().flatten().collect();
                            drop(st);
                            let _ = out.errback(r, FailureGroup { failures });
                        }
                    }
                }
                Next::HandedOn
            }),
        );
    }
    out
}
