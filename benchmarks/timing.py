"""Timing helper shared by the benchmarks."""
from __future__ import annotations

import time


def best_time(fn, repeats: int) -> float:
    """Best wall time of ``repeats`` calls of ``fn`` after one warm-up call (seconds)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def best_times(fns: dict, repeats: int) -> dict:
    """Best wall time of each function over ``repeats`` rounds that call them in turn (after one
    warm-up call each): interleaving exposes every function to the same drifts of a shared
    machine, so their ratios are steadier than with one block of calls after another."""
    for fn in fns.values():
        fn()
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best
