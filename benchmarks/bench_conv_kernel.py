"""Event-driven conv kernel vs dense torch conv of the same layer, in the same process.

Layer: 3x3 conv, 64 -> 64 channels, 64x64 map, stride 1, padding 1, one thread, binary
input spikes at firing rates from 1% to 50%. Reports synaptic ops per second (value-weighted,
border-exact, as the Trace counts them) and the time ratio to torch's dense conv.

    .venv/bin/python benchmarks/bench_conv_kernel.py [--repeats N] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import platform

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from neurosim.ir import GraphBuilder  # noqa: E402
from neurosim.sim import kernels  # noqa: E402
from neurosim.sim.steps import make_steps  # noqa: E402
from timing import best_time  # noqa: E402  (benchmarks/timing.py)

RATES = [0.01, 0.02, 0.05, 0.08, 0.12, 0.20, 0.30, 0.50]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", help="write the results to this JSON file")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    cin = cout = 64
    h = w = 64
    weight = rng.normal(0, 0.1, (cout, cin, 3, 3)).astype(np.float32)
    b = GraphBuilder()
    x = b.input((cin, h, w), kind="binary")
    conv = b.conv2d(x, weight=weight, padding=1)
    graph = b.build([conv])
    step = make_steps(graph, np.float32, None, {})[conv]
    out = np.zeros(cout * h * w, np.float32)
    synops_group = np.zeros(1, np.float64)
    torch_w = torch.from_numpy(weight)

    rows = []
    for rate in RATES:
        spikes = (rng.random((cin, h, w)) < rate).astype(np.float32)
        flat = spikes.transpose(1, 2, 0).ravel().copy()
        idx = np.zeros(flat.size, np.int64)
        val = np.zeros(flat.size, np.float32)
        n = kernels.compact_events(flat, idx, val)

        def event_conv():
            out.fill(0)
            return kernels.conv2d_events_rows(idx, val, n, w, cin, step.wrow, cout, 1, 1, 3, 3, h, w, out)

        def general_conv():
            out.fill(0)
            synops_group.fill(0)
            return kernels.conv2d_events(idx, val, n, w, cin, step.wt, 1, cout, 1, 1, 1, 1, 3, 3, h, w,
                                         out, synops_group)

        synops = event_conv()
        t_event = best_time(event_conv, args.repeats)
        t_general = best_time(general_conv, args.repeats)
        t_compact = best_time(lambda: kernels.compact_events(flat, idx, val), args.repeats)
        xt = torch.from_numpy(spikes)[None]
        with torch.no_grad():
            t_torch = best_time(lambda: torch.nn.functional.conv2d(xt, torch_w, padding=1), args.repeats)
        rows.append({"rate": rate, "events": int(n), "synops": synops, "t_event_s": t_event,
                     "t_general_s": t_general, "gsynops_per_s_general": synops / t_general / 1e9,
                     "t_compact_s": t_compact, "t_torch_s": t_torch,
                     "gsynops_per_s": synops / t_event / 1e9, "speedup_vs_torch": t_torch / t_event})

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; numba 1 thread; "
          f"torch {torch.__version__} 1 thread")
    print(f"{'rate':>6} {'events':>8} {'synops':>11} {'event ms':>9} {'compact ms':>10} {'torch ms':>9} "
          f"{'G synop/s':>10} {'torch/event':>11} {'general G/s':>11}")
    for r in rows:
        print(f"{r['rate']:6.2f} {r['events']:8d} {r['synops']:11.0f} {r['t_event_s'] * 1e3:9.3f} "
              f"{r['t_compact_s'] * 1e3:10.3f} {r['t_torch_s'] * 1e3:9.3f} {r['gsynops_per_s']:10.2f} "
              f"{r['speedup_vs_torch']:11.2f} {r['gsynops_per_s_general']:11.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
