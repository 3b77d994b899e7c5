//! A randomized differential test: torsion-memcached against Debian's
//! memcached 1.6.18.
//!
//! Random requests over a small key space (so that they hit, miss, collide
//! on CAS, append to and count on each other) go in batches, over a text, a
//! meta and a binary connection to each server, the same bytes to both
//! (CAS ids a request quotes are each server's own, by order of
//! appearance). Each batch ends with a sentinel (`mn` or a binary NOOP), and
//! each server's reply up to the sentinel's answer is normalised (see
//! [`reply`]) and compared byte for byte.
//!
//! The run is seeded: a failure prints the seed, and `TORSION_SEED=N`
//! replays it. It is bounded: [`OPERATIONS`] requests, and it stops early
//! (with a note, not a failure) if a loaded machine makes it pass
//! [`WALL_CLOCK`]. `TORSION_DIFF_KEEP_GOING=1` reports every difference
//! instead of stopping at the first.

mod gen_binary;
mod gen_text;
mod known;
mod reply;
mod request;
mod vocabulary;
mod wire;

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use torsion_tests::rng::seed;
use torsion_tests::{Reference, Rng, Server};

use known::{Diff, KNOWN};
use request::Request;
use vocabulary::Gen;
use wire::{connect, exchange, figures, probe, resync, Dialect, Ending, Peer, DIALECTS};

/// Requests per run.
const OPERATIONS: usize = 3000;
/// Requests per batch, at most.
const MAX_BATCH: usize = 8;
/// A run stops early after this long (it should take a fraction of it).
const WALL_CLOCK: Duration = Duration::from_secs(300);
// Nothing the test stores may expire while it runs.
const _: () = assert!(WALL_CLOCK.as_secs() * 2 < vocabulary::MIN_RELATIVE_TTL);
/// The longest wait for one batch's sentinel: past it, the batch has hung.
const REPLY_WAIT: Duration = Duration::from_secs(30);
/// The seed when `TORSION_SEED` is not set.
const DEFAULT_SEED: u64 = 1616;
/// Set to report every difference rather than stop at the first.
const KEEP_GOING_VAR: &str = "TORSION_DIFF_KEEP_GOING";
/// Set to print every batch (sent bytes and memcached's reply).
const TRACE_VAR: &str = "TORSION_DIFF_TRACE";
/// Set to compare every key after every batch (slow; finds where the
/// stores first part, when a difference shows only later).
const PROBE_VAR: &str = "TORSION_DIFF_PROBE_EVERY";
/// A folder to write each unexpected batch's bytes (as sent to memcached) to.
const DUMP_VAR: &str = "TORSION_DIFF_DUMP";
/// How much of a long request or reply a report shows.
const SHOW: usize = 600;

/// What one run found.
#[derive(Default)]
struct Outcome {
    operations: usize,
    batches: usize,
    bytes_sent: usize,
    /// Per KNOWN entry: batches it covered, and how many of those differed.
    known: Vec<(usize, usize)>,
    unexpected: Vec<String>,
    stopped_early: bool,
}

fn show(bytes: &[u8]) -> String {
    if bytes.len() <= SHOW {
        return bytes.escape_ascii().to_string();
    }
    format!(
        "{} ...({} bytes)... {}",
        bytes[..SHOW / 2].escape_ascii(),
        bytes.len() - SHOW,
        bytes[bytes.len() - SHOW / 2..].escape_ascii()
    )
}

/// The two replies from their first difference on, for a report.
fn show_difference(a: &[u8], b: &[u8]) -> (String, String) {
    let first = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let from = first.saturating_sub(120);
    let cut = |s: &[u8]| {
        let end = (from + SHOW).min(s.len());
        format!("[{from}..] {}", s[from..end].escape_ascii())
    };
    (cut(a), cut(b))
}

fn run(seed: u64, memcached: SocketAddr, torsion: SocketAddr) -> Outcome {
    let keep_going = std::env::var_os(KEEP_GOING_VAR).is_some();
    let trace = std::env::var_os(TRACE_VAR).is_some();
    let probe_every = std::env::var_os(PROBE_VAR).is_some();
    let started = Instant::now();
    let mut g = Gen {
        rng: Rng::new(seed),
        cas_seen: 0,
    };
    let mut peers = [Peer::new(memcached), Peer::new(torsion)];
    let mut out = Outcome {
        known: vec![(0, 0); KNOWN.len()],
        ..Outcome::default()
    };
    let mut pending: Option<(Dialect, Request)> = None;
    while out.operations < OPERATIONS {
        if started.elapsed() > WALL_CLOCK {
            out.stopped_early = true;
            break;
        }
        // A request held back from the last batch goes first, on its own
        // dialect's connection.
        let d = match &pending {
            Some((d, _)) => *d,
            None => g.rng.pick(&DIALECTS),
        };
        let d_index = DIALECTS.iter().position(|&x| x == d).unwrap();
        // A batch: a few requests of one dialect; a request with a KNOWN
        // tag goes alone.
        let mut batch: Vec<Request> = Vec::new();
        let size = 1 + g.rng.below(MAX_BATCH);
        while batch.len() < size && out.operations + batch.len() < OPERATIONS {
            let r = match pending.take() {
                Some((_, r)) => r,
                None => match d {
                    Dialect::Text => gen_text::text(&mut g),
                    Dialect::Meta => gen_text::meta(&mut g),
                    Dialect::Binary => gen_binary::binary(&mut g),
                },
            };
            if known::isolated(r.tag) && !batch.is_empty() {
                pending = Some((d, r));
                break;
            }
            let alone = known::isolated(r.tag);
            batch.push(r);
            if alone {
                break;
            }
        }
        let (tags, mn, described) = describe(&batch);
        let mut replies = Vec::new();
        let mut bytes_for = Vec::new();
        for peer in &peers {
            let mut bytes = Vec::new();
            for r in &batch {
                r.render(&peer.ids, &mut bytes);
            }
            match d {
                Dialect::Binary => bytes.extend(gen_binary::sentinel()),
                _ => bytes.extend_from_slice(b"mn\r\n"),
            }
            bytes_for.push(bytes);
        }
        thread::scope(|s| {
            let handles: Vec<_> = peers
                .iter()
                .zip(&bytes_for)
                .map(|(peer, bytes)| s.spawn(move || exchange(&peer.conns[d_index], bytes, d, mn + 1)))
                .collect();
            for h in handles {
                replies.push(h.join().expect("exchange"));
            }
        });
        out.operations += batch.len();
        out.batches += 1;
        out.bytes_sent += bytes_for[0].len();
        let mut normal = Vec::new();
        for (peer, (reply, ending)) in peers.iter_mut().zip(&replies) {
            let mut n = match d {
                Dialect::Binary => reply::normalise_binary(reply, &mut peer.ids),
                _ => reply::normalise_text(reply, &mut peer.ids),
            };
            match ending {
                Ending::Sentinel => {}
                // Whether a close is a FIN or a reset depends only on
                // whether the server's kernel still held unread bytes.
                Ending::Closed | Ending::Reset => n.extend_from_slice(b"<closed>"),
                Ending::TimedOut => n.extend_from_slice(b"<no sentinel reply in time>"),
            }
            normal.push(n);
        }
        g.cas_seen = peers[0].ids.len();
        if replies.iter().any(|(_, e)| *e == Ending::TimedOut) {
            // Both servers waiting for more bytes is a bug of the test:
            // a request must never leave a server waiting.
            out.unexpected.push(format!(
                "seed {seed}, batch {} ({d:?}, tags {tags:?}): no sentinel reply within {REPLY_WAIT:?}\n  sent:      {}",
                out.batches,
                show(&described)
            ));
        }
        if trace {
            eprintln!(
                "batch {} ({d:?}) > {}\n  < {}",
                out.batches,
                show(&described),
                show(&normal[0])
            );
        }
        let same = match d {
            Dialect::Binary => normal[0] == normal[1],
            _ => reply::same_but_the_clock(&normal[0], &normal[1]),
        } || cut_by_reset(&replies, &normal);
        let diff = Diff {
            tags: &tags,
            memcached: &normal[0],
            torsion: &normal[1],
        };
        let claimed = if same { None } else { known::classify(&diff) };
        if !same {
            match claimed {
                Some(k) => out.known[k].1 += 1,
                None => {
                    if let Some(dir) = std::env::var_os(DUMP_VAR) {
                        let path = std::path::Path::new(&dir).join(format!("batch-{}", out.batches));
                        std::fs::write(path, &bytes_for[0]).expect("dump a batch");
                    }
                    let (a, b) = show_difference(&normal[0], &normal[1]);
                    out.unexpected.push(format!(
                        "seed {seed}, batch {} ({d:?}, tags {tags:?}):\n  sent:      {}\n  memcached: {a}\n  torsion:   {b}",
                        out.batches,
                        show(&described)
                    ));
                    if !keep_going {
                        break;
                    }
                }
            }
        }
        // A request whose known difference is a side effect: look at
        // every key, then start again from empty stores.
        if let Some(k) = KNOWN
            .iter()
            .position(|k| k.tag.is_some_and(|t| tags.contains(&t)))
        {
            out.known[k].0 += 1;
            // (A batch that differed has already parted the CAS numbering:
            // only a batch that did not is worth a probe.)
            if let Some((a, b)) = if same { probe(&mut peers) } else { None } {
                let diff = Diff {
                    tags: &tags,
                    memcached: &a,
                    torsion: &b,
                };
                // A request alone in its batch owns whatever the probe shows.
                let owner = if KNOWN[k].isolate {
                    Some(k)
                } else {
                    known::classify(&diff)
                };
                match owner {
                    Some(k) => out.known[k].1 += 1,
                    None => out.unexpected.push(format!(
                        "seed {seed}, batch {} ({d:?}): the stores differ after\n  sent:      {}\n  probe, memcached: {}\n  probe, torsion:   {}",
                        out.batches,
                        show(&described),
                        show(&a),
                        show(&b)
                    )),
                }
            }
            resync(&mut peers, &mut g);
        } else if !same {
            resync(&mut peers, &mut g);
        } else if probe_every && same {
            if let Some((a, b)) = probe(&mut peers) {
                let diff = Diff {
                    tags: &tags,
                    memcached: &a,
                    torsion: &b,
                };
                match known::classify(&diff) {
                    Some(k) => out.known[k].1 += 1,
                    None => {
                        out.unexpected.push(format!(
                            "seed {seed}, batch {} ({d:?}): the stores differ after\n  sent:      {}\n  memcached: {}\n  probe, memcached: {}\n  probe, torsion:   {}",
                            out.batches,
                            show(&described),
                            show(&normal[0]),
                            show(&a),
                            show(&b)
                        ));
                        if !keep_going {
                            break;
                        }
                    }
                }
                resync(&mut peers, &mut g);
            }
        }
        if replies.iter().any(|(_, e)| *e != Ending::Sentinel) {
            for peer in &mut peers {
                peer.conns[d_index] = connect(peer.addr);
            }
        }
    }
    out
}

/// Whether the replies differ only because a reset cut one short: a
/// reset discards what the kernel had received and the client not yet
/// read, so a server that closes while the client still sends may lose
/// replies it wrote. Both servers must have closed, and the cut reply
/// must be the start of the other.
fn cut_by_reset(replies: &[(Vec<u8>, Ending)], normal: &[Vec<u8>]) -> bool {
    let closed = |e: Ending| matches!(e, Ending::Closed | Ending::Reset);
    if !replies.iter().all(|(_, e)| closed(*e)) {
        return false;
    }
    // What came whole: a binary packet cut short is described as "not a
    // response", from where it starts.
    let body = |n: &[u8]| {
        let n = n.strip_suffix(b"<closed>".as_slice()).unwrap_or(n);
        let cut = n
            .windows(16)
            .position(|w| w == b"not a response: ")
            .unwrap_or(n.len());
        n[..cut].to_vec()
    };
    let (a, b) = (body(&normal[0]), body(&normal[1]));
    (replies[0].1 == Ending::Reset && b.starts_with(&a))
        || (replies[1].1 == Ending::Reset && a.starts_with(&b))
}

/// A batch's tags, how many `mn` it holds, and its bytes for a report.
fn describe(batch: &[Request]) -> (Vec<&'static str>, usize, Vec<u8>) {
    let tags = batch.iter().map(|r| r.tag).collect();
    let mn = batch.iter().map(|r| r.mn).sum();
    let bytes = batch.iter().flat_map(|r| r.describe()).collect();
    (tags, mn, bytes)
}

/// torsion-memcached answers random text, meta and binary traffic byte for
/// byte as memcached 1.6.18 does, but for the KNOWN differences.
#[test]
fn random_traffic_gets_the_same_replies_as_memcached() {
    let seed = seed(DEFAULT_SEED);
    let reference = Reference::memcached(&[]);
    let torsion = Server::start("torsion-memcached", &["-p", "0", "-U", "0"]);
    let started = Instant::now();
    let out = run(seed, reference.addr().parse().unwrap(), torsion.socket_addr());
    eprintln!(
        "seed {seed}: {} requests in {} batches, {} bytes sent to each server, {:.1} s{}",
        out.operations,
        out.batches,
        out.bytes_sent,
        started.elapsed().as_secs_f64(),
        if out.stopped_early {
            " (stopped early: the machine is slow)"
        } else {
            ""
        }
    );
    for (name, addr) in [
        ("memcached", reference.addr()),
        ("torsion-memcached", torsion.addr().to_string()),
    ] {
        eprintln!(
            "{name}: {}",
            figures(&addr, &["evictions", "curr_items", "bytes", "total_items"])
        );
    }
    for (k, (covered, differed)) in KNOWN.iter().zip(&out.known) {
        eprintln!(
            "KNOWN {:?} ({}): {covered} tagged batches, {differed} differences claimed",
            k.name, k.reason
        );
    }
    assert!(
        out.unexpected.is_empty(),
        "{} unexpected difference(s) (replay with TORSION_SEED={seed}):\n{}",
        out.unexpected.len(),
        out.unexpected.join("\n")
    );
}
