//! Following a log file as it grows, is rotated, truncated, or does not
//! exist yet: `tail -F`, one bounded step at a time.
//!
//! The seed opens the log once, seeks to its end and calls `readlines()`
//! every second. That misses three things a real access log does, which
//! [`Follower::poll`] handles:
//!
//! | event | how it is seen | what happens |
//! |---|---|---|
//! | the file does not exist (yet) | `open` fails with `NotFound` | wait; once it appears, read it from its start |
//! | rotation: renamed away, a new file created under the name | the path's inode differs from the open file's | read the old file to its end (its last lines), then the new one from its start |
//! | renamed away, nothing created yet | the path is missing | keep reading the old file (the writer may still hold it) |
//! | truncation (`copytruncate`, `> access.log`) | the open file is shorter than what was read | read again from the start |
//!
//! A truncation followed, before the next poll, by growth past the old
//! size is indistinguishable from appending (`tail -F` has the same blind
//! spot); with the default one-second poll that takes a burst.
//!
//! # Not blocking the loop
//!
//! Regular files are always "ready" to epoll, so reading one cannot be
//! made non-blocking the way a socket is; instead each poll reads at most
//! a budget of bytes (see [`super::READ_BUDGET`]) and says whether more is
//! waiting ([`Progress::More`]), so the caller can come back on a later
//! iteration instead of holding the loop while it reads a huge backlog.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::lines::{LineAssembler, Piece};

/// Bytes read from the file per `read` call.
const CHUNK: usize = 64 * 1024;

/// Fails unless `path` names a regular file (or a link to one): a
/// directory opens and "ends" at byte 2^63, and a named pipe would block
/// the loop in `open` until a writer came.
pub fn regular_file(path: &Path) -> io::Result<()> {
    let meta = fs::metadata(path)?;
    if meta.is_file() {
        Ok(())
    } else if meta.is_dir() {
        Err(io::Error::other("a directory, not a log file"))
    } else {
        Err(io::Error::other("not a regular file"))
    }
}

/// Where to start reading a file that is already there at startup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// From its end: only lines appended from now on (the seed's `seek(0, 2)`).
    End,
    /// From its start.
    Beginning,
}

/// Whether a poll left bytes unread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Everything there was has been read.
    Idle,
    /// The budget ran out (or the file was just switched): poll again soon.
    More,
}

/// Follows one log file; see the module docs.
pub struct Follower {
    path: PathBuf,
    file: Followed,
    lines: LineAssembler,
    buf: Vec<u8>,
    /// Reading failed last time (logged once, not at every poll).
    failing: bool,
}

/// The file being followed.
enum Followed {
    /// No file at the path yet (or it could not be opened).
    Waiting {
        /// Whether the last attempt was already logged.
        logged: bool,
    },
    Open(OpenFile),
}

struct OpenFile {
    file: File,
    id: FileId,
    /// Bytes read so far (the read position).
    offset: u64,
    /// The path no longer names this file (rotated away, nothing new yet).
    orphaned: bool,
}

/// Which file a path names: its device and inode numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(meta: &fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

impl Follower {
    /// Follows `path`, with lines of at most `max_line` bytes. If the file
    /// exists it is opened now and read from `start`; if not, it is read
    /// from its beginning once it appears.
    pub fn new(path: &Path, start: Start, max_line: usize) -> Follower {
        let mut follower = Follower {
            path: path.to_path_buf(),
            file: Followed::Waiting { logged: false },
            lines: LineAssembler::new(max_line),
            buf: vec![0; CHUNK],
            failing: false,
        };
        follower.try_open(start);
        follower
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a file is open (otherwise it is awaited).
    pub fn is_open(&self) -> bool {
        matches!(self.file, Followed::Open(_))
    }

    /// Reads what was appended since the last poll, at most `budget` bytes,
    /// and calls `on_line` for each complete line (or too long a line).
    /// Detects rotation and truncation as the module docs say. I/O errors
    /// are logged and retried on the next poll; they never end the follow.
    pub fn poll(&mut self, budget: usize, mut on_line: impl FnMut(Piece<'_>)) -> Progress {
        if !self.is_open() && !self.try_open(Start::Beginning) {
            return Progress::Idle;
        }
        self.check_truncation();
        match self.read_available(budget, &mut on_line) {
            Ok(progress) if self.failing => {
                self.failing = false;
                log::info!("reading {} again", self.path.display());
                if progress == Progress::More {
                    return progress;
                }
            }
            Ok(Progress::More) => return Progress::More,
            Ok(Progress::Idle) => {}
            Err(e) => {
                if !std::mem::replace(&mut self.failing, true) {
                    log::warn!("reading {}: {e}; will retry", self.path.display());
                }
                return Progress::Idle;
            }
        }
        // At the end of the open file: is the path still this file?
        if !self.path_moved_on() {
            return Progress::Idle;
        }
        // Rotated. A writer may have added its last lines between our read
        // and the check: read the old file to its end once more first.
        match self.read_available(budget, &mut on_line) {
            Ok(Progress::More) => return Progress::More,
            Ok(Progress::Idle) => {}
            Err(e) => log::warn!("reading the rotated {}: {e}", self.path.display()),
        }
        self.lines.finish(&mut on_line);
        log::info!(
            "{} was rotated: following the new file from its start",
            self.path.display()
        );
        self.file = Followed::Waiting { logged: true };
        self.try_open(Start::Beginning);
        Progress::More
    }

    /// Opens the path if it exists; returns whether a file is open.
    fn try_open(&mut self, start: Start) -> bool {
        let opened = regular_file(&self.path)
            .and_then(|()| File::open(&self.path))
            .and_then(|mut file| {
                let meta = file.metadata()?;
                let offset = match start {
                    Start::End => file.seek(SeekFrom::End(0))?,
                    Start::Beginning => 0,
                };
                Ok(OpenFile {
                    file,
                    id: FileId::of(&meta),
                    offset,
                    orphaned: false,
                })
            });
        match opened {
            Ok(open) => {
                log::info!(
                    "following {} from {}",
                    self.path.display(),
                    if open.offset == 0 {
                        "its start".to_string()
                    } else {
                        format!("byte {}", open.offset)
                    }
                );
                self.file = Followed::Open(open);
                true
            }
            Err(e) => {
                if let Followed::Waiting { logged } = &mut self.file {
                    if !*logged {
                        *logged = true;
                        if e.kind() == io::ErrorKind::NotFound {
                            log::info!("{} does not exist yet; waiting for it", self.path.display());
                        } else {
                            log::warn!("cannot open {}: {e}; will retry", self.path.display());
                        }
                    }
                }
                false
            }
        }
    }

    /// Starts over if the open file is now shorter than what was read.
    fn check_truncation(&mut self) {
        let Followed::Open(open) = &mut self.file else {
            return;
        };
        let Ok(meta) = open.file.metadata() else {
            return;
        };
        if meta.len() >= open.offset {
            return;
        }
        log::info!(
            "{} was truncated (from {} to {} bytes): reading it from its start",
            self.path.display(),
            open.offset,
            meta.len()
        );
        match open.file.seek(SeekFrom::Start(0)) {
            Ok(_) => {
                open.offset = 0;
                self.lines.reset();
            }
            Err(e) => log::warn!("cannot rewind {}: {e}", self.path.display()),
        }
    }

    /// Reads until the end of the open file or until `budget` bytes.
    fn read_available(&mut self, budget: usize, on_line: &mut impl FnMut(Piece<'_>)) -> io::Result<Progress> {
        let Followed::Open(open) = &mut self.file else {
            return Ok(Progress::Idle);
        };
        let mut left = budget;
        while left > 0 {
            let want = left.min(self.buf.len());
            let n = match open.file.read(&mut self.buf[..want]) {
                Ok(0) => return Ok(Progress::Idle),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            open.offset += n as u64;
            left -= n;
            self.lines.feed(&self.buf[..n], &mut *on_line);
        }
        Ok(Progress::More)
    }

    /// Whether the path now names another file than the open one.
    fn path_moved_on(&mut self) -> bool {
        let Followed::Open(open) = &mut self.file else {
            return false;
        };
        match fs::metadata(&self.path) {
            Ok(meta) => FileId::of(&meta) != open.id,
            Err(e) => {
                if !open.orphaned {
                    open.orphaned = true;
                    log::info!(
                        "{} is gone ({e}); reading the old file until a new one appears",
                        self.path.display()
                    );
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;
    use std::io::Write;

    fn append(path: &Path, data: &[u8]) {
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(data).unwrap();
    }

    /// Polls until idle and returns the lines read.
    fn drain(follower: &mut Follower, budget: usize) -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..1000 {
            let progress = follower.poll(budget, |p| {
                out.push(match p {
                    Piece::Line(l) => String::from_utf8_lossy(l).into_owned(),
                    Piece::TooLong(n) => format!("<{n} bytes>"),
                })
            });
            if progress == Progress::Idle {
                return out;
            }
        }
        panic!("the follower never went idle");
    }

    #[test]
    fn starts_at_the_end_and_reads_what_is_appended() {
        let dir = Scratch::new("append");
        let log = dir.0.join("access.log");
        append(&log, b"old line\n");
        let mut follower = Follower::new(&log, Start::End, 100);
        assert!(drain(&mut follower, 1 << 20).is_empty());
        append(&log, b"one\ntwo\nhal");
        assert_eq!(drain(&mut follower, 1 << 20), ["one", "two"]);
        append(&log, b"f\n");
        assert_eq!(drain(&mut follower, 1 << 20), ["half"]);
    }

    #[test]
    fn reads_at_most_the_budget_per_poll() {
        let dir = Scratch::new("budget");
        let log = dir.0.join("access.log");
        append(&log, b"");
        let mut follower = Follower::new(&log, Start::End, 100);
        append(&log, b"0123456789\n0123456789\n0123456789\n");
        let mut lines = 0;
        assert_eq!(follower.poll(15, |_| lines += 1), Progress::More);
        assert_eq!(lines, 1);
        assert_eq!(follower.poll(15, |_| lines += 1), Progress::More);
        assert_eq!(lines, 2);
        assert_eq!(follower.poll(15, |_| lines += 1), Progress::Idle);
        assert_eq!(lines, 3);
    }

    #[test]
    fn waits_for_a_missing_file_then_reads_it_from_the_start() {
        let dir = Scratch::new("missing");
        let log = dir.0.join("access.log");
        let mut follower = Follower::new(&log, Start::End, 100);
        assert!(!follower.is_open());
        assert!(drain(&mut follower, 1 << 20).is_empty());
        append(&log, b"first\n");
        assert_eq!(drain(&mut follower, 1 << 20), ["first"]);
        assert!(follower.is_open());
    }

    #[test]
    fn follows_a_rotation() {
        let dir = Scratch::new("rotate");
        let log = dir.0.join("access.log");
        append(&log, b"");
        let mut follower = Follower::new(&log, Start::End, 100);
        append(&log, b"before\n");
        assert_eq!(drain(&mut follower, 1 << 20), ["before"]);
        // The writer's last line lands in the old file after the rename, and
        // without its newline; the new file gets the next ones.
        fs::rename(&log, dir.0.join("access.log.1")).unwrap();
        assert!(drain(&mut follower, 1 << 20).is_empty());
        append(&dir.0.join("access.log.1"), b"last of the old");
        append(&log, b"first of the new\n");
        assert_eq!(
            drain(&mut follower, 1 << 20),
            ["last of the old", "first of the new"]
        );
        append(&log, b"more\n");
        assert_eq!(drain(&mut follower, 1 << 20), ["more"]);
    }

    #[test]
    fn follows_a_truncation() {
        let dir = Scratch::new("truncate");
        let log = dir.0.join("access.log");
        append(&log, b"");
        let mut follower = Follower::new(&log, Start::End, 100);
        append(&log, b"a long line before truncation\nand a partial");
        assert_eq!(drain(&mut follower, 1 << 20), ["a long line before truncation"]);
        fs::File::create(&log).unwrap(); // truncates
        append(&log, b"after\n");
        // The partial line before the truncation is dropped, not glued on.
        assert_eq!(drain(&mut follower, 1 << 20), ["after"]);
    }

    #[test]
    fn a_path_that_is_no_regular_file_is_awaited_not_followed() {
        let dir = Scratch::new("unreadable");
        // A directory would open, "end" at byte 2^63, and fail every read.
        let mut follower = Follower::new(&dir.0, Start::End, 100);
        for _ in 0..3 {
            assert!(drain(&mut follower, 1 << 20).is_empty());
            assert!(!follower.is_open());
        }
        assert!(
            matches!(follower.file, Followed::Waiting { logged: true }),
            "the refusal is remembered, so it is logged once"
        );
        assert!(regular_file(&dir.0).is_err());
    }

    #[test]
    fn an_overlong_line_is_reported_and_skipped() {
        let dir = Scratch::new("long");
        let log = dir.0.join("access.log");
        append(&log, b"");
        let mut follower = Follower::new(&log, Start::End, 10);
        append(&log, b"short\n");
        append(&log, &[b'x'; 100_000]);
        append(&log, b"\nnext\n");
        assert_eq!(drain(&mut follower, 4096), ["short", "<100000 bytes>", "next"]);
    }
}
