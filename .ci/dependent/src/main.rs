//! A dependent's own JSON, read with serde while knossos-rs is linked in; and the
//! public API as a harness uses it: timed operations in any order, an online checker
//! held in a struct, errors printed for people.

use knossos_rs::model::DynModel;
use knossos_rs::online::{Online, Verdict};
use knossos_rs::{check, model, HistoryBuilder, InputError, Options, Validity, Value};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Inner {
    latency: f64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Outer {
    name: String,
    #[serde(flatten)]
    inner: Inner,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Reading {
    Number(f64),
    Text(String),
}

fn main() {
    // knossos-rs is really linked: a history is read and checked.
    let model = knossos_rs::model::builtin("register", &Default::default()).unwrap();
    let log =
        b"{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}\n";
    let ops = knossos_rs::read::RawOp::read(log, "h.edn", None).unwrap();
    let history = knossos_rs::History::complete(ops, &model).unwrap();
    let analysis = knossos_rs::check(&model, &history, &Default::default());
    assert_eq!(analysis.valid, knossos_rs::Validity::Valid);

    // With arbitrary_precision on, a flattened f64 fails ("invalid type: map, expected f64").
    let outer = Outer { name: "a".into(), inner: Inner { latency: 1.5 } };
    let text = serde_json::to_string(&outer).unwrap();
    assert_eq!(serde_json::from_str::<Outer>(&text).unwrap(), outer);
    // With arbitrary_precision on, an untagged f64 matches no variant.
    assert_eq!(serde_json::from_str::<Reading>("2.5").unwrap(), Reading::Number(2.5));
    // With preserve_order on, serde_json's maps keep insertion order instead of sorting.
    let value: serde_json::Value = serde_json::from_str(r#"{"b": 1, "a": 2}"#).unwrap();
    assert_eq!(value.to_string(), r#"{"a":2,"b":1}"#);
    println!("a dependent's JSON reads as its own: ok");

    timed_operations_in_any_order();
    an_online_checker_in_a_struct();
    errors_for_people();
    println!("the public API as a harness uses it: ok");
}

/// Porcupine-style operations: (process, f, input, output, call, return); `None`
/// for an operation that never returned. A register starting at 0: the read at
/// 40..50 returns 1 after the write of 2 completed at 30.
type Timed = (i64, &'static str, Value, Value, u64, Option<u64>);

fn operations() -> Vec<Timed> {
    vec![
        (0, "write", Value::Int(1), Value::Int(1), 0, Some(10)),
        (1, "read", Value::Nil, Value::Int(0), 5, Some(8)),
        (2, "write", Value::Int(2), Value::Int(2), 12, Some(30)),
        (3, "cas", Value::from(vec![2, 3]), Value::from(vec![2, 3]), 15, None),
        (1, "read", Value::Nil, Value::Int(2), 20, Some(25)),
        (0, "read", Value::Nil, Value::Int(1), 40, Some(50)),
        (4, "write", Value::Int(5), Value::Int(5), 45, Some(60)),
    ]
}

fn register() -> DynModel {
    model::builtin("cas-register", &model::ModelOptions::default().init(Value::Int(0))).unwrap()
}

fn build(ops: &[Timed]) -> knossos_rs::History {
    let mut builder = HistoryBuilder::new();
    for (process, f, input, output, call, ret) in ops.iter().cloned() {
        match ret {
            Some(ret) => builder.timed(process, f, input, output, call, ret),
            None => builder.timed_crash(process, f, input, call),
        };
    }
    builder.build(&register()).unwrap()
}

fn timed_operations_in_any_order() {
    let model = register();
    let ordered = check(&model, &build(&operations()), &Options::default());
    assert_eq!(ordered.valid, Validity::Invalid);
    let failing = ordered.op.as_ref().unwrap();
    assert_eq!(
        (failing.map.get("time"), failing.map.get("value")),
        (Some(&Value::Int(50)), Some(&Value::Int(1)))
    );
    // Every rotation of the reversed list: the same verdict, failing at the same op.
    let mut ops = operations();
    ops.reverse();
    for _ in 0..ops.len() {
        ops.rotate_left(1);
        let shuffled = check(&model, &build(&ops), &Options::default());
        assert_eq!(shuffled.valid, ordered.valid);
        assert_eq!(shuffled.op.as_ref().unwrap().index, failing.index);
        assert_eq!(shuffled.op.as_ref().unwrap().map, failing.map);
    }
}

/// What a harness keeps: an online checker that owns (a share of) its model.
struct Harness {
    online: Online<Arc<DynModel>>,
}

fn an_online_checker_in_a_struct() {
    let mut harness = Harness { online: Online::new(Arc::new(register())) };
    // Events as they arrive from concurrent clients: each process's in order, the
    // processes' far out of real-time order (the last process's first).
    let mut ops = operations();
    ops.sort_by_key(|&(process, _, _, _, call, _)| (std::cmp::Reverse(process), call));
    for (process, f, input, output, call, ret) in ops {
        harness.online.call(process, f, input, call).unwrap();
        if let Some(ret) = ret {
            harness.online.returned(process, output, ret).unwrap();
        }
    }
    let failing = check(&register(), &build(&operations()), &Options::default()).op.unwrap().index;
    assert_eq!(harness.online.advance_to(40).unwrap(), Verdict::Valid);
    assert_eq!(harness.online.finish().unwrap(), Verdict::Invalid { op: failing });
}

fn errors_for_people() {
    let error: InputError = model::builtin("regsiter", &Default::default()).err().unwrap();
    let (display, debug) = (format!("{error}"), format!("{error:?}"));
    assert!(display.starts_with("unknown model `regsiter`"), "{display}");
    assert_eq!(debug, display);
    let mut online = Online::new(register());
    let misuse = online.ok(7, 1).unwrap_err();
    assert_eq!(format!("{misuse:?}"), "op 0: process 7 has no pending invocation");
    for text in [display, debug, format!("{misuse}")] {
        assert!(!text.contains("diagnostics") && !text.contains("Diagnostic {"), "{text}");
    }
}
