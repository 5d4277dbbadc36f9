"""The ``neurosim`` command: subcommands, one-sentence errors with exit code 2, --debug for tracebacks."""
from __future__ import annotations

import argparse
import sys

from ..errors import NeurosimError
from . import calibrate_cmd, chips_cmd, claims_cmd, compare_cmd, run_cmd, data_cmd, import_authors_cmd, import_cmd, models_cmd, nir_cmd, simulate_cmd, sparsity_cmd, sweep_cmd, train_cmd

COMMANDS = {"simulate": simulate_cmd, "sweep": sweep_cmd, "compare": compare_cmd, "sparsity": sparsity_cmd, "chips": chips_cmd,
            "models": models_cmd,
            "data": data_cmd,
            "train": train_cmd.train_command, "export": train_cmd.export_command, "eval": train_cmd.eval_command,
            "import-nir": nir_cmd.import_command, "export-nir": nir_cmd.export_command, "run": run_cmd,
            "claims": claims_cmd, "calibrate": calibrate_cmd, "import-torch": import_cmd.import_torch_command,
            "import-spikeyolo": import_authors_cmd.spikeyolo_command,
            "import-emsyolo": import_authors_cmd.emsyolo_command}


ERROR_CONTRACT = ("Errors: bad input (a missing or corrupt file, an unknown name, a value out of range, a model "
                  "that does not fit a chip) is one sentence on stderr and exit code 2, before any output file is "
                  "written; output files are written whole or not at all (a temporary file, then a rename). "
                  "--debug shows the traceback instead.")


class UsageError(NeurosimError):
    """A command line the parser refused; ``prog`` is the (sub)command that refused it."""

    def __init__(self, message: str, prog: str):
        super().__init__(message)
        self.prog = prog


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is the one sentence of the error contract (no usage block)."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')", self.prog)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="neurosim",
        description="Event-driven, hardware-aware simulation of spiking object detectors.",
        epilog="Run 'neurosim COMMAND --help' for a command's options and examples. " + ERROR_CONTRACT)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        module.add_parser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"neurosim: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:       # --help or --version: already printed
        return int(exc.code or 0)
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
    except OSError as exc:          # the file system refused (permissions, a full disk): the user's to fix
        if args.debug:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"neurosim: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("neurosim: interrupted", file=sys.stderr)
        return 130


def entry_point():  # pragma: no cover - console script
    sys.exit(main())
