//! The anomaly in plain words: what the failing operation did, what states the
//! model could have been in when it had to take effect, what ran concurrently, and
//! what came before. The terminal summary prints these lines; the HTML page puts
//! each in a paragraph.

use super::window::{key_of, Bar, Outcome, Timeline};
use super::{state_text, DETAIL};
use crate::analysis::Analysis;
use crate::explain::words::{action, capitalized, deed, list, plural, VALUE};
use crate::explain::Explanation;
use crate::value::Value;
use std::fmt::Write as _;

/// At most this many operations of a core are described one by one.
const PARTS: usize = 16;

/// The explanation of an invalid analysis, a sentence per line.
pub(super) fn explain(timeline: &Timeline, analysis: &Analysis) -> Vec<String> {
    let history = timeline.history;
    let Some(op) = &analysis.op else {
        return vec!["The history is not linearizable, but the analysis names no failing operation.".into()];
    };
    let mut lines = Vec::new();
    let who = format!(
        "Process {} {} at index {}{}",
        op.map.get("process").unwrap_or(&Value::Nil).to_edn_short(VALUE),
        action(&op.map),
        op.index,
        crate::history::line_note(op.line)
    );
    let states = states_before(analysis);
    let (states, key) = match key_of(&op.map).and_then(|key| Some((key_parts(&states, key)?, key))) {
        Some((parts, key)) => (parts, Some(key)),
        None => (states, None),
    };
    lines.push(match states_phrase(&states, key) {
        Some(states) => format!("{who}, but after the operations that must precede it, {states}."),
        None => format!("{who}, but no order of the operations before it explains that."),
    });

    let mut messages: Vec<String> = Vec::new();
    for step in analysis.final_paths.iter().filter_map(|p| p.last()) {
        let msg = state_text(&step.model, DETAIL);
        if !messages.contains(&msg) {
            messages.push(msg);
        }
    }
    if let Some(first) = messages.first() {
        let more = match messages.len() {
            1 => String::new(),
            2 => " (and 1 more like it)".into(),
            n => format!(" (and {} more like it)", n - 1),
        };
        lines.push(format!("The model says: {first}{more}."));
    }

    let failing = timeline.bars.iter().position(|b| {
        b.outcome == Outcome::Ok
            && b.complete.and_then(|c| history.ops.get(c)).is_some_and(|o| o.index == op.index)
    });
    if let Some(failing) = failing {
        let invoked = history.ops.get(timeline.bars[failing].invoke).map_or(op.index, |o| o.index);
        let (mut ok, mut crashed) = (0, 0);
        for id in timeline.concurrent(failing) {
            match timeline.bars[id].outcome {
                Outcome::Ok => ok += 1,
                Outcome::Crashed => crashed += 1,
                Outcome::Failed | Outcome::Aside => {}
            }
        }
        lines.push(match (ok, crashed) {
            (0, 0) => format!(
                "It was invoked at index {invoked}, and nothing ran concurrently with it: it had to take effect right after the operations before it."
            ),
            (ok, 0) => format!("It was invoked at index {invoked} and ran concurrently with {}.", plural(ok, "operation", "operations")),
            (0, crashed) => format!(
                "It was invoked at index {invoked} and ran concurrently with {} (which may take effect at any later point, or never).",
                plural(crashed, "crashed operation", "crashed operations")
            ),
            (ok, crashed) => format!(
                "It was invoked at index {invoked} and ran concurrently with {} and {} (which may take effect at any later point, or never).",
                plural(ok, "completed operation", "completed operations"),
                plural(crashed, "crashed one", "crashed ones")
            ),
        });
    }

    let previous = match &analysis.previous_ok {
        Some(p) => format!("The previous :ok was op {} ({})", p.index, deed(&p.map)),
        None => "No :ok came before it".into(),
    };
    lines.push(match &analysis.last_op {
        Some(l) => {
            format!("{previous}; the last op a linearization reached was op {} ({}).", l.index, deed(&l.map))
        }
        None => format!("{previous}; no linearization got past the initial state."),
    });
    lines
}

/// The core in words: what it is, then each of its operations' part.
pub(super) fn core(timeline: &Timeline, explanation: &Explanation) -> Vec<String> {
    let core = &explanation.core;
    let n = core.history.operations.len();
    let key = core.key.as_ref().map_or_else(String::new, |k| format!(" of key {}", k.to_edn_short(VALUE)));
    let failing =
        explanation.analysis.op.as_ref().map_or_else(String::new, |op| format!(" at op {}", op.index));
    let needed = match (core.minimal, n) {
        (false, _) => {
            "; not proven minimal (shrinking ran out of time, or could not decide a smaller history)".into()
        }
        (true, 1) => format!("; it fails{failing} on its own, for a reason the history has"),
        (true, _) => format!("; each needed for the failure{failing}, for a reason the history has"),
    };
    let of = plural(core.of, "operation", "operations");
    let mut lines = vec![format!("The core: {n} of the {of}{key}{needed}:")];
    lines.extend(parts(timeline, &explanation.analysis));
    lines
}

/// Each operation's part, a numbered line each: what it did, which of the others
/// it completed before and which it overlapped (the real-time order that leaves no
/// legal order), and which one no order explains.
fn parts(timeline: &Timeline, analysis: &Analysis) -> Vec<String> {
    let history = timeline.history;
    let failing = analysis.op.as_ref().map(|op| op.index);
    let bars: Vec<&Bar> = timeline.bars.iter().filter(|b| b.outcome != Outcome::Aside).collect();
    if bars.len() > PARTS {
        return vec![format!("  (too many to list one by one: {} operations)", bars.len())];
    }
    let mut lines = Vec::new();
    for (i, bar) in bars.iter().enumerate() {
        let map = history.op_map(&history.ops[bar.result()]);
        let span = match bar.complete.map(|c| history.ops[c].index) {
            Some(c) => format!("ops {}–{c}", history.ops[bar.invoke].index),
            None => format!("op {}, crashed", history.ops[bar.invoke].index),
        };
        let mut part = format!("{}. {} ({span})", i + 1, capitalized(&deed(&map)));
        let numbers = |keep: &dyn Fn(&Bar) -> bool| -> Vec<String> {
            (0..bars.len()).filter(|&j| j != i && keep(bars[j])).map(|j| (j + 1).to_string()).collect()
        };
        // Only those right after it: it completed before the later ones through them.
        let after = |a: &Bar, b: &Bar| a.end() < b.invoke;
        let before = numbers(&|b: &Bar| after(bar, b) && !bars.iter().any(|c| after(bar, c) && after(c, b)));
        let overlapping = numbers(&|b: &Bar| bar.overlaps(b));
        if !before.is_empty() {
            let _ = write!(part, ", completed before {} began", list(&before, "and"));
        }
        if !overlapping.is_empty() {
            let _ = write!(part, ", concurrent with {}", list(&overlapping, "and"));
        }
        if bar.complete.is_some_and(|c| Some(history.ops[c].index) == failing) {
            part.push_str(": the failing operation");
        }
        lines.push(format!("  {part}."));
    }
    lines
}

/// Which keys of a history checked key by key are not linearizable, introducing
/// the explanation of `first`: "2 of 10 keys are not linearizable: "0", "5". Key "0":".
pub(super) fn keys(analysis: &Analysis, first: &Value) -> String {
    let failing: Vec<String> = analysis.failures.iter().map(|k| k.to_edn_short(VALUE)).collect();
    let (n, total) = (failing.len(), analysis.results.len());
    let verb = if n == 1 { "is" } else { "are" };
    let noun = if total == 1 { "key" } else { "keys" };
    format!(
        "{n} of {total} {noun} {verb} not linearizable: {}. Key {}:",
        list(&failing, "and"),
        first.to_edn_short(VALUE)
    )
}

/// The states the model could be in just before the failing operation: the state
/// before the last step of each final path (the configuration's own state, for a
/// path of one step), or the configurations' states when there are no paths.
pub(super) fn states_before(analysis: &Analysis) -> Vec<Value> {
    let mut states: Vec<Value> = Vec::new();
    let mut add = |v: &Value| {
        if !states.contains(v) {
            states.push(v.clone());
        }
    };
    let initial = || analysis.configs.iter().filter(|c| c.last_op.is_none()).map(|c| &c.model);
    for path in &analysis.final_paths {
        match path.len() {
            0 => {}
            1 => initial().for_each(&mut add),
            n => add(&path[n - 2].model),
        }
    }
    if analysis.final_paths.is_empty() {
        analysis.configs.iter().for_each(|c| add(&c.model));
    }
    states
}

/// When the states are stores of keys (kv's `{:value {k v}}`, or `{k state}` for
/// `--independent` checked whole), the part of each that holds `key`, the failing
/// op's: the other keys cannot explain the failure, and would crowd it out of
/// shortened states. `None` if some state has no such part.
fn key_parts(states: &[Value], key: &Value) -> Option<Vec<Value>> {
    let mut parts: Vec<Value> = Vec::new();
    for state in states {
        let store = match state.get("value") {
            Some(store @ Value::Map(_)) => store,
            _ => state,
        };
        let Value::Map(entries) = store else { return None };
        let (_, part) = entries.iter().find(|(k, _)| k == key)?;
        if !parts.contains(part) {
            parts.push(part.clone());
        }
    }
    Some(parts)
}

/// "the register could only hold 0 or 1", "key "a" could only hold "x"", or "the
/// model could only be in state …"; `key`: the states are that key's parts.
fn states_phrase(states: &[Value], key: Option<&Value>) -> Option<String> {
    if states.is_empty() {
        return None;
    }
    // A register's state: {:value v} with a plain v (not a store's map, nor a set).
    let register = states.iter().all(|s| match (s, s.get("value")) {
        (Value::Map(e), Some(v)) => e.len() == 1 && !matches!(v, Value::Map(_) | Value::Set(_)),
        _ => false,
    });
    // A key's plain value, such as kv's strings.
    let plain = key.is_some() && states.iter().all(|s| !matches!(s, Value::Map(_) | Value::Set(_)));
    let texts: Vec<String> = states
        .iter()
        .map(|s| if register { s.get("value").unwrap_or(s) } else { s })
        .map(|s| s.to_edn_short(VALUE))
        .collect();
    let list = list(&texts, "or");
    let subject = match key {
        Some(key) => format!("key {}", key.to_edn_short(VALUE)),
        None if register => "the register".into(),
        None => "the model".into(),
    };
    Some(if register || plain {
        format!("{subject} could only hold {list}")
    } else {
        format!("{subject} could only be in state {list}")
    })
}
