//! [`MemcachePool`]: many servers, keys placed by ketama consistent hashing,
//! dead servers ejected and retried.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use torsion::defer::{fail, succeed};
use torsion::{Deferred, Failure, Reactor};

use super::client::MemcacheClient;
use super::commands::{done_on, failed, sealed, Commands};
use super::config::ClientConfig;
use super::conn::Completion;
use super::error::MemcacheError;
use super::ketama::Continuum;
use super::multi::{Gather, MultiCompletion};
use super::request::Request;
use super::server::ServerSpec;
use super::value::Reply;
use super::value::Stats;
use torsion_protocols::memcache::text;

/// How a [`MemcachePool`] behaves.
///
/// ```
/// use std::time::Duration;
/// use torsion_clients::memcache::PoolConfig;
///
/// let config = PoolConfig { eject_after: None, ..PoolConfig::default() }; // never eject
/// assert_eq!(config.retry_after, Duration::from_secs(30));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PoolConfig {
    /// How each server's client behaves.
    pub client: ClientConfig,
    /// The connect timeout. Default: 4 s (libmemcached's).
    pub connect_timeout: Duration,
    /// Eject a server from the ring after this many failures in a row
    /// (connection lost, connect failed, timeout, broken reply); its keys
    /// then go to the other servers. `None` never ejects: requests for a
    /// dead server's keys fail. Default: 2 (twemproxy's
    /// `server_failure_limit`).
    pub eject_after: Option<u32>,
    /// How long an ejected server stays out before it is put back on the
    /// ring and tried again. Default: 30 s (twemproxy's
    /// `server_retry_timeout`).
    pub retry_after: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            client: ClientConfig::default(),
            connect_timeout: Duration::from_secs(4),
            eject_after: Some(2),
            retry_after: Duration::from_secs(30),
        }
    }
}

/// One server's part of an answer from every server (`stats`, `version`).
#[derive(Clone, Debug)]
pub struct ServerResult<T> {
    /// The server, as `host:port`.
    pub server: String,
    /// What it answered.
    pub result: Result<T, Failure>,
}

/// Whether a server is on the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Health {
    /// On the ring, after this many failures in a row.
    Live(u32),
    /// Off the ring until its retry timer fires.
    Ejected,
}

struct Member {
    spec: ServerSpec,
    client: MemcacheClient,
}

struct Inner {
    members: Vec<Member>,
    config: PoolConfig,
    ring: RefCell<Ring>,
}

struct Ring {
    continuum: Continuum,
    health: Vec<Health>,
}

/// A client of many memcached servers: each key goes to one server, chosen
/// by ketama consistent hashing ([`ketama`](super::ketama)) exactly as
/// libmemcached and twemproxy choose it, over one [`MemcacheClient`] per
/// server.
///
/// All the [`Commands`] work on a pool as on a client; `get_multi` asks
/// each server for its own keys, all at once. `flush_all`, `stats` and
/// `version` go to every server.
///
/// A server that fails `eject_after` times in a row is taken off the ring
/// (its keys go to the others, as twemproxy's `auto_eject_hosts` does) and
/// put back `retry_after` later. When every server is out, requests fail
/// with [`MemcacheError::NoServers`].
///
/// # Examples
///
/// ```no_run
/// use torsion::Reactor;
/// use torsion_clients::memcache::{Commands, MemcachePool, PoolConfig, ServerSpec};
///
/// let mut reactor = Reactor::new()?;
/// let servers: Vec<ServerSpec> = "10.0.0.1:11211,10.0.0.2:11211"
///     .split(',')
///     .map(|s| s.parse().expect("a server"))
///     .collect();
/// let pool = MemcachePool::new(&mut reactor, servers, PoolConfig::default());
/// println!("user:42 lives on {}", pool.server_for("user:42").expect("a live server"));
/// let p = pool.clone();
/// reactor.run_until_complete(async move { p.set("user:42", "Ada", 0, 0).await })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MemcachePool {
    inner: Rc<Inner>,
}

impl MemcachePool {
    /// A pool of `servers`, listed in the order their configuration lists
    /// them (it breaks ties on the ring). Each starts connecting now.
    pub fn new(reactor: &mut Reactor, servers: Vec<ServerSpec>, config: PoolConfig) -> MemcachePool {
        let members: Vec<Member> = servers
            .into_iter()
            .map(|spec| {
                let endpoint = spec.endpoint(config.connect_timeout);
                let client = MemcacheClient::connect(reactor, endpoint, config.client.clone());
                Member { spec, client }
            })
            .collect();
        let health = vec![Health::Live(0); members.len()];
        let inner = Inner {
            ring: RefCell::new(Ring {
                continuum: Continuum::default(),
                health,
            }),
            members,
            config,
        };
        inner.rebuild();
        MemcachePool {
            inner: Rc::new(inner),
        }
    }

    /// The servers, in order.
    pub fn servers(&self) -> Vec<ServerSpec> {
        self.inner.members.iter().map(|m| m.spec.clone()).collect()
    }

    /// The server `key` goes to now (`None` when every server is ejected).
    pub fn server_for(&self, key: impl AsRef<[u8]>) -> Option<ServerSpec> {
        self.inner
            .route(key.as_ref())
            .map(|i| self.inner.members[i].spec.clone())
    }

    /// The client of server number `index` (in the order given).
    pub fn client(&self, index: usize) -> Option<MemcacheClient> {
        self.inner.members.get(index).map(|m| m.client.clone())
    }

    /// The servers ejected now.
    pub fn ejected(&self) -> Vec<ServerSpec> {
        let ring = self.inner.ring.borrow();
        self.inner
            .members
            .iter()
            .zip(&ring.health)
            .filter(|(_, h)| **h == Health::Ejected)
            .map(|(m, _)| m.spec.clone())
            .collect()
    }

    /// `flush_all` on every server; fails (after all have answered) if any
    /// failed, naming it.
    #[track_caller]
    pub fn flush_all(&self, delay: u32) -> Deferred<()> {
        let each = self.fan_out(|| Ok(Request::flush_all(delay)), done_on(text::Reply::Ok));
        let d = Deferred::new();
        let target = d.clone();
        let finish = move |r: &mut Reactor, results: Vec<ServerResult<()>>| {
            let result = match results.into_iter().find(|s| s.result.is_err()) {
                Some(ServerResult {
                    server,
                    result: Err(e),
                }) => Err(e.context(server)),
                _ => Ok(()),
            };
            let _ = target.fire(r, result);
        };
        match each {
            Fanned::Later(pending) => pending.borrow_mut().finish = Some(Box::new(finish)),
            Fanned::Now(results) => {
                return match results.into_iter().find(|s| s.result.is_err()) {
                    Some(ServerResult {
                        server,
                        result: Err(e),
                    }) => fail(e.context(server)),
                    _ => succeed(()),
                }
            }
        }
        d
    }

    /// `stats` (or `stats <group>`) of every server.
    #[track_caller]
    pub fn stats(&self, group: Option<&str>) -> Deferred<Vec<ServerResult<Stats>>> {
        let group = group.map(str::to_string);
        let each = self.fan_out(
            move || Request::stats(group.as_deref()),
            |reply| match reply {
                Reply::Stats(stats) => Ok(stats),
                other => Err(failed(other)),
            },
        );
        self.gathered(each)
    }

    /// `version` of every server.
    #[track_caller]
    pub fn version(&self) -> Deferred<Vec<ServerResult<String>>> {
        let each = self.fan_out(
            || Ok(Request::version()),
            |reply| match reply {
                Reply::Version(v) => Ok(v),
                other => Err(failed(other)),
            },
        );
        self.gathered(each)
    }

    /// Closes every server's client (see [`MemcacheClient::close`]).
    pub fn close(&self) {
        for member in &self.inner.members {
            member.client.close();
        }
    }

    #[track_caller]
    fn gathered<T: 'static>(&self, each: Fanned<T>) -> Deferred<Vec<ServerResult<T>>> {
        match each {
            Fanned::Now(results) => succeed(results),
            Fanned::Later(pending) => {
                let d = Deferred::new();
                let target = d.clone();
                pending.borrow_mut().finish = Some(Box::new(move |r, results| {
                    let _ = target.callback(r, results);
                }));
                d
            }
        }
    }

    /// Sends a request to every server; the results are gathered in order.
    fn fan_out<T: 'static>(
        &self,
        request: impl Fn() -> Result<Request, MemcacheError>,
        convert: impl Fn(Reply) -> Result<T, MemcacheError> + Clone + 'static,
    ) -> Fanned<T> {
        let n = self.inner.members.len();
        let fan = Rc::new(RefCell::new(FanOut {
            servers: self.inner.members.iter().map(|m| m.spec.to_string()).collect(),
            results: (0..n).map(|_| None).collect(),
            remaining: n,
            finish: None,
        }));
        for (index, member) in self.inner.members.iter().enumerate() {
            let convert = convert.clone();
            let f = fan.clone();
            let complete: Completion = Box::new(move |r, reply| {
                FanOut::done(&f, r, index, reply.and_then(convert));
            });
            let sent = request().and_then(|req| {
                let complete = self.inner.watched(index, complete);
                sealed::Dispatch::dispatch(&member.client, b"", req, complete)
            });
            if let Err(error) = sent {
                let mut f = fan.borrow_mut();
                f.results[index] = Some(Err(error));
                f.remaining -= 1;
            }
        }
        let all_done = fan.borrow().remaining == 0;
        if all_done {
            return Fanned::Now(FanOut::take(&fan));
        }
        Fanned::Later(fan)
    }
}

/// Results of a request sent to every server.
enum Fanned<T: 'static> {
    /// Every server refused it at once.
    Now(Vec<ServerResult<T>>),
    /// Answers are coming; set `finish`.
    Later(Rc<RefCell<FanOut<T>>>),
}

type Finish<T> = Box<dyn FnOnce(&mut Reactor, Vec<ServerResult<T>>)>;

struct FanOut<T: 'static> {
    /// The servers' names, in order.
    servers: Vec<String>,
    results: Vec<Option<Result<T, MemcacheError>>>,
    remaining: usize,
    finish: Option<Finish<T>>,
}

impl<T: 'static> FanOut<T> {
    fn done(
        fan: &Rc<RefCell<FanOut<T>>>,
        reactor: &mut Reactor,
        index: usize,
        result: Result<T, MemcacheError>,
    ) {
        let ready = {
            let mut f = fan.borrow_mut();
            f.results[index] = Some(result);
            f.remaining -= 1;
            f.remaining == 0
        };
        if !ready {
            return;
        }
        let results = FanOut::take(fan);
        let finish = fan.borrow_mut().finish.take();
        if let Some(finish) = finish {
            finish(reactor, results);
        }
    }

    fn take(fan: &Rc<RefCell<FanOut<T>>>) -> Vec<ServerResult<T>> {
        let mut f = fan.borrow_mut();
        let results = std::mem::take(&mut f.results);
        let servers = std::mem::take(&mut f.servers);
        results
            .into_iter()
            .zip(servers)
            .map(|(result, server)| ServerResult {
                server,
                result: result.unwrap_or(Err(MemcacheError::Closed)).map_err(Failure::new),
            })
            .collect()
    }
}

impl Inner {
    /// The member that owns `key` now.
    fn route(&self, key: &[u8]) -> Option<usize> {
        self.ring.borrow().continuum.server_for(key)
    }

    /// Rebuilds the ring from the live members.
    fn rebuild(&self) {
        let mut ring = self.ring.borrow_mut();
        let live: Vec<(usize, String, u32)> = self
            .members
            .iter()
            .enumerate()
            .filter(|(i, _)| ring.health[*i] != Health::Ejected)
            .map(|(i, m)| (i, m.spec.ketama_name(), m.spec.weight))
            .collect();
        ring.continuum = Continuum::new(live);
    }

    /// Wraps `complete` so that the outcome counts towards ejecting member `index`.
    fn watched(self: &Rc<Self>, index: usize, complete: Completion) -> Completion {
        let weak = Rc::downgrade(self);
        Box::new(move |r, reply| {
            if let Some(inner) = weak.upgrade() {
                let failure = match &reply {
                    Err(e) if e.is_server_failure() => Some(e.clone()),
                    _ => None,
                };
                Inner::record(&inner, r, index, failure);
            }
            complete(r, reply);
        })
    }

    /// Counts a success (`None`) or a failure of member `index`; ejects it
    /// after `eject_after` failures in a row.
    fn record(inner: &Rc<Inner>, reactor: &mut Reactor, index: usize, failure: Option<MemcacheError>) {
        let eject = {
            let mut ring = inner.ring.borrow_mut();
            let Health::Live(failures) = ring.health[index] else {
                return;
            };
            let failures = if failure.is_some() { failures + 1 } else { 0 };
            let eject = inner.config.eject_after.is_some_and(|n| failures >= n.max(1));
            ring.health[index] = if eject {
                Health::Ejected
            } else {
                Health::Live(failures)
            };
            eject
        };
        if !eject {
            return;
        }
        let member = &inner.members[index];
        log::warn!(
            "memcache pool: ejecting {} for {:?} after {} failures in a row (last: {})",
            member.spec,
            inner.config.retry_after,
            inner.config.eject_after.unwrap_or(0),
            failure.map_or_else(String::new, |e| e.to_string())
        );
        inner.rebuild();
        let weak = Rc::downgrade(inner);
        reactor.call_later(inner.config.retry_after, move |r| {
            if let Some(inner) = weak.upgrade() {
                Inner::readmit(&inner, r, index);
            }
        });
    }

    /// Puts member `index` back on the ring and has its client try now.
    fn readmit(inner: &Rc<Inner>, reactor: &mut Reactor, index: usize) {
        inner.ring.borrow_mut().health[index] = Health::Live(0);
        inner.rebuild();
        let member = &inner.members[index];
        log::info!("memcache pool: retrying {}", member.spec);
        member.client.retry_now(reactor);
    }
}

impl sealed::Dispatch for MemcachePool {
    fn dispatch(&self, key: &[u8], request: Request, complete: Completion) -> Result<(), MemcacheError> {
        let index = self.inner.route(key).ok_or(MemcacheError::NoServers)?;
        let complete = self.inner.watched(index, complete);
        sealed::Dispatch::dispatch(&self.inner.members[index].client, key, request, complete)
    }

    fn dispatch_multi(
        &self,
        keys: &[&[u8]],
        cas: bool,
        exptime: Option<u32>,
        complete: MultiCompletion,
    ) -> Result<(), MemcacheError> {
        let mut by_server: Vec<(usize, Vec<&[u8]>)> = Vec::new();
        for key in keys {
            let index = self.inner.route(key).ok_or(MemcacheError::NoServers)?;
            match by_server.iter_mut().find(|(i, _)| *i == index) {
                Some((_, keys)) => keys.push(key),
                None => by_server.push((index, vec![key])),
            }
        }
        let gather = Gather::new(by_server.len(), complete);
        for (index, keys) in by_server {
            let g = gather.clone();
            let weak = Rc::downgrade(&self.inner);
            let part: MultiCompletion =
                Box::new(move |r, result: Result<HashMap<Bytes, _>, MemcacheError>| {
                    if let Some(inner) = weak.upgrade() {
                        let failure = match &result {
                            Err(e) if e.is_server_failure() => Some(e.clone()),
                            _ => None,
                        };
                        Inner::record(&inner, r, index, failure);
                    }
                    Gather::done(&g, r, result.map(|values| values.into_iter().collect()));
                });
            let client = &self.inner.members[index].client;
            if let Err(error) = sealed::Dispatch::dispatch_multi(client, &keys, cas, exptime, part) {
                if let Some(error) = Gather::refused(&gather, error) {
                    return Err(error);
                }
            }
        }
        Ok(())
    }
}

impl Commands for MemcachePool {}

impl fmt::Debug for MemcachePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemcachePool")
            .field(
                "servers",
                &self.servers().iter().map(ToString::to_string).collect::<Vec<_>>(),
            )
            .field(
                "ejected",
                &self.ejected().iter().map(ToString::to_string).collect::<Vec<_>>(),
            )
            .finish()
    }
}
