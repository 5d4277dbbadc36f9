"""One translator per NIR primitive: a NIR node -> the neurosim IR node(s) that compute it.

Shapes: NIR tensors are per sample and timestep, like ours. A 2-D NIR tensor ``(C, N)`` (the
input of a Conv1d) becomes a height-1 map ``(C, 1, N)``, so Conv1d runs as a Conv2d.
Neuron parameters keep one value when all neurons share it, else one per neuron.

Which IR node a neuron becomes (the first exact match):

* IF -> ``if`` (``compare=">"``, hard reset to ``v_reset``) when R = 1 and the parameters
  are shared; else ``cubalif`` with no synaptic stage.
* LIF -> ``lif`` with ``decay = 1 - dt/tau`` when the parameters are shared, ``v_leak = 0``
  and either ``dt R / tau = 1`` (snnTorch: ``H = decay V + X``) or ``R = 1`` (Norse:
  ``H = V + (X - V)(1 - decay)``); else ``cubalif`` with no synaptic stage.
* LI -> ``li``; I -> ``li`` with decay 1; CubaLI -> ``cubali``; CubaLIF -> ``cubalif``;
  Threshold -> ``threshold``; Scale -> ``scale``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..ir import nodes as ir
from .discretize import Leak, euler_leak
from .errors import NIRError, NotExpressibleError

#: node metadata our exporter writes for a ``>=`` threshold (NIR only has ``>``)
COMPARE_KEY = "neurosim_compare"
THRESHOLD_KEY = "neurosim_threshold"
#: Input node metadata our exporter writes with the input's kind (binary, integer, analog)
KIND_KEY = "neurosim_kind"
#: neuron metadata our exporter writes with the IR form it came from (lif, if, cubalif) and,
#: for lif, its decay_input: re-imported, the neuron keeps that form and so its rounding
OP_KEY = "neurosim_op"
DECAY_INPUT_KEY = "neurosim_decay_input"


@dataclass
class NodeContext:
    """What a translator needs: the NIR node, its name and type, the IR node it reads, that
    node's shape (ours) and number of axes (NIR's), and the timestep."""

    name: str
    node: object
    type_name: str
    src: str
    in_shape: tuple[int, ...]
    in_ndim: int
    dt: float | None

    def fail(self, message: str) -> NIRError:
        return NIRError(f"NIR node '{self.name}' ({self.type_name}): {message}")

    def need_dt(self) -> float:
        if self.dt is None:
            raise NIRError(
                f"NIR node '{self.name}' ({self.type_name}) has time constants: pass dt, the timestep "
                "the exporting framework simulates with (snnTorch: 1e-4, Norse: 1e-3)")
        return self.dt

    def array(self, field: str, default=None) -> np.ndarray:
        """A NIR neuron parameter as a float64 array of our shape (one value kept as shape (1,))."""
        value = getattr(self.node, field, None)
        if value is None:
            if default is None:
                raise self.fail(f"has no parameter '{field}'")
            value = default
        a = np.asarray(value, dtype=np.float64)
        if a.size == 1:
            return a.reshape(1)
        shape = self.in_shape
        if a.ndim == 2 and len(shape) == 3 and shape[1] == 1:
            a = a[:, None, :]  # (C, N) -> (C, 1, N), as the tensor
        try:
            return np.ascontiguousarray(np.broadcast_to(a, shape))
        except ValueError:
            raise self.fail(f"parameter '{field}' has shape {np.shape(value)}, its input {shape}") from None

    def leak(self, tau: str, r: np.ndarray, v_leak: np.ndarray) -> Leak:
        dt = self.need_dt()
        try:
            return euler_leak(self.array(tau), r, v_leak, dt)
        except ValueError as exc:
            raise self.fail(f"{tau}: {exc}") from None


def compact(a: np.ndarray) -> np.ndarray:
    """One value when all neurons share it, else the per-neuron array."""
    a = np.asarray(a, np.float64)
    return a.reshape(-1)[:1].copy() if a.size and np.all(a == a.flat[0]) else a


def shared(*arrays) -> bool:
    return all(compact(a).size == 1 for a in arrays)


def is_one_in_float32(a) -> bool:
    return bool(np.all(np.float32(np.asarray(a)) == np.float32(1)))


def _scalar(a) -> float:
    return float(np.asarray(a).reshape(-1)[0])


def _hint(ctx: NodeContext, key: str, default=None):
    """A value our exporter left in the node's metadata."""
    value = (getattr(ctx.node, "metadata", None) or {}).get(key, default)
    return value.decode() if isinstance(value, bytes) else value


def _lif_or_if_threshold(ctx: NodeContext, thr: np.ndarray) -> tuple[float, str]:
    """(threshold, compare) for our lif / if node, undoing our exporter's ``>=`` encoding:
    it wrote ``>`` with the threshold lowered to the next float32 below the original."""
    original = _hint(ctx, THRESHOLD_KEY)
    if _hint(ctx, COMPARE_KEY) == ">=" and original is not None:
        if np.nextafter(np.float32(original), np.float32(-np.inf)) == np.float32(_scalar(thr)):
            return float(original), ">="
    return _scalar(thr), ">"


# ------------------------------------------------------------------------------ neurons


def neuron_if(ctx: NodeContext) -> list[ir.Node]:
    r = ctx.array("r")
    thr, reset = ctx.array("v_threshold"), ctx.array("v_reset", default=0.0)
    if shared(r, thr, reset) and is_one_in_float32(r) and _hint(ctx, OP_KEY) != "cubalif":
        threshold, compare = _lif_or_if_threshold(ctx, thr)
        return [ir.IF(ctx.name, (ctx.src,), threshold=threshold, reset="hard", reset_value=_scalar(reset),
                      compare=compare)]
    return [_lif_as_cuba(ctx, Leak(np.ones(1), r, np.zeros(1)), thr, reset)]


def neuron_lif(ctx: NodeContext) -> list[ir.Node]:
    r = ctx.array("r")
    v_leak = ctx.array("v_leak")
    leak = ctx.leak("tau", r, v_leak)
    thr, reset = ctx.array("v_threshold"), ctx.array("v_reset", default=0.0)
    if shared(leak.decay, leak.gain, thr, reset) and np.all(v_leak == 0) and _hint(ctx, OP_KEY) != "cubalif":
        threshold, compare = _lif_or_if_threshold(ctx, thr)
        params = dict(threshold=threshold, decay=_scalar(leak.decay), reset="hard", reset_value=_scalar(reset),
                      compare=compare)
        forms = {False: is_one_in_float32(leak.gain), True: is_one_in_float32(r)}
        preferred = _hint(ctx, DECAY_INPUT_KEY)
        for decay_input in ([bool(preferred)] if preferred is not None else []) + [False, True]:
            if forms[decay_input]:
                return [ir.LIF(ctx.name, (ctx.src,), decay_input=decay_input, **params)]
    return [_lif_as_cuba(ctx, leak, thr, reset)]


def _lif_as_cuba(ctx: NodeContext, leak: Leak, thr, reset) -> ir.CubaLIF:
    """A LIF with per-neuron parameters: a CubaLIF whose current is the input (I_t = X_t)."""
    return ir.CubaLIF(ctx.name, (ctx.src,), syn_decay=np.zeros(1), syn_gain=np.ones(1),
                      mem_decay=compact(leak.decay), mem_gain=compact(leak.gain), bias=compact(leak.bias),
                      threshold=compact(thr), reset_value=compact(reset))


def neuron_li(ctx: NodeContext) -> list[ir.Node]:
    leak = ctx.leak("tau", ctx.array("r"), ctx.array("v_leak"))
    return [ir.LI(ctx.name, (ctx.src,), decay=compact(leak.decay), gain=compact(leak.gain), bias=compact(leak.bias))]


def neuron_i(ctx: NodeContext) -> list[ir.Node]:
    return [ir.LI(ctx.name, (ctx.src,), decay=np.ones(1), gain=compact(ctx.array("r")), bias=np.zeros(1))]


def _cuba_params(ctx: NodeContext) -> dict:
    syn = ctx.leak("tau_syn", ctx.array("w_in", default=1.0), np.zeros(1))
    mem = ctx.leak("tau_mem", ctx.array("r"), ctx.array("v_leak"))
    return dict(syn_decay=compact(syn.decay), syn_gain=compact(syn.gain), mem_decay=compact(mem.decay),
                mem_gain=compact(mem.gain), bias=compact(mem.bias))


def neuron_cubali(ctx: NodeContext) -> list[ir.Node]:
    return [ir.CubaLI(ctx.name, (ctx.src,), **_cuba_params(ctx))]


def neuron_cubalif(ctx: NodeContext) -> list[ir.Node]:
    return [ir.CubaLIF(ctx.name, (ctx.src,), **_cuba_params(ctx), threshold=compact(ctx.array("v_threshold")),
                       reset_value=compact(ctx.array("v_reset", default=0.0)))]


def threshold(ctx: NodeContext) -> list[ir.Node]:
    return [ir.Threshold(ctx.name, (ctx.src,), threshold=compact(ctx.array("threshold")))]


def scale(ctx: NodeContext) -> list[ir.Node]:
    return [ir.Scale(ctx.name, (ctx.src,), scale=compact(ctx.array("scale")))]


# ------------------------------------------------------------------------------ synaptic and structural


def _weights(ctx: NodeContext, ndim: int) -> np.ndarray:
    w = np.asarray(ctx.node.weight, dtype=np.float32)
    if w.ndim != ndim:
        raise ctx.fail(f"weight must have {ndim} axes, got shape {w.shape}")
    return w


def _bias(ctx: NodeContext, n_out: int) -> np.ndarray | None:
    b = getattr(ctx.node, "bias", None)
    if b is None:
        return None
    b = np.asarray(b, dtype=np.float32).reshape(-1)
    if b.size == 1:
        b = np.full(n_out, b[0], np.float32)
    if b.shape != (n_out,):
        raise ctx.fail(f"bias must have {n_out} values, got {b.size}")
    return None if not np.any(b) else b  # a zero bias adds nothing


def affine(ctx: NodeContext) -> list[ir.Node]:
    w = _weights(ctx, 2)
    return [ir.Linear(ctx.name, (ctx.src,), weight=w, bias=_bias(ctx, w.shape[0]))]


def linear(ctx: NodeContext) -> list[ir.Node]:
    return [ir.Linear(ctx.name, (ctx.src,), weight=_weights(ctx, 2))]


def _ints(ctx: NodeContext, field: str, n: int) -> tuple[int, ...]:
    value = getattr(ctx.node, field)
    a = np.asarray(value).reshape(-1)
    if a.size == 1:
        a = np.repeat(a, n)
    if a.size != n or np.any(a != np.round(a)):
        raise ctx.fail(f"{field} must be {n} integer(s), got {value!r}")
    return tuple(int(v) for v in a)


def _padding(ctx: NodeContext, kernel: tuple[int, ...]) -> tuple[int, ...]:
    pad = getattr(ctx.node, "padding")
    if isinstance(pad, bytes):
        pad = pad.decode()
    if isinstance(pad, str):
        if pad == "valid":
            return tuple(0 for _ in kernel)
        if pad == "same" and all(k % 2 == 1 for k in kernel):
            return tuple(k // 2 for k in kernel)
        raise ctx.fail(f"padding {pad!r} with kernel {kernel} is not symmetric; neurosim pads both sides equally")
    return _ints(ctx, "padding", len(kernel))


def _check_dilation(ctx: NodeContext, n: int):
    if any(d != 1 for d in _ints(ctx, "dilation", n)):
        raise NotExpressibleError(f"NIR node '{ctx.name}' ({ctx.type_name}): dilation {ctx.node.dilation!r} is not "
                                  "supported (neurosim convolutions are undilated)")


def conv2d(ctx: NodeContext) -> list[ir.Node]:
    w = _weights(ctx, 4)
    _check_dilation(ctx, 2)
    kernel = w.shape[2:]
    return [ir.Conv2d(ctx.name, (ctx.src,), weight=w, bias=_bias(ctx, w.shape[0]), stride=_ints(ctx, "stride", 2),
                      padding=_padding(ctx, kernel), groups=int(np.asarray(ctx.node.groups)))]


def conv1d(ctx: NodeContext) -> list[ir.Node]:
    """A Conv1d over (C, N) is a Conv2d with a 1 x k kernel over the height-1 map (C, 1, N)."""
    w = _weights(ctx, 3)
    _check_dilation(ctx, 1)
    stride = _ints(ctx, "stride", 1)[0]
    pad = _padding(ctx, w.shape[2:])[0]
    return [ir.Conv2d(ctx.name, (ctx.src,), weight=w[:, :, None, :], bias=_bias(ctx, w.shape[0]),
                      stride=(1, stride), padding=(0, pad), groups=int(np.asarray(ctx.node.groups)))]


def _pool(cls, ctx: NodeContext) -> list[ir.Node]:
    kernel = _ints(ctx, "kernel_size", 2)
    stride = _ints(ctx, "stride", 2) if getattr(ctx.node, "stride", None) is not None else kernel
    padding = _ints(ctx, "padding", 2) if getattr(ctx.node, "padding", None) is not None else (0, 0)
    return [cls(ctx.name, (ctx.src,), kernel=kernel, stride=stride, padding=padding)]


def sumpool2d(ctx: NodeContext) -> list[ir.Node]:
    return _pool(ir.SumPool2d, ctx)


def avgpool2d(ctx: NodeContext) -> list[ir.Node]:
    return _pool(ir.AvgPool2d, ctx)


def flatten(ctx: NodeContext) -> list[ir.Node]:
    """Only a flatten of every axis (to a vector) is expressible. NIR's dims exclude the batch
    axis; a Flatten whose recorded input type has one axis more counts it (torch's start_dim=1)."""
    ndim = ctx.in_ndim
    start = int(np.asarray(getattr(ctx.node, "start_dim", 0)))
    end = int(np.asarray(getattr(ctx.node, "end_dim", -1)))
    recorded = (getattr(ctx.node, "input_type", None) or {}).get("input")
    if recorded is not None and np.asarray(recorded).size == ndim + 1 and start >= 1:
        start, end = start - 1, (end - 1 if end > 0 else end)
    if start in (0, -ndim) and end in (-1, ndim - 1):
        return [ir.Flatten(ctx.name, (ctx.src,))]
    raise NotExpressibleError(
        f"NIR node '{ctx.name}' (Flatten): flattening axes {start}..{end} of a {ndim}-axis tensor gives a "
        "tensor neurosim cannot hold (its tensors are (C, H, W) maps or vectors); only a full flatten is supported")


TRANSLATORS: dict[str, Callable[[NodeContext], list[ir.Node]]] = {
    "Affine": affine, "Linear": linear, "Conv1d": conv1d, "Conv2d": conv2d, "Flatten": flatten,
    "SumPool2d": sumpool2d, "AvgPool2d": avgpool2d, "Scale": scale, "Threshold": threshold,
    "I": neuron_i, "IF": neuron_if, "LI": neuron_li, "LIF": neuron_lif, "CubaLI": neuron_cubali,
    "CubaLIF": neuron_cubalif,
}

#: number of axes of a primitive's output on the NIR side, where it is not its input's
OUT_NDIM = {"Affine": 1, "Linear": 1, "Flatten": 1, "Conv1d": 2, "Conv2d": 3, "SumPool2d": 3, "AvgPool2d": 3}
