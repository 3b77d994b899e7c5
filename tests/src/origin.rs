//! [`Origin`]: a small local web server for the proxy's tests, on a thread
//! of its own with its own reactor (so a proxy under test may block its
//! loop without blocking the origin), plus an echo port for tunnels.
//!
//! | path | answer |
//! | --- | --- |
//! | `/delay/<secs>` (anything after it ignored) | `200`, `slept <secs>\n`, after `<secs>` seconds (e.g. 0.5) |
//! | `/together/<n>` (anything after it ignored) | `200`, `together <n>\n`, once `n` such requests wait at once; `504` after [`TOGETHER_WAIT`] |
//! | `/hello` | `200`, `hello\n` |
//! | `/bytes/<n>` | `200` with `n` bytes of a pattern ([`pattern`]), streamed as the client reads |
//! | `/redirect/<n>` | `302` to `/redirect/<n-1>`; `/redirect/0` goes to `/hello` |
//! | `/loop` | `302` to itself, forever |
//! | `/reset` | a head announcing 100,000 bytes, 1,000 of them, then a reset |
//! | `/status/<code>` | that status, `status <code>\n` |
//! | `/echo-headers` | `200`, the request head as received |
//! | anything else | `404` |
//!
//! `/together/<n>` proves concurrency without a clock: a client that sends
//! its requests one after another, each waiting for the last answer, never
//! gets `n > 1` of them answered (each waits the full [`TOGETHER_WAIT`] and
//! gets a 504), however fast or loaded the machine.
//!
//! Every request is counted by path ([`Origin::hits`]); every answer says
//! `Connection: close`. HEAD gets the head alone.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use torsion::{factory_fn, CloseReason, ConnectionId, Ctx, Protocol, Reactor, ReactorHandle};

/// The longest request head the origin reads.
const MAX_HEAD: usize = 16 * 1024;
/// How much it lets pile up in a connection's write buffer when streaming.
const STREAM_AHEAD: usize = 128 * 1024;

/// How long a `/together/<n>` request waits for the rest of its group
/// before it is answered 504.
pub const TOGETHER_WAIT: Duration = Duration::from_secs(30);

/// The `/together/<n>` requests waiting, by group size.
type Groups = Rc<RefCell<HashMap<u32, Vec<ConnectionId>>>>;

/// Byte `i` of a `/bytes/<n>` body: a pattern that shows a lost, repeated
/// or misplaced byte.
pub fn pattern(i: u64) -> u8 {
    (i % 251) as u8
}

type Hits = Arc<Mutex<HashMap<String, usize>>>;

/// The local origin; stopped when dropped.
pub struct Origin {
    addr: SocketAddr,
    echo: SocketAddr,
    hits: Hits,
    handle: ReactorHandle,
    thread: Option<thread::JoinHandle<()>>,
}

impl Origin {
    /// Starts it on 127.0.0.1, on OS-chosen ports.
    pub fn start() -> Origin {
        Origin::start_on(0)
    }

    /// Starts it on 127.0.0.1, its HTTP port `port` (0 lets the OS
    /// choose), its echo port chosen by the OS.
    pub fn start_on(port: u16) -> Origin {
        let hits = Hits::default();
        let counted = hits.clone();
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            let mut reactor = Reactor::new().expect("a reactor");
            let handle = reactor.handle().expect("a handle");
            let local: SocketAddr = "127.0.0.1:0".parse().expect("an address");
            let groups = Groups::default();
            let http = reactor
                .listen_tcp(
                    SocketAddr::new(local.ip(), port),
                    factory_fn(move |_, _| {
                        let conn = OriginConn::new(counted.clone(), groups.clone());
                        Some(Box::new(conn) as Box<dyn Protocol>)
                    }),
                )
                .expect("listen");
            let echo = reactor
                .listen_tcp(
                    local,
                    factory_fn(|_, _| Some(Box::new(Echo) as Box<dyn Protocol>)),
                )
                .expect("listen");
            let addr = |r: &mut Reactor, id| r.local_addr(id).and_then(|a| a.as_socket_addr()).expect("tcp");
            let addrs = (addr(&mut reactor, http), addr(&mut reactor, echo));
            tx.send((addrs, handle)).expect("the test waits");
            reactor.run().expect("the origin runs");
        });
        let ((addr, echo), handle) = rx.recv_timeout(crate::TIMEOUT).expect("the origin starts");
        Origin {
            addr,
            echo,
            hits,
            handle,
            thread: Some(thread),
        }
    }

    /// Its HTTP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of its echo port (every byte sent comes back; an
    /// end-of-file is answered with one once everything is echoed).
    pub fn echo_addr(&self) -> SocketAddr {
        self.echo
    }

    /// `http://127.0.0.1:PORT<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests it received for `path` (query included, as sent).
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Requests it received in all.
    pub fn total_hits(&self) -> usize {
        self.hits.lock().unwrap().values().sum()
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        let _ = self.handle.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a connection is doing.
enum State {
    Reading(Vec<u8>),
    Streaming { next: u64, end: u64, paused: bool },
    Done,
}

struct OriginConn {
    hits: Hits,
    groups: Groups,
    state: State,
}

impl OriginConn {
    fn new(hits: Hits, groups: Groups) -> Self {
        OriginConn {
            hits,
            groups,
            state: State::Reading(Vec::new()),
        }
    }

    /// Joins the `/together/<n>` group; the last to arrive answers all.
    fn together(&mut self, ctx: &mut Ctx<'_>, n: u32, head_only: bool) {
        let body = format!("together {n}\n");
        let id = ctx.id();
        let mut groups = self.groups.borrow_mut();
        let waiting = groups.entry(n).or_default();
        waiting.retain(|other| ctx.transport(*other).is_open());
        waiting.push(id);
        if waiting.len() < n as usize {
            let groups = self.groups.clone();
            ctx.call_later(TOGETHER_WAIT, move |r| {
                let mut groups = groups.borrow_mut();
                let waiting = groups.entry(n).or_default();
                if let Some(at) = waiting.iter().position(|w| *w == id) {
                    waiting.remove(at);
                    respond(&mut r.transport(id), 504, &[], b"apart\n", head_only);
                }
            });
            return;
        }
        for other in std::mem::take(waiting) {
            if other == id {
                respond(ctx, 200, &[], body.as_bytes(), head_only);
            } else {
                respond(&mut ctx.transport(other), 200, &[], body.as_bytes(), head_only);
            }
        }
    }

    fn answer(&mut self, ctx: &mut Ctx<'_>, head: &[u8]) {
        let text = String::from_utf8_lossy(head).into_owned();
        let mut words = text.split_whitespace();
        let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        *self.hits.lock().unwrap().entry(target.to_string()).or_insert(0) += 1;
        let head_only = method == "HEAD";
        let parts: Vec<&str> = target.trim_start_matches('/').split('/').collect();
        self.state = State::Done;
        match parts.as_slice() {
            ["delay", secs, ..] => {
                let Ok(delay) = secs.parse::<f64>().map(Duration::from_secs_f64) else {
                    return respond(ctx, 400, &[], b"bad delay\n", head_only);
                };
                let id = ctx.id();
                let body = format!("slept {secs}\n");
                ctx.call_later(delay, move |r| {
                    respond(&mut r.transport(id), 200, &[], body.as_bytes(), head_only)
                });
            }
            ["together", n, ..] => match n.parse::<u32>() {
                Ok(n) if n > 0 => self.together(ctx, n, head_only),
                _ => respond(ctx, 400, &[], b"bad group size\n", head_only),
            },
            ["hello"] => respond(ctx, 200, &[], b"hello\n", head_only),
            ["echo-headers"] => respond(ctx, 200, &[], head, head_only),
            ["bytes", n] => match n.parse::<u64>() {
                Ok(n) => {
                    let length = n.to_string();
                    write_head(ctx, 200, &[("Content-Length", &length)]);
                    if head_only {
                        ctx.lose_connection();
                    } else {
                        self.state = State::Streaming {
                            next: 0,
                            end: n,
                            paused: false,
                        };
                        self.pump(ctx);
                    }
                }
                Err(_) => respond(ctx, 400, &[], b"bad size\n", head_only),
            },
            ["redirect", n] => match n.parse::<u32>() {
                Ok(0) => respond(ctx, 302, &[("Location", "/hello")], b"", head_only),
                Ok(n) => {
                    let next = format!("/redirect/{}", n - 1);
                    respond(ctx, 302, &[("Location", &next)], b"", head_only)
                }
                Err(_) => respond(ctx, 400, &[], b"bad count\n", head_only),
            },
            ["loop"] => respond(ctx, 302, &[("Location", "/loop")], b"", head_only),
            ["reset"] => {
                write_head(ctx, 200, &[("Content-Length", "100000")]);
                ctx.write(&[b'x'; 1000]);
                let id = ctx.id();
                // Let the head and the first bytes leave before the reset.
                ctx.call_later(Duration::from_millis(50), move |r| {
                    r.transport(id).abort_connection()
                });
            }
            ["status", code] => {
                let code = code.parse::<u16>().unwrap_or(500);
                respond(ctx, code, &[], format!("status {code}\n").as_bytes(), head_only)
            }
            _ => respond(ctx, 404, &[], b"not found\n", head_only),
        }
    }

    /// Writes the next pieces of a `/bytes` body, as far as the client keeps up.
    fn pump(&mut self, ctx: &mut Ctx<'_>) {
        let State::Streaming { next, end, paused } = &mut self.state else {
            return;
        };
        let mut chunk = Vec::with_capacity(16 * 1024);
        while !*paused && *next < *end && ctx.buffered() < STREAM_AHEAD {
            let n = (*end - *next).min(16 * 1024);
            chunk.clear();
            chunk.extend((*next..*next + n).map(pattern));
            ctx.write(&chunk);
            *next += n;
        }
        if *next == *end {
            self.state = State::Done;
            ctx.lose_connection();
        }
    }
}

/// Writes a status line and fields (with `Connection: close`).
fn write_head(ctx: &mut Ctx<'_>, status: u16, fields: &[(&str, &str)]) {
    let mut head = format!("HTTP/1.1 {status} Scripted\r\nConnection: close\r\n");
    for (name, value) in fields {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    ctx.write(head.as_bytes());
}

/// A whole answer, then the close.
fn respond(ctx: &mut Ctx<'_>, status: u16, fields: &[(&str, &str)], body: &[u8], head_only: bool) {
    let length = body.len().to_string();
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("Content-Length", &length));
    write_head(ctx, status, &all);
    if !head_only {
        ctx.write(body);
    }
    ctx.lose_connection();
}

impl Protocol for OriginConn {
    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        let State::Reading(buf) = &mut self.state else {
            return;
        };
        buf.extend_from_slice(data);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = buf[..end + 4].to_vec();
            self.answer(ctx, &head);
        } else if buf.len() > MAX_HEAD {
            self.state = State::Done;
            respond(ctx, 431, &[], b"head too large\n", false);
        }
    }

    fn pause_producing(&mut self, _ctx: &mut Ctx<'_>) {
        if let State::Streaming { paused, .. } = &mut self.state {
            *paused = true;
        }
    }

    fn resume_producing(&mut self, ctx: &mut Ctx<'_>) {
        if let State::Streaming { paused, .. } = &mut self.state {
            *paused = false;
        }
        self.pump(ctx);
    }

    fn connection_lost(&mut self, _ctx: &mut Ctx<'_>, _reason: CloseReason) {
        self.state = State::Done;
    }
}

/// Sends every byte back; half-closes after the peer's end-of-file.
struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        ctx.write(data);
    }

    fn read_connection_lost(&mut self, ctx: &mut Ctx<'_>) {
        ctx.lose_connection();
    }
}
