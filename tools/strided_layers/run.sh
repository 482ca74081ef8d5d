#!/bin/bash
# The strided layers A-B-PyTorch-PyTorch-B-A on 1 and 2 threads: layers.cs built against BEFORE (a commit, in a git
# worktree) and against this checkout, beside tools/conv_layers_torch.py (oneDNN), the peers tuned as tools/peer_blas.sh
# says. Prints the table of docs/BENCHMARKS.md's eleventh-session section.
#   tools/strided_layers/run.sh BEFORE_COMMIT OUT
set -euo pipefail
BEFORE=${1:?usage: tools/strided_layers/run.sh BEFORE_COMMIT OUT}
OUT=$(mkdir -p "${2:?usage: tools/strided_layers/run.sh BEFORE_COMMIT OUT}" && cd "$2" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WT="$OUT/before-tree"
[ -d "$WT" ] || git -C "$ROOT" worktree add -f "$WT" "$BEFORE" >/dev/null
mkdir -p "$OUT/A" "$OUT/B"
sed "s#^\#:project .*#\#:project $WT/src/Backprop/Backprop.csproj#" "$ROOT/tools/strided_layers/layers.cs" > "$OUT/A/layers.cs"
sed "s#^\#:project .*#\#:project $ROOT/src/Backprop/Backprop.csproj#" "$ROOT/tools/strided_layers/layers.cs" > "$OUT/B/layers.cs"
export OMP_WAIT_POLICY=PASSIVE
dotnet build "$ROOT/src/Backprop.Cli" -c Release -v q >/dev/null
source "$ROOT/tools/peer_blas.sh"
peer_blas "$ROOT/src/Backprop.Cli/bin/Release/net10.0/Backprop.Cli" "$OUT"
ours() { for t in 1 2; do dotnet run "$OUT/$1/layers.cs" $t > "$OUT/L$1-t$t-$2.txt" 2>&1; done; }
torch() { for t in 1 2; do /usr/bin/python3 "$ROOT/tools/conv_layers_torch.py" --threads $t > "$OUT/LT-t$t-$1.txt" 2>&1; done; }
ours A a; ours B a; torch a; torch b; ours B b; ours A b
git -C "$ROOT" worktree remove --force "$WT"
cat "$OUT/peer_blas.txt"
python3 - "$OUT" <<'PY'
import pathlib, re, sys
o = pathlib.Path(sys.argv[1])
def ours(side, t, r):
    return [float(x) for x in re.findall(r"median ([\d.]+) ms", (o / f"L{side}-t{t}-{r}.txt").read_text())]
def torch(t, r):
    text = (o / f"LT-t{t}-{r}.txt").read_text()
    return [float(re.search(rf"resnet_small\[{n}\] threads={t}: ([\d.]+) ms", text).group(1)) for n in ("s2b1_conv1", "s3b1_conv1")]
print("| layer | threads | before (runs 1, 6) | after (runs 2, 5) | PyTorch (runs 3, 4) | after/before | after/PyTorch |")
print("|---|--:|--:|--:|--:|--:|--:|")
for t in (1, 2):
    A, B, T = [ours("A", t, r) for r in "ab"], [ours("B", t, r) for r in "ab"], [torch(t, r) for r in "ab"]
    for i, name in enumerate(("`s2b1_conv1` 16→32, 28×28", "`s3b1_conv1` 32→64, 14×14")):
        a, b, p = [x[i] for x in A], [x[i] for x in B], [x[i] for x in T]
        print(f"| {name} | {t} | {a[0]:.2f}, {a[1]:.2f} | {b[0]:.2f}, {b[1]:.2f} | {p[0]:.2f}, {p[1]:.2f} | "
              f"{min(b) / min(a):.2f} | {min(b) / min(p):.2f} |")
PY
