//! The HTML report: one self-contained page (inline CSS and SVG, no scripts, no
//! fonts or anything else fetched), written as well-formed XML so that it can be
//! checked by an XML parser as well as read in a browser.

use super::window::{index_of, Outcome, Timeline};
use super::{
    diagram, duration_text, failures, is_inconsistency, op_text, plural, prose, state_text, witnesses,
    xml_safe, Entry, Failure, Rejected, DETAIL, MAX_KEYS,
};
use crate::analysis::{Analysis, Validity};
use crate::explain::Explanation;
use crate::render::MAX_WARNINGS;
use crate::value::Value;
use std::collections::HashSet;
use std::fmt::Write as _;

/// Op maps in the page's details are cut to about this many characters.
const FULL: usize = 4000;
/// At most this many final paths are listed.
const MAX_PATHS: usize = 50;
/// At most this many keys are listed in a table of keys.
const MAX_KEY_ROWS: usize = 200;

const CSS: &str = "
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #222; margin: 0; background: #f4f5f7; }
main { max-width: 1500px; margin: 0 auto; padding: 16px 24px 40px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 0 0 6px; word-break: break-all; }
h3 { font-size: 15px; margin: 18px 0 6px; }
h3.key { font-size: 16px; border-top: 1px solid #dde0e4; padding-top: 12px; }
section { background: #fff; border: 1px solid #dde0e4; border-radius: 6px; padding: 14px 18px; margin: 16px 0; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #e4e6e9; padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
th { color: #555; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, td.code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace; font-size: 12px; }
pre { background: #f7f8fa; padding: 8px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
.verdict { display: inline-block; border-radius: 4px; padding: 1px 8px; font-size: 13px; font-weight: 600; vertical-align: middle; }
.valid { background: #dcf1e0; color: #1b5e20; }
.invalid { background: #fbdcdc; color: #b71c1c; }
.unknown { background: #fdefd0; color: #7a4f00; }
.meta { color: #555; margin: 2px 0 10px; }
.warning { border-left: 4px solid #e0a800; padding: 2px 12px; margin: 6px 0; background: #fffbea; }
.explain { border-left: 4px solid #c62828; padding: 2px 12px; margin: 10px 0; background: #fdf6f6; }
.explain p { margin: 6px 0; }
.explain p:first-child { font-weight: 600; }
p.sentence { font-size: 16px; font-weight: 600; margin: 8px 0; }
p.hint { color: #555; font-style: italic; }
.diagram { overflow-x: auto; border: 1px solid #e4e6e9; margin: 10px 0; }
.diagram svg { display: block; }
tr.illegal td { color: #b71c1c; font-weight: 600; }
tr.first td { border-top: 2px solid #c9ccd1; }
footer { color: #777; font-size: 12px; margin-top: 24px; }
";

/// The page for these entries.
pub(super) fn render(title: &str, entries: &[Entry], rejected: &[Rejected]) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\" xmlns=\"http://www.w3.org/1999/xhtml\">\n<head>\n");
    out.push_str("<meta charset=\"utf-8\"/>\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    let _ = writeln!(out, "<title>{}</title>", esc(title));
    let _ = writeln!(out, "<style>{CSS}</style>\n</head>\n<body>\n<main>");
    let _ = writeln!(out, "<h1>{}</h1>", esc(title));
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", esc(&verdicts(entries, rejected.len())));
    let counts: Vec<Counts> = entries.iter().map(|e| Counts::of(&Timeline::new(e.history))).collect();
    if entries.len() + rejected.len() > 1 {
        summary(&mut out, entries, &counts, rejected);
    }
    for (n, entry) in entries.iter().enumerate() {
        section(&mut out, n, entry, &counts[n]);
    }
    for (n, r) in rejected.iter().enumerate() {
        let _ = writeln!(
            out,
            "<section id=\"rejected-{n}\">\n<h2>{} {ERROR_BADGE}</h2>\n<p>Not checked: the file could not be read \
             as a history.</p>\n<pre>{}</pre>\n</section>",
            esc(&r.name),
            esc(&r.message)
        );
    }
    let _ = writeln!(
        out,
        "<footer>Written by knossos-rs {}. This page is self-contained: it loads nothing.</footer>",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str("</main>\n</body>\n</html>\n");
    xml_safe(out)
}

/// Escapes text for HTML and XML alike.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// "3 histories: 1 not linearizable, 2 linearizable", and how many files were
/// not checked.
fn verdicts(entries: &[Entry], rejected: usize) -> String {
    let count = |v: Validity| entries.iter().filter(|e| e.analysis.valid == v).count();
    let parts: Vec<String> = [
        (Validity::Invalid, "not linearizable"),
        (Validity::Unknown, "unknown"),
        (Validity::Valid, "linearizable"),
    ]
    .into_iter()
    .filter(|&(v, _)| count(v) > 0)
    .map(|(v, name)| format!("{} {name}", count(v)))
    .collect();
    let noun = if entries.len() == 1 { "history" } else { "histories" };
    let mut text = format!("{} {noun}: {}", entries.len(), parts.join(", "));
    if rejected > 0 {
        let _ = write!(text, "; {} not checked (input errors)", plural(rejected, "file", "files"));
    }
    text
}

/// The badge of a file that could not be checked.
const ERROR_BADGE: &str = "<span class=\"verdict unknown\">input error</span>";

/// The verdict as a badge.
fn badge(valid: Validity) -> &'static str {
    match valid {
        Validity::Valid => "<span class=\"verdict valid\">linearizable</span>",
        Validity::Invalid => "<span class=\"verdict invalid\">not linearizable</span>",
        Validity::Unknown => "<span class=\"verdict unknown\">unknown</span>",
    }
}

/// What a history holds.
struct Counts {
    ops: usize,
    ok: usize,
    crashed: usize,
    failed: usize,
    processes: usize,
}

impl Counts {
    fn of(timeline: &Timeline) -> Counts {
        let history = timeline.history;
        let of = |o: Outcome| timeline.bars.iter().filter(|b| b.outcome == o).count();
        let processes: HashSet<&Value> =
            history.ops.iter().filter(|op| !op.is_nemesis()).map(|op| op.process()).collect();
        Counts {
            ops: history.ops.len(),
            ok: of(Outcome::Ok),
            crashed: of(Outcome::Crashed),
            failed: of(Outcome::Failed),
            processes: processes.len(),
        }
    }

    /// "590 ops: 180 ok, 26 crashed and 12 failed operations by 14 processes".
    fn text(&self) -> String {
        format!(
            "{}: {} ok, {} crashed and {} failed operations by {}",
            plural(self.ops, "op", "ops"),
            self.ok,
            self.crashed,
            self.failed,
            plural(self.processes, "process", "processes")
        )
    }
}

/// The table of all entries.
fn summary(out: &mut String, entries: &[Entry], counts: &[Counts], rejected: &[Rejected]) {
    out.push_str(
        "<table class=\"summary\">\n<thead><tr><th>history</th><th>verdict</th><th>ops</th><th>ok</th>\
         <th>crashed</th><th>failed</th><th>processes</th><th>checked in</th><th>failing op</th></tr></thead>\n<tbody>\n",
    );
    for (n, (entry, c)) in entries.iter().zip(counts).enumerate() {
        let failing = entry.analysis.op.as_ref().map_or_else(String::new, |op| op.index.to_string());
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#entry-{n}\">{}</a></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{failing}</td></tr>",
            esc(&entry.name),
            badge(entry.analysis.valid),
            c.ops,
            c.ok,
            c.crashed,
            c.failed,
            c.processes,
            duration_text(entry.elapsed)
        );
    }
    for (n, r) in rejected.iter().enumerate() {
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#rejected-{n}\">{}</a></td><td>{ERROR_BADGE}</td><td colspan=\"7\">not checked</td></tr>",
            esc(&r.name)
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

/// An entry's section.
fn section(out: &mut String, n: usize, entry: &Entry, counts: &Counts) {
    let analysis = entry.analysis;
    let _ = writeln!(out, "<section id=\"entry-{n}\">");
    let _ = writeln!(out, "<h2>{} {}</h2>", esc(&entry.name), badge(analysis.valid));
    let _ = writeln!(
        out,
        "<p class=\"meta\">{}; checked in {} by {}.</p>",
        esc(&counts.text()),
        duration_text(entry.elapsed),
        esc(analysis.analyzer)
    );
    for w in analysis.warnings.iter().take(MAX_WARNINGS) {
        let _ = writeln!(out, "<p class=\"warning\">Warning: {}</p>", esc(w));
    }
    if analysis.warnings.len() > MAX_WARNINGS {
        let more = analysis.warnings.len() - MAX_WARNINGS;
        let _ = writeln!(
            out,
            "<p class=\"warning\">… and {more} more warnings; the EDN analysis lists them all.</p>"
        );
    }
    // What is drawn: the failures of an invalid analysis, the witnesses of a valid one.
    let drawn = match analysis.valid {
        Validity::Valid => witnesses(entry.history, analysis, MAX_KEYS),
        Validity::Invalid => failures(entry.history, analysis, MAX_KEYS),
        Validity::Unknown => Vec::new(),
    };
    let anchor = |j: usize| format!("entry-{n}-key-{j}");
    let anchors: Vec<(&Value, String)> =
        drawn.iter().enumerate().filter_map(|(j, d)| Some((d.key?, anchor(j)))).collect();
    if !analysis.results.is_empty() {
        keys(out, analysis, &anchors);
    }
    let heading = |out: &mut String, j: usize| {
        if let Some(key) = drawn[j].key {
            let _ = writeln!(
                out,
                "<h3 class=\"key\" id=\"{}\">Key <code>{}</code></h3>",
                anchor(j),
                esc(&key.to_edn_short(DETAIL))
            );
        }
    };
    match analysis.valid {
        Validity::Valid => {
            let crashed = match counts.crashed {
                0 => String::new(),
                n => format!(" (and some of the {n} crashed ones)"),
            };
            let _ = writeln!(
                out,
                "<p>Linearizable: an order of the {} ok operations{crashed}, consistent with real \
                 time, explains every result.</p>",
                counts.ok
            );
            for (j, witness) in drawn.iter().enumerate() {
                heading(out, j);
                out.push_str("<div class=\"diagram\">\n");
                out.push_str(&witness.witness_diagram());
                out.push_str("\n</div>\n");
            }
        }
        Validity::Unknown => unknown(out, analysis),
        Validity::Invalid => {
            if let Some(explanation) = entry.explanation {
                core_section(out, explanation);
            }
            for (j, failure) in drawn.iter().enumerate() {
                heading(out, j);
                invalid(out, failure);
            }
        }
    }
    out.push_str("</section>\n");
}

/// The explanation, first: the sentence, the core's operations in words, and the
/// core's diagram. The whole history's explanation follows.
fn core_section(out: &mut String, explanation: &Explanation) {
    let _ = writeln!(out, "<p class=\"sentence\">{}</p>", esc(&explanation.sentence));
    if let Some(hint) = &explanation.hint {
        let _ = writeln!(out, "<p class=\"hint\">{}</p>", esc(hint));
    }
    let timeline = Timeline::new(&explanation.core.history);
    out.push_str("<h3>The core</h3>\n<div class=\"explain core\">\n");
    for line in prose::core(&timeline, explanation) {
        let _ = writeln!(out, "<p>{}</p>", esc(line.trim_start()));
    }
    out.push_str("</div>\n");
    if explanation.analysis.valid == Validity::Invalid {
        let svg = diagram::render(&timeline, &explanation.analysis, explanation.core.key.as_ref());
        let _ = writeln!(out, "<div class=\"diagram\">\n{svg}\n</div>");
    }
    out.push_str("<h3>The whole history</h3>\n");
}

fn unknown(out: &mut String, analysis: &Analysis) {
    let cause = analysis.cause.map_or("unknown", |c| c.name());
    let _ = write!(out, "<p>Unknown: the search stopped ({}) before a verdict.", esc(cause));
    if let Some(p) = analysis.longest_prefix {
        let _ = write!(out, " It linearized the first {} :ok operations", p.linearized);
        match p.next_index {
            Some(i) => {
                let _ = write!(out, " and was stuck at op {i}.");
            }
            None => out.push('.'),
        }
    }
    out.push_str("</p>\n");
}

/// The keys of a history checked key by key: how many, and every key's verdict,
/// those not linearizable or unknown first, with their failing ops; a key drawn
/// below links to its drawing (`anchors`).
fn keys(out: &mut String, analysis: &Analysis, anchors: &[(&Value, String)]) {
    let bad: Vec<&(Value, Analysis)> =
        analysis.results.iter().filter(|(_, a)| a.valid != Validity::Valid).collect();
    let good = analysis.results.iter().filter(|(_, a)| a.valid == Validity::Valid);
    let _ = writeln!(
        out,
        "<p>Checked key by key: {} keys, {} not linearizable, {} unknown.</p>",
        analysis.results.len(),
        analysis.failures.len(),
        bad.iter().filter(|(_, a)| a.valid == Validity::Unknown).count()
    );
    let rows = analysis.results.len();
    out.push_str("<table class=\"keys\">\n<thead><tr><th>key</th><th>verdict</th><th>failing op</th></tr></thead>\n<tbody>\n");
    for (key, a) in bad.iter().copied().chain(good).take(MAX_KEY_ROWS) {
        let failing = a.op.as_ref().map_or_else(String::new, |op| op.index.to_string());
        let text = esc(&key.to_edn_short(DETAIL));
        let cell = match anchors.iter().find(|(k, _)| *k == key) {
            Some((_, anchor)) => format!("<a href=\"#{anchor}\">{text}</a>"),
            None => text,
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"code\">{cell}</td><td>{}</td><td class=\"num\">{failing}</td></tr>",
            badge(a.valid)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if rows > MAX_KEY_ROWS {
        let _ = writeln!(out, "<p>The first {MAX_KEY_ROWS} of {rows} keys listed.</p>");
    }
    if analysis.failures.len() > MAX_KEYS {
        let _ =
            writeln!(out, "<p>The first {MAX_KEYS} keys that are not linearizable are explained below.</p>");
    }
}

/// An anomaly: the explanation, the diagram, the final paths and the analysis's details.
fn invalid(out: &mut String, failure: &Failure) {
    let analysis = failure.analysis;
    out.push_str("<div class=\"explain\">\n");
    for line in failure.explain() {
        let _ = writeln!(out, "<p>{}</p>", esc(&line));
    }
    out.push_str("</div>\n<div class=\"diagram\">\n");
    out.push_str(&failure.diagram());
    out.push_str("\n</div>\n");
    paths(out, analysis);
    details(out, analysis);
}

/// The final paths as a table: a row per step.
fn paths(out: &mut String, analysis: &Analysis) {
    let shown = analysis.final_paths.len();
    let count = match analysis.final_paths_count {
        Some((count, true)) => format!("{shown} of at least {count}"),
        Some((count, false)) if count != shown => format!("{shown} of {count}"),
        _ => shown.to_string(),
    };
    let _ = writeln!(out, "<h3>Final paths ({count})</h3>");
    if analysis.final_paths.is_empty() {
        out.push_str("<p>The analysis lists no final paths.</p>\n");
        return;
    }
    out.push_str(
        "<p>Orders of the operations still open when the failing one completed, starting from a state the \
         search reached: every step but the last is legal, the last is the failing operation.</p>\n",
    );
    out.push_str(
        "<table class=\"paths\">\n<thead><tr><th>path</th><th>op</th><th>process</th><th>outcome</th>\
         <th>operation</th><th>model after it</th></tr></thead>\n<tbody>\n",
    );
    for (n, path) in analysis.final_paths.iter().take(MAX_PATHS).enumerate() {
        for (k, step) in path.iter().enumerate() {
            let illegal = is_inconsistency(&step.model);
            let class = match (k, illegal) {
                (0, true) => " class=\"first illegal\"",
                (0, false) => " class=\"first\"",
                (_, true) => " class=\"illegal\"",
                _ => "",
            };
            let cell = |key: &str| step.op.get(key).map_or_else(String::new, |v| esc(&v.to_edn_short(40)));
            // An operation without an :ok in a path is one that crashed.
            let kind = match step.op.get("type").and_then(Value::as_keyword) {
                Some("invoke") => "crashed".to_string(),
                _ => cell("type"),
            };
            let number = if k == 0 { (n + 1).to_string() } else { String::new() };
            let index = index_of(&step.op).map_or_else(String::new, |i| i.to_string());
            let state = state_text(&step.model, DETAIL);
            let state = if illegal { format!("✗ {state}") } else { state };
            let _ = writeln!(
                out,
                "<tr{class}><td class=\"num\">{number}</td><td class=\"num\">{index}</td><td>{}</td><td>{}</td>\
                 <td class=\"code\">{}</td><td class=\"code\">{}</td></tr>",
                cell("process"),
                kind,
                esc(&op_text(&step.op, DETAIL)),
                esc(&state)
            );
        }
    }
    out.push_str("</tbody>\n</table>\n");
    if analysis.final_paths.len() > MAX_PATHS {
        let _ = writeln!(
            out,
            "<p>The first {MAX_PATHS} of {} final paths; the EDN analysis has them all.</p>",
            analysis.final_paths.len()
        );
    }
}

/// The op maps of the analysis and its configurations, as EDN.
fn details(out: &mut String, analysis: &Analysis) {
    use crate::history::line_note;
    out.push_str("<details>\n<summary>The failing op, the previous ok, the last op and the configurations (EDN)</summary>\n<pre>");
    let op = |name: &str, op: Option<&crate::history::OpMap>| {
        let text =
            op.map_or_else(|| "nil".into(), |o| format!("{}{}", o.map.to_edn_short(FULL), line_note(o.line)));
        format!("{name} {text}\n")
    };
    out.push_str(&esc(&op(":op", analysis.op.as_ref())));
    if analysis.op_bound {
        out.push_str(":op-bound? true (no order gets past :op; an earlier op may fail first)\n");
    }
    out.push_str(&esc(&op(":previous-ok", analysis.previous_ok.as_ref())));
    out.push_str(&esc(&op(":last-op", analysis.last_op.as_ref())));
    for c in &analysis.configs {
        let pending: Vec<String> = c.pending.iter().map(|p| p.to_edn_short(DETAIL)).collect();
        let last = c.last_op.as_ref().map_or_else(|| "nil".into(), |l| l.to_edn_short(DETAIL));
        let line = format!(
            ":config {} after {last}, pending [{}]\n",
            c.model.to_edn_short(DETAIL),
            pending.join(" ")
        );
        out.push_str(&esc(&line));
    }
    out.push_str("</pre>\n</details>\n");
}
