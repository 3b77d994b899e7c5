//! [`Remote`]: calling the commands of the peer on the other end.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use torsion::defer::fail;
use torsion::{CloseReason, ConnectionId, Deferred, Failure, Reactor};

use super::ampbox::{AmpBox, EncodeError};
use super::argument::ArgumentError;
use super::command::{Arguments, Command};
use super::decoder::BoxRef;
use super::wire::{ASK, COMMAND};

/// How many calls may wait for their answer on one connection, unless
/// configured otherwise (design rule 6).
pub const DEFAULT_MAX_PENDING: usize = 1024;

/// Why a call failed on this side (a failure from the other side is a
/// [`RemoteError`](super::RemoteError)).
#[derive(Clone, Debug)]
pub enum CallError {
    /// The connection is not open yet.
    NotConnected,
    /// The connection closed before the answer came (or before the call).
    ConnectionLost(CloseReason),
    /// The peer broke the protocol; the connection was closed.
    Protocol(String),
    /// Too many calls are waiting for their answers.
    TooManyPending {
        /// The bound.
        limit: usize,
    },
    /// The arguments do not fit in a box.
    Encode(EncodeError),
    /// The answer does not hold the response's values.
    BadResponse(ArgumentError),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::NotConnected => f.write_str("the AMP connection is not open"),
            CallError::ConnectionLost(reason) => write!(f, "the AMP connection closed: {reason}"),
            CallError::Protocol(why) => write!(f, "the AMP peer broke the protocol: {why}"),
            CallError::TooManyPending { limit } => {
                write!(f, "{limit} AMP calls are already waiting for their answers")
            }
            CallError::Encode(e) => write!(f, "cannot send the call: {e}"),
            CallError::BadResponse(e) => write!(f, "a bad answer: {e}"),
        }
    }
}

impl std::error::Error for CallError {}

/// Runs when the answer (or error) to one call arrives.
pub(crate) type OnAnswer = Box<dyn FnOnce(&mut Reactor, Result<&BoxRef<'_>, Failure>)>;

/// A connection's outgoing calls, shared by the protocol (which receives
/// the answers) and every [`Remote`] (which sends the calls).
pub(crate) struct Outgoing {
    pub(crate) id: Option<ConnectionId>,
    pending: HashMap<Vec<u8>, OnAnswer>,
    counter: u64,
    /// Set once the connection is closed: why calls fail from now on.
    closed: Option<CallError>,
    pub(crate) max_pending: usize,
}

impl Outgoing {
    pub(crate) fn new() -> Self {
        Outgoing {
            id: None,
            pending: HashMap::new(),
            counter: 0,
            closed: None,
            max_pending: DEFAULT_MAX_PENDING,
        }
    }

    /// Takes the call waiting for the answer tagged `tag`.
    pub(crate) fn take(&mut self, tag: &[u8]) -> Option<OnAnswer> {
        self.pending.remove(tag)
    }

    /// Closes for good: returns every waiting call, to be failed with
    /// `why` (unless an earlier reason was recorded).
    pub(crate) fn close(&mut self, why: CallError) -> (Vec<OnAnswer>, CallError) {
        let why = self.closed.get_or_insert(why).clone();
        (self.pending.drain().map(|(_, f)| f).collect(), why)
    }
}

/// Fails every call in `calls` with `why`.
pub(crate) fn fail_all(reactor: &mut Reactor, calls: Vec<OnAnswer>, why: CallError) {
    for call in calls {
        call(reactor, Err(Failure::new(why.clone())));
    }
}

/// Calls the commands of the peer on one AMP connection (Twisted's
/// `callRemote`). Cheap to clone; every clone names the same connection.
///
/// Calls are tagged `_ask: 1`, `2`, ... in hexadecimal, as Twisted tags
/// them, and any number may be in flight (up to
/// [`DEFAULT_MAX_PENDING`]); answers are matched by tag, in whatever
/// order they come.
///
/// A `Remote` does not borrow the protocol: it writes through the
/// reactor's transport, so it may be used from anywhere, including a
/// callback fired by an answer on the same connection.
#[derive(Clone)]
pub struct Remote {
    outgoing: Rc<RefCell<Outgoing>>,
}

impl Remote {
    pub(crate) fn new(outgoing: Rc<RefCell<Outgoing>>) -> Self {
        Remote { outgoing }
    }

    /// The connection, once open.
    pub fn id(&self) -> Option<ConnectionId> {
        self.outgoing.borrow().id
    }

    /// How many calls are waiting for their answers.
    pub fn pending(&self) -> usize {
        self.outgoing.borrow().pending.len()
    }

    /// Whether the connection is open.
    pub fn is_connected(&self, reactor: &mut Reactor) -> bool {
        match self.id() {
            Some(id) => reactor.transport(id).is_open(),
            None => false,
        }
    }

    /// Closes the connection cleanly; calls still waiting fail with
    /// [`CallError::ConnectionLost`].
    pub fn lose_connection(&self, reactor: &mut Reactor) {
        if let Some(id) = self.id() {
            reactor.transport(id).lose_connection();
        }
    }

    /// Calls `C` with `arguments`. The Deferred fires with the response,
    /// or fails with a [`RemoteError`](super::RemoteError) (the peer
    /// answered with an error) or a [`CallError`].
    #[track_caller]
    pub fn call<C: Command>(&self, reactor: &mut Reactor, arguments: &C::Arguments) -> Deferred<C::Response> {
        let (id, bytes, tag) = match self.prepare::<C>(arguments, true) {
            Ok(prepared) => prepared,
            Err(e) => return fail(e),
        };
        let answered = Deferred::new();
        let target = answered.clone();
        let on_answer: OnAnswer = Box::new(move |r, result| {
            let response = result
                .and_then(|b| C::Response::from_box(b).map_err(|e| Failure::new(CallError::BadResponse(e))));
            if target.fire(r, response).is_err() {
                log::debug!("the answer to a {} call came after it was settled", C::NAME);
            }
        });
        self.outgoing.borrow_mut().pending.insert(tag, on_answer);
        reactor.transport(id).write(&bytes);
        answered
    }

    /// Sends `C` without asking for an answer (Twisted's
    /// `requiresAnswer = False`).
    pub fn send<C: Command>(&self, reactor: &mut Reactor, arguments: &C::Arguments) -> Result<(), CallError> {
        let (id, bytes, _) = self.prepare::<C>(arguments, false)?;
        reactor.transport(id).write(&bytes);
        Ok(())
    }

    /// Checks the connection and builds the box: its bytes, and its tag.
    fn prepare<C: Command>(
        &self,
        arguments: &C::Arguments,
        ask: bool,
    ) -> Result<(ConnectionId, Vec<u8>, Vec<u8>), CallError> {
        let mut outgoing = self.outgoing.borrow_mut();
        if let Some(why) = &outgoing.closed {
            return Err(why.clone());
        }
        let id = outgoing.id.ok_or(CallError::NotConnected)?;
        if ask && outgoing.pending.len() >= outgoing.max_pending {
            return Err(CallError::TooManyPending {
                limit: outgoing.max_pending,
            });
        }
        let mut b = AmpBox::new();
        arguments.to_box(&mut b);
        b.insert(COMMAND, C::NAME);
        let mut tag = Vec::new();
        if ask {
            tag = format!("{:x}", outgoing.counter + 1).into_bytes();
            b.insert(ASK, tag.clone());
        }
        let bytes = b.to_bytes().map_err(CallError::Encode)?;
        if ask {
            outgoing.counter += 1;
        }
        Ok((id, bytes, tag))
    }
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outgoing = self.outgoing.borrow();
        f.debug_struct("Remote")
            .field("id", &outgoing.id)
            .field("pending", &outgoing.pending.len())
            .finish()
    }
}
