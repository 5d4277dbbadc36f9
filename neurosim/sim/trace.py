"""The Trace: what every node did, per sample and per timestep, counted exactly.

Counts (arrays of shape [B, T], B samples, T timesteps) for each node:

* ``in_nonzero``     nonzero input positions (events in, for a node fed by spikes)
* ``in_spikes``      sum of input spike values (binary events in; = in_nonzero for binary spikes)
* ``out_nonzero``    nonzero outputs (for integer spikes: positions that fired)
* ``out_spikes``     sum of output spike values = binary events out (an integer spike s counts s)
* ``syn_ops``        synaptic operations of an event-driven synaptic node: sum over input events
                     of spike value x exact fan-out (border-, stride- and group-aware)
* ``syn_events``     synaptic events of an event-driven synaptic node: sum over nonzero input
                     events of the exact fan-out (border-, stride- and group-aware), whatever the
                     spike's value; = syn_ops for binary spikes. An integer spike s counts s
                     synaptic ops (a binary-spike chip sends s spikes) but one synaptic event (a
                     graded-spike chip sends one message carrying s: one multiply per synapse).
                     0, as syn_ops is, for analog-fed (MAC) synaptic nodes and other nodes
* ``macs``           multiply-accumulates of a synaptic node fed by analog values (run dense;
                     taps on padding are not counted)
* ``analog_ops``     elementwise operations of analog nodes (ReLU, SiLU, Sigmoid, Mul, pooling
                     of analog values, Add of analog values)
* ``neuron_updates`` neuron state updates (every neuron of a neuron node, every timestep)
* ``active_neurons`` neuron updates whose charge H was nonzero

Per-channel and spatial detail, for attributing events to cores:

* ``syn_ops_per_channel`` [B, T, C_out] for synaptic nodes fed by events
* ``out_spikes_per_channel`` [B, T, C] for nodes that emit events
* ``event_map`` [C, H, W] (or [N]) sum of output spike values over samples and timesteps,
  for nodes that emit events
* ``raster`` [B, T, *shape] output values, only when rasters were requested.

Memory is O(nodes x B x T x channels) plus one map per event node: it does not grow with
T times the map size unless rasters are requested.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

COUNT_FIELDS = ("in_nonzero", "in_spikes", "out_nonzero", "out_spikes", "syn_ops", "syn_events", "macs",
                "analog_ops", "neuron_updates", "active_neurons")


@dataclass
class NodeTrace:
    """Counts of one node; see the module docstring for the meaning of each field."""

    name: str
    op: str
    kind: str
    shape: tuple[int, ...]
    in_kind: str | None
    in_nonzero: np.ndarray
    in_spikes: np.ndarray
    out_nonzero: np.ndarray
    out_spikes: np.ndarray
    syn_ops: np.ndarray
    syn_events: np.ndarray
    macs: np.ndarray
    analog_ops: np.ndarray
    neuron_updates: np.ndarray
    active_neurons: np.ndarray
    syn_ops_per_channel: np.ndarray | None = None
    out_spikes_per_channel: np.ndarray | None = None
    event_map: np.ndarray | None = None
    raster: np.ndarray | None = None

    @classmethod
    def empty(cls, name, op, kind, shape, in_kind, batch, timesteps, per_channel_syn=0,
              event_channels=0, raster_dtype=None, event_map: bool = True) -> "NodeTrace":
        """Zeroed counts; ``event_map=False`` leaves the map to be given later (the engine hands
        over its own accumulator, so that the map is never held twice)."""
        zeros = lambda: np.zeros((batch, timesteps), dtype=np.float64)  # noqa: E731
        counts = {f: zeros() for f in COUNT_FIELDS}
        trace = cls(name=name, op=op, kind=kind, shape=tuple(shape), in_kind=in_kind, **counts)
        if per_channel_syn:
            trace.syn_ops_per_channel = np.zeros((batch, timesteps, per_channel_syn), np.float64)
        if event_channels:
            trace.out_spikes_per_channel = np.zeros((batch, timesteps, event_channels), np.float64)
            if event_map:
                trace.event_map = np.zeros(shape, np.float64)
        if raster_dtype is not None:
            trace.raster = np.zeros((batch, timesteps) + tuple(shape), raster_dtype)
        return trace

    @property
    def neurons(self) -> int:
        return int(np.prod(self.shape))

    def firing_rate(self) -> float:
        """Mean output spike value per neuron per timestep (binary events / (neurons x T x B))."""
        denom = self.neurons * self.out_spikes.size
        return float(self.out_spikes.sum() / denom) if denom else 0.0

    def total(self, field_name: str) -> float:
        return float(getattr(self, field_name).sum())


@dataclass
class Trace:
    """Per-node counts of one simulation run over ``batch`` samples and ``timesteps`` steps."""

    batch: int
    timesteps: int
    nodes: dict[str, NodeTrace] = field(default_factory=dict)

    def __getitem__(self, name: str) -> NodeTrace:
        return self.nodes[name]

    def __iter__(self):
        return iter(self.nodes.values())

    def totals(self) -> dict[str, float]:
        """Every count summed over nodes, samples and timesteps."""
        return {f: float(sum(n.total(f) for n in self.nodes.values())) for f in COUNT_FIELDS}

    def per_sample(self, field_name: str) -> float:
        """Mean over samples of a count summed over nodes and timesteps."""
        return self.totals()[field_name] / max(self.batch, 1)

    @staticmethod
    def concatenate(traces: list["Trace"]) -> "Trace":
        """Join traces of the same graph and T run on different samples (batch axis)."""
        first = traces[0]
        if any(t.timesteps != first.timesteps or t.nodes.keys() != first.nodes.keys() for t in traces):
            raise ValueError("traces to concatenate must come from one graph at one T")
        out = Trace(batch=sum(t.batch for t in traces), timesteps=first.timesteps)
        for name, node in first.nodes.items():
            parts = [t.nodes[name] for t in traces]
            joined = {}
            for f in COUNT_FIELDS + ("syn_ops_per_channel", "out_spikes_per_channel", "raster"):
                arrays = [getattr(p, f) for p in parts]
                joined[f] = None if arrays[0] is None else np.concatenate(arrays, axis=0)
            event_map = None if node.event_map is None else sum(p.event_map.astype(np.float64) for p in parts)
            out.nodes[name] = NodeTrace(name=name, op=node.op, kind=node.kind, shape=node.shape,
                                        in_kind=node.in_kind, event_map=event_map, **joined)
        return out
