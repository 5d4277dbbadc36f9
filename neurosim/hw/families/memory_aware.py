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
state read + write    2 x (syn_ops + U)                                E_access(state, state_bits)
neuron update         U accumulates + fired resets (+ U leak multiplies for leaky neurons)  e_ac, e_mult
output write          fired (out_nonzero) spikes, or U analog outputs  E_access(output buffer, spike_bits | activation_bits)
host op               analog_ops of host nodes                         e_analog_op
====================  ===============================================  =====================

Lemaire's counts for a fully connected layer are the special case ``syn_ops = theta_in N_out``,
``U = T N_out``. A neuron is leaky when it multiplies its state each step (LIF and I-LIF with
``0 < decay < 1`` or ``decay_input``); IF and Hoyer neurons do not.
"""
from __future__ import annotations

import numpy as np

from ..accounting import base_row, footprint, host_warning, is_event_fed, layer_counts
from ..base import HardwareModel
from ..profile import ParamSpec
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

    def _cost(self, trace, placement):
        graph = placement.graph
        sram = SramModel(self)
        e_ac, e_mac, e_mult = self.p("e_ac"), self.p("e_mac"), self.p("e_mult")
        e_an = self.profile.get("e_analog_op")
        wb, bb, sb = self.p("weight_bits"), self.p("bias_bits"), self.p("state_bits")
        spb, ab = self.p("spike_bits"), self.p("activation_bits")
        batch = max(trace.batch, 1)
        steps = trace.timesteps * trace.batch
        rows = []
        for layer in placement.layers:
            counts = layer_counts(layer, graph, trace)
            row = base_row(layer, graph, trace, counts)
            if layer.kind == "host":
                if e_an is not None:
                    row.energy["analog"] = row.analog_ops * e_an
                rows.append(row)
                continue
            outputs = layer.neurons
            updates = counts.neuron_updates if layer.neuron else outputs * steps
            state_rw = 2.0 * updates
            memory = 0.0
            for s in layer.synapses:
                node, nt = graph.node(s), trace.nodes[s]
                in_size = int(np.prod(graph.shapes[node.inputs[0]]))
                w_mem = node.weight.size * wb
                if is_event_fed(graph, s):
                    ops = nt.total("syn_ops")
                    in_reads, in_word = nt.total("in_spikes"), spb
                    state_rw += 2.0 * ops
                else:
                    ops = nt.total("macs")
                    in_reads, in_word = ops, ab
                memory += ops * sram.access(w_mem, wb)
                memory += in_reads * sram.access(in_size * in_word, in_word)
                if node.bias is not None:
                    memory += outputs * steps * sram.access(node.bias.size * bb, bb)
            memory += state_rw * sram.access(outputs * sb, sb)
            if layer.neuron:
                neuron = graph.node(layer.neuron)
                row.energy["neuron"] = (updates + counts.fired) * e_ac / batch
                if is_leaky(neuron):
                    row.energy["neuron"] += updates * e_mult / batch
                memory += counts.fired * sram.access(outputs * spb, spb)
            else:
                memory += updates * sram.access(outputs * ab, ab)
            row.energy["synaptic"] = row.syn_ops * e_ac
            row.energy["mac"] = row.macs * e_mac
            row.energy["memory"] = memory / batch
            row.memory = footprint(layer, graph, wb, bb, sb)
            rows.append(row)
        return self.new_report(trace, rows, warnings=host_warning(rows, e_an is not None))
