//! From a log of ops to a history of operations: completion, as Knossos does it.
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
//!
//! A history of ten million ops must fit in memory, so an [`Op`] is compact: what
//! completion and the search use (its process, `:f` and `:value`, each held once
//! for all the ops that share it), and where its map is. The op maps themselves are
//! not kept: the analysis and reports print a few dozen ops, read again from the
//! file ([`History::op_map`]).

use crate::error::{Diagnostic, InputError};
use crate::intern::Shared;
use crate::model::Model;
use crate::partition::{looks_independent, Independent};
pub use crate::read::OpType;
use crate::read::{Format, Item, OpFields, RawOp};
use crate::value::Value;
use foldhash::fast::FixedState;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One op of the log, compact: its map is read again from the history's source
/// when it is printed ([`History::op_map`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Op {
    /// The op's index: its `:index`, or its position in the file.
    pub index: u64,
    /// `:invoke`, `:ok`, `:fail` or `:info`.
    pub kind: OpType,
    /// Where it was read: the 1-based line (0 for an op built in code).
    pub line: u32,
    /// Where it was read: the 1-based column (0 for an op built in code).
    pub column: u32,
    /// Whether the op has an `:index` (else `index` is its position in the file).
    indexed: bool,
    /// Where the op's map is: its bytes in the file, or its place among the maps.
    at: u64,
    len: u32,
    process: Arc<Value>,
    /// The op's map without `:process`, `:type`, `:index` and `:time`, `:f` first and
    /// `:value` second: what models may read of an op, shared by every op like it.
    body: Arc<Value>,
}

static NIL: Value = Value::Nil;

impl Op {
    fn entry(&self, at: usize) -> &Value {
        match &*self.body {
            Value::Map(entries) => entries.get(at).map_or(&NIL, |(_, v)| v),
            _ => &NIL,
        }
    }

    /// The `:process`.
    pub fn process(&self) -> &Value {
        &self.process
    }

    /// The `:f` (nil when missing).
    pub fn f(&self) -> &Value {
        self.entry(0)
    }

    /// The `:value` (nil when missing).
    pub fn value(&self) -> &Value {
        self.entry(1)
    }

    /// The op's fields as models see them ([`Model::argument`],
    /// [`Model::partition_key`]): its map without `:process`, `:type`, `:index` and
    /// `:time`.
    pub fn fields(&self) -> &Value {
        &self.body
    }

    /// Whether this op belongs to Jepsen's fault injector rather than a client.
    pub fn is_nemesis(&self) -> bool {
        self.process().as_keyword() == Some("nemesis")
    }
}

/// An op as the analysis prints it: its index, its line, and its map as read (with
/// `:index` added when the file had none, so that the user can look it up).
#[derive(Clone, Debug, PartialEq)]
pub struct OpMap {
    /// Its `:index`.
    pub index: u64,
    /// The line it was read from; 0 for an op built in code.
    pub line: u32,
    /// The op map, as read.
    pub map: Value,
}

/// ` (line N)`, to follow an op's index where it was read from a file; nothing for an
/// op built in code, which has no line.
pub(crate) fn line_note(line: u32) -> String {
    match line {
        0 => String::new(),
        line => format!(" (line {line})"),
    }
}

/// An operation that takes part in the search: an invocation and its outcome.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Operation {
    /// Position of the `:invoke` in [`History::ops`].
    pub invoke: usize,
    /// Position of the `:ok`; `None` if the operation is indeterminate (crashed,
    /// timed out, or never completed).
    pub complete: Option<usize>,
    /// The operation's `:f`.
    pub f: Arc<Value>,
    /// The model's argument (see [`Model::argument`]) from the completed value: the
    /// `:ok`'s value, or the invocation's for an indeterminate operation.
    pub value: Arc<Value>,
}

/// Where a history's op maps are, to be printed.
#[derive(Debug)]
enum Source {
    /// The maps, by position, of a history completed from ops in memory.
    Maps(Vec<Value>),
    /// The file a history was read from, and its format: an op's bytes are read again.
    File(PathBuf, Format),
}

/// A completed history: every op of the log, and the operations to search.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct History {
    /// Every op, in file order.
    pub ops: Vec<Op>,
    /// The searched operations, ordered by invocation.
    pub operations: Vec<Operation>,
    /// What reading left out, to be told to the user: a last line cut short
    /// ([`History::read`]), and with [`Pairing::DropUnpaired`] the ops that could not
    /// be paired ([`History::read_with`]); and values read as `[key value]` tuples
    /// ([`History::read_detecting_tuples`]), at line 0.
    pub warnings: Vec<Diagnostic>,
    source: Arc<Source>,
}

impl Default for History {
    fn default() -> History {
        History {
            ops: Vec::new(),
            operations: Vec::new(),
            warnings: Vec::new(),
            source: Arc::new(Source::Maps(Vec::new())),
        }
    }
}

impl History {
    /// Completes a log of ops, checking each searched operation against the model.
    /// Returns every problem found, of no file ([`InputError::in_file`] names one).
    /// No ops is an empty history, which every check finds linearizable.
    pub fn complete<M: Model + ?Sized>(raw: Vec<RawOp>, model: &M) -> Result<History, InputError> {
        History::complete_with(raw, Pairing::Strict, false, by(model)).map_err(|d| InputError::new("", d))
    }

    /// [`History::complete`], pairing by `pairing` and checking by `checker`;
    /// `unreadable`: lines of the file could not be read, so that an op that cannot be
    /// paired may have lost its partner to them.
    fn complete_with(
        raw: Vec<RawOp>,
        pairing: Pairing,
        unreadable: bool,
        checker: impl Checker,
    ) -> Result<History, Vec<Diagnostic>> {
        let mut ops = Ops::default();
        let shared = Shared::default();
        ops.add(Piece::new(raw.iter().enumerate().map(|(pos, r)| compact(r, (pos as u64, 0), &shared))));
        let maps = raw.into_iter().map(|r| r.value).collect();
        History::build(ops, Source::Maps(maps), pairing, unreadable, checker)
    }

    /// Reads a file and completes its history, as [`History::complete`] does, without
    /// ever holding all its op maps: each piece of the file is made compact as soon as
    /// it is read, and op maps are read again from the file when printed.
    ///
    /// A last line cut short (a test killed while writing its history) is left out,
    /// with a warning in [`History::warnings`], when it is the only problem. Otherwise
    /// every problem of the file is reported: the lines that cannot be read, and what
    /// completing the others finds.
    pub fn read<M: Model + ?Sized>(
        path: &Path,
        format: Option<Format>,
        model: &M,
    ) -> Result<History, InputError> {
        History::read_with(path, format, model, Pairing::Strict)
    }

    /// As [`History::read`], and with [`Pairing::DropUnpaired`], ops that cannot be
    /// paired (a completion without an invocation, an invocation its process never
    /// completes before invoking again, a completion of another `:f`) are left out,
    /// each with a warning in [`History::warnings`], instead of being errors.
    pub fn read_with<M: Model + ?Sized>(
        path: &Path,
        format: Option<Format>,
        model: &M,
        pairing: Pairing,
    ) -> Result<History, InputError> {
        History::read_by(path, format, pairing, by(model))
    }

    /// As [`History::read_with`], for a history that may be `jepsen.independent`'s:
    /// one whose client ops' values are all `[key value]` tuples
    /// ([`History::looks_independent`]) is completed for `model` itself, any other for its
    /// inner model (`model.0`). Says which: `true` for tuples, to be checked with
    /// `model`, and then the first of [`History::warnings`] says so too (line 0: the
    /// whole file), and each operation the model refuses has a hint naming
    /// `--no-partition`, which reads the values as they are.
    pub fn read_detecting_tuples<M: Model>(
        path: &Path,
        format: Option<Format>,
        model: &Independent<M>,
        pairing: Pairing,
    ) -> Result<(History, bool), InputError> {
        let mut tuples = false;
        let mut history = History::read_by(
            path,
            format,
            pairing,
            |ops: &[Op], unpaired: &mut Vec<Diagnostic>, errors: &mut Vec<Diagnostic>| {
                tuples = looks_independent(ops);
                if !tuples {
                    return complete(ops, &model.0, unpaired, errors);
                }
                let before = errors.len();
                let operations = complete(ops, model, unpaired, errors);
                for refused in &mut errors[before..] {
                    refused.hint = Some(format!("{TUPLES}; --no-partition reads them as they are"));
                }
                operations
            },
        )?;
        if tuples {
            let said = format!("{TUPLES}: checked key by key, as jepsen.independent's (--no-partition reads them as they are)");
            history.warnings.insert(0, Diagnostic::new(0, 0, said));
        }
        Ok((history, tuples))
    }

    /// [`History::read_with`], checking by `checker`.
    fn read_by(
        path: &Path,
        format: Option<Format>,
        pairing: Pairing,
        checker: impl Checker,
    ) -> Result<History, InputError> {
        if path == Path::new("-") || !path.metadata().is_ok_and(|m| m.is_file()) {
            // Standard input, a pipe, a device: it cannot be read again to print an op,
            // so the op maps are kept.
            let read =
                crate::read::read_path_with(path, format, None, crate::read::raw, Vec::new, Vec::extend)?;
            let built = History::complete_with(read.ops, pairing, !read.errors.is_empty(), checker);
            return finish(built, read.errors, read.warnings).map(said_if_empty);
        }
        let shared = Shared::default();
        let piece = |items: Vec<Item>| {
            Piece::new(items.into_iter().map(|item| match item {
                Item::Raw(r) => compact(&r, span(&r.span), &shared),
                Item::Fields(f) => Ok(from_fields(f)),
            }))
        };
        let read = crate::read::read_path_with(path, format, Some(&shared), piece, Ops::default, Ops::add)?;
        // The ops hold what they share; the tables are no longer needed.
        drop(shared);
        let source = Source::File(path.to_path_buf(), read.format);
        let built = History::build(read.ops, source, pairing, !read.errors.is_empty(), checker);
        finish(built, read.errors, read.warnings).map(said_if_empty)
    }

    /// Completes `ops`; `unreadable` as in [`History::complete_with`].
    fn build(
        ops: Ops,
        source: Source,
        pairing: Pairing,
        unreadable: bool,
        checker: impl Checker,
    ) -> Result<History, Vec<Diagnostic>> {
        if ops.read == 0 && unreadable {
            return Err(Vec::new());
        }
        let (ops, mut errors) = ops.finish();
        let mut dropped = Vec::new();
        let operations = checker(&ops, &mut dropped, &mut errors);
        if unreadable {
            for d in &mut dropped {
                let hint = d.hint.get_or_insert_default();
                hint.push_str(" (its partner may be on a line that could not be read)");
            }
        }
        if pairing == Pairing::Strict {
            errors.append(&mut dropped);
        }
        if errors.is_empty() {
            let left_out =
                |d: Diagnostic| Diagnostic { message: format!("{}: left out", d.message), hint: None, ..d };
            let warnings = dropped.into_iter().map(left_out).collect();
            Ok(History { ops, operations, warnings, source: Arc::new(source) })
        } else {
            errors.sort_by_key(|d| (d.line, d.column, d.op_index));
            Err(errors)
        }
    }

    /// The op's map as read, with `:index` added when the file had none. An op whose
    /// file changed since it was read is printed with the fields the history holds.
    pub fn op_map(&self, op: &Op) -> Value {
        let read = match &*self.source {
            Source::Maps(maps) => maps.get(op.at as usize).cloned(),
            Source::File(path, format) => read_again(path, *format, op.at, op.len),
        };
        let mut map = match read {
            Some(map @ Value::Map(_))
                if map.get("process") == Some(op.process())
                    && map.get("index").is_none_or(|i| i.as_i64() == Some(op.index as i64)) =>
            {
                map
            }
            _ => self.fallback_map(op),
        };
        if map.get("index").is_none() {
            if let Value::Map(entries) = &mut map {
                entries.push((Value::keyword("index"), Value::Int(op.index as i64)));
            }
        }
        map
    }

    /// Every op's map, in order: moved out when the history was completed in memory
    /// and is not shared, read again otherwise.
    pub(crate) fn into_op_maps(self) -> Vec<Value> {
        match Arc::try_unwrap(self.source) {
            Ok(Source::Maps(mut maps)) => {
                self.ops.iter().map(|op| std::mem::take(&mut maps[op.at as usize])).collect()
            }
            source => {
                let history = History { source: source.map_or_else(|shared| shared, Arc::new), ..self };
                history.ops.iter().map(|op| history.op_map(op)).collect()
            }
        }
    }

    /// The op as the analysis prints it.
    pub fn printed(&self, op: &Op) -> OpMap {
        OpMap { index: op.index, line: op.line, map: self.op_map(op) }
    }

    fn fallback_map(&self, op: &Op) -> Value {
        let mut entries = vec![
            (Value::keyword("process"), op.process().clone()),
            (Value::keyword("type"), Value::keyword(op.kind.name())),
        ];
        if let Value::Map(fields) = op.fields() {
            entries.extend(fields.iter().cloned());
        }
        Value::Map(entries)
    }

    /// A history of some of this one's ops (by position, in order) and operations
    /// (their positions renumbered to match): a key's part.
    pub(crate) fn part(&self, positions: &[usize], operations: impl Iterator<Item = Operation>) -> History {
        // An op's position in the part: where it is among the sorted positions.
        let renumber = |p: usize| positions.binary_search(&p).expect("an operation's ops are in its part");
        History {
            ops: positions.iter().map(|&p| self.ops[p].clone()).collect(),
            operations: operations
                .map(|o| Operation { invoke: renumber(o.invoke), complete: o.complete.map(renumber), ..o })
                .collect(),
            warnings: Vec::new(),
            source: self.source.clone(),
        }
    }

    /// Whether its ops are `jepsen.independent`'s: every client op's value is a
    /// `[key value]` pair whose key is not a collection (invocations, completions and
    /// crashes alike, the nemesis's ops aside), and not every client op is a `:cas`
    /// (whose `[old new]` is one too). [`History::read_detecting_tuples`] asks it
    /// of a file's ops before completing them.
    pub fn looks_independent(&self) -> bool {
        looks_independent(&self.ops)
    }

    /// The last `:ok` of a client before position `pos`, if any.
    pub fn previous_ok(&self, pos: usize) -> Option<&Op> {
        self.ops[..pos].iter().rev().find(|op| op.kind == OpType::Ok && !op.is_nemesis())
    }
}

/// Reads the op map at `at` (`len` bytes) of a file again.
fn read_again(path: &Path, format: Format, at: u64, len: u32) -> Option<Value> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    file.seek(SeekFrom::Start(at)).ok()?;
    let mut bytes = vec![0; len as usize];
    file.read_exact(&mut bytes).ok()?;
    crate::read::read_one(&bytes, format)
}

/// The ops of a piece of a file, compact.
struct Piece {
    /// An op without `:index` has its position in the piece for now.
    ops: Vec<Op>,
    errors: Vec<Diagnostic>,
    /// How many ops were read, bad ones included.
    read: usize,
}

impl Piece {
    /// A piece of ops made compact (or found wrong), in order.
    fn new(ops: impl ExactSizeIterator<Item = Result<Op, Diagnostic>>) -> Piece {
        let read = ops.len();
        let mut piece = Piece { ops: Vec::with_capacity(read), errors: Vec::new(), read };
        for (pos, op) in ops.enumerate() {
            match op {
                Ok(op) if op.indexed => piece.ops.push(op),
                Ok(op) => piece.ops.push(Op { index: pos as u64, ..op }),
                Err(d) => piece.errors.push(d.with_op_index(pos as u64)),
            }
        }
        piece
    }
}

/// Where an op's map is in its file: `(at, len)` of [`Op`].
fn span(span: &std::ops::Range<usize>) -> (u64, u32) {
    (span.start as u64, u32::try_from(span.len()).unwrap_or(u32::MAX))
}

/// The compact op of an op read on the fast path.
fn from_fields(op: OpFields) -> Op {
    let (at, len) = span(&op.span);
    Op {
        index: op.index.unwrap_or(0),
        indexed: op.index.is_some(),
        kind: op.kind,
        line: op.line,
        column: op.column,
        at,
        len,
        process: op.process,
        body: op.body,
    }
}

/// Checks a raw op's shape and makes it compact, its process and body shared with
/// every op's through `shared`; its map is at `(at, len)`. An op without `:index` has
/// index 0 here.
fn compact(r: &RawOp, (at, len): (u64, u32), shared: &Shared) -> Result<Op, Diagnostic> {
    let err = |msg: String| Diagnostic::new(r.line, r.column, msg);
    let Value::Map(entries) = &r.value else {
        return Err(err(format!(
            "expected an op map, found a {}: {}",
            r.value.type_name(),
            r.value.to_edn_short(60)
        )));
    };
    // One pass over the entries finds every field completion needs.
    let (mut kind, mut index, mut process, mut f, mut value) = (None, None, None, &NIL, &NIL);
    let mut rest: Vec<&(Value, Value)> = Vec::new();
    for entry @ (k, v) in entries {
        match k.as_keyword() {
            Some("process") => process = Some(v),
            Some("f") => f = v,
            Some("value") => value = v,
            Some("type") => kind = Some(v),
            Some("index") => index = Some(v),
            // :time differs for every op: a body holding it would be shared by none.
            Some("time") => {}
            _ => rest.push(entry),
        }
    }
    let kind = kind.ok_or_else(|| {
        err("op has no :type".into()).with_hint("every op needs :type :invoke, :ok, :fail or :info")
    })?;
    let kind = OpType::parse(kind).ok_or_else(|| {
        err(format!("unknown :type {}", kind.to_edn_short(40)))
            .with_hint(":type must be :invoke, :ok, :fail or :info")
    })?;
    let process = process.ok_or_else(|| err("op has no :process".into()))?;
    let index = match index.map(Value::as_i64) {
        None => None,
        Some(Some(i)) if i >= 0 => Some(i as u64),
        Some(_) => {
            return Err(err(format!(
                ":index must be a non-negative integer, not {}",
                index.map_or(String::new(), |i| i.to_edn_short(40))
            )))
        }
    };
    let body = shared.body(f, value, &rest);
    let process = shared.process(process);
    Ok(Op {
        index: index.unwrap_or(0),
        indexed: index.is_some(),
        kind,
        line: r.line,
        column: r.column,
        at,
        len,
        process,
        body,
    })
}

/// The ops of a file's pieces, in order.
#[derive(Default)]
struct Ops {
    ops: Vec<Op>,
    errors: Vec<Diagnostic>,
    /// How many ops were read, bad ones included.
    read: usize,
    /// The line of the first op with an `:index`.
    indexed: Option<u32>,
}

impl Ops {
    fn add(&mut self, piece: Piece) {
        let before = self.read as u64;
        self.errors.extend(
            piece.errors.into_iter().map(|d| Diagnostic { op_index: d.op_index.map(|i| i + before), ..d }),
        );
        self.ops.extend(piece.ops.into_iter().map(|op| match op.indexed {
            true => {
                self.indexed.get_or_insert(op.line);
                op
            }
            false => Op { index: op.index + before, ..op },
        }));
        self.read += piece.read;
    }

    /// The ops, their indices checked: either every op has an `:index` or none has
    /// (and then an op's index is its position in the file), and no two are equal.
    fn finish(self) -> (Vec<Op>, Vec<Diagnostic>) {
        let Ops { mut ops, mut errors, indexed, .. } = self;
        if let Some(line) = indexed {
            ops.retain(|op| {
                if !op.indexed {
                    errors.push(
                        Diagnostic::new(
                            op.line,
                            op.column,
                            format!("op has no :index, but the op at line {line} has one"),
                        )
                        .with_op_index(op.index)
                        .with_hint("either every op has an :index or none does"),
                    );
                }
                op.indexed
            });
        }
        let ops = without_duplicate_indices(ops, &mut errors);
        (ops, errors)
    }
}

/// What to do with ops that cannot be paired into operations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pairing {
    /// Each is an input error (Knossos would stop on an assertion).
    #[default]
    Strict,
    /// Each is left out, with a warning: the verdict is then the rest's.
    DropUnpaired,
}

/// What pairs a history's ops into operations and checks them against a model:
/// [`complete`] with the model chosen, given the ops (to choose by), and where to put
/// what cannot be paired and other problems.
trait Checker: FnOnce(&[Op], &mut Vec<Diagnostic>, &mut Vec<Diagnostic>) -> Vec<Operation> {}

impl<F: FnOnce(&[Op], &mut Vec<Diagnostic>, &mut Vec<Diagnostic>) -> Vec<Operation>> Checker for F {}

/// [`complete`] by `model`.
fn by<M: Model + ?Sized>(model: &M) -> impl Checker + '_ {
    move |ops: &[Op], unpaired: &mut Vec<Diagnostic>, errors: &mut Vec<Diagnostic>| {
        complete(ops, model, unpaired, errors)
    }
}

/// How [`History::read_detecting_tuples`] reads a history whose values are all tuples.
const TUPLES: &str = "every client op's value is a [key value] tuple";

/// The hint of an error about pairing.
const DROP_HINT: &str =
    "leaving such ops out (`Pairing::DropUnpaired`, `--drop-unpaired`) checks the rest of the history";

/// Pairs invocations with their completions (see the module's comment), and checks
/// each operation's argument against the model. What cannot be paired goes to
/// `unpaired`, and is left out; other problems go to `errors`.
fn complete<M: Model + ?Sized>(
    ops: &[Op],
    model: &M,
    unpaired: &mut Vec<Diagnostic>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Operation> {
    // Each process's open invocation: position in `ops`. Equal processes share one
    // value, so its address stands for it.
    let mut open: HashMap<*const Value, usize, FixedState> = HashMap::default();
    // How each invocation ended: the position of its :ok, FAILED, or OPEN (indeterminate).
    const OPEN: usize = usize::MAX;
    const FAILED: usize = usize::MAX - 1;
    const UNPAIRED: usize = usize::MAX - 2;
    let mut ends = vec![OPEN; ops.len()];
    for (pos, op) in ops.iter().enumerate() {
        if op.is_nemesis() {
            continue;
        }
        let here = |msg: String| Diagnostic::new(op.line, op.column, msg).with_op_index(op.index);
        let process = Arc::as_ptr(&op.process);
        match op.kind {
            OpType::Invoke => {
                if let Some(&prev) = open.get(&process) {
                    let p = &ops[prev];
                    unpaired.push(
                        here(format!(
                            "process {} invokes again while its op {} (line {}) is still open",
                            op.process().to_edn_short(40),
                            p.index,
                            p.line
                        ))
                        .with_hint(format!(
                            "a process must complete (:ok, :fail or :info) before it invokes again; {DROP_HINT}"
                        )),
                    );
                    ends[prev] = UNPAIRED;
                }
                open.insert(process, pos);
            }
            OpType::Ok | OpType::Fail => match open.remove(&process) {
                None => unpaired.push(
                    here(format!(
                        "{} for process {} with no open invocation",
                        if op.kind == OpType::Ok { ":ok" } else { ":fail" },
                        op.process().to_edn_short(40)
                    ))
                    .with_hint(format!(
                        "every completion must follow an :invoke of the same process; {DROP_HINT}"
                    )),
                ),
                Some(inv) if ops[inv].f() != op.f() => {
                    unpaired.push(
                        here(format!(
                            "completion's :f {} differs from its invocation's {} (op {}, line {})",
                            op.f().to_edn_short(40),
                            ops[inv].f().to_edn_short(40),
                            ops[inv].index,
                            ops[inv].line
                        ))
                        .with_hint(DROP_HINT),
                    );
                    ends[inv] = UNPAIRED;
                }
                Some(inv) => ends[inv] = if op.kind == OpType::Ok { pos } else { FAILED },
            },
            // An :info closes the invocation without an outcome; a stray one is carried.
            OpType::Info => {
                open.remove(&process);
            }
        }
    }
    let operations = ops
        .iter()
        .zip(ends)
        .enumerate()
        .filter(|&(_, (op, end))| {
            op.kind == OpType::Invoke && end != FAILED && end != UNPAIRED && !op.is_nemesis()
        })
        .map(|(pos, (_, end))| (pos, (end != OPEN).then_some(end)));
    let mut checked = Vec::new();
    // An operation's :f and argument depend on its invocation's body and its outcome's
    // alone, so the model is asked once for each pair of bodies.
    type Checked = Result<(Arc<Value>, Arc<Value>), String>;
    let mut by_bodies: HashMap<(*const Value, *const Value), Checked, FixedState> = HashMap::default();
    for (invoke, complete) in operations {
        let (invocation, outcome) = (&ops[invoke], &ops[complete.unwrap_or(invoke)]);
        let bodies = (Arc::as_ptr(&invocation.body), Arc::as_ptr(&outcome.body));
        let checked_op = by_bodies.entry(bodies).or_insert_with(|| {
            let f = invocation.f();
            let argument = model.argument(invocation.fields(), outcome.value())?;
            model.check_op(f, &argument)?;
            Ok((Arc::new(f.clone()), Arc::new(argument)))
        });
        match checked_op {
            Ok((f, value)) => {
                checked.push(Operation { invoke, complete, f: f.clone(), value: value.clone() })
            }
            Err(msg) => {
                let at = &ops[complete.unwrap_or(invoke)];
                errors.push(
                    Diagnostic::new(at.line, at.column, format!("{}: {msg}", model.name()))
                        .with_op_index(at.index),
                );
            }
        }
    }
    checked
}

/// A file of no ops (empty, blank, only comments, `[]`) is an empty history, which is
/// linearizable, as Knossos has it, and Jepsen hands checkers such histories (a key
/// whose ops all failed). But a file is more often empty by mistake than by a test that
/// did nothing, so a warning says so. Only a file that holds no ops gets here without
/// an op: every op read stays in the history, paired or not.
fn said_if_empty(mut history: History) -> History {
    if history.ops.is_empty() {
        history.warnings.push(
            Diagnostic::new(0, 0, "the file holds no ops: an empty history, linearizable").with_hint(
                "a history is op maps (EDN or JSON, one per line or in one vector), Jepsen's history.txt, or a console log with jepsen.util op lines; is this the right file?",
            ),
        );
    }
    history
}

/// The history read, or every problem of the file: the lines that could not be read
/// (`unreadable`) and what completing the others found, in file order.
fn finish(
    built: Result<History, Vec<Diagnostic>>,
    unreadable: InputError,
    warnings: Vec<Diagnostic>,
) -> Result<History, InputError> {
    match built {
        Ok(mut history) if unreadable.is_empty() => {
            history.warnings.splice(0..0, warnings);
            Ok(history)
        }
        Ok(_) => Err(unreadable),
        Err(found) => {
            let mut all = unreadable.diagnostics;
            all.extend(found);
            all.sort_by_key(|d| (d.line, d.column, d.op_index));
            let mut errors = InputError::new(&unreadable.file, all);
            errors.more += unreadable.more;
            Err(errors)
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CasRegister, NilReads};

    #[test]
    fn op_maps_are_read_again_from_the_file_or_rebuilt_if_it_changed() {
        let model = CasRegister { init: Value::Nil, nil_reads: NilReads::Unknown };
        let path = std::env::temp_dir().join(format!("knossos-rs-op-map-{}.edn", std::process::id()));
        std::fs::write(&path, "{:process 0, :type :invoke, :f :write, :value 1, :time 5}\n{:process 0, :type :ok, :f :write, :value 1, :error \"e\"}\n").unwrap();
        let history = History::read(&path, None, &model).unwrap();
        let read = history.op_map(&history.ops[0]);
        // Another process at that place: the op is printed from what the history holds.
        std::fs::write(&path, "{:process 7, :type :invoke, :f :write, :value 1, :time 5}\n").unwrap();
        let changed = history.op_map(&history.ops[0]);
        std::fs::remove_file(&path).unwrap();
        let gone = history.op_map(&history.ops[1]);
        assert_eq!(read.to_edn(), "{:process 0, :type :invoke, :f :write, :value 1, :time 5, :index 0}");
        assert_eq!(changed.to_edn(), "{:process 0, :type :invoke, :f :write, :value 1, :index 0}");
        assert_eq!(gone.to_edn(), r#"{:process 0, :type :ok, :f :write, :value 1, :error "e", :index 1}"#);
    }
}
