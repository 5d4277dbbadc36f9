"""``neurosim simulate``: run a model through the event-driven simulator and print per-layer counts."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..errors import NeurosimError
from ..examples import EXAMPLES, example_graph, example_input
from ..ir import load_graph
from ..sim import simulate
from .tables import format_table

EXAMPLES_TEXT = """examples:
  neurosim simulate example:tiny-snn --T 4
  neurosim simulate trained/spikeyolo-shapes --T 1 --images 8
  neurosim simulate MODEL_DIR --input batch.npy --json"""


def add_parser(sub):
    p = sub.add_parser("simulate", help="simulate a model event by event and report per-layer counts",
                       description="Simulate a model (an IR directory or example:NAME) event by event.",
                       epilog=EXAMPLES_TEXT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help=f"model directory (graph.json + weights.npz) or example:NAME ({', '.join(EXAMPLES)})")
    p.add_argument("--T", type=int, default=4, help="timesteps (default 4)")
    p.add_argument("--images", type=int, default=1, help="number of samples (default 1)")
    p.add_argument("--input", help=".npy file with inputs [B, T, *shape] (default: a seeded synthetic input)")
    p.add_argument("--precision", choices=["float32", "float64"], default="float32")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the per-layer counts as JSON")
    p.set_defaults(func=run)


def load_model(spec: str):
    if spec.startswith("example:"):
        return example_graph(spec.split(":", 1)[1])
    return load_graph(Path(spec))


def run(args) -> int:
    if args.T < 1 or args.images < 1:
        raise NeurosimError("--T and --images must be at least 1")
    graph = load_model(args.model)
    if args.input:
        path = Path(args.input)
        if not path.is_file():
            raise NeurosimError(f"input file {path} does not exist")
        try:
            x = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise NeurosimError(f"input file {path} is not a readable .npy array ({exc})") from None
    else:
        x = example_input(graph, args.T, args.images, args.seed)
    result = simulate(graph, x, precision=args.precision)
    rows = layer_rows(graph, result.trace)
    if args.json:
        print(json.dumps({"model": args.model, "batch": result.trace.batch, "timesteps": result.trace.timesteps,
                          "layers": rows}, indent=1))
        return 0
    print(f"{graph.metadata.get('name', args.model)}: {len(graph)} nodes, {graph.parameter_count():,} parameters, "
          f"B={result.trace.batch}, T={result.trace.timesteps}")
    print(format_table(rows, [("name", "node"), ("op", "op"), ("kind", "out"), ("events_in", "events in"),
                              ("events_out", "events out"), ("firing_rate", "rate"), ("syn_ops", "syn ops"),
                              ("macs", "MACs"), ("neuron_updates", "neuron upd")]))
    totals = result.trace.totals()
    print(f"total per sample: {totals['syn_ops'] / result.trace.batch:,.0f} synaptic ops, "
          f"{totals['macs'] / result.trace.batch:,.0f} MACs, {totals['out_spikes'] / result.trace.batch:,.0f} events")
    return 0


def layer_rows(graph, trace) -> list[dict]:
    """Per-node totals over samples and timesteps, divided by the number of samples."""
    rows = []
    per = 1.0 / trace.batch
    for node in graph.nodes:
        nt = trace[node.name]
        rows.append({"name": node.name, "op": node.op, "kind": nt.kind,
                     "events_in": nt.total("in_spikes") * per if nt.in_kind not in (None, "analog") else "-",
                     "events_out": nt.total("out_spikes") * per if nt.kind != "analog" else "-",
                     "firing_rate": nt.firing_rate() if nt.kind != "analog" else "-",
                     "syn_ops": nt.total("syn_ops") * per, "macs": nt.total("macs") * per,
                     "neuron_updates": nt.total("neuron_updates") * per})
    return rows
