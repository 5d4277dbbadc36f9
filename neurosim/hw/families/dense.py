"""``dense-accelerator``: a dense ANN accelerator that runs the SNN graph's ANN twin.

Reuse assumption (profile setting ``reuse``):

* ``weights-once-activations-once`` (ideal on-chip reuse): per inference, every weight and bias
  is read once from its SRAM, every node reads its input activations once and writes its
  outputs once. Per node::

    E = macs x e_mac + activation_ops x e_analog_op
        + weights x E_access(weights x weight_bits, weight_bits)
        + biases  x E_access(biases x bias_bits, bias_bits)
        + inputs  x E_access(inputs x activation_bits, activation_bits)
        + outputs x E_access(outputs x activation_bits, activation_bits)

* ``none`` (no reuse: the naive implementation, the other bound of Dampfhoffer et al. 2023): every MAC reads its weight and its input
  activation, i.e. ``weights`` and ``inputs`` above become ``macs`` for synaptic nodes; biases
  are read and outputs written once per output element.

MACs are dense either way (see :mod:`neurosim.hw.ann_twin`).

with ``E_access`` the SRAM fit of :mod:`neurosim.hw.families.memory_aware`. Costing a trace on
this family reports the twin of the trace's graph (the trace only supplies the batch size);
rows follow the SNN's layer split, and the twin's structural nodes (max-pooling, Add of
events...) get rows of kind ``routing``. The setting ``snn_counterpart`` names the
memory-aware profile that prices the SNN with the same technology, for the SNN/ANN ratio.
"""
from __future__ import annotations


from ...ir.graph import Graph
from ..accounting import LayerCounts, base_row, footprint
from ..ann_twin import TwinCost, twin_counts
from ..base import HardwareModel
from ..layers import Layer, graph_cache, shape3
from ..profile import ParamSpec, SettingSpec
from ..registry import register_family
from .memory_aware import SRAM_PARAMETERS, SramModel


@register_family
class DenseAcceleratorModel(HardwareModel):
    family = "dense-accelerator"
    prices_snn = False
    summary = "dense ANN accelerator: MACs plus SRAM traffic with one read per weight (ANN twin)"
    omissions = (
        "the SNN's activity (this family prices the graph's ANN twin, one pass per inference)",
        'static and leakage power',
        'latency',
        'off-chip DRAM traffic',
        'control logic and address generation',
    )
    parameters = {
        "e_mac": ParamSpec("energy", "energy of one multiply-accumulate"),
        "e_analog_op": ParamSpec("energy", "energy of one elementwise activation op"),
        **SRAM_PARAMETERS,
        "weight_bits": ParamSpec("bits", "weight word width", minimum=1),
        "bias_bits": ParamSpec("bits", "bias word width", minimum=1),
        "activation_bits": ParamSpec("bits", "activation word width", minimum=1),
    }
    settings = {
        "reuse": SettingSpec("data reuse assumption", choices=("weights-once-activations-once", "none")),
        "snn_counterpart": SettingSpec("memory-aware profile pricing the SNN with the same technology",
                                       required=False),
    }

    def _node_energies(self, graph: Graph) -> dict[str, dict[str, float]]:
        """Energy and counts of each twin node (graph and profile only: kept per graph)."""
        cache = graph_cache(graph)
        hit = cache.get(("dense-node-energies", id(self.profile)))
        if hit is None or hit[0] is not self.profile:
            hit = cache[("dense-node-energies", id(self.profile))] = (self.profile, self._compute_node_energies(graph))
        return hit[1]

    def _compute_node_energies(self, graph: Graph) -> dict[str, dict[str, float]]:
        sram = SramModel(self)
        e_mac, e_an = self.p("e_mac"), self.p("e_analog_op")
        wb, bb, ab = self.p("weight_bits"), self.p("bias_bits"), self.p("activation_bits")
        no_reuse = self.profile.setting("reuse") == "none"
        out = {}
        for n in twin_counts(graph):
            weight_reads = n.macs if (no_reuse and n.synaptic) else n.weights
            bias_reads = n.outputs if (no_reuse and n.biases) else n.biases
            input_reads = n.macs if (no_reuse and n.synaptic) else n.inputs
            memory = (weight_reads * sram.access(n.weights * wb, wb)
                      + bias_reads * sram.access(n.biases * bb, bb)
                      + input_reads * sram.access(n.inputs * ab, ab)
                      + n.outputs * sram.access(n.outputs * ab, ab))
            out[n.name] = {"mac": n.macs * e_mac, "ops": n.activation_ops * e_an, "memory": memory,
                           "macs": n.macs, "activation_ops": n.activation_ops}
        return out

    def cost_twin(self, graph: Graph) -> TwinCost:
        nodes = self._node_energies(graph)
        per_node = {k: v["mac"] + v["ops"] + v["memory"] for k, v in nodes.items()}
        return TwinCost(self.profile.name, float(sum(per_node.values())), per_node,
                        int(sum(v["macs"] for v in nodes.values())),
                        int(sum(v["activation_ops"] for v in nodes.values())))

    def _cost(self, trace, placement):
        graph = placement.graph
        nodes = self._node_energies(graph)
        wb, bb = self.p("weight_bits"), self.p("bias_bits")
        groups = [(layer, layer.nodes) for layer in placement.layers]
        for name in placement.decomposition.routing_nodes:
            groups.append((Layer(name=name, kind="routing", index=len(groups), anchor=name, neuron=None,
                                 synapses=(), adds=(), shape=shape3(graph.shapes[name])), (name,)))
        order = {n.name: i for i, n in enumerate(graph.nodes)}
        groups.sort(key=lambda g: order[g[0].anchor])
        rows = []
        for layer, members in groups:
            row = base_row(layer, graph, trace, LayerCounts())
            row.firing_rate = None
            for m in members:
                e = nodes.get(m)
                if e is None:
                    continue
                row.macs += e["macs"]
                row.analog_ops += e["activation_ops"]
                row.energy["mac"] += e["mac"]
                row.energy["memory"] += e["memory"]
                row.energy["neuron" if m == layer.neuron else "analog"] += e["ops"]
            row.memory = footprint(layer, graph, wb, bb) if layer.kind != "routing" else {}
            rows.append(row)
        return self.new_report(trace, rows, details={"workload": "ann-twin", "twin_timesteps": 1})
