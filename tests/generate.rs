//! The history generator: its histories are linearizable, an injected anomaly fails
//! exactly the op and key the generator names, a seed always gives the same bytes, and
//! every output format reads back to the same ops.

use knossos_rs::generate::{generate, Anomaly, Generated, Spec};
use knossos_rs::model::{self, ModelOptions, NilReads};
use knossos_rs::partition::Independent;
use knossos_rs::read::Format;
use knossos_rs::{check, read, Analysis, History, Model, Options, Validity, Value};
use std::io::ErrorKind;
use std::time::Instant;

/// Every model of the SPEC, with the anomalies it can show.
const MODELS: [(&str, &[Anomaly]); 9] = {
    use Anomaly::*;
    const ALL: &[Anomaly] = &[StaleRead, LostWrite, DoubleApply];
    [
        ("register", ALL),
        ("cas-register", ALL),
        ("mutex", &[StaleRead, DoubleApply]),
        ("multi-register", ALL),
        ("set", ALL),
        ("unordered-queue", &[StaleRead, DoubleApply]),
        ("fifo-queue", &[StaleRead, DoubleApply]),
        ("noop", &[]),
        ("kv", ALL),
    ]
};

/// The models the checker has, with a note for each it does not have yet.
fn models() -> Vec<(&'static str, &'static [Anomaly])> {
    MODELS
        .into_iter()
        .filter(|(name, _)| {
            let known = model::ModelInfo::NAMES.contains(name);
            if !known {
                eprintln!(
                    "note: the checker has no `{name}` model yet; its generated histories are not checked"
                );
            }
            known
        })
        .collect()
}

/// A small history of the model with crashes, failures and the nemesis. Crashed
/// operations make checking exponentially hard (each may take effect anywhere from its
/// invocation on: a crashed append or enqueue anywhere in the string or queue, a
/// crashed dequeue at any point the head must go), so there are few of them, fewest
/// for fifo queues.
fn spec(model: &str, keys: Option<usize>, seed: u64) -> Spec {
    Spec {
        model: model.into(),
        processes: 4,
        ops: 500,
        keys,
        crash_rate: if model == "fifo-queue" { 0.005 } else { 0.02 },
        fail_rate: 0.1,
        seed,
        nemesis: true,
        ..Spec::default()
    }
}

fn generated(spec: &Spec, format: Format) -> (Vec<u8>, Generated) {
    let mut out = Vec::new();
    let generated = generate(spec, format, &mut out).unwrap_or_else(|e| panic!("{spec:?}: {e}"));
    (out, generated)
}

/// Checks a spec's history with its model: independent keys wrap the model.
fn analyse(spec: &Spec, bytes: &[u8]) -> Analysis {
    let inner = model::builtin(&spec.model, &Default::default()).unwrap();
    match spec.keys {
        Some(_) if spec.model != "kv" => analyse_with(&Independent(inner), spec, bytes),
        _ => analyse_with(&inner, spec, bytes),
    }
}

fn analyse_with<M: Model>(model: &M, spec: &Spec, bytes: &[u8]) -> Analysis {
    let ops = read::RawOp::read(bytes, "generated", None).unwrap_or_else(|e| panic!("{spec:?}: {e}"));
    let history = History::complete(ops, model).unwrap_or_else(|e| panic!("{spec:?}: {e:?}"));
    let options = Options::default().time_limit(std::time::Duration::from_secs(20)).memory_limit(4 << 30);
    check(model, &history, &options)
}

/// The keyings each model is generated with: one object, and four keys.
fn keyings() -> [Option<usize>; 2] {
    [None, Some(4)]
}

#[test]
fn generated_histories_are_linearizable() {
    let mut checked = 0;
    for (name, _) in models() {
        for keys in keyings() {
            for (seed, effect_inside) in (0..5).flat_map(|seed| [(seed, false), (seed, true)]) {
                let spec = Spec { effect_inside, ..spec(name, keys, seed) };
                let (bytes, generated) = generated(&spec, Format::Edn);
                assert!(generated.anomaly.is_none());
                let analysis = analyse(&spec, &bytes);
                assert_eq!(analysis.valid, Validity::Valid, "{spec:?}");
                checked += 1;
            }
        }
    }
    eprintln!("{checked} generated histories are valid");
}

#[test]
fn an_injected_anomaly_fails_exactly_its_op_and_key() {
    let mut checked = 0;
    for (name, anomalies) in models() {
        for &anomaly in anomalies {
            for keys in keyings() {
                for (seed, effect_inside) in (0..5).flat_map(|seed| [(seed, false), (seed, true)]) {
                    let spec = Spec { anomaly: Some(anomaly), effect_inside, ..spec(name, keys, seed) };
                    let (bytes, generated) = generated(&spec, Format::Edn);
                    let injected = generated.anomaly.expect("the anomaly is located");
                    let analysis = analyse(&spec, &bytes);
                    assert_eq!(analysis.valid, Validity::Invalid, "{spec:?}");
                    let failed = match &injected.key {
                        None => {
                            assert!(keys.is_none() && name != "kv");
                            &analysis
                        }
                        Some(key) => {
                            assert_eq!(&analysis.failures, std::slice::from_ref(key), "{spec:?}");
                            &analysis.results.iter().find(|(k, _)| k == key).unwrap().1
                        }
                    };
                    assert_eq!(failed.op.as_ref().map(|op| op.index), Some(injected.index), "{spec:?}");
                    checked += 1;
                }
            }
        }
    }
    eprintln!("{checked} histories with an anomaly fail where injected");
}

/// Whether replaying the `:ok` operations in the order of their completions is a
/// legal run of the model (no crashes, no failures: every operation is `:ok`).
fn completion_order_is_legal(bytes: &[u8]) -> bool {
    let model = model::builtin("cas-register", &Default::default()).unwrap();
    let history = History::complete(read::RawOp::read(bytes, "g", None).unwrap(), &model).unwrap();
    let mut by_completion: Vec<_> = history.operations.iter().collect();
    by_completion.sort_by_key(|o| o.complete);
    let mut state = model.init();
    by_completion.iter().all(|o| match model.step(&state, &o.f, &o.value) {
        Some(next) => {
            state = next;
            true
        }
        None => false,
    })
}

/// By default an operation takes effect at its completion, so the completions' order
/// is a linearization (the module's argument); with `effect_inside` it takes effect
/// earlier, and that order no longer explains the reads.
#[test]
fn effects_fall_at_completion_or_inside_the_interval() {
    let mut inside_differs = 0;
    for seed in 0..20 {
        let spec = Spec { processes: 8, ops: 300, crash_rate: 0.0, fail_rate: 0.0, seed, ..Spec::default() };
        let (at_completion, _) = generated(&spec, Format::Edn);
        assert!(completion_order_is_legal(&at_completion), "{spec:?}");
        let inside = Spec { effect_inside: true, ..spec };
        let (bytes, _) = generated(&inside, Format::Edn);
        assert_eq!(analyse(&inside, &bytes).valid, Validity::Valid, "{inside:?}");
        inside_differs += usize::from(!completion_order_is_legal(&bytes));
    }
    assert!(inside_differs >= 15, "only {inside_differs} of 20");
}

#[test]
fn an_anomalous_history_is_its_honest_twin_but_for_the_anomaly() {
    for (name, anomalies) in models() {
        for &anomaly in anomalies {
            let honest = spec(name, Some(3), 11);
            let (clean, _) = generated(&honest, Format::Edn);
            let (dirty, generated) =
                generated(&Spec { anomaly: Some(anomaly), ..honest.clone() }, Format::Edn);
            let index = generated.anomaly.unwrap().index as usize;
            let first_difference =
                clean.split(|&b| b == b'\n').zip(dirty.split(|&b| b == b'\n')).position(|(a, b)| a != b);
            // The ops differ from the twisted step of the probe on, at most a few ops
            // (two per step) before the op that shows the anomaly.
            let first_difference = first_difference.expect("the histories differ");
            assert!((index.saturating_sub(4)..=index).contains(&first_difference), "{name} {anomaly}");
        }
    }
}

#[test]
fn anomalies_a_model_cannot_show_are_refused() {
    for (name, anomalies) in MODELS {
        for anomaly in Anomaly::ALL.into_iter().filter(|a| !anomalies.contains(a)) {
            let spec = Spec { anomaly: Some(anomaly), ..spec(name, None, 0) };
            let e = generate(&spec, Format::Edn, &mut Vec::new()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            assert!(e.to_string().contains(name), "{e}");
        }
    }
    let refused = |spec: Spec, format: Format, needle: &str| {
        let mut out = Vec::new();
        let e = generate(&spec, format, &mut out).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains(needle), "{e}");
        assert!(out.is_empty(), "nothing is written for a refused spec");
    };
    refused(spec("set", None, 0), Format::Json, "JSON has no sets");
    refused(spec("kv", None, 0), Format::HistoryTxt, ":key");
    refused(spec("queue", None, 0), Format::Edn, "fifo-queue");
    refused(Spec { processes: 0, ..Spec::default() }, Format::Edn, "process");
    refused(Spec { keys: Some(0), ..Spec::default() }, Format::Edn, "key");
    refused(Spec { values: 0, ..Spec::default() }, Format::Edn, "values");
    // Sizes that would overflow, or exhaust memory, before the first op.
    refused(Spec { values: i64::MAX, ..Spec::default() }, Format::Edn, "values");
    refused(Spec { processes: usize::MAX, keys: Some(2), ..Spec::default() }, Format::Edn, "processes");
    refused(Spec { keys: Some(100_000_000_000), ..Spec::default() }, Format::Edn, "processes");
    refused(Spec { crash_rate: 1.5, ..Spec::default() }, Format::Edn, "crash rate");
    refused(Spec { crash_rate: 0.6, fail_rate: 0.6, ..Spec::default() }, Format::Edn, "add up");
    assert_eq!("double-apply".parse(), Ok(Anomaly::DoubleApply));
    assert!("stale".parse::<Anomaly>().unwrap_err().contains("stale-read"));
    assert_eq!("txt".parse(), Ok(Format::HistoryTxt));
}

#[test]
fn a_seed_always_gives_the_same_bytes() {
    for (name, anomalies) in MODELS {
        let spec = Spec { anomaly: anomalies.first().copied(), ..spec(name, Some(2), 5) };
        let (a, _) = generated(&spec, Format::Edn);
        let (b, _) = generated(&spec, Format::Edn);
        assert!(a == b, "{name}");
        let (c, _) = generated(&Spec { seed: 6, ..spec }, Format::Edn);
        assert!(a != c, "{name}");
    }
}

/// An op as compared across formats: its map as JSON, or for history.txt the fields
/// that format has.
fn ops(bytes: &[u8], txt_fields: bool) -> Vec<String> {
    let ops = read::RawOp::read(bytes, "generated", None).unwrap();
    ops.iter()
        .map(|op| match txt_fields {
            false => op.value.to_json(),
            true => Value::Vector(
                ["process", "type", "f", "value", "error"]
                    .iter()
                    .map(|k| op.value.get(k).cloned().unwrap_or(Value::Nil))
                    .collect(),
            )
            .to_json(),
        })
        .collect()
}

#[test]
fn every_format_reads_back_to_the_same_ops_and_verdict() {
    for (name, anomalies) in models() {
        for keys in keyings() {
            let spec = Spec { anomaly: anomalies.first().copied(), ..spec(name, keys, 2) };
            let verdict = if anomalies.is_empty() { Validity::Valid } else { Validity::Invalid };
            let (edn, made) = generated(&spec, Format::Edn);
            assert_eq!(ops(&edn, false).len() as u64, made.ops);
            assert_eq!(analyse(&spec, &edn).valid, verdict, "{spec:?}");
            // JSON has no sets, history.txt no :key.
            let formats = [(Format::Json, name != "set"), (Format::HistoryTxt, name != "kv")];
            for (format, _) in formats.into_iter().filter(|&(_, possible)| possible) {
                let (bytes, _) = generated(&spec, format);
                let txt = format == Format::HistoryTxt;
                assert_eq!(ops(&edn, txt), ops(&bytes, txt), "{spec:?} as {format}");
                assert_eq!(analyse(&spec, &bytes).valid, verdict, "{spec:?} as {format}");
            }
        }
    }
}

#[test]
fn a_large_independent_history_fails_exactly_its_key() {
    let spec = Spec {
        model: "cas-register".into(),
        processes: 5,
        ops: 200_000,
        keys: Some(100),
        seed: 42,
        anomaly: Some(Anomaly::StaleRead),
        nemesis: true,
        ..Spec::default()
    };
    let start = Instant::now();
    let (bytes, generated) = generated(&spec, Format::Edn);
    let made = start.elapsed();
    let analysis = analyse(&spec, &bytes);
    let injected = generated.anomaly.unwrap();
    assert_eq!(analysis.failures, [injected.key.clone().unwrap()]);
    let (_, failed) = analysis.results.iter().find(|(k, _)| Some(k) == injected.key.as_ref()).unwrap();
    assert_eq!(failed.op.as_ref().unwrap().index, injected.index);
    eprintln!(
        "{} ops ({} MB) generated in {made:.2?}, read and checked in {:.2?}",
        generated.ops,
        bytes.len() / 1_000_000,
        start.elapsed() - made
    );
}

#[test]
fn crashed_processes_are_replaced_and_every_invocation_is_counted() {
    let spec = Spec { keys: Some(3), ..spec("cas-register", None, 4) };
    let (bytes, generated) = generated(&spec, Format::Edn);
    let ops = read::RawOp::read(&bytes, "generated", None).unwrap();
    assert_eq!(ops.len() as u64, generated.ops);
    let field = |op: &read::RawOp, key| op.value.get(key).cloned().unwrap_or(Value::Nil);
    let (mut invocations, mut crashed) = (0, Vec::new());
    for op in &ops {
        let process = field(op, "process");
        match field(op, "type").as_keyword() {
            Some("invoke") => {
                invocations += 1;
                assert!(!crashed.contains(&process), "a crashed process invokes again: {}", op.value);
            }
            Some("info") if process.as_i64().is_some() => crashed.push(process),
            _ => {}
        }
    }
    assert_eq!(invocations, spec.ops);
    assert!(!crashed.is_empty());
    // 4 processes on each of 3 keys: a crashed process p comes back as p + 12.
    for p in ops.iter().filter_map(|op| field(op, "process").as_i64()).filter(|&p| p >= 12) {
        assert!(crashed.contains(&Value::Int(p - 12)), "process {p} replaces no crashed process");
    }
}

#[test]
fn unique_histories_write_each_value_once_and_the_unique_engine_decides_them() {
    // Many clients on one key and crashed operations: hard for the searches, and
    // decided by the unique-value engine, which must find the injected anomaly where
    // it was injected. (Double-apply enqueues or adds a value twice, and lost-write
    // may lose the only write of a value: the engine must still be exact, or decline.)
    let mut decided = 0;
    for (name, anomalies) in models() {
        if !["register", "cas-register", "set", "unordered-queue", "fifo-queue", "kv"].contains(&name) {
            continue;
        }
        for anomaly in [None].into_iter().chain(anomalies.iter().copied().map(Some)) {
            for keys in keyings() {
                let spec =
                    Spec { processes: 12, crash_rate: 0.05, unique: true, anomaly, ..spec(name, keys, 3) };
                let (bytes, generated) = generated(&spec, Format::Edn);
                let analysis = analyse(&spec, &bytes);
                let all = if analysis.results.is_empty() {
                    vec![&analysis]
                } else {
                    analysis.results.iter().map(|(_, a)| a).collect()
                };
                let analyzers: Vec<&str> = all.iter().map(|a| a.analyzer).collect();
                decided += analyzers.iter().filter(|&&a| a == "unique").count();
                match generated.anomaly {
                    None => assert_eq!(analysis.valid, Validity::Valid, "{spec:?}"),
                    Some(injected) => {
                        assert_eq!(analysis.valid, Validity::Invalid, "{spec:?}");
                        let failed = all.iter().find(|a| a.valid == Validity::Invalid).unwrap();
                        assert_eq!(failed.op.as_ref().map(|op| op.index), Some(injected.index), "{spec:?}");
                    }
                }
                // Without an anomaly every written value is distinct: the engine decides every key.
                if anomaly.is_none() {
                    assert!(analyzers.iter().all(|&a| a == "unique"), "{spec:?}: {analyzers:?}");
                }
            }
        }
    }
    eprintln!("{decided} keys decided by the unique-value engine");
}

/// A Jepsen queue test's history: distinct values, 20 clients on one fifo queue, 0.5 %
/// of the operations crashed, about half of the crashed dequeues having taken an
/// element (recorded, as Jepsen records them, with nil). The unique-value engine
/// decides it valid, and with an element dequeued twice injected, invalid exactly
/// there; read as Knossos reads nil, the crashed dequeues cannot have taken
/// anything, and the honest history is not linearizable.
#[test]
fn a_fifo_queue_whose_crashed_dequeues_took_elements_is_decided_exactly() {
    for anomaly in [None, Some(Anomaly::StaleRead)] {
        let spec = Spec {
            model: "fifo-queue".into(),
            processes: 20,
            ops: 20_000,
            crash_rate: 0.005,
            unique: true,
            anomaly,
            seed: 5,
            ..Spec::default()
        };
        let (bytes, generated) = generated(&spec, Format::Edn);
        let ops = read::RawOp::read(&bytes, "generated", None).unwrap();
        let crashed_dequeues = ops
            .iter()
            .filter(|op| {
                op.value.get("type") == Some(&Value::keyword("info"))
                    && op.value.get("f") == Some(&Value::keyword("dequeue"))
                    && op.value.get("value") == Some(&Value::Nil)
            })
            .count();
        assert!(crashed_dequeues > 20, "{crashed_dequeues} crashed dequeues");
        let analysis = analyse(&spec, &bytes);
        assert_eq!(analysis.analyzer, "unique", "{spec:?}");
        match generated.anomaly {
            None => assert_eq!(analysis.valid, Validity::Valid, "{spec:?}"),
            Some(injected) => {
                assert_eq!(analysis.valid, Validity::Invalid, "{spec:?}");
                assert_eq!(analysis.op.as_ref().map(|op| op.index), Some(injected.index), "{spec:?}");
            }
        }
        if anomaly.is_none() {
            let options = ModelOptions::default().nil_reads(NilReads::Absent);
            let literal = model::builtin("fifo-queue", &options).unwrap();
            assert_eq!(analyse_with(&literal, &spec, &bytes).valid, Validity::Invalid);
        }
    }
}
