//! Queues: `unordered-queue` (a multiset: any pending element may come out next) and
//! `fifo-queue` (first in, first out).
//!
//! Both take `:enqueue v` and `:dequeue v`, `v` being the element the dequeue
//! returned, and print their state as `{:pending [1 2]}`. The messages are Knossos's
//! words, with values printed as EDN (`can't dequeue nil`, where Knossos's `str`
//! prints nil as nothing).
//!
//! # A dequeue of nil
//!
//! Jepsen records a crashed dequeue (`:info`, or never completed) with its
//! invocation's value, nil: what it returned, if it took effect at all, is unknown.
//! With [`NilReads::Unknown`] (the default) a dequeue of nil is such a dequeue, of
//! unknown result: it handed out whatever the queue would have handed out at that
//! point, or found it empty. A step cannot tell a crashed operation from an `:ok` one,
//! so an `:ok` dequeue of nil means the same: it took an element or found the queue
//! empty, we do not know which (Jepsen's clients end a dequeue of an empty queue
//! `:fail`; an `:ok` with nil is a result lost some other way). With
//! [`NilReads::Absent`] nil is read literally, as Knossos reads it: a dequeue of nil
//! took the element nil, and is impossible on an empty queue.
//!
//! **FIFO.** A correct FIFO queue's dequeue returns its head, or nothing when it is
//! empty: there is no other outcome, so a dequeue of unknown result is the
//! deterministic step "take the head, if any". That is exact for an `:ok` one, and
//! for a crashed one too, since the searches linearize a crashed operation or leave
//! it out: taking the head at some point after its invocation, or never.
//!
//! **Unordered.** Here the outcome is a choice: any pending element may come out. The
//! state keeps every choice at once (the subset construction of
//! [`Model`](super::Model)'s docs), in a form that stays small: *layers*, oldest
//! first, each the multiset of elements enqueued between two dequeues of unknown
//! result and the number `t` of such dequeues that came right after it (`t ≥ 1` but
//! in the last layer). A dequeue of unknown result took an element of its own layer
//! or an earlier one, so the queue may hold exactly the multisets left when each of
//! those dequeues is matched to a distinct element of its layer or earlier ones (no
//! match at all: a correct queue cannot have done that). Each step keeps this exact:
//!
//! - *enqueue v* joins the last layer, or starts a new one after a dequeue of
//!   unknown result (which could not have taken `v`).
//! - a *dequeue of unknown result* on a queue whose size (elements less dequeues of
//!   unknown result: the same in every choice) is 0 found it empty and changes
//!   nothing; otherwise it adds one to the last layer's `t`.
//! - *dequeue v* is legal iff some choice still holds `v`, and takes the copy of
//!   `v` in the latest layer that has one. Latest is right: a choice that took an
//!   earlier copy for `v` and matched the latest one to a dequeue of unknown result
//!   `u` can give `u` the earlier copy instead (`u`'s layer is at or after the latest
//!   copy's, so at or after the earlier one's), leaving the same multiset. So the
//!   multisets after `v` are exactly those of the layers without that copy.
//!
//! A matching exists iff every prefix of layers holds at least as many elements as
//! the dequeues of unknown result it owes (Hall's condition: the layers a dequeue
//! may take from form a chain). Each state is kept with every prefix's *slack*
//! (elements less dequeues owed) at least 1, by two rewrites that change no
//! multiset: a prefix with slack 0 has all its elements taken, in every choice, and
//! is dropped; and a prefix of layers holding one value `x` alone, `c` copies owing
//! `t`, has `t` copies of `x` surely taken, and its `c − t` others may go to any
//! dequeue owed by the layers after it, as the next layer's elements may, so they
//! join that layer (or are the whole queue). With every slack at least 1, removing one copy anywhere
//! leaves every slack at least 0: so *dequeue v* is legal exactly when `v` is in some
//! layer, and a state with one layer owing nothing is a plain multiset, printed as
//! one; a state of several layers prints `{:pending [1 2 3], :unknown-dequeues 1}`,
//! the elements and how many of them the dequeues of unknown result took. (Two
//! states of layers may still stand for the same multisets; that costs the search a
//! cache hit, never a verdict.)
//!
//! A crashed dequeue never *helps* an unordered queue, whatever its value: if each
//! multiset `A` may hold is contained in one `B` may hold (`A ⊑ B`), every
//! operation legal from `A` is legal from `B` and leaves the two so related
//! (enqueues add to both; dequeue v finds `v` in `B`'s multiset too; a dequeue of
//! unknown result takes from `B`'s multiset the element it took from `A`'s, or any if
//! `A`'s was empty), and a dequeue steps a state to one `⊑` it. So leaving one out
//! of a legal sequence leaves it legal ([`Model::never_helps`]): the searches never
//! linearize a crashed one, and the unique-value engine
//! ([`search::unique`](crate::search::unique)) leaves pending ones out.

use super::{expected, function, labelled, why, Model, NilReads, Semantics};
use crate::value::Value;

/// A queue that hands out its pending elements in any order.
///
/// The state is a map from element to count (a multiset), so that two queues holding
/// the same elements enqueued in different orders are one state; after dequeues of
/// unknown result, its layers (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct UnorderedQueue {
    /// The initial elements with their counts.
    init: Vec<(Value, Value)>,
    nil_reads: NilReads,
}

/// A queue that hands out its pending elements oldest first.
#[derive(Clone, Debug, Default)]
pub struct FifoQueue {
    /// The initial elements, oldest first.
    init: Vec<Value>,
    nil_reads: NilReads,
}

/// The operations of both queues.
enum QueueOp<'a> {
    Enqueue(&'a Value),
    Dequeue(&'a Value),
    /// A dequeue of unknown result (see the module docs).
    DequeueUnknown,
}

fn parse<'a>(f: &Value, value: &'a Value, nil_reads: NilReads) -> Result<QueueOp<'a>, String> {
    match function(f, &["enqueue", "dequeue"])? {
        "enqueue" => Ok(QueueOp::Enqueue(value)),
        _ if nil_reads.is_unknown(value) => Ok(QueueOp::DequeueUnknown),
        _ => Ok(QueueOp::Dequeue(value)),
    }
}

/// The elements an `--init` lists, oldest first (none without one).
fn initial<'a>(model: &str, init: Option<&'a Value>) -> Result<&'a [Value], String> {
    match init {
        None => Ok(&[]),
        Some(init) => init
            .as_seq()
            .ok_or_else(|| expected(&format!("the initial state (`ModelOptions::init`, `--init`) for {model} must be a vector of elements"), init)),
    }
}

impl UnorderedQueue {
    /// A queue holding `init`'s elements (a vector or list; `None`: empty), whose
    /// dequeues of nil mean what `nil_reads` says.
    pub fn with_init(init: Option<&Value>, nil_reads: NilReads) -> Result<UnorderedQueue, String> {
        let mut layer = Layer::default();
        for e in initial("unordered-queue", init)? {
            layer.add(e, 1);
        }
        let init = layer.counts.into_iter().map(|(e, n)| (e, Value::Int(n))).collect();
        Ok(UnorderedQueue { init, nil_reads })
    }

    /// A step, with its inconsistency message if `explain` asks for it.
    fn apply(&self, state: &Value, f: &Value, value: &Value, explain: bool) -> Result<Value, String> {
        let mut layers = Layers::of(state);
        match parse(f, value, self.nil_reads)? {
            QueueOp::Enqueue(v) => layers.enqueue(v),
            QueueOp::DequeueUnknown => layers.dequeue_unknown(),
            QueueOp::Dequeue(v) if layers.dequeue(v) => {}
            QueueOp::Dequeue(v) => return Err(why(explain, || format!("can't dequeue {v}"))),
        }
        Ok(layers.into_value())
    }
}

/// Elements enqueued between two dequeues of unknown result, and how many such
/// dequeues came right after them (see the module docs).
#[derive(Clone, Debug, Default)]
struct Layer {
    counts: Vec<(Value, i64)>,
    taken: i64,
}

impl Layer {
    fn add(&mut self, e: &Value, n: i64) {
        match self.counts.iter_mut().find(|(x, _)| x == e) {
            Some((_, count)) => *count += n,
            None => self.counts.push((e.clone(), n)),
        }
    }
    fn len(&self) -> i64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }
    /// The value every element of the layer is, if there is one such.
    fn single_value(&self) -> Option<&Value> {
        match self.counts.as_slice() {
            [(x, _)] => Some(x),
            _ => None,
        }
    }
}

/// An unordered queue's state, oldest layer first.
struct Layers(Vec<Layer>);

impl Layers {
    fn of(state: &Value) -> Layers {
        let layer = |counts: &Value, taken| {
            let counts = match counts {
                Value::Map(counts) => {
                    counts.iter().map(|(e, n)| (e.clone(), n.as_i64().unwrap_or(0))).collect()
                }
                _ => Vec::new(),
            };
            Layer { counts, taken }
        };
        Layers(match state {
            Value::Vector(layers) => layers
                .iter()
                .filter_map(|l| match l.as_seq() {
                    Some([counts, Value::Int(taken)]) => Some(layer(counts, *taken)),
                    _ => None,
                })
                .collect(),
            counts => vec![layer(counts, 0)],
        })
    }

    fn into_value(self) -> Value {
        let counts = |l: Layer| Value::Map(l.counts.into_iter().map(|(e, n)| (e, Value::Int(n))).collect());
        let mut layers = self.0;
        match layers.len() {
            0 => Value::Map(Vec::new()),
            1 if layers[0].taken == 0 => counts(layers.remove(0)),
            _ => Value::Vector(
                layers
                    .into_iter()
                    .map(|l| {
                        let taken = Value::Int(l.taken);
                        Value::Vector(vec![counts(l), taken])
                    })
                    .collect(),
            ),
        }
    }

    fn enqueue(&mut self, v: &Value) {
        match self.0.last_mut() {
            Some(last) if last.taken == 0 => last.add(v, 1),
            _ => self.0.push(Layer { counts: vec![(v.clone(), 1)], taken: 0 }),
        }
    }

    fn dequeue_unknown(&mut self) {
        let size: i64 = self.0.iter().map(|l| l.len() - l.taken).sum();
        if let Some(last) = self.0.last_mut().filter(|_| size > 0) {
            last.taken += 1;
            self.normalize();
        }
    }

    /// Takes `v` from the latest layer holding it; whether one does.
    fn dequeue(&mut self, v: &Value) -> bool {
        let Some(layer) = self.0.iter_mut().rev().find(|l| l.counts.iter().any(|(x, _)| x == v)) else {
            return false;
        };
        layer.add(v, -1);
        layer.counts.retain(|&(_, n)| n > 0);
        self.normalize();
        true
    }

    /// Restores every prefix's slack to at least 1 and merges a leading run of one
    /// value (the rewrites of the module docs).
    fn normalize(&mut self) {
        let layers = &mut self.0;
        // An empty layer's dequeues may take what the layer before it may.
        for i in (1..layers.len()).rev() {
            if layers[i].counts.is_empty() {
                let taken = layers.remove(i).taken;
                layers[i - 1].taken += taken;
            }
        }
        let (mut slack, mut spent) = (0, 0);
        for (i, l) in layers.iter().enumerate() {
            slack += l.len() - l.taken;
            if slack <= 0 {
                spent = i + 1;
            }
        }
        layers.drain(..spent);
        let Some(x) = layers.first().and_then(Layer::single_value).cloned() else { return };
        let run = layers.iter().take_while(|l| l.single_value() == Some(&x)).count();
        let left: i64 = layers.drain(..run).map(|l| l.len() - l.taken).sum();
        match layers.first_mut() {
            Some(next) => next.add(&x, left),
            None => layers.push(Layer { counts: vec![(x, left)], taken: 0 }),
        }
    }
}

impl Model for UnorderedQueue {
    type State = Value;

    fn name(&self) -> &str {
        "unordered-queue"
    }
    fn init(&self) -> Value {
        Value::Map(self.init.clone())
    }
    fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
        parse(f, value, self.nil_reads).map(|_| ())
    }
    step_by_apply!();
    fn render(&self, state: &Value) -> Value {
        let layers = Layers::of(state);
        let pending = layers
            .0
            .iter()
            .flat_map(|l| &l.counts)
            .flat_map(|(e, n)| std::iter::repeat_n(e, (*n).max(0) as usize))
            .cloned()
            .collect();
        let taken: i64 = layers.0.iter().map(|l| l.taken).sum();
        match taken {
            0 => labelled("pending", &Value::Vector(pending)),
            _ => {
                Value::kw_map([("pending", Value::Vector(pending)), ("unknown-dequeues", Value::Int(taken))])
            }
        }
    }
    fn never_helps(&self, f: &Value, value: &Value) -> bool {
        matches!(parse(f, value, self.nil_reads), Ok(QueueOp::Dequeue(_) | QueueOp::DequeueUnknown))
    }
    fn semantics(&self) -> Option<Semantics<'_>> {
        let n = |count: &Value| count.as_i64().unwrap_or(0).max(0) as usize;
        let init = self.init.iter().flat_map(|(e, count)| std::iter::repeat_n(e, n(count))).collect();
        Some(Semantics::Queue { init, fifo: false, nil_reads: self.nil_reads })
    }
    fn state_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }
}

impl FifoQueue {
    /// A queue holding `init`'s elements (a vector or list, oldest first; `None`:
    /// empty), whose dequeues of nil mean what `nil_reads` says.
    pub fn with_init(init: Option<&Value>, nil_reads: NilReads) -> Result<FifoQueue, String> {
        Ok(FifoQueue { init: initial("fifo-queue", init)?.to_vec(), nil_reads })
    }

    /// A step, with its inconsistency message if `explain` asks for it.
    fn apply(&self, state: &Value, f: &Value, value: &Value, explain: bool) -> Result<Value, String> {
        let pending = state.as_seq().unwrap_or_default();
        match parse(f, value, self.nil_reads)? {
            QueueOp::Enqueue(v) => Ok(Value::Vector(pending.iter().chain([v]).cloned().collect())),
            QueueOp::DequeueUnknown => Ok(Value::Vector(pending.get(1..).unwrap_or_default().to_vec())),
            QueueOp::Dequeue(v) => match pending.split_first() {
                None => Err(why(explain, || format!("can't dequeue {v} from empty queue"))),
                Some((head, rest)) if head == v => Ok(Value::Vector(rest.to_vec())),
                Some(_) => Err(why(explain, || format!("can't dequeue {v}"))),
            },
        }
    }
}

impl Model for FifoQueue {
    type State = Value;

    fn name(&self) -> &str {
        "fifo-queue"
    }
    fn init(&self) -> Value {
        Value::Vector(self.init.clone())
    }
    fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
        parse(f, value, self.nil_reads).map(|_| ())
    }
    step_by_apply!();
    fn render(&self, state: &Value) -> Value {
        labelled("pending", state)
    }
    fn semantics(&self) -> Option<Semantics<'_>> {
        Some(Semantics::Queue { init: self.init.iter().collect(), fifo: true, nil_reads: self.nil_reads })
    }
    fn state_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::step_or_why;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeSet;

    fn steps<M: Model<State = Value>>(m: &M, ops: &[(&str, Value)]) -> Result<Value, String> {
        ops.iter().try_fold(m.init(), |s, (f, v)| step_or_why(m, &s, &Value::keyword(f), v))
    }

    fn enq(n: i64) -> (&'static str, Value) {
        ("enqueue", Value::Int(n))
    }

    fn deq(n: i64) -> (&'static str, Value) {
        ("dequeue", Value::Int(n))
    }

    const DEQ_NIL: (&str, Value) = ("dequeue", Value::Nil);

    #[test]
    fn unordered_queue_dequeues_any_pending_element_once() {
        let m = UnorderedQueue::default();
        let s = steps(&m, &[enq(1), enq(2), enq(1), deq(2)]).unwrap();
        assert_eq!(m.render(&s).to_edn(), "{:pending [1 1]}");
        assert!(steps(&m, &[enq(1), enq(1), deq(1), deq(1)]).is_ok());
        assert_eq!(steps(&m, &[enq(1), deq(1), deq(1)]), Err("can't dequeue 1".into()));
        // enqueue order does not matter: one state
        let a = steps(&m, &[enq(1), enq(2)]).unwrap();
        let b = steps(&m, &[enq(2), enq(1)]).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn a_dequeue_of_nil_takes_an_unknown_element_or_finds_the_queue_empty() {
        let m = UnorderedQueue::default();
        // Empty: nothing changes.
        assert_eq!(steps(&m, &[DEQ_NIL]), Ok(m.init()));
        // One of 1 and 2 is gone: either may be dequeued, not both.
        let s = steps(&m, &[enq(1), enq(2), DEQ_NIL]).unwrap();
        assert_eq!(m.render(&s).to_edn(), "{:pending [1 2], :unknown-dequeues 1}");
        assert_eq!(steps(&m, &[enq(1), enq(2), DEQ_NIL, deq(2)]), Ok(Value::Map(Vec::new())));
        assert_eq!(steps(&m, &[enq(1), enq(2), DEQ_NIL, deq(1), deq(2)]), Err("can't dequeue 2".into()));
        // It could not take 3, enqueued after it.
        assert_eq!(steps(&m, &[enq(1), DEQ_NIL, enq(3), deq(1)]), Err("can't dequeue 1".into()));
        // Equal elements leave no choice: a plain multiset again.
        assert_eq!(steps(&m, &[enq(1), enq(1), DEQ_NIL]), steps(&m, &[enq(1)]));
        // Read literally, nil is an element.
        let absent = UnorderedQueue { nil_reads: NilReads::Absent, ..UnorderedQueue::default() };
        assert_eq!(steps(&absent, &[enq(1), DEQ_NIL]), Err("can't dequeue nil".into()));
        assert_eq!(steps(&absent, &[("enqueue", Value::Nil), DEQ_NIL]), Ok(absent.init()));
    }

    /// A multiset, as its elements' EDN in order.
    type Multiset = Vec<String>;

    /// Every multiset an unordered queue's state may hold, from its layers by brute
    /// force: each layer's dequeues of unknown result take distinct elements of it
    /// or earlier layers.
    fn choices(state: &Value) -> BTreeSet<Multiset> {
        fn go(layers: &[Layer], i: usize, pool: Multiset, owed: i64, out: &mut BTreeSet<Multiset>) {
            if owed > 0 {
                for k in 0..pool.len() {
                    let mut rest = pool.clone();
                    rest.remove(k);
                    go(layers, i, rest, owed - 1, out);
                }
            } else if let Some(layer) = layers.get(i) {
                let mut pool = pool;
                for (e, n) in &layer.counts {
                    pool.extend(std::iter::repeat_n(e.to_edn(), *n as usize));
                }
                go(layers, i + 1, pool, layer.taken, out);
            } else {
                let mut pool = pool;
                pool.sort();
                out.insert(pool);
            }
        }
        let mut out = BTreeSet::new();
        go(&Layers::of(state).0, 0, Vec::new(), 0, &mut out);
        out
    }

    #[test]
    fn layers_hold_exactly_the_multisets_every_choice_leaves() {
        // Beside the model, the set of every multiset the queue may hold (the subset
        // construction itself), stepped by brute force.
        let m = UnorderedQueue::default();
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..2000 {
            let mut state = m.init();
            let mut all: BTreeSet<Multiset> = [Vec::new()].into();
            for _ in 0..rng.random_range(1..12) {
                let v = Value::Int(rng.random_range(0..3));
                let (f, value) = match rng.random_range(0..3) {
                    0 => ("enqueue", v.clone()),
                    1 => ("dequeue", v.clone()),
                    _ => ("dequeue", Value::Nil),
                };
                let next: BTreeSet<Multiset> = all
                    .iter()
                    .flat_map(|q| {
                        let without = |i: usize| {
                            let mut q = q.clone();
                            q.remove(i);
                            q
                        };
                        match (f, &value) {
                            ("enqueue", _) => {
                                let mut q = q.clone();
                                q.push(v.to_edn());
                                q.sort();
                                vec![q]
                            }
                            (_, Value::Nil) if q.is_empty() => vec![q.clone()],
                            (_, Value::Nil) => (0..q.len()).map(without).collect(),
                            _ => q.iter().position(|x| *x == v.to_edn()).map(without).into_iter().collect(),
                        }
                    })
                    .collect();
                let stepped = m.step(&state, &Value::keyword(f), &value);
                assert_eq!(stepped.is_some(), !next.is_empty(), "{f} {value} from {state}");
                let Some(stepped) = stepped else { break };
                assert_eq!(choices(&stepped), next, "{f} {value} from {state} to {stepped}");
                (state, all) = (stepped, next);
            }
        }
    }

    #[test]
    fn fifo_queue_dequeues_the_oldest() {
        let m = FifoQueue::default();
        let s = steps(&m, &[enq(1), enq(2)]).unwrap();
        assert_eq!(m.render(&s).to_edn(), "{:pending [1 2]}");
        assert_eq!(
            step_or_why(&m, &s, &Value::keyword("dequeue"), &Value::Int(2)),
            Err("can't dequeue 2".into())
        );
        assert_eq!(steps(&m, &[deq(3)]), Err("can't dequeue 3 from empty queue".into()));
        let s = steps(&m, &[enq(1), enq(2), deq(1)]).unwrap();
        assert_eq!(m.render(&s).to_edn(), "{:pending [2]}");
        let e = m.check_op(&Value::keyword("peek"), &Value::Nil).unwrap_err();
        assert!(e.contains(":enqueue and :dequeue"), "{e}");
    }

    #[test]
    fn a_fifo_dequeue_of_nil_takes_the_head_or_finds_the_queue_empty() {
        let m = FifoQueue::default();
        assert_eq!(steps(&m, &[enq(1), enq(2), DEQ_NIL]), steps(&m, &[enq(2)]));
        assert_eq!(steps(&m, &[DEQ_NIL]), Ok(m.init()));
        let absent = FifoQueue { nil_reads: NilReads::Absent, ..FifoQueue::default() };
        assert_eq!(steps(&absent, &[enq(1), DEQ_NIL]), Err("can't dequeue nil".into()));
        assert_eq!(steps(&absent, &[DEQ_NIL]), Err("can't dequeue nil from empty queue".into()));
        assert_eq!(steps(&absent, &[("enqueue", Value::Nil), enq(1), DEQ_NIL]), steps(&absent, &[enq(1)]));
    }
}
