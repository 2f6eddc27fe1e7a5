#!/usr/bin/env bash
# Builds @semembed/retrieval's native evaluation kernel (packages/retrieval/native: blocked GEMM + fused top-k /
# AP selection over std::threads, against OpenBLAS and the system FAISS) with scripts/build-native-addon.sh.
# Run by the root package.json "postinstall". Without g++ / cmake / libopenblas-dev / libfaiss-dev it warns and
# exits 0: evaluateRetrieval then uses its JS kernel (slower) and says so (`kernel: 'js'`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Self-check: 3 points on a line, L2; query 0's ranking is 0, 1, 2 and its class member 2 sits at position 1.
check="const h = addon.create(new Float32Array([0, 1, 3]), 1, false, new Int32Array([0, 1, 0]), 2, true, 1, 8);
const top = new Int32Array(2), ranks = new Int32Array(1), off = new Int32Array(2);
addon.start(h, new Float32Array([0]), 0, top, ranks, off); addon.wait(h);
if (top[0] !== 0 || top[1] !== 1 || ranks[0] !== 1) throw new Error('self-check: ' + top + ' / ' + ranks);"
exec bash "$ROOT/scripts/build-native-addon.sh" build-native-retrieval "$ROOT/packages/retrieval/native" \
  semembed_retrieval.node "$check" libfaiss-dev=/usr/include/faiss/utils/distances.h
