//! Nogoods: sets of choices that no solution makes all of, learned from failures.
//!
//! A depth-first search over choices, with conflict-directed backjumping, names
//! for each failure the choices it depends on, and forgets them when it goes back
//! past one of them. Going forward again it may make the same choices in another
//! context and fail the same way, at the same cost: on many-client kv histories,
//! two failures in three to six in seven were repeats. Remembering each named set of choices (a
//! *nogood*), as *facts* that do not depend on the order in which they were made,
//! lets the search fail such a choice at once. Whether a nogood is exact is the
//! search's to prove (it must be that no solution holds all of its facts); this
//! module only stores and finds them.

use foldhash::fast::FixedState;
use std::collections::HashMap;
use std::hash::Hash;

/// The most facts the nogoods may hold together; past it, no more are learned (a
/// nogood is a hint: the search is as exact without it). At most some 70 MB, each
/// fact distinct; a search that gives up at its work limit learns a few tens of
/// thousands.
const FACTS: usize = 1 << 20;

/// Learned nogoods, each found by any one of its facts.
pub(super) struct Nogoods<F> {
    lists: Vec<Box<[F]>>,
    by_fact: HashMap<F, Vec<u32>, FixedState>,
    facts: usize,
}

impl<F> Default for Nogoods<F> {
    fn default() -> Self {
        Nogoods { lists: Vec::new(), by_fact: HashMap::default(), facts: 0 }
    }
}

impl<F: Copy + Eq + Hash> Nogoods<F> {
    /// Learns that no solution holds all of `facts` (none: nothing to learn).
    pub(super) fn learn(&mut self, facts: impl IntoIterator<Item = F>) {
        let facts: Box<[F]> = facts.into_iter().collect();
        if facts.is_empty() || self.facts + facts.len() > FACTS {
            return;
        }
        let id = self.lists.len() as u32;
        for &fact in &facts {
            self.by_fact.entry(fact).or_default().push(id);
        }
        self.facts += facts.len();
        self.lists.push(facts);
    }

    /// A nogood that `fact` completes: one holding `fact` whose every other fact
    /// holds, by `holds` (which gives what the caller needs of each, such as the
    /// level that made it). What `holds` gave for those, or `None` if there is no
    /// such nogood. `looked` counts the facts looked at.
    pub(super) fn completed_by<L>(
        &self,
        fact: F,
        mut holds: impl FnMut(F) -> Option<L>,
        looked: &mut usize,
    ) -> Option<Vec<L>> {
        let ids = self.by_fact.get(&fact)?;
        ids.iter().find_map(|&id| {
            let others = self.lists[id as usize].iter().filter(|&&f| f != fact);
            others
                .map(|&f| {
                    *looked += 1;
                    holds(f)
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Nogoods;

    #[test]
    fn a_fact_completes_a_nogood_whose_other_facts_all_hold() {
        let mut nogoods = Nogoods::default();
        nogoods.learn([1, 2, 3]);
        nogoods.learn([3, 4]);
        nogoods.learn(Vec::<u32>::new());
        let mut looked = 0;
        // The levels of the facts that hold: 1 and 2 do, 4 does not.
        let holds = |f: u32| (f != 4).then_some(f * 10);
        assert_eq!(nogoods.completed_by(3, holds, &mut looked), Some(vec![10, 20]));
        assert_eq!(nogoods.completed_by(4, holds, &mut looked), Some(vec![30]));
        assert_eq!(nogoods.completed_by(2, |f| (f == 1).then_some(f), &mut looked), None);
        assert_eq!(nogoods.completed_by(5, holds, &mut looked), None);
        assert_eq!(looked, 2 + 1 + 2, "stops at the first fact that does not hold");
    }
}
