"""What a chip with graded spikes counts (profile setting ``spike_payload: graded``).

An integer spike of value ``s`` (SpikeYOLO's I-LIF neurons emit ``0..D``) is, on a chip with
binary spikes, ``s`` one-bit spikes: ``s`` packets and ``s x fan-out`` synaptic additions, which
is what the trace's ``out_spikes`` and ``syn_ops`` count. A chip with graded spikes (Loihi 2)
sends one packet carrying ``s`` and multiplies each weight by ``s`` once::

    packets per output event  -> out_nonzero       (one per nonzero output)
    synaptic ops              -> syn_events        (sum over nonzero input events of their fan-out)
    events in                 -> in_nonzero

:func:`graded_view` is the trace a graded-spike chip is costed with: those counts in place of
the binary ones, everything else (event maps, per-channel splits) unchanged. The event maps sum
spike values, so the split of a layer's packets over its cores follows where the values are,
not where the nonzero outputs are; for binary spikes the view equals the trace.
"""
from __future__ import annotations

import dataclasses

from ..sim.trace import Trace


def graded_view(trace: Trace) -> Trace:
    """``trace`` as a graded-spike chip counts it (see the module docstring)."""
    nodes = {}
    for name, nt in trace.nodes.items():
        syn_events = getattr(nt, "syn_events", None)
        nodes[name] = dataclasses.replace(
            nt, out_spikes=nt.out_nonzero, in_spikes=nt.in_nonzero,
            syn_ops=nt.syn_ops if syn_events is None else syn_events)
    return Trace(batch=trace.batch, timesteps=trace.timesteps, nodes=nodes)
