//! What the proxy's in-process tests share: a local origin (a Torsion
//! `Site` on the test's reactor), proxies on the same reactor, and clients
//! that are protocols on it too, so one thread runs everything and a test
//! can look inside the proxy (its cache, its limiter) at any point.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use torsion::defer::gather_results;
use torsion::{CloseReason, Ctx, Deferred, Failure, OneShot, Protocol, Reactor};
use torsion_servers::proxy::{self, CachedPages, ForwardConfig, ProxyConfig};
use torsion_servers::web::{Render, Request, Resource, Site};

/// How long any exchange in a test may take.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Requests the origin received, by path.
pub type Hits = Rc<RefCell<HashMap<String, usize>>>;

/// Byte `i` of a `/bytes/<n>` body.
pub fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

/// The origin: one leaf resource answering by path.
///
/// `/hello`; `/delay/<secs>/...` (answers after that long); `/bytes/<n>`;
/// `/chunked` (three pieces, chunked); `/loop` (302 to itself);
/// `/redirect` (302 to `/hello`); `/reset` (part of a body, then a reset);
/// `/status/<code>`; `/echo-headers` (the request's fields, one a line).
struct Origin {
    hits: Hits,
}

impl Resource for Origin {
    fn is_leaf(&self) -> bool {
        true
    }

    fn render_get(&self, r: &mut Reactor, request: &Request) -> Render {
        let path = request.path().to_string();
        *self.hits.borrow_mut().entry(path.clone()).or_insert(0) += 1;
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            ["hello"] => "hello\n".into(),
            ["delay", secs, ..] => {
                let delay = Duration::from_secs_f64(secs.parse().unwrap_or(0.0));
                let req = request.clone();
                let body = format!("slept {secs}\n");
                r.call_later(delay, move |r| {
                    req.write(r, body.as_bytes());
                    req.finish(r);
                });
                Render::NotDoneYet
            }
            ["bytes", n] => {
                let n: usize = n.parse().unwrap_or(0);
                Render::body((0..n).map(pattern).collect::<Vec<u8>>())
            }
            ["chunked"] => {
                for piece in [&b"one "[..], b"two ", b"three\n"] {
                    request.write(r, piece);
                }
                request.finish(r);
                Render::NotDoneYet
            }
            ["loop"] => {
                request.set_status(302);
                request.set_header("Location", "/loop");
                "".into()
            }
            ["redirect"] => {
                request.set_status(302);
                request.set_header("Location", "/hello");
                "".into()
            }
            ["reset"] => {
                request.set_header("Content-Length", "100000");
                request.write(r, &[b'x'; 1000]);
                let id = request.connection();
                r.call_later(Duration::from_millis(30), move |r| {
                    r.transport(id).abort_connection()
                });
                Render::NotDoneYet
            }
            ["status", code] => {
                request.set_status(code.parse().unwrap_or(500));
                format!("status {code}\n").into()
            }
            ["echo-headers"] => {
                let mut out = String::new();
                for (name, value) in request.headers().iter() {
                    out.push_str(&format!("{}: {value}\n", name.to_ascii_lowercase()));
                }
                out.into()
            }
            _ => {
                request.set_status(404);
                "not found\n".into()
            }
        }
    }
}

/// Starts the origin on `r`; returns its base URL (`http://127.0.0.1:PORT`)
/// and its hit counts.
pub fn origin(r: &mut Reactor) -> (String, Hits) {
    let hits = Hits::default();
    let id = r
        .listen_tcp(
            "127.0.0.1:0".parse().unwrap(),
            Site::new(Origin { hits: hits.clone() }),
        )
        .unwrap();
    (format!("http://{}", r.local_addr(id).unwrap()), hits)
}

/// Requests for `path` the origin received.
pub fn hits(hits: &Hits, path: &str) -> usize {
    hits.borrow().get(path).copied().unwrap_or(0)
}

/// Listens with `factory` on 127.0.0.1, an OS-chosen port.
fn listen(r: &mut Reactor, factory: impl torsion::Factory) -> SocketAddr {
    let id = r.listen_tcp("127.0.0.1:0".parse().unwrap(), factory).unwrap();
    r.local_addr(id).and_then(|a| a.as_socket_addr()).unwrap()
}

/// A line proxy on `r`, configured by `config`.
pub fn line_proxy(r: &mut Reactor, config: &ProxyConfig) -> (SocketAddr, CachedPages) {
    let pages = proxy::cached_pages(r, config);
    let addr = listen(r, proxy::line_factory(pages.clone(), config, 10_000));
    (addr, pages)
}

/// A blocking line proxy on `r`.
pub fn blocking_proxy(r: &mut Reactor, config: &ProxyConfig) -> SocketAddr {
    listen(r, proxy::blocking_factory(config, 100))
}

/// A forward proxy on `r`.
pub fn forward_proxy(r: &mut Reactor) -> SocketAddr {
    let config = ForwardConfig::new(Duration::from_secs(20), Duration::from_secs(5));
    listen(r, proxy::forward_factory(config, 1000))
}

/// A client: sends `request` (then half-closes if asked), keeps what
/// comes back until the close.
struct Exchange {
    request: Vec<u8>,
    half_close: bool,
    reply: Vec<u8>,
    done: Deferred<Vec<u8>>,
}

impl Protocol for Exchange {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        ctx.write(&self.request);
        if self.half_close {
            ctx.lose_write_connection();
        }
    }

    fn data_received(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) {
        self.reply.extend_from_slice(data);
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, _reason: CloseReason) {
        let _ = self.done.callback(ctx, std::mem::take(&mut self.reply));
    }
}

/// Starts one exchange; the Deferred fires with the reply.
pub fn start_exchange(
    r: &mut Reactor,
    addr: SocketAddr,
    request: &[u8],
    half_close: bool,
) -> Deferred<Vec<u8>> {
    let done = Deferred::new();
    let exchange = Exchange {
        request: request.to_vec(),
        half_close,
        reply: Vec::new(),
        done: done.clone(),
    };
    let failed = done.clone();
    r.connect_tcp(
        addr,
        OneShot::new(exchange).on_failure(move |r, e| {
            let _ = failed.errback(r, e);
        }),
    );
    done.add_timeout(r, TIMEOUT);
    done
}

/// Runs the reactor until `d` fires; fails the test on a failure.
pub fn wait<T: 'static>(r: &mut Reactor, d: Deferred<T>) -> T {
    match r.run_until_complete(d).expect("the reactor runs") {
        Ok(value) => value,
        Err(failure) => panic!("{failure:#}"),
    }
}

/// One exchange, to the end.
pub fn exchange(r: &mut Reactor, addr: SocketAddr, request: &[u8], half_close: bool) -> Vec<u8> {
    let d = start_exchange(r, addr, request, half_close);
    wait(r, d)
}

/// Many exchanges at once, to the end; replies in the order of the requests.
pub fn exchanges(r: &mut Reactor, addr: SocketAddr, requests: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let all: Vec<_> = requests
        .iter()
        .map(|req| start_exchange(r, addr, req, false))
        .collect();
    let d = gather_results(r, all);
    wait(r, d)
}

/// `url\r\n` through the line proxy at `addr`: the reply, as text.
pub fn ask(r: &mut Reactor, addr: SocketAddr, url: &str) -> String {
    String::from_utf8_lossy(&exchange(r, addr, format!("{url}\r\n").as_bytes(), false)).into_owned()
}

/// `url\r\n` through the line proxy at `addr`: the reply's bytes.
pub fn ask_bytes(r: &mut Reactor, addr: SocketAddr, url: &str) -> Vec<u8> {
    exchange(r, addr, format!("{url}\r\n").as_bytes(), false)
}

/// Records every log line (debug and up) with the thread that logged it,
/// so that a test sees its own reactor's lines.
struct Capture;

static RECORDS: std::sync::Mutex<Vec<(std::thread::ThreadId, String)>> = std::sync::Mutex::new(Vec::new());
static CAPTURE: Capture = Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Debug
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {}", record.level(), record.args());
            if let Ok(mut records) = RECORDS.lock() {
                records.push((std::thread::current().id(), line));
            }
        }
    }

    fn flush(&self) {}
}

/// Starts capturing log lines (once per test binary).
pub fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if log::set_logger(&CAPTURE).is_ok() {
            log::set_max_level(log::LevelFilter::Debug);
        }
    });
}

/// The log lines this thread logged so far (`LEVEL message`).
pub fn logs() -> Vec<String> {
    let me = std::thread::current().id();
    RECORDS
        .lock()
        .map(|records| {
            records
                .iter()
                .filter(|(t, _)| *t == me)
                .map(|(_, l)| l.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Lets the reactor run for `d`.
pub fn run_for(r: &mut Reactor, d: Duration) {
    let slept = torsion::defer::sleep(r, d);
    let _: Result<(), Failure> = r.run_until_complete(slept).expect("the reactor runs");
}
