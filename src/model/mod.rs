//! Models: what a correct object does, one step at a time.
//!
//! A [`Model`] is a sequential specification: an initial state and a step function
//! from a state and an operation to the next state, or to an inconsistency. The
//! search never calls a model directly: a memo interns the states a model
//! produces to small integers and caches every transition it has computed, so a
//! model may be as slow and as allocation-happy as is convenient to write.
//!
//! The built-in models are named by [`builtin`] and described by [`ModelInfo::all`]; their
//! messages are Knossos's words, so analyses read the same, with values printed as
//! EDN (Knossos's `str` prints nil as nothing: `can't read 1 from register `). Each lives in a module named
//! after it, and all of them keep their state as a [`Value`] in one canonical form
//! per meaning (a key holding nil is absent, a multiset is a map of counts), so that
//! states that behave alike are interned once.

/// `step` and `inconsistency` for a built-in model whose `apply(state, f, value,
/// explain)` is both: one function holds each rule and its words, so that they never
/// disagree, and `explain` says whether a refusal's words are built (only an
/// analysis needs them).
macro_rules! step_by_apply {
    () => {
        fn step(&self, state: &Value, f: &Value, value: &Value) -> Option<Value> {
            self.apply(state, f, value, false).ok()
        }
        fn inconsistency(&self, state: &Value, f: &Value, value: &Value) -> String {
            self.apply(state, f, value, true).err().unwrap_or_default()
        }
    };
}

mod kv;
pub(crate) mod memo;
mod multi_register;
mod mutex;
mod noop;
mod queue;
mod register;
mod set;

pub(crate) use kv::Kv;
pub(crate) use multi_register::MultiRegister;
pub(crate) use mutex::Mutex;
pub(crate) use noop::Noop;
pub(crate) use queue::{FifoQueue, UnorderedQueue};
pub(crate) use register::{CasRegister, Register};
pub(crate) use set::Set;

use crate::error::{Diagnostic, InputError};
use crate::value::Value;
use std::fmt::Debug;
use std::hash::Hash;

/// A sequential specification of an object.
///
/// Two methods are required, as in Porcupine: the state before any operation
/// ([`Model::init`]) and a step ([`Model::step`]): the next state, or `None` when the
/// operation is impossible. The rest have defaults: the words the analysis gives for
/// an impossible step ([`Model::inconsistency`], asked only for the few steps the
/// analysis prints, so the search never formats a message), a check of each
/// operation's shape before the search ([`Model::check_op`]), how a state prints
/// ([`Model::render`]), and hooks for keyed objects.
///
/// States must be cheap to compare and hash; they are interned, so each distinct
/// state is stored once however often the search meets it, and each transition is
/// computed once per (state, distinct operation). The crate documentation's
/// "Writing a model" section has a complete example; the least a model needs is
/// this:
///
/// ```
/// use knossos_rs::{check, read, History, Model, Options, Validity, Value};
///
/// /// A register of integers, 0 at first: `:write n` and `:read n`.
/// struct IntRegister;
///
/// impl Model for IntRegister {
///     type State = i64;
///     fn init(&self) -> i64 {
///         0
///     }
///     fn step(&self, held: &i64, f: &Value, value: &Value) -> Option<i64> {
///         match (f.as_name()?, value.as_i64()?) {
///             ("write", n) => Some(n),
///             ("read", n) => (n == *held).then_some(n),
///             _ => None,
///         }
///     }
/// }
///
/// let log = "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}\n\
///            {:process 1, :type :invoke, :f :read, :value nil}\n{:process 1, :type :ok, :f :read, :value 0}";
/// let history = History::complete(read::RawOp::read(log.as_bytes(), "log.edn", None).unwrap(), &IntRegister).unwrap();
/// let analysis = check(&IntRegister, &history, &Options::default());
/// assert_eq!(analysis.valid, Validity::Invalid);
/// // The default words for an impossible step, and for a state.
/// let end = &analysis.final_paths[0].last().unwrap().model;
/// assert_eq!(end.to_edn(), r#"{:msg "can't :read 0 in state \"1\""}"#);
/// ```
///
/// # Determinism, and nondeterministic objects
///
/// [`Model::step`] must be a function of its arguments, and gives one successor
/// state. The search relies on it: it caches transitions, and treats two crashed
/// operations with the same `:f` and value as interchangeable.
///
/// An object that may legally do one of several things on one step (a counter whose
/// increment may be delivered twice, a queue that may hand out any of its elements)
/// is still a model: let the state be the *set of states the object may be in*, the
/// step map every member and collect all their successors, and fail only when none is
/// left. This is the subset construction of automata theory, and it is exact for
/// linearizability: along a given order of operations, the set after each prefix is
/// exactly the set of states some sequence of choices reaches, so a sequence of
/// choices that accepts the whole order exists precisely when no step empties the
/// set. The search, which explores orders, then needs nothing else, and two
/// configurations with equal sets have equal futures, so caching stays sound. (This is
/// what Porcupine's `NondeterministicModel` does internally.) Keep the set in a
/// canonical form, a `BTreeSet` say, so that equal sets hash equally:
///
/// ```
/// use knossos_rs::{Model, Value};
/// use std::collections::BTreeSet;
///
/// /// A counter whose `:add n` may be applied twice (an at-least-once retry).
/// struct RetriedCounter;
///
/// impl Model for RetriedCounter {
///     /// Every value the counter may hold.
///     type State = BTreeSet<i64>;
///
///     fn name(&self) -> &str {
///         "retried-counter"
///     }
///     fn init(&self) -> BTreeSet<i64> {
///         BTreeSet::from([0])
///     }
///     fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
///         match (f.as_name(), value.as_i64()) {
///             (Some("add" | "read"), Some(_)) => Ok(()),
///             _ => Err("expected :add n or :read n, n an integer".into()),
///         }
///     }
///     fn step(&self, states: &BTreeSet<i64>, f: &Value, value: &Value) -> Option<BTreeSet<i64>> {
///         let n = value.as_i64()?;
///         let next: BTreeSet<i64> = match f.as_name() {
///             // Applied once or twice: both outcomes are possible.
///             Some("add") => states.iter().flat_map(|s| [s.wrapping_add(n), s.wrapping_add(2 * n)]).collect(),
///             // A read keeps the states it could have seen.
///             _ => states.iter().copied().filter(|&s| s == n).collect(),
///         };
///         (!next.is_empty()).then_some(next)
///     }
///     fn inconsistency(&self, states: &BTreeSet<i64>, _f: &Value, value: &Value) -> String {
///         format!("can't read {value} from any of {states:?}")
///     }
///     fn render(&self, states: &BTreeSet<i64>) -> Value {
///         Value::kw_map([("values", Value::Set(states.iter().map(|&s| Value::Int(s)).collect()))])
///     }
/// }
///
/// let m = RetriedCounter;
/// let add = |s| m.step(s, &Value::keyword("add"), &Value::Int(1));
/// let read = |s, n| m.step(s, &Value::keyword("read"), &Value::Int(n));
/// let once_or_twice = add(&m.init()).unwrap();
/// assert_eq!(once_or_twice, BTreeSet::from([1, 2]));
/// assert_eq!(read(&once_or_twice, 2), Some(BTreeSet::from([2])));
/// assert!(read(&once_or_twice, 3).is_none());
/// ```
pub trait Model: Send + Sync {
    /// The object's state. It owns what it holds (`'static`): a search may intern
    /// millions, and frees them on another thread rather than make its answer wait.
    type State: Clone + Eq + Hash + Debug + Send + Sync + 'static;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Applies an operation: the next state, or `None` if the operation is impossible
    /// in this state. Say no cheaply: the words come from [`Model::inconsistency`],
    /// and only for the steps the analysis prints.
    fn step(&self, state: &Self::State, f: &Value, value: &Value) -> Option<Self::State>;

    /// Why an operation [`Model::step`] refused is impossible in this state: the
    /// inconsistency message of the analysis (`can't read 3 from register 0`). By
    /// default, the operation and the state as [`Model::render`] prints it.
    fn inconsistency(&self, state: &Self::State, f: &Value, value: &Value) -> String {
        format!(
            "can't {} {} in state {}",
            f.to_edn_short(60),
            value.to_edn_short(60),
            self.render(state).to_edn_short(200)
        )
    }

    /// The name users give on the command line (`cas-register`), which error
    /// messages begin with. By default, the type's name.
    fn name(&self) -> &str {
        let name = std::any::type_name::<Self>();
        name.rsplit("::").next().unwrap_or(name)
    }

    /// Checks, before the search starts, that the model understands an operation
    /// with this function and (completed) value; the error says what it expects.
    /// Operations that pass are guaranteed to reach [`Model::step`] only. By
    /// default every operation passes.
    fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
        let _ = (f, value);
        Ok(())
    }

    /// The state as the analysis prints it (`{:value 2}`). By default, the state's
    /// `Debug` form as a string.
    fn render(&self, state: &Self::State) -> Value {
        Value::string(&format!("{state:?}"))
    }

    /// About how many bytes a state owns on the heap (a vector's elements, a
    /// string's text), so that the memory limit counts them: the search holds every
    /// distinct state. By default 0, right for states held inline (integers,
    /// enums); a model whose states are [`Value`]s returns [`Value::heap_bytes`].
    fn state_bytes(&self, state: &Self::State) -> usize {
        let _ = state;
        0
    }

    /// The argument [`Model::check_op`] and [`Model::step`] receive for an
    /// operation, from its invocation's fields and its completed value. By default
    /// the value itself; a model that needs another field of the op (`kv` needs
    /// `:key`) combines them here, or says what is missing. The fields are the op
    /// map without `:process`, `:type`, `:index` and `:time`
    /// ([`Op::fields`](crate::history::Op::fields)); it is asked once for all the
    /// operations with equal fields and outcome.
    fn argument(&self, invoke: &Value, value: &Value) -> Result<Value, String> {
        let _ = invoke;
        Ok(value.clone())
    }

    /// For a model whose operations on different keys never interact
    /// (P-compositionality), the key of an op, from its fields (as for
    /// [`Model::argument`]); the history is then checked key by key, exactly.
    /// `None`: the model does not split.
    fn partition_key(&self, op: &Value) -> Option<Value> {
        let _ = op;
        None
    }

    /// For a keyed model whose state is made of one independent part per key: the
    /// part of `state` that holds `key`, itself a state that steps the key's
    /// operations. `None` (the default): the state is not split.
    ///
    /// When a keyed history is checked whole (`--no-partition`), the search then
    /// keeps each key's part apart, and a whole state as the tuple of its parts, so
    /// that a new state costs hashing a word per key rather than every key's value,
    /// and a model step is taken once per part and operation kind. A model that
    /// gives parts must also give [`Model::join`], and stepping a part must give the
    /// part of the stepped state: `step(part(s, k), op on k) = part(step(s, op on k), k)`.
    ///
    /// ```
    /// use knossos_rs::{check, read, History, Model, Options, Validity, Value};
    /// use std::collections::BTreeMap;
    ///
    /// /// Counters by `:key`, each `:add n` or `:read n`; a state maps keys (as EDN) to counts.
    /// struct Counters;
    ///
    /// impl Model for Counters {
    ///     type State = BTreeMap<String, i64>;
    ///     fn name(&self) -> &str {
    ///         "counters"
    ///     }
    ///     fn init(&self) -> Self::State {
    ///         BTreeMap::new()
    ///     }
    ///     fn check_op(&self, f: &Value, argument: &Value) -> Result<(), String> {
    ///         match (f.as_name(), argument.as_seq()) {
    ///             (Some("add" | "read"), Some([_, Value::Int(_)])) => Ok(()),
    ///             _ => Err("expected :add n or :read n on a :key".into()),
    ///         }
    ///     }
    ///     fn step(&self, s: &Self::State, f: &Value, argument: &Value) -> Option<Self::State> {
    ///         let Some([key, Value::Int(n)]) = argument.as_seq() else { unreachable!("check_op") };
    ///         let (key, count) = (key.to_edn(), s.get(&key.to_edn()).copied().unwrap_or(0));
    ///         match f.as_name() {
    ///             Some("add") => Some(s.clone().into_iter().chain([(key, count + n)]).collect()),
    ///             _ => (count == *n).then(|| s.clone()),
    ///         }
    ///     }
    ///     fn render(&self, s: &Self::State) -> Value {
    ///         Value::Map(s.iter().map(|(k, n)| (Value::string(k), Value::Int(*n))).collect())
    ///     }
    ///     fn argument(&self, invoke: &Value, value: &Value) -> Result<Value, String> {
    ///         let key = invoke.get("key").ok_or("an op needs a :key")?;
    ///         Ok(Value::Vector(vec![key.clone(), value.clone()]))
    ///     }
    ///     fn partition_key(&self, op: &Value) -> Option<Value> {
    ///         op.get("key").cloned()
    ///     }
    ///     fn part(&self, s: &Self::State, key: &Value) -> Option<Self::State> {
    ///         Some(s.get_key_value(&key.to_edn()).map(|(k, n)| (k.clone(), *n)).into_iter().collect())
    ///     }
    ///     fn join(&self, base: &Self::State, parts: &[(&Value, &Self::State)]) -> Self::State {
    ///         let mut whole = base.clone();
    ///         for (key, part) in parts {
    ///             whole.remove(&key.to_edn());
    ///             whole.extend(part.iter().map(|(k, n)| (k.clone(), *n)));
    ///         }
    ///         whole
    ///     }
    /// }
    ///
    /// // Key :b's read of 0 comes after its add of 1 completed.
    /// let log = r#"
    /// {:process 0, :type :invoke, :f :add, :key :a, :value 2}
    /// {:process 0, :type :ok, :f :add, :key :a, :value 2}
    /// {:process 1, :type :invoke, :f :add, :key :b, :value 1}
    /// {:process 1, :type :ok, :f :add, :key :b, :value 1}
    /// {:process 0, :type :invoke, :f :read, :key :a, :value 2}
    /// {:process 1, :type :invoke, :f :read, :key :b, :value 0}
    /// {:process 0, :type :ok, :f :read, :key :a, :value 2}
    /// {:process 1, :type :ok, :f :read, :key :b, :value 0}
    /// "#;
    /// let ops = read::RawOp::read(log.as_bytes(), "counters.edn", None).unwrap();
    /// let history = History::complete(ops, &Counters).unwrap();
    /// // Checked whole, the states are kept by key; the analysis prints whole states.
    /// let whole = check(&Counters, &history, &Options::default().partition(false));
    /// assert_eq!(whole.valid, Validity::Invalid);
    /// assert_eq!(whole.op.unwrap().index, 7);
    /// let before = &whole.final_paths[0][0].model;
    /// assert_eq!(before.to_edn(), r#"{":a" 2, ":b" 1}"#);
    /// // Key by key, the same verdict.
    /// let split = check(&Counters, &history, &Options::default());
    /// assert_eq!(split.failures, vec![Value::keyword("b")]);
    /// ```
    fn part(&self, state: &Self::State, key: &Value) -> Option<Self::State> {
        let _ = (state, key);
        None
    }

    /// The whole state whose keys hold `parts` (as [`Model::part`] gives them, then
    /// stepped) and whose other keys are as in `base`: for the analysis, which
    /// prints whole states. Used only with [`Model::part`].
    fn join(&self, base: &Self::State, parts: &[(&Value, &Self::State)]) -> Self::State {
        let _ = parts;
        base.clone()
    }

    /// Which built-in object this model is, for the engine that decides histories
    /// whose written values are unique in polynomial time
    /// ([`Algorithm::Unique`](crate::Algorithm::Unique)). `None` (the default): the model
    /// is not one it knows, and the search decides as usual. A model that answers
    /// must step exactly as the built-in model it names.
    fn semantics(&self) -> Option<Semantics<'_>> {
        None
    }

    /// Whether the operation is a read: in every state where it steps, it steps to
    /// that same state. The searches linearize such an operation as soon as it is
    /// legal and take no other order for it (the searches'
    /// *reads first*), which spares them most of the orders
    /// many concurrent reads allow. `false` (the default) is always correct;
    /// `true` for an operation that may change the state gives wrong verdicts.
    fn is_read(&self, f: &Value, value: &Value) -> bool {
        let _ = (f, value);
        false
    }

    /// Whether the operation, crashed, never helps: removing it from any legal
    /// sequence leaves the sequence legal. The searches never linearize such a
    /// crashed operation (the searches' rules for
    /// crashed operations),
    /// sparing the orders it would add: the unordered queue's crashed dequeues of
    /// unknown result, for one, which could take any element. `false` (the default)
    /// is always correct; `true` for an operation some history needs gives wrong
    /// verdicts.
    fn never_helps(&self, f: &Value, value: &Value) -> bool {
        let _ = (f, value);
        false
    }

    /// Whether the operation overwrites the state: it is legal in every state and
    /// steps every state to the same one (a register's write; kv's put, for a
    /// history of one key). With [`Model::may_observe`], this lets the WGL search
    /// treat states nothing will observe as one (its *unobserved states*). `false`
    /// (the default) is always correct.
    fn overwrites(&self, f: &Value, value: &Value) -> bool {
        let _ = (f, value);
        false
    }

    /// Whether an operation that does not [overwrite](Model::overwrites) might tell
    /// `state` from another state. The contract: take any set K of such operations,
    /// and call a state *blind* to K when this is `false` for it and each operation
    /// of K. Any two states blind to K must agree on every sequence of operations of
    /// K, each step legal in both or in neither, the states reached blind to K again.
    /// A register's read of `v` observes `v` alone, its cas from `v` likewise; kv's
    /// get of `s` observes the prefixes of `s`, and its append nothing (legal
    /// everywhere, it takes a string no get reads to one no get reads). `true` (the
    /// default) is always correct.
    fn may_observe(&self, state: &Self::State, f: &Value, value: &Value) -> bool {
        let _ = (state, f, value);
        true
    }
}

/// A model behind a pointer is the model: a borrow, a box (as [`DynModel`]) or an
/// `Arc` shared with other threads all check as the model they point to.
macro_rules! forward_model {
    ($($pointer:ty),*) => {$(
        impl<M: Model + ?Sized> Model for $pointer {
            type State = M::State;
                fn name(&self) -> &str {
                (**self).name()
            }
            fn init(&self) -> M::State {
                (**self).init()
            }
            fn check_op(&self, f: &Value, value: &Value) -> Result<(), String> {
                (**self).check_op(f, value)
            }
            fn step(&self, state: &M::State, f: &Value, value: &Value) -> Option<M::State> {
                (**self).step(state, f, value)
            }
            fn inconsistency(&self, state: &M::State, f: &Value, value: &Value) -> String {
                (**self).inconsistency(state, f, value)
            }
            fn state_bytes(&self, state: &M::State) -> usize {
                (**self).state_bytes(state)
            }
            fn render(&self, state: &M::State) -> Value {
                (**self).render(state)
            }
            fn argument(&self, invoke: &Value, value: &Value) -> Result<Value, String> {
                (**self).argument(invoke, value)
            }
            fn partition_key(&self, op: &Value) -> Option<Value> {
                (**self).partition_key(op)
            }
            fn part(&self, state: &M::State, key: &Value) -> Option<M::State> {
                (**self).part(state, key)
            }
            fn join(&self, base: &M::State, parts: &[(&Value, &M::State)]) -> M::State {
                (**self).join(base, parts)
            }
            fn semantics(&self) -> Option<Semantics<'_>> {
                (**self).semantics()
            }
            fn is_read(&self, f: &Value, value: &Value) -> bool {
                (**self).is_read(f, value)
            }
            fn never_helps(&self, f: &Value, value: &Value) -> bool {
                (**self).never_helps(f, value)
            }
            fn overwrites(&self, f: &Value, value: &Value) -> bool {
                (**self).overwrites(f, value)
            }
            fn may_observe(&self, state: &M::State, f: &Value, value: &Value) -> bool {
                (**self).may_observe(state, f, value)
            }
        }
    )*};
}

forward_model!(&M, Box<M>, std::sync::Arc<M>);

/// What a built-in model does, in the terms of the unique-value engine
/// ([`Model::semantics`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Semantics<'a> {
    /// `register` or `cas-register`.
    Register {
        /// The value at first.
        init: &'a Value,
        /// Whether `:cas` is an operation (`cas-register`).
        cas: bool,
        /// What a read of nil means.
        nil_reads: NilReads,
    },
    /// `set`.
    Set {
        /// The elements at first.
        init: &'a [Value],
    },
    /// `fifo-queue` or `unordered-queue`.
    Queue {
        /// The elements at first, oldest first (an unordered queue's each once).
        init: Vec<&'a Value>,
        /// Whether dequeues take the oldest element (`fifo-queue`).
        fifo: bool,
        /// What a dequeue of nil means.
        nil_reads: NilReads,
    },
    /// `kv`.
    Kv {
        /// The keys' strings at first (`""` for the others).
        init: &'a [(Value, Value)],
        /// What a get of nil means.
        nil_reads: NilReads,
    },
    /// The inner model of `[key value]` tuples ([`Independent`](crate::partition::Independent)).
    Keyed(Box<Semantics<'a>>),
}

/// A built-in model, chosen by name at run time.
pub type DynModel = Box<dyn Model<State = Value>>;

/// Options of the built-in models: [`ModelOptions::default`], changed by the
/// builder methods of the same names as the fields.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ModelOptions {
    /// The initial state (`--init`); each model's default when `None`. Its shape
    /// depends on the model: see [`ModelInfo::init`].
    pub init: Option<Value>,
    /// What a read (or dequeue) of nil means to the models whose results may be
    /// unknown (`register`, `cas-register`, `multi-register`, `kv`, and both queues).
    pub nil_reads: NilReads,
}

impl ModelOptions {
    /// The initial state (a value, or `None` for the model's default).
    pub fn init(self, init: impl Into<Option<Value>>) -> ModelOptions {
        ModelOptions { init: init.into(), ..self }
    }

    /// What a read (or dequeue) of nil means.
    pub fn nil_reads(self, nil_reads: NilReads) -> ModelOptions {
        ModelOptions { nil_reads, ..self }
    }
}

/// What a read (or dequeue) that returned nil means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NilReads {
    /// Nothing is known about the value (Knossos's reading of reads, and Jepsen's: an
    /// operation that crashed is recorded with its invocation's value, nil). Such a
    /// read is always legal; such a dequeue took what the queue would have handed
    /// out, or found it empty (see the `queue` models).
    #[default]
    Unknown,
    /// The object held nothing: the register held nil, the key was absent
    /// (Porcupine's etcd tests mean "absent" by it); a queue handed out the element
    /// nil (Knossos's literal reading of a dequeue).
    Absent,
}

impl NilReads {
    /// Whether a read that returned `read` is legal whatever the object holds.
    pub fn is_unknown(self, read: &Value) -> bool {
        self == NilReads::Unknown && read.is_nil()
    }
}

impl std::str::FromStr for NilReads {
    type Err = String;
    fn from_str(s: &str) -> Result<NilReads, String> {
        match s {
            "unknown" => Ok(NilReads::Unknown),
            "absent" => Ok(NilReads::Absent),
            _ => Err(format!("`{s}` is not a nil-read meaning; use `unknown` or `absent`")),
        }
    }
}

/// What a built-in model accepts, for `knossos-rs models`.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ModelInfo {
    /// The name for `--model`.
    pub name: &'static str,
    /// The `:f`s it understands.
    pub operations: &'static str,
    /// The `:value` each operation takes or returns.
    pub values: &'static str,
    /// The initial state, and what `--init` takes.
    pub init: &'static str,
    /// One op, as EDN.
    pub example: &'static str,
}

const CATALOG: [ModelInfo; 9] = [
    ModelInfo {
        name: "register",
        operations: ":read, :write",
        values: ":write v sets v (any value); :read v returns it, nil meaning unknown (see --nil-reads)",
        init: "nil; --init takes any value",
        example: "{:process 0, :type :ok, :f :read, :value 3}",
    },
    ModelInfo {
        name: "cas-register",
        operations: ":read, :write, :cas",
        values: ":write v; :cas [old new] sets new if the register holds old; :read v as register",
        init: "nil; --init takes any value (Knossos's histories need 0)",
        example: "{:process 0, :type :invoke, :f :cas, :value [1 2]}",
    },
    ModelInfo {
        name: "mutex",
        operations: ":acquire, :release",
        values: "ignored",
        init: "unlocked; --init true starts it locked, false unlocked",
        example: "{:process 0, :type :invoke, :f :acquire}",
    },
    ModelInfo {
        name: "multi-register",
        operations: ":txn",
        values: "a list of [f k v] micro-ops applied in order, f :read or :write, k any key; \
                 a read of nil is unknown (see --nil-reads)",
        init: "{} (every key nil); --init takes a map, e.g. {:x 0 :y 0}",
        example: "{:process 0, :type :ok, :f :txn, :value [[:write :x 1] [:read :y 0]]}",
    },
    ModelInfo {
        name: "set",
        operations: ":add, :read",
        values: ":add v adds v; :read s must return the whole set, as a set (nil is not a wildcard)",
        init: "#{}; --init takes a set or a vector",
        example: "{:process 0, :type :ok, :f :read, :value #{1 2}}",
    },
    ModelInfo {
        name: "unordered-queue",
        operations: ":enqueue, :dequeue",
        values: ":enqueue v; :dequeue v removes one v, whatever its place in the queue; a dequeue of \
                 nil (Jepsen's crashed dequeue) took an unknown element or found the queue empty \
                 (see --nil-reads)",
        init: "empty; --init takes a vector of pending elements",
        example: "{:process 0, :type :ok, :f :dequeue, :value 1}",
    },
    ModelInfo {
        name: "fifo-queue",
        operations: ":enqueue, :dequeue",
        values: ":enqueue v; :dequeue v removes v, which must be the oldest pending element; a \
                 dequeue of nil (Jepsen's crashed dequeue) took the oldest or found the queue empty \
                 (see --nil-reads)",
        init: "empty; --init takes a vector of pending elements, oldest first",
        example: "{:process 0, :type :ok, :f :dequeue, :value 1}",
    },
    ModelInfo {
        name: "noop",
        operations: "any",
        values: "any; every operation is legal",
        init: "none; --init is refused",
        example: "{:process 0, :type :invoke, :f :anything, :value 1}",
    },
    ModelInfo {
        name: "kv",
        operations: ":get, :put, :append (each on the op's :key)",
        values: ":put s sets the key to the string s; :append s appends s; :get returns the key's \
                 string on its :ok, \"\" if never written, nil meaning unknown (see --nil-reads); \
                 the history is checked key by key",
        init: "{} (every key \"\"); --init takes a map from keys to strings, e.g. {\"a\" \"x\"}",
        example: "{:process 0, :type :ok, :f :get, :key \"a\", :value \"x\"}",
    },
];

impl ModelInfo {
    /// The built-in models, in [`ModelInfo::NAMES`] order.
    pub fn all() -> &'static [ModelInfo] {
        &CATALOG
    }

    /// The names of the built-in models, for `--model`.
    pub const NAMES: &'static [&'static str] = &{
        let mut names = [""; CATALOG.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = CATALOG[i].name;
            i += 1;
        }
        names
    };
}

/// The built-in model with this name, or why it cannot be built (an unknown name,
/// or an `--init` of the wrong shape for the model).
pub fn builtin(name: &str, options: &ModelOptions) -> Result<DynModel, InputError> {
    built(name, options).map_err(|message| InputError::new("", vec![Diagnostic::new(0, 0, message)]))
}

fn built(name: &str, options: &ModelOptions) -> Result<DynModel, String> {
    let init = options.init.as_ref();
    let nil_reads = options.nil_reads;
    let value = || init.cloned().unwrap_or(Value::Nil);
    let model: DynModel = match name {
        "register" => Box::new(Register { init: value(), nil_reads }),
        "cas-register" => Box::new(CasRegister { init: value(), nil_reads }),
        "mutex" => Box::new(init.map_or(Ok(Mutex::default()), Mutex::with_init)?),
        "multi-register" => Box::new(MultiRegister::with_init(init, nil_reads)?),
        "set" => Box::new(init.map_or(Ok(Set::default()), Set::with_init)?),
        "unordered-queue" => Box::new(UnorderedQueue::with_init(init, nil_reads)?),
        "fifo-queue" => Box::new(FifoQueue::with_init(init, nil_reads)?),
        "noop" if init.is_some() => {
            return Err(
                "noop has no state: an initial state (`ModelOptions::init`, `--init`) does not apply to it"
                    .into(),
            )
        }
        "noop" => Box::new(Noop),
        "kv" => Box::new(Kv::with_init(init, nil_reads)?),
        _ => return Err(format!("unknown model `{name}`; the models are: {}", ModelInfo::NAMES.join(", "))),
    };
    Ok(model)
}

/// A step with its words: the next state, or why the operation is impossible
/// ([`Model::step`], then [`Model::inconsistency`] if it refused).
pub(crate) fn step_or_why<M: Model + ?Sized>(
    model: &M,
    state: &M::State,
    f: &Value,
    value: &Value,
) -> Result<M::State, String> {
    model.step(state, f, value).ok_or_else(|| model.inconsistency(state, f, value))
}

/// An inconsistency message, made only when `explain` asks for it: the search needs
/// to know that a step is impossible, the analysis why, for a few steps.
fn why(explain: bool, message: impl FnOnce() -> String) -> String {
    if explain {
        message()
    } else {
        String::new()
    }
}

/// Which of the functions a model knows `f` names, or an error listing them.
fn function<'k>(f: &Value, known: &[&'k str]) -> Result<&'k str, String> {
    let name = f.as_name();
    known.iter().find(|k| Some(**k) == name).copied().ok_or_else(|| {
        let names: Vec<String> = known.iter().map(|k| format!(":{k}")).collect();
        let list = match names.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        };
        format!("unknown :f {}; this model knows {list}", f.to_edn_short(60))
    })
}

/// The message for a value of the wrong shape: what was expected, and what came.
fn expected(what: &str, value: &Value) -> String {
    format!("{what}, not {}", value.to_edn_short(60))
}

/// The value of `key` in a map's entries.
fn entry<'a>(entries: &'a [(Value, Value)], key: &Value) -> Option<&'a Value> {
    entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Sets `key` in a map's entries, or removes it (`None`): the map-like models drop
/// keys holding their default value, so that each state has one form.
fn set_entry(entries: &mut Vec<(Value, Value)>, key: &Value, value: Option<Value>) {
    let slot = entries.iter().position(|(k, _)| k == key);
    match (slot, value) {
        (Some(i), Some(v)) => entries[i].1 = v,
        (Some(i), None) => {
            entries.remove(i);
        }
        (None, Some(v)) => entries.push((key.clone(), v)),
        (None, None) => {}
    }
}

/// [`Model::part`] for a state that maps keys to their states: the map of `key`'s
/// entry alone (empty if the key has none).
pub(crate) fn map_part(state: &Value, key: &Value) -> Option<Value> {
    let Value::Map(entries) = state else { return None };
    Some(Value::Map(entry(entries, key).map(|v| (key.clone(), v.clone())).into_iter().collect()))
}

/// [`Model::join`] for states that map keys to their states: `base` with each key's
/// entry taken from its part (removed where the part has none).
pub(crate) fn map_join(base: &Value, parts: &[(&Value, &Value)]) -> Value {
    let mut entries = match base {
        Value::Map(entries) => entries.clone(),
        _ => Vec::new(),
    };
    for &(key, part) in parts {
        let value = match part {
            Value::Map(part) => entry(part, key).cloned(),
            _ => None,
        };
        set_entry(&mut entries, key, value);
    }
    Value::Map(entries)
}

/// A model's state printed under one key, as the analysis shows it (`{:value 2}`).
fn labelled(key: &str, state: &Value) -> Value {
    Value::kw_map([(key, state.clone())])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::parse_edn;

    #[test]
    fn step_or_why_gives_the_next_state_or_the_words() {
        let m = builtin("cas-register", &Default::default()).unwrap();
        let cas = |old, new| Value::Vector(vec![Value::Int(old), Value::Int(new)]);
        let one = step_or_why(&m, &m.init(), &Value::keyword("write"), &Value::Int(1)).unwrap();
        assert_eq!(step_or_why(&m, &one, &Value::keyword("cas"), &cas(1, 2)), Ok(Value::Int(2)));
        assert_eq!(
            step_or_why(&m, &one, &Value::keyword("cas"), &cas(3, 4)),
            Err("can't CAS 1 from 3 to 4".into())
        );
    }

    #[test]
    fn catalog_names_every_builtin_and_its_example_is_understood() {
        assert_eq!(ModelInfo::NAMES.len(), ModelInfo::all().len());
        for info in ModelInfo::all() {
            let model = builtin(info.name, &ModelOptions::default()).unwrap();
            assert_eq!(model.name(), info.name);
            let op = parse_edn(info.example).unwrap();
            let value = op.get("value").cloned().unwrap_or(Value::Nil);
            let argument = model.argument(&op, &value).unwrap();
            let f = op.get("f").unwrap();
            assert_eq!(model.check_op(f, &argument), Ok(()), "{}", info.name);
        }
    }

    #[test]
    fn bad_init_shapes_are_refused_with_the_model_named() {
        let init = |name: &str, edn: &str| {
            builtin(name, &ModelOptions::default().init(parse_edn(edn).unwrap()))
                .map(|m| m.render(&m.init()).to_edn())
        };
        for (name, edn) in [
            ("mutex", "1"),
            ("multi-register", "[1]"),
            ("set", "1"),
            ("unordered-queue", "#{1}"),
            ("fifo-queue", "{}"),
            ("noop", "{}"),
            ("kv", "{\"a\" 1}"),
            ("kv", "[]"),
        ] {
            let e = init(name, edn).unwrap_err().to_string();
            assert!(e.contains(name) && e.contains("--init"), "{name} {edn}: {e}");
        }
        assert_eq!(init("mutex", "true").unwrap(), "{:locked? true}");
        assert_eq!(init("set", "[1 2 1]").unwrap(), "{:value #{1 2}}");
        assert_eq!(init("unordered-queue", "[1 2 1]").unwrap(), "{:pending [1 1 2]}");
        assert_eq!(init("fifo-queue", "(3 1)").unwrap(), "{:pending [3 1]}");
        assert_eq!(init("multi-register", "{:x 0, :y nil}").unwrap(), "{:value {:x 0}}");
        assert_eq!(init("kv", "{\"a\" \"x\", \"b\" \"\"}").unwrap(), "{:value {\"a\" \"x\"}}");
        assert!(builtin("queue", &ModelOptions::default()).err().unwrap().to_string().contains("fifo-queue"));
    }

    #[test]
    fn unknown_functions_list_the_known_ones() {
        let e = function(&Value::keyword("inc"), &["read", "write", "cas"]).unwrap_err();
        assert_eq!(e, "unknown :f :inc; this model knows :read, :write and :cas");
        assert_eq!(
            function(&Value::keyword("x"), &["add"]).unwrap_err(),
            "unknown :f :x; this model knows :add"
        );
        assert_eq!(function(&Value::Symbol("cas".into()), &["read", "cas"]), Ok("cas"));
        assert!(function(&Value::Int(1), &["read"]).is_err());
    }
}
