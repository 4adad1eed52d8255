#!/usr/bin/env bash
# Renders the reports shown in docs/ as a user sees them: each history's HTML page,
# screenshotted by headless Chromium (Debian: `apt-get install chromium`).
# Needs ../shared/corpus. Not part of CI: look at the pictures after running it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "needs chromium: apt-get install chromium" >&2; exit 2; }
corpus=../shared/corpus
[ -d "$corpus" ] || { echo "needs $corpus" >&2; exit 2; }
cargo build --release --quiet
bin="$(realpath "${CARGO_TARGET_DIR:-target}")/release/knossos-rs"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# name, model, --init, history, other options
while read -r name model init history extra; do
  args=(check -q -m "$model" --report "$out/$name")
  [ "$init" = - ] || args+=(--init "$init")
  if [ -n "$extra" ]; then
    read -r -a more <<< "$extra"
    args+=("${more[@]}")
  fi
  # From the corpus, so that the page names the history as the manifest does.
  (cd "$corpus" && "$bin" "${args[@]}" "$history" > /dev/null) || true
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,1000 \
    --screenshot="docs/report-$name.png" "file://$out/$name/report.html" 2> /dev/null
  echo "docs/report-$name.png"
done <<'LIST'
rethink-fail cas-register 0 knossos/cas-register/bad/rethink-fail.edn
cas-failure cas-register 0 knossos/cas-register/bad/cas-failure.edn
etcd-mutex mutex - knossos/mutex/bad/etcd.edn
core cas-register 0 knossos/cas-register/bad/mongodb-v0-ack-rollback-6.edn
witness cas-register 0 knossos/cas-register/good/memstress3-0.edn --witness
LIST
