//! From a search's outcome to a Knossos-compatible analysis.
//!
//! For an invalid history the analysis names the `:ok` operation that could not be
//! linearized (`:op`), the last `:ok` before it (`:previous-ok`), the operation the
//! search linearized last on its way there (`:last-op`), and a few *final paths*:
//! from a configuration the search reached just before the failure, legal steps
//! through operations still pending at that point, ending in the failing
//! operation's inconsistency. There can be factorially many final paths (Knossos
//! has produced nearly a million for nine crashed writes), so they are enumerated
//! depth first and enumeration stops at `max_paths`.
//!
//! Where the history was proven to fail at an operation or before without a search
//! reaching it (the unique-value engine's bound), `:op` is that operation and
//! `:op-bound? true` says so: an earlier one may already fail, and there is no
//! prefix, no final path and no configuration to report.

use crate::history::{History, Op, OpMap};
use crate::model::memo::{Memo, StateId};
use crate::model::Model;
use crate::search::competition::Decision;
use crate::search::{Budget, Cause, Config, Outcome};
use crate::value::Value;
use std::collections::HashSet;

/// The verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// Linearizable.
    Valid,
    /// Not linearizable.
    Invalid,
    /// The search stopped before a verdict (see [`Analysis::cause`]).
    Unknown,
}

impl Validity {
    /// Whether the history is linearizable (not invalid, not unknown).
    pub fn is_valid(self) -> bool {
        self == Validity::Valid
    }

    /// As the analysis prints it: `true`, `false` or `:unknown`.
    pub fn to_value(self) -> Value {
        match self {
            Validity::Valid => Value::Bool(true),
            Validity::Invalid => Value::Bool(false),
            Validity::Unknown => Value::keyword("unknown"),
        }
    }
}

/// A configuration of the search at the failure: the model state, the operation
/// linearized last, and the operations still pending.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigReport {
    /// The model's state, as the model prints it.
    pub model: Value,
    /// The op linearized last, if any.
    pub last_op: Option<Value>,
    /// The ops invoked and not yet linearized.
    pub pending: Vec<Value>,
}

/// How far a search got: every `:ok` operation before `next_index` was linearized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Prefix {
    /// How many `:ok` operations completed before the one the search could not pass.
    pub linearized: usize,
    /// The index of that operation's completion; `None` if the search had not yet
    /// reached any.
    pub next_index: Option<u64>,
}

/// One step of a final path: an operation and the model state after it (or the
/// inconsistency, as `{:msg "…"}`).
#[derive(Clone, Debug, PartialEq)]
pub struct PathStep {
    /// The op.
    pub op: Value,
    /// The state after it, or `{:msg "…"}` where it is impossible.
    pub model: Value,
}

/// The result of checking one history (fields may be added).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Analysis {
    /// The verdict.
    pub valid: Validity,
    /// The engine that decided: `unique`, `competition` (the race), `wgl` or `linear`.
    pub analyzer: &'static str,
    /// Why there is no verdict, when [`Validity::Unknown`].
    pub cause: Option<Cause>,
    /// How far the search got, when invalid or unknown.
    pub longest_prefix: Option<Prefix>,
    /// A few of the configurations that reached the failing operation.
    pub configs: Vec<ConfigReport>,
    /// The completion that could not be linearized.
    pub op: Option<OpMap>,
    /// Whether `op` is only a bound: no order gets past it, but an earlier
    /// completion may be the first that none gets past: the history was proven
    /// invalid without a search reaching the failure (printed `:op-bound? true`).
    pub op_bound: bool,
    /// The last `:ok` before `op`.
    pub previous_ok: Option<OpMap>,
    /// The last operation linearized on the way to the failure.
    pub last_op: Option<OpMap>,
    /// At most `max_paths` final paths.
    pub final_paths: Vec<Vec<PathStep>>,
    /// How many final paths there are, and whether that is only a lower bound
    /// (enumeration is bounded: there can be factorially many).
    pub final_paths_count: Option<(usize, bool)>,
    /// For a history checked key by key: each key's analysis, in key order of
    /// first appearance.
    pub results: Vec<(Value, Analysis)>,
    /// The keys whose histories are not linearizable.
    pub failures: Vec<Value>,
    /// What reading left out of the history, whose verdict this is, and how it read
    /// it ([`History::warnings`](crate::History::warnings)), each as `line N: …`, or
    /// without a line when it is about the whole file.
    pub warnings: Vec<String>,
    /// For a valid history, when asked for ([`Options::witness`](crate::Options)):
    /// an order of its operations that explains it, each named by its invocation's
    /// `:index`: every `:ok` operation once, and the crashed ones the order needs.
    /// A history checked key by key has one per key, in `results`.
    pub linearization: Option<Vec<u64>>,
}

impl Analysis {
    /// Whether the history is linearizable: `false` when it is not, and when the
    /// search stopped before a verdict.
    pub fn is_valid(&self) -> bool {
        self.valid.is_valid()
    }

    /// The analysis as an EDN map, with Knossos's keys.
    pub fn to_value(&self) -> Value {
        let op = |o: &Option<OpMap>| o.as_ref().map_or(Value::Nil, |o| o.map.clone());
        let mut entries =
            vec![("valid?", self.valid.to_value()), ("analyzer", Value::keyword(self.analyzer))];
        if let Some(cause) = self.cause {
            entries.push(("cause", Value::keyword(cause.name())));
        }
        if !self.warnings.is_empty() {
            entries
                .push(("warnings", Value::Vector(self.warnings.iter().map(|w| Value::string(w)).collect())));
        }
        // A history checked key by key has its details under :results.
        if self.valid == Validity::Invalid && self.results.is_empty() {
            entries.push(("op", op(&self.op)));
            if self.op_bound {
                entries.push(("op-bound?", Value::Bool(true)));
            }
            entries.push(("previous-ok", op(&self.previous_ok)));
            entries.push(("last-op", op(&self.last_op)));
            let paths = self.final_paths.iter().map(|path| {
                Value::Vector(
                    path.iter()
                        .map(|s| Value::kw_map([("op", s.op.clone()), ("model", s.model.clone())]))
                        .collect(),
                )
            });
            entries.push(("final-paths", Value::Vector(paths.collect())));
            if let Some((count, truncated)) = self.final_paths_count {
                entries.push(("final-paths-count", Value::Int(count as i64)));
                if truncated {
                    entries.push(("final-paths-truncated?", Value::Bool(true)));
                }
            }
            let configs = self.configs.iter().map(|c| {
                Value::kw_map([
                    ("model", c.model.clone()),
                    ("last-op", c.last_op.clone().unwrap_or(Value::Nil)),
                    ("pending", Value::Vector(c.pending.clone())),
                ])
            });
            entries.push(("configs", Value::Vector(configs.collect())));
        }
        if let Some(order) = &self.linearization {
            let indices = order.iter().map(|&i| Value::Int(i as i64));
            entries.push(("linearization", Value::Vector(indices.collect())));
        }
        if let Some(p) = self.longest_prefix {
            let next = p.next_index.map_or(Value::Nil, |i| Value::Int(i as i64));
            entries.push((
                "longest-linearizable-prefix",
                Value::kw_map([("linearized", Value::Int(p.linearized as i64)), ("next-index", next)]),
            ));
        }
        if !self.results.is_empty() {
            let results = self.results.iter().map(|(k, a)| (k.clone(), a.to_value()));
            entries.push(("results", Value::Map(results.collect())));
            entries.push(("failures", Value::Vector(self.failures.clone())));
        }
        Value::kw_map(entries)
    }

    /// The analysis of a history checked key by key, as `jepsen.independent`
    /// writes it: invalid if any key is, else unknown if any key is, else valid;
    /// `:results` maps each key to its analysis and `:failures` lists the invalid keys.
    pub(crate) fn combine(results: Vec<(Value, Analysis)>) -> Analysis {
        let any = |v| results.iter().any(|(_, a)| a.valid == v);
        let valid = if any(Validity::Invalid) {
            Validity::Invalid
        } else if any(Validity::Unknown) {
            Validity::Unknown
        } else {
            Validity::Valid
        };
        let failures = results.iter().filter(|(_, a)| a.valid == Validity::Invalid).map(|(k, _)| k.clone());
        // The engine of the key that decided the verdict.
        let decider = results.iter().find(|(_, a)| a.valid == valid);
        Analysis {
            valid,
            analyzer: decider.map_or("wgl", |(_, a)| a.analyzer),
            cause: decider.and_then(|(_, a)| a.cause),
            failures: failures.collect(),
            results,
            ..Analysis::empty("wgl")
        }
    }

    /// The analysis of a search that never started: the budget ran out first.
    pub(crate) fn stopped(analyzer: &'static str, cause: Cause) -> Analysis {
        Analysis {
            valid: Validity::Unknown,
            cause: Some(cause),
            longest_prefix: Some(Prefix { linearized: 0, next_index: None }),
            ..Analysis::empty(analyzer)
        }
    }

    /// A valid analysis with nothing else in it.
    fn empty(analyzer: &'static str) -> Analysis {
        Analysis {
            valid: Validity::Valid,
            analyzer,
            cause: None,
            longest_prefix: None,
            configs: Vec::new(),
            op: None,
            op_bound: false,
            previous_ok: None,
            last_op: None,
            final_paths: Vec::new(),
            final_paths_count: None,
            results: Vec::new(),
            failures: Vec::new(),
            warnings: Vec::new(),
            linearization: None,
        }
    }
}

/// How many configurations the analysis lists.
const MAX_REPORTED_CONFIGS: usize = 10;

/// Builds the analysis of a search's decision.
pub(crate) fn analyse<M: Model + ?Sized>(
    history: &History,
    decision: Decision<'_, M>,
    max_paths: usize,
    budget: &Budget,
) -> Analysis {
    let Decision { outcome, analyzer, mut memo } = decision;
    let mut analysis = Analysis::empty(analyzer);
    match outcome {
        Outcome::Valid { linearization } => {
            let index = |op: usize| history.ops[history.operations[op].invoke].index;
            analysis.linearization = linearization.map(|order| order.into_iter().map(index).collect());
        }
        Outcome::Unknown { cause, furthest } => {
            analysis.valid = Validity::Unknown;
            analysis.cause = Some(cause);
            analysis.longest_prefix = Some(prefix(history, furthest));
        }
        Outcome::Invalid { op, configs } => {
            let failing = history.operations[op].complete.expect("only :ok operations can fail");
            analysis.valid = Validity::Invalid;
            analysis.longest_prefix = Some(prefix(history, Some(op)));
            analysis.op = Some(history.printed(&history.ops[failing]));
            analysis.previous_ok = history.previous_ok(failing).map(|op| history.printed(op));
            analysis.last_op =
                configs.iter().find_map(|c| c.last).map(|l| history.printed(operation_op(history, l)));
            analysis.configs = configs
                .iter()
                .take(MAX_REPORTED_CONFIGS)
                .map(|c| ConfigReport {
                    model: memo.render(c.state),
                    last_op: c.last.map(|l| history.op_map(operation_op(history, l))),
                    pending: pending_at(history, op)
                        .filter(|&p| !c.is_linearized(p))
                        .map(|p| history.op_map(operation_op(history, p)))
                        .collect(),
                })
                .collect();
            let paths = FinalPaths::new(history, &mut memo, op, max_paths, budget).collect(&configs);
            analysis.final_paths = paths.paths;
            analysis.final_paths_count = Some((paths.count, paths.truncated));
        }
        Outcome::FailsBy { op } => {
            let failing = history.operations[op].complete.expect("only :ok operations can fail");
            analysis.valid = Validity::Invalid;
            analysis.op = Some(history.printed(&history.ops[failing]));
            analysis.op_bound = true;
            analysis.previous_ok = history.previous_ok(failing).map(|op| history.printed(op));
        }
    }
    memo.free(budget);
    analysis
}

/// The prefix a search got through, given the `:ok` operation it could not pass.
fn prefix(history: &History, furthest: Option<usize>) -> Prefix {
    let Some(at) = furthest.and_then(|op| history.operations[op].complete) else {
        return Prefix { linearized: 0, next_index: None };
    };
    let linearized = history.operations.iter().filter(|o| o.complete.is_some_and(|c| c < at)).count();
    Prefix { linearized, next_index: Some(history.ops[at].index) }
}

/// The operations open when `failing` completed (itself excluded).
fn pending_at(history: &History, failing: usize) -> impl Iterator<Item = usize> + '_ {
    let at = history.operations[failing].complete.expect("an :ok operation");
    (0..history.operations.len()).filter(move |&i| {
        let o = &history.operations[i];
        i != failing && o.invoke < at && o.complete.is_none_or(|c| c > at)
    })
}

/// The op that stands for an operation in reports: its `:ok`, or for an
/// indeterminate operation its invocation (whose value it was attempting).
fn operation_op(history: &History, op: usize) -> &Op {
    let o = &history.operations[op];
    &history.ops[o.complete.unwrap_or(o.invoke)]
}

/// A bounded, depth-first enumeration of final paths.
struct FinalPaths<'h, 'a, 'm, M: Model + ?Sized> {
    history: &'h History,
    memo: &'a mut Memo<'m, M>,
    failing: usize,
    /// Operations open when the failing one completed.
    pending: Vec<usize>,
    max: usize,
    /// Search nodes left to visit: past `max` paths, enumeration goes on only to
    /// count them, and stops when these run out.
    visits_left: usize,
    seen: HashSet<(Option<usize>, StateId, Vec<usize>)>,
    out: Vec<Vec<PathStep>>,
    /// The time and memory the enumeration may take, checked every [`CHECK_EVERY`]
    /// visits with an estimate of what `seen` and `out` hold (`bytes`; `held`: as
    /// last reported, and `memo_held`, the memo's part of it).
    budget: &'a Budget,
    bytes: usize,
    held: usize,
    memo_held: usize,
}

/// How many visits the enumeration makes between two budget checks.
const CHECK_EVERY: usize = 1024;

/// Final paths: the first few, and how many there are.
struct Enumerated {
    paths: Vec<Vec<PathStep>>,
    /// How many distinct final paths were found.
    count: usize,
    /// Whether enumeration stopped before finding them all (`count` is a lower bound).
    truncated: bool,
}

impl<'h, 'a, 'm, M: Model + ?Sized> FinalPaths<'h, 'a, 'm, M> {
    fn new(
        history: &'h History,
        memo: &'a mut Memo<'m, M>,
        failing: usize,
        max: usize,
        budget: &'a Budget,
    ) -> Self {
        let pending = pending_at(history, failing).collect();
        FinalPaths {
            history,
            memo,
            failing,
            pending,
            max,
            visits_left: max.saturating_mul(100).max(1000),
            seen: HashSet::new(),
            out: Vec::new(),
            budget,
            bytes: 0,
            held: 0,
            memo_held: 0,
        }
    }

    fn collect(mut self, configs: &[Config]) -> Enumerated {
        for config in configs {
            let mut path = Vec::new();
            self.extend(config, config.state, &mut path);
        }
        self.memo.keep_counted(self.budget, self.memo_held);
        self.budget.release(self.held - self.memo_held);
        Enumerated { count: self.seen.len(), truncated: self.visits_left == 0, paths: self.out }
    }

    fn kind(&self, op: usize) -> u32 {
        self.memo.kind(op)
    }

    fn extend(&mut self, config: &Config, state: StateId, path: &mut Vec<usize>) {
        if self.visits_left == 0 {
            return;
        }
        self.visits_left -= 1;
        if self.visits_left % CHECK_EVERY == 0 {
            self.memo_held = self.memo.uncounted();
            if self.budget.check(self.held, self.bytes + self.memo_held).is_some() {
                // Out of time or memory: what was found stands, counted as a lower bound.
                self.visits_left = 0;
            }
            self.held = self.bytes + self.memo_held;
        }
        let failing_kind = self.kind(self.failing);
        if self.memo.step(state, failing_kind).is_none()
            && self.seen.insert((config.last, config.state, path.clone()))
        {
            // An entry of `seen`, with the table's share; a printed path's steps.
            self.bytes += 64 + 8 * path.len();
            if self.out.len() < self.max {
                let steps = self.render(config, path, state, failing_kind);
                self.bytes += 2048 * steps.len();
                self.out.push(steps);
            }
        }
        for i in 0..self.pending.len() {
            let op = self.pending[i];
            if config.is_linearized(op) || path.contains(&op) {
                continue;
            }
            let kind = self.kind(op);
            if let Some(next) = self.memo.step(state, kind) {
                path.push(op);
                self.extend(config, next, path);
                path.pop();
            }
        }
    }

    fn render(&mut self, config: &Config, path: &[usize], end: StateId, failing_kind: u32) -> Vec<PathStep> {
        let mut steps = Vec::with_capacity(path.len() + 2);
        if let Some(last) = config.last {
            steps.push(PathStep {
                op: self.history.op_map(operation_op(self.history, last)),
                model: self.memo.render(config.state),
            });
        }
        let mut state = config.state;
        for &op in path {
            let kind = self.kind(op);
            state = self.memo.step(state, kind).expect("path steps are legal");
            steps.push(PathStep {
                op: self.history.op_map(operation_op(self.history, op)),
                model: self.memo.render(state),
            });
        }
        let msg = self.memo.explain(end, failing_kind).err().unwrap_or_default();
        steps.push(PathStep {
            op: self.history.op_map(operation_op(self.history, self.failing)),
            model: Value::kw_map([("msg", Value::string(&msg))]),
        });
        steps
    }
}
