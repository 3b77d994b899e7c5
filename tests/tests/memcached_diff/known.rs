//! The differences the test knows about: each one deliberate (and listed in
//! docs/memcached.md with its reason) or pending another part of issue 16
//! (reason `pending: <area>`; remove the entry once that work is merged and
//! the run reports no difference for it).
//!
//! An entry claims a differing batch by a test on the batch (its request
//! tags and the two replies). An entry with a `tag` covers a request whose
//! difference is a side effect, visible only later: such a request goes in
//! a batch of its own, followed by a probe of every key, and then both
//! servers are flushed, whatever the probe shows, so that the difference
//! never leaks into later batches.

use super::reply::{same_but_the_clock, unpad_numbers};

/// A differing batch, as the KNOWN entries see it.
pub struct Diff<'a> {
    /// The tags of its requests.
    pub tags: &'a [&'static str],
    /// memcached's reply, normalised.
    pub memcached: &'a [u8],
    /// torsion-memcached's reply, normalised.
    pub torsion: &'a [u8],
}

/// One known difference.
pub struct Known {
    /// A short name, as the report prints it.
    pub name: &'static str,
    /// Why it differs: deliberate (and why), or `pending: <area>`.
    pub reason: &'static str,
    /// A request tag whose effects this entry covers (see the module comment).
    pub tag: Option<&'static str>,
    /// Whether a differing batch is this entry's.
    pub claims: fn(&Diff<'_>) -> bool,
}

/// Every known difference.
pub const KNOWN: &[Known] = &[
    Known {
        name: "a multi-get refused for a key over 250 bytes drops earlier replies",
        reason: "deliberate: memcached discards the replies it has not yet written to \
                 the socket (those of earlier requests in the same read), so what it \
                 answers depends on how the bytes arrived; torsion answers every request",
        tag: None,
        claims: |d| d.tags.contains(&"get-long-key") && lost_lines_before_an_error(d),
    },
    Known {
        name: "meta O token over 31 bytes with N, T or ma's auto-create",
        reason: "deliberate: memcached vivifies, touches or creates the item and then \
                 answers the error; torsion refuses before doing anything",
        tag: Some("meta-long-opaque"),
        claims: |d| d.tags.contains(&"meta-long-opaque"),
    },
    Known {
        name: "meta t of an item whose expiry is already past",
        reason: "deliberate: memcached prints its expiry minus its clock as an unsigned \
                 32-bit number, which depends on how long its process has run",
        tag: None,
        claims: |d| differ_only_in_lines(d, |m, t| past_ttls_hidden(m) == past_ttls_hidden(t)),
    },
    Known {
        name: "cas refused as too large deletes the item",
        reason: "pending: store (memcached deletes the item only when a set is too large)",
        tag: Some("cas-too-large"),
        claims: |d| d.tags.contains(&"cas-too-large"),
    },
    Known {
        name: "an incr/decr result shorter than the stored number is padded with spaces",
        reason: "pending: store (memcached pads only when it rewrites the item in place)",
        tag: None,
        claims: |d| unpad_numbers(d.memcached) == unpad_numbers(d.torsion),
    },
    Known {
        name: "incr/decr/ma mark the item fetched",
        reason: "pending: store (memcached leaves the fetched bit alone, so a later mg h shows h0)",
        tag: None,
        claims: |d| {
            differ_only_in_lines(d, |m, t| {
                same_but_the_clock(m.replace(" h0", " h1").as_bytes(), t.as_bytes())
            })
        },
    },
    Known {
        name: "incr/decr with a CAS on an empty value: EXISTS instead of non-numeric",
        reason: "pending: store (memcached refuses an empty or chunked value as non-numeric \
                 before it compares the CAS)",
        tag: None,
        claims: |d| {
            differ_only_in_lines(d, |m, t| {
                (m.contains("non-numeric") || m.contains("Non-numeric"))
                    && (t == "EX\r" || t == "EXISTS\r" || t.contains("status=0002"))
            })
        },
    },
];

/// Whether the replies have the same lines but where `explained(memcached
/// line, torsion line)` holds.
fn differ_only_in_lines(d: &Diff<'_>, explained: fn(&str, &str) -> bool) -> bool {
    let (m, t) = (
        String::from_utf8_lossy(d.memcached),
        String::from_utf8_lossy(d.torsion),
    );
    let (m, t): (Vec<&str>, Vec<&str>) = (m.split('\n').collect(), t.split('\n').collect());
    m.len() == t.len()
        && m.iter()
            .zip(&t)
            .all(|(a, b)| same_but_the_clock(a.as_bytes(), b.as_bytes()) || explained(a, b))
}

/// A meta reply line with every `t` above 2^31 (an expiry in the past,
/// wrapped) replaced by `t<past>`.
fn past_ttls_hidden(line: &str) -> String {
    line.split(' ')
        .map(
            |w| match w.strip_prefix('t').map(|n| n.trim_end().parse::<u64>()) {
                Some(Ok(n)) if n >= 1 << 31 => "t<past>".to_string() + &w[w.trim_end().len()..],
                _ => w.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether memcached's reply is torsion's with some whole lines left out
/// just before a `CLIENT_ERROR bad command line format`.
fn lost_lines_before_an_error(d: &Diff<'_>) -> bool {
    const ERROR: &[u8] = b"CLIENT_ERROR bad command line format\r\n";
    let (m, t) = (d.memcached, d.torsion);
    (0..=m.len()).any(|i| {
        (i == 0 || m[i - 1] == b'\n')
            && m[i..].starts_with(ERROR)
            && t.starts_with(&m[..i])
            && t.ends_with(&m[i..])
            && t.len() > m.len()
            && t[t.len() - (m.len() - i) - 1] == b'\n'
    })
}

/// Whether a request of kind `tag` goes in a batch of its own, followed by
/// a probe and a flush.
pub fn isolated(tag: &str) -> bool {
    KNOWN.iter().any(|k| k.tag == Some(tag))
}

/// The entry that claims a differing batch.
pub fn classify(diff: &Diff<'_>) -> Option<usize> {
    KNOWN.iter().position(|k| (k.claims)(diff))
}
