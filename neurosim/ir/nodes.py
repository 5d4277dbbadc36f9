"""IR primitives: one frozen dataclass per node type, its equation in the docstring.

Conventions (all nodes):

* Tensors are laid out as in torch, per sample and per timestep: ``(C, H, W)`` for maps,
  ``(N,)`` for flat vectors. A node's ``inputs`` name the nodes it reads.
* ``output_shape(input_shapes)`` infers the output shape or raises :class:`GraphError`.
* ``emits(input_kinds)`` says what a node produces: ``"binary"`` spikes (0/1),
  ``"integer"`` spikes (0..D), or ``"analog"`` values. Synaptic nodes fed by spikes are
  simulated event by event; fed by analog values, they run dense and count MACs.
* Neuron nodes hold a state ``V`` across timesteps. Each timestep computes the charge
  ``H_t = f(V_{t-1}, X_t)``, the spike ``S_t = g(H_t)``, then the reset ``V_t = r(H_t, S_t)``,
  with ``V_{-1} = v_init`` (0 unless stated).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from ..errors import GraphError

EVENT_KINDS = ("binary", "integer")
Shape = tuple[int, ...]


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        return (int(value), int(value))
    try:
        a, b = value
    except (TypeError, ValueError):
        raise GraphError(f"{name} must be an int or a pair of ints, got {value!r}") from None
    return (int(a), int(b))


def _merge_kinds(kinds: list[str]) -> str:
    """Kind of a tensor that combines inputs without arithmetic (concat, max)."""
    if any(k == "analog" for k in kinds):
        return "analog"
    if any(k == "integer" for k in kinds):
        return "integer"
    return "binary"


@dataclass(frozen=True, eq=False)
class Node:
    """Base of every primitive: a unique ``name`` and the names of its ``inputs``."""

    name: str
    inputs: tuple[str, ...] = ()

    op: ClassVar[str] = "node"
    #: number of inputs the node takes (None: two or more)
    arity: ClassVar[int | None] = 1
    is_synaptic: ClassVar[bool] = False
    is_neuron: ClassVar[bool] = False
    #: names of the fields that hold numpy arrays (stored in weights.npz)
    array_fields: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        object.__setattr__(self, "inputs", tuple(self.inputs))
        if not isinstance(self.name, str) or not self.name:
            raise GraphError(f"a {self.op} node needs a non-empty string name")
        n = len(self.inputs)
        if self.arity is None and n < 2:
            raise GraphError(f"node '{self.name}' ({self.op}) needs at least two inputs, got {n}")
        if self.arity is not None and n != self.arity:
            raise GraphError(f"node '{self.name}' ({self.op}) takes {self.arity} input(s), got {n}")
        for f in self.array_fields:
            value = getattr(self, f)
            if value is not None:
                object.__setattr__(self, f, np.ascontiguousarray(value, dtype=np.float32))
        self.validate()

    def validate(self) -> None:
        """Check parameters; raise GraphError naming the node and the bad parameter."""

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        return tuple(input_shapes[0])

    def emits(self, input_kinds: list[str]) -> str:
        return input_kinds[0]

    def params(self) -> dict:
        """Scalar parameters as JSON-ready values (arrays excluded)."""
        out = {}
        for f in fields(self):
            if f.name in ("name", "inputs") or f.name in self.array_fields:
                continue
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return {f: getattr(self, f) for f in self.array_fields if getattr(self, f) is not None}

    def _fail(self, message: str) -> GraphError:
        return GraphError(f"node '{self.name}' ({self.op}): {message}")


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True, eq=False)
class Input(Node):
    """A graph input: ``X_t`` of shape ``shape`` at each timestep.

    ``kind`` says what the data is: ``"analog"`` (an image, a gray event frame),
    ``"binary"`` (a spike raster) or ``"integer"`` (event counts).
    """

    shape: Shape = ()
    kind: str = "analog"

    op: ClassVar[str] = "input"
    arity: ClassVar[int | None] = 0

    def validate(self):
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        if len(self.shape) not in (1, 3) or any(s <= 0 for s in self.shape):
            raise self._fail(f"shape must be (C, H, W) or (N,) with positive sizes, got {self.shape}")
        if self.kind not in ("analog",) + EVENT_KINDS:
            raise self._fail(f"kind must be analog, binary or integer, got {self.kind!r}")

    def output_shape(self, input_shapes):
        return self.shape

    def emits(self, input_kinds):
        return self.kind


# --------------------------------------------------------------------------- synaptic


@dataclass(frozen=True, eq=False)
class Conv2d(Node):
    """2-D convolution (cross-correlation, as torch)::

        Y[o, i, j] = b[o] + sum_{c in group(o), u, v} W[o, c - c0(o), u, v] * X[c, s_h i - p_h + u, s_w j - p_w + v]

    ``weight`` has shape ``(C_out, C_in / groups, k_h, k_w)``; inputs outside the map are zero.
    ``H_out = floor((H + 2 p_h - k_h) / s_h) + 1``. Depthwise: ``groups == C_in``.
    """

    weight: np.ndarray = None
    bias: np.ndarray | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    groups: int = 1

    op: ClassVar[str] = "conv2d"
    is_synaptic: ClassVar[bool] = True
    array_fields: ClassVar[tuple[str, ...]] = ("weight", "bias")

    def validate(self):
        object.__setattr__(self, "stride", _pair(self.stride, "stride"))
        object.__setattr__(self, "padding", _pair(self.padding, "padding"))
        object.__setattr__(self, "groups", int(self.groups))
        if self.weight is None or self.weight.ndim != 4:
            raise self._fail("weight must be a 4-D array (C_out, C_in/groups, k_h, k_w)")
        if min(self.stride) < 1 or min(self.padding) < 0 or self.groups < 1:
            raise self._fail("stride must be >= 1, padding >= 0 and groups >= 1")
        if self.weight.shape[0] % self.groups:
            raise self._fail(f"C_out={self.weight.shape[0]} is not divisible by groups={self.groups}")
        if self.bias is not None and self.bias.shape != (self.weight.shape[0],):
            raise self._fail(f"bias must have shape ({self.weight.shape[0]},), got {self.bias.shape}")

    @property
    def out_channels(self) -> int:
        return self.weight.shape[0]

    @property
    def in_channels(self) -> int:
        return self.weight.shape[1] * self.groups

    @property
    def kernel_size(self) -> tuple[int, int]:
        return self.weight.shape[2], self.weight.shape[3]

    def output_shape(self, input_shapes):
        shape = input_shapes[0]
        if len(shape) != 3:
            raise self._fail(f"needs a (C, H, W) input, got {shape}")
        c, h, w = shape
        if c != self.in_channels:
            raise self._fail(f"expects {self.in_channels} input channels, its input has {c}")
        kh, kw = self.kernel_size
        ho = (h + 2 * self.padding[0] - kh) // self.stride[0] + 1
        wo = (w + 2 * self.padding[1] - kw) // self.stride[1] + 1
        if ho < 1 or wo < 1:
            raise self._fail(f"kernel {kh}x{kw} does not fit a {h}x{w} input with padding {self.padding}")
        return (self.out_channels, ho, wo)

    def emits(self, input_kinds):
        return "analog"


@dataclass(frozen=True, eq=False)
class Linear(Node):
    """Fully connected layer: ``Y[o] = b[o] + sum_i W[o, i] X[i]``; ``weight`` is ``(N_out, N_in)``."""

    weight: np.ndarray = None
    bias: np.ndarray | None = None

    op: ClassVar[str] = "linear"
    is_synaptic: ClassVar[bool] = True
    array_fields: ClassVar[tuple[str, ...]] = ("weight", "bias")

    def validate(self):
        if self.weight is None or self.weight.ndim != 2:
            raise self._fail("weight must be a 2-D array (N_out, N_in)")
        if self.bias is not None and self.bias.shape != (self.weight.shape[0],):
            raise self._fail(f"bias must have shape ({self.weight.shape[0]},), got {self.bias.shape}")

    def output_shape(self, input_shapes):
        shape = input_shapes[0]
        if len(shape) != 1:
            raise self._fail(f"needs a flat (N,) input, got {shape}: add a Flatten node")
        if shape[0] != self.weight.shape[1]:
            raise self._fail(f"expects {self.weight.shape[1]} inputs, its input has {shape[0]}")
        return (self.weight.shape[0],)

    def emits(self, input_kinds):
        return "analog"


# --------------------------------------------------------------------------- structural


@dataclass(frozen=True, eq=False)
class Add(Node):
    """Elementwise sum of two or more tensors of one shape: ``Y = X_1 + X_2 + ...``.

    On a neuromorphic chip this is free: several currents land on the same neurons.
    The sum of spike tensors is an integer tensor; anything else is analog.
    """

    op: ClassVar[str] = "add"
    arity: ClassVar[int | None] = None

    def output_shape(self, input_shapes):
        if any(tuple(s) != tuple(input_shapes[0]) for s in input_shapes):
            raise self._fail(f"inputs must share one shape, got {input_shapes}")
        return tuple(input_shapes[0])

    def emits(self, input_kinds):
        return "integer" if all(k in EVENT_KINDS for k in input_kinds) else "analog"


@dataclass(frozen=True, eq=False)
class Concat(Node):
    """Concatenation along channels: ``Y = [X_1; X_2; ...]`` (same H, W; or flat vectors)."""

    op: ClassVar[str] = "concat"
    arity: ClassVar[int | None] = None

    def output_shape(self, input_shapes):
        first = input_shapes[0]
        if any(len(s) != len(first) or tuple(s[1:]) != tuple(first[1:]) for s in input_shapes):
            raise self._fail(f"inputs must agree on every axis but channels, got {input_shapes}")
        return (sum(s[0] for s in input_shapes),) + tuple(first[1:])

    def emits(self, input_kinds):
        return _merge_kinds(input_kinds)


@dataclass(frozen=True, eq=False)
class _Pool2d(Node):
    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] = (0, 0)

    def validate(self):
        object.__setattr__(self, "kernel", _pair(self.kernel, "kernel"))
        stride = self.kernel if self.stride is None else self.stride
        object.__setattr__(self, "stride", _pair(stride, "stride"))
        object.__setattr__(self, "padding", _pair(self.padding, "padding"))
        if min(self.kernel) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise self._fail("kernel and stride must be >= 1 and padding >= 0")
        if self.padding[0] > self.kernel[0] // 2 or self.padding[1] > self.kernel[1] // 2:
            raise self._fail("padding must be at most half the kernel (as in torch)")

    def output_shape(self, input_shapes):
        shape = input_shapes[0]
        if len(shape) != 3:
            raise self._fail(f"needs a (C, H, W) input, got {shape}")
        c, h, w = shape
        ho = (h + 2 * self.padding[0] - self.kernel[0]) // self.stride[0] + 1
        wo = (w + 2 * self.padding[1] - self.kernel[1]) // self.stride[1] + 1
        if ho < 1 or wo < 1:
            raise self._fail(f"window {self.kernel} does not fit a {h}x{w} input")
        return (c, ho, wo)


@dataclass(frozen=True, eq=False)
class MaxPool2d(_Pool2d):
    """Max pooling: ``Y[c, i, j] = max_{u, v} X[c, s_h i - p_h + u, s_w j - p_w + v]``.

    Padding is -inf (never selected), as in torch. Max of spikes is a spike.
    """

    op: ClassVar[str] = "maxpool2d"


@dataclass(frozen=True, eq=False)
class AvgPool2d(_Pool2d):
    """Average pooling: ``Y[c, i, j] = (1 / (k_h k_w)) sum_{u, v} X[c, s_h i - p_h + u, s_w j - p_w + v]``.

    Padded positions count as zeros in the divisor (torch's ``count_include_pad=True``).
    """

    op: ClassVar[str] = "avgpool2d"

    def emits(self, input_kinds):
        return "analog"


@dataclass(frozen=True, eq=False)
class SumPool2d(_Pool2d):
    """Sum pooling: ``Y[c, i, j] = sum_{u, v} X[c, s_h i - p_h + u, s_w j - p_w + v]``.

    On spikes it emits integer events (as Speck's sum-pooling does).
    """

    op: ClassVar[str] = "sumpool2d"

    def emits(self, input_kinds):
        return "integer" if input_kinds[0] in EVENT_KINDS else "analog"


@dataclass(frozen=True, eq=False)
class Upsample(Node):
    """Nearest-neighbour upsampling by an integer factor: ``Y[c, i, j] = X[c, i // s, j // s]``."""

    scale: int = 2

    op: ClassVar[str] = "upsample"

    def validate(self):
        object.__setattr__(self, "scale", int(self.scale))
        if self.scale < 1:
            raise self._fail(f"scale must be a positive integer, got {self.scale}")

    def output_shape(self, input_shapes):
        shape = input_shapes[0]
        if len(shape) != 3:
            raise self._fail(f"needs a (C, H, W) input, got {shape}")
        c, h, w = shape
        return (c, h * self.scale, w * self.scale)


@dataclass(frozen=True, eq=False)
class Flatten(Node):
    """Flatten a map to a vector in torch's order: ``Y[c H W + i W + j] = X[c, i, j]``."""

    op: ClassVar[str] = "flatten"

    def output_shape(self, input_shapes):
        return (int(np.prod(input_shapes[0])),)


# --------------------------------------------------------------------------- neurons


def _check_compare(node: Node, compare: str):
    if compare not in (">", ">="):
        raise node._fail(f"compare must be '>' or '>=', got {compare!r}")


LIF_RESETS = ("hard", "soft", "soft-delayed")
CUBA_RESETS = ("hard", "soft-delayed", "zero-delayed")


def _check_reset(node: Node, reset: str, allowed=LIF_RESETS):
    if reset not in allowed:
        raise node._fail(f"reset must be one of {', '.join(repr(r) for r in allowed)}, got {reset!r}")


@dataclass(frozen=True, eq=False)
class LIF(Node):
    """Leaky integrate-and-fire neuron with binary spikes.

    Charge::

        H_t = decay * V_{t-1} + X_t                       (decay_input = False; EMS-YOLO)
        H_t = V_{t-1} + (X_t - V_{t-1}) * (1 - decay)     (decay_input = True; SpikingJelly, decay = 1 - 1/tau)

    Spike ``S_t = [H_t > threshold]`` (or ``>=``). Reset::

        V_t = H_t (1 - S_t) + reset_value S_t             (hard)
        V_t = H_t - threshold S_t                         (soft)
        V_t = H_t, and the next charge subtracts threshold S_t after the leak:
        H_{t+1} = decay V_t + X_{t+1} - threshold S_t     (soft-delayed; snnTorch's reset_delay)

    In ``soft-delayed`` the reset is not decayed (``soft`` decays it with ``V``); the state keeps
    ``H_t``, so ``S_t = [V_t > threshold]`` is recomputed from it (as snnTorch does).
    """

    threshold: float = 1.0
    decay: float = 0.5
    reset: str = "hard"
    reset_value: float = 0.0
    compare: str = ">"
    decay_input: bool = False

    op: ClassVar[str] = "lif"
    is_neuron: ClassVar[bool] = True

    def validate(self):
        for f in ("threshold", "decay", "reset_value"):
            value = getattr(self, f)
            if not isinstance(value, (int, float, np.floating, np.integer)) or not math.isfinite(value):
                raise self._fail(f"{f} must be a finite number, got {value!r}")
            object.__setattr__(self, f, float(value))
        if not 0.0 <= self.decay <= 1.0:
            raise self._fail(f"decay must lie in [0, 1], got {self.decay}")
        object.__setattr__(self, "decay_input", bool(self.decay_input))
        _check_compare(self, self.compare)
        _check_reset(self, self.reset)

    def emits(self, input_kinds):
        return "binary"


@dataclass(frozen=True, eq=False)
class IF(Node):
    """Integrate-and-fire neuron (no leak): ``H_t = V_{t-1} + X_t``; spike and reset as :class:`LIF`
    (``hard``, ``soft`` or ``soft-delayed``)."""

    threshold: float = 1.0
    reset: str = "hard"
    reset_value: float = 0.0
    compare: str = ">"

    op: ClassVar[str] = "if"
    is_neuron: ClassVar[bool] = True

    def validate(self):
        for f in ("threshold", "reset_value"):
            value = getattr(self, f)
            if not isinstance(value, (int, float, np.floating, np.integer)) or not math.isfinite(value):
                raise self._fail(f"{f} must be a finite number, got {value!r}")
            object.__setattr__(self, f, float(value))
        _check_compare(self, self.compare)
        _check_reset(self, self.reset)

    def emits(self, input_kinds):
        return "binary"


@dataclass(frozen=True, eq=False)
class ILIF(Node):
    """Integer leaky integrate-and-fire neuron (SpikeYOLO's I-LIF).

    Charge as :class:`LIF` (``decay_input`` selects the SpikingJelly form used by the Gen1
    model). Spike ``S_t = round_half_even(clamp(H_t, 0, D))``, an integer in ``[0, D]``.
    Soft reset by the spike: ``V_t = H_t - S_t``. With T = 1 this is ``round(clamp(X, 0, D))``.
    In spike-driven accounting an integer spike ``s`` is ``s`` binary events over D virtual steps.
    """

    decay: float = 0.25
    max_spike: int = 4
    decay_input: bool = False

    op: ClassVar[str] = "ilif"
    is_neuron: ClassVar[bool] = True

    def validate(self):
        object.__setattr__(self, "decay", float(self.decay))
        object.__setattr__(self, "max_spike", int(self.max_spike))
        object.__setattr__(self, "decay_input", bool(self.decay_input))
        if not 0.0 <= self.decay <= 1.0:
            raise self._fail(f"decay must lie in [0, 1], got {self.decay}")
        if self.max_spike < 1:
            raise self._fail(f"max_spike (D) must be >= 1, got {self.max_spike}")

    def emits(self, input_kinds):
        return "binary" if self.max_spike == 1 else "integer"


@dataclass(frozen=True, eq=False)
class HoyerSpike(Node):
    """Hoyer-threshold spike of one-time-step SNNs (Datta et al.), fixed after training.

    ``S_t = [X_t / clip >= threshold]`` with ``clip`` the trained clipping value and
    ``threshold`` the running Hoyer extremum. Stateless: each timestep is independent.
    """

    clip: float = 1.0
    threshold: float = 1.0

    op: ClassVar[str] = "hoyer"
    is_neuron: ClassVar[bool] = True

    def validate(self):
        object.__setattr__(self, "clip", float(self.clip))
        object.__setattr__(self, "threshold", float(self.threshold))
        if not self.clip > 0 or not math.isfinite(self.clip):
            raise self._fail(f"clip must be a positive number, got {self.clip}")
        if not math.isfinite(self.threshold):
            raise self._fail(f"threshold must be finite, got {self.threshold}")

    def emits(self, input_kinds):
        return "binary"


# --------------------------------------------------------------------------- analog


@dataclass(frozen=True, eq=False)
class ReLU(Node):
    """``Y = max(X, 0)``."""

    op: ClassVar[str] = "relu"

    def emits(self, input_kinds):
        return "analog"


@dataclass(frozen=True, eq=False)
class SiLU(Node):
    """``Y = X * sigmoid(X) = X / (1 + exp(-X))``."""

    op: ClassVar[str] = "silu"

    def emits(self, input_kinds):
        return "analog"


@dataclass(frozen=True, eq=False)
class Sigmoid(Node):
    """``Y = 1 / (1 + exp(-X))``."""

    op: ClassVar[str] = "sigmoid"

    def emits(self, input_kinds):
        return "analog"


@dataclass(frozen=True, eq=False)
class Mul(Node):
    """Elementwise product of two tensors, with broadcasting of size-1 axes (gates, attention):
    ``Y = X_1 * X_2``; e.g. ``(C, H, W) * (C, 1, 1)`` or ``(C, H, W) * (1, H, W)``."""

    op: ClassVar[str] = "mul"
    arity: ClassVar[int | None] = 2

    def output_shape(self, input_shapes):
        a, b = (tuple(s) for s in input_shapes)
        if len(a) != len(b):
            raise self._fail(f"inputs must have the same number of axes, got {a} and {b}")
        out = []
        for x, y in zip(a, b):
            if x != y and 1 not in (x, y):
                raise self._fail(f"shapes {a} and {b} do not broadcast")
            out.append(max(x, y))
        return tuple(out)

    def emits(self, input_kinds):
        if all(k == "binary" for k in input_kinds):
            return "binary"
        return "analog"


@dataclass(frozen=True, eq=False)
class GlobalAvgPool(Node):
    """Global average pooling to ``(C, 1, 1)``: ``Y[c] = mean_{i, j} X[c, i, j]``."""

    op: ClassVar[str] = "globalavgpool"

    def output_shape(self, input_shapes):
        shape = input_shapes[0]
        if len(shape) != 3:
            raise self._fail(f"needs a (C, H, W) input, got {shape}")
        return (shape[0], 1, 1)

    def emits(self, input_kinds):
        return "analog"


# --------------------------------------------------------------------------- per-neuron parameters
# The nodes below (from NIR, where every parameter may differ per neuron) hold their
# parameters as arrays: one value for all (shape () or (1,)), one per channel (shape (C,)),
# or one per neuron (the node's shape).


def broadcast_param(value: np.ndarray, shape: Shape) -> np.ndarray | None:
    """``value`` broadcast to ``shape`` by the rule above (torch layout), or None if it does not fit."""
    value = np.asarray(value)
    if value.size == 1:
        return np.broadcast_to(value.reshape(()), shape)
    if tuple(value.shape) == tuple(shape):
        return value
    if len(shape) == 3 and value.shape == (shape[0],):
        return np.broadcast_to(value.reshape(shape[0], 1, 1), shape)
    return None


@dataclass(frozen=True, eq=False)
class _PerNeuron(Node):
    """Base of the nodes whose ``array_fields`` are per-neuron parameters (see broadcast_param)."""

    def validate(self):
        for f in self.array_fields:
            value = getattr(self, f)
            if value is None:
                raise self._fail(f"{f} is required")
            if value.size == 0 or not np.all(np.isfinite(value)):
                raise self._fail(f"{f} must hold finite numbers")
        self.check_values()

    def check_values(self) -> None:
        """Range checks of the parameter values."""

    def _check_decay(self, *names: str):
        for f in names:
            value = getattr(self, f)
            if np.any(value < 0) or np.any(value > 1):
                raise self._fail(f"{f} must lie in [0, 1], got values in [{value.min()}, {value.max()}]")

    def output_shape(self, input_shapes):
        shape = tuple(input_shapes[0])
        for f in self.array_fields:
            if broadcast_param(getattr(self, f), shape) is None:
                raise self._fail(
                    f"{f} has shape {getattr(self, f).shape}; it must have one value, one per channel "
                    f"or one per neuron of the {shape} input")
        return shape

    def param(self, field_name: str, shape: Shape) -> np.ndarray:
        """Parameter ``field_name`` broadcast to ``shape`` (torch layout)."""
        return broadcast_param(getattr(self, field_name), shape)


@dataclass(frozen=True, eq=False)
class Scale(_PerNeuron):
    """Elementwise multiplication by a constant: ``Y = scale * X`` (NIR's Scale); analog.

    ``scale`` has one value, one per channel or one per element (see :func:`broadcast_param`).
    """

    scale: np.ndarray = 1.0

    op: ClassVar[str] = "scale"
    array_fields: ClassVar[tuple[str, ...]] = ("scale",)

    def emits(self, input_kinds):
        return "analog"


@dataclass(frozen=True, eq=False)
class Threshold(_PerNeuron):
    """Stateless Heaviside spike (NIR's Threshold): ``S_t = [X_t > threshold]``; binary.

    ``threshold`` has one value, one per channel or one per neuron.
    """

    threshold: np.ndarray = 0.0

    op: ClassVar[str] = "threshold"
    is_neuron: ClassVar[bool] = True
    array_fields: ClassVar[tuple[str, ...]] = ("threshold",)

    def emits(self, input_kinds):
        return "binary"


@dataclass(frozen=True, eq=False)
class LI(_PerNeuron):
    """Leaky integrator (non-spiking neuron; NIR's LI and I): the output is the membrane::

        V_t = decay * V_{t-1} + gain * X_t + bias,      Y_t = V_t

    With ``decay = 1`` and ``bias = 0`` it is a pure integrator. Every parameter has one value,
    one per channel or one per neuron. Analog output (a readout layer).
    """

    decay: np.ndarray = 1.0
    gain: np.ndarray = 1.0
    bias: np.ndarray = 0.0

    op: ClassVar[str] = "li"
    is_neuron: ClassVar[bool] = True
    array_fields: ClassVar[tuple[str, ...]] = ("decay", "gain", "bias")

    def check_values(self):
        self._check_decay("decay")

    def emits(self, input_kinds):
        return "analog"


@dataclass(frozen=True, eq=False)
class CubaLI(_PerNeuron):
    """Current-based leaky integrator (non-spiking; NIR's CubaLI): a synaptic current ``I`` charges
    the membrane ``V``, and the output is the membrane::

        I_t = syn_decay * I_{t-1} + syn_gain * X_t
        V_t = mem_decay * V_{t-1} + mem_gain * I_t + bias,      Y_t = V_t

    with ``I_{-1} = V_{-1} = 0``. The membrane sees this timestep's current. Analog output.
    """

    syn_decay: np.ndarray = 0.0
    syn_gain: np.ndarray = 1.0
    mem_decay: np.ndarray = 1.0
    mem_gain: np.ndarray = 1.0
    bias: np.ndarray = 0.0

    op: ClassVar[str] = "cubali"
    is_neuron: ClassVar[bool] = True
    array_fields: ClassVar[tuple[str, ...]] = ("syn_decay", "syn_gain", "mem_decay", "mem_gain", "bias")

    def check_values(self):
        self._check_decay("syn_decay", "mem_decay")

    def emits(self, input_kinds):
        return "analog"


@dataclass(frozen=True, eq=False)
class CubaLIF(_PerNeuron):
    """Current-based leaky integrate-and-fire neuron (NIR's CubaLIF), binary spikes::

        I_t = syn_decay * I_{t-1} + syn_gain * X_t
        H_t = mem_decay * V_{t-1} + mem_gain * I_t + bias
        S_t = [H_t > threshold]
        V_t = reset_value if S_t else H_t                               (reset = "hard"; NIR)

    with ``I_{-1} = V_{-1} = 0``: the synaptic current is never reset. With ``syn_decay = 0``
    and ``syn_gain = 1`` it is a LIF with per-neuron parameters (``I_t = X_t``). Every
    parameter has one value, one per channel or one per neuron. The two delayed resets are
    snnTorch's ``Synaptic`` (``reset_delay=True``); the state keeps ``V_t = H_t`` and
    ``S_{t-1} = [V_{t-1} > threshold]``::

        H_t = mem_decay V_{t-1} + mem_gain I_t + bias - threshold S_{t-1}    (reset = "soft-delayed")
        H_t = (1 - S_{t-1}) (mem_decay V_{t-1} + mem_gain I_t + bias)        (reset = "zero-delayed")

    (``reset_value`` is unused by the delayed resets.)
    """

    syn_decay: np.ndarray = 0.0
    syn_gain: np.ndarray = 1.0
    mem_decay: np.ndarray = 1.0
    mem_gain: np.ndarray = 1.0
    bias: np.ndarray = 0.0
    threshold: np.ndarray = 1.0
    reset_value: np.ndarray = 0.0
    reset: str = "hard"

    op: ClassVar[str] = "cubalif"
    is_neuron: ClassVar[bool] = True
    array_fields: ClassVar[tuple[str, ...]] = ("syn_decay", "syn_gain", "mem_decay", "mem_gain", "bias",
                                               "threshold", "reset_value")

    def check_values(self):
        self._check_decay("syn_decay", "mem_decay")
        _check_reset(self, self.reset, CUBA_RESETS)

    def emits(self, input_kinds):
        return "binary"


NODE_TYPES: dict[str, type[Node]] = {
    cls.op: cls
    for cls in (Input, Conv2d, Linear, Add, Concat, MaxPool2d, AvgPool2d, SumPool2d, Upsample,
                Flatten, LIF, IF, ILIF, HoyerSpike, ReLU, SiLU, Sigmoid, Mul, GlobalAvgPool,
                Scale, Threshold, LI, CubaLI, CubaLIF)
}
