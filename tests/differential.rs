//! Differential test: the search against a brute-force oracle, for every model.
//!
//! Thousands of small random histories per model (a few processes; the model's
//! operations; crashed and failed operations) are decided by each engine (wgl,
//! linear, and the two racing; a keyed model split by key and whole) and by an
//! oracle that tries every order of the operations. All must agree on the verdict
//! and, for invalid histories, on the failing op; for valid ones, each engine's
//! witness (`:linearization`) is replayed through the model.
//!
//! The generators and the oracle are in `common/oracle.rs` (the shrinker's tests
//! use them too).

#[path = "common/oracle.rs"]
mod oracle;

use knossos_rs::analysis::Analysis;
use knossos_rs::model::{self, DynModel, ModelOptions, NilReads};
use knossos_rs::read::RawOp;
use knossos_rs::{check, Algorithm, History, Model, Options, Validity, Value};
use oracle::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Whether `order` (the invocation positions of `log`'s operations, as
/// `:linearization` names them) explains `calls`, or what is wrong with it: no
/// operation twice, only operations of the log, every step legal from the
/// model's initial state, real time kept (an operation that completed before
/// another was invoked comes first), every crashed one changing the state, and
/// with `observers` the operation after each crashed one observing it (stepping
/// differently from the state before it). `oks` says which `:ok` operations the
/// order must hold (all of them; a key's, when checked key by key).
fn witness_fault(
    model: &DynModel,
    calls: &[Call],
    order: &[u64],
    observers: bool,
    oks: impl Fn(&Call) -> bool,
) -> Option<String> {
    let mut seen = vec![false; calls.len()];
    let mut state = model.init();
    let mut before_crashed: Option<Value> = None;
    for (k, &index) in order.iter().enumerate() {
        let Some(i) = calls.iter().position(|c| c.invoke as u64 == index) else {
            return Some(format!("{index} is no operation's invocation"));
        };
        if std::mem::replace(&mut seen[i], true) {
            return Some(format!("{index} twice"));
        }
        let c = &calls[i];
        if let Some(&later) = order[k + 1..].iter().find(|&&l| {
            calls.iter().any(|d| d.invoke as u64 == l && d.complete.is_some_and(|r| r < c.invoke))
        }) {
            return Some(format!("{later} completed before {index} was invoked, yet comes after it"));
        }
        let Some(next) = model.step(&state, &c.f, &c.argument) else {
            return Some(format!("{index} is illegal from {}", state.to_edn()));
        };
        if let Some(before) = before_crashed.take().filter(|_| observers) {
            if model.step(&before, &c.f, &c.argument).as_ref() == Some(&next) {
                return Some(format!("{index} does not observe the crashed operation before it"));
            }
        }
        if c.complete.is_none() {
            if next == state {
                return Some(format!("crashed {index} changes nothing"));
            }
            before_crashed = Some(state.clone());
        }
        state = next;
    }
    let missing = calls.iter().zip(&seen).find(|(c, seen)| c.complete.is_some() && oks(c) && !**seen);
    missing.map(|(c, _)| format!(":ok operation {} missing", c.invoke))
}

/// Checks the linearization of a valid analysis (each key's, when checked key by
/// key) with [`witness_fault`]; the keys' orders together hold each `:ok` operation.
fn check_witness(model: &DynModel, log: &[Value], analysis: &Analysis, case: &str) {
    let calls = calls(model, log);
    let shown = || log.iter().map(Value::to_edn).collect::<Vec<_>>().join("\n");
    let keyed = !analysis.results.is_empty();
    let orders: Vec<(&Analysis, Option<&Value>)> = match keyed {
        false => vec![(analysis, None)],
        true => analysis.results.iter().map(|(k, a)| (a, Some(k))).collect(),
    };
    let mut all: Vec<u64> = Vec::new();
    for (a, key) in orders {
        let order =
            a.linearization.as_ref().unwrap_or_else(|| panic!("{case}: no linearization\n{}", shown()));
        let of_key = |c: &Call| key.is_none_or(|k| log[c.invoke].get("key") == Some(k));
        if let Some(fault) = witness_fault(model, &calls, order, a.analyzer != "unique", of_key) {
            panic!("{case}: witness {order:?}: {fault}\n{}", shown());
        }
        all.extend(order);
    }
    all.sort_unstable();
    assert!(all.windows(2).all(|w| w[0] != w[1]), "{case}: an operation in two keys' orders\n{}", shown());
}

/// The analyses that name a failing op: the analysis itself, or each failed key's.
fn failures(analysis: &Analysis) -> Vec<&Analysis> {
    if analysis.results.is_empty() {
        return vec![analysis];
    }
    analysis.results.iter().map(|(_, a)| a).filter(|a| a.valid == Validity::Invalid).collect()
}

/// Compares the engines with the oracle on `histories` random histories of `w`;
/// returns how many were valid and invalid.
fn compare(w: &Workload, shape: Shape, seed: u64, histories: usize) -> (usize, usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let model = w.model();
    let (mut valid, mut invalid) = (0, 0);
    for case in 0..histories {
        let log = shape.draw(&mut rng, w, &model);
        let expected = oracle(&model, &log);
        match expected {
            None => valid += 1,
            Some(_) => invalid += 1,
        }
        let raw = log.iter().map(|v| RawOp { value: v.clone(), line: 1, column: 1, span: 0..0 }).collect();
        let history = History::complete(raw, &model).unwrap();
        let shown = || log.iter().map(Value::to_edn).collect::<Vec<_>>().join("\n");
        // A keyed model is checked split by key and whole.
        let partitions: &[bool] = if w.model == "kv" { &[true, false] } else { &[true] };
        for &partition in partitions {
            // The race explains a failure as the linear engine does, whichever wins.
            let mut explained = None;
            for algorithm in [Algorithm::Linear, Algorithm::Wgl, Algorithm::Competition] {
                let options = Options::default().algorithm(algorithm).partition(partition).witness(true);
                let analysis = check(&model, &history, &options);
                // Which engine won, and so which order it found, may vary.
                let shown_without_analyzer = |a: &Analysis| {
                    let mut a = a.clone();
                    (a.analyzer, a.linearization) = ("", None);
                    a.results.iter_mut().for_each(|(_, r)| (r.analyzer, r.linearization) = ("", None));
                    a.to_value().to_edn()
                };
                match algorithm {
                    Algorithm::Linear => explained = Some(shown_without_analyzer(&analysis)),
                    // (Unless the unique-value engine decided, as it does every
                    // history it applies to.)
                    Algorithm::Competition
                        if analysis.analyzer != "unique"
                            && analysis.results.iter().all(|(_, r)| r.analyzer != "unique") =>
                    {
                        assert_eq!(
                            Some(shown_without_analyzer(&analysis)),
                            explained,
                            "{} case {case}: the race explains differently from linear\n{}",
                            w.model,
                            shown()
                        )
                    }
                    _ => {}
                }
                let case = format!("{} case {case} ({algorithm:?}, split {partition})", w.model);
                let Some(pos) = expected else {
                    assert_eq!(analysis.valid, Validity::Valid, "{case}: oracle says valid\n{}", shown());
                    check_witness(&model, &log, &analysis, &case);
                    continue;
                };
                assert!(analysis.linearization.is_none(), "{case}: an invalid history has no witness");
                assert_eq!(analysis.valid, Validity::Invalid, "{case}: oracle says invalid\n{}", shown());
                // Split by key, each failed key names its own failing op; the
                // history's is the first of them (locality).
                let failed = failures(&analysis);
                let first = failed.iter().map(|a| a.op.as_ref().unwrap().index).min();
                assert_eq!(first, Some(pos as u64), "{case}: failing op\n{}", shown());
                // Every final path ends in the failing op's inconsistency, and every
                // earlier step of it is legal.
                for a in failed {
                    let index = Value::Int(a.op.as_ref().unwrap().index as i64);
                    assert!(!a.final_paths.is_empty(), "{case}: no final path\n{}", shown());
                    for path in &a.final_paths {
                        let last = path.last().unwrap();
                        assert_eq!(last.op.get("index"), Some(&index), "{case}\n{}", shown());
                        assert!(last.model.get("msg").is_some());
                        assert!(path[..path.len() - 1].iter().all(|s| s.model.get("msg").is_none()));
                    }
                }
            }
        }
    }
    eprintln!("{}: {valid} valid, {invalid} invalid", w.model);
    (valid, invalid)
}

/// As [`compare`], and the generator must exercise both verdicts for the
/// comparison to mean anything.
fn run(w: Workload, shape: Shape, seed: u64, histories: usize) {
    let (valid, invalid) = compare(&w, shape, seed, histories);
    assert!(valid > histories / 10 && invalid > histories / 10, "valid {valid}, invalid {invalid}");
}

#[test]
fn cas_register_agrees_with_brute_force() {
    run(register("cas-register", NilReads::Unknown), ORDINARY, 1, 4000);
}

#[test]
fn register_agrees_with_brute_force() {
    run(register("register", NilReads::Unknown), ORDINARY, 2, 3000);
}

#[test]
fn nil_reads_absent_agrees_with_brute_force() {
    run(register("cas-register", NilReads::Absent), ORDINARY, 3, 2000);
}

#[test]
fn mutex_agrees_with_brute_force() {
    run(mutex(), ORDINARY, 4, 2000);
}

#[test]
fn multi_register_agrees_with_brute_force() {
    run(multi_register(), ORDINARY, 5, 2000);
}

#[test]
fn set_agrees_with_brute_force() {
    run(set(), ORDINARY, 6, 2000);
}

#[test]
fn unordered_queue_agrees_with_brute_force() {
    run(queue("unordered-queue", NilReads::Unknown), ORDINARY, 7, 2000);
}

#[test]
fn fifo_queue_agrees_with_brute_force() {
    run(queue("fifo-queue", NilReads::Unknown), ORDINARY, 8, 2000);
}

#[test]
fn queues_nil_absent_agree_with_brute_force() {
    run(queue("unordered-queue", NilReads::Absent), ORDINARY, 12, 1000);
    run(queue("fifo-queue", NilReads::Absent), ORDINARY, 13, 1000);
}

/// The oracle takes a crashed operation or leaves it out: a crashed dequeue of nil
/// must take the head, 1, for a dequeue of 2 to be legal (unless nil is read
/// literally), and must not for a dequeue of 1.
#[test]
fn the_oracle_takes_a_crashed_operation_or_leaves_it_out() {
    let log = |last: i64| -> Vec<Value> {
        let lines: [(i64, &str, &'static str, Value); 8] = [
            (0, "invoke", "enqueue", Value::Int(1)),
            (0, "ok", "enqueue", Value::Int(1)),
            (0, "invoke", "enqueue", Value::Int(2)),
            (0, "ok", "enqueue", Value::Int(2)),
            (2, "invoke", "dequeue", Value::Nil),
            (2, "info", "dequeue", Value::Nil),
            (1, "invoke", "dequeue", Value::Nil),
            (1, "ok", "dequeue", Value::Int(last)),
        ];
        lines.iter().map(|(p, t, f, v)| op(*p, t, &call(f, v.clone()), v.clone())).collect()
    };
    let (unknown, literal) = (queue("fifo-queue", NilReads::Unknown), queue("fifo-queue", NilReads::Absent));
    assert_eq!(oracle(&unknown.model(), &log(2)), None);
    assert_eq!(oracle(&literal.model(), &log(2)), Some(7));
    assert_eq!(oracle(&unknown.model(), &log(1)), None);
}

#[test]
fn kv_agrees_with_brute_force() {
    run(kv(NilReads::Unknown), ORDINARY, 9, 1500);
}

#[test]
fn kv_nil_reads_absent_agrees_with_brute_force() {
    run(kv(NilReads::Absent), ORDINARY, 11, 1000);
}

#[test]
fn noop_agrees_with_brute_force() {
    // Every history is linearizable for noop.
    assert_eq!(compare(&noop(), ORDINARY, 10, 500).1, 0);
}

#[test]
fn registers_with_many_crashes_agree_with_brute_force() {
    run(register("cas-register", NilReads::Unknown), CRASHING, 21, 2000);
    run(register("register", NilReads::Unknown), CRASHING, 22, 1500);
}

#[test]
fn other_models_with_many_crashes_agree_with_brute_force() {
    run(mutex(), CRASHING, 23, 800);
    run(set(), CRASHING, 24, 800);
    run(queue("unordered-queue", NilReads::Unknown), CRASHING, 25, 800);
    run(queue("fifo-queue", NilReads::Unknown), CRASHING, 26, 800);
    run(kv(NilReads::Unknown), CRASHING, 27, 600);
}

/// Every client on one kv key, where WGL's cache takes strings that nothing will
/// read before the next put as one (`wgl`'s unobserved states).
#[test]
fn kv_on_one_key_agrees_with_brute_force() {
    run(kv_one_key(), CRASHING, 28, 1500);
}

// ---------------------------------------------------------------------------
// Unique values: the unique-value engine against the oracle and the searches.

/// A random invocation on a history whose written values are unique: writes,
/// adds, enqueues, puts and appends write `n` (kv: the chunk `"n."`), a cas goes
/// from a value written so far (or the initial one) to `n`.
fn unique_invoke(model: &str, rng: &mut StdRng, n: i64, written: &[Value]) -> Invocation {
    let old = |rng: &mut StdRng| {
        let i = rng.random_range(0..=written.len());
        written.get(i).cloned().unwrap_or(Value::Int(0))
    };
    let key = Some(Value::string("k"));
    match (model, rng.random_range(0..3)) {
        ("register" | "cas-register", 0) => call("read", Value::Nil),
        ("cas-register", 1) => call("cas", Value::Vector(vec![old(rng), Value::Int(n)])),
        ("register" | "cas-register", _) => call("write", Value::Int(n)),
        ("set", 0) => call("read", Value::Nil),
        ("set", _) => call("add", Value::Int(n)),
        ("unordered-queue" | "fifo-queue", 0 | 1) => call("dequeue", Value::Nil),
        ("unordered-queue" | "fifo-queue", _) => call("enqueue", Value::Int(n)),
        ("kv", 0) => Invocation { f: "get", value: Value::Nil, key },
        ("kv", 1) if rng.random_bool(0.3) => {
            Invocation { f: "put", value: Value::string(&format!("p{n}.")), key }
        }
        ("kv", _) => Invocation { f: "append", value: Value::string(&format!("{n}.")), key },
        _ => unreachable!("{model}"),
    }
}

/// What a read, dequeue or get may return: the honest result, and wrong ones
/// built from values written so far.
fn unique_results(rng: &mut StdRng, inv: &Invocation, state: &Value, written: &[Value]) -> Vec<Value> {
    let any = |rng: &mut StdRng| {
        let i = rng.random_range(0..=written.len());
        written.get(i).cloned().unwrap_or(Value::Int(0))
    };
    match inv.f {
        "read" if matches!(state, Value::Set(_)) => {
            let Value::Set(elements) = state else { unreachable!() };
            let mut fewer: Vec<Value> = elements.iter().map(|e| e.into_owned()).collect();
            if !fewer.is_empty() {
                fewer.remove(rng.random_range(0..fewer.len()));
            }
            let more = elements.with(&any(rng));
            [state.clone(), Value::Set(fewer.into()), Value::Set(more)].into()
        }
        "read" | "dequeue" => {
            let mut r: Vec<Value> = written.to_vec();
            r.push(Value::Int(0));
            // A dequeue of nil, of unknown result, is always legal; the engine declines
            // the histories that have an `:ok` one, so they are few.
            if inv.f == "read" || rng.random_bool(0.05) {
                r.push(Value::Nil);
            }
            if let Value::Map(counts) = state {
                r.extend(counts.iter().map(|(e, _)| e.clone()));
            }
            r
        }
        "get" => {
            let text = match state {
                Value::Map(entries) => entries.iter().find_map(|(_, v)| match v {
                    Value::String(s) => Some(s.to_string()),
                    _ => None,
                }),
                _ => None,
            }
            .unwrap_or_default();
            let s = Value::string(&text);
            let shorter = text.get(..text.len().saturating_sub(2)).unwrap_or("").to_string();
            [s, Value::string(&shorter), Value::string(&format!("{text}{}.", written.len() + 7)), Value::Nil]
                .into()
        }
        _ => same(inv),
    }
}

/// A random history whose written values are unique, with crashed and failed
/// operations and some wrong results.
fn generate_unique(
    rng: &mut StdRng,
    model_name: &str,
    model: &DynModel,
    processes: usize,
    ops: usize,
) -> Vec<Value> {
    let mut log = Vec::new();
    let mut state = model.init();
    let mut pending: Vec<Option<Invocation>> = vec![None; processes];
    let (mut invoked, mut next) = (0, 1);
    let mut written: Vec<Value> = Vec::new();
    while invoked < ops || pending.iter().any(Option::is_some) {
        let p = rng.random_range(0..processes);
        match pending[p].take() {
            None if invoked < ops => {
                let inv = unique_invoke(model_name, rng, next, &written);
                next += 1;
                if !matches!(inv.f, "read" | "dequeue" | "get") {
                    let w = inv.value.as_seq().map_or(inv.value.clone(), |s| s[1].clone());
                    written.push(w);
                }
                log.push(op(p as i64, "invoke", &inv, inv.value.clone()));
                pending[p] = Some(inv);
                invoked += 1;
            }
            None => {}
            Some(inv) => {
                let results = unique_results(rng, &inv, &state, &written);
                let legal: Vec<(&Value, Value)> =
                    results.iter().filter_map(|r| Some((r, apply(model, &state, &inv, r)?))).collect();
                let honest = (!legal.is_empty()).then(|| &legal[rng.random_range(0..legal.len())]);
                match rng.random_range(0..10) {
                    0 | 1 => {
                        if let Some((_, s)) = honest.filter(|_| rng.random_bool(0.5)) {
                            state = s.clone();
                        }
                        log.push(op(p as i64, "info", &inv, inv.value.clone()));
                    }
                    2 => log.push(op(p as i64, "fail", &inv, inv.value.clone())),
                    3 | 4 => {
                        let result = &results[rng.random_range(0..results.len())];
                        if let Some(s) = apply(model, &state, &inv, result) {
                            state = s;
                        }
                        log.push(op(p as i64, "ok", &inv, result.clone()));
                    }
                    _ => match honest {
                        Some((result, s)) => {
                            state = s.clone();
                            log.push(op(p as i64, "ok", &inv, (*result).clone()));
                        }
                        None => log.push(op(p as i64, "fail", &inv, inv.value.clone())),
                    },
                }
            }
        }
    }
    log
}

/// Whether `order` (operations of `history`) is a linearization: every `:ok`
/// operation in it once, real time respected, and every step legal.
fn is_linearization(model: &DynModel, history: &History, order: &[usize]) -> bool {
    let ops = &history.operations;
    let mut seen = vec![false; ops.len()];
    let mut state = model.init();
    for (k, &o) in order.iter().enumerate() {
        if std::mem::replace(&mut seen[o], true) {
            return false;
        }
        // Nothing later in the order completed before this one was invoked.
        if order[k + 1..].iter().any(|&later| ops[later].complete.is_some_and(|c| c < ops[o].invoke)) {
            return false;
        }
        match model.step(&state, &ops[o].f, &ops[o].value) {
            Some(next) => state = next,
            None => return false,
        }
    }
    (0..ops.len()).all(|o| seen[o] || ops[o].complete.is_none())
}

/// The unique-value engine, the searches and the oracle agree on random unique
/// histories of `model_name`; returns (valid, invalid, decided by the engine).
fn compare_unique(model_name: &str, nil_reads: NilReads, seed: u64, histories: usize) -> (usize, usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let init = model_name.contains("register").then_some(Value::Int(0));
    let model = model::builtin(model_name, &ModelOptions::default().init(init).nil_reads(nil_reads)).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for case in 0..histories {
        let processes = rng.random_range(2..=5);
        let ops = rng.random_range(1..=11);
        let log = generate_unique(&mut rng, model_name, &model, processes, ops);
        let expected = oracle(&model, &log);
        let raw = log.iter().map(|v| RawOp { value: v.clone(), line: 1, column: 1, span: 0..0 }).collect();
        let history = History::complete(raw, &model).unwrap();
        let shown = || log.iter().map(Value::to_edn).collect::<Vec<_>>().join("\n");
        let case = format!("{model_name} case {case}");
        match expected {
            None => valid += 1,
            Some(_) => invalid += 1,
        }
        // The engine declines exactly the histories with an `:ok` dequeue of unknown
        // result (of nil), and the searches decide them.
        let unknown_ok = model_name.contains("queue")
            && nil_reads == NilReads::Unknown
            && log.iter().any(|o| {
                o.get("type") == Some(&kw("ok"))
                    && o.get("f") == Some(&kw("dequeue"))
                    && o.get("value") == Some(&Value::Nil)
            });
        match (knossos_rs::expert::decide(&history, &model), expected) {
            (Err(d), _) if unknown_ok => {
                assert!(d.message.contains(":ok dequeue of nil"), "{case}: {}", d.message)
            }
            (Err(d), _) => panic!("{case}: declined: {}\n{}", d.message, shown()),
            (Ok(v), _) if unknown_ok => {
                panic!("{case}: decided {v:?} with an :ok dequeue of nil\n{}", shown())
            }
            (Ok(knossos_rs::expert::Verdict::Valid(order)), None) => {
                assert!(
                    is_linearization(&model, &history, &order),
                    "{case}: bad witness {order:?}\n{}",
                    shown()
                );
            }
            (Ok(knossos_rs::expert::Verdict::Invalid(op)), Some(pos)) => {
                assert_eq!(history.operations[op].complete, Some(pos), "{case}: failing op\n{}", shown());
            }
            (v, e) => panic!("{case}: engine {v:?}, oracle {e:?}\n{}", shown()),
        }
        // Through `check`, forced and in the race, the analysis agrees and names the engine.
        for algorithm in [Algorithm::Unique, Algorithm::Competition, Algorithm::Wgl, Algorithm::Linear] {
            let analysis = check(&model, &history, &Options::default().algorithm(algorithm).witness(true));
            if unknown_ok && algorithm == Algorithm::Unique {
                assert_eq!(analysis.valid, Validity::Unknown, "{case}: the engine alone declines");
                continue;
            }
            if expected.is_none() {
                check_witness(&model, &log, &analysis, &format!("{case} ({algorithm:?})"));
            }
            let failed = failures(&analysis);
            let first = failed.iter().filter_map(|a| a.op.as_ref()).map(|o| o.index).min();
            let want = expected.map(|p| p as u64);
            assert_eq!(first, want, "{case} ({algorithm:?})\n{}", shown());
            if matches!(algorithm, Algorithm::Unique | Algorithm::Competition) && !unknown_ok {
                let deciders: Vec<&str> = analysis
                    .results
                    .iter()
                    .map(|(_, a)| a.analyzer)
                    .chain(analysis.results.is_empty().then_some(analysis.analyzer))
                    .collect();
                assert!(deciders.iter().all(|&a| a == "unique"), "{case}: {deciders:?}");
            }
            for a in failed.iter().filter(|a| algorithm == Algorithm::Unique && a.valid == Validity::Invalid)
            {
                assert!(!a.final_paths.is_empty(), "{case}: no final path\n{}", shown());
            }
        }
    }
    eprintln!("{model_name} (unique values): {valid} valid, {invalid} invalid");
    assert!(valid > histories / 20 && invalid > histories / 20, "valid {valid}, invalid {invalid}");
    (valid, invalid)
}

#[test]
fn unique_register_agrees_with_brute_force() {
    compare_unique("register", NilReads::Unknown, 21, 3000);
}

#[test]
fn unique_cas_register_agrees_with_brute_force() {
    compare_unique("cas-register", NilReads::Unknown, 22, 4000);
}

#[test]
fn unique_cas_register_nil_absent_agrees_with_brute_force() {
    compare_unique("cas-register", NilReads::Absent, 23, 2000);
}

#[test]
fn unique_set_agrees_with_brute_force() {
    compare_unique("set", NilReads::Unknown, 24, 3000);
}

#[test]
fn unique_unordered_queue_agrees_with_brute_force() {
    compare_unique("unordered-queue", NilReads::Unknown, 25, 3000);
}

#[test]
fn unique_fifo_queue_agrees_with_brute_force() {
    compare_unique("fifo-queue", NilReads::Unknown, 28, 4000);
}

#[test]
fn unique_queues_nil_absent_agree_with_brute_force() {
    compare_unique("unordered-queue", NilReads::Absent, 30, 1500);
    compare_unique("fifo-queue", NilReads::Absent, 29, 1500);
}

#[test]
fn unique_kv_agrees_with_brute_force() {
    compare_unique("kv", NilReads::Unknown, 26, 3000);
}

#[test]
fn unique_kv_nil_absent_agrees_with_brute_force() {
    compare_unique("kv", NilReads::Absent, 27, 2000);
}
