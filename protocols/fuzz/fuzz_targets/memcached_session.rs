//! Fuzzes torsion-memcached's conversations above the codecs: the text
//! session (classic and meta commands) and the binary session, each run
//! against a real store, the way the connection layer drives them (a
//! pending buffer, storage blocks awaited whole, refused blocks swallowed,
//! the output budget honoured).
//!
//! Input: one byte choosing read sizes, one byte choosing the item size
//! limit, then the stream (a first byte of 0x80 picks the binary session,
//! as on a real connection). The stream is fed at once and in small reads:
//! both must write the same replies and end the same way (`stats` aside,
//! whose figures count reads), and the pending bytes stay bounded by what
//! one request may hold.
#![no_main]

use torsion_servers::memcached::dialect::{Ascii, Binary, ExecCtx};
use torsion_servers::memcached::exec::ServerStats;
use torsion_servers::memcached::session::{Feed, Next, Session};
use torsion_servers::memcached::store::{Store, StoreConfig};

/// A fixed clock: both runs see the same time.
const NOW: u32 = 1_700_000_000;

/// The longest line a text request may hold (a multi-key `get`), plus the
/// largest block: what `pending` may hold at most, beside one read.
const MAX_LINE: usize = 4 * 1024 * 1024;

enum Conversation {
    Text(Session<Ascii>),
    Binary(Session<Binary>),
}

fn run(stream: &[u8], item_size_max: usize, read: usize) -> (Vec<u8>, bool) {
    let mut store = Store::new(StoreConfig {
        max_bytes: 2 * 1024 * 1024,
        item_size_max,
        evict: true,
        ..StoreConfig::default()
    });
    let mut stats = ServerStats::new(NOW - 100);
    let mut session = match stream.first() {
        Some(0x80) => Conversation::Binary(Session::new()),
        _ => Conversation::Text(Session::new()),
    };
    let (mut pending, mut out) = (Vec::new(), Vec::new());
    for chunk in stream.chunks(read.max(1)) {
        pending.extend_from_slice(chunk);
        loop {
            let mut cx = ExecCtx {
                store: &mut store,
                server: &mut stats,
                now: NOW,
                out: &mut out,
            };
            let fed: Feed = match &mut session {
                Conversation::Text(s) => s.feed(&pending, &mut cx),
                Conversation::Binary(s) => s.feed(&pending, &mut cx),
            };
            assert!(fed.consumed <= pending.len());
            pending.drain(..fed.consumed);
            match fed.next {
                Next::Close => return (out, true),
                // A yield is the peer being slow to read: it reads, and we go on.
                Next::Yield => {}
                Next::Wait { .. } => break,
            }
            assert!(fed.consumed > 0 || !pending.is_empty());
        }
        assert!(
            pending.len() <= MAX_LINE + item_size_max + 64 + read,
            "{} bytes pending",
            pending.len()
        );
    }
    (out, false)
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [read, size, stream @ ..] = data else { return };
    let item_size_max = 1024 * (1 + usize::from(*size % 64));
    let whole = run(stream, item_size_max, stream.len());
    let split = run(stream, item_size_max, usize::from(read % 16) + 1);
    // `stats` reports bytes read and counters that depend on the reads.
    let binary = stream.first() == Some(&0x80);
    let has_stats = if binary {
        stream.contains(&0x10)
    } else {
        stream.windows(4).any(|w| w == b"stat")
    };
    if !has_stats {
        assert_eq!(whole, split);
    }
});
