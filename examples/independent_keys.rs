//! A model of your own checked key by key: `Independent` reads Jepsen's `[key value]`
//! tuples, each key an object of the model, and checks the keys apart (in parallel).
//!
//! `cargo run --example independent_keys`

use knossos_rs::partition::Independent;
use knossos_rs::{check, HistoryBuilder, Model, Options, Value};

/// A high-water mark: `:raise n` raises it to n if lower; `:read` returns it.
struct Mark;

impl Model for Mark {
    type State = i64;
    fn init(&self) -> i64 {
        0
    }
    fn step(&self, mark: &i64, f: &Value, value: &Value) -> Option<i64> {
        match (f.as_name(), value) {
            (Some("raise"), Value::Int(n)) => Some(*mark.max(n)),
            (Some("read"), Value::Int(n)) => (n == mark).then_some(*mark),
            (Some("read"), Value::Nil) => Some(*mark),
            _ => None,
        }
    }
}

fn main() {
    let model = Independent(Mark);
    let mut ops = HistoryBuilder::new();
    ops.invoke(0, "raise", ("a", 5)).ok(0, ("a", 5));
    ops.invoke(1, "raise", ("b", 3)).ok(1, ("b", 3));
    ops.invoke(0, "read", ("a", None::<i64>)).ok(0, ("a", 5));
    ops.invoke(1, "read", ("b", None::<i64>)).ok(1, ("b", 1)); // key b went down
    let history = ops.build(&model).expect("every value a [key value] tuple");

    let analysis = check(&model, &history, &Options::default());
    println!("{analysis}");
    assert_eq!(analysis.failures, [Value::from("b")]);
}
