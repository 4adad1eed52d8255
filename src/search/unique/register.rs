//! `register` and `cas-register` with unique written values.
//!
//! Precondition: every value written (by a `:write`, or as a `:cas`'s new value)
//! is written once, and differs from the initial value. A read of nil that means
//! "unknown" ([`NilReads::Unknown`]) is legal anywhere and changes nothing, so it
//! is left out.
//!
//! **Blocks.** A value `v` has one writer `w(v)` (an operation, or the initial
//! state), and in a legal sequence every read of `v` and the cas from `v` (there is
//! at most one: after it the register holds a new value, and `v` is never written
//! again) come after `w(v)` and before the next operation that writes. So a legal
//! sequence is a concatenation of blocks, each a plain write or the initial state
//! followed by its chain: the reads of its value, the cas from its value, the reads
//! of that cas's value, and so on; and every such concatenation is legal. Two kept
//! cas from one value, a cycle of cas with no write at its head, or a read of a
//! value nobody writes make a cut impossible.
//!
//! **What is left out.** A pending read changes nothing. A pending write or cas
//! whose value no kept read or cas observes is left out: in a legal sequence it is
//! followed (up to the next write) by nothing that reads its value, so removing it
//! leaves the sequence legal. Kept pending operations are found from the `:ok` ones
//! by following observed values to their writers.

use super::{written_twice, Block, Cut, Decline, Ids, Reduce, Shape, Writers};
use crate::history::History;
use crate::model::NilReads;
use crate::value::Value;

#[derive(Clone, Copy, Debug)]
enum Op {
    Write(u32),
    Read(u32),
    Cas(u32, u32),
    /// A read of nil meaning unknown: legal anywhere.
    Skip,
}

pub(super) struct Register {
    ops: Vec<Op>,
    writers: Writers,
    init: u32,
    values: usize,
}

impl Register {
    pub(super) fn new<'a>(
        history: &'a History,
        values: Vec<&'a Value>,
        init: &'a Value,
        cas: bool,
        nil_reads: NilReads,
    ) -> Result<Register, Decline> {
        let mut ids = Ids::default();
        let mut writers = Writers::new();
        let init_id = ids.id(init);
        let _ = writers.set(init_id, Err(()));
        let mut ops = Vec::with_capacity(values.len());
        for (i, value) in values.into_iter().enumerate() {
            let operation = &history.operations[i];
            let (op, written) = match (operation.f.as_name(), value.as_seq()) {
                (Some("read"), _) if nil_reads.is_unknown(value) => (Op::Skip, None),
                (Some("read"), _) => (Op::Read(ids.id(value)), None),
                (Some("write"), _) => (Op::Write(ids.id(value)), Some(value)),
                (Some("cas"), Some([old, new])) if cas => (Op::Cas(ids.id(old), ids.id(new)), Some(new)),
                _ => return Err(Decline::new("an operation the register engine does not know", Some(i))),
            };
            if let (Some(v), Op::Write(id) | Op::Cas(_, id)) = (written, op) {
                writers.set(id, Ok(i as u32)).map_err(|earlier| written_twice(history, v, earlier, i))?;
            }
            ops.push(op);
        }
        Ok(Register { ops, writers, init: init_id, values: ids.len() })
    }
}

impl Reduce for Register {
    fn reduce(&self, cut: Cut) -> Option<Shape> {
        let n = self.ops.len();
        let mut kept = vec![false; n];
        let mut stack: Vec<usize> =
            (0..n).filter(|&o| cut.ok(o) && !matches!(self.ops[o], Op::Skip)).collect();
        stack.iter().for_each(|&o| kept[o] = true);
        while let Some(op) = stack.pop() {
            let (Op::Read(v) | Op::Cas(v, _)) = self.ops[op] else { continue };
            match self.writers.get(v)? {
                Err(()) => {}
                Ok(w) if !cut.invoked(w as usize) => return None,
                Ok(w) if !kept[w as usize] => {
                    kept[w as usize] = true;
                    stack.push(w as usize);
                }
                Ok(_) => {}
            }
        }
        let mut readers: Vec<Vec<u32>> = vec![Vec::new(); self.values];
        let mut cas_from: Vec<Option<u32>> = vec![None; self.values];
        let mut heads = Vec::new();
        let mut cases = 0;
        for op in (0..n).filter(|&o| kept[o]) {
            match self.ops[op] {
                Op::Read(v) => readers[v as usize].push(op as u32),
                Op::Cas(v, _) => {
                    cases += 1;
                    if cas_from[v as usize].replace(op as u32).is_some() {
                        return None;
                    }
                }
                Op::Write(_) => heads.push(op as u32),
                Op::Skip => {}
            }
        }
        let mut chained = 0;
        let mut chain = |mut block: Block, mut v: u32| {
            loop {
                block.push(std::mem::take(&mut readers[v as usize]));
                let Some(c) = cas_from[v as usize] else { break };
                block.push(vec![c]);
                chained += 1;
                let Op::Cas(_, new) = self.ops[c as usize] else { unreachable!("a cas") };
                v = new;
            }
            block
        };
        let mut blocks = vec![chain(Block { initial: true, groups: Vec::new() }, self.init)];
        for head in heads {
            let Op::Write(v) = self.ops[head as usize] else { unreachable!("a write") };
            blocks.push(chain(Block::headed(head), v));
        }
        // A kept cas no chain reaches is on a cycle of cas with no write at its head.
        (chained == cases).then_some(Shape::Blocks(blocks))
    }
}
