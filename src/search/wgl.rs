//! Wing & Gong's search with Lowe's configuration cache.
//!
//! The history becomes a list of entries, a call and (for `:ok` operations) a
//! return per operation, in history order. The search walks the list from the
//! front: at a call it tries to linearize the operation now (a legal model step
//! leading to a configuration not seen before), lifts the call and its return out
//! of the list, and starts again from the front; at a return it has met an
//! operation that had to be linearized already, so it backtracks, putting the last
//! lifted operation back. Indeterminate operations have no return: nothing forces
//! them in, and the search succeeds once every `:ok` operation is linearized.
//!
//! Cost per step is kept constant: the list is arrays of indices (lifting and
//! putting back are O(1) and allocation-free), model steps are cached
//! ([`Memo`]), and the linearized set's hash is updated by one XOR per lift
//! (Zobrist hashing) rather than recomputed.
//!
//! Crashed operations follow the rules of [the search
//! module](super#crashed-operations): twins in order, and each just before an
//! operation that observes it. A configuration reached just after a crashed
//! operation waits for its observer, and is cached with the state before the
//! crashed operation, to test the observer by. The cache compares the crashed
//! operations of configurations by inclusion ([dominance](super#crashed-operations)): using fewer
//! of them is never worse. Of two identical `:ok` calls, the one that returns later
//! waits for the other ([identical operations](super#identical-operations)).
//!
//! At a configuration met for the first time, one call is tried before the others: a
//! legal read ([reads first](super#reads-first)), else the call of the operation whose
//! return comes first in the list ([`Order::Returns`]; [`reach`] may ask for list
//! order instead). That choice alone linearizes operations in the
//! order of their returns, which explains, without a step back, a history whose
//! operations take effect as they complete: with 100 clients, such a history has
//! hundreds of calls open at once, and the calls tried in list order (by invocation)
//! were a search of every interleaving before it. The order of the tries changes
//! nothing else: each configuration is still tried once, and every call at each.
//!
//! # Unobserved states
//!
//! On a history of one object whose writes overwrite it (a register's writes, kv's
//! puts: [`Model::overwrites`]), the cache takes two configurations with the same
//! operations linearized as one when no operation will observe either state
//! ([`Model::may_observe`]). Which operations might: let `R` be the first return
//! listed of an overwrite (the earliest return of the `:ok` overwrites not
//! linearized), and K the operations whose calls are listed before it, but
//! overwrites. A state is *blind* when no operation of K may observe it.
//!
//! Proof that two configurations with the same operations linearized and blind
//! states have the same legal continuations. In any continuation, the overwrite
//! returning at `R` comes before every operation invoked after `R`; so the
//! operations before the continuation's first overwrite all belong to K. By the
//! contract of [`Model::may_observe`], each of them is legal from one blind state
//! exactly when it is from the other, and leads to blind states again; from the
//! first overwrite on, both continuations step through the same states. Waiting
//! configurations (after a crashed operation) are left as they are.
//!
//! So the cache holds a blind configuration under one state for all: a search that
//! failed from one fails from the other, and the search's rules (twins, doubles,
//! reads first: each exact for a configuration) change nothing. Dominance still
//! holds: with fewer crashed operations linearized, K is larger and blindness
//! harder, so a blind configuration is blind for every configuration it dominates
//! (K depends on the operations linearized, not on the state). Kv's appends are
//! what this is for: twenty clients appending a few values make strings in
//! countless orders, most of which the next put overwrites unread. On a
//! 2 000-operation kv history of one key and twenty clients, WGL went from
//! undecided after 20 s, at operation 51, to valid in 0.56 s.
//!
//! The operation that could not be linearized is the one whose return lies
//! furthest along the history among all returns the search ran into: every `:ok`
//! before it was linearized in some configuration, and no configuration got past
//! it. That is Knossos's `:op`.

use super::budget::{drop_in_background, Budget, CHECK_EVERY};
use super::cache::ConfigCache;
use super::{Config, Outcome, MAX_CONFIGS};
use crate::history::History;
use crate::model::memo::{KindId, Memo, StateId};
use crate::model::Model;

const HEAD: u32 = 0;
/// The state a configuration is cached with when no operation will observe its own
/// (see [unobserved states](self#unobserved-states)); no state's id.
const BLIND: StateId = u32::MAX - 2;
/// Marks a call without a return (an indeterminate operation).
const NONE: u32 = u32::MAX;

/// The doubly linked entry list, as arrays. Node 0 is the head, the last node the tail.
struct Entries {
    next: Vec<u32>,
    prev: Vec<u32>,
    /// The operation of each node.
    op: Vec<u32>,
    /// For a call node, its return node (or NONE); for a return node, NONE.
    ret: Vec<u32>,
    /// For a return node, its call node; for a call node, NONE.
    call: Vec<u32>,
    is_call: Vec<bool>,
}

impl Entries {
    fn new(history: &History) -> Entries {
        let mut events: Vec<(usize, u32, bool)> = Vec::with_capacity(2 * history.operations.len());
        for (id, o) in history.operations.iter().enumerate() {
            events.push((o.invoke, id as u32, true));
            if let Some(c) = o.complete {
                events.push((c, id as u32, false));
            }
        }
        events.sort_unstable_by_key(|e| e.0);
        let n = events.len() + 2;
        let mut e = Entries {
            next: (1..=n as u32).collect(),
            prev: (0..n as u32).map(|i| i.wrapping_sub(1)).collect(),
            op: vec![NONE; n],
            ret: vec![NONE; n],
            call: vec![NONE; n],
            is_call: vec![false; n],
        };
        let mut call_node = vec![NONE; history.operations.len()];
        for (i, &(_, op, call)) in events.iter().enumerate() {
            let node = i as u32 + 1;
            e.op[node as usize] = op;
            e.is_call[node as usize] = call;
            if call {
                call_node[op as usize] = node;
            } else {
                e.ret[call_node[op as usize] as usize] = node;
                e.call[node as usize] = call_node[op as usize];
            }
        }
        e
    }

    fn unlink(&mut self, x: u32) {
        let (p, n) = (self.prev[x as usize], self.next[x as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
    }

    fn relink(&mut self, x: u32) {
        let (p, n) = (self.prev[x as usize], self.next[x as usize]);
        self.next[p as usize] = x;
        self.prev[n as usize] = x;
    }

    /// The history position of the first return listed (or past the end): no
    /// operation still listed returns before it, and those invoked before it may go
    /// next.
    fn frontier(&self, history: &History) -> usize {
        let mut entry = self.next[HEAD as usize];
        while self.is_call[entry as usize] {
            entry = self.next[entry as usize];
        }
        match self.op[entry as usize] {
            NONE => usize::MAX,
            op => history.operations[op as usize].complete.unwrap_or(usize::MAX),
        }
    }

    /// The call of the operation whose return is the first one listed.
    fn first_return_call(&self) -> Option<u32> {
        let mut entry = self.next[HEAD as usize];
        while self.is_call[entry as usize] {
            entry = self.next[entry as usize];
        }
        Some(self.call[entry as usize]).filter(|&call| call != NONE)
    }

    /// Removes a call and its return.
    fn lift(&mut self, call: u32) {
        self.unlink(call);
        let ret = self.ret[call as usize];
        if ret != NONE {
            self.unlink(ret);
        }
    }

    /// Puts back what `lift` removed, in reverse order.
    fn unlift(&mut self, call: u32) {
        let ret = self.ret[call as usize];
        if ret != NONE {
            self.relink(ret);
        }
        self.relink(call);
    }
}

/// A random-looking word per operation for Zobrist hashing (splitmix64's mixer:
/// fixed, so runs are reproducible).
fn zobrist(i: u64) -> u64 {
    let mut z = i.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Decides whether the history is linearizable, within the budget; with
/// `witness`, a valid outcome carries the order found (the calls on the stack).
pub fn search<M: Model + ?Sized>(
    history: &History,
    memo: &mut Memo<'_, M>,
    budget: &Budget,
    witness: bool,
) -> Outcome {
    with_cache(history, memo, budget, Aim { witness, fails: None, order: Order::Returns })
}

/// What a search is after: an order (kept if `witness`), or the first configuration
/// to reach the return of `fails`; and which call it tries first.
#[derive(Clone, Copy)]
struct Aim {
    witness: bool,
    fails: Option<usize>,
    order: Order,
}

/// Which call a configuration met for the first time tries first, after a legal read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Order {
    /// None: the calls in list order, by invocation.
    Calls,
    /// The call of the first return listed.
    Returns,
}

/// The search, known (from [`refute`](super::refute)) to fail at the `:ok`
/// operation `fails` or before: it stops at the first configuration that reaches
/// `fails`'s return, which is then the failing operation, with that configuration.
/// Far quicker than exhausting every order before it, and as exact: no
/// configuration gets past that return, and this one gets as far.
pub(super) fn reach<M: Model + ?Sized>(
    history: &History,
    memo: &mut Memo<'_, M>,
    budget: &Budget,
    fails: usize,
    order: Order,
) -> Outcome {
    with_cache(history, memo, budget, Aim { witness: false, fails: Some(fails), order })
}

fn with_cache<M: Model + ?Sized>(
    history: &History,
    memo: &mut Memo<'_, M>,
    budget: &Budget,
    aim: Aim,
) -> Outcome {
    // What the search held at its last check, and the memo's part of it.
    let mut held = (0, 0);
    let crashed = history.operations.iter().filter(|o| o.complete.is_none()).count();
    let mut cache = ConfigCache::new(history.operations.len(), crashed);
    let outcome = run(history, memo, budget, &mut cache, &mut held, aim);
    let bytes = cache.peak_bytes(0);
    memo.keep_counted(budget, held.1);
    drop_in_background(cache, bytes, budget, held.0 - held.1);
    outcome
}

fn run<M: Model + ?Sized>(
    history: &History,
    memo: &mut Memo<'_, M>,
    budget: &Budget,
    cache: &mut ConfigCache,
    held: &mut (usize, usize),
    Aim { witness, fails, order }: Aim,
) -> Outcome {
    let n = history.operations.len();
    let kinds: Vec<KindId> = memo.kinds().to_vec();
    let zob: Vec<u64> = (0..n as u64).map(zobrist).collect();
    let twins = super::twins(history, &kinds);
    let doubles = super::doubles(history, &kinds);
    let blind = memo.has_overwrites();
    // The state before the crashed operation just linearized, whose observer comes next.
    let mut waiting: Option<StateId> = None;
    let mut ok_left = history.operations.iter().filter(|o| o.complete.is_some()).count();
    if ok_left == 0 {
        return Outcome::Valid { linearization: witness.then(Vec::new) };
    }
    let mut entries = Entries::new(history);
    let mut lin = Linearized::new(history);
    let mut hash = 0u64;
    let mut state: StateId = memo.init();
    // The calls lifted so far, with the state before each, and how each was chosen.
    let mut stack: Vec<(u32, StateId, Option<StateId>, Tried)> = Vec::new();
    // Whether the configuration is met for the first time: one call is tried first.
    let mut fresh = true;
    // The furthest return met, and the configurations that met it.
    let mut furthest = 0u32;
    let mut configs: Vec<Config> = Vec::new();
    let mut entry = entries.next[HEAD as usize];
    let mut ticks = 0u32;
    // The entries' frontier, once asked for, until they change.
    let mut frontier: Option<usize> = None;

    loop {
        ticks = ticks.wrapping_add(1);
        if ticks % CHECK_EVERY == 0 {
            let memo_bytes = memo.uncounted();
            let holds =
                cache.peak_bytes(CHECK_EVERY as usize) + memo_bytes + configs.len() * 8 * lin.ok.len();
            let stop = budget.check(held.0, holds);
            *held = (holds, memo_bytes);
            if let Some(cause) = stop {
                let furthest = (furthest != HEAD).then(|| entries.op[furthest as usize] as usize);
                return Outcome::Unknown { cause, furthest };
            }
        }
        // Reads first: a legal read among the calls that may go next is the only one
        // tried; else the call of the first return is tried first.
        let mut tried = Tried::InOrder;
        if fresh {
            fresh = false;
            if let Some(read) = legal_read(&entries, memo, &kinds, state, waiting) {
                (entry, tried) = (read, Tried::ReadOnly);
            } else if order == Order::Returns {
                if let Some(call) = entries.first_return_call().filter(|&call| call != entry) {
                    (entry, tried) = (call, Tried::ReturnFirst);
                }
            }
        }
        let op = entries.op[entry as usize] as usize;
        let mut dead;
        if entries.is_call[entry as usize] {
            let crashed = entries.ret[entry as usize] == NONE;
            if twins[op].is_some_and(|t| !lin.contains(t as usize)) {
                // An identical, earlier crashed operation is still unlinearized: it goes first.
            } else if tried != Tried::ReadOnly
                && waits_for_double(history, &entries, &doubles, &lin, op, &mut frontier)
            {
                // A double, still unlinearized, goes first (but a legal read taken
                // first is the only one tried, whichever of its doubles it is).
            } else if crashed && memo.never_helps(kinds[op]) {
                // Never needed (rule 4).
            } else if let Some(next) = memo.step(state, kinds[op]) {
                let observes = waiting.is_none_or(|before| memo.step(before, kinds[op]) != Some(next));
                let wait = crashed.then_some(state);
                let next_hash = if crashed { hash } else { hash ^ zob[op] };
                lin.insert(op);
                let useful = !(crashed && next == state) && observes;
                let seen_as = match wait {
                    None if blind && unobserved(&entries, memo, &kinds, next, op) => BLIND,
                    _ => next,
                };
                if useful && cache.insert(next_hash, &lin.ok, seen_as, wait, &lin.crashed) {
                    stack.push((entry, state, waiting, tried));
                    waiting = wait;
                    state = next;
                    hash = next_hash;
                    entries.lift(entry);
                    frontier = None;
                    if entries.ret[entry as usize] != NONE {
                        ok_left -= 1;
                        if ok_left == 0 {
                            let order = || stack.iter().map(|&(call, ..)| entries.op[call as usize] as usize);
                            return Outcome::Valid { linearization: witness.then(|| order().collect()) };
                        }
                    }
                    entry = entries.next[HEAD as usize];
                    fresh = true;
                    continue;
                }
                lin.remove(op);
            }
            // A read taken first that leads nowhere new: nothing else is to be tried here.
            dead = tried == Tried::ReadOnly;
            entry = tried.after(&entries, entry);
        } else {
            // A return whose operation is not linearized: a dead end.
            if entry > furthest {
                furthest = entry;
                configs.clear();
            }
            if entry == furthest && configs.len() < MAX_CONFIGS {
                let last = stack.last().map(|&(call, ..)| entries.op[call as usize] as usize);
                configs.push(Config { state, linearized: lin.all(), last });
            }
            if fails == Some(op) {
                return Outcome::Invalid { op, configs };
            }
            dead = true;
        }
        // Back to the last call whose alternatives are still to be tried.
        while dead {
            let Some((call, before, waited, tried)) = stack.pop() else {
                let op = entries.op[furthest as usize] as usize;
                return Outcome::Invalid { op, configs };
            };
            let lifted = entries.op[call as usize] as usize;
            state = before;
            waiting = waited;
            if entries.ret[call as usize] != NONE {
                hash ^= zob[lifted];
            }
            lin.remove(lifted);
            entries.unlift(call);
            frontier = None;
            if entries.ret[call as usize] != NONE {
                ok_left += 1;
            }
            entry = tried.after(&entries, call);
            dead = tried == Tried::ReadOnly;
        }
    }
}

/// How a call was chosen to be tried, which says what is tried after it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tried {
    /// In list order: the calls after it.
    InOrder,
    /// A legal read, the only call tried at its configuration: none.
    ReadOnly,
    /// The call of the first return, out of order: every call, from the front.
    ReturnFirst,
}

impl Tried {
    /// The entry to try after `call`, chosen so, when it leads nowhere (new).
    fn after(self, entries: &Entries, call: u32) -> u32 {
        match self {
            Tried::ReturnFirst => entries.next[HEAD as usize],
            Tried::InOrder | Tried::ReadOnly => entries.next[call as usize],
        }
    }
}

/// The first call that may go next (before the first return still listed) whose
/// operation is an `:ok` read legal in `state` (see [reads first](super#reads-first)).
fn legal_read<M: Model + ?Sized>(
    entries: &Entries,
    memo: &mut Memo<'_, M>,
    kinds: &[KindId],
    state: StateId,
    waiting: Option<StateId>,
) -> Option<u32> {
    if !memo.has_reads() {
        return None;
    }
    let mut entry = entries.next[HEAD as usize];
    while entry != NONE && entries.is_call[entry as usize] {
        let kind = kinds[entries.op[entry as usize] as usize];
        if entries.ret[entry as usize] != NONE
            && memo.is_read(kind)
            && memo.step(state, kind) == Some(state)
            && waiting.is_none_or(|before| memo.step(before, kind) != Some(state))
        {
            return Some(entry);
        }
        entry = entries.next[entry as usize];
    }
    None
}

/// Whether `:ok` operation `op` waits for one of its doubles (see [identical
/// operations](super#identical-operations)): an operation of its chain of doubles
/// that may go next and is not linearized. Along the chain, returns go back in time;
/// one that returns before the `frontier` (asked of `entries` once per change) is
/// linearized, as are those before it.
fn waits_for_double(
    history: &History,
    entries: &Entries,
    doubles: &[Option<u32>],
    lin: &Linearized,
    op: usize,
    frontier: &mut Option<usize>,
) -> bool {
    let Some(first) = doubles[op] else { return false };
    let frontier = *frontier.get_or_insert_with(|| entries.frontier(history));
    let mut double = Some(first);
    while let Some(a) = double.map(|a| a as usize) {
        let operation = &history.operations[a];
        if operation.complete.is_none_or(|c| c < frontier) {
            return false;
        }
        if operation.invoke < frontier && !lin.contains(a) {
            return true;
        }
        double = doubles[a];
    }
    false
}

/// Whether no operation that may go before the next overwrite might observe
/// `state` (see [unobserved states](self#unobserved-states)): none of the calls
/// listed before the first return of an overwrite, but `op`'s, just linearized and
/// still listed.
fn unobserved<M: Model + ?Sized>(
    entries: &Entries,
    memo: &mut Memo<'_, M>,
    kinds: &[KindId],
    state: StateId,
    op: usize,
) -> bool {
    let mut entry = entries.next[HEAD as usize];
    loop {
        let other = entries.op[entry as usize];
        if other == NONE {
            return true;
        }
        let kind = kinds[other as usize];
        if other as usize != op {
            if !entries.is_call[entry as usize] {
                if memo.overwrites(kind) {
                    return true;
                }
            } else if !memo.overwrites(kind) && memo.may_observe(state, kind) {
                return false;
            }
        }
        entry = entries.next[entry as usize];
    }
}

/// The operations linearized: the `:ok` ones by operation index, the crashed ones
/// by their rank among crashed operations, as the cache compares them.
struct Linearized {
    ok: Vec<u64>,
    crashed: Vec<u64>,
    /// Each crashed operation's rank, `NONE` for the others.
    rank: Vec<u32>,
    /// The crashed operations, by rank.
    by_rank: Vec<u32>,
}

impl Linearized {
    fn new(history: &History) -> Linearized {
        let by_rank: Vec<u32> = (0..history.operations.len() as u32)
            .filter(|&op| history.operations[op as usize].complete.is_none())
            .collect();
        let mut rank = vec![NONE; history.operations.len()];
        for (r, &op) in by_rank.iter().enumerate() {
            rank[op as usize] = r as u32;
        }
        Linearized {
            ok: vec![0; history.operations.len().div_ceil(64)],
            crashed: vec![0; by_rank.len().div_ceil(64)],
            rank,
            by_rank,
        }
    }

    /// The word and bit that stand for `op`.
    #[inline]
    fn slot(&mut self, op: usize) -> (&mut u64, u64) {
        match self.rank[op] {
            NONE => (&mut self.ok[op / 64], 1 << (op % 64)),
            r => (&mut self.crashed[r as usize / 64], 1 << (r % 64)),
        }
    }

    #[inline]
    fn insert(&mut self, op: usize) {
        let (word, bit) = self.slot(op);
        *word |= bit;
    }

    #[inline]
    fn remove(&mut self, op: usize) {
        let (word, bit) = self.slot(op);
        *word &= !bit;
    }

    #[inline]
    fn contains(&self, op: usize) -> bool {
        match self.rank[op] {
            NONE => self.ok[op / 64] & (1 << (op % 64)) != 0,
            r => self.crashed[r as usize / 64] & (1 << (r % 64)) != 0,
        }
    }

    /// Every operation linearized, by operation index.
    fn all(&self) -> Vec<u64> {
        let mut all = self.ok.clone();
        for (w, &word) in self.crashed.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let op = self.by_rank[w * 64 + bits.trailing_zeros() as usize];
                all[op as usize / 64] |= 1 << (op % 64);
                bits &= bits - 1;
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{generate, Spec};
    use crate::read::{Format, RawOp};

    /// 100 clients whose operations take effect as they complete: a hundred calls are
    /// open at once, and the order of returns, tried first, explains the history
    /// without a step back. Work, not time, is capped here: four steps an operation.
    /// (Tried in list order, the calls were not linearized within 10 s.)
    #[test]
    fn operations_that_take_effect_as_they_complete_go_in_order_of_returns() {
        let spec =
            Spec { model: "cas-register".into(), ops: 5_000, processes: 100, seed: 1, ..Spec::default() };
        let mut edn = Vec::new();
        generate(&spec, Format::Edn, &mut edn).unwrap();
        let model = crate::model::builtin(&spec.model, &Default::default()).unwrap();
        let history = History::complete(RawOp::read(&edn, "generated.edn", None).unwrap(), &model).unwrap();
        let mut memo = Memo::new(&model, &history, false);
        let checks = 4 * history.operations.len() / CHECK_EVERY as usize;
        let outcome = search(&history, &mut memo, &Budget::new(None, usize::MAX, None).capped(checks), true);
        let Outcome::Valid { linearization: Some(order) } = outcome else { panic!("{outcome:?}") };
        let ok = |&&op: &&usize| history.operations[op].complete.is_some();
        assert_eq!(
            order.iter().filter(ok).count(),
            history.operations.iter().filter(|o| o.complete.is_some()).count()
        );
    }

    /// Twenty clients write 1 at once, and a read of 2, a value never written,
    /// overlaps them all: invalid, and the search must exhaust every configuration
    /// to say so. Without doubles those are the 2²⁰ subsets of the writes; with
    /// them, 21 (the writes linearized in order of return), whether the writes
    /// return in the order they were invoked or the other way round (each interval
    /// inside the ones invoked before it). Work is capped here at 128 steps an
    /// operation.
    #[test]
    fn identical_writes_are_linearized_in_order_of_return() {
        let n = 20;
        for nested in [false, true] {
            let mut edn = String::new();
            for p in 0..n {
                edn += &format!("{{:process {p}, :type :invoke, :f :write, :value 1}}\n");
            }
            edn += &format!("{{:process {n}, :type :invoke, :f :read, :value nil}}\n");
            for p in 0..n {
                let p = if nested { n - 1 - p } else { p };
                edn += &format!("{{:process {p}, :type :ok, :f :write, :value 1}}\n");
            }
            edn += &format!("{{:process {n}, :type :ok, :f :read, :value 2}}\n");
            let model = crate::model::builtin("cas-register", &Default::default()).unwrap();
            let history =
                History::complete(RawOp::read(edn.as_bytes(), "writes.edn", None).unwrap(), &model).unwrap();
            let mut memo = Memo::new(&model, &history, false);
            let checks = 128 * history.operations.len() / CHECK_EVERY as usize;
            let budget = Budget::new(None, usize::MAX, None).capped(checks);
            let outcome = search(&history, &mut memo, &budget, false);
            let Outcome::Invalid { op, .. } = outcome else { panic!("nested {nested}: {outcome:?}") };
            assert_eq!(op, n, "the read fails");
        }
    }

    /// Twelve clients append twelve different letters to one kv key while a
    /// thirteenth puts "z"; then a get returns "zq", and no one appended "q":
    /// invalid, and the search must exhaust every configuration to say so. Before the
    /// put returns nothing may observe the strings the appends make, and after it
    /// nothing but "z": each blind state counts as one, so the configurations are
    /// about the subsets of the thirteen writes, where the strings' orders alone
    /// would be some 10⁹. Work is capped at 65 536 steps an operation.
    #[test]
    fn strings_no_one_reads_count_as_one() {
        let letters = "abcdefghijkl";
        let mut edn = String::new();
        let op = |p: usize, ty: &str, f: &str, v: &str| {
            format!("{{:process {p}, :type :{ty}, :f :{f}, :key \"k\", :value {v}}}\n")
        };
        for (p, l) in letters.chars().enumerate() {
            edn += &op(p, "invoke", "append", &format!("\"{l}\""));
        }
        edn += &op(12, "invoke", "put", "\"z\"");
        for (p, l) in letters.chars().enumerate() {
            edn += &op(p, "ok", "append", &format!("\"{l}\""));
        }
        edn += &op(12, "ok", "put", "\"z\"");
        edn += &op(13, "invoke", "get", "nil");
        edn += &op(13, "ok", "get", "\"zq\"");
        let model = crate::model::builtin("kv", &Default::default()).unwrap();
        let history =
            History::complete(RawOp::read(edn.as_bytes(), "appends.edn", None).unwrap(), &model).unwrap();
        let mut memo = Memo::new(&model, &history, false);
        let checks = (1 << 16) * history.operations.len() / CHECK_EVERY as usize;
        let outcome = search(&history, &mut memo, &Budget::new(None, usize::MAX, None).capped(checks), false);
        let Outcome::Invalid { op, .. } = outcome else { panic!("{outcome:?}") };
        assert_eq!(op, 13, "the get fails");
    }
}
