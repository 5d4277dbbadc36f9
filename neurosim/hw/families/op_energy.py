"""``op-energy``: the SNN papers' convention, arithmetic only.

Per layer (run totals, reported per inference)::

    E_synaptic = syn_ops x e_ac        (event-fed synaptic nodes: accumulates)
    E_mac      = macs    x e_mac       (analog-fed synaptic nodes: the encoding layer, heads)
    E_analog   = analog_ops x e_analog_op   (host nodes; only if the profile prices them)

No memory, routing, neuron update or static energy; no latency; no core limits. The ANN twin
costs ``dense MACs x e_mac`` (+ activation ops x e_analog_op when priced), so with the
4.6 / 0.9 pJ profile the ratio is the papers' SNN/ANN comparison.
"""
from __future__ import annotations

from ...ir.graph import Graph
from ..accounting import base_row, host_warning, layer_counts
from ..ann_twin import TwinCost, twin_counts
from ..base import HardwareModel
from ..profile import ParamSpec
from ..registry import register_family


@register_family
class OpEnergyModel(HardwareModel):
    family = "op-energy"
    summary = "energy per MAC and per accumulate only (the SNN papers' convention)"
    omissions = (
        'memory accesses (weights, membrane state, spike buffers)',
        'neuron state updates',
        'spike routing between cores',
        'static and leakage power',
        'latency',
        'chip capacity limits (cores, synapse memory)',
    )
    parameters = {
        "e_mac": ParamSpec("energy", "energy of one multiply-accumulate (dense, analog input)"),
        "e_ac": ParamSpec("energy", "energy of one accumulate (one synaptic event)"),
        "e_analog_op": ParamSpec("energy", "energy of one elementwise op on a host node", required=False),
    }

    def _cost(self, trace, placement):
        rows = []
        for layer, counts, energy in self._layer_energies(trace, placement):
            row = base_row(layer, placement.graph, trace, counts)
            row.energy.update(energy)
            rows.append(row)
        return self.new_report(trace, rows, warnings=host_warning(rows, self.profile.has("e_analog_op")))

    def snn_energy(self, trace, placement) -> float:
        return self.layer_energies_total(trace, placement)

    def _layer_energies(self, trace, placement):
        """``(layer, counts, energy)`` per layer, ``energy`` per inference by component."""
        e_ac, e_mac = self.p("e_ac"), self.p("e_mac")
        e_an = self.profile.get("e_analog_op")
        b = max(trace.batch, 1)
        for layer in placement.layers:
            counts = layer_counts(layer, placement.graph, trace)
            energy = {"synaptic": counts.syn_ops / b * e_ac, "mac": counts.macs / b * e_mac}
            if e_an is not None:
                energy["analog"] = counts.analog_ops / b * e_an
            yield layer, counts, energy

    def cost_twin(self, graph: Graph) -> TwinCost:
        e_mac = self.p("e_mac")
        e_an = self.profile.get("e_analog_op") or 0.0
        per_node = {}
        macs = acts = 0
        for n in twin_counts(graph):
            per_node[n.name] = n.macs * e_mac + n.activation_ops * e_an
            macs += n.macs
            acts += n.activation_ops
        return TwinCost(self.profile.name, float(sum(per_node.values())), per_node, macs, acts)
