//! [`Upstream`]: a connection to torsion-kv that is kept open, as a
//! [`Backend`].

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use torsion::defer::{fail, Step};
use torsion::endpoint::ClientEndpoint;
use torsion::reconnect::{Backoff, ReconnectError, ReconnectingService, ServiceState};
use torsion::{CloseReason, Ctx, Deferred, Failure, Protocol, Reactor};
use torsion_clients::kv::line::LineClient;
use torsion_clients::kv::{AmpKvClient, KeyValue, PbKvClient, Strings};
use torsion_protocols::amp::{Amp, Responders};
use torsion_protocols::pb::Broker;

use super::{Backend, Health, Unavailable};

/// Which of torsion-kv's protocols to speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// The seeds' line protocol ([`KvClient`](torsion_clients::kv::KvClient), torsion-kv's `-p` port).
    Line,
    /// AMP ([`AmpKvClient`], torsion-kv's `--amp-port`).
    Amp,
    /// Perspective Broker ([`PbKvClient`], torsion-kv's `--pb-port`, or the
    /// seeds' `keyvalue_pb.py`), keys and values sent as `Strings`.
    Pb(Strings),
}

impl fmt::Display for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Wire::Line => "the line protocol",
            Wire::Amp => "AMP",
            Wire::Pb(Strings::Str) => "Perspective Broker (str keys and values)",
            Wire::Pb(Strings::Bytes) => "Perspective Broker (bytes keys and values)",
        })
    }
}

/// How [`Upstream`] connects and how long it waits.
#[derive(Clone, Debug)]
pub struct UpstreamConfig {
    /// Where torsion-kv listens.
    pub endpoint: ClientEndpoint,
    /// Which protocol it speaks there.
    pub wire: Wire,
    /// The longest a call may take, waiting for a connection attempt in
    /// progress included (then it fails with
    /// [`TimedOut`](torsion::defer::TimedOut): a 504).
    pub timeout: Duration,
    /// The waits between reconnection attempts.
    pub backoff: Backoff,
}

impl UpstreamConfig {
    /// torsion-kv at `endpoint` over `wire`: calls time out after 5 s,
    /// reconnections are tried 0.25 s after a loss, then ever less often,
    /// but at least every 5 s.
    pub fn new(endpoint: ClientEndpoint, wire: Wire) -> Self {
        UpstreamConfig {
            endpoint,
            wire,
            timeout: Duration::from_secs(5),
            backoff: Backoff {
                initial: Duration::from_millis(250),
                factor: 2.0,
                max: Duration::from_secs(5),
                jitter: 0.2,
                max_retries: None,
            },
        }
    }
}

/// What a call needs of the reconnecting service, whatever its protocol.
trait Link {
    fn state(&self) -> ServiceState;
    /// Fires once connected; fails if the attempt in progress (or the next
    /// one) fails.
    fn connected(&self, reactor: &mut Reactor) -> Deferred<()>;
    fn stop(&self, reactor: &mut Reactor);
}

impl<P: Protocol> Link for ReconnectingService<P> {
    fn state(&self) -> ServiceState {
        ReconnectingService::state(self)
    }

    fn connected(&self, reactor: &mut Reactor) -> Deferred<()> {
        self.when_connected_or_fail_after(reactor, 1)
            .then(reactor, |_, _handle| Ok(()))
    }

    fn stop(&self, reactor: &mut Reactor) {
        ReconnectingService::stop(self, reactor)
    }
}

/// The client of the connection open now, set when its protocol is built.
type Current = Rc<RefCell<Option<Rc<dyn KeyValue>>>>;

/// A connection's protocol, watched: logs when the connection opens and
/// closes, and remembers why it closed.
struct Watched<P> {
    inner: P,
    name: Rc<str>,
    last_problem: Rc<RefCell<Option<String>>>,
}

impl<P> Watched<P> {
    fn new(inner: P, name: &Rc<str>, last_problem: &Rc<RefCell<Option<String>>>) -> Self {
        Watched {
            inner,
            name: name.clone(),
            last_problem: last_problem.clone(),
        }
    }
}

impl<P: Protocol> Protocol for Watched<P> {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        log::info!("connected to {}", self.name);
        self.last_problem.borrow_mut().take();
        self.inner.connection_made(ctx);
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        self.inner.data_received(ctx, data);
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        self.inner.read_connection_lost(ctx);
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        if reason.is_clean() {
            log::info!("the connection to {} closed ({reason})", self.name);
        } else {
            log::warn!("the connection to {} closed ({reason})", self.name);
        }
        *self.last_problem.borrow_mut() = Some(reason.to_string());
        self.inner.connection_lost(ctx, reason);
    }

    fn pause_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.inner.pause_producing(ctx);
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        self.inner.resume_producing(ctx);
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }
}

/// torsion-kv over a connection that is kept open: the [`Backend`]
/// `torsion-kvweb` uses.
///
/// It connects at once, and whenever the connection fails or is lost, it
/// tries again after a [`Backoff`] wait ([`ReconnectingService`]). A call
///
/// - goes out at once while connected (calls are pipelined on the one
///   connection);
/// - waits for the attempt in progress while connecting, and fails with
///   [`Unavailable`] if that attempt fails;
/// - fails at once with [`Unavailable`] between attempts: a page says so
///   (503) instead of hanging until the store is back;
/// - fails with [`TimedOut`](torsion::defer::TimedOut) after
///   [`UpstreamConfig::timeout`] in all.
///
/// A cheap handle: clones share the connection.
///
/// # Examples
///
/// ```no_run
/// use std::rc::Rc;
/// use torsion::endpoint::ClientEndpoint;
/// use torsion::Reactor;
/// use torsion_servers::kvweb::{self, Upstream, UpstreamConfig, Wire};
/// use torsion_servers::web::Site;
///
/// let mut reactor = Reactor::new()?;
/// let config = UpstreamConfig::new(ClientEndpoint::tcp("127.0.0.1", 11212), Wire::Line);
/// let upstream = Upstream::connect(&mut reactor, config);
/// let site = Site::new(kvweb::site_root(Rc::new(upstream)));
/// reactor.listen_tcp("127.0.0.1:8000".parse().unwrap(), site)?;
/// reactor.run()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Upstream {
    link: Rc<dyn Link>,
    current: Current,
    last_problem: Rc<RefCell<Option<String>>>,
    name: Rc<str>,
    timeout: Duration,
}

impl Upstream {
    /// Starts connecting to torsion-kv as `config` says.
    pub fn connect(reactor: &mut Reactor, config: UpstreamConfig) -> Self {
        let name: Rc<str> = format!("torsion-kv at {}", endpoint_address(&config.endpoint)).into();
        let current: Current = Rc::default();
        let last_problem: Rc<RefCell<Option<String>>> = Rc::default();
        let (slot, watched_name, problem) = (current.clone(), name.clone(), last_problem.clone());
        let link: Rc<dyn Link> = match config.wire {
            Wire::Line => Rc::new(ReconnectingService::start(
                reactor,
                config.endpoint,
                config.backoff,
                move |_| {
                    let protocol = LineClient::default();
                    *slot.borrow_mut() = Some(Rc::new(protocol.client()));
                    Watched::new(protocol, &watched_name, &problem)
                },
            )),
            Wire::Amp => Rc::new(ReconnectingService::start(
                reactor,
                config.endpoint,
                config.backoff,
                move |_| {
                    let protocol = Amp::new(Rc::new(Responders::new()));
                    *slot.borrow_mut() = Some(Rc::new(AmpKvClient::new(protocol.remote())));
                    Watched::new(protocol, &watched_name, &problem)
                },
            )),
            // Calls made before the dialect is agreed wait for it in the broker.
            Wire::Pb(strings) => Rc::new(ReconnectingService::start(
                reactor,
                config.endpoint,
                config.backoff,
                move |_| {
                    let protocol = Broker::client();
                    *slot.borrow_mut() = Some(Rc::new(PbKvClient::new(protocol.root(), strings)));
                    Watched::new(protocol, &watched_name, &problem)
                },
            )),
        };
        log::info!("talking to {name} over {}", config.wire);
        Upstream {
            link,
            current,
            last_problem,
            name,
            timeout: config.timeout,
        }
    }

    /// Closes the connection and stops reconnecting; later calls fail
    /// with [`Unavailable`].
    pub fn stop(&self, reactor: &mut Reactor) {
        self.link.stop(reactor);
        self.current.borrow_mut().take();
    }

    /// A Deferred that fires once connected, or fails with [`Unavailable`]
    /// if the attempt in progress (or the next one) fails: how
    /// `torsion-kvweb` reports at startup whether torsion-kv is there.
    #[track_caller]
    pub fn ready(&self, reactor: &mut Reactor) -> Deferred<()> {
        let me = self.clone();
        self.link
            .connected(reactor)
            .then_both(reactor, move |_, outcome| match outcome {
                Ok(()) => Ok(()),
                Err(failure) => Err(me.attempt_failed(&failure).into()),
            })
    }

    /// The attempt a call waited for failed.
    fn attempt_failed(&self, failure: &Failure) -> Unavailable {
        let reason = match failure.downcast_ref::<ReconnectError>() {
            Some(ReconnectError::Failed { last, .. }) => last.to_string(),
            _ => failure.to_string(),
        };
        *self.last_problem.borrow_mut() = Some(reason.clone());
        self.unavailable(Some(reason))
    }

    fn unavailable(&self, reason: Option<String>) -> Unavailable {
        Unavailable {
            store: self.name.to_string(),
            reason: reason.or_else(|| self.last_problem.borrow().clone()),
        }
    }

    /// Runs `op` on the client once there is one, bounded in time.
    #[track_caller]
    fn call<T: 'static>(
        &self,
        reactor: &mut Reactor,
        op: impl FnOnce(&mut Reactor, &dyn KeyValue) -> Deferred<T> + 'static,
    ) -> Deferred<T> {
        let client = self.current.borrow().clone();
        let d = match (self.link.state(), client) {
            (ServiceState::Connected(_), Some(client)) => op(reactor, &*client),
            (ServiceState::Connecting, _) => {
                let (current, me) = (self.current.clone(), self.clone());
                self.link
                    .connected(reactor)
                    .then_both(reactor, move |r, outcome| {
                        let client = current.borrow().clone();
                        match (outcome, client) {
                            (Ok(()), Some(client)) => Step::Wait(op(r, &*client)),
                            (Ok(()), None) => Step::Done(Err(me.unavailable(None).into())),
                            (Err(failure), _) => Step::Done(Err(me.attempt_failed(&failure).into())),
                        }
                    })
            }
            _ => fail(self.unavailable(None)),
        };
        d.add_timeout(reactor, self.timeout);
        d
    }
}

/// `host:port` of a TCP endpoint, the path of a Unix one.
fn endpoint_address(endpoint: &ClientEndpoint) -> String {
    match endpoint {
        ClientEndpoint::Tcp { host, port, .. } if host.contains(':') => format!("[{host}]:{port}"),
        ClientEndpoint::Tcp { host, port, .. } => format!("{host}:{port}"),
        ClientEndpoint::Unix { path } => path.display().to_string(),
    }
}

impl KeyValue for Upstream {
    fn get(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<Vec<u8>> {
        let key = key.to_vec();
        self.call(reactor, move |r, kv| kv.get(r, &key))
    }

    fn set(&self, reactor: &mut Reactor, key: &[u8], value: &[u8]) -> Deferred<()> {
        let (key, value) = (key.to_vec(), value.to_vec());
        self.call(reactor, move |r, kv| kv.set(r, &key, &value))
    }

    fn delete(&self, reactor: &mut Reactor, key: &[u8]) -> Deferred<()> {
        let key = key.to_vec();
        self.call(reactor, move |r, kv| kv.delete(r, &key))
    }
}

impl Backend for Upstream {
    fn name(&self) -> String {
        self.name.to_string()
    }

    fn health(&self) -> Health {
        match self.link.state() {
            ServiceState::Connected(_) => Health::Connected,
            ServiceState::Connecting => Health::Connecting,
            ServiceState::Waiting | ServiceState::GaveUp | ServiceState::Stopped => Health::Unreachable,
        }
    }
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("name", &self.name)
            .field("state", &self.link.state())
            .finish()
    }
}
