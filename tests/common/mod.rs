//! Shared by the integration tests: where the external corpus is.

use std::path::PathBuf;

/// `../shared/corpus`, the histories other projects recorded and labelled.
///
/// A user's clone has no corpus: the caller skips, saying so on stderr. Under CI
/// (`CI=true`) a missing corpus is a failure, never a silent skip.
pub fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.join("MANIFEST.tsv").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but the corpus is missing: expected {}", dir.display());
    }
    eprintln!("skipping: ../shared/corpus not found (it is only present in the project's workplace and CI)");
    None
}

/// One row of `MANIFEST.tsv`.
#[allow(dead_code)] // each test binary uses its own subset of the fields
pub struct Entry {
    pub path: PathBuf,
    pub name: String,
    pub format: String,
    pub model: String,
    pub init: String,
    pub partition: String,
    pub expected: bool,
}

#[allow(dead_code)]
impl Entry {
    /// The manifest's model, with its initial value (`-` or `nil`: none).
    pub fn model(&self) -> knossos_rs::model::DynModel {
        let init = match self.init.as_str() {
            "-" | "nil" => None,
            init => Some(knossos_rs::Value::from_edn(init).unwrap()),
        };
        let options = knossos_rs::model::ModelOptions::default().init(init);
        knossos_rs::model::builtin(&self.model, &options).unwrap()
    }
}

/// Every row of the manifest.
#[allow(dead_code)]
pub fn manifest(dir: &std::path::Path) -> Vec<Entry> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv is readable");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Entry {
                path: dir.join(f[0]),
                name: f[0].to_string(),
                format: f[1].to_string(),
                model: f[2].to_string(),
                init: f[3].to_string(),
                partition: f[4].to_string(),
                expected: f[5] == "true",
            }
        })
        .collect()
}
