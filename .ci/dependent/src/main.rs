//! A dependent's own JSON, read with serde while knossos-rs is linked in.

use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Inner {
    latency: f64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Outer {
    name: String,
    #[serde(flatten)]
    inner: Inner,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Reading {
    Number(f64),
    Text(String),
}

fn main() {
    // knossos-rs is really linked: a history is read and checked.
    let model = knossos_rs::model::builtin("register", &Default::default()).unwrap();
    let log = b"{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}\n";
    let ops = knossos_rs::read::read_ops(log, "h.edn", None).unwrap();
    let history = knossos_rs::History::complete(ops, &model).unwrap();
    let analysis = knossos_rs::check(&model, &history, &Default::default());
    assert_eq!(analysis.valid, knossos_rs::Validity::Valid);

    // With arbitrary_precision on, a flattened f64 fails ("invalid type: map, expected f64").
    let outer = Outer { name: "a".into(), inner: Inner { latency: 1.5 } };
    let text = serde_json::to_string(&outer).unwrap();
    assert_eq!(serde_json::from_str::<Outer>(&text).unwrap(), outer);
    // With arbitrary_precision on, an untagged f64 matches no variant.
    assert_eq!(serde_json::from_str::<Reading>("2.5").unwrap(), Reading::Number(2.5));
    // With preserve_order on, serde_json's maps keep insertion order instead of sorting.
    let value: serde_json::Value = serde_json::from_str(r#"{"b": 1, "a": 2}"#).unwrap();
    assert_eq!(value.to_string(), r#"{"a":2,"b":1}"#);
    println!("a dependent's JSON reads as its own: ok");
}
