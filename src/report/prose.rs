//! The anomaly in plain words: what the failing operation did, what states the
//! model could have been in when it had to take effect, what ran concurrently, and
//! what came before. The terminal summary prints these lines; the HTML page puts
//! each in a paragraph.

use super::window::{key_of, Bar, Outcome, Timeline};
use super::{op_text, plural, state_text, DETAIL, LABEL};
use crate::analysis::{Analysis, Validity};
use crate::model::f_name;
use crate::shrink::CoreReport;
use crate::value::Value;
use std::fmt::Write as _;

/// At most this many states or messages are listed.
const LIST: usize = 6;
/// At most this many operations of a core are described one by one.
const PARTS: usize = 16;
/// Values in sentences are cut to about this many characters.
const VALUE: usize = 40;

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

/// The core in words ([`CoreReport`]): what it is, each kept operation's part, and
/// why the core alone is not linearizable, from its own analysis. `timeline` holds
/// the core's ops alone.
pub(super) fn core(timeline: &Timeline, core: &CoreReport) -> Vec<String> {
    let n = core.operations;
    let key = core.key.as_ref().map_or_else(String::new, |k| format!(" of key {}", k.to_edn_short(VALUE)));
    let needed = match (core.minimal, n) {
        (false, _) => {
            "; not proven minimal (shrinking ran out of time, or could not decide a smaller history)"
        }
        (true, 1) => ", and removing it leaves nothing to explain",
        (true, 2) => ", and removing either leaves a linearizable history",
        (true, _) => ", and removing any one of them leaves a linearizable history",
    };
    let (verb, own) = if n == 1 { ("is", "its") } else { ("are", "their") };
    let of = plural(core.of, "operation", "operations");
    let mut lines =
        vec![format!("The core: {n} of the {of}{key} {verb} not linearizable on {own} own{needed}:")];
    lines.extend(parts(timeline, &core.analysis));
    lines.extend(alone(timeline, &core.analysis, "In the core, "));
    lines
}

/// The operations the reported failure needs, when they are more than the core
/// ([`CoreReport::context`]): that failure's story, in the same words as the core.
pub(super) fn context(timeline: &Timeline, context: &CoreReport, failing: Option<u64>) -> Vec<String> {
    let at = failing.map_or_else(String::new, |i| format!(" at op {i}"));
    let mut lines = vec![format!(
        "The failure{at} itself needs {}, each for its result or for when it ran:",
        plural(context.operations, "operation", "operations")
    )];
    lines.extend(parts(timeline, &context.analysis));
    lines.extend(alone(timeline, &context.analysis, "With these alone, "));
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
            part.push_str(if bars.len() == 1 {
                ": it cannot happen at all"
            } else {
                ": no order of the others explains it"
            });
        }
        lines.push(format!("  {part}."));
    }
    lines
}

/// Why these operations alone are not linearizable: the first two sentences of
/// their own analysis's explanation, the first after `lead`.
fn alone(timeline: &Timeline, analysis: &Analysis, lead: &str) -> Vec<String> {
    if analysis.valid != Validity::Invalid {
        return Vec::new();
    }
    let mut why = explain(timeline, analysis).into_iter().take(2);
    let mut lines = Vec::new();
    if let Some(first) = why.next() {
        let mut chars = first.chars();
        let first: String = chars.next().into_iter().flat_map(char::to_lowercase).chain(chars).collect();
        lines.push(format!("{lead}{first}"));
    }
    lines.extend(why);
    lines
}

/// A sentence's start: its first letter upper case.
fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
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

/// "a", "a or b", "a, b or c", "a, b, … or 3 others" (with `or` as the conjunction).
fn list(items: &[String], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        _ if items.len() > LIST => {
            format!("{} {conjunction} {} others", items[..LIST - 1].join(", "), items.len() - (LIST - 1))
        }
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
    }
}

/// "process 15 read 0".
fn deed(map: &Value) -> String {
    let process = map.get("process").map_or_else(|| "nil".into(), |p| p.to_edn_short(VALUE));
    format!("process {process} {}", action(map))
}

/// Verbs for the functions of the built-in models: (`:f`, done, to do).
const VERBS: &[(&str, &str, &str)] = &[
    ("read", "read", "read"),
    ("write", "wrote", "write"),
    ("get", "got", "get"),
    ("put", "put", "put"),
    ("append", "appended", "append"),
    ("add", "added", "add"),
    ("enqueue", "enqueued", "enqueue"),
    ("dequeue", "dequeued", "dequeue"),
    ("acquire", "acquired the lock", "acquire the lock"),
    ("release", "released the lock", "release the lock"),
    ("txn", "ran the transaction", "run the transaction"),
];

/// What an op did, in words: "read 3", "wrote 4", "changed 1 to 2 by compare-and-set",
/// "acquired the lock"; "tried to write 4" for an operation that did not complete.
fn action(map: &Value) -> String {
    let nil = Value::Nil;
    let ok = map.get("type").and_then(Value::as_keyword) == Some("ok");
    let value = map.get("value").unwrap_or(&nil);
    let v = |v: &Value| v.to_edn_short(VALUE);
    let f = map.get("f").and_then(f_name);
    if let (Some("cas"), Some([old, new])) = (f, value.as_seq()) {
        let tried = if ok { "changed" } else { "tried to change" };
        return format!("{tried} {} to {} by compare-and-set", v(old), v(new));
    }
    let Some(&(name, done, to_do)) = f.and_then(|f| VERBS.iter().find(|verb| verb.0 == f)) else {
        let tried = if ok { "completed" } else { "tried" };
        return format!("{tried} {}", op_text(map, LABEL + VALUE));
    };
    let verb = if ok { done.to_string() } else { format!("tried to {to_do}") };
    // A read of nil says so; otherwise a nil value says nothing.
    if value.is_nil() && !(ok && matches!(name, "read" | "get")) {
        verb
    } else {
        format!("{verb} {}", v(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_naturally() {
        let items = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>();
        assert_eq!(list(&items(1), "or"), "0");
        assert_eq!(list(&items(2), "or"), "0 or 1");
        assert_eq!(list(&items(3), "and"), "0, 1 and 2");
        assert_eq!(list(&items(9), "or"), "0, 1, 2, 3, 4 or 4 others");
    }

    #[test]
    fn actions_read_naturally() {
        let op = |kind: &str, f: &str, value: Value| {
            Value::kw_map([("type", Value::keyword(kind)), ("f", Value::keyword(f)), ("value", value)])
        };
        let pair = Value::Vector(vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(action(&op("ok", "read", Value::Int(3))), "read 3");
        assert_eq!(action(&op("invoke", "write", Value::Int(3))), "tried to write 3");
        assert_eq!(action(&op("ok", "cas", pair.clone())), "changed 1 to 2 by compare-and-set");
        assert_eq!(action(&op("info", "cas", pair)), "tried to change 1 to 2 by compare-and-set");
        assert_eq!(action(&op("ok", "read", Value::Nil)), "read nil");
        assert_eq!(action(&op("ok", "acquire", Value::Nil)), "acquired the lock");
        assert_eq!(action(&op("invoke", "release", Value::Nil)), "tried to release the lock");
        assert_eq!(action(&op("ok", "append", Value::string("x"))), "appended \"x\"");
        assert_eq!(action(&op("ok", "frob", Value::Int(1))), "completed frob 1");
        assert_eq!(action(&op("info", "frob", Value::Nil)), "tried frob");
    }
}
