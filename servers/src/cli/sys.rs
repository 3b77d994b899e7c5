//! The few system calls detaching needs and std does not offer: `fork`,
//! `setsid`, `pipe2`, `dup2`, `waitpid`, and `kill(pid, 0)` to ask whether
//! a process lives. Each is a thin, safe wrapper; this is the only file of
//! the command line that uses `unsafe`.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Which side of a fork the caller is on.
pub(super) enum Forked {
    /// The child (the caller's copy).
    Child,
    /// The parent, with the child's pid.
    Parent(libc::pid_t),
}

/// `fork(2)`. The caller makes sure the process runs one thread: a fork
/// copies only the calling thread, and locks other threads held (the
/// allocator's, a logger's) would stay locked forever in the child.
pub(super) fn fork() -> io::Result<Forked> {
    // SAFETY: fork(2) takes no pointers; in the single-threaded process the
    // caller guarantees, the child is a full copy of a consistent process.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        child => Ok(Forked::Parent(child)),
    }
}

/// `setsid(2)`: a new session and process group, without a controlling
/// terminal.
pub(super) fn setsid() -> io::Result<()> {
    // SAFETY: setsid(2) takes no arguments and touches no memory of ours.
    if unsafe { libc::setsid() } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A pipe whose ends close on exec: (read end, write end).
pub(super) fn pipe() -> io::Result<(File, File)> {
    let mut fds: [RawFd; 2] = [-1, -1];
    // SAFETY: `fds` is a valid array of two ints for pipe2(2) to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and ours alone;
    // each is owned exactly once, by the File that closes it.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((File::from(read), File::from(write)))
}

/// `dup2(2)`: descriptor `target` (0, 1 or 2) becomes a copy of `file`'s.
pub(super) fn redirect(file: &File, target: RawFd) -> io::Result<()> {
    // SAFETY: dup2(2) with an open descriptor (borrowed from `file`, which
    // outlives the call) and a standard descriptor number; it replaces what
    // `target` named, which Rust's std only ever uses by number.
    if unsafe { libc::dup2(file.as_raw_fd(), target) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Waits for child `pid` to end: its exit status, or 128 + the signal
/// that killed it, as a shell reports it.
pub(super) fn wait_exit_code(pid: libc::pid_t) -> io::Result<i32> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: waitpid(2) with our own child's pid and a valid pointer to
        // an int for its status.
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        if waited == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Ok(128 + libc::WTERMSIG(status))
    } else {
        Ok(1)
    }
}

/// Whether process `pid` exists (a process of another user counts: the
/// system refused to signal it, it did not say there was none).
pub(super) fn process_exists(pid: libc::pid_t) -> bool {
    // SAFETY: kill(2) with signal 0 sends nothing; it only checks that
    // `pid` names a process we could signal.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
