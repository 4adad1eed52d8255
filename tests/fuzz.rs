//! A short round of the fuzzing harness (`examples/fuzz.rs`, whose module docs say
//! what it does): a few thousand mutated histories through reading, completion, every
//! engine, rendering and the report, with no panic, no disagreement between engines
//! and every output reading back.
//!
//! Seeded by `../shared/corpus` when it exists (a missing corpus fails under
//! `CI=true`), else by `fixtures/` and generated histories alone. The long campaign
//! is `cargo run --release --example fuzz -- --executions N --seed S`.

mod common;

#[allow(dead_code)] // the harness's command line is the example's
#[path = "../examples/fuzz.rs"]
mod fuzz;

use std::time::Duration;

#[test]
fn a_short_fuzzing_round_finds_nothing() {
    let corpus = common::corpus();
    if corpus.is_none() {
        eprintln!("fuzz: seeding from fixtures/ and generated histories alone");
    }
    // About 3 000 executions take a few seconds in release; a debug build runs fewer.
    let executions = if cfg!(debug_assertions) { 1_000 } else { 3_000 };
    let config = fuzz::Config {
        executions,
        seed: 15,
        corpus,
        out: std::env::temp_dir().join("knossos-fuzz-test-findings"),
        time_limit: Duration::from_millis(100),
        progress: None,
        ..fuzz::Config::new()
    };
    let summary = fuzz::run(&config);
    eprint!("{}", summary.report());
    assert_eq!(summary.executions, executions);
    assert_eq!(
        summary.findings,
        0,
        "findings (inputs saved under {}):\n{}",
        config.out.display(),
        summary.report()
    );
    // The mutations must leave enough histories whole for the engines to be compared.
    assert!(summary.stats.checked >= executions / 10, "too few histories checked:\n{}", summary.report());
    assert!(summary.stats.invalid > 0 && summary.stats.valid > 0, "{}", summary.report());
}
