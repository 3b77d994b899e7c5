//! [`Broker`]: one PB connection, both ways (Twisted's `pb.Broker`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use torsion::{CloseReason, Ctx, Deferred, Failure, Protocol, Reactor, DEFAULT_HIGH_WATER};

use super::error::CallError;
use super::link::{Link, Phase};
use super::message::{Call, Message, PROTOCOL_VERSION};
use super::reference::RemoteReference;
use super::referenceable::{CallContext, Referenceable, Reply};
use crate::banana::{dialect, encoded, BananaDecoder, Dialect, Item, DEFAULT_MAX_DEPTH};
use crate::jelly::{jelly, JellyError, ObjectId, RemoteFailure, Unjellier, Value};
use crate::policies::IdleTimer;
use crate::{Decoder, Parsed, ReadBuffer};

/// Which end of the connection a broker is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// It offers the dialects and publishes `root`.
    Server,
    /// It picks a dialect.
    Client,
}

/// One PB connection (see the [module docs](super)).
///
/// Both ends answer calls to the objects they publish and receive the
/// answers to their own calls; the server publishes its root object as
/// `root`, and the client calls it through [`root`](Broker::root).
///
/// The connection starts with the dialect negotiation (the server offers
/// `pb` and `none`, the client picks); then each side sends
/// `["version", 6]` and calls may go. A stream that is not Banana, not PB,
/// of another version, or an answer to a call never made closes the
/// connection, as in Twisted; calls still waiting then fail with
/// [`CallError`].
///
/// Expressions are bounded (see [`with_max_message`](Broker::with_max_message));
/// while the write buffer is above its high-water mark (a peer that calls
/// without reading the answers), expressions stay buffered and reading
/// pauses. With an idle timeout, the connection closes once no whole
/// expression has arrived for that long.
pub struct Broker {
    side: Side,
    link: Rc<RefCell<Link>>,
    decoder: BananaDecoder,
    buffer: ReadBuffer,
    unjellier: Unjellier,
    /// The peer sent end-of-file: close once the buffered messages are handled.
    eof: bool,
    idle: Option<IdleTimer>,
}

impl Broker {
    fn new(side: Side) -> Self {
        Broker {
            side,
            link: Rc::new(RefCell::new(Link::new())),
            decoder: BananaDecoder::new(Dialect::Plain),
            buffer: ReadBuffer::new(),
            unjellier: Unjellier::new(),
            eof: false,
            idle: None,
        }
    }

    /// The server end of a connection, publishing `root` as `root`
    /// (Twisted's `PBServerFactory(root)` builds these).
    pub fn server(root: Rc<Referenceable>) -> Self {
        let broker = Broker::new(Side::Server);
        broker.link.borrow_mut().exports.name(b"root", root);
        broker
    }

    /// The client end of a connection (Twisted's `PBClientFactory` builds
    /// these).
    pub fn client() -> Self {
        Broker::new(Side::Client)
    }

    /// Bounds received expressions to `max` bytes (default
    /// [`DEFAULT_MAX_MESSAGE`](crate::banana::DEFAULT_MAX_MESSAGE)).
    pub fn with_max_message(mut self, max: usize) -> Self {
        self.decoder = BananaDecoder::with_limits(self.decoder.dialect(), DEFAULT_MAX_DEPTH, max);
        self
    }

    /// Bounds the calls waiting for answers (default
    /// [`DEFAULT_MAX_PENDING`](super::DEFAULT_MAX_PENDING)).
    pub fn with_max_pending(self, max: usize) -> Self {
        self.link.borrow_mut().max_pending = max;
        self
    }

    /// Closes the connection once `period` passes without a whole
    /// expression received (`None`: never).
    pub fn with_idle_timeout(mut self, period: Option<Duration>) -> Self {
        self.idle = period.map(IdleTimer::new);
        self
    }

    /// The peer's root object (what `getRootObject()` gives a Twisted
    /// client). Calls on it wait until the dialect is agreed.
    pub fn root(&self) -> RemoteReference {
        RemoteReference::new(self.link.clone(), ObjectId::root(), false)
    }

    /// A Deferred that fires once the dialect and versions are agreed, or
    /// fails if the connection closes first.
    pub fn when_ready(&self) -> Deferred<()> {
        self.link.borrow_mut().when_ready()
    }

    /// How many objects this end publishes by number (the root aside).
    pub fn published(&self) -> usize {
        self.link.borrow().exports.len()
    }

    /// The bytes received and not handled yet.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// A whole expression arrived, or the peer read answers.
    fn progress(&mut self, reactor: &mut Reactor) {
        if let Some(idle) = &mut self.idle {
            idle.reset(reactor);
        }
    }

    /// Handles the buffered expressions until none is whole, the
    /// connection closes, or the write buffer passes its high-water mark.
    fn process(&mut self, ctx: &mut Ctx<'_>) {
        while !ctx.is_closing() && ctx.buffered() < DEFAULT_HIGH_WATER {
            match self.decoder.decode(self.buffer.unread()) {
                Parsed::Complete(item, consumed) => {
                    self.buffer.consume(consumed);
                    self.progress(ctx);
                    if let Err(why) = self.received(ctx, item) {
                        self.broken(ctx, why);
                        return;
                    }
                }
                Parsed::Incomplete => {
                    if self.eof {
                        ctx.lose_connection();
                    }
                    return;
                }
                Parsed::Error(e) => {
                    self.broken(ctx, e.to_string());
                    return;
                }
            }
        }
    }

    /// The peer broke the protocol: fail the waiting calls and close.
    fn broken(&mut self, ctx: &mut Ctx<'_>, why: String) {
        log::warn!("{}: closing the PB connection: {why}", ctx.id());
        self.buffer.clear();
        self.decoder.reset();
        close(ctx, &self.link, CallError::Protocol(why));
        ctx.lose_connection();
    }

    /// One whole expression.
    fn received(&mut self, ctx: &mut Ctx<'_>, item: Item<'static>) -> Result<(), String> {
        let negotiating = matches!(self.link.borrow().phase, Phase::Negotiating);
        if !negotiating {
            return match Message::parse(item) {
                Ok(message) => self.message(ctx, message),
                Err(e) => Err(e.to_string()),
            };
        }
        let dialect = match self.side {
            Side::Server => dialect::accept(&item).map_err(|e| e.to_string())?,
            Side::Client => {
                let chosen = dialect::choose(&item).map_err(|e| e.to_string())?;
                let choice = encoded(&dialect::choice(chosen), Dialect::Plain).map_err(|e| e.to_string())?;
                ctx.write(&choice);
                chosen
            }
        };
        log::debug!("{}: speaking the Banana dialect {dialect}", ctx.id());
        self.decoder.set_dialect(dialect);
        let waiting = self.link.borrow_mut().agreed(ctx, dialect);
        for ready in waiting {
            let _ = ready.callback(ctx, ());
        }
        Ok(())
    }

    /// One PB message, once the dialect is agreed.
    fn message(&mut self, ctx: &mut Ctx<'_>, message: Message<'static>) -> Result<(), String> {
        match message {
            Message::Version(PROTOCOL_VERSION) => Ok(()),
            Message::Version(other) => Err(format!(
                "the peer speaks PB version {other}, not {PROTOCOL_VERSION}"
            )),
            Message::Call(call) => {
                self.serve(ctx, call);
                Ok(())
            }
            Message::Answer { request, result } => {
                let call = self.waiting(request)?;
                let outcome = match self.unjellier.unjelly(&result) {
                    Ok(value) => {
                        self.link.borrow_mut().imported(&value);
                        Ok(value)
                    }
                    Err(e) => Err(Failure::new(CallError::BadAnswer(e))),
                };
                call(ctx, outcome);
                Ok(())
            }
            Message::Error { request, failure } => {
                let call = self.waiting(request)?;
                let failure = match self.unjellier.unjelly(&failure) {
                    Ok(Value::Failure(failure)) => Failure::new(failure),
                    // A Python 2 peer may send a bare string, or a jellied exception.
                    Ok(other) => Failure::new(RemoteFailure::exception(other.to_string())),
                    Err(e) => Failure::new(CallError::BadAnswer(e)),
                };
                call(ctx, Err(failure));
                Ok(())
            }
            Message::DecRef(object) => {
                if !self.link.borrow_mut().exports.decref(&object) {
                    log::debug!("{}: a decref for {object}, which is not published", ctx.id());
                }
                Ok(())
            }
            Message::DeCache(object) | Message::UnCache(object) => {
                log::debug!("{}: a (de/un)cache of {object}; Torsion caches nothing", ctx.id());
                Ok(())
            }
            Message::DidNotUnderstand(command) => {
                log::warn!("{}: the PB peer did not understand {command}", ctx.id());
                Ok(())
            }
            Message::Unknown(command) => {
                log::debug!(
                    "{}: an unknown PB message {}",
                    ctx.id(),
                    String::from_utf8_lossy(&command)
                );
                let reply = Message::DidNotUnderstand(Item::owned(command)).to_item();
                let _ = self.link.borrow_mut().send(ctx, reply);
                Ok(())
            }
        }
    }

    /// The call waiting for the answer to `request`.
    fn waiting(&self, request: i64) -> Result<super::link::OnAnswer, String> {
        self.link
            .borrow_mut()
            .take(request)
            .ok_or_else(|| format!("an answer to request {request}, which is not waiting for one"))
    }

    /// Answers a call to one of our objects.
    fn serve(&mut self, ctx: &mut Ctx<'_>, call: Call<'static>) {
        let object = self.link.borrow().exports.lookup(&call.object);
        let reply = match object {
            _ if call.cached => Reply::Ready(Err(RemoteFailure::pb_error(format!(
                "no cached object {}: Torsion caches nothing",
                call.object
            )))),
            None => Reply::Ready(Err(RemoteFailure::pb_error("Invalid Object ID"))),
            Some(object) => match self.arguments(&call) {
                Ok((args, kwargs)) => {
                    let mut context = CallContext::new(ctx, &self.link);
                    object.dispatch(&mut context, &call.method, args, kwargs)
                }
                Err(failure) => Reply::Ready(Err(failure)),
            },
        };
        if call.answer_required {
            answer(ctx, &self.link, call.request, reply);
            return;
        }
        let method = call.method;
        match reply {
            Reply::Ready(Err(failure)) => {
                log::debug!("a call to {method} without an answer failed: {failure}")
            }
            Reply::Ready(Ok(_)) => {}
            Reply::Later(later) => {
                later.add_both(ctx, move |_, result| {
                    if let Err(failure) = result {
                        log::debug!("a call to {method} without an answer failed: {failure}");
                    }
                    Ok(Value::None)
                });
            }
        }
    }

    /// A call's arguments, unjellied: `(args, kwargs)`, or the failure to
    /// answer with.
    fn arguments(&self, call: &Call<'_>) -> Result<Arguments, RemoteFailure> {
        let refused = |e: JellyError| RemoteFailure::insecure_jelly(e.to_string());
        let args = self.unjellier.unjelly(&call.args).map_err(refused)?;
        let kwargs = self.unjellier.unjelly(&call.kwargs).map_err(refused)?;
        let mut link = self.link.borrow_mut();
        link.imported(&args);
        link.imported(&kwargs);
        let args = match args {
            Value::Tuple(items) | Value::List(items) => items,
            other => {
                return Err(RemoteFailure::type_error(format!(
                    "the arguments are a {}, not a tuple",
                    other.type_name()
                )))
            }
        };
        let Value::Dict(pairs) = kwargs else {
            return Err(RemoteFailure::type_error(format!(
                "the keyword arguments are a {}, not a dict",
                kwargs.type_name()
            )));
        };
        // Python 2 peers send keywords as bytes; Twisted decodes them, so do we.
        let kwargs = pairs
            .into_iter()
            .map(|(key, value)| match key {
                Value::Str(name) => Ok((name, value)),
                Value::Bytes(name) => String::from_utf8(name)
                    .map(|name| (name, value))
                    .map_err(|_| RemoteFailure::type_error("a keyword that is not UTF-8")),
                other => Err(RemoteFailure::type_error(format!(
                    "keywords must be strings, not {}",
                    other.type_name()
                ))),
            })
            .collect::<Result<_, _>>()?;
        Ok((args, kwargs))
    }
}

/// A call's positional and keyword arguments.
type Arguments = (Vec<Value>, Vec<(String, Value)>);

/// Closes `link` for good, failing every call and waiter.
fn close(reactor: &mut Reactor, link: &RefCell<Link>, why: CallError) {
    let (calls, waiting, why) = link.borrow_mut().close(why);
    for call in calls {
        call(reactor, Err(Failure::new(why.clone())));
    }
    for ready in waiting {
        let _ = ready.errback(reactor, why.clone());
    }
}

/// Sends the answer to `request`, now or when the reply's Deferred fires.
fn answer(reactor: &mut Reactor, link: &Rc<RefCell<Link>>, request: i64, reply: Reply) {
    match reply {
        Reply::Ready(result) => send_result(reactor, link, request, result),
        Reply::Later(later) => {
            let link = link.clone();
            later.add_both(reactor, move |r: &mut Reactor, result: Result<Value, Failure>| {
                let result = result.map_err(|failure| match failure.find::<RemoteFailure>() {
                    Some(remote) => remote.clone(),
                    None => {
                        log::warn!("a PB method failed: {failure}");
                        RemoteFailure::exception(failure.to_string())
                    }
                });
                send_result(r, &link, request, result);
                Ok::<_, Failure>(Value::None)
            });
        }
    }
}

/// Writes `["answer", request, value]` or `["error", request, failure]`.
fn send_result(
    reactor: &mut Reactor,
    link: &RefCell<Link>,
    request: i64,
    result: Result<Value, RemoteFailure>,
) {
    let mut link = link.borrow_mut();
    if matches!(link.phase, Phase::Closed(_)) {
        log::debug!("the connection closed before the answer to PB request {request}");
        return;
    }
    let failure = match result {
        Ok(value) => {
            let sent = link.exports.check(&value).and_then(|()| {
                let message = Message::Answer {
                    request,
                    result: jelly(&value),
                };
                link.send(reactor, message.to_item())
            });
            match sent {
                Ok(()) => {
                    link.exports.count(&value);
                    return;
                }
                Err(e) => RemoteFailure::exception(format!("the answer cannot be sent: {e}")),
            }
        }
        Err(failure) => failure,
    };
    log::debug!("PB request {request} failed: {}", failure.summary());
    let failure = Value::Failure(failure);
    let message = Message::Error {
        request,
        failure: jelly(&failure),
    };
    if let Err(e) = link.send(reactor, message.to_item()) {
        log::warn!("cannot send the failure of PB request {request}: {e}");
    }
}

impl Protocol for Broker {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        self.link.borrow_mut().id = Some(ctx.id());
        if self.side == Side::Server {
            match encoded(&dialect::offer(), Dialect::Plain) {
                Ok(offer) => ctx.write(&offer),
                Err(e) => log::error!("cannot write the dialect offer: {e}"),
            }
        }
        if let Some(idle) = &mut self.idle {
            idle.start(ctx);
        }
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        self.buffer.extend(data);
        self.process(ctx);
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        self.eof = true;
        self.process(ctx);
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.progress(ctx);
        ctx.resume_reading();
        self.process(ctx);
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        if let Some(idle) = &mut self.idle {
            idle.cancel(ctx);
        }
        close(ctx, &self.link, CallError::ConnectionLost(reason));
    }

    fn name(&self) -> &'static str {
        "pb"
    }
}
