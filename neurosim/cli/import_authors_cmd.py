"""``neurosim import-spikeyolo`` and ``neurosim import-emsyolo``: the authors' checkpoints -> model directories."""
from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

from ..errors import NeurosimError
from . import values

SPIKEYOLO_EXAMPLES = """examples:
  neurosim import-spikeyolo best.pt models/spikeyolo-s --cfg SpikeYOLO/ultralytics/cfg/models/v8/snn_yolov8s.yaml --trust-pickle
  neurosim import-spikeyolo state_dict.pt models/spikeyolo-s --cfg snn_yolov8s.yaml --input-shape 3,320,320 --D 4
  neurosim import-spikeyolo gen1.pt models/spikeyolo-gen1 --cfg snn_yolov8s.yaml --variant gen1 --T 2 --nc 2 --trust-pickle

--cfg is the authors' YAML; as ultralytics does, snn_yolov8s.yaml means scale 's' of snn_yolov8.yaml
(in the same directory). A pickled best.pt (the authors' format) needs --trust-pickle: unpickling
can run code, so only pass it for files you trust. See docs/import-authors.md."""

EMSYOLO_EXAMPLES = """examples:
  neurosim import-emsyolo best.pt models/ems-res34 --cfg EMS-YOLO/models/resnet34.yaml --trust-pickle
  neurosim import-emsyolo best.pt models/ems-res34cat --cfg EMS-YOLO/models/resnet34-cat.yaml --T 1 --trust-pickle

The authors' code runs T = 5 timesteps (time_window in models/common.py), the default here.
Configs with the authors' Conv layer (resnet18, resnet34-cat) import at --T 1 only. See docs/import-authors.md."""


def _shape(text: str) -> tuple:
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected C,H,W such as 3,640,640, got {text!r}") from None
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected C,H,W such as 3,640,640, got {text!r}")
    return shape


def _common_arguments(p, cfg_help):
    p.add_argument("ckpt", metavar="CKPT", type=values.in_file, help="the authors' checkpoint (best.pt) or a state_dict file")
    p.add_argument("out_dir", metavar="OUT_DIR", type=values.out_dir, help="model directory to write (graph.json + weights.npz)")
    p.add_argument("--cfg", required=True, help=cfg_help)
    p.add_argument("--input-shape", type=_shape, default=(3, 640, 640), metavar="C,H,W",
                   help="per-timestep input shape (default 3,640,640; H and W divisible by 32)")
    p.add_argument("--nc", type=values.count, default=None, help="number of classes (default: read from the checkpoint's head)")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow reading a pickled model object (unpickling can run code; the authors' classes are "
                        "replaced by inert stubs, but only pass this for files you trust)")
    p.add_argument("--key", default=None,
                   help="entry of the checkpoint dict that holds the weights (default: 'ema', then 'model', then "
                        "'state_dict', or the file itself)")
    p.add_argument("--no-check", action="store_true",
                   help="skip simulating the imported graph against the rebuilt torch model (slow at 640x640)")


def add_spikeyolo_parser(sub):
    p = sub.add_parser("import-spikeyolo", help="import a SpikeYOLO (BICLab) checkpoint into a model directory",
                       description="Rebuild SpikeYOLO from the authors' snn_yolov8 YAML, load their checkpoint "
                                   "(state_dict or pickled ultralytics model, without their code) and write a neurosim "
                                   "model directory.",
                       epilog=SPIKEYOLO_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common_arguments(p, "the authors' model YAML, e.g. snn_yolov8s.yaml (scale s of snn_yolov8.yaml)")
    p.add_argument("--T", type=values.count, default=None,
                   help="timesteps (default: the config's MS_GetT T, 1 for the COCO model; required for --variant gen1)")
    p.add_argument("--D", type=values.count, default=None,
                   help="I-LIF largest integer spike (default: the pickled neurons' MultiSpike<D>, else 4)")
    p.add_argument("--variant", choices=["coco", "gen1"], default=None,
                   help="neuron of the COCO code (mem_update, decay 0.25) or of SpikeYOLO_for_Gen1 (spikingjelly LIF, "
                        "tau 2, decay_input) (default: from a pickled checkpoint, else coco)")
    p.set_defaults(func=run_spikeyolo)


def add_emsyolo_parser(sub):
    p = sub.add_parser("import-emsyolo", help="import an EMS-YOLO (BICLab) checkpoint into a model directory",
                       description="Rebuild EMS-YOLO from the authors' YAML (resnet10/18/34...), load their checkpoint "
                                   "(state_dict or pickled yolov3-style model, without their code) and write a neurosim "
                                   "model directory.",
                       epilog=EMSYOLO_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common_arguments(p, "the authors' model YAML, e.g. models/resnet34.yaml")
    p.add_argument("--T", type=values.count, default=None, help="timesteps (default 5, the authors' time_window)")
    p.set_defaults(func=run_emsyolo)


def _convert_and_save(result, out_dir: Path, check: bool):
    """Record the rebuilt model into a graph (detection head attached), optionally check it against
    torch on the recording input (stored in ``metadata["import"]["check"]``), save it atomically."""
    from ..ir import save_graph
    from ..torch_import import check_recording, record

    if out_dir.exists() and not out_dir.is_dir():
        raise NeurosimError(f"OUT_DIR {out_dir} exists and is not a directory")
    head = {k: v for k, v in result.head.to_dict().items() if k != "outputs"}   # outputs: the graph's own
    rec = record(result.model, result.input_shape, T=result.T, input_kind="analog", head=head,
                 metadata=result.metadata, time_layout="TB")
    graph = rec.graph
    if len(graph.outputs) != len(result.head.outputs):
        raise NeurosimError(f"the converted graph has {len(graph.outputs)} outputs, the detection head "
                            f"{len(result.head.outputs)}")
    if check:
        graph.metadata["import"]["check"] = check_recording(rec, "float32")
    save_graph(graph, out_dir)
    return graph


def _report(args, result, graph):
    head = result.head
    extra = f", D={result.D}" if result.D is not None else ""
    print(f"{args.ckpt} -> {args.out_dir}: {result.metadata['name']}, {len(graph)} nodes, "
          f"{graph.parameter_count():,} parameters, T={result.T}{extra}, head {head.type} "
          f"({head.num_classes} classes, strides {list(head.strides)}); weights from "
          f"{result.metadata['authors_checkpoint']['weights']}")
    check = graph.metadata["import"].get("check")
    if check:
        print(f"  check vs torch (float32): max relative difference {check['max_relative_difference']:.2e}, "
              f"spikes {check['spikes_neurosim']:.0f} vs {check['spikes_torch']:.0f} "
              f"({'equal' if check['spikes_equal'] else 'NOT equal: see docs/import.md on float32 ties'})")


def run_spikeyolo(args) -> int:
    from ..torch_import.authors import import_spikeyolo

    result = import_spikeyolo(args.ckpt, args.cfg, input_shape=args.input_shape, T=args.T, D=args.D, nc=args.nc,
                              variant=args.variant, trust_pickle=args.trust_pickle, key=args.key)
    graph = _convert_and_save(result, Path(args.out_dir), not args.no_check)
    _report(args, result, graph)
    return 0


def run_emsyolo(args) -> int:
    from ..torch_import.authors import import_emsyolo

    result = import_emsyolo(args.ckpt, args.cfg, input_shape=args.input_shape, T=args.T, nc=args.nc,
                            trust_pickle=args.trust_pickle, key=args.key)
    graph = _convert_and_save(result, Path(args.out_dir), not args.no_check)
    _report(args, result, graph)
    return 0


#: to be registered in neurosim.cli.COMMANDS (each entry needs an ``add_parser``)
spikeyolo_command = SimpleNamespace(add_parser=add_spikeyolo_parser)
emsyolo_command = SimpleNamespace(add_parser=add_emsyolo_parser)
