//! Shrinking: the few operations of an invalid history that show why it is
//! invalid, and invent nothing.
//!
//! A history of thousands of operations fails at one `:ok` operation, but which of
//! the others matter? [`shrink`] finds a *faithful core*: a sub-history that is
//! still not linearizable, fails for a reason the whole history has, and is
//! 1-minimal under that rule.
//!
//! # Faithful cores
//!
//! Removing operations can manufacture an anomaly. Drop the write of 3 from a stale
//! read of 3 (3 written, then 4, then the read begins) and the read alone is invalid
//! too, but for a reason the history does not have: it reads a value nobody wrote.
//! Drop an early write of 3 and keep a later one, and a compare-and-set from 3
//! fails for having seen 3 before anything wrote it. A core made of such removals
//! answers a question no user asked. So a core must explain each result the way
//! the history does.
//!
//! An `:ok` operation's result is *explained* in a set of operations when some of
//! the others that could take effect before it (those invoked before it
//! completed), in some order, lead to a state in which it is legal: when the set's
//! history, with that operation `:ok` and every other one crashed (taking effect
//! at any point after its invocation, or never), is linearizable. The *timeless*
//! history of a set makes every operation concurrent with every other (all
//! invocations, then all completions). A set K of the history H's operations is
//! *faithful* when
//!
//! 1. every `:ok` result explained in H is explained in K, and
//! 2. if the timeless H is linearizable (its anomaly is one of real time: stale
//!    reads, lost writes, reordered dequeues), so is the timeless K.
//!
//! A *core* is a faithful K that is not linearizable, failing at the operation F
//! the check reported, and is 1-minimal: without any one of its operations it is
//! linearizable, no longer faithful, or fails elsewhere. A core failing at another
//! operation G would fail for a reason the history does not have: the history gets
//! past G (the search reports the first `:ok` that no configuration gets past), or
//! never reaches it. So the core tells the story of the operation the user was told
//! about. Facts:
//!
//! - **H itself is a candidate**: faithful, and failing at F. The search starts
//!   there.
//! - **Dropping one operation of a core leaves a history that is linearizable, in
//!   which some result loses the explanation it has in H, or that fails elsewhere.**
//!   If K∖{o} breaks rule 2, even its timeless history is not linearizable.
//! - **Where F's result has no explanation in H even without real time** (a value
//!   read that nobody wrote), F alone is faithful (rule 1 asks nothing of it; rule
//!   2 does not apply, since an order of the timeless H would explain that result)
//!   and not linearizable: a lone-operation core. Where it is explained only by
//!   operations that began after F completed (a value read before anybody wrote
//!   it), rule 2 keeps one of them: the core is F and the write that came too
//!   late. Conversely a lone operation whose result H explains
//!   is not a core: alone, it would be explained from the initial state, and
//!   linearizable. Where every result has an explanation but not all at once (an
//!   element dequeued twice, enqueued once), rule 1 keeps the enqueue: the core is
//!   the enqueue and both dequeues, not a lone dequeue of a value nobody enqueued.
//! - **Explanations are monotone**: an explanation in K (the operations of the
//!   order that makes the result legal) is one in any superset of K. So a result
//!   whose last explanation lies inside a candidate is explained there without a
//!   search; only a candidate that removed part of it is searched again.
//!
//! Rule 1 asks more than that each result be explained *timelessly* (by some order
//! of the set's operations, real time ignored): by that weaker rule, dropping the
//! early write of 3 above would be allowed, since the later write of 3 explains the
//! compare-and-set timelessly, and the core would accuse the compare-and-set of
//! reading from the future, which the history does not show (Porcupine's
//! `etcd_016` is such a history).
//!
//! # What is removed
//!
//! An *operation* is what the search sees ([`History::operations`]): an invocation
//! with its `:ok`, or a crashed one (an invocation with the `:info` that closed it,
//! if any, or none). It is removed whole, invocation and completion together, so
//! the rest pairs exactly as before and every op that stays is printed as it was
//! read. Failed operations (`:invoke` then `:fail`), the nemesis's ops and stray
//! `:info`s take no part in the search, so removing them never changes a verdict:
//! a core has none of them. A crashed operation may stay in a core, where it is
//! what explains a result (a crashed write of the value a read returned).
//!
//! # The algorithm
//!
//! Delta debugging (Zeller's ddmin, complements only) over the operations, each
//! candidate decided by the engine `check` would use (the unique-value engine where
//! it applies, else the race of the searches), verdict only, and then judged
//! faithful. Removal is not monotone for these models (a sub-history of an invalid
//! history may be valid), so nothing is assumed of candidates that were not
//! checked. ddmin ends with a round that removes each remaining operation in turn;
//! when every one of those candidates is linearizable or unfaithful, by those very
//! checks, the core is 1-minimal.
//!
//! Speedups, each exact:
//!
//! - **A keyed history is shrunk in its failing key alone.** A history is
//!   linearizable exactly when each key's sub-history is (locality), and results of
//!   one key are explained by that key's operations alone, so a core of the key's
//!   sub-history is one of the whole.
//! - **Nothing invoked after the failing operation completed is needed.** Let F be
//!   the failing operation a search reports: the first `:ok` that no configuration
//!   gets past, so that no legal order of operations invoked before F's completion
//!   c, respecting real time, holds every `:ok` completed by c. Keep only the
//!   operations invoked before c (those completing after c keep their outcome).
//!   Were that linearizable, take a linearization L and its shortest prefix P that
//!   holds every operation completed by c: P is legal, respects real time, and
//!   holds only operations invoked before c (all are), so it is such an order — a
//!   configuration getting past F. So the cut history is still invalid, and still
//!   fails at F. The cut is tried at the start and after every accepted candidate,
//!   and kept when it is still faithful (a later write may be what explains a
//!   read).
//! - **The other reads first.** At the start, the cut without its `:ok` reads but
//!   F is tried, and taken if it still fails at F and is faithful: it was checked,
//!   so it is a candidate like any other, only a much smaller one where a stale
//!   read fails with every other read gone. Among 50 clients on one kv key, that
//!   took a core from 948 operations (out of time) to three in 2 s.
//!
//! - **Rule 2 last.** Deciding a big set without real time may take long where
//!   its operations fit together in no order, and rule 1 already rejects most
//!   unfaithful candidates. So a first search judges candidates by rule 1 alone.
//!   Its result K₁, when it keeps rule 2 too, is a core: each K₁∖{o} was linearizable,
//!   failed elsewhere or broke rule 1, and so breaks the rules together. Only when
//!   K₁ breaks rule 2 (rare: results each explained, but not all at once) does a
//!   second search judge by both rules, from the start.
//!
//! Where a candidate, or the history, is proven invalid only up to a bound (the
//! unique-value engine's, when no search gets that far: `:op-bound?`), the bound
//! stands for the failing operation F above: no order gets past it, which is all
//! the cut needs, and the same candidate always gets the same bound.
//!
//! A candidate that cannot be decided (`:unknown`: out of memory, say) counts as
//! not shown to be a core: its operation stays, and the core is not claimed
//! 1-minimal. When the time limit ([`Options::time_limit`], the check's included;
//! [`Core::DEFAULT_TIME_LIMIT`] without one) runs out, the smallest core so far is the
//! core, not claimed 1-minimal either; and if it runs out before rule 2 was judged
//! of the first search's result, the core is the failing key's whole history, which
//! is faithful. A result the whole does not decide (whether it explains a result,
//! or is linearizable without real time) is asked of every candidate, so that the
//! core stays faithful, and the core is then not claimed 1-minimal where that
//! rejected a candidate.
//!
//! # Example
//!
//! A register holds 0; a write of 1, a read of 1 and a write of 2 complete, and
//! then a read returns 1:
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
//! {:process 1, :type :ok, :f :read, :value 1}
//! "#;
//! let init = ModelOptions::default().init(Value::Int(0));
//! let model = model::builtin("cas-register", &init).unwrap();
//! let history = History::complete(read::RawOp::read(log.as_bytes(), "h.edn", None).unwrap(), &model).unwrap();
//! let core = shrink::shrink(&model, &history, &Options::default()).core.unwrap();
//! // The write of 1, the write of 2 and the stale read: without the write of 1
//! // nothing would explain the read's 1 (a lone read of 1 is invalid too, but for
//! // a reason this history does not have).
//! assert_eq!(core.indices(), [0, 1, 4, 5, 6, 7]);
//! assert!(core.minimal);
//! assert_eq!((core.history.operations.len(), core.of), (3, 4));
//! ```

mod timeless;

use crate::analysis::{Analysis, Validity};
use crate::history::{History, Operation};
use crate::model::memo::Memo;
use crate::model::Model;
use crate::search::{competition, Algorithm, Budget, Cancel, Cause, Outcome};
use crate::value::Value;
use crate::{check, partition, Options};
use std::borrow::Cow;
use std::time::{Duration, Instant};

/// A faithful core of an invalid history (see the module documentation).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Core {
    /// The key whose operations these are, for a history split by key.
    pub key: Option<Value>,
    /// Positions in the history's [ops](History::ops) of the core's ops, in order:
    /// each kept operation's invocation and `:ok`.
    pub positions: Vec<usize>,
    /// The core as a history of its own, whose op maps are the original's.
    pub history: History,
    /// Whether the core is proven 1-minimal: removing any one of its operations was
    /// checked and found linearizable or unfaithful. False when the time ran out
    /// first, or some such check was `:unknown`.
    pub minimal: bool,
    /// How many operations the shrunk history had (the failing key's, when split).
    pub of: usize,
    /// How many candidate sub-histories were checked (each arrangement counted).
    pub checks: usize,
}

impl Core {
    /// How long shrinking may take when the options set no time limit.
    pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(10);

    /// The `:index` of each op of the core, in order.
    pub fn indices(&self) -> Vec<u64> {
        self.history.ops.iter().map(|op| op.index).collect()
    }
}

/// A history's analysis and, when it is invalid, its core.
#[derive(Debug)]
#[non_exhaustive]
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
    let analysis = check(model, history, options);
    let core = Core::find(model, history, &analysis, &options.after(start.elapsed()));
    Shrunk { analysis, core }
}

impl Core {
    /// The core of a history [`check`] found invalid, from that analysis (which names
    /// the failing key and operation, so the history is not checked again); `None` if
    /// the analysis is not invalid.
    pub fn find<M: Model + ?Sized>(
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
        let n = subject.operations.len();
        let mut shrinker = Shrinker {
            model,
            memo: Memo::new(model, &subject, part.is_none()),
            subject: &subject,
            algorithm: options.algorithm,
            by_key: part.is_none(),
            deadline: start.checked_add(options.time_limit.unwrap_or(Core::DEFAULT_TIME_LIMIT)),
            memory: options.memory_limit_in_force(),
            cancel: options.cancel.clone(),
            checks: 0,
            in_whole: vec![None; n],
            explanations: vec![None; n],
            timeless_whole: None,
            joint: false,
        };
        let all: Vec<usize> = (0..n).collect();
        let failing = subject
            .operations
            .iter()
            .position(|o| o.complete.is_some_and(|c| Some(subject.ops[c].index) == failing));
        // A core of the reported failure: first by rule 1 alone, then by both rules
        // from the start if the one found breaks rule 2 (see the module documentation).
        let goal = failing.map_or(Goal::Invalid, Goal::FailsAt);
        let start = |shrinker: &mut Shrinker<M>| {
            let Some(op) = failing else { return all.clone() };
            let cut = shrinker.cut(all.clone(), op);
            // Reads left out first, if the cut still fails at the same op without them
            // (removing reads never makes a history invalid; a stale read fails with
            // every other read gone): a smaller start, quicker to check.
            let alone = shrinker.without_reads(&cut, op);
            if alone.len() < cut.len()
                && matches!(shrinker.test(&alone, Layout::RealTime), Test::Invalid(f) if f == op)
                && shrinker.faithful(&alone) == Judged::Yes
            {
                return alone;
            }
            if shrinker.faithful(&cut) == Judged::Yes {
                cut
            } else {
                all.clone()
            }
        };
        let first = start(&mut shrinker);
        let (kept, minimal) = shrinker.ddmin(first, goal);
        shrinker.joint = true;
        let (kept, minimal) = match shrinker.faithful(&kept) {
            Judged::Yes => (kept, minimal),
            Judged::No | Judged::Unknown => {
                let again = start(&mut shrinker);
                shrinker.ddmin(again, goal)
            }
            // No time to judge it: the whole, which is faithful.
            Judged::Stop => (all, false),
        };
        // A history of some of the subject's operations, as positions in the whole.
        let to_whole = |p: usize| part.as_ref().map_or(p, |part| part.positions()[p]);
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
        Some(Core {
            key: part.as_ref().map(|p| p.key.clone()),
            history: history.part(&positions, operations.into_iter()),
            positions,
            minimal,
            of: n,
            checks: shrinker.checks,
        })
    }
}

/// What a candidate must show to replace the current set (besides being faithful).
#[derive(Clone, Copy)]
enum Goal {
    /// Not linearizable.
    Invalid,
    /// Not linearizable, failing at this operation.
    FailsAt(usize),
}

/// How a candidate's operations are laid out for a check.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// As in the history.
    RealTime,
    /// Timeless: every invocation, then every completion.
    Timeless,
    /// Whether this `:ok` operation's result is explained by operations that could
    /// precede it (see the module documentation).
    Explaining(usize),
}

/// What checking a candidate showed.
enum Test {
    /// Not linearizable; the failing operation (an index into the subject's operations).
    Invalid(usize),
    /// Linearizable; with [`Layout::Explaining`], the operations of the order found.
    Valid(Vec<usize>),
    /// Undecided, for another reason than the end of the time.
    Unknown,
    /// The time ran out, or the shrink was cancelled: stop.
    Stop,
}

/// Whether a candidate is faithful.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Judged {
    Yes,
    No,
    Unknown,
    Stop,
}

/// Delta debugging over the operations of one history (the subject).
struct Shrinker<'a, M: Model + ?Sized> {
    model: &'a M,
    /// The subject's states and kinds, for the checks without real time.
    memo: Memo<'a, M>,
    subject: &'a History,
    algorithm: Algorithm,
    /// Whether the subject may hold several keys of a keyed model (see `check`).
    by_key: bool,
    deadline: Option<Instant>,
    memory: usize,
    cancel: Option<Cancel>,
    checks: usize,
    /// Per `:ok` operation: whether the whole subject explains its result.
    in_whole: Vec<Option<Judged>>,
    /// Per `:ok` operation: the operations of its last explanation found.
    explanations: Vec<Option<Vec<usize>>>,
    /// Whether the whole subject's timeless history is linearizable, once asked.
    timeless_whole: Option<Judged>,
    /// Whether rule 2 is judged too.
    joint: bool,
}

/// How long a check of the whole subject without real time may take: each is asked
/// once.
const TIMELESS_WHOLE: Duration = Duration::from_secs(1);

/// How long any other check without real time may run: most take microseconds, but
/// one without an order may have to try many. One cut short counts as undecided
/// (its candidate stays unproven).
const TIMELESS_CHECK: Duration = Duration::from_millis(100);

impl<M: Model + ?Sized> Shrinker<'_, M> {
    /// Shrinks a faithful set of operations (indices into the subject's, in order)
    /// that has the property `goal` names: the smallest such set found, and whether
    /// it is proven 1-minimal (without any one operation: linearizable, unfaithful,
    /// or failing elsewhere).
    fn ddmin(&mut self, mut kept: Vec<usize>, goal: Goal) -> (Vec<usize>, bool) {
        let mut n = 2;
        loop {
            // One operation, invalid alone: without it the history is empty, and valid.
            if kept.len() < 2 {
                return (kept, true);
            }
            n = n.min(kept.len());
            let (mut reduced, mut proven) = (None, true);
            for i in 0..n {
                let (lo, hi) = (i * kept.len() / n, (i + 1) * kept.len() / n);
                let rest: Vec<usize> = kept[..lo].iter().chain(&kept[hi..]).copied().collect();
                let failing = match (self.test(&rest, Layout::RealTime), goal) {
                    (Test::Invalid(failing), Goal::Invalid) => failing,
                    (Test::Invalid(failing), Goal::FailsAt(target)) if failing == target => failing,
                    // Linearizable, or failing elsewhere: this part is needed.
                    (Test::Valid(_) | Test::Invalid(_), _) => continue,
                    (Test::Stop, _) => return (kept, false),
                    (Test::Unknown, _) => {
                        proven = false;
                        continue;
                    }
                };
                match self.faithful(&rest) {
                    Judged::Yes => {
                        let cut = self.cut(rest.clone(), failing);
                        let smaller = cut.len() < rest.len() && self.faithful(&cut) == Judged::Yes;
                        reduced = Some(if smaller { cut } else { rest });
                        break;
                    }
                    Judged::No => {}
                    Judged::Unknown => proven = false,
                    Judged::Stop => return (kept, false),
                }
            }
            match reduced {
                Some(smaller) => {
                    kept = smaller;
                    n = (n - 1).max(2);
                }
                // Each operation was removed in turn: none can go.
                None if n == kept.len() => return (kept, proven),
                None => n = (2 * n).min(kept.len()),
            }
        }
    }

    /// Whether a set of operations is faithful (see the module documentation).
    fn faithful(&mut self, kept: &[usize]) -> Judged {
        // Rule 1: each result the whole explains, explained here.
        for &o in kept {
            if self.subject.operations[o].complete.is_none() {
                continue;
            }
            if let Some(witness) = &self.explanations[o] {
                if witness.iter().all(|w| kept.binary_search(w).is_ok()) {
                    continue;
                }
            }
            // Undecided in the whole: asked of the candidate too (which keeps the
            // core honest), but a candidate failing it is not shown unfaithful.
            let failing = match self.explained_in_whole(o) {
                Judged::Yes => Judged::No,
                Judged::No => continue,
                Judged::Unknown => Judged::Unknown,
                Judged::Stop => return Judged::Stop,
            };
            match self.test(kept, Layout::Explaining(o)) {
                Test::Valid(witness) => self.explanations[o] = Some(witness),
                Test::Invalid(_) => return failing,
                Test::Unknown => return Judged::Unknown,
                Test::Stop => return Judged::Stop,
            }
        }
        // Rule 2: timeless, all at once, when the whole is.
        if !self.joint {
            return Judged::Yes;
        }
        match self.test(kept, Layout::Timeless) {
            Test::Valid(_) => Judged::Yes,
            Test::Stop => Judged::Stop,
            Test::Invalid(_) => match self.timeless_whole() {
                Judged::Yes => Judged::No,
                Judged::No => Judged::Yes,
                other => other,
            },
            Test::Unknown => match self.timeless_whole() {
                Judged::No => Judged::Yes,
                Judged::Stop => Judged::Stop,
                _ => Judged::Unknown,
            },
        }
    }

    /// Whether the whole subject explains the result of `:ok` operation `o`.
    fn explained_in_whole(&mut self, o: usize) -> Judged {
        if let Some(known) = self.in_whole[o] {
            return known;
        }
        let all: Vec<usize> = (0..self.subject.operations.len()).collect();
        let judged = match self.test(&all, Layout::Explaining(o)) {
            Test::Valid(witness) => {
                self.explanations[o] = Some(witness);
                Judged::Yes
            }
            Test::Invalid(_) => Judged::No,
            Test::Unknown => Judged::Unknown,
            Test::Stop => return Judged::Stop,
        };
        self.in_whole[o] = Some(judged);
        judged
    }

    /// Whether the whole subject's timeless history is linearizable.
    fn timeless_whole(&mut self) -> Judged {
        if let Some(known) = self.timeless_whole {
            return known;
        }
        let all: Vec<usize> = (0..self.subject.operations.len()).collect();
        let judged = match self.test(&all, Layout::Timeless) {
            Test::Valid(_) => Judged::Yes,
            Test::Invalid(_) => Judged::No,
            Test::Unknown => Judged::Unknown,
            Test::Stop => return Judged::Stop,
        };
        self.timeless_whole = Some(judged);
        judged
    }

    /// These operations without the `:ok` reads ([`Model::is_read`]) but `failing`.
    fn without_reads(&self, kept: &[usize], failing: usize) -> Vec<usize> {
        let (operations, kinds) = (&self.subject.operations, self.memo.kinds());
        let read = |i: usize| operations[i].complete.is_some() && self.memo.is_read(kinds[i]);
        kept.iter().copied().filter(|&i| i == failing || !read(i)).collect()
    }

    /// Leaves out the operations invoked after the failing one completed (see the
    /// module documentation: the rest is still invalid, failing there).
    fn cut(&self, mut kept: Vec<usize>, failing: usize) -> Vec<usize> {
        let operations = &self.subject.operations;
        if let Some(end) = operations[failing].complete {
            kept.retain(|&i| operations[i].invoke < end);
        }
        kept
    }

    /// Checks these operations (in order), laid out so.
    fn test(&mut self, kept: &[usize], layout: Layout) -> Test {
        if self.stopped() {
            return Test::Stop;
        }
        self.checks += 1;
        let operations = &self.subject.operations;
        // The whole subject's questions are asked once each: they get longer.
        let whole = kept.len() == operations.len();
        let cap = if whole { TIMELESS_WHOLE } else { TIMELESS_CHECK };
        let soon = Instant::now() + cap;
        let deadline = self.deadline.map_or(soon, |d| d.min(soon));
        // The checks without real time share the memo, within half the memory limit: it
        // only saves the next ones work, so past a quarter it starts afresh.
        let max_bytes = self.memory / 2;
        if layout != Layout::RealTime && self.memo.bytes() > max_bytes / 2 {
            self.memo = Memo::new(self.model, self.subject, self.by_key);
        }
        let found = match layout {
            Layout::RealTime => return self.real_time(kept),
            Layout::Timeless => {
                let (ok, crashed): (Vec<usize>, Vec<usize>) =
                    kept.iter().partition(|&&i| operations[i].complete.is_some());
                timeless::decide(&mut self.memo, &ok, &crashed, timeless::Goal::All, deadline, max_bytes)
            }
            Layout::Explaining(o) => {
                // What could take effect before it: anything invoked before it completed.
                let end = operations[o].complete.unwrap_or(usize::MAX);
                let before: Vec<usize> =
                    kept.iter().copied().filter(|&i| i != o && operations[i].invoke < end).collect();
                let goal = timeless::Goal::Legal(self.memo.kind(o));
                timeless::decide(&mut self.memo, &[], &before, goal, deadline, max_bytes)
            }
        };
        match found {
            timeless::Found::Yes(used) => Test::Valid(used),
            // Which operation fails is not asked of these checks.
            timeless::Found::No => Test::Invalid(kept.first().copied().unwrap_or(0)),
            timeless::Found::Unknown if self.stopped() => Test::Stop,
            timeless::Found::Unknown => Test::Unknown,
        }
    }

    /// Checks the sub-history of these operations as it happened, verdict only.
    fn real_time(&mut self, kept: &[usize]) -> Test {
        let operations = &self.subject.operations;
        let mut positions: Vec<usize> = kept
            .iter()
            .flat_map(|&i| [Some(operations[i].invoke), operations[i].complete])
            .flatten()
            .collect();
        positions.sort_unstable();
        let candidate = self.subject.part(&positions, kept.iter().map(|&i| operations[i].clone()));
        let budget =
            Budget::new(self.deadline, self.memory.saturating_sub(self.memo.bytes()), self.cancel.clone());
        match competition::verdict(&candidate, self.model, self.algorithm, self.by_key, &budget) {
            // A bound stands for the failing operation: it is the same on every run.
            Outcome::Invalid { op, .. } | Outcome::FailsBy { op } => Test::Invalid(kept[op]),
            Outcome::Valid { .. } => Test::Valid(Vec::new()),
            Outcome::Unknown { cause: Cause::Timeout | Cause::Cancelled, .. } if self.stopped() => Test::Stop,
            Outcome::Unknown { .. } => Test::Unknown,
        }
    }

    fn stopped(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
            || self.cancel.as_ref().is_some_and(Cancel::is_cancelled)
    }
}
