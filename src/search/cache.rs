//! The configuration cache: which configurations the search has seen, up to
//! dominance.
//!
//! Lowe's improvement to Wing & Gong: a configuration already explored cannot lead
//! anywhere new, so the search backtracks instead of exploring it again. Crashed
//! operations extend that: a configuration is made of the `:ok` operations
//! linearized, the state, and the crashed operations linearized, and of two
//! configurations that agree on the first two, the one that used a subset of the
//! other's crashed operations *dominates* it. Crashed operations have no return,
//! so leaving one unused never forbids a step, and every way on from the dominated
//! configuration is open to the dominating one. A configuration dominated by one
//! already seen is therefore seen too. Without this, n crashed operations that
//! different paths use in different combinations make up to 2ⁿ configurations out
//! of one.
//!
//! The cache is where the memory of a long search goes, so it is laid out flat:
//!
//! - each distinct set of `:ok` operations is stored once, its words appended to
//!   one arena (no allocation per set), found through a table of arena indices
//!   probed by the set's Zobrist hash, which the search maintains incrementally (so
//!   a lookup hashes nothing, and compares words only on a hash match);
//! - each (set, state) pair is one entry in a second table, holding the head of a
//!   list of the crashed sets seen with it, those dominated by a later one
//!   unlinked (no list where the empty set was seen, which dominates all: always
//!   so in a history without crashed operations).
//!
//! A configuration whose set is already known costs about 17 bytes; a new set adds
//! its words plus about 14 bytes, a crashed set its words plus 4. [`ConfigCache::peak_bytes`]
//! counts the buffers' capacities exactly, including the transient copy of a buffer
//! that is about to grow, and is what the memory budget watches.

use super::budget::grow_peak;
use super::sharded::Sharded;
use crate::model::memo::StateId;

/// The end of a list of crashed sets.
const NIL: u32 = u32::MAX;
/// The head of a pair whose list is the empty set alone, which dominates every
/// other: the common case, stored without a list.
const EMPTY: u32 = u32::MAX - 1;

/// The set of configurations seen.
pub struct ConfigCache {
    /// Words per set of `:ok` operations.
    words: usize,
    /// Words per set of crashed operations.
    crashed_words: usize,
    /// Every distinct set of `:ok` operations, `words` words each.
    arena: Vec<u64>,
    /// Each set's hash, by set number.
    hashes: Vec<u64>,
    /// Set numbers, by hash.
    sets: Sharded<u32>,
    /// `(set << 32 | state, waiting, first crashed set)`, by a mix of the set's
    /// hash, the state and `waiting`.
    pairs: Sharded<(u64, u32, u32)>,
    /// Crashed sets, `crashed_words` words each.
    crashed: Vec<u64>,
    /// The next crashed set in the same pair's list, by crashed set number.
    links: Vec<u32>,
}

fn pair_hash(set_hash: u64, state: StateId, waiting: u32) -> u64 {
    let mix = (u64::from(waiting) << 32 | u64::from(state)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (set_hash ^ mix).rotate_left(17)
}

fn subset(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).all(|(a, b)| a & !b == 0)
}

impl ConfigCache {
    /// A cache for `ops` operations, `crashed` of them crashed.
    pub fn new(ops: usize, crashed: usize) -> ConfigCache {
        ConfigCache {
            words: ops.div_ceil(64).max(1),
            crashed_words: crashed.div_ceil(64),
            arena: Vec::new(),
            hashes: Vec::new(),
            sets: Sharded::default(),
            pairs: Sharded::default(),
            crashed: Vec::new(),
            links: Vec::new(),
        }
    }

    /// Records the configuration: `ok` the `:ok` operations linearized (whose
    /// Zobrist hash is `hash`), the state, the state before the crashed operation
    /// whose observer it waits for (if it does), and `crashed` the crashed operations
    /// linearized (by rank). `false` if it was there already, or a configuration
    /// that dominates it.
    pub fn insert(
        &mut self,
        hash: u64,
        ok: &[u64],
        state: StateId,
        waiting: Option<StateId>,
        crashed: &[u64],
    ) -> bool {
        let (arena, words) = (&self.arena, self.words);
        let found = self.sets.find(hash, |&s| *ok == arena[s as usize * words..][..words]).copied();
        let set = match found {
            Some(set) => set,
            None => {
                let set = self.hashes.len() as u32;
                self.arena.extend_from_slice(ok);
                self.hashes.push(hash);
                let hashes = &self.hashes;
                self.sets.insert_unique(hash, set, |&s| hashes[s as usize]);
                set
            }
        };
        let key = (u64::from(set) << 32) | u64::from(state);
        let waiting = waiting.unwrap_or(NIL);
        let h = pair_hash(hash, state, waiting);
        let cw = self.crashed_words;
        let none = crashed.iter().all(|&w| w == 0);
        if let Some(pair) = self.pairs.find_mut(h, |&(k, w, _)| k == key && w == waiting) {
            if cw == 0 || pair.2 == EMPTY {
                return false;
            }
            if none {
                pair.2 = EMPTY;
                return true;
            }
            let (mut prev, mut at) = (NIL, pair.2);
            while at != NIL {
                let stored = &self.crashed[at as usize * cw..][..cw];
                if subset(stored, crashed) {
                    return false;
                }
                let next = self.links[at as usize];
                if subset(crashed, stored) {
                    // Dominated by the new one: no longer worth comparing with.
                    match prev {
                        NIL => pair.2 = next,
                        p => self.links[p as usize] = next,
                    }
                } else {
                    prev = at;
                }
                at = next;
            }
            pair.2 = Self::push(&mut self.crashed, &mut self.links, crashed, pair.2);
            return true;
        }
        let head = if cw == 0 || none {
            EMPTY
        } else {
            Self::push(&mut self.crashed, &mut self.links, crashed, NIL)
        };
        let hashes = &self.hashes;
        self.pairs.insert_unique(h, (key, waiting, head), |&(k, w, _)| {
            pair_hash(hashes[(k >> 32) as usize], k as StateId, w)
        });
        true
    }

    /// Stores a crashed set in front of `next`; its number.
    fn push(arena: &mut Vec<u64>, links: &mut Vec<u32>, crashed: &[u64], next: u32) -> u32 {
        arena.extend_from_slice(crashed);
        links.push(next);
        links.len() as u32 - 1
    }

    /// The most bytes the cache may hold before `more` further insertions are done:
    /// every buffer's capacity, plus, for each buffer that may have to grow by then,
    /// its grown copy (old and new coexist while it grows).
    pub fn peak_bytes(&self, more: usize) -> usize {
        let crashed_more = if self.crashed_words == 0 { 0 } else { more };
        grow_peak(self.arena.len(), self.arena.capacity(), more * self.words, 8)
            + grow_peak(self.hashes.len(), self.hashes.capacity(), more, 8)
            + self.sets.peak_bytes(more, 4 + 1)
            + self.pairs.peak_bytes(more, 16 + 1)
            + grow_peak(self.crashed.len(), self.crashed.capacity(), crashed_more * self.crashed_words, 8)
            + grow_peak(self.links.len(), self.links.capacity(), crashed_more, 4)
    }

    /// How many (set, state, waiting) triples it holds.
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
        let mut c = ConfigCache::new(128, 0);
        assert!(c.insert(7, &[1, 0], 0, None, &[]));
        assert!(!c.insert(7, &[1, 0], 0, None, &[]));
        assert!(c.insert(7, &[1, 0], 1, None, &[]));
        // same hash, other bits: a different configuration
        assert!(c.insert(7, &[2, 0], 0, None, &[]));
        assert!(!c.insert(7, &[2, 0], 0, None, &[]));
        assert_eq!(c.len(), 3);
        // many sets and states, each remembered
        for i in 0..10_000u64 {
            assert!(c.insert(i.wrapping_mul(0x1234_5678_9abc_def1), &[i, i + 1], (i % 7) as u32, None, &[]));
        }
        for i in 0..10_000u64 {
            assert!(!c.insert(i.wrapping_mul(0x1234_5678_9abc_def1), &[i, i + 1], (i % 7) as u32, None, &[]));
        }
        assert_eq!(c.len(), 10_003);
        assert!(c.peak_bytes(0) >= 10_003 * 17);
        assert!(c.peak_bytes(1 << 20) > 2 * c.peak_bytes(0));
    }

    #[test]
    fn crashed_sets_count_up_to_dominance() {
        let mut c = ConfigCache::new(64, 3);
        assert!(c.insert(1, &[1], 0, None, &[0b011]));
        // the same, and any superset, is dominated
        assert!(!c.insert(1, &[1], 0, None, &[0b011]));
        assert!(!c.insert(1, &[1], 0, None, &[0b111]));
        // incomparable sets are both kept
        assert!(c.insert(1, &[1], 0, None, &[0b100]));
        assert!(!c.insert(1, &[1], 0, None, &[0b110]));
        // a subset of both dominates them: they are unlinked, and it is kept
        assert!(c.insert(1, &[1], 0, None, &[0b000]));
        assert!(!c.insert(1, &[1], 0, None, &[0b001]));
        // another state or another :ok set is another configuration
        assert!(c.insert(1, &[1], 1, None, &[0b111]));
        assert!(c.insert(1, &[3], 0, None, &[0b111]));
        // and so is one that waits for an observer
        assert!(c.insert(1, &[1], 0, Some(2), &[0b111]));
        assert!(!c.insert(1, &[1], 0, Some(2), &[0b111]));
        assert_eq!(c.len(), 4);
    }
}
