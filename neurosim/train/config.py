"""Training configuration: a YAML file with sections ``data``, ``model``, ``train`` (and ``seed``).

Every key has a default (below); unknown keys and wrong types are errors naming the key.
"""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from ..errors import NeurosimError

DEFAULTS = {
    "seed": 0,
    "data": {"dataset": "shapes", "root": "data/shapes", "T": 1, "encoding": "gray", "window_us": 250000,
             "size": "half", "resize": None, "counts": None, "image_size": 128},
    "model": {"family": "spikeyolo", "scale": "tiny", "neuron": None, "D": 4, "decay": 0.25,
              "decay_input": False, "backbone": "resnet10"},
    "train": {"epochs": 30, "batch_size": 16, "lr": 0.002, "weight_decay": 0.0005, "warmup_epochs": 1,
              "workers": 2, "val_every": 5, "hflip": True, "hoyer_decay": 1e-8,
              "grad_clip": 10.0, "threads": 0},
}


def _merge(defaults: dict, given: dict, path: str) -> dict:
    out = copy.deepcopy(defaults)
    for key, value in given.items():
        where = f"{path}.{key}" if path else key
        if key not in defaults:
            raise NeurosimError(f"unknown config key '{where}' (known: {', '.join(sorted(defaults))})")
        if isinstance(defaults[key], dict):
            if not isinstance(value, dict):
                raise NeurosimError(f"config key '{where}' must be a mapping")
            out[key] = _merge(defaults[key], value, where)
        else:
            expected = type(defaults[key])
            if defaults[key] is not None and value is not None and not isinstance(value, expected) \
                    and not (expected is float and isinstance(value, int)):
                raise NeurosimError(f"config key '{where}' must be {expected.__name__}, got {value!r}")
            out[key] = value
    return out


def load_config(path_or_dict) -> dict:
    """Read and validate a training config (a path to YAML, or a dict)."""
    if isinstance(path_or_dict, dict):
        given = path_or_dict
    else:
        path = Path(path_or_dict)
        if not path.is_file():
            raise NeurosimError(f"config file {path} does not exist")
        try:
            given = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise NeurosimError(f"config file {path} is not valid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(given, dict):
            raise NeurosimError(f"config file {path} must hold a mapping with data/model/train sections")
    config = _merge(DEFAULTS, given, "")
    if config["data"]["dataset"] not in ("shapes", "gen1-synth"):
        raise NeurosimError(f"data.dataset must be shapes or gen1-synth, got {config['data']['dataset']!r}")
    for key in ("epochs", "batch_size"):
        if config["train"][key] < 1:
            raise NeurosimError(f"train.{key} must be at least 1")
    if config["data"]["T"] < 1 or config["model"]["D"] < 1:
        raise NeurosimError("data.T and model.D must be at least 1")
    return config
