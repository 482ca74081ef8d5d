#!/usr/bin/python3
"""numpy's 1024³ float32 product on the threads OPENBLAS_NUM_THREADS allows: prints GFLOP/s, the median of 7 runs."""
import time

import numpy as np

n = 1024
a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
a @ b
times = []
for _ in range(7):
    t0 = time.perf_counter()
    a @ b
    times.append(time.perf_counter() - t0)
times.sort()
print(f"{2 * n ** 3 / times[len(times) // 2] / 1e9:.1f}")
