"""``neurosim data``: generate the synthetic datasets (shapes, gen1-synth) in their real on-disk formats."""
from __future__ import annotations

import argparse
import time

from . import values

EXAMPLES_TEXT = """examples:
  neurosim data shapes data/shapes                 # 2000/300/300 COCO-layout images, 128x128
  neurosim data gen1-synth data/gen1-synth --size half
  neurosim data shapes data/shapes-small --counts 200,50,50 --seed 1"""


def add_parser(sub):
    p = sub.add_parser("data", help="generate a synthetic dataset (shapes, gen1-synth)",
                       description="Generate a synthetic detection dataset, written in the real COCO or "
                                   "Gen1 formats so the same readers and evaluators serve real data.",
                       epilog=EXAMPLES_TEXT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", choices=["shapes", "gen1-synth"])
    p.add_argument("root", type=values.out_dir, help="output directory (regenerating with the same parameters is a no-op)")
    p.add_argument("--seed", type=values.seed, default=0)
    p.add_argument("--counts", help="train,val,test sizes (images for shapes, recordings for gen1-synth)")
    p.add_argument("--size", choices=["full", "half"], default="full", help="gen1-synth resolution: 304x240 or 152x120")
    p.set_defaults(func=run)


def _counts(text):
    from ..errors import NeurosimError

    if text is None:
        return None
    try:
        train, val, test = (int(v) for v in text.split(","))
    except ValueError:
        raise NeurosimError(f"--counts must be three integers 'train,val,test', got {text!r}") from None
    if min(train, val, test) < 1:
        raise NeurosimError("--counts must be positive")
    return {"train": train, "val": val, "test": test}


def run(args) -> int:
    from ..data import generate_gen1_synth, generate_shapes

    counts = _counts(args.counts)
    start = time.perf_counter()
    if args.dataset == "shapes":
        root = generate_shapes(args.root, seed=args.seed, counts=counts)
    else:
        root = generate_gen1_synth(args.root, seed=args.seed, size=args.size, n_files=counts)
    print(f"{args.dataset} ready in {root} ({time.perf_counter() - start:.1f} s)")
    return 0
