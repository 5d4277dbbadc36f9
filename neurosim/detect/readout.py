"""From per-timestep head outputs to one prediction per sample."""
from __future__ import annotations

import numpy as np


def read_out(spec, outputs: dict) -> dict:
    """``outputs[name]``: [B, T, C, H, W] from the simulator -> [B, C, H, W] for :func:`decode`.

    ``readout = "mean"``: the mean over T (rate decoding, as the torch models average their head
    outputs over time). ``readout = "last"``: the last timestep (the head reads a decoder that
    integrates over time).
    """
    readout = spec.get("readout", "mean") if isinstance(spec, dict) else spec.readout
    names = spec["outputs"] if isinstance(spec, dict) else spec.outputs
    if readout == "last":
        return {name: np.asarray(outputs[name])[:, -1] for name in names}
    return {name: np.asarray(outputs[name]).mean(axis=1) for name in names}
