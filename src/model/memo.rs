//! State interning and a lazy transition table.
//!
//! The search asks one question millions of times: "from state `s`, what does
//! operation `o` lead to?". Knossos precomputes every reachable state and gives up
//! above 1024 of them; here states are interned to `u32` ids as they are met, and
//! each `(state, op kind)` answer is cached the first time it is computed. After
//! that a step is one hash lookup and a state compares in one word.
//!
//! An op *kind* is a distinct `(f, value)` pair: a history of a million reads of
//! five values has five read kinds, so the table stays small.

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

/// Interned states and op kinds of one model, and the transitions computed so far.
pub struct Memo<'m, M: Model + ?Sized> {
    model: &'m M,
    states: Vec<M::State>,
    state_ids: HashMap<M::State, StateId, FixedState>,
    kinds: Vec<(Value, Value)>,
    kind_ids: HashMap<(Value, Value), KindId, FixedState>,
    table: HashMap<u64, u32, FixedState>,
}

impl<'m, M: Model + ?Sized> Memo<'m, M> {
    pub fn new(model: &'m M) -> Self {
        let mut memo = Memo {
            model,
            states: Vec::new(),
            state_ids: HashMap::default(),
            kinds: Vec::new(),
            kind_ids: HashMap::default(),
            table: HashMap::default(),
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
        id
    }

    /// The state `kind` leads to from `state`, or `None` if it is illegal there.
    #[inline]
    pub fn step(&mut self, state: StateId, kind: KindId) -> Option<StateId> {
        let key = (u64::from(state) << 32) | u64::from(kind);
        let next = match self.table.get(&key) {
            Some(&next) => next,
            None => {
                let (f, value) = &self.kinds[kind as usize];
                let next = match self.model.step(&self.states[state as usize], f, value) {
                    Ok(s) => self.intern_state(s),
                    Err(_) => ILLEGAL,
                };
                self.table.insert(key, next);
                next
            }
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
            + self.table.capacity() * 13
    }
}
