//! `fifo-queue` with unique enqueued values.
//!
//! Precondition: each element is enqueued by one operation and is not among the
//! initial elements, which are distinct. The initial elements are enqueues of
//! their own, before everything and in their order.
//!
//! **What is kept.** Every `:ok` enqueue and dequeue; a pending enqueue whose
//! element an `:ok` dequeue returns; as optional, a pending dequeue of an element
//! that no `:ok` dequeue returns (a dequeue `:ok` after the cut is pending in it, and
//! may have happened); and, as optional too, every pending dequeue of unknown result
//! (a crashed dequeue of nil: it takes the head at any point after its invocation, or
//! never; see [the model](crate::model::FifoQueue)). A pending enqueue no `:ok`
//! dequeue returns is left out with whatever dequeue took its element, if one did:
//! removing both from a legal sequence leaves it legal, since no other dequeue found
//! that element at the head, and while it was in the queue no dequeue of unknown
//! result found the queue empty.
//!
//! **Deadlines.** Call `x` *ahead of* an `:ok` dequeue of `y` when `x`'s kept enqueue
//! completed before `y`'s began: `x` is then ahead of `y` in the queue in every
//! linearization, and must be gone before `y`'s dequeue, hence by its completion;
//! let `D(x)` be the earliest such completion (never, if `x` is ahead of none).
//!
//! **Deciding.** The engine builds a sequence greedily, front to back, and proves
//! each answer independently of how it was found. An operation *may go* when it is
//! invoked before every unplaced `:ok` operation completes. At each step, with `h` at
//! the head of the queue:
//!
//! - If `h`'s own dequeue may go, it is placed. That is never wrong: in any legal
//!   completion of the sequence, the operations before the dequeue that takes `h`
//!   are enqueues (any dequeue takes `h`), so moving `h`'s own dequeue to the front,
//!   and dropping the dequeue of unknown result that took `h` instead, if one did,
//!   keeps it legal; and a completion that never takes `h` dequeues nothing more,
//!   so adding an optional dequeue of `h` changes nothing either.
//! - Else, if `h` has no required dequeue and a dequeue of unknown result may go, it
//!   takes `h`, when `h` has no dequeue of its own or nothing else may go. With no
//!   own dequeue that is never wrong: a legal completion takes `h` first by some
//!   dequeue of unknown result `u'` (or never, and then has no dequeue at all), and
//!   the chosen `u` can stand in for `u'`, `u'` taking `u`'s later place if the
//!   completion used `u` (`u'` stood earlier, so its invocation allows it there).
//!   With nothing else able to go, a completion's next operation is such a dequeue.
//! - Otherwise an enqueue is placed: of those that may go, the one whose element
//!   must be gone first (by its required dequeue's completion or by `D(x)`,
//!   whichever is earlier; an element that need never go, last), and of those, the
//!   one whose enqueue must complete first. This choice is a heuristic: it is what
//!   may leave the engine stuck on a valid cut.
//!
//! The sequence it finds is legal by construction, so a *valid* answer is proved by
//! it. When it is stuck, the engine looks for a violation every linearization
//! would have. An `x` with a required dequeue can go only by it (an element is
//! dequeued once), so that dequeue must begin before `D(x)`. Any other `x` goes by
//! its own optional dequeue, if it begins before `D(x)`, or else by a distinct
//! dequeue of unknown result begun before `D(x)`: so for every `t`, the elements of
//! the latter kind with `D(x) ≤ t` may not outnumber the dequeues of unknown result
//! begun before `t` (Hall's condition: the dequeues able to take such elements are
//! nested, growing with `D(x)`). A failure of either is a proof of *invalid*. (With
//! no dequeue of unknown result, these are among the bad patterns of Henzinger,
//! Sezgin and Vafeiadis, *Aspect-oriented linearizability proofs*, 2013, for queues
//! without empty dequeues, together with a dequeue of an element never enqueued
//! before it completed, or of one element twice.) Neither found, the engine declines
//! and the search decides; the differential tests check that this does not happen
//! on thousands of random histories.

use super::queue::{Op, Queue};
use super::{Cut, Reduce, Shape, NEVER};
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

/// The fifo queue's reduction.
pub(super) struct Fifo(pub(super) Queue);

/// A kept element: its enqueue's times and its dequeue, as the greedy sees them.
#[derive(Clone, Copy)]
struct Element {
    /// The enqueue (`None`: initial).
    enqueue: Option<u32>,
    inv: i64,
    ret: i64,
    /// The `:ok` dequeue, or else an optional pending one.
    dequeue: Option<u32>,
    required: bool,
}

impl Reduce for Fifo {
    fn reduce(&self, cut: Cut) -> Option<Shape> {
        // Kept elements, by value id: initial ones get times before everything, in order.
        let mut elements: Vec<Option<Element>> = vec![None; self.0.values];
        for (v, e) in elements.iter_mut().enumerate().take(self.0.init) {
            let inv = 2 * (v as i64 - self.0.init as i64) - 1;
            *e = Some(Element { enqueue: None, inv, ret: inv + 1, dequeue: None, required: false });
        }
        for op in (0..self.0.ops.len()).filter(|&o| cut.ok(o)) {
            let Op::Dequeue(v) = self.0.ops[op] else { continue };
            let element = match (self.0.writers.get(v)?, &mut elements[v as usize]) {
                (_, Some(e)) if e.required => return None, // dequeued twice
                (_, Some(e)) => e,
                (Ok(e), slot) if cut.invoked(e as usize) => slot.insert(Element {
                    enqueue: Some(e),
                    inv: cut.inv(e),
                    ret: cut.ret(e),
                    dequeue: None,
                    required: false,
                }),
                _ => return None, // enqueued after the cut
            };
            element.dequeue = Some(op as u32);
            element.required = true;
        }
        for op in (0..self.0.ops.len()).filter(|&o| cut.invoked(o)) {
            match self.0.ops[op] {
                Op::Enqueue(v) if cut.ok(op) && elements[v as usize].is_none() => {
                    let (inv, ret) = (cut.inv(op as u32), cut.ret(op as u32));
                    let e = Element { enqueue: Some(op as u32), inv, ret, dequeue: None, required: false };
                    elements[v as usize] = Some(e);
                }
                _ => {}
            }
        }
        // Pending dequeues of unknown result, by invocation (as operations are).
        let mut unknown = Vec::new();
        for op in (0..self.0.ops.len()).filter(|&o| cut.invoked(o) && !cut.ok(o)) {
            match self.0.ops[op] {
                Op::Dequeue(v) => {
                    let slot = elements.get_mut(v as usize).and_then(Option::as_mut);
                    if let Some(e) = slot.filter(|e| !e.required) {
                        e.dequeue.get_or_insert(op as u32);
                    }
                }
                Op::DequeueUnknown => unknown.push(op as u32),
                Op::Enqueue(_) => {}
            }
        }
        let elements: Vec<Element> = elements.into_iter().flatten().collect();
        let gone_by = gone_by(&elements, cut);
        match greedy(&elements, &gone_by, &unknown, cut) {
            Some(witness) => Some(Shape::Linearized(witness)),
            None if violated(&elements, &gone_by, &unknown, cut) => None,
            None => Some(Shape::Undecided),
        }
    }
}

/// The greedy sequence of the module docs, or `None` if it gets stuck; `unknown`:
/// the dequeues of unknown result, by invocation.
fn greedy(elements: &[Element], gone_by: &[i64], unknown: &[u32], cut: Cut) -> Option<Vec<u32>> {
    let deadline = |i: usize| match (elements[i].required, elements[i].dequeue) {
        (true, Some(d)) => cut.ret(d).min(gone_by[i]),
        _ => gone_by[i],
    };
    // Unplaced operations that must be placed, by completion: an operation may go
    // next when it is invoked before every other one of them completes.
    let mut unplaced: BTreeSet<(i64, u32)> = BTreeSet::new();
    for (i, e) in elements.iter().enumerate() {
        unplaced.insert((e.ret, 2 * i as u32));
        if let (true, Some(d)) = (e.required, e.dequeue) {
            unplaced.insert((cut.ret(d), 2 * i as u32 + 1));
        }
    }
    let free = |unplaced: &BTreeSet<(i64, u32)>, inv: i64, me: (i64, u32)| {
        let mut first = unplaced.iter().filter(|&&o| o != me);
        first.next().is_none_or(|&(ret, _)| inv < ret)
    };
    let mut by_inv: Vec<usize> = (0..elements.len()).collect();
    by_inv.sort_unstable_by_key(|&i| elements[i].inv);
    let mut by_inv = by_inv.into_iter().peekable();
    let mut ready: BinaryHeap<Reverse<(i64, i64, usize)>> = BinaryHeap::new();
    // Dequeues of unknown result that may go (once one may, it may ever after: the
    // earliest unplaced completion only grows), and those not yet.
    let (mut may_go, mut unknown) = (Vec::new(), unknown.iter().copied().peekable());
    let mut queue = std::collections::VecDeque::new();
    let mut witness = Vec::new();
    while !unplaced.is_empty() {
        let earliest = unplaced.first().map_or(NEVER, |&(ret, _)| ret);
        while let Some(i) = by_inv.next_if(|&i| elements[i].inv < earliest) {
            ready.push(Reverse((deadline(i), elements[i].ret, i)));
        }
        may_go.extend(std::iter::from_fn(|| unknown.next_if(|&u| cut.inv(u) < earliest)));
        if let Some(&head) = queue.front() {
            let e: &Element = &elements[head];
            if let Some(d) = e.dequeue {
                let me = (if e.required { cut.ret(d) } else { NEVER }, 2 * head as u32 + 1);
                if free(&unplaced, cut.inv(d), me) {
                    unplaced.remove(&me);
                    queue.pop_front();
                    witness.push(d);
                    continue;
                }
            }
            if !e.required && (e.dequeue.is_none() || ready.is_empty()) {
                if let Some(u) = may_go.pop() {
                    queue.pop_front();
                    witness.push(u);
                    continue;
                }
            }
        }
        let Reverse((_, _, i)) = ready.pop()?;
        unplaced.remove(&(elements[i].ret, 2 * i as u32));
        queue.push_back(i);
        witness.extend(elements[i].enqueue);
    }
    Some(witness)
}

/// For each element, `D(x)` of the module docs: the earliest completion of a
/// required dequeue of an element whose enqueue began after `x`'s completed, by
/// which `x` must be gone (`NEVER` if none).
fn gone_by(elements: &[Element], cut: Cut) -> Vec<i64> {
    // The required elements by their enqueue's invocation, with the earliest
    // completion of their dequeues from each on.
    let mut required: Vec<(i64, i64)> =
        elements.iter().filter_map(|e| Some((e.inv, cut.ret(e.dequeue.filter(|_| e.required)?)))).collect();
    required.sort_unstable();
    let mut earliest = vec![NEVER; required.len() + 1];
    for i in (0..required.len()).rev() {
        earliest[i] = earliest[i + 1].min(required[i].1);
    }
    elements.iter().map(|e| earliest[required.partition_point(|&(inv, _)| inv <= e.ret)]).collect()
}

/// Whether some element must be gone before a completion that no dequeue able to
/// take it precedes (see the module docs); `unknown`: the dequeues of unknown
/// result, by invocation.
fn violated(elements: &[Element], gone_by: &[i64], unknown: &[u32], cut: Cut) -> bool {
    // The deadlines of the elements only a dequeue of unknown result can take in time.
    let mut needy = Vec::new();
    for (e, &by) in elements.iter().zip(gone_by) {
        let own = e.dequeue.map_or(NEVER, |d| cut.inv(d));
        if by == NEVER || own < by {
            continue;
        }
        if e.required {
            return true;
        }
        needy.push(by);
    }
    needy.sort_unstable();
    let begun = |t: i64| unknown.partition_point(|&u| cut.inv(u) < t);
    needy.iter().enumerate().any(|(k, &t)| begun(t) <= k)
}
