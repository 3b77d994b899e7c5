//! The line protocol's client: the seeds' `KeyValueClientProtocol`, with
//! errbacks (`keyvalue_client2.py`) and bounds.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use torsion::defer::fail;
use torsion::endpoint::ClientEndpoint;
use torsion::{CloseReason, ConnectionId, Ctx, Deferred, Failure, Protocol, Reactor};
use torsion_protocols::kv::{is_whitespace, Limits, LineError, Reply, ReplyDecoder, Request};
use torsion_protocols::ReadBuffer;
use torsion_protocols::{Decoder, Parsed};

use super::error::{KeyNotFound, KvError};
use super::KeyValue;

/// How many requests may wait for their replies on one connection unless
/// configured otherwise (design rule 6).
pub const DEFAULT_MAX_PENDING: usize = 1024;

/// A request waiting for its reply.
enum Pending {
    Get { key: Vec<u8>, done: Deferred<Vec<u8>> },
    Set { done: Deferred<()> },
    Delete { key: Vec<u8>, done: Deferred<()> },
}

/// What the protocol and every [`KvClient`] share.
struct State {
    id: Option<ConnectionId>,
    /// Requests in the order they were sent: replies come in that order.
    pending: VecDeque<Pending>,
    /// Set once the connection is closed: why requests fail from now on.
    closed: Option<KvError>,
    limits: Limits,
    max_pending: usize,
}

/// The protocol of one client connection. Build it with
/// [`LineClient::new`], hand it to the reactor, and make requests through
/// its [`client`](LineClient::client) handle (or use [`connect`]).
pub struct LineClient {
    state: Rc<RefCell<State>>,
    decoder: ReplyDecoder,
    buffer: ReadBuffer,
}

impl Default for LineClient {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl LineClient {
    /// A connection for a server whose bounds are `limits` (requests past
    /// them are refused before they are sent).
    pub fn new(limits: Limits) -> Self {
        LineClient {
            state: Rc::new(RefCell::new(State {
                id: None,
                pending: VecDeque::new(),
                closed: None,
                limits,
                max_pending: DEFAULT_MAX_PENDING,
            })),
            decoder: ReplyDecoder::new(limits),
            buffer: ReadBuffer::new(),
        }
    }

    /// Bounds the requests waiting for replies.
    pub fn with_max_pending(self, max: usize) -> Self {
        self.state.borrow_mut().max_pending = max;
        self
    }

    /// The handle that makes requests on this connection.
    pub fn client(&self) -> KvClient {
        KvClient {
            state: self.state.clone(),
        }
    }

    /// The server broke the protocol: fail every request and close.
    fn broken(&mut self, ctx: &mut Ctx<'_>, why: String) {
        log::warn!("{}: closing the key-value connection: {why}", ctx.id());
        self.buffer.clear();
        fail_all(ctx, &self.state, KvError::Protocol(why));
        ctx.lose_connection();
    }
}

/// Fails every waiting request with `why`, and every later one.
fn fail_all(reactor: &mut Reactor, state: &RefCell<State>, why: KvError) {
    let (pending, why) = {
        let mut state = state.borrow_mut();
        let why = state.closed.get_or_insert(why).clone();
        (std::mem::take(&mut state.pending), why)
    };
    for request in pending {
        let failure = Failure::new(why.clone());
        let _ = match request {
            Pending::Get { done, .. } => done.errback(reactor, failure),
            Pending::Set { done } | Pending::Delete { done, .. } => done.errback(reactor, failure),
        };
    }
}

/// Fires `request` with `reply`; an error if the reply does not answer it.
fn settle(reactor: &mut Reactor, request: Pending, reply: Reply<'_>) -> Result<(), String> {
    let mismatch = |what: &str| format!("a {what} request was answered {reply:?}");
    let fired = match (request, reply) {
        (Pending::Get { key, done }, Reply::Value { key: k, value }) if k == key => {
            done.callback(reactor, value.to_vec())
        }
        (Pending::Get { key, done }, Reply::GetNotFound { key: k }) if k == key => {
            done.errback(reactor, KeyNotFound { key })
        }
        (Pending::Set { done }, Reply::Stored) => done.callback(reactor, ()),
        (Pending::Delete { key, done }, Reply::Deleted { key: k }) if k == key => done.callback(reactor, ()),
        (Pending::Delete { key, done }, Reply::DelNotFound { key: k }) if k == key => {
            done.errback(reactor, KeyNotFound { key })
        }
        (request, Reply::Error { reason }) => {
            let failure = Failure::new(KvError::Server(String::from_utf8_lossy(reason).into_owned()));
            match request {
                Pending::Get { done, .. } => done.errback(reactor, failure),
                Pending::Set { done } | Pending::Delete { done, .. } => done.errback(reactor, failure),
            }
        }
        (request, _) => {
            let what = match request {
                Pending::Get { .. } => "get",
                Pending::Set { .. } => "set",
                Pending::Delete { .. } => "delete",
            };
            let why = mismatch(what);
            // The request is lost with the connection: say so.
            let failure = Failure::new(KvError::Protocol(why.clone()));
            let _ = match request {
                Pending::Get { done, .. } => done.errback(reactor, failure),
                Pending::Set { done } | Pending::Delete { done, .. } => done.errback(reactor, failure),
            };
            return Err(why);
        }
    };
    if fired.is_err() {
        log::debug!("a reply came for a request already settled (cancelled or timed out)");
    }
    Ok(())
}

impl Protocol for LineClient {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        self.state.borrow_mut().id = Some(ctx.id());
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        self.buffer.extend(data);
        while !ctx.is_closing() {
            let outcome = match self.decoder.decode(self.buffer.unread()) {
                Parsed::Complete(message, consumed) => {
                    let request = self.state.borrow_mut().pending.pop_front();
                    let outcome = match request {
                        Some(request) => settle(ctx, request, message),
                        None => Err(format!("a reply nobody asked for: {message:?}")),
                    };
                    self.buffer.consume(consumed);
                    outcome
                }
                Parsed::Error(LineError::Invalid { error, .. }) => Err(error.to_string()),
                Parsed::Error(LineError::Skipped { consumed }) => {
                    self.buffer.consume(consumed);
                    Ok(())
                }
                Parsed::Incomplete => return,
            };
            if let Err(why) = outcome {
                self.broken(ctx, why);
                return;
            }
        }
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        fail_all(ctx, &self.state, KvError::ConnectionLost(reason));
    }
}

/// Makes requests on one line-protocol connection. Cheap to clone; every
/// clone names the same connection.
///
/// Requests are pipelined: each is written at once, and the replies,
/// which come in order, settle them in order. At most
/// [`DEFAULT_MAX_PENDING`] may wait at once. A `KvClient` writes through
/// the reactor's transport and never borrows the protocol, so a callback
/// fired by one reply may make the next request.
///
/// Keys must be one word (no whitespace) of at most the server's key
/// length, values must not hold a line break (`\n`); others fail with
/// [`KvError::InvalidKey`] / [`KvError::InvalidValue`] without being sent.
#[derive(Clone)]
pub struct KvClient {
    state: Rc<RefCell<State>>,
}

impl KvClient {
    /// The connection, once open.
    pub fn id(&self) -> Option<ConnectionId> {
        self.state.borrow().id
    }

    /// How many requests wait for their replies.
    pub fn pending(&self) -> usize {
        self.state.borrow().pending.len()
    }

    /// Closes the connection once the requests written so far are sent;
    /// their replies will not be read, so they fail with
    /// [`KvError::ConnectionLost`].
    pub fn lose_connection(&self, reactor: &mut Reactor) {
        if let Some(id) = self.id() {
            reactor.transport(id).lose_connection();
        }
    }

    /// `get <key>`: the value, or [`KeyNotFound`].
    #[track_caller]
    pub fn get(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<Vec<u8>> {
        let done = Deferred::new();
        let pending = Pending::Get {
            key: key.to_vec(),
            done: done.clone(),
        };
        match self.send(reactor, Request::Get { key }, pending) {
            Ok(()) => done,
            Err(e) => fail(e),
        }
    }

    /// `set <key> <value>`.
    #[track_caller]
    pub fn set(&self, reactor: &mut Reactor, key: &[u8], value: &[u8]) -> Deferred<()> {
        let done = Deferred::new();
        let pending = Pending::Set { done: done.clone() };
        match self.send(reactor, Request::Set { key, value }, pending) {
            Ok(()) => done,
            Err(e) => fail(e),
        }
    }

    /// `delete <key>`: done, or [`KeyNotFound`].
    #[track_caller]
    pub fn delete(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<()> {
        let done = Deferred::new();
        let pending = Pending::Delete {
            key: key.to_vec(),
            done: done.clone(),
        };
        match self.send(reactor, Request::Delete { key }, pending) {
            Ok(()) => done,
            Err(e) => fail(e),
        }
    }

    /// Checks and writes `request`; `pending` waits for its reply.
    fn send(&self, reactor: &mut Reactor, request: Request<'_>, pending: Pending) -> Result<(), KvError> {
        let mut state = self.state.borrow_mut();
        if let Some(why) = &state.closed {
            return Err(why.clone());
        }
        let id = state.id.ok_or(KvError::NotConnected)?;
        check_key(request.key(), &state.limits)?;
        if let Request::Set { value, .. } = request {
            check_value(value, &state.limits)?;
        }
        if state.pending.len() >= state.max_pending {
            return Err(KvError::TooManyPending {
                limit: state.max_pending,
            });
        }
        let mut line = Vec::new();
        request.encode(&mut line);
        state.pending.push_back(pending);
        drop(state);
        reactor.transport(id).write(&line);
        Ok(())
    }
}

/// A key the line protocol can carry: one word within the bound.
fn check_key(key: &[u8], limits: &Limits) -> Result<(), KvError> {
    if key.is_empty() {
        return Err(KvError::InvalidKey("empty".into()));
    }
    if key.len() > limits.max_key_length {
        return Err(KvError::InvalidKey(format!(
            "longer than {} bytes",
            limits.max_key_length
        )));
    }
    if key.iter().any(|&b| is_whitespace(b)) {
        return Err(KvError::InvalidKey("holds whitespace".into()));
    }
    Ok(())
}

/// A value the line protocol can carry: no line break (`\n` ends a
/// line), within the bound.
fn check_value(value: &[u8], limits: &Limits) -> Result<(), KvError> {
    if value.len() > limits.max_value_length {
        return Err(KvError::InvalidValue(format!(
            "longer than {} bytes",
            limits.max_value_length
        )));
    }
    if value.contains(&b'\n') {
        return Err(KvError::InvalidValue(
            "holds a line break, which ends a line of this protocol".into(),
        ));
    }
    Ok(())
}

impl KeyValue for KvClient {
    fn get(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<Vec<u8>> {
        KvClient::get(self, reactor, key)
    }

    fn set(&self, reactor: &mut Reactor, key: &[u8], value: &[u8]) -> Deferred<()> {
        KvClient::set(self, reactor, key, value)
    }

    fn delete(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<()> {
        KvClient::delete(self, reactor, key)
    }
}

impl fmt::Debug for KvClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("KvClient")
            .field("id", &state.id)
            .field("pending", &state.pending.len())
            .finish()
    }
}

/// Connects to a torsion-kv line port at `endpoint` (Twisted's
/// `ClientCreator(reactor, KeyValueClientProtocol).connectTCP`); fires
/// with the client.
#[track_caller]
pub fn connect(reactor: &mut Reactor, endpoint: &ClientEndpoint) -> Deferred<KvClient> {
    let protocol = LineClient::default();
    let client = protocol.client();
    endpoint
        .connect_protocol(reactor, protocol)
        .then(reactor, move |_, _handle| Ok(client))
}
