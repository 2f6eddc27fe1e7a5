#!/usr/bin/env bash
# `npm start`: installs what is missing, builds, and runs the main job (semembed pipeline) on the embedded
# default (Fashion-MNIST from Debian's dataset-fashion-mnist). Extra arguments go to `semembed pipeline`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-installed.sh
export TURBO_TELEMETRY_DISABLED=1
npx turbo run build --output-logs=errors-only >&2
exec node tools/cli/bin/semembed.js pipeline "$@"
