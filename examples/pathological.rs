//! Prints an unordered-queue history that is exponential for both searches: `n`
//! enqueues of distinct values that all crash, then a dequeue of each value in
//! turn, then a dequeue of a value never enqueued. Every subset of the crashed
//! enqueues is a configuration to consider, so a search runs until a budget stops
//! it. Its values are unique, so the unique-value engine decides it at once;
//! `--algorithm wgl` shows the search. (The same history of register writes and
//! reads no longer is hard: WGL linearizes a crashed write only just before a read
//! of its value.)
//!
//! ```sh
//! cargo run --release --example pathological -- 40 > /tmp/pathological.edn
//! knossos-rs check --model unordered-queue --algorithm wgl --time-limit 1s /tmp/pathological.edn
//! knossos-rs check --model unordered-queue /tmp/pathological.edn
//! ```

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(40);
    print!("{}", history(n));
}

/// The history, as EDN lines (tests/budgets.rs uses it too).
pub fn history(n: u32) -> String {
    let mut out = String::new();
    for p in 0..n {
        out += &format!("{{:process {p}, :type :invoke, :f :enqueue, :value {p}}}\n");
    }
    for p in 0..n {
        out += &format!("{{:process {p}, :type :info, :f :enqueue, :value {p}}}\n");
    }
    for (i, v) in (0..n).chain([n + 1000]).enumerate() {
        let p = n + i as u32;
        out += &format!("{{:process {p}, :type :invoke, :f :dequeue, :value nil}}\n");
        out += &format!("{{:process {p}, :type :ok, :f :dequeue, :value {v}}}\n");
    }
    out
}
