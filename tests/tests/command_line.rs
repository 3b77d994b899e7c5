//! What every server shares on its command line, against each real
//! binary: `--help` shows its default port; a port it cannot listen on
//! is named in one plain sentence and a non-zero exit; `-d -P --logfile`
//! runs it in the background (twistd's workflow: start, `kill `cat
//! PIDFILE``), with the pidfile written once it listens, refused while
//! held, and removed at exit.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use torsion_tests::{binary, output_within_timeout, read_line, send, Scratch, Server, TIMEOUT};

/// One server: its binary, what it needs besides its ports (files made in
/// a scratch folder), its default port, and a check that it answers.
struct Spec {
    name: &'static str,
    args: fn(&Path) -> Vec<String>,
    default_port: u16,
    answers: fn(&mut TcpStream, pid: u32),
}

fn no_args(_: &Path) -> Vec<String> {
    Vec::new()
}

const SERVERS: &[Spec] = &[
    Spec {
        name: "torsion-hello",
        args: no_args,
        default_port: 8000,
        answers: |s, _| send(s, b"hello, daemon\n"),
    },
    Spec {
        name: "torsion-upper",
        args: no_args,
        default_port: 8000,
        answers: |s, _| assert_eq!(read_line(s), "Hi! Send me text to convert to uppercase\n"),
    },
    Spec {
        name: "torsion-web-demo",
        args: no_args,
        default_port: 8000,
        answers: http_ok,
    },
    Spec {
        name: "torsion-proxy",
        args: no_args,
        default_port: 8000,
        answers: |s, _| {
            send(s, b"garbage\r\n");
            assert!(read_line(s).starts_with("ERROR not an http(s) URL"));
        },
    },
    Spec {
        name: "torsion-kvweb",
        // Nothing listens on port 1: its pages say so, and it serves them.
        args: |_| vec!["--kv".into(), "127.0.0.1:1".into()],
        default_port: 8000,
        answers: http_ok,
    },
    Spec {
        name: "torsion-weblog",
        args: |dir| vec!["--log".into(), path_arg(&dir.join("access.log"))],
        default_port: 8888,
        answers: |s, _| assert_eq!(read_line(s), "<hits>\n"),
    },
    Spec {
        name: "torsion-fib",
        args: |dir| vec!["--state".into(), path_arg(&dir.join("fib.state"))],
        default_port: 8888,
        answers: |s, _| {
            send(s, b"next\n");
            assert_eq!(read_line(s), "2\r\n");
        },
    },
    Spec {
        name: "torsion-memcached",
        args: no_args,
        default_port: 11211,
        // memcached's own t/daemonize.t: the stats' pid is the pidfile's.
        answers: |s, pid| {
            send(s, b"stats\r\n");
            let stats: Vec<String> = (0..200)
                .map(|_| read_line(s))
                .take_while(|l| l != "END\r\n")
                .collect();
            assert!(stats.contains(&format!("STAT pid {pid}\r\n")), "{stats:?}");
        },
    },
    Spec {
        name: "torsion-kv",
        args: |_| vec!["--amp-port".into(), "0".into(), "--pb-port".into(), "0".into()],
        default_port: 11212,
        answers: |s, _| {
            send(s, b"get k\n");
            assert_eq!(read_line(s), "GET_NOT_FOUND k\r\n");
        },
    },
];

fn http_ok(s: &mut TcpStream, _: u32) {
    send(s, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(read_line(s), "HTTP/1.1 200 OK\r\n");
}

fn path_arg(path: &Path) -> String {
    path.to_str().expect("a UTF-8 path").to_string()
}

/// Runs `command` to its end (a failing server, a launcher), bounded in
/// time: a server that ran on, or a daemon that kept the command's output
/// open, fails the test.
fn run(mut command: Command) -> Output {
    command.env("RUST_LOG", "info");
    output_within_timeout(command)
}

/// `spec`'s command: its own arguments, `extra`, and port 0 unless
/// `extra` gives one.
fn command(spec: &Spec, dir: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(binary(spec.name));
    command.args((spec.args)(dir)).args(extra);
    if !extra.contains(&"-p") {
        command.args(["-p", "0"]);
    }
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) on a process this test started; no memory is shared.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// Whether process `pid` is there and not a zombie.
fn running(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f[0] != "Z")
}

/// The fields of /proc/PID/stat after the command's name: state, ppid,
/// pgrp, session, tty_nr...
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Waits for `condition`, failing the test after [`TIMEOUT`].
fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// A server running in the background; killed when dropped if it still runs.
struct Daemon {
    pid: u32,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if running(self.pid) {
            signal(self.pid, libc::SIGKILL);
        }
    }
}

#[test]
fn every_help_shows_the_default_port_and_the_process_flags() {
    for spec in SERVERS {
        let out = run({
            let mut c = Command::new(binary(spec.name));
            c.arg("--help");
            c
        });
        let help = text(&out.stdout);
        assert!(out.status.success(), "{}: {}", spec.name, text(&out.stderr));
        let port = help
            .lines()
            .skip_while(|l| !l.trim_start().starts_with("-p, --port"))
            .take(2)
            .collect::<String>();
        assert!(
            port.contains(&format!("[default: {}]", spec.default_port)),
            "{}: {help}",
            spec.name
        );
        for flag in ["-d, --daemon", "--logfile <FILE>", "-P, --pidfile <FILE>"] {
            assert!(help.contains(flag), "{}: no {flag} in {help}", spec.name);
        }
    }
    let kv = text(
        &run({
            let mut c = Command::new(binary("torsion-kv"));
            c.arg("--help");
            c
        })
        .stdout,
    );
    // Its other ports: PB on the seeds' 8789, AMP beside it.
    assert!(kv.contains("[default: 8789]"), "{kv}");
    assert!(kv.contains("[default: 8790]"), "{kv}");
}

#[test]
fn a_port_that_is_taken_is_named_in_one_sentence() {
    let dir = Scratch::new("busy");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port().to_string();
    for spec in SERVERS {
        let out = run(command(spec, dir.dir(), &["-p", &busy]));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", spec.name);
        let which = match spec.name {
            "torsion-kv" => " (the line protocol's port, -p)",
            "torsion-proxy" => " (the line proxy's port, -p)",
            _ => "",
        };
        let said = format!(
            "{}: cannot listen on 127.0.0.1:{busy}{which}: Address already in use\n",
            spec.name
        );
        assert!(stderr.ends_with(&said), "{}: {stderr}", spec.name);
        assert!(
            !stderr.contains("Os {") && !stderr.contains("os error"),
            "{stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "{}: announced {:?}",
            spec.name,
            text(&out.stdout)
        );
    }
    // The other ports of the servers that have several (each other port
    // chosen by the OS).
    for (name, flag, others, which) in [
        (
            "torsion-kv",
            "--amp-port",
            &["--pb-port"][..],
            "the AMP port, --amp-port",
        ),
        (
            "torsion-kv",
            "--pb-port",
            &["--amp-port"][..],
            "the PB port, --pb-port",
        ),
        (
            "torsion-proxy",
            "--http-port",
            &[][..],
            "the HTTP proxy's port, --http-port",
        ),
    ] {
        let mut c = Command::new(binary(name));
        c.args(["-p", "0", flag, &busy]);
        for other in others {
            c.args([*other, "0"]);
        }
        let stderr = text(&run(c).stderr);
        assert!(
            stderr.ends_with(&format!(
                "cannot listen on 127.0.0.1:{busy} ({which}): Address already in use\n"
            )),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn an_address_that_is_not_ours_is_named_in_one_sentence() {
    let dir = Scratch::new("address");
    // TEST-NET-1: no interface of this machine has it.
    for spec in SERVERS {
        let out = run(command(spec, dir.dir(), &["-l", "192.0.2.1"]));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", spec.name);
        assert!(
            stderr.contains(&format!("{}: cannot listen on 192.0.2.1:0", spec.name))
                && stderr.ends_with(": Cannot assign requested address\n"),
            "{}: {stderr}",
            spec.name
        );
    }
}

#[test]
fn every_server_runs_in_the_background_with_a_pidfile() {
    for spec in SERVERS {
        let dir = Scratch::new(spec.name);
        let (pidfile, log) = (dir.path("server.pid"), dir.path("server.log"));
        let background = [
            "-d",
            "-P",
            pidfile.to_str().unwrap(),
            "--logfile",
            log.to_str().unwrap(),
        ];
        // The command returns once the server listens, saying where.
        let out = run(command(spec, dir.dir(), &background));
        assert!(out.status.success(), "{}: {}", spec.name, text(&out.stderr));
        let stdout = text(&out.stdout);
        let addr = stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{} listening on ", spec.name)))
            .unwrap_or_else(|| panic!("{}: no announcement in {stdout:?}", spec.name))
            .to_string();
        let pid: u32 = fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        let daemon = Daemon { pid };
        assert!(running(pid), "{}: {pid} is not running", spec.name);
        // Detached: a session of its own, no terminal, no inherited output.
        let fields = stat_fields(pid).unwrap();
        assert_eq!(fields[3], pid.to_string(), "{}: its own session", spec.name);
        assert_eq!(fields[4], "0", "{}: no controlling terminal", spec.name);
        let fd = |n: u32| fs::read_link(format!("/proc/{pid}/fd/{n}")).unwrap();
        assert_eq!(fd(0), Path::new("/dev/null"));
        assert_eq!((fd(1), fd(2)), (log.clone(), log.clone()), "{}", spec.name);
        // It answers on its port.
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        (spec.answers)(&mut stream, pid);
        drop(stream);
        // A second start on the same pidfile is refused, the file untouched.
        let second = run(command(spec, dir.dir(), &background));
        let stderr = text(&second.stderr);
        assert_eq!(second.status.code(), Some(1), "{}: {stderr}", spec.name);
        assert!(
            stderr.contains(&format!(
                "the pidfile {} names process {pid}, which is running: is {} running already?",
                pidfile.display(),
                spec.name
            )),
            "{stderr}"
        );
        assert!(second.stdout.is_empty(), "{}", text(&second.stdout));
        assert_eq!(fs::read_to_string(&pidfile).unwrap(), format!("{pid}\n"));
        // kill `cat PIDFILE`: it stops cleanly and takes its pidfile along.
        signal(pid, libc::SIGTERM);
        wait_for(&format!("{} removed its pidfile", spec.name), || {
            !pidfile.exists()
        });
        wait_for(&format!("{} exited", spec.name), || !running(pid));
        let logged = fs::read_to_string(&log).unwrap();
        assert!(
            logged.contains("received SIGTERM, stopping"),
            "{}: {logged}",
            spec.name
        );
        if spec.name == "torsion-hello" {
            // What hello prints goes to the log file too.
            assert!(logged.contains("hello, daemon"), "{logged}");
        }
        drop(daemon);
    }
}

#[test]
fn a_daemon_that_cannot_listen_says_so_on_the_terminal_and_writes_no_pidfile() {
    let dir = Scratch::new("daemon-busy");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port().to_string();
    let pidfile = dir.path("fib.pid");
    let mut c = Command::new(binary("torsion-fib"));
    c.args(["-d", "-P", pidfile.to_str().unwrap(), "-p", &busy, "--state"])
        .arg(dir.path("fib.state"));
    let out = run(c);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.ends_with(&format!(
            "torsion-fib: cannot listen on 127.0.0.1:{busy}: Address already in use\n"
        )),
        "{stderr}"
    );
    assert!(!pidfile.exists());
    assert!(out.stdout.is_empty());
}

#[test]
fn in_the_foreground_the_pidfile_comes_with_the_announcement_and_goes_at_exit() {
    let dir = Scratch::new("foreground");
    let pidfile = dir.path("upper.pid");
    // A stale file: the pid of a process that has exited.
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    fs::write(&pidfile, format!("{}\n", gone.id())).unwrap();
    let mut server = Server::start("torsion-upper", &["-p", "0", "-P", pidfile.to_str().unwrap()]);
    assert_eq!(
        fs::read_to_string(&pidfile).unwrap(),
        format!("{}\n", server.pid())
    );
    assert_eq!(fs::read_dir(dir.dir()).unwrap().count(), 1, "only the pidfile");
    server.signal(libc::SIGTERM);
    assert!(server.wait().success(), "{}", server.stderr());
    assert!(!pidfile.exists());
}

#[test]
fn the_log_goes_to_the_logfile_and_errors_to_the_terminal() {
    let dir = Scratch::new("logfile");
    let log = dir.path("kv.log");
    let mut command = Command::new(binary("torsion-kv"));
    command.args([
        "-p",
        "0",
        "--amp-port",
        "0",
        "--pb-port",
        "0",
        "--logfile",
        log.to_str().unwrap(),
    ]);
    let mut server = Server::spawn(command);
    let mut s = server.connect();
    send(&mut s, b"set k v\r\n");
    assert_eq!(read_line(&mut s), "STORED\r\n");
    server.signal(libc::SIGTERM);
    assert!(server.wait().success());
    let logged = fs::read_to_string(&log).unwrap();
    assert!(logged.contains("keys live 15 s after their last set"), "{logged}");
    assert!(logged.contains("stopped: 1 keys held; 1 sets"), "{logged}");
    assert!(!server.stderr().contains("keys live"), "{}", server.stderr());
    // An error is the command's own, on its stderr, not in the log.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port().to_string();
    let mut c = Command::new(binary("torsion-kv"));
    c.args(["-p", &busy, "--amp-port", "0", "--logfile", log.to_str().unwrap()]);
    let out = run(c);
    assert!(
        text(&out.stderr).contains("cannot listen on"),
        "{}",
        text(&out.stderr)
    );
    // The hello server's stdout, in the foreground, stays the terminal's.
    let mut hello = Command::new(binary("torsion-hello"));
    hello.args(["-p", "0", "--logfile", log.to_str().unwrap()]);
    let server = Server::spawn(hello);
    let mut s = server.connect();
    send(&mut s, b"to stdout\n");
    drop(s);
    wait_for("hello printed what it heard", || {
        String::from_utf8_lossy(&server.stdout()).contains("to stdout")
    });
}
