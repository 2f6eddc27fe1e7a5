#!/usr/bin/env bash
# Debian packages the toolchain and its tests use. Idempotent: skips apt when all are present.
#   libfaiss-dev libopenblas-dev cmake  - build faiss-node against Debian's FAISS, and the trainer's native (OpenBLAS) convolutions
#   python3-onnx python3-h5py           - onnx.checker and h5py as independent references in tests
#   dataset-fashion-mnist               - the embedded default dataset
#   chromium libvulkan1                 - real browser (and SwiftShader WebGPU) for runtime-web tests
set -euo pipefail
pkgs=(g++ libfaiss-dev libopenblas-dev cmake python3-onnx python3-h5py python3-numpy dataset-fashion-mnist chromium libvulkan1)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system deps: all present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "system deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
