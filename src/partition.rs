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
//! if they have one (failed operations, for reports) or to every key if they have
//! none (the nemesis's ops, which reports show everywhere).

use crate::history::{History, Op, Operation};
use crate::model::Model;
use crate::value::Value;
use std::collections::HashMap;

/// A model over `[key value]` tuples (`--independent`): each key is a separate
/// object of the inner model. Its state maps each key to the inner model's state,
/// so it is exact on the whole history too (`--no-partition`); split by key, each
/// part's state holds one key and prints as the inner model's state.
#[derive(Clone, Debug)]
pub struct Independent<M>(pub M);

impl<M: Model<State = Value>> Model for Independent<M> {
    type State = Value;
    fn name(&self) -> &str {
        self.0.name()
    }
    fn init(&self) -> Value {
        Value::Map(Vec::new())
    }
    fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
        match value.as_seq() {
            Some([_, v]) => self.0.check_op(f, v),
            _ => Err(format!("expected a [key value] tuple, not {}", value.to_edn_short(60))),
        }
    }
    fn step(&self, state: &Value, f: &Value, value: &Value) -> Result<Value, String> {
        let (Some([key, v]), Value::Map(entries)) = (value.as_seq(), state) else {
            return Err(format!("expected a [key value] tuple, not {}", value.to_edn_short(60)));
        };
        let mut entries = entries.clone();
        match entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, s)) => *s = self.0.step(s, f, v)?,
            None => entries.push((key.clone(), self.0.step(&self.0.init(), f, v)?)),
        }
        Ok(Value::Map(entries))
    }
    fn render(&self, state: &Value) -> Value {
        match state {
            Value::Map(entries) if entries.len() > 1 => {
                Value::Map(entries.iter().map(|(k, s)| (k.clone(), self.0.render(s))).collect())
            }
            Value::Map(entries) => self.0.render(entries.first().map_or(&self.0.init(), |(_, s)| s)),
            other => other.clone(),
        }
    }
    /// The tuple's key with the inner model's argument from its value.
    fn argument(&self, invoke: &Value, value: &Value) -> Result<Value, String> {
        match value.as_seq() {
            Some([k, v]) => Ok(Value::Vector(vec![k.clone(), self.0.argument(invoke, v)?])),
            _ => Err(format!(
                "with --independent every client op's value must be a [key value] tuple, not {}",
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
    /// The map of the key's inner state alone.
    fn part(&self, state: &Value, key: &Value) -> Option<Value> {
        crate::model::map_part(state, key)
    }
    fn join(&self, base: &Value, parts: &[(&Value, &Value)]) -> Value {
        crate::model::map_join(base, parts)
    }
}

/// Whether a history looks like `jepsen.independent`'s, though it was not read as
/// one: every client operation's value is a 2-vector, and they are not all `:cas`
/// (whose `[old new]` is a 2-vector too).
pub fn looks_independent(history: &History) -> bool {
    let value = |o: &Operation| history.ops[o.complete.unwrap_or(o.invoke)].value();
    let mut operations = history.operations.iter().peekable();
    operations.peek().is_some()
        && history.operations.iter().any(|o| crate::model::f_name(&o.f) != Some("cas"))
        && operations.all(|o| matches!(value(o).as_seq(), Some([_, _])))
}

/// One key's sub-history.
#[derive(Clone, Debug)]
pub struct Part {
    pub key: Value,
    pub history: History,
}

/// Splits a completed history by the model's partition key, keys in order of first
/// appearance; `None` if the model does not split histories.
pub fn by_key<M: Model + ?Sized>(history: &History, model: &M) -> Option<Vec<Part>> {
    split_by(history, |op| model.partition_key(&op.map))
}

/// Splits a completed history by `key_of` each op, as [`by_key`] does with a
/// model's key; `None` if some operation's invocation has no key, or there are none.
pub fn split_by(history: &History, key_of: impl Fn(&Op) -> Option<Value>) -> Option<Vec<Part>> {
    let key_of = |pos: usize| key_of(&history.ops[pos]);
    let mut keys: Vec<Value> = Vec::new();
    let mut index: HashMap<Value, usize> = HashMap::new();
    let mut slot = |key: Value, keys: &mut Vec<Value>| {
        *index.entry(key.clone()).or_insert_with(|| {
            keys.push(key);
            keys.len() - 1
        })
    };
    // Positions of each key's ops, and each key's operations.
    let mut positions: Vec<Vec<usize>> = Vec::new();
    let mut operations: Vec<Vec<&Operation>> = Vec::new();
    let mut in_operation = vec![false; history.ops.len()];
    for o in &history.operations {
        let k = slot(key_of(o.invoke)?, &mut keys);
        if k == positions.len() {
            positions.push(Vec::new());
            operations.push(Vec::new());
        }
        positions[k].push(o.invoke);
        in_operation[o.invoke] = true;
        if let Some(c) = o.complete {
            positions[k].push(c);
            in_operation[c] = true;
        }
        operations[k].push(o);
    }
    if keys.is_empty() {
        return None;
    }
    let mut everywhere = Vec::new();
    for pos in (0..history.ops.len()).filter(|&p| !in_operation[p]) {
        match key_of(pos) {
            Some(key) => {
                if let Some(&k) = index.get(&key) {
                    positions[k].push(pos);
                }
            }
            None => everywhere.push(pos),
        }
    }
    let parts = keys
        .into_iter()
        .zip(positions)
        .zip(operations)
        .map(|((key, mut positions), operations)| {
            positions.extend_from_slice(&everywhere);
            positions.sort_unstable();
            // An op's position in the part: where it is among the sorted positions.
            let renumber =
                |p: usize| positions.binary_search(&p).expect("an operation's ops are in its part");
            let history = History {
                ops: positions.iter().map(|&p| history.ops[p].clone()).collect(),
                operations: operations
                    .into_iter()
                    .map(|o| Operation {
                        invoke: renumber(o.invoke),
                        complete: o.complete.map(renumber),
                        f: o.f.clone(),
                        value: o.value.clone(),
                    })
                    .collect(),
            };
            Part { key, history }
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
        fn step(&self, state: &Value, f: &Value, value: &Value) -> Result<Value, String> {
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
        let indices = |p: &Part| p.history.ops.iter().map(|o| o.index).collect::<Vec<_>>();
        // a: its two operations and the nemesis op; b: the failed write (for
        // reports), the nemesis op, and the crashed read.
        assert_eq!(indices(&parts[0]), [0, 2, 3, 5, 6]);
        assert_eq!(indices(&parts[1]), [1, 2, 4, 7]);
        assert_eq!(parts[0].history.operations.len(), 2);
        assert_eq!(parts[1].history.operations.len(), 1);
        // operations point at their own ops after renumbering
        let o = &parts[0].history.operations[1];
        assert_eq!(parts[0].history.ops[o.invoke].index, 5);
        assert_eq!(parts[0].history.ops[o.complete.unwrap()].index, 6);
        // a model that does not split gives None
        assert!(by_key(&history, &model.0).is_none());
    }
}
