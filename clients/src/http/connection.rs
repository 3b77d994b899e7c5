//! [`HttpConnection`]: the protocol of one attempt: sends the request,
//! reads one response, over TLS when the URL is `https://`.

use std::sync::Arc;

use rustls::ClientConfig;
use torsion::{CloseReason, Ctx, Protocol};
use torsion_protocols::http::{Body, BodyDecoder, Limits, Parse, ResponseParser};
use torsion_protocols::ReadBuffer;

use super::exchange::{self, AfterHead, Shared};
use super::tls::TlsLayer;
use super::FetchError;

enum State {
    /// Reading the response head.
    Head,
    /// Reading the body.
    Body(BodyDecoder),
    /// Nothing more to read: the fetch moved on or ended.
    Done,
}

/// One connection of a fetch.
pub(crate) struct HttpConnection {
    exchange: Shared,
    attempt: u64,
    request: Vec<u8>,
    method: String,
    tls: Option<TlsLayer>,
    buf: ReadBuffer,
    parser: ResponseParser,
    state: State,
}

impl HttpConnection {
    pub(crate) fn new(
        exchange: Shared,
        attempt: u64,
        request: Vec<u8>,
        method: &str,
        tls: Option<(Arc<ClientConfig>, String)>,
        limits: Limits,
    ) -> Result<Self, FetchError> {
        let tls = match tls {
            Some((config, host)) => Some(TlsLayer::new(config, &host)?),
            None => None,
        };
        Ok(HttpConnection {
            exchange,
            attempt,
            request,
            method: method.to_string(),
            tls,
            buf: ReadBuffer::new(),
            parser: ResponseParser::new(limits),
            state: State::Head,
        })
    }

    fn current(&self) -> bool {
        exchange::is_current(&self.exchange, self.attempt)
    }

    /// Ends this attempt with `error` (if it is still the current one).
    fn fail(&mut self, ctx: &mut Ctx<'_>, error: FetchError) {
        self.state = State::Done;
        if self.current() {
            exchange::finish(ctx, &self.exchange, Err(error));
        }
        ctx.abort_connection();
    }

    /// Reads heads and body from the buffer as far as it goes.
    fn process(&mut self, ctx: &mut Ctx<'_>) {
        loop {
            if !self.current() {
                self.state = State::Done;
                ctx.lose_connection();
                return;
            }
            match &mut self.state {
                State::Done => return,
                State::Head => match self.parser.parse(self.buf.unread()) {
                    Parse::Incomplete => return,
                    Parse::Error(e) => {
                        return self.fail(
                            ctx,
                            FetchError::Malformed {
                                reason: e.to_string(),
                            },
                        )
                    }
                    Parse::Complete { message, consumed } => {
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
                        match exchange::on_head(ctx, &self.exchange, message) {
                            AfterHead::ReadBody => self.state = State::Body(BodyDecoder::new(kind)),
                            AfterHead::Stop => {
                                self.state = State::Done;
                                ctx.lose_connection();
                                return;
                            }
                        }
                    }
                },
                State::Body(decoder) => match decoder.decode(self.buf.unread()) {
                    Body::Data { data, consumed } => {
                        let go_on = exchange::on_data(ctx, &self.exchange, data);
                        self.buf.consume(consumed);
                        if !go_on {
                            self.state = State::Done;
                            ctx.abort_connection();
                            return;
                        }
                    }
                    Body::End { .. } => {
                        self.state = State::Done;
                        exchange::on_end(ctx, &self.exchange);
                        ctx.lose_connection();
                        return;
                    }
                    Body::Incomplete => return,
                    Body::Error(e) => {
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
            State::Body(decoder) => match decoder.finish() {
                Ok(()) => {
                    self.state = State::Done;
                    if self.current() {
                        exchange::on_end(ctx, &self.exchange);
                    }
                }
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

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        if matches!(self.state, State::Done) {
            return;
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
        if !matches!(self.state, State::Done) {
            let error = FetchError::Closed {
                reason: reason.to_string(),
            };
            self.fail(ctx, error);
        }
    }
}
