//! Child processes: output, exit statuses, pipes larger than the kernel's
//! buffer, signals, stdin, reaping, and shutdown.

mod util;

use std::cell::RefCell;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::process::{get_process_output, get_process_output_and_value, get_process_value};
use torsion::process::{ProcessCtx, ProcessOutput, ProcessProtocol};
use torsion::{Config, Reactor, TimeSource};
use util::*;

fn sh(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", script]);
    command
}

/// Both ways of noticing an exit: pidfds, and polling.
fn reactors() -> Vec<Reactor> {
    [true, false]
        .into_iter()
        .map(|pidfd| {
            let config = Config {
                pidfd,
                ..Config::default()
            };
            Reactor::build(TimeSource::monotonic(), config).unwrap()
        })
        .collect()
}

fn run_output(reactor: &mut Reactor, command: Command) -> ProcessOutput {
    let d = get_process_output_and_value(reactor, command);
    reactor.run_until_complete(d).unwrap().unwrap()
}

/// Whether `pid` is a zombie child of ours (exited, not reaped).
fn is_zombie(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn output_and_exit_codes() {
    init_logging();
    for mut reactor in reactors() {
        let out = run_output(&mut reactor, sh("echo out; echo err >&2; exit 3"));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.code(), Some(3));

        let d = get_process_output(&mut reactor, sh("printf 'a b'"));
        assert_eq!(reactor.run_until_complete(d).unwrap().unwrap(), b"a b");
        let d = get_process_value(&mut reactor, sh("exit 0"));
        assert!(reactor.run_until_complete(d).unwrap().unwrap().success());
    }
}

#[test]
fn more_output_than_a_pipe_holds_arrives_whole() {
    init_logging();
    for mut reactor in reactors() {
        // 3 MB on stdout and 1 MB on stderr, far past the 64 KiB pipe buffers.
        let out = run_output(
            &mut reactor,
            sh("head -c 3000000 /dev/zero; head -c 1000000 /dev/zero >&2"),
        );
        assert_eq!(out.stdout.len(), 3_000_000);
        assert_eq!(out.stderr.len(), 1_000_000);
        assert!(out.status.success());
    }
}

#[test]
fn a_child_killed_by_a_signal() {
    init_logging();
    for mut reactor in reactors() {
        let out = run_output(&mut reactor, sh("kill -9 $$"));
        assert_eq!(out.status.signal(), Some(9));
        assert_eq!(out.status.code(), None);
    }
}

#[test]
fn a_command_that_cannot_start_fails_the_deferred() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let d = get_process_output(&mut reactor, Command::new("/nonexistent/torsion-no-such-program"));
    let failure = reactor.run_until_complete(d).unwrap().unwrap_err();
    let io = failure.downcast_ref::<std::io::Error>().expect("an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
}

/// Writes `input` to the child's stdin, closes it, and records every event.
struct Feeder {
    input: Vec<u8>,
    out: Rc<RefCell<Vec<u8>>>,
    events: Rc<RefCell<Vec<String>>>,
    pid: Rc<RefCell<u32>>,
}

impl ProcessProtocol for Feeder {
    fn connection_made(&mut self, ctx: &mut ProcessCtx<'_>) {
        *self.pid.borrow_mut() = ctx.pid();
        // Written in one go: far more than the pipe takes, so it is buffered.
        ctx.write(&self.input);
        ctx.close_stdin();
    }
    fn out_received(&mut self, _ctx: &mut ProcessCtx<'_>, data: &[u8]) {
        self.out.borrow_mut().extend_from_slice(data);
    }
    fn in_connection_lost(&mut self, _ctx: &mut ProcessCtx<'_>) {
        self.events.borrow_mut().push("in lost".into());
    }
    fn out_connection_lost(&mut self, _ctx: &mut ProcessCtx<'_>) {
        self.events.borrow_mut().push("out lost".into());
    }
    fn process_exited(&mut self, _ctx: &mut ProcessCtx<'_>, status: ExitStatus) {
        self.events
            .borrow_mut()
            .push(format!("exited {}", status.code().unwrap_or(-1)));
    }
    fn process_ended(&mut self, ctx: &mut ProcessCtx<'_>, status: ExitStatus) {
        self.events
            .borrow_mut()
            .push(format!("ended {}", status.code().unwrap_or(-1)));
        ctx.stop();
    }
}

#[test]
fn stdin_larger_than_a_pipe_goes_through_and_the_child_is_reaped() {
    init_logging();
    for mut reactor in reactors() {
        let input: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
        let out = Rc::new(RefCell::new(Vec::new()));
        let events = Rc::new(RefCell::new(Vec::new()));
        let pid = Rc::new(RefCell::new(0));
        let feeder = Feeder {
            input: input.clone(),
            out: out.clone(),
            events: events.clone(),
            pid: pid.clone(),
        };
        reactor.spawn_process(feeder, Command::new("cat")).unwrap();
        reactor.run().unwrap();
        assert_eq!(out.borrow().len(), input.len());
        assert!(*out.borrow() == input);
        let events = events.borrow();
        assert_eq!(events.first().map(String::as_str), Some("in lost"));
        assert_eq!(events.last().map(String::as_str), Some("ended 0"));
        assert!(events.contains(&"exited 0".to_string()) && events.contains(&"out lost".to_string()));
        assert!(!is_zombie(*pid.borrow()), "the child was not reaped");
    }
}

/// Signals its child once started and records how it ended.
struct Signaller {
    status: Rc<RefCell<Option<ExitStatus>>>,
}

impl ProcessProtocol for Signaller {
    fn connection_made(&mut self, ctx: &mut ProcessCtx<'_>) {
        ctx.signal(libc::SIGTERM).unwrap();
    }
    fn process_ended(&mut self, ctx: &mut ProcessCtx<'_>, status: ExitStatus) {
        *self.status.borrow_mut() = Some(status);
        ctx.stop();
    }
}

#[test]
fn signal_reaches_the_child() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let status = Rc::new(RefCell::new(None));
    let mut sleep = Command::new("sleep");
    sleep.arg("100");
    reactor
        .spawn_process(
            Signaller {
                status: status.clone(),
            },
            sleep,
        )
        .unwrap();
    reactor.run().unwrap();
    assert_eq!(status.borrow().unwrap().signal(), Some(libc::SIGTERM));
}

struct Idle {
    pid: Rc<RefCell<u32>>,
}

impl ProcessProtocol for Idle {
    fn connection_made(&mut self, ctx: &mut ProcessCtx<'_>) {
        *self.pid.borrow_mut() = ctx.pid();
    }
}

#[test]
fn children_still_running_at_shutdown_are_stopped_and_reaped() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let pid = Rc::new(RefCell::new(0));
    let mut sleep = Command::new("sleep");
    sleep.arg("100");
    reactor.spawn_process(Idle { pid: pid.clone() }, sleep).unwrap();
    reactor.call_later(Duration::from_millis(50), |r| r.stop());
    let started = Instant::now();
    reactor.run().unwrap();
    // The child would sleep 100 s: far beyond this bound, which leaves a
    // loaded machine room.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "shutdown waited for the child"
    );
    let pid = *pid.borrow();
    assert!(pid > 0);
    assert!(!is_zombie(pid));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} still exists"
    );
}

#[test]
fn many_short_children_leave_no_zombies() {
    init_logging();
    let mut reactor = Reactor::new().unwrap();
    let mut pids = Vec::new();
    let ds: Vec<_> = (0..50)
        .map(|i| {
            let d = get_process_output_and_value(&mut reactor, sh(&format!("echo $$; exit {}", i % 3)));
            d.then(&mut reactor, |_, out| Ok(out))
        })
        .collect();
    let all = torsion::defer::gather_results(&mut reactor, ds);
    let outputs = reactor.run_until_complete(all).unwrap().unwrap();
    for (i, out) in outputs.iter().enumerate() {
        assert_eq!(out.status.code(), Some(i as i32 % 3));
        pids.push(
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<u32>()
                .unwrap(),
        );
    }
    for pid in pids {
        assert!(!is_zombie(pid), "pid {pid} is a zombie");
    }
}
