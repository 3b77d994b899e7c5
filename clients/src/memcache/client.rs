//! [`MemcacheClient`]: one memcached server, one persistent pipelined
//! connection.

use std::fmt;

use torsion::endpoint::ClientEndpoint;
use torsion::{Deferred, Reactor};

use super::commands::{done_on, failed, sealed, single, Commands};
use super::config::ClientConfig;
use super::conn::{Completion, ConnectionState, Core, Shared};
use super::error::MemcacheError;
use super::multi::{Gather, MultiCompletion};
use super::request::Request;
use super::value::Reply;
use super::value::Stats;
use torsion_protocols::memcache::text;

/// A client of one memcached server: one persistent connection, requests
/// pipelined on it and matched to replies in order.
///
/// Every command (see [`Commands`]) returns a [`Deferred`] at once; the
/// requests made during one turn of the loop leave together in one write.
/// The client connects as soon as it is made, queues requests while
/// connecting, and reconnects with backoff when the connection fails or
/// is dropped (see [`ClientConfig`] and [`ConnectionState`]).
///
/// It is a handle: clones share the connection. When the last handle is
/// dropped the connection closes and requests still waiting fail with
/// [`MemcacheError::Closed`], so keep one for as long as you use it (in a
/// factory, as the seeds' proxy keeps its client). The reactor's shutdown
/// closes it too.
///
/// # Examples
///
/// The seeds' `getMemcachedPage`, with callbacks: look in the cache, and
/// on a miss fetch the page, store it, and hand it on.
///
/// ```no_run
/// use torsion::defer::{succeed, Step};
/// use torsion::endpoint::ClientEndpoint;
/// use torsion::{Deferred, Reactor};
/// use torsion_clients::memcache::{ClientConfig, Commands, MemcacheClient};
///
/// fn fetch_page(url: &str) -> Deferred<Vec<u8>> {
///     succeed(format!("<html>{url}</html>").into_bytes()) // a real fetch goes here
/// }
///
/// fn get_memcached_page(r: &mut Reactor, cache: &MemcacheClient, url: &str) -> Deferred<Vec<u8>> {
///     let (cache, url) = (cache.clone(), url.to_string());
///     cache.get(&url).then(r, move |r, hit| match hit {
///         Some(value) => Step::Done(Ok(value.data.to_vec())),
///         None => {
///             let page = fetch_page(&url);
///             page.add_callback(r, move |_, page| {
///                 // Store it; nobody waits for the reply.
///                 cache.set(&url, &page, 0, 3600).mark_handled();
///                 Ok(page)
///             });
///             Step::Wait(page)
///         }
///     })
/// }
///
/// let mut reactor = Reactor::new()?;
/// let cache = MemcacheClient::connect(&mut reactor, ClientEndpoint::tcp("127.0.0.1", 11211), ClientConfig::default());
/// get_memcached_page(&mut reactor, &cache, "http://example.com/").add_callback(&mut reactor, |r, page| {
///     println!("{}", String::from_utf8_lossy(&page));
///     r.stop();
///     Ok(page)
/// });
/// reactor.run()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct MemcacheClient {
    core: Shared,
}

impl MemcacheClient {
    /// A client of the server at `endpoint`; it starts connecting now.
    pub fn connect(reactor: &mut Reactor, endpoint: ClientEndpoint, config: ClientConfig) -> MemcacheClient {
        MemcacheClient {
            core: Core::start(reactor, endpoint, config),
        }
    }

    /// `flush_all`: invalidates every item now, or in `delay` seconds.
    #[track_caller]
    pub fn flush_all(&self, delay: u32) -> Deferred<()> {
        single(self, b"", Ok(Request::flush_all(delay)), done_on(text::Reply::Ok))
    }

    /// `stats`, or `stats <group>` (`items`, `slabs`, `settings`...).
    #[track_caller]
    pub fn stats(&self, group: Option<&str>) -> Deferred<Stats> {
        single(self, b"", Request::stats(group), |reply| match reply {
            Reply::Stats(stats) => Ok(stats),
            other => Err(failed(other)),
        })
    }

    /// `version`: the server's version string.
    #[track_caller]
    pub fn version(&self) -> Deferred<String> {
        single(self, b"", Ok(Request::version()), |reply| match reply {
            Reply::Version(version) => Ok(version),
            other => Err(failed(other)),
        })
    }

    /// Where the connection is.
    pub fn state(&self) -> ConnectionState {
        self.core.borrow().state()
    }

    /// A Deferred that fires once the client is connected: at once if it
    /// is; it fails if the client is closed or gives up first.
    #[track_caller]
    pub fn when_connected(&self) -> Deferred<()> {
        Core::when_connected(&self.core)
    }

    /// Requests made and not answered yet.
    pub fn pending(&self) -> usize {
        self.core.borrow().outstanding()
    }

    /// The server's endpoint.
    pub fn endpoint(&self) -> ClientEndpoint {
        self.core.borrow().endpoint().clone()
    }

    /// If waiting to reconnect, tries now.
    pub(crate) fn retry_now(&self, reactor: &mut Reactor) {
        Core::retry_now(&self.core, reactor);
    }

    /// Closes the client: new requests fail with
    /// [`MemcacheError::Closed`]; those made already are sent and
    /// answered, then the connection closes (requests still waiting for a
    /// connection fail with `Closed`). It takes effect on the next turn of
    /// the loop.
    pub fn close(&self) {
        Core::close(&self.core);
    }
}

impl fmt::Debug for MemcacheClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let core = self.core.borrow();
        f.debug_struct("MemcacheClient")
            .field("endpoint", &format_args!("{}", core.endpoint()))
            .field("state", &core.state())
            .field("pending", &core.outstanding())
            .finish()
    }
}

impl sealed::Dispatch for MemcacheClient {
    fn dispatch(&self, _key: &[u8], request: Request, complete: Completion) -> Result<(), MemcacheError> {
        Core::submit(&self.core, request, complete)
    }

    fn dispatch_multi(
        &self,
        keys: &[&[u8]],
        cas: bool,
        exptime: Option<u32>,
        complete: MultiCompletion,
    ) -> Result<(), MemcacheError> {
        let per_line = self.core.borrow().config_keys_per_get();
        let chunks: Vec<&[&[u8]]> = keys.chunks(per_line).collect();
        let gather = Gather::new(chunks.len(), complete);
        for chunk in chunks {
            let g = gather.clone();
            let part: Completion = Box::new(move |r, reply| {
                let result = reply.and_then(|reply| match reply {
                    Reply::Values(values) => Ok(values),
                    other => Err(failed(other)),
                });
                Gather::done(&g, r, result);
            });
            if let Err(error) = Core::submit(&self.core, Request::retrieval(chunk, cas, exptime), part) {
                if let Some(error) = Gather::refused(&gather, error) {
                    return Err(error);
                }
            }
        }
        Ok(())
    }
}

impl Commands for MemcacheClient {}
