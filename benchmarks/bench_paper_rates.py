"""Paper-scale detectors at the firing rates the papers imply: simulate + costing per image vs
the dense torch forward of the same model, one thread each.

For each graph (``neurosim.claims.architectures``: SpikeYOLO-s at 3x640x640, T=1, D=4, by
default; EMS-ResNet34 at 640, T=4, with ``--graphs``), the torch model is built with the seed
the claims use, exported to the IR, and calibrated (``neurosim.calibration.calibrate_rates``)
on one seeded synthetic image so that every spiking layer fires at rate r. Then, on another
image (so the rates are not those the calibration fitted):

* torch: the dense forward of the torch model (eval, no grad). Its time does not depend on
  the biases the calibration moved: a dense forward computes every MAC whatever the activity;
* neurosim: ``Simulator.run`` plus costing the trace on memory-45nm (placement once per graph,
  as a compiler would, reported apart).

Best of ``--repeats`` rounds, each timing torch, then simulate + costing, one after the other.

    .venv/bin/python benchmarks/bench_paper_rates.py [--rates 0.05,0.1,0.2] [--repeats 3]
        [--graphs spikeyolo-s-640,ems-resnet34-640] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import time

for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import neurosim.hw as hw  # noqa: E402
from neurosim.calibration import calibrate_rates  # noqa: E402
from neurosim.examples import example_input  # noqa: E402
from neurosim.sim import Simulator  # noqa: E402
from timing import best_times  # noqa: E402  (benchmarks/timing.py)


def torch_and_graph(name: str):
    """The torch model and its IR graph, as ``neurosim.claims.architectures.build_graph`` makes them."""
    from neurosim.claims.architectures import ARCHITECTURES

    spec = ARCHITECTURES[name]
    torch.manual_seed(0)
    size = spec["size"]
    if spec["family"] == "spikeyolo":
        from neurosim.models.spikeyolo import SpikeYOLO

        model = SpikeYOLO(spec["scale"], num_classes=spec["num_classes"], T=spec["T"], D=spec["D"])
        graph = model.export_graph(size)
    else:
        from neurosim.models.emsyolo import EMSYOLO
        from neurosim.models.export import export_graph

        model = EMSYOLO(backbone=spec["backbone"], scale="paper", num_classes=spec["num_classes"], T=spec["T"],
                        input_size=(size, size))
        graph = export_graph(model, (3, size, size), metadata={"detection": model.head_spec((size, size))})
    return model.eval(), graph, spec


def mean_rate(trace, layers) -> float:
    """Spikes per neuron per timestep over the calibrated layers, weighted by their neurons."""
    spikes = sum(float(trace[n].out_spikes.sum()) for n in layers)
    slots = sum(trace[n].neurons * trace[n].out_spikes.size for n in layers)
    return spikes / slots


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", default="spikeyolo-s-640")
    parser.add_argument("--rates", default="0.05,0.1,0.2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for name in args.graphs.split(","):
        model, graph, spec = torch_and_graph(name)
        fit_x = example_input(graph, spec["T"], 1, 0)
        x = example_input(graph, spec["T"], 1, 1)
        xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))  # our models take [B, T, C, H, W]
        memory = hw.hardware_model("memory-45nm")
        for rate in (float(r) for r in args.rates.split(",")):
            t0 = time.perf_counter()
            calibrated, report = calibrate_rates(graph, rate, fit_x)
            calibrate_s = time.perf_counter() - t0
            layers = [k for k, v in report.items() if "skipped" not in v]
            sim = Simulator(calibrated)
            t0 = time.perf_counter()
            placement = memory.place(calibrated)
            place_s = time.perf_counter() - t0

            def neurosim_run():
                memory.cost(sim.run(x).trace, placement, calibrated)

            def torch_run():
                with torch.no_grad():
                    model(xt)

            trace = sim.run(x).trace
            times = best_times({"torch": torch_run, "neurosim": neurosim_run}, args.repeats)
            row = {"graph": name, "target_rate": rate, "layers_calibrated": len(layers), "layers": len(report),
                   "rate_on_benchmark_image": mean_rate(trace, layers),
                   "rate_all_spiking_layers": mean_rate(trace, list(report)),
                   "torch_s": times["torch"], "neurosim_s": times["neurosim"],
                   "torch_over_neurosim": times["torch"] / times["neurosim"],
                   "calibrate_s": calibrate_s, "placement_s_once": place_s}
            rows.append(row)
            print(f"{name} r={rate}: {len(layers)}/{len(report)} layers calibrated in {calibrate_s:.0f} s; on another "
                  f"image mean rate {row['rate_on_benchmark_image']:.3f} (all spiking layers "
                  f"{row['rate_all_spiking_layers']:.3f}); torch {times['torch']:.2f} s, simulate + costing "
                  f"{times['neurosim']:.2f} s, torch/neurosim {row['torch_over_neurosim']:.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
