//! `unordered-queue` with unique enqueued values, and the queue operations both
//! queue engines read ([`Queue`]; the fifo queue's is in `fifo`).
//!
//! Precondition: each element is enqueued by one operation and is not among the
//! initial elements, which are distinct.
//!
//! **Pairs.** A dequeue of `x` is legal exactly when `x` is pending: enqueued
//! before it (or initial) and not dequeued since. With each element enqueued once, a
//! sequence is legal iff each dequeue follows its enqueue and no element is
//! dequeued twice. In real time that needs only `inv(enqueue x) < ret(dequeue x)`
//! for each pair: real-time order is an interval order, and a cycle of it with the
//! pair edges would chain `inv(e₁) < ret(d₁) < inv(e₂) < … < inv(e₁)`. The engine
//! places each enqueue just after its invocation and each dequeue just before its
//! completion, which satisfies both.
//!
//! **What is left out.** A pending dequeue, of a known element or of unknown result
//! (a crashed dequeue of nil, see [the model](crate::model::UnorderedQueue)):
//! removing a dequeue from a legal sequence leaves more elements pending, and no
//! operation needs an element to be absent (the model's docs prove it for dequeues of
//! unknown result). A pending enqueue whose element no `:ok` dequeue returns: removing
//! it removes an element nobody takes.
//!
//! **Declined.** An `:ok` dequeue of unknown result (an `:ok` dequeue of nil), in
//! either queue: it must be linearized, taking an element or finding the queue
//! empty, and neither reduction says which. Jepsen's clients end a dequeue of an
//! empty queue `:fail`, so such histories are rare; the searches decide them.

use super::{written_twice, Cut, Decline, Ids, Reduce, Shape, Writers};
use crate::history::History;
use crate::model::NilReads;
use crate::value::Value;

/// A queue operation, with its element's id.
pub(super) enum Op {
    Enqueue(u32),
    Dequeue(u32),
    /// A crashed dequeue of unknown result.
    DequeueUnknown,
}

/// A queue history's operations, for both queues: each element enqueued once.
pub(super) struct Queue {
    pub(super) ops: Vec<Op>,
    /// The enqueue of each element (`Err(())`: initial).
    pub(super) writers: Writers,
    /// How many distinct elements there are.
    pub(super) values: usize,
    /// How many initial elements there are: value ids `0..init`, oldest first.
    pub(super) init: usize,
}

impl Queue {
    /// The operations, or why the engine does not apply (an element enqueued twice,
    /// or twice among the initial ones, or an `:ok` dequeue of unknown result).
    pub(super) fn new<'a>(
        history: &'a History,
        values: Vec<&'a Value>,
        init: &[&'a Value],
        nil_reads: NilReads,
    ) -> Result<Queue, Decline> {
        let mut ids = Ids::default();
        let mut writers = Writers::new();
        for e in init {
            writers.set(ids.id(e), Err(())).map_err(|_| {
                Decline::new(format!("the initial queue holds {} twice", e.to_edn_short(60)), None)
            })?;
        }
        let mut ops = Vec::with_capacity(values.len());
        for (i, value) in values.into_iter().enumerate() {
            let id = ids.id(value);
            ops.push(match history.operations[i].f.as_name() {
                Some("enqueue") => {
                    writers
                        .set(id, Ok(i as u32))
                        .map_err(|earlier| written_twice(history, value, earlier, i))?;
                    Op::Enqueue(id)
                }
                Some("dequeue") if nil_reads.is_unknown(value) => match history.operations[i].complete {
                    None => Op::DequeueUnknown,
                    Some(_) => {
                        let m = "an :ok dequeue of nil has an unknown result, which the engine cannot place";
                        return Err(Decline::new(m, Some(i)));
                    }
                },
                Some("dequeue") => Op::Dequeue(id),
                _ => return Err(Decline::new("an operation the queue engine does not know", Some(i))),
            });
        }
        Ok(Queue { ops, writers, values: ids.len(), init: init.len() })
    }
}

/// The unordered queue's reduction.
pub(super) struct Unordered(pub(super) Queue);

impl Reduce for Unordered {
    fn reduce(&self, cut: Cut) -> Option<Shape> {
        let mut dequeued = vec![false; self.0.values];
        let (mut pairs, mut free) = (Vec::new(), Vec::new());
        for (op, o) in self.0.ops.iter().enumerate().filter(|&(op, _)| cut.ok(op)) {
            let Op::Dequeue(v) = *o else { continue };
            if std::mem::replace(&mut dequeued[v as usize], true) {
                return None;
            }
            match self.0.writers.get(v)? {
                Err(()) => free.push(op as u32),
                Ok(e) if cut.invoked(e as usize) => pairs.push((e, op as u32)),
                Ok(_) => return None,
            }
        }
        for (op, o) in self.0.ops.iter().enumerate() {
            if let (&Op::Enqueue(v), true) = (o, cut.ok(op)) {
                if !dequeued[v as usize] {
                    free.push(op as u32);
                }
            }
        }
        Some(Shape::Pairs { pairs, free })
    }
}
