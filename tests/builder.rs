//! Histories built in code: the same history as read from its text, the same errors,
//! no line numbers made up, and appending without starting over.

use knossos_rs::model::{self, DynModel};
use knossos_rs::{check, read, Algorithm, History, HistoryBuilder, Options, Validity, Value};
use std::path::Path;

fn cas_register() -> DynModel {
    model::builtin("cas-register", &Default::default()).unwrap()
}

/// `fixtures/stale-read.edn`, recorded op by op (the nemesis's ops as maps).
fn stale_read(ops: &mut HistoryBuilder) {
    let nemesis = |f: &str, value: Value| {
        Value::kw_map([
            ("type", Value::keyword("info")),
            ("process", Value::keyword("nemesis")),
            ("f", Value::keyword(f)),
            ("value", value),
        ])
    };
    ops.invoke(0, "write", 1).invoke(1, "read", None::<i64>).ok(0, 1).ok(1, 1);
    ops.op(nemesis("start", "partition [n1] [n2 n3]".into()));
    ops.invoke(2, "cas", vec![1, 2]).ok(2, vec![1, 2]);
    ops.invoke(0, "write", 3).invoke(1, "read", None::<i64>).info(0).ok(1, 1);
    ops.op(nemesis("stop", Value::Nil));
    ops.invoke(3, "read", None::<i64>).ok(3, 3);
}

/// The fixture's text, with the keys in the builder's order and without `:time`,
/// `:index` and `:error`: what was recorded.
const STALE_READ: &str = "{:process 0, :type :invoke, :f :write, :value 1}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :ok, :f :read, :value 1}
{:type :info, :process :nemesis, :f :start, :value \"partition [n1] [n2 n3]\"}
{:process 2, :type :invoke, :f :cas, :value [1 2]}
{:process 2, :type :ok, :f :cas, :value [1 2]}
{:process 0, :type :invoke, :f :write, :value 3}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 0, :type :info, :f :write, :value 3}
{:process 1, :type :ok, :f :read, :value 1}
{:type :info, :process :nemesis, :f :stop, :value nil}
{:process 3, :type :invoke, :f :read, :value nil}
{:process 3, :type :ok, :f :read, :value 3}
";

#[test]
fn a_built_history_is_checked_as_its_text_is() {
    let model = cas_register();
    let mut ops = HistoryBuilder::new();
    stale_read(&mut ops);
    assert_eq!(ops.len(), 14);
    let built = ops.build(&model).unwrap();
    let read =
        History::complete(read::RawOp::read(STALE_READ.as_bytes(), "h.edn", None).unwrap(), &model).unwrap();
    let (a, b) = (check(&model, &built, &Options::default()), check(&model, &read, &Options::default()));
    // The read of 1 at index 10 began after the cas to 2 completed.
    assert_eq!(a.valid, Validity::Invalid);
    assert_eq!(a.op.as_ref().unwrap().index, 10);
    assert_eq!(a.to_value().to_edn(), b.to_value().to_edn());
    // Ops built in code have no line, and none is made up.
    assert_eq!(a.op.as_ref().unwrap().line, 0);
    assert!(!a.to_string().contains("(line"), "{a}");
    assert!(b.to_string().contains("(line 11)"), "{b}");
}

#[test]
fn a_built_history_is_completed_as_a_read_one_is() {
    let model = cas_register();
    let mut ops = HistoryBuilder::new();
    ops.invoke(0, "write", 1).ok(0, 1).ok(1, 2).invoke(2, "cas", 5).ok(2, 5);
    let errors = ops.build(&model).unwrap_err();
    let messages: Vec<String> = errors
        .diagnostics
        .iter()
        .map(|d| (d.op_index.unwrap(), &d.message))
        .map(|(i, m)| format!("{i}: {m}"))
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].starts_with("2: :ok for process 1 with no open invocation"), "{messages:?}");
    assert!(messages[1].starts_with("4: cas-register:"), "{messages:?}");
    // Named by op, not by a line 0.
    let shown = errors.to_string();
    assert!(shown.contains("op 2: :ok for process 1") && !shown.contains(":0:"), "{shown}");
}

#[test]
fn appending_to_a_history_checks_the_whole() {
    let model = cas_register();
    let mut first = HistoryBuilder::new();
    first.invoke(0, "write", 1).ok(0, 1).invoke(1, "read", None::<i64>);
    let history = first.build(&model).unwrap();
    assert!(check(&model, &history, &Options::default()).is_valid());
    // The read, still open, completes with a value never written.
    let mut more = history.into_builder();
    more.ok(1, 2);
    let analysis = check(&model, &more.build(&model).unwrap(), &Options::default());
    assert_eq!((analysis.valid, analysis.op.map(|o| o.index)), (Validity::Invalid, Some(3)));

    // Appended to a history read from a file, whose ops have indices: so do the new ones.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/valid.edn");
    let read = History::read(&path, None, &model).unwrap();
    let last = read.ops.last().unwrap().index;
    let mut more = read.into_builder();
    more.invoke(9, "read", None::<i64>).ok(9, 99);
    let history = more.build(&model).unwrap();
    let analysis = check(&model, &history, &Options::default());
    assert_eq!(analysis.op.map(|o| o.index), Some(last + 2));
}

/// Knossos calls an empty history linearizable, and Jepsen hands checkers such
/// histories (a key whose ops all failed): no ops, or none that took effect, is a
/// valid history under every algorithm, with no failing op and nothing to warn of.
#[test]
fn an_empty_history_is_linearizable() {
    let model = cas_register();
    let kv = model::builtin("kv", &Default::default()).unwrap();
    let mut failed = HistoryBuilder::new();
    failed.invoke(0, "write", 1).fail(0);
    let mut failed_key = HistoryBuilder::new();
    let put = |key: &str, process: i64, kind: &str| {
        Value::kw_map([
            ("process", Value::Int(process)),
            ("type", Value::keyword(kind)),
            ("f", Value::keyword("put")),
            ("key", Value::from(key)),
            ("value", Value::from("x")),
        ])
    };
    failed_key
        .op(put("a", 0, "invoke"))
        .op(put("a", 0, "ok"))
        .op(put("b", 1, "invoke"))
        .op(put("b", 1, "fail"));
    for (name, builder, model) in [
        ("no ops", HistoryBuilder::new(), &model),
        ("a failed write", failed, &model),
        ("a key whose one op failed", failed_key, &kv),
    ] {
        let history = builder.build(model).unwrap_or_else(|e| panic!("{name}: {e}"));
        for algorithm in [Algorithm::Competition, Algorithm::Wgl, Algorithm::Linear, Algorithm::Unique] {
            let options = Options::default().algorithm(algorithm).witness(true);
            let analysis = check(model, &history, &options);
            assert_eq!(analysis.valid, Validity::Valid, "{name}, {algorithm:?}: {analysis}");
            assert!(
                analysis.op.is_none() && analysis.warnings.is_empty(),
                "{name}, {algorithm:?}: {analysis}"
            );
            assert!(analysis.failures.is_empty(), "{name}, {algorithm:?}: {analysis}");
            if name.contains("key") {
                // Both keys are judged, as jepsen.independent judges every key it saw.
                let keys: Vec<String> = analysis.results.iter().map(|(k, _)| k.to_edn()).collect();
                assert_eq!(keys, ["\"a\"", "\"b\""], "{algorithm:?}");
                assert!(analysis.results.iter().all(|(_, a)| a.valid == Validity::Valid));
            }
        }
    }
}
