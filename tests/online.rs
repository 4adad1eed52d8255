//! The online checker against batch checks of every prefix.
//!
//! Thousands of random histories per model (the differential test's generators)
//! are fed to [`Online`] op by op. After each completion its verdict must be a
//! batch check's of the history so far (pending operations indeterminate), and
//! when invalid it must name the batch's failing op; its analysis must be the
//! batch analysis.

#[path = "common/oracle.rs"]
mod oracle;

use knossos_rs::generate::{self, Anomaly, Spec};
use knossos_rs::model::{self, DynModel, ModelOptions, NilReads};
use knossos_rs::online::{Online, Verdict};
use knossos_rs::read::{self, Format, RawOp};
use knossos_rs::{check, Analysis, Cancel, Cause, History, Options, Validity, Value};
use oracle::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// The batch verdict on a log, in the online checker's terms: the failing op is
/// the first key's when checked key by key.
fn batch(model: &DynModel, log: &[Value]) -> Verdict {
    let raw = log.iter().map(|v| RawOp { value: v.clone(), line: 1, column: 1, span: 0..0 }).collect();
    let history = History::complete(raw, model).unwrap();
    let analysis = check(model, &history, &Options::default());
    match analysis.valid {
        Validity::Valid => Verdict::Valid,
        Validity::Invalid => Verdict::Invalid { op: failing_op(&analysis) },
        Validity::Unknown => panic!("no budget was set"),
    }
}

/// The failing op's index: the analysis's, or the first failing key's.
fn failing_op(analysis: &Analysis) -> u64 {
    let keys = analysis.results.iter().map(|(_, a)| a).filter(|a| a.valid == Validity::Invalid);
    let op = |a: &Analysis| a.op.as_ref().map(|o| o.index);
    op(analysis).or_else(|| keys.filter_map(op).min()).expect("an invalid analysis names its op")
}

/// Feeds `histories` random histories of `w` op by op, comparing each verdict with
/// a batch check of the prefix; returns how many ended valid and invalid.
fn compare(w: &Workload, shape: Shape, seed: u64, histories: usize) -> (usize, usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let model = w.model();
    let (mut valid, mut invalid) = (0, 0);
    for case in 0..histories {
        let log = shape.draw(&mut rng, w, &model);
        let shown = || log.iter().map(Value::to_edn).collect::<Vec<_>>().join("\n");
        let mut online = Online::new(&model);
        let mut last = Verdict::Valid;
        for (i, op) in log.iter().enumerate() {
            let verdict = online.op(op).unwrap();
            if op.get("type") == Some(&Value::keyword("invoke")) {
                // A new invocation cannot precede what has already completed.
                assert_eq!(verdict, last, "{} case {case}, after op {i}\n{}", w.model, shown());
                continue;
            }
            let expected = batch(&model, &log[..=i]);
            assert_eq!(verdict, expected, "{} case {case}, after op {i}\n{}", w.model, shown());
            assert_eq!(online.verdict(), verdict);
            last = verdict;
        }
        match last {
            Verdict::Valid => valid += 1,
            _ => {
                invalid += 1;
                let analysis = online.analysis().unwrap();
                assert_eq!(Verdict::Invalid { op: failing_op(&analysis) }, last, "{}", shown());
            }
        }
    }
    eprintln!("{}: {valid} valid, {invalid} invalid", w.model);
    assert!(valid > histories / 10 && invalid > histories / 10, "valid {valid}, invalid {invalid}");
    (valid, invalid)
}

#[test]
fn registers_online_agree_with_batch_checks_of_each_prefix() {
    compare(&register("cas-register", NilReads::Unknown), ORDINARY, 31, 2000);
    compare(&register("register", NilReads::Unknown), ORDINARY, 32, 1000);
    compare(&register("cas-register", NilReads::Absent), ORDINARY, 33, 1000);
    compare(&register("cas-register", NilReads::Unknown), CRASHING, 34, 1000);
}

#[test]
fn other_models_online_agree_with_batch_checks_of_each_prefix() {
    compare(&mutex(), ORDINARY, 35, 800);
    compare(&multi_register(), ORDINARY, 36, 800);
    compare(&set(), ORDINARY, 37, 800);
    compare(&queue("unordered-queue", NilReads::Unknown), ORDINARY, 38, 800);
    compare(&queue("fifo-queue", NilReads::Unknown), ORDINARY, 39, 800);
    compare(&kv(NilReads::Unknown), ORDINARY, 40, 800);
    compare(&queue("fifo-queue", NilReads::Unknown), CRASHING, 41, 500);
    compare(&set(), CRASHING, 42, 500);
}

/// Ops fed as a history file holds them, the nemesis's and orphan `:info`s among
/// them: each verdict is the batch check's of the log so far, which keeps those ops
/// out of the search, and so is the analysis.
#[test]
fn op_maps_are_fed_as_a_batch_check_reads_them() {
    let spec = Spec {
        model: "cas-register".into(),
        ops: 300,
        anomaly: Some(Anomaly::StaleRead),
        seed: 7,
        ..Spec::default()
    };
    let mut edn = Vec::new();
    let injected = generate::generate(&spec, Format::Edn, &mut edn).unwrap().anomaly.unwrap();
    let mut log: Vec<Value> =
        read::RawOp::read(&edn, "g.edn", None).unwrap().into_iter().map(|o| o.value).collect();
    // The nemesis's ops, and an :info of a process with nothing pending (as Jepsen
    // logs for some clients), all before the stale read.
    assert!(injected.index > 200);
    for (at, op) in [
        (200, "{:process :nemesis, :type :info, :f :stop, :value nil}"),
        (10, "{:process :nemesis, :type :info, :f :start, :value [:isolated \"n1\"]}"),
        (1, "{:process 9, :type :info, :f :read, :value nil}"),
    ] {
        log.insert(at, Value::from_edn(op).unwrap());
    }
    for (i, op) in log.iter_mut().enumerate() {
        if let Value::Map(entries) = op {
            entries.retain(|(k, _)| k.as_keyword() != Some("index"));
            entries.push((Value::keyword("index"), Value::Int(i as i64)));
        }
    }
    let model = model::builtin("cas-register", &Default::default()).unwrap();
    let mut online = Online::new(&model);
    let mut failed = None;
    for (i, op) in log.iter().enumerate() {
        let verdict = online.op(op).unwrap();
        if op.get("type") != Some(&Value::keyword("invoke")) {
            assert_eq!(verdict, batch(&model, &log[..=i]), "after op {i}");
        }
        if let (None, Verdict::Invalid { op }) = (failed, verdict) {
            failed = Some(op);
        }
    }
    // The stale read, three ops later for those inserted.
    assert_eq!(failed, Some(injected.index + 3));
    let raw = log.iter().map(|v| RawOp { value: v.clone(), line: 0, column: 0, span: 0..0 }).collect();
    let whole = check(&model, &History::complete(raw, &model).unwrap(), &Options::default());
    assert_eq!(online.analysis().unwrap().to_value(), whole.to_value());
    // What no op map is, said as such.
    for bad in ["[1 2]", "{:type :invoke, :f :read}", "{:process 3, :type :done, :f :read}"] {
        let e = online.op(&Value::from_edn(bad).unwrap()).unwrap_err();
        assert!(e.to_string().contains(bad), "{bad}: {e}");
    }
}

fn cas_register() -> DynModel {
    model::builtin("cas-register", &ModelOptions::default().init(Value::Int(0))).unwrap()
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let model = cas_register();
    let mut online = Online::new(&model);
    // Each error names the op by the index it would have had, and says what is wrong.
    let said = |e: Result<Verdict, knossos_rs::InputError>| e.unwrap_err().to_string();
    assert_eq!(said(online.ok(0, 1)), "op 0: process 0 has no pending invocation");
    assert_eq!(said(online.fail("p")), "op 0: process \"p\" has no pending invocation");
    online.invoke(0, "write", 1).unwrap();
    let e = online.invoke(0, "read", Value::Nil).unwrap_err();
    assert_eq!(e.to_string(), "op 1: process 0 invokes while its previous op is pending");
    let e = online.invoke(1, "frob", 1).unwrap_err();
    assert!(e.to_string().starts_with("op 1: ") && e.to_string().contains("frob"), "{e}");
    assert!(online.invoke_op(1, Value::Int(3)).is_err());
    // Nothing was recorded by the mistakes: the write completes as usual.
    assert_eq!(online.ok(0, 1), Ok(Verdict::Valid));
    assert_eq!(said(online.info(0)), "op 2: process 0 has no pending invocation");
    assert_eq!(online.analysis().unwrap().valid, Validity::Valid);
    assert!(Online::new(&model).analysis().is_none());
}

#[test]
fn a_read_that_completes_late_is_checked_with_its_value() {
    // The read is pending while the write of 1 returns; when it completes with 0
    // it must go before the write, which real time allows: the engine rewinds to
    // the write's return and replays it knowing the read's value.
    let model = cas_register();
    let mut online = Online::new(&model);
    online.invoke(0, "read", Value::Nil).unwrap();
    online.invoke(1, "write", 1).unwrap();
    assert_eq!(online.ok(1, 1), Ok(Verdict::Valid));
    assert_eq!(online.ok(0, 0), Ok(Verdict::Valid));
    // A read invoked after the write returned cannot see 0.
    online.invoke(0, "read", Value::Nil).unwrap();
    online.invoke(2, "write", 2).unwrap();
    assert_eq!(online.ok(0, 0), Ok(Verdict::Invalid { op: 6 }));
    // A write that then fails cannot have been what an earlier read saw: the
    // failure moves to that read.
    let mut online = Online::new(&model);
    online.invoke(0, "write", 5).unwrap();
    online.invoke(1, "read", Value::Nil).unwrap();
    assert_eq!(online.ok(1, 5), Ok(Verdict::Valid));
    assert_eq!(online.fail(0), Ok(Verdict::Invalid { op: 2 }));
    assert_eq!(online.analysis().unwrap().op.unwrap().index, 2);
}

#[test]
fn a_budget_gives_unknown_and_keeps_it() {
    let model = cas_register();
    let cancel = Cancel::default();
    cancel.cancel();
    let options = Options::default().cancel(cancel);
    let mut online = Online::with_options(&model, options);
    // Enough concurrent work for the engine to poll its budget (every 1024 steps).
    (0..8).for_each(|p| online.invoke(p, "write", p).unwrap());
    let mut verdict = Verdict::Valid;
    for round in 0..5000 {
        let p = round % 8;
        verdict = online.ok(p, p).unwrap();
        if verdict != Verdict::Valid {
            break;
        }
        online.invoke(p, "write", p).unwrap();
    }
    assert_eq!(verdict, Verdict::Unknown { cause: Cause::Cancelled });
    online.invoke(100, "read", Value::Nil).unwrap();
    assert_eq!(online.ok(100, 0), Ok(Verdict::Unknown { cause: Cause::Cancelled }));
}
