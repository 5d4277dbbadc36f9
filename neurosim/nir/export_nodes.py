"""One translator per neurosim op: an IR node -> the NIR node that computes it, or
NotExpressibleError saying why NIR cannot.

Neurons (the inverse of :mod:`.discretize`, with the graph's ``dt``):

* ``lif`` (``H = decay V + X``) -> LIF with ``tau = dt / (1 - decay)``, ``R = tau / dt``
  (snnTorch's convention); with ``decay_input`` (``H = V + (X - V)(1 - decay)``) -> LIF with
  ``R = 1`` (Norse's); ``v_leak = 0``; decay 1 -> IF.
* ``if`` -> IF with ``R = 1``. Both need ``reset = "hard"`` (NIR resets to ``v_reset``).
  ``compare = ">="`` becomes ``>`` with the threshold lowered to the next float32 below it,
  which is the same test for float32 membranes; the node's metadata keeps the original.
* ``li`` -> LI (or I when no neuron leaks and there is no bias); ``cubali`` -> CubaLI and
  ``cubalif`` -> CubaLIF (or LI / LIF / IF when the synaptic stage is the identity).
* ``ilif`` (integer spikes), ``hoyer`` (``X / clip >= threshold``), soft reset, ``concat``,
  ``upsample``, ``maxpool2d``, ``relu``, ``silu``, ``sigmoid``, ``mul``: not expressible.

Every NIR neuron parameter is written per neuron (the shape NIR's type check expects), in
float64 so that importing it back gives the same decays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import nodes as ir
from ..ir.graph import Graph
from .discretize import Leak, leak_to_nir
from .errors import NotExpressibleError
from .import_nodes import COMPARE_KEY, DECAY_INPUT_KEY, KIND_KEY, OP_KEY, THRESHOLD_KEY
from .package import has_field


@dataclass
class ExportContext:
    node: ir.Node
    graph: Graph
    dt: float
    nir: object  # the nir module

    @property
    def shape(self) -> tuple[int, ...]:
        return self.graph.shapes[self.node.name]

    @property
    def in_shape(self) -> tuple[int, ...]:
        return self.graph.shapes[self.node.inputs[0]]

    def refuse(self, reason: str) -> NotExpressibleError:
        return NotExpressibleError(f"node '{self.node.name}' ({self.node.op}) cannot be exported to NIR: {reason}")

    def full(self, value: float) -> np.ndarray:
        """``value`` for every neuron: a float64 array of the node's shape."""
        return np.full(self.shape, value, np.float64)

    def per_neuron(self, field_name: str) -> np.ndarray:
        """The node's per-neuron parameter ``field_name`` as a float64 array of its shape."""
        return np.array(ir.broadcast_param(getattr(self.node, field_name), self.shape), np.float64)

    def make(self, cls_name: str, metadata: dict | None = None, **params):
        cls = getattr(self.nir, cls_name, None)
        if cls is None:
            raise self.refuse(f"the installed nir has no {cls_name} primitive; upgrade nir")
        if metadata and has_field(cls, "metadata"):
            params["metadata"] = metadata
        return cls(**params)

    def spiking(self, cls_name: str, threshold: np.ndarray, reset: np.ndarray, metadata=None, **params):
        """A NIR spiking neuron; ``v_reset`` is passed when the installed nir has it (>= 1.0.5)."""
        if has_field(getattr(self.nir, cls_name), "v_reset"):
            params["v_reset"] = reset
        elif np.any(reset != 0):
            raise self.refuse("a nonzero reset value needs nir >= 1.0.5 (v_reset); upgrade nir")
        return self.make(cls_name, metadata, v_threshold=threshold, **params)


# ------------------------------------------------------------------------------ neurons


def _threshold_and_meta(ctx: ExportContext):
    node = ctx.node
    if node.reset != "hard":
        raise ctx.refuse("soft reset (V -= threshold after a spike) has no NIR equivalent; NIR neurons reset "
                         "to v_reset")
    meta = {OP_KEY: node.op}
    if node.compare == ">=":
        lowered = float(np.nextafter(np.float32(node.threshold), np.float32(-np.inf)))
        return ctx.full(lowered), dict(meta, **{COMPARE_KEY: ">=", THRESHOLD_KEY: float(node.threshold)})
    return ctx.full(node.threshold), meta


def lif(ctx: ExportContext):
    node = ctx.node
    thr, meta = _threshold_and_meta(ctx)
    reset = ctx.full(node.reset_value)
    if node.decay == 1.0:  # no leak: H = V + X, or V + 0 (X) with decay_input
        return ctx.spiking("IF", thr, reset, meta, r=ctx.full(0.0 if node.decay_input else 1.0))
    keep = 1.0 - node.decay
    gain = keep if node.decay_input else 1.0
    tau, r, v_leak = leak_to_nir(Leak(ctx.full(node.decay), ctx.full(gain), ctx.full(0.0)), ctx.dt)
    meta[DECAY_INPUT_KEY] = bool(node.decay_input)
    return ctx.spiking("LIF", thr, reset, meta, tau=tau, r=r, v_leak=v_leak)


def if_(ctx: ExportContext):
    thr, meta = _threshold_and_meta(ctx)
    return ctx.spiking("IF", thr, ctx.full(ctx.node.reset_value), meta, r=ctx.full(1.0))


def _membrane(ctx: ExportContext, decay: str, gain: str, bias: str, spiking: bool):
    """NIR LI / LIF for a leaky membrane, I / IF for one that does not leak (the fields' names)."""
    decay, gain, bias = ctx.per_neuron(decay), ctx.per_neuron(gain), ctx.per_neuron(bias)
    if np.all(decay == 1):
        if np.any(bias != 0):
            raise ctx.refuse("a bias on a non-leaking membrane has no NIR equivalent (I and IF have no v_leak)")
        if spiking:
            return ctx.spiking("IF", ctx.per_neuron("threshold"), ctx.per_neuron("reset_value"), {OP_KEY: "cubalif"},
                               r=gain)
        return ctx.make("I", r=gain)
    if np.any(decay == 1):
        raise ctx.refuse("a decay of 1 (no leak) for some neurons but not all has no NIR equivalent")
    tau, r, v_leak = leak_to_nir(Leak(decay, gain, bias), ctx.dt)
    if spiking:
        return ctx.spiking("LIF", ctx.per_neuron("threshold"), ctx.per_neuron("reset_value"), {OP_KEY: "cubalif"},
                           tau=tau, r=r, v_leak=v_leak)
    return ctx.make("LI", tau=tau, r=r, v_leak=v_leak)


def li(ctx: ExportContext):
    return _membrane(ctx, "decay", "gain", "bias", spiking=False)


def _cuba(ctx: ExportContext, spiking: bool):
    syn_decay, syn_gain = ctx.per_neuron("syn_decay"), ctx.per_neuron("syn_gain")
    if np.all(syn_decay == 0) and np.all(syn_gain == 1):  # I_t = X_t: a plain membrane
        return _membrane(ctx, "mem_decay", "mem_gain", "bias", spiking)
    mem_decay = ctx.per_neuron("mem_decay")
    if np.any(syn_decay == 1) or np.any(mem_decay == 1):
        raise ctx.refuse("a decay of 1 (an infinite time constant) has no NIR CubaLI/CubaLIF equivalent")
    tau_syn, w_in, _ = leak_to_nir(Leak(syn_decay, syn_gain, ctx.full(0.0)), ctx.dt)
    tau_mem, r, v_leak = leak_to_nir(Leak(mem_decay, ctx.per_neuron("mem_gain"), ctx.per_neuron("bias")), ctx.dt)
    params = dict(tau_syn=tau_syn, tau_mem=tau_mem, r=r, v_leak=v_leak, w_in=w_in)
    if spiking:
        return ctx.spiking("CubaLIF", ctx.per_neuron("threshold"), ctx.per_neuron("reset_value"), **params)
    return ctx.make("CubaLI", **params)


def cubali(ctx: ExportContext):
    return _cuba(ctx, spiking=False)


def cubalif(ctx: ExportContext):
    if ctx.node.reset != "hard":
        raise ctx.refuse(f"the {ctx.node.reset} reset (snnTorch's reset_delay) has no NIR equivalent; NIR neurons "
                         "reset to v_reset at once")
    return _cuba(ctx, spiking=True)


def threshold(ctx: ExportContext):
    return ctx.make("Threshold", threshold=ctx.per_neuron("threshold"))


def scale(ctx: ExportContext):
    return ctx.make("Scale", scale=ctx.per_neuron("scale"))


# ------------------------------------------------------------------------------ synaptic and structural


def input_(ctx: ExportContext):
    return ctx.make("Input", {KIND_KEY: ctx.node.kind}, input_type={"input": np.array(ctx.shape)})


def conv2d(ctx: ExportContext):
    node = ctx.node
    bias = node.bias if node.bias is not None else np.zeros(node.out_channels, np.float32)
    # nir takes weight.shape[1] for the input channels, wrong when groups > 1: let its type
    # inference fill in the input shape from the graph instead
    input_shape = tuple(ctx.in_shape[1:]) if node.groups == 1 else None
    return ctx.make("Conv2d", input_shape=input_shape, weight=node.weight, stride=tuple(node.stride),
                    padding=tuple(node.padding), dilation=(1, 1), groups=node.groups, bias=bias)


def linear(ctx: ExportContext):
    node = ctx.node
    if node.bias is None:
        return ctx.make("Linear", weight=node.weight)
    return ctx.make("Affine", weight=node.weight, bias=node.bias)


def _pool(ctx: ExportContext, cls_name: str, kernel, stride, padding):
    return ctx.make(cls_name, kernel_size=np.array(kernel), stride=np.array(stride), padding=np.array(padding))


def sumpool2d(ctx: ExportContext):
    return _pool(ctx, "SumPool2d", ctx.node.kernel, ctx.node.stride, ctx.node.padding)


def avgpool2d(ctx: ExportContext):
    return _pool(ctx, "AvgPool2d", ctx.node.kernel, ctx.node.stride, ctx.node.padding)


def globalavgpool(ctx: ExportContext):
    """The mean over H, W is an average pooling with one H x W window."""
    _, h, w = ctx.in_shape
    return _pool(ctx, "AvgPool2d", (h, w), (h, w), (0, 0))


def flatten(ctx: ExportContext):
    return ctx.make("Flatten", input_type={"input": np.array(ctx.in_shape)}, start_dim=0, end_dim=-1)


def _refuse(reason: str):
    def translator(ctx: ExportContext):
        raise ctx.refuse(reason)
    return translator


NO_SPIKE_INTEGERS = "NIR neurons emit binary spikes; integer spikes (0..D) have no NIR equivalent"

TRANSLATORS = {
    "input": input_, "conv2d": conv2d, "linear": linear, "flatten": flatten, "sumpool2d": sumpool2d,
    "avgpool2d": avgpool2d, "globalavgpool": globalavgpool, "lif": lif, "if": if_, "li": li,
    "cubali": cubali, "cubalif": cubalif, "threshold": threshold, "scale": scale,
    "ilif": _refuse(NO_SPIKE_INTEGERS),
    "hoyer": _refuse("NIR has no Hoyer spike (X / clip >= threshold); its Threshold tests X > threshold"),
    "concat": _refuse("NIR has no concatenation"),
    "upsample": _refuse("NIR has no upsampling"),
    "maxpool2d": _refuse("NIR has no max pooling (only sum and average pooling)"),
    "relu": _refuse("NIR has no ReLU"), "silu": _refuse("NIR has no SiLU"),
    "sigmoid": _refuse("NIR has no sigmoid"), "mul": _refuse("NIR has no elementwise product of two tensors"),
}
