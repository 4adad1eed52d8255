//! Reading speed: a generated Jepsen-style history.edn of about 100 MB (one op map
//! per line, as Jepsen writes it: `knossos-rs generate --ops 600000 --keys 100`),
//! read by the EDN reader into op maps (`read::RawOp::read`), and from its file into a
//! compact, completed history as `check` reads it (`History::read`, whose reader takes
//! the fast path for such lines); each on every core, and on one. Reported as bytes/s
//! and ops/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use knossos_rs::generate::{generate, Spec};
use knossos_rs::model::{builtin, ModelOptions};
use knossos_rs::partition::Independent;
use knossos_rs::read::Format;
use knossos_rs::History;

fn read(c: &mut Criterion) {
    let spec = Spec { ops: 600_000, keys: Some(100), ..Spec::default() };
    let mut text = Vec::new();
    generate(&spec, Format::Edn, &mut text).unwrap();
    let path = std::env::temp_dir().join(format!("knossos-rs-bench-read-{}.edn", std::process::id()));
    std::fs::write(&path, &text).unwrap();
    let model = Independent(builtin("cas-register", &ModelOptions::default()).unwrap());
    let ops = knossos_rs::read::RawOp::read(&text, "bench.edn", None).unwrap().len() as u64;
    let one_core = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let mut group = c.benchmark_group("read");
    group.sample_size(10);
    for (label, elements) in
        [("bytes", Throughput::Bytes(text.len() as u64)), ("ops", Throughput::Elements(ops))]
    {
        group.throughput(elements);
        let op_maps = || knossos_rs::read::RawOp::read(&text, "bench.edn", None).unwrap().len();
        let history = || History::read(&path, None, &model).unwrap().ops.len();
        group.bench_function(format!("edn-100MB/{label}"), |b| b.iter(op_maps));
        group.bench_function(format!("edn-100MB/{label}/one-core"), |b| b.iter(|| one_core.install(op_maps)));
        group.bench_function(format!("history-100MB/{label}"), |b| b.iter(history));
        group.bench_function(format!("history-100MB/{label}/one-core"), |b| {
            b.iter(|| one_core.install(history))
        });
    }
    group.finish();
    std::fs::remove_file(&path).unwrap();
}

criterion_group!(benches, read);
criterion_main!(benches);
