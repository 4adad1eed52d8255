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
//! 2. when a return leaves more than a threshold of configurations (it
//!    *widens*), every operation then live: linearized once between its invocation
//!    and its return is one of the reusable operation's options.
//!
//! Each only adds options, so every legal order of the history is a legal order of
//! the relaxation, and a relaxation without one proves the history invalid. The
//! engine is the [linear](super::linear) one on the relaxation. A reusable
//! operation stays available once used, so a configuration needs no record of
//! those it used: configurations are a state and the required operations
//! linearized, two reusable operations of one kind are one, and after widening
//! the configurations are as many as the states. The rules of the [search
//! module](super#crashed-operations) still hold (their proofs leave out
//! occurrences of an operation that has no return to meet, which a reusable
//! operation's are): a reusable operation is linearized only just before an
//! operation that observes it, and never to no effect.
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
//! engine widens above [`WIDEN`] configurations in turn, each stage within a
//! share of the time left, and stops at the first proof, or at a stage that did
//! not widen (the later ones would search the same). The last stage never widens:
//! only crashed operations are reusable there, and it is run only if there are any
//! (otherwise it is the linear engine itself).
//!
//! An anomaly among operations that overlap few others is proven at once. An
//! anomaly that only the order of many overlapping operations shows is out of
//! reach of every stage but the last, which then is as hard as the history.

use super::competition::Decision;
use super::{around, linear, wgl, Budget, Outcome};
use crate::history::History;
use crate::model::memo::Memo;
use crate::model::Model;
use std::time::{Duration, Instant};

/// The widening thresholds of the stages, last (never) included.
const WIDEN: [usize; 5] = [1, 16, 256, 4096, usize::MAX];

/// The share of the time left that a stage before the last may take.
const STAGE_SHARE: u32 = 4;

/// Without a deadline, how long a stage before the last may take.
const STAGE_TIME: Duration = Duration::from_secs(10);

/// The history proven invalid, with its failing operation and a configuration
/// that reaches it (as the analysis takes them); `None` if no stage proved it
/// within the budget.
pub(super) fn search<'m, M: Model + ?Sized>(
    history: &History,
    model: &'m M,
    by_key: bool,
    budget: &Budget,
) -> Option<Decision<'m, M>> {
    let crashed = history.operations.iter().any(|o| o.complete.is_none());
    for widen_above in WIDEN {
        let last = widen_above == usize::MAX;
        if last && !crashed {
            return None;
        }
        let now = Instant::now();
        let stage = budget.until(match (last, budget.deadline()) {
            (true, _) => None,
            (false, Some(d)) => Some(now + d.saturating_duration_since(now) / STAGE_SHARE),
            (false, None) => Some(now + STAGE_TIME),
        });
        let mut memo = Memo::new(model, history, by_key);
        let (outcome, widened) = linear::relaxed(history, &mut memo, &stage, widen_above);
        memo.free();
        if std::env::var_os("KNOSSOS_DEBUG").is_some() {
            eprintln!("refute stage {widen_above}: {:?} widened {widened} in {:?}", matches!(outcome, Outcome::Invalid{..}), now.elapsed());
        }
        match outcome {
            Outcome::Invalid { op, .. } => { if std::env::var_os("KNOSSOS_DEBUG").is_some() { eprintln!("relaxed fails at op {op} ret {:?}", history.operations[op].complete); } return confirm(history, model, by_key, budget, op) },
            Outcome::Valid { .. } if !widened => return None,
            _ if budget.check(0, 0).is_some() => return None,
            _ => {}
        }
    }
    None
}

/// WGL's search to the return of `fails`, which the relaxation showed no order
/// gets past.
fn confirm<'m, M: Model + ?Sized>(
    history: &History,
    model: &'m M,
    by_key: bool,
    budget: &Budget,
    fails: usize,
) -> Option<Decision<'m, M>> {
    let mut memo = Memo::new(model, history, by_key);
    let outcome = match wgl::reach(history, &mut memo, budget, fails) {
        Outcome::Invalid { op, mut configs } if op == fails && configs.len() == 1 => {
            let config = configs.pop().expect("one");
            Outcome::Invalid { op, configs: around(history, &mut memo, config, op) }
        }
        outcome @ Outcome::Invalid { .. } => outcome,
        _ => return None,
    };
    Some(Decision { outcome, analyzer: "refute", memo })
}
