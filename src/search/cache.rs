//! The configuration cache: which (linearized set, state) pairs the search has seen.
//!
//! Lowe's improvement to Wing & Gong: a configuration already explored cannot lead
//! anywhere new, so the search backtracks instead of exploring it again. The cache
//! is where the memory of a long search goes, so it is laid out flat:
//!
//! - each distinct linearized set is stored once, its words appended to one arena
//!   (no allocation per set), found through a table of arena indices probed by the
//!   set's Zobrist hash, which the search maintains incrementally (so a lookup
//!   hashes nothing, and compares words only on a hash match);
//! - each (set, state) pair is one `u64` in a second table.
//!
//! A configuration whose set is already known costs about 9 bytes; a new set adds
//! its words plus about 14 bytes. [`ConfigCache::peak_bytes`] counts the buffers'
//! capacities exactly, including the transient copy of a buffer that is about to
//! grow, and is what the memory budget watches.

use super::budget::grow_peak;
use crate::model::memo::StateId;
use hashbrown::HashTable;

/// The set of configurations seen.
pub struct ConfigCache {
    /// Words per linearized set.
    words: usize,
    /// Every distinct set, `words` words each.
    arena: Vec<u64>,
    /// Each set's hash, by set number.
    hashes: Vec<u64>,
    /// Set numbers, by hash.
    sets: HashTable<u32>,
    /// `set << 32 | state`, by a mix of the set's hash and the state.
    pairs: HashTable<u64>,
}

fn pair_hash(set_hash: u64, state: StateId) -> u64 {
    (set_hash ^ u64::from(state).wrapping_mul(0x9e37_79b9_7f4a_7c15)).rotate_left(17)
}

impl ConfigCache {
    /// A cache for sets of `ops` operations.
    pub fn new(ops: usize) -> ConfigCache {
        ConfigCache {
            words: ops.div_ceil(64).max(1),
            arena: Vec::new(),
            hashes: Vec::new(),
            sets: HashTable::new(),
            pairs: HashTable::new(),
        }
    }

    /// Records the configuration; `false` if it was already there.
    pub fn insert(&mut self, hash: u64, bits: &[u64], state: StateId) -> bool {
        let (arena, words) = (&self.arena, self.words);
        let found = self.sets.find(hash, |&s| *bits == arena[s as usize * words..][..words]).copied();
        let set = match found {
            Some(set) => set,
            None => {
                let set = self.hashes.len() as u32;
                self.arena.extend_from_slice(bits);
                self.hashes.push(hash);
                let hashes = &self.hashes;
                self.sets.insert_unique(hash, set, |&s| hashes[s as usize]);
                set
            }
        };
        let key = (u64::from(set) << 32) | u64::from(state);
        let h = pair_hash(hash, state);
        if self.pairs.find(h, |&k| k == key).is_some() {
            return false;
        }
        let hashes = &self.hashes;
        self.pairs.insert_unique(h, key, |&k| pair_hash(hashes[(k >> 32) as usize], k as StateId));
        true
    }

    /// The most bytes the cache may hold before `more` further insertions are done:
    /// every buffer's capacity, plus, for each buffer that may have to grow by then,
    /// its grown copy (old and new coexist while it grows).
    pub fn peak_bytes(&self, more: usize) -> usize {
        grow_peak(self.arena.len(), self.arena.capacity(), more * self.words, 8)
            + grow_peak(self.hashes.len(), self.hashes.capacity(), more, 8)
            + grow_peak(self.sets.len(), self.sets.capacity(), more, 4 + 1)
            + grow_peak(self.pairs.len(), self.pairs.capacity(), more, 8 + 1)
    }

    /// How many configurations it holds.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.pairs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_pairs() {
        let mut c = ConfigCache::new(128);
        assert!(c.insert(7, &[1, 0], 0));
        assert!(!c.insert(7, &[1, 0], 0));
        assert!(c.insert(7, &[1, 0], 1));
        // same hash, other bits: a different configuration
        assert!(c.insert(7, &[2, 0], 0));
        assert!(!c.insert(7, &[2, 0], 0));
        assert_eq!(c.len(), 3);
        // many sets and states, each remembered
        for i in 0..10_000u64 {
            assert!(c.insert(i.wrapping_mul(0x1234_5678_9abc_def1), &[i, i + 1], (i % 7) as u32));
        }
        for i in 0..10_000u64 {
            assert!(!c.insert(i.wrapping_mul(0x1234_5678_9abc_def1), &[i, i + 1], (i % 7) as u32));
        }
        assert_eq!(c.len(), 10_003);
        assert!(c.peak_bytes(0) >= 10_003 * 9);
        assert!(c.peak_bytes(1 << 20) > 2 * c.peak_bytes(0));
    }
}
