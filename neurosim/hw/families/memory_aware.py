"""``memory-aware``: arithmetic plus SRAM traffic by memory size (after Lemaire et al. 2022).

Each memory (a layer's weights, biases, neuron state, input and output spike buffers) is an
SRAM of its own size; one access of a ``w``-bit word costs::

    E_access(size_bits, w) = (sram_energy_slope x size_bits + sram_energy_offset) x w / sram_access_bits

(the linear fit of Horowitz's 64-bit cache accesses by size). Per layer, over the run
(``U`` = neuron updates, or outputs x T x batch for a layer without neurons):

====================  ===============================================  =====================
action                count                                            energy per action
====================  ===============================================  =====================
accumulate (synaptic) syn_ops of event-fed synaptic nodes              e_ac
MAC                   macs of analog-fed synaptic nodes                e_mac
weight read           syn_ops + macs                                   E_access(weights, weight_bits)
input read            in_spikes (event-fed); macs (analog-fed, no reuse) E_access(input buffer, spike_bits | activation_bits)
bias read             outputs x T x batch, if the node has a bias      E_access(biases, bias_bits)
state read + write    2 x (syn_ops + U), or 2 x U with registers       E_access(state, state_bits)
neuron update         U accumulates + fired resets (+ U leak multiplies for leaky neurons)  e_ac, e_mult
output write          fired (out_nonzero) spikes, or U analog outputs  E_access(output buffer, spike_bits | activation_bits)
host op               analog_ops of host nodes                         e_analog_op
====================  ===============================================  =====================

The setting ``membrane_traffic`` chooses the SNN's dataflow for membranes: ``per-event`` (the
default, Lemaire's count: every synaptic event reads and writes its target's membrane in SRAM)
or ``per-update`` (a neuron's membrane is held in a register while one step's events are
accumulated, so it is read and written once per update: 2 x U). ``per-update`` is the
counterpart of the dense ANN twin's dataflow (each output accumulated in a register and
written once), which makes the SNN/ANN comparison symmetric in how accumulators are held.
The setting ``operand_traffic`` likewise: ``per-event`` (the default: one weight read per
synaptic op or MAC, one input read per MAC of an analog-fed node) or ``per-step`` (each
layer's weights and analog inputs read once per timestep and sample and reused from registers,
as the dense twin reads each weight and activation once per inference: weight reads = weights
x T x batch, analog input reads = input size x T x batch).

Lemaire's counts for a fully connected layer are the special case ``syn_ops = theta_in N_out``,
``U = T N_out``. A neuron is leaky when it multiplies its state each step (LIF and I-LIF with
``0 < decay < 1`` or ``decay_input``); IF and Hoyer neurons do not.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..accounting import base_row, footprint, host_warning, is_event_fed, layer_counts
from ..base import HardwareModel
from ..layers import graph_cache
from ..memo import node_total
from ..profile import ParamSpec, SettingSpec
from ..registry import register_family


def is_leaky(node) -> bool:
    if node.op not in ("lif", "ilif"):
        return False
    return bool(getattr(node, "decay_input", False)) or 0.0 < float(node.decay) < 1.0


SRAM_PARAMETERS = {
    "sram_energy_slope": ParamSpec("energy/bits", "SRAM energy per access, slope per bit of memory size"),
    "sram_energy_offset": ParamSpec("energy", "SRAM energy per access at zero size (fit intercept)"),
    "sram_access_bits": ParamSpec("bits", "word width the SRAM fit refers to (64-bit accesses)", minimum=1),
}


class SramModel:
    """``E_access(size, w)`` from the profile's linear fit."""

    def __init__(self, model: HardwareModel):
        self.slope = model.p("sram_energy_slope")
        self.offset = model.p("sram_energy_offset")
        self.width = model.p("sram_access_bits")

    def access(self, size_bits: float, word_bits: float) -> float:
        return (self.slope * size_bits + self.offset) * word_bits / self.width


@register_family
class MemoryAwareModel(HardwareModel):
    family = "memory-aware"
    summary = "arithmetic plus SRAM traffic by memory size (Lemaire et al. 2022)"
    omissions = (
        'spike routing between cores or chips',
        'static and leakage power',
        'latency',
        'chip capacity limits (every memory is an SRAM of the size it needs)',
        'off-chip DRAM traffic',
        'control logic and address generation',
    )
    parameters = {
        "e_mac": ParamSpec("energy", "energy of one multiply-accumulate"),
        "e_ac": ParamSpec("energy", "energy of one accumulate"),
        "e_mult": ParamSpec("energy", "energy of one multiply (membrane leak)"),
        "e_analog_op": ParamSpec("energy", "energy of one elementwise op on a host node", required=False),
        **SRAM_PARAMETERS,
        "weight_bits": ParamSpec("bits", "weight word width", minimum=1),
        "bias_bits": ParamSpec("bits", "bias word width", minimum=1),
        "state_bits": ParamSpec("bits", "membrane / accumulator word width", minimum=1),
        "spike_bits": ParamSpec("bits", "width of one stored spike (event) word", minimum=1),
        "activation_bits": ParamSpec("bits", "width of an analog activation word", minimum=1),
    }
    settings = {
        "membrane_traffic": SettingSpec("per-event: every synaptic event reads and writes the membrane in SRAM "
                                        "(Lemaire et al. 2022); per-update: membranes in registers during a step, one "
                                        "read and write per neuron update", choices=("per-event", "per-update"),
                                        required=False),
        "operand_traffic": SettingSpec("per-event: one weight read per synaptic op or MAC and one input read per "
                                       "MAC (Lemaire et al. 2022); per-step: weights and analog inputs read once per "
                                       "timestep and sample", choices=("per-event", "per-step"), required=False),
    }

    def _cost(self, trace, placement):
        graph = placement.graph
        rows = []
        for layer, counts, plan, energy in self._layer_energies(trace, placement):
            row = base_row(layer, graph, trace, counts)
            row.energy.update(energy)
            if layer.kind != "host":
                row.memory = dict(plan.footprint)
            rows.append(row)
        return self.new_report(trace, rows, warnings=host_warning(rows, self.profile.has("e_analog_op")))

    def snn_energy(self, trace, placement) -> float:
        return self.layer_energies_total(trace, placement)

    def _layer_energies(self, trace, placement):
        """``(layer, counts, plan, energy)`` per layer, ``energy`` per inference by component
        (see the module docstring)."""
        graph = placement.graph
        e_ac, e_mac, e_mult = self.p("e_ac"), self.p("e_mac"), self.p("e_mult")
        e_an = self.profile.get("e_analog_op")
        batch = max(trace.batch, 1)
        steps = trace.timesteps * trace.batch
        per_event = self.profile.setting("membrane_traffic", "per-event") == "per-event"
        operands_per_event = self.profile.setting("operand_traffic", "per-event") == "per-event"
        for layer, plan in zip(placement.layers, self._plans(graph, placement.layers)):
            counts = layer_counts(layer, graph, trace)
            if layer.kind == "host":
                yield layer, counts, plan, ({} if e_an is None else {"analog": counts.analog_ops / batch * e_an})
                continue
            outputs = layer.neurons
            updates = counts.neuron_updates if layer.neuron else outputs * steps
            state_rw = 2.0 * updates
            memory = 0.0
            for syn in plan.synapses:
                nt = trace.nodes[syn.name]
                if syn.event_fed:
                    ops = node_total(nt, "syn_ops")
                    in_reads = node_total(nt, "in_spikes")
                    if per_event:
                        state_rw += 2.0 * ops
                else:
                    ops = node_total(nt, "macs")
                    in_reads = ops if operands_per_event else syn.inputs * steps
                memory += (ops if operands_per_event else syn.weights * steps) * syn.weight_access
                memory += in_reads * syn.input_access
                if syn.bias_access is not None:
                    memory += outputs * steps * syn.bias_access
            memory += state_rw * plan.state_access
            energy = {}
            if layer.neuron:
                energy["neuron"] = (updates + counts.fired) * e_ac / batch
                if plan.leaky:
                    energy["neuron"] += updates * e_mult / batch
                memory += counts.fired * plan.output_access
            else:
                memory += updates * plan.output_access
            energy["synaptic"] = counts.syn_ops / batch * e_ac
            energy["mac"] = counts.macs / batch * e_mac
            energy["memory"] = memory / batch
            yield layer, counts, plan, energy

    def _plans(self, graph, layers) -> list["LayerMemory"]:
        """Each layer's SRAM access energies (graph and profile only; kept per graph)."""
        key = ("memory-aware", id(self.profile), id(layers))
        cache = graph_cache(graph)
        hit = cache.get(key)
        if hit is None or hit[0] is not self.profile or hit[1] is not layers:
            hit = cache[key] = (self.profile, layers, [LayerMemory(self, graph, layer) for layer in layers])
        return hit[2]


@dataclass(frozen=True)
class SynapseMemory:
    """SRAM energy per weight, input and bias read of one synaptic node."""

    name: str
    event_fed: bool
    weights: int
    inputs: int
    weight_access: float
    input_access: float
    bias_access: float | None


class LayerMemory:
    """The accesses of one layer whose energies depend on memory sizes, not on the trace:
    ``E_access`` of its weights, inputs and biases per synaptic node, of its state, and of its
    output buffer (spikes, or analog values for a layer without neurons)."""

    def __init__(self, model: "MemoryAwareModel", graph, layer):
        sram = SramModel(model)
        wb, bb, sb = model.p("weight_bits"), model.p("bias_bits"), model.p("state_bits")
        spb, ab = model.p("spike_bits"), model.p("activation_bits")
        outputs = layer.neurons
        self.synapses = []
        if layer.kind == "host":
            return
        for s in layer.synapses:
            node = graph.node(s)
            in_size = int(np.prod(graph.shapes[node.inputs[0]]))
            event_fed = is_event_fed(graph, s)
            in_word = spb if event_fed else ab
            self.synapses.append(SynapseMemory(
                s, event_fed, int(node.weight.size), in_size, sram.access(node.weight.size * wb, wb), sram.access(in_size * in_word, in_word),
                None if node.bias is None else sram.access(node.bias.size * bb, bb)))
        self.state_access = sram.access(outputs * sb, sb)
        self.leaky = bool(layer.neuron) and is_leaky(graph.node(layer.neuron))
        self.output_access = sram.access(outputs * spb, spb) if layer.neuron else sram.access(outputs * ab, ab)
        self.footprint = footprint(layer, graph, wb, bb, sb)
