//! The history as bars over logical time, and the window of it a report shows.
//!
//! [`Timeline`] pairs every op of the log with its completion, process by process,
//! the way completion does, but keeps everything a reader wants to see:
//! failed operations (which the search drops) and the nemesis's ops. Logical time
//! is an op's position in [`History::ops`].
//!
//! [`Window`] picks the few dozen bars that explain a failure, in order of
//! importance, until [`MAX_BARS`]: the failing operation; every operation of the
//! final paths; the previous `:ok` and the last linearized op; the last few `:ok`
//! operations that completed before the failing one was invoked (what must precede
//! it); then the operations concurrent with it, those invoked while it was open
//! first; then the nemesis's ops within the span shown. A 10 000-op history thus
//! yields the same few dozen bars as a 20-op one.

use crate::analysis::{Analysis, PathStep};
use crate::history::{History, OpType};
use crate::value::Value;
use std::collections::{HashMap, HashSet};

/// At most this many bars in a diagram.
pub(super) const MAX_BARS: usize = 64;
/// At most this many operations of a witness order are drawn: its first ones.
pub(super) const WITNESS_BARS: usize = 40;
/// How many `:ok` operations completed before the failing one was invoked are shown.
const CONTEXT: usize = 5;

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Completed with `:ok`: it happened.
    Ok,
    /// Crashed (`:info`) or never completed: it may take effect at any later point, or never.
    Crashed,
    /// Completed with `:fail`: it did not happen.
    Failed,
    /// Not searched: a nemesis op, or an op with no invocation to pair with.
    Aside,
}

/// An operation of the log: its invocation and the op that closed it.
#[derive(Clone, Debug)]
pub(super) struct Bar {
    /// Position of the invocation (or of a lone op) in [`History::ops`].
    pub invoke: usize,
    /// Position of the op that closed it (`:ok`, `:fail` or `:info`), if any.
    pub complete: Option<usize>,
    pub outcome: Outcome,
}

impl Bar {
    /// Whether it stays open to the end of the history (crashed or never completed).
    pub fn open_ended(&self) -> bool {
        self.outcome == Outcome::Crashed || self.complete.is_none()
    }

    /// The last position at which it is open.
    pub fn end(&self) -> usize {
        match self.complete {
            Some(c) if !self.open_ended() => c,
            _ => usize::MAX,
        }
    }

    /// The op that carries its result: the `:ok` for a completed operation, else the invocation.
    pub fn result(&self) -> usize {
        match (self.outcome, self.complete) {
            (Outcome::Ok, Some(c)) => c,
            _ => self.invoke,
        }
    }

    /// Whether the two were open at the same time.
    pub fn overlaps(&self, other: &Bar) -> bool {
        self.invoke < other.end() && other.invoke < self.end()
    }
}

/// Every op of a history, paired into bars.
pub(super) struct Timeline<'h> {
    pub history: &'h History,
    /// In order of invocation.
    pub bars: Vec<Bar>,
}

impl<'h> Timeline<'h> {
    /// Pairs the ops of a history. Total on any history, even one that completion
    /// would reject: a second invocation leaves the first open-ended, a completion
    /// with nothing open is a lone bar.
    pub fn new(history: &'h History) -> Timeline<'h> {
        let mut bars: Vec<Bar> = Vec::new();
        let mut open: HashMap<&Value, usize> = HashMap::new();
        for (pos, op) in history.ops.iter().enumerate() {
            let aside = op.is_nemesis();
            if op.kind == OpType::Invoke {
                let outcome = if aside { Outcome::Aside } else { Outcome::Crashed };
                open.insert(op.process(), bars.len());
                bars.push(Bar { invoke: pos, complete: None, outcome });
                continue;
            }
            match open.remove(op.process()).and_then(|id| bars.get_mut(id)) {
                Some(bar) => {
                    bar.complete = Some(pos);
                    if !aside {
                        bar.outcome = match op.kind {
                            OpType::Ok => Outcome::Ok,
                            OpType::Fail => Outcome::Failed,
                            OpType::Info | OpType::Invoke => Outcome::Crashed,
                        };
                    }
                }
                None => bars.push(Bar { invoke: pos, complete: Some(pos), outcome: Outcome::Aside }),
            }
        }
        Timeline { history, bars }
    }

    /// The bars holding the ops with these external indexes, in two passes.
    fn find(&self, indexes: &HashSet<u64>) -> HashMap<u64, usize> {
        let positions: HashMap<usize, u64> = self
            .history
            .ops
            .iter()
            .enumerate()
            .filter(|(_, op)| indexes.contains(&op.index))
            .map(|(pos, op)| (pos, op.index))
            .collect();
        let mut found = HashMap::new();
        for (id, bar) in self.bars.iter().enumerate() {
            for pos in std::iter::once(bar.invoke).chain(bar.complete) {
                if let Some(&index) = positions.get(&pos) {
                    found.insert(index, id);
                }
            }
        }
        found
    }

    /// The bars open at the same time as `bar`, other than itself.
    pub fn concurrent(&self, bar: usize) -> impl Iterator<Item = usize> + '_ {
        let focus = self.bars.get(bar);
        self.bars
            .iter()
            .enumerate()
            .filter(move |&(id, b)| id != bar && focus.is_some_and(|f| f.overlaps(b)))
            .map(|(id, _)| id)
    }
}

/// The key of an op (its map, or its [fields](crate::history::Op::fields)) of a history checked key by
/// key: its `:key` (keyed models such as `kv`), or the first element of its
/// `[key value]` tuple (`jepsen.independent`).
pub(super) fn key_of(op: &Value) -> Option<&Value> {
    op.get("key").filter(|k| !k.is_nil()).or_else(|| match op.get("value")?.as_seq() {
        Some([key, _]) => Some(key),
        _ => None,
    })
}

/// The external index an op map carries.
pub(super) fn index_of(op: &Value) -> Option<u64> {
    op.get("index").and_then(Value::as_i64).and_then(|i| u64::try_from(i).ok())
}

/// A step of a final path, located on the timeline.
pub(super) struct Point<'a> {
    /// The bar of the step's operation; `None` if the history has no such op.
    pub bar: Option<usize>,
    pub step: &'a PathStep,
}

/// The part of a timeline a report shows.
pub(super) struct Window<'t, 'h> {
    pub timeline: &'t Timeline<'h>,
    /// The bars shown, in order of invocation.
    pub shown: Vec<usize>,
    /// The failing operation's bar.
    pub failing: Option<usize>,
    /// The bars of the previous `:ok` and of the last linearized op.
    pub previous_ok: Option<usize>,
    pub last_op: Option<usize>,
    /// Operations concurrent with the failing one that did not fit.
    pub hidden: usize,
    /// The final paths, located.
    pub paths: Vec<Vec<Point<'t>>>,
    /// For a valid history, the bars of the witness order drawn, in that order.
    pub witness: Vec<usize>,
}

impl<'t, 'h> Window<'t, 'h> {
    /// Chooses the bars that explain an analysis (see the module documentation).
    pub fn new(timeline: &'t Timeline<'h>, analysis: &'t Analysis) -> Window<'t, 'h> {
        let failing_index = analysis.op.as_ref().map(|op| op.index);
        let previous_index = analysis.previous_ok.as_ref().map(|op| op.index);
        let last_index = analysis.last_op.as_ref().map(|op| op.index);
        let steps = analysis.final_paths.iter().flatten();
        let wanted: HashSet<u64> = [failing_index, previous_index, last_index]
            .into_iter()
            .flatten()
            .chain(steps.clone().filter_map(|s| index_of(&s.op)))
            .collect();
        let found = timeline.find(&wanted);
        let bar_of = |index: Option<u64>| index.and_then(|i| found.get(&i).copied());
        let failing = bar_of(failing_index);
        let paths: Vec<Vec<Point>> = analysis
            .final_paths
            .iter()
            .map(|path| path.iter().map(|step| Point { bar: bar_of(index_of(&step.op)), step }).collect())
            .collect();

        let mut chosen = Chosen::default();
        chosen.push(failing);
        for point in paths.iter().flatten() {
            chosen.push(point.bar);
        }
        let (previous_ok, last_op) = (bar_of(previous_index), bar_of(last_index));
        chosen.push(previous_ok);
        chosen.push(last_op);

        // What must precede the failing operation: the last :ok operations that
        // completed before it was invoked (before the end, without a failing op).
        let bars = &timeline.bars;
        let start = failing.and_then(|f| bars.get(f)).map_or(timeline.history.ops.len(), |b| b.invoke);
        let mut before: Vec<(usize, usize)> = bars
            .iter()
            .enumerate()
            .filter_map(|(id, b)| match (b.outcome, b.complete) {
                (Outcome::Ok, Some(c)) if c < start => Some((c, id)),
                _ => None,
            })
            .collect();
        before.sort_unstable_by(|a, b| b.cmp(a));
        for &(_, id) in before.iter().take(CONTEXT) {
            chosen.push(Some(id));
        }

        // Then the concurrent ones: those that may have taken effect before those
        // that did not (failed, nemesis); among them, those invoked while it was
        // open first, then those invoked before it, latest first (a crash long ago is
        // concurrent forever, but rarely what the reader is after); completed before
        // crashed; nearest its completion first.
        let end = failing.and_then(|f| bars.get(f)).and_then(|b| b.complete).unwrap_or(start);
        let rank = |o: Outcome| match o {
            Outcome::Ok => 0,
            Outcome::Crashed => 1,
            Outcome::Failed => 2,
            Outcome::Aside => 3,
        };
        let mut concurrent: Vec<usize> = failing.map_or_else(Vec::new, |f| timeline.concurrent(f).collect());
        concurrent.sort_by_key(|&id| {
            let b = &bars[id];
            (rank(b.outcome) >= 2, start.saturating_sub(b.invoke), rank(b.outcome), b.invoke.abs_diff(end))
        });
        let mut hidden = 0;
        for id in concurrent {
            if !chosen.push(Some(id)) {
                hidden += 1;
            }
        }

        // Last, the nemesis's ops within the span shown: what the faults were doing.
        let ends =
            chosen.ids.iter().flat_map(|&id| std::iter::once(bars[id].invoke).chain(bars[id].complete));
        let (lo, hi) = ends.fold((usize::MAX, 0), |(lo, hi), p| (lo.min(p), hi.max(p)));
        let mut nemesis: Vec<usize> = (0..bars.len())
            .filter(|&id| bars[id].outcome == Outcome::Aside && (lo..=hi).contains(&bars[id].invoke))
            .collect();
        nemesis.sort_by_key(|&id| bars[id].invoke.abs_diff(start));
        for id in nemesis {
            chosen.push(Some(id));
        }

        let mut shown = chosen.ids;
        shown.sort_by_key(|&id| bars[id].invoke);
        Window { timeline, shown, failing, previous_ok, last_op, hidden, paths, witness: Vec::new() }
    }

    /// The first [`WITNESS_BARS`] operations of a witness order (invocation
    /// `:index`es, [`Analysis::linearization`]); `hidden` counts the rest.
    pub fn witness(timeline: &'t Timeline<'h>, order: &[u64]) -> Window<'t, 'h> {
        let first = &order[..order.len().min(WITNESS_BARS)];
        let found = timeline.find(&first.iter().copied().collect());
        let mut witness: Vec<usize> = Vec::new();
        for index in first {
            // An order that names an op twice, or one the history lacks, is drawn as far as it makes sense.
            if let Some(&id) = found.get(index).filter(|id| !witness.contains(id)) {
                witness.push(id);
            }
        }
        let mut shown = witness.clone();
        shown.sort_by_key(|&id| timeline.bars[id].invoke);
        let hidden = order.len() - first.len();
        Window {
            timeline,
            shown,
            failing: None,
            previous_ok: None,
            last_op: None,
            hidden,
            paths: Vec::new(),
            witness,
        }
    }
}

/// Bars chosen so far, in order of importance, without repeats, up to [`MAX_BARS`].
#[derive(Default)]
struct Chosen {
    ids: Vec<usize>,
    set: HashSet<usize>,
}

impl Chosen {
    /// Adds a bar; false if there is no room for it.
    fn push(&mut self, id: Option<usize>) -> bool {
        let Some(id) = id else { return true };
        if self.set.contains(&id) {
            return true;
        }
        if self.ids.len() >= MAX_BARS {
            return false;
        }
        self.set.insert(id);
        self.ids.push(id);
        true
    }
}
