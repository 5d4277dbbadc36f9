"""``neurosim import-torch``: a user's trained torch SNN -> a neurosim model directory."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace

from ..errors import NeurosimError
from . import values

EXAMPLES = """examples:
  neurosim import-torch mynets.py:build_net models/mynet --weights net.pt --input-shape 2,64,64 --T 4 \\
      --input-kind binary
  neurosim import-torch mypkg.models:detector models/det --weights ckpt.pt --key model \\
      --input-shape 3,320,320 --T 4 --head yolov8
  neurosim simulate models/det --chip loihi

FACTORY is 'package.module:callable' or 'path/to/file.py:callable' returning the nn.Module
(built as for training). --weights is a state_dict file, or a dict holding one under --key.
A file holding a whole pickled model object needs --trust-pickle: unpickling runs code stored
in the file, so use it only for files from a source you trust (plain state_dicts are read
with torch.load(weights_only=True), which cannot run code).
Without --head the model's energy, latency and sparsity work; mAP is not computed.
See docs/import.md for what is supported and how each neuron maps."""


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise NeurosimError(f"--input-shape must be comma-separated positive integers like 3,640,640, got {text!r}") \
            from None
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise NeurosimError(f"--input-shape must be C,H,W or N of positive integers, got {text!r}")
    return shape


def add_parser(sub):
    p = sub.add_parser("import-torch", help="import a trained PyTorch SNN (SpikingJelly, snnTorch, plain torch)",
                       description="Record a trained torch SNN's forward pass into a neurosim model directory "
                                   "(graph.json + weights.npz), checking the simulation against torch.",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("factory", metavar="FACTORY", help="package.module:callable or path/to/file.py:callable")
    p.add_argument("out_dir", metavar="OUT_DIR", type=values.out_dir, help="model directory to write")
    p.add_argument("--weights", metavar="CKPT", type=values.in_file, default=None, help="state_dict file (default: the factory's weights)")
    p.add_argument("--key", default=None, help="entry of the checkpoint dict that holds the state_dict")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow a checkpoint holding a pickled model object (unpickling runs code from the file)")
    p.add_argument("--input-shape", required=True, help="per-timestep input shape, C,H,W or N")
    p.add_argument("--T", type=values.count, default=4, help="timesteps (default 4)")
    p.add_argument("--input-kind", choices=["analog", "binary"], default="analog",
                   help="analog frames or binary events (default analog)")
    p.add_argument("--step-mode", choices=["auto", "multi", "single"], default="auto",
                   help="multi: forward takes [T, B, ...]; single: called per timestep (default: SpikingJelly's "
                        "own mode, else multi)")
    p.add_argument("--head", choices=["yolov8", "yolov3", "retina"], default=None,
                   help="detection head of the outputs (enables mAP); strides are read off the outputs")
    p.add_argument("--nc", type=values.count, default=None, help="number of classes (yolov3 needs it)")
    p.add_argument("--anchors", default=None, help="yolov3 anchors as JSON, one list of [w, h] per level")
    p.add_argument("--no-check", action="store_true", help="skip simulating the import against torch")
    p.set_defaults(func=run)


def _head(args):
    if args.head is None:
        return None
    head = {"type": args.head}
    if args.nc is not None:
        if args.nc < 1:
            raise NeurosimError(f"--nc must be a positive integer, got {args.nc}")
        head["num_classes"] = args.nc
    if args.anchors is not None:
        try:
            head["anchors"] = json.loads(args.anchors)
        except json.JSONDecodeError:
            raise NeurosimError(f"--anchors must be JSON like [[[10,13],[16,30]],[[30,61],[62,45]]], got "
                                f"{args.anchors!r}") from None
    return head


def run(args) -> int:
    import torch

    from ..ir import save_graph
    from ..torch_import import check_recording, record
    from ..torch_import.loading import apply_weights, build_model, load_checkpoint

    shape = _shape(args.input_shape)
    if args.T < 1:
        raise NeurosimError(f"--T must be a positive integer, got {args.T}")
    head = _head(args)
    out = Path(args.out_dir)
    if out.exists() and not out.is_dir():
        raise NeurosimError(f"OUT_DIR {out} exists and is not a directory")
    model = build_model(args.factory)
    if args.weights is not None:
        loaded = load_checkpoint(args.weights, key=args.key, trust_pickle=args.trust_pickle)
        if isinstance(loaded, torch.nn.Module):
            model = loaded
        else:
            apply_weights(model, loaded, args.weights)
    source = {"factory": args.factory, "weights": args.weights, "key": args.key}
    rec = record(model, shape, T=args.T, input_kind=args.input_kind, head=head, step_mode=args.step_mode,
                 metadata={"name": out.name, "imported_from": source})
    graph = rec.graph
    if not args.no_check:
        precision = "float64" if next(iter(model.parameters()), torch.zeros(1)).dtype == torch.float64 else "float32"
        check = check_recording(rec, precision)
        graph.metadata["import"]["check"] = check
    save_graph(graph, out)
    n_neurons = sum(1 for n in graph if n.is_neuron)
    print(f"{args.factory} -> {out}: {len(graph)} nodes ({n_neurons} neuron layers), T = {args.T}, "
          f"outputs {', '.join(graph.outputs)}")
    for decision in graph.metadata["import"]["decisions"]:
        print(f"  {decision}")
    if not args.no_check:
        print(f"  check vs torch ({check['precision']}): max relative difference {check['max_relative_difference']:.2e}, "
              f"spikes {check['spikes_neurosim']:.0f} vs {check['spikes_torch']:.0f} "
              f"({'equal' if check['spikes_equal'] else 'NOT equal: see docs/import.md on float32 ties'})")
    if head is None:
        print("  no --head: energy, latency and sparsity work; mAP is not computed")
    return 0


#: registered in neurosim.cli.COMMANDS
import_torch_command = SimpleNamespace(add_parser=add_parser)
