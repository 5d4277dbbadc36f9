"""``neurosim chips``: the available hardware profiles, one line each, with their sources."""
from __future__ import annotations

import argparse


def add_parser(sub):
    p = sub.add_parser("chips", help="list the hardware profiles and their sources",
                       description="List the hardware profiles (hwmodels/*.yaml, or $NEUROSIM_HWMODELS).",
                       epilog="examples:\n  neurosim chips\n  neurosim chips --sources",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sources", action="store_true", help="also list every distinct source cited")
    p.set_defaults(func=run)


def run(args) -> int:
    import neurosim.hw as hw

    profiles = hw.list_profiles()
    width = max(len(p["name"]) for p in profiles)
    fam = max(len(p["family"]) for p in profiles)
    for p in profiles:
        print(f"{p['name']:<{width}}  {p['family']:<{fam}}  {p['description']}")
        if args.sources:
            for source in dict.fromkeys(p["sources"]):
                print(f"{'':<{width}}    - {source}")
    return 0
