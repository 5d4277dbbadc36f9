"""``neurosim sparsity``: per-layer firing rates (mean and spread across images), per timestep."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..fsutil import write_text_atomic
from . import values
from .common import add_input_arguments, simulate_model
from .tables import format_table

EXAMPLES_TEXT = """examples:
  neurosim sparsity trained/spikeyolo-shapes --images 32 --out out/sparsity
  neurosim sparsity example:tiny-snn --T 4"""


def add_parser(sub):
    p = sub.add_parser("sparsity", help="per-layer spike sparsity: table, bar chart, layer x timestep heat map",
                       description="Simulate and report each spiking layer's firing rate: the mean and spread "
                                   "across images, and per timestep.",
                       epilog=EXAMPLES_TEXT, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(p)
    p.add_argument("--out", type=values.out_dir, help="directory for sparsity.json, sparsity_layers.png, sparsity_heatmap.png")
    p.set_defaults(func=run)


def layer_sparsity(graph, trace) -> list[dict]:
    """Per event-emitting neuron node: firing rate (spike values per neuron per timestep) per image
    and per timestep, and the fraction of neurons that never fired in a timestep."""
    rows = []
    for node in graph.nodes:
        if not node.is_neuron or graph.kinds[node.name] == "analog":
            continue
        nt = trace[node.name]
        per_image_step = nt.out_spikes / nt.neurons                      # [B, T]
        per_image = per_image_step.mean(axis=1)
        rows.append({"layer": node.name, "op": node.op, "neurons": nt.neurons,
                     "rate_mean": float(per_image.mean()), "rate_std": float(per_image.std()),
                     "rate_min": float(per_image.min()), "rate_max": float(per_image.max()),
                     "silent_fraction": float(1 - (nt.out_nonzero / nt.neurons).mean()),
                     "rate_per_timestep": per_image_step.mean(axis=0).tolist()})
    return rows


def run(args) -> int:
    graph, _, _, result = simulate_model(args)
    trace = result.trace
    rows = layer_sparsity(graph, trace)
    print(format_table(rows, [("layer", "layer"), ("op", "op"), ("neurons", "neurons"), ("rate_mean", "rate"),
                              ("rate_std", "std over images"), ("silent_fraction", "silent")]))
    overall = sum(r["rate_mean"] * r["neurons"] for r in rows) / max(1, sum(r["neurons"] for r in rows))
    print(f"{len(rows)} spiking layers, {trace.batch} images, T={trace.timesteps}: "
          f"mean rate weighted by neurons {overall:.4f} spikes per neuron per timestep")
    if args.out:
        from ..report.figures import firing_rate_bars, firing_rate_heatmap

        out = Path(args.out)
        doc = {"model": args.model, "images": trace.batch, "timesteps": trace.timesteps,
               "mean_rate_weighted": overall, "layers": rows}
        write_text_atomic(out / "sparsity.json", json.dumps(doc, indent=1) + "\n")
        names = [r["layer"] for r in rows]
        title = graph.metadata.get("name", args.model)
        firing_rate_bars(names, np.array([r["rate_mean"] for r in rows]), np.array([r["rate_std"] for r in rows]),
                         out / "sparsity_layers.png", f"{title}: firing rate per layer")
        firing_rate_heatmap(names, np.array([r["rate_per_timestep"] for r in rows]), out / "sparsity_heatmap.png",
                            f"{title}: firing rate per layer and timestep")
    return 0
