#!/bin/bash
# Data-parallel training on this machine (docs/BENCHMARKS.md, "Training on many machines"): one Fashion-MNIST epoch of
# SimpleConvNet and DeepConvNet (Adam 0.001, batch 100, all 60 000 images) as 1 process × 2 threads unsharded (today's
# training), 1 process × 2 threads with --shards 2, mpirun -np 2 × 1 thread with --shards 2 (the exchange after the
# backward pass, then beside it: --overlap), and 1 process × 1 thread, in the order A B C D E E D C B A; then
# tools/mpi_table.py OUT prints the table and the on-paper scaling.
#   tools/run_mpi_benchmarks.sh OUT
set -euo pipefail
OUT=${1:?usage: tools/run_mpi_benchmarks.sh OUT}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
dotnet build "$ROOT/src/Backprop.Cli" -c Release -v q >/dev/null
B="$ROOT/src/Backprop.Cli/bin/Release/net10.0/Backprop.Cli"
MPIRUN="mpirun --oversubscribe"
export OMPI_MCA_plm_rsh_agent=false   # one machine: no remote shell needed
export OMPI_MCA_btl_vader_single_copy_mechanism=none   # as the tests run it: copies through shared memory
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
run() {   # net config tag
  local common="train --model ${1}_convnet --dataset fashion-mnist --epochs 1 --seed 0 --optimizer adam --lr 0.001 --validation 0"
  case $2 in
    base1x2) "$B" $common --threads 2 ;;
    shard1x2) "$B" $common --threads 2 --shards 2 ;;
    mpi2x1) $MPIRUN -np 2 "$B" $common --threads 1 --shards 2 ;;
    mpi2x1o) $MPIRUN -np 2 "$B" $common --threads 1 --shards 2 --overlap ;;
    base1x1) "$B" $common --threads 1 ;;
  esac > "$OUT/$1-$2-$3.txt" 2>&1
}
for net in simple deep; do
  for c in base1x2 shard1x2 mpi2x1 mpi2x1o base1x1; do run $net $c a; done
  for c in base1x1 mpi2x1o mpi2x1 shard1x2 base1x2; do run $net $c b; done
done
python3 "$ROOT/tools/mpi_table.py" "$OUT"
