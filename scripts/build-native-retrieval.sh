#!/usr/bin/env bash
# Builds @semembed/retrieval's native evaluation kernel (packages/retrieval/native: blocked GEMM + fused top-k /
# AP selection over std::threads, against OpenBLAS and the system FAISS) offline with cmake-js; node-api headers
# come from the node-api-headers package (nothing is downloaded). Run by the root package.json "postinstall".
# Idempotent (skips when the addon is up to date and loads). Without g++ / cmake / libopenblas-dev / libfaiss-dev
# it warns and exits 0: evaluateRetrieval then uses its JS selection (slower) and says so (`kernel: 'js'`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/packages/retrieval/native"
OUT="$SRC/build"
log() { echo "build-native-retrieval: $*" >&2; }

missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v c++ >/dev/null || missing+=(g++)
compgen -G "/usr/include/*/cblas.h" >/dev/null || [ -f /usr/include/cblas.h ] || missing+=(libopenblas-dev)
[ -f /usr/include/faiss/utils/distances.h ] || missing+=(libfaiss-dev)
if [ ${#missing[@]} -gt 0 ]; then
  log "WARNING: missing system packages: ${missing[*]} (see scripts/install-system-deps.sh); native kernel NOT built"
  exit 0
fi
cmakejs="$(cd "$ROOT" && node -p "require.resolve('cmake-js/bin/cmake-js')" 2>/dev/null || true)"
if [ -z "$cmakejs" ]; then
  log "WARNING: cmake-js is not installed; native kernel NOT built"
  exit 0
fi

stamp="$( (cat "$SRC"/*.cc "$SRC"/*.h "$SRC/CMakeLists.txt" "$SRC/package.json" "$0"; node -p "process.versions.modules + ' ' + process.arch") | sha256sum | cut -d' ' -f1)"
addon="$OUT/Release/semembed_retrieval.node"
if [ -f "$addon" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$stamp" ] && node -e "require('$addon')" 2>/dev/null; then
  log "up to date ($addon)"
  exit 0
fi
start=$(date +%s)
mkdir -p "$OUT"
(cd "$SRC" && node "$cmakejs" compile --log-level warn -O "$OUT" >"$OUT/build.log" 2>&1) || {
  tail -30 "$OUT/build.log" >&2
  log "WARNING: cmake-js compile failed (full log: $OUT/build.log); native kernel NOT built"
  exit 0
}
# Self-check: 3 points on a line, L2; query 0's ranking is 0, 1, 2 and its class member 2 sits at position 1.
node -e "
const m = require('$addon');
const h = m.create(new Float32Array([0, 1, 3]), 1, false, new Int32Array([0, 1, 0]), 2, true, 1);
const top = new Int32Array(2), ranks = new Int32Array(1), off = new Int32Array(2);
m.start(h, new Float32Array([0]), 0, top, ranks, off); m.wait(h);
if (top[0] !== 0 || top[1] !== 1 || ranks[0] !== 1) throw new Error('self-check failed: ' + top + ' / ' + ranks);"
echo "$stamp" >"$OUT/.stamp"
log "built $addon in $(( $(date +%s) - start )) s"
