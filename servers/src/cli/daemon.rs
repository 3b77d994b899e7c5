//! `-d`: the fork, the new session, and the pipe on which the server tells
//! the waiting command that it is up (see the module docs of `cli`).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use super::sys::{self, Forked};

/// The daemon's end of the pipe to the command that started it.
pub(super) struct Launcher {
    ready: File,
}

/// Forks. Only the child returns: it is the server, in a session of its
/// own. The parent, the command that was typed, waits until the server is
/// ready (and exits 0) or gone (and exits with its status).
pub(super) fn fork() -> Result<Launcher, String> {
    let threads = thread_count();
    if threads > 1 {
        return Err(format!(
            "cannot run in the background: {threads} threads already run, and fork copies only one"
        ));
    }
    let (read, write) = sys::pipe().map_err(|e| format!("cannot run in the background: pipe: {e}"))?;
    match sys::fork().map_err(|e| format!("cannot run in the background: fork: {e}"))? {
        Forked::Child => {
            drop(read);
            sys::setsid().map_err(|e| format!("cannot leave the terminal's session: {e}"))?;
            Ok(Launcher { ready: write })
        }
        Forked::Parent(child) => {
            drop(write);
            std::process::exit(wait_for(read, child))
        }
    }
}

/// The parent's wait: one byte means the server is up. End-of-file means
/// the server ended first (it said why on the terminal): its status.
fn wait_for(mut ready: File, child: libc::pid_t) -> i32 {
    let mut byte = [0u8; 1];
    loop {
        match ready.read(&mut byte) {
            Ok(1) => return 0,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            _ => break,
        }
    }
    match sys::wait_exit_code(child) {
        Ok(0) | Err(_) => 1,
        Ok(code) => code,
    }
}

/// Threads in this process, from `/proc` (1 where it cannot be read).
fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(1, |tasks| tasks.count())
}

impl Launcher {
    /// Leaves the terminal: stdin from `/dev/null`, stdout and stderr
    /// appended to `log` (or to `/dev/null`), then tells the waiting
    /// command that the server is up.
    pub(super) fn detach(self, log: Option<&Path>) -> Result<(), String> {
        let null = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| format!("cannot open /dev/null: {e}"))?;
        let out = match log {
            Some(path) => OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open the log file {}: {e}", path.display()))?,
            None => null
                .try_clone()
                .map_err(|e| format!("cannot open /dev/null: {e}"))?,
        };
        // What was printed so far (the announcements) is out already.
        let _ = io::stdout().flush();
        for (file, fd) in [(&null, 0), (&out, 1), (&out, 2)] {
            sys::redirect(file, fd).map_err(|e| format!("cannot redirect descriptor {fd}: {e}"))?;
        }
        let mut ready = self.ready;
        // The command may be gone (killed while it waited): nothing to tell.
        let _ = ready.write_all(b"+");
        Ok(())
    }
}
