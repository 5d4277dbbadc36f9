"""Where the shipped chip profiles and detectors are, wherever neurosim is installed.

An installed wheel carries them as package data, ``neurosim/_shipped/hwmodels`` and
``neurosim/_shipped/trained`` (copied there by setup.py at build time); a source checkout (or
an editable install of one) reads ``hwmodels/`` and ``trained/`` beside the package. Package
data is looked for first, through :mod:`importlib.resources`.

A shipped detector is named by its bare folder name (``spikeyolo-shapes``) wherever a model is
expected; a path that exists always wins over a bare name, so ``trained/spikeyolo-shapes`` in
a checkout and ``./my-model`` mean what they say. ``$NEUROSIM_MODELS`` (os.pathsep-separated
folders of model folders) adds models searched before the shipped ones.
"""
from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from .errors import NeurosimError

MODELS_ENV = "NEUROSIM_MODELS"


def _resource_dir(name: str) -> Path:
    """``neurosim/_shipped/<name>`` if the installed package has it, else ``<checkout>/<name>``."""
    packaged = resources.files("neurosim").joinpath("_shipped").joinpath(name)  # one name per call: Python 3.10
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / name


def hwmodels_dir() -> Path:
    """The shipped chip profiles (``*.yaml``)."""
    return _resource_dir("hwmodels")


def trained_dir() -> Path:
    """The shipped detectors (one folder each: graph.json, weights.npz, card.json, README.md)."""
    return _resource_dir("trained")


def model_dirs() -> list[Path]:
    """Folders searched for models by bare name: ``$NEUROSIM_MODELS`` first, then the shipped ones."""
    dirs = [Path(p) for p in os.environ.get(MODELS_ENV, "").split(os.pathsep) if p]
    return dirs + [trained_dir()]


def shipped_models() -> dict[str, Path]:
    """Bare model name -> its folder (a folder holding graph.json); earlier folders win."""
    found: dict[str, Path] = {}
    for d in model_dirs():
        for graph in sorted(d.glob("*/graph.json")) if d.is_dir() else ():
            found.setdefault(graph.parent.name, graph.parent)
    return found


def resolve_model(spec: str, others: tuple[str, ...] = ()) -> Path:
    """The folder a model argument names: an existing path as given, else a shipped model's
    bare name; anything else is a one-sentence error listing the shipped names (and ``others``,
    further valid choices of the caller)."""
    path = Path(spec)
    if path.exists():
        return path
    models = shipped_models()
    if spec in models:
        return models[spec]
    choices = ", ".join(list(models) + list(others)) or "none"
    what = (f"model folder {spec} does not exist" if os.sep in spec or "/" in spec
            else f"model {spec} is neither a folder nor a shipped model")
    raise NeurosimError(f"{what}; choose a model folder or one of {choices} (see 'neurosim models')")


def card_summary(card: dict) -> str:
    """The one-line summary of a model card (also the first line of its README)."""
    return (f"{card['family']} ({card['scale']} scale, neuron {card['neuron']}), T={card['T']}, D={card['D']}, "
            f"{card['parameters']:,} weights in the exported IR"
            + (f" ({card['parameters_torch']:,} in the torch model)" if card.get("parameters_torch") else "")
            + f", trained on {card['dataset'].get('dataset')}.")


def model_card(model_dir: Path) -> dict | None:
    """A model folder's card.json, or None when it has none (or it is unreadable)."""
    path = Path(model_dir) / "card.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
