#!/usr/bin/env bash
# The GPU kit's one command (bench/gpu/README.md). Gathers the payload's parts (bench/gpu/kit/part-*/, carried one
# per device call: --stash only keeps the parts it was given in /tmp/semembed-gpu-parts and stops), unpacks the
# payload into /tmp/semembed-gpu, points Dawn at the
# Vulkan driver (NVIDIA's ICD from the host driver; SwiftShader's with --swiftshader) and runs every part with its
# own time limit inside one overall budget. Results: $OUT/results.jsonl (one JSON line per part), $OUT/gpu.md,
# $OUT/logs.tar.gz, $OUT/pipeline-report.md. A part that fails or times out leaves an error line; the rest go on.
#   OUT=/tmp/gpu-out bash bench/gpu/run.sh [--stash] [--swiftshader] [--tiny] [--budget 420] [--skip part,part]
set -uo pipefail
KIT=${SEMEMBED_GPU_KIT:-$(cd "$(dirname "$0")" && pwd)/kit}
PARTS=${SEMEMBED_GPU_PARTS:-/tmp/semembed-gpu-parts}
OUT=${OUT:-/tmp/gpu-out}
W=${SEMEMBED_GPU_DIR:-/tmp/semembed-gpu}
SWIFT=0 TINY=0 BUDGET=420 SKIP=, STASH=0
while [ $# -gt 0 ]; do
  case $1 in
    --swiftshader) SWIFT=1; shift ;;
    --tiny) TINY=1; shift ;;
    --stash) STASH=1; shift ;;
    --budget) BUDGET=$2; shift 2 ;;
    --skip) SKIP=,$2,; shift 2 ;;
    *) echo "run.sh: unknown flag $1 (known: --stash, --swiftshader, --tiny, --budget S, --skip a,b)" >&2; exit 2 ;;
  esac
done
START=$(date +%s)
mkdir -p "$PARTS" || exit 1
for d in "$KIT"/part-*; do [ -f "$d/manifest" ] && cp "$d"/payload.part-* "$d/manifest" "$PARTS/"; done
[ -f "$PARTS/manifest" ] || {
  echo "run.sh: no payload part in $KIT/part-* (bash bench/gpu/pack.sh; carry one)" >&2; exit 1; }
read -r COUNT SHA < "$PARTS/manifest"
HAVE=$(ls "$PARTS"/payload.part-* | wc -l)
if [ "$HAVE" -lt "$COUNT" ] || [ $STASH = 1 ]; then
  echo "run.sh: $HAVE of $COUNT payload parts are in $PARTS ($(ls "$PARTS" | tr '\n' ' '))" >&2
  [ $STASH = 1 ] && exit 0
  echo "run.sh: carry the missing bench/gpu/kit/part-N with --stash first (within the machine's warm time)" >&2; exit 1
fi
mkdir -p "$OUT" "$W/logs" || exit 1
RES=$OUT/results.jsonl
: > "$RES"
if [ "$(cat "$W/.sha" 2>/dev/null)" != "$SHA" ]; then
  rm -rf "$W" && mkdir -p "$W/logs"
  cat "$PARTS"/payload.part-* > "$PARTS/payload.tar.xz"
  [ "$(sha256sum "$PARTS/payload.tar.xz" | cut -d' ' -f1)" = "$SHA" ] || {
    echo "run.sh: the payload's parts in $PARTS do not add up to sha256 $SHA (mixed packs?)" >&2; exit 1; }
  # Python's tarfile reads .xz without the xz binary, which a bare image may lack.
  python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$PARTS/payload.tar.xz" "$W" || {
    echo "run.sh: cannot unpack the payload into $W" >&2; exit 1; }
  rm -f "$PARTS/payload.tar.xz"
  echo "$SHA" > "$W/.sha"
fi
echo "{\"part\":\"unpack\",\"seconds\":$(( $(date +%s) - START ))}" >> "$RES"

export LD_LIBRARY_PATH=$W/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if [ $SWIFT = 1 ]; then
  ICD=/usr/lib/chromium/vk_swiftshader_icd.json
else
  ICD=
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
    /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
    [ -f "$f" ] && { ICD=$f; break; }
  done
  # The ICD json names libGLX_nvidia.so.0 without a path: the driver's own lib folder must be searchable.
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu/nvidia; do
    [ -d "$d" ] && LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$d
  done
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
[ -n "$ICD" ] && export VK_ICD_FILENAMES=$ICD VK_DRIVER_FILES=$ICD
echo "{\"part\":\"env\",\"icd\":\"${ICD:-none}\",\"swiftshader\":$SWIFT,\"tiny\":$TINY,\"budget_s\":$BUDGET," \
  "\"host\":\"$(hostname)\",\"nproc\":$(nproc)}" >> "$RES"
N=$W/bin/node
PY=${PYTHON:-python3}

# part NAME LIMIT_S CMD...: runs CMD under min(LIMIT, what is left of the budget); keeps its last JSON line.
part() {
  local name=$1 limit=$2; shift 2
  case $SKIP in *,"$name",*) return ;; esac
  local left=$(( BUDGET - ($(date +%s) - START) ))
  [ "$limit" -gt "$left" ] && limit=$left
  if [ "$limit" -lt 5 ]; then
    echo "{\"part\":\"$name\",\"error\":\"skipped: the ${BUDGET}s budget is spent\"}" >> "$RES"; return
  fi
  local t0; t0=$(date +%s.%N)
  (cd "$W" && timeout -k 5 "$limit" "$@") > "$W/logs/$name.log" 2>&1
  local rc=$? line
  local s; s=$(python3 -c "import sys; print(round($(date +%s.%N) - $t0, 2))")
  line=$(grep '^{' "$W/logs/$name.log" | tail -1)
  if [ $rc = 124 ] || [ $rc = 137 ]; then
    echo "{\"part\":\"$name\",\"error\":\"timed out after ${limit}s\",\"seconds\":$s}" >> "$RES"
  elif [ -n "$line" ]; then
    echo "{\"name\":\"$name\",\"seconds\":$s,${line#\{}" >> "$RES"
  else
    local why; why=$(grep -v '^\s*$' "$W/logs/$name.log" | tail -1 | tr -d '"\\' | cut -c1-300)
    if [ $rc = 0 ]; then
      echo "{\"part\":\"$name\",\"seconds\":$s,\"tail\":\"$why\"}" >> "$RES"
    else
      echo "{\"part\":\"$name\",\"error\":\"exit $rc: $why\",\"seconds\":$s}" >> "$RES"
    fi
  fi
  echo "run.sh: $name done in ${s}s (exit $rc)" >&2
}

if [ $TINY = 1 ]; then
  TB=4 TS=1 TR=1 IB=1,4 IS=0.2 PIPE=(--limit 120 --epochs 1 --no-baseline --clip_ahp 20 --plot_max 20) LIM=60
else
  TB=100 TS=10 TR=3 IB=1,32,256 IS=2 PIPE=(--epochs 8) LIM=60
fi
ARCHS=(fashion-cnn simple resnet-110-wfc)
part adapter 30 "$N" app/kit.mjs adapter
part nvidia-smi 10 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
for a in "${ARCHS[@]}"; do
  part "torch-train-$a" $LIM "$PY" py/torch_bench.py train "$a" --batch $TB --steps $TS --reps $TR
  part "torch-infer-$a" $LIM "$PY" py/torch_bench.py infer "$a" --batches $IB --seconds $IS
done
for a in "${ARCHS[@]}"; do
  part "tfjs-webgpu-train-$a" $LIM "$N" app/kit.mjs train --backend webgpu --arch "$a" \
    --batch $TB --steps $TS --reps $TR
done
for a in "${ARCHS[@]}"; do
  part "onnx-$a" $LIM "$N" app/kit.mjs onnx --arch "$a" --out models
  part "ort-webgpu-infer-$a" $LIM "$N" app/kit.mjs infer --ep webgpu --model "models/$a.onnx" \
    --batches $IB --seconds $IS
  part "ort-cpu-infer-$a" $LIM "$N" app/kit.mjs infer --ep cpu --model "models/$a.onnx" --batches $IB --seconds $IS
done
# The main job on the GPU: class embeddings, training (webgpu), ONNX export, features, FAISS evaluation, report.
part pipeline-webgpu 200 "$N" app/cli-entry.mjs pipeline --out run --force --data_root data/fashion-mnist \
  --hierarchy hierarchy/fashion-mnist.parent-child.txt --backend webgpu --workers 1 --no_progress "${PIPE[@]}"
# CPU figures of the same kit on the same machine, last: they matter least if the budget runs out.
for a in fashion-cnn simple; do
  part "tfjs-wasm-train-$a" 40 "$N" app/kit.mjs train --backend wasm --arch "$a" --batch $TB --steps $TS --reps 1
  part "torch-cpu-train-$a" 30 "$PY" py/torch_bench.py train "$a" --device cpu --batch $TB --steps $TS --reps 1
done

[ -f "$W/run/report/README.md" ] && cp "$W/run/report/README.md" "$OUT/pipeline-report.md"
tar -C "$W" -czf "$OUT/logs.tar.gz" logs
"$N" "$W/app/kit.mjs" report --in "$RES" --out "$OUT/gpu.md" || echo "run.sh: the markdown report failed" >&2
echo "run.sh: $(( $(date +%s) - START ))s of ${BUDGET}s; results in $OUT" >&2
cat "$OUT/gpu.md" 2>/dev/null | tail -60
