//! Ketama consistent hashing: where a key lives among many servers, placed
//! exactly as libmemcached (`MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED`) and
//! twemproxy (`distribution: ketama`, `hash: md5`) place it, so that a key
//! written through one of them is found by the others.
//!
//! # The ring
//!
//! Each server gets 160 points on a ring of 2^32 positions (fewer or more
//! when weights differ), made of 40 md5 digests of the strings
//! `"<name>-0"` to `"<name>-39"`: each 16-byte digest gives four points,
//! its four little-endian 32-bit words. A key's position is the first
//! little-endian word of md5(key); its server owns the first point at or
//! after that position, wrapping around past the last point.
//!
//! ```text
//!          0 ───────────────────────────────────────────────▶ 2^32
//! points:  ·B      ·A    ·C   ·A         ·B    ·C      ·A   ·B
//! key k:                 ↑ md5(k) ──▶ the next point is A's: k lives on A
//! ```
//!
//! Adding a server moves only the keys that fall just before its new
//! points (about 1/n of them); removing one moves only its own keys.
//!
//! # Names and weights
//!
//! A server's `<name>` is `host:port` as configured, or the bare `host`
//! when the port is memcached's default 11211 (libmemcached's rule, which
//! twemproxy keeps for compatibility), or the explicit name given in a
//! twemproxy server line (`127.0.0.1:11212:1 cache-a`). See
//! [`ServerSpec::ketama_name`](super::ServerSpec::ketama_name).
//!
//! With weights, a server gets `floor(weight / total * 40 * n) * 4` points,
//! `n` being the number of servers on the ring, computed in 32-bit floats
//! as both C implementations do (so rounding matches them to the bit).
//! Equal weights give every server 160 points.
//!
//! Two points of different servers at the same position go to the server
//! listed first, as in libmemcached (twemproxy lists its servers sorted by
//! name); with 32-bit positions this is rare enough to ignore.
//!
//! # Examples
//!
//! ```
//! use torsion_clients::memcache::ketama::{self, Continuum};
//!
//! let ring = Continuum::new([(0, "10.0.0.1:11212", 1), (1, "10.0.0.2:11212", 1)]);
//! assert_eq!(ring.len(), 320);
//! let owner = ring.server_for(b"user:42").unwrap();
//! // The owner holds the first point at or after the key's hash.
//! let h = ketama::hash(b"user:42");
//! let first = ring.points().iter().find(|p| p.hash >= h).unwrap_or(&ring.points()[0]);
//! assert_eq!(first.server, owner);
//! ```

use md5::{Digest, Md5};

/// Points per server at equal weights (libmemcached's
/// `MEMCACHED_POINTS_PER_SERVER_KETAMA`, twemproxy's `KETAMA_POINTS_PER_SERVER`).
pub const POINTS_PER_SERVER: u32 = 160;

/// Points made from one md5 digest.
pub const POINTS_PER_HASH: u32 = 4;

/// A key's position on the ring: the first little-endian word of its md5
/// (twemproxy's `hash_md5`, libmemcached's `MEMCACHED_HASH_MD5`).
pub fn hash(key: &[u8]) -> u32 {
    let digest = Md5::digest(key);
    u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// How many points a server of `weight` gets, out of `total_weight`, on a
/// ring of `servers` servers: a multiple of 4, computed in 32-bit floats as
/// libmemcached and twemproxy do.
///
/// ```
/// use torsion_clients::memcache::ketama::points_per_server;
///
/// assert_eq!(points_per_server(1, 3, 3), 160);
/// assert_eq!(points_per_server(1, 4, 3), 120);
/// assert_eq!(points_per_server(2, 4, 3), 240);
/// ```
pub fn points_per_server(weight: u32, total_weight: u64, servers: usize) -> u32 {
    let pct = weight as f32 / total_weight as f32;
    let scaled = pct * POINTS_PER_SERVER as f32 / POINTS_PER_HASH as f32 * servers as f32;
    // twemproxy adds 1e-10 in double precision, then floors in single.
    let floored = ((f64::from(scaled) + 0.000_000_000_1) as f32).floor();
    (floored as u32).saturating_mul(POINTS_PER_HASH)
}

/// One point of the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Point {
    /// Its position.
    pub hash: u32,
    /// The id of the server that owns it.
    pub server: usize,
}

/// The ring of points of a set of servers (`struct continuum` in both C
/// implementations).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Continuum {
    points: Vec<Point>,
}

impl Continuum {
    /// The ring of `servers`, each given as `(id, name, weight)`; lookups
    /// answer with the ids. Build it from the servers in their configured
    /// order.
    pub fn new<S: AsRef<str>>(servers: impl IntoIterator<Item = (usize, S, u32)>) -> Continuum {
        let servers: Vec<(usize, S, u32)> = servers.into_iter().collect();
        let total: u64 = servers.iter().map(|(_, _, w)| u64::from(*w)).sum();
        // (position, place of the server in the list, id): ties on a
        // position go to the server listed first, libmemcached's comparator.
        let mut points: Vec<(u32, usize, usize)> = Vec::new();
        for (place, (id, name, weight)) in servers.iter().enumerate() {
            let count = points_per_server(*weight, total, servers.len());
            for i in 0..count / POINTS_PER_HASH {
                let digest = Md5::digest(format!("{}-{i}", name.as_ref()).as_bytes());
                for word in digest.chunks_exact(4) {
                    let hash = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
                    points.push((hash, place, *id));
                }
            }
        }
        points.sort_unstable();
        let points = points
            .into_iter()
            .map(|(hash, _, server)| Point { hash, server })
            .collect();
        Continuum { points }
    }

    /// The id of the server owning position `hash`: the first point at or
    /// after it, or the first point of all past the last one.
    pub fn server_for_hash(&self, hash: u32) -> Option<usize> {
        let i = self.points.partition_point(|p| p.hash < hash);
        self.points.get(i).or(self.points.first()).map(|p| p.server)
    }

    /// The id of the server owning `key`.
    pub fn server_for(&self, key: &[u8]) -> Option<usize> {
        self.server_for_hash(hash(key))
    }

    /// The points, by position.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// How many points there are.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the ring is empty (no server, or only zero weights).
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_the_four_words_of_each_digest() {
        let ring = Continuum::new([(7, "127.0.0.1:11212", 1)]);
        assert_eq!(ring.len(), 160);
        let digest = Md5::digest(b"127.0.0.1:11212-0");
        let words: Vec<u32> = digest
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        for w in words {
            assert!(ring.points().contains(&Point { hash: w, server: 7 }));
        }
        assert!(ring.points().windows(2).all(|w| w[0].hash <= w[1].hash));
    }

    #[test]
    fn key_hash_is_the_first_little_endian_word_of_md5() {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(hash(b""), 0xd98c_1dd4);
        // md5("a") = 0cc175b9c0f1b6a831c399e269772661
        assert_eq!(hash(b"a"), 0xb975_c10c);
    }

    /// Placements computed by libmemcached 1.1.4 itself
    /// (`memcached_generate_hash` with `MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED`,
    /// called through Python's ctypes); the interop suite compares many
    /// more keys against libmemcached and against twemproxy live.
    #[test]
    fn placements_match_libmemcached() {
        let keys = [
            "a",
            "b",
            "c",
            "foo",
            "bar",
            "key:1",
            "user:42",
            "session:abcdef",
            &"x".repeat(250),
            "0",
        ];
        let ring = Continuum::new([
            (0, "127.0.0.1:11212", 1),
            (1, "127.0.0.1:11213", 1),
            (2, "127.0.0.1:11214", 1),
        ]);
        let got: Vec<usize> = keys
            .iter()
            .map(|k| ring.server_for(k.as_bytes()).unwrap())
            .collect();
        assert_eq!(got, [0, 0, 0, 2, 0, 0, 2, 1, 1, 1]);
        // Port 11211 leaves the port out of the name; weights 1, 2, 3.
        let ring = Continuum::new([
            (0, "10.0.0.1", 1),
            (1, "10.0.0.2", 2),
            (2, "cache.example:11300", 3),
        ]);
        let got: Vec<usize> = keys
            .iter()
            .map(|k| ring.server_for(k.as_bytes()).unwrap())
            .collect();
        assert_eq!(got, [1, 1, 2, 1, 1, 1, 1, 2, 2, 2]);
    }

    #[test]
    fn lookups_take_the_next_point_and_wrap_around() {
        let ring = Continuum::new([(0, "a:1", 1), (1, "b:1", 1)]);
        let points = ring.points();
        let first = points[0];
        let last = *points.last().unwrap();
        assert_eq!(ring.server_for_hash(0), Some(first.server));
        assert_eq!(ring.server_for_hash(first.hash), Some(first.server));
        assert_eq!(ring.server_for_hash(last.hash), Some(last.server));
        assert_eq!(
            ring.server_for_hash(last.hash.saturating_add(1)),
            Some(first.server)
        );
        assert_eq!(
            ring.server_for_hash(u32::MAX),
            if last.hash == u32::MAX {
                Some(last.server)
            } else {
                Some(first.server)
            }
        );
        let middle = points[100];
        assert_eq!(ring.server_for_hash(middle.hash), Some(middle.server));
        if points[99].hash + 1 < middle.hash {
            assert_eq!(ring.server_for_hash(points[99].hash + 1), Some(middle.server));
        }
        assert_eq!(
            Continuum::new(Vec::<(usize, &str, u32)>::new()).server_for(b"k"),
            None
        );
    }

    #[test]
    fn weights_share_the_points_as_the_c_code_rounds_them() {
        assert_eq!(points_per_server(1, 1, 1), 160);
        assert_eq!(points_per_server(1, 3, 3), 160);
        assert_eq!(points_per_server(1, 7, 7), 160);
        assert_eq!(points_per_server(1, 11, 4), 56); // 1/11*40*4 = 14.5 -> 14
        assert_eq!(points_per_server(3, 11, 4), 172); // 43.6 -> 43
        assert_eq!(points_per_server(0, 5, 2), 0);
        let ring = Continuum::new([(0, "a:1", 1), (1, "b:1", 3)]);
        let of = |id| ring.points().iter().filter(|p| p.server == id).count();
        assert_eq!((of(0), of(1)), (80, 240));
    }

    #[test]
    fn adding_a_server_moves_about_its_share_of_keys() {
        let three = Continuum::new([(0, "a:1", 1), (1, "b:1", 1), (2, "c:1", 1)]);
        let four = Continuum::new([(0, "a:1", 1), (1, "b:1", 1), (2, "c:1", 1), (3, "d:1", 1)]);
        let keys: Vec<String> = (0..10_000).map(|i| format!("key{i}")).collect();
        let moved = keys
            .iter()
            .filter(|k| three.server_for(k.as_bytes()) != four.server_for(k.as_bytes()))
            .count();
        for k in &keys {
            let (before, after) = (three.server_for(k.as_bytes()), four.server_for(k.as_bytes()));
            assert!(
                before == after || after == Some(3),
                "a key moved between old servers"
            );
        }
        assert!((1500..3500).contains(&moved), "{moved} keys moved");
    }
}
