#!/usr/bin/env bash
# Builds faiss-node 0.5.1 offline against the system FAISS (Debian libfaiss-dev 1.7.3 + BLAS + OpenMP).
# Run by the root package.json "postinstall" (npm ci / npm install). The package's own install script
# (prebuild download, then a git clone of FAISS) cannot work offline; the root package.json's
# "allowScripts": {"faiss-node": false} keeps npm from running it.
# Steps: our CMake stub replaces the upstream CMakeLists.txt, patch-source.mjs adapts src/faiss.cc to
# FAISS 1.7.3 and adds typed-array methods, then `cmake-js compile` (node-api headers come from the
# node-api-headers package, nothing is downloaded).
# Idempotent: skips the build when the addon exists, loads, and was built from the same inputs.
# Without FAISS on the machine it warns and exits 0 (the install goes on; @semembed/retrieval then
# falls back to exact search and says so, and its FAISS test fails).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$ROOT/scripts/faiss-node"
FN="$ROOT/node_modules/faiss-node"
log() { echo "build-faiss-node: $*" >&2; }

if [ ! -f "$FN/package.json" ]; then
  log "node_modules/faiss-node is not installed; nothing to build"
  exit 0
fi
version="$(node -p "require('$FN/package.json').version")"
if [ "$version" != "0.5.1" ]; then
  log "faiss-node $version found; this build (CMake stub + source patch) is written for 0.5.1"
  exit 1
fi
missing=()
[ -f /usr/include/faiss/IndexFlat.h ] || missing+=(libfaiss-dev)
compgen -G "/usr/lib/*/cmake/faiss/faiss-config.cmake" >/dev/null || compgen -G "/usr/lib/cmake/faiss/faiss-config.cmake" >/dev/null || missing+=(libfaiss-dev)
command -v cmake >/dev/null || missing+=(cmake)
command -v c++ >/dev/null || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
  log "WARNING: missing system packages: ${missing[*]} (see scripts/install-system-deps.sh); faiss-node NOT built"
  exit 0
fi

stamp_inputs() {
  cat "$HERE/CMakeLists.txt" "$ROOT/scripts/cmake/node-addon.cmake" "$HERE/semembed-ext.cc" "$HERE/patch-source.mjs" "$0"
  node -p "process.versions.modules + ' ' + process.arch"
  ls -l --time-style=+%s /usr/lib/*/libfaiss.a 2>/dev/null || true
}
stamp="$(stamp_inputs | sha256sum | cut -d' ' -f1)"
addon="$FN/build/Release/faiss-node.node"
if [ -f "$addon" ] && [ "$(cat "$FN/.semembed-build-stamp" 2>/dev/null)" = "$stamp" ] \
   && node -e "require('$FN')" 2>/dev/null; then
  log "up to date ($addon)"
  exit 0
fi

# The stub and patch apply to pristine sources: keep the originals once, restore them before patching.
for f in CMakeLists.txt src/faiss.cc; do
  [ -f "$FN/$f.upstream" ] || cp "$FN/$f" "$FN/$f.upstream"
  cp "$FN/$f.upstream" "$FN/$f"
done
cp "$HERE/CMakeLists.txt" "$FN/CMakeLists.txt"
node "$HERE/patch-source.mjs" "$FN"

cmakejs="$(cd "$FN" && node -p "require.resolve('cmake-js/bin/cmake-js')" 2>/dev/null || true)"
if [ -z "$cmakejs" ]; then
  log "cmake-js is not installed (devDependency of @semembed/retrieval); faiss-node NOT built"
  exit 1
fi
addon_api="$(cd "$FN" && node -p "require('path').dirname(require.resolve('node-addon-api/package.json'))")"
start=$(date +%s)
(cd "$FN" && node "$cmakejs" compile --log-level warn --CDNODE_ADDON_API_DIR="$addon_api" \
  --CDSEMEMBED_CMAKE_DIR="$ROOT/scripts/cmake" >build.log 2>&1) || {
  tail -40 "$FN/build.log" >&2
  log "cmake-js compile failed (full log: $FN/build.log)"
  exit 1
}
node -e "const f=require('$FN'); const i=new f.IndexFlatL2(2); i.addFloat32(new Float32Array([0,0,1,1])); \
  const r=i.searchFloat32(new Float32Array([0.9,0.9]),1); if (r.labels[0]!==1) throw new Error('self-check failed')"
echo "$stamp" >"$FN/.semembed-build-stamp"
log "built $addon in $(( $(date +%s) - start )) s"
