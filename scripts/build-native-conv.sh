#!/usr/bin/env bash
# Builds the trainer's native kernels (packages/trainer/native: im2col + OpenBLAS sgemm convolutions, BatchNorm,
# pooling, matmul, SGD) with scripts/build-native-addon.sh (offline cmake-js, idempotent).
# Run by the root package.json "postinstall". Without g++ / cmake / libopenblas-dev it warns and exits 0: the
# trainer then uses the wasm backend's own (slower) kernels and says so.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Self-check: a 1x1 convolution of [1, 2] with weight 3 is [3, 6].
check="const y = new Float32Array(2);
addon.conv(0, new Float32Array([1, 2]), new Float32Array([3]), y, new Float32Array([1, 1, 2, 1, 1, 1, 1, 1, 1, 0, 0, 1, 2]));
if (y[0] !== 3 || y[1] !== 6) throw new Error('self-check failed: ' + y);"
exec bash "$ROOT/scripts/build-native-addon.sh" build-native-conv "$ROOT/packages/trainer/native" semembed_conv.node "$check"
