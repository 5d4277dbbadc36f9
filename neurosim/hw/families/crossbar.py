"""``crossbar``: TrueNorth-like cores, each a binary crossbar of axons x neurons.

Placement is the mesh placement (:mod:`neurosim.hw.families.mesh`) with no weight sharing:
a convolution is unrolled, each core holding a box of neurons whose whole fan-in must fit the
core's ``fan_in_per_core`` axons; ``fan_out_per_core`` bounds the (neuron, destination core)
routes (a neuron has one output axon, so reaching several cores costs neuron copies).
The crossbar's synapse bits (``axons used x neurons``) are reported, not limited.

**Energy**: the published figure is whole-chip energy divided by synaptic events at one
operating point, so nothing is added on top of it::

    synaptic = syn_ops x e_syn_event          (routing, neuron, static: included, reported as 0)
    mac      = macs x e_mac                    (analog-fed layers, on a host)

**Latency**: the chip advances one tick per step; with one tick of delay per layer a sample
takes ``(T + max depth) x tick``. Hop counts are computed and reported, not priced.
Weight precision limits (a few axon types with shared weights per neuron) are not modelled.
"""
from __future__ import annotations

import numpy as np

from ..profile import ParamSpec
from ..registry import register_family
from ..tiling import SynapseMemory
from .mesh import MESH_LAYOUT_PARAMETERS, MeshBase


@register_family
class CrossbarModel(MeshBase):
    family = "crossbar"
    summary = "binary crossbar cores without weight sharing, whole-chip energy per synaptic event (TrueNorth-like)"
    no_split_reason = ("a crossbar neuron integrates only its own core's axons and sends binary spikes, so "
                       "no partial sum of its inputs can reach another core; the layer must be rebuilt with "
                       "a fan-in that fits (Esser et al., PNAS 2016, use grouped convolutions for TrueNorth)")
    omissions = (
        "any dependence of the per-event figure on activity (it is whole-chip energy / events at one "
        "operating point)",
        'weight precision limits (a few axon types per neuron)',
        "input events' transfer from the host",
        'learning (none on chip)',
    )
    parameters = {
        **MESH_LAYOUT_PARAMETERS,
        "e_syn_event": ParamSpec("energy", "whole-chip energy per synaptic event"),
        "tick": ParamSpec("time", "duration of one time step (tick)"),
        "e_mac": ParamSpec("energy", "host energy per MAC (analog-fed layers)"),
        "e_analog_op": ParamSpec("energy", "host energy per elementwise op (host nodes)", required=False),
        "state_bits": ParamSpec("bits", "neuron state bits (memory report)", required=False),
    }

    core_by_core = True

    def synapse_memory(self) -> SynapseMemory:
        return SynapseMemory(model="crossbar")

    def core_energy(self, layer, act, packets_energy):
        n = act.syn_ops.shape[-1]
        return {"synaptic": act.core_totals("syn_ops") * self.p("e_syn_event"),
                "routing": np.zeros(n), "neuron": np.zeros(n),
                "mac": act.core_totals("macs") * self.p("e_mac")}

    def busy(self, act, injected):
        # every core computes for the whole tick of each step
        return np.full_like(act.syn_ops, self.p("tick"))

    def step_times(self, compute, network, tiles):
        return np.full_like(compute, self.p("tick"))
