//! Helpers shared by Torsion's integration tests: start a real server binary
//! on an OS-chosen port, talk to it, signal it, and wait for it, all bounded
//! in time.
#![deny(missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub mod origin;
pub use origin::Origin;
pub mod memcache;
pub mod rng;
pub use rng::Rng;

/// How long any single wait in a test may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The path of a workspace binary, as `cargo test --workspace` (or `cargo
/// build --workspace --bins`) built it, in the test's own profile directory.
///
/// A test never builds anything while it runs: under libfaketime, cargo and
/// rustc hang, and a build inside a timed test is the slowest thing on a
/// loaded machine. So the binaries must be there already, and fresh: if one
/// is missing, or older than a source file of the workspace, the test fails
/// at once with the command that builds them, rather than run a stale one.
pub fn binary(name: &str) -> PathBuf {
    // The test executable lives in target/<profile>/deps/.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target/<profile>");
    let path = profile_dir.join(name);
    let build = if profile_dir.file_name().is_some_and(|p| p == "release") {
        "cargo build --release --workspace --bins"
    } else {
        "cargo build --workspace --bins"
    };
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("no binary {}: run `{build}` first", path.display()));
    if let Some((source, _)) = newest_source(name).filter(|(_, changed)| *changed > built) {
        panic!(
            "{} is older than {}: run `{build}` first",
            path.display(),
            source.display()
        );
    }
    path
}

/// The most recently changed file among the sources binary `name` is
/// built from: its own file under `src/bin/`, the library of its crate and
/// of every workspace crate that library depends on (`src/` and manifest),
/// and the lock file. Other binaries' files do not count: changing one does
/// not rebuild this one, so its age says nothing about them.
fn newest_source(name: &str) -> Option<(PathBuf, std::time::SystemTime)> {
    let root = workspace_root();
    let owner = ["servers", "clients", "tests", "reactor", "protocols"]
        .into_iter()
        .find(|krate| {
            let bin = root.join(krate).join("src/bin");
            bin.join(format!("{name}.rs")).exists() || bin.join(name).join("main.rs").exists()
        })?;
    let mut crates = vec![owner.to_string()];
    let mut i = 0;
    while i < crates.len() {
        for dep in workspace_dependencies(&root, &crates[i]) {
            if !crates.contains(&dep) {
                crates.push(dep);
            }
        }
        i += 1;
    }
    let bin = root.join(owner).join("src/bin");
    let mut pending = vec![
        root.join("Cargo.lock"),
        bin.join(format!("{name}.rs")),
        bin.join(name),
    ];
    for krate in &crates {
        pending.push(root.join(krate).join("Cargo.toml"));
        let src = root.join(krate).join("src");
        let entries = std::fs::read_dir(&src).into_iter().flatten().flatten();
        pending.extend(entries.map(|e| e.path()).filter(|p| *p != src.join("bin")));
    }
    let mut newest: Option<(PathBuf, std::time::SystemTime)> = None;
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            let entries = std::fs::read_dir(&path).into_iter().flatten().flatten();
            pending.extend(entries.map(|e| e.path()));
        } else if let Ok(changed) = meta.modified() {
            if newest.as_ref().is_none_or(|(_, t)| changed > *t) {
                newest = Some((path, changed));
            }
        }
    }
    newest
}

/// The workspace crates (by folder) that `krate`'s library depends on: its
/// manifest's `[dependencies]` that the workspace's manifest maps to a path.
fn workspace_dependencies(root: &std::path::Path, krate: &str) -> Vec<String> {
    let read = |path: PathBuf| std::fs::read_to_string(path).unwrap_or_default();
    // `torsion-protocols = { path = "protocols" }` in [workspace.dependencies].
    let workspace = read(root.join("Cargo.toml"));
    let folder_of = |dep: &str| {
        workspace.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            let path = value.split("path = \"").nth(1)?.split('"').next()?;
            (key.trim() == dep).then(|| path.to_string())
        })
    };
    let manifest = read(root.join(krate).join("Cargo.toml"));
    let mut in_dependencies = false;
    let mut deps = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
        } else if in_dependencies {
            if let Some(folder) = line.split(['.', '=', ' ']).next().and_then(folder_of) {
                deps.push(folder);
            }
        }
    }
    deps
}

/// The workspace's root folder (this crate's parent).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// A server process started for a test; killed when dropped.
pub struct Server {
    child: Child,
    addr: String,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// The threads copying stdout and stderr; joined once the process exits.
    readers: Vec<thread::JoinHandle<()>>,
}

impl Server {
    /// Starts workspace binary `name` with `args` (which should include
    /// `-p 0`) and waits for its `listening on ADDR` line.
    pub fn start(name: &str, args: &[&str]) -> Server {
        let mut command = Command::new(binary(name));
        command.args(args);
        Server::spawn(command)
    }

    /// Starts `command` (already set up) and waits for its `listening on` line.
    pub fn spawn(mut command: Command) -> Server {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env(
                "RUST_LOG",
                std::env::var("TORSION_TEST_LOG").unwrap_or_else(|_| "info".into()),
            );
        let mut child = command.spawn().expect("spawn server");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let err_reader = drain(child.stderr.take().expect("stderr"), stderr.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let sink = stdout.clone();
        let out_reader = thread::spawn(move || {
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if let Some((_, addr)) = line.split_once(" listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                    break;
                }
                line.clear();
            }
            // Keep what follows (and never let the server block on a full pipe).
            let mut buf = [0; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let addr = match rx.recv_timeout(TIMEOUT) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let log = String::from_utf8_lossy(&stderr.lock().unwrap()).into_owned();
                panic!("server did not announce its address; stderr:\n{log}");
            }
        };
        Server {
            child,
            addr,
            stdout,
            stderr,
            readers: vec![err_reader, out_reader],
        }
    }

    /// The address it listens on, as printed (`127.0.0.1:PORT`, or a path).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The TCP address it listens on.
    pub fn socket_addr(&self) -> SocketAddr {
        self.addr.parse().expect("a TCP address")
    }

    /// Connects to it, with read and write timeouts set.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.socket_addr()).expect("connect");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        stream
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with a pid we spawned and own; no memory is shared.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Waits for the process to exit, failing the test after [`TIMEOUT`].
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Its pipes are closed: collect the last of its output.
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit in time");
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The address of a later announcement, `NAME listening on ADDR` (a
    /// server's second or third port), waited for up to [`TIMEOUT`].
    pub fn announced(&self, name: &str) -> String {
        let prefix = format!("{name} listening on ");
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let out = String::from_utf8_lossy(&self.stdout()).into_owned();
            if let Some(addr) = out.lines().find_map(|l| l.strip_prefix(&prefix)) {
                return addr.trim().to_string();
            }
            assert!(Instant::now() < deadline, "no `{prefix}` in {out:?}");
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// What the server printed on stdout after its `listening on` line.
    pub fn stdout(&self) -> Vec<u8> {
        self.stdout.lock().unwrap().clone()
    }

    /// What the server logged to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Waits until the server has logged `text` to stderr (a log line is
    /// written when the server gets to it, and read on another thread:
    /// never assume it is there as soon as a reply came), and returns the
    /// log. Fails the test after [`TIMEOUT`].
    pub fn wait_for_stderr(&self, text: &str) -> String {
        self.wait_for_stderr_times(text, 1)
    }

    /// Waits until the server has logged `text` at least `times` times,
    /// as [`wait_for_stderr`](Server::wait_for_stderr) does once.
    pub fn wait_for_stderr_times(&self, text: &str, times: usize) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let log = self.stderr();
            if log.matches(text).count() >= times {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not log {text:?} {times} times within {TIMEOUT:?}; its log:\n{log}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// CPU time (user + system) the process used so far, from /proc.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("read /proc stat");
        // Fields after the parenthesised command name; utime and stime are 14 and 15.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // SAFETY: sysconf has no preconditions.
        #[allow(unsafe_code)]
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Duration::from_millis(ticks * 1000 / hz)
    }

    /// Open file descriptors of the process, from /proc.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` to its end and collects what it printed, failing the
/// test after [`TIMEOUT`] (and killing it) instead of hanging on a
/// program that runs on, or on output a child of it keeps open.
pub fn output_within_timeout(mut command: Command) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(TIMEOUT) {
        Ok(output) => output.expect("wait for the command"),
        Err(_) => {
            // SAFETY: kill(2) on the child spawned above; no memory is shared.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
            panic!("{command:?} did not finish within {TIMEOUT:?}");
        }
    }
}

/// A fresh, empty folder for one test's files (a state file, a log, a
/// pidfile), unique to the test process and the name; removed when
/// dropped.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// `torsion-test-<pid>-<name>` under the system's temporary folder.
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("torsion-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a scratch folder");
        Scratch { dir }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A path in the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Copies a pipe into a shared buffer on a thread, until end-of-file.
fn drain(mut pipe: impl Read + Send + 'static, sink: Arc<Mutex<Vec<u8>>>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    })
}

/// What a program that ran to its end did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ran {
    /// Its exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Its standard output, lossily as text.
    pub stdout: String,
    /// Its standard error, lossily as text.
    pub stderr: String,
}

/// Runs `command` to its end, with no input; fails the test (after killing
/// it, by its pid) if it runs longer than `limit`.
pub fn run_bounded(mut command: Command, limit: Duration) -> Ran {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
    let (stdout, stderr) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
    let readers = [
        drain(child.stdout.take().expect("stdout"), stdout.clone()),
        drain(child.stderr.take().expect("stderr"), stderr.clone()),
    ];
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} ran longer than {limit:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    for reader in readers {
        let _ = reader.join();
    }
    let text = |buffer: &Mutex<Vec<u8>>| String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned();
    Ran {
        code: status.code(),
        stdout: text(&stdout),
        stderr: text(&stderr),
    }
}

/// Runs workspace binary `name` with `args` to its end, within [`TIMEOUT`].
pub fn run(name: &str, args: &[&str]) -> Ran {
    let mut command = Command::new(binary(name));
    command.args(args);
    run_bounded(command, TIMEOUT)
}

/// Reads from `stream` until end-of-file.
pub fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    stream.read_to_end(&mut out).expect("read to end");
    out
}

/// Reads exactly `n` bytes.
pub fn read_exact(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut out = vec![0; n];
    stream.read_exact(&mut out).expect("read_exact");
    out
}

/// Reads one `\n`-terminated line (without buffering past it).
pub fn read_line(stream: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => {
                line.push(byte[0]);
                if byte[0] == b'\n' {
                    break;
                }
            }
            Err(e) => panic!("read_line: {e}"),
        }
    }
    String::from_utf8_lossy(&line).into_owned()
}

/// Writes all of `data`.
pub fn send(stream: &mut TcpStream, data: &[u8]) {
    stream.write_all(data).expect("write");
}

/// A port the OS just handed out and released, for third-party servers that
/// cannot listen on port 0 and report it. Callers retry if it was taken.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// Whether this process runs as root (some servers then need `-u`).
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// A third-party server process (the reference memcached, nginx...) on
/// 127.0.0.1; killed when dropped.
pub struct Reference {
    child: Child,
    port: u16,
}

impl Reference {
    /// Starts `program` with `args`, where `{port}` in an argument is replaced
    /// by a free port, and waits until that port accepts connections.
    pub fn start(program: &str, args: &[&str]) -> Reference {
        for _ in 0..5 {
            let port = free_port();
            let args: Vec<String> = args
                .iter()
                .map(|a| a.replace("{port}", &port.to_string()))
                .collect();
            let mut child = Command::new(program)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("start {program}: {e}"));
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // it exited: most likely the port was taken; retry
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Reference { child, port };
                }
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("{program} did not start listening");
    }

    /// Debian's memcached, one thread, UDP off, as root if need be.
    pub fn memcached(extra: &[&str]) -> Reference {
        let mut args = vec!["-p", "{port}", "-l", "127.0.0.1", "-U", "0", "-t", "1"];
        if running_as_root() {
            args.extend(["-u", "nobody"]);
        }
        args.extend_from_slice(extra);
        Reference::start("memcached", &args)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_depends_on_its_crate_and_the_crates_it_uses() {
        let root = workspace_root();
        let mut servers = workspace_dependencies(&root, "servers");
        servers.sort();
        assert_eq!(servers, ["clients", "protocols", "reactor"]);
        let mut clients = workspace_dependencies(&root, "clients");
        clients.sort();
        assert_eq!(clients, ["protocols", "reactor"]);
        assert!(workspace_dependencies(&root, "reactor").is_empty());
        assert!(newest_source("torsion-memcached").is_some());
        assert!(newest_source("no-such-binary").is_none());
    }
}
