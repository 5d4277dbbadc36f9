"""``neurosim calibrate``: a copy of a model whose every spiking layer fires at a target rate."""
from __future__ import annotations

import argparse

from . import values
from .common import add_input_arguments

EXAMPLES_TEXT = """examples:
  neurosim calibrate example:tiny-snn out/tiny-r01 --rate 0.1 --T 4
  neurosim calibrate MODEL_DIR out/model-r005 --rate 0.05 --images 2
  neurosim simulate out/model-r005 --chip memory-45nm"""


def add_parser(sub):
    p = sub.add_parser("calibrate", help="shift a model's biases so that every spiking layer fires at a target rate",
                       description="Write a copy of a model (typically paper-scale, random weights) in which every "
                                   "spiking layer fires at --rate spikes per neuron per timestep on the calibration "
                                   "inputs: layer by layer in topological order, the bias of the layer driving each "
                                   "neuron layer is shifted by bisection. Layers that cannot be calibrated are "
                                   "listed with the reason. See docs/api.md.",
                       epilog=EXAMPLES_TEXT, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(p)
    p.add_argument("out", type=values.out_dir, help="directory for the calibrated model")
    p.add_argument("--rate", type=values.positive_float, required=True,
                   help="target firing rate of every spiking layer (spikes per neuron per timestep; an I-LIF "
                        "spike of value k counts k)")
    p.add_argument("--tolerance", type=values.positive_float, default=0.02,
                   help="relative error of the rate at which a layer's search stops (default 0.02)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..calibration import calibrate_rates
    from ..ir import save_graph
    from .common import load_model, model_inputs, with_D

    graph = with_D(load_model(args.model), args.D, args.model)
    x, _ = model_inputs(graph, args.T, args.images, args.input, args.seed, data_root=args.data)
    calibrated, report = calibrate_rates(graph, args.rate, x, tolerance=args.tolerance, progress=not args.quiet)
    save_graph(calibrated, args.out)
    done = {k: v for k, v in report.items() if "skipped" not in v}
    print(f"{len(done)} of {len(report)} spiking layers fire at {args.rate:g} (within {args.tolerance:.0%}) on "
          f"{x.shape[0]} input(s) at T={x.shape[1]} -> {args.out}")
    for name, entry in report.items():
        if "skipped" in entry:
            reached = "" if entry["rate"] is None else f" (rate {entry['rate']:.4f})"
            print(f"  left as it is: {name}{reached}: {entry['skipped']}")
    return 0
