//! Proving a history invalid by searching a looser one.
//!
//! An invalid history with many clients, or with crashed operations, can be out
//! of reach of both searches: to show that no order gets past the failing
//! operation they must exhaust every order before it, and each crashed operation
//! (pending for ever) and each overlapping one multiplies those. This engine
//! proves invalidity without exhausting them. It searches a *relaxation* of the
//! history: a problem that every legal order of the history also solves, but whose
//! configurations are few. If the relaxation has no solution, neither has the
//! history.
//!
//! # The relaxation
//!
//! Say an operation is *required* if it must be linearized exactly once, between
//! its invocation and its return (an `:ok` one), and *reusable* if it may be
//! linearized any number of times, none included, each after its invocation. The
//! relaxation makes reusable:
//!
//! 1. every crashed operation: in the history it takes effect once or never,
//!    both among "any number of times";
//! 2. before a return whose search may cost more than a threshold (its
//!    configurations times the subsets of the other live `:ok` operations), every
//!    other live operation: the engine *widens* there. Linearized once between its
//!    invocation and its return is one of a reusable operation's options.
//!
//! Each only adds options, so every legal order of the history is a legal order of
//! the relaxation, and a relaxation without one proves the history invalid.
//!
//! The engine is the [linear](super::linear) one on the relaxation. A reusable
//! operation stays available once used, so configurations need no record of those
//! used: they are a state and the required operations linearized (after widening,
//! as many as the states), and one reusable operation of each kind stands for all
//! of that kind. The rules of the [search module](super#crashed-operations) hold
//! as they do for crashed operations (their proofs leave out steps of operations
//! without a return to meet): a reusable step is taken only just before a step
//! that observes it, and never to no effect. On a model of unbounded states (a
//! queue that reusable enqueues grow for ever) the relaxation's configurations
//! need not be finite: each stage's work and memory are bounded (below).
//!
//! # The failing operation
//!
//! The relaxed search fails at the return of some `:ok` operation F: no order
//! linearizes every operation returned by then. The history's own failing
//! operation, the first return no configuration of the searches gets past, is F or
//! an earlier one. [WGL](super::wgl) then searches the history itself and stops at
//! the first configuration that reaches F's return (with every `:ok` operation
//! returned before it linearized): that configuration gets past every earlier
//! return, so F is the history's failing operation, and the configuration is one
//! of those the analysis shows. WGL goes depth first and gets there about as soon
//! as it finds any order, in milliseconds where exhausting the orders takes
//! longer than anyone waits. (Should it exhaust them first, its own failing
//! operation is as exact.)
//!
//! # Stages
//!
//! The less the relaxation loosens, the more it proves and the more it costs. The
//! engine widens above each of [`WIDEN`] in turn, each stage with work and memory
//! in proportion to the history ([`STAGE_STEPS_PER_OP`], [`STAGE_BYTES_PER_OP`]).
//! It stops at the first proof, after a stage that never widened (the later ones
//! would search the same relaxation), or after one that ran out of work (the later
//! ones would take more). Bounded by work and memory rather than time, what the
//! stages find does not depend on the machine's speed, unless the command's own
//! limits end them first.
//!
//! An anomaly among operations that overlap few others is proven at the first
//! stage, in milliseconds: a stale read among 100 clients and 100 crashed
//! operations in 5 000, which the searches do not decide in a minute. An anomaly
//! that only the order of many overlapping operations shows is out of reach of
//! every stage; the searches go on racing for it.

use super::budget::CHECK_EVERY;
use super::competition::Decision;
#[cfg(doc)]
use super::unique::Decline;
use super::wgl::Order;
use super::{around, linear, wgl, Budget, Outcome};
use crate::history::History;
use crate::model::memo::Memo;
use crate::model::Model;

/// The stages' widening thresholds.
const WIDEN: [usize; 4] = [1, 16, 256, 4096];

/// How much work a stage may do: this many steps of the search per operation
/// (far more than a stage that proves anything needs), and [`STAGE_BASE`] steps.
const STAGE_STEPS_PER_OP: usize = 64;

/// The steps a stage may take besides those per operation.
const STAGE_BASE: usize = 1 << 10;

/// How much memory a stage may hold: this much per operation, and
/// [`STAGE_BASE_BYTES`]. A step's cost grows with the states it steps, which on a
/// model of unbounded states (a queue, a kv string) the relaxation can grow fast.
const STAGE_BYTES_PER_OP: usize = 4 << 10;

/// The memory a stage may hold besides that per operation.
const STAGE_BASE_BYTES: usize = 8 << 20;

/// The history proven invalid, with its failing operation and a configuration
/// that reaches it (as the analysis takes them); `None` if no stage proved it
/// within the budget.
pub(crate) fn search<'m, M: Model + ?Sized>(
    history: &History,
    model: &'m M,
    by_key: bool,
    budget: &Budget,
) -> Option<Decision<'m, M>> {
    let n = history.operations.len();
    let (steps, bytes) = (STAGE_BASE + STAGE_STEPS_PER_OP * n, STAGE_BASE_BYTES + STAGE_BYTES_PER_OP * n);
    for widen_above in WIDEN {
        let mut memo = Memo::new(model, history, by_key);
        let stage = budget.stage(steps / CHECK_EVERY as usize, bytes);
        let (outcome, widened) = linear::relaxed(history, &mut memo, &stage, widen_above);
        memo.free(budget);
        match outcome {
            Outcome::Invalid { op, .. } => return confirm(history, model, by_key, budget, op, None),
            // Too loose: a tighter relaxation may prove it, unless it would be the same.
            Outcome::Valid { .. } if widened => {}
            // Out of work (the later stages would take more), or the same relaxation.
            _ => return None,
        }
    }
    None
}

/// WGL's search to the return of `fails`, which the relaxation showed no order
/// gets past (or the unique-value engine did: [`Decline::fails_by`]).
///
/// How soon WGL gets there depends on which calls it tries first: in list order it
/// got there in 0.5 s on a 100-client history whose operations take effect inside
/// their intervals, where returns first had not after 20 s; returns first gets there
/// at once on histories whose operations take effect as they complete, where list
/// order did not in 10 s. So the two take turns, each with a cap on its work that
/// grows fourfold a round, until one gets there or the budget ends: at most a few
/// times the work of the quicker one. With `most`, no round's cap is past it (in
/// budget checks): the work, and so whether it gets there, is the same on every run.
pub(super) fn confirm<'m, M: Model + ?Sized>(
    history: &History,
    model: &'m M,
    by_key: bool,
    budget: &Budget,
    fails: usize,
    most: Option<usize>,
) -> Option<Decision<'m, M>> {
    let mut memo = Memo::new(model, history, by_key);
    let mut checks = CONFIRM_CHECKS;
    while most.is_none_or(|most| checks <= most) {
        for order in [Order::Calls, Order::Returns] {
            let outcome =
                match wgl::reach(history, &mut memo, &budget.stage(checks, usize::MAX), fails, order) {
                    Outcome::Invalid { op, mut configs } if op == fails && configs.len() == 1 => {
                        let config = configs.pop().expect("one");
                        Outcome::Invalid { op, configs: around(history, &mut memo, config, op) }
                    }
                    outcome @ Outcome::Invalid { .. } => outcome,
                    // Out of its cap, not of the budget's time or memory: the other order's turn.
                    Outcome::Unknown { .. } if budget.check(0, 0).is_none() => continue,
                    _ => return None,
                };
            return Some(Decision { outcome, analyzer: "refute", memo });
        }
        checks = checks.saturating_mul(4);
    }
    None
}

/// The first round's cap on each of [`confirm`]'s searches, in budget checks (of
/// [`CHECK_EVERY`] steps each).
const CONFIRM_CHECKS: usize = 64;
