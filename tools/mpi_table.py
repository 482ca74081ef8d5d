#!/usr/bin/env python3
"""The table of tools/run_mpi_benchmarks.sh, and the on-paper scaling from its measurements.

Per network and configuration: seconds per epoch (runs a, b), images per second of the faster run, its ratio to
1 process × 2 threads unsharded; for the MPI runs the exchange's time and the gradients' bytes. Then, on paper, for 2
to 64 machines each as fast as one process here (the measured compute per step: the sharded 1 × 2 step less its
exchange), at 10, 25 and 100 Gb/s: a ring all-reduce moves 2·(N − 1)/N of the gradients' bytes per machine per step in
2·(N − 1) rounds; the exchange by owner (each process sums its part of each bucket in shard order) moves the same bytes
in the same number of rounds per bucket of 256 KiB. Columns: bandwidth only, and with a latency of 20 µs per round and
bucket (MPI over TCP); efficiency = compute / (compute + exchange) without overlap, the largest N (a power of 2) that
keeps 90 %.

  python3 tools/mpi_table.py OUT
"""
import pathlib
import re
import sys

out = pathlib.Path(sys.argv[1])
CONFIGS = [("base1x2", "1 process × 2 threads, unsharded"), ("shard1x2", "1 process × 2 threads, --shards 2"),
           ("mpi2x1", "mpirun -np 2 × 1 thread, --shards 2"), ("mpi2x1o", "mpirun -np 2 × 1 thread, --shards 2 --overlap"),
           ("base1x1", "1 process × 1 thread, unsharded")]
measured = {}
buckets = {}
print("| network | configuration | s/epoch (runs a, b) | images/s | vs 1 × 2 unsharded | exchange s/epoch | gradient bytes/step |")
print("|---|---|--:|--:|--:|--:|--:|")
for net, name in (("simple", "SimpleConvNet"), ("deep", "DeepConvNet")):
    base = None
    for c, label in CONFIGS:
        secs, comm, nbytes = [], [], None
        for r in "ab":
            text = (out / f"{net}-{c}-{r}.txt").read_text()
            row = [l for l in text.splitlines() if re.match(r"\|\s+1/1 \|", l)][-1]
            secs.append(float(row.split("|")[2]))
            m = re.search(r"exchange took ([\d.]+) s of [\d.]+ s, ([\d,]+) bytes(?:[^\d]*(\d+) bucket)?", text)
            if m:
                comm.append(float(m.group(1)))
                nbytes = int(m.group(2).replace(",", ""))
                buckets[net] = int(m.group(3) or 1)
        best = min(secs)
        base = base or best
        measured[(net, c)] = (best, min(comm) if comm else None, nbytes)
        print(f"| {name} | {label} | {secs[0]:.2f}, {secs[1]:.2f} | {60000 / best:,.0f} | {base / best:.2f}× | "
              + (f"{min(comm):.2f} |" if comm else " |") + (f" {nbytes:,} |" if nbytes else " |"))
print()
print("On paper: N machines, each computing one shard of each batch of 100 per machine (weak scaling: N·100 images a step).")
print()
print("| network | Gb/s | compute ms/step | bandwidth only: efficiency at N = 2, 4, 8, 16, 32, 64 | largest N ≥ 90 % | "
      "with 20 µs a round: efficiency at 2 … 64 | largest N ≥ 90 % |")
print("|---|--:|--:|---|--:|---|--:|")
for net, name in (("simple", "SimpleConvNet"), ("deep", "DeepConvNet")):
    sharded, comm, per_shard_bytes = measured[(net, "shard1x2")][0], measured[(net, "mpi2x1")][1], measured[(net, "mpi2x1")][2]
    steps = 600
    compute = (sharded - (measured[(net, "shard1x2")][1] or 0)) / steps   # one machine's step, 2 threads
    grad_bytes = per_shard_bytes   # one shard's gradients (and a few bytes of loss and count)
    for gbps in (10, 25, 100):
        bw = gbps * 1e9 / 8
        def exchange(n, latency):
            return 2 * (n - 1) / n * grad_bytes / bw + latency * 2 * (n - 1) * buckets[net]
        def eff(n, latency):
            return compute / (compute + exchange(n, latency))
        def largest(latency):
            n = 1
            while n < 1 << 20 and eff(n * 2, latency) >= 0.9:
                n *= 2
            return n
        ns = (2, 4, 8, 16, 32, 64)
        la, lb = largest(0), largest(20e-6)
        print(f"| {name} | {gbps} | {compute * 1e3:.1f} | {', '.join(f'{eff(n, 0):.0%}' for n in ns)} | {la if la < 1 << 20 else '∞'} | "
              f"{', '.join(f'{eff(n, 20e-6):.0%}' for n in ns)} | {lb if lb < 1 << 20 else '∞'} |")
