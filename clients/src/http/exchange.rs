//! One fetch from start to end: connect, send, read, follow redirects,
//! time out, report. [`HttpConnection`](super::connection) reports what it
//! reads here; each connection is one attempt, and events of an attempt
//! that is no longer current (after a redirect, a timeout) are ignored.

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use torsion::endpoint::{ClientEndpoint, Family, ProtocolHandle, ResolveError};
use torsion::{ConnectError, ConnectionId, Deferred, DelayedCall, Failure, ProtocolAccessError, Reactor};
use torsion_protocols::http::{write_request_head, Headers, ResponseHead};

use super::connection::{HttpConnection, PoolSlot};
use super::pool::{Origin, Pool};
use super::{BodySink, BodySource, FetchError, HttpClient, Response, Url};

/// What to send, as the caller asked (redirects may change it).
pub(crate) struct RequestSpec {
    pub(crate) method: String,
    pub(crate) headers: Headers,
    pub(crate) body: Bytes,
}

/// Where the current attempt is.
enum Attempt {
    Idle,
    Connecting(Deferred<ProtocolHandle<HttpConnection>>),
    Connected(ConnectionId),
}

/// What the connection does after a head.
pub(crate) enum AfterHead {
    /// Read the body.
    ReadBody,
    /// Stop: the fetch went elsewhere (a redirect) or ended.
    Stop,
}

pub(crate) struct Exchange {
    client: HttpClient,
    spec: RequestSpec,
    url: Url,
    redirects: usize,
    sink: Rc<RefCell<dyn BodySink>>,
    /// `None` once the fetch has an outcome.
    deferred: Option<Deferred<Response>>,
    attempt: Attempt,
    /// Numbers connections, so events from an old one are recognized.
    attempt_no: u64,
    timer: Option<DelayedCall>,
    response: Option<Response>,
    received: u64,
}

pub(crate) type Shared = Rc<RefCell<Exchange>>;

impl Exchange {
    #[track_caller]
    pub(crate) fn start(
        reactor: &mut Reactor,
        client: HttpClient,
        url: &str,
        spec: RequestSpec,
        sink: Rc<RefCell<dyn BodySink>>,
    ) -> Deferred<Response> {
        let url = match Url::parse(url) {
            Ok(url) => url,
            Err(e) => return torsion::defer::fail(e),
        };
        let shared: Shared = Rc::new(RefCell::new(Exchange {
            client,
            spec,
            url,
            redirects: 0,
            sink,
            deferred: None,
            attempt: Attempt::Idle,
            attempt_no: 0,
            timer: None,
            response: None,
            received: 0,
        }));
        let weak = Rc::downgrade(&shared);
        let d = Deferred::with_canceller(move |r, _| {
            if let Some(shared) = weak.upgrade() {
                // The Deferred fails with Cancelled; just stop the work.
                shared.borrow_mut().deferred = None;
                stop_work(r, &shared, false);
            }
        });
        shared.borrow_mut().deferred = Some(d.clone());
        let timeout = shared.borrow().client.settings().timeout;
        if let Some(after) = timeout {
            let weak = Rc::downgrade(&shared);
            let timer = reactor.call_later(after, move |r| {
                if let Some(shared) = weak.upgrade() {
                    finish(r, &shared, Err(FetchError::Timeout { after }));
                }
            });
            shared.borrow_mut().timer = Some(timer);
        }
        connect(reactor, &shared);
        d
    }
}

/// Whether `attempt` is the current one of a fetch still running.
pub(crate) fn is_current(shared: &Shared, attempt: u64) -> bool {
    let ex = shared.borrow();
    ex.deferred.is_some() && ex.attempt_no == attempt
}

/// Sends the current request: on an idle kept connection to the same
/// origin if there is one, else on a new connection.
fn connect(reactor: &mut Reactor, shared: &Shared) {
    send(reactor, shared, false);
}

/// A kept connection was closed by the server as the request went out on
/// it: send the request again, on a new connection.
pub(crate) fn retry(reactor: &mut Reactor, shared: &Shared) {
    send(reactor, shared, true);
}

fn send(reactor: &mut Reactor, shared: &Shared, fresh: bool) {
    let (request, method, origin, pool, attempt) = {
        let mut ex = shared.borrow_mut();
        ex.attempt_no += 1;
        ex.received = 0;
        ex.attempt = Attempt::Idle;
        let origin: Origin = (ex.url.scheme(), ex.url.host().to_string(), ex.url.port());
        let pool = ex.client.settings().keep_alive.then(|| ex.client.pool());
        (compose(&ex), ex.spec.method.clone(), origin, pool, ex.attempt_no)
    };
    if let (Some(pool), false) = (&pool, fresh) {
        loop {
            let Some(id) = pool.borrow_mut().take(reactor, &origin) else {
                break;
            };
            let (ex, req) = (shared.clone(), request.clone());
            match reactor.with_protocol(id, |c: &mut HttpConnection, ctx| {
                c.reuse(ctx, ex, attempt, req, &method)
            }) {
                Ok(()) => {
                    log::debug!("{id}: reused for {}", shared.borrow().url);
                    if is_current(shared, attempt) {
                        shared.borrow_mut().attempt = Attempt::Connected(id);
                    }
                    return;
                }
                // Busy: it is handing over its last response right now
                // (this request was made from that response's callback).
                // Keep it for later and use a new connection.
                Err(ProtocolAccessError::Busy) => {
                    if !Pool::put(pool, reactor, origin.clone(), id) {
                        reactor.transport(id).lose_connection();
                    }
                    break;
                }
                Err(_) => continue,
            }
        }
    }
    let slot = pool.map(|pool| PoolSlot {
        pool: Rc::downgrade(&pool),
        origin,
    });
    open(reactor, shared, request, slot);
}

/// Opens a new connection for the current request.
fn open(reactor: &mut Reactor, shared: &Shared, request: Vec<u8>, slot: Option<PoolSlot>) {
    let (connection, endpoint, attempt) = {
        let ex = shared.borrow_mut();
        let tls = match ex.url.scheme() {
            super::Scheme::Http => None,
            super::Scheme::Https => match ex.client.tls_config() {
                Ok(config) => Some(config),
                Err(e) => {
                    drop(ex);
                    return finish(reactor, shared, Err(e));
                }
            },
        };
        let settings = ex.client.settings();
        let connection = match HttpConnection::new(
            shared.clone(),
            ex.attempt_no,
            request,
            &ex.spec.method,
            tls.map(|config| (config, ex.url.host().to_string())),
            settings.limits,
            slot,
        ) {
            Ok(c) => c,
            Err(e) => {
                drop(ex);
                return finish(reactor, shared, Err(e));
            }
        };
        let endpoint = ClientEndpoint::Tcp {
            host: ex.url.host().to_string(),
            port: ex.url.port(),
            timeout: settings.connect_timeout,
            family: Family::Any,
        };
        (connection, endpoint, ex.attempt_no)
    };
    let d = endpoint.connect_protocol(reactor, connection);
    shared.borrow_mut().attempt = Attempt::Connecting(d.clone());
    // The attempt's chain owns the fetch while it resolves and connects
    // (nothing else may hold it then); the cycle ends when the attempt ends.
    let owner = shared.clone();
    let addr = format!("{}:{}", endpoint_host(&endpoint), endpoint_port(&endpoint));
    let connect_timeout = shared.borrow().client.settings().connect_timeout;
    let _watch = d.then_both(reactor, move |r, result| {
        let shared = owner;
        match result {
            Ok(handle) => {
                if is_current(&shared, attempt) {
                    shared.borrow_mut().attempt = Attempt::Connected(handle.id());
                }
            }
            Err(failure) => {
                if is_current(&shared, attempt) {
                    if let Some(e) = connect_error(&failure, &addr, connect_timeout) {
                        finish(r, &shared, Err(e));
                    }
                }
            }
        }
        Ok::<(), Failure>(())
    });
}

fn endpoint_host(endpoint: &ClientEndpoint) -> String {
    match endpoint {
        ClientEndpoint::Tcp { host, .. } if host.contains(':') => format!("[{host}]"),
        ClientEndpoint::Tcp { host, .. } => host.clone(),
        ClientEndpoint::Unix { path } => path.display().to_string(),
    }
}

fn endpoint_port(endpoint: &ClientEndpoint) -> u16 {
    match endpoint {
        ClientEndpoint::Tcp { port, .. } => *port,
        ClientEndpoint::Unix { .. } => 0,
    }
}

/// The typed error of a failed connect; `None` if we cancelled it.
fn connect_error(failure: &Failure, addr: &str, timeout: std::time::Duration) -> Option<FetchError> {
    if let Some(e) = failure.find::<ResolveError>() {
        return Some(FetchError::Resolve {
            host: e.host.clone(),
            reason: e.reason.clone(),
        });
    }
    match failure.find::<ConnectError>() {
        Some(ConnectError::Refused) => Some(FetchError::Refused {
            addr: addr.to_string(),
        }),
        Some(ConnectError::TimedOut) => Some(FetchError::ConnectTimeout { after: timeout }),
        Some(ConnectError::Cancelled) => None,
        Some(other) => Some(FetchError::Connect {
            addr: addr.to_string(),
            reason: other.to_string(),
        }),
        None if failure.is_cancelled() => None,
        None => Some(FetchError::Connect {
            addr: addr.to_string(),
            reason: failure.to_string(),
        }),
    }
}

/// The request's bytes: head, then body.
fn compose(ex: &Exchange) -> Vec<u8> {
    let settings = ex.client.settings();
    let mut headers = Headers::new();
    let _ = headers.set("Host", &ex.url.host_header());
    let _ = headers.set("User-Agent", &settings.user_agent);
    let _ = headers.set("Accept", "*/*");
    if !settings.keep_alive {
        let _ = headers.set("Connection", "close");
    }
    for (name, value) in ex.spec.headers.iter() {
        let _ = headers.set(name, value);
    }
    let needs_length =
        !ex.spec.body.is_empty() || matches!(ex.spec.method.as_str(), "POST" | "PUT" | "PATCH");
    if needs_length {
        let _ = headers.set("Content-Length", &ex.spec.body.len().to_string());
    }
    let mut out = Vec::with_capacity(256 + ex.spec.body.len());
    write_request_head(&ex.spec.method, ex.url.target(), &headers, &mut out);
    out.extend_from_slice(&ex.spec.body);
    out
}

/// A response head arrived on the current attempt.
pub(crate) fn on_head(
    reactor: &mut Reactor,
    shared: &Shared,
    head: ResponseHead,
    connection: ConnectionId,
) -> AfterHead {
    let redirect = {
        let ex = shared.borrow();
        let settings = ex.client.settings();
        let is_redirect = matches!(head.status, 301 | 302 | 303 | 307 | 308);
        match head.headers.get("location") {
            Some(location) if is_redirect && settings.follow_redirects => Some(location.to_string()),
            _ => None,
        }
    };
    if let Some(location) = redirect {
        return follow(reactor, shared, head.status, &location);
    }
    let limit = shared.borrow().client.settings().max_body;
    let declared = head
        .headers
        .get("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        finish(reactor, shared, Err(FetchError::BodyTooLarge { limit }));
        return AfterHead::Stop;
    }
    let response = Response {
        url: shared.borrow().url.clone(),
        version: head.version,
        status: head.status,
        reason: head.reason,
        headers: head.headers,
        body: Bytes::new(),
    };
    let sink = shared.borrow().sink.clone();
    sink.borrow_mut().source(reactor, BodySource::new(connection));
    sink.borrow_mut().head(reactor, &response);
    shared.borrow_mut().response = Some(response);
    AfterHead::ReadBody
}

/// Follows a redirect: a new attempt to the new URL.
fn follow(reactor: &mut Reactor, shared: &Shared, status: u16, location: &str) -> AfterHead {
    let next = {
        let mut ex = shared.borrow_mut();
        let limit = ex.client.settings().max_redirects;
        match ex.url.join(location) {
            Err(e) => Err(e),
            Ok(url) if ex.redirects >= limit => Err(FetchError::TooManyRedirects {
                limit,
                url: url.to_string(),
            }),
            Ok(url) => {
                log::debug!("{status} redirect from {} to {url}", ex.url);
                ex.redirects += 1;
                ex.url = url;
                // 303, and 301/302 after a POST (as browsers do), become GET without a body.
                let to_get = status == 303 || (matches!(status, 301 | 302) && ex.spec.method == "POST");
                if to_get && ex.spec.method != "HEAD" {
                    ex.spec.method = "GET".to_string();
                    ex.spec.body = Bytes::new();
                    ex.spec.headers.remove("content-type");
                }
                ex.attempt = Attempt::Idle;
                Ok(())
            }
        }
    };
    match next {
        Ok(()) => connect(reactor, shared),
        Err(e) => finish(reactor, shared, Err(e)),
    }
    AfterHead::Stop
}

/// Body bytes arrived; false if the fetch ended (a bound, a cancel).
pub(crate) fn on_data(reactor: &mut Reactor, shared: &Shared, data: &[u8]) -> bool {
    if data.is_empty() {
        return true;
    }
    let (over, limit, sink) = {
        let mut ex = shared.borrow_mut();
        ex.received += data.len() as u64;
        let limit = ex.client.settings().max_body;
        (ex.received > limit, limit, ex.sink.clone())
    };
    if over {
        finish(reactor, shared, Err(FetchError::BodyTooLarge { limit }));
        return false;
    }
    sink.borrow_mut().data(reactor, data);
    shared.borrow().deferred.is_some()
}

/// The body ended: the fetch succeeded.
pub(crate) fn on_end(reactor: &mut Reactor, shared: &Shared) {
    let response = shared.borrow_mut().response.take();
    match response {
        Some(response) => finish(reactor, shared, Ok(response)),
        None => finish(
            reactor,
            shared,
            Err(FetchError::Malformed {
                reason: "a body without a head".into(),
            }),
        ),
    }
}

/// Gives the fetch its outcome (once; later calls do nothing) and stops
/// whatever still runs.
pub(crate) fn finish(reactor: &mut Reactor, shared: &Shared, result: Result<Response, FetchError>) {
    let Some(d) = shared.borrow_mut().deferred.take() else {
        return;
    };
    stop_work(reactor, shared, result.is_ok());
    let _ = d.fire(reactor, result.map_err(Failure::new));
}

/// Cancels the timer and the attempt in progress (closing its connection
/// cleanly after a success, aborting it otherwise).
fn stop_work(reactor: &mut Reactor, shared: &Shared, clean: bool) {
    let (timer, attempt) = {
        let mut ex = shared.borrow_mut();
        ex.attempt_no += 1; // whatever the old attempt reports now is stale
        (ex.timer.take(), std::mem::replace(&mut ex.attempt, Attempt::Idle))
    };
    if let Some(timer) = timer {
        let _ = timer.cancel(reactor);
    }
    match attempt {
        Attempt::Idle => {}
        Attempt::Connecting(d) => d.cancel(reactor),
        // After a success the connection went back to the pool or closed itself.
        Attempt::Connected(_) if clean => {}
        Attempt::Connected(id) => reactor.transport(id).abort_connection(),
    }
}
