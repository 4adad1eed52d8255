//! A history built in code, as a harness records it, and the operation that breaks it.
//!
//! `cargo run --example history_in_code`

use knossos_rs::{check, model, HistoryBuilder, Options};

fn main() {
    let register = model::builtin("cas-register", &Default::default()).expect("a built-in model");
    let mut ops = HistoryBuilder::new();
    ops.invoke(0, "write", 1).ok(0, 1);
    ops.invoke(1, "cas", (1, 2)).invoke(2, "read", None::<i64>).ok(1, (1, 2)).ok(2, 2);
    ops.invoke(3, "read", None::<i64>).ok(3, 1); // after the cas to 2 completed: stale
    let history = ops.build(&register).expect("every completion has its invocation");

    let analysis = check(&register, &history, &Options::default());
    println!("{analysis}");
    let failing = analysis.op.expect("an invalid history names its failing op");
    assert_eq!(failing.index, 7);
}
