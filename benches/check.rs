//! Checking speed on the Knossos corpus (../shared/corpus/knossos, cas-register,
//! initial value 0): all histories together, and the largest ones alone. Reading
//! and completion happen outside the measurement: this is the search and analysis.

use criterion::{criterion_group, criterion_main, Criterion};
use knossos_rs::model::{self, DynModel, ModelOptions};
use knossos_rs::{check, read, History, Options, Value};
use std::path::{Path, PathBuf};

fn histories(dir: &Path, model: &DynModel) -> Vec<(String, History)> {
    let mut files: Vec<PathBuf> = ["good", "bad"]
        .iter()
        .flat_map(|d| std::fs::read_dir(dir.join(d)).into_iter().flatten())
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let ops = read::read_path(&p, None).expect("corpus files read");
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, History::complete(ops, model).expect("corpus files complete"))
        })
        .collect()
}

fn knossos_corpus(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/knossos/cas-register");
    if !dir.is_dir() {
        eprintln!("skipping the corpus bench: {} not found", dir.display());
        return;
    }
    let options = ModelOptions { init: Some(Value::Int(0)), ..Default::default() };
    let model = model::builtin("cas-register", &options).unwrap();
    let all = histories(&dir, &model);
    let opts = Options::default();
    c.bench_function(&format!("check/knossos-cas-register-all-{}", all.len()), |b| {
        b.iter(|| {
            all.iter().filter(|(_, h)| check(&model, h, &opts).valid == knossos_rs::Validity::Valid).count()
        })
    });
    for name in ["cas-failure", "rethink-fail", "mongodb-v0-ack-rollback-6", "memstress3-0"] {
        let (_, h) = all.iter().find(|(n, _)| n == name).expect("corpus file present");
        c.bench_function(&format!("check/{name}"), |b| b.iter(|| check(&model, h, &opts)));
    }
}

criterion_group!(benches, knossos_corpus);
criterion_main!(benches);
