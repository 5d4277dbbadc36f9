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
from .layers import Layer

if TYPE_CHECKING:  # the simulator is not needed to cost a trace
    from ..sim.trace import NodeTrace, Trace


def check_trace(trace: Trace, graph: Graph, layers) -> None:
    """GraphError if the trace lacks a node the layers need (a trace of another graph)."""
    for layer in layers:
        for name in layer.nodes:
            if name not in trace.nodes:
                raise GraphError(f"the trace has no counts for node '{name}': it was not simulated "
                                 f"with this graph")
            if tuple(trace.nodes[name].shape) != tuple(graph.shapes[name]):
                raise GraphError(f"the trace's node '{name}' has shape {trace.nodes[name].shape}, "
                                 f"the graph says {graph.shapes[name]}: trace and graph do not match")


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
    c = LayerCounts()
    for s in layer.synapses:
        nt = trace.nodes[s]
        if is_event_fed(graph, s):
            c.syn_ops += nt.total("syn_ops")
            c.events_in += nt.total("in_spikes")
        else:
            c.macs += nt.total("macs")
    if layer.neuron:
        nt = trace.nodes[layer.neuron]
        c.events_out = nt.total("out_spikes")
        c.fired = nt.total("out_nonzero")
        c.neuron_updates = nt.total("neuron_updates")
        c.active_neurons = nt.total("active_neurons")
    if layer.kind == "host":
        c.analog_ops = trace.nodes[layer.anchor].total("analog_ops")
    return c


def parameter_count(layer: Layer, graph: Graph) -> int:
    return int(sum(a.size for s in layer.synapses for a in graph.node(s).arrays().values()))


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
    rate = None
    if layer.neuron:
        denom = layer.neurons * trace.timesteps * b
        rate = counts.events_out / denom if denom else 0.0
    model = graph.node(layer.neuron).op if layer.neuron else None
    return LayerRow(
        name=layer.name, kind=layer.kind, nodes=list(layer.nodes), neuron_model=model,
        shape=list(graph.shapes[layer.anchor]), neurons=layer.neurons, depth=layer.depth,
        events_in=counts.events_in / b, events_out=counts.events_out / b, firing_rate=rate,
        syn_ops=counts.syn_ops / b, macs=counts.macs / b, neuron_updates=counts.neuron_updates / b,
        active_neurons=counts.active_neurons / b, analog_ops=counts.analog_ops / b,
        energy=zero_energy(), parameters=parameter_count(layer, graph))


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
    total = np.asarray(total, np.float64)
    w = np.asarray(weights, np.float64)
    if w.ndim == 1:
        w = np.broadcast_to(w, total.shape + w.shape)
    S = w.shape[-1]
    fb = np.ones(S) if fallback is None else np.asarray(fallback, np.float64)
    if fb.sum() <= 0:
        fb = np.ones(S)
    fb = fb / fb.sum()
    s = w.sum(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(s > 0, w / np.where(s > 0, s, 1.0), fb)
    return total[..., None] * frac


def host_fed_notes(graph: Graph, layers, chip: str) -> list[str]:
    """One note per placed layer whose synaptic input is analog (its MACs run on a host)."""
    notes = []
    for layer in layers:
        fed = [s for s in layer.synapses if not is_event_fed(graph, s)]
        if fed:
            notes.append(f"layer '{layer.name}' is fed analog values ({', '.join(fed)}): {chip} takes "
                         f"events, so its MACs are charged to a host at e_mac")
    return notes
