"""Attribute a layer's counts to the cores that hold its neurons.

Per core ``j`` holding box ``j`` of the layer, per sample ``b`` and step ``t`` (arrays [B, T, S]):

* synaptic ops: ``sum_c syn_ops_per_channel[b, t, c] * share[c, j]`` where ``share[c, j]`` is
  the fraction of output channel ``c``'s operations landing in box ``j``, computed exactly from
  the input's event map (see :func:`neurosim.hw.geometry.synapse_box_ops`);
* MACs (analog-fed nodes): split by the box's dense, border-aware MACs;
* neuron updates and active neurons: split by the box's share of the layer's neurons;
* output events: ``sum_c out_spikes_per_channel[b, t, c] * spatial[c, j]`` where
  ``spatial[c, j]`` is the fraction of channel ``c``'s events (event map) inside box ``j``.

Run totals per core are therefore exact whenever the event maps are; the split over (b, t)
assumes each channel's spatial distribution is the same at every step. At every (b, t) the
cores sum exactly to the layer's count (:func:`neurosim.hw.accounting.distribute`).

:func:`layer_shares` finds each count's shares for one layer (its trace-independent geometry,
:class:`LayerPlan`, is kept in the placement's cache); :func:`chip_activity` multiplies the
counts by their shares for many layers at once, their cores side by side.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..ir.graph import Graph
from .accounting import fractions, is_event_fed
from .geometry import BoxGrid, SynapseBoxOps
from .layers import Layer
from .memo import node_total


@dataclass
class CoreActivity:
    """Per-core counts of one layer, each [B, T, S]."""

    syn_ops: np.ndarray
    macs: np.ndarray
    events_in: np.ndarray
    neuron_updates: np.ndarray
    active_neurons: np.ndarray
    out_events: np.ndarray
    fired: np.ndarray
    #: where :meth:`core_totals` reads (a mesh costing sums all its cores at once), or None
    totals_source: Callable[[str], np.ndarray] | None = field(default=None, repr=False, compare=False)

    def core_totals(self, name: str) -> np.ndarray:
        """``getattr(self, name).sum((0, 1))``: each core's count over samples and steps."""
        if self.totals_source is not None:
            return self.totals_source(name)
        return getattr(self, name).sum((0, 1))

    def cores(self, span: slice) -> "CoreActivity":
        """The counts of the cores ``span`` (views)."""
        return CoreActivity(*(getattr(self, c)[:, :, span] for c in COUNTS))


COUNTS = ("syn_ops", "macs", "events_in", "neuron_updates", "active_neurons", "out_events", "fired")


@dataclass
class SynapsePlan:
    """What one synaptic node of a layer needs to split its counts over the layer's boxes."""

    name: str
    source: str
    event_fed: bool
    box_ops: SynapseBoxOps
    mac_shares: np.ndarray | None = None     # [S]: analog-fed nodes split MACs by dense ops


class LayerPlan:
    """The trace-independent part of :func:`core_activity` for one layer and its boxes."""

    def __init__(self, layer: Layer, boxes: np.ndarray, graph: Graph):
        self.given = boxes
        self.boxes = boxes = np.asarray(boxes, np.int64).reshape(-1, 6)
        self.sizes = sizes = ((boxes[:, 1] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 2])
                              * (boxes[:, 5] - boxes[:, 4])).astype(np.float64)
        self.size_shares = fractions(sizes)
        self.synapses = []
        for s in layer.synapses:
            node = graph.node(s)
            src = node.inputs[0]
            plan = SynapsePlan(s, src, is_event_fed(graph, s), SynapseBoxOps(node, graph.shapes[src], boxes))
            if not plan.event_fed:
                plan.mac_shares = fractions(plan.box_ops(None)[0], fallback=sizes)
            self.synapses.append(plan)
        self.grid = grid = BoxGrid(layer.shape, boxes)
        n_cols = grid.cols.shape[1]
        self.cell = grid.row * n_cols + grid.col               # box j's cell of the grid sums
        self.full_cell = grid.full_row * n_cols + grid.full_col
        channel = np.arange(layer.shape[0])[:, None]
        self.holds = ((channel >= boxes[None, :, 0]) & (channel < boxes[None, :, 1])).astype(np.float64)  # [C, S]


def layer_plan(layer: Layer, boxes: np.ndarray, graph: Graph, cache: dict | None = None) -> LayerPlan:
    """The layer's :class:`LayerPlan`, kept in ``cache`` (a placement's) when given."""
    if cache is None:
        return LayerPlan(layer, boxes, graph)
    key = ("activity-plan", layer.name)
    plan = cache.get(key)
    if plan is None or (plan.given is not boxes and not np.array_equal(plan.boxes, boxes)):
        plan = cache[key] = LayerPlan(layer, boxes, graph)
    return plan


def spread(total: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """``total [B, T]`` times ``shares`` ([S] or [B, T, S]): :func:`distribute` with its shares known."""
    return np.asarray(total, np.float64)[..., None] * shares


@dataclass
class LayerShares:
    """How each count of a layer splits over its ``n_cores`` cores: ``terms[count]`` lists
    ``(total [B, T], shares [S] or [B, T, S])``, one per node feeding the count; the count of
    core ``j`` is the sum over the terms, in order, of ``total * shares[..., j]``."""

    n_cores: int
    terms: dict[str, list[tuple[np.ndarray, np.ndarray]]]
    #: [S] each core's output events over the run, split by the event map alone (zeros without
    #: neurons): what the run's events per core sum to, whichever samples the trace holds
    run_out_events: np.ndarray | None = None


def layer_shares(layer: Layer, boxes: np.ndarray, graph: Graph, trace, cache: dict | None = None) -> LayerShares:
    """The shares of the module docstring for ``layer`` whose cores hold ``boxes``. ``cache``
    (a placement's) keeps the geometry that does not depend on the trace."""
    plan = layer_plan(layer, boxes, graph, cache)
    sizes, one = plan.sizes, len(plan.sizes) == 1    # on one core every share is 1
    terms: dict[str, list] = {c: [] for c in COUNTS}
    for syn in plan.synapses:
        nt = trace.nodes[syn.name]
        if not syn.event_fed:
            terms["macs"].append((nt.macs, syn.mac_shares))
            continue
        if one:
            terms["syn_ops"].append((nt.syn_ops, sizes / sizes))
            terms["events_in"].append((nt.in_spikes, sizes / sizes))
            continue
        emap = trace.nodes[syn.source].event_map if syn.source in trace.nodes else None
        ops, share = syn.box_ops(emap)
        per_ch = nt.syn_ops_per_channel
        weights = per_ch @ share if per_ch is not None and per_ch.shape[-1] == share.shape[0] else ops
        by_ops = ops if ops.sum() > 0 else sizes
        terms["syn_ops"].append((nt.syn_ops, fractions(weights, fallback=by_ops)))
        terms["events_in"].append((nt.in_spikes, fractions(by_ops, fallback=sizes)))
    run_out = np.zeros(len(sizes))
    if layer.neuron:
        nt = trace.nodes[layer.neuron]
        if one or nt.event_map is None:
            out_shares = map_shares = plan.size_shares
        else:
            out_shares, map_shares = _out_shares(layer, plan, nt)
        run_out = node_total(nt, "out_spikes") * map_shares
        terms["neuron_updates"].append((nt.neuron_updates, plan.size_shares))
        terms["active_neurons"].append((nt.active_neurons, plan.size_shares))
        terms["out_events"].append((nt.out_spikes, out_shares))
        terms["fired"].append((nt.out_nonzero, out_shares))
    return LayerShares(len(sizes), terms, run_out)


def _out_shares(layer: Layer, plan: LayerPlan, nt) -> tuple[np.ndarray, np.ndarray]:
    """Shares of the layer's output events, from its event map and per-channel counts (per
    sample and step where they are known), and from its event map alone ([S])."""
    M = plan.grid.reduce(nt.event_map)
    M = M.reshape(len(M), -1)                                # [C, row ranges x column ranges]
    window = M[:, plan.cell] * plan.holds                    # [C, S]: channel c's events in box j
    in_box = window.sum(0)
    per_ch = nt.out_spikes_per_channel
    if per_ch is not None and per_ch.shape[-1] == layer.shape[0]:
        total = M[:, plan.full_cell:plan.full_cell + 1]      # [C, 1]: channel c's events
        positive = total > 0
        channel_shares = window / total if positive.all() else \
            np.divide(window, total, out=np.zeros(window.shape), where=positive)
        weights = per_ch @ channel_shares
    else:
        weights = in_box
    fallback = in_box if in_box.sum() > 0 else plan.sizes
    return fractions(weights, fallback=fallback), fractions(fallback)


def core_activity(layer: Layer, boxes: np.ndarray, graph: Graph, trace, cache: dict | None = None) -> CoreActivity:
    """Per-core counts of ``layer`` whose cores hold ``boxes`` (see the module docstring)."""
    return chip_activity([layer_shares(layer, boxes, graph, trace, cache)], trace.batch, trace.timesteps)


def chip_activity(layers: list[LayerShares], B: int, T: int) -> CoreActivity:
    """The per-core counts of several layers, their cores side by side ``[B, T, sum S]``: the
    first term of every layer is spread in one product over all cores (the same products as
    one layer at a time); a count a layer lacks is zero on its cores."""
    sizes = [s.n_cores for s in layers]
    N = sum(sizes)
    layer_of_core = np.repeat(np.arange(len(layers)), sizes)
    spans = [slice(a, a + n) for a, n in zip(np.cumsum([0] + sizes[:-1]).tolist(), sizes)]
    more = [i for i, s in enumerate(layers) if any(len(t) > 1 for t in s.terms.values())]
    no_total, no_share = np.zeros((B, T)), np.zeros(max(sizes, default=0))
    counts = {}
    for c in COUNTS:
        firsts = [s.terms[c][0] if s.terms[c] else (no_total, no_share[:n]) for s, n in zip(layers, sizes)]
        totals = np.stack([total for total, _ in firsts], -1).astype(np.float64, copy=False)   # [B, T, layers]
        varying = [i for i, (_, share) in enumerate(firsts) if share.ndim == 3]   # shares per (b, t)
        flat = np.concatenate([no_share[:n] if share.ndim == 3 else share for (_, share), n in zip(firsts, sizes)])
        if varying:
            shares = np.empty((B, T, N))
            shares[...] = flat
            for i in varying:
                shares[:, :, spans[i]] = firsts[i][1]
        else:
            shares = flat
        out = np.multiply(totals[:, :, layer_of_core], shares, order="C")   # C order: core sums add as per layer
        for i in more:
            for total, share in layers[i].terms[c][1:]:      # further nodes feeding the count, in order
                out[:, :, spans[i]] += spread(total, share)
        counts[c] = out
    return CoreActivity(**counts)


def channel_box_shares(emap: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """``[C, S]``: the fraction of channel ``c``'s events (event map ``[C, H, W]``) inside box
    ``j``, zero where the box does not hold channel ``c``."""
    b = np.asarray(boxes, np.int64).reshape(-1, 6)
    grid = BoxGrid(emap.shape, b)
    M = grid.reduce(emap)
    channel = np.arange(emap.shape[0])[:, None]
    window = M[:, grid.row, grid.col] * ((channel >= b[None, :, 0]) & (channel < b[None, :, 1]))
    total = M[:, grid.full_row, grid.full_col][:, None]
    return np.divide(window, total, out=np.zeros(window.shape), where=total > 0)


def group_fractions(graph: Graph, layer: Layer, trace, parts: int) -> np.ndarray:
    """``[parts]``: the share of the layer's input events in each of its ``parts`` input-channel
    groups (channels ``[g ceil(C/P), (g+1) ceil(C/P))``), from the event map of its first
    event-fed synaptic node's input; by channel counts where no map is known."""
    for s in layer.synapses:
        if not is_event_fed(graph, s):
            continue
        src = graph.node(s).inputs[0]
        C = int(graph.shapes[src][0])
        step = -(-C // parts)
        emap = trace.nodes[src].event_map if src in trace.nodes else None
        per_channel = (np.asarray(emap, np.float64).reshape(C, -1).sum(1)
                       if emap is not None and np.shape(emap)[0] == C else np.ones(C))
        if per_channel.sum() <= 0:
            per_channel = np.ones(C)
        sums = np.array([per_channel[g * step:(g + 1) * step].sum() for g in range(parts)])
        return sums / sums.sum()
    return np.full(parts, 1.0 / parts)


def _expand(share: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A share over ``S`` boxes as a share over their ``S x P`` cores (box-major): core
    ``j P + g`` gets ``share[j] x weights[g]``."""
    share = np.asarray(share, np.float64)
    return (share[..., :, None] * weights).reshape(share.shape[:-1] + (-1,))


def split_shares(shares: LayerShares, parts: int, fractions_in: np.ndarray) -> LayerShares:
    """The :class:`LayerShares` of a layer whose fan-in is split over ``parts`` cores per box
    (:mod:`neurosim.hw.tiling`), its cores box-major with the soma core first::

        syn_ops, events_in   of core (j, g) = box j's x fractions_in[g]
                             + at g = 0: (parts - 1) x neuron updates of box j  (partial currents in)
        neuron updates, active neurons      = box j's at every g (one compartment per neuron per core)
        output events, fired, MACs          = box j's at g = 0 only (the soma; MACs are host-fed)
    """
    if parts <= 1:
        return shares
    soma = np.zeros(parts)
    soma[0] = 1.0
    every = np.ones(parts)
    weights = {"syn_ops": fractions_in, "events_in": fractions_in, "neuron_updates": every,
               "active_neurons": every}
    terms = {c: [(total, _expand(share, weights.get(c, soma))) for total, share in ts]
             for c, ts in shares.terms.items()}
    if shares.terms["neuron_updates"]:
        updates, by_size = shares.terms["neuron_updates"][0]
        received = np.asarray(updates, np.float64) * (parts - 1)
        for c in ("syn_ops", "events_in"):
            terms[c].append((received, _expand(by_size, soma)))
    run_out = None if shares.run_out_events is None else _expand(shares.run_out_events, soma)
    return LayerShares(shares.n_cores * parts, terms, run_out)
