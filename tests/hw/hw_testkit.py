"""Helpers for hardware-model tests: hand-built Traces (no simulator needed) and profiles."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import yaml

try:
    from neurosim.sim.trace import NodeTrace, Trace
except Exception:  # the simulator package is being written: load trace.py on its own
    import importlib.util

    _path = Path(__file__).resolve().parents[2] / "neurosim" / "sim" / "trace.py"
    _spec = importlib.util.spec_from_file_location("_neurosim_trace", _path)
    _mod = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_mod)
    NodeTrace, Trace = _mod.NodeTrace, _mod.Trace

from neurosim.hw.profile import builtin_dir, profile_from_dict
from neurosim.ir.graph import GraphBuilder

FIELDS = ("in_nonzero", "in_spikes", "out_nonzero", "out_spikes", "syn_ops", "macs", "analog_ops",
          "neuron_updates", "active_neurons")


def empty_trace(graph, batch: int, timesteps: int) -> Trace:
    """A Trace with every node's counts at zero, with the per-channel arrays the engine keeps."""
    trace = Trace(batch=batch, timesteps=timesteps)
    for node in graph.nodes:
        kind = graph.kinds[node.name]
        shape = graph.shapes[node.name]
        in_kind = graph.kinds[node.inputs[0]] if node.inputs else None
        per_channel_syn = shape[0] if node.is_synaptic and in_kind != "analog" else 0
        event_channels = shape[0] if kind != "analog" else 0
        trace.nodes[node.name] = NodeTrace.empty(node.name, node.op, kind, shape, in_kind, batch, timesteps,
                                                 per_channel_syn=per_channel_syn, event_channels=event_channels)
    return trace


def fill(trace: Trace, name: str, **values) -> None:
    """Set count fields of one node; scalars and [B, T] arrays are accepted."""
    nt = trace.nodes[name]
    for field, value in values.items():
        target = getattr(nt, field)
        target[...] = np.broadcast_to(np.asarray(value, np.float64), target.shape)


def random_trace(graph, batch, timesteps, seed=0, scale=1.0, silent=False) -> Trace:
    """A self-consistent random trace: event maps agree with per-channel counts, synaptic counts
    with their inputs. ``silent`` gives no events at all."""
    rng = np.random.default_rng(seed)
    trace = empty_trace(graph, batch, timesteps)
    for node in graph.nodes:
        nt = trace.nodes[node.name]
        kind = graph.kinds[node.name]
        size = int(np.prod(graph.shapes[node.name]))
        if nt.out_spikes_per_channel is not None:
            per = 0 * rng.integers(0, 5, nt.out_spikes_per_channel.shape) if silent else \
                rng.integers(0, 5, nt.out_spikes_per_channel.shape).astype(float)
            nt.out_spikes_per_channel[...] = per
            chan = per.sum((0, 1))
            weights = rng.random(nt.event_map.shape) + 0.05
            flat = weights.reshape(weights.shape[0], -1)
            flat /= flat.sum(1, keepdims=True)
            nt.event_map[...] = (flat * chan[:, None]).reshape(nt.event_map.shape)
            nt.out_spikes[...] = per.sum(-1)
            nt.out_nonzero[...] = per.sum(-1)
        if node.is_synaptic:
            src = trace.nodes[node.inputs[0]]
            if graph.kinds[node.inputs[0]] != "analog":
                nt.in_spikes[...] = src.out_spikes
                nt.in_nonzero[...] = src.out_nonzero
                per = 0 * nt.syn_ops_per_channel if silent else rng.integers(0, 50, nt.syn_ops_per_channel.shape)
                nt.syn_ops_per_channel[...] = per
                nt.syn_ops[...] = per.sum(-1)
            else:
                nt.macs[...] = rng.integers(1, 1000, (batch, timesteps))
        if node.is_neuron:
            nt.neuron_updates[...] = size
            nt.active_neurons[...] = 0 if silent else rng.integers(0, size + 1, (batch, timesteps))
        if kind == "analog" and not node.is_synaptic and node.inputs:
            nt.analog_ops[...] = rng.integers(0, 100, (batch, timesteps))
    if scale != 1.0:
        scale_events(trace, scale)
    return trace


def scale_events(trace: Trace, factor: float) -> Trace:
    """Multiply every event-driven count (not neuron updates or MACs) by ``factor``, in place."""
    for nt in trace.nodes.values():
        for field in ("in_nonzero", "in_spikes", "out_nonzero", "out_spikes", "syn_ops", "active_neurons"):
            getattr(nt, field)[...] *= factor
        for arr in (nt.syn_ops_per_channel, nt.out_spikes_per_channel, nt.event_map):
            if arr is not None:
                arr[...] *= factor
    return trace


def builtin_doc(name: str) -> dict:
    return yaml.safe_load((builtin_dir() / f"{name}.yaml").read_text())


def variant(name: str, path=None, settings=None, **params):
    """A built-in profile with some parameter values replaced (``key=value`` in written units)
    and some settings (``settings={key: value}``)."""
    doc = copy.deepcopy(builtin_doc(name))
    for key, value in params.items():
        doc["parameters"][key]["value"] = value
    for key, value in (settings or {}).items():
        doc["settings"][key] = {"value": value, "source": "test"}
    return profile_from_dict(doc, path or f"<{name} variant>")


#: Loihi with one axon per source neuron and a synapse list per input axon (nengo-loihi's rule
#: for dense and sparse connections), the rules the hand-computed placements below count by
DISCRETE = {"axons": "discrete", "synapse_memory": "per-axon-lists"}


def write_profile(tmp_path, doc: dict, filename="custom.yaml") -> Path:
    path = Path(tmp_path) / filename
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# --------------------------------------------------------------------------- shared networks


def deep_net():
    b = GraphBuilder()
    x = b.input((64, 32, 32), kind="binary", name="x")
    c1 = b.conv2d(x, weight=np.ones((64, 64, 1, 1), np.float32), name="c1")
    n1 = b.lif(c1, name="l1")
    c2 = b.conv2d(n1, weight=np.ones((64, 64, 1, 1), np.float32), name="c2")
    n2 = b.lif(c2, name="l2")
    c3 = b.conv2d(n2, weight=np.ones((16, 64, 1, 1), np.float32), name="c3")
    b.lif(c3, name="l3")
    return b.build(outputs=["l3"])


def small_mesh():
    return variant("loihi", cores_per_chip=16, cores_per_tile=1, tile_columns=4, tile_rows=4)


def two_layer_net():
    b = GraphBuilder()
    x = b.input((16,), kind="binary", name="x")
    l1 = b.linear(x, weight=np.ones((64, 16), np.float32), name="L1")
    a = getattr(b, "if")(l1, name="A")
    l2 = b.linear(a, weight=np.ones((5000, 64), np.float32), name="L2")
    getattr(b, "if")(l2, name="B")
    return b.build(outputs=["B"])


def two_layer_trace(graph):
    trace = empty_trace(graph, batch=1, timesteps=2)
    fill(trace, "x", out_spikes=[[2, 1]], out_nonzero=[[2, 1]])
    trace.nodes["x"].event_map[:3] = 1.0
    fill(trace, "L1", syn_ops=[[128, 64]], in_spikes=[[2, 1]])
    trace.nodes["L1"].syn_ops_per_channel[0, 0, :] = 2
    trace.nodes["L1"].syn_ops_per_channel[0, 1, :] = 1
    fill(trace, "A", neuron_updates=64, active_neurons=[[5, 2]], out_spikes=[[3, 1]], out_nonzero=[[3, 1]])
    a = trace.nodes["A"]
    a.out_spikes_per_channel[0, 0, 0] = 3
    a.out_spikes_per_channel[0, 1, 1] = 1
    a.event_map[0], a.event_map[1] = 3, 1
    fill(trace, "L2", syn_ops=[[15000, 5000]], in_spikes=[[3, 1]])
    trace.nodes["L2"].syn_ops_per_channel[0, 0, :] = 3
    trace.nodes["L2"].syn_ops_per_channel[0, 1, :] = 1
    fill(trace, "B", neuron_updates=5000, active_neurons=[[300, 100]])
    return trace
