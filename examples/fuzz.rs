//! A fuzzing harness for knossos-rs: stable Rust, in process, no instrumentation.
//!
//! Each *execution* takes a seed history, mutates it structurally, and runs the whole
//! pipeline on the result, each stage inside [`std::panic::catch_unwind`]:
//!
//! 1. `read::RawOp::read` (format detected from the bytes), and every so often
//!    `History::read` on the same bytes written to a file (the streaming reader, with
//!    its fast path for Jepsen's op lines), which must read the same history;
//! 2. `History::complete` with the seed's model;
//! 3. `check` with WGL, the linear engine and the competition (and the unique-value
//!    engine wherever `History::unique_applies` says it applies; a keyed history also whole and
//!    with `fail_fast`; an invalid one also explained, `explain::explain`), each under a
//!    small time and memory limit;
//! 4. `render` of every analysis as EDN, JSON and text, and one `report::html` page of
//!    them all (or, for an input that was rejected, a page naming the rejection);
//! 5. the ops fed one by one to `Online`, whose last verdict, where it took every op,
//!    must be the competition's.
//!
//! A *finding* is any of: a panic (on any thread); engines that both decide but
//! disagree on the verdict or on the failing op (for a keyed history, key by key too);
//! an invalid analysis without a failing op, or with a final path that does not end in
//! that op's inconsistency; an analysis whose EDN does not read back as itself (unless
//! only too deeply nested for our reader); JSON that does not parse (unless only too
//! deeply nested for serde_json); a page that is not well-formed XML or does not name
//! the failing op; the race explaining a failure differently from the linear engine;
//! the online checker's verdict or failing op differing from the batch check's;
//! the file reader and the in-memory reader reading different histories. An
//! execution's input is saved under `--out` if one of its findings is among the first
//! three of its kind (or smaller than those saved), with a `.about` file saying what
//! was found, the model, the mutations and how to replay it. The run goes on, and
//! exits non-zero if there was any finding. Timeouts (`:unknown`) are never findings.
//!
//! # Running it
//!
//! ```sh
//! cargo run --release --example fuzz -- --executions 100000 --seed 1
//! cargo run --release --example fuzz -- --duration 60m --seed 2 --time-limit 50ms
//! # replay execution 12345 of seed 1 alone (its input is saved if it finds anything):
//! cargo run --release --example fuzz -- --seed 1 --from 12345 --executions 1
//! ```
//!
//! `--help` lists the options. Seeds are every history of `../shared/corpus` (its
//! `MANIFEST.tsv` gives each file's model and `--init`) and of `fixtures/`, plus a few
//! dozen small histories from `knossos_rs::generate` (every model, unique values,
//! injected anomalies, `[key value]` tuples) unless `--no-generated`. Without the
//! corpus the harness says so and uses the rest.
//!
//! # Mutations
//!
//! Most executions parse the seed into its op maps and usually keep a window of them
//! (at most 2^k ops, k uniform in 0..=10: small histories reach the engines' corner
//! cases far faster than the corpus's thousand-op ones). A register history is now and
//! then rewritten in another model's vocabulary (set, queues, mutex, noop), and any
//! history made `[key value]` tuples for a keyed check. Then come 1–4 mutations:
//! delete, duplicate, swap or move ops; change an op's `:type`, `:process`, `:f` or
//! `:value` (values from elsewhere in the history, small integers, or odd ones: nil,
//! huge and big integers, `-0`, `##NaN`, infinities, nesting up to past the reader's
//! depth limit, long strings, maps, sets with repeated elements, tuples, tagged
//! literals, ...); delete or duplicate a key, or add one (`:index`, `:time`, `:error`,
//! `:key`, junk); insert a nemesis op; replace an op by a value that is not a map;
//! wrap one in a `#jepsen.history.Op` tag. Most of these leave ops unpaired, which
//! `History::complete` rejects before any engine runs, so more often than not the ops
//! are then paired up again (a completion without an invocation goes; an invocation
//! over an open one crashes that one). The ops are written in one of the layouts the
//! readers take (EDN lines, a Knossos vector or list, JSON lines or array,
//! `history.txt`, a Jepsen console log), and byte mutations (truncation, inserted or
//! deleted bytes, flipped bits, inserted tokens) apply to the bytes.
//!
//! The other executions work on the seed's text: whole lines deleted, duplicated,
//! swapped or moved, a field's text replaced in place (the EDN form after `:value`,
//! `:process`, ..., or a tab-separated field), and the same byte mutations.
//!
//! The model and its options come with the seed, but for `--nil-reads absent` now and
//! then, and for a register's `--init`.
//!
//! # Determinism
//!
//! Execution `i` of seed `s` draws from its own generator, seeded by `(s, i)`: the same
//! seed, corpus and build give the same inputs, and any execution can be replayed alone
//! with `--from i --executions 1`. Verdicts under a time limit may still differ from
//! run to run (a search that decides in one run may time out in another), which only
//! changes what is compared, never what is reported as a finding.
//!
//! # How this differs from coverage-guided fuzzing
//!
//! cargo-fuzz and AFL instrument the code and keep inputs that reach new branches, so
//! that the corpus grows toward what the code does; they need nightly Rust or a
//! separate toolchain, and mutate bytes blindly. This harness runs on stable Rust in a
//! plain test, keeps no feedback (each execution starts again from a seed), and leans
//! on knowing the input instead: its mutations are structural (ops, fields, values,
//! formats), so most inputs still read and complete and reach the search engines, and
//! its oracle is not only "no crash" but the engines agreeing with one another and every
//! output reading back. It finds what structure-aware random testing finds, quickly and
//! reproducibly; it will not find a bug behind a long chain of unlikely byte-level
//! conditions that coverage feedback would climb to. It also runs many engines per
//! input, so it executes far fewer inputs per second than a byte-level fuzzer would.
//!
//! A stack overflow or an abort cannot be caught: the process dies, and the last
//! progress line (or a replay with `--from`) narrows down the execution. An execution
//! still running after `--hang` (default 60 s) is reported on stderr and its input
//! saved as `hang-…`, by a watchdog thread.

use knossos_rs::explain::{explain, Explanation};
use knossos_rs::generate::{self, Anomaly, Spec};
use knossos_rs::model::{self, DynModel, ModelOptions, NilReads};
use knossos_rs::online::{Online, Verdict};
use knossos_rs::partition::Independent;
use knossos_rs::read;
use knossos_rs::render::{render, OutputFormat};
use knossos_rs::report::{self, Entry, Rejected};
use knossos_rs::{check, Algorithm, Analysis, History, Model, Options, Validity, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------
// Configuration and results
// ---------------------------------------------------------------------------------

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// How many executions (at most; see `duration`).
    pub executions: u64,
    /// Stop after this long, even if fewer executions ran.
    pub duration: Option<Duration>,
    /// The seed of the whole run: execution `i` draws from a generator seeded by `(seed, i)`.
    pub seed: u64,
    /// The index of the first execution (to replay one).
    pub from: u64,
    /// The external corpus (`MANIFEST.tsv` and its files), if any.
    pub corpus: Option<PathBuf>,
    /// The crate's `fixtures/`.
    pub fixtures: PathBuf,
    /// Also seed with small generated histories of every model.
    pub generated: bool,
    /// Where findings' inputs go.
    pub out: PathBuf,
    /// Each check's time limit.
    pub time_limit: Duration,
    /// Each check's memory limit, in bytes.
    pub memory_limit: usize,
    /// Each analysis's final paths.
    pub max_paths: usize,
    /// Also read every n-th input through a file with `History::read` (0: never).
    pub file_every: u64,
    /// Print progress this often (`None`: only the summary).
    pub progress: Option<Duration>,
    /// Report (and save) an execution running longer than this.
    pub hang: Duration,
    /// Say on stderr why each rejected input was rejected, and what was done to it.
    pub verbose: bool,
}

impl Config {
    /// The defaults `main` starts from: the corpus beside the crate, `fixtures/`,
    /// findings to `/tmp/knossos-fuzz-findings`.
    pub fn new() -> Config {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        Config {
            executions: 100_000,
            duration: None,
            seed: 0,
            from: 0,
            corpus: Some(root.join("../shared/corpus")),
            fixtures: root.join("fixtures"),
            generated: true,
            out: PathBuf::from("/tmp/knossos-fuzz-findings"),
            time_limit: Duration::from_millis(200),
            memory_limit: 256 << 20,
            max_paths: 3,
            file_every: 8,
            progress: Some(Duration::from_secs(10)),
            hang: Duration::from_secs(60),
            verbose: false,
        }
    }
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Summary {
    pub executions: u64,
    /// Findings in all (one execution may have several).
    pub findings: u64,
    /// Each kind of finding (its signature: what, and where for a panic).
    pub kinds: BTreeMap<String, Kind>,
    pub stats: Stats,
    pub elapsed: Duration,
    /// The seeds used.
    pub seeds: usize,
}

/// The findings of one signature.
#[derive(Debug, Default)]
pub struct Kind {
    pub count: u64,
    /// The first finding's message.
    pub message: String,
    /// Inputs saved (the first few, then any smaller one).
    pub saved: Vec<PathBuf>,
    /// The size of the smallest input saved.
    pub smallest: usize,
    /// The first execution that found it.
    pub first: u64,
}

/// Where the executions went.
#[derive(Debug, Default)]
pub struct Stats {
    /// Rejected by `RawOp::read` (an input error: the expected outcome of many mutations).
    pub read_rejected: u64,
    /// Read, then rejected by `History::complete`.
    pub complete_rejected: u64,
    /// Completed and checked.
    pub checked: u64,
    /// The competition's verdicts on those.
    pub valid: u64,
    pub invalid: u64,
    pub unknown: u64,
    /// Checked by the unique-value engine too.
    pub unique: u64,
    /// Checked split by key (and whole).
    pub keyed: u64,
    /// Pairs of engines that both decided, and were compared.
    pub compared: u64,
    /// Inputs also read from a file.
    pub file_reads: u64,
    /// The slowest execution: how long, which.
    pub slowest: (Duration, u64),
}

impl Summary {
    /// A few lines for a person: counts, rate, and each kind of finding.
    pub fn report(&self) -> String {
        let s = &self.stats;
        let rate = self.executions as f64 / self.elapsed.as_secs_f64().max(1e-9);
        let mut out = format!(
            "fuzz: {} executions in {:.1?} ({rate:.0}/s) from {} seeds: {} rejected by read, {} by complete, \
             {} checked ({} valid, {} invalid, {} unknown by the competition; {} also by the unique-value \
             engine, {} keyed), {} engine pairs compared, {} file reads; slowest execution {:.1?} (#{}); \
             {} findings\n",
            self.executions,
            self.elapsed,
            self.seeds,
            s.read_rejected,
            s.complete_rejected,
            s.checked,
            s.valid,
            s.invalid,
            s.unknown,
            s.unique,
            s.keyed,
            s.compared,
            s.file_reads,
            s.slowest.0,
            s.slowest.1,
            self.findings,
        );
        for (signature, kind) in &self.kinds {
            let _ = writeln!(out, "  {signature}: {} times, first at execution {}", kind.count, kind.first);
            let _ = writeln!(out, "    {}", kind.message.lines().next().unwrap_or(""));
            for path in &kind.saved {
                let _ = writeln!(out, "    saved {}", path.display());
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------

/// A history to mutate, with what to check it against.
#[derive(Clone, Debug)]
pub struct Seed {
    pub name: String,
    pub bytes: Vec<u8>,
    /// Its op maps, for the structural mutations (`None` if it does not read).
    pub ops: Option<Vec<Value>>,
    pub model: String,
    pub init: Option<Value>,
    /// Values are `[key value]` tuples, checked with `partition::Independent`.
    pub independent: bool,
}

impl Seed {
    fn new(name: String, bytes: Vec<u8>, model: &str, init: Option<Value>, independent: bool) -> Seed {
        let ops =
            read::RawOp::read(&bytes, &name, None).ok().map(|ops| ops.into_iter().map(|o| o.value).collect());
        Seed { name, bytes, ops, model: model.to_string(), init, independent }
    }
}

/// Every seed: the corpus's histories (as `MANIFEST.tsv` lists them), `fixtures/`,
/// and, with `generated`, small generated histories of every model.
pub fn seeds(corpus: Option<&Path>, fixtures: &Path, generated: bool) -> Vec<Seed> {
    let mut seeds = Vec::new();
    if let Some(dir) = corpus {
        match std::fs::read_to_string(dir.join("MANIFEST.tsv")) {
            Ok(manifest) => {
                for line in manifest.lines().skip(1).filter(|l| !l.trim().is_empty()) {
                    let fields: Vec<&str> = line.split('\t').collect();
                    let (Some(path), Some(model), Some(init)) =
                        (fields.first(), fields.get(2), fields.get(3))
                    else {
                        continue;
                    };
                    let init = if *init == "-" { None } else { Value::from_edn(init).ok() };
                    if let Ok(bytes) = std::fs::read(dir.join(path)) {
                        seeds.push(Seed::new(format!("corpus/{path}"), bytes, model, init, false));
                    }
                }
            }
            Err(_) => eprintln!("fuzz: no corpus at {}: seeding without it", dir.display()),
        }
    }
    let mut fixture_files: Vec<PathBuf> = std::fs::read_dir(fixtures)
        .map(|dir| dir.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    fixture_files.sort();
    for path in fixture_files {
        if let Ok(bytes) = std::fs::read(&path) {
            let name = format!("fixtures/{}", path.file_name().unwrap_or_default().to_string_lossy());
            seeds.push(Seed::new(name, bytes, "cas-register", None, false));
        }
    }
    if generated {
        seeds.extend(generated_seeds());
    }
    seeds
}

/// Small histories of every model from `knossos_rs::generate`: plain, with unique
/// values, with each anomaly, and keyed; the corpus has no set or queue histories.
fn generated_seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (m, &name) in model::ModelInfo::NAMES.iter().enumerate() {
        let variants: [(&str, Option<Anomaly>, bool, Option<usize>); 6] = [
            ("plain", None, false, None),
            ("unique", None, true, None),
            ("stale-read", Some(Anomaly::StaleRead), false, None),
            ("lost-write", Some(Anomaly::LostWrite), true, None),
            ("double-apply", Some(Anomaly::DoubleApply), false, None),
            ("keyed", Some(Anomaly::StaleRead), false, Some(3)),
        ];
        for (v, (variant, anomaly, unique, keys)) in variants.into_iter().enumerate() {
            let spec = Spec {
                model: name.to_string(),
                processes: 3 + v % 3,
                ops: 40 + 30 * v,
                keys,
                crash_rate: 0.05,
                fail_rate: 0.05,
                values: 4,
                seed: (m * 10 + v) as u64,
                anomaly,
                nemesis: v % 2 == 0,
                unique,
                // Effects inside the intervals for every other model: orders the
                // searches cannot read off the log.
                effect_inside: m % 2 == 1,
            };
            let mut bytes = Vec::new();
            if generate::generate(&spec, read::Format::Edn, &mut bytes).is_ok() {
                let independent = keys.is_some() && name != "kv";
                seeds.push(Seed::new(
                    format!("generated/{name}-{variant}.edn"),
                    bytes,
                    name,
                    None,
                    independent,
                ));
            }
        }
    }
    seeds
}

// ---------------------------------------------------------------------------------
// Inputs and mutations
// ---------------------------------------------------------------------------------

/// One execution's input: bytes, and the model to check them against.
#[derive(Clone, Debug)]
pub struct Input {
    pub seed: String,
    pub bytes: Arc<Vec<u8>>,
    pub model: String,
    pub init: Option<Value>,
    pub nil_reads: NilReads,
    pub independent: bool,
    /// The layout the ops were written in (`text` for a mutated seed text).
    pub layout: Layout,
    /// What was done to the seed, in order.
    pub trail: Vec<String>,
}

impl Input {
    /// The model it is checked against (without `Independent`), or why it cannot be built.
    pub fn model(&self) -> Result<DynModel, String> {
        let options = ModelOptions::default().init(self.init.clone()).nil_reads(self.nil_reads);
        model::builtin(&self.model, &options).map_err(|e| e.to_string())
    }

    /// The file name extension its layout suggests.
    fn extension(&self) -> &'static str {
        match self.layout {
            Layout::JsonLines | Layout::JsonArray => "json",
            Layout::HistoryTxt => "txt",
            Layout::JepsenLog => "log",
            _ => "edn",
        }
    }
}

/// How ops are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The seed's own text, mutated line by line.
    Text,
    /// Jepsen's `history.edn`: a map per line.
    EdnLines,
    /// Knossos's `data/` files: one vector of maps over many lines.
    EdnVector,
    /// One list of maps.
    EdnList,
    /// JSON Lines.
    JsonLines,
    /// One JSON array.
    JsonArray,
    /// Jepsen's tab-separated `history.txt`.
    HistoryTxt,
    /// An old Jepsen console log.
    JepsenLog,
}

/// Values, texts and processes mutations draw from, built once.
pub struct Pool {
    /// Odd values, as values.
    values: Vec<Value>,
    /// Odd EDN texts (some of which do not read).
    texts: Vec<String>,
    /// Odd processes.
    processes: Vec<Value>,
}

/// Odd EDN texts: numbers at and past every boundary, every kind of literal and
/// collection, and things that must not read.
const TEXTS: &[&str] = &[
    "nil",
    "true",
    "false",
    "0",
    "-0",
    "-0.0",
    "0.0",
    "1",
    "-1",
    "+1",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999999",
    "99999999999999999999999N",
    "-99999999999999999999999N",
    "1N",
    "1e400",
    "-1e400",
    "1e-400",
    "1.7976931348623157e308",
    "##NaN",
    "##Inf",
    "##-Inf",
    "1.5M",
    "0.1M",
    "1/2",
    "2/4",
    "-3/1",
    "1/0",
    "0x10",
    "08",
    "1e",
    ".5",
    "1.",
    "-",
    "\\a",
    "\\newline",
    "\\u0000",
    "\\u12",
    "\"\"",
    "\"x\"",
    "\"\\u0000\\n\\t\\\"\"",
    "\"é💥\u{202e}\"",
    "\"unterminated",
    ":k",
    ":nemesis",
    ":a/b",
    ":",
    "sym",
    "a/b/c",
    "[]",
    "[1]",
    "[1 2]",
    "[1 2 3]",
    "[nil nil]",
    "[[1 2] [3 4]]",
    "[1 2",
    "]",
    "(1 2)",
    "()",
    "{}",
    "{:a 1}",
    "{:a 1 :a 2}",
    "{1 2 3}",
    "{1 2 3 4}",
    "#{}",
    "#{1 2}",
    "#{1 1}",
    "#inst \"2020-01-01T00:00:00Z\"",
    "#inst \"not a date\"",
    "#uuid \"00000000-0000-0000-0000-000000000000\"",
    "#foo/bar [1]",
    "#_ 1",
    "#_",
    "^:m [1]",
    "#?(:clj 1)",
    "#:ns{:a 1}",
    "#jepsen.history.Op{:process 0, :type :invoke, :f :read, :value nil}",
    "[:read :x 1]",
    "[[:read :x nil]]",
    "[[:write :x 1] [:read :y 0]]",
    "[[:write :x 1] [:read :x 2]]",
    "[[:frob :x 1]]",
    "[0 nil]",
    "[1 [2 3]]",
    "nil nil",
    "; a comment",
];

/// The deepest nesting mutations make: past the readers' limit (1000) in a release
/// build; in a debug build, whose frames are many times larger, not so deep that
/// hashing or printing a value the reader took overflows a 2 MiB thread's stack (a
/// debug build of the library does past some 450 levels).
const DEEPEST: usize = if cfg!(debug_assertions) { 300 } else { 1001 };

/// A vector nested `depth` deep around `1`.
fn nested(depth: usize) -> Value {
    (0..depth).fold(Value::Int(1), |v, _| Value::Vector(vec![v]))
}

fn nested_text(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

impl Pool {
    pub fn new() -> Pool {
        let mut texts: Vec<String> = TEXTS.iter().map(|t| t.to_string()).collect();
        for depth in [10, 100, 300, 998, 999, 1000, 1001].into_iter().filter(|&d| d <= DEEPEST) {
            texts.push(nested_text(depth));
        }
        texts.push(format!("\"{}\"", "x".repeat(10_000)));
        texts.push(format!("[{}]", (0..2000).map(|i| i.to_string()).collect::<Vec<_>>().join(" ")));
        let mut values: Vec<Value> = texts.iter().filter_map(|t| Value::from_edn(t).ok()).collect();
        let kw = Value::keyword;
        values.extend([
            Value::Float(-0.0),
            Value::Float(f64::NAN),
            Value::Float(f64::INFINITY),
            Value::Float(f64::MIN_POSITIVE),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::Char('\u{0}'),
            Value::string(&"y".repeat(100_000)),
            Value::string("\u{0}\u{1b}[31m<&\"'>]]>"),
            // Collections the reader would refuse: a set with a repeated element, a map with a repeated key.
            Value::Set(vec![Value::Int(1), Value::Int(1)].into()),
            Value::Map(vec![(kw("a"), Value::Int(1)), (kw("a"), Value::Int(2))]),
            Value::Map((0..200).map(|i| (Value::Int(i), Value::Int(i))).collect()),
            Value::Set((0..500).map(Value::Int).collect()),
            Value::Vector(vec![Value::Int(0), Value::Int(1)]),
            Value::Vector(vec![Value::string("k"), Value::Nil]),
            Value::Vector(vec![nested(50), Value::Int(1)]),
            Value::Tagged("jepsen.history.Op".into(), Box::new(Value::Map(Vec::new()))),
            Value::List(vec![kw("read"), Value::Nil]),
        ]);
        for depth in [10, 100, 300, 997, 998, 999, 1000].into_iter().filter(|&d| d <= DEEPEST) {
            values.push(nested(depth));
        }
        let processes =
            ["99999999999999999999999", "\"p1\"", "nil", ":nemesis", "-1", "1.0", "[1 2]", ":p", "p"]
                .iter()
                .filter_map(|t| Value::from_edn(t).ok())
                .chain([
                    Value::Int(i64::MAX),
                    Value::Int(i64::MIN),
                    Value::Map(Vec::new()),
                    Value::string("nemesis"),
                ])
                .collect();
        Pool { values, texts, processes }
    }
}

impl Default for Pool {
    fn default() -> Pool {
        Pool::new()
    }
}

impl Default for Config {
    fn default() -> Config {
        Config::new()
    }
}

/// An index drawn with the given weights.
fn weighted(rng: &mut StdRng, weights: &[u32]) -> usize {
    let mut r = rng.random_range(0..weights.iter().sum::<u32>());
    for (i, &w) in weights.iter().enumerate() {
        if r < w {
            return i;
        }
        r -= w;
    }
    weights.len() - 1
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// The operations a built-in model knows.
fn functions(model: &str) -> &'static [&'static str] {
    match model {
        "register" => &["read", "write"],
        "cas-register" => &["read", "write", "cas"],
        "mutex" => &["acquire", "release"],
        "multi-register" => &["txn"],
        "set" => &["add", "read"],
        "unordered-queue" | "fifo-queue" => &["enqueue", "dequeue"],
        "kv" => &["get", "put", "append"],
        _ => &["read", "write", "start", "stop"],
    }
}

/// The models whose reads of nil may mean "absent" (`--nil-reads absent`).
const NIL_READ_MODELS: &[&str] = &["register", "cas-register", "multi-register", "kv"];

/// One execution's input, drawn from the seeds by `rng`.
pub fn mutate(rng: &mut StdRng, seeds: &[Seed], pool: &Pool) -> Input {
    let seed = pick(rng, seeds);
    let mut input = Input {
        seed: seed.name.clone(),
        bytes: Arc::new(Vec::new()),
        model: seed.model.clone(),
        init: seed.init.clone(),
        nil_reads: NilReads::Unknown,
        independent: seed.independent,
        layout: Layout::Text,
        trail: Vec::new(),
    };
    let mutations = rng.random_range(1..=4);
    let bytes = match &seed.ops {
        Some(ops) if !ops.is_empty() && rng.random_bool(0.8) => {
            structured(rng, ops, mutations, &mut input, pool)
        }
        _ => textual(rng, &seed.bytes, mutations, &mut input, pool),
    };
    if NIL_READ_MODELS.contains(&input.model.as_str()) && rng.random_bool(0.2) {
        input.nil_reads = NilReads::Absent;
        input.trail.push("--nil-reads absent".into());
    }
    if matches!(input.model.as_str(), "register" | "cas-register") && rng.random_bool(0.05) {
        input.init = pick(rng, &[None, Some(Value::Int(0)), Some(Value::Nil), Some(Value::Int(1))]).clone();
        input.trail.push(format!("--init {}", input.init.as_ref().map_or("(none)".into(), Value::to_edn)));
    }
    input.bytes = Arc::new(bytes);
    input
}

/// Mutates a seed's op maps, then writes them out in some layout, then mutates bytes.
fn structured(rng: &mut StdRng, seed: &[Value], mutations: usize, input: &mut Input, pool: &Pool) -> Vec<u8> {
    let mut ops = if seed.len() > 4 && rng.random_bool(0.9) {
        let window = crop(rng, seed.len());
        input.trail.push(format!("ops {}..{} of {}", window.start, window.end, seed.len()));
        seed[window].to_vec()
    } else {
        seed.to_vec()
    };
    if matches!(input.model.as_str(), "register" | "cas-register")
        && !input.independent
        && rng.random_bool(0.12)
    {
        let target = *pick(rng, &["register", "set", "unordered-queue", "fifo-queue", "mutex", "noop"]);
        retarget(&mut ops, target);
        input.model = target.to_string();
        input.init = None;
        input.trail.push(format!("rewritten for {target}"));
    }
    if !input.independent && input.model != "kv" && rng.random_bool(0.08) {
        tuples(rng, &mut ops, pool);
        input.independent = true;
        input.trail.push("values made [key value] tuples (independent)".into());
    }
    let mut byte_mutations = 0;
    for _ in 0..mutations {
        if rng.random_bool(0.08) {
            byte_mutations += 1;
        } else {
            let what = op_mutation(rng, &mut ops, input, pool);
            input.trail.push(what);
        }
    }
    // Most mutations of ops leave some unpaired: often pair them up again, so that the
    // engines see the mutated values and types rather than the completion's errors.
    if rng.random_bool(0.6) {
        repair(&mut ops);
        input.trail.push("paired up again".into());
    }
    // history.txt and console logs hold only process, type, f, value and error.
    let plain = ops.iter().all(|op| match op {
        Value::Map(entries) => entries.iter().all(|(k, _)| {
            matches!(k.as_keyword(), Some("process" | "type" | "f" | "value" | "error" | "index" | "time"))
        }),
        _ => false,
    });
    let layouts: &[(Layout, u32)] = &[
        (Layout::EdnLines, 50),
        (Layout::EdnVector, 12),
        (Layout::EdnList, 3),
        (Layout::JsonLines, 15),
        (Layout::JsonArray, 5),
        (Layout::HistoryTxt, if plain { 10 } else { 0 }),
        (Layout::JepsenLog, if plain { 5 } else { 0 }),
    ];
    let weights: Vec<u32> = layouts.iter().map(|l| l.1).collect();
    input.layout = layouts[weighted(rng, &weights)].0;
    input.trail.push(format!("written as {:?}", input.layout));
    let mut bytes = write(&ops, input.layout);
    for _ in 0..byte_mutations {
        let what = byte_mutation(rng, &mut bytes, pool);
        input.trail.push(what);
    }
    bytes
}

/// A window of at most 2^k of `n` items (k uniform in 0..=10).
fn crop(rng: &mut StdRng, n: usize) -> std::ops::Range<usize> {
    let most = 1usize << rng.random_range(0..=10);
    let len = rng.random_range(1..=most).min(n);
    let start = rng.random_range(0..=n - len);
    start..start + len
}

/// Makes ops pair up again: a completion (`:ok`, `:fail`) without an open invocation
/// of its process goes, and an invocation while its process has one open first
/// crashes that one (an `:info` copy of it is inserted, and then every op is numbered
/// again if they have an `:index`). Ops that are not maps with a `:type` stay.
fn repair(ops: &mut Vec<Value>) {
    let mut open: Vec<(Value, Value)> = Vec::new();
    let mut out = Vec::with_capacity(ops.len());
    let mut inserted = false;
    for op in ops.drain(..) {
        let process = op.get("process").cloned().unwrap_or(Value::Nil);
        let at = open.iter().position(|(p, _)| *p == process);
        match op.get("type").and_then(Value::as_name) {
            Some("invoke") => {
                if let Some(i) = at {
                    let (_, mut crashed) = open.swap_remove(i);
                    if let Value::Map(entries) = &mut crashed {
                        set_key(entries, "type", Value::keyword("info"));
                    }
                    out.push(crashed);
                    inserted = true;
                }
                open.push((process, op.clone()));
                out.push(op);
            }
            Some("ok" | "fail") if at.is_none() => {}
            _ => {
                if let Some(i) = at {
                    open.swap_remove(i);
                }
                out.push(op);
            }
        }
    }
    // Inserted ops copied an `:index`: number them all again.
    if inserted && out.iter().any(|op| op.get("index").is_some()) {
        for (i, op) in out.iter_mut().enumerate() {
            if let Value::Map(entries) = op {
                set_key(entries, "index", Value::Int(i as i64));
            }
        }
    }
    *ops = out;
}

/// Rewrites a register history in another model's vocabulary: writes (and a cas's new
/// value) become adds, enqueues or acquires; reads become reads of a set, dequeues or
/// releases.
fn retarget(ops: &mut [Value], target: &str) {
    for op in ops.iter_mut() {
        let Value::Map(entries) = op else { continue };
        let f = entries.iter().find(|(k, _)| k.as_keyword() == Some("f")).and_then(|(_, f)| f.as_name());
        let f = f.map(str::to_string);
        let value = entries.iter().find(|(k, _)| k.as_keyword() == Some("value")).map(|(_, v)| v.clone());
        let (f, value) = match (f.as_deref(), value) {
            (Some("cas"), Some(Value::Vector(pair))) if pair.len() == 2 => ("write", pair[1].clone()),
            (Some(f @ ("read" | "write")), Some(v)) => (f, v),
            _ => continue,
        };
        let (f, value) = match (target, f) {
            ("set", "write") => ("add", value),
            ("set", _) if value.is_nil() => ("read", value),
            ("set", _) => ("read", Value::Set(vec![value].into())),
            ("unordered-queue" | "fifo-queue", "write") => ("enqueue", value),
            ("unordered-queue" | "fifo-queue", _) => ("dequeue", value),
            ("mutex", "write") => ("acquire", Value::Nil),
            ("mutex", _) => ("release", Value::Nil),
            (_, f) => (f, value),
        };
        set_key(entries, "f", Value::keyword(f));
        set_key(entries, "value", value);
    }
}

/// Makes every client op's value a `[key value]` tuple: a key drawn per invocation,
/// and the same key on its completion (now and then another).
fn tuples(rng: &mut StdRng, ops: &mut [Value], pool: &Pool) {
    let keys = rng.random_range(1..=4);
    let mut open: Vec<(Value, Value)> = Vec::new();
    for op in ops.iter_mut() {
        let Value::Map(entries) = op else { continue };
        let process = entries.iter().find(|(k, _)| k.as_keyword() == Some("process")).map(|(_, p)| p.clone());
        let Some(process) = process else { continue };
        if process.as_keyword() == Some("nemesis") {
            continue;
        }
        let invoke =
            entries.iter().any(|(k, v)| k.as_keyword() == Some("type") && v.as_name() == Some("invoke"));
        let fresh = |rng: &mut StdRng| match rng.random_bool(0.95) {
            true => Value::Int(rng.random_range(0..keys)),
            false => pick(rng, &pool.values).clone(),
        };
        let key = match open.iter().position(|(p, _)| *p == process) {
            Some(i) if !invoke && rng.random_bool(0.97) => open.swap_remove(i).1,
            _ => fresh(rng),
        };
        if invoke {
            open.retain(|(p, _)| *p != process);
            open.push((process, key.clone()));
        }
        let value =
            entries.iter().find(|(k, _)| k.as_keyword() == Some("value")).map_or(Value::Nil, |e| e.1.clone());
        set_key(entries, "value", Value::Vector(vec![key, value]));
    }
}

/// Sets the first entry of `key` (a keyword), or adds one.
fn set_key(entries: &mut Vec<(Value, Value)>, key: &str, value: Value) {
    match entries.iter_mut().find(|(k, _)| k.as_keyword() == Some(key)) {
        Some(entry) => entry.1 = value,
        None => entries.push((Value::keyword(key), value)),
    }
}

/// A value already in the history under `key`: a random op's (if it has one).
fn seen(rng: &mut StdRng, ops: &[Value], key: &str) -> Option<Value> {
    ops.get(rng.random_range(0..ops.len().max(1)))?.get(key).cloned()
}

/// Deletes (`kind` 0), duplicates (1), swaps (2) or moves (3) the `i`th of `items`
/// (ops or lines, named `noun`); says what it did.
fn rearrange<T: Clone>(rng: &mut StdRng, items: &mut Vec<T>, i: usize, kind: usize, noun: &str) -> String {
    let n = items.len();
    match kind {
        0 => {
            items.remove(i);
            format!("deleted {noun} {i}")
        }
        1 => {
            let to = rng.random_range(0..=n);
            items.insert(to, items[i].clone());
            format!("duplicated {noun} {i} at {to}")
        }
        2 => {
            let j = if rng.random_bool(0.5) { (i + 1).min(n - 1) } else { rng.random_range(0..n) };
            items.swap(i, j);
            format!("swapped {noun}s {i} and {j}")
        }
        _ => {
            let item = items.remove(i);
            let to = rng.random_range(0..n);
            items.insert(to, item);
            format!("moved {noun} {i} to {to}")
        }
    }
}

/// One mutation of the ops; says what it did.
fn op_mutation(rng: &mut StdRng, ops: &mut Vec<Value>, input: &Input, pool: &Pool) -> String {
    if ops.is_empty() {
        ops.push(Value::from_edn("{:process 0, :type :invoke, :f :read, :value nil}").unwrap_or(Value::Nil));
        return "added an op to an empty history".into();
    }
    let n = ops.len();
    let i = rng.random_range(0..n);
    let kw = Value::keyword;
    match weighted(rng, &[10, 8, 8, 6, 10, 8, 16, 7, 6, 4, 6, 3, 2, 2]) {
        kind @ 0..=3 => rearrange(rng, ops, i, kind, "op"),
        4 => {
            let types = ["invoke", "ok", "fail", "info"];
            let value = match rng.random_bool(0.8) {
                true => kw(pick::<&str>(rng, &types)),
                false => {
                    pick(rng, &[kw("okay"), Value::string("ok"), Value::Nil, Value::Int(1), kw("Invoke")])
                        .clone()
                }
            };
            set_field(ops, i, "type", value)
        }
        5 => {
            let value = match weighted(rng, &[5, 1, 4]) {
                0 => seen(rng, ops, "process").unwrap_or(Value::Int(0)),
                1 => Value::Int(rng.random_range(0..100)),
                _ => pick(rng, &pool.processes).clone(),
            };
            set_field(ops, i, "process", value)
        }
        6 => {
            let value = match weighted(rng, &[35, 15, 10, 40]) {
                0 => seen(rng, ops, "value").unwrap_or(Value::Nil),
                1 => Value::Int(rng.random_range(0..5)),
                2 => Value::Vector(vec![
                    Value::Int(rng.random_range(0..5)),
                    Value::Int(rng.random_range(0..5)),
                ]),
                _ => pick(rng, &pool.values).clone(),
            };
            set_field(ops, i, "value", value)
        }
        7 => {
            let value = match rng.random_bool(0.7) {
                true => kw(pick::<&str>(rng, functions(&input.model))),
                false => pick(
                    rng,
                    &[
                        kw("foo"),
                        Value::string("read"),
                        Value::Symbol("read".into()),
                        Value::Nil,
                        Value::Int(1),
                    ],
                )
                .clone(),
            };
            set_field(ops, i, "f", value)
        }
        8 => match &mut ops[i] {
            Value::Map(entries) if !entries.is_empty() => {
                let k = rng.random_range(0..entries.len());
                let (key, _) = entries.remove(k);
                format!("deleted key {key} of op {i}")
            }
            _ => format!("(op {i} has no key to delete)"),
        },
        9 => match &mut ops[i] {
            Value::Map(entries) if !entries.is_empty() => {
                let k = rng.random_range(0..entries.len());
                let (key, mut value) = entries[k].clone();
                if rng.random_bool(0.5) {
                    value = pick(rng, &pool.values).clone();
                }
                let at = rng.random_range(0..=entries.len());
                entries.insert(at, (key.clone(), value));
                format!("duplicated key {key} of op {i}")
            }
            _ => format!("(op {i} has no key to duplicate)"),
        },
        10 => {
            let (key, value) = match rng.random_range(0..5) {
                0 => (
                    "index",
                    match rng.random_range(0..4) {
                        0 => Value::Int(rng.random_range(0..n as i64 + 2)),
                        1 => Value::Int(-1),
                        2 => Value::from_edn("99999999999999999999999").unwrap_or(Value::Nil),
                        _ => pick(rng, &pool.values).clone(),
                    },
                ),
                1 => (
                    "time",
                    pick(rng, &[Value::Int(-1), Value::Nil, Value::Int(i64::MAX), Value::Float(1.5)]).clone(),
                ),
                2 => ("error", pick(rng, &[kw("timeout"), Value::string("x"), Value::Nil]).clone()),
                3 => (
                    "key",
                    match rng.random_bool(0.7) {
                        true => Value::string(&rng.random_range(0..10).to_string()),
                        false => pick(rng, &pool.values).clone(),
                    },
                ),
                _ => ("junk", pick(rng, &pool.values).clone()),
            };
            set_field(ops, i, key, value)
        }
        11 => {
            let value = pick(rng, &[Value::Nil, Value::string("partition"), Value::Int(1)]).clone();
            let op = Value::kw_map([
                ("type", kw("info")),
                ("process", kw("nemesis")),
                ("f", kw(pick::<&str>(rng, &["start", "stop"]))),
                ("value", value),
            ]);
            ops.insert(i, op);
            format!("inserted a nemesis op at {i}")
        }
        12 => {
            ops[i] = pick(rng, &pool.values).clone();
            format!("replaced op {i} by {}", ops[i].to_edn_short(60))
        }
        _ => {
            let op = std::mem::replace(&mut ops[i], Value::Nil);
            ops[i] = Value::Tagged("jepsen.history.Op".into(), Box::new(op));
            format!("tagged op {i} #jepsen.history.Op")
        }
    }
}

/// Sets a field of op `i` (if it is a map); says what it did.
fn set_field(ops: &mut [Value], i: usize, key: &str, value: Value) -> String {
    let what = format!("op {i}: :{key} {}", value.to_edn_short(60));
    match &mut ops[i] {
        Value::Map(entries) => {
            set_key(entries, key, value);
            what
        }
        _ => format!("({what}: not a map)"),
    }
}

/// Writes ops in a layout.
fn write(ops: &[Value], layout: Layout) -> Vec<u8> {
    let edn = || ops.iter().map(Value::to_edn);
    let json = || ops.iter().map(|op| op.to_json().to_string());
    let txt = || {
        ops.iter().map(|op| {
            let field = |k: &str| op.get(k).map_or("nil".into(), Value::to_edn);
            let mut line = [field("process"), field("type"), field("f"), field("value")].join("\t");
            if let Some(e) = op.get("error") {
                line = format!("{line}\t{e}");
            }
            line
        })
    };
    let text = match layout {
        Layout::EdnLines | Layout::Text => edn().map(|l| l + "\n").collect(),
        Layout::EdnVector => format!("[{}]\n", edn().collect::<Vec<_>>().join("\n ")),
        Layout::EdnList => format!("({})\n", edn().collect::<Vec<_>>().join("\n ")),
        Layout::JsonLines => json().map(|l| l + "\n").collect(),
        Layout::JsonArray => format!("[{}]\n", json().collect::<Vec<_>>().join(",\n")),
        Layout::HistoryTxt => txt().map(|l| l + "\n").collect(),
        Layout::JepsenLog => {
            let lines: String = txt().map(|l| format!("INFO  jepsen.util - {l}\n")).collect();
            format!("INFO  jepsen.core - Running test\n{lines}")
        }
    };
    text.into_bytes()
}

/// Mutates a seed's text: whole lines, a field's text in place, or bytes.
fn textual(rng: &mut StdRng, seed: &[u8], mutations: usize, input: &mut Input, pool: &Pool) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = seed.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if lines.len() > 4 && rng.random_bool(0.3) {
        let window = crop(rng, lines.len());
        input.trail.push(format!("lines {}..{} of {}", window.start, window.end, lines.len()));
        lines.truncate(window.end);
        lines.drain(..window.start);
    }
    let mut byte_mutations = 0;
    for _ in 0..mutations {
        if lines.is_empty() {
            lines.push(b"{:process 0, :type :invoke, :f :read, :value nil}\n".to_vec());
        }
        let n = lines.len();
        let i = rng.random_range(0..n);
        let what = match weighted(rng, &[8, 6, 6, 4, 30, 20]) {
            kind @ 0..=3 => rearrange(rng, &mut lines, i, kind, "line"),
            4 => replace_field(rng, &mut lines[i], pool)
                .map_or(format!("(line {i}: no field)"), |w| format!("line {i}: {w}")),
            _ => {
                byte_mutations += 1;
                continue;
            }
        };
        input.trail.push(what);
    }
    let mut bytes = lines.concat();
    for _ in 0..byte_mutations {
        let what = byte_mutation(rng, &mut bytes, pool);
        input.trail.push(what);
    }
    bytes
}

/// Replaces one field's text on a line with an odd text: a tab-separated field, or
/// the EDN form after `:value`, `:process`, `:type`, `:f`, `:index`, `:time` or `:key`.
fn replace_field(rng: &mut StdRng, line: &mut Vec<u8>, pool: &Pool) -> Option<String> {
    let text = match rng.random_range(0..6) {
        0 => pick(rng, &[":invoke", ":ok", ":fail", ":info", ":okay", "\"ok\"", "nil"]).to_string(),
        1 => pick(rng, &["0", "1", "2", "3", "4", "nil", "[0 1]", "[1 2]"]).to_string(),
        _ => pick(rng, &pool.texts).clone(),
    };
    let (start, end, name) = if line.contains(&b'\t') {
        // Fields of history.txt, or of a console log after its marker.
        let body = find(line, b"jepsen.util - ").map_or(0, |at| at + b"jepsen.util - ".len());
        let mut bounds = vec![body];
        bounds.extend(line[body..].iter().enumerate().filter(|(_, &b)| b == b'\t').map(|(i, _)| body + i));
        let k = rng.random_range(0..bounds.len());
        let start = if k == 0 { bounds[0] } else { bounds[k] + 1 };
        let end = bounds.get(k + 1).copied().unwrap_or_else(|| {
            line.iter().rposition(|&b| b != b'\n' && b != b'\r').map_or(line.len(), |p| p + 1).max(start)
        });
        (start, end, format!("field {k}"))
    } else {
        let keys = [":value", ":process", ":type", ":f", ":index", ":time", ":key"];
        let present: Vec<&str> =
            keys.iter().copied().filter(|k| find(line, k.as_bytes()).is_some()).collect();
        if present.is_empty() {
            return None;
        }
        let key = *pick(rng, &present);
        let at = find(line, key.as_bytes())? + key.len();
        let start = skip_space(line, at);
        (start, form_end(line, start), key.to_string())
    };
    line.splice(start..end, text.bytes());
    Some(format!("{name} replaced by {}", short(&text)))
}

/// At most 100 characters of a text, `…` marking a cut.
fn short(text: &str) -> String {
    let mut s: String = text.chars().take(100).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && (bytes[at] == b' ' || bytes[at] == b',') {
        at += 1;
    }
    at
}

/// Where the EDN form starting at `start` ends, roughly: a string, a bracketed form
/// (brackets counted outside strings), or a token.
fn form_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut at = start;
    let mut in_string = false;
    while at < bytes.len() {
        let b = bytes[at];
        if in_string {
            match b {
                b'\\' => at += 1,
                b'"' => {
                    in_string = false;
                    if depth == 0 {
                        return at + 1;
                    }
                }
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'(' | b'{' => depth += 1,
                b']' | b')' | b'}' if depth == 0 => return at,
                b']' | b')' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return at + 1;
                    }
                }
                b' ' | b',' | b'\n' | b'\t' | b'\r' if depth == 0 => return at,
                _ => {}
            }
        }
        at += 1;
    }
    bytes.len()
}

/// One mutation of bytes; says what it did.
fn byte_mutation(rng: &mut StdRng, bytes: &mut Vec<u8>, pool: &Pool) -> String {
    let n = bytes.len();
    let at = rng.random_range(0..=n);
    match rng.random_range(0..6) {
        0 => {
            bytes.truncate(at);
            format!("truncated at byte {at}")
        }
        1 => {
            const ODD: &[&[u8]] = &[
                b"\0",
                b"\xff",
                b"\xc3",
                b"\"",
                b"{",
                b"}",
                b"[",
                b"]",
                b"(",
                b")",
                b"\n",
                b"\r",
                b"\t",
                b";",
                b"#",
                b"\\",
                b":",
                b" ",
                b",",
                b"^",
                b"#_",
                b"##",
                b"\xef\xbb\xbf",
                "💥".as_bytes(),
                b"\r\n",
            ];
            let count = rng.random_range(1..=4);
            let inserted: Vec<u8> = (0..count)
                .flat_map(|_| match rng.random_bool(0.7) {
                    true => pick(rng, ODD).to_vec(),
                    false => vec![rng.random::<u8>()],
                })
                .collect();
            bytes.splice(at..at, inserted.iter().copied());
            format!("inserted {inserted:?} at byte {at}")
        }
        2 if n > 0 => {
            let flips = rng.random_range(1..=4);
            for _ in 0..flips {
                let i = rng.random_range(0..n);
                bytes[i] ^= 1 << rng.random_range(0..8);
            }
            format!("flipped {flips} bits")
        }
        3 if n > 0 => {
            let end = (at + rng.random_range(1..=16)).min(n);
            bytes.drain(at.min(end)..end);
            format!("deleted bytes {at}..{end}")
        }
        4 if n > 0 => {
            let end = (at + rng.random_range(1..=64)).min(n);
            let chunk = bytes[at.min(end)..end].to_vec();
            let to = rng.random_range(0..=n);
            bytes.splice(to..to, chunk);
            format!("copied bytes {at}..{end} to {to}")
        }
        _ => {
            let text = pick(rng, &pool.texts);
            bytes.splice(at..at, text.bytes());
            format!("inserted {} at byte {at}", short(text))
        }
    }
}

// ---------------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------------

/// The first panic since the last [`take_panic`], on any thread: message and place.
static PANIC: Mutex<Option<(String, String)>> = Mutex::new(None);

/// Whether a stage is running under [`guarded`]: a panic outside one is the harness's
/// own, and is printed.
static GUARDING: AtomicBool = AtomicBool::new(false);

fn take_panic() -> Option<(String, String)> {
    PANIC.lock().unwrap_or_else(|e| e.into_inner()).take()
}

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => s.to_string(),
        (_, Some(s)) => s.clone(),
        _ => "(a panic without a message)".into(),
    }
}

/// Records panics instead of printing them (with a backtrace) one by one.
fn install_hook() -> Box<dyn Fn(&panic::PanicHookInfo<'_>) + Sync + Send + 'static> {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        let place = info.location().map_or("?".into(), |l| format!("{}:{}", l.file(), l.line()));
        let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
        let message = format!("{} (thread {thread})", payload_message(info.payload()));
        if !GUARDING.load(Ordering::Relaxed) {
            eprintln!("fuzz: the harness panicked at {place}: {message}");
        }
        let mut first = PANIC.lock().unwrap_or_else(|e| e.into_inner());
        first.get_or_insert((message, place));
    }));
    previous
}

/// Runs `f`; a panic (on this thread, or on another thread meanwhile) becomes a finding.
fn guarded<T>(stage: &str, findings: &mut Vec<Finding>, f: impl FnOnce() -> T) -> Option<T> {
    GUARDING.store(true, Ordering::Relaxed);
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDING.store(false, Ordering::Relaxed);
    let recorded = take_panic();
    let payload = result.as_ref().err().map(|p| payload_message(&**p));
    match (recorded, payload) {
        (Some((message, place)), _) => {
            findings.push(Finding { signature: format!("panic in {stage} at {place}"), message });
        }
        (None, Some(message)) => {
            findings.push(Finding { signature: format!("panic in {stage}"), message });
        }
        (None, None) => {}
    }
    result.ok()
}

// ---------------------------------------------------------------------------------
// Executions
// ---------------------------------------------------------------------------------

/// Something wrong with one execution.
#[derive(Clone, Debug)]
pub struct Finding {
    /// What and where, without the input's details: findings with one signature are
    /// counted together.
    pub signature: String,
    pub message: String,
}

fn finding(findings: &mut Vec<Finding>, signature: impl Into<String>, message: impl Into<String>) {
    findings.push(Finding { signature: signature.into(), message: message.into() });
}

/// One engine's analysis.
struct Run {
    label: &'static str,
    analysis: Analysis,
    /// The invalid analysis explained, for the run that asks.
    explanation: Option<Explanation>,
    elapsed: Duration,
    /// Checked split by key (if keyed).
    partition: bool,
}

/// Runs the pipeline on one input; returns its findings, counting in `stats`.
pub fn execute(input: &Input, config: &Config, file: Option<&Path>, stats: &mut Stats) -> Vec<Finding> {
    match input.model() {
        Err(_) => Vec::new(),
        Ok(model) if input.independent => execute_with(&Independent(model), input, config, file, stats),
        Ok(model) => execute_with(&model, input, config, file, stats),
    }
}

fn execute_with<M: Model>(
    model: &M,
    input: &Input,
    config: &Config,
    file: Option<&Path>,
    stats: &mut Stats,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let name = format!("fuzz.{}", input.extension());
    let bytes = &input.bytes[..];
    let Some(raw) = guarded("read", &mut findings, || read::RawOp::read(bytes, &name, None)) else {
        return findings;
    };
    let mut ops: Vec<Value> = Vec::new();
    let completed = match raw {
        Err(e) => {
            stats.read_rejected += 1;
            if config.verbose {
                eprintln!("rejected by read: {} ({})", short(&e.to_string()), input.trail.join("; "));
            }
            let page = guarded("report of a rejected file", &mut findings, || {
                let html =
                    report::html(&name, &[], &[Rejected { name: name.clone(), message: e.to_string() }]);
                well_formed("rejected page", &html)
            });
            if let Some(Some(m)) = page {
                finding(&mut findings, "report of a rejected file: not well-formed XML", m);
            }
            None
        }
        Ok(raw) => match guarded("complete", &mut findings, || {
            ops = raw.iter().map(|r| r.value.clone()).collect();
            History::complete(raw, model)
        }) {
            None => return findings,
            Some(Err(errors)) => {
                stats.complete_rejected += 1;
                if config.verbose {
                    let first = errors.diagnostics.first().map_or("", |d| d.message.as_str());
                    eprintln!("rejected by complete: {} ({})", short(first), input.trail.join("; "));
                }
                let page = guarded("report of a rejected history", &mut findings, || {
                    let rejected = Rejected { name: name.clone(), message: errors.to_string() };
                    well_formed("rejected page", &report::html(&name, &[], &[rejected]))
                });
                if let Some(Some(m)) = page {
                    finding(&mut findings, "report of a rejected history: not well-formed XML", m);
                }
                None
            }
            Some(Ok(history)) => Some(history),
        },
    };
    if let Some(path) = file {
        stats.file_reads += 1;
        compare_file_read(path, bytes, model, completed.as_ref(), &mut findings);
    }
    let Some(history) = completed else {
        return findings;
    };
    stats.checked += 1;
    let runs = check_all(model, &history, config, stats, &mut findings);
    compare_runs(&history, &runs, config, stats, &mut findings);
    for run in &runs {
        invariants(run, &mut findings);
    }
    render_all(&name, &history, &runs, &mut findings);
    online(model, &ops, &history, &runs, config, &mut findings);
    findings
}

/// Feeds the ops to the online checker one by one. Where it took every op (none
/// refused), its last verdict must be the competition's, failing op included.
fn online<M: Model>(
    model: &M,
    ops: &[Value],
    history: &History,
    runs: &[Run],
    config: &Config,
    findings: &mut Vec<Finding>,
) {
    let options = Options::default().time_limit(config.time_limit).memory_limit(config.memory_limit);
    let fed = guarded("online", findings, || {
        let mut online = Online::with_options(model, options);
        let mut every = true;
        for op in ops {
            every &= online.op(op).is_ok();
        }
        (every, online.verdict())
    });
    let (Some((true, verdict)), Some(batch)) = (fed, runs.iter().find(|r| r.label == "competition")) else {
        return;
    };
    let position = |index: u64| history.ops.iter().position(|o| o.index == index).unwrap_or(usize::MAX);
    let expected = match batch.analysis.valid {
        Validity::Valid => Verdict::Valid,
        Validity::Invalid => match failing_op(&batch.analysis, &position) {
            Some(at) => Verdict::Invalid { op: at as u64 },
            None => return,
        },
        Validity::Unknown => return,
    };
    if !matches!(verdict, Verdict::Unknown { .. }) && verdict != expected {
        finding(
            findings,
            "online: a verdict other than the batch check's",
            format!("{verdict:?}, batch {expected:?}"),
        );
    }
}

/// Checks a history with every engine that applies.
fn check_all<M: Model>(
    model: &M,
    history: &History,
    config: &Config,
    stats: &mut Stats,
    findings: &mut Vec<Finding>,
) -> Vec<Run> {
    let base = Options::default()
        .max_paths(config.max_paths)
        .time_limit(config.time_limit)
        .memory_limit(config.memory_limit);
    let run = |label: &'static str, options: Options, findings: &mut Vec<Finding>| {
        let start = Instant::now();
        let analysis = guarded(&format!("check ({label})"), findings, || check(model, history, &options))?;
        Some(Run {
            label,
            analysis,
            explanation: None,
            elapsed: start.elapsed(),
            partition: options.partition,
        })
    };
    let mut runs = Vec::new();
    for (label, algorithm) in
        [("wgl", Algorithm::Wgl), ("linear", Algorithm::Linear), ("competition", Algorithm::Competition)]
    {
        runs.extend(run(label, base.clone().algorithm(algorithm), findings));
    }
    let applies = guarded("unique_applies", findings, || history.unique_applies(model, &base).is_ok());
    if applies == Some(true) {
        stats.unique += 1;
        runs.extend(run("unique", base.clone().algorithm(Algorithm::Unique), findings));
    }
    // A keyed history, split by key above, also whole (by every engine), and split
    // with `fail_fast`.
    if runs.iter().any(|r| !r.analysis.results.is_empty()) {
        stats.keyed += 1;
        let whole = base.clone().partition(false);
        for (label, algorithm) in [
            ("whole wgl", Algorithm::Wgl),
            ("whole linear", Algorithm::Linear),
            ("whole competition", Algorithm::Competition),
        ] {
            runs.extend(run(label, whole.clone().algorithm(algorithm), findings));
        }
        let applies =
            guarded("unique_applies (whole)", findings, || history.unique_applies(model, &whole).is_ok());
        if applies == Some(true) {
            runs.extend(run("whole unique", whole.algorithm(Algorithm::Unique), findings));
        }
        runs.extend(run("fail-fast", base.clone().fail_fast(true), findings));
    }
    // An invalid history explained: the core, its words and its part of the page.
    if let Some(r) = runs.iter().find(|r| r.label == "competition" && r.analysis.valid == Validity::Invalid) {
        let explained = guarded("explain", findings, || explain(model, history, &r.analysis, &base));
        if let Some(explanation) = explained {
            let analysis = r.analysis.clone();
            runs.push(Run {
                label: "explain",
                analysis,
                explanation,
                elapsed: r.elapsed,
                partition: r.partition,
            });
        }
    }
    if let Some(r) = runs.iter().find(|r| r.label == "competition") {
        match r.analysis.valid {
            Validity::Valid => stats.valid += 1,
            Validity::Invalid => stats.invalid += 1,
            Validity::Unknown => stats.unknown += 1,
        }
    }
    runs
}

/// Labels grouped by what they say, in order of first appearance.
fn groups<T: PartialEq>(items: impl Iterator<Item = (T, &'static str)>) -> Vec<(T, Vec<&'static str>)> {
    let mut groups: Vec<(T, Vec<&'static str>)> = Vec::new();
    for (value, label) in items {
        match groups.iter_mut().find(|(v, _)| *v == value) {
            Some((_, labels)) => labels.push(label),
            None => groups.push((value, vec![label])),
        }
    }
    groups
}

/// One finding for engines that disagree, named after the smallest group (the odd
/// ones out), listing every group.
fn disagreement<T>(
    findings: &mut Vec<Finding>,
    what: &str,
    groups: &[(T, Vec<&'static str>)],
    show: impl Fn(&T) -> String,
) {
    let Some((_, labels)) = groups.iter().rev().min_by_key(|(_, labels)| labels.len()) else { return };
    let signature = format!("{what} (odd ones out: {})", labels.join(", "));
    let message: Vec<String> =
        groups.iter().map(|(v, labels)| format!("{}: {}", labels.join(", "), show(v))).collect();
    finding(findings, signature, message.join("; "));
}

/// The failing op of an analysis, as its position in the history: its own, or for one
/// checked key by key with every key decided, the first failing key's (locality: the
/// first `:ok` in the file's order, which `:index` need not follow).
fn failing_op(a: &Analysis, position: &impl Fn(u64) -> usize) -> Option<usize> {
    if a.valid != Validity::Invalid {
        return None;
    }
    if a.results.is_empty() {
        return a.op.as_ref().map(|o| position(o.index));
    }
    if a.results.iter().any(|(_, r)| r.valid == Validity::Unknown) {
        return None;
    }
    a.results.iter().filter_map(|(_, r)| failing_op(r, position)).min()
}

fn decided(v: Validity) -> bool {
    v != Validity::Unknown
}

/// Every pair of engines that both decided must agree on the verdict and the failing
/// op (for keyed histories, key by key too); the race must explain a failure as the
/// linear engine does.
fn compare_runs(
    history: &History,
    runs: &[Run],
    config: &Config,
    stats: &mut Stats,
    findings: &mut Vec<Finding>,
) {
    let positions: std::collections::HashMap<u64, usize> =
        history.ops.iter().enumerate().map(|(at, op)| (op.index, at)).collect();
    let position = |index: u64| positions.get(&index).copied().unwrap_or(usize::MAX);
    let index = |at: usize| history.ops.get(at).map_or("?".into(), |op| op.index.to_string());
    let decided_runs = runs.iter().filter(|r| decided(r.analysis.valid)).count() as u64;
    stats.compared += decided_runs * decided_runs.saturating_sub(1) / 2;
    // The verdicts of the runs that decided.
    let verdicts =
        groups(runs.iter().filter(|r| decided(r.analysis.valid)).map(|r| (r.analysis.valid, r.label)));
    if verdicts.len() > 1 {
        disagreement(findings, "verdicts differ", &verdicts, |v| format!("{v:?}"));
        return;
    }
    // The failing op of the runs that name one.
    let ops = groups(runs.iter().filter_map(|r| Some((failing_op(&r.analysis, &position)?, r.label))));
    if ops.len() > 1 {
        disagreement(findings, "failing ops differ", &ops, |&at| format!("op {}", index(at)));
    }
    // Key by key, the runs split by key.
    let split: Vec<&Run> = runs.iter().filter(|r| r.partition && !r.analysis.results.is_empty()).collect();
    let Some(first) = split.first() else { return };
    for (k, (key, _)) in first.analysis.results.iter().enumerate() {
        let outcomes = groups(split.iter().filter_map(|r| {
            let (_, a) = r.analysis.results.get(k)?;
            decided(a.valid).then(|| ((a.valid, failing_op(a, &position)), r.label))
        }));
        if outcomes.len() > 1 {
            disagreement(findings, "keys differ", &outcomes, |(v, at)| match at {
                Some(at) => format!("{v:?} at op {}", index(*at)),
                None => format!("{v:?}"),
            });
            if let Some(f) = findings.last_mut() {
                f.message = format!("key {}: {}", key.to_edn_short(40), f.message);
            }
            break;
        }
    }
    // The race explains a failure the linear engine's way, whichever engine won
    // (unless the unique-value engine decided): compared when neither came near the
    // time limit, which could have cut the final paths short.
    let find = |label| runs.iter().find(|r| r.label == label);
    if let (Some(linear), Some(race)) = (find("linear"), find("competition")) {
        let quick = |r: &Run| r.elapsed < config.time_limit / 4;
        let unique =
            |a: &Analysis| a.analyzer == "unique" || a.results.iter().any(|(_, r)| r.analyzer == "unique");
        if linear.analysis.valid == Validity::Invalid
            && race.analysis.valid == Validity::Invalid
            && quick(linear)
            && quick(race)
            && !unique(&race.analysis)
        {
            let (l, r) = (shown(&linear.analysis), shown(&race.analysis));
            if l != r {
                let message = format!("the race explains differently from linear:\n{r}\n{l}");
                finding(findings, "race explains differently from linear", message);
            }
        }
    }
}

/// An analysis as EDN, without the engine's name.
fn shown(a: &Analysis) -> String {
    let mut a = a.clone();
    a.analyzer = "";
    a.results.iter_mut().for_each(|(_, r)| r.analyzer = "");
    a.to_value().to_edn()
}

/// An invalid analysis names its failing op, and each final path ends in that op's
/// inconsistency after legal steps.
fn invariants(run: &Run, findings: &mut Vec<Finding>) {
    let mut check = |a: &Analysis, key: Option<&Value>| {
        if a.valid != Validity::Invalid || !a.results.is_empty() {
            return;
        }
        let at = key.map_or(String::new(), |k| format!(" (key {})", k.to_edn_short(40)));
        let Some(op) = &a.op else {
            finding(
                findings,
                format!("invalid without a failing op ({})", run.label),
                format!("{}{at}", run.label),
            );
            return;
        };
        let index = Value::Int(op.index as i64);
        for path in &a.final_paths {
            let Some((last, before)) = path.split_last() else {
                finding(findings, format!("empty final path ({})", run.label), format!("{}{at}", run.label));
                continue;
            };
            let ends = last.op.get("index") == Some(&index) && last.model.get("msg").is_some();
            if !ends || before.iter().any(|s| s.model.get("msg").is_some()) {
                let message = format!(
                    "{}{at}: a final path does not end in op {}'s inconsistency: {}",
                    run.label,
                    op.index,
                    path.iter().map(|s| s.model.to_edn_short(60)).collect::<Vec<_>>().join(" → ")
                );
                finding(findings, format!("bad final path ({})", run.label), message);
            }
        }
    };
    check(&run.analysis, None);
    for (key, a) in &run.analysis.results {
        check(a, Some(key));
    }
}

/// Renders every analysis three ways and checks that the EDN reads back and the JSON
/// parses; builds one report page of them all, which must be well-formed XML and name
/// each failing op.
fn render_all(name: &str, history: &History, runs: &[Run], findings: &mut Vec<Finding>) {
    for run in runs {
        let a = &run.analysis;
        let label = run.label;
        let outputs = guarded(&format!("render ({label})"), findings, || {
            let edn = render(a, run.explanation.as_ref(), Some(history), Some(name), OutputFormat::Edn);
            let json = render(a, run.explanation.as_ref(), Some(history), Some(name), OutputFormat::Json);
            let text = render(a, run.explanation.as_ref(), Some(history), Some(name), OutputFormat::Text);
            (edn, json, text)
        });
        let Some((edn, json, _)) = outputs else { continue };
        let back = guarded("parse_edn of an analysis", findings, || {
            (
                Value::from_edn(&edn).map(|_| ()),
                Value::from_edn(&a.to_value().to_edn()).map(|v| v == a.to_value()),
            )
        });
        match back {
            // The reader stops at 1000 levels, and an analysis nests an op's value a few
            // levels deeper than its op did: a value the reader just took comes back too
            // deep for it (not for clojure.edn). Not a finding.
            Some((Err(e), _)) | Some((_, Err(e))) if e.to_string().contains("nested more than") => {}
            Some((Err(e), _)) | Some((_, Err(e))) => {
                let message = format!("{label}: the analysis's EDN does not read back: {e}");
                finding(findings, "analysis EDN does not read", message);
            }
            Some((Ok(()), Ok(false))) => {
                let message = format!("{label}: the analysis's EDN reads back as another value");
                finding(findings, "analysis EDN reads back differently", message);
            }
            _ => {}
        }
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&json) {
            // serde_json stops at 128 levels of nesting: a limit of the checker, not of the output.
            if !e.to_string().contains("recursion limit") {
                finding(findings, "analysis JSON does not parse", format!("{label}: {e}"));
            }
        }
    }
    // One page of every distinct analysis (the race's is often the linear engine's).
    let mut distinct: Vec<(&Run, String)> = Vec::new();
    for run in runs {
        let edn = shown(&run.analysis) + run.explanation.as_ref().map_or("", |e| &e.sentence);
        if !distinct.iter().any(|(_, e)| *e == edn) {
            distinct.push((run, edn));
        }
    }
    let page = guarded("report", findings, || {
        let entries: Vec<Entry> = distinct
            .iter()
            .map(|(r, _)| Entry {
                name: r.label.to_string(),
                history,
                analysis: &r.analysis,
                explanation: r.explanation.as_ref(),
                elapsed: r.elapsed,
            })
            .collect();
        report::html(name, &entries, &[])
    });
    let Some(page) = page else { return };
    if let Some(m) = well_formed("report", &page) {
        finding(findings, "report not well-formed XML", m);
    }
    for (run, _) in &distinct {
        if let Some(op) = run.analysis.results.is_empty().then_some(run.analysis.op.as_ref()).flatten() {
            if run.analysis.valid == Validity::Invalid && !page.contains(&format!("op {}", op.index)) {
                let message = format!("{}: the report does not name op {}", run.label, op.index);
                finding(findings, "report does not name the failing op", message);
            }
        }
    }
}

/// Why a page is not well-formed XML, if it is not.
fn well_formed(what: &str, page: &str) -> Option<String> {
    let body = page.strip_prefix("<!DOCTYPE html>").unwrap_or(page);
    roxmltree::Document::parse(body).err().map(|e| format!("{what}: {e}"))
}

/// `History::read` of the bytes in a file must read what `History::complete` of
/// `RawOp::read` did: both fail, or both the same ops (or the file reader leaves out a
/// last line cut short, with a warning, where `RawOp::read` fails; and warns of a file of
/// no ops).
fn compare_file_read<M: Model>(
    path: &Path,
    bytes: &[u8],
    model: &M,
    memory: Option<&History>,
    findings: &mut Vec<Finding>,
) {
    if std::fs::write(path, bytes).is_err() {
        return;
    }
    let Some(file) = guarded("History::read", findings, || History::read(path, None, model)) else {
        return;
    };
    match (memory, file) {
        (None, Err(_)) => {}
        (None, Ok(h)) if !h.warnings.is_empty() => {}
        (None, Ok(_)) => {
            let message = "History::read reads a history that RawOp::read and complete reject";
            finding(findings, "file and memory readers differ: file accepts", message);
        }
        (Some(_), Err(e)) => {
            let message = format!("History::read rejects a history RawOp::read and complete accept: {e}");
            finding(findings, "file and memory readers differ: file rejects", message);
        }
        (Some(m), Ok(f)) => {
            let same = guarded("comparing file and memory histories", findings, || same_history(m, &f));
            if let Some(Err(difference)) = same {
                finding(findings, "file and memory readers differ: another history", difference);
            }
        }
    }
}

/// Whether two histories hold the same ops and operations, or the first difference.
fn same_history(m: &History, f: &History) -> Result<(), String> {
    if m.ops.len() != f.ops.len() || m.operations.len() != f.operations.len() {
        return Err(format!(
            "{} ops and {} operations in memory, {} and {} from the file",
            m.ops.len(),
            m.operations.len(),
            f.ops.len(),
            f.operations.len()
        ));
    }
    // A file of no ops is said to be one; ops in memory come from no file.
    let no_ops =
        |w: &&knossos_rs::Diagnostic| f.ops.is_empty() && w.message.starts_with("the file holds no ops");
    if let Some(w) = f.warnings.iter().find(|w| !no_ops(w)) {
        return Err(format!("warnings from the file only: {}", w.message));
    }
    for (a, b) in m.ops.iter().zip(&f.ops) {
        let key = |o: &knossos_rs::history::Op| (o.index, o.kind, o.line, o.column);
        if key(a) != key(b) || a.process() != b.process() || a.fields() != b.fields() {
            return Err(format!(
                "op {}: {:?} {} {} in memory, {:?} {} {} from the file",
                a.index,
                key(a),
                a.process().to_edn_short(60),
                a.fields().to_edn_short(100),
                key(b),
                b.process().to_edn_short(60),
                b.fields().to_edn_short(100)
            ));
        }
    }
    if m.ops.len() <= 200 {
        for (a, b) in m.ops.iter().zip(&f.ops) {
            let (x, y) = (m.op_map(a), f.op_map(b));
            if x != y {
                return Err(format!(
                    "op {}'s map: {} in memory, {} from the file",
                    a.index,
                    x.to_edn_short(100),
                    y.to_edn_short(100)
                ));
            }
        }
    }
    for (a, b) in m.operations.iter().zip(&f.operations) {
        if (a.invoke, a.complete, &a.f, &a.value) != (b.invoke, b.complete, &b.f, &b.value) {
            return Err(format!("operation of op {}: differs", a.invoke));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------

/// SplitMix64: execution `i`'s generator seed from the run's seed.
fn mix(seed: u64, index: u64) -> u64 {
    let mut z = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ index.wrapping_add(0x632b_e59b_d9b4_e019);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The input of execution `index` of a run seeded by `seed`.
pub fn input(seed: u64, index: u64, seeds: &[Seed], pool: &Pool) -> Input {
    mutate(&mut StdRng::seed_from_u64(mix(seed, index)), seeds, pool)
}

/// What the watchdog sees: the execution running, since when, and its input.
type Current = Mutex<Option<(u64, Instant, Input)>>;

/// Runs the executions `config` asks for; panics are recorded, not printed, meanwhile.
pub fn run(config: &Config) -> Summary {
    let seeds = seeds(config.corpus.as_deref(), &config.fixtures, config.generated);
    assert!(!seeds.is_empty(), "no seeds: neither a corpus nor fixtures");
    let pool = Pool::new();
    let previous = install_hook();
    let scratch = std::env::temp_dir().join(format!("knossos-fuzz-{}", std::process::id()));
    let file =
        (config.file_every > 0 && std::fs::create_dir_all(&scratch).is_ok()).then(|| scratch.join("input"));
    let mut summary = Summary { seeds: seeds.len(), ..Summary::default() };
    let start = Instant::now();
    let mut last_progress = start;
    let current: Arc<Current> = Arc::new(Mutex::new(None));
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (current, done, config) = (current.clone(), done.clone(), config.clone());
        std::thread::spawn(move || watch(&current, &done, &config))
    };
    for index in config.from..config.from.saturating_add(config.executions) {
        if config.duration.is_some_and(|d| start.elapsed() >= d) {
            break;
        }
        let input = input(config.seed, index, &seeds, &pool);
        let began = Instant::now();
        *current.lock().unwrap_or_else(|e| e.into_inner()) = Some((index, began, input.clone()));
        let through_file = file.as_deref().filter(|_| index % config.file_every == 0);
        let findings = execute(&input, config, through_file, &mut summary.stats);
        let elapsed = began.elapsed();
        if elapsed > summary.stats.slowest.0 {
            summary.stats.slowest = (elapsed, index);
        }
        summary.executions += 1;
        record(&mut summary, config, index, &input, findings);
        if config.progress.is_some_and(|every| last_progress.elapsed() >= every) {
            last_progress = Instant::now();
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "fuzz: {} executions (#{index}), {:.0}/s, {} findings, {} checked, {} rejected by read, {} by \
                 complete",
                summary.executions,
                summary.executions as f64 / secs,
                summary.findings,
                summary.stats.checked,
                summary.stats.read_rejected,
                summary.stats.complete_rejected
            );
        }
    }
    done.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    panic::set_hook(previous);
    let _ = std::fs::remove_dir_all(&scratch);
    summary.elapsed = start.elapsed();
    summary
}

/// Reports an execution still running after `config.hang`, once, saving its input.
fn watch(current: &Current, done: &AtomicBool, config: &Config) {
    let mut reported = None;
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(250));
        let guard = current.lock().unwrap_or_else(|e| e.into_inner());
        let Some((index, began, input)) = &*guard else { continue };
        if began.elapsed() >= config.hang && reported != Some(*index) {
            reported = Some(*index);
            let path = save(config, "hang", *index, input, &format!("still running after {:?}", config.hang));
            eprintln!(
                "fuzz: execution {index} still running after {:?}; input saved as {path:?}",
                config.hang
            );
        }
    }
}

/// Counts an execution's findings, and saves its input once (named after its first
/// finding) if one of them is among the first few of its kind, or smaller than those
/// saved.
fn record(summary: &mut Summary, config: &Config, index: u64, input: &Input, findings: Vec<Finding>) {
    let Some(first) = findings.first() else { return };
    let size = input.bytes.len();
    let mut wanted = false;
    for finding in &findings {
        summary.findings += 1;
        let kind = summary.kinds.entry(finding.signature.clone()).or_insert_with(|| Kind {
            message: finding.message.clone(),
            first: index,
            smallest: usize::MAX,
            ..Kind::default()
        });
        if kind.count == 0 {
            eprintln!(
                "fuzz: finding at execution {index}: {}: {}",
                finding.signature,
                short(&finding.message)
            );
        }
        kind.count += 1;
        wanted |= kind.saved.len() < 3 || (size < kind.smallest && kind.saved.len() < 20);
    }
    if !wanted {
        return;
    }
    let about: Vec<String> = findings.iter().map(|f| format!("{}\n  {}", f.signature, f.message)).collect();
    if let Some(path) = save(config, &first.signature, index, input, &about.join("\n")) {
        for finding in &findings {
            if let Some(kind) = summary.kinds.get_mut(&finding.signature) {
                if !kind.saved.contains(&path) {
                    kind.saved.push(path.clone());
                    kind.smallest = kind.smallest.min(size);
                }
            }
        }
    }
}

/// Writes an input, and beside it (`.about`) what happened and how to replay it.
fn save(config: &Config, what: &str, index: u64, input: &Input, about: &str) -> Option<PathBuf> {
    let slug: String = what
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let slug: String = slug.chars().take(80).collect();
    std::fs::create_dir_all(&config.out).ok()?;
    let path = config.out.join(format!("{slug}-s{}-e{index}.{}", config.seed, input.extension()));
    std::fs::write(&path, &input.bytes[..]).ok()?;
    let init = input.init.as_ref().map_or("(none)".into(), Value::to_edn);
    let text = format!(
        "{about}\n\nseed file: {}\nmodel: {}{}\n--init: {init}\n--nil-reads: {:?}\nmutations: {}\n\
         replay: cargo run --release --example fuzz -- --seed {} --from {index} --executions 1\n",
        input.seed,
        input.model,
        if input.independent { " (independent: [key value] tuples)" } else { "" },
        input.nil_reads,
        input.trail.join("; "),
        config.seed
    );
    let mut about_path = path.clone().into_os_string();
    about_path.push(".about");
    std::fs::write(about_path, text).ok()?;
    Some(path)
}

// ---------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------

const USAGE: &str = "\
usage: cargo run --release --example fuzz -- [OPTIONS]

  --executions N     how many executions (default 100000)
  --duration D       stop after this long (e.g. 30s, 60m), whatever N
  --seed S           the run's seed (default 0)
  --from I           the first execution's index (default 0); with --executions 1, replays one
  --corpus DIR       the external corpus (default ../shared/corpus beside the crate)
  --no-corpus        seed without it
  --fixtures DIR     the fixtures (default fixtures/)
  --no-generated     no generated seeds
  --out DIR          where findings are saved (default /tmp/knossos-fuzz-findings)
  --time-limit D     each check's time limit (default 200ms)
  --memory-limit MB  each check's memory limit in MiB (default 256)
  --max-paths N      final paths per analysis (default 3)
  --file-every N     also read every N-th input from a file with History::read (default 8; 0: never)
  --progress D       progress on stderr this often (default 10s; 0: never)
  --hang D           report an execution running longer than this (default 60s)
  --verbose          say why each rejected input was rejected, and how it was made
";

fn parse_args(args: &[String]) -> Result<Config, String> {
    let mut config = Config::new();
    let mut it = args.iter();
    let duration = |s: &str| humantime::parse_duration(s).map_err(|e| format!("`{s}`: {e}"));
    let number = |s: &str| s.parse::<u64>().map_err(|e| format!("`{s}`: {e}"));
    while let Some(flag) = it.next() {
        let mut value = || it.next().map(String::as_str).ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--executions" => config.executions = number(value()?)?,
            "--duration" => config.duration = Some(duration(value()?)?),
            "--seed" => config.seed = number(value()?)?,
            "--from" => config.from = number(value()?)?,
            "--corpus" => config.corpus = Some(PathBuf::from(value()?)),
            "--no-corpus" => config.corpus = None,
            "--fixtures" => config.fixtures = PathBuf::from(value()?),
            "--no-generated" => config.generated = false,
            "--out" => config.out = PathBuf::from(value()?),
            "--time-limit" => config.time_limit = duration(value()?)?,
            "--memory-limit" => config.memory_limit = number(value()?)? as usize * (1 << 20),
            "--max-paths" => config.max_paths = number(value()?)? as usize,
            "--file-every" => config.file_every = number(value()?)?,
            "--progress" => {
                config.progress = Some(duration(value()?)?).filter(|d| !d.is_zero());
            }
            "--hang" => config.hang = duration(value()?)?,
            "--verbose" => config.verbose = true,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(config)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse_args(&args) {
        Ok(config) => config,
        Err(e) if e.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("fuzz: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "fuzz: seed {}, executions {}..{}{}, time limit {:?}, memory limit {} MiB, findings to {}",
        config.seed,
        config.from,
        config.from.saturating_add(config.executions),
        config.duration.map_or(String::new(), |d| format!(" (at most {d:?})")),
        config.time_limit,
        config.memory_limit >> 20,
        config.out.display()
    );
    let summary = run(&config);
    eprint!("{}", summary.report());
    if summary.findings == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
