//! A fast linearizability checker for Jepsen histories, compatible with Knossos.
//!
//! Jepsen records what the clients of a distributed system saw: invocations and
//! completions of reads, writes, compare-and-sets. A history is *linearizable* when
//! some single order of its operations, consistent with real time, explains every
//! result. This crate decides that, and explains a failure the way Knossos does.
//!
//! The data flows one way, a module per stage:
//!
//! ```text
//! bytes ─read─▶ ops ─history─▶ history ─search─▶ outcome ─analysis─▶ analysis ─render─▶ EDN / JSON / text
//! ```
//!
//! # Example
//!
//! A register holds 0; a read concurrent with a write of 4 returns 3, which no order
//! explains:
//!
//! ```
//! use knossos_rs::{check, model, read, History, Options, Validity};
//!
//! let log = r#"
//! {:process 0, :type :invoke, :f :write, :value 0}
//! {:process 0, :type :ok, :f :write, :value 0}
//! {:process 1, :type :invoke, :f :read, :value nil}
//! {:process 2, :type :invoke, :f :write, :value 4}
//! {:process 1, :type :ok, :f :read, :value 3}
//! {:process 2, :type :ok, :f :write, :value 4}
//! "#;
//! let model = model::builtin("cas-register", &Default::default()).unwrap();
//! let ops = read::read_ops(log.as_bytes(), "example.edn", None).unwrap();
//! let history = History::complete(ops, &model).unwrap();
//! let analysis = check(&model, &history, &Options::default());
//!
//! assert_eq!(analysis.valid, Validity::Invalid);
//! assert_eq!(analysis.op.unwrap().index, 4);
//! let path = &analysis.final_paths[0];
//! assert_eq!(path.last().unwrap().model.to_edn(), r#"{:msg "can't read 3 from register 0"}"#);
//! ```

pub mod analysis;
pub mod error;
pub mod history;
pub mod model;
pub mod read;
pub mod render;
pub mod search;
pub mod value;

pub use analysis::{Analysis, Validity};
pub use error::{Diagnostic, InputError};
pub use history::History;
pub use model::Model;
pub use value::Value;

/// How to check.
#[derive(Clone, Debug)]
pub struct Options {
    /// At most this many final paths in an invalid analysis.
    pub max_paths: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options { max_paths: 10 }
    }
}

/// Checks a completed history against a model.
pub fn check<M: Model + ?Sized>(model: &M, history: &History, options: &Options) -> Analysis {
    let mut memo = model::memo::Memo::new(model);
    let outcome = search::wgl::search(history, &mut memo);
    analysis::analyse(history, &mut memo, outcome, options.max_paths)
}
