//! Running the engines: one alone, or the searches racing on their own threads,
//! after the unique-value engine where it applies.
//!
//! In a race the first *verdict* wins: the winner marks the shared [`Budget`] as
//! decided, which the loser sees at its next budget check and stops. An engine
//! that stops without a verdict (its memory ran out, say) does not end the race:
//! the other goes on alone, with the memory given back.
//!
//! Most histories are decided by WGL in microseconds, less than it takes to start
//! threads and stop the losers. So a race starts with a [`SPRINT`] of WGL alone
//! on the calling thread, and only a history still undecided after it is raced:
//! WGL, the linear engine, and [`refute`](super::refute), which can only prove a
//! history invalid, and gives up after a bounded amount of work.
//!
//! Where the unique-value engine gave up on a history it may yet find a
//! linearization of ([`unique::Decline`], kv's enumeration), a fourth thread has
//! it try harder beside them ([`unique::persist`]): it can only prove a history
//! valid, and stops when the race is decided. On two cores it slows the searches
//! it runs beside: WGL's win on a 20-client kv history of 2 000 operations took
//! 2.1 s and takes 2.6 s (hyperfine).
//!
//! Where the unique-value engine declines having proven that the history fails at
//! some operation or before ([`unique::Decline::fails_by`]), the verdict is in and
//! nothing races: [`pin`] looks for the first failing operation within a cap on
//! its work, and failing that, the outcome is the bound ([`Outcome::FailsBy`]).
//!
//! Which engine wins depends on timing, but the analysis must not: users diff
//! stored results. The verdict and the failing operation are the same whichever
//! wins (each engine finds the first `:ok` no configuration gets past), but the
//! configurations at the failure, and so the final paths, are each engine's own.
//! So an invalid verdict is always explained the linear engine's way: if WGL or
//! `refute` won, the linear engine reruns with its work (not its time) capped at
//! [`EXPLAIN_CHECKS`] budget checks, and only where that is not enough does
//! the winner's explanation stand. Either way the same history gives the same
//! analysis, except where the linear engine needs more than its cap and which
//! engine wins varies from run to run. `:analyzer` says `:competition`.

use super::budget::{Budget, Cause};
use super::{linear, refute, unique, wgl, Algorithm, Outcome};
use crate::history::History;
use crate::model::memo::Memo;
use crate::model::Model;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The most work spent finding the first failing operation of a history known to
/// fail by a given one, in budget checks a round of [`refute`]'s confirmation
/// (rounds from 64 checks up, each four times the last, two searches a round).
/// A cap on work, not time, so that the same history gives the same analysis.
pub const PIN_CHECKS: usize = 16384;

/// How long WGL runs alone before a race starts.
pub const SPRINT: Duration = Duration::from_millis(10);

/// How much work the linear engine may spend explaining a failure WGL found: this
/// many budget checks (each [`CHECK_EVERY`](super::budget::CHECK_EVERY)
/// iterations), a few tenths of a second.
pub const EXPLAIN_CHECKS: usize = 2048;

/// A search's outcome, the engine that produced it, and that engine's memo (whose
/// state ids the outcome refers to).
pub struct Decision<'m, M: Model + ?Sized> {
    /// What the search found.
    pub outcome: Outcome,
    /// The engine: `unique`, `competition`, `wgl`, `linear` or `refute`.
    pub analyzer: &'static str,
    /// The engine's memo.
    pub memo: Memo<'m, M>,
}

fn engine<'m, M: Model + ?Sized>(
    name: &'static str,
    history: &History,
    model: &'m M,
    by_key: bool,
    budget: &Budget,
    witness: bool,
) -> Decision<'m, M> {
    let mut memo = Memo::new(model, history, by_key);
    let outcome = match name {
        "wgl" => wgl::search(history, &mut memo, budget, witness),
        _ => linear::search(history, &mut memo, budget, witness),
    };
    if let Outcome::Unknown { .. } = outcome {
        // Nothing refers to its states: free them now, not when the race ends (the
        // search gave their bytes back to the budget, for the other engine to use).
        std::mem::replace(&mut memo, Memo::new(model, history, by_key)).free(budget);
    }
    Decision { outcome, analyzer: name, memo }
}

/// The unique-value engine's decision, or why it does not apply.
fn unique<'m, M: Model + ?Sized>(
    history: &History,
    model: &'m M,
    by_key: bool,
    budget: &Budget,
    witness: bool,
) -> Result<Decision<'m, M>, unique::Decline> {
    let (outcome, memo) = unique::search(history, model, by_key, budget, witness)?;
    Ok(Decision { outcome, analyzer: "unique", memo })
}

/// Decides the history with the chosen algorithm. `by_key`: the history may hold
/// several keys of a keyed model (it was not split), whose states the search then
/// keeps apart (see [`Memo::new`]). With `witness`, a valid outcome carries a
/// linearization, whichever engine decides.
pub fn run<'m, M: Model + ?Sized>(
    history: &History,
    model: &'m M,
    algorithm: Algorithm,
    by_key: bool,
    budget: &Budget,
    witness: bool,
) -> Decision<'m, M> {
    match algorithm {
        Algorithm::Wgl => return engine("wgl", history, model, by_key, budget, witness),
        Algorithm::Linear => return engine("linear", history, model, by_key, budget, witness),
        Algorithm::Unique => {
            return unique(history, model, by_key, budget, witness).unwrap_or_else(|decline| {
                let persisted =
                    decline.persists.then(|| unique::persist(history, model, by_key, budget, witness));
                if let Some((outcome, memo)) = persisted.flatten() {
                    return Decision { outcome, analyzer: "unique", memo };
                }
                let outcome = match decline.fails_by {
                    Some(op) => Outcome::FailsBy { op },
                    // The command line checks `unique::applies` first and reports an input error.
                    None => Outcome::Unknown { cause: Cause::Declined, furthest: None },
                };
                Decision { outcome, analyzer: "unique", memo: Memo::new(model, history, by_key) }
            });
        }
        Algorithm::Competition => {}
    }
    let decline = match unique(history, model, by_key, budget, witness) {
        Ok(decision) => return decision,
        Err(decline) => decline,
    };
    let racing = budget.deferring();
    let mut decision = match decline.fails_by {
        Some(op) => pin(history, model, by_key, &racing, op),
        None => race(history, model, by_key, &racing, witness, decline.persists),
    };
    if matches!(decision.outcome, Outcome::Invalid { .. }) && decision.analyzer != "linear" {
        let explained = engine("linear", history, model, by_key, &racing.capped(EXPLAIN_CHECKS), false);
        if let (Outcome::Invalid { op: a, .. }, Outcome::Invalid { op: b, .. }) =
            (&explained.outcome, &decision.outcome)
        {
            debug_assert_eq!(a, b, "both engines fail at the same operation");
            decision = explained;
        }
    }
    racing.free_deferred();
    decision.analyzer = "competition";
    decision
}

/// The verdict alone, as [`run`] decides it but without explaining a failure the
/// linear engine's way: for callers that check many histories and only need to
/// know which are invalid (the shrinker), where the explanation would cost more
/// than the verdict.
pub fn verdict<M: Model + ?Sized>(
    history: &History,
    model: &M,
    algorithm: Algorithm,
    by_key: bool,
    budget: &Budget,
) -> Outcome {
    match algorithm {
        Algorithm::Competition => match unique(history, model, by_key, budget, false) {
            Ok(decision) => decision.outcome,
            Err(unique::Decline { fails_by: Some(op), .. }) => Outcome::FailsBy { op },
            Err(decline) => {
                let racing = budget.deferring();
                let outcome = race(history, model, by_key, &racing, false, decline.persists).outcome;
                racing.free_deferred();
                outcome
            }
        },
        _ => run(history, model, algorithm, by_key, budget, false).outcome,
    }
}

/// The decision on a history known to fail at `op` or before: the first
/// operation no order gets past, where [`refute`]'s confirmation finds it within
/// [`PIN_CHECKS`], else `op` as the bound ([`Outcome::FailsBy`]).
fn pin<'m, M: Model + ?Sized>(
    history: &History,
    model: &'m M,
    by_key: bool,
    budget: &Budget,
    op: usize,
) -> Decision<'m, M> {
    refute::confirm(history, model, by_key, budget, op, Some(PIN_CHECKS)).unwrap_or_else(|| {
        let outcome = Outcome::FailsBy { op };
        Decision { outcome, analyzer: "unique", memo: Memo::new(model, history, by_key) }
    })
}

/// WGL's sprint, then both searches racing, with `refute` and, where it
/// `persists`, the unique-value engine trying harder: the first decision.
fn race<'m, M: Model + ?Sized>(
    history: &History,
    model: &'m M,
    by_key: bool,
    budget: &Budget,
    witness: bool,
    persists: bool,
) -> Decision<'m, M> {
    let sprint = budget.share(Some(Instant::now() + SPRINT));
    let decision = engine("wgl", history, model, by_key, &sprint, witness);
    if !matches!(decision.outcome, Outcome::Unknown { .. }) {
        return decision;
    }
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        for name in ["wgl", "linear"] {
            let tx = tx.clone();
            scope.spawn(move || {
                let decision = engine(name, history, model, by_key, budget, witness);
                if !matches!(decision.outcome, Outcome::Unknown { .. }) {
                    budget.decide();
                }
                let _ = tx.send(decision);
            });
        }
        // Beside them, the unique-value engine trying harder, which only finds
        // linearizations,
        if persists {
            let tx = tx.clone();
            scope.spawn(move || {
                if let Some((outcome, memo)) = unique::persist(history, model, by_key, budget, witness) {
                    budget.decide();
                    let _ = tx.send(Decision { outcome, analyzer: "unique", memo });
                }
            });
        }
        // and the search of relaxations that only proves invalidity.
        scope.spawn(move || {
            if let Some(decision) = refute::search(history, model, by_key, budget) {
                budget.decide();
                let _ = tx.send(decision);
            }
        });
        let mut unknown: Option<Decision<'m, M>> = None;
        for decision in rx {
            match (&decision.outcome, &mut unknown) {
                (Outcome::Unknown { .. }, None) => unknown = Some(decision),
                (Outcome::Unknown { furthest: b, .. }, Some(first)) => {
                    // Neither decided: keep the first cause, and the furthest progress.
                    if let Outcome::Unknown { furthest: a, .. } = &mut first.outcome {
                        *a = (*a).max(*b);
                    }
                }
                _ => return decision,
            }
        }
        unknown.expect("every engine reports")
    })
}
