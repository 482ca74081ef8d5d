#!/bin/bash
# resnet_small's first epoch in Backprop and PyTorch from shared starts (docs/BENCHMARKS.md, "resnet_small's accuracy"):
# for each SEED, (1) each side from its own start (initial weights and shuffle of that seed, as `train --seed` and
# cnn_torch.py --seed draw them); (2) both from PyTorch's start (its weights and its permutation); (3) both from
# PyTorch's weights and Backprop's shuffle. Prints each run's test accuracy after the epoch and the first steps' losses.
#   tools/same_start/run.sh OUT [PEERS_DIR] SEED...
set -euo pipefail
OUT=${1:?usage: tools/same_start/run.sh OUT [PEERS_DIR] SEED...}
shift
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS=$HERE/../../../shared/peers
if [ -d "${1:-}" ]; then PEERS=$1; shift; fi
mkdir -p "$OUT"
export OMP_WAIT_POLICY=PASSIVE
for s in "$@"; do
  d="$OUT/seed$s"
  mkdir -p "$d"
  /usr/bin/python3 "$HERE/torch_side.py" "$PEERS" "$d" "$s" > "$d/torch-own.json"
  dotnet run "$HERE/ours.cs" -- "$d" "$s" torch torch > "$d/ours-torchstart.json"
  dotnet run "$HERE/ours.cs" -- "$d" "$s" ours ours --write-order > "$d/ours-own.json"
  /usr/bin/python3 "$HERE/torch_side.py" "$PEERS" "$d" "$s" "$d/ours-order.i32" > "$d/torch-oursorder.json"
  dotnet run "$HERE/ours.cs" -- "$d" "$s" torch torch > "$d/ours-oursorder.json"
done
python3 - "$OUT" "$@" <<'PY'
import json, sys, statistics
out, seeds = sys.argv[1], sys.argv[2:]
def r(s, f): return json.load(open(f"{out}/seed{s}/{f}.json"))
print("| seed | own starts: Backprop | PyTorch | PyTorch's start: Backprop | PyTorch | first 3 losses, Backprop − PyTorch "
      "| PyTorch's weights, Backprop's order: Backprop | PyTorch |")
print("|--:|--:|--:|--:|--:|--|--:|--:|")
cols = [[] for _ in range(6)]
for s in seeds:
    runs = [r(s, "ours-own"), r(s, "torch-own"), r(s, "ours-torchstart"), r(s, "torch-own"), r(s, "ours-oursorder"),
            r(s, "torch-oursorder")]
    acc = [x["test_accuracy"] * 100 for x in runs]
    for c, a in zip(cols, acc): c.append(a)
    diff = ", ".join(f"{a - b:+.1e}" for a, b in zip(runs[2]["losses"][:3], runs[3]["losses"][:3]))
    print(f"| {s} | {acc[0]:.2f} % | {acc[1]:.2f} % | {acc[2]:.2f} % | {acc[3]:.2f} % | {diff} | {acc[4]:.2f} % | {acc[5]:.2f} % |")
m = [statistics.mean(c) for c in cols]
print(f"| mean | {m[0]:.2f} % | {m[1]:.2f} % | {m[2]:.2f} % | {m[3]:.2f} % | | {m[4]:.2f} % | {m[5]:.2f} % |")
PY
