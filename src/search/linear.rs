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

use super::budget::{drop_in_background, grow_peak, malloc_size, Budget, Cause, CHECK_EVERY};
use super::{Config, Outcome};
use crate::history::History;
use crate::model::memo::{KindId, Memo, StateId};
use crate::model::Model;
use foldhash::fast::FixedState;
use hashbrown::HashMap;

/// What configurations are compared by: a state and the live `:ok` operations
/// linearized (sorted).
type Key = (StateId, Box<[u32]>);
/// The crashed operations a configuration has linearized (sorted).
type Crashed = Box<[u32]>;

/// Whether sorted `a` is a subset of sorted `b`.
fn subset(a: &[u32], b: &[u32]) -> bool {
    let mut b = b.iter();
    a.iter().all(|x| b.any(|y| y == x))
}

/// A table of configurations up to dominance, and the heap they hold.
struct Table<K, V> {
    /// By key, the crashed sets seen with it: none a subset of another.
    map: HashMap<K, Vec<(Crashed, V)>, FixedState>,
    heap: usize,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Table { map: HashMap::default(), heap: 0 }
    }
}

impl<K: std::hash::Hash + Eq, V> Table<K, V> {
    /// Inserts unless dominated (the same key with a subset of its crashed
    /// operations is there), dropping the entries it dominates; `true` if inserted.
    fn insert(&mut self, key: K, key_len: usize, crashed: Crashed, value: V) -> bool {
        let entry_heap = malloc_size(4 * crashed.len()) + std::mem::size_of::<(Crashed, V)>();
        let key_heap = malloc_size(4 * key_len) + malloc_size(std::mem::size_of::<(Crashed, V)>());
        match self.map.entry(key) {
            hashbrown::hash_map::Entry::Occupied(mut o) => {
                let list = o.get_mut();
                if list.iter().any(|(c, _)| subset(c, &crashed)) {
                    return false;
                }
                list.retain(|(c, _)| !subset(&crashed, c));
                list.push((crashed, value));
            }
            hashbrown::hash_map::Entry::Vacant(v) => {
                v.insert(vec![(crashed, value)]);
                self.heap += key_heap;
            }
        }
        self.heap += entry_heap;
        true
    }

    /// Whether the configuration is there, or one that dominates it.
    fn dominated(&self, key: &K, crashed: &[u32]) -> bool {
        self.map.get(key).is_some_and(|list| list.iter().any(|(c, _)| subset(c, crashed)))
    }

    fn iter(&self) -> impl Iterator<Item = (&K, &Crashed, &V)> {
        self.map.iter().flat_map(|(k, list)| list.iter().map(move |(c, v)| (k, c, v)))
    }

    /// The most bytes it may hold after `more` further insertions.
    /// The small, variously sized operation lists fragment the allocator's memory:
    /// they are counted twice over, which measurement showed to be about right.
    fn peak_bytes(&self, more: usize) -> usize {
        let entry = std::mem::size_of::<(K, Vec<(Crashed, V)>)>() + 1;
        grow_peak(self.map.len(), self.map.capacity(), more, entry)
            + 2 * (self.heap + more * 2 * malloc_size(64))
    }

    fn clear(&mut self) {
        self.map.clear();
        self.heap = 0;
    }
}

/// A configuration on the way to a return: its key, and the state before the
/// crashed operation it has just linearized, if it waits for an observer of it.
type Waiting = (Key, Option<StateId>);
/// Such a configuration with its crashed operations.
type Step = (Waiting, Crashed);

struct Linear<'a, 'h, 'm, M: Model + ?Sized> {
    history: &'h History,
    memo: &'a mut Memo<'m, M>,
    budget: &'a Budget,
    kinds: Vec<KindId>,
    twins: Vec<Option<u32>>,
    /// Live operations, in invocation order.
    live: Vec<u32>,
    /// The configurations so far, each with the operation it linearized last.
    configs: Table<Key, Option<u32>>,
    /// The configurations being built at a return.
    next: Table<Key, Option<u32>>,
    /// The configurations explored at a return.
    visited: Table<Waiting, ()>,
    /// The depth-first search's stack of configurations to explore.
    stack: Vec<Step>,
    ticks: u32,
    held: usize,
    /// Bytes of the configurations taken out of `configs` while a return is completed.
    completing: usize,
}

/// Decides whether the history is linearizable.
pub fn search<M: Model + ?Sized>(history: &History, memo: &mut Memo<'_, M>, budget: &Budget) -> Outcome {
    let kinds: Vec<KindId> = memo.kinds().to_vec();
    let twins = super::twins(history, &kinds);
    let mut engine = Linear {
        history,
        memo,
        budget,
        kinds,
        twins,
        live: Vec::new(),
        configs: Table::default(),
        next: Table::default(),
        visited: Table::default(),
        stack: Vec::new(),
        ticks: 0,
        held: 0,
        completing: 0,
    };
    let outcome = engine.run();
    let bytes = engine.configs.peak_bytes(0) + engine.next.peak_bytes(0) + engine.visited.peak_bytes(0);
    drop_in_background((engine.configs, engine.next, engine.visited), bytes, budget, engine.held);
    outcome
}

impl<M: Model + ?Sized> Linear<'_, '_, '_, M> {
    fn run(&mut self) -> Outcome {
        let mut events: Vec<(usize, u32, bool)> = Vec::new();
        for (id, o) in self.history.operations.iter().enumerate() {
            events.push((o.invoke, id as u32, true));
            if let Some(c) = o.complete {
                events.push((c, id as u32, false));
            }
        }
        events.sort_unstable_by_key(|e| e.0);
        self.configs.insert((self.memo.init(), Box::new([])), 0, Box::new([]), None);
        for (_, op, invoke) in events {
            if invoke {
                self.live.push(op);
                continue;
            }
            if let Err(cause) = self.complete(op) {
                return Outcome::Unknown { cause, furthest: Some(op as usize) };
            }
            if self.next.map.is_empty() {
                return Outcome::Invalid { op: op as usize, configs: self.to_configs(op as usize) };
            }
            self.live.retain(|&l| l != op);
            std::mem::swap(&mut self.configs, &mut self.next);
            self.next.clear();
            self.visited.clear();
        }
        Outcome::Valid
    }

    /// Polls the budget every [`CHECK_EVERY`] calls.
    fn tick(&mut self) -> Result<(), Cause> {
        self.ticks += 1;
        if self.ticks % CHECK_EVERY != 0 {
            return Ok(());
        }
        // Each tick may add a configuration to `next` and `visited` per live operation.
        let more = CHECK_EVERY as usize * (self.live.len() + 1);
        let stack = grow_peak(self.stack.len(), self.stack.capacity(), more, std::mem::size_of::<Step>())
            + 2 * (self.stack.len() + more) * 2 * malloc_size(4 * self.live.len());
        let holds = self.completing
            + self.configs.peak_bytes(0)
            + self.next.peak_bytes(more)
            + self.visited.peak_bytes(more)
            + stack
            + self.memo.bytes();
        let stop = self.budget.check(self.held, holds);
        self.held = holds;
        stop.map_or(Ok(()), Err)
    }

    /// Fills `next` with the configurations in which `x`, now returning, is linearized.
    fn complete(&mut self, x: u32) -> Result<(), Cause> {
        let configs = std::mem::take(&mut self.configs);
        self.completing = configs.peak_bytes(0);
        let result = self.complete_from(&configs, x);
        self.configs = configs;
        result
    }

    /// Whether linearizing `op` to reach `next` is allowed to a configuration that
    /// waits (`Some(before)`) for an observer of the crashed operation it linearized
    /// from `before`: `op` must step differently from there.
    fn observes(&mut self, waiting: Option<StateId>, op: u32, next: StateId) -> bool {
        waiting.is_none_or(|before| self.memo.step(before, self.kinds[op as usize]) != Some(next))
    }

    fn complete_from(&mut self, configs: &Table<Key, Option<u32>>, x: u32) -> Result<(), Cause> {
        for ((state, lin), crashed, last) in configs.iter() {
            self.tick()?;
            if let Ok(i) = lin.binary_search(&x) {
                let mut rest = lin.to_vec();
                rest.remove(i);
                self.next.insert((*state, rest.into()), lin.len(), crashed.clone(), *last);
                continue;
            }
            // Depth first through the live operations that may precede x.
            self.stack.push((((*state, lin.clone()), None), crashed.clone()));
            while let Some((at, crashed)) = self.stack.pop() {
                self.tick()?;
                if self.visited.dominated(&at, &crashed) {
                    continue;
                }
                let ((state, ref lin), waiting) = at;
                let lin = lin.clone();
                self.visited.insert(at, lin.len(), crashed.clone(), ());
                if let Some(s) = self.memo.step(state, self.kinds[x as usize]) {
                    if self.observes(waiting, x, s) {
                        self.next.insert((s, lin.clone()), lin.len(), crashed.clone(), Some(x));
                    }
                }
                for i in 0..self.live.len() {
                    let op = self.live[i];
                    let is_crashed = self.history.operations[op as usize].complete.is_none();
                    let done = if is_crashed { &crashed } else { &lin };
                    if op == x || done.binary_search(&op).is_ok() {
                        continue;
                    }
                    // An identical, earlier crashed operation still unlinearized goes first.
                    if self.twins[op as usize].is_some_and(|t| crashed.binary_search(&t).is_err()) {
                        continue;
                    }
                    let Some(s) = self.memo.step(state, self.kinds[op as usize]) else { continue };
                    if (is_crashed && s == state) || !self.observes(waiting, op, s) {
                        continue;
                    }
                    let with = |set: &[u32]| -> Box<[u32]> {
                        let mut more = set.to_vec();
                        let at = more.binary_search(&op).unwrap_err();
                        more.insert(at, op);
                        more.into()
                    };
                    self.stack.push(if is_crashed {
                        (((s, lin.clone()), Some(state)), with(&crashed))
                    } else {
                        (((s, with(&lin)), None), crashed.clone())
                    });
                }
            }
        }
        Ok(())
    }

    /// The configurations before `x`'s return, as the analysis takes them.
    fn to_configs(&self, x: usize) -> Vec<Config> {
        let at = self.history.operations[x].complete.expect("an :ok operation");
        let n = self.history.operations.len();
        let mut returned = vec![0u64; n.div_ceil(64)];
        for (i, o) in self.history.operations.iter().enumerate() {
            if o.complete.is_some_and(|c| c < at) {
                returned[i / 64] |= 1 << (i % 64);
            }
        }
        let mut out: Vec<Config> = (self.configs.iter())
            .map(|((state, lin), crashed, last)| {
                let mut linearized = returned.clone();
                for &op in lin.iter().chain(crashed.iter()) {
                    linearized[op as usize / 64] |= 1 << (op % 64);
                }
                Config { state: *state, linearized, last: last.map(|l| l as usize) }
            })
            .collect();
        // Hash order is arbitrary; the analysis should not be.
        out.sort_by(|a, b| (a.state, &a.linearized).cmp(&(b.state, &b.linearized)));
        out.truncate(super::MAX_CONFIGS);
        out
    }
}
