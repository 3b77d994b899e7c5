//! [`Link`]: what a connection's [`Broker`](super::Broker) and every
//! [`RemoteReference`](super::RemoteReference) on it share: the phase of
//! the connection, the calls waiting for answers, the published objects.

use std::cell::RefCell;
use std::collections::HashMap;
use std::mem;
use std::rc::Rc;

use torsion::defer::{fail, succeed};
use torsion::{ConnectionId, Deferred, Failure, Reactor};

use super::error::CallError;
use super::exports::{remote_mentions, Exports};
use super::message::{Call, Message, PROTOCOL_VERSION};
use crate::banana::{encoded, Dialect, Item};
use crate::jelly::{jelly, ObjectId, Value};

/// How many calls may wait for their answers on one connection unless
/// configured otherwise (design rule 6).
pub const DEFAULT_MAX_PENDING: usize = 1024;

/// How many distinct objects the peer published to us are counted for
/// [`release`](super::RemoteReference::release); past it, more are not
/// tracked (the peer keeps them until the connection closes).
const MAX_IMPORTS: usize = 4096;

/// Runs when the answer (or error) to one call arrives.
pub(crate) type OnAnswer = Box<dyn FnOnce(&mut Reactor, Result<Value, Failure>)>;

/// Where a connection is.
pub(crate) enum Phase {
    /// Agreeing on a dialect: messages wait in the queue.
    Negotiating,
    /// Speaking `Dialect`.
    Ready(Dialect),
    /// Closed: every call fails with this.
    Closed(CallError),
}

pub(crate) struct Link {
    pub(crate) id: Option<ConnectionId>,
    pub(crate) phase: Phase,
    pending: HashMap<i64, OnAnswer>,
    last_request: i64,
    /// Messages sent before the dialect was agreed, in order.
    queued: Vec<Item<'static>>,
    pub(crate) max_pending: usize,
    pub(crate) exports: Exports,
    /// How many references to each of its numbered objects the peer sent us.
    imports: HashMap<i64, u32>,
    /// Who waits for the dialect to be agreed.
    ready: Vec<Deferred<()>>,
}

impl Link {
    pub(crate) fn new() -> Self {
        Link {
            id: None,
            phase: Phase::Negotiating,
            pending: HashMap::new(),
            last_request: 0,
            queued: Vec::new(),
            max_pending: DEFAULT_MAX_PENDING,
            exports: Exports::default(),
            imports: HashMap::new(),
            ready: Vec::new(),
        }
    }

    /// How many calls wait for their answers.
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Writes `item` in the agreed dialect, or queues it until one is.
    pub(crate) fn send(&mut self, reactor: &mut Reactor, item: Item<'_>) -> Result<(), CallError> {
        let encode_error = |e: crate::banana::EncodeError| CallError::Encode(e.to_string());
        match &self.phase {
            Phase::Closed(why) => Err(why.clone()),
            Phase::Negotiating => {
                if self.queued.len() >= self.max_pending {
                    return Err(CallError::TooManyPending {
                        limit: self.max_pending,
                    });
                }
                // Whether it can be written does not depend on the dialect: find out now.
                encoded(&item, Dialect::Pb).map_err(encode_error)?;
                self.queued.push(item.into_owned());
                Ok(())
            }
            Phase::Ready(dialect) => {
                let bytes = encoded(&item, *dialect).map_err(encode_error)?;
                if let Some(id) = self.id {
                    reactor.transport(id).write(&bytes);
                }
                Ok(())
            }
        }
    }

    /// The dialect is agreed: sends the version, then what was queued;
    /// returns who waited for this, to fire.
    pub(crate) fn agreed(&mut self, reactor: &mut Reactor, dialect: Dialect) -> Vec<Deferred<()>> {
        self.phase = Phase::Ready(dialect);
        let mut out = vec![Message::Version(PROTOCOL_VERSION).to_item()];
        out.extend(mem::take(&mut self.queued));
        for item in out {
            if let Err(e) = self.send(reactor, item) {
                log::warn!("a queued PB message was not sent: {e}");
            }
        }
        mem::take(&mut self.ready)
    }

    /// A Deferred that fires once the dialect is agreed.
    pub(crate) fn when_ready(&mut self) -> Deferred<()> {
        match &self.phase {
            Phase::Ready(_) => succeed(()),
            Phase::Closed(why) => fail(why.clone()),
            Phase::Negotiating => {
                let d = Deferred::new();
                self.ready.push(d.clone());
                d
            }
        }
    }

    /// Closes for good (the first reason recorded stays): returns the
    /// calls and waiters to fail, and why.
    pub(crate) fn close(&mut self, why: CallError) -> (Vec<OnAnswer>, Vec<Deferred<()>>, CallError) {
        let why = match &self.phase {
            Phase::Closed(earlier) => earlier.clone(),
            _ => why,
        };
        self.phase = Phase::Closed(why.clone());
        self.queued.clear();
        self.imports.clear();
        // Published objects may hold references to this link: drop them.
        self.exports.clear();
        let calls = self.pending.drain().map(|(_, call)| call).collect();
        (calls, mem::take(&mut self.ready), why)
    }

    /// Takes the call waiting for the answer to `request`.
    pub(crate) fn take(&mut self, request: i64) -> Option<OnAnswer> {
        self.pending.remove(&request)
    }

    /// `value` arrived: counts the references to the peer's objects in it.
    pub(crate) fn imported(&mut self, value: &Value) {
        let mut mentions = Vec::new();
        remote_mentions(value, &mut mentions);
        for n in mentions {
            if self.imports.len() >= MAX_IMPORTS && !self.imports.contains_key(&n) {
                log::debug!("not counting a reference to the peer's object {n}: too many");
                continue;
            }
            *self.imports.entry(n).or_default() += 1;
        }
    }

    /// How many references to the peer's object `n` we hold; forgets them.
    pub(crate) fn release(&mut self, n: i64) -> u32 {
        self.imports.remove(&n).unwrap_or(0)
    }
}

/// Calls `method` of the peer's object `object` over `link`: fires with
/// the answer if `answer`, else `None` once sent.
pub(crate) fn call(
    link: &Rc<RefCell<Link>>,
    reactor: &mut Reactor,
    object: &ObjectId,
    method: &str,
    args: Vec<Value>,
    kwargs: Vec<(String, Value)>,
    answer: bool,
) -> Result<Option<Deferred<Value>>, CallError> {
    let mut link = link.borrow_mut();
    if let Phase::Closed(why) = &link.phase {
        return Err(why.clone());
    }
    if answer && link.pending.len() >= link.max_pending {
        return Err(CallError::TooManyPending {
            limit: link.max_pending,
        });
    }
    let args = Value::Tuple(args);
    let kwargs = Value::Dict(kwargs.into_iter().map(|(k, v)| (Value::Str(k), v)).collect());
    link.exports.check(&args)?;
    link.exports.check(&kwargs)?;
    let request = link.last_request + 1;
    let message = Message::Call(Call {
        cached: false,
        request,
        object: object.clone(),
        method: method.to_owned(),
        answer_required: answer,
        args: jelly(&args),
        kwargs: jelly(&kwargs),
    });
    link.send(reactor, message.to_item())?;
    link.last_request = request;
    link.exports.count(&args);
    link.exports.count(&kwargs);
    if !answer {
        return Ok(None);
    }
    let answered = Deferred::new();
    let target = answered.clone();
    let on_answer: OnAnswer = Box::new(move |r, result| {
        if target.fire(r, result).is_err() {
            log::debug!("the answer to PB request {request} came after it was settled");
        }
    });
    link.pending.insert(request, on_answer);
    Ok(Some(answered))
}
