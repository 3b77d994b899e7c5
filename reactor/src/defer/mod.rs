//! Deferreds: results that arrive later, Twisted's `twisted.internet.defer`.
//!
//! - [`Deferred<T>`]: one result and its chain of callbacks. Callbacks get
//!   the [`Reactor`](crate::Reactor); they return `Ok`, `Err` (or use `?`),
//!   or another Deferred to wait for. [`Deferred::then`] changes the type.
//! - [`Failure`]: the error that travels down the errback path; it carries
//!   any `std::error::Error`, and typed errbacks find theirs with
//!   [`Failure::find`].
//! - Helpers: [`succeed`], [`fail`], [`maybe_deferred`], [`sleep`],
//!   [`defer_later`]; lists: [`DeferredList`], [`gather_results`], [`race`].
//! - Async: a Deferred is a `Future`; [`Reactor::spawn_local`](crate::Reactor::spawn_local)
//!   and [`Reactor::run_until_complete`](crate::Reactor::run_until_complete)
//!   run async code on the loop, which reaches the reactor through a
//!   [`LocalHandle`].
//!
//! `docs/deferreds.md` walks through the chain step by step with the seeds'
//! caching proxy, and says when to use callbacks and when async.
//!
//! # Rules
//!
//! - A Deferred fires once; a second fire returns [`AlreadyCalled`].
//! - A callback added to a Deferred that already fired runs at once.
//! - No recursion per link: chains of any length, and Deferreds waiting on
//!   Deferreds to any depth, run in constant stack (see `runtime`).
//! - A failure that reaches the end of a chain with no errback is logged
//!   (`log::error!`, with its causes and origin) right then, unless marked
//!   with [`Deferred::mark_handled`].
//! - A Deferred's result goes one way: handing it on (`then`, returning it
//!   from a callback, a list, `await`) ends its own chain.
//! - Every callback is timed like any other dispatch; a slow one is logged
//!   naming where it was added.

mod deferred;
mod error;
mod executor;
mod failure;
mod future;
mod helpers;
mod list;
mod local;
mod runtime;
mod step;

pub use deferred::{Deferred, DeferredState};
pub use error::{AlreadyCalled, Cancelled, ChainedToItself, FailureGroup, FirstError, ResultTaken, TimedOut};
pub use failure::{Failure, Message};
pub use helpers::{defer_later, fail, maybe_deferred, sleep, succeed};
pub use list::{gather_results, race, DeferredList, ListResult};
pub use local::LocalHandle;
pub(crate) use runtime::Runtime;
pub use step::{IntoStep, Step};
