"""``neurosim run SCENARIO.yaml``: a workflow written down, run through the same commands.

A scenario names a ``command`` (simulate, sweep, compare, sparsity, eval, chips) and that
command's options as keys (``model`` or ``models`` is the positional argument; lists become
comma-separated values; ``true`` becomes a bare flag)::

    command: compare
    model: trained/spikeyolo-shapes
    chips: [loihi, truenorth, speck, memory-45nm, paper-45nm]
    out: out/compare
"""
from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from ..errors import NeurosimError
from . import values

RUNNABLE = ("simulate", "sweep", "compare", "sparsity", "eval", "chips")
POSITIONAL = {"simulate": ["model"], "sweep": ["models"], "compare": ["model"], "sparsity": ["model"],
              "eval": ["model_dir"], "chips": []}


def add_parser(sub):
    p = sub.add_parser("run", help="run a scenario file (scenarios/*.yaml)",
                       description="Run a YAML scenario: a command and its options.",
                       epilog="examples:\n  neurosim run scenarios/quickstart.yaml\n  neurosim run scenarios/sweep_td.yaml",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", type=values.in_file)
    p.set_defaults(func=run)


def scenario_argv(doc: dict, source: str) -> list[str]:
    """The command line a scenario stands for."""
    if not isinstance(doc, dict) or "command" not in doc:
        raise NeurosimError(f"{source} must be a mapping with a 'command' key (one of {', '.join(RUNNABLE)})")
    command = doc["command"]
    if command not in RUNNABLE:
        raise NeurosimError(f"{source}: unknown command {command!r} (one of {', '.join(RUNNABLE)})")
    argv = [command]
    options = {k: v for k, v in doc.items() if k not in ("command", "description")}
    for name in POSITIONAL[command]:
        value = options.pop(name, options.pop("model", None) if name != "model" else None)
        if value is None:
            raise NeurosimError(f"{source}: a {command} scenario needs '{name}'")
        argv += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    for key, value in options.items():
        flag = f"--{key}"
        if value is True:
            argv.append(flag)
        elif value is False or value is None:
            continue
        else:
            argv += [flag, ",".join(map(str, value)) if isinstance(value, list) else str(value)]
    return argv


def run(args) -> int:
    from . import UsageError, build_parser

    path = Path(args.scenario)
    if not path.is_file():
        raise NeurosimError(f"scenario file {path} does not exist")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise NeurosimError(f"scenario file {path} is not valid YAML ({str(exc).splitlines()[0]})") from None
    argv = scenario_argv(doc, str(path))
    parser = build_parser()
    try:
        sub_args = parser.parse_args(argv)
    except UsageError as exc:
        raise NeurosimError(f"{path}: options not accepted by '{argv[0]}': {exc}") from None
    except SystemExit:
        raise NeurosimError(f"{path}: options not accepted by '{argv[0]}' (see 'neurosim {argv[0]} --help')") from None
    print(f"neurosim {' '.join(argv)}")
    return int(sub_args.func(sub_args) or 0)
