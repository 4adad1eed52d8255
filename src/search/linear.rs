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

use super::budget::{Budget, Cause, CHECK_EVERY};
use super::{Config, Outcome};
use crate::history::History;
use crate::model::memo::{KindId, Memo, StateId};
use crate::model::Model;
use foldhash::fast::FixedState;
use hashbrown::{HashMap, HashSet};

/// A configuration: a state and the live operations already linearized (sorted).
type Key = (StateId, Box<[u32]>);
/// Configurations, each with the operation it linearized last.
type Configs = HashMap<Key, Option<u32>, FixedState>;

/// An approximation of the heap bytes of one configuration with `n` linearized live ops.
fn config_bytes(n: usize) -> usize {
    std::mem::size_of::<(Key, Option<u32>)>() + 8 + 4 * n
}

struct Linear<'a, 'h, 'm, M: Model + ?Sized> {
    history: &'h History,
    memo: &'a mut Memo<'m, M>,
    budget: &'a Budget,
    kinds: Vec<KindId>,
    twins: Vec<Option<u32>>,
    /// Live operations, in invocation order.
    live: Vec<u32>,
    ticks: u32,
    held: usize,
    bytes: usize,
}

/// Decides whether the history is linearizable.
pub fn search<M: Model + ?Sized>(history: &History, memo: &mut Memo<'_, M>, budget: &Budget) -> Outcome {
    let kinds: Vec<KindId> = history.operations.iter().map(|o| memo.kind(&o.f, &o.value)).collect();
    let twins = super::twins(history, &kinds);
    let mut engine =
        Linear { history, memo, budget, kinds, twins, live: Vec::new(), ticks: 0, held: 0, bytes: 0 };
    let outcome = engine.run();
    budget.release(engine.held);
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
        let mut configs: Configs = HashMap::default();
        configs.insert((self.memo.init(), Box::new([])), None);
        for (_, op, invoke) in events {
            if invoke {
                self.live.push(op);
                continue;
            }
            let next = match self.complete(&configs, op) {
                Ok(next) => next,
                Err(cause) => return Outcome::Unknown { cause, furthest: Some(op as usize) },
            };
            if next.is_empty() {
                let configs = self.to_configs(&configs, op as usize);
                return Outcome::Invalid { op: op as usize, configs };
            }
            self.live.retain(|&l| l != op);
            self.bytes = next.keys().map(|(_, lin)| config_bytes(lin.len())).sum();
            configs = next;
        }
        Outcome::Valid
    }

    /// Polls the budget every [`CHECK_EVERY`] calls.
    fn tick(&mut self, extra: usize) -> Result<(), Cause> {
        self.ticks += 1;
        if self.ticks % CHECK_EVERY != 0 {
            return Ok(());
        }
        let holds = self.bytes + extra + self.memo.bytes();
        let stop = self.budget.check(self.held, holds);
        self.held = holds;
        stop.map_or(Ok(()), Err)
    }

    /// The configurations in which `x`, now returning, is linearized.
    fn complete(&mut self, configs: &Configs, x: u32) -> Result<Configs, Cause> {
        let mut next: Configs = HashMap::default();
        let mut visited: HashSet<Key, FixedState> = HashSet::default();
        let mut visited_bytes = 0;
        for ((state, lin), last) in configs {
            self.tick(visited_bytes)?;
            if let Ok(i) = lin.binary_search(&x) {
                let mut rest = lin.to_vec();
                rest.remove(i);
                next.entry((*state, rest.into())).or_insert(*last);
                continue;
            }
            // Depth first through the live operations that may precede x.
            let mut stack: Vec<(StateId, Box<[u32]>)> = vec![(*state, lin.clone())];
            while let Some((state, lin)) = stack.pop() {
                self.tick(visited_bytes)?;
                if !visited.insert((state, lin.clone())) {
                    continue;
                }
                visited_bytes += config_bytes(lin.len());
                if let Some(s) = self.memo.step(state, self.kinds[x as usize]) {
                    next.entry((s, lin.clone())).or_insert(Some(x));
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
                        stack.push((s, more.into()));
                    }
                }
            }
        }
        Ok(next)
    }

    /// The configurations before `x`'s return, as the analysis takes them.
    fn to_configs(&self, configs: &Configs, x: usize) -> Vec<Config> {
        let at = self.history.operations[x].complete.expect("an :ok operation");
        let n = self.history.operations.len();
        let mut returned = vec![0u64; n.div_ceil(64)];
        for (i, o) in self.history.operations.iter().enumerate() {
            if o.complete.is_some_and(|c| c < at) {
                returned[i / 64] |= 1 << (i % 64);
            }
        }
        let mut out: Vec<Config> = configs
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
