#!/usr/bin/env bash
# Times the current @semembed/retrieval against an earlier commit's build on the same data, interleaved
# (results: bench/results/retrieval-issue18.md). usage: bash bench/retrieval/baseline.sh [REV] [n] [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
rev="${1:-7f9e6ce}"; n="${2:-10000}"; rounds="${3:-3}"
old="/tmp/semembed-retrieval-$rev"
if [ ! -f "$old/packages/retrieval/dist/index.js" ]; then
  mkdir -p "$old"
  git archive "$rev" packages/retrieval | tar -x -C "$old"
  ln -sfn "$PWD/node_modules" "$old/node_modules"
  ln -sfn "$PWD/tsconfig.base.json" "$old/tsconfig.base.json"
  (cd "$old/packages/retrieval" && "$OLDPWD/node_modules/.bin/tsc" -p tsconfig.build.json)
fi
for i in $(seq "$rounds"); do
  node bench/retrieval/compare.mjs "$n" "$old/packages/retrieval/dist/index.js"
  node bench/retrieval/compare.mjs "$n" "$PWD/packages/retrieval/dist/index.js" 1
  node bench/retrieval/compare.mjs "$n" "$PWD/packages/retrieval/dist/index.js" 2
done
