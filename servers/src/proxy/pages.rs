//! [`CachedPages`]: the seeds' `getCachedPage`, grown up: a Deferred of
//! the page whatever its source, one fetch for many requests, and a bound
//! on fetches.
//!
//! ```text
//!  get_cached_page(url)
//!    │  a request for url already under way? ──yes──▶ wait for its outcome (Source::Shared)
//!    ▼  no: this request leads
//!  cache.lookup(url) ──hit──▶ every waiter gets the cached page (Source::Cache)
//!    │ miss (or the cache cannot answer)
//!    ▼
//!  limiter: wait for a free fetch slot
//!    ▼
//!  client.get(url) ──error, or status ≥ 400──▶ every waiter fails
//!    │ the page
//!    ▼
//!  cache.store(url, page) (a 200 only) ──stored, or not──▶ every waiter gets the page
//! ```
//!
//! As in the seeds, the answer waits for the store (`set`, then hand the
//! page on), so a request to another proxy sharing the cache, made once
//! this one has answered, finds the page there.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use torsion::{Deferred, Failure, Reactor};
use torsion_clients::http::HttpClient;

use super::cache::Cache;
use super::limiter::Limiter;
use super::page::{Page, PageError, Source};

/// Someone waiting for a URL: its Deferred, and whether it joined a
/// request already under way.
struct Waiter {
    deferred: Deferred<Page>,
    joined: bool,
}

struct Inner {
    client: HttpClient,
    cache: Cache,
    limiter: Limiter,
    /// URLs being looked up or fetched, and who waits for each. Every
    /// waiter holds a client connection, so this is bounded by the
    /// connection limit.
    pending: RefCell<HashMap<String, Vec<Waiter>>>,
}

/// Pages by URL, from the cache or the origin. Cheap to clone (clones
/// share everything).
///
/// # Examples
///
/// Two requests for one URL make one fetch, and a third, later, is served
/// by the cache:
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use torsion::Reactor;
/// use torsion_clients::http::HttpClient;
/// use torsion_servers::proxy::cache::{Cache, MemoryCache};
/// use torsion_servers::proxy::{CachedPages, Source};
/// use torsion_servers::web::{Node, Render, Request, Resource, Site};
///
/// struct Counted(Rc<Cell<u32>>);
/// impl Resource for Counted {
///     fn render_get(&self, _r: &mut Reactor, _req: &Request) -> Render {
///         self.0.set(self.0.get() + 1);
///         "the page".into()
///     }
/// }
///
/// let mut reactor = Reactor::new()?;
/// let hits = Rc::new(Cell::new(0));
/// let mut root = Node::new();
/// root.put_child("page", Counted(hits.clone()));
/// let origin = reactor.listen_tcp("127.0.0.1:0".parse()?, Site::new(root))?;
/// let url = format!("http://{}/page", reactor.local_addr(origin).expect("an address"));
///
/// let memory = MemoryCache::new(1 << 20, std::time::Duration::from_secs(60));
/// let pages = CachedPages::new(HttpClient::new(), Cache::Memory(Rc::new(memory.into())), 16);
/// let first = pages.get_cached_page(&mut reactor, &url);
/// let second = pages.get_cached_page(&mut reactor, &url);
/// let first = reactor.run_until_complete(first)?.map_err(|f| f.report())?;
/// let second = reactor.run_until_complete(second)?.map_err(|f| f.report())?;
/// assert_eq!((first.source, second.source), (Source::Origin, Source::Shared));
/// assert_eq!(second.body, "the page");
///
/// let third = pages.get_cached_page(&mut reactor, &url);
/// let third = reactor.run_until_complete(third)?.map_err(|f| f.report())?;
/// assert_eq!((third.source, hits.get()), (Source::Cache, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct CachedPages {
    inner: Rc<Inner>,
}

impl CachedPages {
    /// Pages fetched with `client`, kept in `cache`, at most `max_fetches`
    /// fetches at once.
    pub fn new(client: HttpClient, cache: Cache, max_fetches: usize) -> Self {
        CachedPages {
            inner: Rc::new(Inner {
                client,
                cache,
                limiter: Limiter::new(max_fetches),
                pending: RefCell::new(HashMap::new()),
            }),
        }
    }

    /// The cache.
    pub fn cache(&self) -> &Cache {
        &self.inner.cache
    }

    /// The fetch limiter (to see how many fetches run and wait).
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    /// URLs being looked up or fetched now.
    pub fn pending(&self) -> usize {
        self.inner.pending.borrow().len()
    }

    /// The page at `url` (an absolute http(s) URL, as
    /// [`Url`](torsion_clients::http::Url) writes it: the cache's key), from
    /// the cache or the origin: a Deferred whatever the source. It fails
    /// with the client's `FetchError`, or [`PageError`] for an error status.
    #[track_caller]
    pub fn get_cached_page(&self, reactor: &mut Reactor, url: &str) -> Deferred<Page> {
        let deferred = Deferred::new();
        let lead = {
            let mut pending = self.inner.pending.borrow_mut();
            match pending.get_mut(url) {
                Some(waiters) => {
                    waiters.push(Waiter {
                        deferred: deferred.clone(),
                        joined: true,
                    });
                    false
                }
                None => {
                    pending.insert(
                        url.to_string(),
                        vec![Waiter {
                            deferred: deferred.clone(),
                            joined: false,
                        }],
                    );
                    true
                }
            }
        };
        if lead {
            let me = self.clone();
            let url = url.to_string();
            let _looked_up = self
                .inner
                .cache
                .lookup(reactor, &url)
                .then(reactor, move |r, hit| {
                    match hit {
                        Some(body) => me.settle(
                            r,
                            &url,
                            Ok(Page {
                                status: 200,
                                body,
                                source: Source::Cache,
                            }),
                        ),
                        None => me.fetch(r, url),
                    }
                    Ok::<(), Failure>(())
                });
        }
        deferred
    }

    /// Fetches `url` once a slot is free; stores a 200; settles its waiters.
    fn fetch(&self, reactor: &mut Reactor, url: String) {
        let me = self.clone();
        self.inner.limiter.run(reactor, move |r| {
            log::debug!("fetch of {url} starts");
            let fetched = me.inner.client.get(r, &url);
            let _settled = fetched.then_both(r, move |r, result| {
                me.inner.limiter.release(r);
                let page = match result {
                    Ok(response) if response.status >= 400 => Err(Failure::new(PageError::Status {
                        status: response.status,
                        reason: response.reason,
                    })),
                    Ok(response) => Ok(Page {
                        status: response.status,
                        body: response.body,
                        source: Source::Origin,
                    }),
                    Err(failure) => Err(failure),
                };
                match page {
                    Ok(page) if page.status == 200 => {
                        let stored = me.inner.cache.store(r, &url, page.body.clone());
                        stored.add_callback(r, move |r, ()| {
                            me.settle(r, &url, Ok(page));
                            Ok(())
                        });
                    }
                    other => me.settle(r, &url, other),
                }
                Ok::<(), Failure>(())
            });
        });
    }

    /// Hands `result` to everyone waiting for `url`.
    fn settle(&self, reactor: &mut Reactor, url: &str, result: Result<Page, Failure>) {
        let waiters = self.inner.pending.borrow_mut().remove(url).unwrap_or_default();
        for waiter in waiters {
            let result = match &result {
                Ok(page) if waiter.joined && page.source == Source::Origin => Ok(Page {
                    source: Source::Shared,
                    ..page.clone()
                }),
                other => other.clone(),
            };
            let _ = waiter.deferred.fire(reactor, result);
        }
    }
}
