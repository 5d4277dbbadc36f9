"""``neurosim models``: the shipped detectors, one line each, with their card's summary."""
from __future__ import annotations

import argparse
import json


def add_parser(sub):
    p = sub.add_parser("models", help="list the shipped detectors (usable by bare name anywhere a model is expected)",
                       description="List the shipped detectors (and those under $NEUROSIM_MODELS): name, the "
                                   "one-line summary of its model card, test mAP@50 through the simulator. Any "
                                   "command that takes a model accepts these names.",
                       epilog="examples:\n  neurosim models\n  neurosim models --paths\n"
                              "  neurosim simulate spikeyolo-shapes --chip loihi --images 2",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--paths", action="store_true", help="also print each model's folder")
    p.add_argument("--json", action="store_true", help="print the list as JSON instead")
    p.set_defaults(func=run)


def model_rows() -> list[dict]:
    """One row per model found by bare name: name, path, summary (None without a card), map50."""
    from ..shipped import card_summary, model_card, shipped_models

    rows = []
    for name, path in shipped_models().items():
        card = model_card(path)
        summary = card_summary(card) if card else None
        map50 = card["evaluation"]["sim"]["map50"] if card else None
        rows.append({"name": name, "path": str(path), "summary": summary, "map50": map50})
    return rows


def run(args) -> int:
    rows = model_rows()
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    if not rows:
        print("no shipped models found")
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        score = f"  test mAP@50 {r['map50']:.3f}" if r["map50"] is not None else ""
        print(f"{r['name']:<{width}}  {r['summary'] or '(no model card)'}{score}")
        if args.paths:
            print(f"{'':<{width}}    {r['path']}")
    return 0
