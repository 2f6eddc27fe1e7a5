#!/usr/bin/env bash
# Makes a fresh clone runnable: Debian packages (scripts/install-system-deps.sh), then `npm ci` when
# node_modules is missing or older than package-lock.json. Cheap when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip TURBO_TELEMETRY_DISABLED=1
node scripts/check-engines.mjs # Node.js / npm too old: one line saying which and how to upgrade
bash scripts/install-system-deps.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-installed: npm ci (first run: a few minutes)" >&2
  npm ci --no-audit --no-fund
fi
# Checkouts installed before the native convolutions / retrieval kernel existed get them here (no-ops when up to date).
bash scripts/build-native-conv.sh
bash scripts/build-native-retrieval.sh
