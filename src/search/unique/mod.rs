//! Deciding histories whose written values are unique, in polynomial time.
//!
//! The search is exponential in concurrency and in crashed operations because it
//! must try orders. When every value is written once (Jepsen's queue and set
//! workloads enqueue and add distinct integers, Porcupine's kv tests append
//! distinct strings, a register test can write distinct values), a value read names
//! the one operation that wrote it, and most of the order is forced. This engine
//! reduces such a history to a small structure whose feasibility is checked in
//! O(n log n), gives the search's verdict exactly, and declines cheaply (a value
//! written twice, an operation it does not cover) so that the search runs as
//! usual. Kv goes further: where a few values are written twice, or a put's string
//! is also an appended chunk, a get's string no longer names its writers, and the
//! `kv` module tries each consistent choice of them (exactly, up to a cap past which
//! it declines); Porcupine's `c50` kv histories are such.
//!
//! # Cuts
//!
//! Everything here is asked of a *cut* of the history: the events (invocations
//! and completions) before a position `at`. An operation invoked before the cut
//! takes part; one that completed `:ok` before it is *ok* and must be linearized;
//! every other one is pending, and may be linearized or left out, as a crashed
//! operation may. The whole history is the cut at its end.
//!
//! # Leaving out what nobody observes
//!
//! Three rules, each proved in the model's module, shrink a cut to the operations
//! that matter:
//!
//! - A pending operation that changes nothing (a read, a get) is left out: removing
//!   an operation that does not change the state from a legal sequence leaves it
//!   legal; and so is a pending dequeue of an unordered queue, which never helps.
//! - A pending write whose value no kept operation observes is left out (the
//!   register's, set's, queue's and kv's own arguments say why).
//! - A pending write some kept operation observes is kept, with its completion at
//!   infinity: it happened, before its first observer.
//!
//! # Blocks
//!
//! For registers, cas-registers, sets and kv the kept operations of a cut form
//! *blocks*: a head (a write, a put, or the initial state) followed by *groups*,
//! each a set of operations in no particular order. Each model's module shows that
//! a sequence of the kept operations is legal exactly when it is a concatenation of
//! every block, each block's groups in their order (the initial block first). What
//! remains is real time, and it separates:
//!
//! - *Inside a block*, groups `G₀ < G₁ < …` can be laid out in real-time order iff
//!   for every `j`, each operation of `Gⱼ` completes after every operation of the
//!   earlier groups is invoked (`min ret(Gⱼ) > max inv(G₀ … Gⱼ₋₁)`). Necessary:
//!   otherwise an operation of `Gⱼ` precedes one of an earlier group in real time.
//!   Sufficient: lay the groups out in order, each sorted by invocation; a pair in
//!   one group is then in real-time order (`ret a < inv b` implies `inv a < inv b`),
//!   and a pair in two groups is allowed by the condition.
//! - *Between blocks*, block `B` may come anywhere before block `C` iff
//!   `s(B) < f(C)`, where `s` is the latest invocation in a block and `f` its
//!   earliest completion (the initial block's virtual head completes at −1, before
//!   everything, which forces it first). So an order of blocks is valid iff it
//!   extends the relation "`C` must precede `B`" (`f(C) < s(B)`), and one exists iff
//!   that relation has no cycle. The engine finds a source repeatedly: if the block
//!   with the earliest completion `K` has `s(K)` before the second earliest
//!   completion, `K` is a source; otherwise a source must have `s` before `f(K)`,
//!   and the block of least `s` other than `K` is then one if any is. Removing a
//!   source keeps the rest acyclic, so the greedy order is complete. Where it finds
//!   none, `K` and the block `J` of the second earliest completion must each
//!   precede the other (`f(J) < s(K)`, and `f(K) < s(J)` as no block but `K` has its
//!   `s` before `f(K)`): the relation has a cycle iff it has one of two blocks, and
//!   four operations, each block's latest invocation and earliest completion, show
//!   it (a *clash*, which the kv engine's backjumping uses).
//!
//! The unordered queue is simpler still: each dequeue must follow its enqueue, and
//! nothing else is forced (the `queue` module). The FIFO queue is built greedily and each
//! answer proved by what was found: a legal sequence, or elements that must be gone
//! before a dequeue completes and that no dequeue can take in time (the `fifo` module).
//!
//! # The failing operation
//!
//! The search reports as `:op` the first `:ok` operation that no configuration
//! gets past: the first `:ok`, in completion order, such that the cut just after
//! its completion has no linearization. That is monotone in the cut (a
//! linearization of a longer cut, up to its last operation that completed before the
//! shorter cut ends, is one of the shorter cut: every operation invoked after that
//! point follows all of those operations in real time), so the engine bisects on
//! cuts: `log₂ n` checks. The cut just *before* the failing completion has a
//! linearization; the engine replays it through the model to give the analysis a
//! configuration, from which the final paths start as they do from the search's.
//!
//! The kv enumeration may give up on a cut. If a later cut is proven to fail, the
//! history is invalid, and its failing operation is the last completion of that cut
//! or an earlier one: the engine declines with it ([`Decline::fails_by`]) for the
//! competition to pin down. If the cuts on both sides of a completion are decided
//! and only the one just before it is not, that completion fails first all the
//! same, and the analysis goes without a configuration.

mod fifo;
mod kv;
mod nogood;
mod queue;
mod register;
mod set;

use super::budget::Budget;
use super::{Config, Outcome};
use crate::error::Diagnostic;
use crate::history::History;
use crate::model::memo::Memo;
use crate::model::{Model, Semantics};
use crate::value::Value;
use foldhash::fast::FixedState;
use std::collections::{BTreeSet, HashMap};

/// A completion that never happens.
const NEVER: i64 = i64::MAX;

/// Why the engine does not apply to a history: the precondition that fails, and
/// the operation where it fails. Non-exhaustive: the engine may come to say more.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decline {
    /// What fails, in words (`the value 3 is written twice: …`).
    pub message: String,
    /// The operation concerned (an index into [`History::operations`]), if one is.
    pub operation: Option<usize>,
    /// Where the engine proved the history invalid but could not find its first
    /// failing operation: the history fails at this `:ok` operation or at an
    /// earlier one. The competition then has WGL look for the first, as `refute`
    /// confirms its own proofs, and answers with the bound if it is not found.
    pub fails_by: Option<usize>,
    /// The engine gave up on a history it may yet find a linearization of by
    /// trying harder: the competition has it do so beside the searches (kv: more
    /// orders of the enumeration).
    pub(crate) persists: bool,
}

impl Decline {
    fn new(message: impl Into<String>, operation: Option<usize>) -> Decline {
        Decline { message: message.into(), operation, fails_by: None, persists: false }
    }

    /// The decline as an input error, at the operation's invocation.
    pub fn diagnostic(&self, history: &History) -> Diagnostic {
        let op = self.operation.map(|o| &history.ops[history.operations[o].invoke]);
        let mut d = Diagnostic::new(op.map_or(0, |op| op.line), op.map_or(0, |op| op.column), &self.message);
        d.op_index = op.map(|op| op.index);
        d.with_hint(
            "the unique-value engine (`Algorithm::Unique`, `--algorithm unique`) decides only histories \
             whose written values are distinct (for kv, nearly so); the default, `Algorithm::Competition`, \
             checks any history",
        )
    }
}

/// What the engine found: a linearization (operations in order), or the failing
/// `:ok` operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Linearizable: every `:ok` operation (and the crashed ones that took effect),
    /// as indices into [`History::operations`], in an order that explains them.
    Valid(Vec<usize>),
    /// Not linearizable: the first `:ok` operation no order gets past.
    Invalid(usize),
}

/// The events before position `at` of a history.
#[derive(Clone, Copy)]
struct Cut<'h> {
    history: &'h History,
    at: usize,
}

impl Cut<'_> {
    /// Whether operation `op` is invoked before the cut.
    fn invoked(&self, op: usize) -> bool {
        self.history.operations[op].invoke < self.at
    }
    /// Whether operation `op` completed `:ok` before the cut.
    fn ok(&self, op: usize) -> bool {
        self.history.operations[op].complete.is_some_and(|c| c < self.at)
    }
    fn inv(&self, op: u32) -> i64 {
        self.history.operations[op as usize].invoke as i64
    }
    fn ret(&self, op: u32) -> i64 {
        match self.history.operations[op as usize].complete {
            Some(c) if c < self.at => c as i64,
            _ => NEVER,
        }
    }
}

/// A cut reduced to what decides it.
enum Shape {
    /// Every legal sequence is a concatenation of these blocks (see the module docs).
    Blocks(Vec<Block>),
    /// Each `(enqueue, dequeue)` pair in that order; `free` operations anywhere.
    Pairs { pairs: Vec<(u32, u32)>, free: Vec<u32> },
    /// Already laid out.
    Linearized(Vec<u32>),
    /// The reduction could prove neither answer: the engine declines.
    Undecided,
}

/// A head and the groups after it: `groups[0]` is the head, except in the initial
/// block, whose head is the initial state (before everything).
#[derive(Debug, Default)]
struct Block {
    initial: bool,
    groups: Vec<Vec<u32>>,
}

impl Block {
    fn headed(head: u32) -> Block {
        Block { initial: false, groups: vec![vec![head]] }
    }
    /// Appends a group, unless it is empty (an empty group constrains nothing).
    fn push(&mut self, group: Vec<u32>) {
        if !group.is_empty() {
            self.groups.push(group);
        }
    }
}

/// A model's reduction of a cut: `None` when the cut is impossible on its face (a
/// read of a value never written, two dequeues of one element).
trait Reduce: Send + Sync {
    fn reduce(&self, cut: Cut) -> Option<Shape>;

    /// As `reduce`, for a reduction that may take long: it asks `stop` now and
    /// then, and gives [`Shape::Undecided`] when told to.
    fn reduce_until(&self, cut: Cut, _stop: &mut dyn FnMut() -> bool) -> Option<Shape> {
        self.reduce(cut)
    }

    /// The earliest cut known to fail from the reductions so far (its `at`): every
    /// later one fails too.
    fn failing_from(&self) -> Option<usize> {
        None
    }

    /// Whether [`persist`](Reduce::persist) may find what `reduce` did not.
    fn persists(&self) -> bool {
        false
    }

    /// A linearization of a cut `reduce` gave up on, found by trying harder, until
    /// `stop` says so or the reduction gives up for good; never a failure.
    fn persist(&self, _cut: Cut, _stop: &mut dyn FnMut() -> bool) -> Option<Vec<u32>> {
        None
    }
}

/// Distinct values numbered. Integers, the usual values, are found by their
/// number: hashing a `Value` costs more (a set read of n elements hashes n of them).
#[derive(Default)]
struct Ids<'a> {
    ints: HashMap<i64, u32, FixedState>,
    others: HashMap<&'a Value, u32, FixedState>,
}

impl<'a> Ids<'a> {
    fn id(&mut self, v: &'a Value) -> u32 {
        let next = self.len() as u32;
        // `5` and `5N` are one value, as everywhere.
        match v {
            Value::Int(n) => self.int(*n),
            Value::BigInt(n) => match num_traits::ToPrimitive::to_i64(&**n) {
                Some(n) => self.int(n),
                None => *self.others.entry(v).or_insert(next),
            },
            _ => *self.others.entry(v).or_insert(next),
        }
    }
    fn int(&mut self, n: i64) -> u32 {
        let next = self.len() as u32;
        *self.ints.entry(n).or_insert(next)
    }
    fn len(&self) -> usize {
        self.ints.len() + self.others.len()
    }
}

/// For each value id, the operation that writes it, if one does: `Ok(None)` for
/// none yet, `Err(())` for the initial state.
struct Writers(Vec<Option<Result<u32, ()>>>);

impl Writers {
    fn new() -> Writers {
        Writers(Vec::new())
    }
    fn get(&self, v: u32) -> Option<Result<u32, ()>> {
        self.0.get(v as usize).copied().flatten()
    }
    /// Records `by` as the writer of `v` (`Err(())`: the initial state); the
    /// earlier writer if there is one.
    fn set(&mut self, v: u32, by: Result<u32, ()>) -> Result<(), Result<u32, ()>> {
        let i = v as usize;
        if self.0.len() <= i {
            self.0.resize(i + 1, None);
        }
        match self.0[i] {
            Some(earlier) => Err(earlier),
            None => {
                self.0[i] = Some(by);
                Ok(())
            }
        }
    }
}

/// The decline for a value written twice.
fn written_twice(history: &History, value: &Value, earlier: Result<u32, ()>, op: usize) -> Decline {
    let line = |o: usize| history.ops[history.operations[o].invoke].line;
    let by = match earlier {
        Ok(e) => format!("by the operation at line {} and again", line(e as usize)),
        Err(()) => "by the initial state and again".into(),
    };
    Decline::new(
        format!("the value {} is written twice: {by} at line {}", value.to_edn_short(60), line(op)),
        Some(op),
    )
}

/// Each operation's argument with `[key value]` tuples peeled `depth` times, and
/// the innermost key: at each depth, all the tuples must name one key.
fn peel(history: &History, depth: usize) -> Result<(Vec<&Value>, Option<&Value>), Decline> {
    let mut keys: Vec<Option<&Value>> = vec![None; depth];
    let values = (0..history.operations.len())
        .map(|i| {
            let mut v: &Value = &history.operations[i].value;
            for key in keys.iter_mut() {
                let Some([k, inner]) = v.as_seq() else {
                    return Err(Decline::new("an operation's value is not a [key value] tuple", Some(i)));
                };
                if key.is_some_and(|first| first != k) {
                    let m =
                        "the history holds several keys; the unique-value engine checks one key at a time";
                    return Err(Decline::new(m, Some(i)));
                }
                *key = Some(k);
                v = inner;
            }
            Ok(v)
        })
        .collect::<Result<_, _>>()?;
    Ok((values, keys.last().copied().flatten()))
}

/// The model's reduction for this history, or why the engine does not apply.
fn prepare<'a>(history: &'a History, semantics: &Semantics<'a>) -> Result<Box<dyn Reduce + 'a>, Decline> {
    let mut semantics = semantics;
    let mut depth = 0;
    while let Semantics::Keyed(inner) = semantics {
        semantics = inner;
        depth += 1;
    }
    Ok(match semantics {
        Semantics::Register { init, cas, nil_reads } => {
            Box::new(register::Register::new(history, peel(history, depth)?.0, init, *cas, *nil_reads)?)
        }
        Semantics::Set { init } => Box::new(set::Set::new(history, peel(history, depth)?.0, init)?),
        Semantics::Queue { init, fifo: false, nil_reads } => {
            Box::new(queue::Unordered(queue::Queue::new(history, peel(history, depth)?.0, init, *nil_reads)?))
        }
        Semantics::Queue { init, fifo: true, nil_reads } => {
            Box::new(fifo::Fifo(queue::Queue::new(history, peel(history, depth)?.0, init, *nil_reads)?))
        }
        Semantics::Kv { init, nil_reads } => {
            let (values, key) = peel(history, depth + 1)?;
            let init = key.and_then(|k| init.iter().find(|(ik, _)| ik == k)).map(|(_, s)| s);
            Box::new(kv::Kv::new(history, values, init, *nil_reads)?)
        }
        Semantics::Keyed(_) => unreachable!("peeled above"),
    })
}

/// Whether the engine applies to a history checked against `model`: `Ok`, or
/// why not. It costs a pass over the history.
pub fn applies<M: Model + ?Sized>(history: &History, model: &M) -> Result<(), Decline> {
    let semantics = model.semantics().ok_or_else(|| {
        Decline::new(format!("the unique-value engine does not know the model {}", model.name()), None)
    })?;
    prepare(history, &semantics).map(|_| ())
}

/// Decides a history: a linearization, or the failing operation (the one the
/// search reports); or why the engine does not apply. Where it gives up on a
/// history it may yet find a linearization of, it tries harder first, as
/// `--algorithm unique` does.
pub fn decide<M: Model + ?Sized>(history: &History, model: &M) -> Result<Verdict, Decline> {
    let semantics = model.semantics().ok_or_else(|| Decline::new("not a built-in model", None))?;
    let reduce = prepare(history, &semantics)?;
    Ok(match bisect(history, &*reduce, &mut || false) {
        Bisected::Valid(witness) => Verdict::Valid(with_unconstrained(history, witness)),
        Bisected::Invalid { op, .. } => Verdict::Invalid(op),
        Bisected::Stopped => unreachable!("never stopped"),
        Bisected::Undecided { fails_by: None } if reduce.persists() => {
            let whole = Cut { history, at: history.ops.len() };
            let witness = reduce.persist(whole, &mut || false).ok_or_else(|| undecided(None))?;
            Verdict::Valid(with_unconstrained(history, witness))
        }
        Bisected::Undecided { fails_by } => return Err(undecided(fails_by)),
    })
}

/// The engine as the search runs it: the outcome and the memo its configurations
/// refer to, or why it does not apply (found before the memo is built).
///
/// With `witness`, a valid outcome carries the linearization found.
pub(crate) fn search<'m, M: Model + ?Sized>(
    history: &History,
    model: &'m M,
    by_key: bool,
    budget: &Budget,
    witness: bool,
) -> Result<(Outcome, Memo<'m, M>), Decline> {
    let semantics = model.semantics().ok_or_else(|| Decline::new("not a built-in model", None))?;
    let reduce = prepare(history, &semantics)?;
    let mut stop = None;
    let bisected = bisect(history, &*reduce, &mut || {
        stop = budget.check(0, 0);
        stop.is_some()
    });
    // Only a failure's analysis prints states: otherwise the memo is left empty,
    // rather than interning every operation's kind (a set read's whole set, say).
    let empty = History::default();
    let mut memo =
        Memo::new(model, if matches!(bisected, Bisected::Invalid { .. }) { history } else { &empty }, by_key);
    let outcome = match bisected {
        Bisected::Valid(order) => {
            Outcome::Valid { linearization: witness.then(|| with_unconstrained(history, order)) }
        }
        Bisected::Invalid { op, before } => {
            let config = before.and_then(|w| replay(history, &mut memo, &w));
            let configs = config.map_or_else(Vec::new, |c| super::around(history, &mut memo, c, op));
            Outcome::Invalid { op, configs }
        }
        Bisected::Stopped => Outcome::Unknown { cause: stop.expect("a cause"), furthest: None },
        Bisected::Undecided { fails_by } => {
            let persists = fails_by.is_none() && reduce.persists();
            return Err(Decline { persists, ..undecided(fails_by) });
        }
    };
    Ok((outcome, memo))
}

/// For a history the engine gave up on (a `Decline` that `persists`): a valid outcome,
/// if trying harder finds a linearization before `budget` says stop. Never
/// invalid: a cut found failing on the way is left to the searches, which find
/// the first failing operation.
pub(crate) fn persist<'m, M: Model + ?Sized>(
    history: &History,
    model: &'m M,
    by_key: bool,
    budget: &Budget,
    witness: bool,
) -> Option<(Outcome, Memo<'m, M>)> {
    let reduce = prepare(history, &model.semantics()?).ok()?;
    let whole = Cut { history, at: history.ops.len() };
    let order = reduce.persist(whole, &mut || budget.check(0, 0).is_some())?;
    let linearization = witness.then(|| with_unconstrained(history, order));
    Some((Outcome::Valid { linearization }, Memo::new(model, &History::default(), by_key)))
}

fn undecided(fails_by: Option<usize>) -> Decline {
    let message = match fails_by {
        Some(_) => "the engine proved the history invalid, but not which operation fails first",
        None => "the engine could prove neither verdict for this history",
    };
    Decline { fails_by, ..Decline::new(message, None) }
}

/// A linearization of the kept operations with the `:ok` operations the reduction
/// left out (reads legal in any state) put back: each just after the last
/// operation that completed before it was invoked. That keeps real time: an
/// operation `b` after the slot with `inv b > ret s` would have to come before
/// that last one `a`, yet `ret a < inv s < ret s < inv b`; and two put back in
/// slots in the wrong order cannot be in real-time order either.
fn with_unconstrained(history: &History, witness: Vec<u32>) -> Vec<usize> {
    let cut = Cut { history, at: history.ops.len() };
    let mut kept = vec![false; history.operations.len()];
    witness.iter().for_each(|&o| kept[o as usize] = true);
    // suffix[p]: the earliest completion from position p of the witness on.
    let mut suffix = vec![NEVER; witness.len() + 1];
    for p in (0..witness.len()).rev() {
        suffix[p] = suffix[p + 1].min(cut.ret(witness[p]));
    }
    let mut back: Vec<(usize, i64, u32)> = (0..history.operations.len() as u32)
        .filter(|&o| !kept[o as usize] && cut.ok(o as usize))
        .map(|o| (suffix.partition_point(|&r| r < cut.inv(o)), cut.inv(o), o))
        .collect();
    back.sort_unstable();
    let mut order = Vec::with_capacity(witness.len() + back.len());
    let mut back = back.into_iter().peekable();
    for (p, &o) in witness.iter().enumerate() {
        while let Some((_, _, b)) = back.next_if(|&(slot, _, _)| slot <= p) {
            order.push(b as usize);
        }
        order.push(o as usize);
    }
    order.extend(back.map(|(_, _, b)| b as usize));
    order
}

enum Bisected {
    Valid(Vec<u32>),
    /// `before`: a linearization of the cut just before the failing completion.
    Invalid {
        op: usize,
        before: Option<Vec<u32>>,
    },
    Stopped,
    /// `fails_by`: an `:ok` operation the history fails at or before, if one is
    /// known.
    Undecided {
        fails_by: Option<usize>,
    },
}

/// Decides the whole history, and if it fails, finds the failing operation by
/// bisection on cuts (see the module docs). `stop` is asked between checks.
fn bisect(history: &History, reduce: &dyn Reduce, stop: &mut dyn FnMut() -> bool) -> Bisected {
    let linearize = |at: usize, stop: &mut dyn FnMut() -> bool| {
        let cut = Cut { history, at };
        match reduce.reduce_until(cut, stop).map_or(Ok(None), |shape| solve(shape, cut)) {
            // Undecided because it was told to stop, or for good.
            Err(Undecided) if stop() => Err(Bisected::Stopped),
            Err(Undecided) => Err(Bisected::Undecided { fails_by: None }),
            Ok(found) => Ok(found),
        }
    };
    match linearize(history.ops.len(), stop) {
        Ok(Some(witness)) => return Bisected::Valid(witness),
        Ok(None) => {}
        Err(end) => return end,
    }
    let mut oks: Vec<(usize, usize)> =
        history.operations.iter().enumerate().filter_map(|(i, o)| Some((o.complete?, i))).collect();
    oks.sort_unstable();
    // The cut after the last completion fails (the whole history does, and pending
    // operations after it can be left out); find the first completion that fails.
    let (mut lo, mut hi) = (0, oks.len().saturating_sub(1));
    // The first completion whose cut is known to fail.
    let failing = |hi: usize| match reduce.failing_from() {
        Some(at) => hi.min(oks.partition_point(|&(done, _)| done + 1 < at)),
        None => hi,
    };
    hi = failing(hi);
    while lo < hi {
        if stop() {
            return Bisected::Stopped;
        }
        let mid = (lo + hi) / 2;
        match linearize(oks[mid].0 + 1, stop) {
            Ok(None) => hi = mid,
            Ok(Some(_)) => lo = mid + 1,
            // The cut after `hi` is proven to fail.
            Err(Bisected::Undecided { .. }) => {
                return Bisected::Undecided { fails_by: Some(oks[failing(hi)].1) }
            }
            Err(end) => return end,
        }
    }
    let Some(&(at, op)) = oks.get(lo) else { return Bisected::Undecided { fails_by: None } };
    match linearize(at, stop) {
        Ok(before) => Bisected::Invalid { op, before },
        // The cut after the completion before passed (or there is none): `op` fails
        // first all the same, without a configuration to show.
        Err(Bisected::Undecided { .. }) => Bisected::Invalid { op, before: None },
        Err(end) => end,
    }
}

/// The reduction proved neither answer.
struct Undecided;

/// A linearization of a cut's shape, if there is one.
fn solve(shape: Shape, cut: Cut) -> Result<Option<Vec<u32>>, Undecided> {
    Ok(match shape {
        Shape::Linearized(witness) => Some(witness),
        Shape::Undecided => return Err(Undecided),
        Shape::Blocks(blocks) => arrange(&blocks, cut).ok(),
        Shape::Pairs { pairs, free } => {
            if pairs.iter().any(|&(e, d)| cut.inv(e) >= cut.ret(d)) {
                return Ok(None);
            }
            // Each enqueue just after its invocation, each dequeue just before its
            // completion: inside their intervals (so real time holds), and an
            // enqueue before its dequeue exactly when invoked before it completed.
            let mut points: Vec<(i64, u32)> = pairs
                .iter()
                .flat_map(|&(e, d)| [(4 * cut.inv(e) + 2, e), (4 * cut.ret(d) - 1, d)])
                .chain(free.iter().map(|&o| (4 * cut.inv(o) + 2, o)))
                .collect();
            points.sort_unstable();
            Some(points.into_iter().map(|(_, o)| o).collect())
        }
    })
}

/// Lays out blocks in a valid order, or says why none is: a *clash* (see the module
/// docs), the operations, at most four, that real time forbids to be where their
/// blocks put them. Two blocks that must each precede the other give each one's
/// latest invocation and earliest completion (only two operations where one is the
/// initial block, which comes first in every order); a group that completes before
/// an earlier group of its block is invoked gives those two operations.
fn arrange(blocks: &[Block], cut: Cut) -> Result<Vec<u32>, Vec<u32>> {
    // Each block's latest invocation and earliest return, with the operations
    // that have them (`None`: the initial block's virtual head).
    let mut latest_inv = Vec::with_capacity(blocks.len());
    let mut earliest_ret = Vec::with_capacity(blocks.len());
    for block in blocks {
        let (mut s, mut f) =
            if block.initial { ((-2, None), (-1, None)) } else { ((i64::MIN, None), (NEVER, None)) };
        for group in &block.groups {
            let first = group.iter().map(|&o| (cut.ret(o), Some(o))).min().unwrap_or((NEVER, None));
            if first.0 < s.0 {
                return Err([s.1, first.1].into_iter().flatten().collect());
            }
            s = group.iter().map(|&o| (cut.inv(o), Some(o))).fold(s, std::cmp::max);
            f = f.min(first);
        }
        latest_inv.push(s);
        earliest_ret.push(f);
    }
    let mut by_ret: BTreeSet<(i64, u32)> =
        (0..blocks.len() as u32).map(|b| (earliest_ret[b as usize].0, b)).collect();
    let mut by_inv: BTreeSet<(i64, u32)> =
        (0..blocks.len() as u32).map(|b| (latest_inv[b as usize].0, b)).collect();
    let mut witness = Vec::new();
    while let Some(&(f1, k)) = by_ret.first() {
        let second = by_ret.iter().nth(1).map(|&(_, j)| j as usize);
        let f2 = second.map_or(NEVER, |j| earliest_ret[j].0);
        let source = if latest_inv[k as usize].0 < f2 {
            k
        } else {
            match by_inv.iter().find(|&&(_, b)| b != k) {
                Some(&(s, b)) if s < f1 => b,
                _ => {
                    // `k`'s `s` is not before `f2`, so there is a second block.
                    let (k, j) = (k as usize, second.expect("a second block"));
                    let mut ends = vec![latest_inv[k], earliest_ret[j]];
                    // The initial block's virtual head comes before everything alike.
                    if earliest_ret[k].1.is_some() {
                        ends.extend([latest_inv[j], earliest_ret[k]]);
                    }
                    // A block of one operation gives it twice.
                    let mut clash: Vec<u32> = ends.into_iter().filter_map(|(_, o)| o).collect();
                    clash.sort_unstable();
                    clash.dedup();
                    return Err(clash);
                }
            }
        };
        by_ret.remove(&(earliest_ret[source as usize].0, source));
        by_inv.remove(&(latest_inv[source as usize].0, source));
        for group in &blocks[source as usize].groups {
            let start = witness.len();
            witness.extend_from_slice(group);
            witness[start..].sort_unstable_by_key(|&o| cut.inv(o));
        }
    }
    Ok(witness)
}

/// The most the memo may hold while a linearization is replayed for the analysis:
/// a register's states are small, but a kv key's string grows with every append,
/// and replaying a long one would hold every prefix.
const REPLAY_BYTES: usize = 64 << 20;

/// The configuration a linearization leads to, replayed through the model; `None`
/// past [`REPLAY_BYTES`].
fn replay<M: Model + ?Sized>(history: &History, memo: &mut Memo<'_, M>, witness: &[u32]) -> Option<Config> {
    let mut state = memo.init();
    let mut linearized = vec![0u64; history.operations.len().div_ceil(64)];
    for &op in witness {
        let next = memo.step(state, memo.kind(op as usize));
        debug_assert!(next.is_some(), "the engine's linearization is legal");
        state = next?;
        linearized[op as usize / 64] |= 1 << (op % 64);
        if memo.bytes() > REPLAY_BYTES {
            return None;
        }
    }
    Some(Config { state, linearized, last: witness.last().map(|&o| o as usize) })
}

#[cfg(test)]
mod tests {
    use super::{arrange, Block, Cut};
    use crate::{model, read::RawOp, History};
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    /// Whether some order of `blocks` (the initial one first) with each group laid
    /// out by invocation puts no operation after one that returned before it was
    /// invoked: every order tried.
    fn orderable(blocks: &[Block], cut: Cut) -> bool {
        fn permute(rest: &mut Vec<&Block>, laid: &mut Vec<u32>, cut: Cut) -> bool {
            if rest.is_empty() {
                return laid
                    .iter()
                    .enumerate()
                    .all(|(i, &x)| laid[i..].iter().all(|&y| cut.ret(y) > cut.inv(x)));
            }
            (0..rest.len()).any(|i| {
                if !rest[i].initial && rest.iter().any(|b| b.initial) {
                    return false;
                }
                let block = rest.remove(i);
                let len = laid.len();
                for group in &block.groups {
                    let mut group = group.clone();
                    group.sort_unstable_by_key(|&o| cut.inv(o));
                    laid.extend(group);
                }
                let found = permute(rest, laid, cut);
                laid.truncate(len);
                rest.insert(i, block);
                found
            })
        }
        permute(&mut blocks.iter().collect(), &mut Vec::new(), cut)
    }

    /// On random blocks of random intervals, `arrange` finds an order exactly when
    /// one exists, a legal one, and otherwise a clash whose operations alone, each
    /// in its block and group, have none: what the kv engine's backjumping needs.
    #[test]
    fn blocks_are_arranged_or_a_clash_of_a_few_operations_shows_why_not() {
        let m = model::builtin("register", &Default::default()).unwrap();
        let (mut ordered, mut clashes) = (0, 0);
        for seed in 0..3000 {
            let mut rng = StdRng::seed_from_u64(seed);
            // Operations `0..n`, each invoked and completed at random positions.
            let n = rng.random_range(2..9u32);
            let mut events: Vec<(u32, bool)> = (0..n).flat_map(|o| [(o, false), (o, true)]).collect();
            events.shuffle(&mut rng);
            let mut invoked = vec![false; n as usize];
            let mut edn = String::new();
            let mut ordered_events = Vec::new();
            while let Some(i) = events.iter().position(|&(o, done)| !done || invoked[o as usize]) {
                let (o, done) = events.remove(i);
                invoked[o as usize] = true;
                ordered_events.push((o, done));
            }
            for (o, done) in ordered_events {
                let kind = if done { "ok" } else { "invoke" };
                edn += &format!("{{:type :{kind}, :process {o}, :f :write, :value {o}}}\n");
            }
            let history =
                History::complete(RawOp::read(edn.as_bytes(), "blocks.edn", None).unwrap(), &m).unwrap();
            let cut = Cut { history: &history, at: history.ops.len() };
            // Each operation the head of a block or in a random group of one.
            let mut blocks: Vec<Block> = Vec::new();
            if rng.random_bool(0.5) {
                blocks.push(Block { initial: true, groups: Vec::new() });
            }
            for o in 0..n {
                let at = rng.random_range(0..=blocks.len());
                match blocks.get_mut(at) {
                    Some(block) => {
                        let g = rng.random_range(0..=block.groups.len());
                        match block.groups.get_mut(g) {
                            Some(group) => group.push(o),
                            None => block.groups.push(vec![o]),
                        }
                    }
                    None => blocks.push(Block::headed(o)),
                }
            }
            let exists = orderable(&blocks, cut);
            match arrange(&blocks, cut) {
                Ok(order) => {
                    assert!(exists, "seed {seed}: an order where there is none");
                    let mut all = order.clone();
                    all.sort_unstable();
                    assert_eq!(all, (0..n).collect::<Vec<_>>(), "seed {seed}");
                    for (i, &x) in order.iter().enumerate() {
                        assert!(
                            order[i..].iter().all(|&y| cut.ret(y) > cut.inv(x)),
                            "seed {seed}: {order:?}"
                        );
                    }
                    ordered += 1;
                }
                Err(clash) => {
                    assert!(!exists, "seed {seed}: a clash where there is an order");
                    assert!(!clash.is_empty() && clash.len() <= 4, "seed {seed}: {clash:?}");
                    // The blocks cut down to the clash's operations.
                    let alone: Vec<Block> = blocks
                        .iter()
                        .map(|b| Block {
                            initial: b.initial,
                            groups: b
                                .groups
                                .iter()
                                .map(|g| g.iter().copied().filter(|o| clash.contains(o)).collect())
                                .collect(),
                        })
                        .filter(|b| b.initial || b.groups.iter().any(|g| !g.is_empty()))
                        .collect();
                    assert!(!orderable(&alone, cut), "seed {seed}: the clash {clash:?} alone has an order");
                    clashes += 1;
                }
            }
        }
        assert!(ordered > 500 && clashes > 500, "{ordered} ordered, {clashes} clashes");
    }
}
