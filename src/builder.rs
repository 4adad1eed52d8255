//! Histories built in code, op by op, as a test harness records them.
//!
//! A harness that calls its system from Rust has no `history.edn` to read: it knows
//! each invocation and completion as it happens. [`HistoryBuilder`] records them as
//! Jepsen op maps (`{:process 0, :type :invoke, :f :write, :value 1}`), with no file
//! and so no lines: the analysis and its explanations name such ops by index alone.
//! Completion is then exactly as for a file ([`History::complete`]): the same pairing,
//! the same errors.

use crate::error::InputError;
use crate::history::History;
use crate::model::Model;
use crate::read::{OpType, RawOp};
use crate::value::Value;
use std::collections::HashMap;

/// Records ops and completes them into a [`History`].
///
/// A completion names its process only: its `:f` is its invocation's, and a `:fail`
/// or `:info` carries its invocation's value, as Jepsen writes them.
///
/// ```
/// use knossos_rs::{check, model, HistoryBuilder, Options, Validity, Value};
///
/// let model = model::builtin("cas-register", &Default::default()).unwrap();
/// let mut ops = HistoryBuilder::new();
/// ops.invoke(0, "write", 1).ok(0, 1);
/// ops.invoke(1, "read", Value::Nil).invoke(2, "cas", vec![1, 2]);
/// ops.ok(1, 2).info(2);
/// ops.invoke(3, "read", Value::Nil).ok(3, 1);
/// let history = ops.build(&model).unwrap();
///
/// // The read of 2 is explained by the crashed cas; the read of 1 after it is not.
/// let analysis = check(&model, &history, &Options::default());
/// assert_eq!(analysis.valid, Validity::Invalid);
/// assert_eq!(analysis.op.unwrap().index, 7);
/// ```
#[derive(Clone, Debug, Default)]
pub struct HistoryBuilder {
    ops: Vec<Value>,
    /// Each process's open invocation: its `:f` and `:value`, for its completion.
    open: HashMap<Value, (Value, Value)>,
    /// The `:index` of the next op, once an op had one (appending to a history read
    /// from a file): every op has an `:index` or none does.
    next_index: Option<i64>,
}

impl HistoryBuilder {
    /// An empty history.
    pub fn new() -> HistoryBuilder {
        HistoryBuilder::default()
    }

    /// Process `process` invokes `f` (a keyword: `"read"` is `:read`) with `value`.
    pub fn invoke(&mut self, process: impl Into<Value>, f: &str, value: impl Into<Value>) -> &mut Self {
        let (process, f, value) = (process.into(), Value::keyword(f), value.into());
        self.open.insert(process.clone(), (f.clone(), value.clone()));
        self.push(process, OpType::Invoke, f, value)
    }

    /// Process `process`'s open invocation completes `:ok` with `value` (what a read
    /// returned; for a write, the value written).
    pub fn ok(&mut self, process: impl Into<Value>, value: impl Into<Value>) -> &mut Self {
        let process = process.into();
        let (f, _) = self.open.remove(&process).unwrap_or_default();
        self.push(process, OpType::Ok, f, value.into())
    }

    /// Process `process`'s open invocation certainly did not take effect.
    pub fn fail(&mut self, process: impl Into<Value>) -> &mut Self {
        self.end(process.into(), OpType::Fail)
    }

    /// Process `process`'s open invocation may or may not have taken effect (a
    /// timeout, a crash): it stays pending forever.
    pub fn info(&mut self, process: impl Into<Value>) -> &mut Self {
        self.end(process.into(), OpType::Info)
    }

    /// Any op map, as Jepsen writes it: a nemesis's op, or one with more keys.
    pub fn op(&mut self, map: Value) -> &mut Self {
        if let (Some(process), Some(kind)) = (map.get("process"), map.get("type").and_then(OpType::parse)) {
            match kind {
                OpType::Invoke => {
                    let field = |key| map.get(key).cloned().unwrap_or(Value::Nil);
                    self.open.insert(process.clone(), (field("f"), field("value")));
                }
                _ => drop(self.open.remove(process)),
            }
        }
        if let Some(index) = map.get("index").and_then(Value::as_i64) {
            self.next_index = index.checked_add(1);
        }
        self.ops.push(map);
        self
    }

    /// How many ops were recorded.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether no op was recorded.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The completed history, or what is wrong with it (each problem naming its op by
    /// index), as [`History::complete`].
    pub fn build<M: Model + ?Sized>(self, model: &M) -> Result<History, InputError> {
        let ops = self.ops.into_iter().map(|value| RawOp { value, line: 0, column: 0, span: 0..0 }).collect();
        History::complete(ops, model)
    }

    fn end(&mut self, process: Value, kind: OpType) -> &mut Self {
        let (f, value) = self.open.remove(&process).unwrap_or_default();
        self.push(process, kind, f, value)
    }

    fn push(&mut self, process: Value, kind: OpType, f: Value, value: Value) -> &mut Self {
        let mut map = Value::kw_map([
            ("process", process),
            ("type", Value::keyword(kind.name())),
            ("f", f),
            ("value", value),
        ]);
        if let (Some(index), Value::Map(entries)) = (self.next_index, &mut map) {
            entries.push((Value::keyword("index"), Value::Int(index)));
            self.next_index = index.checked_add(1);
        }
        self.ops.push(map);
        self
    }
}

impl History {
    /// A builder holding this history's ops, to append more: the op maps are moved,
    /// not copied, when the history was completed in memory and is not shared.
    pub fn into_builder(self) -> HistoryBuilder {
        let mut builder = HistoryBuilder::new();
        for map in self.into_op_maps() {
            builder.op(map);
        }
        builder
    }
}
