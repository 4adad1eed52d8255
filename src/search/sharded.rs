//! Hash tables that grow a little at a time, so that no growth outlasts the budget.
//!
//! A hash table grows by moving every entry into a table twice the size, all at
//! once, and no budget check runs while it does. A search's caches grow to millions
//! of entries, and once a table outgrows the processor's caches, each growth takes
//! more than twice as long as the one before. Measured on a kv history of 50 clients
//! (`generate -m kv --keys 1 --processes 50 --ops 200 --effect-inside --seed 2`),
//! the linear engine's table of configurations grew in 14, 25, 58, 114, 266, 917 ms
//! and then 1.8–2.0 s, at 1.3 GB, and WGL's cache in up to 0.6 s. A growth that
//! starts just before the deadline makes the answer late by that much: that check
//! answered after up to 12 s at `--time-limit 10s`.
//!
//! A [`Sharded`] table is [`SHARDS`] tables, each entry in the one its hash picks.
//! The shards fill evenly, so each grows at a different insertion, by moving a
//! sixty-fourth of the entries, and the engine's budget checks run in between: the
//! pause is bounded by a sixty-fourth of what it was, at the same memory.
//!
//! The shard is picked by bits 40–45 of the hash, which `hashbrown` uses for nothing
//! else in a table of fewer than 2⁴⁰ buckets: it takes a bucket from the low bits
//! and a tag from the top seven, which stay as varied inside a shard as in the whole.

use super::budget::grow_peak;
use hashbrown::hash_table::HashTable;

/// How many tables a [`Sharded`] table is split into.
pub const SHARDS: usize = 64;

/// A hash table of `T`, by hashes the caller computes (as [`HashTable`]), split into
/// [`SHARDS`] tables that each grow on their own.
#[derive(Clone)]
pub struct Sharded<T> {
    shards: Box<[HashTable<T>]>,
    /// The shards' capacities, summed.
    capacity: usize,
    /// The shards that are full (bit `i` for shard `i`): those the next insertion
    /// into them grows. Kept so that what the table may hold after one more
    /// insertion, which the linear engine asks at every step, costs little. A shard
    /// with no buffer yet is not counted as full: its first is a few buckets.
    full: u64,
}

impl<T> Default for Sharded<T> {
    fn default() -> Self {
        Sharded { shards: (0..SHARDS).map(|_| HashTable::new()).collect(), capacity: 0, full: 0 }
    }
}

/// The shard of an entry with this hash.
fn shard(hash: u64) -> usize {
    (hash >> 40) as usize % SHARDS
}

impl<T> Sharded<T> {
    /// The entry with this hash that `eq` accepts, if there is one.
    pub fn find(&self, hash: u64, eq: impl FnMut(&T) -> bool) -> Option<&T> {
        self.shards[shard(hash)].find(hash, eq)
    }

    /// As [`Sharded::find`], to change it.
    pub fn find_mut(&mut self, hash: u64, eq: impl FnMut(&T) -> bool) -> Option<&mut T> {
        self.shards[shard(hash)].find_mut(hash, eq)
    }

    /// Inserts an entry known not to be there. `hasher` gives the hash of any
    /// entry of the shard, for when it grows.
    pub fn insert_unique(&mut self, hash: u64, value: T, hasher: impl Fn(&T) -> u64) {
        let i = shard(hash);
        let table = &mut self.shards[i];
        let before = table.capacity();
        table.insert_unique(hash, value, hasher);
        self.capacity += table.capacity() - before;
        self.full = self.full & !(1 << i) | u64::from(table.len() == table.capacity()) << i;
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.shards.iter().map(HashTable::len).sum()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(HashTable::is_empty)
    }

    /// Every entry, shard by shard.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.shards.iter().flat_map(HashTable::iter)
    }

    /// Every entry, to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.shards.iter_mut().flat_map(HashTable::iter_mut)
    }

    /// Removes the entries of one shard that holds some, keeping its memory; how
    /// many there were, or `None` if the table is empty. A large table is emptied a
    /// shard at a time, with budget checks in between.
    pub fn clear_shard(&mut self) -> Option<usize> {
        let i = self.shards.iter().position(|s| !s.is_empty())?;
        let len = self.shards[i].len();
        self.shards[i].clear();
        self.full &= !(1 << i);
        Some(len)
    }

    /// The most bytes its buckets may hold after `more` further insertions, at
    /// `entry` bytes a bucket (with its control byte): every shard's buffer, plus the
    /// grown buffer of each shard that may have to grow by then. Only the full
    /// shards are looked at for one insertion, every shard for more. (A shard with
    /// no buffer yet counts nothing, as in `full`.)
    pub fn peak_bytes(&self, more: usize, entry: usize) -> usize {
        let mut may_grow = match more {
            0 => 0,
            1 => self.full,
            _ => u64::MAX,
        };
        let mut bytes = self.capacity * entry;
        while may_grow != 0 {
            let table = &self.shards[may_grow.trailing_zeros() as usize];
            may_grow &= may_grow - 1;
            if table.capacity() > 0 {
                bytes += grow_peak(table.len(), table.capacity(), more, entry) - table.capacity() * entry;
            }
        }
        bytes
    }
}

impl<T> IntoIterator for Sharded<T> {
    type Item = T;
    type IntoIter = std::iter::FlatMap<
        std::vec::IntoIter<HashTable<T>>,
        hashbrown::hash_table::IntoIter<T>,
        fn(HashTable<T>) -> hashbrown::hash_table::IntoIter<T>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.shards.into_vec().into_iter().flat_map(HashTable::into_iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(x: u64) -> u64 {
        x.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    #[test]
    fn finds_what_it_holds_across_shards() {
        let mut table = Sharded::default();
        for x in 0..10_000u64 {
            table.insert_unique(hash(x), x, |&y| hash(y));
        }
        assert_eq!(table.len(), 10_000);
        assert!((0..10_000).all(|x| table.find(hash(x), |&y| y == x) == Some(&x)));
        assert!(table.find(hash(10_000), |&y| y == 10_000).is_none());
        // The entries are spread: no shard holds more than twice its share.
        assert!(table.shards.iter().all(|s| s.len() < 2 * 10_000 / SHARDS));
        let mut all: Vec<u64> = table.into_iter().collect();
        all.sort_unstable();
        assert_eq!(all, (0..10_000).collect::<Vec<_>>());
    }

    #[test]
    fn peak_bytes_counts_the_shards_that_may_grow() {
        let mut table = Sharded::default();
        // What each shard may hold, summed, as `grow_peak` counts one table.
        // (A shard with no buffer yet counts nothing.)
        let summed = |t: &Sharded<u64>, more| -> usize {
            let counted = t.shards.iter().filter(|s| s.capacity() > 0);
            counted.map(|s| grow_peak(s.len(), s.capacity(), more, 9)).sum()
        };
        for x in 0..20_000u64 {
            for more in [0, 1, 2, 100] {
                assert_eq!(table.peak_bytes(more, 9), summed(&table, more), "after {x}, {more} more");
            }
            table.insert_unique(hash(x), x, |&y| hash(y));
            if x == 10_000 {
                let cleared: usize = std::iter::from_fn(|| table.clear_shard()).sum();
                assert_eq!((cleared, table.len()), (10_001, 0));
            }
        }
    }

    #[test]
    fn a_growth_moves_one_shard() {
        let mut table = Sharded::default();
        let mut capacities: Vec<usize> = table.shards.iter().map(HashTable::capacity).collect();
        let mut growths = 0;
        for x in 0..100_000u64 {
            table.insert_unique(hash(x), x, |&y| hash(y));
            let now: Vec<usize> = table.shards.iter().map(HashTable::capacity).collect();
            let grown = now.iter().zip(&capacities).filter(|(a, b)| a != b).count();
            assert!(grown <= 1, "insertion {x} grew {grown} shards");
            growths += grown;
            capacities = now;
        }
        // Every shard grew, each several times.
        assert!(growths >= SHARDS * 5, "{growths} growths");
    }
}
