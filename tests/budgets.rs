//! Budgets: a search too hard for its time or memory stops itself and says
//! `:unknown`, with the cause and how far it got. (How promptly it stops is a
//! measurement, in benches/budgets.sh, not a timed test.)

#[path = "../examples/pathological.rs"]
#[allow(dead_code)]
mod pathological;

use knossos_rs::model::{self, DynModel};
use knossos_rs::{check, read, Algorithm, Cancel, Cause, History, Options, Validity};
use std::time::Duration;

fn hard() -> (DynModel, History) {
    let model = model::builtin("unordered-queue", &Default::default()).unwrap();
    // A last enqueue of 0, invoked after everything and never completed, enqueues a
    // value twice, so that the unique-value engine declines and the searches run.
    let text = pathological::history(40) + "{:process 999, :type :invoke, :f :enqueue, :value 0}\n";
    let ops = read::RawOp::read(text.as_bytes(), "pathological.edn", None).unwrap();
    let history = History::complete(ops, &model).unwrap();
    (model, history)
}

const ALGORITHMS: [Algorithm; 3] = [Algorithm::Wgl, Algorithm::Linear, Algorithm::Competition];

#[test]
fn time_limit_answers_unknown_timeout() {
    let (model, history) = hard();
    for algorithm in ALGORITHMS {
        let options = Options::default().algorithm(algorithm).time_limit(Duration::from_millis(200));
        let a = check(&model, &history, &options);
        assert_eq!(a.valid, Validity::Unknown, "{algorithm:?}");
        assert_eq!(a.cause, Some(Cause::Timeout), "{algorithm:?}");
        // Linear is stuck at the first dequeue (op 81), among the subsets of crashed
        // enqueues before it; WGL dequeues all 40 and is stuck at the dequeue of a
        // value never enqueued (op 161), proving every subset wrong.
        let prefix = a.longest_prefix.unwrap();
        let stuck = (prefix.linearized, prefix.next_index);
        match algorithm {
            Algorithm::Linear => assert_eq!(stuck, (0, Some(81))),
            Algorithm::Wgl => assert_eq!(stuck, (40, Some(161))),
            _ => assert!([(0, Some(81)), (40, Some(161))].contains(&stuck), "{stuck:?}"),
        }
        let edn = a.to_value().to_edn();
        assert!(edn.contains(":valid? :unknown") && edn.contains(":cause :timeout"), "{edn}");
    }
}

#[test]
fn memory_limit_answers_unknown_memory_limit() {
    let (model, history) = hard();
    for algorithm in ALGORITHMS {
        let options = Options::default().algorithm(algorithm).memory_limit(8 << 20);
        let a = check(&model, &history, &options);
        assert_eq!((a.valid, a.cause), (Validity::Unknown, Some(Cause::MemoryLimit)), "{algorithm:?}");
    }
}

#[test]
fn cancel_handle_stops_the_search() {
    let (model, history) = hard();
    for algorithm in ALGORITHMS {
        let cancel = Cancel::default();
        let trip = cancel.clone();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            trip.cancel();
        });
        let a = check(&model, &history, &Options::default().algorithm(algorithm).cancel(cancel));
        canceller.join().unwrap();
        assert_eq!((a.valid, a.cause), (Validity::Unknown, Some(Cause::Cancelled)), "{algorithm:?}");
    }
}

#[test]
fn budgets_do_not_change_easy_verdicts() {
    // Generous budgets on an easy invalid history: the verdict is still false.
    let model = model::builtin("cas-register", &Default::default()).unwrap();
    let text =
        "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}\n\
                {:process 1, :type :invoke, :f :read}\n{:process 1, :type :ok, :f :read, :value 2}\n";
    let history =
        History::complete(read::RawOp::read(text.as_bytes(), "easy.edn", None).unwrap(), &model).unwrap();
    for algorithm in ALGORITHMS {
        let options =
            Options::default().algorithm(algorithm).time_limit(Duration::from_secs(60)).memory_limit(1 << 30);
        let a = check(&model, &history, &options);
        assert_eq!(a.valid, Validity::Invalid, "{algorithm:?}");
        assert_eq!(a.op.unwrap().index, 3);
        match algorithm {
            Algorithm::Wgl => assert_eq!(a.analyzer, "wgl"),
            Algorithm::Linear => assert_eq!(a.analyzer, "linear"),
            // One write, of a value written once: the unique-value engine applies.
            Algorithm::Competition | Algorithm::Unique => assert_eq!(a.analyzer, "unique"),
            other => panic!("no expected analyzer for {other:?}"),
        }
    }
}

#[test]
fn final_paths_stay_within_the_memory_limit() {
    // Twelve crashed writes of two values, then a read of a value never written:
    // every order of every subset of the writes ends in a final path, hundreds of
    // millions of them. Asked for a million, the enumeration stops at the memory
    // limit (without it, it would visit a hundred million nodes and hold gigabytes).
    let model = model::builtin("cas-register", &Default::default()).unwrap();
    let mut text = String::new();
    for p in 0..12 {
        text += &format!("{{:process {p}, :type :invoke, :f :write, :value {}}}\n", 1 + p % 2);
    }
    for p in 0..12 {
        text += &format!("{{:process {p}, :type :info, :f :write, :value {}}}\n", 1 + p % 2);
    }
    text +=
        "{:process 99, :type :invoke, :f :read, :value nil}\n{:process 99, :type :ok, :f :read, :value 3}\n";
    let history =
        History::complete(read::RawOp::read(text.as_bytes(), "paths.edn", None).unwrap(), &model).unwrap();
    let options = Options::default().max_paths(1_000_000).memory_limit(16 << 20);
    let a = check(&model, &history, &options);
    assert_eq!(a.valid, Validity::Invalid);
    let (count, truncated) = a.final_paths_count.unwrap();
    assert!(truncated, "the enumeration was cut short");
    // About 2 KiB a step of 2 to 14 steps: a few hundred to a few thousand paths fit.
    assert!(!a.final_paths.is_empty() && a.final_paths.len() < 10_000, "{} paths", a.final_paths.len());
    assert!(count >= a.final_paths.len());
}

#[test]
fn many_live_operations_are_no_reason_to_stop() {
    // 301 crashed writes (0 twice, so the unique-value engine would decline), then
    // reads of 0, 1, 2, … in turn, four each: linearizable, each write just before
    // its reads, and the linear engine holds a few configurations at a time. With
    // this many live operations, each of which a step may queue, it once projected
    // gigabytes for the next thousand steps and stopped at a 64 MiB limit it was
    // far below.
    let model = model::builtin("register", &Default::default()).unwrap();
    let n = 300;
    let mut text = String::new();
    for p in 0..=n {
        text += &format!("{{:process {p}, :type :invoke, :f :write, :value {}}}\n", p % n);
    }
    for p in 0..=n {
        text += &format!("{{:process {p}, :type :info, :f :write, :value {}}}\n", p % n);
    }
    for v in 0..n {
        for _ in 0..4 {
            text += &format!(
                "{{:process 999, :type :invoke, :f :read, :value nil}}\n{{:process 999, :type :ok, :f :read, :value {v}}}\n"
            );
        }
    }
    let history =
        History::complete(read::RawOp::read(text.as_bytes(), "reads.edn", None).unwrap(), &model).unwrap();
    for algorithm in ALGORITHMS {
        let options = Options::default().algorithm(algorithm).memory_limit(64 << 20);
        let a = check(&model, &history, &options);
        assert_eq!((a.valid, a.cause), (Validity::Valid, None), "{algorithm:?}");
    }
}

#[test]
fn no_time_left_is_an_answer_at_once() {
    // The time limit covers the whole command: a check that starts with none of it
    // left (reading took it all) sets nothing up and says so.
    let (model, history) = hard();
    for algorithm in ALGORITHMS {
        let options = Options::default().algorithm(algorithm).time_limit(Duration::ZERO);
        let a = check(&model, &history, &options);
        assert_eq!((a.valid, a.cause), (Validity::Unknown, Some(Cause::Timeout)), "{algorithm:?}");
        assert_eq!(a.longest_prefix.map(|p| (p.linearized, p.next_index)), Some((0, None)));
    }
}
