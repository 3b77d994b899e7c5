//! [`Request`]: one request as a resource sees it, and the response it
//! writes, now or later.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::SystemTime;

use bytes::Bytes;
use torsion::{Address, CloseReason, ConnectionId, Deferred, Failure, Reactor, DEFAULT_HIGH_WATER};
use torsion_protocols::http::{chunk_header, write_response_head, Headers, Version, LAST_CHUNK};

use super::channel::{resume, CoreRef};
use super::site::SiteShared;

/// The client went away before the response was finished: the error a
/// [`Request::notify_finish`] Deferred fails with.
#[derive(Clone, Debug)]
pub struct ConnectionGone {
    /// How the connection ended.
    pub reason: CloseReason,
}

impl fmt::Display for ConnectionGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the client went away before the response was finished ({})",
            self.reason
        )
    }
}

impl std::error::Error for ConnectionGone {}

/// What the client sent; fixed once the request is complete.
pub(crate) struct RequestData {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) path: String,
    pub(crate) version: Version,
    pub(crate) headers: Headers,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) form: Vec<(String, String)>,
    pub(crate) body: Bytes,
    pub(crate) peer: Option<Address>,
    pub(crate) conn: ConnectionId,
    pub(crate) received: SystemTime,
    /// Whether the client asked to keep the connection open.
    pub(crate) keep_alive: bool,
}

/// Where the response is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Nothing sent yet: status and headers may still change.
    Pending,
    /// The head is sent; body pieces follow (chunked, or as they are).
    Streaming { chunked: bool },
    /// The response is complete.
    Finished,
    /// The client went away first.
    Abandoned,
}

struct ResponseState {
    status: u16,
    headers: Headers,
    phase: Phase,
    body_bytes: u64,
    keep_alive: bool,
    waiters: Vec<Deferred<()>>,
    postpath: Vec<String>,
    /// The client is behind: the connection's write buffer is above its
    /// high-water mark.
    paused: bool,
    /// Told when the client falls behind and catches up.
    producer: Option<Box<dyn Producer>>,
}

/// Something that writes a response piece by piece and can wait (Twisted's
/// `IPushProducer`, given to `request.registerProducer`): a fetch being
/// relayed, a file being read, a stream of events.
///
/// Registered with [`Request::register_producer`], it is told to pause
/// when the client reads slower than the response is written (the
/// connection's write buffer rose above its high-water mark, 64 KiB by
/// default) and to resume once the client has caught up (the buffer fell
/// below its low-water mark). A response that honours it holds at most
/// about a high-water mark per client, however slow the client and however
/// long the response; one that ignores it grows the buffer until the
/// reactor aborts the connection (`Config::max_write_buffer`, 64 MiB).
pub trait Producer: 'static {
    /// The client is behind: stop writing until
    /// [`resume_producing`](Producer::resume_producing).
    fn pause_producing(&mut self, reactor: &mut Reactor);

    /// The client caught up: write again.
    fn resume_producing(&mut self, reactor: &mut Reactor);
}

/// One request, and the response to it (Twisted's `Request`).
///
/// A cheap handle: clone it into the callbacks that answer later. Reading
/// methods give what the client sent; [`write`](Request::write),
/// [`finish`](Request::finish), [`set_status`](Request::set_status) and
/// [`set_header`](Request::set_header) make the response.
///
/// # Answering later
///
/// A render method that returns [`Render::NotDoneYet`](super::Render)
/// keeps the request open; the seeds' `/long` page:
///
/// ```
/// use std::time::Duration;
/// use torsion::Reactor;
/// use torsion_servers::web::{Render, Request, Resource};
///
/// struct Long;
///
/// impl Resource for Long {
///     fn render_get(&self, r: &mut Reactor, request: &Request) -> Render {
///         request.write(r, b"A");
///         let req = request.clone();
///         r.call_later(Duration::from_secs(1), move |r| req.write(r, b"B"));
///         let req = request.clone();
///         r.call_later(Duration::from_secs(2), move |r| req.write(r, b"C"));
///         let req = request.clone();
///         r.call_later(Duration::from_secs(3), move |r| req.finish(r));
///         Render::NotDoneYet
///     }
/// }
/// ```
///
/// If the client goes away first, [`notify_finish`](Request::notify_finish)
/// Deferreds fail with [`ConnectionGone`] (so the resource can cancel its
/// work), and later writes are dropped.
#[derive(Clone)]
pub struct Request {
    data: Rc<RequestData>,
    state: Rc<RefCell<ResponseState>>,
    site: Rc<SiteShared>,
    channel: CoreRef,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.data.method)
            .field("target", &self.data.target)
            .field("conn", &self.data.conn)
            .finish()
    }
}

impl Request {
    pub(crate) fn new(data: RequestData, site: Rc<SiteShared>, channel: CoreRef) -> Self {
        let keep_alive = data.keep_alive;
        Request {
            data: Rc::new(data),
            state: Rc::new(RefCell::new(ResponseState {
                status: 200,
                headers: Headers::new(),
                phase: Phase::Pending,
                body_bytes: 0,
                keep_alive,
                waiters: Vec::new(),
                postpath: Vec::new(),
                paused: false,
                producer: None,
            })),
            site,
            channel,
        }
    }

    // ----- what the client sent ------------------------------------------

    /// The method (`GET`, `POST`...).
    pub fn method(&self) -> &str {
        &self.data.method
    }

    /// The request target as sent (`/path?query`).
    pub fn uri(&self) -> &str {
        &self.data.target
    }

    /// The path, still percent-encoded (`/a%20b`).
    pub fn path(&self) -> &str {
        &self.data.path
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.data.version
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.data.headers
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.data.headers.get(name)
    }

    /// The query arguments (`?a=1&b=2`), decoded, in order.
    pub fn query(&self) -> &[(String, String)] {
        &self.data.query
    }

    /// The arguments of a form-encoded body
    /// (`application/x-www-form-urlencoded`), decoded, in order.
    pub fn form(&self) -> &[(String, String)] {
        &self.data.form
    }

    /// The first value of argument `name`, from the query, then the form
    /// (Twisted's `request.args[name][0]`).
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.data
            .query
            .iter()
            .chain(self.data.form.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of argument `name`: the query's, then the form's.
    pub fn args<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.data
            .query
            .iter()
            .chain(self.data.form.iter())
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body, whole.
    pub fn body(&self) -> &[u8] {
        &self.data.body
    }

    /// The client's address.
    pub fn peer(&self) -> Option<&Address> {
        self.data.peer.as_ref()
    }

    /// The connection it came on.
    pub fn connection(&self) -> ConnectionId {
        self.data.conn
    }

    /// The path segments below a leaf resource (see
    /// [`Resource::is_leaf`](super::Resource::is_leaf)), decoded.
    pub fn postpath(&self) -> Vec<String> {
        self.state.borrow().postpath.clone()
    }

    pub(crate) fn set_postpath(&self, rest: Vec<String>) {
        self.state.borrow_mut().postpath = rest;
    }

    // ----- the response ----------------------------------------------------

    /// Sets the status (200 unless set). Ignored once the head is sent.
    pub fn set_status(&self, status: u16) {
        let mut st = self.state.borrow_mut();
        if st.phase == Phase::Pending && (100..=999).contains(&status) {
            st.status = status;
        }
    }

    /// The status set so far.
    pub fn status(&self) -> u16 {
        self.state.borrow().status
    }

    /// Sets a response header, replacing any of that name. A name or value
    /// that cannot be sent (a newline in it: header injection) is refused
    /// and logged; so is any change once the head is sent.
    pub fn set_header(&self, name: &str, value: &str) {
        let mut st = self.state.borrow_mut();
        if st.phase != Phase::Pending {
            log::warn!(
                "{}: header {name} set after the response started; ignored",
                self.data.conn
            );
            return;
        }
        if let Err(e) = st.headers.set(name, value) {
            log::warn!("{}: {e}; not sent", self.data.conn);
        }
    }

    /// Adds a response header, keeping others of that name (`Set-Cookie`).
    pub fn add_header(&self, name: &str, value: &str) {
        let mut st = self.state.borrow_mut();
        if st.phase != Phase::Pending {
            return;
        }
        if let Err(e) = st.headers.append(name, value) {
            log::warn!("{}: {e}; not sent", self.data.conn);
        }
    }

    /// Sends `data` now as part of the body. The first write sends the
    /// head; without a Content-Length header set by the resource, the body
    /// goes out chunked (HTTP/1.1), or until the close (HTTP/1.0).
    /// Writes after [`finish`](Request::finish) or after the client left
    /// are dropped.
    pub fn write(&self, reactor: &mut Reactor, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut st = self.state.borrow_mut();
        if st.phase == Phase::Pending {
            self.send_head(reactor, &mut st, None);
        }
        let Phase::Streaming { chunked } = st.phase else {
            log::debug!("{}: write after the response ended; dropped", self.data.conn);
            return;
        };
        st.body_bytes += data.len() as u64;
        if self.body_suppressed(st.status) {
            return;
        }
        let mut transport = reactor.transport(self.data.conn);
        if chunked {
            transport.write_sequence(&[chunk_header(data.len()).as_bytes(), data, b"\r\n"]);
        } else {
            transport.write(data);
        }
    }

    /// Ends the response (Twisted's `request.finish()`): the last chunk
    /// goes out, the request is logged, `notify_finish` Deferreds fire,
    /// and the connection moves on to the next request. A second call, or
    /// one after the client left, does nothing.
    pub fn finish(&self, reactor: &mut Reactor) {
        {
            let mut st = self.state.borrow_mut();
            match st.phase {
                Phase::Pending => self.send_head(reactor, &mut st, Some(0)),
                Phase::Streaming { .. } => {}
                Phase::Finished | Phase::Abandoned => return,
            }
            if let Phase::Streaming { chunked: true } = st.phase {
                if !self.body_suppressed(st.status) {
                    reactor.transport(self.data.conn).write(LAST_CHUNK);
                }
            }
            st.phase = Phase::Finished;
        }
        self.unregister_producer();
        self.log_access();
        self.fire_waiters(reactor, None);
        // Let the connection go on with the next request. When finish is
        // called from inside render, the channel is busy and checks itself.
        resume(&self.channel, reactor, self.data.conn);
    }

    /// Sends `body` whole with a Content-Length, then finishes.
    pub(crate) fn respond(&self, reactor: &mut Reactor, body: Bytes) {
        let started = self.state.borrow().phase != Phase::Pending;
        if started {
            self.write(reactor, &body);
        } else {
            let mut st = self.state.borrow_mut();
            self.send_head(reactor, &mut st, Some(body.len() as u64));
            st.body_bytes = body.len() as u64;
            if !self.body_suppressed(st.status) && !body.is_empty() {
                reactor.transport(self.data.conn).write_bytes(body);
            }
        }
        self.finish(reactor);
    }

    /// A Deferred that fires when the response is finished, or fails with
    /// [`ConnectionGone`] if the client goes away first (Twisted's
    /// `notifyFinish`): how a resource that answers later learns it can
    /// stop.
    pub fn notify_finish(&self) -> Deferred<()> {
        let d = Deferred::new();
        let mut st = self.state.borrow_mut();
        match st.phase {
            Phase::Finished => return torsion::defer::succeed(()),
            Phase::Abandoned => {
                return torsion::defer::fail(ConnectionGone {
                    reason: CloseReason::Lost,
                })
            }
            _ => st.waiters.push(d.clone()),
        }
        d
    }

    /// Registers `producer` to be told when the client falls behind and
    /// catches up (Twisted's `registerProducer` with a streaming
    /// producer), replacing any registered before. If the client is behind
    /// already, the producer is paused at once. It is dropped when the
    /// response finishes or the client leaves.
    ///
    /// # Examples
    ///
    /// A page streaming numbers for as long as the client reads, never
    /// more than the connection's high-water mark ahead of it:
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use torsion::Reactor;
    /// use torsion_servers::web::{Producer, Render, Request, Resource};
    ///
    /// struct Numbers;
    ///
    /// struct Pump {
    ///     request: Request,
    ///     next: Rc<Cell<u64>>,
    /// }
    ///
    /// impl Pump {
    ///     fn run(&self, r: &mut Reactor) {
    ///         while !self.request.is_paused(r) && self.next.get() < 1_000_000 {
    ///             self.request.write(r, format!("{}\n", self.next.get()).as_bytes());
    ///             self.next.set(self.next.get() + 1);
    ///         }
    ///         if self.next.get() == 1_000_000 {
    ///             self.request.finish(r);
    ///         }
    ///     }
    /// }
    ///
    /// impl Producer for Pump {
    ///     fn pause_producing(&mut self, _r: &mut Reactor) {}
    ///     fn resume_producing(&mut self, r: &mut Reactor) {
    ///         self.run(r);
    ///     }
    /// }
    ///
    /// impl Resource for Numbers {
    ///     fn render_get(&self, r: &mut Reactor, request: &Request) -> Render {
    ///         let pump = Pump { request: request.clone(), next: Rc::new(Cell::new(0)) };
    ///         pump.run(r);
    ///         request.register_producer(r, pump);
    ///         Render::NotDoneYet
    ///     }
    /// }
    /// ```
    pub fn register_producer(&self, reactor: &mut Reactor, producer: impl Producer) {
        let mut producer: Box<dyn Producer> = Box::new(producer);
        let (paused, ended) = {
            let st = self.state.borrow();
            (st.paused, matches!(st.phase, Phase::Finished | Phase::Abandoned))
        };
        if ended {
            return;
        }
        if paused {
            producer.pause_producing(reactor);
        }
        self.state.borrow_mut().producer = Some(producer);
    }

    /// Unregisters the producer, if any (Twisted's `unregisterProducer`).
    pub fn unregister_producer(&self) {
        let producer = self.state.borrow_mut().producer.take();
        drop(producer);
    }

    /// Whether the client is behind: what was written waits in the
    /// connection's write buffer above its high-water mark (from the
    /// moment a write crosses it, before the producer hears it). A
    /// resource writing in a loop checks this between writes; one writing
    /// later registers a [`Producer`] to hear when to go on.
    pub fn is_paused(&self, reactor: &mut Reactor) -> bool {
        self.state.borrow().paused || reactor.transport(self.data.conn).buffered() > DEFAULT_HIGH_WATER
    }

    /// The connection's write buffer crossed a watermark: tell the
    /// producer. `paused` is the new state.
    pub(crate) fn set_paused(&self, reactor: &mut Reactor, paused: bool) {
        let mut producer = {
            let mut st = self.state.borrow_mut();
            if st.paused == paused {
                return;
            }
            st.paused = paused;
            match st.producer.take() {
                Some(p) => p,
                None => return,
            }
        };
        if paused {
            producer.pause_producing(reactor);
        } else {
            producer.resume_producing(reactor);
        }
        // Put it back, unless the callback finished the response or
        // registered another producer meanwhile.
        let mut st = self.state.borrow_mut();
        if st.producer.is_none() && !matches!(st.phase, Phase::Finished | Phase::Abandoned) {
            st.producer = Some(producer);
        }
    }

    /// Whether the response is finished.
    pub fn is_finished(&self) -> bool {
        self.state.borrow().phase == Phase::Finished
    }

    /// Whether the client went away before the response was finished.
    pub fn is_abandoned(&self) -> bool {
        self.state.borrow().phase == Phase::Abandoned
    }

    /// Whether the head has been sent.
    pub fn is_started(&self) -> bool {
        self.state.borrow().phase != Phase::Pending
    }

    /// Whether the connection stays open after this response.
    pub(crate) fn keep_alive(&self) -> bool {
        self.state.borrow().keep_alive
    }

    /// The client went away: tell whoever waits.
    pub(crate) fn abandon(&self, reactor: &mut Reactor, reason: CloseReason) {
        {
            let mut st = self.state.borrow_mut();
            if matches!(st.phase, Phase::Finished | Phase::Abandoned) {
                return;
            }
            st.phase = Phase::Abandoned;
            st.keep_alive = false;
        }
        self.unregister_producer();
        log::info!(
            "{}: client went away before \"{} {}\" was answered ({reason})",
            self.data.conn,
            self.data.method,
            self.data.target
        );
        self.fire_waiters(reactor, Some(reason));
    }

    fn fire_waiters(&self, reactor: &mut Reactor, gone: Option<CloseReason>) {
        let waiters = std::mem::take(&mut self.state.borrow_mut().waiters);
        for d in waiters {
            let result = match &gone {
                None => Ok(()),
                Some(reason) => Err(Failure::new(ConnectionGone {
                    reason: reason.clone(),
                })),
            };
            let _ = d.fire(reactor, result);
        }
    }

    /// No body on the wire for HEAD, 1xx, 204 and 304.
    fn body_suppressed(&self, status: u16) -> bool {
        self.data.method == "HEAD" || (100..200).contains(&status) || status == 204 || status == 304
    }

    /// Sends the status line and headers. `length` is the whole body's
    /// length when known now.
    fn send_head(&self, reactor: &mut Reactor, st: &mut ResponseState, length: Option<u64>) {
        let no_body_status = (100..200).contains(&st.status) || st.status == 204 || st.status == 304;
        let mut chunked = false;
        if no_body_status {
            st.headers.remove("content-length");
            st.headers.remove("transfer-encoding");
        } else if let Some(n) = length {
            let _ = st.headers.set("Content-Length", &n.to_string());
        } else if !st.headers.contains("content-length") {
            st.headers.remove("transfer-encoding");
            if self.data.version == Version::Http11 {
                chunked = true;
                let _ = st.headers.append("Transfer-Encoding", "chunked");
            } else {
                // HTTP/1.0 has no chunks: the close ends the body.
                st.keep_alive = false;
            }
        }
        if st.headers.has_token("connection", "close") || self.site.is_closing() {
            st.keep_alive = false;
        }
        st.headers.remove("connection");
        if !st.keep_alive {
            let _ = st.headers.append("Connection", "close");
        } else if self.data.version == Version::Http10 {
            let _ = st.headers.append("Connection", "keep-alive");
        }
        if !st.headers.contains("content-type") && !no_body_status {
            let _ = st.headers.append("Content-Type", "text/html; charset=utf-8");
        }
        let _ = st.headers.set("Date", &self.site.date());
        let _ = st.headers.set("Server", "Torsion");
        let mut head = Vec::with_capacity(256);
        write_response_head(self.data.version, st.status, &st.headers, &mut head);
        reactor.transport(self.data.conn).write(&head);
        st.phase = Phase::Streaming { chunked };
    }

    fn log_access(&self) {
        let st = self.state.borrow();
        let host = match &self.data.peer {
            Some(Address::Tcp(addr)) => addr.ip().to_string(),
            _ => "-".to_string(),
        };
        let request_line = format!(
            "{} {} {}",
            self.data.method,
            self.data.target,
            self.data.version.as_str()
        );
        self.site.log_access(&super::LogEntry {
            host: &host,
            time: self.data.received,
            request_line: &request_line,
            status: st.status,
            bytes: st.body_bytes,
        });
    }
}
