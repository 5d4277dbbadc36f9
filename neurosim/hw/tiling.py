"""Cut one layer into boxes of neurons that each fit a core.

A core offers ``neurons`` neuron slots, ``fan_in`` input axons and ``synapse_bits`` of synapse
memory (None: not a limit). A box of ``cc`` channels x ``rr`` rows x ``ww`` columns needs:

* neurons  = ``cc rr ww``
* fan-in   = sum over the layer's synaptic nodes of the distinct input neurons it reads (with
  ``population`` axons, of a convolution's distinct input positions: one axon per position
  carries all its channels; the placement then counts them exactly per source core)
* synapses = sum over the layer's synaptic nodes of the memory model below

Synapse memory models (profile setting ``synapse_memory``):

* ``shared-kernels``: a core stores the kernels of its channels once (weight sharing):
  ``bits = cc * C_in/groups * k_h * k_w * weight_bits`` (Linear: ``outputs * N_in * weight_bits``).
* ``per-axon-lists``: no weight sharing; each input axon has a list of its synapses on the
  core, stored in ``word`` bits words (nengo-loihi's rule):
  ``bits = sum_axons roundup(n_axon * (weight_bits + delay_bits + tag_bits) + overhead, word)``.
* ``crossbar``: a binary crossbar of ``fan_in x neurons`` bits; limited by the crossbar size,
  not by a memory budget.

**Fan-in split** (profile setting ``fan_in_split: partial-currents``): when one neuron's fan-in
or synapses exceed a core, the layer's input channels are cut into ``P`` groups and every box is
held by ``P`` cores, one per group, each summing its group's synapses into a dendrite
compartment per neuron; cores ``1..P-1`` send their partial current to core 0 (the soma) once
per step. A box of ``n`` neurons then needs, per core (:class:`SplitGeometry`)::

    fan-in   = sum_nodes ceil(fan_in_node x ceil(C_node / P) / C_node) + (P - 1) n
    synapses = sum_nodes bits_node x ceil(C_node / P) / C_node + (P - 1) n x bits(one synapse)

(the ``(P - 1) n`` partial-current axons are needed on the soma core only; every core is sized
for them, so the P cores of a box are alike). ``P`` is the smallest that places the layer.

The search tries every box shape ``ww = ceil(W / j)`` (outer loop) and ``rr = ceil(H / i)``
and, for each, the largest ``cc`` that fits, and keeps the shape that needs the fewest cores
(ties: the first found, so full-width bands of rows are preferred). Boxes are laid out
channel-major, then by rows, then by columns.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import DoesNotFit
from ..ir.graph import Graph
from ..ir.nodes import Linear
from .geometry import (synapse_count_patterns, synapse_fan_in, synapse_weights_in_box)
from .layers import Layer, shape3

MEMORY_MODELS = ("shared-kernels", "per-axon-lists", "crossbar")


@dataclass(frozen=True)
class CoreLimits:
    neurons: int
    fan_in: int | None = None
    synapse_bits: float | None = None
    fan_out: int | None = None


@dataclass(frozen=True)
class SynapseMemory:
    """How synapse memory is counted (see the module docstring)."""

    model: str
    weight_bits: float = 8.0
    delay_bits: float = 0.0
    tag_bits: float = 0.0
    overhead_bits: float = 0.0
    word_bits: float = 64.0

    def bits(self, node, in_shape, box) -> float:
        if self.model == "shared-kernels":
            return float(synapse_weights_in_box(node, box) * self.weight_bits)
        if self.model == "per-axon-lists":
            per_syn = self.weight_bits + self.delay_bits + self.tag_bits
            total = 0.0
            for counts, multiplicity in synapse_count_patterns(node, in_shape, box):
                raw = counts.astype(np.float64) * per_syn + self.overhead_bits
                words = np.ceil(raw / self.word_bits) * self.word_bits
                total += float(words[counts > 0].sum()) * multiplicity
            return total
        if self.model == "crossbar":
            c0, c1, y0, y1, x0, x1 = (int(v) for v in box)
            return float(synapse_fan_in(node, in_shape, box) * (c1 - c0) * (y1 - y0) * (x1 - x0))
        raise ValueError(f"unknown synapse memory model {self.model!r}")


class LayerGeometry:
    """What a box of one layer needs on a core (neurons, fan-in, synapse memory)."""

    def __init__(self, layer: Layer, graph: Graph, memory: SynapseMemory, population: bool = False):
        self.layer = layer
        self.memory = memory
        self.population = population
        self.synapses = [(graph.node(s), shape3(graph.shapes[graph.node(s).inputs[0]]))
                         for s in layer.synapses]
        self.grouped = any(getattr(node, "groups", 1) > 1 for node, _ in self.synapses)
        self._needs: dict[tuple, dict] = {}

    def needs(self, box) -> dict[str, float]:
        key = tuple(int(v) for v in box)
        if key not in self._needs:
            self._needs[key] = self._compute_needs(key)
        return dict(self._needs[key])

    def _compute_needs(self, box) -> dict[str, float]:
        c0, c1, y0, y1, x0, x1 = box
        neurons = max(0, c1 - c0) * max(0, y1 - y0) * max(0, x1 - x0)
        fan_in = sum(synapse_fan_in(node, shp, box, self.population) for node, shp in self.synapses)
        bits = sum(self.memory.bits(node, shp, box) for node, shp in self.synapses)
        return {"neurons": neurons, "fan_in": fan_in, "synapse_bits": bits}

    def fits(self, box, limits: CoreLimits, neuron_cap: int) -> bool:
        need = self.needs(box)
        if need["neurons"] > neuron_cap:
            return False
        if limits.fan_in is not None and need["fan_in"] > limits.fan_in:
            return False
        if limits.synapse_bits is not None and need["synapse_bits"] > limits.synapse_bits:
            return False
        return True


class SplitGeometry:
    """A :class:`LayerGeometry` whose input channels are cut into ``parts`` groups (see the
    module docstring): what one of the ``parts`` cores of a box needs."""

    def __init__(self, base: LayerGeometry, parts: int):
        self.base, self.parts = base, int(parts)
        self.layer, self.memory, self.grouped = base.layer, base.memory, base.grouped
        self._needs: dict[tuple, dict] = {}

    def group_fraction(self, channels: int) -> float:
        """Share of a node's input channels in its largest group: ``ceil(C / P) / C``."""
        return math.ceil(channels / self.parts) / channels if channels else 0.0

    def partial_synapse_bits(self) -> float:
        """Synapse memory of one partial-current input (one synapse of weight 1 on its axon)."""
        m = self.memory
        if m.model == "per-axon-lists":
            raw = m.weight_bits + m.delay_bits + m.tag_bits + m.overhead_bits
            return math.ceil(raw / m.word_bits) * m.word_bits
        return m.weight_bits

    def needs(self, box) -> dict[str, float]:
        key = tuple(int(v) for v in box)
        if key not in self._needs:
            c0, c1, y0, y1, x0, x1 = key
            neurons = max(0, c1 - c0) * max(0, y1 - y0) * max(0, x1 - x0)
            fan_in, bits = 0.0, 0.0
            for node, shp in self.base.synapses:
                f = self.group_fraction(shp[0])
                # population axons: each position's axon carries every channel, so a group of
                # channels needs as many axons as all of them
                pooled = self.base.population and not isinstance(node, Linear)
                axons = synapse_fan_in(node, shp, key, pooled)
                fan_in += axons if pooled else math.ceil(axons * f)
                bits += self.memory.bits(node, shp, key) * f
            extra = (self.parts - 1) * neurons
            self._needs[key] = {"neurons": neurons, "fan_in": fan_in + extra,
                                "synapse_bits": bits + extra * self.partial_synapse_bits()}
        return dict(self._needs[key])

    fits = LayerGeometry.fits


def split_partition(geom: LayerGeometry, limits: CoreLimits, chip: str, neuron_cap: int | None = None,
                    max_parts: int = 64, position_cap: int | None = None
                    ) -> tuple[np.ndarray, "SplitGeometry | LayerGeometry"]:
    """:func:`partition_layer`, splitting the layer's fan-in over the fewest groups ``P`` that
    place it when one neuron does not fit a core. Returns the boxes and the geometry used
    (``SplitGeometry`` when split; its ``parts`` is ``P``)."""
    try:
        return partition_layer(geom, limits, chip, neuron_cap, position_cap), geom
    except DoesNotFit as unsplit:
        first = unsplit
    channels = max((shp[0] for _, shp in geom.synapses), default=1)
    for parts in range(2, min(max_parts, channels) + 1):
        split = SplitGeometry(geom, parts)
        try:
            return partition_layer(split, limits, chip, neuron_cap, position_cap), split
        except DoesNotFit:
            continue
    raise DoesNotFit(f"{first} (splitting its input channels over up to "
                     f"{min(max_parts, channels)} cores does not place it either)")


def tile_boxes(shape, cc: int, rr: int, ww: int) -> np.ndarray:
    """All boxes of size ``cc x rr x ww`` covering ``shape``, channel-major."""
    C, H, W = shape
    out = [(c, min(C, c + cc), y, min(H, y + rr), x, min(W, x + ww))
           for c in range(0, C, cc) for y in range(0, H, rr) for x in range(0, W, ww)]
    return np.array(out, np.int64).reshape(-1, 6)


def _starts(length: int, step: int, many: bool) -> list[int]:
    n = math.ceil(length / step)
    picks = {0, n - 1, n // 2} | ({1} if many and n > 1 else set())
    return sorted(p * step for p in picks if 0 <= p < n)


def _probe_boxes(shape, cc, rr, ww, grouped: bool) -> list[tuple]:
    C, H, W = shape
    cs = _starts(C, cc, grouped) if grouped else [0]
    return [(c, min(C, c + cc), y, min(H, y + rr), x, min(W, x + ww))
            for c in cs for y in _starts(H, rr, True) for x in _starts(W, ww, True)]


def _distinct_sizes(n: int) -> list[int]:
    return sorted({math.ceil(n / k) for k in range(1, n + 1)}, reverse=True)


def partition_layer(geom: LayerGeometry, limits: CoreLimits, chip: str,
                    neuron_cap: int | None = None, position_cap: int | None = None) -> np.ndarray:
    """Boxes of ``geom.layer`` that each fit a core, with at most ``neuron_cap`` neurons and
    ``position_cap`` positions ``rr x ww`` per box; DoesNotFit if one neuron does not fit."""
    shape = geom.layer.shape
    C, H, W = shape
    cap = limits.neurons if neuron_cap is None else max(1, min(limits.neurons, neuron_cap))
    best = None

    def ok(cc, rr, ww):
        return all(geom.fits(b, limits, cap) for b in _probe_boxes(shape, cc, rr, ww, geom.grouped))

    for ww in _distinct_sizes(W):
        for rr in _distinct_sizes(H):
            if rr * ww > cap or (position_cap is not None and rr * ww > max(1, position_cap)):
                continue
            tiles = math.ceil(H / rr) * math.ceil(W / ww)
            cc_cap = min(C, cap // (rr * ww))
            if best is not None and tiles * math.ceil(C / cc_cap) >= best[0]:
                continue
            if not ok(1, rr, ww):
                continue
            lo, hi = 1, cc_cap
            if ok(hi, rr, ww):
                lo = hi
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if ok(mid, rr, ww):
                    lo = mid
                else:
                    hi = mid - 1
            cores = tiles * math.ceil(C / lo)
            if best is None or cores < best[0]:
                best = (cores, lo, rr, ww)
    if best is None:
        raise DoesNotFit(_one_neuron_message(geom, limits, chip))
    _, cc, rr, ww = best
    while True:
        boxes = tile_boxes(shape, cc, rr, ww)
        if all(geom.fits(b, limits, cap) for b in boxes):
            return boxes
        # a box the probes missed does not fit: shrink channels, then columns, then rows
        if cc > 1:
            cc -= 1
        elif ww > 1:
            ww -= 1
        elif rr > 1:
            rr -= 1
        else:
            raise DoesNotFit(_one_neuron_message(geom, limits, chip))


def _one_neuron_message(geom: LayerGeometry, limits: CoreLimits, chip: str) -> str:
    shape = geom.layer.shape
    worst = {"fan_in": 0, "synapse_bits": 0.0}
    C, H, W = shape
    for c in {0, C - 1}:
        for y in {0, H // 2, H - 1}:
            for x in {0, W // 2, W - 1}:
                need = geom.needs((c, c + 1, y, y + 1, x, x + 1))
                worst["fan_in"] = max(worst["fan_in"], need["fan_in"])
                worst["synapse_bits"] = max(worst["synapse_bits"], need["synapse_bits"])
    parts = []
    if limits.fan_in is not None and worst["fan_in"] > limits.fan_in:
        parts.append(f"one neuron needs {worst['fan_in']} input axons but a core accepts {limits.fan_in}")
    if limits.synapse_bits is not None and worst["synapse_bits"] > limits.synapse_bits:
        parts.append(f"one neuron needs {worst['synapse_bits']:.0f} bits of synapse memory "
                     f"but a core has {limits.synapse_bits:.0f}")
    why = " and ".join(parts) or "a single neuron does not fit a core"
    return (f"layer '{geom.layer.name}' cannot be placed on {chip}: {why}; no number of cores or "
            f"chips can hold it without splitting a neuron's fan-in across cores")
