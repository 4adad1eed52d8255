//! A model of your own: a counter, in a dozen lines, checked against a history built in code.
//!
//! `cargo run --example custom_model`

use knossos_rs::{check, HistoryBuilder, Model, Options, Value};

/// `:add n` adds n; `:read` returns the count (nil: not known).
struct Counter;

impl Model for Counter {
    type State = i64;
    fn init(&self) -> i64 {
        0
    }
    fn step(&self, count: &i64, f: &Value, value: &Value) -> Option<i64> {
        match (f.as_name(), value) {
            (Some("add"), Value::Int(n)) => count.checked_add(*n),
            (Some("read"), Value::Int(n)) => (n == count).then_some(*count),
            (Some("read"), Value::Nil) => Some(*count),
            _ => None,
        }
    }
}

fn main() {
    let mut ops = HistoryBuilder::new();
    // A read concurrent with the add may see 0 or 2; one that begins after it, only 2.
    ops.invoke(0, "add", 2).invoke(1, "read", None::<i64>).ok(1, 0).ok(0, 2);
    ops.invoke(1, "read", None::<i64>).ok(1, 0);
    let history = ops.build(&Counter).expect("a well-formed history");

    let analysis = check(&Counter, &history, &Options::default());
    println!("{analysis}");
    assert!(!analysis.is_valid());
    assert_eq!(analysis.op.map(|op| op.index), Some(5));
}
