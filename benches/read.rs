//! Reading speed: a generated Jepsen-style history.edn of about 100 MB (one op map
//! per line, as Jepsen writes it), read by the EDN reader. Reported as bytes/s and
//! as ops/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write;

/// About `bytes` of history: invocations and completions of reads, writes and
/// cas on 10 processes, with times and indices.
fn history(bytes: usize) -> (String, u64) {
    let mut rng = StdRng::seed_from_u64(7);
    let mut out = String::with_capacity(bytes + 200);
    let mut index = 0u64;
    let mut time = 0u64;
    while out.len() < bytes {
        let process = rng.random_range(0..10);
        let (f, value) = match rng.random_range(0..3) {
            0 => ("read", "nil".to_string()),
            1 => ("write", rng.random_range(0..5).to_string()),
            _ => ("cas", format!("[{} {}]", rng.random_range(0..5), rng.random_range(0..5))),
        };
        for kind in ["invoke", "ok"] {
            time += rng.random_range(1_000..1_000_000);
            let _ = writeln!(
                out,
                "{{:index {index}, :time {time}, :type :{kind}, :process {process}, :f :{f}, :value {value}}}"
            );
            index += 1;
        }
    }
    (out, index)
}

fn read(c: &mut Criterion) {
    let (text, ops) = history(100 << 20);
    let mut group = c.benchmark_group("read");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("edn-100MB/bytes", |b| {
        b.iter(|| knossos_rs::read::read_ops(text.as_bytes(), "bench.edn", None).unwrap().len())
    });
    group.throughput(Throughput::Elements(ops));
    group.bench_function("edn-100MB/ops", |b| {
        b.iter(|| knossos_rs::read::read_ops(text.as_bytes(), "bench.edn", None).unwrap().len())
    });
    group.finish();
}

criterion_group!(benches, read);
criterion_main!(benches);
