"""``neurosim train`` and ``neurosim export``: train a detector from a config, export a checkpoint to the IR."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from types import SimpleNamespace

from . import values

TRAIN_EXAMPLES = """examples:
  neurosim train scenarios/train/spikeyolo_shapes.yaml --out runs/spikeyolo_shapes
  neurosim train scenarios/train/spikeyolo_shapes.yaml --out runs/spikeyolo_shapes --resume
  torchrun --nproc_per_node 2 -m neurosim.cli train CONFIG.yaml --out runs/x   # distributed (gloo/NCCL)"""

EXPORT_EXAMPLES = """examples:
  neurosim export runs/spikeyolo_shapes/best.pt trained/spikeyolo-shapes"""


def add_train_parser(sub):
    p = sub.add_parser("train", help="train a detector from a YAML config",
                       description="Train a spiking detector (or its ANN twin) from a YAML config.",
                       epilog=TRAIN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", type=values.in_file, help="training config (see scenarios/train/)")
    p.add_argument("--out", type=values.out_dir, required=True, help="run directory (last.pt, best.pt, history.json)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--epochs", type=values.count, help="override train.epochs")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_train)


def add_export_parser(sub):
    e = sub.add_parser("export", help="export a checkpoint to an IR model directory",
                       description="Export a training checkpoint to graph.json + weights.npz.",
                       epilog=EXPORT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("checkpoint", type=values.in_file)
    e.add_argument("out_dir", type=values.out_dir)
    e.add_argument("--state-dict", action="store_true",
                   help="also write OUT_DIR/model.pt: the torch weights and config (no optimizer state)")
    e.add_argument("--unmerged-repconv", action="store_true",
                   help="SpikeYOLO: keep RepConv as 1x1 -> depthwise -> 1x1 (fewer weights; the depthwise conv then "
                        "reads analog values) instead of one spike-driven dense 3x3")
    e.add_argument("--weights-dtype", choices=("float32", "float16"), default="float32",
                   help="round the trained weights to this type before exporting (float16 halves model.pt; "
                        "IR, card and torch model then share the rounded weights)")
    e.set_defaults(func=run_export)


def run_train(args) -> int:
    from ..train.config import load_config
    from ..train.loop import train

    config = load_config(args.config)
    if args.epochs is not None:
        config["train"]["epochs"] = args.epochs
    summary = train(config, Path(args.out), resume=args.resume, quiet=args.quiet)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun only rank 0 reports
        print(json.dumps({k: v for k, v in summary.items() if k != "history"}))
    return 0


def run_export(args) -> int:
    from ..train.export import export_checkpoint

    out = export_checkpoint(args.checkpoint, args.out_dir, with_state_dict=args.state_dict,
                            merge_repconv=not args.unmerged_repconv, weights_dtype=args.weights_dtype)
    print(f"exported {args.checkpoint} to {out}")
    return 0


train_command = SimpleNamespace(add_parser=add_train_parser)
export_command = SimpleNamespace(add_parser=add_export_parser)


EVAL_EXAMPLES = """examples:
  neurosim eval trained/spikeyolo-shapes                                   # mAP through the simulator
  neurosim eval trained/spikeyolo-shapes --checkpoint runs/sy/best.pt --card --twin trained/spikeyolo-shapes-ann"""


def add_eval_parser(sub):
    e = sub.add_parser("eval", help="mAP of an exported detector through the simulator (and torch)",
                       description="Evaluate an exported detector on its dataset split through the event-driven "
                                   "simulator; with --checkpoint also through torch; with --card write card.json "
                                   "and README.md into the model directory.",
                       epilog=EVAL_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("model_dir", type=values.in_dir)
    e.add_argument("--checkpoint", type=values.in_file, help="the training checkpoint the model was exported from")
    e.add_argument("--split", default="test", choices=["train", "val", "test"])
    e.add_argument("--images", type=values.count, help="evaluate the first N samples only")
    e.add_argument("--card", action="store_true", help="write card.json + README.md into MODEL_DIR")
    e.add_argument("--twin", type=values.in_dir, help="the ANN twin's model directory (its card supplies its mAP)")
    e.add_argument("--command", dest="training_command", help="the training command to record in the card")
    e.add_argument("--notes", help="what limits the model and what would fix it (written into the card)")
    e.set_defaults(func=run_eval)


def run_eval(args) -> int:
    from ..errors import NeurosimError
    from ..train.card import evaluate_model, write_card, write_index

    evaluation = evaluate_model(args.model_dir, args.checkpoint, args.split, args.images)
    print(json.dumps({k: v for k, v in evaluation.items() if k != "firing_rates"}))
    if args.card:
        state = None
        if args.checkpoint:
            from ..train.loop import load_checkpoint

            state = load_checkpoint(args.checkpoint)
        twin = None
        if args.twin:
            card_path = Path(args.twin) / "card.json"
            if not card_path.is_file():
                raise NeurosimError(f"the ANN twin {args.twin} has no card.json: evaluate it with --card first")
            twin_card = json.loads(card_path.read_text())
            twin = {"name": twin_card["name"], **twin_card["evaluation"]["sim"]}
        write_card(args.model_dir, evaluation, state, twin, args.training_command, args.notes)
        index = write_index(Path(args.model_dir).resolve().parent)
        print(f"card written to {Path(args.model_dir) / 'card.json'}; index {index}")
    return 0


eval_command = SimpleNamespace(add_parser=add_eval_parser)
