//! Deciding operations with real time ignored: whether some order of them is legal,
//! each `:ok` one exactly once and each optional one at most once.
//!
//! Without real time, operations of one kind (the same `:f` and value) are
//! interchangeable in any order, so the search is over how many of each kind are
//! left, not over which: a configuration is a state and two vectors of counts,
//! `:ok` and optional. That makes twins free (a mutex history of a hundred acquires
//! and releases has a few thousand configurations, where a search over operations
//! has 2¹⁰⁰), and is exact. Two more exact rules:
//!
//! - A read ([`Model::is_read`]: it leaves every state it is legal in as it is)
//!   that is legal in the state is taken at once, every `:ok` one of its kind, and
//!   no other order is tried: moved to the front of any legal continuation from
//!   that state, reads leave the continuation legal. (Not so a write of the value
//!   held: a continuation may need it after the state has changed.)
//! - An optional one that leaves the state as it is never helps, and is not taken.
//!
//! Before searching, the states reachable with every kind usable any number of times
//! are listed (within [`MAX_REACHABLE`] steps): they hold every state an order can reach,
//! so if the goal holds in none of them (a value read that nothing can write, or an
//! `:ok` kind legal nowhere), the answer is no without a search, which would
//! otherwise try every subset of operations that each write their own value.
//! With a state to reach, the search looks one step ahead first, so that an
//! explanation is as short as it can be found (the write of the value read).

use crate::model::memo::{KindId, Memo, StateId};
use crate::model::Model;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// At most this many counts (two per kind in each configuration) are remembered as
/// dead ends, some 32 MiB: past it, the search gives up (it is a check among many,
/// each given moments).
const MAX_DEAD: usize = 8 << 20;

/// At most this many steps are taken listing the reachable states; past it (a queue,
/// whose states grow without end), the search goes on without the list.
const MAX_REACHABLE: usize = 20_000;

/// What the search is for.
#[derive(Clone, Copy)]
pub(super) enum Goal {
    /// Every `:ok` operation taken.
    All,
    /// A state in which an operation of this kind is legal.
    Legal(KindId),
}

/// What the search found.
pub(super) enum Found {
    /// An order: the optional operations it took.
    Yes(Vec<usize>),
    No,
    /// It gave up (its deadline, its memory of dead ends, or the memo's size).
    Unknown,
}

/// Searches `required` (every one taken) and `optional` (any taken at most once)
/// operations, indices into the memo's history's operations, for `goal`, giving up
/// at `deadline` or once the memo holds more than `max_bytes` (states grow: a queue's
/// or kv's appends).
pub(super) fn decide<M: Model + ?Sized>(
    memo: &mut Memo<'_, M>,
    required: &[usize],
    optional: &[usize],
    goal: Goal,
    deadline: Instant,
    max_bytes: usize,
) -> Found {
    // Per kind met: how many `:ok` and optional operations, and the optional ones.
    let mut kinds: Vec<KindId> = Vec::new();
    let mut slots: HashMap<KindId, usize> = HashMap::new();
    let (mut need, mut may, mut of_kind) = (Vec::new(), Vec::new(), Vec::<Vec<usize>>::new());
    for (op, optional) in required.iter().map(|&op| (op, false)).chain(optional.iter().map(|&op| (op, true)))
    {
        let kind = memo.kind(op);
        let i = *slots.entry(kind).or_insert_with(|| {
            kinds.push(kind);
            need.push(0u32);
            may.push(0u32);
            of_kind.push(Vec::new());
            kinds.len() - 1
        });
        if optional {
            may[i] += 1;
            of_kind[i].push(op);
        } else {
            need[i] += 1;
        }
    }
    if unreachable(memo, &kinds, goal, &need, deadline, max_bytes) {
        return Found::No;
    }
    let mut search = Search {
        memo,
        kinds,
        need,
        may,
        goal,
        dead: HashSet::new(),
        path: Vec::new(),
        nodes: 0,
        deadline,
        max_bytes,
        gave_up: false,
    };
    let init = search.memo.init();
    if search.walk(init) {
        // The optional operations taken: any of each kind, as many as were taken.
        let mut taken = vec![0; of_kind.len()];
        let mut used: Vec<usize> = Vec::new();
        for &(i, optional) in &search.path {
            if optional {
                used.push(of_kind[i][taken[i]]);
                taken[i] += 1;
            }
        }
        used.sort_unstable();
        Found::Yes(used)
    } else if search.gave_up {
        Found::Unknown
    } else {
        Found::No
    }
}

/// Whether the goal holds in no state reachable with every kind usable any number
/// of times (then no order reaches it); `false` when that is not known in time.
fn unreachable<M: Model + ?Sized>(
    memo: &mut Memo<'_, M>,
    kinds: &[KindId],
    goal: Goal,
    need: &[u32],
    deadline: Instant,
    max_bytes: usize,
) -> bool {
    let mut seen: HashSet<StateId> = HashSet::from([memo.init()]);
    let mut todo = vec![memo.init()];
    let mut steps = 0;
    while let Some(state) = todo.pop() {
        steps += kinds.len();
        if steps > MAX_REACHABLE || Instant::now() >= deadline || memo.bytes() > max_bytes {
            return false;
        }
        for &kind in kinds {
            if let Some(next) = memo.step(state, kind) {
                if seen.insert(next) {
                    todo.push(next);
                }
            }
        }
    }
    match goal {
        Goal::Legal(target) => seen.iter().all(|&s| memo.step(s, target).is_none()),
        // An `:ok` kind illegal in every reachable state can never be taken.
        Goal::All => {
            (0..kinds.len()).any(|i| need[i] > 0 && seen.iter().all(|&s| memo.step(s, kinds[i]).is_none()))
        }
    }
}

struct Search<'s, 'm, M: Model + ?Sized> {
    memo: &'s mut Memo<'m, M>,
    kinds: Vec<KindId>,
    /// `:ok` operations left, per kind.
    need: Vec<u32>,
    /// Optional operations left, per kind.
    may: Vec<u32>,
    goal: Goal,
    /// Configurations from which the goal cannot be reached.
    dead: HashSet<(StateId, Vec<u32>, Vec<u32>)>,
    /// The kinds taken so far, and whether each was optional.
    path: Vec<(usize, bool)>,
    nodes: usize,
    deadline: Instant,
    max_bytes: usize,
    gave_up: bool,
}

impl<M: Model + ?Sized> Search<'_, '_, M> {
    /// Whether the goal can be reached from `state` with what is left.
    fn walk(&mut self, state: StateId) -> bool {
        let reached = match self.goal {
            Goal::All => self.need.iter().all(|&n| n == 0),
            Goal::Legal(kind) => self.memo.step(state, kind).is_some(),
        };
        if reached {
            return true;
        }
        self.nodes += 1;
        // A dead end holds its key (two vectors of counts) in the table.
        let dead_bytes = self.dead.len() * (8 * self.kinds.len() + 64);
        if self.nodes % 1024 == 0 && Instant::now() >= self.deadline
            || self.memo.bytes() + dead_bytes > self.max_bytes
            || self.dead.len() * 2 * self.kinds.len().max(1) >= MAX_DEAD
        {
            self.gave_up = true;
            return false;
        }
        let key = (state, self.need.clone(), self.may.clone());
        if self.dead.contains(&key) {
            return false;
        }
        // A state where the goal holds, one step away: the shortest explanation.
        if let Goal::Legal(target) = self.goal {
            for i in 0..self.kinds.len() {
                let next = (self.may[i] > 0).then(|| self.memo.step(state, self.kinds[i])).flatten();
                if next.is_some_and(|next| next != state && self.memo.step(next, target).is_some()) {
                    self.path.push((i, true));
                    return true;
                }
            }
        }
        // Every `:ok` read of a kind that is legal here, at once.
        if let Some(i) = (0..self.kinds.len()).find(|&i| {
            self.need[i] > 0
                && self.memo.is_read(self.kinds[i])
                && self.memo.step(state, self.kinds[i]).is_some()
        }) {
            let n = std::mem::take(&mut self.need[i]);
            self.path.extend(std::iter::repeat_n((i, false), n as usize));
            if self.walk(state) {
                return true;
            }
            self.path.truncate(self.path.len() - n as usize);
            self.need[i] = n;
        } else {
            for i in 0..self.kinds.len() {
                for optional in [false, true] {
                    let left = if optional { self.may[i] } else { self.need[i] };
                    let Some(next) = (left > 0).then(|| self.memo.step(state, self.kinds[i])).flatten()
                    else {
                        continue;
                    };
                    if optional && next == state {
                        continue;
                    }
                    self.take(i, optional, -1);
                    if self.walk(next) {
                        return true;
                    }
                    self.take(i, optional, 1);
                    if self.gave_up {
                        return false;
                    }
                }
            }
        }
        if !self.gave_up {
            self.dead.insert(key);
        }
        false
    }

    /// Takes (`-1`) an operation of kind `i`, or puts it back (`1`).
    fn take(&mut self, i: usize, optional: bool, by: i32) {
        let counts = if optional { &mut self.may } else { &mut self.need };
        counts[i] = counts[i].wrapping_add_signed(by);
        if by < 0 {
            self.path.push((i, optional));
        } else {
            self.path.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::builtin;
    use crate::{HistoryBuilder, Value};
    use std::time::Duration;

    /// Eight crashed enqueues and a dequeue of a value none of them enqueued. Each
    /// enqueue usable any number of times reaches ever larger queues, so listing the
    /// reachable states stops at its step cap, and the search proves the dequeue
    /// impossible; with no memory to grow the memo in, it gives up instead.
    #[test]
    fn gives_up_when_the_memo_outgrows_its_bytes() {
        let model = builtin("unordered-queue", &Default::default()).unwrap();
        let mut b = HistoryBuilder::new();
        for p in 0..8 {
            b.invoke(p, "enqueue", p).info(p);
        }
        b.invoke(99, "dequeue", Value::Nil).ok(99, 99);
        let history = b.build(&model).unwrap();
        let crashed: Vec<usize> = (0..8).collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        let decide_within = |max_bytes| {
            let mut memo = Memo::new(&model, &history, true);
            let goal = Goal::Legal(memo.kind(8));
            decide(&mut memo, &[], &crashed, goal, deadline, max_bytes)
        };
        assert!(matches!(decide_within(usize::MAX), Found::No));
        assert!(matches!(decide_within(0), Found::Unknown));
    }
}
