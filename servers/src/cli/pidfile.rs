//! `-P FILE`: the server's process id in a file, for ``kill `cat FILE` ``.
//!
//! The file holds the pid and a newline. It is written once the server
//! listens, and appears whole: the pid goes to a temporary file beside it,
//! which is then hard-linked to the name (a link, unlike a rename, fails if
//! the name exists, so two servers never both take it). A file that names
//! a running process is refused, before the server even forks; one that
//! names no process (a crash, a `kill -9`), or holds no pid at all, is
//! stale and replaced. The file is removed when the server exits, if it
//! still names this process.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::sys;

/// A pidfile this process wrote; removed when dropped.
pub(super) struct Pidfile {
    path: PathBuf,
    pid: u32,
}

/// Refuses to go on if `path` names a running process (not this one).
pub(super) fn refuse_if_held(path: &Path, name: &str) -> Result<(), String> {
    match holder(path) {
        Some(pid) => Err(held(path, pid, name)),
        None => Ok(()),
    }
}

fn held(path: &Path, pid: u32, name: &str) -> String {
    format!(
        "the pidfile {} names process {pid}, which is running: is {name} running already? \
         (stop it first, or give another --pidfile)",
        path.display()
    )
}

/// The running process other than this one that `path` names, if any.
fn holder(path: &Path) -> Option<u32> {
    let text = fs::read_to_string(path).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    let running = pid != 0
        && pid != std::process::id()
        && libc::pid_t::try_from(pid).is_ok_and(sys::process_exists)
        && !is_zombie(pid);
    running.then_some(pid)
}

/// A process that ended but was not yet reaped by its parent.
fn is_zombie(pid: u32) -> bool {
    // /proc/PID/stat: "PID (command) STATE ...": the state follows the
    // last parenthesis (a command may hold some).
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

impl Pidfile {
    /// Writes this process's pid to `path`, replacing a stale file and
    /// refusing one that names a running process (server `name`'s, likely).
    pub(super) fn write(path: &Path, name: &str) -> Result<Pidfile, String> {
        let pid = std::process::id();
        let cannot = |e: io::Error| format!("cannot write the pidfile {}: {e}", path.display());
        let mut temporary = OsString::from(path.as_os_str());
        temporary.push(format!(".{pid}.tmp"));
        let temporary = PathBuf::from(temporary);
        fs::write(&temporary, format!("{pid}\n")).map_err(cannot)?;
        let linked = link(&temporary, path);
        let _ = fs::remove_file(&temporary);
        linked.map_err(|e| match e {
            Link::Held(other) => held(path, other, name),
            Link::Failed(e) => cannot(e),
        })?;
        Ok(Pidfile {
            path: path.to_path_buf(),
            pid,
        })
    }
}

/// Why the pid could not take the name.
enum Link {
    /// A running process holds it.
    Held(u32),
    /// The system said no.
    Failed(io::Error),
}

/// Gives `temporary`'s content the name `path`.
fn link(temporary: &Path, path: &Path) -> Result<(), Link> {
    // Twice at most: the first attempt may find a stale file to remove.
    for _ in 0..2 {
        match fs::hard_link(temporary, path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if let Some(other) = holder(path) {
                    return Err(Link::Held(other));
                }
                match fs::remove_file(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Link::Failed(e)),
                }
            }
            // A file system without hard links: a rename, after the check.
            Err(_) => {
                if let Some(other) = holder(path) {
                    return Err(Link::Held(other));
                }
                return fs::rename(temporary, path).map_err(Link::Failed);
            }
        }
    }
    Err(Link::Failed(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "another process keeps creating it",
    )))
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        let ours = fs::read_to_string(&self.path).is_ok_and(|text| text.trim() == self.pid.to_string());
        if ours {
            if let Err(e) = fs::remove_file(&self.path) {
                log::warn!("cannot remove the pidfile {}: {e}", self.path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;

    #[test]
    fn written_whole_and_removed_when_dropped() {
        let dir = Scratch::new("whole");
        let path = dir.0.join("x.pid");
        let pidfile = Pidfile::write(&path, "x").unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
        // Only the pidfile: the temporary is gone.
        assert_eq!(fs::read_dir(&dir.0).unwrap().count(), 1);
        drop(pidfile);
        assert!(!path.exists());
    }

    #[test]
    fn stale_and_empty_files_are_replaced() {
        let dir = Scratch::new("stale");
        let path = dir.0.join("x.pid");
        // No process has a pid this large (the kernel's limit is 2^22).
        for stale in ["", "garbage\n", "4194305000\n", "0\n"] {
            fs::write(&path, stale).unwrap();
            assert_eq!(refuse_if_held(&path, "x"), Ok(()), "{stale:?}");
            let pidfile = Pidfile::write(&path, "x").unwrap();
            assert_eq!(
                fs::read_to_string(&path).unwrap(),
                format!("{}\n", std::process::id())
            );
            drop(pidfile);
        }
    }

    #[test]
    fn a_running_process_holds_its_file() {
        let dir = Scratch::new("held");
        let path = dir.0.join("x.pid");
        // The parent of this test process is running, by definition.
        let parent = std::os::unix::process::parent_id();
        fs::write(&path, format!("{parent}\n")).unwrap();
        let refused = refuse_if_held(&path, "torsion-x").unwrap_err();
        assert!(
            refused.contains(&format!("names process {parent}, which is running")),
            "{refused}"
        );
        assert!(refused.contains("torsion-x"), "{refused}");
        assert!(Pidfile::write(&path, "x").is_err());
        // Untouched, and nothing left beside it.
        assert_eq!(fs::read_to_string(&path).unwrap(), format!("{parent}\n"));
        assert_eq!(fs::read_dir(&dir.0).unwrap().count(), 1);
    }

    #[test]
    fn a_file_another_process_rewrote_is_left_at_exit() {
        let dir = Scratch::new("rewritten");
        let path = dir.0.join("x.pid");
        let pidfile = Pidfile::write(&path, "x").unwrap();
        fs::write(&path, "1\n").unwrap();
        drop(pidfile);
        assert_eq!(fs::read_to_string(&path).unwrap(), "1\n");
    }
}
