"""Break-even firing rate: the uniform rate at which an SNN's energy on a hardware profile equals
its ANN twin's energy on a reference profile.

:func:`synthetic_trace` builds the Trace that :func:`neurosim.sim.simulate` would count if every
event-emitting neuron fired ``rate`` events per neuron per timestep, spread uniformly:

* neuron nodes: ``out_spikes = rate x neurons`` (per channel and ``event_map`` uniform),
  ``out_nonzero = min(rate, 1) x neurons``, ``neuron_updates = active_neurons = neurons``
  (assumption: every neuron receives nonzero charge each step, the dense-input worst case);
* event Inputs fire at ``rate`` too; Add of events sums its inputs' rates, Concat averages them
  by channels, Upsample/Flatten/MaxPool keep the input rate (assumption for max-pooling);
* event-fed synaptic nodes: ``syn_ops = input rate x dense MACs`` (padding taps excluded: the
  (input neuron, output neuron, weight) triplets), uniform per channel; analog-fed ones: dense MACs;
  ``syn_events = min(input rate, 1) x dense MACs``, the fan-out of the nonzero inputs, as
  ``in_nonzero`` counts them: at rates up to 1 every event has value 1 (binary: syn_events =
  syn_ops), above 1 every input fires with value ``rate`` (assumption: for integer neurons a rate
  r <= 1 is read as a fraction r of neurons each firing 1, the most events a rate allows, not
  fewer neurons firing larger values);
* analog nodes: ``analog_ops`` as the simulator counts them (Add: size x (inputs - 1), pooling of
  analog values: in-map window taps, ReLU/SiLU/Sigmoid/Mul/Scale: size, global pooling: input size).

With ``metadata["readout"] == "last"`` the nodes that feed no neuron count only at the last step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hw.ann_twin import dense_macs
from ..sim.dense_ops import conv_tap_count
from ..sim.trace import NodeTrace, Trace


def neuron_rate(rate, name: str) -> float:
    """``rate`` as one number, or a dict {neuron or event-input name: rate} with ``"*"`` the default
    for names it lacks (0 when it has no default)."""
    if isinstance(rate, dict):
        return float(rate.get(name, rate.get("*", 0.0)))
    return float(rate)


def receiving_fraction(graph, node, out_rate: dict) -> float:
    """Expected fraction of ``node``'s neurons that receive at least one event in a step when the
    node is fed by one event-fed synaptic node: ``1 - (1 - min(r, 1))^fan_in`` with ``r`` that
    synaptic node's input rate and ``fan_in`` its mean synapses per output (independent events,
    an assumption). 1 for any other input (analog, or a sum of several branches)."""
    src = graph.node(node.inputs[0])
    if not src.is_synaptic or graph.kinds[src.inputs[0]] == "analog":
        return 1.0
    fan_in = dense_macs(src, graph.shapes[src.inputs[0]]) / max(int(np.prod(graph.shapes[src.name])), 1)
    r = min(out_rate.get(src.inputs[0], 0.0), 1.0)
    return float(1.0 - (1.0 - r) ** fan_in)


def synthetic_trace(graph, rate, T: int, batch: int = 1, updated: str = "all") -> Trace:
    """The Trace of ``graph`` with every event-emitting neuron firing ``rate`` per neuron per step
    (one number, or per neuron: see :func:`neuron_rate`).

    ``updated="all"`` (default) updates every neuron every step (the worst case);
    ``updated="receiving"`` updates only the expected fraction that receives an event
    (:func:`receiving_fraction`), as an event-driven core that skips idle neurons would."""
    if updated not in ("all", "receiving"):
        raise ValueError(f"updated must be 'all' or 'receiving', not {updated!r}")
    trace = Trace(batch=batch, timesteps=T)
    every = graph.nodes_feeding_neurons() if graph.metadata.get("readout") == "last" else None
    out_rate: dict[str, float] = {}
    for node in graph.nodes:
        name, kind, shape = node.name, graph.kinds[node.name], graph.shapes[node.name]
        size = int(np.prod(shape))
        in_kind = graph.kinds[node.inputs[0]] if node.inputs else None
        event_fed = node.is_synaptic and in_kind != "analog"
        nt = NodeTrace.empty(name, node.op, kind, shape, in_kind, batch, T,
                             per_channel_syn=shape[0] if event_fed else 0,
                             event_channels=shape[0] if kind != "analog" else 0)
        in_rates = [out_rate.get(s, 0.0) for s in node.inputs]
        counts: dict[str, float] = {}
        r_out = 0.0
        if node.op == "input":
            r_out = neuron_rate(rate, name) if kind != "analog" else 0.0
        elif node.is_neuron:
            share = 1.0 if updated == "all" else receiving_fraction(graph, node, out_rate)
            counts["neuron_updates"] = counts["active_neurons"] = share * size
            counts["in_nonzero"] = share * size
            r_out = neuron_rate(rate, name) if kind != "analog" else 0.0
        elif node.is_synaptic:
            src = node.inputs[0]
            n_in = int(np.prod(graph.shapes[src]))
            macs = dense_macs(node, graph.shapes[src])
            if event_fed:
                counts["syn_ops"] = in_rates[0] * macs
                counts["syn_events"] = min(in_rates[0], 1.0) * macs
                counts["in_spikes"] = in_rates[0] * n_in
                counts["in_nonzero"] = min(in_rates[0], 1.0) * n_in
            else:
                counts["macs"] = macs
        elif kind != "analog":  # structural node moving events
            if node.op == "add":
                r_out = sum(in_rates)
            elif node.op == "concat":
                chans = [graph.shapes[s][0] for s in node.inputs]
                r_out = sum(r * c for r, c in zip(in_rates, chans)) / sum(chans)
            elif node.op == "mul":
                r_out = float(np.prod(in_rates))
            else:
                r_out = in_rates[0] if in_rates else 0.0
        else:  # analog output
            op = node.op
            if op == "add":
                counts["analog_ops"] = size * (len(node.inputs) - 1)
            elif op in ("maxpool2d", "avgpool2d", "sumpool2d") and in_kind == "analog":
                c, h, w = graph.shapes[node.inputs[0]]
                counts["analog_ops"] = conv_tap_count(h, w, node.kernel[0], node.kernel[1], node.stride,
                                                      node.padding, shape[1], shape[2]) * c
            elif op in ("relu", "silu", "sigmoid", "mul", "scale"):
                counts["analog_ops"] = size
            elif op == "globalavgpool":
                counts["analog_ops"] = int(np.prod(graph.shapes[node.inputs[0]]))
        steps = slice(None) if every is None or name in every else slice(T - 1, T)
        for f, v in counts.items():
            getattr(nt, f)[:, steps] = v
        if event_fed:
            nt.syn_ops_per_channel[:, steps, :] = counts["syn_ops"] / shape[0]
        if kind != "analog":
            nt.out_spikes[:, steps] = r_out * size
            nt.out_nonzero[:, steps] = min(r_out, 1.0) * size
            nt.out_spikes_per_channel[:, steps, :] = r_out * size / shape[0]
            n_steps = T if steps == slice(None) else 1
            nt.event_map[...] = r_out * n_steps * batch
        out_rate[name] = r_out
        trace.nodes[name] = nt
    return trace


def max_rate(graph) -> float:
    """Largest possible spike value: max D over I-LIF nodes, else 1."""
    return float(max([getattr(n, "max_spike", 1) for n in graph.nodes if n.is_neuron] or [1]))


@dataclass
class BreakEven:
    rate: float | None
    reason: str
    ann_energy: float
    snn_energy_at_zero: float
    snn_energy_at_max: float
    max_rate: float
    fits: bool | None = None


def scaled(pattern, x: float):
    """Rates ``x`` (uniform) when ``pattern`` is None, else every rate of ``pattern`` times ``x``."""
    return x if pattern is None else {k: v * x for k, v in pattern.items()}


def _snn_cost(graph, profile, T, strict=False, pattern=None, updated="all"):
    from ..hw import hardware_model

    model = hardware_model(profile)
    placement = model.place(graph, strict=strict)

    def energy(x):
        trace = synthetic_trace(graph, scaled(pattern, x), T, updated=updated)
        return model.cost(trace, placement, ann_twin=False).energy_per_inference

    return energy, placement


def ann_energy(graph, against: str) -> float:
    from ..hw import hardware_model

    return hardware_model(against).cost_twin(graph).energy


def ratio_curve(graph, profile, T: int, rates, against: str = "ann-45nm",
                ann_graph=None) -> list[tuple[float, float, float, float]]:
    """``(rate, snn_energy, ann_energy, snn / ann)`` for each rate (J per inference); the twin
    priced on ``ann_graph`` (default ``graph``)."""
    energy, _ = _snn_cost(graph, profile, T)
    ann = ann_energy(ann_graph if ann_graph is not None else graph, against)
    out = []
    for r in rates:
        e = energy(float(r))
        out.append((float(r), e, ann, e / ann))
    return out


def break_even_rate(graph, profile, T: int, against: str = "ann-45nm", tol: float = 1e-6,
                    strict: bool = False, pattern: dict | None = None, ann_graph=None,
                    updated: str = "all") -> BreakEven:
    """Bisection over the uniform rate in [0, D or 1] for ``E_SNN(profile) = E_ANN(against)``.

    With ``pattern`` (a per-neuron rate dict, see :func:`neuron_rate`) the unknown is instead the
    factor ``x`` that scales every rate of the pattern (``rate`` is then that factor, searched up
    to where the largest rate reaches D). ``ann_graph`` prices the twin on another graph (for
    SpikeYOLO the unmerged RepConv form); default ``graph`` itself. ``updated`` as in
    :func:`synthetic_trace`.

    ``rate`` is None (with ``reason``) when the SNN costs more than the ANN even silent, or less
    even at the maximum rate. Raises DoesNotFit only with ``strict=True``.
    """
    energy, placement = _snn_cost(graph, profile, T, strict, pattern, updated)
    ann = ann_energy(ann_graph if ann_graph is not None else graph, against)
    hi = max_rate(graph) if pattern is None else max_rate(graph) / max(max(pattern.values()), 1e-12)
    e0, e1 = energy(0.0), energy(hi)
    common = dict(ann_energy=ann, snn_energy_at_zero=e0, snn_energy_at_max=e1, max_rate=hi, fits=placement.fits)
    if e0 >= ann:
        return BreakEven(None, f"the SNN at zero spikes ({e0:.4g} J) already costs at least the ANN "
                               f"({ann:.4g} J): its fixed costs exceed the ANN's total", **common)
    if e1 <= ann:
        return BreakEven(None, f"the SNN at the maximum rate {hi:g} ({e1:.4g} J) still costs no more "
                               f"than the ANN ({ann:.4g} J): it never crosses", **common)
    lo, up = 0.0, hi
    while up - lo > tol * hi:
        mid = 0.5 * (lo + up)
        if energy(mid) < ann:
            lo = mid
        else:
            up = mid
    return BreakEven(0.5 * (lo + up), "crossed", **common)
