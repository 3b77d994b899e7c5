//! memcached's hash table size, as `stats` reports it (`hash_power_level`).
//!
//! memcached's table has 2^power buckets: 2^16 unless `-o hashpower=N`
//! says otherwise, doubled (one power at a time, by its maintainer thread)
//! once it holds more than 1.5 items per bucket, and never shrunk. A warm
//! restart brings the power back. Torsion's own table (hashbrown) grows and
//! reports differently, so this models memcached's figure from the item
//! count, which the server samples on its periodic crawler tick (memcached
//! too grows the table in the background, a moment after the insert that
//! crossed the limit).

/// The power memcached starts with (`HASHPOWER_DEFAULT`).
pub const DEFAULT_HASH_POWER: u8 = 16;

/// The largest power memcached allows (`HASHPOWER_MAX`).
pub const MAX_HASH_POWER: u8 = 32;

/// The modelled size of memcached's hash table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPower {
    power: u8,
}

impl HashPower {
    /// A table of 2^`init` buckets (`-o hashpower`; 0: the default 16).
    pub fn new(init: u32) -> Self {
        let power = match init {
            0 => DEFAULT_HASH_POWER,
            p => u8::try_from(p).unwrap_or(MAX_HASH_POWER).min(MAX_HASH_POWER),
        };
        HashPower { power }
    }

    /// The current power (`hash_power_level`).
    pub fn level(self) -> u8 {
        self.power
    }

    /// The table now holds `items` items: it doubles while they are more
    /// than 1.5 per bucket (memcached's `assoc_insert` rule).
    pub fn observe(&mut self, items: usize) {
        while self.power < MAX_HASH_POWER && items as u64 > (3u64 << self.power) / 2 {
            self.power += 1;
        }
    }

    /// A restart brings back the size the table had: never smaller than now.
    pub fn restore(&mut self, power: u8) {
        self.power = self.power.max(power.min(MAX_HASH_POWER));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_past_one_and_a_half_items_per_bucket_and_never_shrinks() {
        let mut h = HashPower::new(0);
        assert_eq!(h.level(), 16);
        h.observe(98_304); // exactly 1.5 * 2^16
        assert_eq!(h.level(), 16);
        h.observe(98_305);
        assert_eq!(h.level(), 17);
        h.observe(1 << 17);
        assert_eq!(h.level(), 17);
        h.observe(0);
        assert_eq!(h.level(), 17);
        h.observe(1_000_000);
        assert_eq!(h.level(), 20);
        assert_eq!(HashPower::new(12).level(), 12);
        assert_eq!(HashPower::new(99).level(), MAX_HASH_POWER);
    }

    #[test]
    fn restore_keeps_the_larger() {
        let mut h = HashPower::new(0);
        h.restore(17);
        assert_eq!(h.level(), 17);
        h.restore(3);
        assert_eq!(h.level(), 17);
    }
}
