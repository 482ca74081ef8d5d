#!/usr/bin/env python3
"""The epoch table of tools/run_cnn_benchmarks.sh: for each network and thread count, Backprop's and PyTorch's seconds
per epoch in the order they ran (A-B-B-A), the faster of each side's two, and their ratio.

  python3 tools/cnn_table.py OUT
"""
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
print("| network | threads | Backprop s/epoch (runs 1, 4) | PyTorch s/epoch (runs 2, 3) | ratio of the faster runs |")
print("|---|--:|--:|--:|--:|")
for net, name in (("simple", "SimpleConvNet"), ("deep", "DeepConvNet")):
    for t in (1, 2):
        ours = [json.loads((out / f"ours-{net}-t{t}-{r}.json").read_text().splitlines()[-1])["seconds"] for r in "ab"]
        torch = [json.load(open(out / f"torch-{net}-t{t}-{r}.json"))["epoch_times"][-1] for r in "ab"]
        print(f"| {name} | {t} | {ours[0]:.2f}, {ours[1]:.2f} | {torch[0]:.2f}, {torch[1]:.2f} | {min(ours) / min(torch):.2f} |")

# The per-layer table: each convolution and pooling row of `bench --ops convnet` (runs a, b) beside PyTorch's
# conv_layers_torch.py (runs a, b), the faster run of each side, on 1 and 2 threads.
import re

UNIT = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}


def ms(text):
    value, unit = text.split()
    return float(value) * UNIT[unit]


ours, theirs = {}, {}
for r in "ab":
    for line in (out / f"bench-convnet-{r}.txt").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 5 and cells[1] == "float32" and cells[3].split()[0] in ("convolution", "max_pooling", "network_step"):
            key = (cells[3].split()[1].rstrip(","), int(cells[2]))
            ours.setdefault(key, []).append(ms(cells[4]))
    for t in (1, 2):
        for line in (out / f"torch-layers-t{t}-{r}.txt").read_text().splitlines():
            m = re.match(r"(\w+) (\S+) threads=(\d): ([\d.]+) ms", line)
            if m:
                theirs.setdefault((m.group(2), int(m.group(3))), []).append(float(m.group(4)))
print()
print("| layer | Backprop 1 thread | PyTorch 1 thread | ratio | Backprop 2 threads | PyTorch 2 threads | ratio |")
print("|---|--:|--:|--:|--:|--:|--:|")
names = [k[0] for k in ours if k[1] == 1]
for name in names:
    row = [name]
    for t in (1, 2):
        a = min(ours.get((name, t), [float("nan")]))
        b = min(theirs.get((name, t), [float("nan")]))
        row += [f"{a:.2f} ms", f"{b:.2f} ms" if b == b else "", f"{a / b:.2f}" if b == b else ""]
    print("| " + " | ".join(row) + " |")
