#!/usr/bin/env bash
# The main job's evaluation step (pipeline step 8) and beyondReport alone, before/after interleaved in one run:
# "before" is @semembed/retrieval built from BASE (a commit) into /tmp/beyond-base, with a copy of the CLI that
# imports it (/tmp/cli-base); "after" is this checkout's built dist. The reports' metrics.json must be identical.
# usage: bash bench/retrieval/beyond-bootstrap.sh [BASE commit, default 59b88e1 = the commit before the batched bootstrap] [rounds, default 3]
# (results: bench/results/retrieval.md, section "beyond-report bootstrap")
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
base=${1:-59b88e1}
rounds=${2:-3}
export ONNXRUNTIME_NODE_INSTALL=skip TURBO_TELEMETRY_DISABLED=1

# the baseline package: BASE's src, compiled with this checkout's tsc and node_modules
B=/tmp/beyond-base
rm -rf "$B" && mkdir -p "$B/packages/retrieval"
git archive "$base" packages/retrieval/src packages/retrieval/package.json | tar -x -C "$B"
cp packages/retrieval/tsconfig.build.json "$B/packages/retrieval/"
ln -s "$root/tsconfig.base.json" "$B/tsconfig.base.json"
ln -s "$root/node_modules" "$B/node_modules"
ln -s "$root/packages/retrieval/native" "$B/packages/retrieval/native"
(cd "$B/packages/retrieval" && "$root/node_modules/.bin/tsc" -p tsconfig.build.json)

# a CLI whose @semembed/retrieval is the baseline (every other package: this checkout's)
C=/tmp/cli-base
rm -rf "$C" && mkdir -p "$C/tools/cli" "$C/node_modules/@semembed"
cp -r tools/cli/bin tools/cli/dist tools/cli/package.json "$C/tools/cli/"
for e in node_modules/* node_modules/.bin; do
  n=$(basename "$e")
  [ "$n" = @semembed ] || ln -s "$root/$e" "$C/node_modules/$n"
done
for e in node_modules/@semembed/*; do
  n=$(basename "$e")
  if [ "$n" = retrieval ]; then ln -s "$B/packages/retrieval" "$C/node_modules/@semembed/$n"; else ln -s "$(readlink -f "$e")" "$C/node_modules/@semembed/$n"; fi
done

run=/tmp/boot-run
# given explicitly: the default is relative to the CLI's checkout, and metrics.json records it relative to the cwd
hierarchy=$root/hierarchies/fashion-mnist/fashion-mnist.parent-child.txt
rm -rf "$run" && cp -r runs/fashion-mnist "$run"
out=/tmp/beyond-bootstrap-results && rm -rf "$out" && mkdir -p "$out"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), node $(node --version)"
echo "load before: $(uptime)"
step8() { # $1: label, $2: CLI bin
  rm -rf "$run/report"
  local TIMEFORMAT='%R %U %S' t
  # wall, user and system seconds of the whole CLI process (CPU time: less at the mercy of the other jobs' load)
  t=$({ time node "$2" pipeline --out "$run" --hierarchy "$hierarchy" --no-progress >"$out/$1.log" 2>&1; } 2>&1)
  cp "$run/report/metrics.json" "$out/$1.metrics.json"
  read -r wall user sys <<<"$t"
  echo "$1: CLI wall $wall s, CPU $(echo "$user + $sys" | bc) s; $(grep -o 'retrieval and classification evaluation.*' "$out/$1.log" | tail -1)"
}
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then
    step8 "before-$r" "$C/tools/cli/bin/semembed.js"
    step8 "after-$r" tools/cli/bin/semembed.js
  else
    step8 "after-$r" tools/cli/bin/semembed.js
    step8 "before-$r" "$C/tools/cli/bin/semembed.js"
  fi
done
for f in "$out"/*.metrics.json; do cmp "$out/before-1.metrics.json" "$f"; done
echo "metrics.json identical in all $((2 * rounds)) runs"
if cmp -s runs/fashion-mnist/report/metrics.json "$out/after-1.metrics.json"; then
  echo "and identical to runs/fashion-mnist/report/metrics.json"
else
  echo "(differs from runs/fashion-mnist/report/metrics.json: that run is from another build)"
fi
node bench/retrieval/beyond-bootstrap.mjs "$run" "$B/packages/retrieval/dist" packages/retrieval/dist "$rounds"
echo "load after: $(uptime)"
