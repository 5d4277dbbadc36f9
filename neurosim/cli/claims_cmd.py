"""``neurosim claims``: check the 5.7x / 5.83x claims and write docs/claims.md."""
from __future__ import annotations

import argparse

from . import values


def add_parser(sub):
    p = sub.add_parser("claims", help="check the papers' 5.7x / 5.83x energy claims; write docs/claims.md",
                       description="Reproduce the papers' energy arithmetic on paper-scale graphs, re-cost the "
                                   "shipped detectors on every hardware profile, find break-even firing rates, "
                                   "and write the report.",
                       epilog="examples:\n  neurosim claims\n  neurosim claims --chips loihi,loihi2,truenorth,speck\n  neurosim claims --out /tmp/claims --images 4",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=values.out_dir, default="docs", help="directory for claims.md, claims.json, img/ (default docs)")
    p.add_argument("--trained", type=values.in_dir, default=None,
                   help="folder of model folders to re-cost (default: the shipped models, see 'neurosim models')")
    p.add_argument("--images", type=values.count_or_all, default="all",
                   help="test images per shipped model, or 'all' for the whole test split (default all: rates and "
                        "energies then come from the same images as the card's accuracy)")
    p.add_argument("--chips", type=values.name_list("chip profiles"), default=None,
                   help="also place the paper-scale claim graphs on these chips (comma-separated, e.g. "
                        "loihi,loihi2,truenorth,speck) and cost them where they fit, at the implied and at the "
                        "measured rates: minutes per graph and chip; spinnaker2 places them, but costing "
                        "spikeyolo-s-640 there needs more than 24 GB")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..claims.report import build_claims_report
    from ..shipped import trained_dir

    progress = (lambda text: print(text, flush=True)) if args.chips else None
    if args.chips:
        from ..hw import load_profile

        for chip in args.chips:
            load_profile(chip)  # an unknown name fails here, before minutes of work
    path = build_claims_report(args.out, args.trained or trained_dir(), args.images, chips=args.chips, progress=progress)
    print(f"wrote {path}")
    return 0
