#!/bin/sh
# Fashion-MNIST quality run of the default network (fashion-cnn) on this machine: a semantic embedding
# (unitsphere from hierarchies/fashion-mnist, + 0.1 softmax head, the paper's setup) and a one-hot baseline
# (classification-only targets, no hierarchy), both 3 epochs of one SGDR cycle, seed 1, wasm backend.
# Writes models, test features (.npy) and labels (.labels.npy) to bench/results/tmp/trainer/.
# mAHP: semembed evaluate-retrieval on both feature dumps (see bench/results/trainer.md).
set -e
cd "$(dirname "$0")/../.."
out=bench/results/tmp/trainer
mkdir -p "$out"
node tools/cli/bin/semembed.js compute-class-embedding --hierarchy hierarchies/fashion-mnist/fashion-mnist.parent-child.txt \
  --method unitsphere --out "$out/fashion.unitsphere.json"
common="--dataset FashionMNIST --lr_schedule SGDR --sgdr_base_len 3 --epochs 3 --backend wasm --seed 1 --no-validate"
/usr/bin/time -v node tools/cli/bin/semembed.js learn-image-embeddings $common --embedding "$out/fashion.unitsphere.json" --cls_weight 0.1 \
  --model_dump "$out/fashion-unitsphere.h5" --feature_dump "$out/fashion-unitsphere.npy" > "$out/run-unitsphere.log" 2>&1
/usr/bin/time -v node tools/cli/bin/semembed.js learn-image-embeddings $common --embedding onehot \
  --model_dump "$out/fashion-onehot.h5" --feature_dump "$out/fashion-onehot.npy" > "$out/run-onehot.log" 2>&1
