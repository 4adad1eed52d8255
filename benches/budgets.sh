#!/usr/bin/env bash
# How well budgets hold, measured on whole runs (not a test: the machine is shared and noisy).
# Generates the pathological unordered-queue history (both searches exponential; a last
# enqueue of a value already enqueued keeps the unique-value engine out of the race), then
# for each algorithm:
#   --time-limit 1s      wall time until the :unknown answer (target: within 1.1 s)
#   --memory-limit 200MiB  peak RSS of the process (target: near the limit, never killed)
# Needs GNU time (`apt-get install time` provides /usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time: apt-get install time" >&2; exit 2; }
cargo build --release --quiet --example pathological
cargo build --release --quiet
target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/knossos-rs"
history=$(mktemp --suffix=.edn)
trap 'rm -f "$history"' EXIT
"$target/release/examples/pathological" 40 > "$history"
echo '{:process 999, :type :invoke, :f :enqueue, :value 0}' >> "$history"
printf '%-12s %-22s %10s %12s  %s\n' algorithm budget wall-s peak-RSS-MiB answer
for algorithm in wgl linear competition; do
  for budget in "--time-limit 1s" "--memory-limit 200MiB"; do
    out=$( { /usr/bin/time -f '%e %M' "$bin" check -m unordered-queue --algorithm "$algorithm" $budget "$history" 2>&1; } || true)
    answer=$(echo "$out" | grep -o ':cause :[a-z-]*' || echo "?")
    read -r wall rss < <(echo "$out" | tail -n 1)
    printf '%-12s %-22s %10s %12d  %s\n' "$algorithm" "$budget" "$wall" $((rss / 1024)) "$answer"
  done
done
