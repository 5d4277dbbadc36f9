"""Run a dataset's shards on Dask, resumably, and read the whole run back in bounded memory.

Each finished shard is written to ``OUT/shards/<start>-<stop>.npz`` (a temporary file, then a
rename), so a killed run resumes where it stopped: shards already on disk are not recomputed.
``OUT/shards/plan.json`` records what the shards belong to; shards of another run are refused
rather than mixed.

The whole run is read back shard by shard, never all at once, so memory is that of one shard
however many images the set holds:

* detections in image order, for mAP over everything simulated (:func:`dataset_accuracy`);
* per-node counts per sample (:meth:`DatasetRun.node_rows`): the shards' rows, batch-weighted;
* a chip report (:meth:`DatasetRun.cost`): each shard costed on a worker with the whole run's
  event maps (:mod:`.event_maps`), the reports merged batch-weighted
  (:mod:`neurosim.report.merge`). Every per-layer and per-core number is then the one-process
  run's, up to the rounding of the weighted mean (tested).

:meth:`DatasetRun.merged_trace` joins the shards' traces into the one-process trace exactly
(per-sample counts do not depend on which samples ran together), for runs small enough to hold.
"""
from __future__ import annotations

import functools
import json
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import NeurosimError
from ..fsutil import write_bytes_atomic, write_text_atomic
from ..sim.trace import Trace
from .event_maps import read_event_maps, sum_event_maps, write_event_maps
from .shards import Shard, load_detections, load_shard, run_shard

SHARD_DIR = "shards"
PLAN_FILE = "plan.json"


@dataclass
class DatasetRun:
    """The shards of one run, all on disk under ``folder``; ``computed``: those run just now."""

    folder: Path
    shards: list[Shard]
    computed: list[str]

    @property
    def images(self) -> int:
        return sum(s.stop - s.start for s in self.shards)

    def paths(self) -> list[Path]:
        return [self.folder / f"{s.name}.npz" for s in self.shards]

    def traces(self, event_maps: bool = True):
        """Each shard's trace, in image order, one at a time."""
        for path in self.paths():
            yield load_shard(path, event_maps=event_maps)[0]

    def detections(self) -> list[dict]:
        """Every image's detections, in image order."""
        return [d for path in self.paths() for d in load_detections(path)]

    def merged_trace(self) -> Trace:
        """The one-process trace (samples concatenated, event maps summed in float64): memory
        grows with the images; :meth:`node_rows` and :meth:`cost` do not."""
        traces = list(self.traces())
        return traces[0] if len(traces) == 1 else Trace.concatenate(traces)

    def node_rows(self, graph) -> list[dict]:
        """:func:`neurosim.report.counts.node_rows` of the whole run, from the shards' own."""
        from ..report.counts import node_rows
        from ..report.merge import Merger

        merger = Merger()
        for trace in self.traces(event_maps=False):
            merger.add(node_rows(graph, trace), trace.batch)
        return merger.result()

    def event_maps(self) -> None:
        """Write the whole run's event maps beside the shards (once: kept while the shards are)."""
        names = [s.name for s in self.shards]
        if read_event_maps(self.folder, names) is None:
            write_event_maps(self.folder, sum_event_maps(self.traces()), names)

    def cost(self, chip: str, client=None, quiet: bool = False):
        """The run's report on ``chip`` (a profile name or path): each shard costed with the whole
        run's event maps, on ``client``'s workers (in this process without one), merged."""
        from ..report.merge import ReportMerger

        self.event_maps()
        merger = ReportMerger()
        calls = [(str(path), str(self.folder), s.model, s.D, str(chip)) for path, s in zip(self.paths(), self.shards)]
        if client is None:
            for call in _progress(calls, quiet, "costing"):
                merger.add(cost_shard(*call))
        else:
            futures = [client.submit(cost_shard, *call, pure=False) for call in calls]
            for future in _progress(futures, quiet, "costing"):   # in shard order: the same sums every run
                merger.add(future.result())
                future.release()
        return merger.result()


def run_dataset(shards: list[Shard], out_dir, workers: int = 2, scheduler: str | None = None,
                quiet: bool = False, chip: str | None = None) -> tuple[DatasetRun, object]:
    """Run the shards not yet under ``out_dir/shards`` and, with ``chip``, cost the whole run
    there on the same cluster: (the run, its report or None)."""
    from dask.distributed import as_completed
    from tqdm import tqdm

    folder = Path(out_dir).resolve() / SHARD_DIR    # absolute: workers may run elsewhere
    _check_plan(folder, shards)
    todo = [s for s in shards if not (folder / f"{s.name}.npz").is_file()]
    run = DatasetRun(folder, list(shards), [])
    needs_cluster = bool(todo) or (chip is not None and len(shards) > 1)
    report = None
    from ..sweep import dask_client

    with (dask_client(workers, scheduler) if needs_cluster else nullcontext()) as client:
        if todo:
            futures = {client.submit(run_shard, s, pure=False): s for s in todo}
            for future in tqdm(as_completed(futures), total=len(futures), desc="shards", disable=quiet):
                shard = futures[future]
                write_bytes_atomic(folder / f"{shard.name}.npz", future.result())
                future.release()
                run.computed.append(shard.name)
        if chip is not None:
            report = run.cost(chip, client if len(shards) > 1 else None, quiet=quiet)
    return run, report


@functools.lru_cache(maxsize=4)
def _placed(model: str, D: int | None, chip: str):
    """(graph, hardware model, placement) of a model on a chip, once per worker process."""
    import neurosim.hw as hw

    from ..cli.common import with_D
    from ..ir import load_graph

    graph = with_D(load_graph(model), D, model)
    chip_model = hw.hardware_model(chip)
    return graph, chip_model, chip_model.place(graph)


def cost_shard(path: str, maps_folder: str, model: str, D: int | None, chip: str):
    """The report of one shard on ``chip``, its events split over cores by the whole run's maps."""
    graph, chip_model, placement = _placed(model, D, chip)
    trace, _ = load_shard(Path(path), event_maps=False)
    maps = read_event_maps(Path(maps_folder))
    if maps is None:
        raise NeurosimError(f"{maps_folder} holds no event maps of the run: cost it from the machine that ran it")
    for nt in trace:
        nt.event_map = maps.get(nt.name)
    return chip_model.cost(trace, placement, graph)


def _progress(items, quiet: bool, desc: str):
    from tqdm import tqdm

    return tqdm(items, desc=desc, disable=quiet or len(items) < 2)


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
    """(mAP over the images simulated, or None with the reason). COCO-layout sets score any
    subset; the Gen1 protocol scores whole recordings, so only the whole split."""
    if hasattr(dataset, "coco"):
        stats = dataset.evaluate(dict(enumerate(detections)), subset=not complete)
        return {"map50": stats["AP50"], "map": stats["AP"], "images": len(detections), "protocol": "coco"}, None
    if not complete:
        return None, ("the Gen1 protocol scores whole recordings: simulate every sample of the split "
                      "(--images all) for its mAP")
    stats = dataset.evaluate(dict(enumerate(detections)))
    return {"map50": stats["AP50"], "map": stats["AP"], "images": len(detections), "protocol": "gen1"}, None
