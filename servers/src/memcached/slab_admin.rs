//! `slabs reassign SRC DST`: memcached's page-mover command, with its
//! argument checks and replies (the line is parsed by the text codec,
//! `SlabsCommand`; `slabs automove` is answered in `admin`).
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
//! any class takes its next page from). With automove on, the store's
//! `rebalance` step (run with the crawler) hands free pages back to the pool.


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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memcached::store::{StoreConfig, StoreMode};

    const NOW: u32 = 1_700_000_000;

    fn run(store: &mut Store, src: i32, dst: i32) -> String {
        String::from_utf8(reassign(store, src, dst, NOW).reply().to_vec()).unwrap()
    }

    #[test]
    fn reassign_checks_like_memcached() {
        let mut s = Store::new(StoreConfig {
            max_bytes: 3 * 1024 * 1024,
            ..StoreConfig::default()
        });
        let value = vec![b'B'; 66560];
        for i in 0..40 {
            let key = format!("key{i}");
            let _ = s.store(StoreMode::Set, key.as_bytes(), 0, 0, &value, None, NOW);
        }
        assert_eq!(
            run(&mut s, 1, 1),
            "SAME src and dst class are identical\r\n"
        );
        assert_eq!(
            run(&mut s, 1, 99),
            "BADCLASS invalid src or dst class id\r\n"
        );
        assert_eq!(
            run(&mut s, 2, 1),
            "NOSPARE source class has no spare pages\r\n"
        );
        // Class 31 has three pages: one goes to class 1, its 12 oldest items evicted.
        assert_eq!(run(&mut s, 31, 1), "OK\r\n");
        assert_eq!(s.slabs().class(31).pages, 2);
        assert_eq!(s.slabs().class(1).pages, 1);
        assert_eq!(s.class_stats(31).number, 24);
        assert_eq!(s.stats().slab_reassign_evictions, 12);
        assert_eq!(run(&mut s, -1, 0), "OK\r\n");
        assert_eq!(s.slabs().class(0).pages, 1);
        assert_eq!(
            run(&mut s, -1, 0),
            "BADCLASS invalid src or dst class id\r\n"
        );
        let mut off = Store::new(StoreConfig {
            slab_reassign: false,
            ..StoreConfig::default()
        });
        assert_eq!(
            run(&mut off, 1, 2),
            "CLIENT_ERROR slab reassignment disabled\r\n"
        );
    }
}
