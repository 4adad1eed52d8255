//! Partitions: jepsen.independent histories checked key by key.

use knossos_rs::model::{self, DynModel};
use knossos_rs::partition::Independent;
use knossos_rs::read::RawOp;
use knossos_rs::{check, History, Model, Options, Progress, Validity, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn op(process: i64, kind: &str, f: &str, key: i64, value: Value) -> Value {
    Value::kw_map([
        ("process", Value::Int(process)),
        ("type", Value::keyword(kind)),
        ("f", Value::keyword(f)),
        ("value", Value::Vector(vec![Value::Int(key), value])),
    ])
}

/// An independent cas-register history: `keys` registers, each with three
/// processes of its own, effects applied at completion (so linearizable), some
/// operations crashing. With `stale`, one read of that key returns a value the
/// register held before a write that completed before the read began.
fn generate(seed: u64, keys: i64, ops_per_key: usize, stale: Option<i64>) -> (Vec<Value>, Option<usize>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut log = Vec::new();
    let mut registers = vec![0i64; keys as usize];
    let mut previous = vec![0i64; keys as usize];
    let mut left = vec![ops_per_key; keys as usize];
    // pending: (process, f, value) per (key, slot)
    let mut pending: Vec<Vec<Option<(String, i64, usize)>>> = vec![vec![None; 3]; keys as usize];
    // Where each key's last write completed, and the values of its crashed writes.
    let mut written_at = vec![0usize; keys as usize];
    let mut ordered = vec![false; keys as usize];
    let mut crashed: Vec<Vec<i64>> = vec![Vec::new(); keys as usize];
    let mut injected = None;
    while left.iter().any(|&l| l > 0) || pending.iter().flatten().any(Option::is_some) {
        let k = rng.random_range(0..keys) as usize;
        let slot = rng.random_range(0..3);
        let process = k as i64 * 3 + slot as i64;
        match pending[k][slot].take() {
            None if left[k] > 0 => {
                left[k] -= 1;
                if rng.random_bool(0.5) {
                    pending[k][slot] = Some(("read".into(), 0, log.len()));
                    log.push(op(process, "invoke", "read", k as i64, Value::Nil));
                } else {
                    let v = rng.random_range(1..1000);
                    pending[k][slot] = Some(("write".into(), v, log.len()));
                    log.push(op(process, "invoke", "write", k as i64, Value::Int(v)));
                }
            }
            None => {}
            Some((f, v, _)) if f == "write" && rng.random_range(0..20) == 0 => {
                // A crashed write that never takes effect (the process may invoke again).
                crashed[k].push(v);
                log.push(op(process, "info", "write", k as i64, Value::Int(v)));
            }
            Some((f, v, invoked)) if f == "write" => {
                // Only a write that began after the previous one ended surely follows it.
                ordered[k] = invoked > written_at[k];
                previous[k] = registers[k];
                registers[k] = v;
                written_at[k] = log.len();
                log.push(op(process, "ok", "write", k as i64, Value::Int(v)));
            }
            Some((_, _, invoked)) => {
                let mut read = registers[k];
                // Stale: the value before a write that completed before this read began,
                // with no other write of this key pending, nor any crashed write of it.
                let stale_here = Some(k as i64) == stale
                    && injected.is_none()
                    && invoked > written_at[k]
                    && ordered[k]
                    && previous[k] != registers[k]
                    && !crashed[k].contains(&previous[k])
                    && pending[k].iter().flatten().all(|(f, _, _)| f != "write");
                if stale_here {
                    read = previous[k];
                    injected = Some(log.len());
                }
                log.push(op(process, "ok", "read", k as i64, Value::Int(read)));
            }
        }
    }
    (log, injected)
}

fn history<M: Model>(log: &[Value], model: &M) -> History {
    let raw = log.iter().map(|v| RawOp { value: v.clone(), line: 1, column: 1, span: 0..0 }).collect();
    History::complete(raw, model).unwrap()
}

fn independent() -> Independent<DynModel> {
    let inner =
        model::builtin("cas-register", &knossos_rs::model::ModelOptions::default().init(Value::Int(0)))
            .unwrap();
    Independent(inner)
}

#[test]
fn a_valid_independent_history_is_valid_key_by_key() {
    let model = independent();
    let (log, _) = generate(1, 40, 300, None);
    let h = history(&log, &model);
    assert!(h.looks_independent());
    let progress = Progress::default();
    let a = check(&model, &h, &Options::default().progress(progress.clone()));
    assert_eq!(a.valid, Validity::Valid);
    assert_eq!(a.results.len(), 40);
    assert!(a.failures.is_empty());
    // Every key counted, and counted once checked.
    assert_eq!((progress.parts(), progress.checked()), (40, 40));
    let edn = a.to_value();
    assert_eq!(edn.get("failures"), Some(&Value::Vector(vec![])));
}

#[test]
fn an_injected_stale_read_fails_exactly_its_key() {
    let model = independent();
    for (seed, key) in [(2, 17), (3, 0), (4, 39)] {
        let (log, injected) = generate(seed, 40, 300, Some(key));
        let injected = injected.expect("the generator found a place for the stale read");
        let h = history(&log, &model);
        let a = check(&model, &h, &Options::default());
        assert_eq!(a.valid, Validity::Invalid);
        assert_eq!(a.failures, vec![Value::Int(key)], "seed {seed}");
        let (_, failed) = a.results.iter().find(|(k, _)| *k == Value::Int(key)).unwrap();
        // The failing op is the injected read, named by its index in the whole history.
        assert_eq!(failed.op.as_ref().unwrap().index, injected as u64);
        // Every other key is valid; the combined EDN lists the failure.
        assert!(a
            .results
            .iter()
            .filter(|(k, _)| *k != Value::Int(key))
            .all(|(_, r)| r.valid == Validity::Valid));
        let edn = a.to_value();
        assert_eq!(edn.get("failures"), Some(&Value::Vector(vec![Value::Int(key)])));
        assert!(edn.get("op").is_none(), "details live under :results");
    }
}

#[test]
fn split_and_whole_agree() {
    // Checked as one object (a map of registers), small histories get the same
    // verdict as key by key: P-compositionality, tested.
    let model = independent();
    for seed in 0..40 {
        let stale = (seed % 2 == 0).then_some(seed as i64 % 3);
        let (log, injected) = generate(seed, 3, 6, stale);
        let h = history(&log, &model);
        let split = check(&model, &h, &Options::default());
        let whole = check(&model, &h, &Options::default().partition(false));
        assert_eq!(split.valid, whole.valid, "seed {seed}");
        assert_eq!(split.valid == Validity::Invalid, injected.is_some(), "seed {seed}");
        if let Some(at) = injected {
            assert_eq!(whole.op.as_ref().unwrap().index, at as u64, "seed {seed}");
        }
    }
}

#[test]
fn plain_histories_do_not_look_independent() {
    let m = model::builtin("cas-register", &Default::default()).unwrap();
    let raw = |text: &str| knossos_rs::read::RawOp::read(text.as_bytes(), "t", None).unwrap();
    let looks = |text: &str| History::complete(raw(text), &m).unwrap().looks_independent();
    let plain =
        "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}\n";
    assert!(!looks(plain));
    // all :cas: their [old new] values are 2-vectors, but not tuples
    let cas = "{:process 0, :type :invoke, :f :cas, :value [0 1]}\n{:process 0, :type :ok, :f :cas, :value [0 1]}\n";
    assert!(!looks(cas));
    // a register of pairs: its reads invoke nil, where jepsen.independent's invoke [k nil]
    let pairs = "{:process 0, :type :invoke, :f :write, :value [0 1]}\n{:process 0, :type :ok, :f :write, :value [0 1]}\n\
                 {:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :read, :value [0 1]}\n";
    assert!(!looks(pairs));
    assert!(looks(&pairs.replace(":value nil", ":value [0 nil]")));
    // the nemesis's values are not the clients'
    let nemesis = "{:process :nemesis, :type :info, :f :start, :value {\"n1\" [\"n2\"]}}\n";
    assert!(looks(&format!("{nemesis}{}", pairs.replace(":value nil", ":value [0 nil]"))));
    assert!(!looks(nemesis), "no client op at all");
    // a multi-register's transactions of two micro-ops: pairs, but of vectors
    let txn = "{:process 0, :type :invoke, :f :txn, :value [[:read :x nil] [:write :y 1]]}\n\
               {:process 0, :type :ok, :f :txn, :value [[:read :x 0] [:write :y 1]]}\n";
    let multi = model::builtin("multi-register", &Default::default()).unwrap();
    assert!(!History::complete(raw(txn), &multi).unwrap().looks_independent());
    // --independent with a value that is not a tuple is an input error naming the op
    let e = History::complete(raw(plain), &Independent(m)).unwrap_err();
    assert!(e.diagnostics[0].message.contains("[key value]"), "{e}");
}

/// A file is read as jepsen.independent's exactly when its client ops' values are
/// all tuples, and then says so in its first warning (what the analysis lists).
#[test]
fn tuples_are_detected_when_reading() {
    let model = independent();
    let dir = std::env::temp_dir().join(format!("knossos-rs-tuples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let read = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        History::read_detecting_tuples(&path, None, &model, Default::default())
    };
    // Two registers, each read back; as one register of pairs, the read of [:a 1]
    // follows the write of [:b 2] and is not linearizable.
    let keyed = "{:process 0, :type :invoke, :f :write, :value [:a 1]}\n\
                 {:process 0, :type :ok, :f :write, :value [:a 1]}\n\
                 {:process :nemesis, :type :info, :f :start}\n\
                 {:process 1, :type :invoke, :f :write, :value [:b 2]}\n\
                 {:process 1, :type :ok, :f :write, :value [:b 2]}\n\
                 {:process 0, :type :invoke, :f :read, :value [:a nil]}\n\
                 {:process 0, :type :ok, :f :read, :value [:a 1]}\n";
    let (history, tuples) = read("keyed.edn", keyed).unwrap();
    assert!(tuples);
    assert_eq!(history.warnings[0].line, 0);
    assert!(history.warnings[0].message.contains("[key value] tuple"), "{:?}", history.warnings);
    let a = check(&model, &history, &Options::default());
    assert_eq!(a.valid, Validity::Valid);
    assert_eq!(a.results.len(), 2);
    assert!(a.warnings[0].starts_with("every client op's value is a [key value] tuple"), "{:?}", a.warnings);
    let whole = History::read(&dir.join("keyed.edn"), None, &model.0).unwrap();
    assert_eq!(check(&model.0, &whole, &Options::default()).valid, Validity::Invalid);
    // The same registers with plain values are read as they are.
    let (history, tuples) =
        read("plain.edn", &keyed.replace("[:a nil]", "nil").replace("[:a 1]", "1")).unwrap();
    assert!(!tuples);
    assert!(history.warnings.is_empty());
    assert_eq!(history.operations[2].value.as_i64(), Some(1));
    // What the inner model refuses of a tuple history is an error with a way out.
    let e = read("refused.edn", &keyed.replace(":f :write", ":f :increment")).unwrap_err();
    assert_eq!(e.diagnostics[0].line, 2, "{e}");
    assert!(e.diagnostics[0].message.contains("unknown :f :increment"), "{e}");
    assert!(e.diagnostics[0].hint.as_ref().is_some_and(|h| h.contains("--no-partition")), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Generated keys of an independent unordered-queue history (one with a stale
/// read), about 1 500 operations each, then four keys no search decides: 1 500
/// enqueues each dequeued, then 40 crashed enqueues of distinct values, a dequeue of
/// each, a dequeue of a value never enqueued, and a last enqueue of a value already
/// enqueued (so that the unique-value engine stays out). The hard keys start first, as the largest, and
/// without a share for each key would hold both cores until the deadline; the
/// generated keys need thousands of search steps, so they check the budget and
/// would then stop at once.
fn easy_and_hard() -> (Independent<DynModel>, History, Value) {
    use knossos_rs::generate::{generate, Anomaly, Spec};
    use knossos_rs::read::Format;
    let spec = Spec {
        model: "unordered-queue".into(),
        keys: Some(6),
        processes: 5,
        ops: 9000,
        anomaly: Some(Anomaly::StaleRead),
        seed: 4,
        ..Spec::default()
    };
    let mut edn = Vec::new();
    let generated = generate(&spec, Format::Edn, &mut edn).unwrap();
    let mut index = generated.ops;
    let mut line = |process: i64, kind: &str, f: &str, key: i64, value: &str| {
        let text = format!(
            "{{:index {index}, :type :{kind}, :process {process}, :f :{f}, :value [{key} {value}]}}\n"
        );
        index += 1;
        edn.extend_from_slice(text.as_bytes());
    };
    for key in 100..104 {
        let base = key * 1_000_000;
        for i in 0..1500 {
            line(base - 1, "invoke", "enqueue", key, &(100 + i % 2).to_string());
            line(base - 1, "ok", "enqueue", key, &(100 + i % 2).to_string());
            line(base - 1, "invoke", "dequeue", key, "nil");
            line(base - 1, "ok", "dequeue", key, &(100 + i % 2).to_string());
        }
        (0..40).for_each(|i| line(base + i, "invoke", "enqueue", key, &i.to_string()));
        (0..40).for_each(|i| line(base + i, "info", "enqueue", key, &i.to_string()));
        for i in 0..=40 {
            let value = if i < 40 { i.to_string() } else { "9999".into() };
            line(base + 100 + i, "invoke", "dequeue", key, "nil");
            line(base + 100 + i, "ok", "dequeue", key, &value);
        }
        line(base + 999, "invoke", "enqueue", key, "0");
    }
    let model = Independent(model::builtin("unordered-queue", &Default::default()).unwrap());
    let history =
        History::complete(knossos_rs::read::RawOp::read(&edn, "mixed.edn", None).unwrap(), &model).unwrap();
    (model, history, generated.anomaly.unwrap().key.unwrap())
}

#[test]
fn under_a_deadline_every_key_gets_its_share() {
    let (model, history, failing) = easy_and_hard();
    let options = Options::default().time_limit(std::time::Duration::from_secs(3));
    let progress = Progress::default();
    let a = check(&model, &history, &options.progress(progress.clone()));
    // The generated keys are decided in their slices; the hard ones use up the rest.
    assert_eq!(a.valid, Validity::Invalid);
    assert_eq!(a.failures, vec![failing.clone()]);
    for (key, k) in &a.results {
        match key.as_i64() {
            Some(100..) => {
                assert_eq!((k.valid, k.cause), (Validity::Unknown, Some(knossos_rs::Cause::Timeout)))
            }
            _ if *key == failing => assert_eq!(k.valid, Validity::Invalid),
            _ => assert_eq!(k.valid, Validity::Valid, "key {key}"),
        }
    }
    // Each key counted once, though the hard ones ran twice.
    assert_eq!((progress.checked(), progress.parts()), (10, 10));
}

#[test]
fn fail_fast_stops_every_key_at_the_first_failure() {
    let (model, history, failing) = easy_and_hard();
    let options = Options::default().fail_fast(true).time_limit(std::time::Duration::from_secs(60));
    let a = check(&model, &history, &options);
    assert_eq!(a.valid, Validity::Invalid);
    assert_eq!(a.failures, vec![failing]);
    // The hard keys ran out of their slices before the failure was found, and were
    // stopped by it at once (long before the time limit).
    for (key, k) in a.results.iter().filter(|(key, _)| key.as_i64() >= Some(100)) {
        assert_eq!((k.valid, k.cause), (Validity::Unknown, Some(knossos_rs::Cause::Stopped)), "key {key}");
    }
}
