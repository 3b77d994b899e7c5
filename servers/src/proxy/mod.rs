//! torsion-proxy: the seeds' URL proxy, non-blocking, cached in memory or
//! in memcached, with an HTTP forward-proxy mode.
//!
//! The seeds build it in steps, and so does this module:
//!
//! 1. **The line proxy** ([`LineProxy`]): a client sends a URL and a
//!    newline; the proxy fetches it, following redirects, writes the body
//!    and closes. The seeds' first version (`proxy1.py`) fetched with a
//!    blocking call and stalled every client; it is kept, on purpose, as
//!    [`BlockingProxy`] (`--blocking`). The right one never blocks: it asks
//!    the HTTP client for a Deferred and writes when it fires.
//! 2. **The cache** ([`CachedPages::get_cached_page`]): the seeds'
//!    `getCachedPage` and `getMemcachedPage` in one function returning a
//!    Deferred of the page whatever its source: the proxy's memory
//!    ([`cache::MemoryCache`], LRU, bounded, with a TTL) or memcached
//!    ([`cache::MemcachedCache`], a ketama pool that several proxies
//!    share). Concurrent requests for one URL share one fetch; at most
//!    [`MAX_FETCHES`] fetches run at once; memcached being down only means
//!    pages are served uncached (logged once).
//! 3. **A forward proxy** ([`ForwardProxy`], `--http-port`): `GET
//!    http://...` forwarded and streamed back with backpressure, and
//!    `CONNECT` tunnels ([`tunnel`]).
//!
//! `docs/proxy.md` shows it at work, with the seeds' two timing tables.
//!
//! # Examples
//!
//! A line proxy in front of a local page:
//!
//! ```
//! use std::io::{Read, Write};
//! use torsion::Reactor;
//! use torsion_servers::proxy::{self, ProxyConfig};
//! use torsion_servers::web::{Node, Render, Request, Resource, Site};
//!
//! struct Hello;
//! impl Resource for Hello {
//!     fn render_get(&self, _r: &mut Reactor, _req: &Request) -> Render {
//!         "hello".into()
//!     }
//! }
//!
//! let mut reactor = Reactor::new()?;
//! let mut root = Node::new();
//! root.put_child("hello", Hello);
//! let origin = reactor.listen_tcp("127.0.0.1:0".parse()?, Site::new(root))?;
//! let url = format!("http://{}/hello\r\n", reactor.local_addr(origin).expect("an address"));
//!
//! let config = ProxyConfig::default();
//! let pages = proxy::cached_pages(&mut reactor, &config);
//! let listener = reactor.listen_tcp("127.0.0.1:0".parse()?, proxy::line_factory(pages, &config, 16))?;
//! let addr = reactor.local_addr(listener).and_then(|a| a.as_socket_addr()).expect("tcp");
//!
//! let client = std::thread::spawn(move || {
//!     let mut s = std::net::TcpStream::connect(addr).unwrap();
//!     s.write_all(url.as_bytes()).unwrap();
//!     let mut page = String::new();
//!     s.read_to_string(&mut page).unwrap();
//!     page
//! });
//! while !client.is_finished() {
//!     reactor.iterate(Some(std::time::Duration::from_millis(10)))?;
//! }
//! assert_eq!(client.join().unwrap(), "hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod blocking;
pub mod cache;
mod config;
mod forward;
mod limiter;
mod line;
mod page;
mod pages;
pub mod relay;
pub mod tunnel;

use std::rc::Rc;

use torsion::{factory_fn, Factory, Protocol, Reactor};
use torsion_clients::http::HttpClient;
use torsion_protocols::policies::ConnectionLimits;

pub use blocking::{fetch_blocking, BlockingLimits, BlockingProxy};
pub use config::{
    CacheSpec, ProxyConfig, CACHE_RETRY, CACHE_SIZE, CACHE_TIMEOUT, CACHE_TTL, CONNECT_TIMEOUT, DEFAULT_PORT,
    FETCH_TIMEOUT, IDLE_TIMEOUT, MAX_BODY, MAX_CONNECTIONS, MAX_FETCHES, MAX_ITEM, MAX_LINE,
    TUNNEL_IDLE_TIMEOUT,
};
pub use forward::{parse_authority, ForwardConfig, ForwardProxy, MAX_PIPELINED};
pub use limiter::Limiter;
pub use line::{error_line, LineProxy};
pub use page::{Page, PageError, Source};
pub use pages::CachedPages;

/// The HTTP client of the line proxy: redirects followed, connections
/// kept for reuse, bounded as `config` says.
pub fn line_client(config: &ProxyConfig) -> HttpClient {
    let client = HttpClient::new()
        .timeout(Some(config.timeout))
        .connect_timeout(config.connect_timeout)
        .max_body(config.max_body);
    match &config.ca_file {
        Some(path) => client.ca_file(path),
        None => client,
    }
}

/// The pages of a line proxy: its client and the cache `config` names (a
/// memcached pool starts connecting now).
pub fn cached_pages(reactor: &mut Reactor, config: &ProxyConfig) -> CachedPages {
    let cache = cache::Cache::new(reactor, config);
    CachedPages::new(line_client(config), cache, config.max_fetches)
}

/// The line proxy's factory: a [`LineProxy`] per connection, all sharing
/// `pages`, at most `max_connections` at once.
pub fn line_factory(pages: CachedPages, config: &ProxyConfig, max_connections: usize) -> impl Factory {
    let (max_line, idle) = (config.max_line, config.idle_timeout);
    let inner = factory_fn(move |_, _| {
        let proxy = LineProxy::new(pages.clone(), max_line).with_idle_timeout(idle);
        Some(Box::new(proxy.protocol()) as Box<dyn Protocol>)
    });
    ConnectionLimits::new(inner).max_connections(max_connections)
}

/// The `--blocking` proxy's factory (the seeds' wrong first version).
pub fn blocking_factory(config: &ProxyConfig, max_connections: usize) -> impl Factory {
    let limits = BlockingLimits {
        connect_timeout: config.connect_timeout,
        timeout: config.timeout,
        max_body: config.max_body,
        ..BlockingLimits::default()
    };
    let max_line = config.max_line;
    let inner = factory_fn(move |_, _| {
        Some(Box::new(BlockingProxy::new(limits).protocol(max_line)) as Box<dyn Protocol>)
    });
    ConnectionLimits::new(inner).max_connections(max_connections)
}

/// The forward proxy's factory: a [`ForwardProxy`] per connection.
pub fn forward_factory(config: ForwardConfig, max_connections: usize) -> impl Factory {
    let config = Rc::new(config);
    let inner =
        factory_fn(move |_, _| Some(Box::new(ForwardProxy::new(config.clone())) as Box<dyn Protocol>));
    ConnectionLimits::new(inner).max_connections(max_connections)
}
