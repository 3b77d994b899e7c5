//! [`Channel`]: one HTTP connection on the server side (Twisted's
//! `HTTPChannel`): reads requests one after the other, hands each to the
//! site, and moves on when its response is finished.
//!
//! # States
//!
//! ```text
//!            head parsed               body complete
//!  ┌──────┐ ───────────▶ ┌──────┐ ─────────────────▶ ┌───────────┐
//!  │ Head │              │ Body │                    │ Answering │
//!  └──────┘ ◀─────────────────────────────────────── └───────────┘
//!     │        response finished, keep-alive                │
//!     │ bad request, limit, timeout, EOF                     │ finished, no keep-alive
//!     ▼                                                      ▼
//!  ┌────────┐ ◀──────────────────────────────────────────────┘
//!  │ Closed │
//!  └────────┘
//! ```
//!
//! Only one request is answered at a time: bytes of pipelined requests
//! wait in the read buffer (bounded: reading pauses past
//! `max_pipelined`) and are parsed once the response before them is
//! finished, so responses leave in order without buffering any of them.
//!
//! # A client that reads slowly, or not at all
//!
//! When the write buffer rises above its high-water mark, no further
//! pipelined request is started, reading pauses, and the request being
//! answered hears it ([`Request::is_paused`], its
//! [`Producer`](super::Producer)) until the client catches up. A client
//! that reads nothing for a whole idle period is aborted.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::SystemTime;

use bytes::Bytes;
use torsion::{Address, CloseReason, ConnectionId, Ctx, DelayedCall, Protocol, Reactor, DEFAULT_HIGH_WATER};
use torsion_protocols::http::{
    parse_form, write_response_head, Body, BodyDecoder, BodyKind, Headers, HttpError, RequestHead,
    RequestParser, Version,
};
use torsion_protocols::ReadBuffer;
use torsion_protocols::{Decoder, Parsed};

use super::pages::error_body;
use super::request::RequestData;
use super::site::SiteShared;
use super::{escape_html, LogEntry, Render, Request};

enum State {
    /// Waiting for a request head.
    Head,
    /// Reading the body of `head`.
    Body {
        head: RequestHead,
        decoder: BodyDecoder,
        body: Vec<u8>,
        received: SystemTime,
    },
    /// The request is being answered.
    Answering(Request),
    /// No more requests on this connection.
    Closed,
}

/// The server side of one HTTP connection: a thin protocol around its
/// [`Core`], which requests reach (to go on once they finish) whatever
/// wraps the protocol (a connection limit, traffic logging).
pub(crate) struct Channel {
    core: Rc<RefCell<Core>>,
}

/// How a request reaches its connection.
pub(crate) type CoreRef = Weak<RefCell<Core>>;

/// A connection's state and logic.
pub(crate) struct Core {
    me: CoreRef,
    site: Rc<SiteShared>,
    peer: Address,
    buf: ReadBuffer,
    parser: RequestParser,
    state: State,
    idle: Option<DelayedCall>,
    /// When the head being read started arriving.
    head_started: Option<SystemTime>,
    /// The client is behind: the write buffer is above its high-water
    /// mark. No new request is started, and reading stays paused, until it
    /// catches up.
    write_paused: bool,
}

impl Channel {
    pub(crate) fn new(site: Rc<SiteShared>, peer: Address) -> Self {
        let parser = RequestParser::new(site.config.limits);
        let core = Rc::new_cyclic(|me| {
            RefCell::new(Core {
                me: me.clone(),
                site,
                peer,
                buf: ReadBuffer::new(),
                parser,
                state: State::Head,
                idle: None,
                head_started: None,
                write_paused: false,
            })
        });
        Channel { core }
    }
}

/// A request on connection `id` finished: go on with the next one. When
/// the connection is busy (the request finished inside its own render),
/// it checks by itself once the render returns.
pub(crate) fn resume(core: &CoreRef, reactor: &mut Reactor, id: ConnectionId) {
    if let Some(core) = core.upgrade() {
        if let Ok(mut core) = core.try_borrow_mut() {
            core.process(&mut reactor.transport(id));
        }
    }
}

impl Core {
    /// Handles whatever the buffer holds, as far as it goes.
    fn process(&mut self, ctx: &mut Ctx<'_>) {
        loop {
            match &mut self.state {
                State::Closed => return,
                State::Answering(request) => {
                    if !request.is_finished() {
                        self.update_reading(ctx);
                        if !self.write_paused {
                            self.cancel_idle(ctx);
                        }
                        return;
                    }
                    if !request.keep_alive() || ctx.is_closing() {
                        self.state = State::Closed;
                        ctx.lose_connection();
                        return;
                    }
                    self.state = State::Head;
                    self.update_reading(ctx);
                }
                State::Head => {
                    // Past the high-water mark the reactor's pause notice
                    // is on its way (the Channel keeps the default
                    // watermarks); stop at once rather than answer every
                    // request a read brought in first.
                    if self.write_paused || ctx.buffered() > DEFAULT_HIGH_WATER {
                        // The client is not reading its responses: answer
                        // nothing more until it does (or the idle timeout).
                        self.arm_idle(ctx, false);
                        return;
                    }
                    if self.buf.is_empty() {
                        self.arm_idle(ctx, false);
                        return;
                    }
                    if self.head_started.is_none() {
                        // A request's first byte: it has a whole period to
                        // arrive, from now, and no more (a slowloris
                        // trickling bytes does not restart the wait).
                        self.head_started = Some(SystemTime::now());
                        self.arm_idle(ctx, true);
                    }
                    match self.parser.decode(self.buf.unread()) {
                        Parsed::Incomplete => {
                            self.arm_idle(ctx, false);
                            return;
                        }
                        Parsed::Error(e) => return self.refuse(ctx, e.status(), &e.to_string(), None),
                        Parsed::Complete(message, consumed) => {
                            self.buf.consume(consumed);
                            self.start_body(ctx, message);
                        }
                    }
                }
                State::Body { decoder, body, .. } => match decoder.decode(self.buf.unread()) {
                    Parsed::Complete(Body::Data(data), consumed) => {
                        let limit = self.site.config.max_body;
                        if body.len() as u64 + data.len() as u64 > limit {
                            let e = HttpError::BodyTooLarge { limit };
                            return self.refuse(ctx, 413, &e.to_string(), None);
                        }
                        body.extend_from_slice(data);
                        self.buf.consume(consumed);
                    }
                    Parsed::Complete(Body::End, consumed) => {
                        self.buf.consume(consumed);
                        self.dispatch(ctx);
                    }
                    Parsed::Incomplete => {
                        self.arm_idle(ctx, false);
                        return;
                    }
                    Parsed::Error(e) => return self.refuse(ctx, e.status(), &e.to_string(), None),
                },
            }
        }
    }

    /// A head arrived: check it, then read its body.
    fn start_body(&mut self, ctx: &mut Ctx<'_>, head: RequestHead) {
        let received = self.head_started.take().unwrap_or_else(SystemTime::now);
        let line = format!("{} {} {}", head.method, head.target, head.version.as_str());
        if head.version == Version::Http11 && !head.headers.contains("host") {
            return self.refuse(ctx, 400, "an HTTP/1.1 request needs a Host header", Some(&line));
        }
        let kind = match head.body_kind() {
            Ok(kind) => kind,
            Err(e) => return self.refuse(ctx, e.status(), &e.to_string(), Some(&line)),
        };
        let limit = self.site.config.max_body;
        if let BodyKind::Length(n) = kind {
            if n > limit {
                let e = HttpError::BodyTooLarge { limit };
                return self.refuse(ctx, 413, &e.to_string(), Some(&line));
            }
        }
        let has_body = kind != BodyKind::Length(0);
        if has_body && head.expects_continue() && self.buf.is_empty() {
            ctx.write(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        self.state = State::Body {
            head,
            decoder: BodyDecoder::new(kind),
            body: Vec::new(),
            received,
        };
    }

    /// A whole request arrived: find its resource and render it.
    fn dispatch(&mut self, ctx: &mut Ctx<'_>) {
        let State::Body {
            head, body, received, ..
        } = std::mem::replace(&mut self.state, State::Closed)
        else {
            return;
        };
        self.cancel_idle(ctx);
        let path = match origin_path(&head.target) {
            Some(path) => path.to_string(),
            None => {
                let line = format!("{} {} {}", head.method, head.target, head.version.as_str());
                return self.refuse(ctx, 400, "the request target is not a path", Some(&line));
            }
        };
        let query = head.query().map(parse_form).unwrap_or_default();
        let is_form = head.headers.get("content-type").is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        });
        let form = if is_form {
            parse_form(&String::from_utf8_lossy(&body))
        } else {
            Vec::new()
        };
        let keep_alive = head.keep_alive();
        let request = Request::new(
            RequestData {
                method: head.method,
                target: head.target,
                path,
                version: head.version,
                headers: head.headers,
                query,
                form,
                body: Bytes::from(body),
                peer: Some(self.peer.clone()),
                conn: ctx.id(),
                received,
                keep_alive,
            },
            self.site.clone(),
            self.me.clone(),
        );
        self.state = State::Answering(request.clone());
        render(ctx, &self.site, &request);
    }

    /// Answers a request that cannot be served with `status`, then closes.
    fn refuse(&mut self, ctx: &mut Ctx<'_>, status: u16, why: &str, request_line: Option<&str>) {
        log::debug!("{}: {status}: {why}", ctx.id());
        self.state = State::Closed;
        self.cancel_idle(ctx);
        let body = error_body(status, &escape_html(why));
        let mut headers = Headers::new();
        let _ = headers.set("Content-Type", "text/html; charset=utf-8");
        let _ = headers.set("Content-Length", &body.len().to_string());
        let _ = headers.set("Connection", "close");
        let _ = headers.set("Date", &self.site.date());
        let _ = headers.set("Server", "Torsion");
        let mut out = Vec::with_capacity(256 + body.len());
        write_response_head(Version::Http11, status, &headers, &mut out);
        out.extend_from_slice(body.as_bytes());
        ctx.write(&out);
        ctx.lose_connection();
        let host = match &self.peer {
            Address::Tcp(addr) => addr.ip().to_string(),
            _ => "-".to_string(),
        };
        self.site.log_access(&LogEntry {
            host: &host,
            time: self.head_started.take().unwrap_or_else(SystemTime::now),
            request_line: request_line.unwrap_or("-"),
            status,
            bytes: body.len() as u64,
        });
    }

    /// Starts the wait for the client (a request's bytes, or its reading
    /// of a response), unless one is running; `restart` starts a running
    /// one over.
    ///
    /// The wait restarts only when a request starts arriving and when the
    /// client catches up with its responses: a whole request must arrive
    /// within one period of its first byte, whatever trickles in
    /// meanwhile (a slowloris sending a byte a second is still cut off).
    fn arm_idle(&mut self, ctx: &mut Ctx<'_>, restart: bool) {
        let period = self.site.config.idle_timeout;
        if let Some(timer) = &self.idle {
            if timer.active() {
                if restart {
                    let _ = timer.reset(ctx, period);
                }
                return;
            }
        }
        let (id, core) = (ctx.id(), self.me.clone());
        self.idle = Some(ctx.call_later(period, move |r| {
            if let Some(core) = core.upgrade() {
                if let Ok(mut core) = core.try_borrow_mut() {
                    core.idle_expired(&mut r.transport(id));
                }
            }
        }));
    }

    fn cancel_idle(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(timer) = self.idle.take() {
            let _ = timer.cancel(ctx);
        }
    }

    /// Pauses reading while the client is behind with its responses, or
    /// while more than `max_pipelined` bytes wait behind the request being
    /// answered; reads again once neither holds.
    fn update_reading(&mut self, ctx: &mut Ctx<'_>) {
        let answering = matches!(&self.state, State::Answering(r) if !r.is_finished());
        let too_far_ahead = answering && self.buf.len() > self.site.config.max_pipelined;
        let pause = self.write_paused || too_far_ahead;
        if pause && !ctx.is_reading_paused() {
            ctx.pause_reading();
        } else if !pause && ctx.is_reading_paused() {
            ctx.resume_reading();
        }
    }

    /// The write buffer rose above its high-water mark: the client reads
    /// slower than it is answered.
    fn pause_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.write_paused = true;
        self.update_reading(ctx);
        // However long the response, a client that reads none of it for a
        // whole period is gone.
        self.arm_idle(ctx, false);
        if let State::Answering(request) = &self.state {
            let request = request.clone();
            request.set_paused(ctx, true);
        }
        self.process(ctx);
    }

    /// The client caught up.
    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.write_paused = false;
        self.cancel_idle(ctx);
        if let State::Answering(request) = &self.state {
            let request = request.clone();
            request.set_paused(ctx, false);
        }
        self.update_reading(ctx);
        self.process(ctx);
    }

    /// The client kept us waiting too long: 408 if it had started a
    /// request, a quiet close if it had not (as nginx does).
    fn idle_expired(&mut self, ctx: &mut Ctx<'_>) {
        self.idle = None;
        if self.write_paused {
            // It reads nothing: a 408 would not reach it, and a clean close
            // would wait for it for ever.
            log::info!(
                "{}: the client read none of its response for {:?}; closing",
                ctx.id(),
                self.site.config.idle_timeout
            );
            self.state = State::Closed;
            ctx.abort_with(CloseReason::TimedOut);
            return;
        }
        match self.state {
            State::Head if self.buf.is_empty() => {
                self.state = State::Closed;
                ctx.lose_connection();
            }
            State::Head | State::Body { .. } => {
                self.refuse(ctx, 408, "the request took too long to arrive", None)
            }
            State::Answering(_) | State::Closed => {}
        }
    }
}

/// The path of an origin-form (`/a?b`) or absolute-form
/// (`http://host/a?b`) target, without the query.
fn origin_path(target: &str) -> Option<&str> {
    let path = if target.starts_with('/') {
        target
    } else {
        let rest = target
            .strip_prefix("http://")
            .or_else(|| target.strip_prefix("https://"))?;
        rest.find('/').map_or("/", |i| &rest[i..])
    };
    Some(path.split_once('?').map_or(path, |(p, _)| p))
}

/// Finds the resource and renders it; 404 and 405 are answered here.
fn render(ctx: &mut Ctx<'_>, site: &SiteShared, request: &Request) {
    let Some(resource) = site.resolve(request) else {
        request.set_status(404);
        let body = error_body(404, &format!("No resource at {}.", escape_html(request.path())));
        return request.respond(ctx, Bytes::from(body));
    };
    let allowed = resource.allowed_methods();
    let method = request.method();
    let allowed_here = allowed.contains(&method) || (method == "HEAD" && allowed.contains(&"GET"));
    let outcome = if allowed_here {
        resource.render(ctx, request)
    } else {
        Render::NotAllowed
    };
    match outcome {
        Render::Body(body) => request.respond(ctx, body),
        Render::NotDoneYet => {}
        Render::NotAllowed if request.is_started() => request.finish(ctx),
        Render::NotAllowed => {
            request.set_status(405);
            request.set_header("Allow", &allowed.join(", "));
            let body = error_body(405, &format!("{} is not allowed here.", escape_html(method)));
            request.respond(ctx, Bytes::from(body));
        }
    }
}

impl Protocol for Channel {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        // Start the wait for the first request: a client that connects
        // and sends nothing is closed after one idle period too.
        self.core.borrow_mut().process(ctx);
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        self.core.borrow_mut().data_received(ctx, data);
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        self.core.borrow_mut().read_connection_lost(ctx);
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        self.core.borrow_mut().connection_lost(ctx, reason);
    }

    fn pause_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.core.borrow_mut().pause_producing(ctx);
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.core.borrow_mut().resume_producing(ctx);
    }
}

/// The connection's events, as the protocol hands them over.
impl Core {
    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        if matches!(self.state, State::Closed) {
            return;
        }
        self.buf.extend(data);
        self.process(ctx);
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        // No more requests. One being answered later is abandoned: HTTP
        // clients do not half-close, so end-of-file means the client left.
        if let State::Body { .. } = self.state {
            log::debug!("{}: the client stopped in the middle of a request", ctx.id());
        }
        self.state = match std::mem::replace(&mut self.state, State::Closed) {
            State::Answering(request) if !request.is_finished() => {
                request.abandon(ctx, CloseReason::Done);
                State::Closed
            }
            _ => State::Closed,
        };
        self.cancel_idle(ctx);
        ctx.lose_connection();
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        self.cancel_idle(ctx);
        if let State::Answering(request) = std::mem::replace(&mut self.state, State::Closed) {
            request.abandon(ctx, reason);
        }
    }
}
