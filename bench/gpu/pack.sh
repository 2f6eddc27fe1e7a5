#!/usr/bin/env bash
# Builds the GPU kit (bench/gpu/README.md) into bench/gpu/kit/ (git-ignored): run.sh + payload.tar.xz, at most
# 60 MiB. The payload holds Node, our code bundled with esbuild, only the linux-x64 native parts it loads, the Vulkan
# loader (+ glvnd, which NVIDIA's ICD library needs) from Debian's .debs, the Python half, and a Fashion-MNIST slice.
#   bash bench/gpu/pack.sh [--train_n 5000] [--test_n 5000]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/bench/gpu
KIT=$HERE/kit
STAGE=$ROOT/bench/gpu/.stage
TRAIN_N=5000
TEST_N=5000
STAGE_ONLY=
# Each device call carries the whole working tree (~35 MB of tracked files here) beside what `carry` names, 64 MiB in
# all, so the payload travels in parts of PART_MIB, one part per call (run.sh --stash keeps them in /tmp there).
PART_MIB=24
while [ $# -gt 0 ]; do
  case $1 in
    --train_n|--train-n) TRAIN_N=$2; shift 2 ;;
    --test_n|--test-n) TEST_N=$2; shift 2 ;;
    --part_mib|--part-mib) PART_MIB=$2; shift 2 ;;
    --stage) STAGE_ONLY=1 STAGE=$2; shift 2 ;; # only lay the payload out in DIR (uncompressed), to try changes
    *) echo "pack.sh: unknown flag $1 (known: --train_n N, --test_n N, --part_mib M, --stage DIR)" >&2; exit 2 ;;
  esac
done
NM=$ROOT/node_modules
for f in /usr/bin/node "$NM/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1" \
  "$NM/webgpu/dist/linux-x64/dawn.node" "$ROOT/tools/cli/dist/index.js" /usr/share/datasets/fashion-mnist; do
  [ -e "$f" ] || { echo "pack.sh: $f is missing (npm ci && npm run build; Debian nodejs, fashion-mnist)" >&2; exit 1; }
done
rm -rf "$STAGE" && mkdir -p "$STAGE"/{bin,lib,app/node_modules,native/build/Release,data/fashion-mnist,py,hierarchy}
P=$STAGE

# Node: Debian's binary is static apart from glibc/libstdc++/libgcc, which any glibc system has.
cp /usr/bin/node "$P/bin/node" && strip "$P/bin/node" # its symbols are 12 MiB
printf '{ "name": "semembed-gpu-kit", "version": "0.1.0", "type": "module", "private": true }\n' > "$P/package.json"

# Our code: two bundles. Native packages stay outside (they find their .node files next to their own JS).
EXT=(--external:playwright-core --external:onnxruntime-node --external:webgpu --external:faiss-node
  --external:sharp --external:'*.node')
BANNER="import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url';"
BANNER+=" import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url);"
# CJS code inside the bundle may read __dirname; as globals they do not clash with the ESM sources' own.
BANNER+=" globalThis.__filename ??= __fu(import.meta.url); globalThis.__dirname ??= __dn(__fu(import.meta.url));"
# One build with shared chunks: the CLI and the kit parts share most of their code.
nice -n 10 "$NM/.bin/esbuild" "$HERE/kit.mjs" "$HERE/cli-entry.mjs" --bundle --splitting --platform=node --format=esm \
  --target=node20 --log-level=warning "${EXT[@]}" --banner:js="$BANNER" --outdir="$P/app" --out-extension:.js=.mjs
# The trainer's worker file (data-parallel wasm/cpu workers) is not used by the kit's parts: --workers 1 there.

copy_pkg() { # copy_pkg NAME [paths inside it...]: package.json + the given paths
  local name=$1; shift; mkdir -p "$P/app/node_modules/$name"
  (cd "$NM/$name" && cp -r --parents package.json "$@" "$P/app/node_modules/$name/")
}
copy_pkg onnxruntime-node dist bin/napi-v6/linux/x64
copy_pkg onnxruntime-common dist
copy_pkg webgpu index.js dist/linux-x64
strip --strip-unneeded "$P/app/node_modules/webgpu/dist/linux-x64/dawn.node"
# sharp renders the report's PNG plots; libvips comes with its linux-x64 package.
copy_pkg sharp lib dist
copy_pkg @img/sharp-linux-x64 lib index.cjs
copy_pkg @img/sharp-libvips-linux-x64 lib
copy_pkg @img/colour $(cd "$NM/@img/colour" && ls *.js *.cjs 2>/dev/null)
copy_pkg detect-libc lib
copy_pkg semver $(cd "$NM/semver" && ls -d *.js classes functions internal ranges 2>/dev/null)
copy_pkg faiss-node lib build/Release/faiss-node.node
copy_pkg bindings bindings.js
copy_pkg file-uri-to-path index.js
copy_pkg @tensorflow/tfjs-backend-wasm $(cd "$NM/@tensorflow/tfjs-backend-wasm" && ls dist/*.wasm) \
  dist/tf-backend-wasm.node.js
[ -f "$ROOT/packages/trainer/native/build/Release/semembed_conv.node" ] &&
  cp "$ROOT/packages/trainer/native/build/Release/semembed_conv.node" "$P/native/build/Release/"

# Shared libraries a bare image may lack: faiss-node's BLAS/LAPACK, the Vulkan loader and glvnd (from the .debs).
for l in libopenblas.so.0 libblas.so.3 liblapack.so.3 libgfortran.so.5 libquadmath.so.0 libgomp.so.1; do
  cp -L "/lib/x86_64-linux-gnu/$l" "$P/lib/$l"
done
DEBS=$HERE/.debs
mkdir -p "$DEBS"
(cd "$DEBS" && for d in libvulkan1 libglvnd0 libegl1 libglx0 libgl1; do
  ls ${d}_*.deb >/dev/null 2>&1 || apt-get download "$d" >/dev/null; done)
for d in "$DEBS"/*.deb; do dpkg -x "$d" "$STAGE/debs"; done
cp -a "$STAGE"/debs/usr/lib/x86_64-linux-gnu/*.so* "$P/lib/" && rm -rf "$STAGE/debs"

# The Python half and the taxonomy of the main job.
cp "$HERE/torch_bench.py" "$ROOT/bench/trainer/torch_throughput.py" "$P/py/"
cp "$ROOT"/hierarchies/fashion-mnist/*.txt "$P/hierarchy/"

# Fashion-MNIST slice: the first N training and test images, as idx .gz files the datasets package reads.
nice -n 10 python3 - "$TRAIN_N" "$TEST_N" "$P/data/fashion-mnist" <<'PY'
import gzip, struct, sys
n_train, n_test, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
src = '/usr/share/datasets/fashion-mnist'
for split, n in (('train', n_train), ('t10k', n_test)):
    for kind, item in (('images-idx3', 784), ('labels-idx1', 1)):
        name = f'{split}-{kind}-ubyte.gz'
        raw = gzip.open(f'{src}/{name}').read()
        hdr = 16 if item == 784 else 8
        head = bytearray(raw[:hdr]); total = struct.unpack('>I', raw[4:8])[0]; n = min(n, total)
        head[4:8] = struct.pack('>I', n)
        with gzip.open(f'{out}/{name}', 'wb', compresslevel=9) as f:
            f.write(bytes(head) + raw[hdr:hdr + n * item])
PY

[ -n "$STAGE_ONLY" ] && { echo "pack.sh: laid out in $STAGE" >&2; exit 0; }
rm -rf "$KIT" && mkdir -p "$KIT"
echo "pack.sh: compressing $(du -sh "$P" | cut -f1) ..." >&2
nice -n 10 tar -C "$STAGE" -cf - . | nice -n 10 xz -6 -T2 > "$KIT/payload.tar.xz"
rm -rf "$STAGE"
size=$(du -b "$KIT/payload.tar.xz" | cut -f1)
echo "pack.sh: $KIT/payload.tar.xz $((size / 1048576)) MiB (train $TRAIN_N, test $TEST_N images)" >&2
[ "$size" -le $((60 * 1048576)) ] || { echo "pack.sh: the kit is over 60 MiB; use a smaller --train_n" >&2; exit 1; }
sha=$(sha256sum "$KIT/payload.tar.xz" | cut -d' ' -f1)
(cd "$KIT" && split -b "${PART_MIB}M" -d -a 1 payload.tar.xz payload.part-)
count=$(ls "$KIT"/payload.part-* | wc -l)
for f in "$KIT"/payload.part-*; do
  d=$KIT/part-${f##*-}; mkdir -p "$d" && mv "$f" "$d/" && echo "$count $sha" > "$d/manifest"
done
rm "$KIT/payload.tar.xz"
echo "pack.sh: $count parts of at most $PART_MIB MiB in $KIT/part-*; carry one per call (bench/gpu/README.md)" >&2
