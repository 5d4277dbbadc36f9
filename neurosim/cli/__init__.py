"""The ``neurosim`` command: subcommands, one-sentence errors with exit code 2, --debug for tracebacks."""
from __future__ import annotations

import argparse
import sys

from ..errors import NeurosimError
from . import chips_cmd, claims_cmd, compare_cmd, run_cmd, data_cmd, import_authors_cmd, import_cmd, nir_cmd, simulate_cmd, sparsity_cmd, sweep_cmd, train_cmd

COMMANDS = {"simulate": simulate_cmd, "sweep": sweep_cmd, "compare": compare_cmd, "sparsity": sparsity_cmd, "chips": chips_cmd,
            "data": data_cmd,
            "train": train_cmd.train_command, "export": train_cmd.export_command, "eval": train_cmd.eval_command,
            "import-nir": nir_cmd.import_command, "export-nir": nir_cmd.export_command, "run": run_cmd,
            "claims": claims_cmd, "import-torch": import_cmd.import_torch_command,
            "import-spikeyolo": import_authors_cmd.spikeyolo_command,
            "import-emsyolo": import_authors_cmd.emsyolo_command}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurosim",
        description="Event-driven, hardware-aware simulation of spiking object detectors.",
        epilog="Run 'neurosim COMMAND --help' for a command's options and examples.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        module.add_parser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except NeurosimError as exc:
        if args.debug:
            raise
        print(f"neurosim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("neurosim: interrupted", file=sys.stderr)
        return 130


def entry_point():  # pragma: no cover - console script
    sys.exit(main())
