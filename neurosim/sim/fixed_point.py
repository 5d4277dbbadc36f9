"""Fixed-point mode: integer weights and saturating integer membranes, as integer chips compute.

Rules (documented in docs/api.md):

* Every neuron node N has a state unit ``u_N``: ``threshold / 2^f`` for LIF and IF,
  ``clip * threshold / 2^f`` for the Hoyer spike, ``1 / 2^f`` for I-LIF (``f = frac_bits``).
  So the threshold is exactly ``2^f`` units and an I-LIF spike of 1 is ``2^f`` units.
  A Threshold node (per-neuron thresholds) has ``max|threshold| / 2^f`` and compares its
  input with ``round_half_even(threshold / u_N)``. LI, CubaLI and CubaLIF have no
  fixed-point rule: the plan refuses them.
* A synaptic node S that feeds neurons (directly or through Adds) sharing one unit ``u``
  produces currents in that unit. Its weights are stored as a ``weight_bits``-bit signed
  mantissa with a per-layer power-of-two exponent (as Loihi does)::

      e   = max(0, ceil(log2(max|W| / (u m))))         m = 2^(weight_bits - 1) - 1
      W_q = clip(round_half_even(W / (u 2^e)), -m, m) 2^e        (integer, in units of u)
      b_q = round_half_even(b / u)

  Otherwise (a head conv), ``u = max|W| / m`` and ``e = 0``; consumers dequantize its output.
* Spikes are integers (unit 1), so an event-fed synaptic node accumulates exact integers.
  A synaptic node fed by analog values computes ``round_half_even(sum W_q x) + b_q`` in float64.
* Neuron state saturates to ``[-2^(state_bits-1), 2^(state_bits-1) - 1]`` after each charge.
  Decay is a ``decay_bits`` fraction ``d_q = round(decay 2^decay_bits)`` applied with an
  arithmetic right shift: ``(V d_q) >> decay_bits`` (rounds toward minus infinity).
* Analog nodes (ReLU, SiLU, Sigmoid, Mul, pooling of analog values) run in float64 on
  dequantized values; a neuron fed by a float tensor rounds it to its unit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import NeurosimError
from ..ir import nodes as ir
from ..ir.graph import Graph


@dataclass(frozen=True)
class FixedPointConfig:
    """Bit widths of the fixed-point mode (a chip profile supplies them)."""

    weight_bits: int = 8
    state_bits: int = 16
    frac_bits: int = 6
    decay_bits: int = 12

    def __post_init__(self):
        if not 2 <= self.weight_bits <= 32 or not 4 <= self.state_bits <= 48:
            raise NeurosimError("weight_bits must lie in [2, 32] and state_bits in [4, 48]")
        if not 0 <= self.frac_bits < self.state_bits - 1 or not 1 <= self.decay_bits <= 24:
            raise NeurosimError("frac_bits must lie in [0, state_bits - 2] and decay_bits in [1, 24]")

    @property
    def state_range(self) -> tuple[int, int]:
        return -(1 << (self.state_bits - 1)), (1 << (self.state_bits - 1)) - 1


def round_half_even(x) -> np.ndarray:
    return np.rint(x)


class FixedPointPlan:
    """Units and integer parameters of every node of ``graph`` under ``config``.

    ``unit[name]`` is the value of one integer step of the node's output, or None when the
    node outputs float values. Spike tensors have unit 1.
    """

    def __init__(self, graph: Graph, config: FixedPointConfig):
        self.config = config
        self.shapes = graph.shapes
        self.unit: dict[str, float | None] = {}
        self.weights: dict[str, np.ndarray] = {}
        self.bias: dict[str, np.ndarray | None] = {}
        self.exponent: dict[str, int] = {}
        consumers = graph.consumers()
        neuron_unit = {n.name: self._neuron_unit(n) for n in graph.nodes if n.is_neuron}
        for node in graph.nodes:
            name = node.name
            if node.is_neuron or graph.kinds[name] != "analog":
                self.unit[name] = 1.0
            elif node.is_synaptic:
                target = _target_unit(name, graph, consumers, neuron_unit)
                self._quantize_synaptic(node, target)
            elif isinstance(node, ir.Add):
                target = _target_unit(name, graph, consumers, neuron_unit)
                if target is None:
                    units = {self.unit[s] for s in node.inputs}
                    target = units.pop() if len(units) == 1 else None
                self.unit[name] = target
            elif isinstance(node, (ir.Upsample, ir.Flatten, ir.Concat)):
                units = {self.unit[s] for s in node.inputs}
                self.unit[name] = units.pop() if len(units) == 1 else None
            else:
                self.unit[name] = None
        self.neuron_unit = neuron_unit

    def _neuron_unit(self, node) -> float:
        scale = float(1 << self.config.frac_bits)
        if isinstance(node, (ir.LIF, ir.IF)):
            if node.threshold <= 0:
                raise NeurosimError(f"node '{node.name}': fixed-point mode needs a positive threshold, got {node.threshold}")
            return node.threshold / scale
        if isinstance(node, ir.HoyerSpike):
            base = node.clip * node.threshold
            if base <= 0:
                raise NeurosimError(f"node '{node.name}': fixed-point mode needs clip * threshold > 0")
            return base / scale
        if isinstance(node, ir.ILIF):
            return 1.0 / scale
        if isinstance(node, ir.Threshold):
            base = float(np.abs(node.threshold).max())
            return (base if base > 0 else 1.0) / scale
        raise NeurosimError(f"node '{node.name}': no fixed-point rule for neuron type {node.op}; "
                            "simulate it in float32 or float64")

    def _quantize_synaptic(self, node, unit: float | None):
        m = (1 << (self.config.weight_bits - 1)) - 1
        w = node.weight.astype(np.float64)
        wmax = float(np.abs(w).max()) if w.size else 0.0
        if unit is None:
            unit = wmax / m if wmax > 0 else 1.0
            exponent = 0
        else:
            ratio = wmax / (unit * m)
            exponent = max(0, math.ceil(math.log2(ratio))) if ratio > 0 else 0
        step = unit * (1 << exponent)
        wq = np.clip(round_half_even(w / step), -m, m).astype(np.int64) << exponent
        self.weights[node.name] = wq
        self.bias[node.name] = None if node.bias is None else round_half_even(node.bias.astype(np.float64) / unit).astype(np.int64)
        self.exponent[node.name] = exponent
        self.unit[node.name] = unit

    def neuron_params(self, node) -> dict:
        """Integer parameters of a neuron node: threshold, reset value, decay factors, range."""
        cfg = self.config
        unit = self.neuron_unit[node.name]
        lo, hi = cfg.state_range
        one = 1 << cfg.frac_bits
        full = 1 << cfg.decay_bits
        decay = getattr(node, "decay", 1.0)
        params = {"lo": lo, "hi": hi, "one": one, "decay_shift": cfg.decay_bits,
                  "decay_q": int(round(decay * full)), "keep_q": int(round((1.0 - decay) * full)),
                  "threshold": one}
        if hasattr(node, "reset_value"):
            params["reset_value"] = int(round_half_even(node.reset_value / unit))
        if isinstance(node, ir.Threshold):
            params["thresholds"] = self.threshold_units(node)
        return params

    def threshold_units(self, node) -> np.ndarray:
        """Per-neuron thresholds of a Threshold node in its unit (int64, torch layout)."""
        shape = self.shapes[node.name]
        thr = node.param("threshold", shape).astype(np.float64)
        return round_half_even(thr / self.neuron_unit[node.name]).astype(np.int64)


def _target_unit(name: str, graph: Graph, consumers, neuron_unit) -> float | None:
    """The unit shared by every neuron that ``name`` feeds through Adds, or None."""
    units = set()
    stack = list(consumers[name])
    if name in graph.outputs:
        return None
    while stack:
        dst = stack.pop()
        node = graph.node(dst)
        if node.is_neuron:
            units.add(neuron_unit[dst])
        elif isinstance(node, ir.Add) and graph.kinds[dst] == "analog" and dst not in graph.outputs:
            stack.extend(consumers[dst])
        else:
            return None
    return units.pop() if len(units) == 1 else None
