//! Synthetic Jepsen-like histories (`knossos-rs generate`), linearizable by
//! construction, optionally with one anomaly that makes them certainly not.
//!
//! The generator simulates one object per key of a model (a register, a queue, a
//! mutex, …) and a few client processes per key that invoke operations on it and
//! complete them, each process with at most one operation open, the next process to
//! act picked at random — so operations overlap as they do in a Jepsen test. It
//! writes every op as it happens, in Jepsen's `history.edn` form (with `:index` and
//! `:time`), as JSON Lines, or as `history.txt`, and keeps nothing but the objects'
//! states: a 10-million-op history streams out in seconds in constant memory.
//!
//! # Operations
//!
//! | model | operations |
//! |---|---|
//! | register, noop | `:read`, `:write v`, half each |
//! | cas-register | `:read`, `:write v`, `:cas [old new]`, a third each |
//! | mutex | `:acquire`, and `:release` by the process holding it |
//! | multi-register | `:txn` of one to three `[:read k v]` or `[:write k v]`, k among `:x :y :z` |
//! | set | `:add v`, and `:read` returning the whole set (`#{1 3}`), half each |
//! | unordered-queue, fifo-queue | `:enqueue v` and `:dequeue`, three dequeues for two enqueues, so that queues stay short as in a Jepsen queue test |
//! | kv | `:get`, `:put v`, `:append v` on a `:key`, a third each; a value is a string of comma-ended numbers (`"3,"`, and `"3,1,4,"` after two appends) |
//!
//! Values `v`, `old` and `new` are drawn from `0..`[`Spec::values`]; with
//! [`Spec::unique`], every value written (`v`, a cas's `new`) is one no operation has
//! used, and a cas's `old` is the register's value half the time. A read's
//! invocation has the value nil, as Jepsen writes it, and its `:ok` the value read.
//!
//! # Why the history is linearizable
//!
//! Every operation takes effect at one instant inside its interval: an operation that
//! completes `:ok` takes effect at its completion, and its result (a read's value, a
//! dequeued element) is the object's state at that instant. So ordering the
//! operations by completion is a legal sequential run of the model that respects real
//! time: a linearization. With [`Spec::effect_inside`] the instant is earlier (when the
//! operation's process is next scheduled after its invocation), the result is
//! remembered until the completion, and ordering by those instants is the
//! linearization instead: the log's own orders then explain nothing, as in a real
//! system's. Around it:
//!
//! - `:fail` ends an operation that did not happen: one that could not (a cas whose
//!   old value differs, acquiring a held mutex, dequeuing an empty queue), or any
//!   operation at random with [`Spec::fail_rate`]. It has no effect.
//! - `:info` ends a crashed operation ([`Spec::crash_rate`]), with `:error :timeout`:
//!   it takes effect, or not, at random at the instant of the crash, and the process
//!   is replaced by a fresh one (its id plus the number of client processes, as Jepsen
//!   numbers them). Its value is the invocation's, as Jepsen records it: a crashed
//!   dequeue that took an element says nil, its result lost with the crash (the
//!   checker reads it so by default: see [`NilReads`](crate::model::NilReads)). One
//!   exception: a mutex release never crashes (a crashed release could take effect at
//!   any later point, so no two acquires could ever be proven to overlap). (Before
//!   crashed dequeues were read as of unknown result, a crashed dequeue never took
//!   effect: for a seed, a queue history now differs from one generated then from its
//!   first crashed dequeue on. Other models' histories are the same bytes.)
//! - `:nemesis` ops ([`Spec::nemesis`]), `:start` and `:stop` in turn, affect nothing.
//!
//! # The probe, and why an injected anomaly is certainly not linearizable
//!
//! A crashed operation may take effect at *any* later point, or never, so an anomaly
//! hidden among concurrent and crashed operations might still be explained by some
//! order. The generator therefore injects anomalies in a *probe*: halfway through the
//! history (by invocations), one key chosen by the seed stops invoking until none of
//! its operations is open; then a held mutex is released and a queue drained, and a
//! short script runs, one operation at a time, with values no other operation uses
//! (`a` and `b`, at least [`Spec::values`]). Other keys carry on around it. With
//! [`Spec::anomaly`] `None` the script runs honestly, so a history and its anomalous
//! twin (same spec and seed) are identical up to the anomaly.
//!
//! | model | script | stale-read | lost-write | double-apply |
//! |---|---|---|---|---|
//! | register, cas-register, multi-register (on `:x`) | write a, write b, read | the read returns a | b is not applied: the read returns a | b ends `:fail` but is applied: the read returns b |
//! | set | add a, add b, read | the read lacks b | b is not applied: the read lacks b | b ends `:fail` but is applied: the read has b |
//! | kv | put a, append b, get | the get returns a | b is not applied: the get returns a | b is applied twice: the get returns abb |
//! | mutex | acquire (p), release (p), acquire (q), acquire (p) | p's second acquire succeeds, as if q's had not happened | – | the release ends `:fail` but is applied: q's acquire succeeds |
//! | unordered-queue | enqueue a, dequeue, dequeue | the second dequeue returns a again | – | a is enqueued twice: both dequeues return a |
//! | fifo-queue | enqueue a, enqueue b, dequeue ×3 | the second dequeue returns a again | – | a is enqueued twice: the first two dequeues return a |
//! | noop | write a, write b, read | – | – | – |
//!
//! Each is impossible in every order, whatever the crashed operations do, because a
//! and b are written by nothing else and the script's operations follow one another
//! in real time. A register or key written b after a cannot hold a again, and nothing
//! but a failed operation writes b; a set only grows, so a read after b's add holds b;
//! no queue hands out twice an element enqueued once; and between two acquires that
//! succeed a release must take effect, but the script has none between them, every
//! other release finished before the script began, and releases never crash. Up to
//! the anomalous op the history can still be linearized (in the simulation's order:
//! nothing has observed the twisted step yet), so the anomalous op is the first that
//! no order explains: the checker reports it as `:op`, and its key as the only one in
//! `:failures`. [`Generated::anomaly`] names both.
//!
//! A queue cannot show a lost write: an element that never comes out may have been
//! taken by a crashed dequeue, which may take effect at any point after its
//! invocation and says nothing of what it took.
//!
//! # Keys
//!
//! With [`Spec::keys`] `Some(n)`, there are n objects, each with its own
//! [`Spec::processes`] processes, and every client op's value is a
//! `jepsen.independent` tuple `[key value]` (`check` reads it as one, flag or not). `kv` is
//! the exception: its ops name their key in a `:key` field (`"k0"`, `"k1"`, …), as the
//! kv model reads them; without `keys` it uses the one key `"k0"`.
//!
//! # Example
//!
//! ```
//! use knossos_rs::generate::{generate, Anomaly, Spec};
//! use knossos_rs::read::Format;
//! use knossos_rs::partition::Independent;
//! use knossos_rs::{check, model, read, History, Options, Validity};
//!
//! let spec = Spec {
//!     model: "cas-register".into(),
//!     ops: 2_000,
//!     keys: Some(10),
//!     anomaly: Some(Anomaly::StaleRead),
//!     seed: 7,
//!     ..Spec::default()
//! };
//! let mut edn = Vec::new();
//! let generated = generate(&spec, Format::Edn, &mut edn).unwrap();
//!
//! let model = Independent(model::builtin("cas-register", &Default::default()).unwrap());
//! let history = History::complete(read::RawOp::read(&edn, "generated.edn", None).unwrap(), &model).unwrap();
//! let analysis = check(&model, &history, &Options::default());
//! let injected = generated.anomaly.unwrap();
//! assert_eq!(analysis.valid, Validity::Invalid);
//! assert_eq!(analysis.failures, [injected.key.clone().unwrap()]);
//! let (_, failed) = analysis.results.iter().find(|(key, _)| Some(key) == injected.key.as_ref()).unwrap();
//! assert_eq!(failed.op.as_ref().unwrap().index, injected.index);
//! ```

use crate::read::Format;
use crate::value::Value;
use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// The model whose objects are simulated: any of [`crate::model::ModelInfo::NAMES`].
    pub model: String,
    /// Client processes per object (per key), each with at most one operation open.
    pub processes: usize,
    /// Client invocations in all, the probe's included (a history holds at least the
    /// probe's few).
    pub ops: usize,
    /// `Some(n)`: n objects, as `jepsen.independent` `[key value]` tuples (for `kv`,
    /// n keys named in `:key`). `None`: one object.
    pub keys: Option<usize>,
    /// The share of operations that crash (end `:info`). A crashed operation stays
    /// pending to the end of the history, which is what makes checking hard: a few
    /// per key are cheap, hundreds are not (crashed fifo enqueues are the worst).
    pub crash_rate: f64,
    /// The share of operations that fail (end `:fail`) at random, besides those that
    /// fail because they cannot apply.
    pub fail_rate: f64,
    /// Operations write values in `0..values` (queues enqueue them, kv appends them as
    /// text); fewer values mean more coincidences for the checker to sort out.
    pub values: i64,
    /// The seed: the same spec and seed always give the same bytes.
    pub seed: u64,
    /// An anomaly to inject, halfway through, on one key chosen by the seed.
    pub anomaly: Option<Anomaly>,
    /// Sprinkle the history with the nemesis's `:start` and `:stop` ops.
    pub nemesis: bool,
    /// Write every value once: writes, a cas's new value, adds, enqueues, puts and
    /// appends take fresh values (counting up from [`Spec::values`]); a cas's old
    /// value is the object's value half the time, else any value used so far.
    pub unique: bool,
    /// Each operation takes effect (or fails, or crashes) at an instant inside its
    /// interval, when its process is next scheduled after the invocation, and
    /// completes later; not at its completion. Real systems act so, and then no
    /// order of invocations or of completions is itself a linearization.
    pub effect_inside: bool,
}

impl Default for Spec {
    /// A small cas-register history: 5 processes, 1 000 ops, 1 in 100 crashing and
    /// 1 in 20 failing at random, values 0 to 4, seed 0.
    fn default() -> Spec {
        Spec {
            model: "cas-register".into(),
            processes: 5,
            ops: 1_000,
            keys: None,
            crash_rate: 0.01,
            fail_rate: 0.05,
            values: 5,
            seed: 0,
            anomaly: None,
            nemesis: false,
            unique: false,
            effect_inside: false,
        }
    }
}

/// A non-linearizable behaviour to inject (see the module docs for each model's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Anomaly {
    /// A read (or acquire, or dequeue) sees the object as it was before an operation
    /// that completed before the read began.
    StaleRead,
    /// An acknowledged write never takes effect.
    LostWrite,
    /// A write takes effect twice, or takes effect though it failed.
    DoubleApply,
}

impl Anomaly {
    /// Every anomaly, in the order the docs list them.
    pub const ALL: [Anomaly; 3] = [Anomaly::StaleRead, Anomaly::LostWrite, Anomaly::DoubleApply];

    /// The name [`FromStr`] takes: `stale-read`, `lost-write`, `double-apply`.
    pub fn name(self) -> &'static str {
        match self {
            Anomaly::StaleRead => "stale-read",
            Anomaly::LostWrite => "lost-write",
            Anomaly::DoubleApply => "double-apply",
        }
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Anomaly {
    type Err = String;
    fn from_str(s: &str) -> Result<Anomaly, String> {
        Anomaly::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| format!("unknown anomaly `{s}` (expected stale-read, lost-write or double-apply)"))
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// Ops written (lines), nemesis ops included.
    pub ops: u64,
    /// Where the anomaly is, if one was injected.
    pub anomaly: Option<Injected>,
}

/// Where an injected anomaly shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Injected {
    /// The key as the analysis names it in `:failures` (`3`, or `"k3"` for kv);
    /// `None` for a history of one unkeyed object.
    pub key: Option<Value>,
    /// The `:index` of the `:ok` op no order explains: the analysis's `:op`.
    pub index: u64,
}

/// Writes a history as `spec` describes, in `format`, to `out` (buffered here, in
/// large writes). A spec the generator cannot honour (an unknown model, an anomaly
/// the model cannot show, a format that cannot hold the model's values, rates out of
/// range) is an [`io::ErrorKind::InvalidInput`] error, reported before anything is
/// written.
pub fn generate(spec: &Spec, format: Format, out: &mut impl Write) -> io::Result<Generated> {
    let kind = check_spec(spec, format).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let keys = spec.keys.unwrap_or(1);
    let keying = match (kind, spec.keys) {
        (Kind::Kv, _) => Keying::Field,
        (_, Some(_)) => Keying::Tuple,
        (_, None) => Keying::Single,
    };
    let workers = keys * spec.processes;
    let mut generator = Generator {
        spec,
        kind,
        rng: Rng(spec.seed),
        sink: Sink { out, buf: Vec::with_capacity(FLUSH_AT + 4096), format, keying, index: 0, time: 0 },
        objects: vec![kind.object(); keys],
        open: vec![0; keys],
        workers: (0..workers as u64).map(|process| Worker { process, open: None, outcome: None }).collect(),
        invoked: 0,
        fresh: spec.values,
        nemesis_started: false,
    };
    let anomaly = generator.run()?;
    generator.sink.flush()?;
    let key = |k: usize| match keying {
        Keying::Single => None,
        Keying::Tuple => Some(Value::Int(k as i64)),
        Keying::Field => Some(Value::string(&format!("k{k}"))),
    };
    Ok(Generated {
        ops: generator.sink.index,
        anomaly: anomaly.map(|(k, index)| Injected { key: key(k), index }),
    })
}

/// The model's kind, if the spec can be generated in this format.
/// The most values and client processes (over all keys) a spec may ask for.
const MAX_VALUES: i64 = 1 << 60;
const MAX_WORKERS: usize = 10_000_000;

fn check_spec(spec: &Spec, format: Format) -> Result<Kind, String> {
    let kind = Kind::from_name(&spec.model)?;
    if spec.processes == 0 {
        return Err("a history needs at least one process".into());
    }
    if spec.keys == Some(0) {
        return Err("a keyed history needs at least one key".into());
    }
    // The probe writes values no other operation does: `values` and the next few.
    if !(1..=MAX_VALUES).contains(&spec.values) {
        return Err(format!("values must be from 1 to {MAX_VALUES}, not {}", spec.values));
    }
    // Each worker is a process with its state, held for the whole run.
    if spec.keys.unwrap_or(1).checked_mul(spec.processes).is_none_or(|workers| workers > MAX_WORKERS) {
        return Err(format!("keys times processes must be at most {MAX_WORKERS}"));
    }
    let rate = |name: &str, r: f64| match (0.0..=1.0).contains(&r) {
        true => Ok(()),
        false => Err(format!("the {name} rate must be between 0 and 1, not {r}")),
    };
    rate("crash", spec.crash_rate)?;
    rate("fail", spec.fail_rate)?;
    if spec.crash_rate + spec.fail_rate > 1.0 {
        return Err(format!(
            "the crash and fail rates add up to more than 1 ({} + {})",
            spec.crash_rate, spec.fail_rate
        ));
    }
    if let Some(anomaly) = spec.anomaly {
        if kind.injection(anomaly).is_none() {
            let possible: Vec<&str> = Anomaly::ALL
                .into_iter()
                .filter(|&a| kind.injection(a).is_some())
                .map(Anomaly::name)
                .collect();
            return Err(match possible.as_slice() {
                [] => format!("no anomaly can be injected into a {} history", spec.model),
                _ => format!(
                    "{anomaly} cannot be injected into a {} history; it can show {}",
                    spec.model,
                    possible.join(", ")
                ),
            });
        }
    }
    match (kind, format) {
        (Kind::Set, Format::Json) => {
            Err("JSON has no sets, and a set's reads would read back as vectors; write set histories as edn or history-txt".into())
        }
        (Kind::Kv, Format::HistoryTxt) => {
            Err("history.txt has no field for kv's :key; write kv histories as edn or json".into())
        }
        (_, Format::JepsenLog) => Err("Jepsen's console logs are read, not written: write edn, json or history-txt".into()),
        _ => Ok(kind),
    }
}

/// The models the generator simulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Register,
    CasRegister,
    Mutex,
    MultiRegister,
    Set,
    UnorderedQueue,
    FifoQueue,
    Noop,
    Kv,
}

/// Each kind with its model's name.
const KINDS: [(&str, Kind); 9] = [
    ("register", Kind::Register),
    ("cas-register", Kind::CasRegister),
    ("mutex", Kind::Mutex),
    ("multi-register", Kind::MultiRegister),
    ("set", Kind::Set),
    ("unordered-queue", Kind::UnorderedQueue),
    ("fifo-queue", Kind::FifoQueue),
    ("noop", Kind::Noop),
    ("kv", Kind::Kv),
];

/// How the probe departs from the honest run at one of its steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Twist {
    Honest,
    /// The result comes from the object as it was before the previous step; the
    /// object is not changed.
    Stale,
    /// The operation succeeds, but the object is not changed.
    Lost,
    /// The operation is applied twice.
    Twice,
    /// The operation is applied, and ends `:fail`.
    FailedButApplied,
}

/// Where an anomaly enters the probe script.
struct Injection {
    /// The step that departs from the honest run, and how.
    step: usize,
    twist: Twist,
    /// The step whose `:ok` no order explains.
    shows: usize,
}

impl Kind {
    fn from_name(name: &str) -> Result<Kind, String> {
        KINDS.iter().find(|(n, _)| *n == name).map(|&(_, kind)| kind).ok_or_else(|| {
            let names: Vec<&str> = KINDS.iter().map(|(n, _)| *n).collect();
            format!("unknown model `{name}`; the models are: {}", names.join(", "))
        })
    }

    /// A fresh object of this kind.
    fn object(self) -> Object {
        match self {
            Kind::Register | Kind::CasRegister | Kind::Noop => Object::Register(None),
            Kind::Mutex => Object::Mutex(None),
            Kind::MultiRegister => Object::Registers([None; REGISTERS.len()]),
            Kind::Set => Object::Set(BTreeSet::new()),
            Kind::UnorderedQueue | Kind::FifoQueue => {
                Object::Queue { fifo: self == Kind::FifoQueue, items: VecDeque::new() }
            }
            Kind::Kv => Object::Kv(Vec::new()),
        }
    }

    /// The next operation of the process in `slot` on `object`: values below
    /// `values`, or with `fresh` each written value the next one not used yet.
    fn next_call(
        self,
        object: &Object,
        slot: usize,
        values: i64,
        fresh: Option<&mut i64>,
        rng: &mut Rng,
    ) -> Call {
        let (unique, mut counter) = (fresh.is_some(), fresh);
        let mut value = |rng: &mut Rng| match counter.as_deref_mut() {
            Some(next) => {
                *next += 1;
                *next - 1
            }
            None => rng.below(values as u64) as i64,
        };
        let current = match object {
            Object::Register(Some(v)) => Some(*v),
            _ => None,
        };
        match self {
            Kind::Register | Kind::Noop => match rng.below(2) {
                0 => Call::Read,
                _ => Call::Write(value(rng)),
            },
            Kind::CasRegister => match rng.below(3) {
                0 => Call::Read,
                1 => Call::Write(value(rng)),
                _ if unique => {
                    let new = value(rng);
                    let old =
                        current.filter(|_| rng.below(2) == 0).unwrap_or_else(|| rng.below(new as u64) as i64);
                    Call::Cas(old, new)
                }
                _ => Call::Cas(value(rng), value(rng)),
            },
            Kind::Mutex => match object {
                Object::Mutex(Some(holder)) if *holder == slot => Call::Release,
                _ => Call::Acquire,
            },
            Kind::MultiRegister => {
                let micros = 1 + rng.below(REGISTERS.len() as u64);
                Call::Txn(
                    (0..micros)
                        .map(|_| {
                            let register = rng.below(REGISTERS.len() as u64) as usize;
                            let value = (rng.below(2) == 0).then(|| value(rng));
                            Micro { register, write: value.is_some(), value }
                        })
                        .collect(),
                )
            }
            Kind::Set => match rng.below(2) {
                0 => Call::Read,
                _ => Call::Add(value(rng)),
            },
            Kind::UnorderedQueue | Kind::FifoQueue => match rng.below(5) {
                0..3 => Call::Dequeue,
                _ => Call::Enqueue(value(rng)),
            },
            Kind::Kv => match rng.below(3) {
                0 => Call::Get,
                1 => Call::Put(value(rng)),
                _ => Call::Append(value(rng)),
            },
        }
    }

    /// The probe's script: each step's call and the slot of the process that runs it,
    /// with `a` and `b` values no other operation uses.
    fn probe(self, a: i64, b: i64) -> Vec<(Call, usize)> {
        let by_first = |calls: Vec<Call>| calls.into_iter().map(|call| (call, 0)).collect();
        let txn = |write, value| Call::Txn(vec![Micro { register: 0, write, value }]);
        match self {
            Kind::Register | Kind::CasRegister | Kind::Noop => {
                by_first(vec![Call::Write(a), Call::Write(b), Call::Read])
            }
            Kind::MultiRegister => by_first(vec![txn(true, Some(a)), txn(true, Some(b)), txn(false, None)]),
            Kind::Set => by_first(vec![Call::Add(a), Call::Add(b), Call::Read]),
            Kind::Kv => by_first(vec![Call::Put(a), Call::Append(b), Call::Get]),
            Kind::Mutex => {
                vec![(Call::Acquire, 0), (Call::Release, 0), (Call::Acquire, 1), (Call::Acquire, 0)]
            }
            Kind::UnorderedQueue => by_first(vec![Call::Enqueue(a), Call::Dequeue, Call::Dequeue]),
            Kind::FifoQueue => by_first(vec![
                Call::Enqueue(a),
                Call::Enqueue(b),
                Call::Dequeue,
                Call::Dequeue,
                Call::Dequeue,
            ]),
        }
    }

    /// Where `anomaly` enters this kind's probe script (the table of the module docs),
    /// or `None` if this kind cannot show it.
    fn injection(self, anomaly: Anomaly) -> Option<Injection> {
        use Anomaly::*;
        use Kind::*;
        let at = |step, twist, shows| Some(Injection { step, twist, shows });
        match (self, anomaly) {
            (Register | CasRegister | MultiRegister | Set | Kv, StaleRead) => at(2, Twist::Stale, 2),
            (Register | CasRegister | MultiRegister | Set | Kv, LostWrite) => at(1, Twist::Lost, 2),
            (Register | CasRegister | MultiRegister | Set, DoubleApply) => at(1, Twist::FailedButApplied, 2),
            (Kv, DoubleApply) => at(1, Twist::Twice, 2),
            (Mutex, StaleRead) => at(3, Twist::Stale, 3),
            (Mutex, DoubleApply) => at(1, Twist::FailedButApplied, 2),
            (UnorderedQueue, StaleRead) => at(2, Twist::Stale, 2),
            (UnorderedQueue, DoubleApply) => at(0, Twist::Twice, 2),
            (FifoQueue, StaleRead) => at(3, Twist::Stale, 3),
            (FifoQueue, DoubleApply) => at(0, Twist::Twice, 3),
            (Mutex | UnorderedQueue | FifoQueue, LostWrite) | (Noop, _) => None,
        }
    }
}

/// The names of multi-register's registers.
const REGISTERS: [&str; 3] = ["x", "y", "z"];

/// One micro-op of a multi-register transaction: `[:read :x v]` or `[:write :x v]`.
#[derive(Clone, Copy, Debug)]
struct Micro {
    register: usize,
    write: bool,
    /// The value written, or read (`None`: nil, as an invocation's reads are).
    value: Option<i64>,
}

/// An operation a process invokes.
#[derive(Clone, Debug)]
enum Call {
    Read,
    Write(i64),
    Cas(i64, i64),
    Acquire,
    Release,
    Txn(Vec<Micro>),
    Add(i64),
    Enqueue(i64),
    Dequeue,
    Get,
    Put(i64),
    Append(i64),
}

impl Call {
    fn f(&self) -> &'static str {
        match self {
            Call::Read => "read",
            Call::Write(_) => "write",
            Call::Cas(..) => "cas",
            Call::Acquire => "acquire",
            Call::Release => "release",
            Call::Txn(_) => "txn",
            Call::Add(_) => "add",
            Call::Enqueue(_) => "enqueue",
            Call::Dequeue => "dequeue",
            Call::Get => "get",
            Call::Put(_) => "put",
            Call::Append(_) => "append",
        }
    }

    /// The invocation's value (also a `:fail`'s and an `:info`'s).
    fn value(&self) -> Val {
        match self {
            Call::Read | Call::Acquire | Call::Release | Call::Dequeue | Call::Get => Val::Nil,
            Call::Write(v) | Call::Add(v) | Call::Enqueue(v) => Val::Int(*v),
            Call::Cas(old, new) => Val::Pair(*old, *new),
            Call::Txn(micros) => Val::Txn(micros.clone()),
            Call::Put(v) | Call::Append(v) => Val::Text(vec![*v]),
        }
    }

    /// Whether the operation may crash: a mutex release may not (see the module docs).
    fn may_crash(&self) -> bool {
        !matches!(self, Call::Release)
    }
}

/// A value as written in an op.
#[derive(Clone, Debug)]
enum Val {
    Nil,
    Int(i64),
    /// A cas's `[old new]`.
    Pair(i64, i64),
    /// A set read, in order.
    Set(Vec<i64>),
    Txn(Vec<Micro>),
    /// A kv string: each value followed by a comma (`"3,14,"`), so that a string is
    /// one sequence of values and equal strings are equal sequences.
    Text(Vec<i64>),
}

/// The simulated state of one object.
#[derive(Clone, Debug)]
enum Object {
    Register(Option<i64>),
    /// The slot of the process holding the mutex.
    Mutex(Option<usize>),
    Registers([Option<i64>; REGISTERS.len()]),
    Set(BTreeSet<i64>),
    Queue {
        fifo: bool,
        items: VecDeque<i64>,
    },
    /// A kv key's string, as the values it is made of.
    Kv(Vec<i64>),
}

impl Object {
    /// Applies a call by the process in `slot`: the `:ok` value, or `None` if the call
    /// cannot apply (and so fails, with no effect).
    fn apply(&mut self, call: &Call, slot: usize, rng: &mut Rng) -> Option<Val> {
        match (self, call) {
            (Object::Register(v), Call::Read) => Some(v.map_or(Val::Nil, Val::Int)),
            (Object::Register(v), Call::Write(x)) => {
                *v = Some(*x);
                Some(Val::Int(*x))
            }
            (Object::Register(v), Call::Cas(old, new)) => (*v == Some(*old)).then(|| {
                *v = Some(*new);
                Val::Pair(*old, *new)
            }),
            (Object::Mutex(holder), Call::Acquire) => holder.is_none().then(|| {
                *holder = Some(slot);
                Val::Nil
            }),
            (Object::Mutex(holder), Call::Release) => holder.take().map(|_| Val::Nil),
            (Object::Registers(registers), Call::Txn(micros)) => Some(Val::Txn(
                micros
                    .iter()
                    .map(|&m| match m.write {
                        true => {
                            registers[m.register] = m.value;
                            m
                        }
                        false => Micro { value: registers[m.register], ..m },
                    })
                    .collect(),
            )),
            (Object::Set(set), Call::Read) => Some(Val::Set(set.iter().copied().collect())),
            (Object::Set(set), Call::Add(x)) => {
                set.insert(*x);
                Some(Val::Int(*x))
            }
            (Object::Queue { items, .. }, Call::Enqueue(x)) => {
                items.push_back(*x);
                Some(Val::Int(*x))
            }
            (Object::Queue { fifo: true, items }, Call::Dequeue) => items.pop_front().map(Val::Int),
            (Object::Queue { fifo: false, items }, Call::Dequeue) => {
                let i = rng.below(items.len() as u64) as usize;
                items.swap_remove_back(i).map(Val::Int)
            }
            (Object::Kv(text), Call::Get) => Some(Val::Text(text.clone())),
            (Object::Kv(text), Call::Put(x)) => {
                *text = vec![*x];
                Some(Val::Text(vec![*x]))
            }
            (Object::Kv(text), Call::Append(x)) => {
                text.push(*x);
                Some(Val::Text(vec![*x]))
            }
            (object, call) => unreachable!("a {object:?} is never sent {call:?}"),
        }
    }

    /// The calls that bring the object to a known state before the probe, each with
    /// the slot of the process that runs it: the holder releases a mutex, and a queue
    /// is drained.
    fn prelude(&self) -> Vec<(Call, usize)> {
        match self {
            Object::Mutex(Some(holder)) => vec![(Call::Release, *holder)],
            Object::Queue { items, .. } => vec![(Call::Dequeue, 0); items.len()],
            _ => Vec::new(),
        }
    }
}

/// A client worker: the process it runs as now, and its open operation.
struct Worker {
    process: u64,
    open: Option<Call>,
    /// With [`Spec::effect_inside`], what became of the open call, once decided.
    outcome: Option<Outcome>,
}

/// What became of a call: the result of its completion.
enum Outcome {
    Ok(Val),
    Failed,
    Crashed,
}

/// The simulation.
struct Generator<'a, W: Write> {
    spec: &'a Spec,
    kind: Kind,
    rng: Rng,
    sink: Sink<'a, W>,
    /// One object per key.
    objects: Vec<Object>,
    /// Open operations per key.
    open: Vec<usize>,
    /// `spec.processes` workers per key, key by key.
    workers: Vec<Worker>,
    invoked: usize,
    /// The next value no operation has used.
    fresh: i64,
    nemesis_started: bool,
}

/// One in this many steps, the nemesis acts (with [`Spec::nemesis`]).
const NEMESIS_ODDS: u64 = 1_000;

/// Time between two ops, at most, in nanoseconds.
const MAX_GAP: u64 = 1_000_000;

impl<W: Write> Generator<'_, W> {
    /// Runs the simulation to the end; the key and index of the injected anomaly.
    fn run(&mut self) -> io::Result<Option<(usize, u64)>> {
        let probe_key = self.rng.below(self.objects.len() as u64) as usize;
        let mut probe_due = true;
        // The key waiting for its open operations to finish before the probe.
        let mut quieting = None;
        let mut injected = None;
        let mut open_total = 0usize;
        loop {
            if probe_due && self.invoked >= self.spec.ops / 2 {
                probe_due = false;
                quieting = Some(probe_key);
            }
            if quieting.is_some_and(|k| self.open[k] == 0) {
                quieting = None;
                injected = self.probe(probe_key)?.map(|index| (probe_key, index));
            }
            if self.invoked >= self.spec.ops && open_total == 0 {
                return Ok(injected);
            }
            if self.spec.nemesis && self.rng.below(NEMESIS_ODDS) == 0 {
                let f = if self.nemesis_started { "stop" } else { "start" };
                self.nemesis_started = !self.nemesis_started;
                let gap = self.gap();
                self.sink.op(gap, Type::Info, None, f, None, &Val::Nil)?;
            }
            let w = self.rng.below(self.workers.len() as u64) as usize;
            let key = w / self.spec.processes;
            if self.spec.effect_inside && self.workers[w].open.is_some() && self.workers[w].outcome.is_none()
            {
                let call = self.workers[w].open.clone().expect("an open call");
                self.workers[w].outcome = Some(self.decide(w, &call));
            } else if let Some(call) = self.workers[w].open.take() {
                let outcome = match self.workers[w].outcome.take() {
                    Some(outcome) => outcome,
                    None => self.decide(w, &call),
                };
                self.complete(w, call, outcome)?;
                self.open[key] -= 1;
                open_total -= 1;
            } else if self.invoked < self.spec.ops && quieting != Some(key) {
                let call = self.kind.next_call(
                    &self.objects[key],
                    w % self.spec.processes,
                    self.spec.values,
                    self.spec.unique.then_some(&mut self.fresh),
                    &mut self.rng,
                );
                self.emit(Type::Invoke, w, &call, &call.value())?;
                self.workers[w].open = Some(call);
                self.invoked += 1;
                self.open[key] += 1;
                open_total += 1;
            }
        }
    }

    /// What becomes of worker `w`'s open call, now: it crashes (taking effect or
    /// not), fails, or takes effect.
    fn decide(&mut self, w: usize, call: &Call) -> Outcome {
        let key = w / self.spec.processes;
        let slot = w % self.spec.processes;
        let roll = self.rng.unit();
        if roll < self.spec.crash_rate && call.may_crash() {
            if self.rng.below(2) == 0 {
                self.objects[key].apply(call, slot, &mut self.rng);
            }
            return Outcome::Crashed;
        }
        let fails = (self.spec.crash_rate..self.spec.crash_rate + self.spec.fail_rate).contains(&roll);
        let result = if fails { None } else { self.objects[key].apply(call, slot, &mut self.rng) };
        result.map_or(Outcome::Failed, Outcome::Ok)
    }

    /// Completes worker `w`'s open call as decided.
    fn complete(&mut self, w: usize, call: Call, outcome: Outcome) -> io::Result<()> {
        match outcome {
            Outcome::Crashed => {
                self.emit(Type::Info, w, &call, &call.value())?;
                self.workers[w].process += self.workers.len() as u64;
            }
            Outcome::Ok(value) => {
                self.emit(Type::Ok, w, &call, &value)?;
            }
            Outcome::Failed => {
                self.emit(Type::Fail, w, &call, &call.value())?;
            }
        }
        Ok(())
    }

    /// Runs the probe on the quiet `key`; the index of the op showing the anomaly, if
    /// one is injected.
    fn probe(&mut self, key: usize) -> io::Result<Option<u64>> {
        let (a, b) = (self.fresh, self.fresh + 1);
        self.fresh += 2;
        let injection = self.spec.anomaly.and_then(|anomaly| self.kind.injection(anomaly));
        for (call, slot) in self.objects[key].prelude() {
            self.probe_step(key, slot, call, Twist::Honest, None)?;
        }
        let mut shown = None;
        let mut before_previous = None;
        for (step, (call, slot)) in self.kind.probe(a, b).into_iter().enumerate() {
            let twist = match &injection {
                Some(i) if i.step == step => i.twist,
                _ => Twist::Honest,
            };
            let before = self.objects[key].clone();
            let index = self.probe_step(key, slot, call, twist, before_previous.take())?;
            if injection.as_ref().is_some_and(|i| i.shows == step) {
                shown = Some(index);
            }
            before_previous = Some(before);
        }
        Ok(shown)
    }

    /// One operation of the probe, invoked and completed at once with its twist;
    /// `before_previous` is the object before the previous step. The completion's index.
    fn probe_step(
        &mut self,
        key: usize,
        slot: usize,
        call: Call,
        twist: Twist,
        before_previous: Option<Object>,
    ) -> io::Result<u64> {
        let slot = slot % self.spec.processes;
        let w = key * self.spec.processes + slot;
        self.emit(Type::Invoke, w, &call, &call.value())?;
        self.invoked += 1;
        let rng = &mut self.rng;
        let object = &mut self.objects[key];
        let result = match twist {
            Twist::Honest => object.apply(&call, slot, rng),
            Twist::Stale => before_previous.unwrap_or_else(|| object.clone()).apply(&call, slot, rng),
            Twist::Lost => object.clone().apply(&call, slot, rng),
            Twist::Twice => object.apply(&call, slot, rng).inspect(|_| {
                object.apply(&call, slot, rng);
            }),
            Twist::FailedButApplied => object.apply(&call, slot, rng).and(None),
        };
        match result {
            Some(value) => self.emit(Type::Ok, w, &call, &value),
            None => self.emit(Type::Fail, w, &call, &call.value()),
        }
    }

    /// Writes an op of worker `w`'s; its index.
    fn emit(&mut self, kind: Type, w: usize, call: &Call, value: &Val) -> io::Result<u64> {
        let gap = self.gap();
        let key = w / self.spec.processes;
        self.sink.op(gap, kind, Some(self.workers[w].process), call.f(), Some(key), value)
    }

    fn gap(&mut self) -> u64 {
        1 + self.rng.below(MAX_GAP)
    }
}

/// An op's `:type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Invoke,
    Ok,
    Fail,
    Info,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::Invoke => "invoke",
            Type::Ok => "ok",
            Type::Fail => "fail",
            Type::Info => "info",
        }
    }
}

/// How a client op names its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keying {
    /// One object, no key.
    Single,
    /// `[key value]` tuples (`jepsen.independent`).
    Tuple,
    /// A `:key "k3"` field (kv).
    Field,
}

/// Flush the buffer to the output once it holds this many bytes.
const FLUSH_AT: usize = 1 << 20;

/// Formats ops straight into a byte buffer and writes it out in large pieces.
struct Sink<'a, W: Write> {
    out: &'a mut W,
    buf: Vec<u8>,
    format: Format,
    keying: Keying,
    /// The next op's `:index`.
    index: u64,
    time: u64,
}

impl<W: Write> Sink<'_, W> {
    /// Writes an op `gap` nanoseconds after the previous one: a client's (`process`,
    /// on `key`) or the nemesis's (`None`, no key). Its index.
    fn op(
        &mut self,
        gap: u64,
        kind: Type,
        process: Option<u64>,
        f: &str,
        key: Option<usize>,
        value: &Val,
    ) -> io::Result<u64> {
        let index = self.index;
        self.index += 1;
        self.time += gap;
        let json = self.format == Format::Json;
        let timeout = kind == Type::Info && process.is_some();
        let b = &mut self.buf;
        let write_process = |b: &mut Vec<u8>| match process {
            Some(p) => uint(b, p),
            None if json => b.extend_from_slice(b"\"nemesis\""),
            None => b.extend_from_slice(b":nemesis"),
        };
        let tuple = key.filter(|_| self.keying == Keying::Tuple);
        match self.format {
            Format::Edn | Format::Json => {
                let (open, sep, close) = if json { ("\"", "\":", ",") } else { (":", " ", ", ") };
                let field = |b: &mut Vec<u8>, name: &str, first: bool| {
                    if !first {
                        b.extend_from_slice(close.as_bytes());
                    }
                    b.extend_from_slice(open.as_bytes());
                    b.extend_from_slice(name.as_bytes());
                    b.extend_from_slice(sep.as_bytes());
                };
                b.push(b'{');
                field(b, "index", true);
                uint(b, index);
                field(b, "time", false);
                uint(b, self.time);
                field(b, "type", false);
                keyword(b, kind.name(), json);
                field(b, "process", false);
                write_process(b);
                field(b, "f", false);
                keyword(b, f, json);
                if let Some(k) = key.filter(|_| self.keying == Keying::Field) {
                    field(b, "key", false);
                    b.extend_from_slice(b"\"k");
                    uint(b, k as u64);
                    b.push(b'"');
                }
                field(b, "value", false);
                write_value(b, tuple, value, json);
                if timeout {
                    field(b, "error", false);
                    keyword(b, "timeout", json);
                }
                b.extend_from_slice(b"}\n");
            }
            // `check_spec` refused the formats knossos-rs does not write.
            _ => {
                write_process(b);
                for name in [kind.name(), f] {
                    b.extend_from_slice(b"\t:");
                    b.extend_from_slice(name.as_bytes());
                }
                b.push(b'\t');
                write_value(b, tuple, value, false);
                if timeout {
                    b.extend_from_slice(b"\t:timeout");
                }
                b.push(b'\n');
            }
        }
        if self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(index)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }
}

/// Writes a value as EDN or JSON, as the tuple `[key value]` when `key` is given.
fn write_value(b: &mut Vec<u8>, key: Option<usize>, value: &Val, json: bool) {
    let sep = if json { b',' } else { b' ' };
    let ints = |b: &mut Vec<u8>, values: &[i64]| {
        for (i, &v) in values.iter().enumerate() {
            if i > 0 {
                b.push(sep);
            }
            int(b, v);
        }
    };
    let nil = |b: &mut Vec<u8>, v: Option<i64>| match v {
        Some(v) => int(b, v),
        None if json => b.extend_from_slice(b"null"),
        None => b.extend_from_slice(b"nil"),
    };
    if let Some(k) = key {
        b.push(b'[');
        uint(b, k as u64);
        b.push(sep);
    }
    match value {
        Val::Nil => nil(b, None),
        Val::Int(v) => int(b, *v),
        Val::Pair(old, new) => {
            b.push(b'[');
            ints(b, &[*old, *new]);
            b.push(b']');
        }
        Val::Set(values) => {
            b.extend_from_slice(if json { b"[" } else { b"#{" });
            ints(b, values);
            b.push(if json { b']' } else { b'}' });
        }
        Val::Txn(micros) => {
            b.push(b'[');
            for (i, m) in micros.iter().enumerate() {
                if i > 0 {
                    b.push(sep);
                }
                b.push(b'[');
                keyword(b, if m.write { "write" } else { "read" }, json);
                b.push(sep);
                keyword(b, REGISTERS[m.register], json);
                b.push(sep);
                nil(b, m.value);
                b.push(b']');
            }
            b.push(b']');
        }
        Val::Text(values) => {
            b.push(b'"');
            for &v in values {
                int(b, v);
                b.push(b',');
            }
            b.push(b'"');
        }
    }
    if key.is_some() {
        b.push(b']');
    }
}

/// A keyword: `:name` in EDN, `"name"` in JSON.
fn keyword(b: &mut Vec<u8>, name: &str, json: bool) {
    if json {
        b.push(b'"');
        b.extend_from_slice(name.as_bytes());
        b.push(b'"');
    } else {
        b.push(b':');
        b.extend_from_slice(name.as_bytes());
    }
}

fn int(b: &mut Vec<u8>, n: i64) {
    if n < 0 {
        b.push(b'-');
    }
    uint(b, n.unsigned_abs());
}

fn uint(b: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    b.extend_from_slice(&digits[start..]);
}

/// SplitMix64: small, fast, and fixed here forever, so that a seed gives the same
/// history in every version, but where the simulation itself changes (see the module
/// docs on crashed dequeues); a general-purpose library's generators and sampling
/// may change between its versions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0), by Lemire's multiply-shift.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(spec: &Spec, format: Format) -> Vec<String> {
        let mut out = Vec::new();
        generate(spec, format, &mut out).unwrap();
        String::from_utf8(out).unwrap().lines().map(String::from).collect()
    }

    #[test]
    fn writes_jepsen_ops_in_each_format() {
        let spec = Spec { model: "cas-register".into(), ops: 40, keys: Some(2), seed: 3, ..Spec::default() };
        let edn = lines(&spec, Format::Edn);
        assert!(edn[0].starts_with("{:index 0, :time "), "{}", edn[0]);
        assert!(edn[0].contains(", :type :invoke, :process "), "{}", edn[0]);
        let json = lines(&spec, Format::Json);
        assert!(json[0].starts_with("{\"index\":0,\"time\":"), "{}", json[0]);
        let txt = lines(&spec, Format::HistoryTxt);
        assert_eq!(txt[0].split('\t').count(), 4, "{}", txt[0]);
        assert_eq!((edn.len(), json.len()), (txt.len(), txt.len()));
    }

    #[test]
    fn values_print_as_edn_and_json() {
        let print = |value: &Val, key, json| {
            let mut b = Vec::new();
            write_value(&mut b, key, value, json);
            String::from_utf8(b).unwrap()
        };
        let txn = Val::Txn(vec![
            Micro { register: 0, write: true, value: Some(3) },
            Micro { register: 2, write: false, value: None },
        ]);
        assert_eq!(print(&txn, Some(7), false), "[7 [[:write :x 3] [:read :z nil]]]");
        assert_eq!(print(&txn, None, true), r#"[["write","x",3],["read","z",null]]"#);
        assert_eq!(print(&Val::Set(vec![1, 2]), None, false), "#{1 2}");
        assert_eq!(print(&Val::Pair(-1, 20), Some(0), true), "[0,[-1,20]]");
        assert_eq!(print(&Val::Text(vec![3, 14]), None, false), r#""3,14,""#);
        assert_eq!(print(&Val::Text(vec![]), None, true), r#""""#);
    }

    #[test]
    fn rng_is_uniform_enough_and_fixed() {
        let mut rng = Rng(0);
        // SplitMix64's reference output for seed 0.
        assert_eq!(rng.next(), 0xe220_a839_7b1d_cdaf);
        let mut counts = [0u32; 5];
        for _ in 0..50_000 {
            counts[rng.below(5) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (9_000..11_000).contains(&c)), "{counts:?}");
        assert!((0..1000).map(|_| rng.unit()).all(|u| (0.0..1.0).contains(&u)));
    }
}
