//! From a log of ops to a history of operations (completion, SPEC §2).
//!
//! A Jepsen history is a log: each client operation appears as an `:invoke` and
//! later, maybe, a completion. Completion pairs them up, process by process:
//!
//! - `:ok` closes the open invocation; the operation happened, with the
//!   completion's value (a read's result lives on the `:ok`, even when nil).
//! - `:fail` closes it; the operation did not happen and takes no part in the search.
//! - `:info` leaves it indeterminate: it may take effect at any point after its
//!   invocation, or never. So does an invocation that never completes. The process
//!   may invoke again (Knossos rejects that; Jepsen's own histories do it).
//! - Ops of the `:nemesis` process, and `:info`s with no open invocation, are kept
//!   for reports but never searched.
//!
//! Every problem of a file is collected (not just the first), each naming the op's
//! index and line, and the model is asked about each searched operation so that an
//! unknown `:f` is reported here, before any search starts.

use crate::error::Diagnostic;
use crate::model::Model;
use crate::read::RawOp;
use crate::value::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// The type of an op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpType {
    Invoke,
    Ok,
    Fail,
    Info,
}

impl OpType {
    fn parse(v: &Value) -> Option<OpType> {
        match crate::model::f_name(v)? {
            "invoke" => Some(OpType::Invoke),
            "ok" => Some(OpType::Ok),
            "fail" => Some(OpType::Fail),
            "info" => Some(OpType::Info),
            _ => None,
        }
    }
}

/// One op of the log, as the user wrote it.
#[derive(Clone, Debug)]
pub struct Op {
    /// The op's index: its `:index`, or its position in the file.
    pub index: u64,
    pub kind: OpType,
    /// The op's map as read, with `:index` added when the file had none, so that
    /// every op the analysis prints carries the index the user can look up. Shared,
    /// because partitions hold the same ops as their history.
    pub map: Arc<Value>,
    pub line: u32,
    pub column: u32,
    /// Where `:process`, `:f` and `:value` are among the map's entries: completion
    /// and partitioning ask for them millions of times.
    fields: Fields,
}

/// Positions of an op map's entries, [`ABSENT`] for a key it lacks.
#[derive(Clone, Copy, Debug)]
struct Fields {
    process: u32,
    f: u32,
    value: u32,
}

const ABSENT: u32 = u32::MAX;

static NIL: Value = Value::Nil;

impl Op {
    fn field(&self, at: u32) -> &Value {
        match &*self.map {
            Value::Map(entries) => entries.get(at as usize).map_or(&NIL, |(_, v)| v),
            _ => &NIL,
        }
    }

    /// The `:process`.
    pub fn process(&self) -> &Value {
        self.field(self.fields.process)
    }

    /// The `:f`.
    pub fn f(&self) -> &Value {
        self.field(self.fields.f)
    }

    /// The `:value` (nil when missing).
    pub fn value(&self) -> &Value {
        self.field(self.fields.value)
    }

    /// Whether this op belongs to Jepsen's fault injector rather than a client.
    pub fn is_nemesis(&self) -> bool {
        self.process().as_keyword() == Some("nemesis")
    }
}

/// An operation that takes part in the search: an invocation and its outcome.
#[derive(Clone, Debug)]
pub struct Operation {
    /// Position of the `:invoke` in [`History::ops`].
    pub invoke: usize,
    /// Position of the `:ok`; `None` if the operation is indeterminate (crashed,
    /// timed out, or never completed).
    pub complete: Option<usize>,
    pub f: Value,
    /// The model's argument (see [`Model::argument`]) from the completed value: the
    /// `:ok`'s value, or the invocation's for an indeterminate operation.
    pub value: Value,
}

/// A completed history: every op of the log, and the operations to search.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Every op, in file order.
    pub ops: Vec<Op>,
    /// The searched operations, ordered by invocation.
    pub operations: Vec<Operation>,
}

impl History {
    /// Completes a log of ops, checking each searched operation against the model.
    /// Returns every problem found (the caller caps and names the file).
    pub fn complete<M: Model + ?Sized>(raw: Vec<RawOp>, model: &M) -> Result<History, Vec<Diagnostic>> {
        if raw.is_empty() {
            return Err(vec![Diagnostic::new(1, 1, "the file holds no ops").with_hint(
                "a history is EDN op maps, one per line or in one vector; is this the right file?",
            )]);
        }
        let mut errors = Vec::new();
        let ops = to_ops(raw, &mut errors);
        let mut operations = Vec::new();
        // Each process's open invocation: position in `ops`.
        let mut open: HashMap<&Value, usize> = HashMap::new();
        // Invocations that ended :ok or :fail: the rest are indeterminate.
        let mut closed = vec![false; ops.len()];
        for (pos, op) in ops.iter().enumerate() {
            if op.is_nemesis() {
                continue;
            }
            let here = |msg: String| Diagnostic::new(op.line, op.column, msg).with_op_index(op.index);
            let process = op.process();
            match op.kind {
                OpType::Invoke => {
                    if let Some(&prev) = open.get(process) {
                        let p = &ops[prev];
                        errors.push(
                            here(format!(
                                "process {} invokes again while its op {} (line {}) is still open",
                                process.to_edn_short(40),
                                p.index,
                                p.line
                            ))
                            .with_hint(
                                "a process must complete (:ok, :fail or :info) before it invokes again",
                            ),
                        );
                    }
                    open.insert(process, pos);
                }
                OpType::Ok | OpType::Fail => match open.remove(process) {
                    None => errors.push(
                        here(format!(
                            "{} for process {} with no open invocation",
                            if op.kind == OpType::Ok { ":ok" } else { ":fail" },
                            process.to_edn_short(40)
                        ))
                        .with_hint("every completion must follow an :invoke of the same process"),
                    ),
                    Some(inv) if ops[inv].f() != op.f() => errors.push(here(format!(
                        "completion's :f {} differs from its invocation's {} (op {}, line {})",
                        op.f().to_edn_short(40),
                        ops[inv].f().to_edn_short(40),
                        ops[inv].index,
                        ops[inv].line
                    ))),
                    Some(inv) => {
                        closed[inv] = true;
                        if op.kind == OpType::Ok {
                            operations.push(Operation {
                                invoke: inv,
                                complete: Some(pos),
                                f: op.f().clone(),
                                value: op.value().clone(),
                            });
                        }
                    }
                },
                // An :info closes the invocation without an outcome; a stray one is carried.
                OpType::Info => {
                    open.remove(process);
                }
            }
        }
        for (pos, op) in ops.iter().enumerate() {
            if op.kind == OpType::Invoke && !closed[pos] && !op.is_nemesis() {
                operations.push(Operation {
                    invoke: pos,
                    complete: None,
                    f: op.f().clone(),
                    value: op.value().clone(),
                });
            }
        }
        operations.sort_by_key(|o| o.invoke);
        for o in &mut operations {
            let checked = model.argument(&ops[o.invoke].map, &o.value).and_then(|argument| {
                model.check_op(&o.f, &argument)?;
                Ok(argument)
            });
            match checked {
                Ok(argument) => o.value = argument,
                Err(msg) => {
                    let at = &ops[o.complete.unwrap_or(o.invoke)];
                    errors.push(
                        Diagnostic::new(at.line, at.column, format!("{}: {msg}", model.name()))
                            .with_op_index(at.index),
                    );
                }
            }
        }
        if errors.is_empty() {
            Ok(History { ops, operations })
        } else {
            errors.sort_by_key(|d| (d.line, d.column));
            Err(errors)
        }
    }

    /// The last `:ok` of a client before position `pos`, if any.
    pub fn previous_ok(&self, pos: usize) -> Option<&Op> {
        self.ops[..pos].iter().rev().find(|op| op.kind == OpType::Ok && !op.is_nemesis())
    }
}

/// Checks each raw op's shape and indexes it.
fn to_ops(raw: Vec<RawOp>, errors: &mut Vec<Diagnostic>) -> Vec<Op> {
    let indexed = raw.iter().position(|r| r.value.get("index").is_some());
    let mut ops = Vec::with_capacity(raw.len());
    for (pos, r) in raw.into_iter().enumerate() {
        let err = |msg: String| Diagnostic::new(r.line, r.column, msg).with_op_index(pos as u64);
        let Value::Map(entries) = &r.value else {
            errors.push(err(format!(
                "expected an op map, found a {}: {}",
                r.value.type_name(),
                r.value.to_edn_short(60)
            )));
            continue;
        };
        // One pass over the entries finds every field completion needs.
        let mut fields = Fields { process: ABSENT, f: ABSENT, value: ABSENT };
        let (mut kind, mut index) = (None, None);
        for (at, (k, v)) in entries.iter().enumerate().rev() {
            match k.as_keyword() {
                Some("process") => fields.process = at as u32,
                Some("f") => fields.f = at as u32,
                Some("value") => fields.value = at as u32,
                Some("type") => kind = Some(v),
                Some("index") => index = Some(v),
                _ => {}
            }
        }
        let kind = match kind {
            None => {
                errors.push(
                    err("op has no :type".into())
                        .with_hint("every op needs :type :invoke, :ok, :fail or :info"),
                );
                continue;
            }
            Some(t) => match OpType::parse(t) {
                Some(kind) => kind,
                None => {
                    errors.push(
                        err(format!("unknown :type {}", t.to_edn_short(40)))
                            .with_hint(":type must be :invoke, :ok, :fail or :info"),
                    );
                    continue;
                }
            },
        };
        if fields.process == ABSENT {
            errors.push(err("op has no :process".into()));
            continue;
        }
        let index = match (index, indexed) {
            (Some(i), _) => match i.as_i64() {
                Some(i) if i >= 0 => i as u64,
                _ => {
                    errors.push(err(format!(
                        ":index must be a non-negative integer, not {}",
                        i.to_edn_short(40)
                    )));
                    continue;
                }
            },
            (None, Some(first)) => {
                errors.push(
                    err(format!("op has no :index, but op {first} of the file has one"))
                        .with_hint("either every op has an :index or none does"),
                );
                continue;
            }
            (None, None) => pos as u64,
        };
        let mut map = r.value;
        if indexed.is_none() {
            if let Value::Map(entries) = &mut map {
                entries.push((Value::keyword("index"), Value::Int(index as i64)));
            }
        }
        ops.push(Op { index, kind, map: Arc::new(map), line: r.line, column: r.column, fields });
    }
    without_duplicate_indices(ops, errors)
}

/// Reports, and drops, every op whose `:index` an earlier op has. Jepsen's indices
/// increase, so the usual history is checked without a table.
fn without_duplicate_indices(ops: Vec<Op>, errors: &mut Vec<Diagnostic>) -> Vec<Op> {
    if ops.windows(2).all(|w| w[0].index < w[1].index) {
        return ops;
    }
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let mut unique = Vec::with_capacity(ops.len());
    for op in ops {
        match seen.insert(op.index, op.line) {
            None => unique.push(op),
            Some(line) => errors.push(
                Diagnostic::new(
                    op.line,
                    op.column,
                    format!("duplicate :index {}, also at line {line}", op.index),
                )
                .with_op_index(op.index),
            ),
        }
    }
    unique
}
