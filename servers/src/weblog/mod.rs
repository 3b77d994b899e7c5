//! torsion-weblog: the weblog server of seed 003 (David Mertz, "The Twisted
//! Matrix Framework, Part One": `SocketServer-weblog.py` and the enhanced
//! `twisted-weblog-1.py`).
//!
//! It follows a web server's access log as lines are appended and pushes
//! each new hit to every connected client. The seed's enhanced server is
//! the model: a factory reads the log every second into its last 100
//! records (`updateRecords`), and each client is sent, every 5 seconds,
//! the records that arrived since its last send (`newHits`), with no
//! request needed from the client.
//!
//! The seed's first version is here too ([`Mode::Pull`], `torsion-weblog
//! --pull`): a client asks by sending anything (the seed's client sends
//! `NEW?` every 5 seconds) and is answered with the hits since its last
//! request, or `<none/>` when there are none.
//!
//! # What a client receives
//!
//! The seed writes `<hits>` on connecting, then `hit_tag % log_fields(hit)`
//! for each hit: a stream of XML for a SAX client. The layout of `hit_tag`
//! lives in the seed's `webloglib`, which the seeds do not include, so the
//! element here is ours (see [`tag`]): one line per hit, every log field an
//! attribute.
//!
//! ```text
//! <hits>
//! <hit host="127.0.0.1" ident="-" user="frank" time="10/Oct/2000:13:55:36 -0700" request="GET /apache_pb.gif HTTP/1.0" status="200" bytes="2326" referrer="http://www.example.com/start.html" agent="Mozilla/4.08 [en] (Win98; I ;Nav)"/>
//! ...
//! </hits>
//! ```
//!
//! In the pull version a request that finds nothing new is answered
//! `<none/>`. `</hits>` is sent when the server shuts down, before it
//! closes the connection, so a client's document ends well-formed. A client whose
//! cursor fell behind the history gets `<missed count="N"/>` (see [`hub`]).
//!
//! **New clients start at the present**, as in the seed (its client's
//! timestamp starts at the connection time, so older records never pass
//! `self.ts <= hit[0]`): a client is sent the hits read after it
//! connected, not the last 100. The history of [`HISTORY`] hits is what
//! a push draws from; it bounds memory, and the hits a slow client may
//! lag behind before it misses some.
//!
//! # Where the hits come from
//!
//! [`follower`] reads the log in bounded slices ([`READ_BUDGET`] bytes per
//! iteration), keeps a partial last line until its newline arrives, and
//! copes with the file being missing at startup, rotated, or truncated.
//! [`lines`] splits the bytes; [`clf`] parses each line (common or
//! combined log format); a line that does not parse, or is longer than
//! [`MAX_LOG_LINE`], is skipped with a debug log (`RUST_LOG=debug`).
//!
//! The parts: [`clf`], [`tag`] and [`lines`] are sans-I/O; [`follower`]
//! touches the file; [`hub`] holds the hits and the clients; [`server`]
//! is the protocol and the factory with its two periodic jobs.

pub mod clf;
pub mod follower;
pub mod hub;
pub mod lines;
pub mod server;
pub mod tag;

use std::path::Path;
use std::time::Duration;

pub use server::{Mode, Options, WeblogClient, WeblogFactory};

/// Checks the log to follow before the server starts: a path that exists
/// must be a regular file (a directory, a device or a named pipe is
/// refused, naming the path); a missing one is fine, and awaited.
pub fn check_log(path: &Path) -> Result<(), String> {
    match follower::regular_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(format!(
            "--log {}: {e}: give the path of the web server's access log",
            path.display()
        )),
        _ => Ok(()),
    }
}

/// The seed's port.
pub const DEFAULT_PORT: u16 = 8888;

/// The seed's log file name, used when `--log` is not given.
pub const DEFAULT_LOG: &str = "access-log";

/// How often the log is read (the seed: `callLater(1, self.updateRecords)`).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How often new hits are pushed (the seed: `callLater(5, self.newHits)`).
pub const DEFAULT_PUSH_INTERVAL: Duration = Duration::from_secs(5);

/// Hits kept (the seed: `self.records[-100:]`).
pub const HISTORY: usize = 100;

/// The longest log line parsed. Apache refuses request lines over 8 KiB
/// and header fields over 8 KiB, so a combined line (request, referrer,
/// agent) stays well below this; a longer line is skipped, unbuffered.
pub const MAX_LOG_LINE: usize = 32 * 1024;

/// Bytes of log read per loop iteration at most: a large backlog (a
/// burst, a log that appeared with content) is read in slices, with I/O
/// served in between, instead of in one long blocking read.
pub const READ_BUDGET: usize = 256 * 1024;

/// Unsent bytes above which a client is skipped by a push until it reads.
pub const CLIENT_BACKLOG: usize = 256 * 1024;
