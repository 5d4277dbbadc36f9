"""``neurosim sweep``: mAP and cost of models over inference T and D, in parallel on Dask."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import NeurosimError
from ..shipped import resolve_model
from . import values

EXAMPLES_TEXT = """examples:
  neurosim sweep trained/spikeyolo-shapes --T 1,2,4 --D 1,2,4 --chip loihi --out out/sweep
  neurosim sweep trained/emsyolo-shapes-t1 trained/emsyolo-shapes-t2 trained/emsyolo-shapes --chip memory-45nm --out out/s2
  neurosim sweep MODEL --T 1,2 --chip loihi --scheduler tcp://127.0.0.1:8786 --out out/s3
A rerun with the same --out computes only the points that are not saved yet."""


def add_parser(sub):
    p = sub.add_parser("sweep", help="sweep T and D: mAP and cost per point, in parallel on Dask",
                       description="Evaluate and cost models at several inference T and D. One model: every (T, D) "
                                   "pair. Several models (trained per point): each at its own T and D unless lists "
                                   "are given.", epilog=EXAMPLES_TEXT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--T", type=values.integer_list(1, 64), help="comma-separated timesteps (1..64)")
    p.add_argument("--D", type=values.integer_list(1, 64), help="comma-separated I-LIF maximum spike values (1..64)")
    p.add_argument("--chip", type=values.name, default="memory-45nm", help="hardware profile (default memory-45nm)")
    p.add_argument("--images", type=values.count, default=16)
    p.add_argument("--out", type=values.out_dir, required=True, help="directory for points/*.json, sweep.csv, sweep.png")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--workers", type=values.count, default=2, help="local Dask workers (default 2)")
    group.add_argument("--scheduler", help="address of an existing Dask scheduler")
    p.add_argument("--twin", type=values.name_list("model directories"), help="comma-separated ANN twin model directories: each is drawn at its card's mAP "
                                  "and its own graph's energy on ann-45nm")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    import neurosim.hw as hw

    from ..ir import load_graph
    from ..sweep import plan_points, run_sweep, write_outputs

    hw.load_profile(args.chip)  # an unknown chip fails before any work
    args.models = [str(resolve_model(m)) for m in args.models]  # bare names of shipped models too
    seen = set()
    for model in args.models:
        key = str(Path(model).resolve())
        if key in seen:
            raise NeurosimError(f"model {model} is listed twice; each model is swept once")
        seen.add(key)
    for model in args.models:
        load_graph(model)
    twins = [twin_marker(t) for t in (args.twin or [])]  # checked up front
    points = plan_points(args.models, args.T, args.D, args.chip, args.images)
    rows, computed = run_sweep(points, args.out, workers=args.workers, scheduler=args.scheduler, quiet=args.quiet)
    write_outputs(rows, args.out, twins)
    print(f"{len(points)} points ({len(computed)} computed now, {len(points) - len(computed)} reused) -> "
          f"{Path(args.out) / 'sweep.csv'}")
    for r in rows:
        status = (f"mAP@50 {r['map50']:.3f}, " if r.get("map50") is not None else "") + \
                 (f"{r['energy_uJ']:.2f} uJ" if r.get("fits") else f"does not fit: {r.get('reason')}")
        print(f"  {Path(r['model']).name} T={r['T']} D={r['D']}: {status}")
    return 0


def twin_marker(model_dir: str, profile: str = "ann-45nm") -> dict:
    """An ANN twin's marker: its card's test mAP@50 and its own graph's dense energy on ``profile``."""
    import neurosim.hw as hw
    from ..ir import load_graph

    model_dir = resolve_model(model_dir)
    card = Path(model_dir) / "card.json"
    if not card.is_file():
        raise NeurosimError(f"the ANN twin {model_dir} has no card.json")
    energy = hw.hardware_model(profile).cost_twin(load_graph(model_dir)).energy
    return {"name": Path(model_dir).name, "map50": json.loads(card.read_text())["evaluation"]["sim"]["map50"],
            "energy_uJ": energy * 1e6, "profile": profile}
