//! Online checking: a history fed op by op as it happens, with a verdict after
//! each completion.
//!
//! Re-checking each prefix costs a whole check per completion. [`Online`] instead
//! keeps the just-in-time engine's configurations (the `linear` engine's
//! core, the very one a batch check runs) and feeds it each event once. Its verdict
//! after a completion is exactly a batch check's of the history so far, in which
//! the operations not yet completed are indeterminate, taking effect or not, with
//! the value they were invoked with; and so is the failing op it names.
//!
//! That knowledge changes as operations complete, and what earlier returns allowed
//! with it. An operation invoked with a value (a write, a cas) is taken as `:ok`
//! while pending: linearized or not, as the engine takes any `:ok` operation that
//! has not returned yet. If it completes `:ok` with that value, nothing changes; if
//! it crashes, the configurations that linearized it now count it as crashed; if
//! it fails, they go, and those left are exactly what the engine would hold had it
//! never been invoked. One invoked with nil (a read) is taken as indeterminate, as
//! a batch check of the prefix takes it, and its `:ok` with a value (or any
//! operation's with another value, or a failure that leaves no configuration) makes
//! the returns it was pending at wrong. So before each return that a pending
//! operation was invoked before, the configurations the return replaces are kept,
//! and such a completion rewinds the engine to the first return after the
//! operation's invocation and replays the events since, knowing. Each completion
//! costs the returns its rewind replays: amortized, a few batch checks of the
//! linear engine, where re-checking prefixes costs a check per completion.
//!
//! A taken-as-`:ok` pending operation escapes the search's rules for crashed
//! operations, which only prune orders that others stand for: the configurations
//! may be more, never the verdict another.
//!
//! # Timed events, out of order
//!
//! A harness of concurrent clients learns of events late and out of order: a
//! client that returned at 5 may report it after another reported a call at 7.
//! [`Online::call`] and [`Online::returned`] take events with their times in any
//! order across processes (each process's own in order), and hold them;
//! [`Online::advance_to`]`(w)` is the harness's promise that every event before
//! time `w` has been given, and feeds those events to the checker in real-time
//! order (by time, calls before returns at equal times, then by process: the
//! order [`HistoryBuilder::timed`](crate::HistoryBuilder::timed) builds).
//!
//! This is exact: after `advance_to(w)` the verdict, and the failing op, are a
//! batch check's of the history of the operations called before `w`, those not
//! returned before `w` pending. Proof: by the promise, the events before `w` are
//! all known when it is made, and in real-time order every one of them comes
//! before every event at `w` or later; so the events fed are a prefix of the
//! whole history's order, the same prefix whatever order they arrived in, fed in
//! that order; and the checker's verdict after each event is a batch check's of
//! the prefix fed (above). An event given after the watermark passed its time
//! could belong anywhere in what was fed, so it is refused, never guessed at.
//! Nothing before `w` can be decided earlier: a call still unknown at time `t <
//! w` might precede a return fed at `t`, and make it concurrent with an
//! operation it would otherwise follow. [`Online::finish`] promises every
//! event; the verdict is then the whole history's. An operation that never
//! returns is never given a return: it stays pending, as a crashed one is.
//!
//! A harness that knows when each client last reported can advance to the
//! earliest such time; a simulation, to its clock after each step.

use crate::analysis::Analysis;
use crate::error::{Diagnostic, InputError};
use crate::history::History;
use crate::model::memo::{KindId, Memoized};
use crate::model::Model;
use crate::read::RawOp;
use crate::search::linear::{Core, Snapshot};
use crate::search::{Budget, Cause};
use crate::timed::{place, Clocks, Place};
use crate::value::Value;
use crate::Options;
use std::collections::HashMap;
use std::time::Instant;

/// The verdict on the history fed so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Linearizable so far.
    Valid,
    /// Not linearizable.
    Invalid {
        /// The `:index` (the position in the feed, from 0) of the `:ok` completion no
        /// order gets past: the `:op` a batch check of the history so far names.
        op: u64,
    },
    /// The budget ran out ([`Options::time_limit`], counted from
    /// [`Online::with_options`]; [`Options::memory_limit`]; [`Options::cancel`]): no
    /// verdict from then on.
    Unknown {
        /// Which budget.
        cause: Cause,
    },
}

/// What became of an invocation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Ok,
    Info,
    Failed,
}

/// An operation, numbered by invocation.
struct Operation {
    status: Status,
    /// Its `:f`, and what its invocation's body holds (for its completion's argument).
    f: Value,
    fields: Value,
    /// Its kind as invoked: while indeterminate, its twins are those of this kind.
    invoked: KindId,
    /// Whether it is in its kind's chain of twins.
    chained: bool,
    /// The next indeterminate operation of the same kind (its twin is this one).
    next_twin: Option<u32>,
    /// While pending: the event of the first return after its invocation, whose
    /// snapshot a rewind goes back to; `None` if no return has been processed since.
    rewind: Option<usize>,
    /// The `:index` of its `:ok`.
    ok: Option<u64>,
}

/// What the engine is fed, in order: operations (by number) invoked and returning
/// `:ok`. Failed operations' invocations are skipped; crashed ones never return.
#[derive(Clone, Copy)]
enum Event {
    Invoke(u32),
    Return(u32),
}

/// A linearizability checker fed ops as they happen.
///
/// Each completion answers whether the history so far is linearizable, as a batch
/// [`check`](crate::check) of it would (see [the module](self)).
///
/// ```
/// use knossos_rs::online::{Online, Verdict};
/// use knossos_rs::{model, Value};
///
/// let model = model::builtin("cas-register", &Default::default()).unwrap();
/// let mut online = Online::new(&model);
/// online.invoke(0, "write", 1)?;
/// assert_eq!(online.ok(0, 1)?, Verdict::Valid);
/// // A read concurrent with a write of 2 may see 1 or 2...
/// online.invoke(1, "write", 2)?;
/// online.invoke(2, "read", Value::Nil)?;
/// assert_eq!(online.ok(2, 2)?, Verdict::Valid);
/// assert_eq!(online.ok(1, 2)?, Verdict::Valid);
/// // ...but a read that starts after both must see 2.
/// online.invoke(2, "read", Value::Nil)?;
/// assert_eq!(online.ok(2, 1)?, Verdict::Invalid { op: 7 });
/// // The batch analysis of the history so far, with Knossos's `:op`.
/// let analysis = online.analysis().unwrap();
/// assert_eq!(analysis.op.unwrap().index, 7);
/// # Ok::<(), knossos_rs::InputError>(())
/// ```
pub struct Online<M: Model> {
    options: Options,
    /// The model is the memo's.
    memo: Memoized<M>,
    core: Core,
    budget: Budget,
    operations: Vec<Operation>,
    /// Each process's pending operation.
    open: HashMap<Value, u32>,
    events: Vec<Event>,
    /// Snapshots before returns (by event), each needed by a pending operation.
    snapshots: Vec<(usize, Snapshot)>,
    /// The last indeterminate operation of each kind, the next one's twin.
    last_of_kind: HashMap<KindId, u32>,
    /// The return event no configuration got past, if any: the engine stops there.
    failed_at: Option<usize>,
    stopped: Option<Cause>,
    /// Every op fed, as a history file would hold it, for the batch analysis.
    maps: Vec<Value>,
    /// Timed operations given and not yet fed, once the checker is fed so.
    timeline: Option<Timeline>,
}

/// Timed events waiting for the watermark to pass them (see [the module](self)).
#[derive(Default)]
struct Timeline {
    clocks: Clocks,
    /// Each process's latest call: its `:f` and fields, for its return's value.
    calls: HashMap<Value, (Value, Value)>,
    /// Events given, not yet fed: a call's fields, or a return's value.
    waiting: Vec<(Place, Value, Waiting)>,
    /// Every event before this time has been fed; `None` once finished.
    watermark: Option<u64>,
}

enum Waiting {
    Call(Value),
    Return(Value),
}

impl<M: Model> Online<M> {
    /// A checker of histories of `model`, without limits.
    pub fn new(model: M) -> Self {
        Online::with_options(model, Options::default())
    }

    /// A checker within `options`' time limit (from now), memory limit and
    /// cancellation; its `max_paths`, `algorithm` and `partition` are the
    /// [`analysis`](Online::analysis)'s.
    pub fn with_options(model: M, options: Options) -> Self {
        let now = Instant::now();
        // A limit too long to add to now is no limit.
        let deadline = options.time_limit.and_then(|t| now.checked_add(t));
        let memory = options.memory_limit_in_force();
        let budget = Budget::new(deadline, memory, options.cancel.clone());
        let memo = Memoized::new(model, &History::default(), false);
        let core = Core::new(Vec::new(), Vec::new(), Vec::new(), memo.init(), false);
        Online {
            options,
            memo,
            core,
            budget,
            operations: Vec::new(),
            open: HashMap::new(),
            events: Vec::new(),
            snapshots: Vec::new(),
            last_of_kind: HashMap::new(),
            failed_at: None,
            stopped: None,
            maps: Vec::new(),
            timeline: None,
        }
    }

    /// The verdict on the history so far.
    pub fn verdict(&self) -> Verdict {
        if let Some(cause) = self.stopped {
            return Verdict::Unknown { cause };
        }
        match self.failed_at.map(|at| self.events[at]) {
            Some(Event::Return(op)) => Verdict::Invalid { op: self.operations[op as usize].ok.unwrap_or(0) },
            _ => Verdict::Valid,
        }
    }

    /// `process` invokes `f` (a keyword's name: `"read"`) with `value`.
    pub fn invoke(
        &mut self,
        process: impl Into<Value>,
        f: &str,
        value: impl Into<Value>,
    ) -> Result<(), InputError> {
        self.invoke_op(process, Value::kw_map([("f", Value::keyword(f)), ("value", value.into())]))
    }

    /// `process` invokes an op given as its map's other fields: `:f`, `:value`, and
    /// any a model reads besides (the `kv` model's `:key`).
    pub fn invoke_op(&mut self, process: impl Into<Value>, fields: Value) -> Result<(), InputError> {
        self.untimed()?;
        self.take_invoke(process.into(), fields)
    }

    /// An invocation taken: it is the next event.
    fn take_invoke(&mut self, process: Value, fields: Value) -> Result<(), InputError> {
        if self.open.contains_key(&process) {
            return Err(self.misuse(format!("process {process} invokes while its previous op is pending")));
        }
        let Value::Map(mut entries) = fields else {
            return Err(self.misuse(format!("an op is a map, not {fields}")));
        };
        // What the feed says, not the map.
        entries.retain(|(k, _)| !matches!(k.as_keyword(), Some("process" | "type" | "index" | "time")));
        if !entries.iter().any(|(k, _)| k.as_keyword() == Some("value")) {
            entries.push((Value::keyword("value"), Value::Nil));
        }
        let fields = Value::Map(entries);
        let (f, value) = (fields.get("f").cloned(), fields.get("value").cloned().unwrap_or(Value::Nil));
        let Some(f) = f else { return Err(self.misuse("an op needs an :f".into())) };
        let argument = self.argument(&f, &fields, &value)?;
        let kind = self.memo.intern_kind(&f, &argument);
        let id = self.operations.len() as u32;
        // An operation invoked with a value (a write, a cas) most often completes with
        // it: the engine takes it as `:ok` (so that its `:ok` needs no rewind), and as
        // crashed only if it crashes. One invoked with nil (a read) is taken as a
        // batch check of the prefix takes it, indeterminate.
        let as_ok = value != Value::Nil;
        self.operations.push(Operation {
            status: Status::Pending,
            f: f.clone(),
            fields,
            invoked: kind,
            chained: false,
            next_twin: None,
            rewind: None,
            ok: None,
        });
        self.core.kinds.push(kind);
        self.core.crashed.push(!as_ok);
        self.core.twins.push(None);
        if !as_ok {
            self.chain(id);
        }
        self.open.insert(process.clone(), id);
        self.record(process, "invoke", id, value);
        self.events.push(Event::Invoke(id));
        if self.running() {
            self.core.invoke(id);
        }
        Ok(())
    }

    /// `process`'s pending operation completes `:ok` with `value` (what a read
    /// read; for most other operations, the value it was invoked with).
    pub fn ok(&mut self, process: impl Into<Value>, value: impl Into<Value>) -> Result<Verdict, InputError> {
        self.untimed()?;
        self.take_ok(process.into(), value.into())
    }

    /// An `:ok` completion taken: it is the next event.
    fn take_ok(&mut self, process: Value, value: Value) -> Result<Verdict, InputError> {
        let op = *self.open.get(&process).ok_or_else(|| self.not_invoked(&process))?;
        let o = &self.operations[op as usize];
        let (f, fields) = (o.f.clone(), o.fields.clone());
        let argument = self.argument(&f, &fields, &value)?;
        self.open.remove(&process);
        let kind = self.memo.intern_kind(&f, &argument);
        if !self.core.crashed[op as usize] && kind == self.operations[op as usize].invoked {
            // Taken as `:ok` with this very value all along: nothing to relearn.
            self.operations[op as usize].rewind = None;
        }
        self.core.kinds[op as usize] = kind;
        self.core.crashed[op as usize] = false;
        self.settle(op, Status::Ok);
        self.operations[op as usize].ok = Some(self.maps.len() as u64);
        self.record(process, "ok", op, value);
        self.events.push(Event::Return(op));
        Ok(self.relearn(op))
    }

    /// `process`'s pending operation fails: it did not happen.
    pub fn fail(&mut self, process: impl Into<Value>) -> Result<Verdict, InputError> {
        self.untimed()?;
        let process = process.into();
        let op = self.open.remove(&process).ok_or_else(|| self.not_invoked(&process))?;
        self.settle(op, Status::Failed);
        self.record(process, "fail", op, None);
        if self.stopped.is_none() && !self.core.crashed[op as usize] {
            // Taken as `:ok`: the configurations without it are those it never was in.
            self.snapshots.iter_mut().for_each(|(_, s)| s.unhappen(op));
            if self.core.unhappen(op) {
                self.operations[op as usize].rewind = None;
            }
        } else if self.operations[op as usize].rewind.is_none() && self.running() {
            // No return has seen it: it only has to stop being live.
            self.core.retain_live(|&l| l != op);
        }
        Ok(self.relearn(op))
    }

    /// `process`'s pending operation crashed (`:info`): it may take effect at any
    /// time from its invocation on, or never. The verdict does not change: a pending
    /// operation is already taken so.
    pub fn info(&mut self, process: impl Into<Value>) -> Result<Verdict, InputError> {
        self.untimed()?;
        let process = process.into();
        let op = self.open.remove(&process).ok_or_else(|| self.not_invoked(&process))?;
        let o = &mut self.operations[op as usize];
        o.status = Status::Info;
        o.rewind = None;
        if !self.core.crashed[op as usize] {
            // Taken as `:ok` so far: crashed from now on, in every snapshot too.
            self.snapshots.iter_mut().for_each(|(_, s)| s.crash(op));
            self.core.crash(op);
            // Twins go in invocation order: it joins its kind's chain only at the end.
            if self.last_of_kind.get(&self.operations[op as usize].invoked).is_none_or(|&l| l < op) {
                self.chain(op);
            }
        }
        self.record(process, "info", op, None);
        self.prune();
        Ok(self.verdict())
    }

    /// Feeds one op as a history file holds it: a map with `:process`, `:type`,
    /// `:f` and `:value` (and any field a model reads, such as `:key`), as a harness
    /// tailing Jepsen's log has them. The verdict on the history so far (an
    /// invocation leaves it as it was).
    ///
    /// As in a batch check, the `:nemesis` process's ops, and an `:info` of a process
    /// with no pending invocation, are kept for [`analysis`](Online::analysis) but
    /// take no part in the search.
    ///
    /// ```
    /// use knossos_rs::online::{Online, Verdict};
    /// use knossos_rs::{model, Value};
    ///
    /// let model = model::builtin("register", &Default::default()).unwrap();
    /// let mut online = Online::new(&model);
    /// let log = "{:process 0, :type :invoke, :f :write, :value 1}
    ///            {:process :nemesis, :type :info, :f :start, :value nil}
    ///            {:process 0, :type :ok, :f :write, :value 1}
    ///            {:process 1, :type :invoke, :f :read, :value nil}
    ///            {:process 1, :type :ok, :f :read, :value 2}";
    /// let mut verdict = Verdict::Valid;
    /// for line in log.lines() {
    ///     verdict = online.op(&Value::from_edn(line).unwrap())?;
    /// }
    /// assert_eq!(verdict, Verdict::Invalid { op: 4 });
    /// # Ok::<(), knossos_rs::InputError>(())
    /// ```
    pub fn op(&mut self, map: &Value) -> Result<Verdict, InputError> {
        self.untimed()?;
        let rejected = |message: &str| self.misuse(format!("{message}: {}", map.to_edn_short(200)));
        let Value::Map(_) = map else { return Err(rejected("an op is a map")) };
        let Some(process) = map.get("process").cloned() else {
            return Err(rejected("an op needs a :process"));
        };
        let kind = map.get("type").and_then(Value::as_keyword);
        // The analysis prints the op as fed (its `:time` and every other field), at
        // its place in the feed.
        let mut fed = map.clone();
        if let Value::Map(entries) = &mut fed {
            entries.retain(|(k, _)| k.as_keyword() != Some("index"));
            entries.push((Value::keyword("index"), Value::Int(self.maps.len() as i64)));
        }
        let orphan_info = kind == Some("info") && !self.open.contains_key(&process);
        if process.as_keyword() == Some("nemesis") || orphan_info {
            self.maps.push(fed);
            return Ok(self.verdict());
        }
        let verdict = match kind {
            Some("invoke") => self.invoke_op(process, map.clone()).map(|()| self.verdict()),
            Some("ok") => self.ok(process, map.get("value").cloned().unwrap_or(Value::Nil)),
            Some("fail") => self.fail(process),
            Some("info") => self.info(process),
            _ => Err(rejected("an op's :type is :invoke, :ok, :fail or :info")),
        }?;
        // Each of those recorded the op it took, rebuilt from the feed's fields.
        *self.maps.last_mut().expect("an op was recorded") = fed;
        Ok(verdict)
    }

    /// Process `process` called `f` with `input` at time `at`: a timed event, given
    /// in any order relative to other processes' events (but after
    /// [`advance_to`](Online::advance_to) has passed no event later than it). The
    /// event waits until the watermark passes it. A process does one thing at a
    /// time: it calls strictly after its previous operation returned, and not again
    /// after one that never returns.
    ///
    /// A checker is fed timed events or untimed ones ([`invoke`](Online::invoke) and
    /// the rest, in real-time order), not both.
    pub fn call(
        &mut self,
        process: impl Into<Value>,
        f: &str,
        input: impl Into<Value>,
        at: u64,
    ) -> Result<(), InputError> {
        let (process, f) = (process.into(), Value::keyword(f));
        let fields = Value::kw_map([("f", f.clone()), ("value", input.into())]);
        self.argument(&f, &fields, fields.get("value").expect("given"))?;
        let timeline = self.timeline(at)?;
        timeline.clocks.call(&process, at).map_err(|why| self.misuse(why))?;
        let timeline = self.timeline.as_mut().expect("made by timeline()");
        timeline.calls.insert(process.clone(), (f, fields.clone()));
        timeline.waiting.push((place(at, false, &process), process, Waiting::Call(fields)));
        Ok(())
    }

    /// `process`'s operation returned `output` at time `at` (`:ok`); see
    /// [`call`](Online::call). An operation that never returns (crashed) is never
    /// given a return: it stays pending, as a crashed op does in a history.
    pub fn returned(
        &mut self,
        process: impl Into<Value>,
        output: impl Into<Value>,
        at: u64,
    ) -> Result<(), InputError> {
        let (process, output) = (process.into(), output.into());
        let (f, fields) = self.timeline(at)?.calls.get(&process).cloned().unwrap_or_default();
        self.timeline(at)?.clocks.ret(&process, at).map_err(|why| self.misuse(why))?;
        if let Err(e) = self.argument(&f, &fields, &output) {
            // Not taken: the operation is open again.
            let timeline = self.timeline.as_mut().expect("made by timeline()");
            timeline.clocks.unreturn(&process);
            return Err(e);
        }
        let timeline = self.timeline.as_mut().expect("made by timeline()");
        timeline.waiting.push((place(at, true, &process), process, Waiting::Return(output)));
        Ok(())
    }

    /// A whole timed operation, as Porcupine's users record it: [`call`](Online::call)
    /// at `call`, then [`returned`](Online::returned) `output` at `ret`.
    #[allow(clippy::too_many_arguments)]
    pub fn timed(
        &mut self,
        process: impl Into<Value>,
        f: &str,
        input: impl Into<Value>,
        output: impl Into<Value>,
        call: u64,
        ret: u64,
    ) -> Result<(), InputError> {
        let process = process.into();
        self.call(process.clone(), f, input, call)?;
        self.returned(process, output, ret)
    }

    /// The promise that every timed event before `time` has been given: those
    /// events are fed in real-time order, and the verdict is a batch check's of the
    /// history they make (see [the module](self)). An event given later with an
    /// earlier time is refused. The watermark never goes back: an earlier `time`
    /// changes nothing.
    pub fn advance_to(&mut self, time: u64) -> Result<Verdict, InputError> {
        self.release(Some(time))
    }

    /// The promise that every timed event has been given: they are all fed, and the
    /// verdict is a batch check's of the whole history. No event is taken after.
    pub fn finish(&mut self) -> Result<Verdict, InputError> {
        self.release(None)
    }

    /// The timeline, refusing an event at `at` that the watermark has passed.
    fn timeline(&mut self, at: u64) -> Result<&mut Timeline, InputError> {
        if self.timeline.is_none() && !self.maps.is_empty() {
            return Err(
                self.misuse("this checker is fed untimed events: give this one without times too".into())
            );
        }
        let watermark = self
            .timeline
            .get_or_insert_with(|| Timeline { watermark: Some(0), ..Timeline::default() })
            .watermark;
        match watermark {
            Some(w) if at >= w => Ok(self.timeline.as_mut().expect("just made")),
            Some(w) => {
                Err(self.misuse(format!("an event at {at} after advance_to({w}) promised every earlier one")))
            }
            None => Err(self.misuse(format!("an event at {at} after finish() promised every event"))),
        }
    }

    /// Feeds the waiting events before `until` (all, if `None`) in real-time order.
    fn release(&mut self, until: Option<u64>) -> Result<Verdict, InputError> {
        let Some(timeline) = self.timeline.as_mut() else { return Ok(self.verdict()) };
        let watermark = match (timeline.watermark, until) {
            (None, _) => return Ok(self.verdict()),
            (Some(w), Some(t)) => Some(w.max(t)),
            (Some(_), None) => None,
        };
        timeline.watermark = watermark;
        timeline.waiting.sort_by(|a, b| a.0.cmp(&b.0));
        let due = timeline.waiting.partition_point(|(p, _, _)| watermark.is_none_or(|w| p.0 < w));
        let due: Vec<_> = timeline.waiting.drain(..due).collect();
        let mut verdict = self.verdict();
        for (_, process, event) in due {
            verdict = match event {
                Waiting::Call(fields) => self.take_invoke(process, fields).map(|()| self.verdict())?,
                Waiting::Return(output) => self.take_ok(process, output)?,
            };
        }
        Ok(verdict)
    }

    /// Refuses an untimed event once the checker is fed timed ones.
    fn untimed(&self) -> Result<(), InputError> {
        match self.timeline {
            Some(_) => {
                Err(self.misuse("this checker is fed timed operations: give this one with its times".into()))
            }
            None => Ok(()),
        }
    }

    /// The batch analysis of the history so far ([`check`](crate::check) with the
    /// options given): on a failure, the same `:op`, with Knossos's previous ok and
    /// final paths. It checks the history again. `None` before the first op.
    pub fn analysis(&self) -> Option<Analysis> {
        if self.maps.is_empty() {
            return None;
        }
        let raw =
            self.maps.iter().map(|m| RawOp { value: m.clone(), line: 0, column: 0, span: 0..0 }).collect();
        let history = History::complete(raw, self.memo.model()).ok()?;
        Some(crate::check(self.memo.model(), &history, &self.options))
    }

    /// An op the checker cannot take (nothing was recorded), named by the index it
    /// would have had.
    fn misuse(&self, message: String) -> InputError {
        InputError::new("", vec![Diagnostic::new(0, 0, message).with_op_index(self.maps.len() as u64)])
    }

    fn not_invoked(&self, process: &Value) -> InputError {
        self.misuse(format!("process {process} has no pending invocation"))
    }

    /// The model's argument for an op, checked.
    fn argument(&self, f: &Value, fields: &Value, value: &Value) -> Result<Value, InputError> {
        let rejected = |message| self.misuse(message);
        let argument = self.memo.model().argument(fields, value).map_err(rejected)?;
        self.memo.model().check_op(f, &argument).map_err(rejected)?;
        Ok(argument)
    }

    /// Keeps the op map a history file would hold: `op`'s invocation's fields, with
    /// `value` if given, and `:index` its place in the feed.
    fn record(&mut self, process: Value, kind: &str, op: u32, value: impl Into<Option<Value>>) {
        let index = Value::Int(self.maps.len() as i64);
        let mut map = Value::kw_map([("process", process), ("type", Value::keyword(kind))]);
        if let (Value::Map(entries), Value::Map(fields)) = (&mut map, &self.operations[op as usize].fields) {
            let value = value.into();
            entries.extend(fields.iter().map(|(k, v)| match (&value, k.as_keyword()) {
                (Some(value), Some("value")) => (k.clone(), value.clone()),
                _ => (k.clone(), v.clone()),
            }));
            entries.push((Value::keyword("index"), index));
        }
        self.maps.push(map);
    }

    /// Whether the engine takes events as they come: it has neither stopped nor
    /// failed (after a failure, only a rewind to before it can change the verdict).
    fn running(&self) -> bool {
        self.stopped.is_none() && self.failed_at.is_none()
    }

    /// An indeterminate operation joins the end of its kind's chain of twins.
    fn chain(&mut self, op: u32) {
        let o = &mut self.operations[op as usize];
        o.chained = true;
        let twin = self.last_of_kind.insert(o.invoked, op);
        if let Some(t) = twin {
            self.operations[t as usize].next_twin = Some(op);
        }
        self.core.twins[op as usize] = twin;
    }

    /// An operation is no longer indeterminate: it leaves its twins' chain.
    fn settle(&mut self, op: u32, status: Status) {
        let o = &mut self.operations[op as usize];
        o.status = status;
        if !std::mem::take(&mut o.chained) {
            return;
        }
        let (kind, next) = (o.invoked, o.next_twin.take());
        let twin = self.core.twins[op as usize].take();
        match next {
            Some(n) => self.core.twins[n as usize] = twin,
            None if twin.is_some() => {
                self.last_of_kind.insert(kind, twin.expect("checked"));
            }
            None => {
                self.last_of_kind.remove(&kind);
            }
        }
        if let Some(t) = twin {
            self.operations[t as usize].next_twin = next;
        }
    }

    /// After `op`'s outcome is known: rewinds to the first return it was pending at,
    /// if any (and if the engine got that far), and replays; else feeds the last
    /// event on. The verdict.
    fn relearn(&mut self, op: u32) -> Verdict {
        let rewind = self.operations[op as usize].rewind.take();
        if self.stopped.is_none() {
            match rewind.filter(|&r| self.failed_at.is_none_or(|f| r <= f)) {
                Some(at) => {
                    let i = self.snapshots.partition_point(|&(e, _)| e < at);
                    let snapshot = self.snapshots.drain(i..).next().filter(|&(e, _)| e == at);
                    if let Some((_, snapshot)) = snapshot {
                        self.core.restore(snapshot);
                        let operations = &self.operations;
                        self.core.retain_live(|&l| operations[l as usize].status != Status::Failed);
                        self.failed_at = None;
                        self.feed(at);
                    }
                }
                None if self.running()
                    && matches!(self.events.last(), Some(Event::Return(r)) if *r == op) =>
                {
                    self.feed(self.events.len() - 1)
                }
                None => {}
            }
        }
        self.prune();
        self.verdict()
    }

    /// Feeds the engine the events from `from` on (the engine being just before
    /// it), keeping a snapshot before each return that a pending operation invoked
    /// since the previous return may rewind to.
    fn feed(&mut self, from: usize) {
        for at in from..self.events.len() {
            match self.events[at] {
                Event::Invoke(op) => {
                    // The invocations before `from` are in the snapshot already.
                    if self.operations[op as usize].status != Status::Failed {
                        self.core.invoke(op);
                    }
                }
                Event::Return(x) => {
                    let fresh: Vec<u32> = self.events[..at]
                        .iter()
                        .rev()
                        .map_while(|e| match e {
                            Event::Invoke(op) => Some(*op),
                            Event::Return(_) => None,
                        })
                        .filter(|&op| self.operations[op as usize].status == Status::Pending)
                        .collect();
                    let (survived, snapshot) =
                        match self.core.complete(x, &mut self.memo, &self.budget, !fresh.is_empty()) {
                            Err(cause) => {
                                self.stopped = Some(cause);
                                return;
                            }
                            Ok(done) => done,
                        };
                    if let Some(snapshot) = snapshot {
                        fresh.iter().for_each(|&op| self.operations[op as usize].rewind = Some(at));
                        self.core.outside += snapshot.bytes();
                        self.snapshots.push((at, snapshot));
                    }
                    if !survived {
                        self.failed_at = Some(at);
                        return;
                    }
                }
            }
        }
    }

    /// Drops the snapshots no pending operation may rewind to.
    fn prune(&mut self) {
        let needed: Vec<usize> =
            self.open.values().filter_map(|&o| self.operations[o as usize].rewind).collect();
        self.snapshots.retain(|(at, _)| needed.contains(at));
        self.core.outside = self.snapshots.iter().map(|(_, s)| s.bytes()).sum();
    }
}
