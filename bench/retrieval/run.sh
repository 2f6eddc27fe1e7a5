#!/usr/bin/env bash
# Retrieval benchmarks (results: bench/results/retrieval.md). Each case runs in its own node process.
# usage: bash bench/retrieval/run.sh [out.jsonl]
# (issue 18's speed targets, native vs JS kernel interleaved with the numpy reference: bench/retrieval/speed.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-bench/results/tmp/retrieval.jsonl}"
mkdir -p "$(dirname "$out")"
one() { node bench/retrieval/run-one.mjs "$@" | tee -a "$out"; }
for i in 1 2 3; do one eval-clip 10000; done
for i in 1 2; do one eval-full 10000; done
# side-by-side on the same data: numpy (the reference's ranking step) and python3-faiss
node bench/retrieval/run-one.mjs dump 10000 /tmp/semembed-bench-10k.f32
for i in 1 2; do /usr/bin/python3 bench/retrieval/reference_side.py /tmp/semembed-bench-10k.f32 10000 | tee -a "$out"; done
one hnsw 100000
one eval-clip 100000
