//! Shrinking: the few operations of an invalid history that are enough to make it
//! invalid.
//!
//! A history of thousands of operations fails at one `:ok` operation, but which of
//! the others matter? [`shrink`] finds a *core*: a sub-history that is still not
//! linearizable, and becomes linearizable if any one more operation is removed
//! (1-minimal).
//!
//! # What is removed
//!
//! An *operation* is what the search sees ([`History::operations`]): an invocation
//! with its `:ok`, or a crashed one (an invocation with the `:info` that closed it,
//! if any, or none). It is removed whole, invocation and completion together, so
//! the rest pairs exactly as before and every op that stays is printed as it was
//! read. Failed operations (`:invoke` then `:fail`), the nemesis's ops and stray
//! `:info`s take no part in the search, so removing them never changes a verdict:
//! a 1-minimal core has none of them, and they are dropped at the start.
//!
//! Nor has a 1-minimal core a crashed operation: removing one from an invalid
//! history leaves it invalid. A linearization of the rest would be one of the
//! whole, the crashed operation never taking effect (which it may), since it has
//! no return to meet and its invocation orders nothing before it. So a core is
//! `:ok` operations, invocations and completions, and crashed operations are all
//! dropped before the last pass (even when the time limit leaves no time for it).
//!
//! # The algorithm
//!
//! Delta debugging (Zeller's ddmin, complements only) over the operations, each
//! candidate decided by the engine `check` would use (the unique-value engine where
//! it applies, else the race of the searches), verdict only. Removal is not
//! monotone for these models: a sub-history of a linearizable history may be
//! invalid (remove the write a read returned) and one of an invalid history valid,
//! so nothing is assumed of candidates that were not checked. ddmin ends with a
//! round that removes each remaining operation in turn; when every one of those
//! checks says valid, the core is 1-minimal, by those very checks.
//!
//! **Two passes.** Removing operations can make a history fail elsewhere: drop
//! the write a read returned, and that read, of a value nobody wrote, is invalid
//! on its own. Plain ddmin, which first removes half the history, thus wanders to
//! whichever read lost its writer, far from the failure the check reported. And
//! the definition itself has a consequence: a stale read of 3 (3 written, then 4,
//! then the read begins) shrinks to the read alone, since the read is invalid
//! without the write of 3 too. That core is honest but says little, so:
//!
//! 1. The first pass keeps the failure the check reported, F, and its story: a
//!    candidate counts only if it still fails at F *and* gets past F when F's
//!    invocation is moved before every other (so that F fails for when it ran,
//!    not for what it returned: the write of 3 stays). Where F's result has no
//!    explanation in any order (nothing ever wrote 3), it counts if it fails at F.
//!    Its result is the [context](Core::context): write 3, write 4, the stale read.
//! 2. The second pass, from the context without its crashed operations (never
//!    needed, see above), counts any failure, so that the core is 1-minimal as
//!    defined: here the read alone. Often it removes nothing, and the core is the
//!    context.
//!
//! Reports show both: the core, and the context when it is bigger, each explained
//! by its own analysis ("the register could only hold 4").
//!
//! Speedups, each exact:
//!
//! - **A keyed history is shrunk in its failing key alone.** A history is
//!   linearizable exactly when each key's sub-history is (locality), so the key's
//!   sub-history is invalid, and a 1-minimal core of it is one of the whole: a core
//!   holding another key's operation would stay invalid without it.
//! - **Nothing invoked after the failing operation completed is needed.** Let F be
//!   the failing operation a search reports: the first `:ok` that no configuration
//!   gets past, so that no legal order of operations invoked before F's completion
//!   c, respecting real time, holds every `:ok` completed by c. Keep only the
//!   operations invoked before c (those completing after c keep their outcome).
//!   Were that linearizable, take a linearization L and its shortest prefix P that
//!   holds every operation completed by c: P is legal, respects real time, and
//!   holds only operations invoked before c (all are), so it is such an order — a
//!   configuration getting past F. So the cut history is still invalid. The cut is
//!   made at the start and again after every invalid candidate, at its own failing
//!   operation.
//!
//! A candidate that cannot be decided (`:unknown`: out of memory, say) counts as
//! not shown invalid: its operation stays, and the core is not claimed 1-minimal.
//! When the time limit ([`Options::time_limit`], the check's included) runs out,
//! the smallest invalid candidate so far is the core, not claimed 1-minimal either.
//!
//! # Example
//!
//! A register holds 0; a write of 1, a read of 1 and a write of 2 complete, and
//! then a read returns 0:
//!
//! ```
//! use knossos_rs::model::{self, ModelOptions};
//! use knossos_rs::{read, shrink, History, Options, Value};
//!
//! let log = r#"
//! {:process 0, :type :invoke, :f :write, :value 1}
//! {:process 0, :type :ok, :f :write, :value 1}
//! {:process 1, :type :invoke, :f :read, :value nil}
//! {:process 1, :type :ok, :f :read, :value 1}
//! {:process 0, :type :invoke, :f :write, :value 2}
//! {:process 0, :type :ok, :f :write, :value 2}
//! {:process 1, :type :invoke, :f :read, :value nil}
//! {:process 1, :type :ok, :f :read, :value 0}
//! "#;
//! let init = ModelOptions { init: Some(Value::Int(0)), ..Default::default() };
//! let model = model::builtin("cas-register", &init).unwrap();
//! let history = History::complete(read::read_ops(log.as_bytes(), "h.edn", None).unwrap(), &model).unwrap();
//! let core = shrink::shrink(&model, &history, &Options::default()).core.unwrap();
//! // The write of 2 and the stale read are enough: without either, 0 can be read.
//! assert_eq!(core.indices(), [4, 5, 6, 7]);
//! assert!(core.minimal);
//! assert_eq!((core.history.operations.len(), core.of), (2, 4));
//! ```

use crate::analysis::{Analysis, Validity};
use crate::history::{History, Operation};
use crate::model::Model;
use crate::search::{competition, Algorithm, Budget, Cancel, Cause, Outcome};
use crate::value::Value;
use crate::{check, partition, Options};
use std::borrow::Cow;
use std::time::{Duration, Instant};

/// A core of an invalid history: a sub-history that is still not linearizable.
#[derive(Clone, Debug)]
pub struct Core {
    /// The key whose operations these are, for a history split by key.
    pub key: Option<Value>,
    /// Positions in the history's [ops](History::ops) of the core's ops, in order:
    /// each kept operation's invocation and `:ok`.
    pub positions: Vec<usize>,
    /// The core as a history of its own, whose op maps are the original's.
    pub history: History,
    /// Whether the core is proven 1-minimal: removing any one of its operations was
    /// checked and found linearizable. False when the time ran out first, or some
    /// such check was `:unknown`.
    pub minimal: bool,
    /// The operations the failure the check reported needs, as a history: what the
    /// first pass kept (see the module documentation), the core and maybe more: a
    /// read, say, and the writes that make it stale, where the core is the read alone.
    pub context: History,
    /// How many operations the shrunk history had (the failing key's, when split).
    pub of: usize,
    /// How many candidate sub-histories were checked.
    pub checks: usize,
}

impl Core {
    /// The `:index` of each op of the core, in order.
    pub fn indices(&self) -> Vec<u64> {
        self.history.ops.iter().map(|op| op.index).collect()
    }
}

/// A history's analysis and, when it is invalid, its core.
#[derive(Debug)]
pub struct Shrunk {
    /// The history's analysis, as [`check`] gives it.
    pub analysis: Analysis,
    /// `None` unless the analysis is invalid.
    pub core: Option<Core>,
}

/// Checks a history ([`check`]) and, when it is not linearizable, shrinks it to a
/// core (see the module documentation). The time limit covers both.
pub fn shrink<M: Model + ?Sized>(model: &M, history: &History, options: &Options) -> Shrunk {
    let start = Instant::now();
    let analysis = check(model, history, &Options { shrink: false, ..options.clone() });
    let core = core(model, history, &analysis, &options.after(start.elapsed()));
    Shrunk { analysis, core }
}

/// The core of a history [`check`] found invalid, from that analysis (which names
/// the failing key and operation, so the history is not checked again); `None` if
/// the analysis is not invalid.
pub fn core<M: Model + ?Sized>(
    model: &M,
    history: &History,
    analysis: &Analysis,
    options: &Options,
) -> Option<Core> {
    if analysis.valid != Validity::Invalid {
        return None;
    }
    let start = Instant::now();
    let (key, failing) = match analysis.results.iter().find(|(_, a)| a.valid == Validity::Invalid) {
        Some((key, a)) => (Some(key), a.op.as_ref().map(|o| o.index)),
        None => (None, analysis.op.as_ref().map(|o| o.index)),
    };
    // The failing key's part; for a keyed history checked whole, the failing op's key.
    let part = partition::by_key(history, model).and_then(|parts| match key {
        Some(key) => parts.into_iter().find(|p| &p.key == key),
        None => {
            let at = history.ops.iter().position(|op| Some(op.index) == failing)?;
            parts.into_iter().find(|p| p.positions().binary_search(&at).is_ok())
        }
    });
    let subject = part.as_ref().map_or(Cow::Borrowed(history), |p| Cow::Owned(p.history(history)));
    let mut shrinker = Shrinker {
        model,
        subject: &subject,
        algorithm: options.algorithm,
        by_key: part.is_none(),
        deadline: options.time_limit.and_then(|t| start.checked_add(t)),
        memory: options.memory_limit.unwrap_or_else(crate::search::budget::default_memory_limit),
        cancel: options.cancel.clone(),
        checks: 0,
    };
    let all: Vec<usize> = (0..subject.operations.len()).collect();
    let failing = subject
        .operations
        .iter()
        .position(|o| o.complete.is_some_and(|c| Some(subject.ops[c].index) == failing));
    // First the operations the failure of `failing` needs, then any that can still
    // go; crashed operations are never needed (see above).
    let mut kept = match failing {
        Some(op) => {
            let cut = shrinker.cut(all, op);
            // The story when the failing operation's result has an explanation at all.
            let early = shrinker.test(&cut, Some(op));
            let goal = if shrinker.gets_past(&early, op) { Goal::Story(op) } else { Goal::FailsAt(op) };
            shrinker.ddmin(cut, goal).0
        }
        None => all,
    };
    let context = kept.clone();
    kept.retain(|&i| subject.operations[i].complete.is_some());
    let (kept, minimal) = shrinker.ddmin(kept, Goal::Invalid);
    // A history of some of the subject's operations, as positions in the whole.
    let to_whole = |p: usize| part.as_ref().map_or(p, |part| part.positions()[p]);
    let build = |kept: &[usize]| {
        let operations: Vec<Operation> = kept
            .iter()
            .map(|&i| {
                let o = &subject.operations[i];
                Operation { invoke: to_whole(o.invoke), complete: o.complete.map(to_whole), ..o.clone() }
            })
            .collect();
        let mut positions: Vec<usize> =
            operations.iter().flat_map(|o| [Some(o.invoke), o.complete]).flatten().collect();
        positions.sort_unstable();
        (history.part(&positions, operations.into_iter()), positions)
    };
    let (core, positions) = build(&kept);
    Some(Core {
        key: part.as_ref().map(|p| p.key.clone()),
        history: core,
        positions,
        context: build(&context).0,
        minimal,
        of: subject.operations.len(),
        checks: shrinker.checks,
    })
}

/// A core as an analysis holds it ([`Analysis::core`]): what the output prints
/// (`:core`, `:core-minimal?`) and what reports explain it with.
#[derive(Clone, Debug)]
pub struct CoreReport {
    /// The `:index` of each op of the core, in order.
    pub indices: Vec<u64>,
    /// The key whose operations these are, for a history split by key.
    pub key: Option<Value>,
    /// Whether the core is proven 1-minimal ([`Core::minimal`]).
    pub minimal: bool,
    /// How many operations the core kept.
    pub operations: usize,
    /// Of how many ([`Core::of`]).
    pub of: usize,
    /// The core's own analysis (its failing operation and final paths), which
    /// explains the core without the rest of the history.
    pub analysis: Box<Analysis>,
    /// The operations the failure the check reported needs ([`Core::context`]),
    /// when they are more than the core's: the story of that failure, for people
    /// (described the same way; its `minimal` and `of` are the core's).
    pub context: Option<Box<CoreReport>>,
}

/// The core of a history [`check`] found invalid, as [`core()`] finds it, with its
/// own analysis ([`CoreReport`]); `None` if the analysis is not invalid.
pub fn report<M: Model + ?Sized>(
    model: &M,
    history: &History,
    analysis: &Analysis,
    options: &Options,
) -> Option<CoreReport> {
    let start = Instant::now();
    let core = core(model, history, analysis, options)?;
    let options = options.after(start.elapsed());
    let context = (core.context.ops.len() != core.history.ops.len())
        .then(|| Box::new(describe(model, &core.context, &core, &options, None)));
    Some(describe(model, &core.history, &core, &options, context))
}

/// A core (or its context) as a [`CoreReport`], with its own analysis.
fn describe<M: Model + ?Sized>(
    model: &M,
    history: &History,
    core: &Core,
    options: &Options,
    context: Option<Box<CoreReport>>,
) -> CoreReport {
    // A few operations, checked in moments; a core cut short by the time limit may
    // be bigger, and gets a moment at least.
    let time_limit = options.time_limit.map(|t| t.max(Duration::from_millis(100)));
    let mut explained = check(model, history, &Options { shrink: false, time_limit, ..options.clone() });
    // One key: its own analysis, as a history that is not keyed has.
    if explained.results.len() == 1 {
        explained = explained.results.swap_remove(0).1;
    }
    CoreReport {
        indices: history.ops.iter().map(|op| op.index).collect(),
        key: core.key.clone(),
        minimal: core.minimal,
        operations: history.operations.len(),
        of: core.of,
        analysis: Box::new(explained),
        context,
    }
}

/// What a candidate must show to replace the current set.
#[derive(Clone, Copy)]
enum Goal {
    /// Not linearizable.
    Invalid,
    /// Not linearizable, failing at this operation.
    FailsAt(usize),
    /// Failing at this operation, and getting past it had it begun before all the
    /// others: it fails for when it ran, not for what it returned.
    Story(usize),
}

/// What checking a candidate showed.
enum Test {
    /// Not linearizable; the failing operation (an index into the subject's operations).
    Invalid(usize),
    /// Linearizable.
    Valid,
    /// Undecided, for another reason than the end of the time.
    Unknown,
    /// The time ran out, or the shrink was cancelled: stop.
    Stop,
}

/// Delta debugging over the operations of one history (the subject).
struct Shrinker<'a, M: Model + ?Sized> {
    model: &'a M,
    subject: &'a History,
    algorithm: Algorithm,
    /// Whether the subject may hold several keys of a keyed model (see `check`).
    by_key: bool,
    deadline: Option<Instant>,
    memory: usize,
    cancel: Option<Cancel>,
    checks: usize,
}

impl<M: Model + ?Sized> Shrinker<'_, M> {
    /// Shrinks a set of operations (indices into the subject's, in order) that has
    /// the property `goal` names: the smallest such set found, and whether it is
    /// proven 1-minimal (for [`Goal::Invalid`]: without any one operation, valid).
    fn ddmin(&mut self, mut kept: Vec<usize>, goal: Goal) -> (Vec<usize>, bool) {
        let mut n = 2;
        loop {
            // One operation, invalid alone: without it the history is empty, and valid.
            if kept.len() < 2 {
                return (kept, true);
            }
            n = n.min(kept.len());
            let (mut reduced, mut all_valid) = (None, true);
            for i in 0..n {
                let (lo, hi) = (i * kept.len() / n, (i + 1) * kept.len() / n);
                let rest: Vec<usize> = kept[..lo].iter().chain(&kept[hi..]).copied().collect();
                match (self.test(&rest, None), goal) {
                    (Test::Invalid(failing), Goal::Invalid) => {
                        reduced = Some(self.cut(rest, failing));
                        break;
                    }
                    (Test::Invalid(failing), Goal::FailsAt(target)) if failing == target => {
                        reduced = Some(self.cut(rest, failing));
                        break;
                    }
                    (Test::Invalid(failing), Goal::Story(target)) if failing == target => {
                        match self.test(&rest, Some(target)) {
                            Test::Stop => return (kept, false),
                            early if self.gets_past(&early, target) => {
                                reduced = Some(self.cut(rest, failing));
                                break;
                            }
                            _ => all_valid = false,
                        }
                    }
                    (Test::Valid, _) => {}
                    (Test::Invalid(_) | Test::Unknown, _) => all_valid = false,
                    (Test::Stop, _) => return (kept, false),
                }
            }
            match reduced {
                Some(smaller) => {
                    kept = smaller;
                    n = (n - 1).max(2);
                }
                // Each operation was removed in turn: none can go.
                None if n == kept.len() => return (kept, all_valid),
                None => n = (2 * n).min(kept.len()),
            }
        }
    }

    /// Leaves out the operations invoked after the failing one completed (see the
    /// module documentation: the rest is still invalid).
    fn cut(&self, mut kept: Vec<usize>, failing: usize) -> Vec<usize> {
        let operations = &self.subject.operations;
        if let Some(end) = operations[failing].complete {
            kept.retain(|&i| operations[i].invoke < end);
        }
        kept
    }

    /// Checks the sub-history of these operations, verdict only.
    /// With `early`, that operation (one of `kept`) is invoked before all the others
    /// instead (the failing operation, had it begun earlier).
    fn test(&mut self, kept: &[usize], early: Option<usize>) -> Test {
        if self.stopped() {
            return Test::Stop;
        }
        self.checks += 1;
        let operations = &self.subject.operations;
        let mut positions: Vec<usize> = kept
            .iter()
            .flat_map(|&i| [Some(operations[i].invoke), operations[i].complete])
            .flatten()
            .collect();
        positions.sort_unstable();
        let mut order: Vec<usize> = kept.to_vec();
        let mut candidate = self.subject.part(&positions, kept.iter().map(|&i| operations[i].clone()));
        if let Some(at) = early.and_then(|e| kept.iter().position(|&i| i == e)) {
            // Its invocation moves to the front, every op before it one place on.
            let invoke = candidate.operations[at].invoke;
            let op = candidate.ops.remove(invoke);
            candidate.ops.insert(0, op);
            let moved = |p: usize| {
                if p < invoke {
                    p + 1
                } else if p == invoke {
                    0
                } else {
                    p
                }
            };
            let mut operation = candidate.operations.remove(at);
            operation.invoke = 0;
            operation.complete = operation.complete.map(moved);
            for o in &mut candidate.operations {
                o.invoke = moved(o.invoke);
                o.complete = o.complete.map(moved);
            }
            candidate.operations.insert(0, operation);
            let e = order.remove(at);
            order.insert(0, e);
        }
        let budget = Budget::new(self.deadline, self.memory, self.cancel.clone());
        match competition::verdict(&candidate, self.model, self.algorithm, self.by_key, &budget) {
            Outcome::Invalid { op, .. } => Test::Invalid(order[op]),
            Outcome::Valid { .. } => Test::Valid,
            Outcome::Unknown { cause: Cause::Timeout | Cause::Cancelled, .. } if self.stopped() => Test::Stop,
            Outcome::Unknown { .. } => Test::Unknown,
        }
    }

    /// Whether a check got past the `:ok` operation `target`: valid, or failing at
    /// an operation completed later.
    fn gets_past(&self, test: &Test, target: usize) -> bool {
        let complete = |i: usize| self.subject.operations[i].complete;
        match *test {
            Test::Valid => true,
            Test::Invalid(failing) => complete(failing) > complete(target),
            Test::Unknown | Test::Stop => false,
        }
    }

    fn stopped(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
            || self.cancel.as_ref().is_some_and(Cancel::is_cancelled)
    }
}
