//! [`RemoteReference`]: an object of the peer's, to call.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use torsion::defer::fail;
use torsion::{ConnectionId, Deferred, Reactor};

use super::error::CallError;
use super::link::{call, Link, Phase};
use super::message::Message;
use super::referenceable::Referenceable;
use crate::jelly::{ObjectId, Value};

/// An object the peer published, to call its methods (Twisted's
/// `RemoteReference`): the root object [`connect`](super::connect) fires
/// with, or one named by a [`Value::Remote`] in an answer
/// ([`reference`](RemoteReference::reference)).
///
/// Calls are numbered 1, 2, ... per connection, as Twisted numbers them;
/// any number may be in flight (up to
/// [`DEFAULT_MAX_PENDING`](super::DEFAULT_MAX_PENDING)), and each answer
/// goes to its own call, in whatever order the answers come. Calls made
/// before the connection has agreed on its dialect wait, then go in
/// order.
///
/// A reference is a cheap handle: clones name the same object. It writes
/// through the reactor, so it may be used anywhere, a callback fired by an
/// answer on the same connection included. When the connection closes,
/// calls waiting for answers fail with [`CallError::ConnectionLost`] (or
/// [`CallError::Protocol`] if the peer broke the protocol), and so does
/// every later call.
#[derive(Clone)]
pub struct RemoteReference {
    link: Rc<RefCell<Link>>,
    object: ObjectId,
    /// Whether the peer counts our references to it (all but `root`).
    counted: bool,
}

impl RemoteReference {
    pub(crate) fn new(link: Rc<RefCell<Link>>, object: ObjectId, counted: bool) -> Self {
        RemoteReference {
            link,
            object,
            counted,
        }
    }

    /// The object's id on the peer.
    pub fn object_id(&self) -> &ObjectId {
        &self.object
    }

    /// Calls method `method` with positional `args`: Twisted's
    /// `callRemote(method, *args)`. The Deferred fires with the answer, or
    /// fails with the [`RemoteFailure`](crate::jelly::RemoteFailure) the
    /// peer sent (a `KeyError`, say), or a [`CallError`].
    #[track_caller]
    pub fn call_remote(&self, reactor: &mut Reactor, method: &str, args: Vec<Value>) -> Deferred<Value> {
        self.call_remote_with(reactor, method, args, Vec::new())
    }

    /// [`call_remote`](RemoteReference::call_remote) with keyword
    /// arguments too: `callRemote(method, *args, **kwargs)`.
    #[track_caller]
    pub fn call_remote_with(
        &self,
        reactor: &mut Reactor,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(String, Value)>,
    ) -> Deferred<Value> {
        match call(&self.link, reactor, &self.object, method, args, kwargs, true) {
            Ok(Some(answered)) => answered,
            Ok(None) => fail(CallError::Protocol(
                "no Deferred for a call that wants an answer".into(),
            )),
            Err(e) => fail(e),
        }
    }

    /// Calls `method` without asking for an answer (Twisted's
    /// `pbanswer=False`): nothing comes back, not even a failure.
    pub fn send_remote(
        &self,
        reactor: &mut Reactor,
        method: &str,
        args: Vec<Value>,
    ) -> Result<(), CallError> {
        call(&self.link, reactor, &self.object, method, args, Vec::new(), false).map(|_| ())
    }

    /// A reference to the object a [`Value::Remote`] names (in an answer
    /// from this connection).
    pub fn reference(&self, value: &Value) -> Option<RemoteReference> {
        match value {
            Value::Remote(id) => Some(RemoteReference::new(self.link.clone(), id.clone(), true)),
            _ => None,
        }
    }

    /// Publishes `object` on this connection, for the peer to call back
    /// (pass the value returned as an argument).
    pub fn publish(&self, object: &Rc<Referenceable>) -> Result<Value, CallError> {
        let id = self.link.borrow_mut().exports.publish(object)?;
        Ok(Value::Remote(id))
    }

    /// This reference as an argument: the peer gets its own object back
    /// (`["local", id]`).
    pub fn to_value(&self) -> Value {
        Value::Local(self.object.clone())
    }

    /// Gives back every reference to this object the peer has sent us,
    /// so it may forget the object (a `decref` for each, as Twisted sends
    /// when its `RemoteReference` is garbage-collected). The root is never
    /// counted; nor is anything once the connection is closed.
    pub fn release(&self, reactor: &mut Reactor) {
        let ObjectId::Number(n) = self.object else {
            return;
        };
        if !self.counted {
            return;
        }
        let mut link = self.link.borrow_mut();
        for _ in 0..link.release(n) {
            if link
                .send(reactor, Message::DecRef(self.object.clone()).to_item())
                .is_err()
            {
                break;
            }
        }
    }

    /// The connection, once it is open.
    pub fn connection(&self) -> Option<ConnectionId> {
        self.link.borrow().id
    }

    /// Whether the connection is open (or opening) and not closed.
    pub fn is_connected(&self) -> bool {
        !matches!(self.link.borrow().phase, Phase::Closed(_))
    }

    /// How many calls on this connection wait for their answers.
    pub fn pending(&self) -> usize {
        self.link.borrow().pending()
    }

    /// Closes the connection cleanly; calls still waiting fail with
    /// [`CallError::ConnectionLost`].
    pub fn lose_connection(&self, reactor: &mut Reactor) {
        if let Some(id) = self.connection() {
            reactor.transport(id).lose_connection();
        }
    }
}

impl fmt::Debug for RemoteReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let link = self.link.borrow();
        f.debug_struct("RemoteReference")
            .field("object", &self.object)
            .field("connection", &link.id)
            .field("pending", &link.pending())
            .finish()
    }
}
