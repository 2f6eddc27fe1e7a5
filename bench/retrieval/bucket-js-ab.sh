#!/usr/bin/env bash
# The JS retrieval kernel (SEMEMBED_RETRIEVAL_NATIVE=0: FAISS / float64 rows, BucketSelector in JS) on the main job's
# evaluation step (pipeline step 8, beyond-report included), a base revision's bucket-select.ts against the working
# tree's, interleaved, on a copy of one finished run (crowded buckets: a whole class near one distance). Per run: the
# step's wall time as the pipeline prints it, from --cpu-prof (every thread's profile) the inclusive seconds of
# evaluateRetrieval (main thread) and of BucketSelector.scan (all threads), and whether metrics.json is byte for byte
# the base's of the same round and the run's recorded one. Both variants share one snapshot of the tree (dist/ copied
# once); only dist/bucket-select.js differs, both transpiled from source by esbuild the same way.
# Results: bench/results/retrieval.md.
# usage: bash bench/retrieval/bucket-js-ab.sh <finished run dir, e.g. runs/fashion-mnist> <base rev> [rounds=3]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
run="$(cd "$1" && pwd)" base="$2" rounds="${3:-3}"
[ -f "$run/report/metrics.json" ] || { echo "bucket-js-ab: $run is not a finished run (no report/metrics.json)" >&2; exit 2; }
tmp="$(mktemp -d "${TMPDIR:-/tmp}/bucket-js-ab.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
sel=packages/retrieval/src/bucket-select.ts
esb="$ROOT/node_modules/.bin/esbuild"
git -C "$ROOT" show "$base:$sel" >"$tmp/base.ts"
cp "$ROOT/$sel" "$tmp/head.ts"
for v in base head; do "$esb" --format=esm --platform=node --target=node20 --log-level=warning "$tmp/$v.ts" --outfile="$tmp/$v.js"; done

# the snapshot: hard links (no copy of node_modules), real copies of every dist/
tree="$tmp/tree"
mkdir -p "$tree"
for e in $(cd "$ROOT" && ls -A | grep -v -x -e .git -e runs); do cp -al "$ROOT/$e" "$tree/" 2>/dev/null || cp -a "$ROOT/$e" "$tree/"; done
for d in $(cd "$ROOT" && find packages tools -path '*/node_modules' -prune -o -name dist -type d -print); do
  rm -rf "${tree:?}/$d"
  cp -r "$ROOT/$d" "$tree/$d"
done
cp -r "$run" "$tmp/run"
cp "$run/report/metrics.json" "$tmp/recorded-metrics.json"
slot="$tree/packages/retrieval/dist/bucket-select.js"

load() { uptime | sed 's/.*load average: //'; }
for i in $(seq "$rounds"); do
  for v in base head; do
    rm -f "$slot"
    cp "$tmp/$v.js" "$slot"
    rm -rf "$tmp/run/report" "$tmp/prof"
    l0="$(load)"
    line="$(cd "$tree" && SEMEMBED_RETRIEVAL_NATIVE=0 node --cpu-prof --cpu-prof-dir "$tmp/prof" tools/cli/bin/semembed.js \
      pipeline --out "$tmp/run" --no-progress 2>&1 |
      grep -E '^\[[0-9]+/[0-9]+\] retrieval and classification evaluation.*\(total' | tail -1)"
    l1="$(load)"
    step="$(echo "$line" | sed -E 's/.*: (.*) \(total.*/\1/')"
    # every thread's profile (the evaluation's helper threads write their own), summed per function
    prof="$(for p in "$tmp"/prof/*.cpuprofile; do node "$ROOT/bench/retrieval/profile-sum.mjs" "$p" evaluateRetrieval scan; done |
      node -e 'const s = {};
        for (const l of require("fs").readFileSync(0, "utf8").trim().split("\n"))
          for (const [k, v] of Object.entries(JSON.parse(l))) s[k] = +((s[k] ?? 0) + v).toFixed(2);
        console.log(JSON.stringify(s));')"
    [ "$v" = base ] && cp "$tmp/run/report/metrics.json" "$tmp/base-metrics.json"
    cmp -s "$tmp/run/report/metrics.json" "$tmp/base-metrics.json" && same=yes || same=no
    cmp -s "$tmp/run/report/metrics.json" "$tmp/recorded-metrics.json" && rec=yes || rec=no
    echo "{\"round\":$i,\"selector\":\"$v\",\"step\":\"$step\",\"profile_s\":$prof,\"metrics_as_base\":\"$same\"," \
      "\"metrics_as_recorded\":\"$rec\",\"load_before\":\"$l0\",\"load_after\":\"$l1\"}"
  done
done
