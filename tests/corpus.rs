//! The external corpus: real histories with verdicts from independent checkers.
//!
//! Every history whose model is built in gets its MANIFEST verdict, and each
//! invalid Knossos history names the same failing op as Knossos does.

mod common;

use knossos_rs::model::{self, ModelOptions};
use knossos_rs::read;
use knossos_rs::{check, Algorithm, Analysis, History, Options, Validity, Value};
use std::time::Duration;

const ALGORITHMS: [Algorithm; 3] = [Algorithm::Wgl, Algorithm::Linear, Algorithm::Competition];

/// Checks one file; `init` is the `--init` EDN, if any.
fn analyse_with(path: &std::path::Path, model_name: &str, init: Option<&str>, options: &Options) -> Analysis {
    let init = init.map(|i| Value::from_edn(i).unwrap());
    let model = model::builtin(model_name, &ModelOptions::default().init(init)).unwrap();
    let ops = read::RawOp::read_path(path, None).unwrap_or_else(|e| panic!("{e}"));
    let history = History::complete(ops, &model).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    check(&model, &history, options)
}

/// Every history of the manifest gets its verdict from `algorithm`; with
/// `may_give_up`, `:unknown` within a 1 s time limit is accepted too (else the
/// limit is only a guard against a hung test). Returns how many checks gave up.
fn every_history(algorithm: Algorithm, may_give_up: bool) -> usize {
    let limit = Duration::from_secs(if may_give_up { 1 } else { 60 });
    let Some(dir) = common::corpus() else { return 0 };
    let (mut checked, mut gave_up) = (0, 0);
    for entry in common::manifest(&dir) {
        let expected = if entry.expected { Validity::Valid } else { Validity::Invalid };
        // With the manifest's initial value; the registers also without one (nil):
        // their histories start with writes, so the verdict must not depend on it.
        let inits = match (entry.init.as_str(), entry.model.as_str()) {
            ("-" | "nil", _) => vec![None],
            (init, "cas-register") => vec![Some(init), None],
            (init, _) => vec![Some(init)],
        };
        // Keyed histories both split by key and whole.
        let partitions: &[bool] = if entry.partition == "no" { &[true] } else { &[true, false] };
        for init in inits {
            for &partition in partitions {
                let options = Options::default().algorithm(algorithm).partition(partition).time_limit(limit);
                let analysis = analyse_with(&entry.path, &entry.model, init, &options);
                checked += 1;
                if may_give_up && analysis.valid == Validity::Unknown {
                    gave_up += 1;
                    eprintln!(
                        "{algorithm:?} gave up on {} (--init {init:?}, partition {partition})",
                        entry.name
                    );
                    continue;
                }
                let what =
                    format!("{} with --init {init:?}, partition {partition} ({algorithm:?})", entry.name);
                assert_eq!(analysis.valid, expected, "{what}");
                // Every analysis reads back as EDN, with a general reader and with ours.
                let edn = analysis.to_value().to_edn();
                clojure_reader::edn::read_string(&edn).unwrap_or_else(|e| panic!("{what}: {e:?}"));
                assert_eq!(Value::from_edn(&edn).unwrap(), analysis.to_value(), "{what}");
            }
        }
    }
    // 120 Knossos cas-register histories twice, multi-register and mutex once,
    // 50 etcd logs once, 4 kv histories split and whole.
    assert_eq!(checked, 240 + 2 + 50 + 8);
    gave_up
}

#[test]
fn every_history_gets_its_verdict() {
    every_history(Algorithm::Competition, false);
}

#[test]
fn every_history_gets_its_verdict_from_wgl() {
    every_history(Algorithm::Wgl, false);
}

#[test]
fn linear_is_never_wrong_and_rarely_gives_up() {
    // Just-in-time linearization is exponential in crashed operations; on a few
    // histories (the memstress ones, kv whole: 7 to 10 of 300 checks here, more on a
    // busy machine) it may stop at its time limit, but never answers wrongly. The
    // bound is loose on purpose: it catches an engine that no longer decides, not a
    // slow machine.
    let gave_up = every_history(Algorithm::Linear, true);
    assert!(gave_up <= 30, "linear gave up on {gave_up} of 300 checks");
}

/// What is wrong with a linearization (invocation `:index`es) of `history`, if
/// anything: an index twice or of no operation, a step the model refuses, real
/// time broken (an operation after one that completed before it was invoked), or
/// an `:ok` operation (of those `oks` picks) missing.
fn witness_fault(
    model: &knossos_rs::model::DynModel,
    history: &History,
    order: &[u64],
    oks: impl Fn(&knossos_rs::history::Operation) -> bool,
) -> Option<String> {
    let by_index: std::collections::HashMap<u64, usize> =
        history.operations.iter().enumerate().map(|(i, o)| (history.ops[o.invoke].index, i)).collect();
    let mut seen = vec![false; history.operations.len()];
    let mut ops = Vec::with_capacity(order.len());
    for &index in order {
        let Some(&i) = by_index.get(&index) else { return Some(format!("{index} is no operation")) };
        if std::mem::replace(&mut seen[i], true) {
            return Some(format!("{index} twice"));
        }
        ops.push(&history.operations[i]);
    }
    // Real time: no operation completes before an earlier one in the order is invoked.
    let mut earliest_later = usize::MAX;
    for (k, o) in ops.iter().enumerate().rev() {
        if earliest_later < o.invoke {
            return Some(format!("an operation after {} completed before it was invoked", order[k]));
        }
        earliest_later = earliest_later.min(o.complete.unwrap_or(usize::MAX));
    }
    let mut state = model.init();
    for (k, o) in ops.iter().enumerate() {
        let Some(next) = model.step(&state, &o.f, &o.value) else {
            return Some(format!("{} is illegal from {}", order[k], state.to_edn()));
        };
        state = next;
    }
    let missing =
        history.operations.iter().zip(&seen).find(|(o, seen)| o.complete.is_some() && oks(o) && !**seen);
    missing.map(|(o, _)| format!(":ok operation {} missing", history.ops[o.invoke].index))
}

#[test]
fn valid_histories_have_witnesses() {
    let Some(dir) = common::corpus() else { return };
    let mut checked = 0;
    for entry in common::manifest(&dir).into_iter().filter(|e| e.expected) {
        let model = entry.model();
        let ops = read::RawOp::read_path(&entry.path, None).unwrap();
        let history = History::complete(ops, &model).unwrap();
        for algorithm in ALGORITHMS {
            let limit = Some(Duration::from_secs(if algorithm == Algorithm::Linear { 1 } else { 60 }));
            let options = Options::default().algorithm(algorithm).time_limit(limit).witness(true);
            let analysis = check(&model, &history, &options);
            if analysis.valid == Validity::Unknown && algorithm == Algorithm::Linear {
                continue; // It may give up on a few (see above).
            }
            let what = format!("{} ({algorithm:?})", entry.name);
            assert_eq!(analysis.valid, Validity::Valid, "{what}");
            let mut keys: Vec<(&Analysis, Option<&Value>)> =
                analysis.results.iter().map(|(k, a)| (a, Some(k))).collect();
            if keys.is_empty() {
                keys.push((&analysis, None));
            }
            for (a, key) in keys {
                let order = a.linearization.as_ref().unwrap_or_else(|| panic!("{what}: no linearization"));
                let of_key = |o: &knossos_rs::history::Operation| {
                    key.is_none_or(|k| {
                        model.partition_key(history.ops[o.invoke].fields()).as_ref() == Some(k)
                    })
                };
                if let Some(fault) = witness_fault(&model, &history, order, of_key) {
                    panic!("{what}: key {key:?}: {fault}");
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked}");
}

#[test]
fn invalid_knossos_histories_name_knossos_failing_op() {
    let Some(dir) = common::corpus() else { return };
    // (file, failing op index, its process, previous ok's index): Knossos's answers.
    let expected: &[(&str, u64, i64, Option<u64>)] = &[
        ("bad-analysis", 14, 21, Some(11)),
        ("cas-failure", 491, 70, Some(478)),
        ("immediate-failure", 3, 1, None),
        ("rethink-fail-minimal", 4, 1, Some(1)),
        ("rethink-fail", 217, 12, Some(183)),
        ("rethink-fail-smaller", 217, 12, Some(183)),
        ("mongodb-v0-ack-rollback-6", 811, 0, Some(531)),
    ];
    for &(name, index, process, previous) in expected {
        let path = dir.join(format!("knossos/cas-register/bad/{name}.edn"));
        for (init, algorithm) in [Some("0"), None].into_iter().flat_map(|i| ALGORITHMS.map(|a| (i, a))) {
            let options = Options::default().algorithm(algorithm);
            let a = analyse_with(&path, "cas-register", init, &options);
            assert_eq!(a.valid, Validity::Invalid, "{name}");
            let op = a.op.as_ref().unwrap();
            assert_eq!(op.index, index, "{name}: failing op ({algorithm:?})");
            assert_eq!(op.map.get("process"), Some(&Value::Int(process)), "{name}");
            assert_eq!(op.map.get("type"), Some(&Value::keyword("ok")), "{name}");
            assert_eq!(a.previous_ok.as_ref().map(|o| o.index), previous, "{name}: previous ok");
            assert!(!a.final_paths.is_empty() && a.final_paths.len() <= 10, "{name}");
        }
    }
}

#[test]
fn final_paths_are_bounded() {
    let Some(dir) = common::corpus() else { return };
    let path = dir.join("knossos/cas-register/bad/cas-failure.edn");
    let model = model::builtin("cas-register", &ModelOptions::default().init(Value::Int(0))).unwrap();
    let history = History::complete(read::RawOp::read_path(&path, None).unwrap(), &model).unwrap();
    for max_paths in [0, 1, 3] {
        let a = check(&model, &history, &Options::default().max_paths(max_paths));
        assert!(a.final_paths.len() <= max_paths);
        let (count, _) = a.final_paths_count.unwrap();
        assert!(count >= a.final_paths.len());
    }
}

/// Runs the command line; returns its exit status and each file's verdict, from the
/// EDN line it printed for the file.
fn batch(args: &[&str], files: &[String]) -> (Option<i32>, Vec<(String, Value)>) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_knossos-rs"))
        .args(args)
        .args(files)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let verdicts = stdout
        .lines()
        .map(|line| {
            let analysis = Value::from_edn(line).unwrap_or_else(|e| panic!("{e:?}: {line}"));
            (analysis.get("file").unwrap().to_str(), analysis.get("valid?").unwrap().clone())
        })
        .collect();
    (out.status.code(), verdicts)
}

#[test]
fn batch_runs_give_every_file_its_verdict() {
    let Some(dir) = common::corpus() else { return };
    let manifest = common::manifest(&dir);
    let path = |e: &common::Entry| e.path.to_string_lossy().into_owned();
    // The etcd logs and a generated Jepsen store (store/<test>/<run>/history.edn) of
    // cas-register runs, half with an injected anomaly, in one run.
    let store = std::env::temp_dir().join(format!("knossos-rs-corpus-store-{}", std::process::id()));
    let mut expected: Vec<(String, bool)> = Vec::new();
    for (run, anomaly) in [None, Some("stale-read"), None, Some("lost-write")].into_iter().enumerate() {
        let seed = run.to_string();
        let mut args = vec!["generate", "-m", "cas-register", "--ops", "1000", "--seed", &seed];
        args.extend(anomaly.map(|a| ["--anomaly", a]).into_iter().flatten());
        let generated =
            std::process::Command::new(env!("CARGO_BIN_EXE_knossos-rs")).args(&args).output().unwrap();
        assert!(generated.status.success());
        let file = store.join(format!("register-{run}")).join("20261122T120000.000Z").join("history.edn");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, generated.stdout).unwrap();
        expected.push((file.to_string_lossy().into_owned(), anomaly.is_none()));
    }
    let etcd: Vec<&common::Entry> =
        manifest.iter().filter(|e| e.name.starts_with("porcupine/etcd")).collect();
    assert_eq!(etcd.len(), 50);
    let mut files: Vec<String> = etcd.iter().map(|e| path(e)).collect();
    files.push(store.to_string_lossy().into_owned());
    expected.splice(0..0, etcd.iter().map(|e| (path(e), e.expected)));
    let (status, verdicts) = batch(&["check", "-m", "cas-register", "-q"], &files);
    std::fs::remove_dir_all(&store).unwrap();
    assert_eq!(verdicts.len(), expected.len());
    for ((file, verdict), (expected_file, valid)) in verdicts.iter().zip(&expected) {
        assert_eq!(file, expected_file);
        assert_eq!(verdict, &Value::Bool(*valid), "{file}");
    }
    assert_eq!(status, Some(1), "the worst verdict: not linearizable");

    // Porcupine's kv histories, split by key, in another.
    let kv: Vec<&common::Entry> = manifest.iter().filter(|e| e.model == "kv").collect();
    assert_eq!(kv.len(), 4);
    let (status, verdicts) =
        batch(&["check", "-m", "kv", "--init", "{}", "-q"], &kv.iter().map(|e| path(e)).collect::<Vec<_>>());
    assert_eq!(verdicts.len(), kv.len());
    for ((file, verdict), entry) in verdicts.iter().zip(&kv) {
        assert_eq!(file, &path(entry));
        assert_eq!(verdict, &Value::Bool(entry.expected), "{file}");
    }
    assert_eq!(status, Some(1));
}

/// A history read from its file (op maps read again from the file when printed) is
/// the history read into memory (op maps kept): the same ops and operations, the same
/// op maps, the same analysis.
#[test]
fn a_history_read_from_its_file_is_the_one_read_in_memory() {
    let Some(dir) = common::corpus() else { return };
    for entry in common::manifest(&dir) {
        let model = entry.model();
        let in_memory =
            History::complete(read::RawOp::read_path(&entry.path, None).unwrap(), &model).unwrap();
        let from_file = History::read(&entry.path, None, &model).unwrap();
        let name = &entry.name;
        assert_eq!(from_file.ops.len(), in_memory.ops.len(), "{name}");
        for (i, (a, b)) in from_file.ops.iter().zip(&in_memory.ops).enumerate() {
            assert_eq!((a.index, a.line, a.column, a.kind), (b.index, b.line, b.column, b.kind), "{name}");
            assert_eq!((a.process(), a.fields()), (b.process(), b.fields()), "{name}");
            if i % 7 == 0 || i + 1 == in_memory.ops.len() {
                assert_eq!(from_file.op_map(a), in_memory.op_map(b), "{name}: op {i}");
            }
        }
        let operations = |h: &History| {
            h.operations
                .iter()
                .map(|o| (o.invoke, o.complete, o.f.to_edn(), o.value.to_edn()))
                .collect::<Vec<_>>()
        };
        assert_eq!(operations(&from_file), operations(&in_memory), "{name}");
        let analysis = |h: &History| check(&model, h, &Options::default()).to_value();
        assert_eq!(analysis(&from_file), analysis(&in_memory), "{name}");
    }
}

#[test]
fn histories_with_unique_values_get_their_verdict_from_the_unique_engine() {
    let Some(dir) = common::corpus() else { return };
    let (mut qualified, mut declined) = (Vec::new(), 0);
    for entry in common::manifest(&dir) {
        let model = entry.model();
        let ops = read::RawOp::read_path(&entry.path, None).unwrap();
        let history = History::complete(ops, &model).unwrap();
        let options = Options::default().algorithm(Algorithm::Unique);
        if history.unique_applies(&model, &options).is_err() {
            declined += 1;
            continue;
        }
        let analysis = check(&model, &history, &options);
        let expected = if entry.expected { Validity::Valid } else { Validity::Invalid };
        assert_eq!(analysis.valid, expected, "{}", entry.name);
        // The same failing op as the search's, and a final path to it.
        if expected == Validity::Invalid {
            let wgl = check(&model, &history, &Options::default().algorithm(Algorithm::Wgl));
            // Each failed analysis (the history's, or each failed key's): its op and a final path.
            let failed = |a: &Analysis| -> Vec<(Option<u64>, bool)> {
                let keys = a.results.iter().map(|(_, a)| a).filter(|a| a.valid == Validity::Invalid);
                let all: Vec<&Analysis> = if a.results.is_empty() { vec![a] } else { keys.collect() };
                all.iter().map(|a| (a.op.as_ref().map(|o| o.index), !a.final_paths.is_empty())).collect()
            };
            assert_eq!(failed(&analysis), failed(&wgl), "{}", entry.name);
        }
        qualified.push(entry.name);
    }
    eprintln!("{} corpus histories have unique values ({declined} do not): {qualified:?}", qualified.len());
    assert!(!qualified.is_empty());
}
