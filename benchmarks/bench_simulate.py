"""End-to-end time per image: event-driven simulation + full hardware costing, against the dense
torch forward of the same model and SpikingJelly 2.0's energy profilers, in the same process.

For each shipped SNN detector (trained/<name>: the IR, and the torch model rebuilt from its
model.pt) on the first ``--batch`` images of its own test split:

* torch: the dense forward pass of the torch model (eval mode, no grad);
* neurosim: ``Simulator.run`` (float32) + costing on Loihi and on memory-45nm, each report with
  its ANN-twin comparisons (placement is done once per model, as a compiler would, and reported
  separately);
* SpikingJelly ``estimate_simple_energy`` and ``estimate_lemaire_energy`` on the torch model
  (skipped with the reason when a profiler refuses the model).

Costing works on the run's aggregated counts, so its time per run grows far slower than the
number of images: the ratio per image improves with the batch. Run several ``--batch`` values.
The costing time per run is also reported on its own.

One thread everywhere (NUMBA_NUM_THREADS, OMP_NUM_THREADS, torch.set_num_threads). Best of
``--repeats`` rounds, each round timing torch, neurosim, the simulation alone and the costing
alone one after the other (so that all see the same drifts of a shared machine).

    .venv/bin/python benchmarks/bench_simulate.py [--batch 8] [--repeats 3] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import neurosim.hw as hw  # noqa: E402
from neurosim.cli.common import model_inputs  # noqa: E402
from neurosim.ir import load_graph  # noqa: E402
from neurosim.sim import Simulator  # noqa: E402
from neurosim.train.loop import load_checkpoint, model_from_checkpoint  # noqa: E402
from timing import best_time, best_times  # noqa: E402  (benchmarks/timing.py)

TRAINED = Path(__file__).resolve().parent.parent / "trained"
MODELS = ("spikeyolo-shapes", "emsyolo-shapes", "hoyer-shapes", "retina-shapes", "spikeyolo-gen1", "emsyolo-gen1")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from spikingjelly.activation_based import op_counter

    os.chdir(TRAINED.parent)  # the models' dataset roots (data/...) are relative to the repository
    rows = []
    for name in MODELS:
        if not (TRAINED / name / "model.pt").is_file():
            print(f"skipping {name}: not in trained/")
            continue
        graph = load_graph(TRAINED / name)
        model = model_from_checkpoint(load_checkpoint(TRAINED / name / "model.pt"))
        x, _ = model_inputs(graph, None, args.batch, None)
        x = np.ascontiguousarray(x, np.float32)
        xt = torch.from_numpy(x)
        label = f"{name} (T={graph.metadata.get('T')})"
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

        trace = sim.run(x).trace

        def costing_run():
            memory.cost(trace, placements["memory"], graph)
            loihi.cost(trace, placements["loihi"], graph)

        times = best_times({"torch": torch_run, "neurosim": neurosim_run, "simulate": lambda: sim.run(x),
                            "costing": costing_run}, args.repeats)
        row = {"model": label, "nodes": len(graph), "batch": len(x), "placement_s_once": place_s,
               "torch_s_per_image": times["torch"] / len(x),
               "neurosim_s_per_image": times["neurosim"] / len(x),
               "simulate_only_s_per_image": times["simulate"] / len(x),
               "costing_s_per_run": times["costing"]}
        for profiler in ("estimate_simple_energy", "estimate_lemaire_energy"):
            fn = getattr(op_counter, profiler)
            try:
                with torch.no_grad():
                    row[f"{profiler}_s_per_image"] = best_time(lambda: fn(model, xt), args.repeats) / len(x)
            except Exception as exc:  # a profiler refusing a model is a result, recorded as such
                row[f"{profiler}_s_per_image"] = None
                row[f"{profiler}_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
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
        print(f"   placement once per model (memory-45nm + loihi): {r['placement_s_once']:.2f} s; "
              f"costing per run (both chips): {r['costing_s_per_run'] * 1e3:.1f} ms")
        for key in ("estimate_simple_energy_error", "estimate_lemaire_energy_error"):
            if key in r:
                print(f"   {key.replace('_error', '')}: {r[key]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
