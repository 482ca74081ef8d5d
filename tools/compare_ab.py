#!/usr/bin/env python3
"""The before/after table of tools/run_ab.sh OUT: every row's median in each run and the ratio of the faster runs."""
import json
import sys


def key(r):
    if r['op'] == 'mlp_epoch':
        return f"MLP epoch, {r['optimizer']}, {r['threads']} thread{'s' if r['threads'] > 1 else ''}"
    if 'B' in r:
        return f"fc {r['dtype']} {r['B']}×{r['N']}×{r['M']}, {r['threads']} thread{'s' if r['threads'] > 1 else ''}"
    return f"{r['op']} {r['dtype']} n = {r['n']:.0e}, {r['threads']} thread{'s' if r['threads'] > 1 else ''}".replace('e+0', 'e')


def t(s):
    return f"{s * 1e9:.0f} ns" if s < 1e-6 else f"{s * 1e6:.2f} µs" if s < 1e-3 else f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.3f} s"


def main(out):
    rows = {}
    for side in ('before', 'after'):
        for run in ('1', '2'):
            for part in ('', 'train_'):
                for r in json.load(open(f"{out}/{side}_{part}{run}.json")):
                    rows.setdefault(key(r), {}).setdefault(side, []).append(r['median_s'])
    print("| row | before: runs 1, 2 | after: runs 1, 2 | after / before (faster runs) |")
    print("|---|---:|---:|---:|")
    for k, v in rows.items():
        b, a = v['before'], v['after']
        print(f"| {k} | {t(b[0])}, {t(b[1])} | {t(a[0])}, {t(a[1])} | {min(a) / min(b):.2f} |")


if __name__ == '__main__':
    main(sys.argv[1])
