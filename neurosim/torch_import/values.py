"""What the recorder knows about each torch tensor of the network's forward pass.

A recorded tensor holds the values of one IR node, laid out one of three ways:

* ``seq``  - ``[T, B, *S]``: all timesteps (SpikingJelly multi-step, snnTorch stacks);
* ``flat`` - ``[T*B, *S]``: time flattened into the batch (SeqToANNContainer, ``time_flat``);
* ``step`` - ``[B, *S]``: the timestep ``t`` only (single-step models, ``x[t]`` in a time loop).

``S`` is the node's per-sample, per-timestep shape. The recording batch ``B`` is 2, so that the
three layouts never share a shape (``T*B != B`` for ``T > 1``).
"""
from __future__ import annotations

from dataclasses import dataclass

LAYOUTS = ("seq", "flat", "step")


@dataclass(frozen=True)
class Value:
    """A tensor that holds IR node ``node`` in ``layout`` (at timestep ``t`` for ``step``)."""

    node: str
    layout: str
    t: int | None = None

    def lead(self, T: int, B: int) -> tuple[int, ...]:
        """The leading (time, batch) axes of the torch tensor."""
        return {"seq": (T, B), "flat": (T * B,), "step": (B,)}[self.layout]

    def same_time(self, other: "Value") -> bool:
        return self.layout == other.layout and self.t == other.t


@dataclass(frozen=True)
class BatchFirst:
    """The model input as ``[B, T, *S]`` (neurosim's own models); ``x.transpose(0, 1)`` makes it a
    ``seq``."""

    node: str


@dataclass(frozen=True)
class RowsRepeated:
    """``x.repeat_interleave(k, -2)`` of ``value``: with ``repeat_interleave(k, -1)`` after it, a
    nearest upsampling by ``k``."""

    value: Value
    k: int


@dataclass(frozen=True)
class Membrane:
    """The membrane a snnTorch neuron returns beside its spikes (module ``path``, timestep ``t``):
    it may only be fed back to the same neuron at ``t + 1``."""

    path: str
    t: int


@dataclass(frozen=True)
class TimeReduced:
    """``node`` reduced over the time axis (``how`` = ``mean`` or ``sum``): a readout, only
    allowed as a model output."""

    node: str
    how: str


@dataclass(frozen=True)
class Folded:
    """A convolution's output whose BatchNorm was folded into it: reading it again is refused."""

    node: str


def interpret_shape(value: Value, out_shape: tuple[int, ...], T: int, B: int):
    """Layout and per-timestep shape of a reshape of ``value`` to ``out_shape``, or None.

    Time and batch axes may merge (``seq`` -> ``flat``) or split (``flat`` -> ``seq``); the
    per-timestep part may stay or flatten to a vector.
    """
    out_shape = tuple(int(s) for s in out_shape)
    candidates = []
    if len(out_shape) >= 2 and out_shape[:2] == (T, B) and value.layout in ("seq", "flat"):
        candidates.append(("seq", out_shape[2:]))
    if out_shape and out_shape[0] == T * B and value.layout in ("seq", "flat"):
        candidates.append(("flat", out_shape[1:]))
    if out_shape and out_shape[0] == B and value.layout == "step":
        candidates.append(("step", out_shape[1:]))
    return candidates
