"""The event maps of a whole dataset run: the shards' maps summed, kept once in a file workers map.

Costing splits a layer's events over its cores by their spatial distribution, read from the event
maps (:mod:`neurosim.hw.activity`). A one-process run of N images uses the maps of all N; so that
a shard costed alone splits its samples' events exactly as that run would, every shard is costed
with the whole run's maps. They are summed here shard by shard, in float32 while every sum is
below 2**24 (spike counts: exact) and in float64 from there on, then written once to
``event_maps.npy`` (every map flat, one dtype) beside ``event_maps.json`` (node -> offset and
shape, and the shards summed). Workers read them through a memory map: each holds only the pages
its costing reads, and workers on one machine share them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import numpy as np

from ..fsutil import atomic_path, write_text_atomic

MAPS_FILE = "event_maps.npy"
INDEX_FILE = "event_maps.json"
_EXACT32 = 2.0 ** 24


def sum_event_maps(traces: Iterable) -> dict[str, np.ndarray]:
    """Node -> the sum of its event maps over ``traces`` (traces of one graph), exact."""
    sums: dict[str, np.ndarray] = {}
    bounds: dict[str, float] = {}
    for trace in traces:
        for nt in trace:
            if nt.event_map is None:
                continue
            part = nt.event_map
            top = float(part.max()) if part.size else 0.0
            bound = bounds.get(nt.name, 0.0) + top
            acc = sums.get(nt.name)
            if acc is None:
                acc = np.zeros(part.shape, np.float32 if bound < _EXACT32 else np.float64)
            elif acc.dtype == np.float32 and bound >= _EXACT32:
                acc = acc.astype(np.float64)
            acc += part
            sums[nt.name], bounds[nt.name] = acc, bound
    return sums


def write_event_maps(folder: Path, maps: dict[str, np.ndarray], shards: list[str]) -> None:
    """``maps`` as ``folder/event_maps.npy`` and its index (written last: the pair is complete
    once the index exists)."""
    dtype = np.float64 if any(m.dtype == np.float64 for m in maps.values()) else np.float32
    index, offset = {}, 0
    for name, m in maps.items():
        index[name] = {"offset": offset, "shape": list(m.shape)}
        offset += m.size
    with atomic_path(folder / MAPS_FILE) as tmp:
        flat = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(offset,))
        for name, m in maps.items():
            flat[index[name]["offset"]:index[name]["offset"] + m.size] = m.ravel()
        flat.flush()
        del flat
    write_text_atomic(folder / INDEX_FILE, json.dumps({"shards": shards, "maps": index}) + "\n")


def read_event_maps(folder: Path, shards: list[str] | None = None) -> dict[str, np.ndarray] | None:
    """Node -> its whole-run map (read-only views of a memory map), or None when ``folder``
    holds no maps, or maps of other shards than ``shards``."""
    index_path = Path(folder) / INDEX_FILE
    if not index_path.is_file() or not (Path(folder) / MAPS_FILE).is_file():
        return None
    index = json.loads(index_path.read_text(encoding="utf-8"))
    if shards is not None and index["shards"] != list(shards):
        return None
    flat = np.load(Path(folder) / MAPS_FILE, mmap_mode="r")
    return {name: flat[e["offset"]:e["offset"] + int(np.prod(e["shape"]))].reshape(e["shape"])
            for name, e in index["maps"].items()}
