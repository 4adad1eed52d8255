//! The built-in models on hand-written histories, and on the corpus.
//!
//! Each history below is written out op by op, with the reason for its verdict
//! beside the op that decides it. They go through the public API only (reading,
//! `History::complete`, `check`), under every algorithm, and a keyed model's both
//! split by key and whole; all must agree on the verdict, the failing op, and how
//! the final paths end.
//!
//! Histories are written compactly, one op a line: `process type f value` (for `kv`,
//! `process type f key value`), with `; why` comments. Op `i` of a history is on
//! line `i + 1` and has index `i`.

mod common;

use knossos_rs::model::{self, ModelOptions, NilReads};
use knossos_rs::{check, read, Algorithm, Analysis, Diagnostic, History, Options, Validity, Value};

const ALGORITHMS: [Algorithm; 3] = [Algorithm::Wgl, Algorithm::Linear, Algorithm::Competition];

/// Expands a compact history into EDN op maps, one a line.
fn edn(compact: &str, keyed: bool) -> String {
    let mut out = String::new();
    for line in compact.lines() {
        let line = line.split(" ;").next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.splitn(if keyed { 5 } else { 4 }, ' ');
        let mut next = || fields.next().unwrap_or("").trim();
        let (process, kind, f) = (next(), next(), next());
        let process = if process == "nemesis" { ":nemesis" } else { process };
        out += &format!("{{:process {process}, :type :{kind}, :f :{f}");
        if keyed {
            out += &format!(", :key {}", next());
        }
        let value = next();
        if !value.is_empty() {
            out += &format!(", :value {value}");
        }
        out += "}\n";
    }
    out
}

fn model(name: &str, init: Option<&str>) -> model::DynModel {
    model_with(name, init, NilReads::Unknown)
}

fn model_with(name: &str, init: Option<&str>, nil_reads: NilReads) -> model::DynModel {
    let init = init.map(|i| Value::from_edn(i).unwrap());
    model::builtin(name, &ModelOptions::default().init(init).nil_reads(nil_reads))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Completes an EDN history for a model, or returns its input errors.
fn complete(name: &str, init: Option<&str>, log: &str) -> Result<History, knossos_rs::InputError> {
    let ops = read::RawOp::read(log.as_bytes(), "test.edn", None).unwrap_or_else(|e| panic!("{e}\n{log}"));
    History::complete(ops, &model(name, init))
}

/// Every analysis of a compact history: each algorithm, and for a keyed model
/// each algorithm split by key and whole.
fn analyses(name: &str, init: Option<&str>, compact: &str) -> Vec<(String, Analysis)> {
    analyses_with(name, init, NilReads::Unknown, compact)
}

/// [`analyses`] with nil read as `nil_reads` says, each with a witness if valid.
fn analyses_with(
    name: &str,
    init: Option<&str>,
    nil_reads: NilReads,
    compact: &str,
) -> Vec<(String, Analysis)> {
    let keyed = name == "kv";
    let log = edn(compact, keyed);
    let model = model_with(name, init, nil_reads);
    let ops = read::RawOp::read(log.as_bytes(), "test.edn", None).unwrap_or_else(|e| panic!("{e}\n{log}"));
    let history = History::complete(ops, &model).unwrap_or_else(|e| panic!("{e:?}\n{log}"));
    let partitions: &[bool] = if keyed { &[true, false] } else { &[true] };
    let mut out = Vec::new();
    for &partition in partitions {
        for algorithm in ALGORITHMS {
            let options = Options::default().algorithm(algorithm).partition(partition).witness(true);
            let analysis = check(&model, &history, &options);
            out.push((format!("{algorithm:?}, split {partition}\n{log}"), analysis));
        }
    }
    out
}

/// The analysis that names the failing op: the analysis itself, or that of the
/// one key that failed.
fn failing(analysis: &Analysis) -> &Analysis {
    match analysis.results.as_slice() {
        [] => analysis,
        results => {
            let failed: Vec<&Analysis> =
                results.iter().map(|(_, a)| a).filter(|a| a.valid == Validity::Invalid).collect();
            assert_eq!(failed.len(), 1, "one key fails in these histories");
            failed[0]
        }
    }
}

fn assert_valid(name: &str, init: Option<&str>, compact: &str) {
    for (how, analysis) in analyses(name, init, compact) {
        assert_eq!(analysis.valid, Validity::Valid, "{name}, {how}");
    }
}

/// Asserts that the history is linearizable with nil read as `nil_reads` says, and
/// that every witness is `order` (the invocations' indices).
fn assert_witness(name: &str, nil_reads: NilReads, compact: &str, order: &[u64]) {
    for (how, analysis) in analyses_with(name, None, nil_reads, compact) {
        assert_eq!(analysis.valid, Validity::Valid, "{name}, {how}");
        assert_eq!(analysis.linearization.as_deref(), Some(order), "{name}, {how}");
    }
}

/// Asserts that the history is not linearizable, that op `index` is the one that
/// cannot be linearized, and that the final paths end in the inconsistencies
/// `msgs` (each of them, and no other).
fn assert_invalid(name: &str, init: Option<&str>, compact: &str, index: u64, msgs: &[&str]) {
    assert_invalid_with(name, init, NilReads::Unknown, compact, index, msgs)
}

fn assert_invalid_with(
    name: &str,
    init: Option<&str>,
    nil_reads: NilReads,
    compact: &str,
    index: u64,
    msgs: &[&str],
) {
    for (how, analysis) in analyses_with(name, init, nil_reads, compact) {
        assert_eq!(analysis.valid, Validity::Invalid, "{name}, {how}");
        let analysis = failing(&analysis);
        assert_eq!(analysis.op.as_ref().unwrap().index, index, "{name}, {how}");
        let mut ends: Vec<String> = analysis
            .final_paths
            .iter()
            .map(|path| path.last().unwrap().model.get("msg").expect("a path ends in a message").to_str())
            .collect();
        ends.sort();
        ends.dedup();
        let mut expected: Vec<String> = msgs.iter().map(|m| m.to_string()).collect();
        expected.sort();
        assert_eq!(ends, expected, "{name}, {how}");
    }
}

/// The input errors of an EDN history: each must name its op's index and line.
fn input_errors(name: &str, log: &str) -> Vec<Diagnostic> {
    complete(name, None, log).expect_err("an input error").diagnostics
}

// ---------------------------------------------------------------- registers

#[test]
fn cas_register() {
    let init = Some("0");
    let history = r#"
        0 invoke cas [0 1]
        0 ok cas [0 1]       ; 0 → 1
        1 invoke cas [0 2]
        1 fail cas [0 2]     ; failed: takes no part (it could not have happened anyway)
        2 invoke write 5
        2 info write 5       ; crashed: 5 may be written at any later point, or never
        1 invoke read nil
        1 ok read 1          ; the crashed write has not happened yet
        1 invoke read nil
        1 ok read nil        ; a nil read is unknown: always legal
        1 invoke cas [5 6]
        1 ok cas [5 6]       ; so the crashed write happened before this cas: 6
        1 invoke read nil
        1 ok read 6
    "#;
    assert_valid("cas-register", init, history);
    // The last read returning 1 instead: the register holds 6 by then.
    let stale = history.replace("1 ok read 6", "1 ok read 1");
    assert_invalid("cas-register", init, &stale, 13, &["can't read 1 from register 6"]);
    // A cas from a value the register does not hold.
    let cas = "
        0 invoke cas [3 4]
        0 ok cas [3 4]       ; the register holds 0
    ";
    assert_invalid("cas-register", init, cas, 1, &["can't CAS 0 from 3 to 4"]);
}

#[test]
fn register() {
    let history = "
        0 invoke write 1
        1 invoke read nil
        1 ok read 0          ; concurrent with the write: before it
        0 ok write 1
        1 invoke read nil
        1 ok read READ       ; after the write completed: must be 1
    ";
    assert_valid("register", Some("0"), &history.replace("READ", "1"));
    assert_invalid("register", Some("0"), &history.replace("READ", "0"), 5, &["1≠0"]);
}

// ---------------------------------------------------------------- mutex

#[test]
fn mutex_legal_steps() {
    assert_valid(
        "mutex",
        None,
        "
        0 invoke acquire
        0 ok acquire         ; free → held
        0 invoke release
        0 ok release         ; held → free
        1 invoke acquire :whatever
        1 ok acquire :whatever ; the value is ignored
        ",
    );
    // Two processes contend; the loser's acquire fails, and takes no part.
    assert_valid(
        "mutex",
        None,
        "
        0 invoke acquire
        1 invoke acquire
        0 ok acquire
        1 fail acquire
        0 invoke release
        0 ok release
        ",
    );
    // --init true: the mutex starts held, so a release comes first.
    assert_valid("mutex", Some("true"), "0 invoke release\n0 ok release");
}

#[test]
fn mutex_illegal_steps() {
    assert_invalid(
        "mutex",
        None,
        "
        0 invoke acquire
        0 ok acquire         ; p0 holds it, and never releases
        1 invoke acquire
        1 ok acquire         ; so p1 cannot have acquired it
        ",
        3,
        &["already held"],
    );
    // Overlapping acquires that both succeed: each alone is fine (op 2), but
    // whichever goes second finds it held.
    assert_invalid(
        "mutex",
        None,
        "
        0 invoke acquire
        1 invoke acquire
        0 ok acquire
        1 ok acquire
        ",
        3,
        &["already held"],
    );
    assert_invalid("mutex", None, "0 invoke release\n0 ok release ; never acquired", 1, &["not held"]);
}

#[test]
fn mutex_crashed_and_failed_operations() {
    let history = "
        0 invoke acquire
        0 ok acquire         ; held by p0
        0 invoke release
        0 info release       ; crashed: the release may have happened
        1 invoke acquire
        1 ok acquire         ; legal only if it did, which it may have
    ";
    assert_valid("mutex", None, history);
    // Had the release failed, it did not happen: p1's acquire is impossible.
    assert_invalid("mutex", None, &history.replace("0 info release", "0 fail release"), 5, &["already held"]);
    // A crashed acquire may also never have happened.
    assert_valid(
        "mutex",
        None,
        "
        0 invoke acquire
        0 info acquire       ; crashed
        1 invoke acquire
        1 ok acquire         ; legal: the crashed acquire did not happen (or not yet)
        ",
    );
}

// ---------------------------------------------------------------- multi-register

const XY: Option<&str> = Some("{:x 0 :y 0}");

#[test]
fn multi_register_legal_steps() {
    assert_valid(
        "multi-register",
        XY,
        "
        0 invoke txn [[:read :x nil] [:read :y nil]]
        0 ok txn [[:read :x 0] [:read :y 0]]                   ; the initial values
        1 invoke txn [[:write :x 1] [:write :y 2]]
        1 ok txn [[:write :x 1] [:write :y 2]]
        0 invoke txn [[:read :x nil] [:write :x 3] [:read :x nil]]
        0 ok txn [[:read :x 1] [:write :x 3] [:read :x 3]]     ; in order: 1, then its own write
        2 invoke txn ([:read :y nil] [:read :z nil])
        2 ok txn ([:read :y 2] [:read :z nil])                 ; a list is a txn too; nil reads are unknown
        2 invoke txn []
        2 ok txn []                                            ; an empty txn changes nothing
        ",
    );
}

#[test]
fn multi_register_illegal_steps() {
    assert_invalid(
        "multi-register",
        XY,
        "
        1 invoke txn [[:write :x 1]]
        1 ok txn [[:write :x 1]]
        0 invoke txn [[:read :x nil]]
        0 ok txn [[:read :x 0]]       ; x is 1 since op 1
        ",
        3,
        &["1≠0"],
    );
    // A txn is atomic: a read concurrent with a txn writing x and y sees both
    // writes or neither. Before it the read of x fails; after it, the read of y.
    assert_invalid(
        "multi-register",
        XY,
        "
        1 invoke txn [[:write :x 1] [:write :y 1]]
        0 invoke txn [[:read :x nil] [:read :y nil]]
        0 ok txn [[:read :x 1] [:read :y 0]]
        1 ok txn [[:write :x 1] [:write :y 1]]
        ",
        2,
        &["0≠1", "1≠0"],
    );
    // Micro-ops apply in order: the read comes before the write of the same txn.
    assert_invalid(
        "multi-register",
        XY,
        "0 invoke txn [[:read :x nil] [:write :x 5]]\n0 ok txn [[:read :x 5] [:write :x 5]]",
        1,
        &["0≠5"],
    );
    // Without --init every key is nil (Knossos's default, an empty map): this is why
    // Knossos's multi-register history needs {:x 0 :y 0}.
    assert_invalid(
        "multi-register",
        None,
        "0 invoke txn [[:read :x nil]]\n0 ok txn [[:read :x 0]]",
        1,
        &["nil≠0"],
    );
}

#[test]
fn multi_register_crashed_and_failed_operations() {
    assert_invalid(
        "multi-register",
        XY,
        "
        1 invoke txn [[:write :y 5]]
        1 info txn [[:write :y 5]]    ; crashed: y may become 5 at any later point
        0 invoke txn [[:read :y nil]]
        0 ok txn [[:read :y 0]]       ; not yet
        0 invoke txn [[:read :y nil]]
        0 ok txn [[:read :y 5]]       ; now
        0 invoke txn [[:read :y nil]]
        0 ok txn [[:read :y 0]]       ; nothing writes 0 again
        ",
        7,
        &["5≠0"],
    );
    assert_invalid(
        "multi-register",
        XY,
        "
        1 invoke txn [[:write :x 9]]
        1 fail txn [[:write :x 9]]    ; failed: never happened
        0 invoke txn [[:read :x nil]]
        0 ok txn [[:read :x 9]]
        ",
        3,
        &["0≠9"],
    );
}

// ---------------------------------------------------------------- set

#[test]
fn set_legal_steps() {
    assert_valid(
        "set",
        None,
        "
        0 invoke add 1
        1 invoke add 2
        0 ok add 1
        2 invoke read nil
        2 ok read #{1}       ; after add 1, before add 2 (still pending)
        1 ok add 2
        2 invoke read nil
        2 ok read #{2 1}     ; sets compare without order
        0 invoke add 1
        0 ok add 1           ; adding again changes nothing
        2 invoke read nil
        2 ok read #{1 2}
        2 invoke read nil
        2 info read nil      ; a crashed read takes effect or not: either way nothing changes
        ",
    );
    assert_valid("set", Some("[3]"), "0 invoke read nil\n0 ok read #{3}");
}

#[test]
fn set_illegal_steps() {
    assert_invalid(
        "set",
        None,
        "
        0 invoke add 1
        0 ok add 1
        1 invoke read nil
        1 ok read #{}        ; the add completed before the read began
        ",
        3,
        &["can't read #{} from #{1}"],
    );
    // nil is not a wildcard for a set: a read returns the whole set.
    assert_invalid("set", None, "0 invoke read nil\n0 ok read nil", 1, &["can't read nil from #{}"]);
    // A vector never equals a set.
    assert_invalid(
        "set",
        None,
        "0 invoke add 1\n0 ok add 1\n0 invoke read nil\n0 ok read [1]",
        3,
        &["can't read [1] from #{1}"],
    );
}

#[test]
fn set_crashed_and_failed_operations() {
    assert_invalid(
        "set",
        None,
        "
        0 invoke add 3
        0 info add 3         ; crashed: 3 may appear at any later point
        1 invoke read nil
        1 ok read #{}        ; not yet
        1 invoke read nil
        1 ok read #{3}       ; now
        1 invoke read nil
        1 ok read #{}        ; and it cannot disappear
        ",
        7,
        &["can't read #{} from #{3}"],
    );
    assert_invalid(
        "set",
        None,
        "
        0 invoke add 4
        0 fail add 4         ; never happened
        1 invoke read nil
        1 ok read #{4}
        ",
        3,
        &["can't read #{4} from #{}"],
    );
}

// ---------------------------------------------------------------- unordered-queue

#[test]
fn unordered_queue_legal_steps() {
    assert_valid(
        "unordered-queue",
        None,
        "
        0 invoke enqueue 1
        0 ok enqueue 1
        0 invoke enqueue 2
        0 ok enqueue 2
        0 invoke enqueue 1
        0 ok enqueue 1       ; a second 1: a multiset
        1 invoke dequeue nil
        1 ok dequeue 2       ; any pending element, not only the oldest
        1 invoke dequeue nil
        1 ok dequeue 1
        1 invoke dequeue nil
        1 ok dequeue 1
        ",
    );
    // A dequeue may return an element whose enqueue is still pending.
    assert_valid(
        "unordered-queue",
        None,
        "
        1 invoke dequeue nil
        0 invoke enqueue 3
        1 ok dequeue 3       ; the enqueue took effect first
        0 ok enqueue 3
        ",
    );
    assert_valid("unordered-queue", Some("[5]"), "0 invoke dequeue nil\n0 ok dequeue 5");
}

#[test]
fn unordered_queue_illegal_steps() {
    assert_invalid(
        "unordered-queue",
        None,
        "
        0 invoke enqueue 1
        0 ok enqueue 1
        1 invoke dequeue nil
        1 ok dequeue 1
        2 invoke dequeue nil
        2 ok dequeue 1       ; only one 1 was enqueued
        ",
        5,
        &["can't dequeue 1"],
    );
    assert_invalid("unordered-queue", None, "0 invoke dequeue nil\n0 ok dequeue 5", 1, &["can't dequeue 5"]);
    // Read literally (--nil-reads absent, Knossos's reading), a dequeue returning nil
    // took the element nil (Knossos's message prints it as nothing: "can't dequeue ").
    let nil = "0 invoke dequeue nil\n0 ok dequeue nil";
    assert_invalid_with("unordered-queue", None, NilReads::Absent, nil, 1, &["can't dequeue nil"]);
}

#[test]
fn unordered_queue_dequeues_of_nil() {
    // By default a dequeue of nil has an unknown result: it found the queue empty...
    assert_valid("unordered-queue", None, "0 invoke dequeue nil\n0 ok dequeue nil");
    // ... or took some element, here 1 or 2, so that only one of them is left.
    let took_one = "
        0 invoke enqueue 1
        0 ok enqueue 1
        0 invoke enqueue 2
        0 ok enqueue 2
        1 invoke dequeue nil
        1 ok dequeue nil     ; took 1 or 2
        1 invoke dequeue nil
        1 ok dequeue 2       ; so it took 1
        1 invoke dequeue nil
        1 ok dequeue 1       ; gone
        ";
    assert_invalid("unordered-queue", None, took_one, 9, &["can't dequeue 1"]);
    // It could not take an element enqueued after it.
    let later = "
        0 invoke enqueue 1
        0 ok enqueue 1
        1 invoke dequeue nil
        1 ok dequeue nil     ; took 1: the queue was not empty
        0 invoke enqueue 2
        0 ok enqueue 2
        1 invoke dequeue nil
        1 ok dequeue 1       ; gone
        ";
    assert_invalid("unordered-queue", None, later, 7, &["can't dequeue 1"]);
    // A crashed one never changes an unordered queue's verdict: had it taken an
    // element, every later step would still be legal without it. Linearizable both
    // ways, the crashed dequeue of op 4 used or not.
    let crashed = "
        0 invoke enqueue 1
        0 ok enqueue 1
        0 invoke enqueue 2
        0 ok enqueue 2
        2 invoke dequeue nil
        2 info dequeue nil   ; crashed: may have taken 1 or 2, or nothing
        1 invoke dequeue nil
        1 ok dequeue 2
        ";
    assert_valid("unordered-queue", None, crashed);
    for (how, analysis) in analyses_with("unordered-queue", None, NilReads::Absent, crashed) {
        assert_eq!(analysis.valid, Validity::Valid, "{how}");
        // Read literally, it took the element nil, which was never there.
        assert_eq!(analysis.linearization.as_deref(), Some(&[0, 2, 6][..]), "{how}");
    }
    // And the same with a second dequeue of 2: 2 went once, whatever the crash did.
    let twice = format!("{crashed}\n1 invoke dequeue nil\n1 ok dequeue 2");
    assert_invalid("unordered-queue", None, &twice, 9, &["can't dequeue 2"]);
    assert_invalid_with("unordered-queue", None, NilReads::Absent, &twice, 9, &["can't dequeue 2"]);
}

#[test]
fn unordered_queue_crashed_and_failed_operations() {
    assert_valid(
        "unordered-queue",
        None,
        "
        0 invoke enqueue 7
        0 info enqueue 7     ; crashed: it may have happened
        1 invoke dequeue nil
        1 ok dequeue 7       ; and it did
        ",
    );
    assert_invalid(
        "unordered-queue",
        None,
        "
        0 invoke enqueue 8
        0 fail enqueue 8     ; never happened
        1 invoke dequeue nil
        1 ok dequeue 8
        ",
        3,
        &["can't dequeue 8"],
    );
}

// ---------------------------------------------------------------- fifo-queue

#[test]
fn fifo_queue_legal_steps() {
    assert_valid(
        "fifo-queue",
        None,
        "
        0 invoke enqueue 1
        1 invoke enqueue 2
        0 ok enqueue 1
        1 ok enqueue 2       ; the two enqueues overlapped: either order
        2 invoke dequeue nil
        2 ok dequeue 2       ; so 2 went in first
        2 invoke dequeue nil
        2 ok dequeue 1
        ",
    );
    assert_valid("fifo-queue", Some("[5 6]"), "0 invoke dequeue nil\n0 ok dequeue 5");
}

#[test]
fn fifo_queue_illegal_steps() {
    assert_invalid(
        "fifo-queue",
        None,
        "
        0 invoke enqueue 1
        0 ok enqueue 1
        0 invoke enqueue 2
        0 ok enqueue 2       ; 1 surely went in first
        1 invoke dequeue nil
        1 ok dequeue 2       ; so 1 is at the head
        ",
        5,
        &["can't dequeue 2"],
    );
    assert_invalid(
        "fifo-queue",
        None,
        "0 invoke dequeue nil\n0 ok dequeue 1",
        1,
        &["can't dequeue 1 from empty queue"],
    );
}

#[test]
fn fifo_queue_crashed_and_failed_operations() {
    assert_invalid(
        "fifo-queue",
        None,
        "
        0 invoke enqueue 1
        0 info enqueue 1     ; crashed: may have gone in, before 2 even
        1 invoke enqueue 2
        1 ok enqueue 2
        1 invoke enqueue 3
        1 fail enqueue 3     ; never happened
        2 invoke dequeue nil
        2 ok dequeue 1       ; legal: the crashed enqueue went in first
        2 invoke dequeue nil
        2 ok dequeue 2
        2 invoke dequeue nil
        2 ok dequeue 3       ; the queue is empty
        ",
        11,
        &["can't dequeue 3 from empty queue"],
    );
}

#[test]
fn fifo_queue_dequeues_of_nil() {
    // A crashed dequeue has an unknown result: it may have taken 1, the head, which
    // the dequeue of 2 needs gone. Every witness linearizes it (op 4) before that.
    let took_1 = "
        0 invoke enqueue 1
        0 ok enqueue 1
        0 invoke enqueue 2
        0 ok enqueue 2
        2 invoke dequeue nil
        2 info dequeue nil   ; crashed: took the head, 1
        1 invoke dequeue nil
        1 ok dequeue 2
        ";
    assert_witness("fifo-queue", NilReads::Unknown, took_1, &[0, 2, 4, 6]);
    // Read literally (--nil-reads absent, Knossos's reading) it took the element nil,
    // which was never at the head: 1 still is.
    assert_invalid_with("fifo-queue", None, NilReads::Absent, took_1, 7, &["can't dequeue 2"]);
    // But it could only take the head: not 2 from behind 1.
    let not_2 = "
        0 invoke enqueue 1
        0 ok enqueue 1
        0 invoke enqueue 2
        0 ok enqueue 2
        2 invoke dequeue nil
        2 info dequeue nil
        1 invoke dequeue nil
        1 ok dequeue 1
        1 invoke dequeue nil
        1 ok dequeue 1       ; 1 went once, whatever the crash took
        ";
    assert_invalid("fifo-queue", None, not_2, 9, &["can't dequeue 1", "can't dequeue 1 from empty queue"]);
    // Nor take effect before it was invoked: the dequeue of 2 completed first.
    let too_late = "
        0 invoke enqueue 1
        0 ok enqueue 1
        0 invoke enqueue 2
        0 ok enqueue 2
        1 invoke dequeue nil
        1 ok dequeue 2       ; 1 is still at the head
        2 invoke dequeue nil
        2 info dequeue nil
        ";
    assert_invalid("fifo-queue", None, too_late, 5, &["can't dequeue 2"]);
    // An :ok dequeue of nil took the head, or found the queue empty.
    assert_valid("fifo-queue", None, "0 invoke dequeue nil\n0 ok dequeue nil");
    let ok_nil = "
        0 invoke enqueue 1
        0 ok enqueue 1
        1 invoke dequeue nil
        1 ok dequeue nil     ; took 1
        1 invoke dequeue nil
        1 ok dequeue 1       ; gone
        ";
    assert_invalid("fifo-queue", None, ok_nil, 5, &["can't dequeue 1 from empty queue"]);
    let empty = "0 invoke dequeue nil\n0 ok dequeue nil";
    assert_invalid_with(
        "fifo-queue",
        None,
        NilReads::Absent,
        empty,
        1,
        &["can't dequeue nil from empty queue"],
    );
}

// ---------------------------------------------------------------- messages

/// Every built-in model's inconsistencies print their values as EDN: nil as `nil`
/// (Knossos's `str` prints it as nothing: `can't CAS  from 1 to 2`), a string quoted.
#[test]
fn inconsistencies_print_nil_as_nil() {
    let v = |edn: &str| Value::from_edn(edn).unwrap();
    /// A model with its meaning of nil and initial state, steps to a state, the step
    /// it refuses there, and its message.
    type Case<'a> =
        (&'a str, NilReads, Option<&'a str>, &'a [(&'a str, &'a str)], (&'a str, &'a str), &'a str);
    let cases: &[Case] = &[
        ("register", NilReads::Absent, None, &[], ("read", "1"), "nil≠1"),
        ("register", NilReads::Absent, Some("1"), &[], ("read", "nil"), "1≠nil"),
        ("cas-register", NilReads::Unknown, None, &[], ("cas", "[1 2]"), "can't CAS nil from 1 to 2"),
        (
            "cas-register",
            NilReads::Unknown,
            Some("0"),
            &[],
            ("cas", "[nil nil]"),
            "can't CAS 0 from nil to nil",
        ),
        ("cas-register", NilReads::Unknown, None, &[], ("read", "5"), "can't read 5 from register nil"),
        ("cas-register", NilReads::Absent, Some("0"), &[], ("read", "nil"), "can't read nil from register 0"),
        (
            "cas-register",
            NilReads::Unknown,
            Some("\"\""),
            &[],
            ("read", "\"a\""),
            r#"can't read "a" from register """#,
        ),
        ("mutex", NilReads::Unknown, None, &[("acquire", "nil")], ("acquire", "nil"), "already held"),
        ("mutex", NilReads::Unknown, None, &[], ("release", "nil"), "not held"),
        ("multi-register", NilReads::Unknown, None, &[], ("txn", "[[:read :x 1]]"), "nil≠1"),
        ("multi-register", NilReads::Absent, Some("{:x 1}"), &[], ("txn", "[[:read :x nil]]"), "1≠nil"),
        ("set", NilReads::Unknown, None, &[], ("read", "nil"), "can't read nil from #{}"),
        ("set", NilReads::Unknown, None, &[("add", "nil")], ("read", "#{}"), "can't read #{} from #{nil}"),
        (
            "unordered-queue",
            NilReads::Absent,
            None,
            &[("enqueue", "1")],
            ("dequeue", "nil"),
            "can't dequeue nil",
        ),
        (
            "unordered-queue",
            NilReads::Unknown,
            None,
            &[("enqueue", "nil")],
            ("dequeue", "1"),
            "can't dequeue 1",
        ),
        ("fifo-queue", NilReads::Absent, None, &[], ("dequeue", "nil"), "can't dequeue nil from empty queue"),
        ("fifo-queue", NilReads::Absent, None, &[("enqueue", "1")], ("dequeue", "nil"), "can't dequeue nil"),
        ("fifo-queue", NilReads::Unknown, None, &[("enqueue", "nil")], ("dequeue", "1"), "can't dequeue 1"),
        (
            "kv",
            NilReads::Absent,
            None,
            &[("put", "[\"a\" \"x\"]")],
            ("get", "[\"a\" nil]"),
            r#"can't get nil from key "a" holding "x""#,
        ),
    ];
    let mut models: Vec<&str> = Vec::new();
    for &(name, nil_reads, init, steps, (f, value), msg) in cases {
        let m = model_with(name, init, nil_reads);
        let step = |s: &Value, f: &str, value: &str| m.step(s, &Value::keyword(f), &v(value));
        let state = steps.iter().fold(m.init(), |s, (f, value)| step(&s, f, value).expect("a legal step"));
        assert_eq!(step(&state, f, value), None, "{name}: {f} {value}");
        let said = m.inconsistency(&state, &Value::keyword(f), &v(value));
        assert_eq!(said, msg, "{name}");
        assert!(!said.contains("  ") && !said.ends_with(' ') && !said.contains(" ."), "{name}: {said:?}");
        models.push(name);
    }
    // Every model that can refuse a step (noop never does) is exercised.
    let refusing: Vec<&str> = model::ModelInfo::NAMES.iter().copied().filter(|&n| n != "noop").collect();
    assert!(refusing.iter().all(|n| models.contains(n)), "{refusing:?}");
}

// ---------------------------------------------------------------- noop

#[test]
fn noop_accepts_everything() {
    assert_valid(
        "noop",
        None,
        "
        0 invoke frobnicate {:any \"thing\"}
        0 ok frobnicate 3
        1 invoke read nil
        1 ok read 42
        nemesis info start
        1 invoke read nil
        1 info read nil
        ",
    );
    // ... but a history must still pair up.
    let errors = input_errors("noop", "{:process 0, :type :ok, :f :read, :value 1}");
    assert!(errors[0].message.contains("no open invocation"), "{errors:?}");
}

// ---------------------------------------------------------------- kv

#[test]
fn kv_legal_steps() {
    assert_valid(
        "kv",
        None,
        r#"
        0 invoke put "a" "x"
        0 ok put "a" "x"
        1 invoke append "a" "y"
        1 ok append "a" "y"        ; "xy"
        0 invoke get "a" nil
        0 ok get "a" "xy"
        0 invoke get "b" nil
        0 ok get "b" ""            ; a key never written holds ""
        1 invoke append "b" "z"
        1 ok append "b" "z"        ; appending to "" gives "z"
        2 invoke get "b" nil
        2 ok get "b" nil           ; nil is unknown: legal
        2 invoke put "a" ""
        2 ok put "a" ""
        2 invoke get "a" nil
        2 ok get "a" ""
        "#,
    );
    // Two overlapping appends go in either order; readers then agree on it.
    assert_valid(
        "kv",
        None,
        r#"
        0 invoke append "a" "1"
        1 invoke append "a" "2"
        0 ok append "a" "1"
        1 ok append "a" "2"
        2 invoke get "a" nil
        2 ok get "a" "21"
        "#,
    );
    assert_valid("kv", Some(r#"{"a" "x"}"#), "0 invoke get \"a\" nil\n0 ok get \"a\" \"x\"");
}

#[test]
fn kv_illegal_steps() {
    assert_invalid(
        "kv",
        None,
        r#"
        0 invoke put "a" "x"
        0 ok put "a" "x"
        1 invoke get "a" nil
        1 ok get "a" ""            ; the put completed before the get began
        "#,
        3,
        &[r#"can't get "" from key "a" holding "x""#],
    );
    // Keys are independent: a write to "a" is not seen in "b".
    assert_invalid(
        "kv",
        None,
        r#"
        0 invoke put "a" "x"
        0 ok put "a" "x"
        1 invoke get "b" nil
        1 ok get "b" "x"
        "#,
        3,
        &[r#"can't get "x" from key "b" holding """#],
    );
    assert_invalid(
        "kv",
        None,
        r#"
        0 invoke append "a" "1"
        1 invoke append "a" "2"
        0 ok append "a" "1"
        1 ok append "a" "2"
        2 invoke get "a" nil
        2 ok get "a" "12"          ; so "1" went in first
        2 invoke get "a" nil
        2 ok get "a" "21"          ; not the other way round
        "#,
        7,
        &[r#"can't get "21" from key "a" holding "12""#],
    );
}

#[test]
fn kv_crashed_and_failed_operations() {
    assert_invalid(
        "kv",
        None,
        r#"
        0 invoke put "a" "x"
        0 ok put "a" "x"
        0 invoke append "a" "z"
        0 info append "a" "z"      ; crashed: may happen at any later point
        1 invoke get "a" nil
        1 ok get "a" "x"           ; not yet
        1 invoke get "a" nil
        1 ok get "a" "xz"          ; now
        1 invoke get "a" nil
        1 ok get "a" "x"           ; and it cannot be undone
        "#,
        9,
        &[r#"can't get "x" from key "a" holding "xz""#],
    );
    assert_invalid(
        "kv",
        None,
        r#"
        0 invoke put "a" "q"
        0 fail put "a" "q"         ; never happened
        1 invoke get "a" nil
        1 ok get "a" "q"
        "#,
        3,
        &[r#"can't get "q" from key "a" holding """#],
    );
}

// ---------------------------------------------------------------- input errors

/// The single error of a history, which must name `index` and `line`.
fn one_error(name: &str, log: &str, index: u64, line: u32) -> String {
    let errors = input_errors(name, log);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].op_index, errors[0].line), (Some(index), line), "{errors:?}");
    errors[0].message.clone()
}

#[test]
fn model_specific_input_errors_name_the_op_and_line() {
    // A cas whose value is not [old new]: named at the completion, whose value counts.
    let e = one_error(
        "cas-register",
        "{:process 0, :type :invoke, :f :write, :value 1}\n\
         {:process 0, :type :ok, :f :write, :value 1}\n\
         {:process 0, :type :invoke, :f :cas, :value [1 2]}\n\
         {:process 0, :type :ok, :f :cas, :value 2}",
        3,
        4,
    );
    assert_eq!(e, "cas-register: a :cas value must be [old new], not 2");
    // A txn that is not a list of [f k v].
    let e = one_error("multi-register", "{:process 0, :type :invoke, :f :txn, :value [:read :x nil]}", 0, 1);
    assert!(
        e.starts_with("multi-register: each micro-op of a :txn must be [f k v]") && e.ends_with("not :read"),
        "{e}"
    );
    let e = one_error("multi-register", "{:process 0, :type :invoke, :f :txn, :value {:x 1}}", 0, 1);
    assert!(e.contains("a :txn value must be a list of [f k v] micro-ops, not {:x 1}"), "{e}");
    let e =
        one_error("multi-register", "{:process 0, :type :invoke, :f :txn, :value [[:cas :x [0 1]]]}", 0, 1);
    assert!(e.contains(":read or :write, not [:cas :x [0 1]]"), "{e}");
    // A kv op without :key, and with a value that is not a string.
    let e = one_error(
        "kv",
        "{:process 0, :type :invoke, :f :get}\n{:process 0, :type :ok, :f :get, :value \"\"}",
        1,
        2,
    );
    assert!(e.starts_with("kv: a kv op needs a :key"), "{e}");
    let e = one_error("kv", "{:process 0, :type :invoke, :f :put, :key \"a\", :value 3}", 0, 1);
    assert_eq!(e, "kv: a kv :put value must be a string, not 3");
    // Unknown functions list the known ones.
    let e = one_error("mutex", "{:process 0, :type :invoke, :f :lock}", 0, 1);
    assert_eq!(e, "mutex: unknown :f :lock; this model knows :acquire and :release");
    let e = one_error("fifo-queue", "{:process 0, :type :invoke, :f :push, :value 1}", 0, 1);
    assert!(e.contains(":enqueue and :dequeue"), "{e}");
    // Every problem is reported, and failed ops are never asked about.
    let errors = input_errors(
        "set",
        "{:process 0, :type :invoke, :f :remove, :value 1}\n\
         {:process 1, :type :invoke, :f :remove, :value 1}\n\
         {:process 1, :type :fail, :f :remove, :value 1}\n\
         {:process 2, :type :invoke, :f :contains, :value 1}",
    );
    assert_eq!(errors.iter().map(|d| d.line).collect::<Vec<_>>(), [1, 4], "{errors:?}");
}

// ---------------------------------------------------------------- the corpus

fn corpus_analysis(path: &str, name: &str, init: Option<&str>, options: &Options) -> Option<Analysis> {
    let dir = common::corpus()?;
    let ops = read::RawOp::read_path(&dir.join(path), None).unwrap_or_else(|e| panic!("{e}"));
    let model = model(name, init);
    let history = History::complete(ops, &model).unwrap_or_else(|e| panic!("{path}: {e:?}"));
    Some(check(&model, &history, options))
}

#[test]
fn knossos_multi_register_is_valid_from_x0_y0() {
    for algorithm in ALGORITHMS {
        let options = Options::default().algorithm(algorithm);
        let path = "knossos/multi-register/good/multi-register.edn";
        let Some(analysis) = corpus_analysis(path, "multi-register", XY, &options) else { return };
        assert_eq!(analysis.valid, Validity::Valid, "{algorithm:?}");
    }
}

#[test]
fn knossos_mutex_fails_where_knossos_says() {
    for algorithm in ALGORITHMS {
        let options = Options::default().algorithm(algorithm);
        let Some(analysis) = corpus_analysis("knossos/mutex/bad/etcd.edn", "mutex", None, &options) else {
            return;
        };
        assert_eq!(analysis.valid, Validity::Invalid, "{algorithm:?}");
        // Process 0 acquires at 1119 while process 3 holds the mutex (acquired at
        // 1109 and not released since); the last :ok before it is 1110.
        let op = analysis.op.as_ref().unwrap();
        assert_eq!(op.index, 1119, "{algorithm:?}");
        assert_eq!(op.map.get("process"), Some(&Value::Int(0)));
        assert_eq!(analysis.previous_ok.as_ref().unwrap().index, 1110, "{algorithm:?}");
        for path in &analysis.final_paths {
            assert_eq!(path.last().unwrap().model.get("msg"), Some(&Value::string("already held")));
        }
    }
}

#[test]
fn porcupine_kv_histories_get_their_verdicts_whole_and_split() {
    for (file, expected) in [
        ("c01-ok.txt", Validity::Valid),
        ("c01-bad.txt", Validity::Invalid),
        ("c10-ok.txt", Validity::Valid),
        ("c10-bad.txt", Validity::Invalid),
    ] {
        for partition in [false, true] {
            for algorithm in ALGORITHMS {
                let options = Options::default().algorithm(algorithm).partition(partition);
                let path = format!("porcupine/kv/{file}");
                let Some(analysis) = corpus_analysis(&path, "kv", Some("{}"), &options) else { return };
                assert_eq!(analysis.valid, expected, "{file}, split {partition}, {algorithm:?}");
            }
        }
    }
}
