//! Differential test: the search against a brute-force oracle.
//!
//! Thousands of small random histories (a few processes; reads, writes and
//! compare-and-sets; crashed and failed operations) are decided by each engine
//! (wgl, linear, and the two racing) and by an oracle that tries every order of
//! the operations. All must agree on the verdict and, for invalid histories, on
//! the failing op.
//!
//! The oracle shares nothing with the search but the model's step function: it
//! works on values, not interned ids, has no cache, and derives the failing op
//! from the definition (the first `:ok`, in completion order, at which the history
//! so far cannot be linearized) instead of from the search's trajectory.

use knossos_rs::model::{self, ModelOptions, NilReads};
use knossos_rs::read::RawOp;
use knossos_rs::{check, Algorithm, History, Model, Options, Validity, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One operation as the oracle sees it.
struct Call {
    invoke: usize,
    /// Completion position for `:ok` operations.
    complete: Option<usize>,
    f: Value,
    value: Value,
}

fn kw(s: &str) -> Value {
    Value::keyword(s)
}

fn op(process: i64, kind: &str, f: &str, value: Value) -> Value {
    Value::kw_map([("process", Value::Int(process)), ("type", kw(kind)), ("f", kw(f)), ("value", value)])
}

/// A random history over `processes` processes with `ops` invocations. Effects
/// happen at completion on a real register, so most histories are linearizable;
/// some reads are then corrupted, so many are not.
fn generate(rng: &mut StdRng, processes: i64, ops: usize, cas: bool) -> Vec<Value> {
    let mut log = Vec::new();
    let mut register = Value::Int(0);
    // Each process's pending (f, invoke value).
    let mut pending: Vec<Option<(String, Value)>> = vec![None; processes as usize];
    let mut invoked = 0;
    let mut next_pid: Vec<i64> = (0..processes).collect();
    while invoked < ops || pending.iter().any(Option::is_some) {
        let p = rng.random_range(0..processes as usize);
        let pid = next_pid[p];
        match pending[p].take() {
            None if invoked < ops => {
                let (f, v) = match rng.random_range(0..if cas { 3 } else { 2 }) {
                    0 => ("read", Value::Nil),
                    1 => ("write", Value::Int(rng.random_range(0..3))),
                    _ => (
                        "cas",
                        Value::Vector(vec![
                            Value::Int(rng.random_range(0..3)),
                            Value::Int(rng.random_range(0..3)),
                        ]),
                    ),
                };
                log.push(op(pid, "invoke", f, v.clone()));
                pending[p] = Some((f.to_string(), v));
                invoked += 1;
            }
            None => {}
            Some((f, v)) => {
                let roll = rng.random_range(0..10);
                if roll == 0 {
                    // crash: the effect may or may not happen; the process gets a new id
                    // half the time (as Jepsen does) and reuses its id otherwise.
                    if f == "write" && rng.random_bool(0.5) {
                        register = v.clone();
                    }
                    log.push(op(pid, "info", &f, if f == "read" { Value::Nil } else { v }));
                    if rng.random_bool(0.5) {
                        next_pid[p] += processes;
                    }
                    continue;
                }
                let outcome = match f.as_str() {
                    "read" => {
                        let mut read = register.clone();
                        if rng.random_range(0..4) == 0 {
                            read = Value::Int(rng.random_range(0..3));
                        }
                        Some(read)
                    }
                    "write" if roll == 1 => None,
                    "write" => {
                        register = v.clone();
                        Some(v.clone())
                    }
                    _ => {
                        let [old, new] = v.as_seq().unwrap() else { unreachable!() };
                        if *old == register {
                            register = new.clone();
                            Some(v.clone())
                        } else {
                            None
                        }
                    }
                };
                match outcome {
                    Some(value) => log.push(op(pid, "ok", &f, value)),
                    None => log.push(op(pid, "fail", &f, v)),
                }
            }
        }
    }
    log
}

/// Pairs invocations with completions, independently of the library.
fn calls(log: &[Value]) -> Vec<Call> {
    let mut open: std::collections::HashMap<i64, usize> = Default::default();
    let mut calls = Vec::new();
    let mut failed = std::collections::HashSet::new();
    for (i, o) in log.iter().enumerate() {
        let p = o.get("process").unwrap().as_i64().unwrap();
        match o.get("type").unwrap().as_keyword().unwrap() {
            "invoke" => {
                open.insert(p, i);
            }
            "ok" => {
                let inv = open.remove(&p).unwrap();
                calls.push(Call {
                    invoke: inv,
                    complete: Some(i),
                    f: o.get("f").unwrap().clone(),
                    value: o.get("value").unwrap().clone(),
                });
            }
            "fail" => {
                failed.insert(open.remove(&p).unwrap());
            }
            _ => {
                open.remove(&p);
            }
        }
    }
    for (i, o) in log.iter().enumerate() {
        let completed = calls.iter().any(|c| c.invoke == i);
        if o.get("type").unwrap().as_keyword() == Some("invoke") && !completed && !failed.contains(&i) {
            calls.push(Call {
                invoke: i,
                complete: None,
                f: o.get("f").unwrap().clone(),
                value: o.get("value").unwrap().clone(),
            });
        }
    }
    calls
}

/// Can every call in `required` be put in an order, with any of the others
/// (invoked before `horizon`) mixed in, that respects real time and the model?
fn linearizable(model: &dyn Model<State = Value>, calls: &[Call], required: &[bool], horizon: usize) -> bool {
    fn go(
        model: &dyn Model<State = Value>,
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
            if let Ok(next) = model.step(state, &calls[i].f, &calls[i].value) {
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
fn oracle(model: &dyn Model<State = Value>, log: &[Value]) -> Option<usize> {
    let calls = calls(log);
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

fn run(model_name: &str, nil_reads: NilReads, seed: u64, histories: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let model = model::builtin(model_name, &ModelOptions { init: Some(Value::Int(0)), nil_reads }).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for case in 0..histories {
        let processes = rng.random_range(2..=4);
        let ops = rng.random_range(1..=10);
        let log = generate(&mut rng, processes, ops, model_name == "cas-register");
        let expected = oracle(&*model, &log);
        let raw = log.iter().map(|v| RawOp { value: v.clone(), line: 1, column: 1 }).collect();
        let history = History::complete(raw, &model).unwrap();
        let shown = || log.iter().map(Value::to_edn).collect::<Vec<_>>().join("\n");
        for algorithm in [Algorithm::Wgl, Algorithm::Linear, Algorithm::Competition] {
            let analysis = check(&model, &history, &Options { algorithm, ..Default::default() });
            let case = format!("{case} ({algorithm:?})");
            match expected {
                None => {
                    valid += usize::from(algorithm == Algorithm::Wgl);
                    assert_eq!(
                        analysis.valid,
                        Validity::Valid,
                        "case {case}: oracle says valid\n{}",
                        shown()
                    );
                }
                Some(pos) => {
                    invalid += usize::from(algorithm == Algorithm::Wgl);
                    assert_eq!(
                        analysis.valid,
                        Validity::Invalid,
                        "case {case}: oracle says invalid\n{}",
                        shown()
                    );
                    assert_eq!(
                        analysis.op.as_ref().unwrap().index,
                        pos as u64,
                        "case {case}: failing op\n{}",
                        shown()
                    );
                    // Every final path ends in the failing op's inconsistency, and every
                    // earlier step of it is legal.
                    assert!(!analysis.final_paths.is_empty(), "case {case}: no final path\n{}", shown());
                    for path in &analysis.final_paths {
                        let last = path.last().unwrap();
                        assert_eq!(last.op.get("index"), Some(&Value::Int(pos as i64)));
                        assert!(last.model.get("msg").is_some());
                        assert!(path[..path.len() - 1].iter().all(|s| s.model.get("msg").is_none()));
                    }
                }
            }
        }
    }
    eprintln!("{model_name}: {valid} valid, {invalid} invalid");
    // The generator must exercise both verdicts for the comparison to mean anything.
    assert!(valid > histories / 10 && invalid > histories / 10, "valid {valid}, invalid {invalid}");
}

#[test]
fn cas_register_agrees_with_brute_force() {
    run("cas-register", NilReads::Unknown, 1, 4000);
}

#[test]
fn register_agrees_with_brute_force() {
    run("register", NilReads::Unknown, 2, 3000);
}

#[test]
fn nil_reads_absent_agrees_with_brute_force() {
    run("cas-register", NilReads::Absent, 3, 2000);
}
