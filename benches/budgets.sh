#!/usr/bin/env bash
# How well budgets hold, measured on whole runs (not a test: the machine is shared and
# noisy). Each case runs under `--time-limit 1s --memory-limit 100MiB` (the promise:
# wall within 1.1 s, reading included, and peak RSS within 150 MiB plus the history)
# with each algorithm, and prints wall time, peak RSS, the file's size and the answer.
#
#   queue-500     500 crashed enqueues of distinct values and one repeat (the unique-value
#                 engine steps aside), then dequeues: both searches exponential
#   queue-6keys   six such keys, `--independent`
#   writes-2000   2 000 concurrent writes, then a read of a value never written
#   keys-1000     1 000 keys of 30 processes, 10 % crashed, a stale read injected
#   paths         12 crashed writes of two values and a read of a third, --max-paths 100000
#   ops-300k      a 300 000-op single-key cas-register history
#   set-whole     a 20 000-op set history whose reads return the whole set (206 MiB)
#   explain-kv    the text summary of Porcupine's c50-bad (or the corpus's c10-bad), whose
#                 explanation runs the shrinker on the failing key (set PORCUPINE_KV to
#                 Porcupine's test_data/kv for c50; docs/porcupine.md)
#   crashes-5pct  ten 2 000-op registers with 5 % crashes: decided as without a limit?
#   number        a ratio literal of a million digits: refused at once
#   full-disk     the verdict written to /dev/full: exit 2
#   kv-50-10s     kv on one key by 50 clients, 200 ops (seed 2), at `--time-limit 10s` and no
#                 memory limit: neither search decides it, and their tables reach a gigabyte,
#                 whose growing and emptying must not outlast the deadline (wall within 10.1 s);
#                 the competition, whose unique-value engine decides that one at once, on
#                 2 000 ops (seed 7), which nothing decides
#
# Needs GNU time (`apt-get install time` provides /usr/bin/time) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time: apt-get install time" >&2; exit 2; }
cargo build --release --quiet --example pathological
cargo build --release --quiet
target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/knossos-rs"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# The histories.
"$target/release/examples/pathological" 500 > "$dir/queue-500.edn"
echo '{:process 9999, :type :invoke, :f :enqueue, :value 0}' >> "$dir/queue-500.edn"
python3 - "$dir" <<'EOF'
import re, sys
d = sys.argv[1]
lines = open(f"{d}/queue-500.edn").read().splitlines()
with open(f"{d}/queue-6keys.edn", "w") as out:
    for k in range(6):
        for l in lines:
            p = int(re.search(r":process (\d+)", l).group(1))
            l = l.replace(f":process {p},", f":process {p + 10000 * k},")
            out.write(re.sub(r":value (nil|\d+)", lambda m: f":value [{k} {m.group(1)}]", l) + "\n")
with open(f"{d}/writes-2000.edn", "w") as out:
    for kind in ["invoke", "ok"]:
        for p in range(2000):
            out.write(f"{{:process {p}, :type :{kind}, :f :write, :value {p % 1999}}}\n")
    out.write("{:process 2000, :type :invoke, :f :read, :value nil}\n{:process 2000, :type :ok, :f :read, :value 5000}\n")
with open(f"{d}/paths.edn", "w") as out:
    for kind in ["invoke", "info"]:
        for p in range(12):
            out.write(f"{{:process {p}, :type :{kind}, :f :write, :value {1 + p % 2}}}\n")
    out.write("{:process 99, :type :invoke, :f :read, :value nil}\n{:process 99, :type :ok, :f :read, :value 3}\n")
digits = "7" * 1_000_000
with open(f"{d}/number.edn", "w") as out:
    out.write(f"{{:process 0, :type :invoke, :f :write, :value {digits}/3}}\n")
EOF
"$bin" generate --keys 1000 --processes 30 --ops 100000 --crash-rate 0.1 --values 3 --seed 2 \
    --anomaly stale-read > "$dir/keys-1000.edn" 2>/dev/null
"$bin" generate --ops 300000 --seed 1 > "$dir/ops-300k.edn"
"$bin" generate -m set --unique --ops 20000 --seed 1 > "$dir/set-whole.edn"
kv="${PORCUPINE_KV:-../shared/corpus/porcupine/kv}"
kv=$(ls "$kv/c50-bad.txt" "$kv/c10-bad.txt" 2>/dev/null | head -n 1 || true)

limits=(--time-limit 1s --memory-limit 100MiB)
printf '%-13s %-12s %7s %9s %9s  %s\n' case algorithm wall-s rss-MiB file-MiB answer
run() { # case file algorithm model [args...]; the output's format is $format
  local name=$1 file=$2 algorithm=$3 model=$4; shift 4
  local out wall rss answer size
  out=$( { /usr/bin/time -f '%e %M' "$bin" check -m "$model" --algorithm "$algorithm" "${limits[@]}" \
      -f "${format:-edn}" "$@" "$file" 2>&1 >"$dir/out.edn"; } || true)
  answer=$(grep -o ':valid? [a-z:]*' "$dir/out.edn" | head -n 1 || true)
  answer="$answer $(grep -o ':cause :[a-z-]*' "$dir/out.edn" | head -n 1 || true)"
  [ "${format:-edn}" = edn ] || answer=$(head -n 1 "$dir/out.edn" | sed 's/^[^:]*: //' | cut -c 1-60)
  [ -s "$dir/out.edn" ] || answer=$(echo "$out" | grep -v '^[0-9.]* [0-9]*$' | head -n 1 | cut -c 1-60)
  read -r wall rss < <(echo "$out" | tail -n 1)
  size=$(( $(stat -c %s "$file") / 1048576 ))
  printf '%-13s %-12s %7s %9d %9d  %s\n' "$name" "$algorithm" "$wall" $((rss / 1024)) "$size" "$answer"
}
for algorithm in competition wgl linear; do
  run queue-500 "$dir/queue-500.edn" "$algorithm" unordered-queue
  run queue-6keys "$dir/queue-6keys.edn" "$algorithm" unordered-queue --independent
  run writes-2000 "$dir/writes-2000.edn" "$algorithm" register
  run keys-1000 "$dir/keys-1000.edn" "$algorithm" cas-register
  run paths "$dir/paths.edn" "$algorithm" cas-register --max-paths 100000
  run ops-300k "$dir/ops-300k.edn" "$algorithm" cas-register
  run set-whole "$dir/set-whole.edn" "$algorithm" set
  if [ -n "$kv" ]; then
    format=text run explain-kv "$kv" "$algorithm" kv
  else
    echo "explain-kv: skipped, no c50-bad.txt or c10-bad.txt (set PORCUPINE_KV)"
  fi
done
run number "$dir/number.edn" competition register

"$bin" generate -m kv --keys 1 --processes 50 --ops 200 --effect-inside --seed 2 > "$dir/kv-50.edn"
"$bin" generate -m kv --keys 1 --processes 50 --ops 2000 --effect-inside --seed 7 > "$dir/kv-50-2000.edn"
limits=(--time-limit 10s)
run kv-50-10s "$dir/kv-50-2000.edn" competition kv
for algorithm in wgl linear; do
  run kv-50-10s "$dir/kv-50.edn" "$algorithm" kv
done
limits=(--time-limit 1s --memory-limit 100MiB)

# Crashes: the verdict under the limits is the verdict without them.
same=0
for seed in 1 2 3 4 5 6 7 8 9 10; do
  "$bin" generate -m register --ops 2000 --crash-rate 0.05 --seed "$seed" --anomaly stale-read \
      > "$dir/crashes.edn" 2>/dev/null
  a=$("$bin" check -m register "${limits[@]}" -f edn --algorithm linear "$dir/crashes.edn" | grep -o ':valid? [a-z:]*' | head -n 1 || true)
  b=$("$bin" check -m register -f edn --algorithm linear "$dir/crashes.edn" | grep -o ':valid? [a-z:]*' | head -n 1 || true)
  [ "$a" = "$b" ] && same=$((same + 1))
done
echo "crashes-5pct: $same of 10 linear verdicts under the limits are those without"

status=0
"$bin" check -m cas-register fixtures/stale-read.edn > /dev/full 2>/dev/null || status=$?
echo "full-disk: exit $status (2 expected)"
