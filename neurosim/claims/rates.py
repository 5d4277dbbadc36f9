"""Summary firing rates of a trace.

* ``weighted_rate``: the synaptic-op-weighted input rate, ``sum_l syn_ops_l / sum_l MACs_l`` over
  event-fed synaptic layers (``MACs_l`` the dense MACs, padding taps excluded, per sample and
  step). It is the one uniform rate that gives the same number of synaptic operations as the
  trace, so it is the rate to set beside a break-even rate (an unweighted mean over layers
  is not: a sparse layer with few synapses counts as much as a busy one with many).
* ``mean_layer_rate``: the unweighted mean over neuron layers of events per neuron per step.

For I-LIF the rates are mean integer values (D included).
"""
from __future__ import annotations

import numpy as np

from ..hw.ann_twin import dense_macs


def weighted_rate(graph, trace) -> float:
    """``sum syn_ops / sum (dense MACs x batch x T)`` over event-fed synaptic nodes."""
    ops = macs = 0.0
    steps = trace.batch * trace.timesteps
    for node in graph.nodes:
        if not node.is_synaptic or graph.kinds[node.inputs[0]] == "analog" or node.name not in trace.nodes:
            continue
        nt = trace.nodes[node.name]
        ops += float(np.sum(nt.syn_ops))
        macs += dense_macs(node, graph.shapes[node.inputs[0]]) * steps
    return ops / macs if macs else 0.0


def mean_layer_rate(graph, trace) -> float:
    """Unweighted mean over neuron nodes of ``out_spikes / (neurons x batch x T)``."""
    steps = trace.batch * trace.timesteps
    rates = [float(np.sum(trace.nodes[n.name].out_spikes)) / (int(np.prod(graph.shapes[n.name])) * steps)
             for n in graph.nodes if n.is_neuron and n.name in trace.nodes]
    return float(np.mean(rates)) if rates else 0.0
