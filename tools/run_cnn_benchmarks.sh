#!/bin/bash
# The convolutional networks beside PyTorch in one sitting (docs/BENCHMARKS.md, "the convolutional networks beside
# PyTorch"): SimpleConvNet and DeepConvNet epochs (Adam 0.001, batch 100, all 60 000 Fashion-MNIST images) on 1 and 2
# threads, one epoch per run in A-B-B-A order, then bench --ops convnet and PyTorch's per-layer rows (twice each,
# interleaved). Raw outputs go to OUT.
#   tools/run_cnn_benchmarks.sh OUT [PEERS_DIR]     (PEERS_DIR: where cnn_torch.py lives, default ../shared/peers)
set -euo pipefail
OUT=${1:?usage: tools/run_cnn_benchmarks.sh OUT [PEERS_DIR]}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=$(cd "${2:-$ROOT/../shared/peers}" && pwd)
mkdir -p "$OUT"
dotnet build "$ROOT/src/Backprop.Cli" -c Release -v q >/dev/null
B="$ROOT/src/Backprop.Cli/bin/Release/net10.0/Backprop.Cli"
export OMP_WAIT_POLICY=PASSIVE
source "$ROOT/tools/peer_blas.sh"
peer_blas "$B" "$OUT"   # OPENBLAS_CORETYPE for the peers where Debian's OpenBLAS does not know this core
ours() {
  "$B" train --model ${1}_convnet --dataset fashion-mnist --epochs 1 --threads $2 --seed 0 --optimizer adam --lr 0.001 \
    --validation 0 --json > "$OUT/ours-$1-t$2-$3.json"
}
torch() {
  (cd "$PEERS" && /usr/bin/python3 cnn_torch.py --net $1 --epochs 1 --threads $2 --seed 0 > "$OUT/torch-$1-t$2-$3.json" \
    2> "$OUT/torch-$1-t$2-$3.err")
}
# A-B-B-A: one epoch each, Backprop, PyTorch, PyTorch, Backprop, so that a slow stretch of the machine hits both sides.
for net in simple deep; do
  for t in 1 2; do
    ours $net $t a; torch $net $t a; torch $net $t b; ours $net $t b
  done
done
for run in a b; do
  "$B" bench --ops convnet --dtype float32 > "$OUT/bench-convnet-$run.txt"
  for t in 1 2; do /usr/bin/python3 "$ROOT/tools/conv_layers_torch.py" --threads $t > "$OUT/torch-layers-t$t-$run.txt"; done
done
cat "$OUT/peer_blas.txt"
python3 "$ROOT/tools/cnn_table.py" "$OUT"
echo "raw outputs in $OUT"
