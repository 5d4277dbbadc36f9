"""Shards of a dataset run: which images each holds, how a worker simulates one, and its file.

The test split is cut into shards of consecutive images. Each shard is one Dask task: the worker
loads the model, opens the dataset and reads only its own images (nothing is loaded up front or
sent over the network but the shard's description), simulates them and decodes their
detections. The result is an ``.npz`` holding the shard's trace (arrays by ``node|field``) and
detections (``detection|i|key``). Event maps are counts of spikes: they are stored as the
smallest unsigned integer type that holds them exactly, compressed (a paper-scale map is mostly
zeros), and read back as float32 where every value is exact in it (below 2**24), else float64.

Shards written before the trace counted ``syn_events`` lack it: where it equals ``syn_ops`` by
definition (nodes not fed by integer spikes, or fed by them but with no synaptic ops) it is
restored as ``syn_ops``; a node fed by integer spikes with synaptic ops cannot be recovered, and
loading such a shard raises (re-run it).
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import NeurosimError
from ..sim.trace import COUNT_FIELDS, NodeTrace, Trace

_EXTRA_FIELDS = ("syn_ops_per_channel", "out_spikes_per_channel", "event_map")


@dataclass(frozen=True)
class Shard:
    """Images ``start`` to ``stop`` (exclusive) of the model's test split, run at T and D."""

    model: str
    data_root: str | None
    T: int
    D: int | None
    start: int
    stop: int
    precision: str = "float32"

    @property
    def name(self) -> str:
        return f"{self.start:07d}-{self.stop:07d}"


def plan_shards(model: str, data_root: str | None, T: int, D: int | None, images: int, shard_size: int,
                precision: str = "float32") -> list[Shard]:
    """Consecutive shards of at most ``shard_size`` images covering images 0 to ``images``."""
    return [Shard(str(model), data_root, int(T), D, start, min(start + shard_size, images), precision)
            for start in range(0, images, shard_size)]


def open_dataset(model: str, T: int | None, D: int | None, data_root: str | None):
    """(graph with D applied, the test split the model reads at T, T); T None: the model's own."""
    from ..cli.common import model_dataset, with_D
    from ..ir import load_graph

    graph = with_D(load_graph(model), D, model)
    if not ("training" in graph.metadata and "detection" in graph.metadata):
        raise NeurosimError(f"{model} is not a trained detector: a dataset run needs the model card's dataset")
    T = T or int(graph.metadata.get("T", 4))
    return graph, model_dataset(graph, T, data_root), T


def dataset_root(graph, data_root: str | None) -> str:
    """The dataset's folder as an absolute path (the model card's own when ``data_root`` is None),
    so that workers started elsewhere read the same files."""
    from ..train.config import load_config

    root = data_root or load_config(graph.metadata["training"]["config"])["data"]["root"]
    return str(Path(root).resolve())


def run_shard(shard: Shard) -> bytes:
    """Simulate one shard (on a worker); its trace and detections as the bytes of an .npz."""
    from ..detect import decode, read_out
    from ..sim import simulate

    graph, dataset, _ = open_dataset(shard.model, shard.T, shard.D, shard.data_root)
    x = np.stack([dataset[i][0] for i in range(shard.start, shard.stop)])  # this shard's images only
    result = simulate(graph, x, precision=shard.precision)
    spec = graph.metadata["detection"]
    detections = decode(spec, read_out(spec, result.outputs))
    return shard_bytes(result.trace, detections)


def shard_bytes(trace: Trace, detections: list[dict]) -> bytes:
    """A trace and per-image detections as the bytes of an .npz (arrays by 'node|field')."""
    arrays = {}
    nodes = []
    for nt in trace:
        nodes.append({"name": nt.name, "op": nt.op, "kind": nt.kind, "shape": list(nt.shape), "in_kind": nt.in_kind})
        for f in COUNT_FIELDS + _EXTRA_FIELDS:
            value = getattr(nt, f)
            if value is not None:
                arrays[f"{nt.name}|{f}"] = compact_counts(value) if f == "event_map" else np.asarray(value)
    for i, d in enumerate(detections):
        for key in ("boxes", "scores", "labels"):
            arrays[f"detection|{i}|{key}"] = np.asarray(d[key])
    meta = {"batch": trace.batch, "timesteps": trace.timesteps, "nodes": nodes, "detections": len(detections)}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def load_shard(path: Path, event_maps: bool = True) -> tuple[Trace, list[dict]]:
    """(trace, detections) of a shard file; ``event_maps=False`` leaves the maps unread (None)."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        trace = Trace(batch=meta["batch"], timesteps=meta["timesteps"])
        extras = _EXTRA_FIELDS if event_maps else tuple(f for f in _EXTRA_FIELDS if f != "event_map")
        for node in meta["nodes"]:
            name = node["name"]
            stored = tuple(f for f in COUNT_FIELDS if f != "syn_events" or f"{name}|{f}" in data)
            fields = {f: data[f"{name}|{f}"] for f in stored}
            if "syn_events" not in fields:  # a shard written before syn_events was counted
                fields["syn_events"] = _old_syn_events(path, node, fields["syn_ops"])
            extra = {f: data[f"{name}|{f}"] if f in extras and f"{name}|{f}" in data else None
                     for f in _EXTRA_FIELDS}
            if extra["event_map"] is not None:
                extra["event_map"] = expand_counts(extra["event_map"])
            trace.nodes[name] = NodeTrace(name=name, op=node["op"], kind=node["kind"], shape=tuple(node["shape"]),
                                          in_kind=node["in_kind"], **fields, **extra)
        detections = _detections(data, meta)
    return trace, detections


def _old_syn_events(path, node: dict, syn_ops: np.ndarray) -> np.ndarray:
    """``syn_events`` of a shard written before it was counted: ``syn_ops`` where the two are
    equal by definition (every input event of value 1, or no synaptic op at all)."""
    if node["in_kind"] != "integer" or not np.any(syn_ops):
        return np.array(syn_ops)
    raise NeurosimError(f"shard {path} was written before traces counted syn_events, and node "
                        f"'{node['name']}' is fed by integer spikes, whose synaptic events differ from "
                        f"its syn_ops: re-run the shard")


def load_detections(path: Path) -> list[dict]:
    """The detections of a shard file (its trace left unread)."""
    with np.load(path, allow_pickle=False) as data:
        return _detections(data, json.loads(bytes(data["meta"]).decode()))


def _detections(data, meta) -> list[dict]:
    return [{k: data[f"detection|{i}|{k}"] for k in ("boxes", "scores", "labels")} for i in range(meta["detections"])]


def compact_counts(values: np.ndarray) -> np.ndarray:
    """``values`` as the smallest unsigned integer array holding them exactly, when they are all
    non-negative integers (spike counts); otherwise unchanged."""
    values = np.asarray(values)
    if values.size == 0 or values.dtype.kind not in "fiu":
        return values
    top = float(values.max())
    if values.min() < 0 or top >= 2.0 ** 32 or not np.array_equal(values, np.floor(values)):
        return values
    for dtype in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return values.astype(dtype)
    return values  # pragma: no cover - unreachable below 2**32


def expand_counts(values: np.ndarray) -> np.ndarray:
    """The float array :func:`compact_counts` came from, as float32 where exact in it, else float64."""
    if values.dtype.kind != "u":
        return values
    exact32 = values.size == 0 or int(values.max()) < 2 ** 24
    return values.astype(np.float32 if exact32 else np.float64)
