//! Operations with call and return times, given in any order.
//!
//! Random histories of every model but `kv` (whose ops carry a `:key`), each op map
//! given its position as `:time`, are turned into timed operations (call at the
//! invocation's position, return at the `:ok`'s; crashed ones never return, failed
//! ones left out) and given shuffled: the history built from them must get the
//! ordered history's verdict, failing at the same op (the same `:time`). The
//! online checker fed the same events out of order, with watermarks between, must
//! answer as a batch check of the timed operations before each watermark.

#[path = "common/oracle.rs"]
mod oracle;

use knossos_rs::model::{DynModel, NilReads};
use knossos_rs::online::{Online, Verdict};
use knossos_rs::read::RawOp;
use knossos_rs::{check, model, Analysis, History, HistoryBuilder, Options, Validity, Value};
use oracle::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// One operation of a log: process, `:f`, input, call position, and output and
/// return position unless it crashed.
#[derive(Clone, Debug)]
struct Op {
    process: Value,
    f: String,
    input: Value,
    call: u64,
    ret: Option<(Value, u64)>,
}

/// The log's operations, failed ones left out. A process that crashed is given a
/// new number for its later operations, as a timed history requires.
fn operations(log: &[Value]) -> Vec<Op> {
    let mut open: Vec<(Value, usize)> = Vec::new();
    let mut ops: Vec<Option<Op>> = Vec::new();
    let mut renamed = std::collections::HashMap::<Value, i64>::new();
    let mut crashes = 0;
    for (i, map) in log.iter().enumerate() {
        let process = map.get("process").unwrap().clone();
        let kind = map.get("type").unwrap().as_keyword().unwrap();
        if kind == "invoke" {
            let shown = renamed.get(&process).map_or(process.clone(), |&n| Value::Int(n));
            let f = map.get("f").unwrap().as_keyword().unwrap().to_string();
            let input = map.get("value").unwrap().clone();
            open.push((process, ops.len()));
            ops.push(Some(Op { process: shown, f, input, call: i as u64, ret: None }));
            continue;
        }
        let at = open.iter().position(|(p, _)| *p == process).unwrap();
        let (_, op) = open.remove(at);
        match kind {
            "ok" => ops[op].as_mut().unwrap().ret = Some((map.get("value").unwrap().clone(), i as u64)),
            "fail" => ops[op] = None,
            _ => {
                renamed.insert(process, 1_000 + crashes);
                crashes += 1;
            }
        }
    }
    ops.into_iter().flatten().collect()
}

fn timed_history(model: &DynModel, ops: &[Op]) -> History {
    let mut builder = HistoryBuilder::new();
    for o in ops {
        match &o.ret {
            Some((output, ret)) => {
                builder.timed(o.process.clone(), &o.f, o.input.clone(), output.clone(), o.call, *ret)
            }
            None => builder.timed_crash(o.process.clone(), &o.f, o.input.clone(), o.call),
        };
    }
    builder.build(model).unwrap()
}

/// The failing op's `:time`, if invalid (the first failing key's for a keyed model).
fn failing_time(analysis: &Analysis) -> Option<Value> {
    let op = |a: &Analysis| a.op.as_ref().map(|o| o.map.get("time").unwrap().clone());
    op(analysis).or_else(|| analysis.results.iter().find_map(|(_, a)| op(a)))
}

fn workloads() -> Vec<Workload> {
    vec![
        register("register", NilReads::Unknown),
        register("cas-register", NilReads::Absent),
        mutex(),
        multi_register(),
        set(),
        queue("fifo-queue", NilReads::Unknown),
        queue("unordered-queue", NilReads::Absent),
        noop(),
    ]
}

#[test]
fn shuffled_timed_operations_check_as_the_ordered_history() {
    let mut rng = StdRng::seed_from_u64(25);
    for w in workloads() {
        let model = w.model();
        let (mut valid, mut invalid) = (0, 0);
        for case in 0..300 {
            let shape = if case % 2 == 0 { ORDINARY } else { CRASHING };
            let log: Vec<Value> = (shape.draw(&mut rng, &w, &model).into_iter().enumerate())
                .map(|(i, map)| match map {
                    Value::Map(mut entries) => {
                        entries.push((Value::keyword("time"), Value::Int(i as i64)));
                        Value::Map(entries)
                    }
                    other => other,
                })
                .collect();
            let raw =
                log.iter().map(|v| RawOp { value: v.clone(), line: 0, column: 0, span: 0..0 }).collect();
            let ordered = check(&model, &History::complete(raw, &model).unwrap(), &Options::default());
            let mut ops = operations(&log);
            if ops.is_empty() {
                continue; // every operation failed: no history
            }
            ops.shuffle(&mut rng);
            let timed = check(&model, &timed_history(&model, &ops), &Options::default());
            let shown = || log.iter().map(Value::to_edn).collect::<Vec<_>>().join("\n");
            assert_eq!(timed.valid, ordered.valid, "{} case {case}\n{}", w.model, shown());
            assert_eq!(failing_time(&timed), failing_time(&ordered), "{} case {case}\n{}", w.model, shown());
            match ordered.valid {
                Validity::Valid => valid += 1,
                _ => invalid += 1,
            }
        }
        // noop allows everything.
        assert!(
            valid > 30 && (invalid > 30 || w.model == "noop"),
            "{}: {valid} valid, {invalid} invalid",
            w.model
        );
    }
}

/// The verdict of a batch check of `ops` as they stood at `watermark`: those called
/// before it, those returning at or after it still pending (crashed, as far as
/// anyone knows), as `Online` names it (its op by index in the same order).
fn batch_at(model: &DynModel, ops: &[Op], watermark: u64) -> Verdict {
    let before: Vec<Op> = (ops.iter().filter(|o| o.call < watermark).cloned())
        .map(|o| Op { ret: o.ret.filter(|(_, r)| *r < watermark), ..o })
        .collect();
    if before.is_empty() {
        return Verdict::Valid;
    }
    let analysis = check(model, &timed_history(model, &before), &Options::default());
    match analysis.valid {
        Validity::Valid => Verdict::Valid,
        _ => {
            let op = |a: &Analysis| a.op.as_ref().map(|o| o.index);
            let keyed = analysis.results.iter().filter_map(|(_, a)| op(a)).min();
            Verdict::Invalid { op: op(&analysis).or(keyed).unwrap() }
        }
    }
}

#[test]
fn online_fed_out_of_order_answers_at_each_watermark_as_a_batch_check() {
    let mut rng = StdRng::seed_from_u64(26);
    for w in workloads() {
        let model = w.model();
        for case in 0..200 {
            let shape = if case % 2 == 0 { ORDINARY } else { CRASHING };
            let ops = operations(&shape.draw(&mut rng, &w, &model));
            // Events (op, is a return) in windows between random watermarks; within a
            // window, in a random order that keeps each process's own order.
            let end = ops.iter().map(|o| o.ret.as_ref().map_or(o.call, |r| r.1)).max().unwrap_or(0) + 1;
            let mut online = Online::new(&model);
            let mut from = 0;
            while from < end {
                let to = (from + rng.random_range(1..=6)).min(end);
                let mut window: Vec<(u64, usize, bool)> = Vec::new();
                for (i, o) in ops.iter().enumerate() {
                    if (from..to).contains(&o.call) {
                        window.push((o.call, i, false));
                    }
                    if let Some((_, ret)) = o.ret.as_ref().filter(|(_, r)| (from..to).contains(r)) {
                        window.push((*ret, i, true));
                    }
                }
                window.shuffle(&mut rng);
                // Each process's events in time order, at the places its events drew.
                let mut places: Vec<usize> = Vec::new();
                for p in (window.iter().map(|e| ops[e.1].process.clone()))
                    .collect::<std::collections::HashSet<_>>()
                {
                    places.clear();
                    places.extend((0..window.len()).filter(|&k| ops[window[k].1].process == p));
                    let mut mine: Vec<_> = places.iter().map(|&k| window[k]).collect();
                    mine.sort_by_key(|&(t, _, returns)| (t, returns));
                    for (&k, e) in places.iter().zip(mine) {
                        window[k] = e;
                    }
                }
                for (t, i, returns) in window {
                    let o = &ops[i];
                    match (returns, &o.ret) {
                        (false, _) => online.call(o.process.clone(), &o.f, o.input.clone(), t).unwrap(),
                        (true, Some((output, _))) => {
                            online.returned(o.process.clone(), output.clone(), t).unwrap()
                        }
                        (true, None) => unreachable!("a crashed op has no return"),
                    }
                }
                let verdict = online.advance_to(to).unwrap();
                assert_eq!(verdict, batch_at(&model, &ops, to), "{} case {case} at {to}: {ops:?}", w.model);
                from = to;
            }
            assert_eq!(online.finish().unwrap(), batch_at(&model, &ops, u64::MAX), "{} case {case}", w.model);
        }
    }
}

#[test]
fn equal_times_make_operations_concurrent() {
    // The register starts at 0. A read called at the very time the write of 1
    // returned is concurrent with it, so it may have read 0; called one tick later,
    // it follows the write, and 0 is a stale read.
    let model = model::builtin("cas-register", &model::ModelOptions::default().init(Value::Int(0))).unwrap();
    let verdict = |read_call: u64| {
        let mut ops = HistoryBuilder::new();
        ops.timed(1, "read", Value::Nil, 0, read_call, 20).timed(0, "write", 1, 1, 0, 10);
        check(&model, &ops.build(&model).unwrap(), &Options::default()).valid
    };
    assert_eq!(verdict(10), Validity::Valid);
    assert_eq!(verdict(11), Validity::Invalid);
    // An operation may take no time at all.
    let mut ops = HistoryBuilder::new();
    ops.timed(0, "write", 1, 1, 5, 5).timed(1, "read", Value::Nil, 1, 5, 5);
    assert_eq!(check(&model, &ops.build(&model).unwrap(), &Options::default()).valid, Validity::Valid);
}

#[test]
fn what_no_process_can_do_is_an_error_not_a_panic() {
    let model = model::builtin("register", &Default::default()).unwrap();
    let built = |ops: &mut HistoryBuilder| ops.clone().build(&model).unwrap_err().to_string();
    // Two operations of one process at once, even only at one instant.
    let e = built(HistoryBuilder::new().timed(0, "write", 1, 1, 0, 10).timed(0, "write", 2, 2, 10, 20));
    assert!(e.contains("process 0 calls at 10, not after its previous operation returned (at 10)"), "{e}");
    // A crashed process calls no more.
    let e = built(HistoryBuilder::new().timed_crash(0, "write", 1, 0).timed(0, "write", 2, 2, 10, 20));
    assert!(e.contains("has not returned") && e.contains("new process"), "{e}");
    // A return before the call.
    let e = built(HistoryBuilder::new().timed(0, "write", 1, 1, 10, 5));
    assert!(e.contains("returns at 5, before it was called (at 10)"), "{e}");
    // Timed and untimed together.
    let e = built(HistoryBuilder::new().timed(0, "write", 1, 1, 0, 10).invoke(1, "read", Value::Nil));
    assert!(e.contains("not both"), "{e}");

    // The online checker refuses the same, and events the watermark has passed.
    let mut online = Online::new(&model);
    online.timed(0, "write", 1, 1, 0, 10).unwrap();
    assert!(online.call(0, "write", 2, 10).unwrap_err().to_string().contains("not after its previous"));
    assert!(online.returned(1, 2, 12).unwrap_err().to_string().contains("no operation open"));
    assert_eq!(online.advance_to(11).unwrap(), Verdict::Valid);
    let e = online.call(1, "read", Value::Nil, 10).unwrap_err().to_string();
    assert!(e.contains("after advance_to(11)"), "{e}");
    assert!(online.invoke(1, "read", Value::Nil).unwrap_err().to_string().contains("timed"));
    // Nothing was recorded by the mistakes.
    online.timed(1, "read", Value::Nil, 2, 11, 12).unwrap();
    assert_eq!(online.finish().unwrap(), Verdict::Invalid { op: 3 });
    assert!(online.call(2, "read", Value::Nil, 100).unwrap_err().to_string().contains("finish()"));
    let mut untimed = Online::new(&model);
    untimed.invoke(0, "read", Value::Nil).unwrap();
    assert!(untimed.call(1, "read", Value::Nil, 0).unwrap_err().to_string().contains("untimed"));
}

#[test]
fn an_online_checker_owns_its_model_and_moves_between_threads() {
    // Held in a struct without a lifetime, shared behind a mutex as async code would.
    struct Harness {
        online: std::sync::Mutex<Online<std::sync::Arc<DynModel>>>,
    }
    let model = std::sync::Arc::new(model::builtin("register", &Default::default()).unwrap());
    let harness = std::sync::Arc::new(Harness { online: std::sync::Mutex::new(Online::new(model)) });
    let threads: Vec<_> = (0..4u64)
        .map(|p| {
            let harness = std::sync::Arc::clone(&harness);
            std::thread::spawn(move || {
                harness.online.lock().unwrap().timed(p, "write", p, p, 10 * p, 10 * p + 5)
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap().unwrap());
    assert_eq!(harness.online.lock().unwrap().finish().unwrap(), Verdict::Valid);
}
