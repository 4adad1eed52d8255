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
//! It does well where many operations overlap but few are indeterminate, and
//! badly where indeterminate operations pile up (each doubles the configurations);
//! WGL has the opposite profile, which is why the two race in `competition`.

use super::budget::{drop_in_background, grow_peak, malloc_size, Budget, Cause, CHECK_EVERY};
use super::{Config, Outcome};
use crate::history::History;
use crate::model::memo::{KindId, Memo, StateId};
use crate::model::Model;
use foldhash::fast::FixedState;
use hashbrown::HashMap;

/// A configuration: a state and the live operations already linearized (sorted).
type Key = (StateId, Box<[u32]>);
/// A table of configurations, and the heap its keys' operation lists hold.
#[derive(Default)]
struct Table<V> {
    map: HashMap<Key, V, FixedState>,
    heap: usize,
}

impl<V> Table<V> {
    /// Inserts unless present; `true` if inserted.
    fn insert(&mut self, key: Key, value: V) -> bool {
        let heap = malloc_size(4 * key.1.len());
        match self.map.entry(key) {
            hashbrown::hash_map::Entry::Occupied(_) => false,
            hashbrown::hash_map::Entry::Vacant(v) => {
                v.insert(value);
                self.heap += heap;
                true
            }
        }
    }

    fn contains(&self, key: &Key) -> bool {
        self.map.contains_key(key)
    }

    /// The most bytes it may hold after `more` further insertions.
    /// The small, variously sized operation lists fragment the allocator's memory:
    /// they are counted twice over, which measurement showed to be about right.
    fn peak_bytes(&self, more: usize) -> usize {
        let entry = std::mem::size_of::<(Key, V)>() + 1;
        grow_peak(self.map.len(), self.map.capacity(), more, entry) + 2 * (self.heap + more * malloc_size(64))
    }

    fn clear(&mut self) {
        self.map.clear();
        self.heap = 0;
    }
}

struct Linear<'a, 'h, 'm, M: Model + ?Sized> {
    history: &'h History,
    memo: &'a mut Memo<'m, M>,
    budget: &'a Budget,
    kinds: Vec<KindId>,
    twins: Vec<Option<u32>>,
    /// Live operations, in invocation order.
    live: Vec<u32>,
    /// The configurations so far, each with the operation it linearized last.
    configs: Table<Option<u32>>,
    /// The configurations being built at a return.
    next: Table<Option<u32>>,
    /// The configurations explored at a return.
    visited: Table<()>,
    /// The depth-first search's stack of configurations to explore.
    stack: Vec<Key>,
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
    budget.release(engine.held);
    let bytes = engine.configs.peak_bytes(0) + engine.next.peak_bytes(0) + engine.visited.peak_bytes(0);
    drop_in_background((engine.configs, engine.next, engine.visited), bytes);
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
        self.configs.insert((self.memo.init(), Box::new([])), None);
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
        let stack = grow_peak(self.stack.len(), self.stack.capacity(), more, std::mem::size_of::<Key>())
            + 2 * (self.stack.len() + more) * malloc_size(4 * self.live.len());
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

    fn complete_from(&mut self, configs: &Table<Option<u32>>, x: u32) -> Result<(), Cause> {
        for ((state, lin), last) in &configs.map {
            self.tick()?;
            if let Ok(i) = lin.binary_search(&x) {
                let mut rest = lin.to_vec();
                rest.remove(i);
                self.next.insert((*state, rest.into()), *last);
                continue;
            }
            // Depth first through the live operations that may precede x.
            self.stack.push((*state, lin.clone()));
            while let Some((state, lin)) = self.stack.pop() {
                self.tick()?;
                let key = (state, lin);
                if self.visited.contains(&key) {
                    continue;
                }
                let lin = key.1.clone();
                self.visited.insert(key, ());
                if let Some(s) = self.memo.step(state, self.kinds[x as usize]) {
                    self.next.insert((s, lin.clone()), Some(x));
                }
                for i in 0..self.live.len() {
                    let op = self.live[i];
                    if op == x || lin.binary_search(&op).is_ok() {
                        continue;
                    }
                    // An identical, earlier crashed operation still unlinearized goes first.
                    if self.twins[op as usize].is_some_and(|t| lin.binary_search(&t).is_err()) {
                        continue;
                    }
                    if let Some(s) = self.memo.step(state, self.kinds[op as usize]) {
                        let mut more = lin.to_vec();
                        let at = more.binary_search(&op).unwrap_err();
                        more.insert(at, op);
                        self.stack.push((s, more.into()));
                    }
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
        let mut out: Vec<Config> = self
            .configs
            .map
            .iter()
            .take(super::MAX_CONFIGS)
            .map(|((state, lin), last)| {
                let mut linearized = returned.clone();
                for &op in lin.iter() {
                    linearized[op as usize / 64] |= 1 << (op % 64);
                }
                Config { state: *state, linearized, last: last.map(|l| l as usize) }
            })
            .collect();
        // Hash order is arbitrary; the analysis should not be.
        out.sort_by(|a, b| (a.state, &a.linearized).cmp(&(b.state, &b.linearized)));
        out
    }
}
