//! Command-line parsing, and mapping outcomes to exit codes.
//!
//! Exit status (the README's table): 0 linearizable, 1 not linearizable, 2 usage or input
//! error, 3 unknown. With several files the status is the worst of them, in the
//! order input error, not linearizable, unknown, linearizable.

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use knossos_rs::explain::{self, Explanation};
use knossos_rs::model::{self, DynModel, ModelOptions, NilReads};
use knossos_rs::partition::Independent;
use knossos_rs::read::Format;
use knossos_rs::render::{render, OutputFormat};
use knossos_rs::Model;
use knossos_rs::{check, Algorithm, History, InputError, Options, Pairing, Progress, Validity};
use knossos_rs::{generate, report};
use rayon::prelude::*;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A fast linearizability checker for Jepsen histories, compatible with Knossos.
#[derive(Parser)]
#[command(name = "knossos-rs", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check histories for linearizability.
    ///
    /// Prints one analysis per file to stdout (EDN by default, as Knossos writes
    /// it); input errors go to stderr. Exit status: 0 linearizable, 1 not
    /// linearizable, 2 usage or input error, 3 unknown; with several files, the
    /// worst of them.
    Check(CheckArgs),
    /// List the models: their operations, value shapes, initial state and an example op.
    Models,
    /// Write a synthetic Jepsen-like history to stdout, linearizable by construction
    /// unless an anomaly is injected.
    Generate(GenerateArgs),
    /// Shrink a history that is not linearizable to its faithful core: the few
    /// operations that are still not linearizable for a reason the history has, each
    /// of them needed.
    ///
    /// Writes the core as a history (its ops exactly as read) to stdout or `-o FILE`,
    /// and on stderr the anomaly in one sentence and how many operations it kept. Exit status as `check`'s: 1 when the
    /// history is not linearizable (and the core is written), 0 when it is (nothing
    /// to shrink, nothing written), 3 when undecided, 2 on an input error.
    Shrink(ShrinkArgs),
}

#[derive(clap::Args)]
struct ShrinkArgs {
    #[command(flatten)]
    checking: Checking,
    /// Format of the core: `edn` (one op map per line) or `json` (JSON Lines). Default:
    /// json for a JSON history, edn otherwise.
    #[arg(long, short, value_enum)]
    format: Option<CoreFormat>,
    /// Stop after this long, checking and shrinking together, and write the smallest
    /// core found so far (then not proven 1-minimal).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    time_limit: Option<std::time::Duration>,
    /// Write the core to FILE instead of stdout (`-`: stdout).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The history file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// What `check` and `shrink` share: the model, how the history is read, and how
/// it is searched.
#[derive(clap::Args)]
struct Checking {
    /// The model the history is checked against (see `knossos-rs models`).
    #[arg(long, short, value_parser = clap::builder::PossibleValuesParser::new(model::ModelInfo::NAMES))]
    model: String,

    /// The model's initial state, as EDN (for the registers, the value: `--init 0`).
    /// Default: nil.
    #[arg(long, value_name = "EDN")]
    init: Option<String>,

    /// What a read or dequeue that returned nil means: `unknown` (Jepsen records a
    /// crashed operation with nil: a read of nil is always legal, as in Knossos; a
    /// dequeue of nil took what the queue would hand out, or found it empty) or
    /// `absent` (the register held nil, as Porcupine's etcd tests mean it; the queue
    /// handed out the element nil, as Knossos reads it).
    #[arg(long, value_name = "MEANING", default_value = "unknown")]
    nil_reads: NilReads,

    /// Input format; detected from the content when not given.
    #[arg(long, value_name = "FORMAT", value_parser = ["edn", "json", "history-txt", "jepsen-log"])]
    format_in: Option<String>,

    /// Read every history as jepsen.independent's: each client op's value a
    /// `[key value]` tuple, each key a separate object of the model, checked on its
    /// own (and the failing key shrunk alone); a history whose values are not all
    /// tuples is an input error. The analysis has `:results` per key and
    /// `:failures`. Without this flag, a history whose client ops' values are all
    /// tuples (a read's invocation `[k nil]` included; keys that are not
    /// collections; not all `:cas`) is read so, with a line in `:warnings` saying
    /// so, and any other as it is.
    #[arg(long)]
    independent: bool,

    /// Do not split: read values as they are, never as jepsen.independent's
    /// tuples unless `--independent` says so, and check a keyed model's history
    /// (kv, split by `:key`, or `--independent`) as one object instead of key by
    /// key: slower, the same verdict; for comparing with tools that do not split.
    /// (`shrink` shrinks within the failing key all the same.)
    #[arg(long)]
    no_partition: bool,

    /// Leave out ops that cannot be paired into operations (a completion without an
    /// invocation, as Knossos's "No invocation for op" assertion reports; an
    /// invocation its process never completes before invoking again; a completion
    /// of another :f), each with a warning, listed in the analysis's :warnings: the
    /// verdict is then the rest's. Without it, each is an input error.
    #[arg(long)]
    drop_unpaired: bool,

    /// The engine: `wgl` (Wing & Gong with Lowe's cache), `linear` (Lowe's
    /// just-in-time linearization), `unique` (the polynomial engine for histories
    /// whose written values are all distinct; any other history is an input error
    /// naming the first value written twice), or `competition` (`unique` where it
    /// applies, else both searches race on two threads; the first verdict wins and
    /// the other stops at once).
    #[arg(long, value_name = "ALGORITHM", default_value = "competition",
          value_parser = ["wgl", "linear", "unique", "competition"])]
    algorithm: String,

    /// Stop the search before its caches hold more than this (`200MiB`, `2GiB`) and
    /// answer `:unknown` with cause `:memory-limit`. Default: half of physical memory.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    memory_limit: Option<usize>,
}

impl Checking {
    /// The model the flags name, or `None` after saying why not.
    fn model(&self) -> Option<CheckedBy> {
        let init = match self.init.as_deref().map(knossos_rs::Value::from_edn).transpose() {
            Ok(init) => init,
            Err(e) => {
                eprintln!("knossos-rs: --init: {e}");
                return None;
            }
        };
        let values = match (self.independent, self.no_partition) {
            (true, _) => Values::Tuples,
            (false, true) => Values::AsRead,
            (false, false) => Values::Detect,
        };
        match model::builtin(&self.model, &ModelOptions::default().init(init).nil_reads(self.nil_reads)) {
            Ok(m) => Some(CheckedBy { model: Independent(m), values }),
            Err(e) => {
                eprintln!("knossos-rs: {e}");
                None
            }
        }
    }

    fn format_in(&self) -> Option<Format> {
        self.format_in.as_deref().map(|f| f.parse().expect("clap checked it"))
    }

    fn pairing(&self) -> Pairing {
        if self.drop_unpaired {
            Pairing::DropUnpaired
        } else {
            Pairing::Strict
        }
    }

    /// The search's options these flags set, with this time limit.
    fn options(&self, time_limit: Option<std::time::Duration>) -> Options {
        Options::default()
            .algorithm(self.algorithm.parse::<Algorithm>().expect("clap checked it"))
            .time_limit(time_limit)
            .memory_limit(self.memory_limit)
    }
}

/// How `shrink` writes the core.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CoreFormat {
    /// One EDN op map per line, as Jepsen's history.edn.
    Edn,
    /// One JSON object per line.
    Json,
}

#[derive(clap::Args)]
struct GenerateArgs {
    /// The model whose objects are simulated (see `knossos-rs models`).
    #[arg(long, short, default_value = "cas-register",
          value_parser = clap::builder::PossibleValuesParser::new(model::ModelInfo::NAMES))]
    model: String,
    /// Client invocations in all (at least the few of the probe that runs halfway).
    #[arg(long, default_value_t = 1000)]
    ops: usize,
    /// Concurrent client processes (per key).
    #[arg(long, default_value_t = 5)]
    processes: usize,
    /// Independent keys: values become jepsen.independent `[key value]` tuples, which
    /// `check` reads as such and checks key by key (kv names its keys in `:key`
    /// instead).
    #[arg(long)]
    keys: Option<usize>,
    /// The share of operations that crash (end :info).
    #[arg(long, default_value_t = 0.01)]
    crash_rate: f64,
    /// The share of operations that fail (end :fail) at random.
    #[arg(long, default_value_t = 0.05)]
    fail_rate: f64,
    /// Values are drawn from 0..N.
    #[arg(long, value_name = "N", default_value_t = 5)]
    values: i64,
    /// The same seed gives the same history, byte for byte.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Inject an anomaly halfway through: stale-read, lost-write or double-apply. Its
    /// key and op index are printed on stderr.
    #[arg(long, value_name = "ANOMALY")]
    anomaly: Option<generate::Anomaly>,
    /// Add the nemesis's :start and :stop ops.
    #[arg(long)]
    nemesis: bool,
    /// Every written value distinct (writes, a cas's new value, adds, enqueues, puts,
    /// appends), as Jepsen's queue and set workloads and Porcupine's kv tests write
    /// them: the histories `--algorithm unique` decides.
    #[arg(long)]
    unique: bool,
    /// Each operation takes effect at a random instant inside its interval, not at its
    /// completion, as in real systems: then neither the invocations' nor the
    /// completions' order is itself a linearization.
    #[arg(long)]
    effect_inside: bool,
    /// Output format: edn (Jepsen's history.edn), json (JSON Lines) or history-txt
    /// (not json for set, as JSON has no sets; not history-txt for kv, which has no `:key`).
    #[arg(long, short, default_value = "edn")]
    format: Format,
}

#[derive(clap::Args)]
struct CheckArgs {
    #[command(flatten)]
    checking: Checking,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Out::Edn)]
    format: Out,

    /// At most this many final paths in an invalid analysis (they can be
    /// factorially many; no more than this are ever enumerated).
    #[arg(long, value_name = "N", default_value_t = 10)]
    max_paths: usize,

    /// Stop each file's search after this long (`500ms`, `30s`, `5m`) and answer
    /// `:unknown` with cause `:timeout`.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    time_limit: Option<std::time::Duration>,

    /// Check keys (and files) on this many threads (1 to 1024). Default: one per core.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,

    /// Stop every key at the first that is not linearizable, as Porcupine does: the
    /// verdict is false at once, the keys still undecided `:unknown` (cause
    /// `:stopped`). For CI, where the first failure is the answer.
    #[arg(long)]
    fail_fast: bool,

    /// For a valid history, print `:linearization`: the `:index` of each operation's
    /// invocation, in an order that explains the history (each key's under
    /// `:results` for a history checked key by key).
    #[arg(long)]
    witness: bool,

    /// Write each file's analysis beside it, as `<file>.knossos.edn` (or `.json`
    /// with `--format json`).
    #[arg(long)]
    write_results: bool,

    /// Write an HTML report (`DIR/report.html`, self-contained) and an SVG diagram
    /// of each anomaly into DIR.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,

    /// Explain each history that is not linearizable: its faithful core (the few
    /// operations still not linearizable for a reason the history has, each of them
    /// needed) and the anomaly named and said in one sentence (`:anomaly`,
    /// `:explanation`, `:core` with the ops' `:index`es, and `:core-minimal?` in the
    /// analysis; first in the text summary and the report). Within the time limit.
    /// On by default with `--format text` and `--report`, which people read.
    #[arg(long, overrides_with = "no_shrink")]
    shrink: bool,

    /// Do not explain (no core), not even for `--format text` and `--report`.
    #[arg(long)]
    no_shrink: bool,

    /// No progress bar and no summary table.
    #[arg(long, short)]
    quiet: bool,

    /// History files (Jepsen's history.edn, Knossos's EDN vectors, JSON,
    /// history.txt, old Jepsen console logs), or directories such as a Jepsen
    /// store/, searched for history.edn (.json, .txt, .log) files at any depth.
    /// Several are checked in parallel, and a summary table follows on stderr.
    #[arg(required = true, value_name = "PATH")]
    files: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Out {
    /// EDN, readable by clojure.edn/read.
    Edn,
    /// JSON, with the same keys (`valid?`, `op`, …).
    Json,
    /// A short human summary.
    Text,
}

fn parse_size(s: &str) -> Result<usize, String> {
    let size: bytesize::ByteSize = s.parse()?;
    usize::try_from(size.as_u64()).map_err(|e| e.to_string())
}

/// Runs the command line; returns the exit status.
pub fn run() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => run_check(args),
        Command::Models => {
            let mut stdout = std::io::stdout().lock();
            for m in model::ModelInfo::all() {
                // A closed pipe (`knossos-rs models | head`) ends the listing, quietly.
                let _ = writeln!(
                    stdout,
                    "{}\n  operations: {}\n  values:     {}\n  initial:    {}\n  example:    {}\n",
                    m.name, m.operations, m.values, m.init, m.example
                );
            }
            VALID
        }
        Command::Generate(args) => run_generate(args),
        Command::Shrink(args) => run_shrink(args),
    }
}

fn run_generate(args: GenerateArgs) -> i32 {
    let spec = generate::Spec {
        model: args.model,
        processes: args.processes,
        ops: args.ops,
        keys: args.keys,
        crash_rate: args.crash_rate,
        fail_rate: args.fail_rate,
        values: args.values,
        seed: args.seed,
        anomaly: args.anomaly,
        nemesis: args.nemesis,
        unique: args.unique,
        effect_inside: args.effect_inside,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match generate::generate(&spec, args.format, &mut out).and_then(|g| out.flush().map(|()| g)) {
        Ok(generated) => {
            if let Some(injected) = generated.anomaly {
                let key = injected.key.map_or(String::new(), |k| format!(" on key {}", k.to_edn()));
                eprintln!(
                    "injected {}{key} at op {}",
                    spec.anomaly.map_or(String::new(), |a| a.to_string()),
                    injected.index
                );
            }
            VALID
        }
        // A reader that has seen enough (`knossos-rs generate | head`) is no error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => VALID,
        Err(e) => {
            eprintln!("knossos-rs generate: {e}");
            ERROR
        }
    }
}

fn run_shrink(args: ShrinkArgs) -> i32 {
    let Some(by) = args.checking.model() else { return ERROR };
    let format_in = args.checking.format_in();
    let name = args.file.display().to_string();
    match by.read(&args.file, format_in, args.checking.pairing()) {
        Ok((history, tuples)) => {
            for w in &history.warnings {
                eprintln!("{}", warning(&name, w));
            }
            match tuples {
                true => shrink_history(&args, &by.model, &history),
                false => shrink_history(&args, &by.model.0, &history),
            }
        }
        Err(e) => {
            eprintln!("{e}");
            ERROR
        }
    }
}

/// Shrinks the history of the file `shrink` names, with the model it names.
fn shrink_history<M: Model + ?Sized>(args: &ShrinkArgs, model: &M, history: &History) -> i32 {
    let format_in = args.checking.format_in();
    let name = args.file.display().to_string();
    let options = args.checking.options(args.time_limit);
    if options.algorithm == Algorithm::Unique {
        if let Err(d) = history.unique_applies(model, &options) {
            eprintln!("{}", InputError::new(&name, vec![d]));
            return ERROR;
        }
    }
    let start = Instant::now();
    let analysis = check(model, history, &options);
    let explained = explain::explain(model, history, &analysis, &options.after(start.elapsed()));
    let (core, sentence) = match (analysis.valid, explained) {
        (Validity::Invalid, Some(e)) => (e.core, e.sentence),
        (Validity::Unknown, _) => {
            let cause = analysis.cause.map_or("unknown", |c| c.name());
            eprintln!("{name}: unknown: the check stopped ({cause}) before a verdict; nothing to shrink");
            return UNKNOWN;
        }
        _ => {
            eprintln!("{name}: linearizable: nothing to shrink");
            return VALID;
        }
    };
    // The input's format when it is JSON (whose keywords are strings, so that EDN
    // would not read back the same), else EDN.
    let json = match args.format {
        Some(format) => format == CoreFormat::Json,
        None => format_in.or_else(|| sniff(&args.file)) == Some(Format::Json),
    };
    let written = &core.history;
    let text: String = written
        .ops
        .iter()
        .map(|op| {
            let map = written.op_map(op);
            (if json { map.to_json() } else { map.to_edn() }) + "\n"
        })
        .collect();
    let written = match args.output.as_deref().filter(|p| *p != Path::new("-")) {
        Some(path) => knossos_rs::expert::write_atomically(path, text.as_bytes()),
        None => std::io::stdout().lock().write_all(text.as_bytes()).and_then(|()| std::io::stdout().flush()),
    };
    if let Err(e) = written {
        eprintln!("knossos-rs: cannot write the core: {e}");
        return ERROR;
    }
    let key = core.key.as_ref().map_or_else(String::new, |k| format!(" of key {}", k.to_edn_short(40)));
    let minimal = if core.minimal {
        "core is 1-minimal"
    } else if start.elapsed() >= options.time_limit.unwrap_or(knossos_rs::shrink::Core::DEFAULT_TIME_LIMIT) {
        "core is NOT proven 1-minimal: the time limit ran out"
    } else {
        "core is NOT proven 1-minimal: a check was undecided"
    };
    eprintln!("{name}: {sentence}");
    eprintln!(
        "{name}: kept {} of {} operations{key} ({} of {} ops); {minimal} ({} checks, {:.2} s)",
        core.history.operations.len(),
        core.of,
        core.positions.len(),
        history.ops.len(),
        core.checks,
        start.elapsed().as_secs_f64()
    );
    INVALID
}

/// The format of a file, from its first bytes; `None` if it cannot be read again.
fn sniff(path: &Path) -> Option<Format> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path).ok()?.take(1 << 16).read_to_end(&mut head).ok()?;
    Some(Format::detect(&head))
}

/// Exit statuses, and their order from best to worst.
const VALID: i32 = 0;
const UNKNOWN: i32 = 3;
const INVALID: i32 = 1;
const ERROR: i32 = 2;

fn worse(a: i32, b: i32) -> i32 {
    let rank = |s| [VALID, UNKNOWN, INVALID, ERROR].iter().position(|&x| x == s).unwrap_or(3);
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

fn run_check(args: CheckArgs) -> i32 {
    if let Some(threads) = args.threads {
        // Only fails if a pool was built already, which nothing here does.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(threads.into()).build_global();
    }
    let Some(model) = args.checking.model() else {
        return ERROR;
    };
    let format = match args.format {
        Out::Edn => OutputFormat::Edn,
        Out::Json => OutputFormat::Json,
        Out::Text => OutputFormat::Text,
    };
    let options = args
        .checking
        .options(args.time_limit)
        .max_paths(args.max_paths)
        .partition(!args.checking.no_partition)
        .fail_fast(args.fail_fast)
        .witness(args.witness);
    let stdin = args.files.iter().any(|f| f == Path::new("-"));
    if args.write_results && stdin {
        eprintln!(
            "knossos-rs: --write-results writes each analysis beside its history, and standard input \
             has no place beside it\n  hint: the analysis is on standard output: redirect it (`> FILE`)"
        );
        return ERROR;
    }
    if args.report.as_deref() == Some(Path::new("-")) {
        eprintln!(
            "knossos-rs: --report writes a directory (report.html and a diagram per anomaly): name one"
        );
        return ERROR;
    }
    let files = match expand(&args.files) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("knossos-rs: {e}");
            return ERROR;
        }
    };
    let several = files.len() > 1;
    let reading = Reading {
        format_in: args.checking.format_in(),
        pairing: args.checking.pairing(),
        // The text summary and the report explain anomalies from the history.
        keep_history: format == OutputFormat::Text || args.report.is_some(),
        explain: args.shrink || (!args.no_shrink && (format == OutputFormat::Text || args.report.is_some())),
    };
    let shown = !args.quiet && std::io::stderr().is_terminal();
    let check = |found: &Found, options: &Options, stages: Option<&ProgressBar>| match found {
        Ok(path) => check_file(path, &model, options, &reading, stages),
        Err((path, why)) => unreadable(path, why),
    };
    // Files in parallel (each one's keys in parallel too), results in the given order.
    let outcomes: Vec<FileOutcome> = if several {
        let files_bar = if shown {
            ProgressBar::new(files.len() as u64).with_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} files").expect("a valid template"),
            )
        } else {
            ProgressBar::hidden()
        };
        let outcomes = files
            .par_iter()
            .map(|found| {
                let outcome = check(found, &options, None);
                files_bar.inc(1);
                outcome
            })
            .collect();
        files_bar.finish_and_clear();
        outcomes
    } else {
        let progress = Progress::default();
        let options = options.clone().progress(progress.clone());
        let bar = if shown { stages_bar(progress) } else { ProgressBar::hidden() };
        let outcome = check(&files[0], &options, Some(&bar));
        bar.finish_and_clear();
        vec![outcome]
    };
    let mut status = VALID;
    let mut stdout = std::io::stdout().lock();
    // The verdict is the command's answer: if it cannot be written (a full disk),
    // say so and fail rather than exit as if it had been. (A closed stdout cannot be
    // told: Rust's runtime puts /dev/null in its place, opened as Python's
    // subprocess.DEVNULL opens it.)
    let mut unwritten: Option<std::io::Error> = None;
    for outcome in &outcomes {
        let file_status = match &outcome.result {
            Err(e) => {
                eprintln!("{e}");
                ERROR
            }
            Ok(checked) => {
                let label = (several || format == OutputFormat::Text).then_some(outcome.name.as_str());
                let explanation = checked.explanation.as_ref();
                let out = render(&checked.analysis, explanation, checked.history.as_ref(), label, format);
                if unwritten.is_none() {
                    unwritten = writeln!(stdout, "{}", out.trim_end()).and_then(|()| stdout.flush()).err();
                }
                if args.write_results {
                    if let Err(e) = write_result(&outcome.path, &checked.analysis, explanation, format) {
                        eprintln!("{}: cannot write the analysis: {e}", outcome.name);
                        status = worse(status, ERROR);
                    }
                }
                match checked.analysis.valid {
                    Validity::Valid => VALID,
                    Validity::Invalid => INVALID,
                    Validity::Unknown => UNKNOWN,
                }
            }
        };
        status = worse(status, file_status);
    }
    if let Some(e) = unwritten {
        eprintln!("knossos-rs: cannot write the analysis to standard output: {e}");
        status = worse(status, ERROR);
    }
    if several && !args.quiet {
        eprint!("{}", summary(&outcomes));
    }
    if let Some(dir) = &args.report {
        let entries: Vec<report::Entry> = outcomes
            .iter()
            .filter_map(|o| {
                let c = o.result.as_ref().ok()?;
                Some(report::Entry {
                    name: o.name.clone(),
                    history: c.history.as_ref()?,
                    analysis: &c.analysis,
                    explanation: c.explanation.as_ref(),
                    elapsed: o.elapsed,
                })
            })
            .collect();
        let rejected: Vec<report::Rejected> = (outcomes.iter())
            .filter_map(|o| o.result.as_ref().err().map(|e| (o, e)))
            .map(|(o, e)| report::Rejected { name: o.name.clone(), message: e.to_string() })
            .collect();
        let title =
            format!("knossos-rs: {} checked with {}", plural_files(entries.len()), args.checking.model);
        match report::write(dir, &title, &entries, &rejected) {
            Ok(written) => {
                if !args.quiet {
                    eprintln!("report: {}", written[0].display());
                }
            }
            Err(e) => {
                eprintln!("knossos-rs: cannot write the report in {}: {e}", dir.display());
                status = worse(status, ERROR);
            }
        }
    }
    // The process exits next: freeing the histories kept would only delay it.
    std::mem::forget(outcomes);
    status
}

fn plural_files(n: usize) -> String {
    if n == 1 {
        "1 history".into()
    } else {
        format!("{n} histories")
    }
}

/// One file's result.
struct FileOutcome {
    path: PathBuf,
    name: String,
    result: Result<Checked, InputError>,
    elapsed: Duration,
}

struct Checked {
    /// Kept only for the text summary and the report.
    history: Option<History>,
    /// How many ops the history had.
    ops: usize,
    analysis: knossos_rs::Analysis,
    /// An invalid history's explanation, when asked for.
    explanation: Option<Explanation>,
}

/// A spinner for one file: its stage (reading, completing, checking) and, once it is
/// split, how many of its keys are checked.
fn stages_bar(progress: Progress) -> ProgressBar {
    let keys = move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
        if progress.parts() > 1 {
            let _ = write!(w, ": {}/{} keys", progress.checked(), progress.parts());
        }
    };
    let style = ProgressStyle::with_template("{spinner} {elapsed} {msg}{keys}")
        .expect("a valid template")
        .with_key("keys", keys);
    let bar = ProgressBar::new_spinner().with_style(style);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// Bytes of memory a history takes per KiB of its file: the peak RSS of checking
/// generated EDN histories (208 MB for 185 MB, 0.9 GB for 1.04 GB), with a margin for
/// histories whose ops share less. Ops are held compact, about 50 bytes each, and a
/// piece's ops in full only while it is read.
const MEMORY_PER_KIB: u64 = 1536;

/// A warning if holding the history of `path` may take more memory than the memory
/// limit allows the search: the limit does not cover the history, so a machine sized
/// by it may run out while reading.
fn memory_warning(path: &Path, options: &Options) -> Option<String> {
    let size = std::fs::metadata(path).ok()?.len();
    let need = size.saturating_mul(MEMORY_PER_KIB) / 1024;
    let limit = options.memory_limit_in_force();
    (need > limit as u64).then(|| {
        format!(
            "holding this {} history takes about {} of memory, more than the memory limit ({}), \
             which bounds only the search; the process may run out of memory while reading",
            bytesize::ByteSize(size),
            bytesize::ByteSize(need),
            bytesize::ByteSize(limit as u64)
        )
    })
}

/// How each file is read and checked, besides the check's [`Options`].
struct Reading {
    format_in: Option<Format>,
    pairing: Pairing,
    /// Keep the history for the text summary and the report (else it is dropped once checked).
    keep_history: bool,
    /// Explain an invalid history ([`explain::explain`]).
    explain: bool,
}

/// The model files are checked against, and how their values are read: a history of
/// `[key value]` tuples is checked against `model`, any other against `model.0`
/// (`Independent` has states of its own, so it is not a `DynModel`).
struct CheckedBy {
    model: Independent<DynModel>,
    values: Values,
}

/// How values are read.
#[derive(Clone, Copy)]
enum Values {
    /// As `[key value]` tuples (`--independent`).
    Tuples,
    /// As they are (`--no-partition`).
    AsRead,
    /// As tuples when every client op's value is one.
    Detect,
}

impl CheckedBy {
    /// Reads and completes a history; with whether its values were read as tuples.
    fn read(
        &self,
        path: &Path,
        format: Option<Format>,
        pairing: Pairing,
    ) -> Result<(History, bool), InputError> {
        match self.values {
            Values::Tuples => History::read_with(path, format, &self.model, pairing).map(|h| (h, true)),
            Values::AsRead => History::read_with(path, format, &self.model.0, pairing).map(|h| (h, false)),
            Values::Detect => History::read_detecting_tuples(path, format, &self.model, pairing),
        }
    }
}

/// A warning of reading a file, as stderr shows it: `file:line: warning: …`, with its
/// hint; without a line when it is about the whole file.
fn warning(name: &str, w: &knossos_rs::Diagnostic) -> String {
    let at = if w.line == 0 { String::new() } else { format!(":{}", w.line) };
    let hint = w.hint.as_ref().map_or_else(String::new, |h| format!("\n  hint: {h}"));
    format!("{name}{at}: warning: {}{hint}", w.message)
}

fn check_file(
    path: &Path,
    by: &CheckedBy,
    options: &Options,
    reading: &Reading,
    // Given when the file is checked alone: it shows the stages, and its answer
    // waits for nothing else.
    stages: Option<&ProgressBar>,
) -> FileOutcome {
    let &Reading { format_in, pairing, keep_history, explain } = reading;
    let start = Instant::now();
    let name = path.display().to_string();
    let stage = |what: &str| stages.inspect(|bar| bar.set_message(format!("{what} {name}")));
    let say = |line: String| match stages {
        Some(bar) => bar.suspend(|| eprintln!("{line}")),
        None => eprintln!("{line}"),
    };
    if let Some(warning) = memory_warning(path, options) {
        say(format!("{name}: warning: {warning}"));
    }
    stage("reading");
    let result = by.read(path, format_in, pairing).and_then(|(history, tuples)| {
        for w in &history.warnings {
            say(warning(&name, w));
        }
        stage("checking");
        // The time limit covers reading too.
        let options = &options.after(start.elapsed());
        let (analysis, explanation) = match tuples {
            true => check_history(&by.model, &history, options, explain),
            false => check_history(&by.model.0, &history, options, explain),
        }
        .map_err(|d| InputError::new(&name, vec![d]))?;
        let ops = history.ops.len();
        let history = match (keep_history, stages) {
            (true, _) => Some(history),
            // Freeing millions of ops takes a while that a lone file's answer need
            // not wait for (a batch prints once every file is checked).
            (false, Some(_)) => {
                std::thread::spawn(move || drop(history));
                None
            }
            (false, None) => None,
        };
        Ok(Checked { history, ops, analysis, explanation })
    });
    FileOutcome { path: path.to_path_buf(), name, result, elapsed: start.elapsed() }
}

/// Checks a history and, with `explaining`, explains it when it is invalid; or says
/// where `--algorithm unique` does not apply to it.
fn check_history<M: Model + ?Sized>(
    model: &M,
    history: &History,
    options: &Options,
    explaining: bool,
) -> Result<(knossos_rs::Analysis, Option<Explanation>), knossos_rs::Diagnostic> {
    let start = Instant::now();
    if options.algorithm == Algorithm::Unique {
        history.unique_applies(model, options)?;
    }
    let analysis = check(model, history, options);
    let explanation = explaining
        .then(|| explain::explain(model, history, &analysis, &explaining_options(options, start.elapsed())))
        .flatten();
    Ok((analysis, explanation))
}

/// What the explanation of a check that took `spent` may take: what is left of the
/// time limit, or without one, fifty times the check's own time, from 1 s to the
/// library's 10 s. A verdict found in milliseconds (Porcupine's `c50-bad`, 0.02 s)
/// should not wait 10 s, and a search's gigabytes, for a core proven minimal.
fn explaining_options(options: &Options, spent: Duration) -> Options {
    match options.time_limit {
        Some(_) => options.after(spent),
        None => options.clone().time_limit(
            (spent * 50).clamp(Duration::from_secs(1), knossos_rs::shrink::Core::DEFAULT_TIME_LIMIT),
        ),
    }
}

/// A file to check, or an entry of a directory that could not be read (with why).
type Found = Result<PathBuf, (PathBuf, String)>;

/// The histories Jepsen stores, in order of preference: it writes each run's history
/// as EDN and again as text.
const HISTORIES: [&str; 4] = ["history.edn", "history.json", "history.txt", "history.log"];

/// The files to check: each file given, and in each directory given, the history of
/// every run stored under it, at any depth: one per directory (the first of
/// [`HISTORIES`] there), leaving out the copies Jepsen writes per key under
/// `independent/`, which are parts of their run. What cannot be read is found too,
/// as an error, so that it is reported among the rest.
fn expand(paths: &[PathBuf]) -> Result<Vec<Found>, String> {
    let mut found = Vec::new();
    for path in paths {
        if !path.is_dir() {
            found.push(Ok(path.clone()));
            continue;
        }
        // By directory, its preferred history so far (by rank in HISTORIES).
        let mut runs: std::collections::BTreeMap<PathBuf, (usize, PathBuf)> = Default::default();
        let mut unreadable = Vec::new();
        let walk = walkdir::WalkDir::new(path)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !(e.file_type().is_dir() && e.file_name() == "independent"));
        for entry in walk {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    let at = e.path().unwrap_or(path).to_path_buf();
                    let why = e.io_error().map_or_else(|| e.to_string(), |io| io.kind().to_string());
                    unreadable.push(Err((at, format!("cannot read: {why}"))));
                    continue;
                }
            };
            let name = entry.file_name().to_string_lossy();
            let Some(rank) = HISTORIES.iter().position(|h| *h == name) else { continue };
            // A link is taken too: if it leads nowhere, reading it says so.
            if entry.file_type().is_dir() {
                continue;
            }
            let dir = entry.path().parent().unwrap_or(path).to_path_buf();
            let best = runs.entry(dir).or_insert((rank, entry.path().to_path_buf()));
            if rank < best.0 {
                *best = (rank, entry.into_path());
            }
        }
        if runs.is_empty() && unreadable.is_empty() {
            return Err(format!(
                "{}: no history.edn (or .json, .txt, .log) in this directory; name the files instead",
                path.display()
            ));
        }
        found.extend(runs.into_values().map(|(_, file)| Ok(file)));
        found.extend(unreadable);
    }
    Ok(found)
}

/// The outcome of a path that could not be read as a directory entry.
fn unreadable(path: &Path, why: &str) -> FileOutcome {
    let name = path.display().to_string();
    let result = Err(InputError::new(&name, vec![knossos_rs::Diagnostic::new(0, 0, why)]));
    FileOutcome { path: path.to_path_buf(), name, result, elapsed: Duration::ZERO }
}

/// Writes the analysis beside its history (`history.edn` → `history.edn.knossos.edn`),
/// whole or not at all.
fn write_result(
    path: &Path,
    analysis: &knossos_rs::Analysis,
    explanation: Option<&Explanation>,
    format: OutputFormat,
) -> std::io::Result<()> {
    let (extension, format) = match format {
        OutputFormat::Json => ("knossos.json", OutputFormat::Json),
        _ => ("knossos.edn", OutputFormat::Edn),
    };
    let mut target = path.as_os_str().to_owned();
    target.push(".");
    target.push(extension);
    let text = render(analysis, explanation, None, None, format) + "\n";
    knossos_rs::expert::write_atomically(Path::new(&target), text.as_bytes())
}

/// The table printed after checking several files.
fn summary(outcomes: &[FileOutcome]) -> String {
    let width = outcomes.iter().map(|o| o.name.chars().count()).max().unwrap_or(4).max(4);
    let mut out =
        format!("{:width$}  {:>9}  {:>5}  {:<17}  {:>9}\n", "file", "ops", "keys", "verdict", "time");
    for o in outcomes {
        let (ops, keys, verdict) = match &o.result {
            Err(_) => ("-".to_string(), "-".to_string(), "input error".to_string()),
            Ok(c) => {
                let verdict = match c.analysis.valid {
                    Validity::Valid => "linearizable".to_string(),
                    Validity::Invalid => "NOT linearizable".to_string(),
                    Validity::Unknown => format!("unknown ({})", c.analysis.cause.map_or("?", |c| c.name())),
                };
                (c.ops.to_string(), c.analysis.results.len().max(1).to_string(), verdict)
            }
        };
        let time = format!("{:.1} ms", o.elapsed.as_secs_f64() * 1000.0);
        out += &format!("{:width$}  {ops:>9}  {keys:>5}  {verdict:<17}  {time:>9}\n", o.name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explanation_takes_what_the_check_leaves_or_a_multiple_of_its_time() {
        let limit = |o: Options| o.time_limit.expect("a time limit");
        let ms = Duration::from_millis;
        // Without a limit: fifty times the check's time, from 1 s to the library's 10 s.
        assert_eq!(limit(explaining_options(&Options::default(), ms(20))), ms(1000));
        assert_eq!(limit(explaining_options(&Options::default(), ms(100))), ms(5000));
        assert_eq!(limit(explaining_options(&Options::default(), ms(900))), ms(10_000));
        // With one: what the check left of it.
        let given = Options::default().time_limit(ms(3000));
        assert_eq!(limit(explaining_options(&given, ms(100))), ms(2900));
        assert_eq!(limit(explaining_options(&given, ms(5000))), Duration::ZERO);
    }
}
