//! Random histories and a brute-force oracle, shared by the differential tests
//! (`differential.rs`), the online checker's (`online.rs`) and the shrinker's
//! (`shrink.rs`), each of which uses a part.
//!
//! Histories come from a simulated object: each operation takes effect when it
//! completes, with a result the model accepts there (so most histories are
//! linearizable), except that some completions report any result the workload can
//! produce, legal or not (so many are not).
//!
//! The oracle shares nothing with the search but the model's `init`, `step` and
//! `argument` (which builds what `step` receives from an op): it works on values,
//! not interned ids, has no cache, and derives the failing op from the definition
//! (the first `:ok`, in completion order, at which the history so far cannot be
//! linearized) instead of from the search's trajectory.
#![allow(dead_code)]

use knossos_rs::model::{self, DynModel, ModelOptions, NilReads};
use knossos_rs::{Model, Value};
use rand::rngs::StdRng;
use rand::Rng;

/// An operation a client invokes.
#[derive(Clone)]
pub struct Invocation {
    pub f: &'static str,
    /// The invocation's value (nil for what the operation will return).
    pub value: Value,
    /// The op's `:key`, for `kv`.
    pub key: Option<Value>,
}

/// What clients do to one model.
pub struct Workload {
    pub model: &'static str,
    pub init: Option<&'static str>,
    pub nil_reads: NilReads,
    /// A random invocation.
    pub invoke: fn(&mut StdRng) -> Invocation,
    /// Every value the operation may complete with: whatever the object's state, one
    /// of them is legal if the operation can succeed at all.
    pub results: fn(&Invocation) -> Vec<Value>,
}

pub fn kw(s: &str) -> Value {
    Value::keyword(s)
}

pub fn int(rng: &mut StdRng) -> Value {
    Value::Int(rng.random_range(0..3))
}

pub fn call(f: &'static str, value: Value) -> Invocation {
    Invocation { f, value, key: None }
}

pub fn op(process: i64, kind: &str, inv: &Invocation, value: Value) -> Value {
    let mut entries = vec![("process", Value::Int(process)), ("type", kw(kind)), ("f", kw(inv.f))];
    if let Some(key) = &inv.key {
        entries.push(("key", key.clone()));
    }
    entries.push(("value", value));
    Value::kw_map(entries)
}

/// The results of an operation that returns what it was given.
pub fn same(inv: &Invocation) -> Vec<Value> {
    vec![inv.value.clone()]
}

/// What a read or a dequeue may return: `0`, `1`, `2`, or nil (unknown to the
/// models with [`NilReads::Unknown`], absent with `Absent`, a value to the others).
pub fn reads() -> Vec<Value> {
    [Value::Nil, Value::Int(0), Value::Int(1), Value::Int(2)].into()
}

pub fn register_invoke(rng: &mut StdRng, cas: bool) -> Invocation {
    match rng.random_range(0..if cas { 3 } else { 2 }) {
        0 => call("read", Value::Nil),
        1 => call("write", int(rng)),
        _ => call("cas", Value::Vector(vec![int(rng), int(rng)])),
    }
}

pub fn register_results(inv: &Invocation) -> Vec<Value> {
    if inv.f == "read" {
        reads()
    } else {
        same(inv)
    }
}

pub fn register(model: &'static str, nil_reads: NilReads) -> Workload {
    Workload {
        model,
        init: Some("0"),
        nil_reads,
        invoke: if model == "cas-register" {
            |rng| register_invoke(rng, true)
        } else {
            |rng| register_invoke(rng, false)
        },
        results: register_results,
    }
}

pub fn mutex() -> Workload {
    Workload {
        model: "mutex",
        init: None,
        nil_reads: NilReads::Unknown,
        invoke: |rng| call(if rng.random_bool(0.5) { "acquire" } else { "release" }, Value::Nil),
        results: same,
    }
}

/// Transactions of one or two micro-ops on `:x` and `:y`, reads invoked with nil.
pub fn multi_register() -> Workload {
    Workload {
        model: "multi-register",
        init: Some("{:x 0 :y 0}"),
        nil_reads: NilReads::Unknown,
        invoke: |rng| {
            let micro = |rng: &mut StdRng| {
                let k = kw(if rng.random_bool(0.5) { "x" } else { "y" });
                match rng.random_bool(0.5) {
                    true => Value::Vector(vec![kw("read"), k, Value::Nil]),
                    false => Value::Vector(vec![kw("write"), k, int(rng)]),
                }
            };
            let n = rng.random_range(1..=2);
            call("txn", Value::Vector((0..n).map(|_| micro(rng)).collect()))
        },
        // Every way of filling in the reads.
        results: |inv| {
            let mut txns = vec![Vec::new()];
            for m in inv.value.as_seq().unwrap() {
                let [f, k, v] = m.as_seq().unwrap() else { unreachable!() };
                let values = if f == &kw("read") { reads() } else { vec![v.clone()] };
                txns = txns
                    .into_iter()
                    .flat_map(|t: Vec<Value>| {
                        values.iter().map(move |v| {
                            let mut t = t.clone();
                            t.push(Value::Vector(vec![f.clone(), k.clone(), v.clone()]));
                            t
                        })
                    })
                    .collect();
            }
            txns.into_iter().map(Value::Vector).collect()
        },
    }
}

/// Adds of 0..3; a read may return any subset of them, the vector `[0]`, or nil.
pub fn set() -> Workload {
    Workload {
        model: "set",
        init: None,
        nil_reads: NilReads::Unknown,
        invoke: |rng| if rng.random_bool(0.5) { call("add", int(rng)) } else { call("read", Value::Nil) },
        results: |inv| match inv.f {
            "read" => (0..8)
                .map(|bits| Value::Set((0..3).filter(|i| bits & (1 << i) != 0).map(Value::Int).collect()))
                .chain([Value::Vector(vec![Value::Int(0)]), Value::Nil])
                .collect(),
            _ => same(inv),
        },
    }
}

/// Enqueues of 0..3 and dequeues invoked with nil, as Jepsen records them: a crashed
/// one keeps its nil, and an `:ok` one may return nil too.
pub fn queue(model: &'static str, nil_reads: NilReads) -> Workload {
    Workload {
        model,
        init: None,
        nil_reads,
        invoke: |rng| {
            if rng.random_bool(0.5) {
                call("enqueue", int(rng))
            } else {
                call("dequeue", Value::Nil)
            }
        },
        results: |inv| if inv.f == "dequeue" { reads() } else { same(inv) },
    }
}

pub fn noop() -> Workload {
    Workload {
        model: "noop",
        init: None,
        nil_reads: NilReads::Unknown,
        invoke: |rng| call(if rng.random_bool(0.5) { "read" } else { "frob" }, int(rng)),
        results: |_| reads(),
    }
}

/// Puts and appends of short strings on keys "a" and "b"; a get may return any
/// string of up to three letters, or nil.
pub fn kv(nil_reads: NilReads) -> Workload {
    Workload {
        model: "kv",
        init: None,
        nil_reads,
        invoke: |rng| {
            let s = |rng: &mut StdRng| Value::string(["", "x", "y"][rng.random_range(0..3)]);
            let (f, value) = match rng.random_range(0..3) {
                0 => ("get", Value::Nil),
                1 => ("put", s(rng)),
                _ => ("append", Value::string(if rng.random_bool(0.5) { "x" } else { "y" })),
            };
            Invocation { f, value, key: Some(Value::string(if rng.random_bool(0.5) { "a" } else { "b" })) }
        },
        results: |inv| match inv.f {
            "get" => {
                let mut strings = vec![String::new()];
                for len in 1..=3 {
                    for bits in 0..1 << len {
                        strings
                            .push((0..len).map(|i| if bits & (1 << i) != 0 { 'y' } else { 'x' }).collect());
                    }
                }
                strings.iter().map(|s| Value::string(s)).chain([Value::Nil]).collect()
            }
            _ => same(inv),
        },
    }
}

/// As [`kv`], on key "a" alone: every client on one string, where puts overwrite
/// the whole state and WGL takes the strings nothing will read as one.
pub fn kv_one_key() -> Workload {
    Workload {
        invoke: |rng| Invocation { key: Some(Value::string("a")), ..(kv(NilReads::Unknown).invoke)(rng) },
        ..kv(NilReads::Unknown)
    }
}

/// The state after `inv` completes with `result` (its op map built by `op`), if the
/// model allows it.
pub fn apply(model: &DynModel, state: &Value, inv: &Invocation, result: &Value) -> Option<Value> {
    let argument = model.argument(&op(0, "invoke", inv, inv.value.clone()), result).ok()?;
    model.step(state, &kw(inv.f), &argument)
}

/// A random history over `processes` processes with `ops` invocations.
/// How random histories are drawn.
#[derive(Clone, Copy)]
pub struct Shape {
    /// At most this many processes (at least 2).
    pub processes: usize,
    /// At most this many operations (at least 1).
    pub ops: usize,
    /// Of ten completions, how many crash.
    pub crashes: u32,
}

impl Workload {
    /// The workload's model, with its initial state and meaning of nil reads.
    pub fn model(&self) -> DynModel {
        let init = self.init.map(|i| knossos_rs::Value::from_edn(i).unwrap());
        model::builtin(self.model, &ModelOptions::default().init(init).nil_reads(self.nil_reads)).unwrap()
    }
}

impl Shape {
    /// A random history of `w` of this shape: 2 to `processes` processes, 1 to
    /// `ops` invocations.
    pub fn draw(&self, rng: &mut StdRng, w: &Workload, model: &DynModel) -> Vec<Value> {
        let processes = rng.random_range(2..=self.processes);
        let ops = rng.random_range(1..=self.ops);
        generate(rng, w, model, processes, ops, self.crashes)
    }
}

/// Few operations, a crash now and then.
pub const ORDINARY: Shape = Shape { processes: 4, ops: 10, crashes: 1 };
/// More processes and operations, and crashed operations piling up: twins,
/// crashed writes waiting for their observers, and dominance between
/// configurations all come into play.
pub const CRASHING: Shape = Shape { processes: 6, ops: 16, crashes: 5 };

pub fn generate(
    rng: &mut StdRng,
    w: &Workload,
    model: &DynModel,
    processes: usize,
    ops: usize,
    crashes: u32,
) -> Vec<Value> {
    let mut log = Vec::new();
    let mut state = model.init();
    let mut pending: Vec<Option<Invocation>> = vec![None; processes];
    let mut invoked = 0;
    let mut pids: Vec<i64> = (0..processes as i64).collect();
    while invoked < ops || pending.iter().any(Option::is_some) {
        let p = rng.random_range(0..processes);
        let pid = pids[p];
        match pending[p].take() {
            None if invoked < ops => {
                let inv = (w.invoke)(rng);
                log.push(op(pid, "invoke", &inv, inv.value.clone()));
                pending[p] = Some(inv);
                invoked += 1;
            }
            None => {}
            Some(inv) => {
                let results = (w.results)(&inv);
                let legal: Vec<(&Value, Value)> =
                    results.iter().filter_map(|r| Some((r, apply(model, &state, &inv, r)?))).collect();
                let honest = (!legal.is_empty()).then(|| &legal[rng.random_range(0..legal.len())]);
                // 0 (crashed) `crashes` times in 9 + `crashes`, each of 1 to 9 once.
                let outcome = rng.random_range(0..9 + crashes).saturating_sub(crashes - 1);
                match outcome {
                    // Crashed: the effect may or may not happen; the process gets a new
                    // id half the time (as Jepsen does) and reuses its id otherwise.
                    0 => {
                        if let Some((_, next)) = honest.filter(|_| rng.random_bool(0.5)) {
                            state = next.clone();
                        }
                        log.push(op(pid, "info", &inv, inv.value.clone()));
                        if rng.random_bool(0.5) {
                            pids[p] += processes as i64;
                        }
                    }
                    // Failed, without effect.
                    1 => log.push(op(pid, "fail", &inv, inv.value.clone())),
                    // Any result, legal or not.
                    2 | 3 => {
                        let result = &results[rng.random_range(0..results.len())];
                        if let Some(next) = apply(model, &state, &inv, result) {
                            state = next;
                        }
                        log.push(op(pid, "ok", &inv, result.clone()));
                    }
                    _ => match honest {
                        Some((result, next)) => {
                            state = next.clone();
                            log.push(op(pid, "ok", &inv, (*result).clone()));
                        }
                        None => log.push(op(pid, "fail", &inv, inv.value.clone())),
                    },
                }
            }
        }
    }
    log
}

/// One operation as the oracle sees it.
pub struct Call {
    pub invoke: usize,
    /// Completion position for `:ok` operations.
    pub complete: Option<usize>,
    pub f: Value,
    /// What the model's step receives.
    pub argument: Value,
}

/// Pairs invocations with completions, independently of the library.
pub fn calls(model: &DynModel, log: &[Value]) -> Vec<Call> {
    let mut open: std::collections::HashMap<i64, usize> = Default::default();
    let mut calls = Vec::new();
    let mut closed = std::collections::HashSet::new();
    let call = |invoke: usize, complete: Option<usize>, value: &Value| Call {
        invoke,
        complete,
        f: log[invoke].get("f").unwrap().clone(),
        argument: model.argument(&log[invoke], value).unwrap(),
    };
    for (i, o) in log.iter().enumerate() {
        let p = o.get("process").unwrap().as_i64().unwrap();
        match o.get("type").unwrap().as_keyword().unwrap() {
            "invoke" => {
                open.insert(p, i);
            }
            "ok" => {
                let inv = open.remove(&p).unwrap();
                closed.insert(inv);
                calls.push(call(inv, Some(i), o.get("value").unwrap()));
            }
            "fail" => {
                closed.insert(open.remove(&p).unwrap());
            }
            _ => {
                open.remove(&p);
            }
        }
    }
    for (i, o) in log.iter().enumerate() {
        if o.get("type").unwrap().as_keyword() == Some("invoke") && !closed.contains(&i) {
            calls.push(call(i, None, o.get("value").unwrap()));
        }
    }
    calls
}

/// Can every call in `required` be put in an order, with any of the others
/// (invoked before `horizon`) mixed in, that respects real time and the model?
pub fn linearizable(model: &DynModel, calls: &[Call], required: &[bool], horizon: usize) -> bool {
    fn go(
        model: &DynModel,
        calls: &[Call],
        required: &[bool],
        horizon: usize,
        state: &Value,
        done: &mut Vec<bool>,
    ) -> bool {
        if (0..calls.len()).all(|i| !required[i] || done[i]) {
            return true;
        }
        for i in 0..calls.len() {
            if done[i] || calls[i].invoke >= horizon {
                continue;
            }
            // Real time: every required call that completed before this one was
            // invoked must come first.
            let blocked = (0..calls.len())
                .any(|j| !done[j] && required[j] && calls[j].complete.is_some_and(|c| c < calls[i].invoke));
            if blocked {
                continue;
            }
            if let Some(next) = model.step(state, &calls[i].f, &calls[i].argument) {
                // The searches take a read as soon as it is legal: the model's claim
                // that it is one is checked on every step taken here.
                if model.is_read(&calls[i].f, &calls[i].argument) {
                    assert_eq!(&next, state, "{} {} is no read", calls[i].f, calls[i].argument);
                }
                done[i] = true;
                if go(model, calls, required, horizon, &next, done) {
                    return true;
                }
                done[i] = false;
            }
        }
        false
    }
    go(model, calls, required, horizon, &model.init(), &mut vec![false; calls.len()])
}

/// The oracle's verdict: `None` if linearizable, else the log position of the
/// first `:ok` at which the history so far cannot be linearized.
pub fn oracle(model: &DynModel, log: &[Value]) -> Option<usize> {
    let calls = calls(model, log);
    let mut oks: Vec<usize> = calls.iter().filter_map(|c| c.complete).collect();
    oks.sort();
    for &r in &oks {
        let required: Vec<bool> = calls.iter().map(|c| c.complete.is_some_and(|x| x <= r)).collect();
        if !linearizable(model, &calls, &required, r) {
            return Some(r);
        }
    }
    None
}
