//! Writing an analysis: EDN (what Jepsen users read), JSON, or a short text summary.

use crate::analysis::{Analysis, Validity};
use crate::explain::Explanation;
use crate::history::{line_note, History, OpMap, Operation};
use crate::value::Value;
use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputFormat {
    /// The analysis as Knossos writes it, and Jepsen reads it.
    Edn,
    /// The same analysis in JSON.
    Json,
    /// A short summary for people.
    Text,
}

/// Renders an analysis and, for an invalid history, its explanation; with `file`,
/// EDN and JSON gain a `:file` key and text a header. The explanation adds
/// `:anomaly`, `:explanation` (the sentence), `:core` (its ops' `:index`es) and
/// `:core-minimal?`. Given the history, the text summary explains the anomaly in
/// words: the explanation's, or without one, the analysis's.
pub fn render(
    analysis: &Analysis,
    explanation: Option<&Explanation>,
    history: Option<&History>,
    file: Option<&str>,
    format: OutputFormat,
) -> String {
    let value = || {
        let mut v = analysis.to_value();
        if let Value::Map(entries) = &mut v {
            if let Some(file) = file {
                entries.insert(0, (Value::keyword("file"), Value::string(file)));
            }
            if let Some(e) = explanation {
                let indices = e.core.indices().into_iter().map(|i| Value::Int(i as i64)).collect();
                entries.extend([
                    (Value::keyword("anomaly"), Value::keyword(e.anomaly.name())),
                    (Value::keyword("explanation"), Value::string(&e.sentence)),
                    (Value::keyword("core"), Value::Vector(indices)),
                    (Value::keyword("core-minimal?"), Value::Bool(e.core.minimal)),
                ]);
            }
        }
        v
    };
    match format {
        OutputFormat::Edn => value().to_edn(),
        OutputFormat::Json => value().to_json(),
        OutputFormat::Text => {
            // The verdict, the anomaly in words, then the details.
            let out = text(analysis, history, file);
            let Some(words) = history.and_then(|h| crate::report::explain(h, analysis, explanation)) else {
                return out;
            };
            let (verdict, details) = out.split_once('\n').unwrap_or((&out, ""));
            let words: String = words.lines().map(|l| format!("  {l}\n")).collect();
            format!("{verdict}\n{words}{details}")
        }
    }
}

/// The text summary (without the anomaly in words, which takes the history: see
/// [`render`]).
impl fmt::Display for Analysis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(text(self, None, None).trim_end())
    }
}

/// `linearizable`, `NOT linearizable` or `UNKNOWN`, as the text summary says it.
impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Validity::Valid => "linearizable",
            Validity::Invalid => "NOT linearizable",
            Validity::Unknown => "UNKNOWN",
        })
    }
}

/// Labels are cut to this many characters in the text summary.
const LABEL: usize = 120;

fn describe(op: &OpMap) -> String {
    format!("op {}{}: {}", op.index, line_note(op.line), op.map.to_edn_short(LABEL))
}

/// The text summary: the verdict and details, what reading left out or how it read
/// the history (`:warnings`) after the verdict, and the witness orders last.
fn text(analysis: &Analysis, history: Option<&History>, file: Option<&str>) -> String {
    let out = summary(analysis, file);
    let (verdict, details) = out.split_once('\n').unwrap_or((&out, ""));
    let mut out = format!("{verdict}\n");
    for w in analysis.warnings.iter().take(MAX_WARNINGS) {
        let _ = writeln!(out, "  warning: {w}");
    }
    if analysis.warnings.len() > MAX_WARNINGS {
        let more = analysis.warnings.len() - MAX_WARNINGS;
        let _ = writeln!(out, "  … and {more} more warnings (the EDN analysis lists them all)");
    }
    out.push_str(details);
    witnesses(&mut out, analysis, history);
    out
}

/// At most this many warnings are shown in the text summary and the report.
pub(crate) const MAX_WARNINGS: usize = 10;
/// At most this many operations of a witness order are shown in the text summary...
const WITNESS_OPS: usize = 20;
/// ...and at most this many keys' orders.
const WITNESS_KEYS: usize = 10;

/// The witness orders of a valid analysis (`--witness`): its own, or each key's, the
/// first operations of each named with what they did when the history is given.
fn witnesses(out: &mut String, analysis: &Analysis, history: Option<&History>) {
    let orders: Vec<(Option<&Value>, &[u64])> = match &analysis.linearization {
        Some(order) => vec![(None, order)],
        None => (analysis.results.iter())
            .filter_map(|(key, a)| Some((Some(key), a.linearization.as_deref()?)))
            .collect(),
    };
    let shown: HashSet<u64> = orders
        .iter()
        .take(WITNESS_KEYS)
        .flat_map(|(_, order)| order.iter().take(WITNESS_OPS))
        .copied()
        .collect();
    let words = history.map(|h| operations_in_words(h, &shown)).unwrap_or_default();
    for (key, order) in orders.iter().take(WITNESS_KEYS) {
        let of = key.map_or_else(String::new, |k| format!(" of key {}", k.to_edn_short(40)));
        let ops: Vec<String> = (order.iter().take(WITNESS_OPS))
            .map(|i| words.get(i).map_or_else(|| format!("op {i}"), |w| format!("op {i} ({w})")))
            .collect();
        let more = match order.len().saturating_sub(WITNESS_OPS) {
            0 => String::new(),
            n => format!(", … and {n} more (the EDN analysis's :linearization has them all)"),
        };
        let _ = writeln!(out, "  a witness order{of}: {}{more}", ops.join(", "));
    }
    if orders.len() > WITNESS_KEYS {
        let _ = writeln!(
            out,
            "  … and {} more keys' witness orders (the EDN analysis has them all)",
            orders.len() - WITNESS_KEYS
        );
    }
}

/// The operations whose invocations have these `:index`es, each as `process 0 write
/// 1` (from its completion, for a read's value), `, crashed` when it has none.
fn operations_in_words(history: &History, indices: &HashSet<u64>) -> HashMap<u64, String> {
    let invoked = |o: &&Operation| indices.contains(&history.ops[o.invoke].index);
    (history.operations.iter().filter(invoked))
        .map(|o| {
            let op = &history.ops[o.complete.unwrap_or(o.invoke)];
            let what = crate::explain::words::op_text(&history.op_map(op), LABEL);
            let crashed = if o.complete.is_none() { ", crashed" } else { "" };
            let words = format!("process {} {what}{crashed}", op.process().to_edn_short(40));
            (history.ops[o.invoke].index, words)
        })
        .collect()
}

/// The verdict and the details of the analysis alone.
fn summary(analysis: &Analysis, file: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(file) = file {
        let _ = write!(out, "{file}: ");
    }
    if !analysis.results.is_empty() {
        // Checked key by key: the verdict, then each key that is not linearizable.
        let _ = writeln!(
            out,
            "{}: {} keys checked, {} not linearizable",
            analysis.valid,
            analysis.results.len(),
            analysis.failures.len()
        );
        for (key, a) in analysis.results.iter().filter(|(_, a)| a.valid != Validity::Valid) {
            let label = format!("key {}", key.to_edn_short(LABEL));
            for line in summary(a, Some(&label)).lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        return out;
    }
    match analysis.valid {
        Validity::Valid => {
            let _ = writeln!(out, "linearizable ({})", analysis.analyzer);
        }
        Validity::Unknown => {
            let cause = analysis.cause.map_or("unknown", |c| c.name());
            let _ = writeln!(
                out,
                "UNKNOWN: the search stopped ({cause}) before a verdict ({})",
                analysis.analyzer
            );
            if let Some(p) = analysis.longest_prefix {
                let next = p.next_index.map_or("none reached".to_string(), |i| format!("op {i}"));
                let _ =
                    writeln!(out, "  linearized the first {} :ok operations; stuck at {next}", p.linearized);
            }
        }
        Validity::Invalid => {
            let _ = writeln!(out, "NOT linearizable ({})", analysis.analyzer);
            match &analysis.op {
                Some(op) if analysis.op_bound => {
                    let _ = writeln!(
                        out,
                        "  no order gets past: {} (an earlier op may fail first)",
                        describe(op)
                    );
                }
                Some(op) => {
                    let _ = writeln!(out, "  cannot linearize: {}", describe(op));
                }
                None => {}
            }
            match &analysis.previous_ok {
                Some(op) => {
                    let _ = writeln!(out, "  previous ok: {}", describe(op));
                }
                None => out.push_str("  previous ok: none\n"),
            }
            if let Some(path) = analysis.final_paths.first() {
                let _ = writeln!(
                    out,
                    "  a final path ({} shown in the EDN analysis):",
                    analysis.final_paths.len()
                );
                for step in path {
                    let state = match step.model.get("msg") {
                        Some(msg) => format!("✗ {}", msg.to_str()),
                        None => step.model.to_edn_short(LABEL),
                    };
                    let _ = writeln!(out, "    {} → {state}", step.op.to_edn_short(LABEL));
                }
            }
        }
    }
    out
}
