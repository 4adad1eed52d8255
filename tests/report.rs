//! Reports: the SVG diagram and the HTML page are well-formed XML, name the
//! failing op, and never panic, on the corpus, on odd inputs and on thousands of
//! random invalid histories.
//!
//! `KNOSSOS_REPORT_DIR=DIR cargo test --release --test report` also writes the
//! reports of the corpus's invalid histories and of the odd and wide ones below to
//! `DIR/<name>/`, for looking at.

mod common;

use knossos_rs::analysis::{Analysis, ConfigReport, PathStep, Validity};
use knossos_rs::model::{self, ModelOptions};
use knossos_rs::read::{self, RawOp};
use knossos_rs::{check, report, History, Options, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::Duration;

fn model(init: Option<Value>) -> model::DynModel {
    model::builtin("cas-register", &ModelOptions::default().init(init)).unwrap()
}

fn history(edn: &str) -> History {
    let ops = read::RawOp::read(edn.as_bytes(), "test.edn", None).unwrap();
    History::complete(ops, &model(Some(Value::Int(0)))).unwrap()
}

/// The rows of a page's table of keys: each key's text, and whether it links to
/// the heading of that key's drawing (checked here: the link's target must exist
/// and name the same key).
fn key_links(html: &str) -> Vec<(String, bool)> {
    let doc = roxmltree::Document::parse(html.strip_prefix("<!DOCTYPE html>").unwrap()).unwrap();
    let text = |node: roxmltree::Node| {
        node.descendants().filter(|d| d.is_text()).filter_map(|d| d.text()).collect::<String>()
    };
    let table = doc.descendants().find(|n| n.attribute("class") == Some("keys")).expect("a table of keys");
    let rows = table.descendants().filter(|n| n.has_tag_name("tr")).skip(1);
    rows.map(|row| {
        let cell = row.children().find(|n| n.has_tag_name("td")).unwrap();
        let link = cell.children().find(|n| n.has_tag_name("a"));
        if let Some(link) = link {
            let id =
                link.attribute("href").and_then(|h| h.strip_prefix('#')).expect("a link within the page");
            let target = doc.descendants().find(|n| n.attribute("id") == Some(id)).expect("its target");
            assert!(target.has_tag_name("h3"), "{id}");
            assert_eq!(text(target), format!("Key {}", text(cell)), "{id}");
        }
        (text(cell), link.is_some())
    })
    .collect()
}

/// Parses a document as XML, and a page also as HTML5 (html5ever, through scraper,
/// reports every parse error the HTML standard defines), or fails the test with the
/// reason and the text around it.
fn parse(what: &str, doc: &str) {
    let body = doc.strip_prefix("<!DOCTYPE html>").unwrap_or(doc);
    if let Err(e) = roxmltree::Document::parse(body) {
        let pos = e.pos();
        let line = body.lines().nth(pos.row as usize - 1).unwrap_or("");
        panic!("{what}: not well-formed XML: {e}\n{line}");
    }
    if body.len() != doc.len() {
        let html = scraper::Html::parse_document(doc);
        assert!(html.errors.is_empty(), "{what}: HTML parse errors: {:?}", html.errors);
    }
}

/// With `KNOSSOS_REPORT_DIR` set, writes the report of one history to `DIR/<stem>/`.
fn keep(stem: &str, name: &str, history: &History, analysis: &Analysis, elapsed: Duration) {
    if let Some(out) = std::env::var_os("KNOSSOS_REPORT_DIR") {
        let entries = [report::Entry { name: name.into(), history, analysis, explanation: None, elapsed }];
        report::write(&Path::new(&out).join(stem), name, &entries, &[]).unwrap();
    }
}

/// Checks everything a report of an invalid analysis must be; returns the three texts.
fn reports(name: &str, history: &History, analysis: &Analysis) -> (String, String, String) {
    assert_eq!(analysis.valid, Validity::Invalid, "{name}");
    let svg = report::svg(history, analysis).expect("an invalid analysis has a diagram");
    let entry = report::Entry {
        name: name.into(),
        history,
        analysis,
        explanation: None,
        elapsed: Duration::from_micros(1234),
    };
    let html = report::html(&format!("report of {name}"), &[entry], &[]);
    let words = report::explain(history, analysis, None).expect("an invalid analysis has an explanation");
    parse(&format!("{name}: svg"), &svg);
    parse(&format!("{name}: html"), &html);
    // The failing ops: the analysis's, or each failing key's (the diagram and the
    // words are about the first).
    let failing: Vec<u64> = if analysis.results.is_empty() {
        analysis.op.iter().map(|op| op.index).collect()
    } else {
        analysis.results.iter().filter_map(|(_, a)| a.op.as_ref()).map(|op| op.index).take(20).collect()
    };
    for (n, index) in failing.iter().enumerate() {
        let named = format!("op {index}");
        assert!(html.contains(&named), "{name}: the page names {named}");
        if n == 0 {
            assert!(svg.contains(&named), "{name}: the diagram names {named}");
            assert!(words.contains(&format!("at index {index}")), "{name}: {words}");
        }
    }
    (svg, html, words)
}

#[test]
fn corpus_reports_are_well_formed_and_name_the_failing_op() {
    let Some(dir) = common::corpus() else { return };
    let mut checked = 0;
    for entry in common::manifest(&dir) {
        if entry.expected || !model::ModelInfo::NAMES.contains(&entry.model.as_str()) {
            continue;
        }
        let model = entry.model();
        let history = History::complete(read::RawOp::read_path(&entry.path, None).unwrap(), &model).unwrap();
        let started = std::time::Instant::now();
        let analysis = check(&model, &history, &Options::default());
        let elapsed = started.elapsed();
        let (svg, _, words) = reports(&entry.name, &history, &analysis);
        assert!(svg.len() < 200_000, "{}: the diagram is {} bytes", entry.name, svg.len());
        assert!(words.lines().count() <= 5, "{}: {words}", entry.name);
        // Self-contained: nothing for a browser to fetch.
        let html = report::html(
            "t",
            &[report::Entry {
                name: "n".into(),
                history: &history,
                analysis: &analysis,
                explanation: None,
                elapsed,
            }],
            &[],
        );
        for fetch in ["<script", "<link", "<img", "src=", "url(", "@import", "href=\"http"] {
            assert!(!html.contains(fetch), "{}: the page has {fetch}", entry.name);
        }
        let stem = Path::new(&entry.name).file_stem().unwrap().to_string_lossy();
        keep(&stem, &entry.name, &history, &analysis, elapsed);
        checked += 1;
    }
    // 7 Knossos cas-register histories, 40 etcd logs, and those of the other models.
    assert!(checked >= 47, "{checked}");
}

#[test]
fn rethink_fail_is_explained_in_words() {
    let Some(dir) = common::corpus() else { return };
    let path = dir.join("knossos/cas-register/bad/rethink-fail.edn");
    let model = model(Some(Value::Int(0)));
    let history = History::complete(read::RawOp::read_path(&path, None).unwrap(), &model).unwrap();
    let analysis = check(&model, &history, &Options::default());
    let words = report::explain(&history, &analysis, None).unwrap();
    let first = words.lines().next().unwrap();
    assert!(first.starts_with("Process 12 read 3 at index 217"), "{words}");
    assert!(
        first.contains("after the operations that must precede it, the register could only hold "),
        "{words}"
    );
}

/// The first line of the explanation of a history checked whole (not key by key).
fn explained_whole<M: knossos_rs::Model + ?Sized>(model: &M, edn: &str) -> String {
    let history =
        History::complete(read::RawOp::read(edn.as_bytes(), "t.edn", None).unwrap(), model).unwrap();
    let analysis = check(model, &history, &Options::default().partition(false));
    assert_eq!(analysis.valid, Validity::Invalid);
    report::explain(&history, &analysis, None).unwrap().lines().next().unwrap().to_string()
}

#[test]
fn a_store_checked_whole_is_explained_by_the_failing_key_alone() {
    // kv: "a" is put "x" and "b" "y", one after the other; then "b" is read as "z".
    // Only "b" matters to the read, and it can only hold "y".
    let kv = model::builtin("kv", &ModelOptions::default()).unwrap();
    let line = explained_whole(
        &kv,
        r#"{:process 0, :type :invoke, :f :put, :key "a", :value "x"}
{:process 0, :type :ok, :f :put, :key "a", :value "x"}
{:process 0, :type :invoke, :f :put, :key "b", :value "y"}
{:process 0, :type :ok, :f :put, :key "b", :value "y"}
{:process 1, :type :invoke, :f :get, :key "b"}
{:process 1, :type :ok, :f :get, :key "b", :value "z"}"#,
    );
    assert!(line.ends_with(r#"key "b" could only hold "y"."#), "{line}");
    assert!(!line.contains(r#""x""#), "{line}");
    // --independent registers: key 1 holds 5 and key 2 holds 7 when key 2 is read as 5.
    let independent = knossos_rs::partition::Independent(model(None));
    let line = explained_whole(
        &independent,
        "{:process 0, :type :invoke, :f :write, :value [1 5]}\n{:process 0, :type :ok, :f :write, :value [1 5]}\n\
         {:process 0, :type :invoke, :f :write, :value [2 7]}\n{:process 0, :type :ok, :f :write, :value [2 7]}\n\
         {:process 1, :type :invoke, :f :read, :value [2 nil]}\n{:process 1, :type :ok, :f :read, :value [2 5]}",
    );
    assert!(line.ends_with("key 2 could only hold 7."), "{line}");
}

#[test]
fn write_creates_the_directory_and_a_diagram_per_invalid_entry() {
    let dir = std::env::temp_dir().join(format!("knossos-report-test-{}", std::process::id()));
    let bad = history(
        "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}\n\
         {:process 1, :type :invoke, :f :read}\n{:process 1, :type :ok, :f :read, :value 2}",
    );
    let good = history(
        "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}",
    );
    let m = model(Some(Value::Int(0)));
    let (a_bad, a_good) = (check(&m, &bad, &Options::default()), check(&m, &good, &Options::default()));
    let entry = |name: &str, history, analysis| report::Entry {
        name: name.into(),
        history,
        analysis,
        explanation: None,
        elapsed: Duration::from_millis(3),
    };
    let entries = [
        entry("bad/one.edn", &bad, &a_bad),
        entry("good.edn", &good, &a_good),
        entry("bad:one.edn", &bad, &a_bad),
    ];
    let written = report::write(&dir.join("nested"), "two <histories> & \"quotes\"", &entries, &[]).unwrap();
    let names: Vec<String> =
        written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["report.html", "bad_one.edn.svg", "bad_one.edn-2.svg"]);
    for path in &written {
        parse(&path.display().to_string(), &std::fs::read_to_string(path).unwrap());
    }
    let html = std::fs::read_to_string(&written[0]).unwrap();
    assert!(html.contains("two &lt;histories&gt; &amp; &quot;quotes&quot;"));
    assert!(html.contains("Linearizable: an order"), "the valid entry gets a summary");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn valid_and_unknown_analyses_have_no_diagram() {
    let h = history(
        "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}",
    );
    let mut a = check(&model(None), &h, &Options::default());
    assert_eq!(a.valid, Validity::Valid);
    assert!(report::svg(&h, &a).is_none() && report::explain(&h, &a, None).is_none());
    a.valid = Validity::Unknown;
    assert!(report::svg(&h, &a).is_none() && report::explain(&h, &a, None).is_none());
    let html = report::html(
        "t",
        &[report::Entry {
            name: "x".into(),
            history: &h,
            analysis: &a,
            explanation: None,
            elapsed: Duration::ZERO,
        }],
        &[],
    );
    parse("unknown", &html);
    assert!(html.contains("Unknown: the search stopped"));
}

#[test]
fn odd_processes_values_and_a_failure_at_the_first_op() {
    let huge = "x".repeat(1_000_000);
    let edn = format!(
        "{{:process :a<b, :type :invoke, :f :read}}\n\
         {{:process :a<b, :type :ok, :f :read, :value \"<&>\\\"'\\u0001\\u001b[31m\"}}\n\
         {{:process \"w&\\\"o\", :type :invoke, :f :write, :value \"{huge}\"}}\n\
         {{:process :nemesis, :type :info, :f :start, :value {{\"n1\" #{{\"n2\"}}}}}}\n\
         {{:process 99999999999999999999999N, :type :invoke, :f :cas, :value [\"<\" \"&\"]}}\n\
         {{:process \"w&\\\"o\", :type :ok, :f :write, :value \"{huge}\"}}\n\
         {{:process 3, :type :invoke, :f :read}}\n{{:process 3, :type :ok, :f :read, :value \"&amp;\"}}"
    );
    let h = history(&edn);
    let a = check(&model(Some(Value::Int(0))), &h, &Options::default());
    let (svg, html, words) = reports("odd", &h, &a);
    keep("odd", "odd <values> & \"quotes\".edn", &h, &a, Duration::from_millis(1));
    assert_eq!(a.op.as_ref().unwrap().index, 1, "the very first completion fails");
    assert!(svg.len() < 100_000 && html.len() < 200_000, "huge values are cut");
    assert!(!words.contains('\u{1b}'), "no escape sequences reach a terminal");
    assert!(svg.contains("&lt;&amp;&gt;"), "values are escaped, not dropped");
}

#[test]
fn analyses_that_do_not_match_their_history_do_not_panic() {
    let h = history("{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read, :value 1}");
    let mut a = check(&model(Some(Value::Int(0))), &h, &Options::default());
    /// An op the history does not have.
    fn stranger() -> Value {
        Value::kw_map([("index", Value::Int(77)), ("type", Value::keyword("ok"))])
    }
    // Each change is applied on top of the previous ones.
    let variants: [fn(&mut Analysis); 7] = [
        |a| a.final_paths.clear(),
        |a| a.configs.clear(),
        |a| a.op.as_mut().unwrap().index = 12345,
        |a| a.op = None,
        |a| {
            a.final_paths = vec![
                vec![],
                vec![PathStep { op: stranger(), model: Value::Nil }],
                vec![PathStep { op: Value::Int(3), model: Value::kw_map([("msg", Value::Int(1))]) }],
            ]
        },
        |a| {
            a.configs =
                vec![ConfigReport { model: Value::Nil, last_op: Some(stranger()), pending: vec![stranger()] }]
        },
        |a| a.previous_ok = a.op.clone(),
    ];
    let empty = History::default();
    for (n, change) in variants.iter().enumerate() {
        change(&mut a);
        // Against its own history, and against an empty one.
        for h in [&h, &empty] {
            let svg = report::svg(h, &a).unwrap();
            parse(&format!("variant {n}"), &svg);
            assert!(report::explain(h, &a, None).is_some());
            let entry = report::Entry {
                name: n.to_string(),
                history: h,
                analysis: &a,
                explanation: None,
                elapsed: Duration::ZERO,
            };
            parse(&format!("variant {n}"), &report::html("t", &[entry], &[]));
        }
    }
}

/// A history checked key by key: a diagram per failing key, of that key's
/// operations only, and words that say which keys failed.
#[test]
fn keyed_histories_are_reported_key_by_key() {
    let edn = "{:process 0, :type :invoke, :f :put, :key \"a\", :value \"x\"}\n\
               {:process 1, :type :invoke, :f :put, :key \"b\", :value \"zz\"}\n\
               {:process 0, :type :ok, :f :put, :key \"a\", :value \"x\"}\n\
               {:process 1, :type :ok, :f :put, :key \"b\", :value \"zz\"}\n\
               {:process :nemesis, :type :info, :f :start, :value nil}\n\
               {:process 2, :type :invoke, :f :get, :key \"a\"}\n\
               {:process 3, :type :invoke, :f :get, :key \"b\"}\n\
               {:process 4, :type :invoke, :f :get, :key \"c\"}\n\
               {:process 2, :type :ok, :f :get, :key \"a\", :value \"y\"}\n\
               {:process 3, :type :ok, :f :get, :key \"b\", :value \"zz\"}\n\
               {:process 4, :type :ok, :f :get, :key \"c\", :value \"q\"}";
    let kv = model::builtin("kv", &ModelOptions::default()).unwrap();
    let h = History::complete(read::RawOp::read(edn.as_bytes(), "kv.edn", None).unwrap(), &kv).unwrap();
    let a = check(&kv, &h, &Options::default());
    assert_eq!((a.results.len(), a.failures.len()), (3, 2), "{}", a.to_value());
    let (svg, html, words) = reports("kv", &h, &a);
    assert!(svg.contains("key \"a\": op 8"), "the diagram is the first failing key's");
    assert!(!svg.contains("zz"), "and holds none of another key's ops");
    assert!(svg.contains(":nemesis"), "but the nemesis's, which belong to every key");
    assert!(words.starts_with("2 of 3 keys are not linearizable: \"a\" and \"c\". Key \"a\":"), "{words}");
    assert!(html.contains("Checked key by key: 3 keys, 2 not linearizable"));
    // The failing keys first; each links to its drawing, the valid one has none.
    let expected = [("\"a\"".into(), true), ("\"c\"".into(), true), ("\"b\"".into(), false)];
    assert_eq!(key_links(&html), expected);
    let dir = std::env::temp_dir().join(format!("knossos-report-kv-{}", std::process::id()));
    let entry = report::Entry {
        name: "kv.edn".into(),
        history: &h,
        analysis: &a,
        explanation: None,
        elapsed: Duration::ZERO,
    };
    let written = report::write(&dir, "kv", &[entry], &[]).unwrap();
    let names: Vec<String> =
        written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["report.html", "kv.edn_key_a.svg", "kv.edn_key_c.svg"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Nine crashed writes give factorially many final paths: with a large
/// `max_paths`, the diagram draws ten and the page lists fifty.
#[test]
fn many_final_paths_are_cut() {
    let mut edn = String::new();
    for p in 0..9 {
        edn += &format!("{{:process {p}, :type :invoke, :f :write, :value {p}}}\n");
    }
    edn += "{:process 20, :type :invoke, :f :read}\n{:process 20, :type :ok, :f :read, :value 42}\n";
    let h = history(&edn);
    let a = check(&model(Some(Value::Int(0))), &h, &Options::default().max_paths(500));
    assert_eq!(a.final_paths.len(), 500);
    let (svg, html, _) = reports("paths", &h, &a);
    assert!(svg.contains("10 of 500 final paths drawn"));
    assert!(html.contains("The first 50 of 500 final paths"));
}

/// Many processes concurrent with the failing operation, dozens of them crashed
/// long before, in a long history: the diagram stays a few dozen rows.
#[test]
fn wide_and_long_histories_give_a_small_diagram() {
    let mut edn = String::new();
    let mut op = |p: i64, kind: &str, f: &str, value: &str| {
        edn += &format!("{{:process {p}, :type :{kind}, :f :{f}, :value {value}}}\n");
    };
    // 10 000 ops of writes and reads by rotating processes.
    for i in 0..2500 {
        let (p, v) = (i % 7, (i % 5).to_string());
        op(p, "invoke", "write", &v);
        op(p, "ok", "write", &v);
        op(p, "invoke", "read", "nil");
        op(p, "ok", "read", &v);
    }
    // 60 processes crash writing 9; a read begins; 80 other processes write and
    // read while it runs; it returns a value never written.
    for p in 100..160 {
        op(p, "invoke", "write", "9");
        op(p, "info", "write", "9");
    }
    op(99, "invoke", "read", "nil");
    for p in 300..380 {
        let (f, v) = if p % 2 == 0 { ("write", "4") } else { ("read", "4") };
        op(p, "invoke", f, v);
        op(p, "ok", f, v);
    }
    op(99, "ok", "read", "-1");
    let h = history(&edn);
    let a = check(&model(Some(Value::Int(0))), &h, &Options::default());
    let (svg, _, _) = reports("wide", &h, &a);
    keep("wide", "wide.edn", &h, &a, Duration::from_millis(12));
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let height: f64 = doc.root_element().attribute("height").unwrap().parse().unwrap();
    let bars =
        doc.descendants().filter(|n| n.has_tag_name("rect") && n.attribute("class") == Some("ok")).count();
    assert!(bars <= 64 && height < 1700.0, "{bars} bars, {height} px high");
    assert!(svg.contains("more operations concurrent with the failing one"), "what was left out is said");
}

/// A process, value or message from a pool of awkward ones.
fn awkward(rng: &mut StdRng) -> Value {
    match rng.random_range(0..8) {
        0 => Value::string("<&\"'>"),
        1 => Value::string("\u{0}\u{7}\u{1b}[2J\u{FFFF}"),
        2 => Value::keyword("k&<"),
        3 => Value::string(&"é".repeat(rng.random_range(0..300))),
        4 => Value::Vector(vec![Value::Nil; rng.random_range(0..50)]),
        5 => Value::Float(f64::NAN),
        6 => Value::Map(vec![(Value::string("a\"b"), Value::Set(vec![Value::Char('<')].into()))]),
        _ => Value::Int(rng.random_range(-2..3)),
    }
}

/// A random log: processes of every kind, crashes, failures, nemesis ops, and
/// reads of values that were never written; of a register, or with `keyed`, of a
/// `kv` store under awkward keys.
fn random_log(rng: &mut StdRng, keyed: bool) -> Vec<RawOp> {
    let processes: Vec<Value> = (0..rng.random_range(1..7))
        .map(|i| match rng.random_range(0..4) {
            0 => Value::keyword(&format!("p{i}")),
            1 => Value::string(&format!("w<{i}>&\"")),
            _ => Value::Int(i),
        })
        .collect();
    let mut open: Vec<Option<(Value, Value, Value)>> = vec![None; processes.len()];
    let mut log = Vec::new();
    let kw = Value::keyword;
    for _ in 0..rng.random_range(2..24) {
        let p = rng.random_range(0..processes.len());
        let process = processes[p].clone();
        if rng.random_range(0..10) == 0 {
            let f = kw(if rng.random_bool(0.5) { "start" } else { "stop" });
            log.push(Value::kw_map([
                ("process", kw("nemesis")),
                ("type", kw("info")),
                ("f", f),
                ("value", awkward(rng)),
            ]));
            continue;
        }
        let op = |kind: &str, f: &Value, key: &Value, value: Value| {
            let mut map = Value::kw_map([
                ("process", process.clone()),
                ("type", kw(kind)),
                ("f", f.clone()),
                ("value", value),
            ]);
            if let (Value::Map(entries), true) = (&mut map, keyed) {
                entries.push((kw("key"), key.clone()));
            }
            map
        };
        // A string, for the kv store.
        let text = |rng: &mut StdRng| match awkward(rng) {
            Value::String(s) => Value::String(s),
            other => Value::string(&other.to_edn_short(20)),
        };
        let keys = [Value::string("a"), Value::string("<&\"k'>"), Value::Int(1), Value::keyword("k")];
        match open[p].take() {
            None => {
                let key = keys[rng.random_range(0..keys.len())].clone();
                let (f, value) = match (keyed, rng.random_range(0..3)) {
                    (false, 0) => (kw("read"), Value::Nil),
                    (false, 1) => (kw("write"), awkward(rng)),
                    (false, _) => (kw("cas"), Value::Vector(vec![awkward(rng), awkward(rng)])),
                    (true, 0) => (kw("get"), Value::Nil),
                    (true, 1) => (kw("put"), text(rng)),
                    (true, _) => (kw("append"), text(rng)),
                };
                log.push(op("invoke", &f, &key, value.clone()));
                open[p] = Some((f, key, value));
            }
            Some((f, key, value)) => {
                let (kind, value) = match rng.random_range(0..6) {
                    0 => ("info", value),
                    1 => ("fail", value),
                    _ if f == kw("read") => ("ok", awkward(rng)),
                    _ if f == kw("get") => ("ok", text(rng)),
                    _ => ("ok", value),
                };
                log.push(op(kind, &f, &key, value));
            }
        }
    }
    log.into_iter()
        .enumerate()
        .map(|(i, value)| RawOp { value, line: i as u32 + 1, column: 1, span: 0..0 })
        .collect()
}

#[test]
fn thousands_of_random_invalid_histories_never_panic() {
    let mut rng = StdRng::seed_from_u64(6);
    let register = model(Some(Value::Int(0)));
    let kv = model::builtin("kv", &ModelOptions::default()).unwrap();
    let mut invalid = [0; 2];
    for round in 0..40_000 {
        let keyed = round % 3 == 0;
        let model = if keyed { &kv } else { &register };
        let Ok(history) = History::complete(random_log(&mut rng, keyed), model) else { continue };
        let max_paths = rng.random_range(0..4);
        let analysis = check(model, &history, &Options::default().max_paths(max_paths));
        if analysis.valid != Validity::Invalid {
            continue;
        }
        reports(&format!("random history {round}"), &history, &analysis);
        invalid[keyed as usize] += 1;
        if invalid[0] >= 3000 && invalid[1] >= 1000 {
            break;
        }
    }
    assert!(invalid[0] >= 3000 && invalid[1] >= 1000, "{invalid:?}");
}

#[test]
fn the_html_check_sees_what_a_browser_would_repair() {
    // A stray end tag and an unclosed attribute quote: well-formed checks must catch them.
    for broken in ["<!DOCTYPE html><html><body><p>a</div></body></html>", "<!DOCTYPE html><p title=\"x>a</p>"]
    {
        assert!(!scraper::Html::parse_document(broken).errors.is_empty(), "{broken}");
    }
    assert!(scraper::Html::parse_document(
        "<!DOCTYPE html><html><head><title>t</title></head><body><p>a</p></body></html>"
    )
    .errors
    .is_empty());
}

/// The estimated extent of every text of a diagram outside its legend (which wraps
/// by itself): (left, right, text), from its position, anchor and font.
fn text_extents(svg: &str) -> (f64, Vec<(f64, f64, String)>) {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let root = doc.root_element();
    let view: Vec<f64> =
        root.attribute("viewBox").unwrap().split_whitespace().map(|v| v.parse().unwrap()).collect();
    let mut extents = Vec::new();
    for t in doc.descendants().filter(|n| n.has_tag_name("text")) {
        if t.ancestors().any(|a| a.attribute("class") == Some("legend")) {
            continue;
        }
        let class = t.attribute("class").unwrap_or("");
        // Upper bounds of the character widths of each font the CSS gives.
        let char_width = match class {
            "heading" => 8.5,
            "sub" | "note" => 6.0,
            c if c.contains("state") || c.contains("tick") => 6.1,
            _ => 6.7,
        };
        let content = t.text().unwrap_or("");
        let x: f64 = t.attribute("x").unwrap().parse().unwrap();
        let width = content.chars().count() as f64 * char_width;
        let (left, right) = if class.contains("proc") { (x - width, x) } else { (x, x + width) };
        extents.push((left, right, content.to_string()));
    }
    (view[2], extents)
}

/// Every text of a diagram lies inside it, however long the states and processes:
/// here a kv store whose states hold long keys.
#[test]
fn no_text_is_clipped() {
    let put = |kind: &str, key: &str| {
        let process = "\"a-very-long-process-name\"";
        format!("{{:process {process}, :type :{kind}, :f :put, :key \"{key}\", :value \"v\"}}\n")
    };
    let mut edn = String::new();
    for n in 0..6 {
        let key = format!("a-long-key-{n}");
        edn += &(put("invoke", &key) + &put("ok", &key));
    }
    // The last put completes just before the get does: its state is drawn at the right end.
    edn += "{:process 1, :type :invoke, :f :get, :key \"k\"}\n";
    edn += &(put("invoke", "k") + &put("ok", "k"));
    edn += "{:process 1, :type :ok, :f :get, :key \"k\", :value \"w\"}";
    let kv = model::builtin("kv", &ModelOptions::default()).unwrap();
    let h = History::complete(read::RawOp::read(edn.as_bytes(), "kv.edn", None).unwrap(), &kv).unwrap();
    let a = check(&kv, &h, &Options::default().partition(false));
    let (svg, _, _) = reports("long states", &h, &a);
    let (width, extents) = text_extents(&svg);
    assert!(extents.iter().any(|(_, _, t)| t.starts_with("{\"a-long-key")), "a state label is drawn: {svg}");
    for (left, right, content) in extents {
        assert!(left >= 0.0 && right <= width, "{content:?} spans {left}..{right}, outside 0..{width}");
    }
}

/// The points of each final path's polyline, in order.
fn polylines(svg: &str) -> Vec<Vec<(f64, f64)>> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .map(|n| {
            let points = n.attribute("points").unwrap_or("").split_whitespace();
            points
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

/// Final paths through the same bars stay apart: each ends at the failing op at a
/// height of its own. Bar labels are drawn after (over) the paths' lines.
#[test]
fn final_paths_are_apart_and_under_the_labels() {
    let mut edn = String::new();
    for p in 0..3 {
        edn += &format!("{{:process {p}, :type :invoke, :f :write, :value {p}}}\n");
    }
    edn += "{:process 20, :type :invoke, :f :read}\n{:process 20, :type :ok, :f :read, :value 42}\n";
    let h = history(&edn);
    let a = check(&model(Some(Value::Int(0))), &h, &Options::default().max_paths(5));
    assert!(a.final_paths.len() >= 3, "{}", a.to_value());
    let (svg, _, _) = reports("apart", &h, &a);
    let lines = polylines(&svg);
    assert_eq!(lines.len(), a.final_paths.len().min(10));
    let mut ends: Vec<f64> = lines.iter().map(|l| l.last().unwrap().1).collect();
    ends.sort_by(f64::total_cmp);
    ends.dedup();
    assert_eq!(ends.len(), lines.len(), "each path ends at its own height: {ends:?}");

    let doc = roxmltree::Document::parse(&svg).unwrap();
    let order: Vec<&str> = doc
        .descendants()
        .filter_map(|n| match n.tag_name().name() {
            "polyline" => Some("path"),
            "text" if n.attribute("class").is_some_and(|c| c.split(' ').any(|c| c == "label")) => {
                Some("label")
            }
            _ => None,
        })
        .collect();
    let last_path = order.iter().rposition(|&k| k == "path").unwrap();
    let first_label = order.iter().position(|&k| k == "label").expect("bars have labels");
    assert!(last_path < first_label, "labels are drawn over the paths: {order:?}");
}

/// The marks of a witness diagram: the op index each names, in document order.
fn witness_marks(svg: &str) -> Vec<u64> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("circle") && n.attribute("class").is_some_and(|c| c.contains("mark")))
        .map(|c| {
            let title = c.parent().unwrap().children().find(|n| n.has_tag_name("title")).unwrap();
            let text = title.text().unwrap();
            text.split("op ").nth(1).unwrap().split(',').next().unwrap().parse().unwrap()
        })
        .collect()
}

/// A valid history checked with a witness is drawn: a mark per operation of the
/// order's first 40, in the order's order, and the rest counted.
#[test]
fn a_witness_is_drawn() {
    let mut edn = String::new();
    for n in 0..30 {
        // Two processes, overlapping: the order is not the order of invocation alone.
        edn += &format!(
            "{{:process 0, :type :invoke, :f :write, :value {n}}}\n{{:process 1, :type :invoke, :f :read}}\n\
             {{:process 0, :type :ok, :f :write, :value {n}}}\n{{:process 1, :type :ok, :f :read, :value {n}}}\n"
        );
    }
    let h = history(&edn);
    let a = check(&model(Some(Value::Int(0))), &h, &Options::default().witness(true));
    let order = a.linearization.clone().expect("a witness");
    assert_eq!(order.len(), 60);
    let entry = report::Entry {
        name: "valid".into(),
        history: &h,
        analysis: &a,
        explanation: None,
        elapsed: Duration::ZERO,
    };
    let html = report::html("valid", &[entry], &[]);
    parse("witness html", &html);
    let start = html.find("<svg").expect("the page draws the witness");
    let svg = &html[start..start + html[start..].find("</svg>").unwrap() + 6];
    assert_eq!(witness_marks(svg), order[..40]);
    assert!(svg.contains("the order's other 20 operations are not shown"));
    let (width, extents) = text_extents(svg);
    for (left, right, content) in extents {
        assert!(left >= 0.0 && right <= width, "{content:?} spans {left}..{right}, outside 0..{width}");
    }
    // Without a witness, nothing is drawn.
    let a = check(&model(Some(Value::Int(0))), &h, &Options::default());
    let entry = report::Entry {
        name: "valid".into(),
        history: &h,
        analysis: &a,
        explanation: None,
        elapsed: Duration::ZERO,
    };
    assert!(a.linearization.is_none());
    let html = report::html("valid", &[entry], &[]);
    assert!(!html.contains("<svg"), "{html}");
}

/// A history checked key by key, valid, with witnesses: every key's verdict in the
/// page's table, a diagram per key, in the page and as files.
#[test]
fn witnesses_are_drawn_key_by_key() {
    let edn = "{:process 0, :type :invoke, :f :put, :key \"a\", :value \"x\"}\n\
               {:process 1, :type :invoke, :f :get, :key \"a\"}\n\
               {:process 0, :type :ok, :f :put, :key \"a\", :value \"x\"}\n\
               {:process 1, :type :ok, :f :get, :key \"a\", :value \"x\"}\n\
               {:process 2, :type :invoke, :f :put, :key \"b\", :value \"y\"}\n\
               {:process 2, :type :ok, :f :put, :key \"b\", :value \"y\"}";
    let kv = model::builtin("kv", &ModelOptions::default()).unwrap();
    let h = History::complete(read::RawOp::read(edn.as_bytes(), "kv.edn", None).unwrap(), &kv).unwrap();
    let a = check(&kv, &h, &Options::default().witness(true));
    assert_eq!((a.valid, a.results.len()), (Validity::Valid, 2), "{}", a.to_value());
    let entry = report::Entry {
        name: "kv.edn".into(),
        history: &h,
        analysis: &a,
        explanation: None,
        elapsed: Duration::ZERO,
    };
    let html = report::html("kv", &[entry], &[]);
    parse("kv witness html", &html);
    assert_eq!(html.matches("<svg").count(), 2);
    assert_eq!(key_links(&html), [("\"a\"".into(), true), ("\"b\"".into(), true)]);
    for (key, analysis) in &a.results {
        let order = analysis.linearization.clone().unwrap();
        let heading = format!("key {}: linearizable", key);
        let start = html.find(&heading).and_then(|at| html[..at].rfind("<svg")).expect("a diagram per key");
        let svg = &html[start..start + html[start..].find("</svg>").unwrap() + 6];
        assert_eq!(witness_marks(svg), order);
    }
    let dir = std::env::temp_dir().join(format!("knossos-report-witness-{}", std::process::id()));
    let entry = report::Entry {
        name: "kv.edn".into(),
        history: &h,
        analysis: &a,
        explanation: None,
        elapsed: Duration::ZERO,
    };
    let written = report::write(&dir, "kv", &[entry], &[]).unwrap();
    let names: Vec<String> =
        written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["report.html", "kv.edn_key_a.svg", "kv.edn_key_b.svg"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
