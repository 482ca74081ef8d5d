#!/usr/bin/python3
"""Writes tests/Backprop.Tests/Data/numpy_format.json: arrays and the text numpy's print() gives for them.

Run with Debian's python3 and numpy (apt-get install python3-numpy); the file is committed so tests need neither.
"""
import json
import pathlib
import numpy as np

rng = np.random.default_rng(7)
cases = []


def add(a):
    a = np.asarray(a)
    cases.append({
        "dtype": "float32" if a.dtype == np.float32 else "float64",
        "shape": list(a.shape),
        "values": [float(v) for v in a.ravel()],
        "text": str(a),
    })


for dt in (np.float64, np.float32):
    add(np.array([[0.14, 0.32], [0.32, 0.77]], dtype=dt))
    add(np.array([[1.3, 1.7, 2.1], [1.8, 2.4, 3.0]], dtype=dt))
    add(np.array([0.5, 0.7, 0.9], dtype=dt))
    add(np.array([-1.0, 2.5], dtype=dt))
    add(np.array([1e-5, 1.0], dtype=dt))
    add(np.array([0.0, 0.0], dtype=dt))
    add(np.array([-0.0, 1.0], dtype=dt))
    add(np.array([1e8, 2.0], dtype=dt))
    add(np.array([123456.789, -0.001], dtype=dt))
    add(np.array([1.0 / 3, 2.0 / 3, 1e-4], dtype=dt))
    add(np.arange(30, dtype=dt))
    add(np.arange(30, dtype=dt) / 7)
    add(rng.standard_normal((3, 4)).astype(dt))
    add(rng.standard_normal((2, 3, 4)).astype(dt))
    add(rng.standard_normal((2, 2, 2, 3)).astype(dt))
    add(rng.standard_normal((4, 13)).astype(dt) * 1000)
    add(rng.standard_normal((3, 5)).astype(dt) * 1e-6)
    add((rng.standard_normal((5, 1)) * 1e12).astype(dt))
    add(rng.standard_normal((1, 1)).astype(dt))
    add(rng.standard_normal(2000).astype(dt))
    add(rng.standard_normal((40, 40)).astype(dt))
    add(rng.standard_normal((3, 400)).astype(dt))
    add(np.array([0.1 + 0.2, 1.0 - 1e-9, 0.123456785], dtype=dt))
    add(np.array([1e-300 if dt == np.float64 else 1e-30, 1.0], dtype=dt))
    add(np.array([[1e20, -3.5e-20]], dtype=dt))

out = pathlib.Path(__file__).resolve().parent.parent / "tests/Backprop.Tests/Data/numpy_format.json"
out.write_text(json.dumps({"numpy": np.__version__, "cases": cases}, indent=1))
print(len(cases), "cases")
