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
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir.graph import Graph
from .accounting import distribute, is_event_fed
from .geometry import BoxSums, synapse_box_ops
from .layers import Layer, shape3


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


def core_activity(layer: Layer, boxes: np.ndarray, graph: Graph, trace) -> CoreActivity:
    B, T = trace.batch, trace.timesteps
    S = len(boxes)
    zeros = lambda: np.zeros((B, T, S))  # noqa: E731
    sizes = np.array([(b[1] - b[0]) * (b[3] - b[2]) * (b[5] - b[4]) for b in boxes], np.float64)
    act = CoreActivity(zeros(), zeros(), zeros(), zeros(), zeros(), zeros(), zeros())
    for s in layer.synapses:
        node, nt = graph.node(s), trace.nodes[s]
        src = node.inputs[0]
        in_shape = shape3(graph.shapes[src])
        if is_event_fed(graph, s):
            emap = trace.nodes[src].event_map if src in trace.nodes else None
            ops, share = synapse_box_ops(node, in_shape, emap, boxes)
            per_ch = nt.syn_ops_per_channel
            weights = per_ch @ share if per_ch is not None and per_ch.shape[-1] == share.shape[0] else ops
            act.syn_ops += distribute(nt.syn_ops, weights, fallback=ops if ops.sum() > 0 else sizes)
            act.events_in += distribute(nt.in_spikes, ops if ops.sum() > 0 else sizes, fallback=sizes)
        else:
            ops, _ = synapse_box_ops(node, in_shape, None, boxes)
            act.macs += distribute(nt.macs, ops, fallback=sizes)
    if layer.neuron:
        nt = trace.nodes[layer.neuron]
        act.neuron_updates = distribute(nt.neuron_updates, sizes)
        act.active_neurons = distribute(nt.active_neurons, sizes)
        emap = nt.event_map
        if emap is not None:
            emap = np.asarray(emap, np.float64).reshape(layer.shape)
            in_box = BoxSums(emap).sums(boxes)
            per_ch = nt.out_spikes_per_channel
            if per_ch is not None and per_ch.shape[-1] == layer.shape[0]:
                weights = per_ch @ channel_box_shares(emap, boxes)
            else:
                weights = in_box
            act.out_events = distribute(nt.out_spikes, weights, fallback=in_box if in_box.sum() > 0 else sizes)
            act.fired = distribute(nt.out_nonzero, weights, fallback=in_box if in_box.sum() > 0 else sizes)
        else:
            act.out_events = distribute(nt.out_spikes, sizes)
            act.fired = distribute(nt.out_nonzero, sizes)
    return act


def channel_box_shares(emap: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """``[C, S]``: the fraction of channel ``c``'s events (event map ``[C, H, W]``) inside box
    ``j``, zero where the box does not hold channel ``c``. Per-channel 2-D prefix sums give every
    box's window sum for all channels at once."""
    C, H, W = emap.shape
    b = np.asarray(boxes, np.int64).reshape(-1, 6)
    prefix = np.zeros((C, H + 1, W + 1))
    prefix[:, 1:, 1:] = emap.cumsum(1).cumsum(2)
    y0, y1, x0, x1 = b[:, 2], b[:, 3], b[:, 4], b[:, 5]
    window = prefix[:, y1, x1] - prefix[:, y0, x1] - prefix[:, y1, x0] + prefix[:, y0, x0]   # [C, S]
    channel = np.arange(C)[:, None]
    holds = (channel >= b[None, :, 0]) & (channel < b[None, :, 1])
    total = prefix[:, H, W][:, None]
    return np.divide(window * holds, total, out=np.zeros((C, len(b))), where=total > 0)
