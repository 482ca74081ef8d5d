#!/bin/bash
# resnet_small beside PyTorch's --net resnet (../shared/peers/cnn_torch.py) in one sitting (docs/BENCHMARKS.md, "Graph
# networks"): one epoch of all 60 000 Fashion-MNIST images (Adam 0.001, batch 100, seed 0) on 1 and 2 threads in A-B-B-A
# order; then EPOCHS epochs of each on 2 threads with the test accuracy after each; and SimpleConvNet's epoch, built as a
# chain by this build and by BEFORE (a Release build of another commit, for "a chain runs as fast as before"), A-B-B-A.
#   tools/run_resnet_benchmarks.sh OUT [EPOCHS] [BEFORE_DLL] [PEERS_DIR]
set -euo pipefail
OUT=${1:?usage: tools/run_resnet_benchmarks.sh OUT [EPOCHS] [BEFORE_DLL] [PEERS_DIR]}
EPOCHS=${2:-3}
BEFORE=${3:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=$(cd "${4:-$ROOT/../shared/peers}" && pwd)
mkdir -p "$OUT"
dotnet build "$ROOT/src/Backprop.Cli" -c Release -v q >/dev/null
B="$ROOT/src/Backprop.Cli/bin/Release/net10.0/Backprop.Cli"
export OMP_WAIT_POLICY=PASSIVE
source "$ROOT/tools/peer_blas.sh"
peer_blas "$B" "$OUT"   # OPENBLAS_CORETYPE for the peers where Debian's OpenBLAS does not know this core
ours() {   # threads, epochs, tag[, extra]
  "$B" train --model resnet_small --dataset fashion-mnist --epochs $2 --threads $1 --seed 0 --optimizer adam --lr 0.001 \
    --validation 0 --json ${4:-} > "$OUT/ours-t$1-e$2-$3.json"
}
torch() {
  (cd "$PEERS" && /usr/bin/python3 cnn_torch.py --net resnet --epochs $2 --threads $1 --seed 0 > "$OUT/torch-t$1-e$2-$3.json" \
    2> "$OUT/torch-t$1-e$2-$3.err")
}
for t in 1 2; do
  ours $t 1 a; torch $t 1 a; torch $t 1 b; ours $t 1 b
done
ours 2 "$EPOCHS" acc --test-each-epoch; torch 2 "$EPOCHS" acc
if [ -n "$BEFORE" ]; then
  simple() { $1 train --model simple_convnet --dataset fashion-mnist --epochs 1 --threads 2 --seed 0 --optimizer adam \
    --lr 0.001 --validation 0 --json > "$OUT/simple-$2.json"; }
  simple "dotnet $BEFORE" before-a; simple "$B" after-a; simple "$B" after-b; simple "dotnet $BEFORE" before-b
fi
cat "$OUT/peer_blas.txt"
python3 - "$OUT" "$EPOCHS" "$BEFORE" <<'PY'
import json, pathlib, sys
out, epochs, before = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def ours(f): return [json.loads(l) for l in (out / f).read_text().splitlines() if l.startswith("{")]
def torch(f): return json.loads((out / f).read_text().splitlines()[-1])
print("| threads | Backprop s/epoch (runs 1, 4) | PyTorch s/epoch (runs 2, 3) | ratio of the faster runs |")
print("|--:|--:|--:|--:|")
for t in (1, 2):
    a = [ours(f"ours-t{t}-e1-{r}.json")[-1]["seconds"] for r in "ab"]
    b = [torch(f"torch-t{t}-e1-{r}.json")["epoch_times"][-1] for r in "ab"]
    print(f"| {t} | {a[0]:.2f}, {a[1]:.2f} | {b[0]:.2f}, {b[1]:.2f} | {min(a) / min(b):.2f} |")
print()
print("| epoch | Backprop test accuracy | PyTorch test accuracy | Backprop s | PyTorch s |")
print("|--:|--:|--:|--:|--:|")
o, p = ours(f"ours-t2-e{epochs}-acc.json"), torch(f"torch-t2-e{epochs}-acc.json")
for e in range(epochs):
    print(f"| {e + 1} | {100 * o[e]['test_accuracy']:.2f} % | {100 * p['test_acc'][e]:.2f} % | {o[e]['seconds']:.2f} | "
          f"{p['epoch_times'][e]:.2f} |")
if before:
    s = {r: ours(f"simple-{r}.json")[-1]["seconds"] for r in ("before-a", "after-a", "after-b", "before-b")}
    print()
    print(f"SimpleConvNet epoch, 2 threads, A-B-B-A: before {s['before-a']:.2f}, {s['before-b']:.2f} s; "
          f"after {s['after-a']:.2f}, {s['after-b']:.2f} s")
PY
echo "raw outputs in $OUT"
