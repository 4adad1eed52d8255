//! The configuration cache: which (linearized set, state) pairs the search has seen.
//!
//! Lowe's improvement to Wing & Gong: a configuration already explored cannot lead
//! anywhere new, so the search backtracks instead of exploring it again. Entries are
//! grouped by linearized set (bits → states), so a set reached in several states is
//! stored once; the caller maintains the set's hash incrementally (Zobrist), so a
//! lookup hashes nothing and compares the bit words only on a hash match.

use crate::model::memo::StateId;
use hashbrown::HashTable;

struct Slot {
    hash: u64,
    bits: Box<[u64]>,
    first: StateId,
    more: Vec<StateId>,
}

/// The set of configurations seen.
#[derive(Default)]
pub struct ConfigCache {
    table: HashTable<Slot>,
    /// Heap bytes of the bit sets and state lists.
    heap: usize,
}

impl ConfigCache {
    /// Records the configuration; `false` if it was already there.
    pub fn insert(&mut self, hash: u64, bits: &[u64], state: StateId) -> bool {
        if let Some(slot) = self.table.find_mut(hash, |s| s.hash == hash && *s.bits == *bits) {
            if slot.first == state || slot.more.contains(&state) {
                return false;
            }
            slot.more.push(state);
            self.heap += std::mem::size_of::<StateId>();
            return true;
        }
        self.heap += std::mem::size_of_val(bits);
        let slot = Slot { hash, bits: bits.into(), first: state, more: Vec::new() };
        self.table.insert_unique(hash, slot, |s| s.hash);
        true
    }

    /// The bytes the cache holds: its table and what the table points to.
    pub fn bytes(&self) -> usize {
        self.heap + self.table.capacity() * (std::mem::size_of::<Slot>() + 1)
    }

    /// How many configurations it holds.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.iter().map(|s| 1 + s.more.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_pairs() {
        let mut c = ConfigCache::default();
        assert!(c.insert(7, &[1, 0], 0));
        assert!(!c.insert(7, &[1, 0], 0));
        assert!(c.insert(7, &[1, 0], 1));
        // same hash, other bits: a different configuration
        assert!(c.insert(7, &[2, 0], 0));
        assert_eq!(c.len(), 3);
    }
}
