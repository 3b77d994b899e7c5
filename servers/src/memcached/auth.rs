//! Text-protocol authentication (memcached's `-Y AUTHFILE`).
//!
//! With `-Y`, a connection must authenticate before anything else: its
//! first accepted request is a `set` (any key, flags and exptime) whose data
//! block is `user password`, checked against the file's `user:password`
//! lines. Until then the connection speaks the [`AuthText`] dialect, whatever
//! its first byte (a binary request is read as text and refused, as
//! memcached does), and every other line, `quit` included, is answered
//! `CLIENT_ERROR unauthenticated`. On success the reply is `STORED`, nothing
//! is stored, and the connection turns into an ordinary text connection
//! ([`Effect::Upgrade`]) for the requests after it.
//!
//! The replies, checked against memcached 1.6.18:
//!
//! | what arrived | reply |
//! |---|---|
//! | a line that is not `set ... <bytes>` | `CLIENT_ERROR unauthenticated` |
//! | a block not ended by `\r\n` | `CLIENT_ERROR bad command line termination` |
//! | a block of fewer than two words | `CLIENT_ERROR bad authentication token format` |
//! | an unknown user or a wrong password | `CLIENT_ERROR authentication failure` |
//! | a known user and its password | `STORED` |
//!
//! Every block counts in `auth_cmds`, a refused one also in `auth_errors`.
//! One deliberate difference: memcached buffers a token block of any length;
//! here a block longer than the item size limit is refused at its line
//! (`CLIENT_ERROR authentication failure`) and skipped as it arrives, so an
//! unauthenticated peer can never make the server hold more than that.
//!
//! # Examples
//!
//! ```
//! use torsion_servers::memcached::auth::Credentials;
//!
//! let file = Credentials::parse(b"foo:bar\nbaaaz:quux\n").unwrap();
//! assert!(file.check(b"foo", b"bar"));
//! assert!(!file.check(b"foo", b"baz"));
//! ```

use torsion_protocols::memcache::text::auth::{credentials, AuthDecoder, AuthHead, AuthRefused};
use torsion_protocols::memcache::text::LineError;

use super::dialect::{Dialect, Effect, ExecCtx, Execute};

/// The largest authentication file read (memcached's limit too): a bigger
/// file is refused at start.
pub const MAX_AUTH_FILE_BYTES: u64 = 8 * 1024 * 1024;

const UNAUTHENTICATED: &[u8] = b"CLIENT_ERROR unauthenticated\r\n";
const BAD_TERMINATION: &[u8] = b"CLIENT_ERROR bad command line termination\r\n";
const BAD_FORMAT: &[u8] = b"CLIENT_ERROR bad authentication token format\r\n";
const FAILURE: &[u8] = b"CLIENT_ERROR authentication failure\r\n";
const STORED: &[u8] = b"STORED\r\n";

/// The `user:password` pairs of an authentication file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Where it was read from (`stats settings`' `auth_enabled_ascii`).
    pub path: String,
    entries: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Credentials {
    /// Reads the file at `path`; the error is a message for the operator.
    pub fn load(path: &str) -> Result<Credentials, String> {
        let size = std::fs::metadata(path)
            .map_err(|e| format!("Could not open authfile [{path}] for reading, error {e}"))?
            .len();
        if size > MAX_AUTH_FILE_BYTES {
            return Err(format!(
                "auth file {path} is too large (over {MAX_AUTH_FILE_BYTES} bytes)"
            ));
        }
        let bytes = std::fs::read(path)
            .map_err(|e| format!("Could not open authfile [{path}] for reading, error {e}"))?;
        let mut file = Credentials::parse(&bytes)?;
        file.path = path.to_string();
        Ok(file)
    }

    /// Parses a file's text: one `user:password` a line (a `\r` before the
    /// newline is dropped, empty lines are skipped); a non-empty line
    /// without a colon is an error.
    pub fn parse(text: &[u8]) -> Result<Credentials, String> {
        let mut entries = Vec::new();
        for (number, line) in text.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return Err(format!("auth file line {} has no ':'", number + 1));
            };
            entries.push((line[..colon].to_vec(), line[colon + 1..].to_vec()));
        }
        Ok(Credentials {
            path: String::new(),
            entries,
        })
    }

    /// Whether `user` with `password` is in the file.
    pub fn check(&self, user: &[u8], password: &[u8]) -> bool {
        self.entries.iter().any(|(u, p)| u == user && p == password)
    }
}

/// `auth_cmds` and `auth_errors`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthCounts {
    /// Token blocks checked.
    pub cmds: u64,
    /// Token blocks refused.
    pub errors: u64,
}

/// The dialect of a connection that has not authenticated yet.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthText;

impl Dialect for AuthText {
    type Parser = AuthDecoder;
    type Executor = AuthExec;
}

/// Checks token blocks and refuses everything else.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthExec;

impl AuthExec {
    fn refused(cx: &mut ExecCtx<'_>, reply: &[u8]) {
        cx.server.auth_counts.cmds += 1;
        cx.server.auth_counts.errors += 1;
        cx.out.extend_from_slice(reply);
    }
}

impl Execute for AuthExec {
    type Request<'a> = AuthHead;
    type Error = LineError<AuthRefused>;

    fn execute(&mut self, cx: &mut ExecCtx<'_>, _head: &AuthHead, value: &[u8]) -> Effect {
        let Some((user, password)) = credentials(value) else {
            cx.out.extend_from_slice(BAD_FORMAT);
            return Effect::Continue;
        };
        let accepted = cx
            .server
            .options
            .auth
            .as_ref()
            .is_some_and(|file| file.check(user, password));
        if !accepted {
            Self::refused(cx, FAILURE);
            return Effect::Continue;
        }
        cx.server.auth_counts.cmds += 1;
        cx.out.extend_from_slice(STORED);
        Effect::Upgrade
    }

    fn refuse(&mut self, cx: &mut ExecCtx<'_>, error: &LineError<AuthRefused>) -> Effect {
        match error.error {
            AuthRefused::Unauthenticated => {
                cx.out.extend_from_slice(UNAUTHENTICATED);
                Effect::Continue
            }
            AuthRefused::TooLong => Effect::Close,
        }
    }

    fn too_large(&mut self, cx: &mut ExecCtx<'_>, _head: &AuthHead) {
        Self::refused(cx, FAILURE);
    }

    fn bad_chunk(&mut self, cx: &mut ExecCtx<'_>, _head: &AuthHead) {
        cx.out.extend_from_slice(BAD_TERMINATION);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memcached::session::Next;
    use crate::memcached::testkit;

    type Conversation = testkit::Conversation<AuthText>;

    fn gate() -> Conversation {
        let mut c = Conversation::new();
        c.server.options.auth = Some(Credentials::parse(b"foo:bar\nbaaaz:quux\n").unwrap());
        c
    }

    #[test]
    fn memcacheds_replies_before_authenticating() {
        let mut c = gate();
        c.expect(b"set foo 0 0 2\r\nhi\r\n", BAD_FORMAT);
        c.expect(
            b"get foo\r\nversion\r\nquit\r\nmg foo v\r\n",
            &UNAUTHENTICATED.repeat(4),
        );
        c.expect(b"set foo 0 0 7\r\nfoo bab\r\n", FAILURE);
        c.expect(b"set foo 0 0 6\r\nfoo ba\r\n", FAILURE);
        c.expect(b"set foo 0 0 7\r\nfoo\tbar\r\n", BAD_FORMAT);
        c.expect(b"set foo 0 0 7\r\nfoo bar\n\n", BAD_TERMINATION);
        c.expect(b"add foo 0 0 7\r\n", UNAUTHENTICATED);
        assert!(!c.closed);
        assert_eq!((c.server.auth_counts.cmds, c.server.auth_counts.errors), (2, 2));
    }

    #[test]
    fn a_good_token_upgrades_and_leaves_the_rest() {
        let mut c = gate();
        let mut out = Vec::new();
        let input = b"set x 0 0 12 noreply\r\n baaaz  quux\r\nget x\r\n";
        let mut cx = ExecCtx {
            store: &mut c.store,
            server: &mut c.server,
            now: c.now,
            out: &mut out,
        };
        let fed = c.session.feed(input, &mut cx);
        assert_eq!(fed.next, Next::Upgrade);
        assert_eq!(&input[fed.consumed..], b"get x\r\n");
        assert_eq!(out, STORED);
        assert_eq!(c.server.auth_counts, AuthCounts { cmds: 1, errors: 0 });
        assert_eq!(c.store.curr_items(), 0, "nothing is stored");
    }

    #[test]
    fn a_token_over_the_item_size_limit_is_skipped_unbuffered() {
        let mut c = Conversation::with("item_size_max=1024");
        c.server.options.auth = gate().server.options.auth;
        c.expect(b"set k 0 0 5000\r\n", FAILURE);
        assert!(c.session.is_swallowing());
        c.expect(&[b'z'; 5002], b"");
        c.expect(b"get k\r\n", UNAUTHENTICATED);
    }

    #[test]
    fn a_line_without_newline_closes() {
        let mut c = gate();
        c.expect(&[b'x'; 3000], b"");
        assert!(c.closed);
    }

    #[test]
    fn file_format() {
        let file = Credentials::parse(b"a:b\r\n\nc:d:e\n").unwrap();
        assert!(file.check(b"a", b"b"));
        assert!(file.check(b"c", b"d:e"));
        assert!(!file.check(b"a", b""));
        assert!(Credentials::parse(b"nocolon\n").is_err());
    }
}
