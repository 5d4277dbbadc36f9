"""Simulate a whole dataset on a Dask cluster: shards of images, streamed, merged exactly, resumable.

The test split is cut into shards of consecutive images. Each shard is one Dask task: the worker
loads the model, opens the dataset and reads only its own images (nothing is loaded up front or
sent over the network but the shard's description), simulates them and decodes their
detections. Each finished shard is written to ``OUT/shards/<start>-<stop>.npz`` (a temporary
file, then a rename), so a killed run resumes where it stopped: shards already on disk are not
recomputed. ``OUT/shards/plan.json`` records what the shards belong to; shards of another run
are refused rather than mixed.

Merging is exact: a trace's per-sample counts do not depend on which samples ran together
(tested to the bit), so the shards' traces concatenated in image order are the one-process
trace, and their event maps are summed in float64 (sums of integers, exact). Costing the merged
trace therefore gives the same per-layer and per-core numbers as a one-process run. mAP is
computed over all the images simulated: COCO-layout sets score any subset; the Gen1 protocol
scores the whole split only (its ground truth is per recording), so a partial run of a Gen1 set
reports no mAP, and says why.
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .errors import NeurosimError
from .fsutil import write_bytes_atomic, write_text_atomic
from .sim.trace import COUNT_FIELDS, NodeTrace, Trace

SHARD_DIR = "shards"
PLAN_FILE = "plan.json"
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
    from .cli.common import model_dataset, with_D
    from .ir import load_graph

    graph = with_D(load_graph(model), D, model)
    if not ("training" in graph.metadata and "detection" in graph.metadata):
        raise NeurosimError(f"{model} is not a trained detector: a dataset run needs the model card's dataset")
    T = T or int(graph.metadata.get("T", 4))
    return graph, model_dataset(graph, T, data_root), T


def dataset_root(graph, data_root: str | None) -> str:
    """The dataset's folder as an absolute path (the model card's own when ``data_root`` is None),
    so that workers started elsewhere read the same files."""
    from .train.config import load_config

    root = data_root or load_config(graph.metadata["training"]["config"])["data"]["root"]
    return str(Path(root).resolve())


def run_shard(shard: Shard) -> bytes:
    """Simulate one shard (on a worker); its trace and detections as the bytes of an .npz."""
    from .detect import decode, read_out
    from .sim import simulate

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
                arrays[f"{nt.name}|{f}"] = np.asarray(value)
    for i, d in enumerate(detections):
        for key in ("boxes", "scores", "labels"):
            arrays[f"detection|{i}|{key}"] = np.asarray(d[key])
    meta = {"batch": trace.batch, "timesteps": trace.timesteps, "nodes": nodes, "detections": len(detections)}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def load_shard(path: Path) -> tuple[Trace, list[dict]]:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        trace = Trace(batch=meta["batch"], timesteps=meta["timesteps"])
        for node in meta["nodes"]:
            fields = {f: data[f"{node['name']}|{f}"] for f in COUNT_FIELDS}
            extra = {f: data[f"{node['name']}|{f}"] if f"{node['name']}|{f}" in data else None for f in _EXTRA_FIELDS}
            trace.nodes[node["name"]] = NodeTrace(name=node["name"], op=node["op"], kind=node["kind"],
                                                  shape=tuple(node["shape"]), in_kind=node["in_kind"],
                                                  **fields, **extra)
        detections = [{k: data[f"detection|{i}|{k}"] for k in ("boxes", "scores", "labels")}
                      for i in range(meta["detections"])]
    return trace, detections


def run_dataset(shards: list[Shard], out_dir, workers: int = 2, scheduler: str | None = None,
                quiet: bool = False) -> tuple[Trace, list[dict], list[str]]:
    """Run the shards not yet under ``out_dir/shards``; (merged trace, detections in image
    order, names of the shards computed now)."""
    from tqdm import tqdm

    shard_dir = Path(out_dir) / SHARD_DIR
    _check_plan(shard_dir, shards)
    todo = [s for s in shards if not (shard_dir / f"{s.name}.npz").is_file()]
    computed = []
    if todo:
        from .sweep import dask_client

        with dask_client(workers, scheduler) as client:
            futures = {client.submit(run_shard, s, pure=False): s for s in todo}
            from dask.distributed import as_completed

            for future in tqdm(as_completed(futures), total=len(futures), desc="shards", disable=quiet):
                shard = futures[future]
                write_bytes_atomic(shard_dir / f"{shard.name}.npz", future.result())
                computed.append(shard.name)
    traces, detections = [], []
    for s in shards:
        trace, dets = load_shard(shard_dir / f"{s.name}.npz")
        traces.append(trace)
        detections += dets
    return merge_traces(traces), detections, computed


def merge_traces(traces: list[Trace]) -> Trace:
    """The shards' traces as one: samples concatenated in order, event maps summed in float64."""
    return traces[0] if len(traces) == 1 else Trace.concatenate(traces)


def _check_plan(shard_dir: Path, shards: list[Shard]) -> None:
    plan = {"shards": [asdict(s) for s in shards]}
    path = shard_dir / PLAN_FILE
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            raise NeurosimError(f"{path} is unreadable; delete {shard_dir} to start the run again") from None
        if old != json.loads(json.dumps(plan)):
            raise NeurosimError(f"{shard_dir} holds the shards of another run (another model, data, T, D, image "
                                f"count or shard size); choose another --out or delete {shard_dir}")
        return
    write_text_atomic(path, json.dumps(plan, indent=1) + "\n")


def dataset_accuracy(dataset, detections: list[dict], complete: bool) -> tuple[dict | None, str | None]:
    """(mAP over the images simulated, or None with the reason)."""
    if hasattr(dataset, "coco"):
        stats = dataset.evaluate(dict(enumerate(detections)), subset=not complete)
        return {"map50": stats["AP50"], "map": stats["AP"], "images": len(detections), "protocol": "coco"}, None
    if not complete:
        return None, ("the Gen1 protocol scores whole recordings: simulate every sample of the split "
                      "(--images all) for its mAP")
    stats = dataset.evaluate(dict(enumerate(detections)))
    return {"map50": stats["AP50"], "map": stats["AP"], "images": len(detections), "protocol": "gen1"}, None
