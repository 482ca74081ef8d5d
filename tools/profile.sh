#!/bin/bash
# Where a training run's time goes, kernel by kernel: perf samples `backprop train` (JIT-compiled code, named through the
# runtime's perf map, with ReadyToRun and the W^X double mapping off so that every method is named), then
# tools/profile_table.py groups the symbols (products, layout changes, transforms, batch normalization, …) into a table.
#   tools/profile.sh OUT SECONDS TRAIN_OPTIONS…
#   e.g. tools/profile.sh /tmp/prof 40 --model resnet_small --dataset fashion-mnist --epochs 1 --threads 1 --validation 0
# perf stops the run after SECONDS (the first seconds, the JIT's, are a small share of a long run); OUT gets perf.data,
# the flat report (report.txt) and the table (table.md).
set -euo pipefail
OUT=${1:?usage: tools/profile.sh OUT SECONDS TRAIN_OPTIONS…}
SECONDS_=${2:?usage: tools/profile.sh OUT SECONDS TRAIN_OPTIONS…}
shift 2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
command -v perf >/dev/null || { echo "perf is missing (Debian: linux-perf)" >&2; exit 2; }
mkdir -p "$OUT"
dotnet build "$ROOT/src/Backprop.Cli" -c Release -v q >/dev/null
B="$ROOT/src/Backprop.Cli/bin/Release/net10.0/Backprop.Cli"
DOTNET_PerfMapEnabled=1 DOTNET_ReadyToRun=0 DOTNET_EnableWriteXorExecute=0 \
  timeout -s INT "$SECONDS_" perf record -F 499 -o "$OUT/perf.data" -- "$B" train "$@" > "$OUT/train.txt" 2>&1 || true
perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio 2> /dev/null > "$OUT/report.txt"
python3 "$ROOT/tools/profile_table.py" "$OUT/report.txt" | tee "$OUT/table.md"
