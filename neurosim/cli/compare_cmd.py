"""``neurosim compare``: one simulation costed on several hardware profiles, side by side."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import DoesNotFit
from ..fsutil import write_text_atomic
from . import values
from .common import add_input_arguments, simulate_model
from .tables import format_table

EXAMPLES_TEXT = """examples:
  neurosim compare trained/spikeyolo-shapes --chips loihi,truenorth,speck,memory-45nm,paper-45nm --out out/cmp
  neurosim compare example:tiny-snn --chips loihi,memory-45nm --json"""

DEFAULT_CHIPS = "loihi,truenorth,speck,memory-45nm,paper-45nm"


def add_parser(sub):
    p = sub.add_parser("compare", help="cost one simulation on several chips, side by side",
                       description="Simulate once and cost the same Trace on every listed hardware profile.",
                       epilog=EXAMPLES_TEXT, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(p)
    p.add_argument("--chips", type=values.name_list("hardware profiles"), default=DEFAULT_CHIPS, help=f"comma-separated profiles (default {DEFAULT_CHIPS})")
    p.add_argument("--out", type=values.out_dir, help="directory for compare.json, compare.csv and compare.png")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    import neurosim.hw as hw

    chips = args.chips
    models = {c: hw.hardware_model(c) for c in chips}  # unknown names fail here, before simulating
    graph, _, _, result = simulate_model(args)
    trace = result.trace
    rows, breakdown, misfits, omissions = [], {}, {}, {}
    for chip, model in models.items():
        try:
            report = model.cost(trace, model.place(graph), graph)
        except DoesNotFit as exc:
            misfits[chip] = str(exc)
            rows.append({"chip": chip, "fits": "no", "energy_uJ": "-", "latency_ms": "-", "cores": "-", "chips": "-",
                         "snn_over_ann": "-"})
            continue
        t = report.totals()
        breakdown[chip] = dict(t["energy_by_component"])  # already per inference
        omissions[chip] = report.omissions
        ratio = next((c["this_over_ann"] for c in (report.ann_twin or {}).get("comparisons", [])
                      if c["ann_profile"] == "ann-45nm"), None)
        rows.append({"chip": chip, "fits": "yes", "energy_uJ": t["energy_per_inference"] * 1e6,
                     "latency_ms": t["latency_per_inference"] * 1e3 if t.get("latency_per_inference") else "-",
                     "cores": t.get("cores_used") or "-", "chips": t.get("chips_used") or "-",
                     "snn_over_ann": ratio if ratio is not None else "-"})
    doc = {"model": args.model, "batch": trace.batch, "timesteps": trace.timesteps, "chips": rows,
           "energy_by_component_per_inference": breakdown, "does_not_fit": misfits, "omissions": omissions}
    if args.json:
        print(json.dumps(doc, indent=1))
    else:
        print(format_table(rows, [("chip", "chip"), ("fits", "fits"), ("energy_uJ", "energy/inf (uJ)"),
                                  ("latency_ms", "latency (ms)"), ("cores", "cores"), ("chips", "chips"),
                                  ("snn_over_ann", "vs ANN twin on ann-45nm")]))
        for chip, why in misfits.items():
            print(f"{chip} does not fit: {why}")
        for chip, left_out in omissions.items():
            print(f"not modelled on {chip}: {'; '.join(left_out)}")
    if args.out:
        from ..report.figures import energy_breakdown

        out = Path(args.out)
        write_text_atomic(out / "compare.json", json.dumps(doc, indent=1) + "\n")
        header = "chip,fits,energy_uJ,latency_ms,cores,chips,snn_over_ann\n"
        write_text_atomic(out / "compare.csv", header + "".join(
            ",".join(str(r[k]) for k in ("chip", "fits", "energy_uJ", "latency_ms", "cores", "chips", "snn_over_ann")) + "\n"
            for r in rows))
        if breakdown:
            energy_breakdown(breakdown, out / "compare.png", f"{graph.metadata.get('name', args.model)}: energy per inference")
    return 0
