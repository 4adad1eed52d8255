//! `set` with unique added values.
//!
//! Precondition: each element is added by one operation and is not in the initial
//! set.
//!
//! **One block.** A read returns the whole set, so a read of `S` comes after the
//! adds of `S`'s elements and before every other kept add. The reads of a legal
//! sequence therefore return sets ordered by inclusion, each containing the initial
//! set; call the distinct sets `S₀ = init ⊂ S₁ ⊂ …`. A legal sequence is exactly:
//! the reads of `S₀`, the adds of `S₁ ∖ S₀`, the reads of `S₁`, the adds of
//! `S₂ ∖ S₁`, …, and last the kept adds no read returns, each group in any order.
//! Reads whose sets are not a chain, a read missing an initial element, or a read of
//! an element nobody adds make a cut impossible. A read of something that is not a
//! set never succeeds (the state is always a set).
//!
//! **What is left out.** A pending read changes nothing. A pending add whose
//! element no `:ok` read returns is left out: in a legal sequence every read after
//! it returns its element, so no read follows it, and removing it leaves the
//! sequence legal.

use super::{written_twice, Block, Cut, Decline, Ids, Reduce, Shape, Writers};
use crate::history::History;
use crate::value::Value;

enum Op {
    Add(u32),
    /// The elements read; `None`: not a set, never legal.
    Read(Option<Vec<u32>>),
}

pub(super) struct Set {
    ops: Vec<Op>,
    writers: Writers,
    init: usize,
    values: usize,
}

impl Set {
    pub(super) fn new<'a>(
        history: &'a History,
        values: Vec<&'a Value>,
        init: &'a [Value],
    ) -> Result<Set, Decline> {
        let mut ids = Ids::default();
        let mut writers = Writers::new();
        for e in init {
            let _ = writers.set(ids.id(e), Err(()));
        }
        let mut ops = Vec::with_capacity(values.len());
        for (i, value) in values.into_iter().enumerate() {
            ops.push(match (history.operations[i].f.as_name(), value) {
                (Some("add"), _) => {
                    let id = ids.id(value);
                    writers
                        .set(id, Ok(i as u32))
                        .map_err(|earlier| written_twice(history, value, earlier, i))?;
                    Op::Add(id)
                }
                (Some("read"), Value::Set(elements)) => {
                    // A set built in code may list an element twice; it then equals no state.
                    let mut read: Vec<u32> = match elements.held() {
                        Ok(ints) => ints.iter().map(|&n| ids.int(n)).collect(),
                        Err(values) => values.iter().map(|e| ids.id(e)).collect(),
                    };
                    read.sort_unstable();
                    read.dedup();
                    Op::Read((read.len() == elements.len()).then_some(read))
                }
                (Some("read"), _) => Op::Read(None),
                _ => return Err(Decline::new("an operation the set engine does not know", Some(i))),
            });
        }
        Ok(Set { ops, writers, init: init.len(), values: ids.len() })
    }
}

impl Reduce for Set {
    fn reduce(&self, cut: Cut) -> Option<Shape> {
        let mut reads: Vec<(usize, &[u32])> = Vec::new();
        for (op, o) in self.ops.iter().enumerate() {
            if let (Op::Read(elements), true) = (o, cut.ok(op)) {
                reads.push((op, elements.as_deref()?));
            }
        }
        reads.sort_by_key(|(_, elements)| elements.len());
        // The level at which each element first appears (initial elements: 0).
        let mut level: Vec<Option<u32>> = vec![None; self.values];
        for (e, l) in level.iter_mut().enumerate() {
            if self.writers.get(e as u32) == Some(Err(())) {
                *l = Some(0);
            }
        }
        let (mut size, mut depth) = (self.init, 0u32);
        // groups[2k]: reads of level k; groups[2k + 1]: adds first read at level k + 1.
        let mut groups: Vec<Vec<u32>> = vec![Vec::new()];
        for (op, elements) in reads {
            let known = elements.iter().filter(|&&e| level[e as usize].is_some()).count();
            if known != size {
                return None; // the last level is not contained in this read
            }
            if elements.len() > size {
                depth += 1;
                size = elements.len();
                let mut adds = Vec::new();
                for &e in elements {
                    if level[e as usize].is_some() {
                        continue;
                    }
                    level[e as usize] = Some(depth);
                    match self.writers.get(e)? {
                        Ok(add) if cut.invoked(add as usize) => adds.push(add),
                        _ => return None,
                    }
                }
                groups.push(adds);
                groups.push(Vec::new());
            }
            groups.last_mut().expect("a group").push(op as u32);
        }
        let unread = (0..self.ops.len())
            .filter(|&op| matches!(self.ops[op], Op::Add(e) if cut.ok(op) && level[e as usize].is_none()));
        groups.push(unread.map(|op| op as u32).collect());
        let mut block = Block { initial: true, groups: Vec::new() };
        groups.into_iter().for_each(|g| block.push(g));
        Some(Shape::Blocks(vec![block]))
    }
}
