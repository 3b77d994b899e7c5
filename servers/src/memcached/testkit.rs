//! Test support: a sans-I/O conversation with a session, in any dialect,
//! and the runner of the text protocol's transcripts (`transcripts/*.txt`).

use super::dialect::{Ascii, Dialect, ExecCtx};
use super::exec::ServerStats;
use super::session::{Next, Session};
use super::store::{Store, StoreConfig};

/// The unix time the tests run at.
pub(crate) const NOW: u32 = 1_700_000_000;

/// A client talking to one session, sans-I/O: it buffers what it sends the
/// way a connection would and returns the replies. The server started 100 s
/// before [`NOW`].
pub(crate) struct Conversation<D: Dialect> {
    pub(crate) store: Store,
    pub(crate) server: ServerStats,
    pub(crate) session: Session<D>,
    buffer: Vec<u8>,
    pub(crate) now: u32,
    pub(crate) closed: bool,
}

impl<D: Dialect> Conversation<D> {
    pub(crate) fn new() -> Self {
        Self::with("")
    }

    /// A conversation with a store of these settings, written as in a
    /// transcript: `item_size_max=1024 max_bytes=200 evict=no`.
    pub(crate) fn with(settings: &str) -> Self {
        Conversation {
            store: Store::new(store_config(settings)),
            server: ServerStats::new(NOW - 100),
            session: Session::new(),
            buffer: Vec::new(),
            now: NOW,
            closed: false,
        }
    }

    /// Sends `bytes` and returns every reply they produced (a peer that
    /// reads everything: the session is fed again after a yield).
    pub(crate) fn send(&mut self, bytes: &[u8]) -> Vec<u8> {
        assert!(!self.closed, "connection closed");
        self.buffer.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            let mut cx = ExecCtx {
                store: &mut self.store,
                server: &mut self.server,
                now: self.now,
                out: &mut out,
            };
            let fed = self.session.feed(&self.buffer, &mut cx);
            // As the connection does once the batch's replies are written.
            self.store.release();
            self.buffer.drain(..fed.consumed);
            match fed.next {
                Next::Close => self.closed = true,
                Next::Yield => continue,
                Next::Wait { .. } | Next::Upgrade => {}
            }
            return out;
        }
    }

    /// Sends `stream` in reads of the sizes `reads` gives (then the rest at
    /// once), until the connection closes; returns every reply and whether
    /// it closed. The store has these `settings` (see [`Conversation::with`]).
    pub(crate) fn in_reads(stream: &[u8], reads: &[usize], settings: &str) -> (Vec<u8>, bool) {
        let mut c = Self::with(settings);
        let mut replies = Vec::new();
        let mut fed = 0;
        let mut sizes = reads.iter().copied().chain(std::iter::repeat(usize::MAX));
        while fed < stream.len() && !c.closed {
            let n = sizes.next().unwrap_or(1).clamp(1, stream.len() - fed);
            replies.extend(c.send(&stream[fed..fed + n]));
            fed += n;
        }
        (replies, c.closed)
    }

    /// What was sent but not consumed yet.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buffer
    }

    /// Sends and asserts the exact reply.
    pub(crate) fn expect(&mut self, request: &[u8], reply: &[u8]) {
        let got = self.send(request);
        assert_eq!(
            got.escape_ascii().to_string(),
            reply.escape_ascii().to_string(),
            "request {}",
            request.escape_ascii()
        );
    }
}

impl Conversation<Ascii> {
    /// The value of one `stats` field, as text.
    pub(crate) fn stat(&mut self, name: &str) -> String {
        self.stat_in(b"stats\r\n", name)
    }

    /// The value of one `stats settings` field, as text.
    pub(crate) fn setting(&mut self, name: &str) -> String {
        self.stat_in(b"stats settings\r\n", name)
    }

    /// The value of field `name` in the reply to the stats `request`.
    fn stat_in(&mut self, request: &[u8], name: &str) -> String {
        let out = String::from_utf8(self.send(request)).unwrap();
        let prefix = format!("STAT {name} ");
        out.lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
            .unwrap_or_else(|| panic!("no stat {name}"))
    }
}

/// Runs every conversation of a transcript (the format is described at the
/// top of `transcripts/text.txt`), panicking at the first reply that
/// differs, with the conversation and the line.
pub(crate) fn transcript(script: &str) {
    let mut title = "";
    let mut c = Conversation::<Ascii>::new();
    let mut lines = script.lines().enumerate().peekable();
    while let Some((number, line)) = lines.next() {
        let at = || format!("{title:?}, line {}", number + 1);
        let (mark, rest) = line.split_at(line.find(' ').unwrap_or(line.len()));
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        match mark {
            "" | "#" => {}
            "==" => {
                let (name, settings) = rest.split_once(" | ").unwrap_or((rest, ""));
                title = name;
                c = Conversation::with(settings);
            }
            ">" => {
                let got = c.send(&unescape(rest));
                let expected = match lines.next() {
                    Some((_, "<")) => Vec::new(),
                    Some((_, reply)) if reply.starts_with("< ") => unescape(&reply[2..]),
                    _ => panic!("{}: a request without its reply", at()),
                };
                assert_eq!(
                    got.escape_ascii().to_string(),
                    expected.escape_ascii().to_string(),
                    "{}: {rest}",
                    at()
                );
            }
            "+" => {
                c.now += rest
                    .parse::<u32>()
                    .unwrap_or_else(|_| panic!("{}: seconds", at()))
            }
            "=" => {
                let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
                assert_eq!(c.stat(name), value, "{}: stat {name}", at());
            }
            _ => panic!("{}: what is {line:?}?", at()),
        }
    }
}

/// `item_size_max=1024 max_bytes=200 evict=no pages=2`: a store's settings.
fn store_config(settings: &str) -> StoreConfig {
    let mut config = StoreConfig::default();
    for setting in settings.split_whitespace() {
        match setting.split_once('=') {
            Some(("item_size_max", n)) => config.item_size_max = n.parse().expect("a size"),
            Some(("max_bytes", n)) => config.max_bytes = n.parse().expect("a size"),
            Some(("evict", yes)) => config.evict = yes == "yes",
            // One item per 1 MiB page (a single 1 MiB size class), N pages.
            Some(("pages", n)) => {
                let mb = 1024 * 1024;
                config.max_bytes = n.parse::<usize>().expect("a count") * mb;
                config.slab_chunk_max = mb;
                config.chunk_size = mb - super::classes::ITEM_HEADER;
            }
            _ => panic!("what is the setting {setting:?}?"),
        }
    }
    config
}

/// The bytes a transcript line stands for: `\r`, `\n`, `\\` and `\xNN`
/// are escapes, everything else is itself.
fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hex: Vec<u8> = bytes.by_ref().take(2).collect();
                let hex = std::str::from_utf8(&hex).expect("two hex digits");
                out.push(u8::from_str_radix(hex, 16).expect("two hex digits"));
            }
            other => panic!("unknown escape \\{:?}", other.map(char::from)),
        }
    }
    out
}
