//! Partitions: splitting a history into sub-histories that are checked on their own.
//!
//! Checking is exponential in a history's concurrency and length, but a history of
//! independent objects is linearizable exactly when each object's sub-history is
//! (P-compositionality, Herlihy & Wing's locality). So a keyed model (one whose
//! [`Model::partition_key`] names a key per op, like `kv`'s `:key`) is checked key by
//! key: many small searches instead of one huge one.
//!
//! Jepsen's independent keys (`jepsen.independent`) are the other source of
//! partitions: every client op's value is a `[key value]` tuple. [`Independent`]
//! wraps any model to read them so, which makes independence a model like any other.
//!
//! The split happens after completion, so that pairing and its errors (a double
//! invoke across keys, say) are judged on the whole history. Each operation goes to
//! the key of its invocation; ops that belong to no operation go to their own key
//! if they have one (failed operations, for reports; a key whose ops all failed is
//! a key with no operations, linearizable) or to every key if they have none (the
//! nemesis's ops, which reports show everywhere).

use crate::history::{History, Op};
use crate::model::Model;
use crate::value::Value;
use foldhash::fast::FixedState;
use rayon::prelude::*;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};

/// A model over `[key value]` tuples (`--independent`): each key is a separate
/// object of the inner model, any model. Its state holds each key's state of the
/// inner model ([`Keys`]), so it is exact on the whole history too
/// (`--no-partition`); split by key, each part's state holds one key and prints as
/// the inner model's state.
#[derive(Clone, Debug)]
pub struct Independent<M>(pub M);

/// An [`Independent`] model's state: each key stepped so far, with its state of the
/// inner model, in the order the keys were first stepped. Equal, and hashed, as a
/// map: whatever that order.
#[derive(Clone, Debug)]
pub struct Keys<S>(Vec<(Value, S)>);

impl<S> Keys<S> {
    /// The key's state, if an operation on it was stepped.
    pub fn get(&self, key: &Value) -> Option<&S> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, s)| s)
    }

    /// Each key with its state.
    pub fn iter(&self) -> impl Iterator<Item = (&Value, &S)> {
        self.0.iter().map(|(k, s)| (k, s))
    }
}

impl<S: PartialEq> PartialEq for Keys<S> {
    fn eq(&self, other: &Keys<S>) -> bool {
        self.0.len() == other.0.len() && self.iter().all(|(k, s)| other.get(k) == Some(s))
    }
}

impl<S: Eq> Eq for Keys<S> {}

impl<S: Hash> Hash for Keys<S> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // The sum of the entries' own hashes does not depend on their order.
        let sum =
            self.0.iter().fold(0u64, |sum, entry| sum.wrapping_add(FixedState::default().hash_one(entry)));
        h.write_usize(self.0.len());
        h.write_u64(sum);
    }
}

impl<M: Model> Model for Independent<M> {
    type State = Keys<M::State>;
    fn name(&self) -> &str {
        self.0.name()
    }
    fn init(&self) -> Keys<M::State> {
        Keys(Vec::new())
    }
    fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
        match value.as_seq() {
            Some([_, v]) => self.0.check_op(f, v),
            _ => Err(format!("expected a [key value] tuple, not {}", value.to_edn_short(60))),
        }
    }
    fn step(&self, state: &Keys<M::State>, f: &Value, value: &Value) -> Option<Keys<M::State>> {
        let Some([key, v]) = value.as_seq() else { return None };
        let mut next = state.clone();
        match next.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, s)) => *s = self.0.step(s, f, v)?,
            None => next.0.push((key.clone(), self.0.step(&self.0.init(), f, v)?)),
        }
        Some(next)
    }
    fn inconsistency(&self, state: &Keys<M::State>, f: &Value, value: &Value) -> String {
        let Some([key, v]) = value.as_seq() else {
            return format!("expected a [key value] tuple, not {}", value.to_edn_short(60));
        };
        match state.get(key) {
            Some(inner) => self.0.inconsistency(inner, f, v),
            None => self.0.inconsistency(&self.0.init(), f, v),
        }
    }
    /// Each key's state as the inner model prints it, in a map; a state of one key
    /// (a key's part) as the inner model's state alone.
    fn render(&self, state: &Keys<M::State>) -> Value {
        match &state.0[..] {
            [] => self.0.render(&self.0.init()),
            [(_, inner)] => self.0.render(inner),
            entries => Value::Map(entries.iter().map(|(k, s)| (k.clone(), self.0.render(s))).collect()),
        }
    }
    /// The tuple's key with the inner model's argument from its value.
    fn argument(&self, invoke: &Value, value: &Value) -> Result<Value, String> {
        match value.as_seq() {
            // An operation is on one key: its completion cannot name another.
            Some([k, _])
                if invoke
                    .get("value")
                    .and_then(Value::as_seq)
                    .is_some_and(|i| i.len() == 2 && i[0] != *k) =>
            {
                let invoked = &invoke.get("value").and_then(Value::as_seq).expect("a tuple")[0];
                Err(format!(
                    "the completion's key {} differs from its invocation's {}",
                    k.to_edn_short(40),
                    invoked.to_edn_short(40)
                ))
            }
            Some([k, v]) => Ok(Value::Vector(vec![k.clone(), self.0.argument(invoke, v)?])),
            _ => Err(format!(
                "read as jepsen.independent's (`Independent`, `--independent`), every client op's value \
                 must be a [key value] tuple, not {}",
                value.to_edn_short(60)
            )),
        }
    }
    fn partition_key(&self, op: &Value) -> Option<Value> {
        match op.get("value")?.as_seq()? {
            [k, _] => Some(k.clone()),
            _ => None,
        }
    }
    /// The key's state alone.
    fn part(&self, state: &Keys<M::State>, key: &Value) -> Option<Keys<M::State>> {
        Some(Keys(state.get(key).map(|s| (key.clone(), s.clone())).into_iter().collect()))
    }
    fn join(&self, base: &Keys<M::State>, parts: &[(&Value, &Keys<M::State>)]) -> Keys<M::State> {
        let mut joined = base.clone();
        for &(key, part) in parts {
            joined.0.retain(|(k, _)| k != key);
            joined.0.extend(part.get(key).map(|s| (key.clone(), s.clone())));
        }
        joined
    }
    fn semantics(&self) -> Option<crate::model::Semantics<'_>> {
        Some(crate::model::Semantics::Keyed(Box::new(self.0.semantics()?)))
    }
    /// The inner model's read. Its first step on a key adds the key at the inner
    /// initial state, which steps every later operation as the key's absence did.
    fn is_read(&self, f: &Value, value: &Value) -> bool {
        matches!(value.as_seq(), Some([_, v]) if self.0.is_read(f, v))
    }
    /// The inner model's: an operation on one key is left out of that key's steps
    /// alone, and a later first step on the key adds it as its absence would.
    fn never_helps(&self, f: &Value, value: &Value) -> bool {
        matches!(value.as_seq(), Some([_, v]) if self.0.never_helps(f, v))
    }
    /// The inner model's, on the tuple's key (a state without the key being the
    /// inner initial state, as it steps).
    fn overwrites(&self, f: &Value, value: &Value) -> bool {
        matches!(value.as_seq(), Some([_, v]) if self.0.overwrites(f, v))
    }
    fn may_observe(&self, state: &Keys<M::State>, f: &Value, value: &Value) -> bool {
        let Some([key, v]) = value.as_seq() else { return true };
        match state.get(key) {
            Some(inner) => self.0.may_observe(inner, f, v),
            None => self.0.may_observe(&self.0.init(), f, v),
        }
    }
    fn state_bytes(&self, state: &Keys<M::State>) -> usize {
        let entry = std::mem::size_of::<(Value, M::State)>();
        state.0.iter().map(|(k, s)| entry + k.heap_bytes() + self.0.state_bytes(s)).sum()
    }
}

/// Whether a history's ops are `jepsen.independent`'s: every client op's value is a
/// `[key value]` pair whose key is not a collection (invocations, completions and
/// crashes alike, the nemesis's ops aside), and not every client op is a `:cas` (whose
/// `[old new]` is one too). Jepsen wraps every value of an independent test, a read's
/// invocation `[k nil]` included, where a plain history's reads invoke nil; and a
/// multi-register transaction of two micro-ops is a pair of vectors.
pub(crate) fn looks_independent(ops: &[Op]) -> bool {
    let mut not_cas = false;
    for op in ops.iter().filter(|op| !op.is_nemesis()) {
        match op.value().as_seq() {
            Some([Value::List(_) | Value::Vector(_) | Value::Map(_) | Value::Set(_), _]) => return false,
            Some([_, _]) => not_cas |= op.f().as_name() != Some("cas"),
            _ => return false,
        }
    }
    not_cas
}

/// One key's part of a history: which of its ops and operations are the key's. The
/// key's history is built when it is checked ([`Part::history`]), so that a history
/// split into a thousand keys is not held twice.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    /// The key its operations are on.
    pub key: Value,
    /// Positions of the key's ops in the whole history, in order.
    positions: Vec<usize>,
    /// Positions of the key's operations among the whole history's.
    operations: Vec<usize>,
}

impl Part {
    /// How many operations the key has.
    pub fn operations(&self) -> usize {
        self.operations.len()
    }

    /// Where the key's ops are in the whole history: the `i`th op of
    /// [`Part::history`] is `positions()[i]` of the whole.
    pub fn positions(&self) -> &[usize] {
        &self.positions
    }

    /// The key's history, from the whole history this part was split from.
    pub fn history(&self, whole: &History) -> History {
        whole.part(&self.positions, self.operations.iter().map(|&i| whole.operations[i].clone()))
    }
}

/// Splits a completed history by the model's partition key, keys in order of their
/// first operation, then those with none; `None` if the model does not split histories.
pub(crate) fn by_key<M: Model + ?Sized>(history: &History, model: &M) -> Option<Vec<Part>> {
    split_by(history, |op| model.partition_key(op.fields()))
}

/// Splits a completed history by `key_of` each op, as [`by_key`] does with a
/// model's key; `None` if some operation's invocation has no key, or no op has one.
/// `key_of` must depend on the op's [fields](Op::fields) alone: it is asked once for
/// all the ops that share them.
pub(crate) fn split_by(history: &History, key_of: impl Fn(&Op) -> Option<Value>) -> Option<Vec<Part>> {
    let mut keys: Vec<Value> = Vec::new();
    let mut index: HashMap<Value, usize, FixedState> = HashMap::default();
    // Each distinct body's key slot: ops that share their fields share one value.
    let mut slots: HashMap<*const Value, Option<usize>, FixedState> = HashMap::default();
    let mut slot_of = |pos: usize, add: bool| {
        let op = &history.ops[pos];
        let body: *const Value = op.fields();
        if let Some(&slot) = slots.get(&body).filter(|s| s.is_some() || !add) {
            return slot;
        }
        let slot = key_of(op).and_then(|key| match index.get(&key) {
            Some(&slot) => Some(slot),
            None if add => {
                index.insert(key.clone(), keys.len());
                keys.push(key);
                Some(keys.len() - 1)
            }
            None => None,
        });
        slots.insert(body, slot);
        slot
    };
    // Each key's ops and operations.
    let mut parts: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
    let mut in_operation = vec![false; history.ops.len()];
    for (i, o) in history.operations.iter().enumerate() {
        let k = slot_of(o.invoke, true)?;
        if k == parts.len() {
            parts.push((Vec::new(), Vec::new()));
        }
        parts[k].0.push(o.invoke);
        in_operation[o.invoke] = true;
        if let Some(c) = o.complete {
            parts[k].0.push(c);
            in_operation[c] = true;
        }
        parts[k].1.push(i);
    }
    let mut everywhere = Vec::new();
    for pos in (0..history.ops.len()).filter(|&p| !in_operation[p]) {
        // A client's key that no operation has (its ops all failed or were unpaired)
        // is a key all the same, with an empty history, as jepsen.independent has it;
        // a nemesis's value that looks like a tuple names no key.
        let op = &history.ops[pos];
        match slot_of(pos, !op.is_nemesis()) {
            Some(k) if k == parts.len() => parts.push((vec![pos], Vec::new())),
            Some(k) => parts[k].0.push(pos),
            None if key_of(op).is_none() => everywhere.push(pos),
            None => {}
        }
    }
    if parts.is_empty() {
        return None;
    }
    // Sorting every key's positions is most of the splitting: keys in parallel.
    let parts = keys
        .into_par_iter()
        .zip(parts)
        .map(|(key, (mut positions, operations))| {
            positions.extend_from_slice(&everywhere);
            positions.sort_unstable();
            Part { key, positions, operations }
        })
        .collect();
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CasRegister, NilReads};
    use crate::read::read_ops;

    /// A register per `:key`: the cas-register, split by key.
    struct Keyed(CasRegister);

    impl Model for Keyed {
        type State = Value;
        fn name(&self) -> &str {
            "keyed"
        }
        fn init(&self) -> Value {
            self.0.init()
        }
        fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
            self.0.check_op(f, value)
        }
        fn step(&self, state: &Value, f: &Value, value: &Value) -> Option<Value> {
            self.0.step(state, f, value)
        }
        fn render(&self, state: &Value) -> Value {
            self.0.render(state)
        }
        fn partition_key(&self, op: &Value) -> Option<Value> {
            op.get("key").cloned()
        }
    }

    #[test]
    fn splits_by_key_keeping_indices_and_nemesis() {
        let log = r#"
{:process 0, :type :invoke, :f :write, :key "a", :value 1}
{:process 1, :type :invoke, :f :write, :key "b", :value 2}
{:process :nemesis, :type :info, :f :start}
{:process 0, :type :ok, :f :write, :key "a", :value 1}
{:process 1, :type :fail, :f :write, :key "b", :value 2}
{:process 1, :type :invoke, :f :read, :key "a"}
{:process 1, :type :ok, :f :read, :key "a", :value 1}
{:process 2, :type :invoke, :f :read, :key "b"}
"#;
        let model = Keyed(CasRegister { init: Value::Nil, nil_reads: NilReads::Unknown });
        let history = History::complete(read_ops(log.as_bytes(), "t", None).unwrap(), &model).unwrap();
        let parts = by_key(&history, &model).unwrap();
        let keys: Vec<String> = parts.iter().map(|p| p.key.to_edn()).collect();
        assert_eq!(keys, ["\"a\"", "\"b\""]);
        let indices = |p: &Part| p.history(&history).ops.iter().map(|o| o.index).collect::<Vec<_>>();
        // a: its two operations and the nemesis op; b: the failed write (for
        // reports), the nemesis op, and the crashed read.
        assert_eq!(indices(&parts[0]), [0, 2, 3, 5, 6]);
        assert_eq!(indices(&parts[1]), [1, 2, 4, 7]);
        assert_eq!(parts[0].operations(), 2);
        assert_eq!(parts[1].history(&history).operations.len(), 1);
        // operations point at their own ops after renumbering
        let a = parts[0].history(&history);
        let o = &a.operations[1];
        assert_eq!(a.ops[o.invoke].index, 5);
        assert_eq!(a.ops[o.complete.unwrap()].index, 6);
        // a model that does not split gives None
        assert!(by_key(&history, &model.0).is_none());
    }
}
