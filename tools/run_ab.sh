#!/bin/bash
# Before/after timings of two builds of the command line, interleaved A-B-B-A so that a slow stretch of a shared host
# lands on both: bench (kernel rows), then bench --ops training (Fashion-MNIST epochs).
# Usage: tools/run_ab.sh BEFORE_DIR AFTER_DIR OUT   (each DIR holds a Release build of Backprop.Cli.dll:
#   git worktree add /tmp/before COMMIT && dotnet build /tmp/before/src/Backprop.Cli -c Release -o BEFORE_DIR)
# Then: python3 tools/compare_ab.py OUT
set -euo pipefail
B="dotnet ${1:?BEFORE_DIR}/Backprop.Cli.dll"; A="dotnet ${2:?AFTER_DIR}/Backprop.Cli.dll"; OUT=${3:?OUT}
mkdir -p "$OUT"
$B bench --json > "$OUT/before_1.json"
$A bench --json > "$OUT/after_1.json"
$A bench --json > "$OUT/after_2.json"
$B bench --json > "$OUT/before_2.json"
$B bench --ops training --epochs 6 --json > "$OUT/before_train_1.json"
$A bench --ops training --epochs 6 --json > "$OUT/after_train_1.json"
$A bench --ops training --epochs 6 --json > "$OUT/after_train_2.json"
$B bench --ops training --epochs 6 --json > "$OUT/before_train_2.json"
