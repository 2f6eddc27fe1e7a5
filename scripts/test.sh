#!/usr/bin/env bash
# `npm test`: installs what is missing (fresh clone), then builds and runs every package's tests through turbo
# and prints one closing line 'N passed, N failed, N skipped' over all packages.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-installed.sh
export TURBO_TELEMETRY_DISABLED=1
find packages tools test bench -maxdepth 3 -path '*/test-results/vitest.json' -not -path '*/node_modules/*' -delete 2>/dev/null || true
# --continue: every package's tests run even after a failure, so one run shows every failure; the exit status
# still says the run failed.
status=0
npx turbo run test --concurrency=1 --log-order=grouped --continue || status=$?
node scripts/test-summary.mjs
exit "$status"
