//! State interning and a lazy transition table.
//!
//! The search asks one question millions of times: "from state `s`, what does
//! operation `o` lead to?". Knossos precomputes every reachable state and gives up
//! above 1024 of them; here states are interned to `u32` ids as they are met, and
//! each `(state, op kind)` answer is cached the first time it is computed. After
//! that a step is one hash lookup and a state compares in one word.
//!
//! An op *kind* is a distinct `(f, value)` pair: a history of a million reads of
//! five values has five read kinds, so the table stays small. While it is small
//! (up to [`DENSE_CELLS`] cells) it is a dense array, a row of cells per state and a
//! cell per kind, so a step is one indexed load; states or kinds beyond that go to
//! a hash map.

use super::Model;
use crate::value::Value;
use foldhash::fast::FixedState;
use hashbrown::HashMap;

/// An interned state.
pub type StateId = u32;
/// An interned `(f, value)` pair.
pub type KindId = u32;

/// Marks an illegal transition in the table.
const ILLEGAL: u32 = u32::MAX;
/// Marks a transition not computed yet in the dense table.
const UNKNOWN: u32 = u32::MAX - 1;
/// The most cells the dense table holds (16 MiB).
pub const DENSE_CELLS: usize = 1 << 22;

/// Interned states and op kinds of one model, and the transitions computed so far.
pub struct Memo<'m, M: Model + ?Sized> {
    model: &'m M,
    states: Vec<M::State>,
    state_ids: HashMap<M::State, StateId, FixedState>,
    kinds: Vec<(Value, Value)>,
    kind_ids: HashMap<(Value, Value), KindId, FixedState>,
    /// Kinds per dense row: the kinds known at the first step (0 before it).
    width: usize,
    /// Rows of `width` cells for the first states.
    dense: Vec<u32>,
    /// Transitions outside the dense rows, keyed by `state << 32 | kind`.
    sparse: HashMap<u64, u32, FixedState>,
}

impl<'m, M: Model + ?Sized> Memo<'m, M> {
    pub fn new(model: &'m M) -> Self {
        let mut memo = Memo {
            model,
            states: Vec::new(),
            state_ids: HashMap::default(),
            kinds: Vec::new(),
            kind_ids: HashMap::default(),
            width: 0,
            dense: Vec::new(),
            sparse: HashMap::default(),
        };
        memo.intern_state(model.init());
        memo
    }

    /// The initial state's id.
    pub fn init(&self) -> StateId {
        0
    }

    pub fn model(&self) -> &'m M {
        self.model
    }

    /// The id of an operation's kind, interning it if new.
    pub fn kind(&mut self, f: &Value, value: &Value) -> KindId {
        let key = (f.clone(), value.clone());
        if let Some(&id) = self.kind_ids.get(&key) {
            return id;
        }
        let id = self.kinds.len() as KindId;
        self.kinds.push(key.clone());
        self.kind_ids.insert(key, id);
        id
    }

    fn intern_state(&mut self, state: M::State) -> StateId {
        if let Some(&id) = self.state_ids.get(&state) {
            return id;
        }
        let id = self.states.len() as StateId;
        self.states.push(state.clone());
        self.state_ids.insert(state, id);
        if self.width > 0 && self.dense.len() + self.width <= DENSE_CELLS {
            self.dense.resize(self.dense.len() + self.width, UNKNOWN);
        }
        id
    }

    /// The dense cell of a transition, if it has one.
    #[inline]
    fn cell(&self, state: StateId, kind: KindId) -> Option<usize> {
        let (state, kind) = (state as usize, kind as usize);
        let i = state * self.width + kind;
        (kind < self.width && i < self.dense.len()).then_some(i)
    }

    /// The state `kind` leads to from `state`, or `None` if it is illegal there.
    #[inline]
    pub fn step(&mut self, state: StateId, kind: KindId) -> Option<StateId> {
        if self.width == 0 {
            // The first step: size the dense rows for the kinds known now.
            self.width = self.kinds.len().max(1);
            let rows = (DENSE_CELLS / self.width).min(self.states.len());
            self.dense = vec![UNKNOWN; rows * self.width];
        }
        let cell = self.cell(state, kind);
        let known = match cell {
            Some(i) => self.dense[i],
            None => {
                self.sparse.get(&((u64::from(state) << 32) | u64::from(kind))).copied().unwrap_or(UNKNOWN)
            }
        };
        let next = if known != UNKNOWN {
            known
        } else {
            let (f, value) = &self.kinds[kind as usize];
            let next = match self.model.step(&self.states[state as usize], f, value) {
                Ok(s) => self.intern_state(s),
                Err(_) => ILLEGAL,
            };
            match cell {
                Some(i) => self.dense[i] = next,
                None => {
                    self.sparse.insert((u64::from(state) << 32) | u64::from(kind), next);
                }
            }
            next
        };
        (next != ILLEGAL).then_some(next)
    }

    /// The model's own answer for a step, with the inconsistency message: for the
    /// analysis, which needs the words the table does not keep.
    pub fn explain(&self, state: StateId, kind: KindId) -> Result<M::State, String> {
        let (f, value) = &self.kinds[kind as usize];
        self.model.step(&self.states[state as usize], f, value)
    }

    /// A state as the analysis prints it.
    pub fn render(&self, state: StateId) -> Value {
        self.model.render(&self.states[state as usize])
    }

    /// An estimate of the bytes the memo holds (states are counted by their
    /// inline size: a model whose states own large heap data is undercounted).
    pub fn bytes(&self) -> usize {
        let state = std::mem::size_of::<M::State>();
        let kind = std::mem::size_of::<(Value, Value)>();
        self.states.capacity() * state
            + self.state_ids.capacity() * (state + 5)
            + self.kinds.capacity() * kind
            + self.kind_ids.capacity() * (kind + 5)
            + self.dense.capacity() * 4
            + self.sparse.capacity() * 13
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CasRegister, NilReads};

    #[test]
    fn steps_agree_with_the_model_dense_and_sparse() {
        let model = CasRegister { init: Value::Int(0), nil_reads: NilReads::Unknown };
        let mut memo = Memo::new(&model);
        let write = |v| (Value::keyword("write"), Value::Int(v));
        let read = |v| (Value::keyword("read"), Value::Int(v));
        let w1 = memo.kind(&write(1).0, &write(1).1);
        let r0 = memo.kind(&read(0).0, &read(0).1);
        let s0 = memo.init();
        // dense: the kinds known at the first step
        let s1 = memo.step(s0, w1).unwrap();
        assert_eq!(memo.render(s1).to_edn(), "{:value 1}");
        assert_eq!(memo.step(s0, r0), Some(s0));
        assert_eq!(memo.step(s1, r0), None);
        assert_eq!(memo.step(s1, r0), None, "cached answer");
        // sparse: a kind interned after the first step
        let r1 = memo.kind(&read(1).0, &read(1).1);
        assert!(r1 as usize >= memo.width);
        assert_eq!(memo.step(s1, r1), Some(s1));
        assert_eq!(memo.step(s0, r1), None);
        assert_eq!(memo.explain(s0, r1), Err("can't read 1 from register 0".into()));
    }
}
