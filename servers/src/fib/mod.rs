//! torsion-fib: the Fibonacci server of seed 003 (David Mertz, "The Twisted
//! Matrix Framework, Part One", `fib_server.py`).
//!
//! The seed's server "delivers distinct Fibonacci numbers to all interested
//! clients, without repeating numbers between them--even if the server is
//! stopped and started": one sequence is shared by every client (through
//! the factory, as the seeds recommend), and Twisted's `Application.save()`
//! pickled it to a `.tap` file on shutdown.
//!
//! Here:
//!
//! - **the rule**: what a client sends is answered as the seed's
//!   `dataReceived` answered it, a number for each send, with lines
//!   counted: each line (any content, ending in `\n` or `\r\n`) gets the
//!   next number, and so do the bytes after the last line break of a read
//!   (a send without a newline, such as the seed's `x`, or `NEW?`). Each
//!   number is written in decimal with `\r\n`. Nothing is buffered
//!   between reads, so there is no line length to bound. A line that TCP
//!   splits into two reads gets two numbers, as in the seed, except at its
//!   `\r\n`: a read ending in `\r` is answered, and a `\n` starting the
//!   next read only ends that line.
//! - the sequence starts where the seed's does (`a = b = 1`), so the first
//!   number served is 2; numbers are [`num_bigint::BigUint`]s and grow
//!   without bound by design (the nth has about `0.209 * n` digits).
//! - the state is saved to a file ([`state`] describes the format) when the
//!   reactor shuts down (a shutdown trigger), every `save_interval` while
//!   numbers are being served, and once at startup if there was no file;
//!   always atomically ([`state::save_atomic`]). A restart continues with
//!   the number after the last one served.
//! - a missing state file starts the sequence afresh; a corrupt one is an
//!   error naming the file, and the server neither starts nor touches it.
//!
//! Answering and saving run on the loop, and their cost grows with the
//! numbers: the addition is linear in the digits, the conversion to
//! decimal roughly quadratic. Measured (release build): after 100,000
//! numbers served (some 21,000 digits each) an answer takes about 0.4 ms;
//! after a million (209,000 digits) about 35 ms, and resuming from such a
//! state (parsing and checking it) about 0.2 s. Past a couple of million
//! numbers an answer would hold the loop longer than the slow-callback
//! threshold, which then names it in a warning; moving the conversion to a
//! worker thread would be the next step.
//!
//! After a clean stop (SIGINT, SIGTERM) no number is ever served twice. A
//! crash (SIGKILL, power loss) loses what was served since the last
//! periodic save, and those numbers are served again after the restart.

mod sequence;
pub mod state;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use torsion::{Address, CloseReason, Ctx, Factory, LoopingCall, Protocol, Reactor};

pub use sequence::{Fibonacci, PairError};
pub use state::StateError;

/// The seed's port.
pub const DEFAULT_PORT: u16 = 8888;

/// How often the state is saved while numbers are served, by default.
pub const DEFAULT_SAVE_INTERVAL: Duration = Duration::from_secs(10);

/// The sequence every client draws from, and the file it is saved to.
///
/// Cloning gives another handle to the same sequence: the factory and each
/// client hold one, and so does `main`, to learn how the final save went.
#[derive(Clone)]
pub struct FibService {
    inner: Rc<RefCell<Shared>>,
}

struct Shared {
    fib: Fibonacci,
    path: PathBuf,
    /// Numbers served since the state was last saved.
    unsaved: u64,
    phase: Phase,
}

/// Where the service is in its life.
enum Phase {
    /// Serving numbers.
    Serving,
    /// The final save ran (with this outcome): nothing more is served, so
    /// nothing served can be missing from the file.
    Closed(Result<(), String>),
}

impl FibService {
    /// Loads the state at `path`, or starts afresh (and saves at once, which
    /// also shows the directory is writable) if there is no file.
    pub fn open(path: &Path) -> Result<FibService, StateError> {
        let (fib, fresh) = match state::load(path)? {
            Some(fib) => (fib, false),
            None => (Fibonacci::new(), true),
        };
        if fresh {
            state::save(path, &fib)?;
            log::info!("no state in {}: starting the sequence afresh", path.display());
        } else {
            log::info!(
                "resuming from {}: the last number served has {} digits",
                path.display(),
                fib.last().to_string().len()
            );
        }
        Ok(FibService {
            inner: Rc::new(RefCell::new(Shared {
                fib,
                path: path.to_path_buf(),
                unsaved: 0,
                phase: Phase::Serving,
            })),
        })
    }

    /// The next number, in decimal; `None` once the service has closed.
    pub fn next_number(&self) -> Option<String> {
        let mut shared = self.inner.borrow_mut();
        if !matches!(shared.phase, Phase::Serving) {
            return None;
        }
        shared.unsaved += 1;
        Some(shared.fib.advance().to_string())
    }

    /// Where the sequence stands now.
    pub fn current(&self) -> Fibonacci {
        self.inner.borrow().fib.clone()
    }

    /// Saves the state if numbers were served since the last save.
    /// Returns whether it wrote.
    pub fn save(&self) -> Result<bool, StateError> {
        let mut shared = self.inner.borrow_mut();
        if shared.unsaved == 0 {
            return Ok(false);
        }
        state::save(&shared.path, &shared.fib)?;
        log::debug!(
            "saved {} ({} numbers since the last save)",
            shared.path.display(),
            shared.unsaved
        );
        shared.unsaved = 0;
        Ok(true)
    }

    /// The final save: stops serving, then saves. Run by the shutdown trigger.
    pub fn close(&self) -> Result<(), String> {
        let result = self.save().map(|_| ()).map_err(|e| e.to_string());
        match &result {
            Ok(()) => log::info!("state saved to {}", self.inner.borrow().path.display()),
            Err(e) => log::error!("{e}"),
        }
        self.inner.borrow_mut().phase = Phase::Closed(result.clone());
        result
    }

    /// How the final save went, once it has run.
    pub fn final_save(&self) -> Option<Result<(), String>> {
        match &self.inner.borrow().phase {
            Phase::Serving => None,
            Phase::Closed(result) => Some(result.clone()),
        }
    }

    /// The listening factory: builds clients, and on start saves every
    /// `save_interval` and installs the shutdown trigger that saves last.
    pub fn factory(&self, save_interval: Duration) -> FibFactory {
        FibFactory {
            service: self.clone(),
            save_interval,
            saver: None,
        }
    }
}

/// Builds a [`FibClient`] per connection; owns the periodic save.
pub struct FibFactory {
    service: FibService,
    save_interval: Duration,
    saver: Option<LoopingCall>,
}

impl Factory for FibFactory {
    fn build_protocol(&mut self, _reactor: &mut Reactor, peer: &Address) -> Option<Box<dyn Protocol>> {
        log::debug!("client from {peer}");
        Some(Box::new(FibClient::new(self.service.clone())))
    }

    fn start(&mut self, reactor: &mut Reactor) {
        if self.saver.is_some() {
            return; // started by an earlier listener
        }
        let service = self.service.clone();
        let saver = LoopingCall::new(move |_| {
            if let Err(e) = service.save() {
                log::error!("{e}; will retry");
            }
        });
        saver.start(reactor, self.save_interval, false);
        self.saver = Some(saver);
        let service = self.service.clone();
        reactor.add_shutdown_trigger(move |_| {
            let _ = service.close();
        });
    }

    fn stop(&mut self, reactor: &mut Reactor) {
        if let Some(saver) = self.saver.take() {
            saver.stop(reactor);
        }
    }
}

/// One client: a number for each line, and one for the bytes after the
/// last line break of a read (the module docs state the rule).
pub struct FibClient {
    service: FibService,
    /// The last read ended in `\r`, and was answered: a `\n` starting the
    /// next one ends that line, it is not another.
    after_cr: bool,
}

impl FibClient {
    /// A client of `service`.
    pub fn new(service: FibService) -> Self {
        FibClient {
            service,
            after_cr: false,
        }
    }

    /// How many numbers `data`, one read, asks for.
    fn requests(&mut self, mut data: &[u8]) -> usize {
        if std::mem::take(&mut self.after_cr) {
            data = data.strip_prefix(b"\n").unwrap_or(data);
        }
        let lines = memchr::memchr_iter(b'\n', data).count();
        match data.last() {
            None | Some(b'\n') => lines,
            Some(last) => {
                self.after_cr = *last == b'\r';
                lines + 1
            }
        }
    }
}

impl Protocol for FibClient {
    fn data_received(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) {
        for _ in 0..self.requests(data) {
            match self.service.next_number() {
                Some(number) => ctx.write_sequence(&[number.as_bytes(), b"\r\n"]),
                // Shutting down: the state is saved; serve nothing it lacks.
                None => return ctx.lose_connection(),
            }
        }
    }

    fn connection_lost(&mut self, ctx: &mut Ctx<'_>, reason: CloseReason) {
        log::debug!("{}: {reason}", ctx.id());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;
    use std::fs;
    use torsion::testing::StringTransport;

    #[test]
    fn a_number_per_line_and_per_send_without_a_line_break() {
        let dir = Scratch::new("lines");
        let service = FibService::open(&dir.path("fib.state")).unwrap();
        let mut factory = service.factory(DEFAULT_SAVE_INTERVAL);
        let mut t = StringTransport::from_factory(&mut factory);
        t.receive(b"next\r\n\nanything at all\n");
        assert_eq!(t.take(), b"2\r\n3\r\n5\r\n");
        // The seed's client: `x`, no newline.
        t.receive(b"x");
        assert_eq!(t.take(), b"8\r\n");
        t.receive(b"a\nb");
        assert_eq!(t.take(), b"13\r\n21\r\n");
        // A line split by TCP: a number per read, as the seed's dataReceived.
        t.receive(b"ne");
        t.receive(b"xt\n");
        assert_eq!(t.take(), b"34\r\n55\r\n");
        // ... but its CRLF split in two is one line ending.
        t.receive(b"next\r");
        t.receive(b"\n");
        t.receive(b"\nnext\r\n");
        assert_eq!(t.take(), b"89\r\n144\r\n233\r\n");
        // An empty read asks nothing.
        t.receive(b"");
        assert_eq!(t.take(), b"");
    }

    #[test]
    fn clients_share_one_sequence() {
        let dir = Scratch::new("shared");
        let service = FibService::open(&dir.path("fib.state")).unwrap();
        let mut factory = service.factory(DEFAULT_SAVE_INTERVAL);
        let mut first = StringTransport::from_factory(&mut factory);
        let protocol = factory.build_protocol(first.reactor(), &Address::Memory).unwrap();
        let (_, second) = first.reactor().connect_memory_boxed(protocol);
        first.receive(b"\n");
        second.send(b"\n\n\n");
        first.pump();
        first.receive(b"\n");
        assert_eq!(first.text(), "2\r\n13\r\n");
        assert_eq!(&*second.value(), b"3\r\n5\r\n8\r\n");
    }

    #[test]
    fn a_long_send_without_a_line_break_is_one_request_and_nothing_is_kept() {
        let dir = Scratch::new("long");
        let service = FibService::open(&dir.path("fib.state")).unwrap();
        let mut t = StringTransport::new(FibClient::new(service.clone()));
        t.receive(&vec![b'x'; 10_000]);
        assert_eq!(t.take(), b"2\r\n");
        assert!(!t.disconnected());
        t.receive(b"\n");
        assert_eq!(t.take(), b"3\r\n");
    }

    #[test]
    fn saves_periodically_and_only_when_needed() {
        let dir = Scratch::new("periodic");
        let path = dir.path("fib.state");
        let service = FibService::open(&path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"torsion-fib state 1\n1\n1\n");
        let mut factory = service.factory(Duration::from_secs(10));
        let mut t = StringTransport::from_factory(&mut factory);
        factory.start(t.reactor());
        t.receive(b"\n\n\n\n");
        assert_eq!(t.text(), "2\r\n3\r\n5\r\n8\r\n");
        t.advance(Duration::from_secs(9));
        assert_eq!(fs::read(&path).unwrap(), b"torsion-fib state 1\n1\n1\n");
        t.advance(Duration::from_secs(1));
        assert_eq!(fs::read(&path).unwrap(), b"torsion-fib state 1\n5\n8\n");
        // Nothing served since: the next tick writes nothing.
        fs::remove_file(&path).unwrap();
        t.advance(Duration::from_secs(10));
        assert!(!path.exists());
    }

    #[test]
    fn after_the_final_save_nothing_is_served() {
        let dir = Scratch::new("closed");
        let path = dir.path("fib.state");
        let service = FibService::open(&path).unwrap();
        let mut t = StringTransport::new(FibClient::new(service.clone()));
        t.receive(b"\n\n");
        assert_eq!(service.close(), Ok(()));
        assert_eq!(service.final_save(), Some(Ok(())));
        t.receive(b"\n");
        assert_eq!(t.text(), "2\r\n3\r\n");
        assert!(t.disconnected());
        let resumed = FibService::open(&path).unwrap();
        assert_eq!(resumed.next_number().as_deref(), Some("5"));
    }

    #[test]
    fn a_corrupt_state_is_refused_and_left_alone() {
        let dir = Scratch::new("corrupt");
        let path = dir.path("fib.state");
        fs::write(&path, b"torsion-fib state 1\n3\n4\n").unwrap();
        let error = FibService::open(&path).err().unwrap();
        assert!(matches!(error, StateError::Corrupt { .. }), "{error}");
        assert_eq!(fs::read(&path).unwrap(), b"torsion-fib state 1\n3\n4\n");
    }
}
