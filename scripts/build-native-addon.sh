#!/usr/bin/env bash
# Builds one N-API addon offline with cmake-js (node-api headers from the node-api-headers package; nothing is
# downloaded), idempotently: skipped when the sources' stamp matches and the addon loads. Missing tools or a failed
# compile only warn (exit 0): the package then says it falls back to its JS path.
# usage: build-native-addon.sh <label> <source dir> <addon file name> <self-check JS, `addon` = the loaded module>
#        [debian-package=header that must exist]...
set -euo pipefail
label="$1" SRC="$2" file="$3" check="$4"
shift 4
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$SRC/build"
log() { echo "$label: $*" >&2; }

missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v c++ >/dev/null || missing+=(g++)
compgen -G "/usr/include/*/cblas.h" >/dev/null || [ -f /usr/include/cblas.h ] || missing+=(libopenblas-dev)
for dep in "$@"; do [ -f "${dep#*=}" ] || missing+=("${dep%%=*}"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "WARNING: missing system packages: ${missing[*]} (see scripts/install-system-deps.sh); addon NOT built"
  exit 0
fi
cmakejs="$(cd "$ROOT" && node -p "require.resolve('cmake-js/bin/cmake-js')" 2>/dev/null || true)"
if [ -z "$cmakejs" ]; then
  log "WARNING: cmake-js is not installed; addon NOT built"
  exit 0
fi
stamp="$( (cat "$SRC"/*.cc "$SRC"/*.h "$SRC/CMakeLists.txt" "$SRC/package.json" "$ROOT"/scripts/cmake/*.cmake "$0"
  echo "$check"; node -p "process.versions.modules + ' ' + process.arch") | sha256sum | cut -d' ' -f1)"
addon="$OUT/Release/$file"
if [ -f "$addon" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$stamp" ] && node -e "require('$addon')" 2>/dev/null; then
  log "up to date ($addon)"
  exit 0
fi
start=$(date +%s)
mkdir -p "$OUT"
(cd "$SRC" && node "$cmakejs" compile --log-level warn -O "$OUT" >"$OUT/build.log" 2>&1) || {
  tail -30 "$OUT/build.log" >&2
  log "WARNING: cmake-js compile failed (full log: $OUT/build.log); addon NOT built"
  exit 0
}
node -e "const addon = require('$addon'); $check" || {
  log "WARNING: self-check failed; addon removed"
  rm -f "$addon"
  exit 0
}
echo "$stamp" >"$OUT/.stamp"
log "built $addon in $(( $(date +%s) - start )) s"
