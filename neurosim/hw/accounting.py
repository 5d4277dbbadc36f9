"""Per-layer activity read from a Trace, and the report rows built from it.

All counts are summed over samples and timesteps of the run (``run_*``) and reported per
inference (divided by the batch size). For a layer:

* ``syn_ops``        sum of ``syn_ops`` of its event-fed synaptic nodes (value-weighted events x fan-out)
* ``macs``           sum of ``macs`` of its analog-fed synaptic nodes (dense, border-aware)
* ``events_in``      sum of ``in_spikes`` of its event-fed synaptic nodes
* ``events_out``     ``out_spikes`` of its neuron node (binary events)
* ``neuron_updates`` / ``active_neurons`` of its neuron node
* ``analog_ops``     ``analog_ops`` of a host node
* ``firing_rate``    ``events_out / (neurons x T x batch)`` (mean spike value per neuron and step)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import GraphError
from ..ir.graph import Graph
from ..report.report import LayerRow, zero_energy
from .layers import Layer, decompose, graph_cache
from .memo import memoized, node_total, node_totals, session_open

if TYPE_CHECKING:  # the simulator is not needed to cost a trace
    from ..sim.trace import NodeTrace, Trace


def check_trace(trace: Trace, graph: Graph, layers) -> None:
    """GraphError if the trace lacks a node the layers need (a trace of another graph); done
    once per costing session for a trace, graph and layer split."""
    memoized(trace, ("checked", id(graph), id(layers)), lambda: _check_trace(trace, graph, layers))


def _check_trace(trace: Trace, graph: Graph, layers) -> bool:
    for layer in layers:
        for name in layer.nodes:
            if name not in trace.nodes:
                raise GraphError(f"the trace has no counts for node '{name}': it was not simulated "
                                 f"with this graph")
            if tuple(trace.nodes[name].shape) != tuple(graph.shapes[name]):
                raise GraphError(f"the trace's node '{name}' has shape {trace.nodes[name].shape}, "
                                 f"the graph says {graph.shapes[name]}: trace and graph do not match")
    return True


def node_trace(trace: Trace, name: str) -> NodeTrace:
    return trace.nodes[name]


def is_event_fed(graph: Graph, synapse: str) -> bool:
    return graph.kinds[graph.node(synapse).inputs[0]] != "analog"


@dataclass
class LayerCounts:
    """Run totals (over batch and timesteps) of one layer."""

    syn_ops: float = 0.0
    macs: float = 0.0
    events_in: float = 0.0
    events_out: float = 0.0
    fired: float = 0.0          # out_nonzero of the neuron node (positions that fired)
    neuron_updates: float = 0.0
    active_neurons: float = 0.0
    analog_ops: float = 0.0


def layer_counts(layer: Layer, graph: Graph, trace: Trace) -> LayerCounts:
    """The layer's run totals (a fresh object each call). In a costing session all the
    layers of the graph's split are counted together, once."""
    if not session_open():
        return _layer_counts(layer, graph, trace)
    counted = memoized(trace, ("layer_counts", id(graph)), lambda: _count_layers(graph, trace))
    hit = counted.get(id(layer))
    if hit is not None and hit[0] is layer:
        return LayerCounts(*hit[1])
    return _layer_counts(layer, graph, trace)


def _count_layers(graph: Graph, trace: Trace) -> dict[int, tuple]:
    """``id(layer) -> (layer, its counts as a tuple)`` for every layer of ``decompose(graph)``:
    the node totals they read are summed in one pass, then added up as :func:`_layer_counts`
    does (empty if the trace lacks a node)."""
    pairs, layers = _count_plan(graph)
    try:
        totals = node_totals([(trace.nodes[n], f) for n, f in pairs])
    except KeyError:
        return {}
    out = {}
    for layer, event_fed, macs, neuron, host in layers:
        syn_ops = events_in = mac_total = 0.0
        for i, j in event_fed:
            syn_ops += totals[i]
            events_in += totals[j]
        for i in macs:
            mac_total += totals[i]
        events_out, fired, updates, active = (totals[i] for i in neuron) if neuron else (0.0,) * 4
        analog = totals[host] if host is not None else 0.0
        out[id(layer)] = (layer, (syn_ops, mac_total, events_in, events_out, fired, updates, active, analog))
    return out


def _count_plan(graph: Graph):
    """The (node, count) pairs the layers of ``decompose(graph)`` read, and per layer where its
    counts are in that list: ``(layer, [(syn_ops, in_spikes)...], [macs...], neuron fields, analog)``."""
    cache = graph_cache(graph)
    if "count_plan" not in cache:
        pairs: list[tuple[str, str]] = []

        def at(node, field_name):
            pairs.append((node, field_name))
            return len(pairs) - 1

        layers = []
        for layer in decompose(graph).layers:
            event_fed = [(at(s, "syn_ops"), at(s, "in_spikes")) for s in layer.synapses if is_event_fed(graph, s)]
            macs = [at(s, "macs") for s in layer.synapses if not is_event_fed(graph, s)]
            neuron = tuple(at(layer.neuron, f) for f in ("out_spikes", "out_nonzero", "neuron_updates",
                                                         "active_neurons")) if layer.neuron else None
            host = at(layer.anchor, "analog_ops") if layer.kind == "host" else None
            layers.append((layer, event_fed, macs, neuron, host))
        cache["count_plan"] = (pairs, layers)
    return cache["count_plan"]


def _layer_counts(layer: Layer, graph: Graph, trace: Trace) -> LayerCounts:
    c = LayerCounts()
    for s in layer.synapses:
        nt = trace.nodes[s]
        if is_event_fed(graph, s):
            c.syn_ops += node_total(nt, "syn_ops")
            c.events_in += node_total(nt, "in_spikes")
        else:
            c.macs += node_total(nt, "macs")
    if layer.neuron:
        nt = trace.nodes[layer.neuron]
        c.events_out = node_total(nt, "out_spikes")
        c.fired = node_total(nt, "out_nonzero")
        c.neuron_updates = node_total(nt, "neuron_updates")
        c.active_neurons = node_total(nt, "active_neurons")
    if layer.kind == "host":
        c.analog_ops = node_total(trace.nodes[layer.anchor], "analog_ops")
    return c


def parameter_count(layer: Layer, graph: Graph) -> int:
    """Weights and biases of the layer's synaptic nodes (once per graph and layer)."""
    counts = graph_cache(graph).setdefault("parameter_count", {})
    key = layer.synapses
    if key not in counts:
        counts[key] = int(sum(a.size for s in layer.synapses for a in graph.node(s).arrays().values()))
    return counts[key]


def weight_and_bias_counts(layer: Layer, graph: Graph) -> tuple[int, int]:
    weights = biases = 0
    for s in layer.synapses:
        node = graph.node(s)
        weights += int(node.weight.size)
        biases += 0 if node.bias is None else int(node.bias.size)
    return weights, biases


def base_row(layer: Layer, graph: Graph, trace: Trace, counts: LayerCounts) -> LayerRow:
    """A row with the layer's activity per inference and zero energy."""
    b = max(trace.batch, 1)
    name, kind, nodes, model, shape, neurons, depth, parameters = _row_statics(layer, graph)
    rate = None
    if layer.neuron:
        denom = neurons * trace.timesteps * b
        rate = counts.events_out / denom if denom else 0.0
    return LayerRow(
        name=name, kind=kind, nodes=list(nodes), neuron_model=model, shape=list(shape), neurons=neurons,
        depth=depth, events_in=counts.events_in / b, events_out=counts.events_out / b, firing_rate=rate,
        syn_ops=counts.syn_ops / b, macs=counts.macs / b, neuron_updates=counts.neuron_updates / b,
        active_neurons=counts.active_neurons / b, analog_ops=counts.analog_ops / b,
        energy=zero_energy(), parameters=parameters)


def _row_statics(layer: Layer, graph: Graph) -> tuple:
    """The parts of a layer's row that depend on the graph only (kept per graph and layer)."""
    statics = graph_cache(graph).setdefault("row_statics", {})
    key = (layer.name, layer.kind, layer.anchor, layer.neuron, layer.synapses, layer.adds, layer.shape, layer.depth)
    hit = statics.get(key)
    if hit is None:
        model = graph.node(layer.neuron).op if layer.neuron else None
        hit = statics[key] = (layer.name, layer.kind, layer.nodes, model, tuple(graph.shapes[layer.anchor]),
                              layer.neurons, layer.depth, parameter_count(layer, graph))
    return hit


def footprint(layer: Layer, graph: Graph, weight_bits=None, bias_bits=None, state_bits=None) -> dict:
    """Memory of a layer in bits: weights, biases and neuron state (widths from the profile)."""
    weights, biases = weight_and_bias_counts(layer, graph)
    out = {}
    if weight_bits is not None:
        out["weights"] = weights * weight_bits
    if bias_bits is not None and biases:
        out["bias"] = biases * bias_bits
    if state_bits is not None and layer.neuron:
        out["state"] = layer.neurons * state_bits
    return out


def host_warning(rows, priced: bool) -> list[str]:
    ops = sum(r.analog_ops for r in rows if r.kind == "host")
    if ops and not priced:
        return [f"{ops:.4g} analog operations per inference on host nodes (activation functions, "
                f"analog pooling...) are not priced by this profile (no e_analog_op)"]
    return []


def distribute(total: np.ndarray, weights, fallback=None) -> np.ndarray:
    """Split ``total [B, T]`` over S parts in proportion to ``weights`` ([B, T, S] or [S]).

    The parts sum to ``total`` at every (b, t). Where the weights are all zero but the total is
    not, ``fallback`` ([S]; uniform if None) is used.
    """
    return np.asarray(total, np.float64)[..., None] * fractions(weights, fallback)


def fractions(weights, fallback=None) -> np.ndarray:
    """The shares :func:`distribute` multiplies by: ``w / sum_S w`` along the last axis, and the
    normalized ``fallback`` where the weights sum to zero. ``[S]`` weights give ``[S]``."""
    w = np.asarray(weights, np.float64)
    if w.ndim == 1:  # the same shares at every (b, t)
        s = w.sum()
        return w / s if s > 0 else _normalized(fallback, w.shape[-1])
    s = w.sum(-1, keepdims=True)
    positive = s > 0
    if positive.all():
        return w / s
    out = np.empty_like(w)
    out[...] = _normalized(fallback, w.shape[-1])
    return np.divide(w, s, out=out, where=positive)


def _normalized(fallback, S: int) -> np.ndarray:
    """``fallback / sum(fallback)``, or uniform when it is None or sums to zero."""
    if fallback is not None:
        fb = np.asarray(fallback, np.float64)
        total = fb.sum()
        if total > 0:
            return fb / total
    return np.ones(S) / S


def host_fed_notes(graph: Graph, layers, chip: str) -> list[str]:
    """One note per placed layer whose synaptic input is analog (its MACs run on a host)."""
    notes = []
    for layer in layers:
        fed = [s for s in layer.synapses if not is_event_fed(graph, s)]
        if fed:
            notes.append(f"layer '{layer.name}' is fed analog values ({', '.join(fed)}): {chip} takes "
                         f"events, so its MACs are charged to a host at e_mac")
    return notes
