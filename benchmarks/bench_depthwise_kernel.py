"""Event-driven 7x7 depthwise conv kernel vs the dense torch depthwise conv of the same layer,
in the same process, one thread each.

Layers: SpikeYOLO-s's four depthwise shapes at 640 (C x H x W = 128x160x160, 256x80x80,
512x40x40, 1024x20x20; 7x7, stride 1, padding 3); input spikes of value 1-4 at firing rates
0.05, 0.1, 0.2, uniform over channels and pixels. Pixels where at least C / 16 channels fire go
through ``kernels.conv2d_events_depthwise`` as one dense C-vector per tap
(``kernels.DEPTHWISE_DENSE_PIXEL``), the others event by event.

    .venv/bin/python benchmarks/bench_depthwise_kernel.py [--repeats N] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from neurosim.sim import kernels  # noqa: E402
from timing import best_times  # noqa: E402  (benchmarks/timing.py)

LAYERS = [(128, 160), (256, 80), (512, 40), (1024, 20)]
RATES = [0.05, 0.1, 0.2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", help="write the results to this JSON file")
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    rows = []
    for C, H in LAYERS:
        W = H
        weight = rng.standard_normal((C, 1, 7, 7)).astype(np.float32)
        wdw = kernels.depthwise_weight_layout(weight)
        wt = torch.from_numpy(weight)
        for rate in RATES:
            spikes = (rng.random((H, W, C)) < rate) * rng.integers(1, 5, (H, W, C))
            flat = spikes.astype(np.float32).ravel()
            idx = np.flatnonzero(flat).astype(np.int64)
            val = flat[idx]
            out = np.zeros(H * W * C, np.float32)
            syn = np.zeros(C)
            xt = torch.from_numpy(np.ascontiguousarray(spikes.transpose(2, 0, 1)[None], np.float32))

            def events():
                out.fill(0)
                kernels.conv2d_events_depthwise(idx, val, idx.size, W, C, wdw, 1, 1, 3, 3, 7, 7, H, W, out, syn)

            def dense():
                with torch.no_grad():
                    F.conv2d(xt, wt, padding=3, groups=C)

            events()
            want = F.conv2d(xt, wt, padding=3, groups=C)[0].permute(1, 2, 0).reshape(-1).numpy()
            assert np.allclose(out, want, rtol=1e-4, atol=1e-3)
            times = best_times({"torch": dense, "neurosim": events}, args.repeats)
            dense_pixels = float(np.mean(kernels.DEPTHWISE_DENSE_PIXEL * (spikes != 0).sum(2) >= C))
            row = {"C": C, "H": H, "rate": rate, "dense_pixel_share": dense_pixels,
                   "neurosim_s": times["neurosim"], "torch_s": times["torch"],
                   "torch_over_neurosim": times["torch"] / times["neurosim"]}
            rows.append(row)
            print(f"{C}x{H}x{W} r={rate}: {dense_pixels:.0%} of pixels dense; neurosim {times['neurosim'] * 1e3:.1f} ms, "
                  f"torch {times['torch'] * 1e3:.1f} ms, torch/neurosim {row['torch_over_neurosim']:.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
