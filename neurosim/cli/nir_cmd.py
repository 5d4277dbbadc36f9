"""``neurosim import-nir`` and ``neurosim export-nir``: NIR files <-> neurosim model directories."""
from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

from ..errors import NeurosimError
from . import values

IMPORT_EXAMPLES = """examples:
  neurosim import-nir snntorch_net.nir models/snn --dt 1e-4
  neurosim import-nir norse_net.nir models/snn --dt 1e-3 --input-kind binary

dt is the timestep the exporting framework simulates with, in the units of the file's time
constants (snnTorch: 1e-4, Norse: 1e-3). Files written by neurosim record it."""

EXPORT_EXAMPLES = """examples:
  neurosim export-nir models/snn snn.nir
  neurosim export-nir example:tiny-snn tiny.nir --dt 1e-4"""


def add_import_parser(sub):
    p = sub.add_parser("import-nir", help="translate a NIR file into a neurosim model directory",
                       description="Translate a NIR graph (.nir) into a neurosim model directory "
                                   "(graph.json + weights.npz); see docs/nir.md.",
                       epilog=IMPORT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=values.in_file, help="the .nir file")
    p.add_argument("out_dir", type=values.out_dir, help="model directory to write")
    p.add_argument("--dt", type=values.positive_float, default=None,
                   help="timestep for discretizing time constants (needed for leaky neurons unless the file "
                        "records it)")
    p.add_argument("--input-kind", choices=["analog", "binary", "integer"], default=None,
                   help="what the inputs carry (default: as recorded by neurosim, else analog)")
    p.set_defaults(func=run_import)


def add_export_parser(sub):
    p = sub.add_parser("export-nir", help="write a neurosim model as a NIR file",
                       description="Write the NIR-expressible part of a model as a NIR graph (.nir); "
                                   "see docs/nir.md.",
                       epilog=EXPORT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="model directory (graph.json + weights.npz) or example:NAME")
    p.add_argument("out_file", type=values.out_file, help="the .nir file to write")
    p.add_argument("--dt", type=values.positive_float, default=None,
                   help="timestep the time constants are written for (default 1e-3; recorded in the file)")
    p.set_defaults(func=run_export)


def run_import(args) -> int:
    from ..ir import save_graph
    from ..nir import import_nir

    graph = import_nir(Path(args.file), dt=args.dt, input_kind=args.input_kind)
    save_graph(graph, Path(args.out_dir))
    ops = sorted({n.op for n in graph.nodes})
    print(f"{args.file} -> {args.out_dir}: {len(graph)} nodes ({', '.join(ops)}), "
          f"inputs {', '.join(graph.input_names)}, outputs {', '.join(graph.outputs)}")
    return 0


def run_export(args) -> int:
    from ..nir import export_nir
    from ..nir.exporter import DEFAULT_DT
    from .common import load_model

    dt = DEFAULT_DT if args.dt is None else args.dt
    if not dt > 0:
        raise NeurosimError(f"--dt must be positive, got {args.dt}")
    graph = load_model(args.model)
    export_nir(graph, Path(args.out_file), dt=dt)
    print(f"{args.model} -> {args.out_file}: {len(graph)} nodes, dt = {dt:g}")
    return 0


#: registered in neurosim.cli.COMMANDS (each entry needs an ``add_parser``)
import_command = SimpleNamespace(add_parser=add_import_parser)
export_command = SimpleNamespace(add_parser=add_export_parser)
