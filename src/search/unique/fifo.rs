//! `fifo-queue` with unique enqueued values.
//!
//! Precondition: each element is enqueued by one operation and is not among the
//! initial elements, which are distinct. The initial elements are enqueues of
//! their own, before everything and in their order.
//!
//! **What is kept.** Every `:ok` enqueue and dequeue; a pending enqueue whose
//! element an `:ok` dequeue returns; and, as optional, a pending dequeue of an
//! element that no `:ok` dequeue returns (a dequeue `:ok` after the cut is pending
//! in it, and may have happened). A pending enqueue no `:ok` dequeue returns is
//! left out with its pending dequeue, if any: removing both from a legal sequence
//! leaves it legal, since no other dequeue found that element at the head. Other
//! pending dequeues (of nil, say, as Jepsen records a crashed dequeue) never apply.
//!
//! **Deciding.** The engine builds a sequence greedily, front to back, and proves
//! each answer independently of how it was found:
//!
//! - At each step, if the element at the head of the queue has a dequeue that
//!   nothing still unplaced must precede in real time, it is placed. That is never
//!   wrong: in any legal completion of the sequence, the operations before that
//!   dequeue are enqueues (nothing else can be dequeued while that element is at the
//!   head), so moving the dequeue before them keeps it legal; and a completion
//!   without it (an optional dequeue) dequeues nothing more, so adding it changes
//!   nothing either.
//! - Otherwise an enqueue is placed: of those nothing unplaced must precede, the one
//!   whose dequeue must complete first (an enqueue never dequeued last).
//!
//! The sequence it finds is legal by construction, so a *valid* answer is proved by
//! it. When it is stuck, the engine looks for a violation every linearization
//! would have: an `:ok` dequeue of `y` and a kept enqueue of `x` that completed
//! before `y`'s enqueue began (so `x` is ahead of `y`), where no dequeue of `x` can
//! come before `y`'s: `x` has none, or its dequeue begins after `y`'s completed.
//! (Together with a dequeue of an element never enqueued before it completed, or of
//! one element twice, these are the bad patterns of Henzinger, Sezgin and
//! Vafeiadis, *Aspect-oriented linearizability proofs*, 2013, for queues without
//! empty dequeues.) Found, the answer *invalid* is proved by it. Neither found,
//! the engine declines and the search decides; the differential tests check that
//! this does not happen on thousands of random histories.

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
        for op in (0..self.0.ops.len()).filter(|&o| cut.invoked(o) && !cut.ok(o)) {
            if let Op::Dequeue(v) = self.0.ops[op] {
                if let Some(e) = elements.get_mut(v as usize).and_then(Option::as_mut).filter(|e| !e.required)
                {
                    e.dequeue.get_or_insert(op as u32);
                }
            }
        }
        let elements: Vec<Element> = elements.into_iter().flatten().collect();
        match greedy(&elements, cut) {
            Some(witness) => Some(Shape::Linearized(witness)),
            None if violated(&elements, cut) => None,
            None => Some(Shape::Undecided),
        }
    }
}

/// The greedy sequence of the module docs, or `None` if it gets stuck.
fn greedy(elements: &[Element], cut: Cut) -> Option<Vec<u32>> {
    let deadline = |e: &Element| match (e.required, e.dequeue) {
        (true, Some(d)) => cut.ret(d),
        _ => NEVER,
    };
    // Unplaced operations that must be placed, by completion: an operation is free
    // to go next when it is invoked before every other one of them completes.
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
    let mut queue = std::collections::VecDeque::new();
    let mut witness = Vec::new();
    while !unplaced.is_empty() {
        let earliest = unplaced.first().map_or(NEVER, |&(ret, _)| ret);
        while let Some(i) = by_inv.next_if(|&i| elements[i].inv < earliest) {
            ready.push(Reverse((deadline(&elements[i]), elements[i].inv, i)));
        }
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
        }
        let Reverse((_, _, i)) = ready.pop()?;
        unplaced.remove(&(elements[i].ret, 2 * i as u32));
        queue.push_back(i);
        witness.extend(elements[i].enqueue);
    }
    Some(witness)
}

/// Whether some `:ok` dequeue of `y` has a kept `x` ahead of it whose dequeue
/// cannot come first (see the module docs).
fn violated(elements: &[Element], cut: Cut) -> bool {
    // Kept enqueues by completion, with the latest "dequeue begins" among them so far.
    let mut by_ret: Vec<(i64, i64)> =
        elements.iter().map(|e| (e.ret, e.dequeue.map_or(NEVER, |d| cut.inv(d)))).collect();
    by_ret.sort_unstable();
    let mut latest = Vec::with_capacity(by_ret.len());
    by_ret.iter().fold(i64::MIN, |m, &(_, d)| {
        latest.push(m.max(d));
        m.max(d)
    });
    elements.iter().filter(|e| e.required).any(|y| {
        let ahead = by_ret.partition_point(|&(ret, _)| ret < y.inv);
        let y_ret = cut.ret(y.dequeue.expect("a required element has its dequeue"));
        ahead > 0 && latest[ahead - 1] > y_ret
    })
}
