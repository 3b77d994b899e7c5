//! [`ForwardProxy`]: an HTTP forward proxy, on `--http-port`, so that
//! `curl -x http://127.0.0.1:PORT http://origin/...` and browsers work
//! through Torsion.
//!
//! - `GET` and `HEAD` with an absolute URI (`GET http://host/path
//!   HTTP/1.1`) are forwarded with the client's end-to-end headers and the
//!   response is streamed back as it arrives, paced by the client's reading
//!   ([`relay`](super::relay)). Redirects are the client's business: they
//!   are passed on, not followed. The client's connection is kept alive
//!   between requests when both sides allow it.
//! - `CONNECT host:port` opens a [`tunnel`](super::tunnel): once the
//!   target accepts, `200 Connection established`, then bytes both ways
//!   with backpressure (what `https://` through a proxy uses).
//! - Anything else is refused with a status and a one-line body: a
//!   request without an absolute URI (400), another method (501), a
//!   request with a body (400), an origin that fails (502) or times out
//!   (504), a malformed request (400, or 431 for a head too large).
//!
//! Each connection's state lives in a shared core that the fetch's and
//! the connect's callbacks reach, so the connection moves on even though
//! its protocol is wrapped in a connection-limit policy.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use bytes::Bytes;
use torsion::endpoint::{ClientEndpoint, Family, ProtocolHandle};
use torsion::{CloseReason, ConnectionId, Ctx, Deferred, DelayedCall, Failure, Protocol, Reactor};
use torsion_clients::http::{FetchError, HttpClient};
use torsion_protocols::http::{write_response_head, Headers, Limits, RequestHead, RequestParser, Version};
use torsion_protocols::ReadBuffer;
use torsion_protocols::{Decoder, Parsed};

use super::config::{IDLE_TIMEOUT, TUNNEL_IDLE_TIMEOUT};
use super::relay::{end_to_end, new_relay, via, Relay, RelaySink, VIA};
use super::tunnel::{watch_idle, SharedTunnel, Side, Tunnel, TunnelEnd};

/// Bytes a client may send ahead (pipelined requests, or bytes after a
/// `CONNECT` before the tunnel opens) before reading pauses.
pub const MAX_PIPELINED: usize = 64 * 1024;

/// What every connection of a forward proxy shares.
#[derive(Clone, Debug)]
pub struct ForwardConfig {
    /// Fetches forwarded requests (it should not follow redirects, and
    /// may allow any body size: bodies are streamed, not held).
    pub client: HttpClient,
    /// How long a `CONNECT` target may take to accept.
    pub connect_timeout: Duration,
    /// Bounds on request heads.
    pub limits: Limits,
    /// How long a connection waiting for a request may stay silent, and
    /// how long a head may take to arrive from its first byte (then 408);
    /// default [`IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// How long a tunnel may carry no byte either way before it is
    /// closed; default [`TUNNEL_IDLE_TIMEOUT`].
    pub tunnel_idle_timeout: Duration,
}

impl ForwardConfig {
    /// The forward proxy's settings: `timeout` for a whole forwarded
    /// response, `connect_timeout` for each connect.
    pub fn new(timeout: Duration, connect_timeout: Duration) -> Self {
        Self::with_client(
            HttpClient::new()
                .follow_redirects(false)
                .max_body(u64::MAX)
                .timeout(Some(timeout))
                .connect_timeout(connect_timeout),
            connect_timeout,
        )
    }

    /// The settings with this `client` (it should not follow redirects,
    /// and may allow any body: bodies are streamed, not held).
    pub fn with_client(client: HttpClient, connect_timeout: Duration) -> Self {
        ForwardConfig {
            client,
            connect_timeout,
            limits: Limits::default(),
            idle_timeout: IDLE_TIMEOUT,
            tunnel_idle_timeout: TUNNEL_IDLE_TIMEOUT,
        }
    }
}

/// Where a connection is.
enum State {
    /// Reading a request head.
    Head,
    /// Relaying a response; the Deferred cancels the fetch.
    Fetching(Relay, Option<Deferred<()>>),
    /// Opening a tunnel; the Deferred cancels the connect.
    Connecting(SharedTunnel, Option<Deferred<()>>),
    /// Relaying bytes both ways.
    Tunnel(SharedTunnel, String),
    /// Closing or closed.
    Closed,
}

struct Core {
    id: ConnectionId,
    config: Rc<ForwardConfig>,
    buf: ReadBuffer,
    parser: RequestParser,
    state: State,
    /// Reading is paused because too much was sent ahead.
    read_paused: bool,
    /// The client sent its end-of-file while its tunnel was opening.
    eof_while_connecting: bool,
    /// The wait for the next request (see [`ForwardConfig::idle_timeout`]).
    idle: Option<DelayedCall>,
    /// The head being waited for has started arriving.
    head_started: bool,
}

type Shared = Rc<RefCell<Core>>;

/// One client connection of the forward proxy.
pub struct ForwardProxy {
    config: Rc<ForwardConfig>,
    core: Option<Shared>,
}

impl ForwardProxy {
    /// A connection with the shared `config`.
    pub fn new(config: Rc<ForwardConfig>) -> Self {
        ForwardProxy { config, core: None }
    }
}

/// What to do after a look at the buffer.
enum Action {
    Wait,
    Handle(RequestHead),
    Refuse(Version, u16, String),
}

/// Parses and handles requests while the connection is waiting for one.
fn process(core: &Shared, r: &mut Reactor) {
    loop {
        let action = {
            let mut c = core.borrow_mut();
            match c.state {
                State::Head => {
                    let parsed = {
                        let Core { parser, buf, .. } = &mut *c;
                        parser.decode(buf.unread())
                    };
                    match parsed {
                        Parsed::Incomplete => {
                            // A head's first byte starts its own period;
                            // bytes trickling in after it do not.
                            let first_byte = !c.buf.is_empty() && !c.head_started;
                            c.head_started |= first_byte;
                            drop(c);
                            arm_idle(core, r, first_byte);
                            Action::Wait
                        }
                        Parsed::Error(e) => Action::Refuse(Version::Http11, e.status(), e.to_string()),
                        Parsed::Complete(message, consumed) => {
                            c.buf.consume(consumed);
                            c.parser.reset();
                            c.head_started = false;
                            if let Some(timer) = c.idle.take() {
                                let _ = timer.cancel(r);
                            }
                            Action::Handle(message)
                        }
                    }
                }
                State::Fetching(..) | State::Connecting(..) => {
                    if c.buf.len() > MAX_PIPELINED && !c.read_paused {
                        c.read_paused = true;
                        r.transport(c.id).pause_reading();
                    }
                    Action::Wait
                }
                State::Tunnel(..) | State::Closed => Action::Wait,
            }
        };
        match action {
            Action::Wait => return,
            Action::Refuse(version, status, why) => return refuse(core, r, version, status, &why),
            Action::Handle(head) => handle(core, r, head),
        }
    }
}

/// Starts the wait for a request unless it is running (`restart` starts
/// it over): a connection silent for the whole period is closed quietly;
/// one whose head started arriving gets 408.
fn arm_idle(core: &Shared, r: &mut Reactor, restart: bool) {
    let mut c = core.borrow_mut();
    let period = c.config.idle_timeout;
    if let Some(timer) = c.idle.as_ref().filter(|t| t.active()) {
        if restart {
            let _ = timer.reset(r, period);
        }
        return;
    }
    let weak = Rc::downgrade(core);
    c.idle = Some(r.call_later(period, move |r| {
        let Some(core) = weak.upgrade() else { return };
        let (id, started) = {
            let mut c = core.borrow_mut();
            c.idle = None;
            if !matches!(c.state, State::Head) {
                return;
            }
            (c.id, !c.buf.is_empty())
        };
        if started {
            refuse(
                &core,
                r,
                Version::Http11,
                408,
                &format!("the request head took more than {period:?} to arrive"),
            );
        } else {
            log::debug!("{id}: no request for {period:?}; closing");
            core.borrow_mut().state = State::Closed;
            r.transport(id).lose_connection();
        }
    }));
}

/// Answers with `status` and a one-line body saying `why`, then closes.
fn refuse(core: &Shared, r: &mut Reactor, version: Version, status: u16, why: &str) {
    let id = {
        let mut c = core.borrow_mut();
        c.state = State::Closed;
        c.id
    };
    log::info!("{id}: {status}: {why}");
    let body = format!("torsion-proxy: {}\n", why.replace(['\r', '\n'], " "));
    let mut headers = Headers::new();
    let _ = headers.set("Content-Type", "text/plain; charset=utf-8");
    let _ = headers.set("Content-Length", &body.len().to_string());
    let _ = headers.set("Connection", "close");
    let _ = headers.set("Via", VIA);
    let mut out = Vec::with_capacity(256 + body.len());
    write_response_head(version, status, &headers, &mut out);
    out.extend_from_slice(body.as_bytes());
    let mut t = r.transport(id);
    t.write(&out);
    t.lose_connection();
}

fn handle(core: &Shared, r: &mut Reactor, head: RequestHead) {
    if head.method == "CONNECT" {
        return connect(core, r, head);
    }
    let absolute = {
        let t = head.target.to_ascii_lowercase();
        t.starts_with("http://") || t.starts_with("https://")
    };
    if !absolute {
        return refuse(
            core,
            r,
            head.version,
            400,
            "this is a forward proxy: ask for an absolute URI (GET http://host/path), or CONNECT host:port",
        );
    }
    if head.method != "GET" && head.method != "HEAD" {
        return refuse(
            core,
            r,
            head.version,
            501,
            &format!("{} is not forwarded (GET, HEAD and CONNECT are)", head.method),
        );
    }
    match head.body_kind() {
        Ok(torsion_protocols::http::BodyKind::Length(0)) => {}
        Ok(_) => return refuse(core, r, head.version, 400, "request bodies are not forwarded"),
        Err(e) => return refuse(core, r, head.version, e.status(), &e.to_string()),
    }
    forward(core, r, head);
}

/// Forwards a GET or HEAD and relays its response.
fn forward(core: &Shared, r: &mut Reactor, head: RequestHead) {
    let (id, client) = {
        let c = core.borrow();
        (c.id, c.config.client.clone())
    };
    let url = head.target.clone();
    let relay = new_relay(id, head.version, &head.method, head.keep_alive());
    let mut headers = end_to_end(&head.headers, &["host", "content-length"]);
    let _ = headers.set("Via", &via(&head.headers));
    core.borrow_mut().state = State::Fetching(relay.clone(), None);
    log::info!("{} {url} (forward)", head.method);
    let started = r.now();
    let fetch = client.request_streaming(
        r,
        &head.method,
        &url,
        &headers,
        Bytes::new(),
        RelaySink(relay.clone()),
    );
    let weak = Rc::downgrade(core);
    let method = head.method.clone();
    let watch = fetch.then_both(r, move |r, result| {
        fetched(
            &weak,
            r,
            &relay,
            result.map(|resp| resp.status),
            &method,
            &url,
            started,
        );
        Ok::<(), Failure>(())
    });
    if let State::Fetching(_, slot @ None) = &mut core.borrow_mut().state {
        *slot = Some(watch);
    }
}

/// A forwarded response ended, or failed.
fn fetched(
    weak: &Weak<RefCell<Core>>,
    r: &mut Reactor,
    relay: &Relay,
    result: Result<u16, Failure>,
    method: &str,
    url: &str,
    started: Duration,
) {
    let Some(core) = weak.upgrade() else { return };
    let current = matches!(&core.borrow().state, State::Fetching(rel, _) if Rc::ptr_eq(rel, relay));
    if !current {
        return; // the client left, and the fetch was cancelled for it
    }
    let took = r.now().saturating_sub(started).as_secs_f64();
    let id = core.borrow().id;
    match result {
        Ok(status) => {
            let (keep, relayed) = {
                let mut rel = relay.borrow_mut();
                rel.finish(r);
                (rel.keep_alive(), rel.relayed)
            };
            log::info!("{method} {url}: {status}, {relayed} bytes, took {took:.3} s (forward)");
            if keep {
                let resume = {
                    let mut c = core.borrow_mut();
                    c.state = State::Head;
                    std::mem::take(&mut c.read_paused)
                };
                if resume {
                    r.transport(id).resume_reading();
                }
                process(&core, r);
            } else {
                core.borrow_mut().state = State::Closed;
                r.transport(id).lose_connection();
            }
        }
        Err(failure) => {
            log::info!("{method} {url}: failed: {failure}, after {took:.3} s (forward)");
            if relay.borrow().head_sent() {
                // Too late for a status: cut the connection, so the
                // client sees the body is incomplete.
                core.borrow_mut().state = State::Closed;
                r.transport(id).abort_connection();
            } else {
                let version = relay.borrow().version();
                refuse(&core, r, version, gateway_status(&failure), &failure.to_string());
            }
        }
    }
}

/// 400 for a URI the client cannot fetch, 504 for a timeout, 502 for any
/// other failure of the origin.
fn gateway_status(failure: &Failure) -> u16 {
    match failure.find::<FetchError>() {
        Some(FetchError::BadUrl { .. }) => 400,
        Some(FetchError::Timeout { .. } | FetchError::ConnectTimeout { .. }) => 504,
        _ if failure
            .find::<torsion::ConnectError>()
            .is_some_and(|e| matches!(e, torsion::ConnectError::TimedOut)) =>
        {
            504
        }
        _ => 502,
    }
}

/// `host:port` of a CONNECT, or why not.
pub fn parse_authority(target: &str) -> Result<(String, u16), String> {
    let bad = || format!("CONNECT needs host:port, not {target:?}");
    let (host, port) = if let Some(v6) = target.strip_prefix('[') {
        let (host, rest) = v6.split_once(']').ok_or_else(bad)?;
        (host, rest.strip_prefix(':').ok_or_else(bad)?)
    } else {
        target.rsplit_once(':').ok_or_else(bad)?
    };
    let port: u16 = port.parse().ok().filter(|&p| p != 0).ok_or_else(bad)?;
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
    if !host_ok {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// Opens a tunnel for a CONNECT.
fn connect(core: &Shared, r: &mut Reactor, head: RequestHead) {
    let (host, port) = match parse_authority(&head.target) {
        Ok(hp) => hp,
        Err(why) => return refuse(core, r, head.version, 400, &why),
    };
    let (id, timeout) = {
        let c = core.borrow();
        (c.id, c.config.connect_timeout)
    };
    let target = head.target.clone();
    log::info!("CONNECT {target}");
    let tunnel = Tunnel::new(id);
    core.borrow_mut().state = State::Connecting(tunnel.clone(), None);
    let weak = Rc::downgrade(core);
    let opened = target.clone();
    let end = TunnelEnd::new(tunnel.clone(), move |ctx| match weak.upgrade() {
        Some(core) => open_tunnel(&core, ctx, opened),
        None => ctx.lose_connection(),
    });
    let endpoint = ClientEndpoint::Tcp {
        host,
        port,
        timeout,
        family: Family::Any,
    };
    let d: Deferred<ProtocolHandle<TunnelEnd>> = endpoint.connect_protocol(r, end);
    let weak = Rc::downgrade(core);
    let watch = d.then_both(r, move |r, result| {
        if let (Err(failure), Some(core)) = (result, weak.upgrade()) {
            let current = matches!(&core.borrow().state, State::Connecting(t, _) if Rc::ptr_eq(t, &tunnel));
            if current && !failure.is_cancelled() {
                let status = gateway_status(&failure);
                refuse(
                    &core,
                    r,
                    head.version,
                    status,
                    &format!("cannot connect to {target}: {failure}"),
                );
            }
        }
        Ok::<(), Failure>(())
    });
    if let State::Connecting(_, slot @ None) = &mut core.borrow_mut().state {
        *slot = Some(watch);
    }
}

/// The target accepted (`ctx` is its connection): answer 200 and relay.
fn open_tunnel(core: &Shared, ctx: &mut Ctx<'_>, target: String) {
    let (client, leftover, resume, eof) = {
        let mut c = core.borrow_mut();
        let tunnel = match &c.state {
            State::Connecting(t, _) => t.clone(),
            _ => {
                drop(c);
                return ctx.lose_connection(); // the client left meanwhile
            }
        };
        c.state = State::Tunnel(tunnel.clone(), target.clone());
        let leftover = c.buf.unread().to_vec();
        c.buf.clear();
        let eof = c.eof_while_connecting.then_some(tunnel);
        (c.id, leftover, std::mem::take(&mut c.read_paused), eof)
    };
    log::info!("CONNECT {target}: tunnel open");
    if let State::Tunnel(tunnel, _) = &core.borrow().state {
        watch_idle(ctx, tunnel, core.borrow().config.tunnel_idle_timeout);
    }
    let answer = format!("HTTP/1.1 200 Connection established\r\nVia: {VIA}\r\n\r\n");
    let mut t = ctx.transport(client);
    t.write(answer.as_bytes());
    if resume {
        t.resume_reading();
    }
    if !leftover.is_empty() {
        ctx.write(&leftover);
    }
    if let Some(tunnel) = eof {
        tunnel.end_of_file(&mut ctx.transport(client), Side::Client);
    }
}

impl ForwardProxy {
    fn core(&self) -> Option<Shared> {
        self.core.clone()
    }
}

impl Protocol for ForwardProxy {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        let limits = self.config.limits;
        self.core = Some(Rc::new(RefCell::new(Core {
            id: ctx.id(),
            config: self.config.clone(),
            buf: ReadBuffer::new(),
            parser: RequestParser::new(limits),
            state: State::Head,
            read_paused: false,
            eof_while_connecting: false,
            idle: None,
            head_started: false,
        })));
        if let Some(core) = self.core() {
            arm_idle(&core, ctx, false);
        }
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        let Some(core) = self.core() else { return };
        let tunnel = {
            let mut c = core.borrow_mut();
            match &c.state {
                State::Tunnel(t, _) => Some(t.clone()),
                State::Closed => return,
                _ => {
                    c.buf.extend(data);
                    None
                }
            }
        };
        match tunnel {
            Some(t) => t.relay(ctx, Side::Client, data),
            None => process(&core, ctx),
        }
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        let Some(core) = self.core() else { return };
        let state = std::mem::replace(&mut core.borrow_mut().state, State::Closed);
        match state {
            State::Tunnel(t, target) => {
                core.borrow_mut().state = State::Tunnel(t.clone(), target);
                t.end_of_file(ctx, Side::Client);
            }
            // A tunnel's client may half-close before it opens (`printf
            // 'CONNECT ...' | nc -N`): the target hears it once connected.
            State::Connecting(t, work) => {
                let mut c = core.borrow_mut();
                c.state = State::Connecting(t, work);
                c.eof_while_connecting = true;
            }
            // An HTTP client does not half-close: it left. Stop its work.
            State::Fetching(_, Some(work)) => {
                work.cancel(ctx);
                ctx.lose_connection();
            }
            _ => ctx.lose_connection(),
        }
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        let Some(core) = self.core() else { return };
        if let Some(timer) = core.borrow_mut().idle.take() {
            let _ = timer.cancel(ctx);
        }
        let state = std::mem::replace(&mut core.borrow_mut().state, State::Closed);
        match state {
            State::Tunnel(t, target) => {
                let (up, down) = t.relayed();
                log::info!("CONNECT {target}: tunnel closed ({reason}), {up} bytes up, {down} bytes down");
                t.closed(ctx, Side::Client);
            }
            State::Fetching(_, Some(work)) | State::Connecting(_, Some(work)) => work.cancel(ctx),
            State::Connecting(t, None) => t.closed(ctx, Side::Client),
            _ => {}
        }
    }

    fn pause_producing(&mut self, ctx: &mut Ctx<'_>) {
        let Some(core) = self.core() else { return };
        let c = core.borrow();
        match &c.state {
            State::Fetching(relay, _) => relay.borrow_mut().pause(ctx),
            State::Tunnel(t, _) => t.pause(ctx, Side::Client),
            _ => ctx.pause_reading(),
        }
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        let Some(core) = self.core() else { return };
        let c = core.borrow();
        match &c.state {
            State::Fetching(relay, _) => relay.borrow_mut().resume(ctx),
            State::Tunnel(t, _) => t.resume(ctx, Side::Client),
            _ if !c.read_paused => ctx.resume_reading(),
            _ => {}
        }
    }
}
