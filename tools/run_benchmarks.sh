#!/bin/bash
# Runs Backprop's benchmarks and the peers' side by side, one after another, and keeps every raw output in OUT.
# Usage: tools/run_benchmarks.sh OUT [PEERS]   (PEERS: the folder of fc_bench.py, elementwise_bench.py, mlp_torch.py)
# Needs Debian's python3-numpy, python3-torch, libopenblas0-pthread and dataset-fashion-mnist for the peer rows.
set -euo pipefail
OUT=${1:?usage: tools/run_benchmarks.sh OUT [PEERS]}
PEERS=${2:-$(dirname "$0")/../../shared/peers}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$(dirname "$0")/.."
dotnet build -c Release src/Backprop.Cli -v quiet -nologo
BP="dotnet src/Backprop.Cli/bin/Release/net10.0/Backprop.Cli.dll"
git rev-parse HEAD > "$OUT/commit"
source tools/peer_blas.sh
peer_blas "$BP" "$OUT"   # OPENBLAS_CORETYPE for the peers where Debian's OpenBLAS does not know this core
# Kernel rows in A-B-B-A order (Backprop, peers, peers, Backprop): this host's speed drifts over minutes, and the
# side-by-side tables take each side's better run of the two, so a slow stretch lands on both sides alike.
$BP bench > "$OUT/backprop_bench.md" 2>&1
for run in "" _2; do
  /usr/bin/python3 "$PEERS/fc_bench.py" --runs 1 --target 0.2 --json "$OUT/peers_fc$run.json" --md "$OUT/peers_fc$run.md" > "$OUT/peers_fc$run.log" 2>&1
  /usr/bin/python3 "$PEERS/elementwise_bench.py" --runs 1 --libs torch --json "$OUT/peers_elementwise$run.json" --md "$OUT/peers_elementwise$run.md" > "$OUT/peers_elementwise$run.log" 2>&1
done
$BP bench > "$OUT/backprop_bench_2.md" 2>&1
$BP bench --ops training --epochs 6 > "$OUT/backprop_training.md" 2>&1
for opt in "sgd 0.1" "adam 0.001"; do
  set -- $opt
  for t in 2 1; do
    /usr/bin/python3 "$PEERS/mlp_torch.py" --optimizer "$1" --lr "$2" --epochs 4 --threads "$t" --seed 0 > "$OUT/torch_${1}_${t}.txt" 2>&1
  done
done
$BP bench --ops training --epochs 6 > "$OUT/backprop_training_again.md" 2>&1
{ cat "$OUT/peer_blas.txt"; echo; /usr/bin/python3 tools/compare_benchmarks.py "$OUT"; } > "$OUT/side_by_side.md"
echo "raw outputs in $OUT; side-by-side tables in $OUT/side_by_side.md"
