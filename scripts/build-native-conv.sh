#!/usr/bin/env bash
# Builds the trainer's native convolution addon (packages/trainer/native: im2col + OpenBLAS sgemm) offline
# with cmake-js; node-api headers come from the node-api-headers package (nothing is downloaded).
# Run by the root package.json "postinstall". Idempotent (skips when the addon is up to date and loads).
# Without g++ / cmake / libopenblas-dev it warns and exits 0: the trainer then uses the wasm backend's own
# (slower) convolutions and says so.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/packages/trainer/native"
OUT="$SRC/build"
log() { echo "build-native-conv: $*" >&2; }

missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v c++ >/dev/null || missing+=(g++)
compgen -G "/usr/include/*/cblas.h" >/dev/null || [ -f /usr/include/cblas.h ] || missing+=(libopenblas-dev)
if [ ${#missing[@]} -gt 0 ]; then
  log "WARNING: missing system packages: ${missing[*]} (see scripts/install-system-deps.sh); native convolutions NOT built"
  exit 0
fi
cmakejs="$(cd "$ROOT" && node -p "require.resolve('cmake-js/bin/cmake-js')" 2>/dev/null || true)"
if [ -z "$cmakejs" ]; then
  log "WARNING: cmake-js is not installed; native convolutions NOT built"
  exit 0
fi

stamp="$( (cat "$SRC"/*.cc "$SRC"/*.h "$SRC/CMakeLists.txt" "$SRC/package.json" "$0"; node -p "process.versions.modules + ' ' + process.arch") | sha256sum | cut -d' ' -f1)"
addon="$OUT/Release/semembed_conv.node"
if [ -f "$addon" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$stamp" ] && node -e "require('$addon')" 2>/dev/null; then
  log "up to date ($addon)"
  exit 0
fi
start=$(date +%s)
mkdir -p "$OUT"
(cd "$SRC" && node "$cmakejs" compile --log-level warn -O "$OUT" >"$OUT/build.log" 2>&1) || {
  tail -30 "$OUT/build.log" >&2
  log "WARNING: cmake-js compile failed (full log: $OUT/build.log); native convolutions NOT built"
  exit 0
}
# Self-check: a 1x1 convolution of [1, 2] with weight 3 is [3, 6].
node -e "const m=require('$addon'); const y=new Float32Array(2); m.conv(0,new Float32Array([1,2]),new Float32Array([3]),y,new Float32Array([1,1,2,1,1,1,1,1,1,0,0,1,2])); if (y[0]!==3||y[1]!==6) throw new Error('self-check failed: '+y)"
echo "$stamp" >"$OUT/.stamp"
log "built $addon in $(( $(date +%s) - start )) s"
