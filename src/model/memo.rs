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
//! cell per kind, so a step is one indexed load; states beyond that go to a hash map.
//!
//! A keyed model that splits its state ([`Model::part`]) is interned by parts: each
//! key's part is a state of its own, with its own transitions, and a whole state is
//! the tuple of its keys' part ids. A history of ten keys checked whole then costs
//! a model step per new state *of one key*, and a new whole state costs hashing ten
//! words, where whole states would be hashed and compared with every key's value.

use super::Model;
use crate::history::History;
use crate::search::budget::{drop_in_background, Budget};
use crate::value::Value;
use foldhash::fast::FixedState;
use hashbrown::{HashMap, HashTable};
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// An interned state.
pub type StateId = u32;
/// An interned `(f, value)` pair.
pub type KindId = u32;

/// Marks an illegal transition in the tables.
const ILLEGAL: u32 = u32::MAX;
/// Marks a transition not computed yet in the dense table.
const UNKNOWN: u32 = u32::MAX - 1;
/// The most cells the dense table holds (16 MiB).
pub const DENSE_CELLS: usize = 1 << 22;

/// Distinct values, numbered in the order they were met; each is stored once.
struct Interner<T> {
    items: Vec<T>,
    hashes: Vec<u64>,
    ids: HashTable<u32>,
}

impl<T: Hash + Eq> Interner<T> {
    fn new() -> Self {
        Interner { items: Vec::new(), hashes: Vec::new(), ids: HashTable::new() }
    }

    fn intern(&mut self, item: T) -> u32 {
        self.intern_new(item).0
    }

    /// The item's id, and whether it is new.
    fn intern_new(&mut self, item: T) -> (u32, bool) {
        let hash = FixedState::default().hash_one(&item);
        match self.find(hash, |other| *other == item) {
            Some(id) => (id, false),
            None => (self.insert(hash, item), true),
        }
    }

    /// The id of the item `is` recognises, whose hash is `hash`.
    fn find(&self, hash: u64, is: impl Fn(&T) -> bool) -> Option<u32> {
        self.ids.find(hash, |&id| is(&self.items[id as usize])).copied()
    }

    /// Adds an item not interned yet.
    fn insert(&mut self, hash: u64, item: T) -> u32 {
        let id = self.items.len() as u32;
        self.items.push(item);
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.ids.insert_unique(hash, id, |&id| hashes[id as usize]);
        id
    }

    fn get(&self, id: u32) -> &T {
        &self.items[id as usize]
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    /// Bytes held, each item counted by its inline size and `heap` more.
    fn bytes(&self, heap: usize) -> usize {
        self.items.capacity() * (std::mem::size_of::<T>() + heap)
            + self.hashes.capacity() * 8
            + self.ids.capacity() * 5
    }
}

/// How whole states are kept.
enum States<S> {
    Whole(Interner<S>),
    Parts(Parts<S>),
}

/// Whole states as tuples of their keys' parts.
struct Parts<S> {
    /// The key of each slot of a tuple.
    keys: Vec<Value>,
    /// The initial state, which holds the keys no operation touches.
    base: S,
    parts: Interner<S>,
    /// Transitions of parts, keyed by `part << 32 | kind`.
    steps: HashMap<u64, u32, FixedState>,
    /// Each whole state's part per slot.
    tuples: Interner<Box<[u32]>>,
    /// What the parts own on the heap ([`Model::state_bytes`]).
    heap: usize,
}

impl<S: Clone + Hash + Eq> Parts<S> {
    /// The parts of `init` for the operations' `keys`, with each operation's slot;
    /// `None` if the model does not split, or an operation has no key.
    fn split<M: Model<State = S> + ?Sized>(
        model: &M,
        init: &S,
        keys: impl ExactSizeIterator<Item = Option<Value>>,
    ) -> Option<(Parts<S>, Vec<u32>)> {
        if keys.len() == 0 {
            return None;
        }
        let mut slots: Interner<Value> = Interner::new();
        let op_slots = keys.map(|k| Some(slots.intern(k?))).collect::<Option<Vec<u32>>>()?;
        let mut parts = Interner::new();
        let tuple =
            slots.items.iter().map(|k| Some(parts.intern(model.part(init, k)?))).collect::<Option<_>>()?;
        let mut tuples = Interner::new();
        tuples.intern(tuple);
        let heap = parts.items.iter().map(|p| model.state_bytes(p)).sum();
        let parts =
            Parts { keys: slots.items, base: init.clone(), parts, steps: HashMap::default(), tuples, heap };
        Some((parts, op_slots))
    }

    /// The whole state of a tuple.
    fn whole<M: Model<State = S> + ?Sized>(&self, model: &M, state: StateId) -> S {
        let parts: Vec<(&Value, &S)> =
            self.tuples.get(state).iter().zip(&self.keys).map(|(&p, k)| (k, self.parts.get(p))).collect();
        model.join(&self.base, &parts)
    }

    /// The state an operation of `kind` (`(f, value, slot)`) leads to from `state`,
    /// or [`ILLEGAL`]: a step of the slot's part alone.
    fn step<M: Model<State = S> + ?Sized>(
        &mut self,
        model: &M,
        state: StateId,
        (f, value, slot): &(Value, Value, u32),
        kind: KindId,
    ) -> u32 {
        let slot = *slot as usize;
        let part = self.tuples.get(state)[slot];
        let key = (u64::from(part) << 32) | u64::from(kind);
        let next = match self.steps.get(&key) {
            Some(&next) => next,
            None => {
                let next = match model.step(self.parts.get(part), f, value) {
                    Some(s) => {
                        let heap = model.state_bytes(&s);
                        let (id, new) = self.parts.intern_new(s);
                        self.heap += if new { heap } else { 0 };
                        id
                    }
                    None => ILLEGAL,
                };
                self.steps.insert(key, next);
                next
            }
        };
        if next == ILLEGAL {
            return ILLEGAL;
        }
        if next == part {
            return state;
        }
        let mut tuple = self.tuples.get(state).clone();
        tuple[slot] = next;
        self.tuples.intern(tuple)
    }
}

/// A memo stepping a borrowed model: what the searches hold.
pub type Memo<'m, M> = Memoized<&'m M>;

/// Interned states and op kinds of one model for one history, and the
/// transitions computed so far. It holds its model as `M`: a borrow ([`Memo`]) for
/// a search, the model itself for the online checker, which owns it.
pub struct Memoized<M: Model> {
    model: M,
    /// Each operation's kind, by its place in the history's operations.
    op_kinds: Vec<KindId>,
    /// `(f, value, slot)`: the slot is the key's place in a tuple of parts (0 when
    /// states are whole).
    kinds: Interner<(Value, Value, u32)>,
    /// Whether each kind is a read ([`Model::is_read`]), and whether any is.
    reads: Vec<bool>,
    any_read: bool,
    /// Whether each kind, crashed, never helps ([`Model::never_helps`]).
    helpless: Vec<bool>,
    /// Whether each kind overwrites the state ([`Model::overwrites`]), where the
    /// history is of one key and kept whole; all `false` elsewhere.
    overwrite: Vec<bool>,
    /// [`Model::may_observe`] as asked so far, keyed by `state << 32 | kind`.
    observed: HashMap<u64, bool, FixedState>,
    states: States<M::State>,
    /// Kinds per dense row.
    width: usize,
    /// Rows of `width` cells for the first states.
    dense: Vec<u32>,
    /// Transitions outside the dense rows, keyed by `state << 32 | kind`.
    sparse: HashMap<u64, u32, FixedState>,
    /// What whole states own on the heap ([`Model::state_bytes`]).
    heap: usize,
    /// What a budget's pool counts for this memo.
    counted: Counted,
}

/// The bytes of a memo that a budget's pool counts: handed over by the searches that
/// counted them ([`Memoized::keep_counted`]) and given back when the memo is freed. A
/// memo outlives its search (the winner's, for the explanation; any, until a race
/// ends); given back with the search's caches, it was held uncounted, and another
/// key's search, counting on the memory, took a process with a 100 MiB limit to
/// 130–180 MiB (measured on six hard queue keys).
#[derive(Default)]
struct Counted {
    pool: Option<Arc<AtomicUsize>>,
    bytes: usize,
}

impl Drop for Counted {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            pool.fetch_sub(self.bytes, Ordering::Relaxed);
        }
    }
}

impl<M: Model> Memoized<M> {
    /// A memo for searching `history`, its operations' kinds interned. With `by_key`
    /// (a history of several keys), states are kept by parts if the model splits
    /// them; without, or for a history of one key, whole.
    pub fn new(model: M, history: &History, by_key: bool) -> Self {
        let init = model.init();
        let keys = history.operations.iter().map(|o| model.partition_key(history.ops[o.invoke].fields()));
        let split = if by_key { Parts::split(&model, &init, keys) } else { None };
        let (states, slots) = match split {
            Some((parts, slots)) => (States::Parts(parts), slots),
            None => {
                let mut whole = Interner::new();
                whole.intern(init);
                (States::Whole(whole), vec![0; history.operations.len()])
            }
        };
        let mut kinds = Interner::new();
        let op_kinds = history
            .operations
            .iter()
            .zip(slots)
            .map(|(o, slot)| {
                // Hashed and compared borrowed: most operations repeat a kind.
                let hash = FixedState::default().hash_one((&o.f, &o.value, slot));
                let is = |(f, value, s): &(Value, Value, u32)| *s == slot && *f == *o.f && *value == *o.value;
                kinds
                    .find(hash, is)
                    .unwrap_or_else(|| kinds.insert(hash, (Value::clone(&o.f), Value::clone(&o.value), slot)))
            })
            .collect();
        let reads: Vec<bool> = kinds.items.iter().map(|(f, value, _)| model.is_read(f, value)).collect();
        let any_read = reads.contains(&true);
        let helpless = kinds.items.iter().map(|(f, value, _)| model.never_helps(f, value)).collect();
        // A put overwrites a key, not a state of several keys.
        let one_key = {
            let mut keys =
                history.operations.iter().map(|o| model.partition_key(history.ops[o.invoke].fields()));
            let first = keys.next().flatten();
            keys.all(|k| k == first)
        };
        let whole = matches!(states, States::Whole(_));
        let overwrite =
            kinds.items.iter().map(|(f, value, _)| one_key && whole && model.overwrites(f, value)).collect();
        let width = kinds.len().max(1);
        let heap = match &states {
            States::Whole(whole) => model.state_bytes(whole.get(0)),
            States::Parts(_) => 0,
        };
        let mut memo = Memoized {
            model,
            op_kinds,
            kinds,
            reads,
            any_read,
            helpless,
            overwrite,
            observed: HashMap::default(),
            states,
            width,
            dense: Vec::new(),
            sparse: HashMap::default(),
            heap,
            counted: Counted::default(),
        };
        memo.grow_dense();
        memo
    }

    /// Frees what the memo learned, on another thread if it is large (a search
    /// of long kv strings interns so many that freeing them took up to a second,
    /// which an answer due at a deadline should not wait for), or when `budget`'s
    /// searches are over if it defers; what the pool counts for it is given back
    /// once it is freed.
    pub(crate) fn free(self, budget: &Budget) {
        let bytes = self.bytes();
        let Memoized { states, kinds, dense, sparse, observed, counted, .. } = self;
        drop_in_background((states, kinds, dense, sparse, observed, counted), bytes, budget, 0);
    }

    /// What the memo holds beyond what a budget's pool counts for it: what a search
    /// counts of it while it runs.
    pub(crate) fn uncounted(&self) -> usize {
        self.bytes().saturating_sub(self.counted.bytes)
    }

    /// Takes over the `bytes` that a search ending under `budget` counted for the
    /// memo ([`uncounted`](Self::uncounted) at its last check), and counts what it
    /// learned since: the pool counts the whole memo until it is freed. The search
    /// gives back the rest of what it held.
    pub(crate) fn keep_counted(&mut self, budget: &Budget, bytes: usize) {
        let pool = budget.pool();
        if let Some(old) = self.counted.pool.as_ref().filter(|old| !Arc::ptr_eq(old, pool)) {
            // Counted under another budget's limits before: moved to this one's.
            old.fetch_sub(self.counted.bytes, Ordering::Relaxed);
            pool.fetch_add(self.counted.bytes, Ordering::Relaxed);
        }
        pool.fetch_add(self.uncounted().saturating_sub(bytes), Ordering::Relaxed);
        self.counted.pool = Some(Arc::clone(pool));
        self.counted.bytes = self.bytes();
    }

    /// The initial state's id.
    pub fn init(&self) -> StateId {
        0
    }

    /// The model it steps.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The kind of an operation, by its place in the history's operations.
    pub fn kind(&self, op: usize) -> KindId {
        self.op_kinds[op]
    }

    /// Whether operations of this kind are reads ([`Model::is_read`]).
    pub fn is_read(&self, kind: KindId) -> bool {
        self.reads[kind as usize]
    }

    /// Whether operations of this kind, crashed, never help ([`Model::never_helps`]).
    pub fn never_helps(&self, kind: KindId) -> bool {
        self.helpless[kind as usize]
    }

    /// Whether operations of this kind overwrite the state ([`Model::overwrites`]):
    /// only for a history of one key, kept whole.
    pub fn overwrites(&self, kind: KindId) -> bool {
        self.overwrite[kind as usize]
    }

    /// Whether any kind overwrites the state.
    pub fn has_overwrites(&self) -> bool {
        self.overwrite.contains(&true)
    }

    /// Whether an operation of this kind might tell `state` from another
    /// ([`Model::may_observe`]).
    pub fn may_observe(&mut self, state: StateId, kind: KindId) -> bool {
        let key = (u64::from(state) << 32) | u64::from(kind);
        if let Some(&known) = self.observed.get(&key) {
            return known;
        }
        let (f, value, _) = self.kinds.get(kind);
        let known = self.model.may_observe(&self.state(state), f, value);
        self.observed.insert(key, known);
        known
    }

    /// Whether any kind is a read: if none, the searches need not look for one.
    pub fn has_reads(&self) -> bool {
        self.any_read
    }

    /// Every operation's kind, by its place in the history's operations.
    pub fn kinds(&self) -> &[KindId] {
        &self.op_kinds
    }

    fn state_count(&self) -> usize {
        match &self.states {
            States::Whole(states) => states.len(),
            States::Parts(parts) => parts.tuples.len(),
        }
    }

    /// The kind of an `(f, argument)` pair met after the memo was made (the online
    /// checker's operations arrive one by one), interned. For a memo of whole
    /// states, as the online checker makes it (a part's slot is not known here).
    pub fn intern_kind(&mut self, f: &Value, value: &Value) -> KindId {
        let hash = FixedState::default().hash_one((f, value, 0u32));
        let is = |(g, v, s): &(Value, Value, u32)| *s == 0 && g == f && v == value;
        if let Some(kind) = self.kinds.find(hash, is) {
            return kind;
        }
        let kind = self.kinds.insert(hash, (f.clone(), value.clone(), 0));
        let read = self.model.is_read(f, value);
        self.reads.push(read);
        self.any_read |= read;
        self.helpless.push(self.model.never_helps(f, value));
        // Online, operations arrive one by one: no history to say it has one key.
        self.overwrite.push(false);
        if self.kinds.len() > self.width {
            self.widen(self.width * 2);
        }
        kind
    }

    /// Lays the dense rows out again with room for `width` kinds, keeping what they hold.
    fn widen(&mut self, width: usize) {
        let old = std::mem::take(&mut self.dense);
        let rows = old.len() / self.width;
        let kept = rows.min(DENSE_CELLS / width);
        self.dense = vec![UNKNOWN; kept * width];
        for (row, cells) in old.chunks(self.width).take(kept).enumerate() {
            self.dense[row * width..row * width + cells.len()].copy_from_slice(cells);
        }
        // Rows that no longer fit keep their transitions in the sparse table.
        for (row, cells) in old.chunks(self.width).enumerate().skip(kept) {
            for (kind, &next) in cells.iter().enumerate().filter(|&(_, &n)| n != UNKNOWN) {
                self.sparse.insert(((row as u64) << 32) | kind as u64, next);
            }
        }
        self.width = width;
        self.grow_dense();
    }

    /// Gives every state a dense row while the table has room.
    fn grow_dense(&mut self) {
        let rows = self.state_count().min(DENSE_CELLS / self.width);
        if self.dense.len() < rows * self.width {
            self.dense.resize(rows * self.width, UNKNOWN);
        }
    }

    /// The dense cell of a transition, if it has one.
    #[inline]
    fn cell(&self, state: StateId, kind: KindId) -> Option<usize> {
        let i = state as usize * self.width + kind as usize;
        (i < self.dense.len()).then_some(i)
    }

    /// The state `kind` leads to from `state`, or `None` if it is illegal there.
    #[inline]
    pub fn step(&mut self, state: StateId, kind: KindId) -> Option<StateId> {
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
            let next = self.compute(state, kind);
            match cell {
                Some(i) => self.dense[i] = next,
                None => {
                    self.sparse.insert((u64::from(state) << 32) | u64::from(kind), next);
                }
            }
            self.grow_dense();
            next
        };
        (next != ILLEGAL).then_some(next)
    }

    /// A transition not in the table: the model's step, or [`ILLEGAL`].
    fn compute(&mut self, state: StateId, kind: KindId) -> u32 {
        let op = self.kinds.get(kind);
        match &mut self.states {
            States::Whole(states) => match self.model.step(states.get(state), &op.0, &op.1) {
                Some(next) => {
                    let heap = self.model.state_bytes(&next);
                    let (id, new) = states.intern_new(next);
                    self.heap += if new { heap } else { 0 };
                    id
                }
                None => ILLEGAL,
            },
            States::Parts(parts) => parts.step(&self.model, state, op, kind),
        }
    }

    /// A state, whole.
    fn state(&self, state: StateId) -> std::borrow::Cow<'_, M::State> {
        match &self.states {
            States::Whole(states) => std::borrow::Cow::Borrowed(states.get(state)),
            States::Parts(parts) => std::borrow::Cow::Owned(parts.whole(&self.model, state)),
        }
    }

    /// The model's own answer for a step, with the inconsistency message: for the
    /// analysis, which needs the words the table does not keep.
    pub fn explain(&self, state: StateId, kind: KindId) -> Result<M::State, String> {
        let (f, value, _) = self.kinds.get(kind);
        super::step_or_why(&self.model, &self.state(state), f, value)
    }

    /// A state as the analysis prints it.
    pub fn render(&self, state: StateId) -> Value {
        self.model.render(&self.state(state))
    }

    /// An estimate of the bytes the memo holds: states by their inline size and
    /// what they own on the heap as the model counts it ([`Model::state_bytes`]).
    pub fn bytes(&self) -> usize {
        let states = match &self.states {
            States::Whole(states) => states.bytes(0) + self.heap,
            States::Parts(parts) => {
                parts.parts.bytes(0)
                    + parts.heap
                    + parts.steps.capacity() * 13
                    + parts.tuples.bytes(4 * parts.keys.len())
            }
        };
        states
            + self.op_kinds.capacity() * 4
            + self.kinds.bytes(0)
            + self.dense.capacity() * 4
            + self.sparse.capacity() * 13
            + self.observed.capacity() * 9
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CasRegister, Kv, NilReads};
    use crate::read::read_ops;

    fn history<M: Model>(model: &M, edn: &str) -> History {
        History::complete(read_ops(edn.as_bytes(), "test.edn", None).unwrap(), model).unwrap()
    }

    /// An invocation and its `:ok`, as EDN lines.
    fn ok(f: &str, extra: &str, value: &str) -> String {
        format!(
            "{{:process 0, :type :invoke, :f {f}{extra}, :value {value}}}\n\
             {{:process 0, :type :ok, :f {f}{extra}, :value {value}}}\n"
        )
    }

    #[test]
    fn states_are_counted_with_what_they_own() {
        // 100 enqueues in turn: 100 states, queues of 1 to 100 elements, which own
        // 5 050 elements on the heap in all, each at least a `Value` wide.
        let model = crate::model::FifoQueue::default();
        let edn: String = (0..100).map(|i| ok(":enqueue", "", &i.to_string())).collect();
        let h = history(&model, &edn);
        let mut memo = Memo::new(&model, &h, false);
        let mut s = memo.init();
        for i in 0..100 {
            s = memo.step(s, memo.kind(i)).unwrap();
        }
        assert!(memo.bytes() >= 5050 * std::mem::size_of::<Value>(), "{}", memo.bytes());
    }

    #[test]
    fn a_memo_stays_counted_until_it_is_freed() {
        use crate::search::{budget::Budget, linear, wgl, Outcome};
        // 300 enqueues in turn, each a state that owns its queue: a memo of some
        // hundred kilobytes, most of it learned after the searches' last checks.
        let model = crate::model::FifoQueue::default();
        let edn: String = (0..300).map(|i| ok(":enqueue", "", &i.to_string())).collect();
        let h = history(&model, &edn);
        let budget = Budget::new(None, usize::MAX, None);
        let used = || budget.pool().load(Ordering::Relaxed);
        let mut memo = Memo::new(&model, &h, false);
        assert!(matches!(linear::search(&h, &mut memo, &budget, false), Outcome::Valid { .. }));
        assert!(memo.bytes() > 300 * 150 * std::mem::size_of::<Value>());
        assert_eq!(used(), memo.bytes());
        // Another search with the same memo counts only what it adds.
        assert!(matches!(wgl::search(&h, &mut memo, &budget, false), Outcome::Valid { .. }));
        assert_eq!(used(), memo.bytes());
        // Under another budget's limits, the memo is counted there alone.
        let other = Budget::new(None, usize::MAX, None);
        assert!(matches!(wgl::search(&h, &mut memo, &other, false), Outcome::Valid { .. }));
        assert_eq!((used(), other.pool().load(Ordering::Relaxed)), (0, memo.bytes()));
        memo.free(&other);
        assert_eq!(other.pool().load(Ordering::Relaxed), 0);
        let mut memo = Memo::new(&model, &h, false);
        wgl::search(&h, &mut memo, &budget, false);
        assert!(used() > 0);
        drop(memo);
        assert_eq!(used(), 0);
    }

    #[test]
    fn steps_agree_with_the_model_dense_and_sparse() {
        // 2100 writes and reads of distinct values: 4200 kinds, and more states than
        // the dense table has rows for them, so the later states' steps are sparse.
        let n = 2100;
        let model = CasRegister { init: Value::Int(0), nil_reads: NilReads::Unknown };
        let edn: String =
            (0..n).map(|i| ok(":write", "", &i.to_string()) + &ok(":read", "", &i.to_string())).collect();
        let h = history(&model, &edn);
        let mut memo = Memo::new(&model, &h, true);
        let read = |memo: &Memo<_>, i: usize| memo.kind(2 * i + 1);
        for i in 0..n {
            let s = memo.step(memo.init(), memo.kind(2 * i)).unwrap();
            assert_eq!(memo.render(s).to_edn(), format!("{{:value {i}}}"));
            assert_eq!(memo.step(s, read(&memo, i)), Some(s));
            assert_eq!(memo.step(s, read(&memo, i)), Some(s), "cached answer");
            assert_eq!(memo.step(s, read(&memo, (i + 1) % n)), None);
        }
        assert!(memo.dense.len() < memo.state_count() * memo.width, "some rows are sparse");
        let last = memo.step(memo.init(), memo.kind(2 * (n - 1))).unwrap();
        assert_eq!(memo.explain(last, read(&memo, 0)), Err(format!("can't read 0 from register {}", n - 1)));
    }

    #[test]
    fn keyed_states_are_interned_by_parts_and_agree_with_whole_steps() {
        let init = crate::read::parse_edn(r#"{"c" "w"}"#).unwrap();
        let model = Kv::with_init(Some(&init), NilReads::Unknown).unwrap();
        let on = |key: &str| format!(", :key \"{key}\"");
        let ops = [
            ok(":put", &on("a"), "\"x\""),
            ok(":put", &on("b"), "\"y\""),
            ok(":append", &on("a"), "\"z\""),
            ok(":get", &on("a"), "\"xz\""),
            ok(":get", &on("b"), "\"\""),
            ok(":put", &on("a"), "\"\""),
            ok(":get", &on("c"), "\"w\""),
        ];
        let h = history(&model, &ops.concat());
        let mut memo = Memo::new(&model, &h, true);
        assert!(matches!(memo.states, States::Parts(_)));
        let (put_a, put_b, get_b_empty, clear_a) = (memo.kind(0), memo.kind(1), memo.kind(4), memo.kind(5));
        let init = memo.init();
        let a = memo.step(init, put_a).unwrap();
        let ab = memo.step(a, put_b).unwrap();
        let b = memo.step(init, put_b).unwrap();
        assert_eq!(memo.step(b, put_a), Some(ab), "one state, whatever order its keys were written in");
        assert_eq!(memo.step(a, clear_a), Some(init), "a key put back to \"\" is as it was");
        assert_eq!(memo.step(a, get_b_empty), Some(a));
        assert_eq!(memo.step(ab, get_b_empty), None);
        assert_eq!(memo.explain(ab, get_b_empty), Err(r#"can't get "" from key "b" holding "y""#.into()));
        // Whole states hold the keys no op touches, from the initial state.
        let expected = crate::read::parse_edn(r#"{:value {"a" "x", "b" "y", "c" "w"}}"#).unwrap();
        assert_eq!(memo.render(ab), expected);

        // A walk of random steps, beside the model stepping whole states.
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let (mut id, mut whole) = (init, model.init());
        for _ in 0..2000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let i = (rng % ops.len() as u64) as usize;
            let op = &h.operations[i];
            match (memo.step(id, memo.kind(i)), model.step(&whole, &op.f, &op.value)) {
                (Some(next), Some(next_whole)) => (id, whole) = (next, next_whole),
                (None, None) => {}
                (by_parts, by_whole) => panic!("parts say {by_parts:?}, whole states {by_whole:?}"),
            }
            assert_eq!(memo.render(id), model.render(&whole));
        }
    }
}
