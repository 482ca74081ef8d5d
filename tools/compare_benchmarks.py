#!/usr/bin/env python3
"""Side-by-side tables from one sitting of tools/run_benchmarks.sh: Backprop's `bench` rows against the best peer.

Usage: tools/compare_benchmarks.py OUT   (OUT: the folder run_benchmarks.sh wrote)
Prints markdown: fully connected fwd+bwd (best of numpy/torch variants per row) and element-wise (torch's best).
Where OUT holds two runs of each side (backprop_bench_2.md, peers_*_2.json), every row takes each side's better run.
"""
import json
import pathlib
import re
import sys

UNITS = {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1.0}


def seconds(text):
    value, unit = text.split()
    return float(value) * UNITS[unit]


def show(s):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.2f} {unit}" if unit != "µs" else f"{s / scale:.1f} µs"
    return f"{s * 1e9:.0f} ns"


def backprop_rows(path):
    """Backprop's rows, each a tuple that starts with its median seconds: (seconds, share of the FMA peak) for the fully
    connected rows, (seconds,) for the element-wise ones."""
    fc, ew = {}, {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        # The convolutional networks' rows (`bench` prints them too since the CNN issue) name a layer, not B×N×M.
        shape = cells[2].split("×") if len(cells) > 2 else []
        if len(cells) in (6, 8) and cells[0] in ("float32", "float64") and len(shape) == 3 and all(v.isdigit() for v in shape):
            b, n, m = (int(v) for v in shape)
            # Tables from before the FMA-peak columns have six cells; those rows show no share of the peak.
            fc[(cells[0], int(cells[1]), b, n, m)] = (seconds(cells[3]), cells[7] if len(cells) == 8 else "")
        elif len(cells) == 8 and cells[0] in ("float32", "float64") and cells[3].isdigit():
            ew[(cells[0], int(cells[1]), cells[2], int(cells[3]))] = (seconds(cells[4]),)
    return fc, ew


def better(a, b):
    """Row by row, the faster of two runs (a row missing from one run comes from the other)."""
    merged = dict(a)
    for key, value in b.items():
        if key not in merged or value[0] < merged[key][0]:
            merged[key] = value
    return merged


def runs(out, name):
    """The files of the first and (if present) second run: name, then name with _2 before the extension."""
    first = out / name
    second = first.with_name(first.stem + "_2" + first.suffix)
    return [first] + ([second] if second.exists() else [])


def main():
    out = pathlib.Path(sys.argv[1])
    fc, ew = {}, {}
    for path in runs(out, "backprop_bench.md"):
        f, e = backprop_rows(path)
        fc, ew = better(fc, f), better(ew, e)
    peers = [r for path in runs(out, "peers_fc.json") for r in json.loads(path.read_text())]
    best = {}
    for r in peers:
        key = (r["dtype"], r["threads"], r["B"], r["N"], r["M"])
        if key not in best or r["median_s"] < best[key][0]:
            best[key] = (r["median_s"], r["impl"])
    if len(runs(out, "backprop_bench.md")) > 1:
        print("Each row: each side's faster run of two (Backprop, peers, peers, Backprop, one after the other).")
        print()
    print("| dtype | threads | B×N×M | Backprop | GFLOP/s | of FMA peak | best peer | GFLOP/s | peer / Backprop |")
    print("|---|--:|---|--:|--:|--:|---|--:|--:|")
    for key in fc:   # in bench's order
        dtype, threads, b, n, m = key
        flops = 6.0 * b * n * m
        mine, share = fc[key]
        if key not in best:
            continue
        theirs, impl = best[key]
        print(f"| {dtype} | {threads} | {b}×{n}×{m} | {show(mine)} | {flops / mine / 1e9:.1f} | {share} | {show(theirs)} ({impl}) | "
              f"{flops / theirs / 1e9:.1f} | {theirs / mine:.2f}× |")
    print()
    torch = {}
    for r in (r for path in runs(out, "peers_elementwise.json") for r in json.loads(path.read_text())):
        key = ("float32", r["threads"], r["act"], r["n"])
        if key not in torch or r["median_s"] < torch[key][0]:
            torch[key] = (r["median_s"], r["impl"])
    print("| op | threads | n | Backprop ns/element | torch best ns/element (variant) | torch / Backprop |")
    print("|---|--:|--:|--:|--:|--:|")
    for key in sorted(torch, key=lambda k: (k[2], k[1], k[3])):
        if key not in ew:
            continue
        _, threads, op, n = key
        (mine,), (theirs, impl) = ew[key], torch[key]
        print(f"| {op} | {threads} | {n:.0e} | {mine / n * 1e9:.3f} | {theirs / n * 1e9:.3f} ({impl}) | {theirs / mine:.2f}× |")


if __name__ == "__main__":
    main()
