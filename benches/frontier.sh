#!/usr/bin/env bash
# The frontier chart: knossos-rs vs Porcupine on generated cas-register histories.
#
# For every cell of processes x crash rate x values x effects x {valid, stale read}, generates one
# history with `knossos-rs generate`, then times each tool's whole command once (wall clock, one
# after the other, never in parallel), both with a 10 s limit, and prints a Markdown table row.
# A summary line follows: the cells each tool decided, and the median Porcupine/knossos-rs time
# ratio over the cells both decided.
#
# Porcupine runs through porcdriver-cas, a small Go driver outside this repository (build steps:
# see docs/porcupine.md); it exits 0/1/3 for Ok/Illegal/Unknown, as knossos-rs does for
# valid/invalid/unknown.
#
# Environment (defaults in brackets):
#   KNOSSOS      knossos-rs binary          [target/release/knossos-rs]
#   PORCDRIVER   Porcupine driver           [porcdriver-cas on PATH]
#   OPS, SEED    generator's --ops, --seed  [5000, 1]
#   PROCS        processes                  ["10 50 200"]
#   CRASHES      crash rates                ["0 0.02 0.1"]
#   VALUES       --values N, or `unique`    ["2 5 unique"]
#   LIMIT        time limit for both tools  [10] (seconds; an outer `timeout` of 2x guards both)
#   HISTDIR      keep the histories here   [a temp dir, removed at exit]
set -euo pipefail

KNOSSOS=${KNOSSOS:-target/release/knossos-rs}
PORCDRIVER=${PORCDRIVER:-porcdriver-cas}
OPS=${OPS:-5000}
SEED=${SEED:-1}
PROCS=${PROCS:-"10 50 200"}
CRASHES=${CRASHES:-"0 0.02 0.1"}
VALUES=${VALUES:-"2 5 unique"}
LIMIT=${LIMIT:-10}

for tool in "$KNOSSOS" "$PORCDRIVER"; do
  command -v "$tool" >/dev/null || { echo "frontier.sh: $tool not found (set KNOSSOS / PORCDRIVER)" >&2; exit 2; }
done
if [ -n "${HISTDIR:-}" ]; then
  mkdir -p "$HISTDIR"; dir=$HISTDIR
else
  dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fi

# verdict EXIT-STATUS: the word for a tool's exit status (both tools: 0 valid, 1 invalid, 3 unknown)
verdict() {
  case $1 in
    0) echo valid ;; 1) echo invalid ;; 3) echo unknown ;; 124) echo timeout ;; *) echo "error $1" ;;
  esac
}

# run FILE CMD...: runs CMD once under the outer timeout; sets rc and secs (wall clock)
run() {
  local out=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  rc=0; timeout $((2 * LIMIT)) "$@" >"$out" 2>&1 || rc=$?
  t1=$(date +%s%N)
  secs=$(awk -v n=$((t1 - t0)) 'BEGIN { printf "%.3f", n / 1e9 }')
}

decided() { [ "$1" = valid ] || [ "$1" = invalid ]; }

ratios=$dir/ratios
: >"$ratios"
cells=0 kdec=0 pdec=0 both=0 disagree=0
echo "| processes | crash % | values | effects | history | knossos-rs | s | Porcupine | s | agree |"
echo "|---:|---:|---|---|---|---|---:|---|---:|---|"
for p in $PROCS; do
  for c in $CRASHES; do
    for v in $VALUES; do
      for eff in completion inside; do
        for hist in valid stale-read; do
          gen=(-m cas-register --ops "$OPS" --processes "$p" --crash-rate "$c" --seed "$SEED")
          if [ "$v" = unique ]; then gen+=(--values 5 --unique); else gen+=(--values "$v"); fi
          [ "$eff" = inside ] && gen+=(--effect-inside)
          [ "$hist" = stale-read ] && gen+=(--anomaly stale-read)
          h=$dir/p$p-c$c-v$v-$eff-$hist.edn
          if ! "$KNOSSOS" generate "${gen[@]}" >"$h" 2>"$h.gen-stderr"; then
            echo "frontier.sh: generate ${gen[*]} failed: $(cat "$h.gen-stderr")" >&2; exit 2
          fi
          run "$h.knossos" "$KNOSSOS" check -m cas-register --time-limit "${LIMIT}s" "$h"
          kv=$(verdict $rc) ks=$secs
          run "$h.porcupine" "$PORCDRIVER" -timeout "${LIMIT}s" "$h"
          pv=$(verdict $rc) ps=$secs
          cells=$((cells + 1))
          decided "$kv" && kdec=$((kdec + 1))
          decided "$pv" && pdec=$((pdec + 1))
          agree=-
          if decided "$kv" && decided "$pv"; then
            both=$((both + 1))
            awk -v k="$ks" -v p="$ps" 'BEGIN { printf "%.6f\n", p / (k > 0 ? k : 0.001) }' >>"$ratios"
            if [ "$kv" = "$pv" ]; then agree=yes; else agree="**NO**"; disagree=$((disagree + 1)); fi
          fi
          # by construction: valid histories are linearizable, stale-read ones are not
          want=valid; [ "$hist" = stale-read ] && want=invalid
          for x in "knossos-rs:$kv" "Porcupine:$pv"; do
            if decided "${x#*:}" && [ "${x#*:}" != "$want" ]; then agree="$agree, **${x%%:*} wrong**"; fi
          done
          [ "$v" = unique ] && vs=unique || vs=$v
          [ "$eff" = inside ] && es=inside || es="at completion"
          [ "$hist" = stale-read ] && hs="stale read" || hs=valid
          echo "| $p | $(awk -v c="$c" 'BEGIN { print c * 100 }') | $vs | $es | $hs | $kv | $ks | $pv | $ps | $agree |"
        done
      done
    done
  done
done
median=$(sort -g "$ratios" | awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a";
  else if (NR % 2) printf "%.1f", a[(NR + 1) / 2]; else printf "%.1f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
echo
echo "Summary: $cells cells ($OPS ops, seed $SEED, ${LIMIT} s limit); decided: knossos-rs $kdec/$cells," \
  "Porcupine $pdec/$cells; both decided $both, disagreeing $disagree;" \
  "median time ratio Porcupine/knossos-rs where both decide: $median"
