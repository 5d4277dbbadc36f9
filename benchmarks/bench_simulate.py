"""End-to-end time per image: event-driven simulation + full hardware costing, against the dense
torch forward of the same model and SpikingJelly 2.0's energy profilers, in the same process.

For each detector family (tiny scale, 128x128 input; trained weights when ``trained/<name>``
exists, otherwise the same architecture with random weights and BN statistics):

* torch: the dense forward pass of the torch model (eval mode, no grad);
* neurosim: ``Simulator.run`` (float32) + costing on Loihi and on memory-45nm (placement is done
  once per model, as a compiler would, and reported separately);
* SpikingJelly ``estimate_simple_energy`` and ``estimate_lemaire_energy`` on the torch model
  (skipped with the reason when a profiler refuses the model).

One thread everywhere (NUMBA_NUM_THREADS, OMP_NUM_THREADS, torch.set_num_threads). Best of
``--repeats`` runs on a batch of ``--batch`` images.

    .venv/bin/python benchmarks/bench_simulate.py [--batch 4] [--repeats 3] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import neurosim.hw as hw  # noqa: E402
from neurosim.models.export import export_graph  # noqa: E402
from neurosim.models.registry import build_model  # noqa: E402
from neurosim.sim import Simulator  # noqa: E402
from timing import best_time  # noqa: E402  (benchmarks/timing.py)

MODELS = {
    "spikeyolo (T=1, D=4)": {"family": "spikeyolo", "T": 1},
    "emsyolo resnet10 (T=4)": {"family": "emsyolo", "T": 4},
    "hoyer (T=1)": {"family": "hoyer", "T": 1},
    "spiking retinanet (T=4)": {"family": "retina", "T": 4},
}


def randomize(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from spikingjelly.activation_based import op_counter

    rng = np.random.default_rng(0)
    rows = []
    for label, cfg in MODELS.items():
        torch.manual_seed(0)
        model = build_model(cfg, 3, (128, 128)).eval()
        randomize(model)
        metadata = {"readout": "last"} if cfg["family"] == "retina" else {}
        graph = export_graph(model, (3, 128, 128), metadata=metadata)
        x = np.repeat(rng.random((args.batch, 1, 3, 128, 128)).astype(np.float32), cfg["T"], axis=1)
        xt = torch.from_numpy(x)
        sim = Simulator(graph)
        loihi, memory = hw.hardware_model("loihi"), hw.hardware_model("memory-45nm")
        t0 = time.perf_counter()
        placements = {"memory": memory.place(graph), "loihi": loihi.place(graph)}  # once per model
        place_s = time.perf_counter() - t0

        def neurosim_run():
            trace = sim.run(x).trace
            memory.cost(trace, placements["memory"], graph)
            loihi.cost(trace, placements["loihi"], graph)

        def torch_run():
            with torch.no_grad():
                model(xt)

        row = {"model": label, "nodes": len(graph), "batch": args.batch, "placement_s_once": place_s,
               "torch_s_per_image": best_time(torch_run, args.repeats) / args.batch,
               "neurosim_s_per_image": best_time(neurosim_run, args.repeats) / args.batch}
        t0 = time.perf_counter()
        sim.run(x)
        row["simulate_only_s_per_image"] = (time.perf_counter() - t0) / args.batch
        for name in ("estimate_simple_energy", "estimate_lemaire_energy"):
            fn = getattr(op_counter, name)
            try:
                with torch.no_grad():
                    row[f"{name}_s_per_image"] = best_time(lambda: fn(model, xt), args.repeats) / args.batch
            except Exception as exc:  # a profiler refusing a model is a result, recorded as such
                row[f"{name}_s_per_image"] = None
                row[f"{name}_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        rows.append(row)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, one thread; torch {torch.__version__}; "
          f"batch {args.batch}, best of {args.repeats}")
    print(f"{'model':26s} {'torch ms':>9s} {'neurosim ms':>12s} {'(sim only)':>10s} {'SJ simple ms':>13s} "
          f"{'SJ lemaire ms':>14s} {'torch/ns':>9s} {'simple/ns':>10s} {'lemaire/ns':>11s}")
    for r in rows:
        ns = r["neurosim_s_per_image"]
        simple, lemaire = r["estimate_simple_energy_s_per_image"], r["estimate_lemaire_energy_s_per_image"]
        fmt = lambda v: f"{v * 1e3:.1f}" if v else "refused"  # noqa: E731
        ratio = lambda v: f"{v / ns:.2f}" if v else "-"  # noqa: E731
        print(f"{r['model']:26s} {r['torch_s_per_image'] * 1e3:9.1f} {ns * 1e3:12.1f} "
              f"{r['simulate_only_s_per_image'] * 1e3:10.1f} {fmt(simple):>13s} {fmt(lemaire):>14s} "
              f"{r['torch_s_per_image'] / ns:9.2f} {ratio(simple):>10s} {ratio(lemaire):>11s}")
        print(f"   placement once per model (memory-45nm + loihi): {r['placement_s_once']:.2f} s")
        for key in ("estimate_simple_energy_error", "estimate_lemaire_energy_error"):
            if key in r:
                print(f"   {key.replace('_error', '')}: {r[key]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
