#!/usr/bin/env python3
"""numpy (OpenBLAS) side of bench/gemm.ts: times y = x @ w.T (w stored [N, K], as nn.Linear),
float32, output preallocated, and reports the median of several runs.

Two modes:
  python3 bench/gemm_numpy.py '[[128, 384, 384], ...]' [min_runs] [seconds]
      times the shapes and prints one JSON object {"blas": ..., "results": [...]}.
  python3 bench/gemm_numpy.py --serve
      prints {"blas": ...} on a line, then for each line [m, k, n, min_runs, seconds] read from
      stdin prints one result line; bench/gemm.ts uses this to interleave numpy with its own runs.
Threads: OPENBLAS_NUM_THREADS, read by OpenBLAS when numpy is imported.

Also reports which BLAS and which OpenBLAS kernel (core) is in use: threadpoolctl when installed,
else OpenBLAS' own get_corename/get_config through ctypes, else numpy.show_config.
"""
import ctypes
import json
import os
import sys
import time

import numpy as np


def blas_info():
    info = {"numpy": np.__version__, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")}
    try:
        from threadpoolctl import threadpool_info  # type: ignore

        info["threadpoolctl"] = [
            {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")}
            for p in threadpool_info()
            if p.get("user_api") == "blas"
        ]
        return info
    except ImportError:
        pass
    # The OpenBLAS library numpy loaded, found in this process' memory map.
    path = None
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                cand = line.split()[-1]
                if "openblas" in os.path.basename(cand).lower() and ".so" in cand:
                    path = cand
                    break
    except OSError:
        pass
    if path:
        info["library"] = path
        lib = ctypes.CDLL(path)
        for prefix, suffix in (("scipy_", "64_"), ("scipy_", ""), ("", "64_"), ("", "")):
            try:
                corename = getattr(lib, f"{prefix}openblas_get_corename{suffix}")
                config = getattr(lib, f"{prefix}openblas_get_config{suffix}")
            except AttributeError:
                continue
            corename.restype = ctypes.c_char_p
            config.restype = ctypes.c_char_p
            info["corename"] = corename().decode()
            info["config"] = config().decode()
            return info
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["show_config"] = {k: blas.get(k) for k in ("name", "version", "openblas configuration")}
    except Exception as e:  # numpy < 1.25 has no mode="dicts"
        info["show_config"] = f"unavailable: {e}"
    return info


def time_shape(m, k, n, min_runs, seconds, rng):
    x = rng.uniform(-1, 1, (m, k)).astype(np.float32)
    w = rng.uniform(-1, 1, (n, k)).astype(np.float32)
    y = np.empty((m, n), dtype=np.float32)
    np.matmul(x, w.T, out=y)  # warm-up
    t0 = time.perf_counter()
    np.matmul(x, w.T, out=y)
    once = time.perf_counter() - t0
    runs = max(min_runs, min(200, int(seconds / max(once, 1e-6))))
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        np.matmul(x, w.T, out=y)
        times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    return {"m": m, "k": k, "n": n, "seconds": med, "gflops": 2.0 * m * n * k / med / 1e9, "runs": runs}


def main():
    rng = np.random.default_rng(0)
    if sys.argv[1:2] == ["--serve"]:
        print(json.dumps({"blas": blas_info()}), flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            m, k, n, min_runs, seconds = json.loads(line)
            print(json.dumps(time_shape(int(m), int(k), int(n), int(min_runs), float(seconds), rng)), flush=True)
        return
    shapes = json.loads(sys.argv[1])
    min_runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 0.4
    results = [time_shape(m, k, n, min_runs, seconds, rng) for m, k, n in shapes]
    print(json.dumps({"blas": blas_info(), "results": results}))


if __name__ == "__main__":
    main()
