#!/usr/bin/env bash
# `npm test`: installs what is missing (fresh clone), checks format (Prettier), lint (ESLint) and types (tsc over
# sources and tests), then builds and runs every package's tests through turbo and prints one closing line
# 'N passed, N failed, N skipped' over all packages.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-installed.sh
export TURBO_TELEMETRY_DISABLED=1
find packages tools test bench -maxdepth 3 -path '*/test-results/vitest.json' -not -path '*/node_modules/*' -delete 2>/dev/null || true
status=0
# Static checks first: cheap (~1 minute together), and a failure here names the file and line.
echo "== format (prettier --check)"
npx prettier --check --log-level warn . || { echo "format: run 'npm run format' and commit the result"; status=1; }
echo "== lint (eslint)"
npx eslint --max-warnings 0 . || status=1
echo "== typecheck (tsc --noEmit, sources and tests)"
npx turbo run typecheck --concurrency=2 --output-logs=errors-only || status=1
static=$status
# --continue: every package's tests run even after a failure, so one run shows every failure; the exit status
# still says the run failed.
npx turbo run test --concurrency=1 --log-order=grouped --continue || status=$?
node scripts/test-summary.mjs
[ "$static" = 0 ] || echo "static checks FAILED (format, lint or typecheck: see their output above)"
exit "$status"
