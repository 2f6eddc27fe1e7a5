#!/usr/bin/env bash
# The main job's evaluation step (pipeline step 8: retrieval + classification evaluation, beyond-report included)
# with the native retrieval kernel of a base revision against the working tree's, interleaved, on one finished run
# (crowded buckets: a whole class near one distance). Per run: the step's wall time (as the pipeline prints it) and,
# from --cpu-prof, the inclusive time of evaluateRetrieval, of runNative (the kernel's threads run while it waits on
# them) and within that of the JS metrics (scoreRanked); then whether both wrote the same metrics. After each, the uncrowded
# synthetic 10k case of compare.mjs (float32 and float64) with the same addon.
# Results: bench/results/retrieval.md. Both runs use one snapshot of the JS (dist/ copied once), so a rebuild by
# someone else meanwhile changes neither; the two addons are the only difference.
# usage: bash bench/retrieval/crowded-ab.sh <finished run dir, e.g. runs/fashion-mnist> <base rev> [rounds=3]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
run="$(cd "$1" && pwd)" base="$2" rounds="${3:-3}"
[ -f "$run/report/metrics.json" ] || { echo "crowded-ab: $run is not a finished run (no report/metrics.json)" >&2; exit 2; }
addon=packages/retrieval/native/build/Release/semembed_retrieval.node
[ -f "$ROOT/$addon" ] || { echo "crowded-ab: $ROOT/$addon missing (bash scripts/build-native-retrieval.sh)" >&2; exit 2; }
tmp="$(mktemp -d "${TMPDIR:-/tmp}/crowded-ab.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# the base revision's addon, built by the project's own script in a scratch copy of native/
src="$tmp/base/packages/retrieval/native"
mkdir -p "$src"
for f in $(git -C "$ROOT" ls-tree --name-only "$base" packages/retrieval/native/); do
  git -C "$ROOT" show "$base:$f" >"$tmp/base/$f"
done
ln -s "$ROOT/scripts" "$tmp/base/scripts"
ln -s "$ROOT/node_modules" "$tmp/base/node_modules"
bash "$ROOT/scripts/build-native-addon.sh" base-retrieval "$src" semembed_retrieval.node "" >/dev/null 2>&1
cp "$src/build/Release/semembed_retrieval.node" "$tmp/base.node"
cp "$ROOT/$addon" "$tmp/head.node"

# the snapshot: hard links (no copy of node_modules), real copies of every dist/ and of the addon slot
tree="$tmp/tree"
mkdir -p "$tree"
for e in $(cd "$ROOT" && ls -A | grep -v -x -e .git -e runs); do cp -al "$ROOT/$e" "$tree/" 2>/dev/null || cp -a "$ROOT/$e" "$tree/"; done
for d in $(cd "$ROOT" && find packages tools -path '*/node_modules' -prune -o -name dist -type d -print); do
  rm -rf "${tree:?}/$d"
  cp -r "$ROOT/$d" "$tree/$d"
done
cp -r "$run" "$tmp/run"

load() { uptime | sed 's/.*load average: //'; }
for i in $(seq "$rounds"); do
  for v in base head; do
    rm -f "$tree/$addon"
    cp "$tmp/$v.node" "$tree/$addon"
    rm -rf "$tmp/run/report" "$tmp/prof"
    l0="$(load)"
    line="$(cd "$tree" && node --cpu-prof --cpu-prof-dir "$tmp/prof" tools/cli/bin/semembed.js pipeline --out "$tmp/run" \
      --no-progress 2>&1 | grep -E '^\[[0-9]+/[0-9]+\] retrieval and classification evaluation.*\(total' | tail -1)"
    l1="$(load)"
    step="$(echo "$line" | sed -E 's/.*: (.*) \(total.*/\1/')"
    prof="$(node "$ROOT/bench/retrieval/profile-sum.mjs" "$tmp"/prof/*.cpuprofile evaluateRetrieval runNative scoreRanked)"
    # the same numbers from both kernels: head's metrics.json byte for byte as base's of the same round
    [ "$v" = base ] && cp "$tmp/run/report/metrics.json" "$tmp/base-metrics.json"
    cmp -s "$tmp/run/report/metrics.json" "$tmp/base-metrics.json" && same=yes || same=no
    echo "{\"round\":$i,\"kernel\":\"$v\",\"step\":\"$step\",\"profile_s\":$prof,\"metrics_as_base\":\"$same\",\"load_before\":\"$l0\",\"load_after\":\"$l1\"}"
    # uncrowded: compare.mjs's synthetic 10k x 10k (100 classes, 100-d), FAISS float32 and the exact float64 engine
    for engine in faiss exact; do
      l0="$(load)"
      r="$(cd "$tree" && node bench/retrieval/compare.mjs 10000 "$tree/packages/retrieval/dist/index.js" 2 "$engine")"
      echo "{\"round\":$i,\"kernel\":\"$v\",\"case\":\"synthetic-10k-$engine\",\"load_before\":\"$l0\",${r#\{}"
    done
  done
done
