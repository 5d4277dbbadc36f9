"""Simulate a whole dataset on a Dask cluster: shards of images, streamed, resumable, merged exactly.

``neurosim simulate MODEL --images all --workers K | --scheduler ADDR --out DIR`` runs here:
:mod:`.shards` (what a shard is, how a worker simulates it, its file), :mod:`.run` (the run on
Dask, resumption, reading it back shard by shard), :mod:`.event_maps` (the whole run's maps that
every shard is costed with).
"""
from .event_maps import read_event_maps, sum_event_maps, write_event_maps
from .run import PLAN_FILE, SHARD_DIR, DatasetRun, cost_shard, dataset_accuracy, run_dataset
from .shards import (Shard, compact_counts, dataset_root, expand_counts, load_detections, load_shard,
                     open_dataset, plan_shards, run_shard, shard_bytes)

__all__ = ["Shard", "plan_shards", "open_dataset", "dataset_root", "run_shard", "shard_bytes", "load_shard",
           "load_detections", "compact_counts", "expand_counts", "DatasetRun", "run_dataset", "cost_shard",
           "dataset_accuracy", "SHARD_DIR", "PLAN_FILE", "sum_event_maps", "write_event_maps", "read_event_maps"]
