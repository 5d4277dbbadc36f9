"""``neurosim simulate``: run a model through the event-driven simulator and print per-layer counts."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


from ..examples import EXAMPLES
from ..report.counts import node_rows
from . import values
from .common import add_input_arguments, detection_accuracy, simulate_model
from .tables import format_table

EXAMPLES_TEXT = """examples:
  neurosim simulate example:tiny-snn --T 4
  neurosim simulate trained/spikeyolo-shapes --chip loihi --images 16 --out out/sy-loihi
  neurosim simulate trained/spikeyolo-shapes --chip memory-45nm --D 2 --images 32
  neurosim simulate trained/emsyolo-gen1 --chip loihi --data data/gen1-synth-half --T 2
  neurosim simulate MODEL_DIR --input batch.npy --chip memory-45nm --json"""


def add_parser(sub):
    p = sub.add_parser("simulate", help="simulate a model event by event and report per-layer counts",
                       description="Simulate a model (an IR directory or example:NAME) event by event.",
                       epilog=EXAMPLES_TEXT, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(p, f"model directory (graph.json + weights.npz) or example:NAME ({', '.join(EXAMPLES)})")
    p.add_argument("--chip", type=values.name, help="hardware profile to cost the run on (see 'neurosim chips' or hwmodels/)")
    p.add_argument("--out", type=values.out_dir, help="directory for report.json, layers.csv, cores.csv and energy.png (with --chip)")
    p.add_argument("--precision", choices=["float32", "float64"], default="float32")
    p.add_argument("--json", action="store_true", help="print the per-layer counts (or the chip report) as JSON")
    dist = p.add_argument_group("a whole dataset on a Dask cluster (a trained detector's test split; needs --out, "
                                "where its shards are kept, so that a killed run resumes)")
    dist.add_argument("--workers", type=values.count, help="spread the images over this many local Dask workers")
    dist.add_argument("--scheduler", type=values.name, help="address of an existing Dask scheduler to spread them over")
    dist.add_argument("--shard-size", type=values.count, default=16,
                      help="images per task (default 16); each finished shard is kept under OUT/shards")
    p.set_defaults(func=run)


def run(args) -> int:
    chip = None
    if args.chip:
        import neurosim.hw as hw

        chip = hw.hardware_model(args.chip)  # an unknown chip fails here, before simulating
    if args.workers or args.scheduler:
        graph, dataset_run, report, accuracy = _simulate_on_cluster(args)
        if report is not None:
            return _write_report(args, graph, report, accuracy)
        return _print_counts(args, graph, dataset_run.node_rows(graph), dataset_run.images,
                             int(dataset_run.shards[0].T), accuracy)
    graph, x, dataset, result = simulate_model(args, precision=args.precision)
    trace = result.trace
    accuracy = detection_accuracy(graph, dataset, result) if dataset is not None else None
    if chip is not None:
        return _write_report(args, graph, chip.cost(trace, chip.place(graph), graph), accuracy)
    return _print_counts(args, graph, node_rows(graph, trace), trace.batch, trace.timesteps, accuracy)


def _print_counts(args, graph, rows, batch, timesteps, accuracy) -> int:
    if args.json:
        print(json.dumps({"model": args.model, "batch": batch, "timesteps": timesteps,
                          "accuracy": accuracy, "layers": rows}, indent=1))
        return 0
    print(f"{graph.metadata.get('name', args.model)}: {len(graph)} nodes, {graph.parameter_count():,} parameters, "
          f"B={batch}, T={timesteps}")
    print(format_table(rows, [("name", "node"), ("op", "op"), ("kind", "out"), ("events_in", "events in"),
                              ("events_out", "events out"), ("firing_rate", "rate"), ("syn_ops", "syn ops"),
                              ("macs", "MACs"), ("neuron_updates", "neuron upd")]))
    total = lambda key: sum(r[key] for r in rows if r[key] != "-")  # noqa: E731
    print(f"total per sample: {total('syn_ops'):,.0f} synaptic ops, "
          f"{total('macs'):,.0f} MACs, {total('events_out'):,.0f} events")
    if accuracy:
        print(f"mAP@50 {accuracy['map50']:.3f}, mAP@50:95 {accuracy['map']:.3f} on {accuracy['images']} test images")
    return 0


def _simulate_on_cluster(args):
    """(graph, the run, its report on --chip or None, accuracy) of the test split's images spread
    over Dask (see neurosim.scaleout)."""
    import sys

    from ..errors import NeurosimError
    from ..scaleout import dataset_accuracy, dataset_root, open_dataset, plan_shards, run_dataset
    from ..shipped import resolve_model
    from .common import split_images

    flags = "--workers" if args.workers else "--scheduler"
    for given, flag in ((args.input, "--input"), (args.seed, "--seed")):
        if given is not None:
            raise NeurosimError(f"{flags} simulates a dataset's test split, and {flag} gives other inputs: drop {flag}")
    if args.model.startswith("example:"):
        raise NeurosimError(f"{flags} simulates a trained detector's test split; {args.model} has none")
    if not args.out:
        raise NeurosimError(f"{flags} keeps its finished shards under --out (so that a killed run resumes): give --out")
    model = resolve_model(args.model).resolve()
    graph, dataset, T = open_dataset(str(model), args.T, args.D, args.data)
    images = split_images(args.images, len(dataset))
    shards = plan_shards(str(model), dataset_root(graph, args.data), T, args.D, images, args.shard_size,
                         args.precision)
    run, report = run_dataset(shards, args.out, workers=args.workers or 2, scheduler=args.scheduler,
                              quiet=args.quiet or args.json, chip=args.chip)
    computed = run.computed
    accuracy, why_not = dataset_accuracy(dataset, run.detections(), complete=images == len(dataset))
    print(f"neurosim: {images} images in {len(shards)} shards ({len(computed)} computed now, "
          f"{len(shards) - len(computed)} reused from {args.out})" + (f"; no mAP: {why_not}" if why_not else ""),
          file=sys.stderr)
    return graph, run, report, accuracy


def _write_report(args, graph, report, accuracy) -> int:
    from ..report import write_csv, write_json

    totals = report.totals()
    if args.json:
        doc = report.to_dict()
        doc["accuracy"] = accuracy
        print(json.dumps(doc, indent=1, default=float))
    else:
        print(report.table())
        print(summary_lines(report, totals, accuracy))
    if args.out:
        out = Path(args.out)
        from ..report.figures import layer_energy

        write_json(report, out / "report.json")
        write_csv(report, out / "layers.csv", cores_path=out / "cores.csv")
        name = graph.metadata.get("name", args.model)
        layer_energy(report, out / "energy.png", f"{name} on {args.chip}: "
                     f"{report.energy_per_inference * 1e6:.4g} uJ per inference")
        if not args.json:
            print(f"wrote {out / 'report.json'}, {out / 'layers.csv'}, {out / 'cores.csv'}, {out / 'energy.png'}")
    return 0


def summary_lines(report, totals, accuracy) -> str:
    lines = [f"energy per inference: {totals['energy_per_inference'] * 1e6:.3f} uJ "
             f"({', '.join(f'{k} {v * 1e6:.3f}' for k, v in totals['energy_by_component'].items() if v)} uJ)"]
    if totals.get("latency_per_inference"):
        lines.append(f"latency per inference: {totals['latency_per_inference'] * 1e3:.3f} ms, "
                     f"throughput {totals['throughput']:.1f} inferences/s")
    if totals.get("cores_used"):
        lines.append(f"fits: {totals['fits']}, {totals['cores_used']} cores on {totals.get('chips_used') or 1} chip(s)")
    for c in (report.ann_twin or {}).get("comparisons", []):
        lines.append(f"SNN/ANN energy: {c['snn_over_ann']:.3f} ({c['snn_profile']} vs ANN twin on {c['ann_profile']}); "
                     f"this chip / ANN twin on {c['ann_profile']}: {c['this_over_ann']:.3f}")
    if accuracy:
        lines.append(f"mAP@50 {accuracy['map50']:.3f}, mAP@50:95 {accuracy['map']:.3f} on {accuracy['images']} test images")
    if report.omissions:
        lines.append(f"not modelled on {report.profile_name}: {'; '.join(report.omissions)}")
    return "\n".join(lines)
