#!/usr/bin/env bash
# int8 vs fp32 on onnxruntime-web wasm, the fastest runs (what each variant costs when the cores are free), in Node
# and in Chromium (the page, served by `semembed serve`, cross-origin isolated), 1 and 2 wasm threads, batch 32 and 1,
# for a trained fashion-cnn and resnet-110-wfc with random weights. One command for an idle machine:
#   bash bench/quantize/quiet.sh [FASHION_MODEL.onnx] [--no-resnet] [--no-chromium]
# FASHION_MODEL.onnx (sidecar beside it): default runs/fashion-mnist/semantic/model.onnx (`npm start` makes it; or
# `semembed pipeline --epochs 2 --no-baseline --out DIR`). Variants: fp32, int8 (the default: web form, 7-bit
# weights), int8-cpu (`--target cpu`), built by variants.mjs. Writes the Markdown to $OUT/quiet.md (OUT: a fresh temp
# folder unless set) and prints it. Takes ~15 min on 2 quiet cores (resnet's float model is built and converted first).
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=runs/fashion-mnist/semantic/model.onnx
RESNET=1
CHROMIUM=1
for a in "$@"; do
  case "$a" in
    --no-resnet) RESNET=0 ;;
    --no-chromium) CHROMIUM=0 ;;
    *) MODEL="$a" ;;
  esac
done
[ -f "$MODEL" ] || { echo "quiet.sh: $MODEL: no such model (train one: npm start, or semembed pipeline)" >&2; exit 2; }
export ONNXRUNTIME_NODE_INSTALL=skip
OUT=${OUT:-$(mktemp -d /tmp/semembed-quiet-XXXXXX)}
MD="$OUT/quiet.md"
Q=bench/quantize
say() { echo "$@" | tee -a "$MD"; }

node $Q/variants.mjs "$MODEL" "$OUT/fashion" >&2
if [ $RESNET = 1 ]; then
  node bench/runtime-node/prepare.mjs resnet-110-wfc >&2
  node $Q/variants.mjs bench/results/tmp/runtime-node/resnet-110-wfc.onnx "$OUT/resnet" --calibration synthetic >&2
fi

F="$OUT/fashion"
R="$OUT/resnet"
say "# int8 vs fp32 on onnxruntime-web wasm ($(date -u +%FT%H:%MZ), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
say ""
say "fashion: $MODEL; int8 = the default (web form, 7-bit weights), int8-cpu = --target cpu. uptime: $(uptime)"
for t in 1 2; do
  say ""
  say "## onnxruntime-web in Node, $t wasm thread(s)"
  say ""
  say "### fashion, batch 32"
  node $Q/wasm-quiet.mjs --threads $t --batch 32 --iters 150 --rounds 3 fp32=$F/fp32.onnx int8=$F/int8.onnx int8-cpu=$F/int8-cpu.onnx | tee -a "$MD"
  say "### fashion, 1 image"
  node $Q/wasm-quiet.mjs --threads $t --batch 1 --iters 300 --rounds 3 fp32=$F/fp32.onnx int8=$F/int8.onnx int8-cpu=$F/int8-cpu.onnx | tee -a "$MD"
  if [ $RESNET = 1 ]; then
    say "### resnet-110-wfc (random weights), 1 image"
    node $Q/wasm-quiet.mjs --threads $t --shape 32,32,3 --batch 1 --iters 15 --rounds 2 fp32=$R/fp32.onnx int8=$R/int8.onnx int8-cpu=$R/int8-cpu.onnx | tee -a "$MD"
  fi
done
if [ $CHROMIUM = 1 ]; then
  for t in 1 2; do
    say ""
    say "## Chromium (the page), $t wasm thread(s)"
    say ""
    say "### fashion, batch 32"
    node $Q/chromium-quiet.mjs $F/site --threads $t --batch 32 --iters 40 --rounds 4 fp32 int8 int8-cpu | tee -a "$MD"
    say "### fashion, 1 image"
    node $Q/chromium-quiet.mjs $F/site --threads $t --batch 1 --iters 200 --rounds 3 fp32 int8 int8-cpu | tee -a "$MD"
    if [ $RESNET = 1 ]; then
      say "### resnet-110-wfc (random weights), 1 image"
      node $Q/chromium-quiet.mjs $R/site --threads $t --batch 1 --iters 10 --rounds 3 fp32 int8 int8-cpu | tee -a "$MD"
    fi
  done
fi
say ""
say "## Per-op profile (Node wasm, 1 thread; sums of kernels, ms)"
say ""
node $Q/profile.mjs --batch 32 --iters 60 fp32=$F/fp32.onnx int8=$F/int8.onnx | tee -a "$MD"
node $Q/profile.mjs --batch 1 --iters 300 fp32=$F/fp32.onnx int8=$F/int8.onnx | tee -a "$MD"
say "uptime after: $(uptime)"
echo "written: $MD" >&2
