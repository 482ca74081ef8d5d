#!/usr/bin/env python3
"""The table of tools/profile.sh: perf's flat report (--sort dso,symbol) grouped by what the code does, with the
largest symbols of each group.

  python3 tools/profile_table.py REPORT.txt
"""
import re
import sys
from collections import defaultdict

# (group, pattern on "dso symbol"), first match wins.
GROUPS = [
    ("layout changes (transposes into and out of channel-last buffers, the Winograd form's packing)",
     r"Packing::Transpose|Gemm::Transpose|Winograd::(PackInput|UnpackInput|PackOutputGradient)|FromPixelRows"),
    ("products (GEMM tiles and micro-kernels)",
     r"Gemm::|MicroKernels::|Packing::|DotGroups"),
    ("Winograd transforms", r"Winograd::"),
    ("direct convolution", r"DirectConvolution::"),
    ("phased, shifted and im2col packing", r"PhasedConvolution::|ShiftedConvolution::|Im2Col::"),
    ("batch normalization", r"BatchNorm"),
    ("pooling", r"MaxPool|Pooling|GlobalAverage"),
    ("element-wise (activations, adds, the loss)", r"Map::|TensorPrimitives|VectorMath|Elementwise|Activation|Softmax"),
    ("optimizer", r"Adam|Sgd|Optimizer"),
    ("clearing and copying memory", r"memset|memmove|memcpy|Memmove|Clear"),
    ("runtime, JIT, kernel", r"libclrjit|libcoreclr|\[kernel|\[k\]|libc\.so|ld-linux"),
]


def main(path):
    totals, tops = defaultdict(float), defaultdict(list)
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"\s*([\d.]+)%\s+(.*?)\s+\[(.)\]\s+(.*?)(\s+-\s+-)?\s*$", line)
        if not m:
            continue
        share, dso, kind, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
        text = f"{dso} [{kind}] {sym}"
        group = next((g for g, p in GROUPS if re.search(p, text)), "other")
        totals[group] += share
        name = re.sub(r"\(.*", "", sym)
        name = re.sub(r"^.*\] ", "", name)
        tops[group].append((share, name))
    print("| group | share of the samples | largest symbols |")
    print("|---|--:|---|")
    for group, share in sorted(totals.items(), key=lambda kv: -kv[1]):
        merged = defaultdict(float)
        for s, n in tops[group]:
            merged[n] += s
        largest = ", ".join(f"`{(n.split('::')[-1] if '::' in n else n).replace('|', '/')}` {s:.1f} %"
                            for n, s in sorted(merged.items(), key=lambda kv: -kv[1])[:3])
        print(f"| {group} | {share:.1f} % | {largest} |")


if __name__ == "__main__":
    main(sys.argv[1])
