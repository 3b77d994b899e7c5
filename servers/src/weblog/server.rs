//! The server: a protocol per client, and the factory that owns the
//! periodic jobs (read the log; push to clients), as the seed's
//! `WebLogFactory` owned `updateRecords`.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use torsion::{Address, CloseReason, Ctx, Factory, LoopingCall, Protocol, Reactor};

use super::follower::{Follower, Progress, Start};
use super::hub::Hub;
use super::lines::Piece;
use super::{clf, tag, CLIENT_BACKLOG, HISTORY, MAX_LOG_LINE, READ_BUDGET};

/// How the server runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The access log to follow.
    pub log: PathBuf,
    /// How often the log is read (the seed: every second).
    pub poll_interval: Duration,
    /// Whether clients are pushed hits or ask for them.
    pub mode: Mode,
}

/// How clients get their hits: the seed's two versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The enhanced version: hits are pushed to every client at this
    /// interval (the seed: every 5 s), without a request.
    Push(Duration),
    /// The first version (`twisted-weblog-1.py`): each time a client sends
    /// anything, it is answered with the hits since its last request, or
    /// `<none/>`.
    Pull,
}

/// Builds a [`WeblogClient`] per connection; reads the log and pushes hits
/// on its own schedule from [`Factory::start`] on.
pub struct WeblogFactory {
    options: Options,
    follower: Rc<RefCell<Follower>>,
    hub: Rc<RefCell<Hub>>,
    /// The periodic read, and in push mode the push.
    jobs: Vec<LoopingCall>,
}

impl WeblogFactory {
    /// A server following `options.log` from its current end (the seed's
    /// `seek(0, 2)`), or from its start once it appears if it is missing.
    pub fn new(options: Options) -> WeblogFactory {
        let follower = Follower::new(&options.log, Start::End, MAX_LOG_LINE);
        WeblogFactory {
            options,
            follower: Rc::new(RefCell::new(follower)),
            hub: Rc::new(RefCell::new(Hub::new(HISTORY, CLIENT_BACKLOG))),
            jobs: Vec::new(),
        }
    }

    /// The shared hits and clients (tests look inside).
    pub fn hub(&self) -> Rc<RefCell<Hub>> {
        self.hub.clone()
    }
}

impl Factory for WeblogFactory {
    fn build_protocol(&mut self, _reactor: &mut Reactor, _peer: &Address) -> Option<Box<dyn Protocol>> {
        let pull = match self.options.mode {
            Mode::Pull => Some(self.follower.clone()),
            Mode::Push(_) => None,
        };
        Some(Box::new(WeblogClient {
            hub: self.hub.clone(),
            pull,
        }))
    }

    /// Starts reading (and pushing), and installs the shutdown trigger that
    /// closes every client's `<hits>` element.
    fn start(&mut self, reactor: &mut Reactor) {
        if !self.jobs.is_empty() {
            return; // started by an earlier listener
        }
        let (follower, hub) = (self.follower.clone(), self.hub.clone());
        let reader = LoopingCall::new(move |r| read_log(r, &follower, &hub));
        reader.start(reactor, self.options.poll_interval, false);
        self.jobs.push(reader);
        let push = match self.options.mode {
            Mode::Push(interval) => {
                let hub = self.hub.clone();
                let pusher = LoopingCall::new(move |r| hub.borrow_mut().push(r));
                pusher.start(reactor, interval, false);
                self.jobs.push(pusher);
                true
            }
            Mode::Pull => false,
        };
        let hub = self.hub.clone();
        reactor.add_shutdown_trigger(move |r| {
            let mut hub = hub.borrow_mut();
            if push {
                // What was read since the last push goes out before the close.
                hub.push(r);
            }
            hub.broadcast(r, tag::CLOSE);
        });
    }

    fn stop(&mut self, reactor: &mut Reactor) {
        for job in self.jobs.drain(..) {
            job.stop(reactor);
        }
    }
}

/// One poll of the log: new lines become hits in the hub. If the read
/// budget ran out, the next slice is read on a following iteration (after
/// the loop has served I/O), not at the next tick.
fn read_log(reactor: &mut Reactor, follower: &Rc<RefCell<Follower>>, hub: &Rc<RefCell<Hub>>) {
    let progress = {
        let mut hub = hub.borrow_mut();
        let mut tag_buf = Vec::new();
        follower.borrow_mut().poll(READ_BUDGET, |piece| match piece {
            Piece::Line(line) => match clf::parse(line) {
                Ok(hit) => {
                    tag_buf.clear();
                    tag::hit_tag(&hit, &mut tag_buf);
                    hub.add(Bytes::copy_from_slice(&tag_buf));
                }
                Err(e) => log::debug!("skipping a malformed log line ({e}): {}", preview(line)),
            },
            Piece::TooLong(len) => {
                log::debug!("skipping a log line of {len} bytes (longer than {MAX_LOG_LINE})")
            }
        })
    };
    if progress == Progress::More {
        let (follower, hub) = (follower.clone(), hub.clone());
        reactor.call_soon(move |r| read_log(r, &follower, &hub));
    }
}

/// The start of a line, for a log message.
fn preview(line: &[u8]) -> String {
    const SHOWN: usize = 120;
    let shown = String::from_utf8_lossy(&line[..line.len().min(SHOWN)]).into_owned();
    if line.len() > SHOWN {
        shown + "..."
    } else {
        shown
    }
}

/// One connected client: greeted with `<hits>`, then pushed hits, or
/// answered when it asks.
///
/// In push mode what a client sends is ignored: as in the seed's enhanced
/// server, clients "need not (and should not)" ask for hits. In pull mode
/// every read of the client's bytes is a request, whatever they hold (the
/// seed's client sends `NEW?` every 5 seconds; a request split by TCP
/// into two reads is answered twice). The log is read first, so the
/// answer is as fresh as the file. A client that leaves its answers
/// unread past [`CLIENT_BACKLOG`] bytes has its requests ignored until it
/// reads.
pub struct WeblogClient {
    hub: Rc<RefCell<Hub>>,
    /// In pull mode, the log, read at each request.
    pull: Option<Rc<RefCell<Follower>>>,
}

impl Protocol for WeblogClient {
    fn connection_made(&mut self, ctx: &mut Ctx<'_>) {
        log::info!(
            "{}: connected from {}",
            ctx.id(),
            ctx.peer().map_or_else(|| "?".to_string(), |p| p.to_string())
        );
        ctx.write(tag::OPEN);
        self.hub.borrow_mut().join(ctx.id());
    }

    fn data_received(&mut self, ctx: &mut Ctx<'_>, _data: &[u8]) {
        let Some(follower) = &self.pull else {
            return;
        };
        if ctx.buffered() > CLIENT_BACKLOG {
            log::debug!(
                "{}: {} bytes still unsent; ignoring its request",
                ctx.id(),
                ctx.buffered()
            );
            return;
        }
        read_log(ctx, follower, &self.hub);
        let id = ctx.id();
        let answer = self.hub.borrow_mut().pull(id);
        match answer {
            Some(hits) => ctx.write_bytes(hits),
            None => ctx.write(tag::NONE),
        }
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        self.hub.borrow_mut().leave(ctx.id());
        log::info!("{}: disconnected ({reason})", ctx.id());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;
    use std::fs;
    use std::io::Write;
    use std::path::Path;
    use torsion::testing::StringTransport;

    fn append(path: &Path, data: &str) {
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(data.as_bytes()).unwrap();
    }

    fn line(n: u32) -> String {
        format!("10.0.0.{n} - - [10/Oct/2000:13:55:36 -0700] \"GET /{n} HTTP/1.0\" 200 {n}\n")
    }

    fn tag_of(n: u32) -> String {
        format!(
            "<hit host=\"10.0.0.{n}\" ident=\"-\" user=\"-\" time=\"10/Oct/2000:13:55:36 -0700\" \
             request=\"GET /{n} HTTP/1.0\" status=\"200\" bytes=\"{n}\"/>\n"
        )
    }

    fn options(log: &Path) -> Options {
        Options {
            log: log.to_path_buf(),
            poll_interval: Duration::from_secs(1),
            mode: Mode::Push(Duration::from_secs(5)),
        }
    }

    #[test]
    fn hits_are_read_every_second_and_pushed_every_five() {
        let dir = Scratch::new("schedule");
        let log = dir.0.join("access.log");
        append(&log, &line(1)); // already there: not sent
        let mut factory = WeblogFactory::new(options(&log));
        let mut t = StringTransport::from_factory(&mut factory);
        factory.start(t.reactor());
        assert_eq!(t.take(), b"<hits>\n");

        append(&log, &line(2));
        append(&log, "not a log line\n");
        t.advance(Duration::from_secs(1));
        // Read, but not pushed before the push interval.
        assert_eq!(factory.hub().borrow().recent().count(), 1);
        assert_eq!(t.text(), "");
        append(&log, &line(3));
        t.advance(Duration::from_secs(4));
        assert_eq!(t.take(), (tag_of(2) + &tag_of(3)).into_bytes());
        t.advance(Duration::from_secs(5));
        assert_eq!(t.text(), "");
    }

    #[test]
    fn every_client_gets_every_hit_from_when_it_connected() {
        let dir = Scratch::new("clients");
        let log = dir.0.join("access.log");
        let mut factory = WeblogFactory::new(options(&log));
        let mut t = StringTransport::from_factory(&mut factory);
        factory.start(t.reactor());
        t.clear();
        // The log does not exist yet: once it does, it is read from its start.
        append(&log, &line(1));
        t.advance(Duration::from_secs(1));
        let protocol = factory.build_protocol(t.reactor(), &Address::Memory).unwrap();
        let (_, late) = t.reactor().connect_memory_boxed(protocol);
        append(&log, &line(2));
        t.advance(Duration::from_secs(4));
        assert_eq!(t.take(), (tag_of(1) + &tag_of(2)).into_bytes());
        assert_eq!(late.take(), (String::from("<hits>\n") + &tag_of(2)).into_bytes());
        assert_eq!(factory.hub().borrow().clients().count(), 2);
        late.send_eof();
        t.pump();
        assert_eq!(factory.hub().borrow().clients().count(), 1);
    }

    #[test]
    fn a_pull_client_is_answered_at_each_request_with_the_news_or_none() {
        let dir = Scratch::new("pull");
        let log = dir.0.join("access.log");
        append(&log, &line(1)); // already there: not sent
        let mut factory = WeblogFactory::new(Options {
            mode: Mode::Pull,
            ..options(&log)
        });
        let mut t = StringTransport::from_factory(&mut factory);
        factory.start(t.reactor());
        assert_eq!(t.take(), b"<hits>\n");
        t.receive(b"NEW?");
        assert_eq!(t.take(), b"<none/>\n");
        // Read at the request, not only at the next poll.
        append(&log, &line(2));
        append(&log, &line(3));
        t.receive(b"NEW?");
        assert_eq!(t.take(), (tag_of(2) + &tag_of(3)).into_bytes());
        // Nothing is pushed, however long the wait.
        append(&log, &line(4));
        t.advance(Duration::from_secs(60));
        assert_eq!(t.take(), b"");
        t.receive(b"x");
        assert_eq!(t.take(), tag_of(4).into_bytes());
        t.receive(b"NEW?");
        assert_eq!(t.take(), b"<none/>\n");
    }

    #[test]
    fn a_large_backlog_is_read_in_slices_between_iterations() {
        let dir = Scratch::new("backlog");
        let log = dir.0.join("access.log");
        append(&log, "");
        let mut factory = WeblogFactory::new(options(&log));
        let mut t = StringTransport::from_factory(&mut factory);
        factory.start(t.reactor());
        t.clear();
        let bulk: String = (0..20_000).map(|n| line(n % 250)).collect();
        assert!(bulk.len() > 3 * READ_BUDGET);
        append(&log, &bulk);
        t.advance(Duration::from_secs(1));
        // One tick, several slices: everything was read, the last HISTORY kept.
        let hub = factory.hub();
        let kept: Vec<Bytes> = hub.borrow().recent().cloned().collect();
        assert_eq!(kept.len(), HISTORY);
        assert_eq!(kept.last().unwrap(), tag_of(19_999 % 250).as_bytes());
        t.advance(Duration::from_secs(4));
        let text = t.text();
        assert!(
            text.starts_with(&format!("<missed count=\"{}\"/>\n", 20_000 - HISTORY)),
            "{}",
            &text[..80]
        );
        assert_eq!(text.lines().count(), HISTORY + 1);
    }
}
