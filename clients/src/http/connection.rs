//! [`HttpConnection`]: the protocol of one connection: sends a request,
//! reads its response, over TLS when the URL is `https://`; then, if both
//! sides agree to keep it, waits in its client's pool for the next one.

use std::rc::Weak;
use std::sync::Arc;

use rustls::ClientConfig;
use torsion::{CloseReason, Ctx, Protocol};
use torsion_protocols::http::{Body, BodyDecoder, BodyKind, Limits, ResponseParser};
use torsion_protocols::ReadBuffer;
use torsion_protocols::{Decoder, Parsed};

use super::exchange::{self, AfterHead, Shared};
use super::pool::{Origin, Pool};
use super::tls::TlsLayer;
use super::FetchError;

enum State {
    /// Reading the response head.
    Head,
    /// Reading the body; whether the connection may be kept afterwards.
    Body(BodyDecoder, bool),
    /// In the pool, waiting for a request.
    Idle,
    /// Nothing more to read: the fetch moved on or ended.
    Done,
}

/// Where a connection goes back to after a response it may keep.
pub(crate) struct PoolSlot {
    pub(crate) pool: Weak<std::cell::RefCell<Pool>>,
    pub(crate) origin: Origin,
}

/// One connection of a client.
pub(crate) struct HttpConnection {
    /// The fetch being served; `None` while idle.
    exchange: Option<Shared>,
    attempt: u64,
    request: Vec<u8>,
    method: String,
    tls: Option<TlsLayer>,
    buf: ReadBuffer,
    parser: ResponseParser,
    state: State,
    /// `None` when the client does not keep connections.
    pool: Option<PoolSlot>,
    /// Whether this request reuses a connection from the pool (one the
    /// server may have closed meanwhile: then the request is retried).
    reused: bool,
}

impl HttpConnection {
    pub(crate) fn new(
        exchange: Shared,
        attempt: u64,
        request: Vec<u8>,
        method: &str,
        tls: Option<(Arc<ClientConfig>, String)>,
        limits: Limits,
        pool: Option<PoolSlot>,
    ) -> Result<Self, FetchError> {
        let tls = match tls {
            Some((config, host)) => Some(TlsLayer::new(config, &host)?),
            None => None,
        };
        Ok(HttpConnection {
            exchange: Some(exchange),
            attempt,
            request,
            method: method.to_string(),
            tls,
            buf: ReadBuffer::new(),
            parser: ResponseParser::new(limits),
            state: State::Head,
            pool,
            reused: false,
        })
    }

    /// Takes the next request on this idle, pooled connection.
    pub(crate) fn reuse(
        &mut self,
        ctx: &mut Ctx<'_>,
        exchange: Shared,
        attempt: u64,
        request: Vec<u8>,
        method: &str,
    ) {
        self.exchange = Some(exchange);
        self.attempt = attempt;
        self.method = method.to_string();
        self.state = State::Head;
        self.parser.reset();
        self.reused = true;
        self.send(ctx, request);
    }

    fn send(&mut self, ctx: &mut Ctx<'_>, request: Vec<u8>) {
        match &mut self.tls {
            Some(tls) => {
                if let Err(e) = tls.write(&request) {
                    return self.fail(ctx, e);
                }
                tls.flush(ctx);
            }
            None => ctx.write(&request),
        }
    }

    fn current(&self) -> Option<&Shared> {
        self.exchange
            .as_ref()
            .filter(|ex| exchange::is_current(ex, self.attempt))
    }

    /// Ends this attempt with `error` (if it is still the current one).
    fn fail(&mut self, ctx: &mut Ctx<'_>, error: FetchError) {
        self.state = State::Done;
        if let Some(ex) = self.current().cloned() {
            exchange::finish(ctx, &ex, Err(error));
        }
        ctx.abort_connection();
    }

    /// The response ended: back to the pool if both sides agreed, else close.
    fn ended(&mut self, ctx: &mut Ctx<'_>, keep: bool) {
        // A sink may have paused the body's source: a kept connection reads
        // again (an idle one must see the server's close).
        ctx.resume_reading();
        let ex = self.exchange.take();
        let kept = keep && self.buf.is_empty() && self.idle(ctx);
        if !kept {
            self.state = State::Done;
            ctx.lose_connection();
        }
        if let Some(ex) = ex.filter(|ex| exchange::is_current(ex, self.attempt)) {
            exchange::on_end(ctx, &ex);
        }
    }

    /// Goes idle in the pool; false if there is no room (or no pool).
    fn idle(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Some(slot) = &self.pool else { return false };
        let Some(pool) = slot.pool.upgrade() else {
            return false;
        };
        let id = ctx.id();
        if !ctx.is_open() || !Pool::put(&pool, ctx, slot.origin.clone(), id) {
            return false;
        }
        self.state = State::Idle;
        self.reused = false;
        true
    }

    fn leave_pool(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(pool) = self.pool.as_ref().and_then(|slot| slot.pool.upgrade()) {
            let id = ctx.id();
            pool.borrow_mut().forget(ctx, id);
        }
    }

    /// Reads heads and body from the buffer as far as it goes.
    fn process(&mut self, ctx: &mut Ctx<'_>) {
        loop {
            let Some(ex) = self.current().cloned() else {
                if !matches!(self.state, State::Idle) {
                    self.state = State::Done;
                    ctx.lose_connection();
                }
                return;
            };
            match &mut self.state {
                State::Done | State::Idle => return,
                State::Head => match self.parser.decode(self.buf.unread()) {
                    Parsed::Incomplete => return,
                    Parsed::Error(e) => {
                        return self.fail(
                            ctx,
                            FetchError::Malformed {
                                reason: e.to_string(),
                            },
                        )
                    }
                    Parsed::Complete(message, consumed) => {
                        self.buf.consume(consumed);
                        if (100..200).contains(&message.status) {
                            continue; // 100 Continue, 103 Early Hints: the real head follows
                        }
                        let kind = match message.body_kind(&self.method) {
                            Ok(kind) => kind,
                            Err(e) => {
                                return self.fail(
                                    ctx,
                                    FetchError::Malformed {
                                        reason: e.to_string(),
                                    },
                                )
                            }
                        };
                        let keep = message.keep_alive() && kind != BodyKind::UntilClose;
                        let id = ctx.id();
                        match exchange::on_head(ctx, &ex, message, id) {
                            AfterHead::ReadBody => self.state = State::Body(BodyDecoder::new(kind), keep),
                            AfterHead::Stop => {
                                self.state = State::Done;
                                ctx.lose_connection();
                                return;
                            }
                        }
                    }
                },
                State::Body(decoder, keep) => match decoder.decode(self.buf.unread()) {
                    Parsed::Complete(Body::Data(data), consumed) => {
                        let go_on = exchange::on_data(ctx, &ex, data);
                        self.buf.consume(consumed);
                        if !go_on {
                            self.state = State::Done;
                            ctx.abort_connection();
                            return;
                        }
                    }
                    Parsed::Complete(Body::End, consumed) => {
                        let keep = *keep;
                        self.buf.consume(consumed);
                        return self.ended(ctx, keep);
                    }
                    Parsed::Incomplete => return,
                    Parsed::Error(e) => {
                        return self.fail(
                            ctx,
                            FetchError::Malformed {
                                reason: e.to_string(),
                            },
                        )
                    }
                },
            }
        }
    }

    /// The server will send nothing more.
    fn end_of_stream(&mut self, ctx: &mut Ctx<'_>) {
        match &mut self.state {
            State::Done => {}
            State::Idle => {
                self.state = State::Done;
                self.leave_pool(ctx);
            }
            State::Head if self.reused && self.buf.is_empty() && idempotent(&self.method) => {
                // The server closed a kept connection as we reused it,
                // without a word: send the request again on a new one (only
                // a request that is safe to repeat, RFC 9110 §9.2.2).
                self.state = State::Done;
                if let Some(ex) = self.current().cloned() {
                    log::debug!(
                        "{}: a kept connection was closed by the server; retrying",
                        ctx.id()
                    );
                    exchange::retry(ctx, &ex);
                }
            }
            State::Head => {
                let reason = if self.buf.is_empty() {
                    "the server closed the connection without answering"
                } else {
                    "the server closed the connection in the middle of the head"
                };
                self.fail(
                    ctx,
                    FetchError::Closed {
                        reason: reason.into(),
                    },
                );
            }
            State::Body(decoder, _) => match decoder.finish() {
                Ok(()) => self.ended(ctx, false),
                Err(_) => self.fail(
                    ctx,
                    FetchError::Closed {
                        reason: "the server closed the connection in the middle of the body".into(),
                    },
                ),
            },
        }
    }
}

impl Protocol for HttpConnection {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        let request = std::mem::take(&mut self.request);
        self.send(ctx, request);
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        match self.state {
            State::Done => return,
            State::Idle => {
                // Nothing is expected on an idle connection: drop it.
                self.state = State::Done;
                self.leave_pool(ctx);
                ctx.abort_connection();
                return;
            }
            _ => {}
        }
        let mut closed = false;
        match &mut self.tls {
            Some(tls) => {
                let mut plain = Vec::new();
                let received = tls.receive(data, &mut plain);
                tls.flush(ctx); // handshake replies, or the alert after an error
                match received {
                    Ok(c) => closed = c,
                    Err(e) => return self.fail(ctx, e),
                }
                self.buf.extend(&plain);
            }
            None => self.buf.extend(data),
        }
        self.process(ctx);
        if closed {
            self.end_of_stream(ctx);
        }
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        self.end_of_stream(ctx);
        ctx.lose_connection();
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        match self.state {
            State::Done => {}
            State::Idle => self.leave_pool(ctx),
            State::Head if self.reused && self.buf.is_empty() && idempotent(&self.method) => {
                self.end_of_stream(ctx)
            }
            _ => {
                let error = FetchError::Closed {
                    reason: reason.to_string(),
                };
                self.fail(ctx, error);
            }
        }
        self.state = State::Done;
    }
}

/// Whether a request may be sent twice without changing its effect.
fn idempotent(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "TRACE")
}
