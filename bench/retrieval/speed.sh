#!/usr/bin/env bash
# Issue 18 speed targets (results: bench/results/retrieval.md): the native kernel against the JS kernel of the same
# build (SEMEMBED_RETRIEVAL_NATIVE=0: FAISS distances + JS selection, the previous engine), interleaved, then the
# reference's ranking step (numpy) on the same data, then 100k x 100k once per kernel (long: add `skip100k`).
# usage: bash bench/retrieval/speed.sh [out.jsonl] [rounds] [skip100k|native100k]
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-bench/results/tmp/retrieval-speed.jsonl}"
rounds="${2:-3}"
mkdir -p "$(dirname "$out")"
lib="$PWD/packages/retrieval/dist/index.js"
tag() { sed "s/^{/{\"case\":\"$1\",\"uptime\":\"$(uptime | sed 's/.*load average: //')\",/" | tee -a "$out"; }
for i in $(seq "$rounds"); do
  node bench/retrieval/compare.mjs 10000 "$lib" 2 | tag 10k-native
  SEMEMBED_RETRIEVAL_NATIVE=0 node bench/retrieval/compare.mjs 10000 "$lib" 2 | tag 10k-js
done
# the float64 exact engine: dgemm natively vs the JS float64 product
node bench/retrieval/compare.mjs 10000 "$lib" 2 exact | tag 10k-exact-native
SEMEMBED_RETRIEVAL_NATIVE=0 node bench/retrieval/compare.mjs 10000 "$lib" 2 exact | tag 10k-exact-js
node bench/retrieval/run-one.mjs dump 10000 /tmp/semembed-bench-10k.f32
/usr/bin/python3 bench/retrieval/reference_side.py /tmp/semembed-bench-10k.f32 10000 | tag 10k-numpy-ranking-only
[ "${3:-}" = skip100k ] && exit 0
nice -n 10 node bench/retrieval/compare.mjs 100000 "$lib" 2 | tag 100k-native
[ "${3:-}" = native100k ] && exit 0
SEMEMBED_RETRIEVAL_NATIVE=0 nice -n 10 node bench/retrieval/compare.mjs 100000 "$lib" 2 | tag 100k-js
