//! The command line: outputs, exit codes, and a table of bad inputs.

#[path = "../examples/pathological.rs"]
#[allow(dead_code)]
mod pathological;

use knossos_rs::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn knossos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_knossos-rs"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Reads back an EDN analysis with a general EDN reader (clojure-reader), as a
/// Jepsen user's `clojure.edn/read` would, and with ours.
fn parse_analysis(text: &str) -> Value {
    clojure_reader::edn::read_string(text).unwrap_or_else(|e| panic!("not EDN: {e:?}\n{text}"));
    Value::from_edn(text).unwrap_or_else(|e| panic!("not EDN: {e:?}\n{text}"))
}

#[test]
fn a_history_bigger_than_the_memory_limit_is_warned_of() {
    // The fixture is 1 031 bytes: held, about 1.5 KiB, more than a 1 KiB limit and far
    // less than a 1 MiB one. The limit bounds the search, so the verdict is still given.
    let small =
        knossos(&["check", "-m", "cas-register", "--memory-limit", "1KiB", "fixtures/stale-read.edn"]);
    assert_eq!(small.status.code(), Some(1), "{}", stderr(&small));
    let warning = stderr(&small);
    assert!(
        warning.starts_with("fixtures/stale-read.edn: warning: holding this 1.0 KiB history"),
        "{warning}"
    );
    assert!(warning.contains("about 1.5 KiB of memory, more than the memory limit (1.0 KiB)"), "{warning}");
    let roomy =
        knossos(&["check", "-m", "cas-register", "--memory-limit", "1MiB", "fixtures/stale-read.edn"]);
    assert_eq!(stderr(&roomy), "");
}

#[test]
fn invalid_history_exits_1_with_knossos_analysis() {
    let out = knossos(&["check", "--model", "cas-register", "fixtures/stale-read.edn"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let a = parse_analysis(&stdout(&out));
    assert_eq!(a.get("valid?"), Some(&Value::Bool(false)));
    // Every value is written once: the unique-value engine decides.
    assert_eq!(a.get("analyzer"), Some(&Value::keyword("unique")));
    // The read of 1 at index 10 follows the cas 1→2 (index 6): the register held 2
    // (or 3, if the crashed write of 3 took effect), never 1.
    let op = a.get("op").unwrap();
    assert_eq!(op.get("index"), Some(&Value::Int(10)));
    assert_eq!(op.get("value"), Some(&Value::Int(1)));
    assert_eq!(a.get("previous-ok").unwrap().get("index"), Some(&Value::Int(6)));
    let paths = a.get("final-paths").unwrap().as_seq().unwrap();
    assert!(!paths.is_empty());
    let msgs: Vec<String> = paths
        .iter()
        .map(|p| p.as_seq().unwrap().last().unwrap().get("model").unwrap().get("msg").unwrap().to_str())
        .collect();
    assert!(msgs.contains(&"can't read 1 from register 2".to_string()), "{msgs:?}");
    assert!(msgs.iter().all(|m| m == "can't read 1 from register 2" || m == "can't read 1 from register 3"));
    // Three orders end in the inconsistency: after the cas (2), after the crashed
    // write (3), and after the cas then the crashed write (3). All are counted even
    // when fewer are shown.
    assert_eq!(paths.len(), 3);
    assert_eq!(a.get("final-paths-count"), Some(&Value::Int(3)));
    let out = knossos(&["check", "--model", "cas-register", "--max-paths", "1", "fixtures/stale-read.edn"]);
    let a = parse_analysis(&stdout(&out));
    assert_eq!(a.get("final-paths").unwrap().as_seq().unwrap().len(), 1);
    assert_eq!(a.get("final-paths-count"), Some(&Value::Int(3)));
    assert_eq!(a.get("final-paths-truncated?"), None);
}

#[test]
fn valid_history_exits_0() {
    let out = knossos(&["check", "--model", "cas-register", "fixtures/valid.edn"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let a = parse_analysis(&stdout(&out));
    assert_eq!(a.get("valid?"), Some(&Value::Bool(true)));
    // With a plain register the :cas is an unknown :f on a searched op: failed
    // operations are not searched, so this one is not an error...
    let out = knossos(&["check", "--model", "register", "fixtures/valid.edn"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // ...but in the stale-read history the :cas succeeded, so it is.
    let out = knossos(&["check", "--model", "register", "fixtures/stale-read.edn"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("fixtures/stale-read.edn:7:1: op 6: register: unknown :f :cas"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn witness_prints_the_order_that_explains_a_valid_history() {
    // The write of 1 (index 0) before the read of 1 (1); the crashed write of 2 (4)
    // took effect, before the read of 2 (8); the failed cas is not an operation.
    for algorithm in ["wgl", "linear", "unique", "competition"] {
        let args =
            ["check", "-m", "cas-register", "--witness", "--algorithm", algorithm, "fixtures/valid.edn"];
        let out = knossos(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let a = parse_analysis(&stdout(&out));
        let order: Vec<Value> = [0, 1, 4, 8].map(Value::Int).into();
        assert_eq!(a.get("linearization"), Some(&Value::Vector(order)), "{algorithm}");
    }
    let json =
        knossos(&["check", "-m", "cas-register", "--witness", "--format", "json", "fixtures/valid.edn"]);
    assert!(stdout(&json).contains(r#""linearization":[0,1,4,8]"#), "{}", stdout(&json));
    // Only when asked, and only for a valid history.
    let plain = knossos(&["check", "-m", "cas-register", "fixtures/valid.edn"]);
    assert_eq!(parse_analysis(&stdout(&plain)).get("linearization"), None);
    let invalid = knossos(&["check", "-m", "cas-register", "--witness", "fixtures/stale-read.edn"]);
    assert_eq!(parse_analysis(&stdout(&invalid)).get("linearization"), None);
}

/// The text summary names the witness order's operations, a few of them: the EDN
/// has them all.
#[test]
fn witness_is_printed_in_the_text_summary() {
    let dir = tempdir();
    let op =
        |p: usize, t: &str, f: &str, v: &str| format!("{{:process {p}, :type :{t}, :f :{f}, :value {v}}}\n");
    // Two concurrent writes, then a read of 1: the write of 2 (index 1) must take
    // effect before the write of 1 (index 0), so the only order is 1, 0, 4.
    let concurrent = [
        op(0, "invoke", "write", "1"),
        op(1, "invoke", "write", "2"),
        op(0, "ok", "write", "1"),
        op(1, "ok", "write", "2"),
        op(2, "invoke", "read", "nil"),
        op(2, "ok", "read", "1"),
    ]
    .concat();
    let text = |name: &str, history: &str| {
        let file = write(&dir, name, history);
        let out = knossos(&["check", "-m", "cas-register", "--witness", "-f", "text", &file]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    let out = text("concurrent.edn", &concurrent);
    let order =
        "  a witness order: op 1 (process 1 write 2), op 0 (process 0 write 1), op 4 (process 2 read 1)\n";
    assert!(out.ends_with(order), "{out}");
    // 25 writes one after another: their only order is the history's; 20 are shown.
    let sequential: String = (0..25)
        .map(|v| op(0, "invoke", "write", &v.to_string()) + &op(0, "ok", "write", &v.to_string()))
        .collect();
    let out = text("sequential.edn", &sequential);
    let shown: Vec<String> = (0..20).map(|v| format!("op {} (process 0 write {v})", 2 * v)).collect();
    assert!(out.contains(&format!("  a witness order: {}, … and 5 more", shown.join(", "))), "{out}");
    // One write on each of 12 keys: each key's order, for the first 10 keys.
    let keyed: String = (0..12)
        .map(|k| {
            op(k, "invoke", "write", &format!("[{k} {k}]")) + &op(k, "ok", "write", &format!("[{k} {k}]"))
        })
        .collect();
    let out = text("keyed.edn", &keyed);
    let orders: Vec<&str> = out.lines().filter(|l| l.starts_with("  a witness order")).collect();
    let expected: Vec<String> = (0..10)
        .map(|k| format!("  a witness order of key {k}: op {} (process {k} write [{k} {k}])", 2 * k))
        .collect();
    assert_eq!(orders, expected);
    assert!(out.contains("… and 2 more keys' witness orders"), "{out}");
}

#[test]
fn init_changes_the_verdict() {
    // Without --init the register starts nil, so the read of 0 at the start of
    // this history is impossible; with --init 0 it is fine.
    let dir = tempdir();
    let file = write(
        &dir,
        "init.edn",
        "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read, :value 0}\n",
    );
    assert_eq!(knossos(&["check", "-m", "cas-register", &file]).status.code(), Some(1));
    assert_eq!(knossos(&["check", "-m", "cas-register", "--init", "0", &file]).status.code(), Some(0));
    // --nil-reads absent: a nil read is a claim that the register held nil.
    let file = write(
        &dir,
        "nil.edn",
        "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read, :value nil}\n",
    );
    assert_eq!(knossos(&["check", "-m", "cas-register", "--init", "0", &file]).status.code(), Some(0));
    let out = knossos(&["check", "-m", "cas-register", "--init", "0", "--nil-reads", "absent", &file]);
    assert_eq!(out.status.code(), Some(1));
    let out = knossos(&["check", "-m", "cas-register", "--init", "{:a", &file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--init"), "{}", stderr(&out));
}

#[test]
fn nil_reads_decides_what_a_crashed_dequeue_did() {
    // 1 and 2 enqueued, a dequeue crashed, then 2 dequeued: by default the crashed
    // dequeue took 1 (its result is unknown); read as Knossos reads it, it took the
    // element nil, and 1 blocks 2.
    let dir = tempdir();
    let file = write(
        &dir,
        "crashed-dequeue.edn",
        "{:process 0, :type :invoke, :f :enqueue, :value 1}\n{:process 0, :type :ok, :f :enqueue, :value 1}\n\
         {:process 0, :type :invoke, :f :enqueue, :value 2}\n{:process 0, :type :ok, :f :enqueue, :value 2}\n\
         {:process 2, :type :invoke, :f :dequeue, :value nil}\n{:process 2, :type :info, :f :dequeue, :value nil}\n\
         {:process 1, :type :invoke, :f :dequeue, :value nil}\n{:process 1, :type :ok, :f :dequeue, :value 2}\n",
    );
    for model in ["fifo-queue", "unordered-queue"] {
        let out = knossos(&["check", "-m", model, "--witness", &file]);
        assert_eq!(out.status.code(), Some(0), "{model}: {}", stderr(&out));
        let a = parse_analysis(&stdout(&out));
        // The fifo queue needs the crashed dequeue (op 4); the unordered one never does.
        let order: Vec<i64> = if model == "fifo-queue" { vec![0, 2, 4, 6] } else { vec![0, 2, 6] };
        assert_eq!(a.get("linearization"), Some(&Value::Vector(order.into_iter().map(Value::Int).collect())));
    }
    let out = knossos(&["check", "-m", "fifo-queue", "--nil-reads", "absent", &file]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let a = parse_analysis(&stdout(&out));
    assert_eq!(a.get("op").unwrap().get("index"), Some(&Value::Int(7)));
    let out = knossos(&["check", "-m", "unordered-queue", "--nil-reads", "absent", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = knossos(&["check", "-m", "fifo-queue", "--nil-reads", "literal", &file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown") && stderr(&out).contains("absent"), "{}", stderr(&out));
}

#[test]
fn json_and_text_outputs() {
    let out = knossos(&["check", "-m", "cas-register", "--format", "json", "fixtures/stale-read.edn"]);
    assert_eq!(out.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(j["valid?"], serde_json::json!(false));
    assert_eq!(j["analyzer"], serde_json::json!("unique"));
    assert_eq!(j["op"]["index"], serde_json::json!(10));
    assert_eq!(j["op"]["type"], serde_json::json!("ok"));

    let out = knossos(&["check", "-m", "cas-register", "--format", "text", "fixtures/stale-read.edn"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.starts_with("fixtures/stale-read.edn: NOT linearizable"), "{text}");
    assert!(text.contains("op 10 (line 11)"), "{text}");
    assert!(text.contains("can't read 1 from register"), "{text}");
}

#[test]
fn several_files_each_get_a_result_and_the_worst_status() {
    let out = knossos(&["check", "-m", "cas-register", "fixtures/valid.edn", "fixtures/stale-read.edn"]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = stdout(&out).lines().map(parse_analysis).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].get("file"), Some(&Value::string("fixtures/valid.edn")));
    assert_eq!(lines[0].get("valid?"), Some(&Value::Bool(true)));
    assert_eq!(lines[1].get("valid?"), Some(&Value::Bool(false)));
    // An input error outranks an invalid history, and the other files are still checked.
    let out = knossos(&["check", "-m", "cas-register", "fixtures/stale-read.edn", "no/such/file.edn"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out).lines().count(), 1);
    assert!(stderr(&out).contains("no/such/file.edn"), "{}", stderr(&out));
}

#[test]
fn help_and_version() {
    let out = knossos(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out).trim(), format!("knossos-rs {}", env!("CARGO_PKG_VERSION")));
    let out = knossos(&["check", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for flag in ["--model", "--init", "--nil-reads", "--format", "--format-in", "--max-paths"] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    // Usage errors exit 2.
    assert_eq!(knossos(&["check", "fixtures/valid.edn"]).status.code(), Some(2));
    assert_eq!(knossos(&["check", "-m", "no-such-model", "fixtures/valid.edn"]).status.code(), Some(2));
}

/// A fresh directory, removed with everything in it when dropped.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> TempDir {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "knossos-rs-cli-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_string_lossy().into_owned()
}

/// Each bad input exits 2, names the file and the line of the problem, says what
/// is wrong in a few words, and never panics.
#[test]
fn bad_inputs_are_reported_not_panicked_on() {
    let dir = tempdir();
    let op =
        |p: i64, t: &str, f: &str, v: &str| format!("{{:process {p}, :type :{t}, :f :{f}, :value {v}}}\n");
    let mut garbage = vec![0u8; 4096];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for b in &mut garbage {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let ten_mb = format!("\"{}\"\n", "x".repeat(10 << 20));
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    // (name, content, line the message must name, words it must contain)
    let cases: Vec<(&str, Vec<u8>, u32, &str)> = vec![
        ("not-edn", b"this is not a history\n".to_vec(), 1, "expected an op map"),
        // Line 0: about the file as a whole.
        ("garbage", garbage, 0, "a binary file"),
        ("no-type", format!("{}{{:process 0, :f :read}}\n", op(1, "invoke", "read", "nil")).into_bytes(), 2, "no :type"),
        ("unknown-type", op(0, "started", "read", "nil").into_bytes(), 1, "unknown :type :started"),
        ("ok-without-invoke", format!("{}{}", op(0, "invoke", "read", "nil"), op(1, "ok", "read", "3")).into_bytes(), 2, "no open invocation"),
        (
            "duplicate-index",
            b"{:index 0, :process 0, :type :invoke, :f :read}\n{:index 0, :process 0, :type :ok, :f :read, :value 1}\n".to_vec(),
            2,
            "duplicate :index 0, also at line 1",
        ),
        ("double-invoke", format!("{}{}", op(0, "invoke", "read", "nil"), op(0, "invoke", "write", "1")).into_bytes(), 2, "invokes again"),
        ("unknown-f", format!("{}{}", op(0, "invoke", "increment", "1"), op(0, "ok", "increment", "1")).into_bytes(), 2, "unknown :f :increment"),
        ("nested", nested.into_bytes(), 1, "nest"),
        ("ten-mb-string", ten_mb.into_bytes(), 1, "expected an op map"),
        // Cut short, but not on its last line: not a test killed mid-write.
        ("truncated-inside", format!("{}{{:process 0, :type :ok, :f :read, :val\n{}", op(0, "invoke", "read", "nil"), op(1, "invoke", "read", "nil")).into_bytes(), 2, ""),
        // A file without line breaks (as /dev/zero) is not read without end.
        ("no-line-breaks", [op(0, "invoke", "read", "nil").into_bytes(), vec![b'x'; 70 << 20]].concat(), 2, "longer than 64 MiB"),
    ];
    for (name, content, line, words) in cases {
        let file = write(&dir, &format!("{name}.edn"), content);
        let out = knossos(&["check", "--model", "cas-register", &file]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        let at = if line == 0 { format!("{file}: ") } else { format!("{file}:{line}:") };
        assert!(err.contains(&at), "{name}: message does not name line {line}: {err}");
        assert!(err.contains(words), "{name}: message lacks {words:?}: {err}");
        assert!(err.len() < 2000, "{name}: message too long ({} bytes)", err.len());
        assert!(stdout(&out).is_empty(), "{name}: printed an analysis");
    }
    // Flags out of range.
    let file =
        write(&dir, "ok.edn", format!("{}{}", op(0, "invoke", "read", "nil"), op(0, "ok", "read", "nil")));
    for flags in
        [&["--threads", "100000"][..], &["--threads", "0"], &["--time-limit", "18446744073709551615s"]]
    {
        let out = knossos(&[&["check", "--model", "cas-register", &file][..], flags].concat());
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{flags:?}: {err}");
        if flags[0] == "--threads" {
            assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
            assert!(err.contains("not in 1..=1024"), "{flags:?}: {err}");
        } else {
            // A limit too far to reach is no limit.
            assert_eq!(out.status.code(), Some(0), "{flags:?}: {err}");
        }
    }
}

#[test]
fn all_problems_of_a_file_are_reported_together() {
    let dir = tempdir();
    let text = "{:process 0, :type :invoke, :f :read}\n\
                {:process 0, :type :bogus, :f :read}\n\
                {:process 1, :type :ok, :f :read, :value 1}\n\
                {:process 2, :type :invoke, :f :frob}\n\
                {:process 2, :type :ok, :f :frob}\n";
    let file = write(&dir, "many.edn", text);
    let out = knossos(&["check", "-m", "cas-register", &file]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for line in [2, 3, 5] {
        assert!(err.contains(&format!("{file}:{line}:")), "line {line} not reported: {err}");
    }
}

#[test]
fn budgets_and_algorithms_on_the_command_line() {
    let dir = tempdir();
    // Distinct values, every subset of 40 crashed enqueues to try: the unique-value
    // engine decides it at once; the searches cannot.
    let distinct = write(&dir, "distinct.edn", pathological::history(40));
    let out = knossos(&["check", "-m", "unordered-queue", "--time-limit", "10s", &distinct]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let a = parse_analysis(&stdout(&out));
    assert_eq!(a.get("analyzer"), Some(&Value::keyword("unique")));
    // The dequeues of 0 to 39 each follow a crashed enqueue; the dequeue of a value
    // nobody enqueued, whose :ok is op 161, fails.
    assert_eq!(a.get("op").and_then(|op| op.get("index")), Some(&Value::Int(161)));
    // A last enqueue of 0, never completed, enqueues 0 twice: the searches must run,
    // and `--algorithm unique` refuses the file, naming the value and the line.
    let file = write(
        &dir,
        "hard.edn",
        pathological::history(40) + "{:process 999, :type :invoke, :f :enqueue, :value 0}\n",
    );
    let out = knossos(&["check", "-m", "unordered-queue", "--algorithm", "unique", &file]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("{file}:163:")) && err.contains("the value 0 is written twice"), "{err}");
    for algorithm in ["wgl", "linear", "competition"] {
        let out = knossos(&[
            "check",
            "-m",
            "unordered-queue",
            "--algorithm",
            algorithm,
            "--time-limit",
            "300ms",
            &file,
        ]);
        assert_eq!(out.status.code(), Some(3), "{algorithm}: {}", stderr(&out));
        let a = parse_analysis(&stdout(&out));
        assert_eq!(a.get("valid?"), Some(&Value::keyword("unknown")));
        assert_eq!(a.get("cause"), Some(&Value::keyword("timeout")));
        // Stuck at the first dequeue (linear), or at the dequeue of a value never
        // enqueued (WGL, having dequeued the rest).
        let prefix = a.get("longest-linearizable-prefix").unwrap();
        let stuck = prefix.get("next-index").and_then(Value::as_i64);
        assert!([Some(81), Some(161)].contains(&stuck), "{algorithm}: {stuck:?}");
        let out = knossos(&[
            "check",
            "-m",
            "unordered-queue",
            "--algorithm",
            algorithm,
            "--memory-limit",
            "16MiB",
            &file,
        ]);
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(parse_analysis(&stdout(&out)).get("cause"), Some(&Value::keyword("memory-limit")));
        // Each engine decides an easy history, and says which it was.
        let out =
            knossos(&["check", "-m", "cas-register", "--algorithm", algorithm, "fixtures/stale-read.edn"]);
        assert_eq!(out.status.code(), Some(1));
        let a = parse_analysis(&stdout(&out));
        let analyzer = a.get("analyzer").and_then(Value::as_keyword).unwrap();
        assert!(algorithm == "competition" || analyzer == algorithm, "{algorithm}: {analyzer}");
    }
    let out = knossos(&["check", "-m", "cas-register", "--time-limit", "soon", &file]);
    assert_eq!(out.status.code(), Some(2));
    let out = knossos(&["check", "-m", "cas-register", "--memory-limit", "lots", &file]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn batch_checks_a_store_directory() {
    // A Jepsen store: store/<test>/<time>/history.edn, plus files that are not histories.
    let dir = tempdir();
    let store = dir.join("store");
    for (test, fixture) in [("bad", "stale-read.edn"), ("good", "valid.edn")] {
        let run = store.join(test).join("20261122T000000");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(fixture),
            run.join("history.edn"),
        )
        .unwrap();
        std::fs::write(run.join("results.edn"), "{:valid? true}").unwrap();
    }
    let out = knossos(&["check", "-m", "cas-register", "--write-results", &store.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out).lines().map(parse_analysis).collect();
    assert_eq!(lines.len(), 2, "results.edn is not a history");
    assert!(lines[0].get("file").unwrap().to_str().ends_with("bad/20261122T000000/history.edn"));
    assert_eq!(lines[0].get("valid?"), Some(&Value::Bool(false)));
    assert_eq!(lines[1].get("valid?"), Some(&Value::Bool(true)));
    // The summary table names each file with its op count and verdict.
    let table = stderr(&out);
    assert!(table.lines().next().unwrap().starts_with("file"), "{table}");
    assert!(
        table.lines().any(|l| l.contains("bad/20261122T000000/history.edn")
            && l.contains("14")
            && l.contains("NOT linearizable")),
        "{table}"
    );
    assert!(table.lines().any(|l| l.contains("good/") && l.contains(" linearizable")), "{table}");
    // --write-results put each analysis beside its history, readable as EDN.
    let written = std::fs::read_to_string(store.join("bad/20261122T000000/history.edn.knossos.edn")).unwrap();
    assert_eq!(parse_analysis(&written).get("op").unwrap().get("index"), Some(&Value::Int(10)));
    // --quiet: no table.
    let out = knossos(&["check", "-m", "cas-register", "-q", &store.to_string_lossy()]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    // A directory without histories is an error that says what was looked for.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = knossos(&["check", "-m", "cas-register", &empty.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no history.edn"), "{}", stderr(&out));
}

#[test]
fn independent_histories_on_the_command_line() {
    let dir = tempdir();
    let text = "{:process 0, :type :invoke, :f :write, :value [:a 1]}\n\
                {:process 0, :type :ok, :f :write, :value [:a 1]}\n\
                {:process 1, :type :invoke, :f :write, :value [:b 1]}\n\
                {:process 1, :type :ok, :f :write, :value [:b 1]}\n\
                {:process 1, :type :invoke, :f :read, :value [:b nil]}\n\
                {:process 1, :type :ok, :f :read, :value [:b 2]}\n";
    let file = write(&dir, "independent.edn", text);
    let out = knossos(&["check", "-m", "cas-register", "--independent", &file]);
    assert_eq!(out.status.code(), Some(1));
    let a = parse_analysis(&stdout(&out));
    assert_eq!(a.get("failures"), Some(&Value::Vector(vec![Value::keyword("b")])));
    let b = a.get("results").unwrap().get("b").unwrap();
    assert_eq!(b.get("op").unwrap().get("index"), Some(&Value::Int(5)));
    assert_eq!(a.get("results").unwrap().get("a").unwrap().get("valid?"), Some(&Value::Bool(true)));
    // Without the flag, every value is found to be a tuple: the same analysis, and a
    // warning saying how the history was read.
    let out = knossos(&["check", "-m", "cas-register", &file]);
    assert_eq!(out.status.code(), Some(1));
    let found = parse_analysis(&stdout(&out));
    assert_eq!((found.get("results"), found.get("failures")), (a.get("results"), a.get("failures")));
    let warnings = found.get("warnings").and_then(Value::as_seq).expect(":warnings");
    assert!(warnings[0].to_str().contains("checked key by key"), "{warnings:?}");
    assert!(stderr(&out).contains("checked key by key"), "{}", stderr(&out));
    // --no-partition reads the values as they are: one register, never written [:b 2].
    let out = knossos(&["check", "-m", "cas-register", "--no-partition", &file]);
    assert_eq!(out.status.code(), Some(1));
    let whole = parse_analysis(&stdout(&out));
    assert_eq!((whole.get("results"), whole.get("warnings")), (None, None));
    assert_eq!(whole.get("op").unwrap().get("index"), Some(&Value::Int(5)));
}

/// A store of plain runs, a jepsen.independent run and a run cut short, checked with
/// no flag: each run is read as what it is, and what reading did is said in the
/// analysis, the text summary and the run's section of the report.
#[test]
fn a_mixed_store_is_checked_run_by_run_as_each_run_is() {
    let dir = tempdir();
    let store = dir.join("store");
    let run = |name: &str, history: &str| {
        let run = store.join("mixed").join(name);
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("history.edn"), history).unwrap();
    };
    let stale =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stale-read.edn"));
    run("20270101T000000", &stale.unwrap());
    // Two registers, each read back: linearizable key by key, but not as one register
    // of pairs (the read of [:a 1] follows the write of [:b 2]).
    let keyed = "{:process 0, :type :invoke, :f :write, :value [:a 1]}\n\
                 {:process 0, :type :ok, :f :write, :value [:a 1]}\n\
                 {:process :nemesis, :type :info, :f :start}\n\
                 {:process 1, :type :invoke, :f :write, :value [:b 2]}\n\
                 {:process 1, :type :ok, :f :write, :value [:b 2]}\n\
                 {:process 0, :type :invoke, :f :read, :value [:a nil]}\n\
                 {:process 0, :type :ok, :f :read, :value [:a 1]}\n";
    run("20270102T000000", keyed);
    // Linearizable, then a fifth line cut short.
    let cut = "{:process 0, :type :invoke, :f :write, :value 1}\n\
               {:process 0, :type :ok, :f :write, :value 1}\n\
               {:process 1, :type :invoke, :f :read, :value nil}\n\
               {:process 1, :type :ok, :f :read, :value 1}\n\
               {:process 1, :type :invoke, :f :re";
    run("20270103T000000", cut);
    let report = dir.join("report");
    let store = store.to_string_lossy().into_owned();
    let out = knossos(&["check", "-m", "cas-register", "--report", &report.to_string_lossy(), &store]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out).lines().map(parse_analysis).collect();
    let verdicts: Vec<&Value> = lines.iter().map(|l| l.get("valid?").unwrap()).collect();
    assert_eq!(verdicts, [&Value::Bool(false), &Value::Bool(true), &Value::Bool(true)]);
    assert_eq!(lines[0].get("op").unwrap().get("index"), Some(&Value::Int(10)));
    assert_eq!(lines[0].get("warnings"), None);
    let Some(Value::Map(results)) = lines[1].get("results") else { panic!("{:?}", lines[1]) };
    let keys: Vec<String> = results.iter().map(|(k, _)| k.to_edn()).collect();
    assert_eq!(keys, [":a", ":b"]);
    let warnings = |line: &Value| -> Vec<String> {
        line.get("warnings").and_then(Value::as_seq).unwrap_or_default().iter().map(Value::to_str).collect()
    };
    let split = "every client op's value is a [key value] tuple: checked key by key";
    assert!(warnings(&lines[1])[0].starts_with(split), "{:?}", lines[1]);
    let left_out = "line 5: the last line is cut short";
    assert!(warnings(&lines[2])[0].starts_with(left_out), "{:?}", lines[2]);
    assert_eq!((warnings(&lines[1]).len(), warnings(&lines[2]).len()), (1, 1));

    // Each run's section of the report shows its warnings, and no other's.
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    let doc = roxmltree::Document::parse(html.trim_start_matches("<!DOCTYPE html>")).unwrap();
    let section_warnings = |run: &str| -> Vec<String> {
        let section = doc
            .descendants()
            .find(|n| {
                n.has_tag_name("section")
                    && n.children().any(|h| h.has_tag_name("h2") && h.text().is_some_and(|t| t.contains(run)))
            })
            .unwrap_or_else(|| panic!("no section for {run}"));
        let texts = section.descendants().filter(|n| n.attribute("class") == Some("warning"));
        texts.map(|n| n.descendants().filter_map(|t| t.text()).collect()).collect()
    };
    assert_eq!(section_warnings("20270101T000000"), Vec::<String>::new());
    let keyed_warnings = section_warnings("20270102T000000");
    assert!(keyed_warnings.len() == 1 && keyed_warnings[0].contains(split), "{keyed_warnings:?}");
    let cut_warnings = section_warnings("20270103T000000");
    assert!(cut_warnings.len() == 1 && cut_warnings[0].contains(left_out), "{cut_warnings:?}");

    // The text summary says them below each verdict; the JSON lists them.
    let text = stdout(&knossos(&["check", "-m", "cas-register", "-f", "text", &store]));
    let after = |run: &str| {
        let at = text.find(&format!("{run}/history.edn: ")).unwrap_or_else(|| panic!("{run}: {text}"));
        text[at..].lines().take(2).collect::<Vec<_>>().join("\n")
    };
    let keyed_text = format!("linearizable: 2 keys checked, 0 not linearizable\n  warning: {split}");
    assert!(after("20270102T000000").contains(&keyed_text), "{text}");
    assert!(
        after("20270103T000000").contains(&format!("linearizable (unique)\n  warning: {left_out}")),
        "{text}"
    );
    let json = stdout(&knossos(&["check", "-m", "cas-register", "-f", "json", &store]));
    let json: Vec<serde_json::Value> = json.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(json[2]["warnings"][0].as_str().unwrap().starts_with(left_out), "{json:?}");

    // --no-partition reads the keyed run as one register of pairs; --independent
    // reads every run as tuples, which the plain runs are not.
    let out = knossos(&["check", "-m", "cas-register", "--no-partition", &store]);
    let lines: Vec<Value> = stdout(&out).lines().map(parse_analysis).collect();
    assert_eq!(lines[1].get("valid?"), Some(&Value::Bool(false)));
    assert_eq!(lines[1].get("op").unwrap().get("index"), Some(&Value::Int(6)));
    let out = knossos(&["check", "-m", "cas-register", "--independent", &store]);
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<Value> = stdout(&out).lines().map(parse_analysis).collect();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].get("file").unwrap().to_str().contains("20270102T000000"));
    assert_eq!(lines[0].get("warnings"), None, "asked for: nothing to say");
    let err = stderr(&out);
    for (run, at) in [("20270101T000000", "3:1: op 2"), ("20270103T000000", "2:1: op 1")] {
        let said = format!("{run}/history.edn:{at}: cas-register: read as jepsen.independent's (`Independent`, `--independent`), every client op's value must be a [key value] tuple");
        assert!(err.contains(&said), "{err}");
    }
}

#[test]
fn report_directory_and_words_on_the_terminal() {
    let tmp = tempdir();
    let dir = tmp.join("report");
    let out = knossos(&[
        "check",
        "-m",
        "cas-register",
        "--report",
        &dir.to_string_lossy(),
        "fixtures/stale-read.edn",
        "fixtures/valid.edn",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html written");
    let xml = html.trim_start_matches("<!DOCTYPE html>");
    roxmltree::Document::parse(xml).expect("the page is well-formed");
    assert!(html.contains("index 10"), "the page names the failing op");
    let svgs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .collect();
    assert_eq!(svgs.len(), 1, "one diagram, for the one invalid history: {svgs:?}");
    roxmltree::Document::parse(&std::fs::read_to_string(&svgs[0]).unwrap()).expect("the SVG is well-formed");
    // With --witness, the valid history is drawn too: its witness order.
    let witnessed = tmp.join("witnessed");
    let out = knossos(&[
        "check",
        "-m",
        "cas-register",
        "--witness",
        "--report",
        &witnessed.to_string_lossy(),
        "fixtures/valid.edn",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(witnessed.join("report.html")).expect("report.html written");
    roxmltree::Document::parse(html.trim_start_matches("<!DOCTYPE html>")).expect("the page is well-formed");
    assert!(html.contains("linearizable: a witness order of"), "the page draws the witness");
    let svgs = std::fs::read_dir(&witnessed).unwrap().filter_map(Result::ok);
    assert_eq!(svgs.filter(|e| e.path().extension().is_some_and(|x| x == "svg")).count(), 1);
    // The text summary says what happened in words.
    let out = knossos(&["check", "-m", "cas-register", "-f", "text", "fixtures/stale-read.edn"]);
    let text = stdout(&out);
    assert!(text.contains("Stale read: process 1 read 1 at op 10 (line 11)"), "{text}");
    // Each fact once: the sentence, the core, Knossos's lines.
    assert_eq!(text.matches("can't read 1 from register 2").count(), 1, "{text}");
    assert!(text.lines().count() <= 12, "{text}");
    // Without the explanation, the analysis's own words.
    let out =
        knossos(&["check", "-m", "cas-register", "-f", "text", "--no-shrink", "fixtures/stale-read.edn"]);
    let text = stdout(&out);
    assert!(text.contains("Process 1 read 1 at index 10"), "{text}");
    assert!(text.contains("could only hold 3 or 2") || text.contains("could only hold 2 or 3"), "{text}");
}

#[test]
fn models_lists_every_builtin_model() {
    let out = knossos(&["models"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed: Vec<String> =
        stdout(&out).lines().filter(|l| !l.is_empty() && !l.starts_with(' ')).map(str::to_owned).collect();
    assert_eq!(listed, knossos_rs::model::ModelInfo::NAMES);
}

#[test]
fn generated_anomaly_is_found_by_check_on_its_key() {
    let tmp = tempdir();
    let file = tmp.join("history.edn");
    let gen = knossos(&[
        "generate",
        "--model",
        "register",
        "--ops",
        "3000",
        "--keys",
        "4",
        "--seed",
        "3",
        "--anomaly",
        "lost-write",
    ]);
    assert_eq!(gen.status.code(), Some(0), "{}", stderr(&gen));
    // stderr names the key and op; check must fail that key at that op, and no other.
    let note = stderr(&gen);
    let (key, index) = note
        .trim()
        .strip_prefix("injected lost-write on key ")
        .and_then(|rest| rest.split_once(" at op "))
        .unwrap_or_else(|| panic!("unexpected note: {note}"));
    std::fs::write(&file, &gen.stdout).unwrap();
    let out = knossos(&["check", "--model", "register", "--independent", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let a = parse_analysis(&stdout(&out));
    let failures = a.get("failures").unwrap().as_seq().unwrap();
    assert_eq!(failures.iter().map(Value::to_edn).collect::<Vec<_>>(), [key]);
    let Some(Value::Map(results)) = a.get("results") else { panic!("no :results") };
    let (_, failed) = results.iter().find(|(k, _)| *k == failures[0]).unwrap();
    assert_eq!(failed.get("op").unwrap().get("index").unwrap().to_edn(), index);

    let honest = knossos(&["generate", "--model", "register", "--ops", "3000", "--keys", "4", "--seed", "3"]);
    assert!(honest.stderr.is_empty(), "{}", stderr(&honest));
    std::fs::write(&file, &honest.stdout).unwrap();
    let out = knossos(&["check", "--model", "register", "--independent", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn generate_refuses_a_format_its_model_cannot_be_written_in() {
    let out = knossos(&["generate", "--model", "set", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("JSON has no sets"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

/// A check killed while writing its results leaves each result file as it was or
/// whole, never truncated: results are written to a temporary file and renamed.
#[test]
fn results_survive_a_kill_while_they_are_written() {
    let dir = tempdir();
    let store = dir.join("store");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stale-read.edn");
    let runs: Vec<PathBuf> = (0..200).map(|i| store.join("bad").join(format!("2026112{i:03}"))).collect();
    for run in &runs {
        std::fs::create_dir_all(run).unwrap();
        std::fs::copy(&fixture, run.join("history.edn")).unwrap();
    }
    let args = ["check", "-m", "cas-register", "--write-results", "-q", "--max-paths", "1000"];
    let store_arg = store.to_string_lossy().into_owned();
    let out = knossos(&[&args[..], &[&store_arg]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let result = |run: &PathBuf| std::fs::read(run.join("history.edn.knossos.edn")).ok();
    // The same history gives the same analysis, so every result must read the same.
    let whole = result(&runs[0]).expect("a result is written");
    assert!(whole.ends_with(b"\n") && whole.len() > 1000);
    for delay_ms in (0..40).map(|i| i % 20) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_knossos-rs"))
            .args(args)
            .arg(&store_arg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for run in &runs {
            assert_eq!(result(run).as_ref(), Some(&whole), "{} after a kill at {delay_ms} ms", run.display());
        }
    }
}

/// Writing whole-or-nothing replaces only regular files. Renaming over `-o /dev/null`
/// had made it a plain file, as root, for every program on the machine; a link must
/// stay a link. A named pipe stands in for the device here.
#[cfg(unix)]
#[test]
fn an_output_that_is_a_pipe_or_a_link_keeps_its_kind() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempdir();
    let pipe = dir.join("pipe");
    assert!(Command::new("mkfifo").arg(&pipe).status().expect("mkfifo runs").success());
    let reader = {
        let pipe = pipe.clone();
        std::thread::spawn(move || std::fs::read_to_string(pipe).unwrap())
    };
    let shrink = |output: &Path| {
        let out = knossos(&[
            "shrink",
            "-m",
            "cas-register",
            "fixtures/stale-read.edn",
            "-o",
            output.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    };
    shrink(&pipe);
    // Checked before joining: had the pipe been replaced, its reader would wait forever.
    assert!(std::fs::symlink_metadata(&pipe).unwrap().file_type().is_fifo());
    let core = reader.join().unwrap();
    assert!(core.starts_with('{') && core.ends_with("}\n"), "{core}");

    let file = write(&dir, "core.edn", "an earlier core");
    let link = dir.join("link.edn");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    shrink(&link);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), core);
}

/// A file of no ops is an empty history, linearizable as Knossos has it, with a
/// warning that it may be the wrong file; a file that is not a history is still an
/// error (see the table of bad inputs).
#[test]
fn a_file_of_no_ops_is_linearizable_with_a_warning() {
    let dir = tempdir();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.edn", vec![]),
        ("empty-vector.edn", b"[]\n".to_vec()),
        ("empty-array.json", b"[]".to_vec()),
        // Format detection once sliced past its 1 MiB window.
        ("megabyte-of-blanks.edn", " ".repeat(2 << 20).into_bytes()),
        ("megabyte-of-comments.edn", ";\n".repeat(1 << 20).into_bytes()),
    ];
    for (name, content) in cases {
        let file = write(&dir, name, content);
        for algorithm in ["competition", "wgl", "linear"] {
            let out =
                knossos(&["check", "-m", "cas-register", "--algorithm", algorithm, "--format", "edn", &file]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(0), "{name}: {err}");
            assert!(err.contains(&format!("{file}: warning: the file holds no ops")), "{name}: {err}");
            assert!(err.contains("is this the right file?"), "{name}: {err}");
            let a = parse_analysis(&stdout(&out));
            assert_eq!(a.get("valid?"), Some(&Value::Bool(true)), "{name}");
            assert!(a.get("op").is_none(), "{name}");
            let warnings = a.get("warnings").and_then(Value::as_seq).unwrap_or_default();
            assert_eq!(warnings, [Value::from("the file holds no ops: an empty history, linearizable")]);
        }
    }
    // The text summary and the report say it too, and are written.
    let file = write(&dir, "empty-again.edn", "");
    let report = dir.join("empty-report");
    let out = knossos(&[
        "check",
        "-m",
        "cas-register",
        "--format",
        "text",
        "--report",
        report.to_str().unwrap(),
        &file,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("linearizable") && stdout(&out).contains("the file holds no ops"));
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(html.contains("the file holds no ops"), "{html}");
}

/// A key whose ops all failed (or were left out unpaired) is a key with an empty
/// history: linearizable, and in `:results`, as jepsen.independent has every key it
/// saw. A nemesis value shaped like a tuple makes no key.
#[test]
fn a_key_with_no_operations_is_linearizable() {
    let dir = tempdir();
    let op =
        |p: &str, t: &str, f: &str, v: &str| format!("{{:process {p}, :type :{t}, :f :{f}, :value {v}}}\n");
    let text = [
        op("0", "invoke", "write", "[:a 1]"),
        op("0", "ok", "write", "[:a 1]"),
        op(":nemesis", "info", "start", "[\"n1\" \"n2\"]"),
        op("1", "invoke", "write", "[:b 1]"),
        op("1", "fail", "write", "[:b 1]"),
        op("2", "ok", "write", "[:c 1]"),
        op("0", "invoke", "read", "[:a nil]"),
        op("0", "ok", "read", "[:a 1]"),
    ]
    .concat();
    let file = write(&dir, "keys.edn", text);
    for flags in [&["--drop-unpaired"][..], &["--drop-unpaired", "--independent"]] {
        let out = knossos(&[&["check", "-m", "cas-register", "--format", "edn", &file][..], flags].concat());
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {}", stderr(&out));
        let a = parse_analysis(&stdout(&out));
        assert_eq!(a.get("valid?"), Some(&Value::Bool(true)));
        let Some(Value::Map(results)) = a.get("results") else { panic!("no :results: {a:?}") };
        let keys: Vec<String> = results.iter().map(|(k, _)| k.to_edn()).collect();
        // :b's write failed; :c's one op is an :ok with no invocation, left out.
        assert_eq!(keys, [":a", ":b", ":c"], "{flags:?}");
        for (key, analysis) in results {
            assert_eq!(analysis.get("valid?"), Some(&Value::Bool(true)), "{flags:?} {key:?}");
        }
    }
}

/// A Jepsen store as Jepsen leaves it: each run's history as `history.edn` and again
/// as `history.txt`, per-key copies under `independent/`, and damaged runs. Each run
/// is checked once, and each damaged one is named, in the summary and the report,
/// while the others are checked.
#[test]
fn a_store_is_checked_run_by_run_and_damaged_runs_are_named() {
    let dir = tempdir();
    let store = dir.join("store");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let run = |name: &str| {
        let run = store.join("register").join(name);
        std::fs::create_dir_all(&run).unwrap();
        run
    };
    for (name, fixture) in [("20261201T000000", "stale-read.edn"), ("20261202T000000", "valid.edn")] {
        let run = run(name);
        std::fs::copy(fixtures.join(fixture), run.join("history.edn")).unwrap();
        // Jepsen's text copy of the same history: not a second run.
        std::fs::write(run.join("history.txt"), "not read\tat all\n").unwrap();
        // The per-key copies of an independent test are parts of their run.
        let key = run.join("independent").join("0");
        std::fs::create_dir_all(&key).unwrap();
        std::fs::copy(fixtures.join(fixture), key.join("history.edn")).unwrap();
    }
    // A run with only a text history is checked from it.
    std::fs::write(
        run("20261203T000000").join("history.txt"),
        "0\t:invoke\t:read\tnil\n0\t:ok\t:read\tnil\n",
    )
    .unwrap();
    // An empty history, checked and warned of; a damaged run: a link to nowhere.
    std::fs::write(run("20261204T000000").join("history.edn"), "").unwrap();
    std::os::unix::fs::symlink(dir.join("gone.edn"), run("20261205T000000").join("history.edn")).unwrap();
    let report = dir.join("report");
    let out = knossos(&[
        "check",
        "-m",
        "cas-register",
        "--report",
        &report.to_string_lossy(),
        &store.to_string_lossy(),
    ]);
    // An input error is worse than an invalid history.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out).lines().map(parse_analysis).collect();
    let files: Vec<String> = lines.iter().map(|l| l.get("file").unwrap().to_str()).collect();
    assert_eq!(files.len(), 4, "one analysis per readable run: {files:?}");
    assert!(files[0].ends_with("20261201T000000/history.edn"), "{files:?}");
    assert!(files[1].ends_with("20261202T000000/history.edn"), "{files:?}");
    assert!(files[2].ends_with("20261203T000000/history.txt"), "{files:?}");
    assert!(files[3].ends_with("20261204T000000/history.edn"), "{files:?}");
    let verdicts: Vec<_> = lines.iter().map(|l| l.get("valid?").unwrap().clone()).collect();
    assert_eq!(verdicts, [Value::Bool(false), Value::Bool(true), Value::Bool(true), Value::Bool(true)]);
    // The summary has a row per run, the damaged ones as input errors with their reasons.
    let err = stderr(&out);
    let row = |run: &str| {
        err.lines().find(|l| l.contains(run) && !l.contains(": ")).unwrap_or_default().to_string()
    };
    assert!(!row("20261204T000000").contains("input error"), "{err}");
    assert!(row("20261205T000000").contains("input error"), "{err}");
    assert!(err.contains("20261204T000000/history.edn: warning: the file holds no ops"), "{err}");
    assert!(err.contains("20261205T000000/history.edn: cannot read: No such file or directory"), "{err}");
    assert_eq!(err.matches("independent").count(), 0, "{err}");
    // So does the report.
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(html.contains("4 histories: 1 not linearizable, 3 linearizable; 1 file not checked"), "{html}");
    for damaged in ["20261204T000000", "20261205T000000"] {
        assert!(html.contains(damaged), "{damaged} missing from the report");
    }
    assert!(html.contains("the file holds no ops") && html.contains("No such file or directory"));
}

/// A test killed while writing its history leaves the last line cut short: it is
/// left out with a warning naming it, and the rest is checked.
#[test]
fn a_last_line_cut_short_is_left_out_with_a_warning() {
    let dir = tempdir();
    let fixture =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stale-read.edn"))
            .unwrap();
    let lines = fixture.lines().count();
    for cut in ["{:process 9, :type :invoke, :f :wr", "{\"process\": 9, \"ty"] {
        let file = write(&dir, "cut.edn", format!("{fixture}{cut}"));
        let out = knossos(&["check", "-m", "cas-register", &file]);
        let err = stderr(&out);
        // The stale read is still found.
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(parse_analysis(&stdout(&out)).get("op").unwrap().get("index"), Some(&Value::Int(10)));
        assert!(err.contains(&format!("{file}:{}: warning: the last line is cut short", lines + 1)), "{err}");
    }
}

/// Ops that cannot be paired (Knossos's "No invocation for op") are input errors
/// whose hint names --drop-unpaired; with it they are left out, each listed in the
/// analysis's :warnings, and the rest is checked.
#[test]
fn unpaired_ops_are_dropped_on_request() {
    let dir = tempdir();
    let fixture =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stale-read.edn"))
            .unwrap();
    // (ops appended, the line the problem is reported at)
    let extra = [
        // A completion of process 7, which never invoked.
        ("{:index 14, :process 7, :type :ok, :f :read, :value 2}\n", 15),
        // Process 8 invokes again (line 16): its first invocation cannot be paired.
        (
            "{:index 14, :process 8, :type :invoke, :f :write, :value 1}\n\
             {:index 15, :process 8, :type :invoke, :f :read, :value nil}\n\
             {:index 16, :process 8, :type :ok, :f :read, :value 3}\n",
            16,
        ),
    ];
    for (case, (extra, line)) in extra.iter().enumerate() {
        let file = write(&dir, &format!("unpaired-{case}.edn"), format!("{fixture}{extra}"));
        let strict = knossos(&["check", "-m", "cas-register", &file]);
        assert_eq!(strict.status.code(), Some(2), "{}", stderr(&strict));
        assert!(stderr(&strict).contains(&format!("{file}:{line}:")), "{}", stderr(&strict));
        assert!(stderr(&strict).contains("--drop-unpaired"), "{}", stderr(&strict));
        let dropped = knossos(&["check", "-m", "cas-register", "--drop-unpaired", &file]);
        assert_eq!(dropped.status.code(), Some(1), "{}", stderr(&dropped));
        assert!(stderr(&dropped).contains(&format!("{file}:{line}: warning:")), "{}", stderr(&dropped));
        let analysis = parse_analysis(&stdout(&dropped));
        assert_eq!(analysis.get("op").unwrap().get("index"), Some(&Value::Int(10)));
        let warnings = analysis.get("warnings").expect(":warnings listed");
        let Value::Vector(warnings) = warnings else { panic!("{warnings:?}") };
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let warning = warnings[0].to_str();
        assert!(warning.starts_with(&format!("line {line}: ")) && warning.ends_with("left out"), "{warning}");
    }
}

/// A line that cannot be read hides nothing behind it: the ops on the lines after it
/// are read (even after a map missing its `}`, which swallows the rest of the file as
/// EDN), and what is wrong with them reported too, in file order, an op left unpaired
/// saying that its partner may be on the unreadable line.
#[test]
fn every_problem_of_a_file_is_reported() {
    let dir = tempdir();
    let edn = "{:process 0, :type :invoke, :f :write, :value 1}\n\
               {:process 0, :type :ok, :f :write :value 1\n\
               {:process 1, :type :ok, :f :read, :value 1}\n\
               {:process 2, :type :invoke, :f :read, :value nil}\n\
               {:process 2, :type :ok, :f :write, :value 1}\n\
               {:process 3, :type :invoke, :f :cas, :value 5}\n\
               {:process 4, :type :invoke, :f :read, :value nil} junk\n";
    let json = "{\"process\": 0, \"type\": \"invoke\", \"f\": \"write\", \"value\": 1}\n\
                {\"process\": 0, \"type\": \"ok\", \"f\": \"write\" \"value\": 1}\n\
                {\"process\": 1, \"type\": \"ok\", \"f\": \"read\", \"value\": 1}\n\
                {\"process\": 2, \"type\": \"invoke\", \"f\": \"read\", \"value\": null}\n\
                {\"process\": 2, \"type\": \"ok\", \"f\": \"write\", \"value\": 1}\n\
                {\"process\": 3, \"type\": \"invoke\", \"f\": \"cas\", \"value\": 5}\n\
                {\"process\": 4, \"type\": \"invoke\", \"f\": \"read\", \"value\": null} junk\n";
    for (name, text) in [("broken.edn", edn), ("broken.json", json)] {
        let file = write(&dir, name, text);
        let out = knossos(&["check", "-m", "cas-register", &file]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        // Line 2 cannot be read; line 3 completes an invocation it may have held; line 5
        // completes another :f; line 6's cas is not [old new]; line 7 has junk after its op.
        let lines: Vec<u32> = err
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{file}:"))?.split(':').next()?.parse().ok())
            .collect();
        assert_eq!(lines, [2, 3, 5, 6, 7], "{err}");
        assert!(err.contains("could not be read"), "{err}");
    }
}

/// `-` reads standard input, and what is printed of its ops is what was read (it
/// cannot be read again).
#[test]
fn standard_input_is_read_with_dash() {
    use std::io::Write as _;
    let fixture =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stale-read.edn")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_knossos-rs"))
        .args(["check", "-m", "cas-register", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&fixture).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let op = parse_analysis(&stdout(&out)).get("op").unwrap().clone();
    assert_eq!((op.get("index"), op.get("time")), (Some(&Value::Int(10)), Some(&Value::Int(5200))));
}

/// Binary files are named for what they are, in one line, not read as text.
#[test]
fn binary_files_are_named_for_what_they_are() {
    let dir = tempdir();
    let cases: [(&str, &[u8], &str); 4] = [
        ("history.edn.gz", &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0], "a gzip file"),
        ("test.jepsen", b"JEPSEN\x00\x00\x00\x02\xff\xfe", "a Jepsen store file"),
        ("test.fressian", b"\xef\xcdsome fressian", "a Fressian file"),
        ("history.edn", b"{:process 0\xff\xfe\xfd\x00, :type :invoke}", "a binary file"),
    ];
    for (name, bytes, words) in cases {
        let file = write(&dir, name, bytes);
        let out = knossos(&["check", "-m", "cas-register", &file]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.starts_with(&format!("{file}: {words}")), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
    }
}

/// With --independent, an operation is on one key: a completion naming another key
/// than its invocation is an input error (once, split by key and checked whole gave
/// different verdicts, as each took the key from a different op).
#[test]
fn an_independent_completion_on_another_key_is_an_input_error() {
    let dir = tempdir();
    let file = write(
        &dir,
        "keys.edn",
        "{:process 4, :type :invoke, :f :write, :value [2 4]}\n\
         {:process 4, :type :ok, :f :write, :value [2 4]}\n\
         {:process 3, :type :invoke, :f :read, :value [1 nil]}\n\
         {:process 3, :type :ok, :f :read, :value [2 4]}\n",
    );
    for whole in [false, true] {
        let mut args = vec!["check", "-m", "cas-register", "--independent", &file];
        if whole {
            args.push("--no-partition");
        }
        let out = knossos(&args);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "{file}:4:1: op 3: cas-register: the completion's key 2 differs from its invocation's 1"
            )),
            "{}",
            stderr(&out)
        );
    }
}
