//! The explanation of an invalid history, the stage between the analysis and its
//! rendering: the faithful core ([`shrink`](mod@crate::shrink)), the anomaly it shows
//! named ([`Anomaly`]), and one sentence in the user's terms.
//!
//! The sentence is built from the core's own analysis and says only what the
//! history shows: which operation failed, and which operations, completed before
//! it began, make it fail. A known shape gets its name — "Stale read: process 12
//! read 3 at op 217 (line 319), but 3 had been overwritten by process 5's write of
//! 4 (ops 168–169), which completed before the read began." Each claim a template
//! makes is checked on the history (the failing key's) before the template is used:
//! "nothing wrote 5" only when no operation writes 5, "had been overwritten" only
//! when every write of the value read completed before the overwriting one began.
//! Anything else gets a sentence that is true of every core: the failing operation,
//! and the core's other operations without which it would not fail.
//!
//! ```
//! use knossos_rs::explain::{explain, Anomaly};
//! use knossos_rs::{check, model, read, History, Options};
//!
//! let log = r#"
//! {:process 0, :type :invoke, :f :write, :value 3}
//! {:process 0, :type :ok, :f :write, :value 3}
//! {:process 1, :type :invoke, :f :write, :value 4}
//! {:process 1, :type :ok, :f :write, :value 4}
//! {:process 2, :type :invoke, :f :read, :value nil}
//! {:process 2, :type :ok, :f :read, :value 3}
//! "#;
//! let model = model::builtin("register", &Default::default()).unwrap();
//! let history = History::complete(read::RawOp::read(log.as_bytes(), "h.edn", None).unwrap(), &model).unwrap();
//! let analysis = check(&model, &history, &Options::default());
//! let explanation = explain(&model, &history, &analysis, &Options::default()).unwrap();
//! assert_eq!(explanation.anomaly, Anomaly::StaleRead);
//! assert_eq!(
//!     explanation.sentence,
//!     "Stale read: process 2 read 3 at op 5 (line 7), but 3 had been overwritten by process 1's \
//!      write of 4 (ops 2–3), which completed before the read began."
//! );
//! assert_eq!(explanation.core.indices(), [0, 1, 2, 3, 4, 5]);
//! ```

pub(crate) mod words;

use crate::analysis::{Analysis, Validity};
use crate::history::{line_note, History, OpMap};
use crate::model::{Model, Semantics};
use crate::shrink::{self, Core};
use crate::value::Value;
use crate::{check, partition, Options};
use std::borrow::Cow;
use std::time::Instant;
use words::{action, list, possessive, value_text};

/// Why an invalid history is invalid, in the user's terms.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Explanation {
    /// The faithful core.
    pub core: Core,
    /// The core's own analysis: its failing operation and final paths, which
    /// explain the core without the rest of the history.
    pub analysis: Analysis,
    /// The anomaly's shape.
    pub anomaly: Anomaly,
    /// The anomaly in one sentence, naming the failing op and the ops that make it
    /// fail.
    pub sentence: String,
    /// What to try, when the sentence suggests the check itself was set up wrong
    /// (a register read a value nobody wrote: maybe it did not start at nil).
    pub hint: Option<String>,
}

/// The shapes of anomaly the sentence names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Anomaly {
    /// A read (or a compare-and-set) saw a value that a write completed before it
    /// began had replaced.
    StaleRead,
    /// A read, dequeue or compare-and-set saw a value no operation wrote, enqueued
    /// or added.
    NeverWritten,
    /// An element enqueued once was dequeued twice.
    DuplicatedDequeue,
    /// A set read lacks an element whose add completed before the read began.
    LostAdd,
    /// Another shape: the sentence names the failing op and the core's others.
    Other,
}

impl Anomaly {
    /// Its name as the analysis prints it (`:anomaly :stale-read`).
    pub fn name(self) -> &'static str {
        match self {
            Anomaly::StaleRead => "stale-read",
            Anomaly::NeverWritten => "never-written",
            Anomaly::DuplicatedDequeue => "duplicated-dequeue",
            Anomaly::LostAdd => "lost-add",
            Anomaly::Other => "other",
        }
    }

    /// Its name as a sentence starts with it, if it has one.
    fn title(self) -> Option<&'static str> {
        match self {
            Anomaly::StaleRead => Some("Stale read"),
            Anomaly::NeverWritten => Some("Never written"),
            Anomaly::DuplicatedDequeue => Some("Duplicated dequeue"),
            Anomaly::LostAdd => Some("Lost add"),
            Anomaly::Other => None,
        }
    }
}

/// Explains a history [`check`] found invalid (`None` if `analysis` is not
/// invalid): its faithful core, found within the time limit, the anomaly named,
/// and the sentence.
pub fn explain<M: Model + ?Sized>(
    model: &M,
    history: &History,
    analysis: &Analysis,
    options: &Options,
) -> Option<Explanation> {
    let start = Instant::now();
    let core = shrink::Core::find(model, history, analysis, options)?;
    // A few operations, checked in moments, within what is left of the time limit:
    // out of time, the sentence falls back to naming the failing op.
    let mut own = check(model, &core.history, &options.after(start.elapsed()));
    // One key: its own analysis, as a history that is not keyed has.
    if own.results.len() == 1 {
        own = own.results.swap_remove(0).1;
    }
    // The failing key's analysis, or the history's.
    let decided =
        analysis.results.iter().find(|(_, a)| a.valid == Validity::Invalid).map_or(analysis, |(_, a)| a);
    let (reported, bound) = (decided.op.clone(), decided.op_bound);
    // The failing key's history, where the sentence's claims are checked.
    let subject = core
        .key
        .as_ref()
        .and_then(|key| partition::by_key(history, model)?.into_iter().find(|p| &p.key == key))
        .map(|part| part.history(history));
    let subject = subject.as_ref().unwrap_or(history);
    let semantics = model.semantics();
    let (anomaly, sentence, hint) = match own.op.as_ref().filter(|_| own.valid == Validity::Invalid) {
        Some(failing) => tell(semantics.as_ref(), &core.history, failing, subject),
        None => (Anomaly::Other, String::new(), None),
    };
    let mut sentence = match (sentence.is_empty(), &reported) {
        (false, _) => sentence,
        (true, Some(op)) => format!("The check could not linearize op {}{}.", op.index, line_note(op.line)),
        (true, None) => "The history is not linearizable.".into(),
    };
    if let (Some(reported), Some(failing)) = (&reported, &own.op) {
        if reported.index != failing.index {
            let which = if bound { "No order gets past" } else { "The check's first failing op is" };
            sentence.push_str(&format!(" ({which} op {}{}.)", reported.index, line_note(reported.line)));
        }
    }
    Some(Explanation { core, analysis: own, anomaly, sentence, hint })
}

/// An operation as the sentence sees it.
struct Part<'h> {
    history: &'h History,
    /// Where its invocation is, and its completion (`None`: crashed).
    invoke: u64,
    complete: Option<u64>,
    process: Value,
    /// The position of its result (the `:ok`), or of the invocation of a crashed one.
    result: usize,
    f: String,
    /// The value, out of its `[key value]` tuple for a keyed model.
    value: Value,
}

impl Part<'_> {
    /// Its result's op map, with the value the words are about (a
    /// jepsen.independent tuple's value): read again only for the ops named.
    fn map(&self) -> Value {
        match self.history.op_map(&self.history.ops[self.result]) {
            Value::Map(mut entries) => {
                entries.retain(|(k, _)| k != &Value::keyword("value"));
                entries.push((Value::keyword("value"), self.value.clone()));
                Value::Map(entries)
            }
            other => other,
        }
    }

    /// Whether it completed before `other` began.
    fn precedes(&self, other: &Part) -> bool {
        self.complete.is_some_and(|c| c < other.invoke)
    }

    /// "process 5's write of 4 (ops 168–169)".
    fn named(&self) -> String {
        let span = match self.complete {
            Some(c) => format!("ops {}–{c}", self.invoke),
            None => format!("op {}, crashed", self.invoke),
        };
        format!("{} ({span})", possessive(&self.map()))
    }

    /// What it writes, as a register's operation.
    fn writes(&self) -> Option<&Value> {
        match (self.f.as_str(), self.value.as_seq()) {
            ("write", _) => Some(&self.value),
            ("cas", Some([_, new])) => Some(new),
            _ => None,
        }
    }
}

/// The operations of a history, as the sentence sees them (from the ops held,
/// without reading their maps again).
fn parts_of(history: &History, keyed: bool) -> Vec<Part<'_>> {
    history
        .operations
        .iter()
        .map(|o| {
            let result = o.complete.unwrap_or(o.invoke);
            let value = history.ops[result].value();
            // A jepsen.independent tuple: the words are about its value.
            let value = match (keyed, value.as_seq()) {
                (true, Some([_, v])) => v.clone(),
                _ => value.clone(),
            };
            Part {
                history,
                invoke: history.ops[o.invoke].index,
                complete: o.complete.map(|c| history.ops[c].index),
                process: history.ops[result].process().clone(),
                result,
                f: o.f.as_name().unwrap_or_default().to_string(),
                value,
            }
        })
        .collect()
}

/// The anomaly, its sentence and a hint, for a core failing at `failing`; claims
/// about the history are checked on `subject` (the failing key's history).
fn tell(
    semantics: Option<&Semantics>,
    core: &History,
    failing: &OpMap,
    subject: &History,
) -> (Anomaly, String, Option<String>) {
    let (semantics, keyed) = match semantics {
        Some(Semantics::Keyed(inner)) => (Some(&**inner), true),
        other => (other, false),
    };
    let parts = parts_of(core, keyed);
    let Some(f) = parts.iter().position(|p| p.complete == Some(failing.index)) else {
        return (Anomaly::Other, String::new(), None);
    };
    let whole = parts_of(subject, keyed);
    let key = match (keyed, failing.map.get("value").and_then(Value::as_seq)) {
        (true, Some([k, _])) => format!(" (key {})", value_text(k)),
        _ => String::new(),
    };
    let who = format!(
        "process {} {}{key} at op {}{}",
        parts[f].process.to_edn_short(words::VALUE),
        action(&parts[f].map()),
        failing.index,
        line_note(failing.line)
    );
    let shape = match semantics {
        Some(Semantics::Register { init, .. }) => register(&parts, f, &whole, init),
        Some(Semantics::Queue { init, .. }) => queue(&parts, f, &whole, init),
        Some(Semantics::Set { init }) => set(&parts, f, &whole, init),
        _ => None,
    };
    match shape {
        Some((anomaly, but, hint)) => {
            let title = anomaly.title().map_or_else(String::new, |t| format!("{t}: "));
            (anomaly, format!("{title}{who}, but {but}."), hint)
        }
        None => (Anomaly::Other, words::capitalized(&format!("{who}, {}.", others(&parts, f))), None),
    }
}

/// The sentence's end for any core: the others without which it would not fail.
fn others(parts: &[Part], f: usize) -> String {
    /// At most this many of the others are named.
    const NAMED: usize = 4;
    let rest: Vec<String> = (0..parts.len()).filter(|&i| i != f).map(|i| parts[i].named()).collect();
    match rest.len() {
        0 => "which nothing that could precede it explains".into(),
        n if n <= NAMED => format!("which no order respecting real time explains together with {}", list(&rest, "and")),
        n => format!(
            "which no order respecting real time explains together with {} and {} more operations of the core",
            rest[..NAMED - 1].join(", "),
            n - (NAMED - 1)
        ),
    }
}

/// What a register's failing read or compare-and-set shows, if a known shape.
fn register(
    parts: &[Part],
    f: usize,
    whole: &[Part],
    init: &Value,
) -> Option<(Anomaly, String, Option<String>)> {
    let failing = &parts[f];
    let (seen, verb) = match (failing.f.as_str(), failing.value.as_seq()) {
        ("read", _) if !failing.value.is_nil() => (&failing.value, "the read"),
        ("cas", Some([old, _])) => (old, "the compare-and-set"),
        _ => return None,
    };
    let v = value_text(seen);
    if seen != init {
        if let Some(but) = unwritten(failing, whole, |p| p.writes() == Some(seen), "wrote", &v, verb) {
            let hint = whole.iter().all(|p| p.writes() != Some(seen)).then(|| {
                format!(
                    "If the register does not start at {} but at {v}, check with --init {v}.",
                    value_text(init)
                )
            });
            return Some((Anomaly::NeverWritten, but, hint));
        }
    }
    // Every write of the value seen that could take effect before the failing
    // operation (invoked before it completed), in the whole history, completed
    // before the overwriting one began, which completed before the failing one began.
    let writers: Vec<&Part> = whole
        .iter()
        .filter(|p| p.writes() == Some(seen) && failing.complete.is_some_and(|c| p.invoke < c))
        .collect();
    let what = if writers.is_empty() { format!("the initial value {v}") } else { v };
    let overwriter = parts
        .iter()
        .enumerate()
        .filter(|&(i, p)| {
            i != f
                && p.writes().is_some_and(|u| u != seen)
                && p.precedes(failing)
                && writers.iter().all(|w| w.precedes(p))
        })
        .max_by_key(|(_, p)| p.complete);
    if let Some((_, overwriter)) = overwriter {
        let but = format!(
            "{what} had been overwritten by {}, which completed before {verb} began",
            overwriter.named()
        );
        return Some((Anomaly::StaleRead, but, None));
    }
    // Or a read of another value u, begun after every such write of the value seen
    // completed, and completed before the failing one began: u had to be written
    // after them (by a write that could be), and was seen.
    let (_, newer) = parts.iter().enumerate().find(|&(i, r)| {
        let u = &r.value;
        let could_follow = |x: &&Part| {
            x.writes() == Some(u)
                && r.complete.is_some_and(|c| x.invoke < c)
                && writers.iter().all(|w| !x.precedes(w))
        };
        i != f
            && r.f == "read"
            && !u.is_nil()
            && u != seen
            && r.precedes(failing)
            && writers.iter().all(|w| w.precedes(r))
            && whole.iter().any(|x| could_follow(&x))
    })?;
    let but = format!(
        "{what} had been overwritten by {}: process {} read it (ops {}–{}) after every earlier write of {} had \
         completed, before {verb} began",
        value_text(&newer.value),
        newer.process.to_edn_short(words::VALUE),
        newer.invoke,
        newer.complete.unwrap_or(newer.invoke),
        value_text(seen)
    );
    Some((Anomaly::StaleRead, but, None))
}

/// "nothing wrote 3", or "nothing had written 3 yet: the first to, process 4's
/// write of 3 (ops 42–43), began after the read completed", when no operation
/// that `writes` the value could take effect before the failing one; `None` when
/// one could.
fn unwritten(
    failing: &Part,
    whole: &[Part],
    writes: impl Fn(&Part) -> bool,
    verb: &str,
    v: &str,
    what: &str,
) -> Option<String> {
    let end = failing.complete?;
    let mut writers = whole.iter().filter(|p| writes(p));
    match writers.next() {
        None => Some(format!("nothing {verb} {v}")),
        Some(first) if first.invoke > end => Some(format!(
            "nothing had {} {v} yet: the first to, {}, began after {what} completed",
            if verb == "wrote" { "written" } else { verb },
            first.named()
        )),
        Some(_) => None,
    }
}

/// What a queue's failing dequeue shows, if a known shape.
fn queue(
    parts: &[Part],
    f: usize,
    whole: &[Part],
    init: &[&Value],
) -> Option<(Anomaly, String, Option<String>)> {
    let failing = &parts[f];
    if failing.f != "dequeue" || failing.value.is_nil() {
        return None;
    }
    let v = &failing.value;
    let enqueues: Vec<&Part> = whole.iter().filter(|p| p.f == "enqueue" && &p.value == v).collect();
    if !init.contains(&v) {
        let enqueued = |p: &Part| p.f == "enqueue" && &p.value == v;
        if let Some(but) = unwritten(failing, whole, enqueued, "enqueued", &value_text(v), "the dequeue") {
            return Some((Anomaly::NeverWritten, but, None));
        }
    }
    let [enqueue] = enqueues[..] else { return None };
    if init.contains(&v) {
        return None;
    }
    let other = parts
        .iter()
        .enumerate()
        .find(|&(i, p)| i != f && p.f == "dequeue" && p.complete.is_some() && &p.value == v)?
        .1;
    let when = if other.precedes(failing) { "had already dequeued it" } else { "also dequeued it" };
    Some((
        Anomaly::DuplicatedDequeue,
        format!(
            "{} was enqueued {}, by {}, and process {} {when} (ops {}–{})",
            value_text(v),
            // A crashed enqueue may not have taken effect at all.
            if enqueue.complete.is_some() { "only once" } else { "at most once" },
            enqueue.named(),
            other.process.to_edn_short(words::VALUE),
            other.invoke,
            other.complete.unwrap_or(other.invoke)
        ),
        None,
    ))
}

/// What a set's failing read shows, if a known shape.
fn set(
    parts: &[Part],
    f: usize,
    whole: &[Part],
    init: &[Value],
) -> Option<(Anomaly, String, Option<String>)> {
    let failing = &parts[f];
    let read = match (&failing.f[..], &failing.value) {
        ("read", Value::Set(items)) => items.values(),
        ("read", Value::Vector(items) | Value::List(items)) => Cow::Borrowed(&items[..]),
        _ => return None,
    };
    for x in read.iter().filter(|x| !init.contains(x)) {
        let added = |p: &Part| p.f == "add" && &p.value == x;
        if let Some(but) = unwritten(failing, whole, added, "added", &value_text(x), "the read") {
            return Some((Anomaly::NeverWritten, but, None));
        }
    }
    let lost = parts.iter().find(|p| p.f == "add" && p.precedes(failing) && !read.contains(&p.value))?;
    Some((
        Anomaly::LostAdd,
        format!(
            "it lacks {}, though {} completed before the read began",
            value_text(&lost.value),
            lost.named()
        ),
        None,
    ))
}
