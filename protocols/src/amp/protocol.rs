//! [`Amp`]: one AMP connection, both ways: it answers the peer's commands
//! with its [`Responders`] and receives the answers to its own calls
//! (made through a [`Remote`]). Twisted's `AMP` protocol.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use torsion::endpoint::ClientEndpoint;
use torsion::{Address, CloseReason, Ctx, Deferred, Factory, Failure, Protocol, Reactor, DEFAULT_HIGH_WATER};

use super::ampbox::AmpBox;
use super::command::RemoteError;
use super::decoder::{BoxDecoder, BoxRef};
use super::message::Message;
use super::remote::{fail_all, CallError, Outgoing, Remote};
use super::responders::{BoxReply, Responders};
use super::wire::{ANSWER, ERROR, ERROR_CODE, ERROR_DESCRIPTION, UNKNOWN_ERROR_CODE};
use crate::policies::IdleTimer;
use crate::ReadBuffer;
use crate::{Decoder, Parsed};

/// One AMP connection (see the [module docs](super)).
///
/// Boxes are read from a [`ReadBuffer`] with a [`BoxDecoder`]. Each
/// command is answered as its responder returns (or when its Deferred
/// fires); answers go out in the order they are ready, each tagged with
/// its request's `_ask`. A stream that is not AMP (an empty box, a key
/// over 255 bytes, a box over the bound, a box that is no message, an
/// answer to nothing asked) closes the connection, as in Twisted; calls
/// still waiting then fail with [`CallError`].
///
/// While the write buffer is above its high-water mark (a peer that sends
/// commands without reading the answers), boxes stay buffered and reading
/// pauses; they are handled once the buffer drains.
///
/// With an idle timeout ([`with_idle_timeout`](Amp::with_idle_timeout)),
/// the connection is closed once no whole box has arrived for that long
/// (bytes that never make a box do not count; the peer reading answers
/// does).
pub struct Amp {
    responders: Rc<Responders>,
    outgoing: Rc<RefCell<Outgoing>>,
    decoder: BoxDecoder,
    buffer: ReadBuffer,
    /// The peer sent end-of-file: close once the buffered boxes are handled.
    eof: bool,
    /// Closes the connection after a while without a whole box.
    idle: Option<IdleTimer>,
}

impl Amp {
    /// A connection answering with `responders` (`Responders::new()` for a
    /// connection that only calls).
    pub fn new(responders: Rc<Responders>) -> Self {
        Amp {
            responders,
            outgoing: Rc::new(RefCell::new(Outgoing::new())),
            decoder: BoxDecoder::new(),
            buffer: ReadBuffer::new(),
            eof: false,
            idle: None,
        }
    }

    /// Closes the connection once `period` passes without a whole box
    /// received (`None`: never).
    pub fn with_idle_timeout(mut self, period: Option<Duration>) -> Self {
        self.idle = period.map(IdleTimer::new);
        self
    }

    /// A whole box arrived, or the peer read answers.
    fn progress(&mut self, reactor: &mut Reactor) {
        if let Some(idle) = &mut self.idle {
            idle.reset(reactor);
        }
    }

    /// Bounds received boxes to `max` bytes (see [`BoxDecoder`]).
    pub fn with_max_box_size(mut self, max: usize) -> Self {
        self.decoder = BoxDecoder::with_max_box_size(max);
        self
    }

    /// Bounds the calls waiting for answers (see [`Remote`]).
    pub fn with_max_pending(self, max: usize) -> Self {
        self.outgoing.borrow_mut().max_pending = max;
        self
    }

    /// The handle that calls the peer's commands on this connection.
    pub fn remote(&self) -> Remote {
        Remote::new(self.outgoing.clone())
    }

    /// The bytes received and not handled yet.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Handles the buffered boxes until none is whole, the connection
    /// closes, or the write buffer passes its high-water mark.
    fn process(&mut self, ctx: &mut Ctx<'_>) {
        while !ctx.is_closing() && ctx.buffered() < DEFAULT_HIGH_WATER {
            match self.decoder.decode(self.buffer.unread()) {
                Parsed::Complete(frame, consumed) => {
                    let outcome = receive(&self.responders, &self.outgoing, ctx, frame);
                    self.buffer.consume(consumed);
                    self.progress(ctx);
                    if let Err(why) = outcome {
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
        log::warn!("{}: closing the AMP connection: {why}", ctx.id());
        self.buffer.clear();
        let (calls, why) = self.outgoing.borrow_mut().close(CallError::Protocol(why));
        fail_all(ctx, calls, why);
        ctx.lose_connection();
    }
}

/// Handles one received box; an error means the peer broke the protocol.
fn receive(
    responders: &Responders,
    outgoing: &RefCell<Outgoing>,
    ctx: &mut Ctx<'_>,
    frame: BoxRef<'_>,
) -> Result<(), String> {
    match Message::classify(frame).map_err(|e| e.to_string())? {
        Message::Command { name, ask, arguments } => {
            let reply = responders.respond(ctx, name, &arguments);
            answer(ctx, ask, reply);
            Ok(())
        }
        Message::Answer { tag, values } => {
            let call = outgoing.borrow_mut().take(tag);
            let call = call.ok_or_else(|| format!("an answer to {:?}, which was never asked", lossy(tag)))?;
            call(ctx, Ok(&values));
            Ok(())
        }
        Message::Error {
            tag,
            code,
            description,
        } => {
            let call = outgoing.borrow_mut().take(tag);
            let call = call.ok_or_else(|| format!("an error for {:?}, which was never asked", lossy(tag)))?;
            let error = RemoteError::new(code, lossy(description));
            call(ctx, Err(Failure::new(error)));
            Ok(())
        }
    }
}

/// Sends the answer to a command asked with tag `ask` (none if `None`).
fn answer(ctx: &mut Ctx<'_>, ask: Option<&[u8]>, reply: BoxReply) {
    let tag = ask.map(<[u8]>::to_vec);
    match reply {
        BoxReply::Ready(result) => send_answer(ctx, tag.as_deref(), result),
        BoxReply::Later(later) => {
            let id = ctx.id();
            later.add_both(ctx, move |r: &mut Reactor, result: Result<AmpBox, Failure>| {
                let result = result.map_err(|failure| match failure.find::<RemoteError>() {
                    Some(e) => e.clone(),
                    None => {
                        log::warn!("{id}: an AMP responder failed: {failure}");
                        RemoteError::unknown("Unknown Error")
                    }
                });
                send_answer(&mut r.transport(id), tag.as_deref(), result);
                Ok::<_, Failure>(AmpBox::new())
            });
        }
    }
}

/// Writes an answer box (or an error box) tagged `tag`.
fn send_answer(ctx: &mut Ctx<'_>, tag: Option<&[u8]>, result: Result<AmpBox, RemoteError>) {
    let Some(tag) = tag else {
        if let Err(e) = result {
            log::debug!("{}: a command sent without _ask failed: {e}", ctx.id());
        }
        return;
    };
    let answer = match result {
        Ok(mut b) => {
            b.insert(ANSWER, tag);
            b.to_bytes()
                .map_err(|e| RemoteError::unknown(format!("the answer cannot be sent: {e}")))
        }
        Err(e) => Err(e),
    };
    let bytes = answer.or_else(|e| error_box(tag, &e));
    match bytes {
        Ok(bytes) => ctx.write(&bytes),
        Err(e) => log::warn!("{}: cannot send an AMP error box: {e}", ctx.id()),
    }
}

/// The error box answering `tag` with `error`.
fn error_box(tag: &[u8], error: &RemoteError) -> Result<Vec<u8>, super::EncodeError> {
    let code = if error.code.is_empty() {
        UNKNOWN_ERROR_CODE
    } else {
        &error.code
    };
    let mut b = AmpBox::new();
    b.insert(ERROR, tag);
    b.insert(ERROR_CODE, code);
    b.insert(ERROR_DESCRIPTION, error.description.as_bytes());
    b.to_bytes()
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Protocol for Amp {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        self.outgoing.borrow_mut().id = Some(ctx.id());
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
        let (calls, why) = self
            .outgoing
            .borrow_mut()
            .close(CallError::ConnectionLost(reason));
        fail_all(ctx, calls, why);
    }
}

/// Builds an [`Amp`] connection per client, all answering with the same
/// [`Responders`].
pub struct AmpFactory {
    responders: Rc<Responders>,
    max_box_size: Option<usize>,
    idle_timeout: Option<Duration>,
}

impl AmpFactory {
    /// Connections answering with `responders`.
    pub fn new(responders: Rc<Responders>) -> Self {
        AmpFactory {
            responders,
            max_box_size: None,
            idle_timeout: None,
        }
    }

    /// Bounds received boxes to `max` bytes.
    pub fn with_max_box_size(mut self, max: usize) -> Self {
        self.max_box_size = Some(max);
        self
    }

    /// Closes each connection after `period` without a whole box (`None`:
    /// never); see [`Amp::with_idle_timeout`].
    pub fn with_idle_timeout(mut self, period: Option<Duration>) -> Self {
        self.idle_timeout = period;
        self
    }
}

impl Factory for AmpFactory {
    fn build_protocol(&mut self, _reactor: &mut Reactor, _peer: &Address) -> Option<Box<dyn Protocol>> {
        let mut amp = Amp::new(self.responders.clone());
        if let Some(max) = self.max_box_size {
            amp = amp.with_max_box_size(max);
        }
        Some(Box::new(amp.with_idle_timeout(self.idle_timeout)))
    }
}

/// Connects to an AMP peer at `endpoint`, answering its commands with
/// `responders`; fires with the [`Remote`] that calls the peer's commands.
#[track_caller]
pub fn connect(
    reactor: &mut Reactor,
    endpoint: &ClientEndpoint,
    responders: Rc<Responders>,
) -> Deferred<Remote> {
    let amp = Amp::new(responders);
    let remote = amp.remote();
    endpoint
        .connect_protocol(reactor, amp)
        .then(reactor, move |_, _handle| Ok(remote))
}
