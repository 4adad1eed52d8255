//! Deciding linearizability: the engines, the race between them, and budgets.
//!
//! Two engines decide the same question by different routes: [`wgl`] (Wing &
//! Gong's depth-first search over orders, with Lowe's configuration cache) and
//! [`linear`] (Lowe's just-in-time linearization, breadth-first over the
//! history). Each is fast where the other is exponential, so by default they race
//! ([`competition`]) and the first verdict wins, beside [`refute`], which proves
//! invalidity by searching looser histories where exhausting the orders is out of
//! reach. Before them, where every written value is unique, [`unique`] decides in
//! polynomial time what both may find exponential. All of them poll one [`Budget`].
//!
//! # Crashed operations
//!
//! A crashed (`:info`) operation may have taken effect at any point after its
//! invocation, or never; it has no return, so nothing forces it in. Real Jepsen
//! histories are full of them, and each stays pending to the end. Both searches
//! follow four rules that cut the orders they try without losing any verdict
//! (the models are deterministic: a state and an operation give at most one next
//! state):
//!
//! 1. **Twins in order.** Two crashed operations of the same kind (function and
//!    value) are interchangeable: neither has a return to meet, they have the same
//!    effect, and the earlier is available whenever the later is. So only the
//!    earliest not yet linearized is ever tried, which turns 2ⁿ subsets of n
//!    identical crashed writes into n + 1 counts.
//! 2. **Just before an observer.** A crashed operation C is linearized only when
//!    the operation linearized next *observes* it: steps differently from the
//!    state before C than from the state after (a read of the value C wrote, a cas
//!    from it; not a write, which overwrites it unread). Proof: in a legal
//!    sequence, if C is last, or the operation O after it steps from the state
//!    before C to the same state as from the state after, then the sequence
//!    without C is still legal and reaches the same states from O on; and leaving
//!    out an operation never breaks real-time order, nor a return (C has none).
//!    Leaving such operations out one by one, any legal sequence becomes one in
//!    which every crashed operation is just before an observer, so searching
//!    those alone loses no verdict.
//! 3. **Nothing for nothing.** The special case of 2 that costs nothing to test:
//!    a crashed operation whose step leaves the state as it was is never
//!    linearized.
//! 4. **Never helps.** A crashed operation the model says never helps
//!    ([`Model::never_helps`](crate::Model::never_helps): removing it from a legal
//!    sequence leaves it legal, as the unordered queue's dequeues of unknown result)
//!    is never linearized. Leaving such operations out of a legal sequence first,
//!    then applying rule 2 to the rest, loses no verdict.
//!
//! A configuration just after a crashed operation waits for its observer, and
//! carries the state before the crashed operation to test it.
//!
//! # Identical operations
//!
//! Rule 1 has a counterpart for `:ok` operations, which [`wgl`] follows. Call `a` a
//! *double* of `b` when both are `:ok`, of the same kind, and `a` returns before `b`
//! does. Where both are among the calls that may go next (invoked before the first
//! return still to meet), `b` is not tried while `a` is not linearized. Proof: take
//! a legal sequence from the configuration that starts with `b` and holds `a` later
//! (`a` is `:ok`, so it is there), and swap the two. The states are unchanged (same
//! kind). Real time, which a pair breaks only if the later one returned before the
//! earlier was invoked, holds: `a`, now first, was invoked before the first return
//! still to meet, which no operation still to go returns before, and each operation
//! already linearized was invoked before `a` returned (`a`'s return was still to
//! meet when it was linearized); an operation `o` between the two was before `a`,
//! so invoked before `a` returned, and so before `b` returned; and `b`, now where `a`
//! was, was invoked before the first return still to meet, so before any operation
//! after it returned. (`a` may be invoked after `b`: only their returns are
//! ordered.) Each skipped call so leads to one whose doubles that may go are
//! linearized, and the configuration keeps a legal continuation if it had one.
//! Twenty clients writing one value at once give 2²⁰ subsets of their writes; in
//! order of return, 21.
//!
//! # Reads first
//!
//! A read (an operation the model says never changes the state:
//! [`Model::is_read`](crate::Model::is_read)) that has completed `:ok` is
//! linearized as soon as it is legal, and no other order is tried in its place.
//! Both searches, at a configuration in state `s`: if some `:ok` read `r` that may
//! go next (it is invoked, not linearized, and every operation that returned
//! before its invocation is linearized) steps `s` to `s`, the only successor
//! explored is the one that linearizes `r`. Proof: let `L` be any legal order of
//! the operations still to linearize, from this configuration, respecting real
//! time. Move `r` to the front. It is legal there (it reads `s`) and leaves `s`,
//! so every operation before its old place steps from the same state as in `L`;
//! and at its old place it had left the state as it found it, so every operation
//! after steps from the same state too. Real time still holds: no operation still
//! to linearize returned before `r` was invoked, so none must precede it. So a
//! configuration has a legal continuation if and only if the one with `r`
//! linearized has, and the order of the others is unchanged. (A crashed read is
//! never linearized at all, by rule 3 above; and after a crashed operation `C`, a
//! read legal in the state `C` left observes `C`, since `C` changed the state, so
//! rule 2 lets it go next.)
//!
//! This is what decides histories of many concurrent clients: a read left
//! pending doubles the orders the searches try (the configurations with it
//! linearized and those without), and reads are a large share of most
//! workloads. Taken at once, a read costs nothing: on a generated cas-register
//! history of 5 000 invocations by 50 processes (a third reads), WGL decides in
//! 0.65 s what it could not in 20 s (and 3 GB) without.
//!
//! And both searches compare configurations *up to dominance*: of two that agree
//! on the state, the `:ok` operations linearized (and the state waited on), the
//! one whose crashed operations are a subset of the other's can do whatever the
//! other can (leaving a crashed operation unused never forbids a step, and a later
//! twin stands in for an earlier one), so the other need not be explored.

pub mod budget;
mod cache;
pub mod competition;
pub mod linear;
pub(crate) mod refute;
mod sharded;
pub mod unique;
pub mod wgl;

pub use budget::{Budget, Cancel, Cause, Progress};

use crate::history::History;
use crate::model::memo::{KindId, Memo, StateId};
use crate::model::Model;

/// How many configurations at the failure point an engine keeps for the analysis.
const MAX_CONFIGS: usize = 1024;

/// Which engine decides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Algorithm {
    /// Wing & Gong's search with Lowe's cache.
    Wgl,
    /// Lowe's just-in-time linearization.
    Linear,
    /// The unique-value engine alone (for histories whose written values are
    /// unique, in polynomial time); a history it does not apply to
    /// is an input error.
    Unique,
    /// The unique-value engine where it applies; otherwise both searches on their
    /// own threads, with a third that proves invalidity through relaxations of the
    /// history, the first verdict winning.
    #[default]
    Competition,
}

impl Algorithm {
    /// Its name, as `--algorithm` takes it and `:analyzer` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Wgl => "wgl",
            Algorithm::Linear => "linear",
            Algorithm::Unique => "unique",
            Algorithm::Competition => "competition",
        }
    }
}

impl std::str::FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Algorithm, String> {
        match s {
            "wgl" => Ok(Algorithm::Wgl),
            "linear" => Ok(Algorithm::Linear),
            "unique" => Ok(Algorithm::Unique),
            "competition" => Ok(Algorithm::Competition),
            _ => Err(format!("unknown algorithm `{s}`: use wgl, linear, unique or competition")),
        }
    }
}

/// What a search found.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Some order of the operations explains the history; when asked for, one
    /// such order (`linearization`, indices into
    /// [`History::operations`](crate::History)): every `:ok` operation once, and the
    /// crashed ones that order needs.
    Valid {
        /// The order, if asked for.
        linearization: Option<Vec<usize>>,
    },
    /// No order does.
    Invalid {
        /// The `:ok` operation no configuration could linearize (an index into
        /// [`History::operations`](crate::History)).
        op: usize,
        /// The configurations that got as far as it.
        configs: Vec<Config>,
    },
    /// No order does, and none gets past `op`: the operations up to its return
    /// have no linearization. Proven without a search reaching it (by the
    /// unique-value engine: [`Decline::fails_by`](unique::Decline)), so an earlier
    /// operation may already be one that no order gets past.
    FailsBy {
        /// The `:ok` operation (an index into [`History::operations`](crate::History)).
        op: usize,
    },
    /// The search stopped before a verdict.
    Unknown {
        /// Why.
        cause: Cause,
        /// The `:ok` operation it had reached but not got past.
        furthest: Option<usize>,
    },
}

/// A configuration of the search: the operations linearized so far and the state
/// they lead to.
#[derive(Clone, Debug)]
pub struct Config {
    /// The state (in the engine's [`Memo`](crate::model::memo::Memo)).
    pub state: StateId,
    /// Bit `i` is set when operation `i` is linearized.
    pub linearized: Vec<u64>,
    /// The operation linearized last, if any.
    pub last: Option<usize>,
}

impl Config {
    /// Whether operation `op` is linearized.
    pub fn is_linearized(&self, op: usize) -> bool {
        self.linearized[op / 64] & (1 << (op % 64)) != 0
    }
}

/// For each indeterminate operation, the previous indeterminate operation of the
/// same kind (`None` for the first of its kind, and for `:ok` operations): its
/// twin, which goes first (rule 1 of [crashed operations](self#crashed-operations)).
fn twins(history: &History, kinds: &[KindId]) -> Vec<Option<u32>> {
    let mut last: hashbrown::HashMap<KindId, u32, foldhash::fast::FixedState> = Default::default();
    (0..history.operations.len())
        .map(|i| match history.operations[i].complete {
            Some(_) => None,
            None => last.insert(kinds[i], i as u32),
        })
        .collect()
}

/// For each `:ok` operation, the `:ok` operation of the same kind that returns
/// latest before it (`None` if there is none): its nearest *double*. Each double's
/// own gives the chain of them, back in time (see [identical
/// operations](self#identical-operations)).
fn doubles(history: &History, kinds: &[KindId]) -> Vec<Option<u32>> {
    let mut by_return: Vec<(usize, u32)> = (0..history.operations.len())
        .filter_map(|op| Some((history.operations[op].complete?, op as u32)))
        .collect();
    by_return.sort_unstable();
    let mut last: hashbrown::HashMap<KindId, u32, foldhash::fast::FixedState> = Default::default();
    let mut doubles = vec![None; history.operations.len()];
    for (_, op) in by_return {
        doubles[op as usize] = last.insert(kinds[op as usize], op);
    }
    doubles
}

/// How many configurations [`around`] gives at most: enough for the analysis's
/// ten configurations and final paths, and few enough that a set's or a kv
/// string's states, copied at each step, stay cheap.
const AROUND: usize = 64;

/// The configurations that reach the failing operation's completion from
/// `config` by linearizing operations still open there, `config` first; at most
/// [`AROUND`]. An open operation overlaps every other operation open there
/// and follows nothing linearized before it in real time, so any legal sequence of
/// them extends `config`. These are the search's configurations at that point
/// which extend the engine's (the search may find more, through other orders of
/// earlier operations).
fn around<M: Model + ?Sized>(
    history: &History,
    memo: &mut Memo<'_, M>,
    config: Config,
    failing: usize,
) -> Vec<Config> {
    let at = history.operations[failing].complete.expect("an :ok operation");
    let open: Vec<usize> = (0..history.operations.len())
        .filter(|&o| {
            let operation = &history.operations[o];
            o != failing && operation.invoke < at && operation.complete.is_none_or(|c| c > at)
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    seen.insert((config.state, config.linearized.clone()));
    let mut configs = vec![config];
    let mut next = 0;
    while next < configs.len() && configs.len() < AROUND {
        for &o in &open {
            let c = &configs[next];
            if c.is_linearized(o) || configs.len() >= AROUND {
                continue;
            }
            let Some(state) = memo.step(c.state, memo.kind(o)) else { continue };
            let mut linearized = c.linearized.clone();
            linearized[o / 64] |= 1 << (o % 64);
            if seen.insert((state, linearized.clone())) {
                configs.push(Config { state, linearized, last: Some(o) });
            }
        }
        next += 1;
    }
    configs
}
