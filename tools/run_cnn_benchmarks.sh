#!/bin/bash
# The convolutional networks beside PyTorch in one sitting (docs/BENCHMARKS.md, "the convolutional networks beside
# PyTorch"): SimpleConvNet and DeepConvNet epochs (Adam 0.001, batch 100, all 60 000 Fashion-MNIST images, 2 epochs)
# on 1 and 2 threads, then bench --ops convnet and PyTorch's per-layer rows. Raw outputs go to OUT.
#   tools/run_cnn_benchmarks.sh OUT [PEERS_DIR]     (PEERS_DIR: where cnn_torch.py lives, default ../shared/peers)
set -euo pipefail
OUT=${1:?usage: tools/run_cnn_benchmarks.sh OUT [PEERS_DIR]}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=$(cd "${2:-$ROOT/../shared/peers}" && pwd)
mkdir -p "$OUT"
dotnet build "$ROOT/src/Backprop.Cli" -c Release -v q >/dev/null
B="$ROOT/src/Backprop.Cli/bin/Release/net10.0/Backprop.Cli"
export OMP_WAIT_POLICY=PASSIVE
for net in simple deep; do
  for t in 1 2; do
    "$B" train --model ${net}_convnet --dataset fashion-mnist --epochs 2 --threads $t --seed 0 --optimizer adam --lr 0.001 \
      --validation 0 --json > "$OUT/ours-$net-t$t.json"
    (cd "$PEERS" && /usr/bin/python3 cnn_torch.py --net $net --epochs 2 --threads $t --seed 0 > "$OUT/torch-$net-t$t.json" \
      2> "$OUT/torch-$net-t$t.err")
  done
done
"$B" bench --ops convnet --dtype float32 > "$OUT/bench-convnet.txt"
for t in 1 2; do /usr/bin/python3 "$ROOT/tools/conv_layers_torch.py" --threads $t > "$OUT/torch-layers-t$t.txt"; done
echo "raw outputs in $OUT"
