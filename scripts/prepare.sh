#!/usr/bin/env bash
# The root "prepare" script, run by `npm ci` / `npm install` in the checkout (after postinstall): builds every
# package's dist/ so that `npx semembed --help` works right after `npm ci`, as the README says. turbo caches, so an
# unchanged package is not rebuilt. A failed build warns and exits 0 (the install itself succeeded); the CLI then
# builds on its first run or says what failed. SEMEMBED_SKIP_PREPARE=1 skips the build.
set -uo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1
log() { echo "prepare: $*" >&2; }
if [ "${SEMEMBED_SKIP_PREPARE:-}" = 1 ]; then
  log "SEMEMBED_SKIP_PREPARE=1: not building (npm run build does)"
  exit 0
fi
node scripts/check-engines.mjs || log "WARNING: unsupported Node.js / npm (above); building anyway"
start=$(date +%s)
if npx --no-install turbo run build --output-logs=errors-only >&2; then
  log "built every package in $(( $(date +%s) - start )) s; npx semembed --help works now"
else
  log "WARNING: the build failed (errors above); npx semembed needs it: npm run build"
fi
