//! The unique-value engine on hand-written histories: each rule of its module docs
//! (what is left out, what is kept, each way a cut is impossible) and each bad
//! pattern, with the verdict reasoned out in a comment. Every case is also decided
//! by WGL, which must agree, and a valid verdict's linearization is replayed
//! through the model.

#[path = "common/oracle.rs"]
mod oracle;

use knossos_rs::expert::{decide, Decline, Verdict};
use knossos_rs::model::{self, ModelOptions, NilReads};
use knossos_rs::read::RawOp;
use knossos_rs::{check, read, Algorithm, History, Model, Options, Validity, Value};
use oracle::{op, oracle, Invocation};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One op a line: `p type f value`, `value` as EDN; for kv, `p type f key value`.
fn history(model: &dyn Model<State = knossos_rs::Value>, ops: &str) -> History {
    let mut edn = String::new();
    for line in ops.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut words = line.splitn(4, ' ');
        let (p, t, f, rest) =
            (words.next().unwrap(), words.next().unwrap(), words.next().unwrap(), words.next());
        let rest = rest.unwrap_or("nil");
        let (key, value) = match (f, rest.split_once(' ')) {
            ("get" | "put" | "append", Some((k, v))) => (format!(", :key {k}"), v.to_string()),
            ("get" | "put" | "append", None) => (format!(", :key {rest}"), "nil".to_string()),
            _ => (String::new(), rest.to_string()),
        };
        edn += &format!("{{:process {p}, :type :{t}, :f :{f}{key}, :value {value}}}\n");
    }
    History::complete(read::RawOp::read(edn.as_bytes(), "case.edn", None).unwrap(), model).unwrap()
}

fn model(name: &str, init: Option<&str>, nil_reads: NilReads) -> model::DynModel {
    let init = init.map(|i| knossos_rs::Value::from_edn(i).unwrap());
    model::builtin(name, &ModelOptions::default().init(init).nil_reads(nil_reads)).unwrap()
}

/// The engine's verdict as `Ok(None)` (valid) or `Ok(Some(index))` (the failing
/// op's `:index`), checked against WGL; `Err` if the engine declines.
fn verdict(name: &str, init: Option<&str>, ops: &str) -> Result<Option<u64>, Decline> {
    verdict_with(name, init, NilReads::Unknown, ops)
}

fn verdict_with(
    name: &str,
    init: Option<&str>,
    nil_reads: NilReads,
    ops: &str,
) -> Result<Option<u64>, Decline> {
    let m = model(name, init, nil_reads);
    let h = history(&m, ops);
    let wgl = check(&m, &h, &Options::default().algorithm(Algorithm::Wgl).partition(false));
    let found = match decide(&h, &m)? {
        Verdict::Valid(order) => {
            let mut state = m.init();
            for o in &order {
                state = m.step(&state, &h.operations[*o].f, &h.operations[*o].value).expect("a legal step");
            }
            assert_eq!(wgl.valid, Validity::Valid, "WGL disagrees: {ops}");
            None
        }
        Verdict::Invalid(op) => {
            let index = h.ops[h.operations[op].complete.unwrap()].index;
            assert_eq!(wgl.valid, Validity::Invalid, "WGL disagrees: {ops}");
            assert_eq!(wgl.op.as_ref().map(|o| o.index), Some(index), "WGL's failing op: {ops}");
            Some(index)
        }
    };
    Ok(found)
}

#[test]
fn register_rules() {
    // A crashed write some read observes happened, before its read.
    assert_eq!(
        verdict("register", Some("0"), "0 invoke write 1\n0 info write 1\n1 invoke read\n1 ok read 1"),
        Ok(None)
    );
    // A crashed write nobody observes is left out: the read of 0 after it is fine.
    assert_eq!(
        verdict("register", Some("0"), "0 invoke write 1\n0 info write 1\n1 invoke read\n1 ok read 0"),
        Ok(None)
    );
    // A read of a value nobody writes fails (op 1, the read's :ok).
    assert_eq!(verdict("register", Some("0"), "1 invoke read\n1 ok read 7"), Ok(Some(1)));
    // A crashed read, and a read of nil (unknown), are left out.
    assert_eq!(
        verdict("register", Some("0"), "1 invoke read\n1 info read\n2 invoke read\n2 ok read nil"),
        Ok(None)
    );
    // A read cannot complete before its write is invoked (op 1 fails).
    assert_eq!(
        verdict("register", Some("0"), "1 invoke read\n1 ok read 1\n0 invoke write 1\n0 ok write 1"),
        Ok(Some(1))
    );
    // Blocks out of order: write 1, then write 2, then a read of 1 (op 5).
    let stale = "0 invoke write 1\n0 ok write 1\n0 invoke write 2\n0 ok write 2\n1 invoke read\n1 ok read 1";
    assert_eq!(verdict("register", Some("0"), stale), Ok(Some(5)));
    // Two overlapping writes, each read after both complete, first 2 then 1: the
    // read of 1 (op 7) would need write 1 after write 2 and again before it.
    let swap = "0 invoke write 1\n1 invoke write 2\n0 ok write 1\n1 ok write 2\n\
                2 invoke read\n2 ok read 2\n2 invoke read\n2 ok read 1";
    assert_eq!(verdict("register", Some("0"), swap), Ok(Some(7)));
    // With the writes concurrent to the reads, 1 then 2 is an order: valid.
    let overlap =
        "0 invoke write 1\n1 invoke write 2\n2 invoke read\n2 ok read 1\n0 ok write 1\n1 ok write 2";
    assert_eq!(verdict("register", Some("0"), overlap), Ok(None));
    // The initial state's block comes first: a read of the initial value after a
    // completed write fails (op 3).
    assert_eq!(
        verdict("register", Some("0"), "0 invoke write 1\n0 ok write 1\n1 invoke read\n1 ok read 0"),
        Ok(Some(3))
    );
    // `5N` and `5` are one value.
    assert_eq!(
        verdict("register", Some("0"), "0 invoke write 5N\n0 ok write 5N\n1 invoke read\n1 ok read 5"),
        Ok(None)
    );
    // With nil reads meaning absent, nil is the initial value, and read as one.
    let absent = "0 invoke write 1\n0 ok write 1\n1 invoke read\n1 ok read nil";
    assert_eq!(verdict_with("register", None, NilReads::Absent, absent), Ok(Some(3)));
    assert_eq!(verdict_with("register", None, NilReads::Unknown, absent), Ok(None));
}

#[test]
fn cas_register_rules() {
    // A chain: write 1, cas 1→2, cas 2→3, read 3.
    let chain = "0 invoke write 1\n0 ok write 1\n0 invoke cas [1 2]\n0 ok cas [1 2]\n\
                 1 invoke cas [2 3]\n1 ok cas [2 3]\n2 invoke read\n2 ok read 3";
    assert_eq!(verdict("cas-register", Some("0"), chain), Ok(None));
    // A crashed cas is kept when its value is read, and then its old value must be
    // there: the crashed cas 0→5 happened, from the initial 0.
    let crashed = "0 invoke cas [0 5]\n0 info cas [0 5]\n1 invoke read\n1 ok read 5";
    assert_eq!(verdict("cas-register", Some("0"), crashed), Ok(None));
    // ... which a completed write of 1 before it makes impossible: the read (op 5) fails.
    let after =
        "2 invoke write 1\n2 ok write 1\n0 invoke cas [0 5]\n0 info cas [0 5]\n1 invoke read\n1 ok read 5";
    assert_eq!(verdict("cas-register", Some("0"), after), Ok(Some(5)));
    // Two cas from one value cannot both happen: the second :ok (op 3) fails.
    let twice = "0 invoke cas [0 1]\n0 ok cas [0 1]\n1 invoke cas [0 2]\n1 ok cas [0 2]";
    assert_eq!(verdict("cas-register", Some("0"), twice), Ok(Some(3)));
    // A crashed cas nobody observes is left out, even one from a value never there.
    assert_eq!(verdict("cas-register", Some("0"), "0 invoke cas [9 1]\n0 info cas [9 1]"), Ok(None));
    // A cycle of cas with no write at its head: 1→2 needs the 1 that only 2→1
    // (still open) writes, which needs the 2 that only 1→2 writes. The first :ok
    // (op 2) already fails.
    let cycle = "0 invoke cas [1 2]\n1 invoke cas [2 1]\n0 ok cas [1 2]\n1 ok cas [2 1]";
    assert_eq!(verdict("cas-register", Some("0"), cycle), Ok(Some(2)));
}

#[test]
fn set_rules() {
    // Reads must grow: #{1 2} then #{1} fails (op 7).
    let shrink = "0 invoke add 1\n0 ok add 1\n0 invoke add 2\n0 ok add 2\n\
                  1 invoke read\n1 ok read #{1 2}\n1 invoke read\n1 ok read #{1}";
    assert_eq!(verdict("set", None, shrink), Ok(Some(7)));
    // Two concurrent reads whose sets are not a chain: #{1} and #{2} (the second :ok, op 7).
    let fork = "0 invoke add 1\n1 invoke add 2\n2 invoke read\n3 invoke read\n\
                2 ok read #{1}\n0 ok add 1\n1 ok add 2\n3 ok read #{2}";
    assert_eq!(verdict("set", None, fork), Ok(Some(7)));
    // A crashed add read by someone happened; one nobody reads is left out.
    assert_eq!(verdict("set", None, "0 invoke add 1\n0 info add 1\n1 invoke read\n1 ok read #{1}"), Ok(None));
    assert_eq!(verdict("set", None, "0 invoke add 1\n0 info add 1\n1 invoke read\n1 ok read #{}"), Ok(None));
    // An add not read by a read that began after it completed (op 3).
    assert_eq!(verdict("set", None, "0 invoke add 1\n0 ok add 1\n1 invoke read\n1 ok read #{}"), Ok(Some(3)));
    // A read missing an initial element fails.
    assert_eq!(verdict("set", Some("#{5}"), "1 invoke read\n1 ok read #{}"), Ok(Some(1)));
    // A read that is not a set never succeeds.
    assert_eq!(verdict("set", None, "1 invoke read\n1 ok read [1]"), Ok(Some(1)));
}

#[test]
fn unordered_queue_rules() {
    // Any order out: 1 and 2 in, 2 then 1 out.
    let any = "0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n\
               1 invoke dequeue\n1 ok dequeue 2\n1 invoke dequeue\n1 ok dequeue 1";
    assert_eq!(verdict("unordered-queue", None, any), Ok(None));
    // A dequeue that completes before its enqueue is invoked (op 1).
    assert_eq!(
        verdict(
            "unordered-queue",
            None,
            "1 invoke dequeue\n1 ok dequeue 1\n0 invoke enqueue 1\n0 ok enqueue 1"
        ),
        Ok(Some(1))
    );
    // One element dequeued twice (op 5).
    let twice = "0 invoke enqueue 1\n0 ok enqueue 1\n1 invoke dequeue\n1 ok dequeue 1\n1 invoke dequeue\n1 ok dequeue 1";
    assert_eq!(verdict("unordered-queue", None, twice), Ok(Some(5)));
    // A crashed dequeue is left out; a crashed enqueue that was dequeued happened.
    let crashed = "0 invoke enqueue 1\n0 info enqueue 1\n2 invoke dequeue\n2 info dequeue\n1 invoke dequeue\n1 ok dequeue 1";
    assert_eq!(verdict("unordered-queue", None, crashed), Ok(None));
    // Left out, a crashed dequeue of nil helps nothing: 1 dequeued twice still fails (op 7).
    let no_help = "0 invoke enqueue 1\n0 ok enqueue 1\n2 invoke dequeue\n2 info dequeue\n\
                   1 invoke dequeue\n1 ok dequeue 1\n1 invoke dequeue\n1 ok dequeue 1";
    assert_eq!(verdict("unordered-queue", None, no_help), Ok(Some(7)));
    // An :ok dequeue of nil must have taken an element or found the queue empty: declined.
    let ok_nil = "0 invoke enqueue 1\n0 ok enqueue 1\n1 invoke dequeue\n1 ok dequeue nil";
    let declined = verdict("unordered-queue", None, ok_nil).unwrap_err();
    assert!(declined.message.contains(":ok dequeue of nil"), "{}", declined.message);
    // Read literally (Knossos's reading), it returned the element nil, never enqueued (op 3).
    assert_eq!(verdict_with("unordered-queue", None, NilReads::Absent, ok_nil), Ok(Some(3)));
}

#[test]
fn fifo_queue_rules() {
    // Out of order: 1 then 2 in, 2 then 1 out; the dequeue of 2 (op 5) fails.
    let order = "0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n\
                 1 invoke dequeue\n1 ok dequeue 2\n1 invoke dequeue\n1 ok dequeue 1";
    assert_eq!(verdict("fifo-queue", None, order), Ok(Some(5)));
    // Concurrent enqueues may be ordered either way.
    let concurrent = "0 invoke enqueue 1\n2 invoke enqueue 2\n0 ok enqueue 1\n2 ok enqueue 2\n\
                      1 invoke dequeue\n1 ok dequeue 2\n1 invoke dequeue\n1 ok dequeue 1";
    assert_eq!(verdict("fifo-queue", None, concurrent), Ok(None));
    // An element never dequeued, ahead of one that is: the dequeue of 2 (op 5) fails.
    let stuck = "0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n1 invoke dequeue\n1 ok dequeue 2";
    assert_eq!(verdict("fifo-queue", None, stuck), Ok(Some(5)));
    // ... unless its enqueue crashed and nobody dequeued it: then it is left out.
    let left_out = "0 invoke enqueue 1\n0 info enqueue 1\n3 invoke enqueue 2\n3 ok enqueue 2\n1 invoke dequeue\n1 ok dequeue 2";
    assert_eq!(verdict("fifo-queue", None, left_out), Ok(None));
    // A crashed dequeue of nil may take the head, or never take effect.
    let nil = "0 invoke enqueue 1\n0 ok enqueue 1\n2 invoke dequeue\n2 info dequeue\n1 invoke dequeue\n1 ok dequeue 1";
    assert_eq!(verdict("fifo-queue", None, nil), Ok(None));
    let took_1 = "0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n\
                  2 invoke dequeue\n2 info dequeue\n1 invoke dequeue\n1 ok dequeue 2";
    assert_eq!(verdict("fifo-queue", None, took_1), Ok(None));
    // Read literally, it took the element nil: 1 stays at the head (op 7).
    assert_eq!(verdict_with("fifo-queue", None, NilReads::Absent, took_1), Ok(Some(7)));
    // Not one invoked after the dequeue it would have to precede (op 5).
    let too_late = "0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n\
                    1 invoke dequeue\n1 ok dequeue 2\n2 invoke dequeue\n2 info dequeue";
    assert_eq!(verdict("fifo-queue", None, too_late), Ok(Some(5)));
    // Each takes one element: two elements ahead of 3 need two of them. With one,
    // the dequeue of 3 (op 9) fails; with a second, begun before it completes, not.
    let one = "0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n\
               0 invoke enqueue 3\n0 ok enqueue 3\n2 invoke dequeue\n2 info dequeue\n\
               1 invoke dequeue\n1 ok dequeue 3";
    assert_eq!(verdict("fifo-queue", None, one), Ok(Some(9)));
    let two = one.replace("1 ok dequeue 3", "3 invoke dequeue\n3 info dequeue\n1 ok dequeue 3");
    assert_eq!(verdict("fifo-queue", None, &two), Ok(None));
    // An element whose own dequeue completes :ok cannot be taken by one: the crashed
    // dequeue may have taken 1 until 1's own dequeue completes (op 9), which fails, as
    // 1 had to be gone before 2 was dequeued (op 7) and its own dequeue began after.
    let own = "0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n\
               2 invoke dequeue\n2 info dequeue\n1 invoke dequeue\n1 ok dequeue 2\n1 invoke dequeue\n1 ok dequeue 1";
    assert_eq!(verdict("fifo-queue", None, own), Ok(Some(9)));
    // An :ok dequeue of nil declines, as for the unordered queue.
    let ok_nil = "0 invoke enqueue 1\n0 ok enqueue 1\n1 invoke dequeue\n1 ok dequeue nil";
    assert!(verdict("fifo-queue", None, ok_nil).unwrap_err().message.contains(":ok dequeue of nil"));
    // A dequeue still open when a later element is dequeued may have taken the
    // head: 1 and 2 in, the dequeue of 1 invoked, then 2 dequeued (op 7), then the
    // dequeue of 1 completes. Linearizable: the open dequeue took 1 first.
    let open = "0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n\
                1 invoke dequeue\n2 invoke dequeue\n2 ok dequeue 2\n1 ok dequeue 1";
    assert_eq!(verdict("fifo-queue", None, open), Ok(None));
    // Initial elements come out first, in order: dequeuing 8 before 7 fails.
    assert_eq!(verdict("fifo-queue", Some("[7 8]"), "1 invoke dequeue\n1 ok dequeue 8"), Ok(Some(1)));
    assert_eq!(verdict("fifo-queue", Some("[7 8]"), "1 invoke dequeue\n1 ok dequeue 7"), Ok(None));
}

#[test]
fn kv_rules() {
    let k = "\"k\"";
    // Appends in the order a get reveals: "a" then "b"; a get of "ba" fails (op 9).
    let order = format!(
        "0 invoke append {k} \"a\"\n0 ok append {k} \"a\"\n0 invoke append {k} \"b\"\n0 ok append {k} \"b\"\n\
         1 invoke get {k}\n1 ok get {k} \"ab\"\n1 invoke get {k}\n2 invoke append {k} \"c\"\n2 ok append {k} \"c\"\n1 ok get {k} \"ba\""
    );
    assert_eq!(verdict("kv", None, &order), Ok(Some(9)));
    // A put resets the string; an append nobody reads may sit before it.
    let put = format!(
        "0 invoke append {k} \"a\"\n0 ok append {k} \"a\"\n0 invoke put {k} \"p\"\n0 ok put {k} \"p\"\n\
         1 invoke get {k}\n1 ok get {k} \"p\""
    );
    assert_eq!(verdict("kv", None, &put), Ok(None));
    // An append nobody reads, after a put, must follow every get of that put's
    // string: a get of "p" after the append completed fails (op 7).
    let lone = format!(
        "0 invoke put {k} \"p\"\n0 ok put {k} \"p\"\n0 invoke append {k} \"a\"\n0 ok append {k} \"a\"\n\
         1 invoke get {k}\n1 ok get {k} \"pa\"\n1 invoke get {k}\n1 ok get {k} \"p\""
    );
    assert_eq!(verdict("kv", None, &lone), Ok(Some(7)));
    // A crashed append that a get returns happened.
    let crashed =
        format!("0 invoke append {k} \"a\"\n0 info append {k} \"a\"\n1 invoke get {k}\n1 ok get {k} \"a\"");
    assert_eq!(verdict("kv", None, &crashed), Ok(None));
    // A string no sequence of appends gives fails.
    assert_eq!(verdict("kv", None, &format!("1 invoke get {k}\n1 ok get {k} \"zz\"")), Ok(Some(1)));
    // A string that reads two ways ("ab" as "a"+"b" or as "ab") is decided: here by
    // the crashed append of "ab".
    let ambiguous = format!(
        "0 invoke append {k} \"a\"\n0 ok append {k} \"a\"\n2 invoke append {k} \"b\"\n2 ok append {k} \"b\"\n\
         3 invoke append {k} \"ab\"\n3 info append {k} \"ab\"\n1 invoke get {k}\n1 ok get {k} \"ab\""
    );
    assert_eq!(verdict("kv", None, &ambiguous), Ok(None));
    // Beyond 64 readings, the engine declines: "a" and "aa" split twelve a's in 233 ways.
    let many = format!(
        "0 invoke append {k} \"a\"\n0 ok append {k} \"a\"\n0 invoke append {k} \"aa\"\n0 ok append {k} \"aa\"\n\
         1 invoke get {k}\n1 ok get {k} \"aaaaaaaaaaaa\""
    );
    let declined = verdict("kv", None, &many).unwrap_err();
    assert!(declined.message.contains("more than 64 ways"), "{}", declined.message);
}

#[test]
fn kv_values_written_twice() {
    let k = "\"k\"";
    // Two appends of "a", one after the other: a later get of "a" fails (op 5), as
    // the string holds both; "aa" is legal.
    let twice = format!(
        "0 invoke append {k} \"a\"\n0 ok append {k} \"a\"\n1 invoke append {k} \"a\"\n1 ok append {k} \"a\"\n\
         2 invoke get {k}\n2 ok get {k}"
    );
    assert_eq!(verdict("kv", None, &format!("{twice} \"a\"")), Ok(Some(5)));
    assert_eq!(verdict("kv", None, &format!("{twice} \"aa\"")), Ok(None));
    // Which append a get read matters: "pa" after the put can only be the second
    // append of "a" (the first completed before the put was invoked), which the
    // engine tries after the first.
    let which = format!(
        "0 invoke append {k} \"a\"\n0 ok append {k} \"a\"\n0 invoke put {k} \"p\"\n0 ok put {k} \"p\"\n\
         1 invoke append {k} \"a\"\n1 ok append {k} \"a\"\n2 invoke get {k}\n2 ok get {k} \"pa\""
    );
    assert_eq!(verdict("kv", None, &which), Ok(None));
    // Both appends of "a" completed before the put: "pa" fails (op 7).
    let neither = format!(
        "0 invoke append {k} \"a\"\n0 ok append {k} \"a\"\n1 invoke append {k} \"a\"\n1 ok append {k} \"a\"\n\
         0 invoke put {k} \"p\"\n0 ok put {k} \"p\"\n2 invoke get {k}\n2 ok get {k} \"pa\""
    );
    assert_eq!(verdict("kv", None, &neither), Ok(Some(7)));
    // A put of a chunk's text: "xx" is the put's "x" and the append, in that order;
    // "x" then read after both completed fails (op 7), however it is read.
    let overlap = format!(
        "0 invoke put {k} \"x\"\n0 ok put {k} \"x\"\n0 invoke append {k} \"x\"\n0 ok append {k} \"x\"\n\
         1 invoke get {k}\n1 ok get {k} \"xx\"\n1 invoke get {k}\n1 ok get {k} \"x\""
    );
    assert_eq!(verdict("kv", None, &overlap), Ok(Some(7)));
    // Two puts of one string, each read: the get of "pb" reads the second put (the
    // append of "a" after the first is read by "pa").
    let puts = format!(
        "0 invoke put {k} \"p\"\n0 ok put {k} \"p\"\n0 invoke append {k} \"a\"\n0 ok append {k} \"a\"\n\
         1 invoke get {k}\n1 ok get {k} \"pa\"\n0 invoke put {k} \"p\"\n0 ok put {k} \"p\"\n\
         0 invoke append {k} \"b\"\n0 ok append {k} \"b\"\n1 invoke get {k}\n1 ok get {k} \"pb\""
    );
    assert_eq!(verdict("kv", None, &puts), Ok(None));
}

#[test]
fn a_value_written_twice_declines_naming_it() {
    let twice = "0 invoke write 1\n0 ok write 1\n1 invoke write 1\n1 ok write 1";
    let declined = verdict("register", Some("0"), twice).unwrap_err();
    assert_eq!(
        declined.message,
        "the value 1 is written twice: by the operation at line 1 and again at line 3"
    );
    // The initial value counts as written.
    let declined = verdict("cas-register", Some("0"), "0 invoke write 0\n0 ok write 0").unwrap_err();
    assert!(declined.message.contains("by the initial state"), "{}", declined.message);
    let declined =
        verdict("fifo-queue", None, "0 invoke enqueue 1\n0 ok enqueue 1\n1 invoke enqueue 1").unwrap_err();
    assert!(declined.message.contains("the value 1 is written twice"), "{}", declined.message);
    // A model the engine does not know declines.
    assert!(verdict("mutex", None, "0 invoke acquire\n0 ok acquire").is_err());
}

// ---------------------------------------------------------------------------
// Nearly unique values: a few written twice, against the oracle and the searches.

/// What a generated kv history writes: chunks `"n."` drawn from `chunks` values
/// (so a few repeat), puts `"pn."` or now and then a chunk's text (a string then
/// reads two ways: a put's, or the chunk appended).
struct Nearly {
    chunks: i64,
    /// Chunks of `a` and `b` (`a`, `b`, `ab`, ...), so that a string splits into
    /// chunks in several ways with one base, rather than chunks ending in a dot.
    glued: bool,
    processes: usize,
    ops: usize,
    /// Of a hundred `:ok` gets, how many may return a wrong string.
    wrong: u32,
}

/// A random single-key kv history of `shape`, simulated: crashed operations take
/// effect or not, some fail, and some `:ok` gets return a wrong string (one chunk
/// short, one chunk more, or with two chunks swapped), or nil.
fn generate_nearly(rng: &mut StdRng, shape: &Nearly) -> Vec<Value> {
    let key = Some(Value::string("k"));
    const GLUED: [&str; 5] = ["a", "b", "ab", "ba", "bb"];
    let chunk = |rng: &mut StdRng| match rng.random_range(0..shape.chunks) {
        n if shape.glued => GLUED[n as usize].to_string(),
        n => format!("{n}."),
    };
    let mut log = Vec::new();
    // The key's string, as the put's string and the chunks appended since.
    let mut state: Vec<String> = Vec::new();
    let mut pending: Vec<Option<Invocation>> = vec![None; shape.processes];
    let mut invoked = 0;
    while invoked < shape.ops || pending.iter().any(Option::is_some) {
        let p = rng.random_range(0..shape.processes);
        match pending[p].take() {
            None if invoked < shape.ops => {
                let inv = match rng.random_range(0..10) {
                    0..=3 => Invocation { f: "get", value: Value::Nil, key: key.clone() },
                    4 => {
                        let s = if rng.random_bool(0.3) { chunk(rng) } else { format!("p{}", chunk(rng)) };
                        Invocation { f: "put", value: Value::string(&s), key: key.clone() }
                    }
                    _ => Invocation { f: "append", value: Value::string(&chunk(rng)), key: key.clone() },
                };
                log.push(op(p as i64, "invoke", &inv, inv.value.clone()));
                pending[p] = Some(inv);
                invoked += 1;
            }
            None => {}
            Some(inv) => {
                let effect = |state: &mut Vec<String>| match (inv.f, &inv.value) {
                    ("put", Value::String(s)) => *state = vec![s.to_string()],
                    ("append", Value::String(s)) => state.push(s.to_string()),
                    _ => {}
                };
                let outcome: u32 = rng.random_range(0..10);
                match outcome {
                    0 => {
                        if rng.random_bool(0.5) {
                            effect(&mut state);
                        }
                        log.push(op(p as i64, "info", &inv, inv.value.clone()));
                    }
                    1 => log.push(op(p as i64, "fail", &inv, inv.value.clone())),
                    _ if inv.f == "get" => {
                        let n = state.len();
                        let wrong = rng.random_range(0..100) < shape.wrong;
                        let result = match outcome * wrong as u32 {
                            2 if n > 0 => state[..n - 1].concat(),
                            3 => format!("{}{}", state.concat(), chunk(rng)),
                            4 if n > 1 => {
                                let mut swapped = state.clone();
                                swapped.swap(n - 1, n - 2);
                                swapped.concat()
                            }
                            5 if rng.random_bool(0.3) => {
                                log.push(op(p as i64, "ok", &inv, Value::Nil));
                                continue;
                            }
                            _ => state.concat(),
                        };
                        log.push(op(p as i64, "ok", &inv, Value::string(&result)));
                    }
                    _ => {
                        effect(&mut state);
                        log.push(op(p as i64, "ok", &inv, inv.value.clone()));
                    }
                }
            }
        }
    }
    log
}

/// The failing op's completion position by the engine (`Ok(None)`: valid, its
/// witness replayed), or `Err` if it declines.
fn engine(model: &model::DynModel, history: &History, case: &str) -> Result<Option<usize>, Decline> {
    Ok(match decide(history, model)? {
        Verdict::Valid(order) => {
            replay(model, history, &order, case);
            None
        }
        Verdict::Invalid(op) => Some(history.operations[op].complete.unwrap()),
    })
}

/// Asserts that `order` (operations) is a linearization of `history`: every step
/// legal, a crashed operation only where it changes the state, real time kept, and
/// every `:ok` operation there.
fn replay(model: &model::DynModel, history: &History, order: &[usize], case: &str) {
    let ops = &history.operations;
    let mut state = model.init();
    for (k, &o) in order.iter().enumerate() {
        let next = model.step(&state, &ops[o].f, &ops[o].value);
        let next = next.unwrap_or_else(|| panic!("{case}: illegal"));
        assert!(ops[o].complete.is_some() || next != state, "{case}: crashed {o} changes nothing");
        state = next;
        let late = order[k + 1..].iter().any(|&l| ops[l].complete.is_some_and(|c| c < ops[o].invoke));
        assert!(!late, "{case}: the witness breaks real time");
    }
    let all = (0..ops.len()).all(|o| ops[o].complete.is_none() || order.contains(&o));
    assert!(all, "{case}: the witness leaves out an :ok operation");
}

/// Random nearly unique kv histories of `shape`: the engine's verdict and failing
/// op are the oracle's (with `brute`) and the searches'; returns how many the
/// engine decided valid and invalid.
fn compare_nearly(
    shape: Nearly,
    nil_reads: NilReads,
    seed: u64,
    histories: usize,
    brute: bool,
) -> (usize, usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let m = model("kv", None, nil_reads);
    let (mut valid, mut invalid, mut repeated, mut declined) = (0, 0, 0, 0);
    for case in 0..histories {
        let log = generate_nearly(&mut rng, &shape);
        let raw = log.iter().map(|v| RawOp { value: v.clone(), line: 1, column: 1, span: 0..0 }).collect();
        let history = History::complete(raw, &m).unwrap();
        let shown = log.iter().map(Value::to_edn).collect::<Vec<_>>().join("\n");
        let case = format!("case {case}\n{shown}");
        let found = match engine(&m, &history, &case) {
            Ok(found) => found,
            Err(d) => {
                assert_eq!(d.message, "the engine could prove neither verdict for this history", "{case}");
                declined += 1;
                continue;
            }
        };
        let written: Vec<&Value> = log
            .iter()
            .filter(|o| {
                o.get("type") == Some(&Value::keyword("invoke")) && o.get("f") != Some(&Value::keyword("get"))
            })
            .filter_map(|o| o.get("value"))
            .collect();
        repeated += (1..written.len()).any(|i| written[..i].contains(&written[i])) as usize;
        if brute {
            assert_eq!(found, oracle(&m, &log), "{case}");
        }
        for algorithm in [Algorithm::Wgl, Algorithm::Linear] {
            let a = check(&m, &history, &Options::default().algorithm(algorithm).partition(false));
            let theirs = a.op.as_ref().map(|o| o.index as usize);
            assert_ne!(a.valid, Validity::Unknown, "{case}");
            assert_eq!(found, theirs, "{case} ({algorithm:?})");
        }
        match found {
            None => valid += 1,
            Some(_) => invalid += 1,
        }
    }
    eprintln!("nearly unique kv: {valid} valid, {invalid} invalid, {repeated} writing a value twice, {declined} declined");
    assert!(declined * 50 <= histories, "{declined} declined");
    assert!(valid > histories / 10 && invalid > histories / 10, "valid {valid}, invalid {invalid}");
    assert!(repeated > histories / 4, "only {repeated} write a value twice");
    (valid, invalid)
}

#[test]
fn nearly_unique_kv_agrees_with_brute_force() {
    compare_nearly(
        Nearly { chunks: 6, glued: false, processes: 4, ops: 10, wrong: 60 },
        NilReads::Unknown,
        1,
        3000,
        true,
    );
    compare_nearly(
        Nearly { chunks: 4, glued: false, processes: 3, ops: 9, wrong: 60 },
        NilReads::Absent,
        2,
        2000,
        true,
    );
}

/// Chunks that run together: a get's string splits into chunks in several ways
/// with one base, each a reading of its own (and the enumeration's nogoods must
/// tell them apart).
#[test]
fn kv_chunks_that_split_several_ways_agree_with_brute_force() {
    compare_nearly(
        Nearly { chunks: 3, glued: true, processes: 4, ops: 10, wrong: 40 },
        NilReads::Unknown,
        5,
        3000,
        true,
    );
}

#[test]
fn nearly_unique_kv_agrees_with_the_searches() {
    compare_nearly(
        Nearly { chunks: 60, glued: false, processes: 5, ops: 30, wrong: 5 },
        NilReads::Unknown,
        3,
        1000,
        false,
    );
    // Three chunks among eight clients: most gets have several readings, and the
    // engine backjumps (see its docs).
    compare_nearly(
        Nearly { chunks: 3, glued: false, processes: 8, ops: 30, wrong: 10 },
        NilReads::Unknown,
        4,
        1000,
        false,
    );
}

/// `processes` clients putting and appending five values on one key, each effect
/// inside its interval: each case (ops, seed) decided by the engine, valid, or with
/// `anomaly` failing at the op injected.
fn clients(processes: usize, cases: &[(usize, u64)], anomaly: Option<knossos_rs::generate::Anomaly>) {
    let m = model("kv", None, NilReads::Unknown);
    for &(ops, seed) in cases {
        let (history, injected) = kv_of_clients(&m, processes, ops, seed, anomaly);
        let case = format!("{ops} ops, seed {seed}");
        let found = engine(&m, &history, &case).unwrap_or_else(|d| panic!("{case}: declined: {}", d.message));
        let failing = found.map(|completion| history.ops[completion].index);
        assert_eq!(failing, injected.map(|i| i.index), "{case}: the failing op, if any, is the one injected");
    }
}

/// `generate -m kv --keys 1 --effect-inside` with these processes, ops, seed and
/// anomaly: the history, and the anomaly injected, if one is.
fn kv_of_clients(
    m: &model::DynModel,
    processes: usize,
    ops: usize,
    seed: u64,
    anomaly: Option<knossos_rs::generate::Anomaly>,
) -> (History, Option<knossos_rs::generate::Injected>) {
    use knossos_rs::generate::{generate, Spec};
    let spec = Spec {
        model: "kv".into(),
        keys: Some(1),
        processes,
        ops,
        effect_inside: true,
        seed,
        anomaly,
        ..Spec::default()
    };
    let mut edn = Vec::new();
    let injected = generate(&spec, read::Format::Edn, &mut edn).unwrap().anomaly;
    (History::complete(RawOp::read(&edn, "generated.edn", None).unwrap(), m).unwrap(), injected)
}

/// Every string a get returns has readings by the hundred, and real time keeps the
/// few around the get (see the kv engine's docs, "Real time prunes"). Without that
/// pruning the engine declined each of these; its verdicts are the oracle's on the
/// small histories above.
#[test]
fn real_time_prunes_the_readings_of_a_few_values_written_over_and_over() {
    clients(20, &[(40, 1), (40, 3), (60, 1)], None);
}

/// Over hundreds of operations, a get's choice among the puts of its value is
/// found wrong only many gets later. Checking the readings fixed so far at each get
/// finds it there, and going back to the gets the failure depends on skips the rest
/// (the kv engine's docs, "Checked on the way", "Backjumping"). With readings
/// checked only once all were chosen, each of these was declined.
#[test]
fn readings_are_checked_as_they_are_laid() {
    clients(20, &[(200, 1), (200, 2), (200, 3), (500, 2), (500, 3)], None);
}

/// Fifty clients: a get late in time finds every append it may read taken by the
/// places of earlier gets. A failure names those places, not the whole readings
/// that opened them, and readings that open the fewest places and appends that
/// later gets can read least are tried first (the kv engine's docs,
/// "Backjumping", "Orders"). With a level per get's whole reading, each of these
/// was declined: some get had more readings than the engine would enumerate, or
/// the search ran out of work going back and forth among them.
#[test]
fn places_are_filled_one_by_one() {
    clients(50, &[(200, 2), (500, 2), (500, 3), (1000, 5), (2000, 2)], None);
}

/// Fifty clients again: going forward after going back, the search met the same
/// failures over and over (six in seven), and ran out of work on each of these
/// before its last get. Remembered as nogoods, they fail at once the next time (the
/// kv engine's docs, "Nogoods").
#[test]
fn failures_are_remembered() {
    clients(50, &[(500, 5), (500, 10)], None);
}

/// Fifty clients: both passes of the enumeration give up on these, nogoods and
/// all; the engine alone then tries more orders of segments and appends,
/// each pass learning from those before (the kv engine's docs, "Orders"), as the
/// competition does beside its searches, and finds a linearization.
#[test]
fn more_orders_find_what_two_passes_do_not() {
    clients(50, &[(500, 1), (1000, 8)], None);
}

/// The first of those through the default competition: the unique-value engine
/// gives up after its two passes, WGL and the linear engine do not get far, and
/// the further orders, racing beside them, answer valid with a linearization.
#[test]
fn more_orders_race_beside_the_searches() {
    let m = model("kv", None, NilReads::Unknown);
    let (history, _) = kv_of_clients(&m, 50, 500, 1, None);
    let options = Options::default().witness(true).time_limit(std::time::Duration::from_secs(120));
    let analysis = check(&m, &history, &options.memory_limit(1 << 30));
    let (_, key) = &analysis.results[0];
    assert_eq!(key.valid, Validity::Valid);
    let by_index: std::collections::HashMap<u64, usize> =
        history.operations.iter().enumerate().map(|(i, o)| (history.ops[o.invoke].index, i)).collect();
    let order: Vec<usize> =
        key.linearization.as_ref().expect("a witness").iter().map(|i| by_index[i]).collect();
    replay(&m, &history, &order, "500 ops, seed 1, competing");
}

/// Each history with a stale read. To fail a cut past it the search would have to
/// exhaust every choice of readings, and gives up; but the stale get fails with
/// every other get left out, which proves every cut from its return on fails (the
/// kv engine's docs, "Reads left out"), and the failing operation is the one
/// injected. Before, each was declined.
#[test]
fn a_get_that_fails_alone_fails_every_cut_after_it() {
    clients(20, &[(200, 2), (200, 4), (500, 2)], Some(knossos_rs::generate::Anomaly::StaleRead));
}

/// Fifty clients, a stale read. The stale get fails with every other get left out,
/// which proves the history invalid. Among 1 000 operations the enumeration then
/// gets to the get (it did not before clashes named only the places an append on
/// its own could go), and the failing op is found; among 2 000 (seed 10) no search
/// gets far enough to say whether an earlier op fails first, and the check answers
/// invalid with the get as a bound (`op_bound`; before bounds, `:unknown`).
/// Either way the op is the one the generator
/// injected, and the explanation's core shows the stale read itself: the get and
/// the writes after the one it read, a handful of ops.
#[test]
fn a_stale_read_among_fifty_clients_is_proven() {
    let m = model("kv", None, NilReads::Unknown);
    for (ops, seed, bound) in [(1000, 1, false), (1000, 3, false), (2000, 10, true)] {
        let case = format!("{ops} ops, seed {seed}");
        let stale = Some(knossos_rs::generate::Anomaly::StaleRead);
        let (history, injected) = kv_of_clients(&m, 50, ops, seed, stale);
        let injected = injected.unwrap();
        let options = Options::default().time_limit(std::time::Duration::from_secs(60));
        let analysis = check(&m, &history, &options);
        let (_, key) = &analysis.results[0];
        assert_eq!(key.valid, Validity::Invalid, "{case}");
        assert_eq!(key.op_bound, bound, "{case}: whether a search reaches the get");
        assert_eq!(key.op.as_ref().map(|op| op.index), Some(injected.index), "{case}");
        if bound {
            assert!(key.longest_prefix.is_none() && key.final_paths.is_empty(), "{case}: nothing reached");
        }
        let explanation = knossos_rs::explain::explain(&m, &history, &analysis, &options).unwrap();
        let core = &explanation.core.history.operations;
        assert!(core.len() <= 5, "{case}: a core of {} operations", core.len());
        let gets = core.iter().filter(|o| o.f.as_name() == Some("get")).count();
        assert_eq!(gets, 1, "{case}: the stale get alone");
    }
}
