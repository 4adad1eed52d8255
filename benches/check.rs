//! Checking speed on the corpus: the Knossos cas-register histories (initial value
//! 0) and Porcupine's etcd logs (initial value nil), all together and the hardest
//! alone, with each algorithm; and on generated histories whose values are unique,
//! which the searches cannot decide in 30 s and the unique-value engine decides at
//! once. Reading and completion happen outside the measurement: this is the search
//! and the analysis.

use criterion::{criterion_group, criterion_main, Criterion};
use knossos_rs::generate::{self, Anomaly, Spec};
use knossos_rs::model::{self, DynModel, ModelOptions};
use knossos_rs::online::{Online, Verdict};
use knossos_rs::read::Format;
use knossos_rs::{check, read, Algorithm, History, Options, Validity, Value};
use std::path::{Path, PathBuf};

fn histories(dirs: &[PathBuf], model: &DynModel) -> Vec<(String, History)> {
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten())
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let ops = read::RawOp::read_path(&p, None).expect("corpus files read");
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, History::complete(ops, model).expect("corpus files complete"))
        })
        .collect()
}

fn corpus(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !root.is_dir() {
        eprintln!("skipping the corpus bench: {} not found", root.display());
        return;
    }
    let knossos = root.join("knossos/cas-register");
    let suites = [
        (
            "knossos",
            vec![knossos.join("good"), knossos.join("bad")],
            Some(Value::Int(0)),
            &["cas-failure", "memstress3-51"][..],
        ),
        ("etcd", vec![root.join("porcupine/etcd")], None, &["etcd_002", "etcd_007"][..]),
    ];
    for (suite, dirs, init, hardest) in suites {
        let model = model::builtin("cas-register", &ModelOptions::default().init(init)).unwrap();
        let all = histories(&dirs, &model);
        for algorithm in [Algorithm::Competition, Algorithm::Wgl] {
            let opts = Options::default().algorithm(algorithm);
            let name = format!("check/{suite}-all-{}/{algorithm:?}", all.len());
            c.bench_function(&name, |b| {
                b.iter(|| {
                    all.iter().filter(|(_, h)| check(&model, h, &opts).valid == Validity::Valid).count()
                })
            });
            for &file in hardest {
                let (_, h) = all.iter().find(|(n, _)| n == file).expect("corpus file present");
                c.bench_function(&format!("check/{file}/{algorithm:?}"), |b| {
                    b.iter(|| check(&model, h, &opts))
                });
            }
        }
    }
}

/// Porcupine's kv histories (10 clients), whole (`--no-partition`) and split by key.
fn kv(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/porcupine/kv");
    if !dir.is_dir() {
        eprintln!("skipping the kv bench: {} not found", dir.display());
        return;
    }
    let model = model::builtin("kv", &ModelOptions::default()).unwrap();
    for name in ["c10-ok", "c10-bad"] {
        let ops = read::RawOp::read_path(&dir.join(format!("{name}.txt")), None).expect("corpus files read");
        let history = History::complete(ops, &model).expect("corpus files complete");
        for partition in [false, true] {
            let opts = Options::default().partition(partition);
            let label = if partition { "split" } else { "whole" };
            c.bench_function(&format!("check/kv-{name}/{label}"), |b| {
                b.iter(|| check(&model, &history, &opts))
            });
        }
    }
}

/// Generated histories with unique values, many processes on one key and crashed
/// operations, valid and with a stale read: each decided by the unique-value engine
/// (`competition` runs it first). WGL leaves every one of them `:unknown` at 30 s
/// (see README's table), so it is not measured here.
fn unique(c: &mut Criterion) {
    let cases = [
        ("kv", 50, Some(10), 4_000),
        ("fifo-queue", 20, None, 2_000),
        ("unordered-queue", 20, None, 2_000),
        ("set", 20, None, 2_000),
        ("cas-register", 20, None, 2_000),
    ];
    for (name, processes, keys, ops) in cases {
        for anomaly in [None, Some(Anomaly::StaleRead)] {
            let spec = Spec {
                model: name.into(),
                processes,
                keys,
                ops,
                crash_rate: 0.02,
                unique: true,
                anomaly,
                seed: 3,
                ..Spec::default()
            };
            let mut edn = Vec::new();
            generate::generate(&spec, Format::Edn, &mut edn).expect("a generated history");
            let init = name.contains("register").then_some(Value::Int(0));
            let model = model::builtin(name, &ModelOptions::default().init(init)).unwrap();
            let history =
                History::complete(read::RawOp::read(&edn, "generated.edn", None).unwrap(), &model).unwrap();
            let opts = Options::default();
            let expected = if anomaly.is_some() { Validity::Invalid } else { Validity::Valid };
            assert_eq!(check(&model, &history, &opts).valid, expected, "{name}");
            let label = if anomaly.is_some() { "stale-read" } else { "valid" };
            c.bench_function(&format!("check/unique/{name}-{processes}p-{ops}/{label}"), |b| {
                b.iter(|| check(&model, &history, &opts))
            });
        }
    }
}

/// Feeds a history's op maps to an online checker, one by one.
fn feed(online: &mut Online<&DynModel>, ops: &[Value]) -> Verdict {
    let mut verdict = Verdict::Valid;
    for op in ops {
        verdict = online.op(op).expect("a well-formed history");
    }
    verdict
}

/// A generated cas-register history of 500 invocations (5 processes), checked
/// online (fed op by op, a verdict after each completion), once in batch by each
/// engine, and by batch checks of the prefix at each completion (what online
/// checking cost before); and the same valid history in batch with a witness.
fn online(c: &mut Criterion) {
    let spec = Spec { ops: 500, seed: 1, ..Spec::default() };
    let mut edn = Vec::new();
    generate::generate(&spec, Format::Edn, &mut edn).expect("a generated history");
    let ops: Vec<Value> =
        read::RawOp::read(&edn, "generated.edn", None).unwrap().into_iter().map(|r| r.value).collect();
    let model = model::builtin("cas-register", &ModelOptions::default()).unwrap();
    let complete = |ops: &[Value]| {
        let raw =
            ops.iter().map(|v| read::RawOp { value: v.clone(), line: 1, column: 1, span: 0..0 }).collect();
        History::complete(raw, &model).unwrap()
    };
    let history = complete(&ops);
    let completions = ops.iter().filter(|o| o.get("type") != Some(&Value::keyword("invoke"))).count();
    assert_eq!(feed(&mut Online::new(&model), &ops), Verdict::Valid);
    c.bench_function(&format!("online/{}-ops/fed", ops.len()), |b| {
        b.iter(|| feed(&mut Online::new(&model), &ops))
    });
    for algorithm in [Algorithm::Linear, Algorithm::Wgl, Algorithm::Competition] {
        for witness in [false, true] {
            let opts = Options::default().algorithm(algorithm).witness(witness);
            let name = format!(
                "online/{}-ops/batch/{algorithm:?}{}",
                ops.len(),
                if witness { "+witness" } else { "" }
            );
            c.bench_function(&name, |b| b.iter(|| check(&model, &history, &opts)));
        }
    }
    let prefixes: Vec<History> = (0..ops.len())
        .filter(|&i| ops[i].get("type") != Some(&Value::keyword("invoke")))
        .map(|i| complete(&ops[..=i]))
        .collect();
    assert_eq!(prefixes.len(), completions);
    let opts = Options::default();
    c.bench_function(&format!("online/{}-ops/each-prefix-{completions}", ops.len()), |b| {
        b.iter(|| prefixes.iter().filter(|h| check(&model, h, &opts).valid == Validity::Valid).count())
    });
}

criterion_group!(benches, corpus, kv, unique, online);
criterion_main!(benches);
