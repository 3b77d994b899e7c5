//! Child processes on the loop (Twisted's `spawnProcess`, seed 002).
//!
//! [`Reactor::spawn_process`] starts a command with its stdin, stdout and
//! stderr as non-blocking pipes registered with the reactor, and reports to a
//! [`ProcessProtocol`]: output as it arrives, each pipe's end, the exit, and
//! finally `process_ended` once the process has exited *and* its output pipes
//! are drained (so no output is ever lost after the exit is reported).
//!
//! # Reaping
//!
//! The exit is noticed through a *pidfd* (`pidfd_open`, Linux 5.3 and later):
//! a descriptor that becomes readable when the child exits, registered with the
//! poll like any socket. No SIGCHLD handler is installed, so nothing here is
//! global and several reactors can run processes at once. Where pidfds are not
//! available the reactor polls the child instead ([`EXIT_POLL`]). Either way
//! the child is reaped (`waitpid`) as soon as it exits: no zombies. Children
//! still running when the reactor shuts down get SIGTERM, then SIGKILL after
//! the shutdown grace period, and are reaped before `run` returns.
//!
//! # Helpers
//!
//! [`get_process_output`], [`get_process_value`] and
//! [`get_process_output_and_value`] run a command and fire a
//! [`Deferred`] with its output, its exit status, or both.

use std::any::Any;
use std::fmt;
use std::io::{self, Read};
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use mio::unix::pipe::{Receiver, Sender};
use mio::unix::SourceFd;
use mio::Interest;

use crate::buffer::WriteBuffer;
use crate::defer::{Deferred, Failure};
use crate::id::Key;
use crate::notice::Notice;
use crate::reactor::{Reactor, Soon};
use crate::source::Source;
use crate::timer::TimerTask;

/// How often a child's exit is polled for where pidfds are not available.
pub const EXIT_POLL: Duration = Duration::from_millis(50);

/// The most output [`get_process_output`] and friends collect; past it the
/// child is killed and the Deferred fails.
pub const MAX_COLLECTED_OUTPUT: usize = 64 * 1024 * 1024;

/// Output read from one pipe per readiness event before other sources get a turn.
const READ_BUDGET: usize = 256 * 1024;

/// Names one child process run by a reactor.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcessId(pub(crate) Key);

impl fmt::Debug for ProcessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ProcessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "process#{}.{}", self.0.index, self.0.generation)
    }
}

/// Handles the events of one child process. Every method has a default.
pub trait ProcessProtocol: Any {
    /// The process started; its pipes are open.
    fn connection_made(&mut self, ctx: &mut ProcessCtx<'_>) {
        let _ = ctx;
    }
    /// The child wrote to its stdout.
    fn out_received(&mut self, ctx: &mut ProcessCtx<'_>, data: &[u8]) {
        let _ = (ctx, data);
    }
    /// The child wrote to its stderr.
    fn err_received(&mut self, ctx: &mut ProcessCtx<'_>, data: &[u8]) {
        let _ = (ctx, data);
    }
    /// The child's stdin is closed (we closed it, or the child did).
    fn in_connection_lost(&mut self, ctx: &mut ProcessCtx<'_>) {
        let _ = ctx;
    }
    /// The child's stdout reached end-of-file.
    fn out_connection_lost(&mut self, ctx: &mut ProcessCtx<'_>) {
        let _ = ctx;
    }
    /// The child's stderr reached end-of-file.
    fn err_connection_lost(&mut self, ctx: &mut ProcessCtx<'_>) {
        let _ = ctx;
    }
    /// The child exited (its output may still be arriving).
    fn process_exited(&mut self, ctx: &mut ProcessCtx<'_>, status: ExitStatus) {
        let _ = (ctx, status);
    }
    /// The child exited and all its output has been delivered. The last call.
    fn process_ended(&mut self, ctx: &mut ProcessCtx<'_>, status: ExitStatus) {
        let _ = (ctx, status);
    }
}

/// Which output pipe of a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PipeKind {
    Stdout,
    Stderr,
}

/// One pipe of a child, in its own slot of the source table.
pub(crate) struct Pipe {
    process: ProcessId,
    end: PipeEnd,
}

enum PipeEnd {
    Read(Receiver, PipeKind),
    Write {
        sender: Sender,
        buffer: WriteBuffer,
        /// Close once the buffer is flushed.
        closing: bool,
        write_interest: bool,
    },
}

/// Where a child is in its life.
enum Life {
    Running,
    Exited(ExitStatus),
}

pub(crate) struct Process {
    child: Child,
    /// `None` while lent to a callback.
    protocol: Option<Box<dyn ProcessProtocol>>,
    life: Life,
    /// Readable when the child exits; `None` where pidfds are unsupported.
    pidfd: Option<OwnedFd>,
    stdin: Option<Key>,
    stdout: Option<Key>,
    stderr: Option<Key>,
}

/// A child process's pipes and signals, with the reactor behind it.
pub struct ProcessCtx<'r> {
    reactor: &'r mut Reactor,
    id: ProcessId,
}

impl fmt::Debug for ProcessCtx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessCtx")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl ProcessCtx<'_> {
    /// This process's handle.
    pub fn id(&self) -> ProcessId {
        self.id
    }

    /// The child's process id (0 once it has been reaped).
    pub fn pid(&self) -> u32 {
        self.reactor.process(self.id).map_or(0, |p| p.child.id())
    }

    /// Writes to the child's stdin (buffered while the pipe is full).
    pub fn write(&mut self, data: &[u8]) {
        self.reactor.process_write(self.id, data);
    }

    /// Closes the child's stdin once everything written is delivered.
    pub fn close_stdin(&mut self) {
        self.reactor.process_close_stdin(self.id);
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the child.
    pub fn signal(&mut self, signal: i32) -> io::Result<()> {
        self.reactor.signal_process(self.id, signal)
    }

    /// Kills the child (SIGKILL).
    pub fn kill(&mut self) -> io::Result<()> {
        self.signal(libc::SIGKILL)
    }
}

impl Deref for ProcessCtx<'_> {
    type Target = Reactor;

    fn deref(&self) -> &Reactor {
        self.reactor
    }
}

impl DerefMut for ProcessCtx<'_> {
    fn deref_mut(&mut self) -> &mut Reactor {
        self.reactor
    }
}

/// Opens a pidfd for `pid`, or `None` where the kernel has no `pidfd_open`.
fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and a flags word and returns a new
    // descriptor or -1; it touches no memory of ours.
    #[allow(unsafe_code)]
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        log::debug!(
            "pidfd_open failed ({}); polling for the exit instead",
            io::Error::last_os_error()
        );
        return None;
    }
    // SAFETY: the descriptor was just returned to us by the kernel and nothing
    // else owns it; OwnedFd closes it exactly once.
    #[allow(unsafe_code)]
    Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

impl Reactor {
    /// Starts `command` with piped stdin, stdout and stderr, reporting to
    /// `protocol` (see the [module docs](self)). Fails if the command cannot
    /// be started (not found, not executable, out of descriptors...).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::process::{Command, ExitStatus};
    /// use torsion::process::{ProcessCtx, ProcessProtocol};
    /// use torsion::Reactor;
    ///
    /// struct Echo;
    /// impl ProcessProtocol for Echo {
    ///     fn out_received(&mut self, _ctx: &mut ProcessCtx<'_>, data: &[u8]) {
    ///         assert_eq!(data, b"hello\n");
    ///     }
    ///     fn process_ended(&mut self, ctx: &mut ProcessCtx<'_>, status: ExitStatus) {
    ///         assert!(status.success());
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// let mut reactor = Reactor::new()?;
    /// let mut echo = Command::new("echo");
    /// echo.arg("hello");
    /// reactor.spawn_process(Echo, echo)?;
    /// reactor.run()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn_process(
        &mut self,
        protocol: impl ProcessProtocol,
        mut command: Command,
    ) -> io::Result<ProcessId> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let pidfd = if self.config.pidfd {
            pidfd_open(child.id())
        } else {
            None
        };
        let process = Process {
            child,
            protocol: Some(Box::new(protocol)),
            life: Life::Running,
            pidfd,
            stdin: None,
            stdout: None,
            stderr: None,
        };
        let key = self.sources.next_key();
        if let Some(fd) = &process.pidfd {
            self.poll
                .registry()
                .register(&mut SourceFd(&fd.as_raw_fd()), key.token(), Interest::READABLE)?;
        }
        let polling = process.pidfd.is_none();
        let id = ProcessId(self.sources.insert(Source::Process(Box::new(process))));
        debug_assert_eq!(id.0, key);
        if polling {
            self.schedule_task(EXIT_POLL, TimerTask::ProcessPoll(id));
        }
        let (stdin, stdout, stderr) = pipes;
        let stdin_key = match stdin {
            Some(s) => Some(self.add_pipe(id, PipeEnd::write(Sender::from(s)), Interest::WRITABLE)?),
            None => None,
        };
        let stdout_key = match stdout {
            Some(s) => Some(self.add_pipe(
                id,
                PipeEnd::Read(Receiver::from(s), PipeKind::Stdout),
                Interest::READABLE,
            )?),
            None => None,
        };
        let stderr_key = match stderr {
            Some(s) => Some(self.add_pipe(
                id,
                PipeEnd::Read(Receiver::from(s), PipeKind::Stderr),
                Interest::READABLE,
            )?),
            None => None,
        };
        if let Some(p) = self.process_mut(id) {
            p.stdin = stdin_key;
            p.stdout = stdout_key;
            p.stderr = stderr_key;
        }
        log::debug!(
            "{id}: started pid {}",
            self.process(id).map_or(0, |p| p.child.id())
        );
        self.process_dispatch(id, "connection_made", |p, ctx| p.connection_made(ctx));
        // Output may already be waiting: with edge-triggered readiness the
        // registration reports it, but a read costs little and is certain.
        for key in [stdout_key, stderr_key].into_iter().flatten() {
            self.pipe_ready(key, true, false);
        }
        Ok(id)
    }

    fn add_pipe(&mut self, process: ProcessId, mut end: PipeEnd, interest: Interest) -> io::Result<Key> {
        let key = self.sources.next_key();
        let registry = self.poll.registry();
        match &mut end {
            PipeEnd::Read(r, _) => {
                r.set_nonblocking(true)?;
                // Registered READABLE only; for stdin, WRITABLE is added when needed.
                registry.register(r, key.token(), interest)?;
            }
            PipeEnd::Write { sender, .. } => {
                sender.set_nonblocking(true)?;
                // An empty buffer needs no WRITABLE; register for errors only
                // by registering WRITABLE once and dropping it after the first
                // flush (mio requires some interest).
                registry.register(sender, key.token(), interest)?;
            }
        }
        Ok(self.sources.insert(Source::Pipe(Box::new(Pipe { process, end }))))
    }

    pub(crate) fn process(&self, id: ProcessId) -> Option<&Process> {
        match self.sources.get(id.0) {
            Some(Source::Process(p)) => Some(p),
            _ => None,
        }
    }

    fn process_mut(&mut self, id: ProcessId) -> Option<&mut Process> {
        match self.sources.get_mut(id.0) {
            Some(Source::Process(p)) => Some(p),
            _ => None,
        }
    }

    fn pipe_mut(&mut self, key: Key) -> Option<&mut Pipe> {
        match self.sources.get_mut(key) {
            Some(Source::Pipe(p)) => Some(p),
            _ => None,
        }
    }

    /// Lends the protocol of process `id` to `f`, timed like every dispatch.
    fn process_dispatch(
        &mut self,
        id: ProcessId,
        event: &'static str,
        f: impl FnOnce(&mut dyn ProcessProtocol, &mut ProcessCtx<'_>),
    ) {
        let Some(mut protocol) = self.process_mut(id).and_then(|p| p.protocol.take()) else {
            return;
        };
        let started = std::time::Instant::now();
        self.depth += 1;
        f(&mut *protocol, &mut ProcessCtx { reactor: self, id });
        self.depth -= 1;
        self.check_slow(started, || format!("{event} of {id}"));
        if let Some(p) = self.process_mut(id) {
            p.protocol = Some(protocol);
        }
        self.settle();
    }

    /// Runs `f` on the process after the current dispatch (for events the
    /// protocol causes itself, so its callbacks never nest).
    fn process_notice(&mut self, id: ProcessId, f: impl FnOnce(&mut Reactor, ProcessId) + 'static) {
        self.notices.push_back(Notice::Call(Soon {
            f: Box::new(move |r| f(r, id)),
            site: std::panic::Location::caller(),
        }));
    }

    /// A pipe became ready.
    pub(crate) fn pipe_ready(&mut self, key: Key, readable: bool, writable: bool) {
        let Some(pipe) = self.pipe_mut(key) else {
            return;
        };
        let process = pipe.process;
        match &pipe.end {
            PipeEnd::Read(_, kind) if readable => {
                let kind = *kind;
                self.read_pipe(key, process, kind);
            }
            PipeEnd::Write { .. } if writable => self.flush_stdin(key, process),
            _ => {}
        }
    }

    fn read_pipe(&mut self, key: Key, process: ProcessId, kind: PipeKind) {
        let mut buf = std::mem::take(&mut self.read_buf);
        if buf.len() < self.config.read_chunk {
            buf.resize(self.config.read_chunk, 0);
        }
        let mut budget = READ_BUDGET;
        let mut eof = false;
        while let Some(Pipe {
            end: PipeEnd::Read(receiver, _),
            ..
        }) = self.pipe_mut(key)
        {
            match receiver.read(&mut buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    let data = &buf[..n];
                    match kind {
                        PipeKind::Stderr => {
                            self.process_dispatch(process, "err_received", |p, ctx| p.err_received(ctx, data))
                        }
                        _ => {
                            self.process_dispatch(process, "out_received", |p, ctx| p.out_received(ctx, data))
                        }
                    }
                    budget = budget.saturating_sub(n);
                    if budget == 0 {
                        // Fairness: the backlog step comes back next iteration.
                        self.schedule_source(key);
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    log::debug!("{process}: reading {kind:?} failed: {e}");
                    eof = true;
                    break;
                }
            }
        }
        self.read_buf = buf;
        if eof {
            self.close_pipe(key, process, kind);
        }
    }

    /// An output pipe is finished: free it, tell the protocol, maybe end the process.
    fn close_pipe(&mut self, key: Key, process: ProcessId, kind: PipeKind) {
        self.remove_pipe(key);
        if let Some(p) = self.process_mut(process) {
            match kind {
                PipeKind::Stdout => p.stdout = None,
                PipeKind::Stderr => p.stderr = None,
            }
        }
        match kind {
            PipeKind::Stdout => self.process_dispatch(process, "out_connection_lost", |p, ctx| {
                p.out_connection_lost(ctx)
            }),
            PipeKind::Stderr => self.process_dispatch(process, "err_connection_lost", |p, ctx| {
                p.err_connection_lost(ctx)
            }),
        }
        self.maybe_end(process);
    }

    fn remove_pipe(&mut self, key: Key) {
        let registry = self.poll.registry();
        if let Some(Source::Pipe(mut pipe)) = self.sources.remove(key) {
            let result = match &mut pipe.end {
                PipeEnd::Read(r, _) => registry.deregister(r),
                PipeEnd::Write { sender, .. } => registry.deregister(sender),
            };
            if let Err(e) = result {
                log::debug!("deregistering a pipe failed: {e}");
            }
        }
    }

    fn process_write(&mut self, id: ProcessId, data: &[u8]) {
        let limit = self.config.max_write_buffer;
        let Some(key) = self.process(id).and_then(|p| p.stdin) else {
            return;
        };
        let Some(Pipe {
            end: PipeEnd::Write { buffer, closing, .. },
            ..
        }) = self.pipe_mut(key)
        else {
            return;
        };
        if *closing || data.is_empty() {
            return;
        }
        if buffer.len().saturating_add(data.len()) > limit {
            log::warn!("{id}: stdin buffer would exceed {limit} bytes; the child is not reading");
            return;
        }
        buffer.push_slice(data);
        self.flush_stdin(key, id);
    }

    fn process_close_stdin(&mut self, id: ProcessId) {
        let Some(key) = self.process(id).and_then(|p| p.stdin) else {
            return;
        };
        if let Some(Pipe {
            end: PipeEnd::Write { closing, .. },
            ..
        }) = self.pipe_mut(key)
        {
            *closing = true;
        }
        self.flush_stdin(key, id);
    }

    /// Writes what the child's stdin takes; closes it once flushed if asked.
    fn flush_stdin(&mut self, key: Key, id: ProcessId) {
        let registry = self.poll.registry();
        let Some(Source::Pipe(pipe)) = self.sources.get_mut(key) else {
            return;
        };
        let PipeEnd::Write {
            sender,
            buffer,
            closing,
            write_interest,
        } = &mut pipe.end
        else {
            return;
        };
        let failed = match buffer.flush_to(sender) {
            Ok(_) => false,
            Err(e) => {
                log::debug!("{id}: writing to stdin failed: {e}");
                true
            }
        };
        let done = failed || (*closing && buffer.is_empty());
        let want = !buffer.is_empty() && !done;
        if want != *write_interest && !done {
            *write_interest = want;
            let interest = if want {
                Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            // mio needs some interest; READABLE on a write end only reports errors.
            if let Err(e) = registry.reregister(sender, key.token(), interest) {
                log::debug!("{id}: reregistering stdin failed: {e}");
            }
        }
        if done {
            // Closing may happen inside the protocol's own callback: tell it after.
            self.remove_pipe(key);
            if let Some(p) = self.process_mut(id) {
                p.stdin = None;
            }
            self.process_notice(id, |r, id| {
                r.process_dispatch(id, "in_connection_lost", |p, ctx| p.in_connection_lost(ctx));
                r.maybe_end(id);
            });
        }
    }

    fn signal_process(&mut self, id: ProcessId, signal: i32) -> io::Result<()> {
        let Some(p) = self.process(id) else {
            return Err(io::ErrorKind::NotFound.into());
        };
        if let Life::Exited(_) = p.life {
            return Err(io::Error::new(io::ErrorKind::NotFound, "the process has exited"));
        }
        // SAFETY: kill(2) on the pid of a child we have not reaped yet (its
        // pid cannot have been reused); no memory is involved.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::kill(p.child.id() as libc::pid_t, signal) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// The pidfd reported the exit (or the poll timer fired): reap the child.
    pub(crate) fn process_exit_ready(&mut self, id: ProcessId) {
        let Some(p) = self.process_mut(id) else {
            return;
        };
        if let Life::Exited(_) = p.life {
            return;
        }
        let status = match p.child.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) => {
                if p.pidfd.is_none() {
                    self.schedule_task(EXIT_POLL, TimerTask::ProcessPoll(id));
                }
                return;
            }
            Err(e) => {
                log::warn!("{id}: waiting for the child failed: {e}");
                ExitStatus::from_raw(-1)
            }
        };
        p.life = Life::Exited(status);
        if let Some(fd) = p.pidfd.take() {
            let _ = self.poll.registry().deregister(&mut SourceFd(&fd.as_raw_fd()));
        }
        log::debug!("{id}: exited with {status}");
        self.process_dispatch(id, "process_exited", |p, ctx| p.process_exited(ctx, status));
        // Nothing reads the child's stdin any more.
        if let Some(key) = self.process(id).and_then(|p| p.stdin) {
            self.remove_pipe(key);
            if let Some(p) = self.process_mut(id) {
                p.stdin = None;
            }
            self.process_dispatch(id, "in_connection_lost", |p, ctx| p.in_connection_lost(ctx));
        }
        self.maybe_end(id);
    }

    /// Exited and drained: `process_ended`, then free the slot.
    fn maybe_end(&mut self, id: ProcessId) {
        let Some(p) = self.process(id) else {
            return;
        };
        let Life::Exited(status) = p.life else {
            return;
        };
        if p.stdout.is_some() || p.stderr.is_some() || p.stdin.is_some() || p.protocol.is_none() {
            return;
        }
        self.process_dispatch(id, "process_ended", |p, ctx| p.process_ended(ctx, status));
        self.sources.remove(id.0);
    }

    /// The ids of processes still known to the reactor.
    pub(crate) fn process_ids(&self) -> Vec<ProcessId> {
        self.sources
            .keys()
            .into_iter()
            .filter(|k| matches!(self.sources.get(*k), Some(Source::Process(_))))
            .map(ProcessId)
            .collect()
    }

    /// At shutdown: SIGTERM to every running child.
    pub(crate) fn terminate_processes(&mut self) {
        for id in self.process_ids() {
            if self.signal_process(id, libc::SIGTERM).is_ok() {
                log::info!("{id}: sent SIGTERM at shutdown");
            }
        }
    }

    /// Whether children are still running or draining.
    pub(crate) fn has_processes(&self) -> bool {
        !self.process_ids().is_empty()
    }

    /// Last resort (shutdown grace over, or drop): SIGKILL and reap.
    pub(crate) fn kill_processes(&mut self) {
        for id in self.process_ids() {
            let _ = self.signal_process(id, libc::SIGKILL);
            if let Some(Source::Process(mut p)) = self.sources.remove(id.0) {
                if let Err(e) = p.child.wait() {
                    log::warn!("{id}: reaping failed: {e}");
                }
                for key in [p.stdin, p.stdout, p.stderr].into_iter().flatten() {
                    self.remove_pipe(key);
                }
            }
        }
    }
}

impl PipeEnd {
    fn write(sender: Sender) -> Self {
        PipeEnd::Write {
            sender,
            buffer: WriteBuffer::default(),
            closing: false,
            write_interest: true,
        }
    }
}

/// What [`get_process_output_and_value`] collects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessOutput {
    /// Everything the child wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything the child wrote to stderr.
    pub stderr: Vec<u8>,
    /// How it exited.
    pub status: ExitStatus,
}

/// The output of a child passed [`MAX_COLLECTED_OUTPUT`]; it was killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputTooLarge {
    /// The limit that was passed.
    pub limit: usize,
}

impl fmt::Display for OutputTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the process wrote more than {} bytes; it was killed",
            self.limit
        )
    }
}

impl std::error::Error for OutputTooLarge {}

/// Collects a child's output and fires a Deferred when it ends.
struct Collector {
    output: Option<(Vec<u8>, Vec<u8>)>,
    done: Deferred<ProcessOutput>,
    too_large: bool,
}

impl Collector {
    fn take(&mut self, ctx: &mut ProcessCtx<'_>, data: &[u8], stderr: bool) {
        let Some((out, err)) = &mut self.output else {
            return;
        };
        if out.len() + err.len() + data.len() > MAX_COLLECTED_OUTPUT {
            self.too_large = true;
            let _ = ctx.kill();
            return;
        }
        if stderr { err } else { out }.extend_from_slice(data);
    }
}

impl ProcessProtocol for Collector {
    fn connection_made(&mut self, ctx: &mut ProcessCtx<'_>) {
        ctx.close_stdin();
    }

    fn out_received(&mut self, ctx: &mut ProcessCtx<'_>, data: &[u8]) {
        self.take(ctx, data, false);
    }

    fn err_received(&mut self, ctx: &mut ProcessCtx<'_>, data: &[u8]) {
        self.take(ctx, data, true);
    }

    fn process_ended(&mut self, ctx: &mut ProcessCtx<'_>, status: ExitStatus) {
        let result = match (self.output.take(), self.too_large) {
            (Some(_), true) | (None, _) => Err(Failure::new(OutputTooLarge {
                limit: MAX_COLLECTED_OUTPUT,
            })),
            (Some((stdout, stderr)), false) => Ok(ProcessOutput {
                stdout,
                stderr,
                status,
            }),
        };
        let _ = self.done.fire(ctx, result);
    }
}

/// Runs `command` with an empty stdin and fires with its stdout, stderr and
/// exit status once it has ended. Fails if it cannot be started, or if its
/// output passes [`MAX_COLLECTED_OUTPUT`].
pub fn get_process_output_and_value(reactor: &mut Reactor, command: Command) -> Deferred<ProcessOutput> {
    let done = Deferred::new();
    let collector = Collector {
        output: Some((Vec::new(), Vec::new())),
        done: done.clone(),
        too_large: false,
    };
    if let Err(e) = reactor.spawn_process(collector, command) {
        let _ = done.errback(reactor, e);
    }
    done
}

/// Runs `command` and fires with what it wrote to stdout (Twisted's
/// `getProcessOutput`). What it writes to stderr is logged at debug level.
///
/// ```
/// use std::process::Command;
/// use torsion::process::get_process_output;
/// use torsion::Reactor;
///
/// let mut reactor = Reactor::new()?;
/// let mut date = Command::new("echo");
/// date.arg("twisted");
/// let output = get_process_output(&mut reactor, date);
/// let bytes = reactor.run_until_complete(output)?.unwrap();
/// assert_eq!(bytes, b"twisted\n");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn get_process_output(reactor: &mut Reactor, command: Command) -> Deferred<Vec<u8>> {
    get_process_output_and_value(reactor, command).then(reactor, |_, out| {
        if !out.stderr.is_empty() {
            log::debug!("process stderr: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(out.stdout)
    })
}

/// Runs `command` and fires with its exit status (Twisted's `getProcessValue`).
pub fn get_process_value(reactor: &mut Reactor, command: Command) -> Deferred<ExitStatus> {
    get_process_output_and_value(reactor, command).then(reactor, |_, out| Ok(out.status))
}
