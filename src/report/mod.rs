//! Reports for people: why a history is not linearizable, as an SVG diagram, a
//! self-contained HTML page, and a few lines of plain words.
//!
//! # The diagram
//!
//! A row per process, each operation a bar from its invocation to its completion,
//! coloured by outcome; crashed operations run to the right edge, since they may
//! take effect at any later point. The final paths are drawn across the bars, a dot
//! per legal step and a cross at the illegal one; hovering shows op maps and model
//! states (SVG `<title>`s).
//!
//! **The window.** A failure is explained by a few operations: the failing one, the
//! ones the final paths order, the ones that must precede it, and the ones
//! concurrent with it. The diagram shows those and nothing else (at most
//! `window::MAX_BARS` bars, chosen in that order of importance; see `window`),
//! so a 10 000-op history gives a diagram of a few dozen bars, and rows are only
//! the processes that appear in it, however many the history has.
//!
//! **The axis.** Logical time is an op's position in the history, and
//! linearizability depends only on the order of invocations and completions, never
//! on how far apart they are. So the axis has one column per event of a shown bar,
//! in order, and nothing for the ops left out between them (a grey band marks
//! where some were). Columns are as close as the labels allow: a label sits inside
//! its bar, or just after it when the bar is short, and the next bar of the same
//! row starts after the label, everything later moving right to make room. Rows
//! being processes, fifty sequential operations on fifty rows stay narrow. An axis
//! that comes out narrow is then stretched (up to 4×) to a comfortable width.
//!
//! **A witness.** A valid history checked with [`Options::witness`](crate::Options)
//! is drawn too: the bars of its witness order's first operations, a mark on each
//! where it takes effect, joined in order.
//!
//! # Robustness
//!
//! User data (values, processes, messages, file names) reaches the SVG only as text
//! nodes built with the `svg` crate, which escapes `&`, `<` and `>`; attribute
//! values are always ours. What XML cannot hold even escaped (control characters)
//! is replaced on the way out by `xml_safe`, which also keeps escape sequences out
//! of a terminal. Labels are cut with [`Value::to_edn_short`], so a 10 MB value
//! costs no more than a short one. The HTML page is written to be well-formed XML
//! as well (every tag closed, attributes quoted, no named entities beyond XML's),
//! so tests can parse both.
//!
//! The diagram and the page need the `report` feature (the `svg` crate); the words
//! ([`explain`]) do not, and the text summary uses them.

// Without the feature, the layout serves only the words: the rest is left unused.
#![cfg_attr(not(feature = "report"), allow(dead_code, unused_imports))]

#[cfg(feature = "report")]
mod diagram;
#[cfg(feature = "report")]
mod page;
mod prose;
mod window;

use crate::analysis::{Analysis, Validity};
use crate::expert::write_atomically;
use crate::explain::words::{cut, op_text, plural};
use crate::explain::Explanation;
use crate::history::History;
use crate::value::Value;
use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;
use window::Timeline;

/// One checked history (or one key of a partitioned history) in a report.
#[cfg(feature = "report")]
pub struct Entry<'a> {
    /// The file name, or the key's label.
    pub name: String,
    /// The history checked (for a key, the whole history: the key is in the analysis).
    pub history: &'a History,
    /// Its analysis.
    pub analysis: &'a Analysis,
    /// Its explanation, for an invalid history that was explained.
    pub explanation: Option<&'a Explanation>,
    /// How long checking took.
    pub elapsed: Duration,
}

/// A file that could not be checked (unreadable, empty, not a history): named in
/// the report with its messages, so that its reader knows it was not checked.
#[cfg(feature = "report")]
pub struct Rejected {
    /// The file.
    pub name: String,
    /// What is wrong, as the command line prints it.
    pub message: String,
}

/// The SVG anomaly diagram of an invalid analysis; `None` for valid or unknown ones.
/// For a history checked key by key, the diagram of its first failing key.
#[cfg(feature = "report")]
pub fn svg(history: &History, analysis: &Analysis) -> Option<String> {
    failures(history, analysis, 1).first().map(Failure::diagram)
}

/// One self-contained HTML page for all entries: a summary table, then a section
/// per entry, with its explanation, diagram and final paths when invalid (per
/// failing key, for a history checked key by key), its witness order's diagram
/// when valid with one (per key), and one per rejected file.
#[cfg(feature = "report")]
pub fn html(title: &str, entries: &[Entry], rejected: &[Rejected]) -> String {
    page::render(title, entries, rejected)
}

/// Writes `DIR/report.html` and one SVG per invalid entry (`DIR/<sanitised name>.svg`;
/// per failing key, `DIR/<sanitised name>_key_<key>.svg`) and per valid one with a
/// witness order (per key with one), creating `DIR`; returns the paths written, the
/// HTML first.
#[cfg(feature = "report")]
pub fn write(
    dir: &Path,
    title: &str,
    entries: &[Entry],
    rejected: &[Rejected],
) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let page = dir.join("report.html");
    write_atomically(&page, html(title, entries, rejected).as_bytes())?;
    let mut written = vec![page];
    let mut stems = HashSet::new();
    for entry in entries {
        let witnesses = witnesses(entry.history, entry.analysis, MAX_KEYS);
        for failure in failures(entry.history, entry.analysis, MAX_KEYS).into_iter().chain(witnesses) {
            let name = match failure.key {
                Some(key) => format!("{} key {}", entry.name, key.to_edn_short(LABEL)),
                None => entry.name.clone(),
            };
            let path = dir.join(format!("{}.svg", unique_stem(&name, &mut stems)));
            let diagram = if failure.analysis.valid == Validity::Valid {
                failure.witness_diagram()
            } else {
                failure.diagram()
            };
            write_atomically(&path, diagram.as_bytes())?;
            written.push(path);
        }
    }
    Ok(written)
}

/// A few lines of plain words explaining the anomaly (`None` if valid or unknown).
/// With an explanation: its sentence, its hint, and the core's operations one by
/// one. Without: which process did what at which index, and what states the model
/// could have been in when it had to take effect (for a history checked key by
/// key, which keys failed, and the first one's anomaly).
pub fn explain(history: &History, analysis: &Analysis, explanation: Option<&Explanation>) -> Option<String> {
    let failures = failures(history, analysis, 1);
    let failure = failures.first()?;
    let mut lines = Vec::new();
    match explanation {
        Some(explanation) => {
            lines.push(explanation.sentence.clone());
            lines.extend(explanation.hint.clone());
            lines.extend(prose::core(&Timeline::new(&explanation.core.history), explanation));
        }
        None => {
            if let Some(key) = failure.key {
                lines.push(prose::keys(analysis, key));
            }
            lines.extend(failure.explain());
        }
    }
    Some(xml_safe(lines.join("\n")))
}

/// At most this many failing keys of a history checked key by key are reported.
#[cfg(feature = "report")]
const MAX_KEYS: usize = 20;

/// One analysis to report, invalid or with a witness, and the history it is about.
struct Failure<'a> {
    /// The key, for a history checked key by key.
    key: Option<&'a Value>,
    /// The history, or the key's sub-history.
    history: Cow<'a, History>,
    analysis: &'a Analysis,
}

impl Failure<'_> {
    #[cfg(feature = "report")]
    fn diagram(&self) -> String {
        diagram::render(&Timeline::new(&self.history), self.analysis, self.key)
    }

    /// The diagram of a valid analysis's witness order.
    #[cfg(feature = "report")]
    fn witness_diagram(&self) -> String {
        let order = self.analysis.linearization.as_deref().unwrap_or_default();
        diagram::render_witness(&Timeline::new(&self.history), order, self.key)
    }

    fn explain(&self) -> Vec<String> {
        prose::explain(&Timeline::new(&self.history), self.analysis)
    }
}

/// The anomalies of an analysis: none unless it is invalid; for a history checked
/// key by key, its first `max` failing keys, each with the key's sub-history;
/// otherwise the analysis itself.
fn failures<'a>(history: &'a History, analysis: &'a Analysis, max: usize) -> Vec<Failure<'a>> {
    if analysis.valid != Validity::Invalid {
        return Vec::new();
    }
    parts(history, analysis, max, |a| a.valid == Validity::Invalid)
}

/// The witness orders of a valid analysis ([`Analysis::linearization`]): its own,
/// or for a history checked key by key, its first `max` keys', each with the key's
/// sub-history.
#[cfg(feature = "report")]
fn witnesses<'a>(history: &'a History, analysis: &'a Analysis, max: usize) -> Vec<Failure<'a>> {
    if analysis.valid != Validity::Valid {
        return Vec::new();
    }
    parts(history, analysis, max, |a| a.linearization.is_some())
}

/// The first `max` keys whose analyses are `wanted`, each with the key's
/// sub-history; without any, the analysis itself if it is `wanted`.
fn parts<'a>(
    history: &'a History,
    analysis: &'a Analysis,
    max: usize,
    wanted: impl Fn(&Analysis) -> bool,
) -> Vec<Failure<'a>> {
    let failing: Vec<(&Value, &Analysis)> = analysis
        .results
        .iter()
        .filter(|(_, a)| wanted(a) && a.results.is_empty())
        .take(max)
        .map(|(key, a)| (key, a))
        .collect();
    if failing.is_empty() {
        return if wanted(analysis) {
            vec![Failure { key: None, history: Cow::Borrowed(history), analysis }]
        } else {
            Vec::new()
        };
    }
    // The report has no model to ask for keys: it knows the two kinds of key there
    // are, kv's `:key` and jepsen.independent's `[key value]` tuples.
    let parts =
        crate::partition::split_by(history, |op| window::key_of(op.fields()).cloned()).unwrap_or_default();
    failing
        .into_iter()
        .map(|(key, analysis)| {
            let part = parts.iter().find(|p| &p.key == key);
            let history = part.map_or(Cow::Owned(History::default()), |p| Cow::Owned(p.history(history)));
            Failure { key: Some(key), history, analysis }
        })
        .collect()
}

/// Labels in the diagram are cut to about this many characters.
const LABEL: usize = 16;
/// Op maps in hover texts and tables are cut to about this many characters.
const DETAIL: usize = 300;

/// A model state as a path prints it: the inconsistency's message, or the state.
fn state_text(model: &Value, max: usize) -> String {
    match model.get("msg") {
        Some(Value::String(msg)) => cut(msg, max),
        Some(msg) => msg.to_edn_short(max),
        None => model.to_edn_short(max),
    }
}

/// Whether a path step's model is the inconsistency.
fn is_inconsistency(model: &Value) -> bool {
    model.get("msg").is_some()
}

/// A duration for people: `480 µs`, `12.3 ms`, `4.56 s`.
fn duration_text(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0} µs")
    } else if micros < 1e6 {
        format!("{:.1} ms", micros / 1e3)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

/// Replaces what XML 1.0 cannot hold even escaped (control characters other than
/// tab and newline, U+FFFE, U+FFFF) with U+FFFD.
fn xml_safe(s: String) -> String {
    let bad = |c: char| (c.is_control() && c != '\n' && c != '\t') || c == '\u{FFFE}' || c == '\u{FFFF}';
    if s.contains(bad) {
        s.chars().map(|c| if bad(c) { '\u{FFFD}' } else { c }).collect()
    } else {
        s
    }
}

/// A file name stem from an entry's name: letters, digits, `-`, `_` and `.`
/// only, not starting with a dot, at most 80 characters, distinct from `taken`.
fn unique_stem(name: &str, taken: &mut HashSet<String>) -> String {
    let mut stem = String::new();
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') { c } else { '_' };
        if !(c == '_' && stem.ends_with('_')) {
            stem.push(c);
        }
    }
    let stem = stem.trim_start_matches(['.', '_']).trim_end_matches('_');
    let stem = if stem.is_empty() { "history" } else { &stem[..stem.len().min(80)] };
    let mut candidate = stem.to_string();
    let mut n = 1;
    while !taken.insert(candidate.clone()) {
        n += 1;
        candidate = format!("{stem}-{n}");
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_safe_and_distinct() {
        let mut taken = HashSet::new();
        assert_eq!(unique_stem("knossos/bad/rethink-fail.edn", &mut taken), "knossos_bad_rethink-fail.edn");
        assert_eq!(unique_stem("../../etc/passwd", &mut taken), "etc_passwd");
        assert_eq!(unique_stem("", &mut taken), "history");
        assert_eq!(unique_stem("…", &mut taken), "history-2");
        assert_eq!(unique_stem("key \"a\" <b>", &mut taken), "key_a_b");
        assert_eq!(unique_stem("key_a_b", &mut taken), "key_a_b-2");
    }

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(xml_safe("a\u{1}b\u{1b}[31m\n\u{FFFF}".into()), "a\u{FFFD}b\u{FFFD}[31m\n\u{FFFD}");
    }
}
