//! [`Site`]: the factory that serves a resource tree over HTTP/1.1.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use torsion::{Address, Factory, Protocol, Reactor};
use torsion_protocols::http::{http_date, percent_decode, Limits};

use super::channel::Channel;
use super::{common_log_line, LogEntry, Request, Resource};

/// The largest request body accepted by default: 1 MiB (then 413).
pub const DEFAULT_MAX_BODY: u64 = 1024 * 1024;
/// How long a connection may take to send a request by default (then 408,
/// or a quiet close if it sent nothing).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How many bytes of pipelined requests a connection may send ahead while
/// a response is in progress before reading pauses.
pub const DEFAULT_MAX_PIPELINED: usize = 64 * 1024;

/// A site's bounds (design rule 6).
#[derive(Clone, Copy, Debug)]
pub struct SiteConfig {
    /// Head bounds: size (431 past it) and header count.
    pub limits: Limits,
    /// The largest request body (413 past it).
    pub max_body: u64,
    /// The longest wait for a request's bytes (408 past it).
    pub idle_timeout: Duration,
    /// Bytes buffered ahead of the request being answered.
    pub max_pipelined: usize,
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig {
            limits: Limits::default(),
            max_body: DEFAULT_MAX_BODY,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_pipelined: DEFAULT_MAX_PIPELINED,
        }
    }
}

type AccessLog = Box<dyn FnMut(&str)>;

/// What every connection of a site shares.
pub(crate) struct SiteShared {
    pub(crate) root: Rc<dyn Resource>,
    pub(crate) config: SiteConfig,
    access_log: RefCell<Option<AccessLog>>,
    date: RefCell<(u64, String)>,
    closing: Cell<bool>,
}

impl SiteShared {
    /// Finds the resource for `request`: Twisted's `getChildForRequest`.
    pub(crate) fn resolve(&self, request: &Request) -> Option<Rc<dyn Resource>> {
        let path = request.path();
        let mut segments = path
            .strip_prefix('/')
            .unwrap_or(path)
            .split('/')
            .map(|s| percent_decode(s, false));
        let mut resource = self.root.clone();
        while let Some(segment) = segments.next() {
            if resource.is_leaf() {
                let mut rest = vec![segment];
                rest.extend(segments);
                request.set_postpath(rest);
                return Some(resource);
            }
            resource = resource.get_child(&segment, request)?;
        }
        Some(resource)
    }

    /// The Date header's value, formatted once a second.
    pub(crate) fn date(&self) -> String {
        let now = SystemTime::now();
        let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut cached = self.date.borrow_mut();
        if cached.0 != secs || cached.1.is_empty() {
            *cached = (secs, http_date(now));
        }
        cached.1.clone()
    }

    pub(crate) fn log_access(&self, entry: &LogEntry<'_>) {
        let line = common_log_line(entry);
        match self.access_log.borrow_mut().as_mut() {
            Some(sink) => sink(&line),
            None => log::info!(target: "torsion_servers::web::access", "{line}"),
        }
    }

    /// Whether the site stopped listening (responses then close their connection).
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.get()
    }
}

/// Serves a tree of [`Resource`]s over HTTP/1.1: a [`Factory`] to listen
/// with (Twisted's `server.Site`).
///
/// Each connection reads requests one after the other (keep-alive, and
/// pipelining: requests sent ahead are answered in order), finds the
/// resource by walking the tree segment by segment, and renders it. A
/// missing resource is a 404; a method the resource does not answer, a
/// 405 with `Allow`. Broken requests get 400 (bad syntax), 431 (head too
/// large), 413 (body too large), 408 (too slow), 501 (unknown
/// Transfer-Encoding), then a close. Each answered request is logged in
/// the common log format.
///
/// # Examples
///
/// ```no_run
/// use torsion::Reactor;
/// use torsion_servers::web::{Node, Render, Request, Resource, Site};
///
/// struct Hello;
/// impl Resource for Hello {
///     fn render_get(&self, _r: &mut Reactor, _req: &Request) -> Render {
///         "<h1>Hello</h1>".into()
///     }
/// }
///
/// let mut root = Node::new();
/// root.put_child("", Hello);
/// let mut reactor = Reactor::new()?;
/// reactor.listen_tcp("127.0.0.1:8000".parse().unwrap(), Site::new(root))?;
/// reactor.run()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Site {
    root: Rc<dyn Resource>,
    config: SiteConfig,
    access_log: Option<AccessLog>,
    shared: Option<Rc<SiteShared>>,
}

impl Site {
    /// A site serving `root` with the default bounds.
    pub fn new(root: impl Resource) -> Self {
        Self::from_rc(Rc::new(root))
    }

    /// A site serving a shared root.
    pub fn from_rc(root: Rc<dyn Resource>) -> Self {
        Site {
            root,
            config: SiteConfig::default(),
            access_log: None,
            shared: None,
        }
    }

    /// Replaces every bound at once.
    pub fn with_config(mut self, config: SiteConfig) -> Self {
        self.config = config;
        self
    }

    /// The largest request body (413 past it).
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.config.max_body = bytes;
        self
    }

    /// Head bounds (431 past them).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// The longest wait for a request's bytes (408 past it).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// Sends each access-log line to `sink` instead of the `log` crate
    /// (target `torsion_servers::web::access`, level info).
    pub fn on_access_log(mut self, sink: impl FnMut(&str) + 'static) -> Self {
        self.access_log = Some(Box::new(sink));
        self
    }

    /// The bounds in force.
    pub fn config(&self) -> &SiteConfig {
        &self.config
    }

    fn shared(&mut self) -> Rc<SiteShared> {
        let (root, config, access_log) = (&self.root, self.config, &mut self.access_log);
        self.shared
            .get_or_insert_with(|| {
                Rc::new(SiteShared {
                    root: root.clone(),
                    config,
                    access_log: RefCell::new(access_log.take()),
                    date: RefCell::new((0, String::new())),
                    closing: Cell::new(false),
                })
            })
            .clone()
    }
}

impl Factory for Site {
    fn build_protocol(&mut self, _reactor: &mut Reactor, peer: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Channel::new(self.shared(), peer.clone())))
    }

    fn start(&mut self, _reactor: &mut Reactor) {
        self.shared().closing.set(false);
    }

    fn stop(&mut self, _reactor: &mut Reactor) {
        self.shared().closing.set(true);
    }
}
