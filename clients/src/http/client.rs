//! [`HttpClient`]: the settings of a fetch, and the calls that start one.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rustls::ClientConfig;
use torsion::{Deferred, Reactor};
use torsion_protocols::http::{Headers, Limits};

use super::exchange::{Exchange, RequestSpec};
use super::pool::{Pool, PoolRef};
use super::response::Collect;
use super::{tls, BodySink, FetchError, Response};

/// The connect timeout unless set: 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole fetch's timeout unless set: 60 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest body unless set: 16 MiB.
pub const DEFAULT_MAX_BODY: u64 = 16 * 1024 * 1024;
/// Redirects followed unless set: 10.
pub const DEFAULT_MAX_REDIRECTS: usize = 10;
/// The User-Agent sent unless set.
pub const DEFAULT_USER_AGENT: &str = concat!("torsion/", env!("CARGO_PKG_VERSION"));

/// What every fetch of a client shares.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) user_agent: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_body: u64,
    pub(crate) max_redirects: usize,
    pub(crate) follow_redirects: bool,
    pub(crate) limits: Limits,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) keep_alive: bool,
}

/// An HTTP/1.1 client: settings, and the TLS configuration built from
/// them once. Cheap to clone; clones share the TLS configuration.
///
/// Every fetch resolves the host name on the thread pool, connects (with
/// the connect timeout) or reuses a kept connection to the same origin,
/// sends the request, reads the response (Content-Length, chunked, or until the close),
/// follows redirects (301, 302, 303, 307, 308; at most
/// [`max_redirects`](HttpClient::max_redirects)), and fires its Deferred,
/// or fails it with a [`FetchError`]. Cancelling the Deferred aborts the
/// fetch.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use torsion::Reactor;
/// use torsion_clients::http::HttpClient;
///
/// let mut reactor = Reactor::new()?;
/// let client = HttpClient::new().timeout(Some(Duration::from_secs(5))).max_body(1 << 20);
/// client.get(&mut reactor, "https://example.com/").add_callback(&mut reactor, |r, response| {
///     println!("{} {} bytes", response.status, response.body.len());
///     r.stop();
///     Ok(response)
/// });
/// reactor.run()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct HttpClient {
    settings: Settings,
    tls: Rc<RefCell<Option<Arc<ClientConfig>>>>,
    pool: PoolRef,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("settings", &self.settings)
            .finish()
    }
}

impl HttpClient {
    /// A client with the defaults: 10 s to connect, 60 s in all, 16 MiB
    /// of body, 10 redirects, the system's trusted roots.
    pub fn new() -> Self {
        HttpClient {
            settings: Settings {
                user_agent: DEFAULT_USER_AGENT.to_string(),
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
                timeout: Some(DEFAULT_TIMEOUT),
                max_body: DEFAULT_MAX_BODY,
                max_redirects: DEFAULT_MAX_REDIRECTS,
                follow_redirects: true,
                limits: Limits::default(),
                ca_file: None,
                keep_alive: true,
            },
            tls: Rc::new(RefCell::new(None)),
            pool: Rc::new(RefCell::new(Pool::default())),
        }
    }

    /// The User-Agent header.
    pub fn user_agent(mut self, agent: &str) -> Self {
        self.settings.user_agent = agent.to_string();
        self
    }

    /// How long to wait for each connection to open.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// How long the whole fetch may take, redirects included (`None`: no limit).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// The largest body accepted ([`FetchError::BodyTooLarge`] past it).
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.settings.max_body = bytes;
        self
    }

    /// How many redirects to follow ([`FetchError::TooManyRedirects`] past it).
    pub fn max_redirects(mut self, n: usize) -> Self {
        self.settings.max_redirects = n;
        self
    }

    /// Whether to follow redirects at all (if not, a 3xx is the response).
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.settings.follow_redirects = follow;
        self
    }

    /// Bounds on the response head.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.settings.limits = limits;
        self
    }

    /// Whether to keep connections open for the next request to the same
    /// origin (on by default; a client and its clones share them). Off,
    /// every request says `Connection: close`.
    pub fn keep_alive(mut self, keep: bool) -> Self {
        self.settings.keep_alive = keep;
        self
    }

    /// How many connections wait idle, kept for reuse.
    pub fn idle_connections(&self) -> usize {
        self.pool.borrow().len()
    }

    /// Trusts only the CA certificates in this PEM file for `https://`
    /// (instead of the system's roots): for tests, and private CAs.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.ca_file = Some(path.into());
        self.tls = Rc::new(RefCell::new(None));
        self.pool = Rc::new(RefCell::new(Pool::default()));
        self
    }

    /// Fetches `url` with GET: the seeds' `getPage`.
    #[track_caller]
    pub fn get(&self, reactor: &mut Reactor, url: &str) -> Deferred<Response> {
        self.request(reactor, "GET", url, &Headers::new(), Bytes::new())
    }

    /// Sends any request, with extra `headers` and a `body`, and collects
    /// the response.
    #[track_caller]
    pub fn request(
        &self,
        reactor: &mut Reactor,
        method: &str,
        url: &str,
        headers: &Headers,
        body: Bytes,
    ) -> Deferred<Response> {
        let sink = Rc::new(RefCell::new(Collect::default()));
        let collected = sink.clone();
        self.start(reactor, method, url, headers, body, sink)
            .then(reactor, move |_, mut response| {
                response.body = Bytes::from(std::mem::take(&mut collected.borrow_mut().body));
                Ok(response)
            })
    }

    /// Fetches `url` with GET, handing the body to `sink` piece by piece as
    /// it arrives; the Deferred fires once the body has ended (with an
    /// empty `body`).
    #[track_caller]
    pub fn get_streaming(&self, reactor: &mut Reactor, url: &str, sink: impl BodySink) -> Deferred<Response> {
        self.start(
            reactor,
            "GET",
            url,
            &Headers::new(),
            Bytes::new(),
            Rc::new(RefCell::new(sink)),
        )
    }

    /// Sends any request, with extra `headers` and a `body`, handing the
    /// response's body to `sink` piece by piece as it arrives (a forward
    /// proxy relays a client's request this way); the Deferred fires once
    /// the body has ended (with an empty `body`).
    #[track_caller]
    pub fn request_streaming(
        &self,
        reactor: &mut Reactor,
        method: &str,
        url: &str,
        headers: &Headers,
        body: Bytes,
        sink: impl BodySink,
    ) -> Deferred<Response> {
        self.start(reactor, method, url, headers, body, Rc::new(RefCell::new(sink)))
    }

    #[track_caller]
    fn start(
        &self,
        reactor: &mut Reactor,
        method: &str,
        url: &str,
        headers: &Headers,
        body: Bytes,
        sink: Rc<RefCell<dyn BodySink>>,
    ) -> Deferred<Response> {
        let spec = RequestSpec {
            method: method.to_string(),
            headers: headers.clone(),
            body,
        };
        Exchange::start(reactor, self.clone(), url, spec, sink)
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn pool(&self) -> PoolRef {
        self.pool.clone()
    }

    /// The TLS configuration, built on first use.
    pub(crate) fn tls_config(&self) -> Result<Arc<ClientConfig>, FetchError> {
        if let Some(config) = self.tls.borrow().as_ref() {
            return Ok(config.clone());
        }
        let config = tls::client_config(self.settings.ca_file.as_deref())?;
        *self.tls.borrow_mut() = Some(config.clone());
        Ok(config)
    }
}

/// Fetches `url` with the default [`HttpClient`]: Twisted's `getPage`.
///
/// ```no_run
/// use torsion::Reactor;
/// use torsion_clients::http::get_page;
///
/// let mut reactor = Reactor::new()?;
/// get_page(&mut reactor, "http://127.0.0.1:8000/").add_both(&mut reactor, |r, result| {
///     match &result {
///         Ok(page) => println!("{}", page.text()),
///         Err(failure) => eprintln!("{failure}"),
///     }
///     r.stop();
///     result
/// });
/// reactor.run()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn get_page(reactor: &mut Reactor, url: &str) -> Deferred<Response> {
    HttpClient::new().keep_alive(false).get(reactor, url)
}

/// Fetches `url` with the default [`HttpClient`], streaming the body to `sink`.
#[track_caller]
pub fn get_page_streaming(reactor: &mut Reactor, url: &str, sink: impl BodySink) -> Deferred<Response> {
    HttpClient::new()
        .keep_alive(false)
        .get_streaming(reactor, url, sink)
}
