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
//! - each line a client sends (any content, `\n` or `\r\n`, at most
//!   [`MAX_LINE`] bytes) is answered with the next number in decimal and
//!   `\r\n`; a longer line closes that client. The seed answered each
//!   `dataReceived` chunk, whatever it held; lines make the answer count
//!   independent of how TCP splits the stream.
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

use torsion::{Address, CloseReason, Factory, LoopingCall, Protocol, Reactor};
use torsion_protocols::{LineCtx, LineHandler, LineReceiver};

pub use sequence::{Fibonacci, PairError};
pub use state::StateError;

/// The seed's port.
pub const DEFAULT_PORT: u16 = 8888;

/// The longest request line; a longer one closes the connection.
pub const MAX_LINE: usize = 16 * 1024;

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
        Some(Box::new(FibClient::protocol(self.service.clone())))
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

/// One client: a number for each line.
pub struct FibClient {
    service: FibService,
}

impl FibClient {
    /// The protocol of a client of `service`: `\n`-terminated lines (a
    /// preceding `\r` is part of the line and ignored like the rest of it)
    /// of at most [`MAX_LINE`] bytes.
    pub fn protocol(service: FibService) -> LineReceiver<FibClient> {
        LineReceiver::new(FibClient { service })
            .with_delimiter(b"\n")
            .with_max_line_length(MAX_LINE)
    }
}

impl LineHandler for FibClient {
    fn line_received(&mut self, ctx: &mut LineCtx<'_, '_>, _line: &[u8]) {
        match self.service.next_number() {
            Some(number) => ctx.write_sequence(&[number.as_bytes(), b"\r\n"]),
            // Shutting down: the state is saved; serve nothing it lacks.
            None => ctx.lose_connection(),
        }
    }

    fn line_length_exceeded(&mut self, ctx: &mut LineCtx<'_, '_>, _buffered: &[u8]) {
        log::warn!("{}: line longer than {MAX_LINE} bytes; closing", ctx.id());
        ctx.lose_connection();
    }

    fn connection_lost(&mut self, ctx: &mut LineCtx<'_, '_>, reason: CloseReason) {
        log::debug!("{}: {reason}", ctx.id());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use torsion::testing::StringTransport;

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("torsion-fib-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn state(&self) -> PathBuf {
            self.0.join("fib.state")
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_number_per_line_in_any_chunks() {
        let dir = Scratch::new("lines");
        let service = FibService::open(&dir.state()).unwrap();
        let mut factory = service.factory(DEFAULT_SAVE_INTERVAL);
        let mut t = StringTransport::from_factory(&mut factory);
        t.receive_bytewise(b"next\r\n\nanything at all\n");
        assert_eq!(t.text(), "2\r\n3\r\n5\r\n");
        t.receive(b"a\nb");
        assert_eq!(t.text(), "2\r\n3\r\n5\r\n8\r\n");
    }

    #[test]
    fn clients_share_one_sequence() {
        let dir = Scratch::new("shared");
        let service = FibService::open(&dir.state()).unwrap();
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
    fn an_endless_line_closes_the_client() {
        let dir = Scratch::new("long");
        let service = FibService::open(&dir.state()).unwrap();
        let mut t = StringTransport::new(FibClient::protocol(service.clone()));
        t.receive(&vec![b'x'; MAX_LINE + 1]);
        assert!(t.disconnected());
        assert_eq!(t.text(), "");
        // Nothing was drawn from the sequence.
        assert_eq!(service.current(), Fibonacci::new());
    }

    #[test]
    fn saves_periodically_and_only_when_needed() {
        let dir = Scratch::new("periodic");
        let path = dir.state();
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
        let path = dir.state();
        let service = FibService::open(&path).unwrap();
        let mut t = StringTransport::new(FibClient::protocol(service.clone()));
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
        let path = dir.state();
        fs::write(&path, b"torsion-fib state 1\n3\n4\n").unwrap();
        let error = FibService::open(&path).err().unwrap();
        assert!(matches!(error, StateError::Corrupt { .. }), "{error}");
        assert_eq!(fs::read(&path).unwrap(), b"torsion-fib state 1\n3\n4\n");
    }
}
