//! Shrinking: every core is checked here independently of the shrinker's own
//! bookkeeping. Its ops are printed as EDN, read back, and checked (invalid); then
//! each of its operations (paired here, from the printed ops) is removed in turn,
//! and the rest checked again (each must be linearizable): 1-minimal by
//! definition. Random histories are judged by the brute-force oracle instead.

mod common;
#[path = "common/oracle.rs"]
mod oracle;

use knossos_rs::generate::{self, Anomaly, OutFormat, Spec};
use knossos_rs::model::{self, ModelOptions, NilReads};
use knossos_rs::partition::Independent;
use knossos_rs::read::{self, RawOp};
use knossos_rs::shrink::{shrink, Core};
use knossos_rs::{check, report, History, Model, Options, Validity, Value};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// The core's ops as the command line prints them.
fn printed(core: &Core) -> Vec<Value> {
    core.history.ops.iter().map(|op| core.history.op_map(op)).collect()
}

/// The verdict on op maps, read back from their EDN.
fn verdict<M: Model + ?Sized>(model: &M, maps: &[Value]) -> Validity {
    let text: String = maps.iter().map(|m| m.to_edn() + "\n").collect();
    if text.is_empty() {
        return Validity::Valid;
    }
    let ops = read::read_ops(text.as_bytes(), "core.edn", None).unwrap();
    let history =
        History::complete(ops, model).unwrap_or_else(|e| panic!("the core completes: {e:?}\n{text}"));
    check(model, &history, &Options::default()).valid
}

/// The operations of a list of op maps, each as the positions of its ops: an
/// invocation and the next op of its process, if that completes it.
fn operations(maps: &[Value]) -> Vec<Vec<usize>> {
    let kind = |m: &Value| m.get("type").and_then(Value::as_keyword).unwrap().to_string();
    let mut operations = Vec::new();
    let mut paired = vec![false; maps.len()];
    for (i, m) in maps.iter().enumerate() {
        if paired[i] {
            continue;
        }
        assert_eq!(kind(m), "invoke", "a core holds whole operations: {}", m.to_edn());
        let process = m.get("process");
        let next = (i + 1..maps.len()).find(|&j| maps[j].get("process") == process);
        match next.filter(|&j| kind(&maps[j]) != "invoke") {
            Some(j) => {
                paired[j] = true;
                operations.push(vec![i, j]);
            }
            None => operations.push(vec![i]),
        }
    }
    operations
}

/// Asserts that the printed core is invalid, and that without any one of its
/// operations it is linearizable.
fn assert_minimal<M: Model + ?Sized>(model: &M, core: &Core, what: &str) {
    let maps = printed(core);
    assert_eq!(verdict(model, &maps), Validity::Invalid, "{what}: the core is invalid");
    let operations = operations(&maps);
    assert_eq!(operations.len(), core.history.operations.len(), "{what}");
    for operation in &operations {
        let rest: Vec<Value> =
            maps.iter().enumerate().filter(|(i, _)| !operation.contains(i)).map(|(_, m)| m.clone()).collect();
        assert_eq!(
            verdict(model, &rest),
            Validity::Valid,
            "{what}: without op {} the core is still invalid",
            maps[operation[0]].to_edn()
        );
    }
}

/// The failing op of an analysis, or of its first failing key.
fn failing_index(analysis: &knossos_rs::Analysis) -> u64 {
    let failing = analysis.results.iter().map(|(_, a)| a).find(|a| a.valid == Validity::Invalid);
    failing.unwrap_or(analysis).op.as_ref().expect("an invalid analysis names its op").index
}

#[test]
fn every_invalid_corpus_history_shrinks_to_a_minimal_core() {
    let Some(dir) = common::corpus() else { return };
    let mut shrunk = 0;
    for entry in common::manifest(&dir).into_iter().filter(|e| !e.expected) {
        let model = entry.model();
        let history = History::read(&entry.path, None, &model).unwrap();
        let result = shrink(&model, &history, &Options::default());
        assert_eq!(result.analysis.valid, Validity::Invalid, "{}", entry.name);
        let core = result.core.unwrap_or_else(|| panic!("{}: an invalid history has a core", entry.name));
        assert!(core.minimal, "{}: proven 1-minimal without a time limit", entry.name);
        assert_minimal(&model, &core, &entry.name);
        // The context fails at the check's failing op, and holds the core.
        let context: Vec<Value> = core.context.ops.iter().map(|op| core.context.op_map(op)).collect();
        let text: String = context.iter().map(|m| m.to_edn() + "\n").collect();
        let ops = read::read_ops(text.as_bytes(), "context.edn", None).unwrap();
        let again = check(&model, &History::complete(ops, &model).unwrap(), &Options::default());
        assert_eq!(again.valid, Validity::Invalid, "{}", entry.name);
        assert_eq!(failing_index(&again), failing_index(&result.analysis), "{}", entry.name);
        let indices: Vec<u64> = core.context.ops.iter().map(|op| op.index).collect();
        assert!(core.indices().iter().all(|i| indices.contains(i)), "{}", entry.name);
        if entry.name.ends_with("/rethink-fail.edn") {
            // The read of 3, and the writes of 3 and then 4 that completed before it began.
            assert_eq!(indices, [160, 161, 168, 169, 215, 217]);
            assert!(
                core.history.operations.len() <= 12,
                "rethink-fail: {} operations",
                core.history.operations.len()
            );
        }
        shrunk += 1;
    }
    assert_eq!(shrunk, 50);
}

#[test]
fn a_stale_read_of_the_initial_value_keeps_the_write_it_missed() {
    // A register holds 0; writes of 1 and 2 complete, and a read that begins later
    // returns 0. Ops 10 on are invoked after the failing read completed.
    let log = r#"
{:process 0, :type :invoke, :f :write, :value 1}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :ok, :f :read, :value 1}
{:process :nemesis, :type :info, :f :start}
{:process 2, :type :invoke, :f :write, :value 2}
{:process 2, :type :info, :f :write, :value 2}
{:process 0, :type :invoke, :f :write, :value 3}
{:process 0, :type :fail, :f :write, :value 3}
{:process 3, :type :invoke, :f :read, :value nil}
{:process 3, :type :ok, :f :read, :value 0}
{:process 0, :type :invoke, :f :read, :value nil}
{:process 0, :type :ok, :f :read, :value 1}
"#;
    let model =
        model::builtin("cas-register", &ModelOptions { init: Some(Value::Int(0)), ..Default::default() })
            .unwrap();
    let history = History::complete(read::read_ops(log.as_bytes(), "h.edn", None).unwrap(), &model).unwrap();
    let core = shrink(&model, &history, &Options::default()).core.unwrap();
    // The write of 1 and the read of 0; not the crashed write, the failed one, the
    // nemesis, nor what came after.
    assert_eq!(core.indices(), [0, 2, 9, 10]);
    assert_eq!((core.history.operations.len(), core.of, core.key.clone()), (2, 5, None));
    assert!(core.minimal);
    assert_minimal(&model, &core, "stale read");
}

#[test]
fn a_linearizable_history_has_no_core() {
    let log =
        "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}\n";
    let model = model::builtin("cas-register", &ModelOptions::default()).unwrap();
    let history = History::complete(read::read_ops(log.as_bytes(), "h.edn", None).unwrap(), &model).unwrap();
    let result = shrink(&model, &history, &Options::default());
    assert_eq!(result.analysis.valid, Validity::Valid);
    assert!(result.core.is_none());
}

#[test]
fn an_injected_stale_read_in_an_independent_history_shrinks_to_its_key() {
    let spec = Spec {
        model: "cas-register".into(),
        ops: 20_000,
        keys: Some(20),
        anomaly: Some(Anomaly::StaleRead),
        nemesis: true,
        seed: 3,
        ..Spec::default()
    };
    let mut edn = Vec::new();
    let injected = generate::generate(&spec, OutFormat::Edn, &mut edn).unwrap().anomaly.unwrap();
    let model = Independent(model::builtin("cas-register", &Default::default()).unwrap());
    let history = History::complete(read::read_ops(&edn, "g.edn", None).unwrap(), &model).unwrap();
    let result = shrink(&model, &history, &Options::default());
    let core = result.core.unwrap();
    assert_eq!(core.key, injected.key);
    assert!(core.indices().contains(&injected.index));
    assert!(core.history.operations.len() <= 4, "{} operations", core.history.operations.len());
    assert!(core.minimal);
    assert_minimal(&model, &core, "injected stale read");
    // The check's own core is the same.
    let analysis = check(&model, &history, &Options { shrink: true, ..Default::default() });
    assert_eq!(analysis.core.map(|c| c.indices), Some(core.indices()));
}

#[test]
fn a_core_cut_short_by_the_time_limit_is_invalid_and_says_so() {
    let Some(dir) = common::corpus() else { return };
    let model = model::builtin("mutex", &ModelOptions::default()).unwrap();
    let history = History::read(&dir.join("knossos/mutex/bad/etcd.edn"), None, &model).unwrap();
    // A check that is decided, with no time left to shrink it.
    let analysis = check(&model, &history, &Options::default());
    let options = Options { time_limit: Some(std::time::Duration::ZERO), ..Default::default() };
    let core = knossos_rs::shrink::core(&model, &history, &analysis, &options).unwrap();
    assert!(!core.minimal);
    assert_eq!(core.checks, 0);
    assert_eq!(verdict(&model, &printed(&core)), Validity::Invalid);
}

/// Random small invalid histories: the oracle finds each core invalid and every
/// one-operation removal linearizable, and each context failing where the whole
/// history does.
#[test]
fn random_cores_are_minimal_per_the_oracle() {
    let workloads = [
        oracle::register("cas-register", NilReads::Unknown),
        oracle::register("register", NilReads::Absent),
        oracle::mutex(),
        oracle::set(),
        oracle::queue("fifo-queue", NilReads::Unknown),
        oracle::kv(NilReads::Unknown),
    ];
    for (n, w) in workloads.iter().enumerate() {
        let model = w.model();
        let mut rng = StdRng::seed_from_u64(17 + n as u64);
        let mut invalid = 0;
        for case in 0..300 {
            // Crash-heavy histories now and then: the oracle is slow on them.
            let shape = if case % 20 == 0 { oracle::CRASHING } else { oracle::ORDINARY };
            let log = oracle::generate(&mut rng, w, &model, shape.processes, shape.ops, shape.crashes);
            let Some(failing) = oracle::oracle(&model, &log) else { continue };
            invalid += 1;
            let raw =
                log.iter().map(|v| RawOp { value: v.clone(), line: 1, column: 1, span: 0..0 }).collect();
            let history = History::complete(raw, &model).unwrap();
            let shown = || log.iter().map(Value::to_edn).collect::<Vec<_>>().join("\n");
            let core = shrink(&model, &history, &Options::default())
                .core
                .unwrap_or_else(|| panic!("{} case {case}: no core\n{}", w.model, shown()));
            assert!(core.minimal);
            // Positions in the log: the history's ops are the log's, in order.
            let kept: Vec<Value> = core.positions.iter().map(|&p| log[p].clone()).collect();
            let what = || format!("{} case {case}: core {:?} of\n{}", w.model, core.positions, shown());
            assert!(oracle::oracle(&model, &kept).is_some(), "{}", what());
            // The context fails where the whole history (or the core's key) does, and
            // holds the core.
            let of_key = |p: &usize| core.key.as_ref().is_none_or(|k| log[*p].get("key") == Some(k));
            let key: Vec<usize> = (0..log.len()).filter(of_key).collect();
            let failing = match core.key {
                None => failing,
                Some(_) => {
                    let maps: Vec<Value> = key.iter().map(|&p| log[p].clone()).collect();
                    key[oracle::oracle(&model, &maps).expect("the core's key is invalid")]
                }
            };
            let context: Vec<usize> = core.context.ops.iter().map(|op| op.index as usize).collect();
            let maps: Vec<Value> = context.iter().map(|&p| log[p].clone()).collect();
            assert_eq!(oracle::oracle(&model, &maps).map(|i| context[i]), Some(failing), "{}", what());
            assert!(core.positions.iter().all(|p| context.contains(p)), "{}", what());
            for operation in operations(&kept) {
                // A crashed operation is never needed (see the shrink module).
                assert_eq!(operation.len(), 2, "a crashed operation in {}", what());
                let rest: Vec<Value> = kept
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !operation.contains(i))
                    .map(|(_, m)| m.clone())
                    .collect();
                assert!(oracle::oracle(&model, &rest).is_none(), "removing {operation:?}: {}", what());
            }
        }
        assert!(invalid > 50, "{}: only {invalid} invalid histories", w.model);
    }
}

fn knossos(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_knossos-rs"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory under the system's temporary directory.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("knossos-rs-shrink-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_shrink_command_writes_a_core_that_fails_again() {
    let dir = scratch("command");
    let core = dir.join("core.edn");
    let out =
        knossos(&["shrink", "-m", "cas-register", "fixtures/stale-read.edn", "-o", core.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let said = text(&out.stderr);
    assert!(said.starts_with("fixtures/stale-read.edn: kept "), "{said}");
    assert!(said.contains(" operations (") && said.contains("; core is 1-minimal ("), "{said}");
    // Each op as it was read: the same map as the fixture's op with that index.
    let original = read::read_path(std::path::Path::new("fixtures/stale-read.edn"), None).unwrap();
    let written = read::read_path(&core, None).unwrap();
    assert!(!written.is_empty() && written.len() < original.len());
    for op in &written {
        let index = op.value.get("index").and_then(Value::as_i64).unwrap();
        let same = original
            .iter()
            .enumerate()
            .find(|(i, o)| o.value.get("index").and_then(Value::as_i64).unwrap_or(*i as i64) == index);
        let mut expected = same.unwrap().1.value.clone();
        if expected.get("index").is_none() {
            if let Value::Map(entries) = &mut expected {
                entries.push((Value::keyword("index"), Value::Int(index)));
            }
        }
        assert_eq!(op.value, expected);
    }
    // Checking the core gives a failure again, at one of its ops.
    let again = knossos(&["check", "-m", "cas-register", core.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    let op = read::parse_edn(&text(&again.stdout)).unwrap().get("op").cloned().unwrap();
    assert!(written.iter().any(|w| w.value == op));

    // The context: the failure's story, failing at the same op as the whole history.
    let story = knossos(&["shrink", "-m", "cas-register", "--context", "fixtures/stale-read.edn"]);
    assert_eq!(story.status.code(), Some(1));
    assert!(text(&story.stderr).contains("; wrote its context: 3 operations"), "{}", text(&story.stderr));
    let context = dir.join("context.edn");
    std::fs::write(&context, &story.stdout).unwrap();
    let again = knossos(&["check", "-m", "cas-register", context.to_str().unwrap()]);
    let whole = knossos(&["check", "-m", "cas-register", "fixtures/stale-read.edn"]);
    let op = |o: &std::process::Output| read::parse_edn(&text(&o.stdout)).unwrap().get("op").cloned();
    assert_eq!(op(&again), op(&whole));

    // Nothing to shrink in a linearizable history; an unreadable one is an input error.
    let valid = knossos(&["shrink", "-m", "cas-register", "fixtures/valid.edn"]);
    assert_eq!(valid.status.code(), Some(0));
    assert!(valid.stdout.is_empty());
    assert!(text(&valid.stderr).contains("linearizable: nothing to shrink"));
    let missing = knossos(&["shrink", "-m", "cas-register", "no-such-file.edn"]);
    assert_eq!(missing.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_json_history_shrinks_to_json_lines() {
    let dir = scratch("json");
    let history = dir.join("history.json");
    let generated =
        knossos(&["generate", "--ops", "2000", "--keys", "5", "--anomaly", "stale-read", "-f", "json"]);
    std::fs::write(&history, &generated.stdout).unwrap();
    let out = knossos(&["shrink", "-m", "cas-register", "--independent", history.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(" of key "), "{}", text(&out.stderr));
    let core = text(&out.stdout);
    assert!(core.lines().all(|l| l.starts_with("{\"")), "{core}");
    let written = dir.join("core.json");
    std::fs::write(&written, &core).unwrap();
    let again = knossos(&["check", "-m", "cas-register", "--independent", written.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    // And as EDN on request.
    let edn =
        knossos(&["shrink", "-m", "cas-register", "--independent", "-f", "edn", history.to_str().unwrap()]);
    assert!(text(&edn.stdout).lines().all(|l| l.starts_with("{:")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_shows_the_core_for_people_and_on_request() {
    let args = ["check", "-m", "cas-register", "fixtures/stale-read.edn"];
    let plain = knossos(&args);
    assert!(!text(&plain.stdout).contains(":core"), "EDN is Knossos's unless asked");
    let asked = knossos(&[&args[..], &["--shrink"]].concat());
    let analysis = read::parse_edn(&text(&asked.stdout)).unwrap();
    assert!(matches!(analysis.get("core"), Some(Value::Vector(ops)) if !ops.is_empty()));
    assert_eq!(analysis.get("core-minimal?"), Some(&Value::Bool(true)));
    let words = knossos(&[&args[..], &["-f", "text"]].concat());
    let words = text(&words.stdout);
    let second = words.lines().nth(1).unwrap_or("");
    assert!(second.starts_with("  The core: "), "{words}");
    let without = knossos(&[&args[..], &["-f", "text", "--no-shrink"]].concat());
    assert!(!text(&without.stdout).contains("The core"));
}

/// Every invalid corpus history's report, with its core first: well-formed, and the
/// words start with the core.
#[test]
fn reports_show_the_core_first() {
    let Some(dir) = common::corpus() else { return };
    for entry in common::manifest(&dir).into_iter().filter(|e| !e.expected) {
        let model = entry.model();
        let history = History::read(&entry.path, None, &model).unwrap();
        let analysis = check(&model, &history, &Options { shrink: true, ..Default::default() });
        let core = analysis.core.as_ref().unwrap();
        let words = report::explain(&history, &analysis).unwrap();
        assert!(words.starts_with("The core: "), "{}: {words}", entry.name);
        // A line per operation of the core, after the first.
        let listed = words.lines().skip(1).take_while(|l| l.starts_with("  ")).count();
        assert_eq!(listed, core.operations, "{words}");
        let elapsed = std::time::Duration::ZERO;
        let page = report::html(
            &entry.name,
            &[report::Entry { name: entry.name.clone(), history: &history, analysis: &analysis, elapsed }],
            &[],
        );
        let body = page.strip_prefix("<!DOCTYPE html>").unwrap();
        roxmltree::Document::parse(body).unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        let core_at = page.find("<h3>The core</h3>").unwrap();
        assert!(core_at < page.find("<h3>The whole history</h3>").unwrap());
        assert!(page[core_at..].contains("<svg"), "the core's own diagram");
    }
}
