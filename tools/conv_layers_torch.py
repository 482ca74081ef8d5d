#!/usr/bin/python3
"""PyTorch's conv2d and max_pool2d forward + backward at the shapes of `backprop bench --ops convnet` (batch 100,
float32): SimpleConvNet's, DeepConvNet's and resnet_small's layers (one row per shape, named after its first
node), no input gradient for a network's first layer, as training runs them. Prints one line per layer: median and
min-max milliseconds over 21 samples.

  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 tools/conv_layers_torch.py --threads 1
"""
import argparse
import os
import time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
args = ap.parse_args()
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
# (name, C, H, W, FN, k, stride, pad, first) for convolutions; (name, C, H, W, pool) for max pooling
convs = [("simple_convnet[0]", 1, 28, 28, 30, 5, 1, 0, True), ("deep_convnet[0]", 1, 28, 28, 16, 3, 1, 1, True),
         ("deep_convnet[2]", 16, 28, 28, 16, 3, 1, 1, False), ("deep_convnet[5]", 16, 14, 14, 32, 3, 1, 1, False),
         ("deep_convnet[7]", 32, 14, 14, 32, 3, 1, 2, False), ("deep_convnet[10]", 32, 8, 8, 64, 3, 1, 1, False),
         ("deep_convnet[12]", 64, 8, 8, 64, 3, 1, 1, False),
         ("resnet_small[stem]", 1, 28, 28, 16, 3, 1, 1, True),
         ("resnet_small[s1b1_conv1]", 16, 28, 28, 16, 3, 1, 1, False),
         ("resnet_small[s2b1_conv1]", 16, 28, 28, 32, 3, 2, 1, False),
         ("resnet_small[s2b1_short]", 16, 28, 28, 32, 1, 2, 0, False),
         ("resnet_small[s2b1_conv2]", 32, 14, 14, 32, 3, 1, 1, False),
         ("resnet_small[s3b1_conv1]", 32, 14, 14, 64, 3, 2, 1, False),
         ("resnet_small[s3b1_short]", 32, 14, 14, 64, 1, 2, 0, False),
         ("resnet_small[s3b1_conv2]", 64, 7, 7, 64, 3, 1, 1, False)]
pools = [("simple_convnet[2]", 30, 24, 24), ("deep_convnet[4]", 16, 28, 28), ("deep_convnet[9]", 32, 16, 16),
         ("deep_convnet[14]", 64, 8, 8)]


def timeit(body):
    for _ in range(5):
        body()
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            body()
        if time.perf_counter() - t > 0.04:
            break
        n *= 2
    samples = []
    for _ in range(21):
        t = time.perf_counter()
        for _ in range(n):
            body()
        samples.append((time.perf_counter() - t) / n)
    samples.sort()
    return samples[10], samples[0], samples[-1]


for name, c, h, w, fn, k, s, p, first in convs:
    x = torch.randn(100, c, h, w, requires_grad=not first)
    W = torch.randn(fn, c, k, k, requires_grad=True)
    b = torch.randn(fn, requires_grad=True)
    y = F.conv2d(x, W, b, s, p)
    dout = torch.randn_like(y)

    def step():
        out = F.conv2d(x, W, b, s, p)
        out.backward(dout)
    med, lo, hi = timeit(step)
    flops = 2.0 * y.numel() * c * k * k * (2 if first else 3)
    print(f"convolution {name} threads={args.threads}: {med * 1e3:.2f} ms ({lo * 1e3:.2f}-{hi * 1e3:.2f}), "
          f"{flops / med / 1e9:.1f} GFLOP/s")
for name, c, h, w in pools:
    x = torch.randn(100, c, h, w, requires_grad=True)
    y = F.max_pool2d(x, 2, 2)
    dout = torch.randn_like(y)

    def step():
        out = F.max_pool2d(x, 2, 2)
        out.backward(dout)
    med, lo, hi = timeit(step)
    print(f"max_pooling {name} threads={args.threads}: {med * 1e3:.2f} ms ({lo * 1e3:.2f}-{hi * 1e3:.2f})")
