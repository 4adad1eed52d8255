//! Online checking: feed ops as they happen, stop at the first violation.
//!
//! ```sh
//! cargo run --example online
//! ```

use knossos_rs::online::{Online, Verdict};
use knossos_rs::{model, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = model::builtin("cas-register", &Default::default())?;
    let mut online = Online::new(&model);
    // (process, :f, :value), each invoked (a read with nil) and completed in turn:
    // the read of 1 comes after the write of 2 completed.
    let ops = [(0, "write", 1), (1, "write", 2), (2, "read", 1)];
    for (process, f, value) in ops {
        online.invoke(process, f, if f == "read" { Value::Nil } else { value.into() })?;
        if let Verdict::Invalid { op } = online.ok(process, value)? {
            let analysis = online.analysis().expect("ops were fed");
            println!("not linearizable at op {op}: {}", analysis.to_value().to_edn());
            return Ok(());
        }
    }
    println!("linearizable so far");
    Ok(())
}
