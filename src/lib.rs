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
//! bytes ─read─▶ ops ─history─▶ history ─search─▶ outcome ─analysis─▶ analysis ─explain─▶ explanation ─render─▶ EDN / JSON / text
//! ```
//!
//! The analysis holds Knossos's facts (the failing op, the final paths); the
//! explanation, for an invalid history, its faithful core and the anomaly in one
//! sentence ([`explain`]).
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
//! let ops = read::RawOp::read(log.as_bytes(), "example.edn", None).unwrap();
//! let history = History::complete(ops, &model).unwrap();
//! let analysis = check(&model, &history, &Options::default());
//!
//! assert_eq!(analysis.valid, Validity::Invalid);
//! assert_eq!(analysis.op.unwrap().index, 4);
//! // Each final path ends in the read's inconsistency: before or after the write.
//! let ends: Vec<String> = analysis.final_paths.iter().map(|p| p.last().unwrap().model.to_edn()).collect();
//! assert!(ends.contains(&r#"{:msg "can't read 3 from register 0"}"#.to_string()));
//! assert!(ends.contains(&r#"{:msg "can't read 3 from register 4"}"#.to_string()));
//! ```
//!
//! # Writing a model
//!
//! A model is any type implementing [`Model`]. Two methods are required: its state
//! before any operation, and a step from a state and an operation (its `:f` and
//! completed `:value`) to the next state, or `None` if the operation is impossible
//! there. The others have defaults worth overriding: the inconsistency message the
//! analysis shows for an impossible step (asked only for the steps it prints), a
//! check of each operation's shape, run before the search so that a bad op is
//! reported with its line, and how the analysis prints a state. The state may be any
//! type that is `Clone + Eq + Hash + Debug`. The search interns states and caches
//! transitions for your model exactly as for the built-in ones, so `step` may
//! allocate freely: each distinct (state, operation) pair is computed once. A
//! counter:
//!
//! ```
//! use knossos_rs::{check, read, History, Model, Options, Validity, Value};
//!
//! /// A counter: `:add n` adds n; `:read n` returns it (nil: the read's result is unknown).
//! struct Counter;
//!
//! impl Model for Counter {
//!     type State = i64;
//!
//!     fn name(&self) -> &str {
//!         "counter"
//!     }
//!     fn init(&self) -> i64 {
//!         0
//!     }
//!     fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
//!         match (f.as_name(), value) {
//!             (Some("add"), Value::Int(_)) | (Some("read"), Value::Int(_) | Value::Nil) => Ok(()),
//!             _ => Err(format!("expected :add n or :read n, n an integer, not {f} {value}")),
//!         }
//!     }
//!     fn step(&self, n: &i64, f: &Value, value: &Value) -> Option<i64> {
//!         match (f.as_name(), value) {
//!             (Some("add"), Value::Int(k)) => n.checked_add(*k),
//!             (Some("read"), Value::Int(k)) if k != n => None,
//!             _ => Some(*n), // a read of n, or of nil; check_op let nothing else through
//!         }
//!     }
//!     // Asked only for the steps the analysis prints.
//!     fn inconsistency(&self, n: &i64, f: &Value, value: &Value) -> String {
//!         match f.as_name() {
//!             Some("add") => format!("adding {value} to {n} overflows"),
//!             _ => format!("can't read {value} from counter {n}"),
//!         }
//!     }
//!     fn render(&self, n: &i64) -> Value {
//!         Value::kw_map([("value", Value::Int(*n))])
//!     }
//! }
//!
//! // The first read overlaps the add, and saw it; the second begins after the add
//! // completed, so it cannot see 0.
//! let log = r#"
//! {:process 0, :type :invoke, :f :add, :value 2}
//! {:process 1, :type :invoke, :f :read, :value nil}
//! {:process 0, :type :ok, :f :add, :value 2}
//! {:process 1, :type :ok, :f :read, :value 2}
//! {:process 1, :type :invoke, :f :read, :value nil}
//! {:process 1, :type :ok, :f :read, :value 0}
//! "#;
//! let history = History::complete(read::RawOp::read(log.as_bytes(), "counter.edn", None).unwrap(), &Counter).unwrap();
//! let analysis = check(&Counter, &history, &Options::default());
//! assert_eq!(analysis.valid, Validity::Invalid);
//! assert_eq!(analysis.op.unwrap().index, 5);
//! let end = &analysis.final_paths[0].last().unwrap().model;
//! assert_eq!(end.to_edn(), r#"{:msg "can't read 0 from counter 2"}"#);
//!
//! // An op the model does not understand is an input error, with its line.
//! let bad = read::RawOp::read(b"{:process 0, :type :invoke, :f :add, :value \"x\"}", "bad.edn", None).unwrap();
//! let errors = History::complete(bad, &Counter).unwrap_err();
//! assert_eq!(errors.diagnostics[0].line, 1);
//! assert!(errors.to_string().starts_with("line 1, column 1: op 0: counter: expected :add n or :read n"));
//! ```
//!
//! Hooks with defaults: [`Model::argument`], for a model whose step needs another
//! field of the op than `:value` (the built-in `kv` reads `:key`);
//! [`Model::partition_key`], for a model whose operations on different keys never
//! interact, so that the history is checked key by key; and [`Model::part`] with
//! [`Model::join`], for such a model to split its state by key, so that a check of the
//! whole history (`--no-partition`) steps and interns each key's part on its own. A
//! model's step gives one successor state; an object that may legally do one of
//! several things is modelled exactly by a state that is the set of states it may be
//! in (see [`Model`]).
//!
//! # A witness, timed operations, and checking online
//!
//! With [`Options::witness`], a valid history's analysis carries
//! [`Analysis::linearization`]: an order of its operations that explains it.
//!
//! A harness that records each operation's call and return times, as Porcupine's
//! users do, gives them in any order: [`HistoryBuilder::timed`] (and
//! [`HistoryBuilder::timed_crash`] for one that never returned) builds the history
//! in real-time order, an operation called at the very time another returned being
//! concurrent with it.
//!
//! [`Online`] checks a history as it happens, answering after each completion as a
//! batch check of the history so far would: fed op by op in real-time order
//! ([`Online::invoke`], [`Online::ok`]…), or fed timed events out of order with a
//! watermark ([`Online::call`], [`Online::returned`], [`Online::advance_to`]). It
//! owns its model: `Online<M>` for any model `M`, a borrow `&M` or an `Arc<M>`
//! included ([`Model`] is implemented for `&M`, `Box<M>` and `Arc<M>`), so a
//! harness can hold one in a struct, or share one behind a mutex.
//!
//! ```
//! use knossos_rs::online::{Online, Verdict};
//! use knossos_rs::{model, Value};
//! use std::sync::{Arc, Mutex};
//!
//! struct Harness {
//!     checker: Mutex<Online<Arc<model::DynModel>>>,
//! }
//! let model = Arc::new(model::builtin("register", &Default::default()).unwrap());
//! let harness = Harness { checker: Mutex::new(Online::new(model)) };
//! let mut checker = harness.checker.lock().unwrap();
//! // Client 1's read reported before client 0's write, which returned first.
//! checker.call(1, "read", Value::Nil, 20)?;
//! checker.returned(1, 2, 30)?;
//! checker.call(0, "write", 1, 0)?;
//! checker.returned(0, 1, 10)?;
//! // Every event before 40 is in: the read of 2 follows the write of 1.
//! assert_eq!(checker.advance_to(40)?, Verdict::Invalid { op: 3 });
//! # Ok::<(), knossos_rs::InputError>(())
//! ```
//!
//! # Errors
//!
//! Every fallible call returns the one error type, [`InputError`]: each problem a
//! [`Diagnostic`] saying what and where (file, line, column, op), with a hint. Its
//! `Debug` is its message, so `fn main() -> Result<(), InputError>` prints it as is.
//!
//! # What is where
//!
//! At the top, what most users need: [`check`] with its [`Options`] (built with
//! methods: `Options::default().time_limit(d)`); a [`History`], read from a file
//! ([`History::read`]), completed from ops in memory ([`History::complete`]) or
//! built in code ([`HistoryBuilder`]); the [`Model`] trait and the built-in models
//! ([`model::builtin`]); the [`Online`] checker; the [`Analysis`] and its
//! [`Validity`]; [`Value`]; and the one error type, [`InputError`]. Then a module per
//! stage, for what goes beyond: [`read`] (formats), [`partition`]
//! ([`partition::Independent`] for Jepsen's `[key value]` tuples), [`shrink`]
//! (faithful cores), [`explain`] (the anomaly named and said in a sentence),
//! [`render`] and [`report`] (output for people), [`generate`] (synthetic
//! histories). The engines, their budgets and the memo of states are private;
//! [`expert`] holds the few pieces below [`check`] that tools such as the command
//! need: the unique-value engine alone, atomic writes. Types that will grow are
//! `#[non_exhaustive]`.
//!
//! Features: `cli` (default) builds the command; `report` the SVG and HTML reports;
//! `serde` a `serde::Serialize` for [`Value`] and [`Analysis`].

#![warn(missing_docs)]

pub mod analysis;
mod builder;
pub mod error;
pub mod expert;
pub mod explain;
pub mod generate;
pub mod history;
mod intern;
pub mod model;
pub mod online;
pub mod partition;
pub mod read;
pub mod render;
pub mod report;
mod search;
#[cfg(feature = "serde")]
mod serialize;
pub mod shrink;
mod timed;
pub mod value;

pub use analysis::{Analysis, Validity};
pub use builder::HistoryBuilder;
pub use error::{Diagnostic, InputError};
pub use history::{History, Pairing};
pub use model::Model;
pub use online::Online;
pub use search::{Algorithm, Cancel, Cause, Progress};
pub use value::Value;

use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How to check: [`Options::default`], changed by the builder methods of the same
/// names as the fields.
///
/// ```
/// use knossos_rs::{Algorithm, Options};
/// use std::time::Duration;
///
/// let options = Options::default().time_limit(Duration::from_secs(10)).algorithm(Algorithm::Wgl);
/// assert_eq!(options.time_limit, Some(Duration::from_secs(10)));
/// ```
///
/// The limits and handles take a value or an `Option` of one (`None` removes it).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// At most this many final paths in an invalid analysis.
    pub max_paths: usize,
    /// Which engine decides (both race by default).
    pub algorithm: Algorithm,
    /// Stop with `:unknown` (cause `:timeout`) after this long.
    pub time_limit: Option<Duration>,
    /// Stop with `:unknown` (cause `:memory-limit`) before the search's caches
    /// hold more than this many bytes. Default: half of physical memory.
    pub memory_limit: Option<usize>,
    /// Stop with `:unknown` (cause `:cancelled`) when this handle is tripped.
    pub cancel: Option<Cancel>,
    /// Check a keyed model's history key by key (exact, and much faster); `false`
    /// checks it as one object.
    pub partition: bool,
    /// Counts the partitions checked, for a progress bar.
    pub progress: Option<Progress>,
    /// Stop every key at the first that is not linearizable (their analyses say
    /// `:unknown`, cause `:stopped`), as Porcupine does: for CI, where the first
    /// failure is the answer.
    pub fail_fast: bool,
    /// Give a valid history's [`Analysis::linearization`]: an order of its
    /// operations that explains it (off by default: the linear engine then keeps
    /// the path to every configuration).
    pub witness: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_paths: 10,
            algorithm: Algorithm::default(),
            time_limit: None,
            memory_limit: None,
            cancel: None,
            partition: true,
            progress: None,
            fail_fast: false,
            witness: false,
        }
    }
}

impl Options {
    /// At most `n` final paths in an invalid analysis.
    pub fn max_paths(self, n: usize) -> Options {
        Options { max_paths: n, ..self }
    }

    /// Which engine decides.
    pub fn algorithm(self, algorithm: Algorithm) -> Options {
        Options { algorithm, ..self }
    }

    /// Stop with `:unknown` (cause `:timeout`) after `limit`.
    ///
    /// The searches check the clock every few microseconds of work. With glibc's
    /// malloc, a program that searches for seconds should turn its fast bins off, as
    /// the command does (`mallopt(M_MXFAST, 0)`, or `GLIBC_TUNABLES=glibc.malloc.mxfast=0`
    /// in the environment): glibc merges the small chunks freed into them all at
    /// once, at a later allocation, and after a search freed millions of
    /// configurations that took up to 0.6 s past the deadline.
    pub fn time_limit(self, limit: impl Into<Option<Duration>>) -> Options {
        Options { time_limit: limit.into(), ..self }
    }

    /// Stop with `:unknown` (cause `:memory-limit`) before the caches hold more
    /// than `bytes`.
    pub fn memory_limit(self, bytes: impl Into<Option<usize>>) -> Options {
        Options { memory_limit: bytes.into(), ..self }
    }

    /// Stop with `:unknown` (cause `:cancelled`) when `cancel` is tripped.
    pub fn cancel(self, cancel: impl Into<Option<Cancel>>) -> Options {
        Options { cancel: cancel.into(), ..self }
    }

    /// Whether to check a keyed model's history key by key (the default).
    pub fn partition(self, partition: bool) -> Options {
        Options { partition, ..self }
    }

    /// Count the partitions checked in `progress`.
    pub fn progress(self, progress: impl Into<Option<Progress>>) -> Options {
        Options { progress: progress.into(), ..self }
    }

    /// Whether to stop every key at the first that is not linearizable.
    pub fn fail_fast(self, fail_fast: bool) -> Options {
        Options { fail_fast, ..self }
    }

    /// Whether to give a valid history's [`Analysis::linearization`].
    pub fn witness(self, witness: bool) -> Options {
        Options { witness, ..self }
    }

    /// The memory limit in force: [`Options::memory_limit`], or half of physical
    /// memory without one.
    pub fn memory_limit_in_force(&self) -> usize {
        self.memory_limit.unwrap_or_else(search::budget::default_memory_limit)
    }

    /// These options for what follows a step that took `elapsed`: the time limit is
    /// what is left of it.
    pub fn after(&self, elapsed: Duration) -> Options {
        Options { time_limit: self.time_limit.map(|t| t.saturating_sub(elapsed)), ..self.clone() }
    }
}

/// Checks a completed history against a model: key by key if the model splits
/// histories (and `options.partition`), keys in parallel on rayon's pool, the time
/// and memory limits covering all keys together.
///
/// Under a deadline (or with [`Options::fail_fast`]), where there are more keys
/// than threads in the pool, every key first gets a short slice of its own (a
/// twentieth of the time left, from 50 ms to 1 s): the easy keys finish in it, and
/// those still undecided then share what is left, so that a few hard keys cannot
/// hold every core until the deadline while the others, and a failure among them,
/// wait. Where every key has a thread, none waits, and a key is searched once: a
/// search stopped at its slice starts again from nothing.
///
/// What reading left out of the history ([`History::warnings`]) is listed in the
/// analysis's `warnings`: the verdict is the rest's.
///
/// Why an invalid history is invalid, in a user's terms, is the next stage's:
/// [`explain::explain`].
pub fn check<M: Model + ?Sized>(model: &M, history: &History, options: &Options) -> Analysis {
    let mut analysis = check_parts(model, history, options);
    analysis.warnings = (history.warnings.iter())
        .map(|w| match w.line {
            0 => w.message.clone(),
            line => format!("line {line}: {}", w.message),
        })
        .collect();
    analysis
}

fn check_parts<M: Model + ?Sized>(model: &M, history: &History, options: &Options) -> Analysis {
    let now = Instant::now();
    let deadline = options.time_limit.map(|t| now.checked_add(t).unwrap_or(now + YEAR));
    let memory = options.memory_limit.unwrap_or_else(search::budget::default_memory_limit);
    let budget = search::Budget::new(deadline, memory, options.cancel.clone());
    // No time left (reading took it all, say): nothing is set up.
    if let Some(cause) = budget.check(0, 0) {
        return Analysis::stopped(options.algorithm.name(), cause);
    }
    let parts = options.partition.then(|| partition::by_key(history, model)).flatten();
    let progress = options.progress.as_ref();
    progress.inspect(|p| p.add_parts(parts.as_ref().map_or(1, Vec::len)));
    let by_key = parts.is_none();
    let Some(parts) = parts else {
        let analysis = check_one(model, history, options, by_key, &budget);
        progress.inspect(|p| p.add_checked());
        return analysis;
    };
    let failed = Arc::new(AtomicBool::new(false));
    let budget = if options.fail_fast { budget.stopping(&failed) } else { budget };
    let waits = parts.len() > rayon::current_num_threads();
    let slice = (waits && (deadline.is_some() || options.fail_fast)).then(|| slice(deadline));
    // Largest first, so that a long key does not start last; results in key order.
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(parts[i].operations()));
    let run = |i: usize, until: Option<Instant>| {
        // Past the deadline (or stopped), a key is not even set up: with a thousand
        // keys, setting each up would add seconds to the promised time.
        if let Some(cause) = budget.check(0, 0) {
            return Analysis::stopped(options.algorithm.name(), cause);
        }
        let analysis = check_one(model, &parts[i].history(history), options, by_key, &budget.share(until));
        if analysis.valid == Validity::Invalid {
            failed.store(true, Ordering::Relaxed);
        }
        analysis
    };
    let mut analyses: Vec<(usize, Analysis)> = order
        .into_par_iter()
        .map(|i| {
            let analysis = run(i, slice.map(|s| Instant::now() + s));
            // Out of its slice, not of the whole budget: its turn comes again below.
            let again = slice.is_some()
                && analysis.cause == Some(Cause::Timeout)
                && deadline.is_none_or(|d| Instant::now() < d);
            if !again {
                progress.inspect(|p| p.add_checked());
            }
            (i, analysis, again)
        })
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(i, analysis, again)| match again {
            false => (i, analysis),
            true => {
                let analysis = run(i, None);
                progress.inspect(|p| p.add_checked());
                (i, analysis)
            }
        })
        .collect();
    analyses.sort_by_key(|&(i, _)| i);
    Analysis::combine(parts.into_iter().zip(analyses).map(|(p, (_, a))| (p.key, a)).collect())
}

/// A deadline so far off that it never comes (a time limit too long to add to now).
const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

/// How long each key first runs alone when keys share a deadline: a twentieth of
/// the time left, from 50 ms to 1 s (1 s without a deadline, with `fail_fast`).
fn slice(deadline: Option<Instant>) -> Duration {
    let left = deadline.map_or(Duration::from_secs(20), |d| d.saturating_duration_since(Instant::now()));
    (left / 20).clamp(Duration::from_millis(50), Duration::from_secs(1))
}

impl History {
    /// Whether the unique-value engine ([`Algorithm::Unique`]) applies to every
    /// part [`check`] would search (each key, if the history is split), or where it
    /// first does not: the error a check with that engine alone should report.
    pub fn unique_applies<M: Model + ?Sized>(&self, model: &M, options: &Options) -> Result<(), Diagnostic> {
        match options.partition.then(|| partition::by_key(self, model)).flatten() {
            None => search::unique::applies(self, model).map_err(|d| d.diagnostic(self)),
            Some(parts) => parts.iter().try_for_each(|part| {
                let history = part.history(self);
                search::unique::applies(&history, model).map_err(|d| d.diagnostic(&history))
            }),
        }
    }
}

fn check_one<M: Model + ?Sized>(
    model: &M,
    history: &History,
    options: &Options,
    by_key: bool,
    budget: &search::Budget,
) -> Analysis {
    let decision =
        search::competition::run(history, model, options.algorithm, by_key, budget, options.witness);
    // A budget of its own: a race marks the search's as decided, which would stop it at
    // once. Half of the time left at most: printing the paths found takes about half as
    // long as finding them, and must fit in the time limit too.
    let half = budget.deadline().map(|d| Instant::now() + d.saturating_duration_since(Instant::now()) / 2);
    analysis::analyse(history, decision, options.max_paths, &budget.share(half))
}
