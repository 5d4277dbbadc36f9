"""Per-node counts of a simulation, per sample: the table ``neurosim simulate`` prints without a chip."""
from __future__ import annotations


def node_rows(graph, trace) -> list[dict]:
    """One row per node in graph order: its totals over samples and timesteps divided by the
    number of samples (``-`` where a count does not apply), and its firing rate
    ``events out / (neurons x T x samples)``."""
    rows = []
    per = 1.0 / trace.batch
    for node in graph.nodes:
        nt = trace[node.name]
        rows.append({"name": node.name, "op": node.op, "kind": nt.kind,
                     "events_in": nt.total("in_spikes") * per if nt.in_kind not in (None, "analog") else "-",
                     "events_out": nt.total("out_spikes") * per if nt.kind != "analog" else "-",
                     "firing_rate": nt.firing_rate() if nt.kind != "analog" else "-",
                     "syn_ops": nt.total("syn_ops") * per, "macs": nt.total("macs") * per,
                     "neuron_updates": nt.total("neuron_updates") * per})
    return rows
