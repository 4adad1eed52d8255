//! Lowe's just-in-time linearization (the search Knossos calls `linear`).
//!
//! Instead of guessing an order up front, this engine walks the history once,
//! keeping every configuration the history so far allows: a model state and which
//! of the *live* operations (invoked, not yet returned, or indeterminate) are
//! already linearized. An invocation changes nothing (the new operation is simply
//! not linearized yet). At the `:ok` of an operation X, each configuration that
//! has not linearized X must do so now: the engine explores every sequence of
//! other live operations that can precede X, and the configurations where X is
//! linearized survive, without X, which is no longer live. If none survive, X is
//! the failing operation, the same one [`wgl`](super::wgl) finds.
//!
//! Crashed operations stay live forever, so they are what makes the
//! configurations many. The engine applies the rules of [the search
//! module](super#crashed-operations) (twins in order, each just before an
//! operation that observes it), and keeps configurations up to dominance: of two
//! that agree on the state and the `:ok` operations linearized, the one whose
//! crashed operations are a subset of the other's replaces it. As the engine
//! finishes every configuration of one return before the next, the configurations
//! it keeps are few: at each return, the least crashed operations each (state,
//! `:ok` set) needs.
//!
//! It does well where many operations overlap; WGL does well where a greedy order
//! goes far, which is why the two race in `competition`.
//!
//! The engine is a state fed events (`Core`): the batch search feeds it a
//! history's, the online checker ([`crate::online`]) each as it happens. For a
//! witness, each configuration points into a tree of the steps that reached it.

use super::budget::{drop_in_background, grow_peak, malloc_size, Budget, Cause, CHECK_EVERY};
use super::sharded::Sharded;
use super::{Config, Outcome};
use crate::history::History;
use crate::model::memo::{KindId, Memo, Memoized, StateId};
use crate::model::Model;
use foldhash::fast::FixedState;
use std::hash::{BuildHasher, Hash};

/// What configurations are compared by: a state and the live `:ok` operations
/// linearized (sorted).
type Key = (StateId, Box<[u32]>);
/// The crashed operations a configuration has linearized (sorted).
type Crashed = Box<[u32]>;

/// Sorted `set` with `op` added.
fn with(set: &[u32], op: u32) -> Box<[u32]> {
    let mut more = set.to_vec();
    let at = more.binary_search(&op).unwrap_err();
    more.insert(at, op);
    more.into()
}

/// Whether sorted `a` is a subset of sorted `b`.
fn subset(a: &[u32], b: &[u32]) -> bool {
    let mut b = b.iter();
    a.iter().all(|x| b.any(|y| y == x))
}

/// A table of configurations up to dominance, and the heap they hold.
#[derive(Clone)]
struct Table<K, V> {
    /// Each key with the crashed sets seen with it: none a subset of another.
    map: Sharded<(K, Vec<(Crashed, V)>)>,
    heap: usize,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Table { map: Sharded::default(), heap: 0 }
    }
}

fn hash<K: Hash>(key: &K) -> u64 {
    FixedState::default().hash_one(key)
}

impl<K: Hash + Eq, V> Table<K, V> {
    /// Inserts unless dominated (the same key with a subset of its crashed
    /// operations is there), dropping the entries it dominates; `true` if inserted.
    fn insert(&mut self, key: K, key_len: usize, crashed: Crashed, value: V) -> bool {
        let entry_heap = malloc_size(4 * crashed.len()) + std::mem::size_of::<(Crashed, V)>();
        let key_heap = malloc_size(4 * key_len) + malloc_size(std::mem::size_of::<(Crashed, V)>());
        let h = hash(&key);
        if let Some((_, list)) = self.map.find_mut(h, |(k, _)| *k == key) {
            if list.iter().any(|(c, _)| subset(c, &crashed)) {
                return false;
            }
            list.retain(|(c, _)| !subset(&crashed, c));
            list.push((crashed, value));
        } else {
            self.map.insert_unique(h, (key, vec![(crashed, value)]), |(k, _)| hash(k));
            self.heap += key_heap;
        }
        self.heap += entry_heap;
        true
    }

    /// Whether the configuration is there, or one that dominates it.
    fn dominated(&self, key: &K, crashed: &[u32]) -> bool {
        (self.map.find(hash(key), |(k, _)| k == key))
            .is_some_and(|(_, list)| list.iter().any(|(c, _)| subset(c, crashed)))
    }

    fn iter(&self) -> impl Iterator<Item = (&K, &Crashed, &V)> {
        self.map.iter().flat_map(|(k, list)| list.iter().map(move |(c, v)| (k, c, v)))
    }

    /// The most bytes it may hold after `more` further insertions.
    /// The small, variously sized operation lists fragment the allocator's memory:
    /// they are counted twice over, which measurement showed to be about right.
    fn peak_bytes(&self, more: usize) -> usize {
        let entry = std::mem::size_of::<(K, Vec<(Crashed, V)>)>() + 1;
        self.map.peak_bytes(more, entry) + 2 * (self.heap + more * 2 * malloc_size(64))
    }

    /// Empties a shard of the table that holds entries ([`Sharded::clear_shard`]);
    /// what they held on the heap is counted until the table is empty.
    fn clear_shard(&mut self) -> Option<usize> {
        let freed = self.map.clear_shard();
        if freed.is_none() {
            self.heap = 0;
        }
        freed
    }
}

impl<V> Table<Key, V> {
    /// The table of the configurations `f` maps each to (or leaves out).
    fn rebuild(self, mut f: impl FnMut(Key, Crashed) -> Option<(Key, Crashed)>) -> Self {
        let mut out = Table::default();
        for (key, list) in self.map {
            for (crashed, value) in list {
                if let Some((key, crashed)) = f(key.clone(), crashed) {
                    let len = key.1.len();
                    out.insert(key, len, crashed, value);
                }
            }
        }
        out
    }
}

/// A configuration on the way to a return: its key, and the state before the
/// crashed operation it has just linearized, if it waits for an observer of it.
type Waiting = (Key, Option<StateId>);
/// Such a configuration with its crashed operations, and the path it was reached by.
type Step = (Waiting, Crashed, u32);

/// What a queued step's operation lists hold on the heap.
fn step_heap(((_, lin), _): &Waiting, crashed: &Crashed) -> usize {
    malloc_size(4 * lin.len()) + malloc_size(4 * crashed.len())
}

/// What a configuration carries besides what it is compared by: the operation it
/// linearized last (for the analysis) and the path it was reached by (for a witness).
#[derive(Clone, Copy, Debug)]
struct Reached {
    last: Option<u32>,
    path: u32,
}

/// The empty path, and every path when no witness is kept.
const ROOT: u32 = u32::MAX;

/// The orders configurations were reached by, as a tree: each node an operation and
/// its parent node, so that configurations share the prefixes they have in common.
/// Kept only when a witness is asked for. Dead branches (configurations dropped or
/// never kept) are collected when the tree has doubled since it was last collected.
#[derive(Default)]
struct Paths {
    nodes: Vec<(u32, u32)>,
    collect_at: usize,
}

impl Paths {
    fn push(&mut self, parent: u32, op: u32) -> u32 {
        self.nodes.push((op, parent));
        self.nodes.len() as u32 - 1
    }

    /// The operations of a path, first to last.
    fn order(&self, mut at: u32) -> Vec<usize> {
        let mut order = Vec::new();
        while at != ROOT {
            let (op, parent) = self.nodes[at as usize];
            order.push(op as usize);
            at = parent;
        }
        order.reverse();
        order
    }

    /// Keeps only the nodes on the paths of `roots`, renumbering them. A parent is
    /// always older than its children, so one pass from the newest marks, and one
    /// from the oldest renumbers.
    fn collect(&mut self, configs: &mut Table<Key, Reached>) {
        if self.nodes.len() < self.collect_at {
            return;
        }
        let mut roots: Vec<&mut u32> =
            configs.map.iter_mut().flat_map(|(_, list)| list.iter_mut().map(|(_, r)| &mut r.path)).collect();
        let mut keep = vec![false; self.nodes.len()];
        roots.iter().filter(|r| ***r != ROOT).for_each(|r| keep[**r as usize] = true);
        for i in (0..self.nodes.len()).rev() {
            let parent = self.nodes[i].1;
            if keep[i] && parent != ROOT {
                keep[parent as usize] = true;
            }
        }
        let mut renumber = vec![ROOT; self.nodes.len()];
        let mut kept = 0;
        for i in 0..self.nodes.len() {
            if keep[i] {
                let (op, parent) = self.nodes[i];
                let parent = if parent == ROOT { ROOT } else { renumber[parent as usize] };
                self.nodes[kept] = (op, parent);
                renumber[i] = kept as u32;
                kept += 1;
            }
        }
        self.nodes.truncate(kept);
        roots.iter_mut().for_each(|r| **r = if **r == ROOT { ROOT } else { renumber[**r as usize] });
        self.collect_at = (2 * kept).max(1 << 16);
    }

    fn bytes(&self, more: usize) -> usize {
        grow_peak(self.nodes.len(), self.nodes.capacity(), more, 8)
    }
}

/// Lowe's just-in-time linearization as a state fed events: invocations (an
/// operation becomes live) and returns (the configurations extend to linearize
/// it). The batch search feeds it a whole history's events in order; the online
/// checker ([`crate::online`]) feeds them as they happen, and rewinds it with
/// the snapshots [`Core::complete`] keeps and [`Core::restore`] when an operation's outcome changes what
/// earlier returns should have allowed.
///
/// Operations are numbered by invocation. The caller says what the engine knows of
/// each one: its kind (`kinds`), whether it is indeterminate (`crashed`: crashed, or
/// not completed yet), and its twin (`twins`, see [the search
/// module](super#crashed-operations)).
pub(crate) struct Core {
    pub(crate) kinds: Vec<KindId>,
    pub(crate) crashed: Vec<bool>,
    pub(crate) twins: Vec<Option<u32>>,
    /// Live operations, in invocation order.
    live: Vec<u32>,
    /// The configurations so far.
    configs: Table<Key, Reached>,
    /// The configurations being built at a return.
    next: Table<Key, Reached>,
    /// The configurations explored at a return.
    visited: Table<Waiting, ()>,
    /// The depth-first search's stack of configurations to explore.
    stack: Vec<Step>,
    /// What the stack's operation lists hold on the heap.
    stack_heap: usize,
    /// The paths configurations were reached by, when a witness is asked for.
    paths: Option<Paths>,
    ticks: usize,
    held: usize,
    /// The memo's part of `held`, which the memo keeps counted once the search ends.
    memo_held: usize,
    /// Bytes of the configurations taken out of `configs` while a return is completed.
    completing: usize,
    /// Bytes the caller holds for the engine (the online checker's snapshots),
    /// counted in each budget check.
    pub(crate) outside: usize,
    /// The relaxation searched, if any (see [`relaxed`]).
    relax: Option<Relax>,
}

/// How [`relaxed`] loosens the history: crashed operations reusable, and the
/// live operations but the returning one made so where the return may cost more
/// than `widen_above` (see [`Core::work`]). A reusable operation stays available
/// once used: configurations do not record it, and one of each kind is enough.
struct Relax {
    widen_above: usize,
    /// The kinds of the reusable operations live.
    reusable: hashbrown::HashSet<KindId, FixedState>,
    /// Whether the history was widened anywhere.
    widened: bool,
}

/// The configurations and live operations between two events, to rewind to.
#[derive(Clone)]
pub(crate) struct Snapshot {
    configs: Table<Key, Reached>,
    live: Vec<u32>,
}

impl Snapshot {
    /// What it holds, as the budget counts it.
    pub(crate) fn bytes(&self) -> usize {
        self.configs.peak_bytes(0) + 4 * self.live.capacity()
    }

    /// As [`Core::crash`].
    pub(crate) fn crash(&mut self, op: u32) {
        crash(&mut self.configs, op);
    }

    /// As [`Core::unhappen`].
    pub(crate) fn unhappen(&mut self, op: u32) {
        unhappen(&mut self.configs, op);
    }
}

/// Moves `op` from the `:ok` operations the configurations have linearized to
/// their crashed ones.
fn crash(configs: &mut Table<Key, Reached>, op: u32) {
    if configs.map.iter().any(|((_, lin), _)| lin.binary_search(&op).is_ok()) {
        *configs = std::mem::take(configs).rebuild(|(state, lin), crashed| match lin.binary_search(&op) {
            Err(_) => Some(((state, lin), crashed)),
            Ok(i) => {
                let mut lin = lin.to_vec();
                lin.remove(i);
                let mut crashed = crashed.to_vec();
                crashed.insert(crashed.binary_search(&op).unwrap_or_else(|at| at), op);
                Some(((state, lin.into()), crashed.into()))
            }
        });
    }
}

/// Drops the configurations that have linearized `op`.
fn unhappen(configs: &mut Table<Key, Reached>, op: u32) {
    if configs.map.iter().any(|((_, lin), _)| lin.binary_search(&op).is_ok()) {
        *configs = std::mem::take(configs)
            .rebuild(|key, crashed| key.1.binary_search(&op).is_err().then_some((key, crashed)));
    }
}

/// Decides whether the history is linearizable; with `witness`, a valid outcome
/// carries a linearization.
pub fn search<M: Model + ?Sized>(
    history: &History,
    memo: &mut Memo<'_, M>,
    budget: &Budget,
    witness: bool,
) -> Outcome {
    run(history, memo, budget, witness, None).0
}

/// Searches a relaxation of the history (see [`refute`](super::refute)): crashed
/// operations may take effect any number of times, and before a return whose
/// search may cost more than `widen_above` ([`Core::work`]), every other live
/// operation becomes such an operation. An invalid outcome (without
/// configurations) proves the history invalid; a valid one proves nothing. Also
/// whether it widened anywhere.
pub(super) fn relaxed<M: Model + ?Sized>(
    history: &History,
    memo: &mut Memo<'_, M>,
    budget: &Budget,
    widen_above: usize,
) -> (Outcome, bool) {
    let relax = Relax { widen_above, reusable: Default::default(), widened: false };
    run(history, memo, budget, false, Some(relax))
}

fn run<M: Model + ?Sized>(
    history: &History,
    memo: &mut Memo<'_, M>,
    budget: &Budget,
    witness: bool,
    relax: Option<Relax>,
) -> (Outcome, bool) {
    let kinds: Vec<KindId> = memo.kinds().to_vec();
    // Relaxed, twins are not taken in order but left out at their invocation.
    let twins = match relax {
        None => super::twins(history, &kinds),
        Some(_) => vec![None; kinds.len()],
    };
    let crashed = history.operations.iter().map(|o| o.complete.is_none()).collect();
    let mut core = Core::new(kinds, crashed, twins, memo.init(), witness);
    core.relax = relax;
    let mut events: Vec<(usize, u32, bool)> = Vec::new();
    for (id, o) in history.operations.iter().enumerate() {
        events.push((o.invoke, id as u32, true));
        if let Some(c) = o.complete {
            events.push((c, id as u32, false));
        }
    }
    events.sort_unstable_by_key(|e| e.0);
    let mut outcome = None;
    for (_, op, invoke) in events {
        if invoke {
            core.invoke(op);
            continue;
        }
        if core.crashed[op as usize] {
            // Widened: reusable now, its return binds no more.
            continue;
        }
        if core.relax.as_ref().is_some_and(|r| core.work(op) > r.widen_above) {
            core.widen(memo, op);
        }
        match core.complete(op, memo, budget, false) {
            Err(cause) => outcome = Some(Outcome::Unknown { cause, furthest: Some(op as usize) }),
            Ok((false, _)) => {
                // A relaxed search's configurations may be out of reach of the history's.
                let configs = if core.relax.is_some() { Vec::new() } else { core.to_configs(history, op) };
                outcome = Some(Outcome::Invalid { op: op as usize, configs })
            }
            Ok((true, _)) => continue,
        }
        break;
    }
    let outcome = outcome.unwrap_or_else(|| Outcome::Valid { linearization: core.witness() });
    let widened = core.relax.as_ref().is_some_and(|r| r.widened);
    let bytes = core.bytes();
    memo.keep_counted(budget, core.memo_held);
    let held = core.held - core.memo_held;
    drop_in_background((core.configs, core.next, core.visited, core.paths), bytes, budget, held);
    (outcome, widened)
}

impl Core {
    /// An engine before any event: one configuration, the initial state.
    pub(crate) fn new(
        kinds: Vec<KindId>,
        crashed: Vec<bool>,
        twins: Vec<Option<u32>>,
        init: StateId,
        witness: bool,
    ) -> Core {
        let mut configs = Table::default();
        configs.insert((init, Box::default()), 0, Box::default(), Reached { last: None, path: ROOT });
        Core {
            kinds,
            crashed,
            twins,
            live: Vec::new(),
            configs,
            next: Table::default(),
            visited: Table::default(),
            stack: Vec::new(),
            stack_heap: 0,
            paths: witness.then(Paths::default),
            ticks: 0,
            held: 0,
            memo_held: 0,
            completing: 0,
            outside: 0,
            relax: None,
        }
    }

    /// Operation `op` is invoked: it is live (unless, relaxed, a reusable one of
    /// its kind already is).
    pub(crate) fn invoke(&mut self, op: u32) {
        if let Some(relax) = &mut self.relax {
            if self.crashed[op as usize] && !relax.reusable.insert(self.kinds[op as usize]) {
                return;
            }
        }
        self.live.push(op);
    }

    /// What the return of `x` may cost: the configurations, times the subsets of
    /// the other live `:ok` operations (up to 2⁴⁰).
    fn work(&self, x: u32) -> usize {
        let others = self.live.iter().filter(|&&op| op != x && !self.crashed[op as usize]).count();
        self.configs.map.len().saturating_mul(1 << others.min(40))
    }

    /// Relaxed, before the return of `x`: every other live operation becomes
    /// reusable (one of each kind, reads left out: they never change the state), and
    /// the configurations forget them.
    fn widen<M: Model + ?Sized>(&mut self, memo: &mut Memo<'_, M>, x: u32) {
        let Some(relax) = &mut self.relax else { return };
        relax.widened = true;
        let (crashed, kinds) = (&mut self.crashed, &self.kinds);
        self.live.retain(|&op| {
            if op == x || crashed[op as usize] {
                return true;
            }
            crashed[op as usize] = true;
            let kind = kinds[op as usize];
            !memo.is_read(kind) && relax.reusable.insert(kind)
        });
        self.configs = std::mem::take(&mut self.configs).rebuild(|(state, lin), crashed| {
            Some(((state, lin.iter().copied().filter(|&op| op == x).collect()), crashed))
        });
    }

    /// Keeps live only the operations `keep` says: the others failed (they never
    /// happened). Only for operations no configuration has linearized.
    pub(crate) fn retain_live(&mut self, keep: impl FnMut(&u32) -> bool) {
        self.live.retain(keep);
    }

    /// Operation `op`, live and taken as `:ok` (not `crashed`), turns out to have
    /// crashed: the configurations that linearized it hold it among their crashed
    /// operations from now on.
    pub(crate) fn crash(&mut self, op: u32) {
        self.crashed[op as usize] = true;
        crash(&mut self.configs, op);
    }

    /// Operation `op`, live and taken as `:ok`, failed: it never happened. The
    /// configurations that linearized it go; those that did not are exactly what
    /// the engine would hold had it never been invoked (no configuration with it
    /// dominates one without). `false` if none is left.
    pub(crate) fn unhappen(&mut self, op: u32) -> bool {
        self.live.retain(|&l| l != op);
        unhappen(&mut self.configs, op);
        !self.configs.map.is_empty()
    }

    /// Operation `x` returns `:ok`: every configuration must linearize it now.
    /// `false` if none can (`x` fails; the configurations before it stay, for the
    /// analysis), `true` if some can (they are the configurations now). With `keep`,
    /// also a snapshot of the engine before the return (the configurations it
    /// replaces, moved rather than copied).
    pub(crate) fn complete<M: Model>(
        &mut self,
        x: u32,
        memo: &mut Memoized<M>,
        budget: &Budget,
        keep: bool,
    ) -> Result<(bool, Option<Snapshot>), Cause> {
        let configs = std::mem::take(&mut self.configs);
        self.completing = configs.peak_bytes(0);
        let result = self.complete_from(&configs, x, memo, budget);
        self.configs = configs;
        self.completing = 0;
        if result.is_err() {
            self.stack.clear();
            self.stack_heap = 0;
        }
        result?;
        // Shard by shard, as work: freeing millions of entries at once took up to 0.3 s.
        while let Some(freed) = self.visited.clear_shard() {
            self.tick(freed, memo, budget)?;
        }
        if self.next.map.is_empty() {
            let snapshot = keep.then(|| Snapshot { configs: self.configs.clone(), live: self.live.clone() });
            return Ok((false, snapshot));
        }
        let live = keep.then(|| self.live.clone());
        self.live.retain(|&l| l != x);
        std::mem::swap(&mut self.configs, &mut self.next);
        let snapshot = live.map(|live| Snapshot { configs: std::mem::take(&mut self.next), live });
        while let Some(freed) = self.next.clear_shard() {
            self.tick(freed, memo, budget)?;
        }
        if let Some(paths) = &mut self.paths {
            paths.collect(&mut self.configs);
        }
        Ok((true, snapshot))
    }

    /// A linearization of everything returned so far (and of the crashed
    /// operations it needs), if paths are kept: the path of a configuration.
    pub(crate) fn witness(&self) -> Option<Vec<usize>> {
        let paths = self.paths.as_ref()?;
        let (_, _, reached) = self.configs.iter().next()?;
        Some(paths.order(reached.path))
    }

    /// Back to a snapshot's configurations and live operations.
    pub(crate) fn restore(&mut self, snapshot: Snapshot) {
        self.configs = snapshot.configs;
        self.live = snapshot.live;
    }

    /// What the engine holds, as the budget counts it.
    fn bytes(&self) -> usize {
        self.configs.peak_bytes(0)
            + self.next.peak_bytes(0)
            + self.visited.peak_bytes(0)
            + self.paths.as_ref().map_or(0, |p| p.bytes(0))
    }

    /// Counts `work` steps done, and polls the budget every [`CHECK_EVERY`] steps,
    /// and whenever what the engine holds has grown by the budget's
    /// [slack](Budget::slack) since it last did: one
    /// step may queue a configuration per live operation, each with its lists of
    /// operations, so counting steps alone lets memory run far past the limit
    /// between two checks, and projecting the worst growth of the next thousand
    /// steps stops searches that hold little.
    fn tick<M: Model>(&mut self, work: usize, memo: &Memoized<M>, budget: &Budget) -> Result<(), Cause> {
        let before = self.ticks / CHECK_EVERY as usize;
        self.ticks += work;
        // What it holds now, counting the grown buffer each table or vector needs
        // at its next insertion (old and new coexist while it grows).
        let stack = grow_peak(self.stack.len(), self.stack.capacity(), 1, std::mem::size_of::<Step>())
            + 2 * self.stack_heap;
        let holds = self.completing
            + self.outside
            + self.configs.peak_bytes(0)
            + self.next.peak_bytes(1)
            + self.visited.peak_bytes(1)
            + self.paths.as_ref().map_or(0, |p| p.bytes(2))
            + stack
            + memo.uncounted();
        if self.ticks / CHECK_EVERY as usize == before && holds < self.held + budget.slack() {
            return Ok(());
        }
        let stop = budget.check(self.held, holds);
        self.held = holds;
        self.memo_held = memo.uncounted();
        stop.map_or(Ok(()), Err)
    }

    /// Queues a configuration to explore.
    fn push(&mut self, step: Step) {
        self.stack_heap += step_heap(&step.0, &step.1);
        self.stack.push(step);
    }

    /// The next configuration to explore.
    fn pop(&mut self) -> Option<Step> {
        let step = self.stack.pop()?;
        self.stack_heap -= step_heap(&step.0, &step.1);
        Some(step)
    }

    /// The path `parent` extended by `op`, if paths are kept.
    fn extend(&mut self, parent: u32, op: u32) -> u32 {
        self.paths.as_mut().map_or(ROOT, |p| p.push(parent, op))
    }

    /// Whether linearizing `op` to reach `next` is allowed to a configuration that
    /// waits (`Some(before)`) for an observer of the crashed operation it linearized
    /// from `before`: `op` must step differently from there.
    fn observes<M: Model>(
        &self,
        memo: &mut Memoized<M>,
        waiting: Option<StateId>,
        op: u32,
        next: StateId,
    ) -> bool {
        waiting.is_none_or(|before| memo.step(before, self.kinds[op as usize]) != Some(next))
    }

    /// A live `:ok` read not yet linearized (`x` first, if it is one) that is legal
    /// in `state` and may go next (see [reads first](super#reads-first)).
    fn legal_read<M: Model>(
        &self,
        memo: &mut Memoized<M>,
        state: StateId,
        lin: &[u32],
        waiting: Option<StateId>,
        x: u32,
    ) -> Option<u32> {
        if !memo.has_reads() {
            return None;
        }
        std::iter::once(x).chain(self.live.iter().copied().filter(|&op| op != x)).find(|&op| {
            let kind = self.kinds[op as usize];
            !self.crashed[op as usize]
                && memo.is_read(kind)
                && lin.binary_search(&op).is_err()
                && memo.step(state, kind) == Some(state)
                && self.observes(memo, waiting, op, state)
        })
    }

    /// Fills `next` with the configurations in which `x`, now returning, is linearized.
    fn complete_from<M: Model>(
        &mut self,
        configs: &Table<Key, Reached>,
        x: u32,
        memo: &mut Memoized<M>,
        budget: &Budget,
    ) -> Result<(), Cause> {
        for ((state, lin), crashed, reached) in configs.iter() {
            self.tick(1, memo, budget)?;
            if let Ok(i) = lin.binary_search(&x) {
                let mut rest = lin.to_vec();
                rest.remove(i);
                self.next.insert((*state, rest.into()), lin.len(), crashed.clone(), *reached);
                continue;
            }
            // Depth first through the live operations that may precede x.
            self.push((((*state, lin.clone()), None), crashed.clone(), reached.path));
            while let Some((at, crashed, path)) = self.pop() {
                self.tick(1, memo, budget)?;
                if self.visited.dominated(&at, &crashed) {
                    continue;
                }
                let ((state, ref lin), waiting) = at;
                let lin = lin.clone();
                self.visited.insert(at, lin.len(), crashed.clone(), ());
                // Reads first: a live read that is legal here goes next, and no other order.
                if let Some(r) = self.legal_read(memo, state, &lin, waiting, x) {
                    if r == x {
                        let reached = Reached { last: Some(x), path: self.extend(path, x) };
                        self.next.insert((state, lin.clone()), lin.len(), crashed.clone(), reached);
                    } else {
                        let path = self.extend(path, r);
                        self.push((((state, with(&lin, r)), None), crashed.clone(), path));
                    }
                    continue;
                }
                if let Some(s) = memo.step(state, self.kinds[x as usize]) {
                    if self.observes(memo, waiting, x, s) {
                        let reached = Reached { last: Some(x), path: self.extend(path, x) };
                        self.next.insert((s, lin.clone()), lin.len(), crashed.clone(), reached);
                    }
                }
                for i in 0..self.live.len() {
                    let op = self.live[i];
                    let is_crashed = self.crashed[op as usize];
                    let done = if is_crashed { &crashed } else { &lin };
                    if op == x || done.binary_search(&op).is_ok() {
                        continue;
                    }
                    if is_crashed && memo.never_helps(self.kinds[op as usize]) {
                        continue;
                    }
                    // An identical, earlier crashed operation still unlinearized goes first.
                    if self.twins[op as usize].is_some_and(|t| crashed.binary_search(&t).is_err()) {
                        continue;
                    }
                    let Some(s) = memo.step(state, self.kinds[op as usize]) else { continue };
                    if (is_crashed && s == state) || !self.observes(memo, waiting, op, s) {
                        continue;
                    }
                    let path = self.extend(path, op);
                    self.push(if is_crashed {
                        // Relaxed, it stays available.
                        let crashed = if self.relax.is_some() { crashed.clone() } else { with(&crashed, op) };
                        (((s, lin.clone()), Some(state)), crashed, path)
                    } else {
                        (((s, with(&lin, op)), None), crashed.clone(), path)
                    });
                }
            }
        }
        Ok(())
    }

    /// The configurations before `x`'s return, as the analysis takes them.
    fn to_configs(&self, history: &History, x: u32) -> Vec<Config> {
        let at = history.operations[x as usize].complete.expect("an :ok operation");
        let n = history.operations.len();
        let mut returned = vec![0u64; n.div_ceil(64)];
        for (i, o) in history.operations.iter().enumerate() {
            if o.complete.is_some_and(|c| c < at) {
                returned[i / 64] |= 1 << (i % 64);
            }
        }
        let mut out: Vec<Config> = (self.configs.iter())
            .map(|((state, lin), crashed, reached)| {
                let mut linearized = returned.clone();
                for &op in lin.iter().chain(crashed.iter()) {
                    linearized[op as usize / 64] |= 1 << (op % 64);
                }
                Config { state: *state, linearized, last: reached.last.map(|l| l as usize) }
            })
            .collect();
        // Hash order is arbitrary; the analysis should not be.
        out.sort_by(|a, b| (a.state, &a.linearized).cmp(&(b.state, &b.linearized)));
        out.truncate(super::MAX_CONFIGS);
        out
    }
}
