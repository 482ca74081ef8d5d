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
