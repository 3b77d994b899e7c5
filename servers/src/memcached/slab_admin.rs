//! `slabs reassign SRC DST` and `slabs automove N|ratio R`: memcached's
//! page-mover commands, with its argument checks and replies.
//!
//! ```text
//! slabs reassign <src> <dst>\r\n   OK | BUSY ... | BADCLASS ... | NOSPARE ... | SAME ...
//! slabs automove <0|1|2>\r\n       OK | ERROR | CLIENT_ERROR bad command line format
//! slabs automove ratio <r>\r\n     OK | ERROR
//! ```
//!
//! A reassignment is done at once (Torsion has one thread): the source
//! class's oldest items are evicted until one of its pages is free, and the
//! page goes to the destination class (or, for class 0, to the global pool
//! any class takes its next page from). `automove` is recorded and reported;
//! Torsion never moves pages on its own.

use torsion_protocols::memcache::number::{safe_strtol, safe_strtoul};
use torsion_protocols::memcache::text::Words;

use super::store::Store;

/// The automove settings `slabs automove` changes (memcached's
/// `slab_automove`, `slab_automove_ratio`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Automove {
    /// 0: off, 1: on (memcached's default), 2: move on every eviction.
    pub level: u32,
    /// memcached's `slab_automove_ratio` (default 0.8).
    pub ratio: f64,
}

impl Default for Automove {
    fn default() -> Self {
        Automove { level: 1, ratio: 0.8 }
    }
}

/// The answer to `slabs reassign`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reassign {
    /// The page moved.
    Ok,
    /// A class id outside 0..=largest (or no class to pick for `-1`).
    BadClass,
    /// The source has fewer than two pages.
    NoSpare,
    /// Source and destination are the same.
    Same,
    /// Pages cannot move (`-o no_modern`, `slab_reassign` off).
    Disabled,
}

impl Reassign {
    /// memcached's reply line.
    pub fn reply(self) -> &'static [u8] {
        match self {
            Reassign::Ok => b"OK\r\n",
            Reassign::BadClass => b"BADCLASS invalid src or dst class id\r\n",
            Reassign::NoSpare => b"NOSPARE source class has no spare pages\r\n",
            Reassign::Same => b"SAME src and dst class are identical\r\n",
            Reassign::Disabled => b"CLIENT_ERROR slab reassignment disabled\r\n",
        }
    }
}

/// Checks and performs `slabs reassign src dst` (`src` -1: any class with a
/// spare page), as memcached's `do_slabs_reassign`.
pub fn reassign(store: &mut Store, src: i32, dst: i32, now: u32) -> Reassign {
    if !store.config().slab_reassign {
        return Reassign::Disabled;
    }
    if src == dst {
        return Reassign::Same;
    }
    let largest = i32::from(store.slabs().table().largest());
    let src = if src == -1 {
        (1..=largest)
            .find(|&c| c != dst && store.slabs().class(c as u8).pages > 1)
            .unwrap_or(-1)
    } else {
        src
    };
    if !(0..=largest).contains(&src) || !(0..=largest).contains(&dst) {
        return Reassign::BadClass;
    }
    if store.slabs().class(src as u8).pages < 2 {
        return Reassign::NoSpare;
    }
    if store.reassign_page(src as u8, dst as u8, now) {
        Reassign::Ok
    } else {
        Reassign::NoSpare
    }
}

/// Executes `slabs <args>` and appends the reply (none under a trailing
/// `noreply` for `automove`).
pub fn slabs(args: Words<'_>, store: &mut Store, now: u32, out: &mut Vec<u8>) {
    let mut automove = store.automove();
    slabs_with(args, store, &mut automove, now, out);
    store.set_automove(automove);
}

fn slabs_with(args: Words<'_>, store: &mut Store, automove: &mut Automove, now: u32, out: &mut Vec<u8>) {
    let words: Vec<&[u8]> = args.iter().collect();
    match words.as_slice() {
        [b"reassign", src, dst] => {
            let answer = if !store.config().slab_reassign {
                Reassign::Disabled
            } else {
                match (safe_strtol(src), safe_strtol(dst)) {
                    (Some(src), Some(dst)) => reassign(store, src, dst, now),
                    _ => {
                        out.extend_from_slice(b"CLIENT_ERROR bad command line format\r\n");
                        return;
                    }
                }
            };
            out.extend_from_slice(answer.reply());
        }
        [b"automove", rest @ ..] if !rest.is_empty() => {
            let noreply = rest.last() == Some(&&b"noreply"[..]);
            let reply: &[u8] = match rest {
                [b"ratio", ratio, ..] => match std::str::from_utf8(ratio)
                    .ok()
                    .and_then(|r| r.parse::<f64>().ok())
                {
                    Some(r) => {
                        automove.ratio = r;
                        b"OK\r\n"
                    }
                    None => b"ERROR\r\n",
                },
                [b"ratio"] => b"ERROR\r\n",
                [level, ..] => match safe_strtoul(level) {
                    Some(level @ 0..=2) => {
                        automove.level = level;
                        b"OK\r\n"
                    }
                    Some(_) => b"ERROR\r\n",
                    None => b"CLIENT_ERROR bad command line format\r\n",
                },
                [] => b"ERROR\r\n",
            };
            if !noreply {
                out.extend_from_slice(reply);
            }
        }
        _ => out.extend_from_slice(b"ERROR\r\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memcached::store::{StoreConfig, StoreMode};

    const NOW: u32 = 1_700_000_000;

    fn run(store: &mut Store, automove: &mut Automove, line: &str) -> String {
        let mut out = Vec::new();
        slabs_with(Words::new(line.as_bytes()), store, automove, NOW, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn reassign_checks_like_memcached() {
        let mut s = Store::new(StoreConfig {
            max_bytes: 3 * 1024 * 1024,
            ..StoreConfig::default()
        });
        let mut a = Automove::default();
        let value = vec![b'B'; 66560];
        for i in 0..40 {
            let key = format!("key{i}");
            let _ = s.store(StoreMode::Set, key.as_bytes(), 0, 0, &value, None, NOW);
        }
        assert_eq!(
            run(&mut s, &mut a, "reassign 1 1"),
            "SAME src and dst class are identical\r\n"
        );
        assert_eq!(
            run(&mut s, &mut a, "reassign 1 99"),
            "BADCLASS invalid src or dst class id\r\n"
        );
        assert_eq!(
            run(&mut s, &mut a, "reassign 2 1"),
            "NOSPARE source class has no spare pages\r\n"
        );
        assert_eq!(
            run(&mut s, &mut a, "reassign x 1"),
            "CLIENT_ERROR bad command line format\r\n"
        );
        assert_eq!(run(&mut s, &mut a, "reassign 1"), "ERROR\r\n");
        // Class 31 has three pages: one goes to class 1, its 12 oldest items evicted.
        assert_eq!(run(&mut s, &mut a, "reassign 31 1"), "OK\r\n");
        assert_eq!(s.slabs().class(31).pages, 2);
        assert_eq!(s.slabs().class(1).pages, 1);
        assert_eq!(s.class_stats(31).number, 24);
        assert_eq!(s.stats().slab_reassign_evictions, 12);
        assert_eq!(run(&mut s, &mut a, "reassign -1 0"), "OK\r\n");
        assert_eq!(s.slabs().class(0).pages, 1);
        assert_eq!(
            run(&mut s, &mut a, "reassign -1 0"),
            "BADCLASS invalid src or dst class id\r\n"
        );
        let mut off = Store::new(StoreConfig {
            slab_reassign: false,
            ..StoreConfig::default()
        });
        assert_eq!(
            run(&mut off, &mut a, "reassign 1 2"),
            "CLIENT_ERROR slab reassignment disabled\r\n"
        );
    }

    #[test]
    fn automove_arguments() {
        let mut s = Store::new(StoreConfig::default());
        let mut a = Automove::default();
        assert_eq!(run(&mut s, &mut a, "automove 0"), "OK\r\n");
        assert_eq!(a.level, 0);
        assert_eq!(run(&mut s, &mut a, "automove 2 noreply"), "");
        assert_eq!(a.level, 2);
        assert_eq!(run(&mut s, &mut a, "automove 3"), "ERROR\r\n");
        assert_eq!(
            run(&mut s, &mut a, "automove x"),
            "CLIENT_ERROR bad command line format\r\n"
        );
        assert_eq!(run(&mut s, &mut a, "automove ratio 0.5"), "OK\r\n");
        assert_eq!(a.ratio, 0.5);
        assert_eq!(run(&mut s, &mut a, "automove ratio"), "ERROR\r\n");
        assert_eq!(run(&mut s, &mut a, "automove"), "ERROR\r\n");
        assert_eq!(run(&mut s, &mut a, "bogus"), "ERROR\r\n");
        assert_eq!(run(&mut s, &mut a, ""), "ERROR\r\n");
    }
}
