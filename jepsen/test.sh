#!/usr/bin/env bash
# Tests the Jepsen checker (jepsen/src/knossos_rs/jepsen.clj) against the release binary.
# Made for Debian's `clojure` package (apt-get install -y clojure), which is a plain script
# running clojure.main on a classpath, without the tools.deps CLI: deps.edn is not read
# then, and the classpath is given with -cp. With the Clojure CLI from clojure.org
# instead, it runs deps.edn's :test alias. Jepsen and Knossos are not installed: test/ holds
# stand-ins for jepsen.checker, jepsen.store, knossos.model and knossos.competition (a
# brute-force search, for the fallback to Knossos). Installs nothing; exits non-zero if a
# test fails. KNOSSOS_RS overrides the binary (default: target/release/knossos-rs).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v clojure >/dev/null; then
  echo "jepsen/test.sh: clojure is not on the PATH; on Debian: apt-get install -y clojure" >&2
  exit 2
fi
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
KNOSSOS_RS="${KNOSSOS_RS:-$target/release/knossos-rs}"
case "$KNOSSOS_RS" in /*) ;; */*) KNOSSOS_RS="$PWD/$KNOSSOS_RS" ;; *) KNOSSOS_RS=$(command -v "$KNOSSOS_RS" || echo "$KNOSSOS_RS") ;; esac
export KNOSSOS_RS
if [ ! -x "$KNOSSOS_RS" ]; then
  echo "jepsen/test.sh: no knossos-rs binary at $KNOSSOS_RS; build it with cargo build --release" >&2
  exit 2
fi

help=$(clojure --help 2>&1 || true)
if [[ "$help" == *-Sdeps* ]]; then
  # The Clojure CLI (tools.deps): deps.edn's :test alias runs the tests.
  cd jepsen
  exec clojure -M:test
fi
# Debian's script: `clojure -cp CP ARGS` runs `java -cp clojure.jar:CP clojure.main ARGS`.
exec clojure -cp jepsen/src:jepsen/test -m knossos-rs.jepsen-test
