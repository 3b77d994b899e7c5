//! `stats detail`: per key-prefix counters of gets, hits, sets and deletes.
//!
//! A key's prefix is what comes before the first delimiter (`:` unless the
//! server was started with `-D`); a key without the delimiter has no prefix
//! and is not counted. Counting is off until `stats detail on`; `stats
//! detail dump` prints one line per prefix, and `stats reset` forgets them.
//!
//! ```text
//! stats detail on|off\r\n     OK
//! stats detail dump\r\n       PREFIX <prefix> get <n> hit <n> set <n> del <n>\r\n ... END\r\n
//! ```
//!
//! The table is bounded: past [`MAX_PREFIXES`] distinct prefixes, new ones
//! are not counted (memcached's table has no bound; a client choosing random
//! prefixes could grow it without end).
//!
//! # Examples
//!
//! ```
//! use torsion_servers::memcached::detail::PrefixStats;
//!
//! let mut detail = PrefixStats::new(b':');
//! detail.set_enabled(true);
//! detail.record_set(b"user:1");
//! detail.record_get(b"user:2", false);
//! detail.record_get(b"plain", true);
//! let mut out = Vec::new();
//! detail.dump(&mut out);
//! assert_eq!(out, b"PREFIX user get 1 hit 0 set 1 del 0\r\nEND\r\n");
//! ```

use std::collections::HashMap;
use std::io::Write;

/// The most prefixes counted at once.
pub const MAX_PREFIXES: usize = 4096;

/// One prefix's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    gets: u64,
    hits: u64,
    sets: u64,
    deletes: u64,
}

/// The per-prefix counters (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixStats {
    enabled: bool,
    delimiter: u8,
    /// Index into `rows` by prefix.
    index: HashMap<Vec<u8>, usize>,
    /// The prefixes in the order they were first seen.
    rows: Vec<(Vec<u8>, Counts)>,
}

impl PrefixStats {
    /// Counters for prefixes ending at `delimiter`; off until enabled.
    pub fn new(delimiter: u8) -> Self {
        PrefixStats {
            enabled: false,
            delimiter,
            index: HashMap::new(),
            rows: Vec::new(),
        }
    }

    /// Whether counting is on (`stats detail on`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// `stats detail on|off`.
    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
    }

    /// The delimiter (`-D`).
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Counts a read of `key`, a hit or not.
    pub fn record_get(&mut self, key: &[u8], hit: bool) {
        if let Some(c) = self.counts(key) {
            c.gets += 1;
            c.hits += u64::from(hit);
        }
    }

    /// Counts a store of `key`.
    pub fn record_set(&mut self, key: &[u8]) {
        if let Some(c) = self.counts(key) {
            c.sets += 1;
        }
    }

    /// Counts a delete of `key`.
    pub fn record_delete(&mut self, key: &[u8]) {
        if let Some(c) = self.counts(key) {
            c.deletes += 1;
        }
    }

    /// Forgets every prefix (`stats reset`).
    pub fn clear(&mut self) {
        self.index.clear();
        self.rows.clear();
    }

    /// Appends `stats detail dump`'s reply, `END` included.
    pub fn dump(&self, out: &mut Vec<u8>) {
        for (prefix, c) in &self.rows {
            out.extend_from_slice(b"PREFIX ");
            out.extend_from_slice(prefix);
            // Writing into a Vec cannot fail.
            let _ = write!(
                out,
                " get {} hit {} set {} del {}\r\n",
                c.gets, c.hits, c.sets, c.deletes
            );
        }
        out.extend_from_slice(b"END\r\n");
    }

    /// The counters of `key`'s prefix, created if there is room; `None`
    /// when counting is off or the key has no prefix.
    fn counts(&mut self, key: &[u8]) -> Option<&mut Counts> {
        if !self.enabled {
            return None;
        }
        let end = memchr::memchr(self.delimiter, key)?;
        let prefix = &key[..end];
        let row = match self.index.get(prefix) {
            Some(&row) => row,
            None if self.rows.len() < MAX_PREFIXES => {
                self.rows.push((prefix.to_vec(), Counts::default()));
                self.index.insert(prefix.to_vec(), self.rows.len() - 1);
                self.rows.len() - 1
            }
            None => return None,
        };
        Some(&mut self.rows[row].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(d: &PrefixStats) -> String {
        let mut out = Vec::new();
        d.dump(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn counts_only_while_enabled_and_only_prefixed_keys() {
        let mut d = PrefixStats::new(b':');
        d.record_set(b"foo:1");
        assert_eq!(dump(&d), "END\r\n");
        d.set_enabled(true);
        d.record_set(b"foo:123");
        d.record_get(b"foo:123", true);
        d.record_get(b"foo:124", false);
        d.record_delete(b"foo:125");
        d.record_get(b"bar", true);
        d.record_get(b":empty", true);
        assert_eq!(
            dump(&d),
            "PREFIX foo get 2 hit 1 set 1 del 1\r\nPREFIX  get 1 hit 1 set 0 del 0\r\nEND\r\n"
        );
        d.set_enabled(false);
        d.record_get(b"foo:1", true);
        assert!(dump(&d).starts_with("PREFIX foo get 2 "));
        d.clear();
        assert_eq!(dump(&d), "END\r\n");
    }

    #[test]
    fn another_delimiter() {
        let mut d = PrefixStats::new(b'/');
        d.set_enabled(true);
        d.record_set(b"a/b:c");
        d.record_set(b"a:b");
        assert_eq!(dump(&d), "PREFIX a get 0 hit 0 set 1 del 0\r\nEND\r\n");
    }

    #[test]
    fn the_table_is_bounded() {
        let mut d = PrefixStats::new(b':');
        d.set_enabled(true);
        for i in 0..MAX_PREFIXES + 10 {
            d.record_set(format!("p{i}:k").as_bytes());
        }
        assert_eq!(d.rows.len(), MAX_PREFIXES);
        d.record_set(b"p0:again");
        assert_eq!(d.rows[0].1.sets, 2);
    }
}
