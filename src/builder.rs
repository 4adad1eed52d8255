//! Histories built in code, op by op, as a test harness records them.
//!
//! A harness that calls its system from Rust has no `history.edn` to read: it knows
//! each invocation and completion as it happens. [`HistoryBuilder`] records them as
//! Jepsen op maps (`{:process 0, :type :invoke, :f :write, :value 1}`), with no file
//! and so no lines: the analysis and its explanations name such ops by index alone.
//! Completion is then exactly as for a file ([`History::complete`]): the same pairing,
//! the same errors.

use crate::error::{Diagnostic, InputError};
use crate::history::History;
use crate::model::Model;
use crate::read::{OpType, RawOp};
use crate::timed::{place, Clocks};
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
    /// Operations with their times, in the order given: put in real-time order by
    /// [`build`](HistoryBuilder::build).
    timed: Vec<Timed>,
}

/// An operation with its call time and, unless it crashed, its output and return
/// time.
#[derive(Clone, Debug)]
struct Timed {
    process: Value,
    f: Value,
    input: Value,
    call: u64,
    ret: Option<(Value, u64)>,
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

    /// Process `process` called `f` with `input` at time `call`, and it returned
    /// `output` at time `ret` (`:ok`): an operation as Porcupine's users record it,
    /// given in any order relative to the others. Times are any clock's ticks
    /// (nanoseconds since the test began, say).
    ///
    /// [`build`](HistoryBuilder::build) puts the events of all timed operations in
    /// real-time order: by time, and at equal times calls before returns, so that an
    /// operation called at the very time another returned is concurrent with it, as
    /// in Porcupine. A process does one thing at a time: its next call must come
    /// strictly after its previous operation returned. An operation known to have
    /// failed did not happen: leave it out. A builder holds timed operations or
    /// untimed events, not both.
    ///
    /// ```
    /// use knossos_rs::{check, model, HistoryBuilder, Options, Validity, Value};
    ///
    /// let model = model::builtin("cas-register", &Default::default()).unwrap();
    /// let mut ops = HistoryBuilder::new();
    /// // Given as they finished, not as they started.
    /// ops.timed(1, "read", Value::Nil, 2, 30, 40); // starts after the write of 2 returned
    /// ops.timed(0, "write", 1, 1, 0, 10);
    /// ops.timed(2, "write", 2, 2, 5, 20);
    /// ops.timed_crash(3, "write", 3, 25); // never returned: it may have taken effect
    /// let history = ops.build(&model).unwrap();
    /// assert_eq!(history.ops[0].value(), &Value::Int(1)); // the write of 1 is called first
    /// assert_eq!(check(&model, &history, &Options::default()).valid, Validity::Valid);
    /// ```
    pub fn timed(
        &mut self,
        process: impl Into<Value>,
        f: &str,
        input: impl Into<Value>,
        output: impl Into<Value>,
        call: u64,
        ret: u64,
    ) -> &mut Self {
        let (process, f, input) = (process.into(), Value::keyword(f), input.into());
        self.timed.push(Timed { process, f, input, call, ret: Some((output.into(), ret)) });
        self
    }

    /// Process `process` called `f` with `input` at time `call`, and it never
    /// returned (it crashed, or timed out): it may take effect at any time from its
    /// call on, or never (`:info`). Its process calls no more: give the next
    /// operations another process, as Jepsen does.
    pub fn timed_crash(
        &mut self,
        process: impl Into<Value>,
        f: &str,
        input: impl Into<Value>,
        call: u64,
    ) -> &mut Self {
        let (process, f, input) = (process.into(), Value::keyword(f), input.into());
        self.timed.push(Timed { process, f, input, call, ret: None });
        self
    }

    /// How many ops were recorded (a timed operation counts once).
    pub fn len(&self) -> usize {
        self.ops.len() + self.timed.len()
    }

    /// Whether no op was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The completed history, or what is wrong with it (each problem naming its op by
    /// index, or a timed operation by its place in the order given), as
    /// [`History::complete`].
    pub fn build<M: Model + ?Sized>(self, model: &M) -> Result<History, InputError> {
        let ops = match (self.timed.is_empty(), self.ops.is_empty()) {
            (true, _) => self.ops,
            (false, true) => in_real_time(self.timed)?,
            (false, false) => {
                let why =
                    "a history is built from timed operations or from events in real-time order, not both";
                return Err(InputError::new("", vec![Diagnostic::new(0, 0, why)]));
            }
        };
        let ops = ops.into_iter().map(|value| RawOp { value, line: 0, column: 0, span: 0..0 }).collect();
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

/// Timed operations as op maps in real-time order (see [`crate::timed`]), each with
/// its `:time`; a crashed operation's `:info` at the end, where it constrains
/// nothing. Every process's operations are checked to follow one another.
fn in_real_time(timed: Vec<Timed>) -> Result<Vec<Value>, InputError> {
    let mut by_call: Vec<usize> = (0..timed.len()).collect();
    by_call.sort_by_cached_key(|&i| place(timed[i].call, false, &timed[i].process));
    let (mut clocks, mut problems) = (Clocks::default(), InputError::new("", Vec::new()));
    for &i in &by_call {
        let t = &timed[i];
        let ret = |clocks: &mut Clocks| t.ret.as_ref().map_or(Ok(()), |(_, at)| clocks.ret(&t.process, *at));
        if let Err(why) = clocks.call(&t.process, t.call).and_then(|()| ret(&mut clocks)) {
            problems.push(Diagnostic::new(0, 0, format!("timed operation {i} (from 0, as given): {why}")));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut events: Vec<(usize, bool)> = (0..timed.len()).map(|i| (i, false)).collect();
    events.extend(timed.iter().enumerate().filter(|(_, t)| t.ret.is_some()).map(|(i, _)| (i, true)));
    events.sort_by_cached_key(|&(i, returns)| {
        let t = &timed[i];
        place(if returns { t.ret.as_ref().map_or(t.call, |r| r.1) } else { t.call }, returns, &t.process)
    });
    let crashed = by_call.iter().filter(|&&i| timed[i].ret.is_none()).map(|&i| (i, true));
    let map = |(i, returns): (usize, bool)| {
        let t = &timed[i];
        let (kind, value, at) = match (&t.ret, returns) {
            (_, false) => ("invoke", &t.input, Some(t.call)),
            (Some((output, at)), true) => ("ok", output, Some(*at)),
            (None, true) => ("info", &t.input, None),
        };
        let mut map = vec![
            ("process", t.process.clone()),
            ("type", Value::keyword(kind)),
            ("f", t.f.clone()),
            ("value", value.clone()),
        ];
        map.extend(at.map(|at| ("time", Value::from(at))));
        Value::kw_map(map)
    };
    Ok(events.into_iter().chain(crashed).map(map).collect())
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
